/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* The development toolbox (manifests/toolbox-packages.json, the same
 * format as system-packages.json): `bkt dev`.
 *
 * The live side — dnf in the user's own toolbox container — needs no
 * privilege and is run by the client (client/commands/dev.c), on the
 * user's terminal, with the functions below: argv builders for the three
 * routes into the container, parsers of `toolbox list` and `rpm -qa`, and
 * the plan of `bkt dev update` (manifest → container).
 *
 * The subsystem "toolbox" exists in the session instance only for the
 * record + pull request of `bkt dev dnf install|remove --pr` (ChangePlan /
 * Change): its changes are manifest edits of toolbox-packages.json, never
 * live operations, and it is created only when a request names it (never
 * part of `bkt apply` or `bkt status` of the host). */
#define BKT_TYPE_TOOLBOX (bkt_toolbox_get_type ())
G_DECLARE_FINAL_TYPE (BktToolbox, bkt_toolbox, BKT, TOOLBOX, GObject)

BktSubsystem *bkt_toolbox_new (void);

/* How a command reaches the container. */
typedef enum {
  BKT_TOOLBOX_ROUTE_DIRECT,   /* bkt runs inside it: the command itself (dnf through sudo unless root) */
  BKT_TOOLBOX_ROUTE_TOOLBOX,  /* from the host: TOOLBOX run -c NAME CMD… */
  BKT_TOOLBOX_ROUTE_PODMAN,   /* from the host without toolbox: PODMAN exec --user root NAME CMD… */
} BktToolboxRoute;

/* A toolbox container name as toolbox accepts it: [A-Za-z0-9][A-Za-z0-9_.-]*,
 * at most 64 bytes.  NULL if fine, else the reason (newly allocated). */
char  *bkt_toolbox_check_name (const char *name);

/* The value of KEY=VALUE in os-release or /run/.containerenv text, shell
 * unquoted; NULL if absent (newly allocated). */
char  *bkt_toolbox_file_value (const char *text, const char *key);

/* The default container name: @config's "dev_container" (config.json)
 * when set, else toolbox's own default "ID-toolbox-VERSION_ID" from
 * os-release (@os_release_text; fedora, rhel).  BKT_ERROR_INVALID_ARGUMENT
 * for a bad configured name, BKT_ERROR_NOT_FOUND when there is no
 * default (then --container is needed). */
char  *bkt_toolbox_default_name (JsonObject *config, const char *os_release_text, GError **error);

/* argv running @cmd (NULL-terminated) in container @name by @route;
 * @program is the toolbox or podman binary for those routes (ignored for
 * DIRECT).  With @privileged the command needs root in the container:
 * DIRECT prefixes "sudo" unless @is_root, TOOLBOX prefixes "sudo" (the
 * toolbox user is the host user), PODMAN runs as root. */
char **bkt_toolbox_wrap_argv (BktToolboxRoute route, const char *program, const char *name,
                              gboolean privileged, gboolean is_root, const char * const *cmd);

/* The ONE batched dnf change: `DNF install|remove -y -- NAME…` (names
 * validated by the caller), wrapped by bkt_toolbox_wrap_argv(). */
char **bkt_toolbox_dnf_change_argv (BktToolboxRoute route, const char *program, const char *name,
                                    gboolean is_root, const char *dnf, gboolean install,
                                    const char * const *names);

/* From `toolbox list --containers` output (columns CONTAINER ID, CONTAINER
 * NAME, CREATED, STATUS, IMAGE NAME; CREATED may hold spaces): whether
 * container @name is listed and its image (newly allocated, or NULL). */
gboolean bkt_toolbox_parse_list (const char *output, const char *name, char **out_image);

/* From `rpm -qa --qf '%{NAME}\n'`: the installed names, sorted, unique. */
char **bkt_toolbox_parse_installed (const char *output);

/* @wanted (manifest names) against @installed: @out_missing the wanted
 * names not installed (in @wanted's order), @out_extra the installed names
 * neither wanted nor in @base (NULL @base: every installed name counts).
 * Both NULL-terminated, g_strfreev. */
void   bkt_toolbox_diff (const char * const *wanted, const char * const *installed,
                         const char * const *base, char ***out_missing, char ***out_extra);

/* The plan of `bkt dev update` (and of dev install/remove): one live
 * operation per package ("toolbox" "install"/"remove" "package:NAME",
 * effect live, executed by the client as ONE dnf call), then, for
 * install/remove, the record/forget of toolbox-packages.json. */
BktPlan *bkt_toolbox_plan (const char *container, gboolean install, const char * const *names,
                           gboolean with_manifest_edits);

/* The manifest's package names (toolbox-packages.json), borrowed. */
GPtrArray *bkt_toolbox_manifest_names (BktManifestSet *manifests);

/* COPRs inside the toolbox (`bkt dev copr`, and `bkt dev update` for
 * toolbox-packages.json's copr_repos): the container's own `dnf copr
 * enable|disable` writes the repo file, `dnf repolist --all` reads it back.
 *
 * From `dnf repolist --all` output (dnf4 and dnf5 alike: a header line
 * "repo id … status", then one repo a line, its id first and "enabled" or
 * "disabled" last; dnf4 drops the name column when it has no terminal):
 * the COPR projects of copr.fedorainfracloud.org as objects {name,
 * enabled}, sorted by name.  Other repos, a project's multilib
 * ("…:ml") and runtime-dependency ("coprdep:…") repos and names bkt
 * would refuse are left out. */
JsonArray    *bkt_toolbox_parse_coprs (const char *repolist_output);
/* The live operation ("toolbox" "copr-enable"/"copr-disable"
 * "copr:NAME", user scope, effect live; the client runs it) and the
 * record in toolbox-packages.json's copr_repos {name, enabled, gpg_check}. */
BktOperation *bkt_toolbox_copr_op        (const char *container, const char *name, gboolean enable);
BktOperation *bkt_toolbox_copr_record_op (const char *name, gboolean enabled, gboolean gpg_check);

G_END_DECLS
