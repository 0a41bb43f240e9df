/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* COPR repositories as `dnf copr enable` (dnf-plugins-core) writes them:
 * one file per project, DIR/_copr:copr.fedorainfracloud.org:OWNER:PROJECT.repo,
 * repo id copr:copr.fedorainfracloud.org:OWNER:PROJECT, where a group
 * owner "@g" is written "group_g" (as the plugin does).  Only the
 * copr.fedorainfracloud.org hub is handled. */
#define BKT_COPR_HUB "copr.fedorainfracloud.org"

/* The directory of repo files: $BKT_YUM_REPOS_DIR, else the build's
 * (meson option yum_repos_dir, /etc/yum.repos.d).  Never a caller's. */
const char *bkt_copr_repos_dir   (void);

/* bkt_manifest_check_copr_name() as a GError: BKT_ERROR_INVALID_ARGUMENT
 * "invalid COPR project “NAME”: why" (long names shortened). */
gboolean    bkt_copr_check_name  (const char *name, GError **error);

/* For a valid @name "OWNER/PROJECT": */
char       *bkt_copr_repo_id     (const char *name);   /* copr:HUB:OWNER:PROJECT */
char       *bkt_copr_file_name   (const char *name);   /* _copr:HUB:OWNER:PROJECT.repo */
/* The file's content, as COPR serves it for `dnf copr enable` (chroot
 * fedora-$releasever-$basearch), with gpgcheck and enabled set. */
char       *bkt_copr_repo_file   (const char *name, gboolean enabled, gboolean gpg_check);
/* "OWNER/PROJECT" of a repo id "copr:HUB:OWNER:PROJECT" (or of its file
 * name with the leading '_' and ".repo"), NULL if it is not one of ours. */
char       *bkt_copr_name_from_repo_id (const char *repo_id);

/* The COPR repo files of @dir: objects {name, enabled, gpg_check} sorted
 * by name.  A missing directory has none; unreadable files and names
 * bkt would refuse are skipped. */
JsonArray  *bkt_copr_scan        (const char *dir);

/* Write (atomically, 0644) or remove the repo file of @name in @dir.
 * @name is checked again: these run as root. */
gboolean    bkt_copr_write       (const char *dir, const char *name, gboolean enabled, gboolean gpg_check,
                                  GError **error);
gboolean    bkt_copr_remove      (const char *dir, const char *name, GError **error);

G_END_DECLS

#include "bkt-exec-context.h"
#include "bkt-manifest.h"
#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* The dnf subsystem's COPR part (its operations come before the package
 * operations: a package may come from one of these repos).
 *
 * Operations: "copr-enable" / "copr-disable" write the repo file with
 * enabled=1 / 0, "copr-remove" deletes it; target "copr:OWNER/PROJECT",
 * system scope, effect live, details {name, enabled, gpg_check}.  Records
 * go to system-packages.json's copr_repos (bkt_operation_new_record_in()).
 * @live is bkt_copr_scan()'s array, @m the system-packages manifest. */

/* Enabled state and gpg_check of @m's entries: absent means TRUE. */
JsonArray *bkt_copr_manifest_entries (BktManifest *m);
void       bkt_copr_plan_apply   (JsonArray *live, BktManifest *m, GPtrArray *ops);
/* Repo files present but not in copr_repos → record. */
void       bkt_copr_plan_capture (JsonArray *live, BktManifest *m, GPtrArray *ops);
/* Actions "copr-enable" and "copr-disable" {name s, gpg_check b?} (default:
 * the manifest's, else the file's, else TRUE), "copr-remove" {name s}; the
 * name is checked before anything else. */
gboolean   bkt_copr_plan_change  (JsonArray *live, BktManifest *m, const char *action, GVariant *arguments,
                                  GPtrArray *ops, GError **error);
gboolean   bkt_copr_is_copr_op   (BktOperation *op);
/* Runs one COPR operation in bkt_copr_repos_dir() and reports it. */
void       bkt_copr_execute      (BktOperation *op, BktExecContext *ctx);
/* {name, manifest: {enabled, gpg_check} | null, system: {…} | null,
 *  state: "in-sync" | "missing" | "differs" | "untracked"} for each
 * project of either side, sorted. */
JsonArray *bkt_copr_status       (JsonArray *live, BktManifest *m);

G_END_DECLS
