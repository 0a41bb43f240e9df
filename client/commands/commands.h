/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-cmd.h"

G_BEGIN_DECLS

/* One table per command group (client/commands/NAME.c); the top-level
 * tables are in bkt.c (the thin client) and bkt-tool.c (the repo tools). */

/* bkt (the thin client) */
int       bkt_cmd_status   (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_apply    (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_capture  (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_version  (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_upgrade  (Ctx *ctx, int argc, char **argv);   /* upgrade.c */
/* One status (after parsing); redrawn on each DriftChanged (watch.c). */
int       bkt_cmd_status_once  (Ctx *ctx);
int       bkt_cmd_status_watch (Ctx *ctx);
extern const BktCommand bkt_watch_commands[];   /* watch.c */
extern const BktCommand bkt_flatpak_commands[];
extern const BktCommand bkt_gsetting_commands[];
extern const BktCommand bkt_extension_commands[];
extern const BktCommand bkt_shim_commands[];
extern const BktCommand bkt_skel_commands[];
extern const BktCommand bkt_dnf_commands[];
extern const BktCommand bkt_dev_commands[];
extern const BktCommand bkt_local_commands[];
extern const BktCommand bkt_pr_commands[];
extern const BktCommand bkt_admin_commands[];
int       bkt_cmd_doctor   (Ctx *ctx, int argc, char **argv);   /* doctor.c */
extern const BktCommand bkt_profile_commands[];                /* profile.c */
int       bkt_cmd_profile_unowned (Ctx *ctx, int argc, char **argv); /* profile-unowned.c */
extern const BktCommand bkt_fleet_commands[];   /* fleet.c */
extern const BktCommand bkt_schema_commands[];   /* schema.c */

/* bkt-tool (the repo tools) */
extern const BktCommand bkt_changelog_commands[];
extern const BktCommand bkt_base_commands[];
extern const BktCommand bkt_containerfile_commands[];
extern const BktCommand bkt_upstream_commands[];
extern const BktCommand bkt_drift_commands[];
extern const BktCommand bkt_repo_commands[];     /* repo.c */

/* `bkt changelog motd` (image-changelog.c, beside the status section). */
int         bkt_cmd_changelog_motd (Ctx *ctx, int argc, char **argv);

/* The "changelog" section of `bkt status` (image-changelog.c): the running
 * image's release (the booted version from @os, the "os" section, or the
 * newest version the image ships), the manual steps since the
 * acknowledged version, and warnings for malformed version files.  Never
 * fails. */
JsonObject *bkt_image_changelog_section (JsonObject *os);
void        bkt_image_changelog_print   (JsonObject *section);
/* The booted image's version files: BKT_IMAGE_CHANGELOG_DIR (else
 * BKT_PKGDATADIR/changelog) + "/versions"; a staged image has its own
 * under the same path in its deployment (bkt upgrade). */
char       *bkt_image_changelog_versions_dir (void);

G_END_DECLS
