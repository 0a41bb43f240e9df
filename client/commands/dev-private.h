/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What `bkt dev`'s files share (dev.c: the toolbox, its dnf, status and
 * update; dev-sync.c: its three-way record, diff and capture). */

#include "commands.h"
#include "bkt-toolbox.h"

G_BEGIN_DECLS

/* Where the commands go. */
typedef struct {
  BktToolboxRoute route;
  char           *program;     /* toolbox or podman (routes from the host) */
  char           *container;
  char           *dnf;         /* the dnf to run there */
  char           *rpm;
  char           *own_image;   /* DIRECT: the image of the toolbox bkt runs in */
  gboolean        is_root;
} Target;

void bkt_dev_target_clear (Target *t);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Target, bkt_dev_target_clear)

/* The container's state: */
typedef struct {
  gboolean  exists;
  char     *image;
  char    **installed;   /* sorted; NULL when the container does not exist */
} Live;

void bkt_dev_live_clear (Live *l);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Live, bkt_dev_live_clear)

typedef struct {
  char     *container;
  gboolean  pr;
  gboolean  rebuild;
  gboolean  confirm;
  char     *image;
} DevOptions;

void bkt_dev_options_clear (DevOptions *o);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DevOptions, bkt_dev_options_clear)

#define CONTAINER_ENTRY(o) \
  { "container", 'c', 0, G_OPTION_ARG_STRING, &(o)->container, "The toolbox (default: config.json \"dev_container\", else toolbox's default)", "NAME" }

const char *bkt_dev_route_name       (BktToolboxRoute route);
/* The container: --container, the toolbox bkt runs in, config.json, toolbox's default. */
gboolean    bkt_dev_resolve_target   (const char *container_opt, Target *t, GError **error);
char      **bkt_dev_wrap             (Target *t, gboolean privileged, const char * const *cmd);
gboolean    bkt_dev_run_visible      (Ctx *ctx, const char * const *argv, GError **error);
/* Whether the container exists, and its image: no process inside it. */
gboolean    bkt_dev_read_exists      (Target *t, Live *live, GError **error);
gboolean    bkt_dev_read_installed   (Target *t, Live *live, GError **error);
gboolean    bkt_dev_read_live        (Target *t, Live *live, GError **error);
/* The packages of the container's image (recorded by --rebuild), or NULL. */
char      **bkt_dev_load_base        (const char *container);
GStrv       bkt_dev_manifest_names   (Ctx *ctx, GError **error);
/* Records (@install) or forgets @names in toolbox-packages.json of the
 * user's overlay (or -m DIR): one atomic write. */
gboolean    bkt_dev_record           (Ctx *ctx, gboolean install, const char * const *names, char **out_path,
                                      GError **error);
void        bkt_dev_print_argv       (const char *what, const char * const *argv);
/* --pr (run_change_acting()'s hooks): @live's operations (a plan as JSON)
 * at the front of the session's @plan; one result per operation of @live
 * (successful if @error is NULL) added to @results. */
void        bkt_dev_plan_prepend     (JsonNode *live, JsonObject *plan);
void        bkt_dev_add_results      (JsonNode *live, const GError *error, JsonArray *results);
JsonArray  *bkt_dev_strv_to_json     (const char * const *v);

/* dev-sync.c: after bkt changed the container or the manifest (@command:
 * "dev-update", "dev-dnf", "dev-capture"; @touched: the packages it
 * installed, removed or forgot), read back: the packages both sides agree
 * on become the base of the container's record.  Never fails the command:
 * a record that cannot be written is a warning. */
void bkt_dev_sync_after (Ctx *ctx, Target *t, const char *command, const char * const *touched);
int  bkt_dev_diff       (Ctx *ctx, int argc, char **argv);
int  bkt_dev_capture    (Ctx *ctx, int argc, char **argv);

/* dev-copr.c: COPRs in the toolbox. */
extern const BktCommand bkt_dev_copr_commands[];
/* The container's COPRs ({name, enabled}, sorted): ONE `dnf repolist --all` in it. */
gboolean    bkt_dev_read_coprs       (Target *t, JsonArray **out, GError **error);
/* toolbox-packages.json's copr_repos ({name, enabled, gpg_check}, checked). */
JsonArray  *bkt_dev_manifest_coprs   (BktManifestSet *set);
/* `bkt dev update`: the live COPR operations that make the container's
 * COPRs what @wanted declares (@live: the container's; empty for one
 * about to be created).  Projects @wanted does not list are left alone. */
void        bkt_dev_copr_plan_update (const char *container, JsonArray *wanted, JsonArray *live, GPtrArray *ops);
/* The same from the manifests and (unless @fresh) ONE read of the
 * container; nothing is read when copr_repos is empty. */
gboolean    bkt_dev_copr_update_ops  (Ctx *ctx, Target *t, gboolean fresh, GPtrArray *ops, GError **error);
/* One `dnf -y copr enable|disable` per live COPR operation of @ops, then
 * ONE `dnf repolist --all` that must show each as asked (else an error). */
gboolean    bkt_dev_copr_execute     (Ctx *ctx, Target *t, GPtrArray *ops, GError **error);
void        bkt_dev_copr_print_argvs (const char *what, Target *t, GPtrArray *ops);
JsonArray  *bkt_dev_copr_argvs_json  (Target *t, GPtrArray *ops);
/* The COPRs that differ, for `bkt dev diff`: declared enabled and not
 * enabled ("missing"), declared disabled and enabled ("differs"), enabled
 * and undeclared ("untracked"); {name, declared, declared_enabled,
 * enabled, state, what, next}. */
JsonArray  *bkt_dev_copr_diff        (JsonArray *wanted, JsonArray *live);

G_END_DECLS
