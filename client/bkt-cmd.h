/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-client.h"
#include "bkt-render.h"
#include "bkt-manifest.h"

G_BEGIN_DECLS

/* Shared by the command files (bkt.c, bkt-cmd-ext.c). */

/* Exit codes (documented in bkt(1)). */
enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

typedef struct {
  /* global */
  char     *manifests;
  gboolean  dry_run;
  gboolean  json;
  gboolean  wait;
  gboolean  verbose;
  /* per command */
  char     *only;
  char     *exclude;
  char     *remote;
  char     *scope;
  gboolean  force;
  char     *comment;
  char     *path;
  char     *host;
  gboolean  disabled;
  gboolean  now;
  /* punning (mutating commands, local commit, pr retry) */
  gboolean  local;
  gboolean  pr_only;
  gboolean  skip_preflight;
  char     *repo;
  char     *context;
  char     *select;
  /* three-way sync (apply, capture): which side wins, sent as "resolve" */
  gboolean  theirs;
  gboolean  ours;
  const char *resolve;
} Options;

typedef struct {
  Options      opt;
  BktClient   *client;
  BktRenderer  render;
  char        *command_line;   /* as typed, quoted in a PR's body */
  JsonObject  *tx_result;      /* the session transaction's Result */
  char       **typed_args;     /* the arguments after the command, as typed (borrowed) */
} Ctx;

/* Prints "bkt: MESSAGE" and returns the exit code for @error. */
int       fail            (GError *error);
/* Parse with @octx (its entries set): exit-status text, "--" handling and
 * the positional argument count.  FALSE with the exit code in @code. */
gboolean  bkt_cmd_parse_context (GOptionContext *octx, int *argc, char ***argv,
                                 guint min_args, guint max_args, int *code);
/* Parse @argv for one command; leaves positional arguments in @argv.
 * Returns FALSE (and the exit code in @code) on --help or a usage error. */
gboolean  parse_command   (Ctx *ctx, const char *usage, const char *summary, const GOptionEntry *extra,
                           int *argc, char ***argv, guint min_args, guint max_args, int *code);
/* The same, for mutating commands: adds --local, --pr-only, --repo,
 * --skip-preflight and --context (see docs/punning.md). */
gboolean  parse_command_full (Ctx *ctx, const char *usage, const char *summary, const GOptionEntry *extra,
                              gboolean with_change_options, int *argc, char ***argv,
                              guint min_args, guint max_args, int *code);
/* Where bkt runs: "host", "dev" (a toolbox: /run/.toolboxenv) or "image"
 * (another container); BKT_CONTEXT_ROOT prefixes the markers (tests). */
const char *bkt_cmd_detect_context (void);
/* The manifests as the session daemon reads them: -m DIR, else the image
 * copy under the user's overlay. */
BktManifestSet *bkt_cmd_load_manifests (Ctx *ctx, GError **error);
/* Options a{sv} for the session instance's Manager methods (floating). */
GVariant *session_options (Ctx *ctx, const char *only_override);
/* apply / capture limited to @only (NULL: --only/--exclude as given). */
int       run_apply       (Ctx *ctx, const char *only);
int       run_capture     (Ctx *ctx, const char *only);
/* ChangePlan + Change of one subsystem action; takes @arguments (floating). */
int       run_change      (Ctx *ctx, const char *subsystem, const char *action, GVariant *arguments);
/* The same, with a live part of the client's own (bkt dev: dnf in the
 * user's toolbox): @act->plan puts its operations at the front of the
 * session's plan before it is shown; @act->act does them after the plan
 * (preflight included) and before anything is recorded, appending one
 * result each; FALSE stops with its error, nothing recorded or proposed. */
typedef struct {
  void     (*plan) (Ctx *ctx, gpointer data, JsonObject *plan);
  gboolean (*act)  (Ctx *ctx, gpointer data, JsonArray *results, GError **error);
  gpointer   data;
} BktClientAct;
int       run_change_acting (Ctx *ctx, const char *subsystem, const char *action, GVariant *arguments,
                             const BktClientAct *act);
void      add_string      (GVariantBuilder *b, const char *key, const char *value);

/* The distribution repo's path (--repo, config.json, the working
 * directory...: bkt_repo_discover()), for the repo-side tools. */
char     *bkt_cmd_repo_path (Ctx *ctx, GError **error);
/* "unknown WHAT command" (unless @sub is --help) and @text; the exit code. */
int       bkt_cmd_sub_usage (const char *what, const char *sub, const char *text);

int       bkt_cmd_extension (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_shim      (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_dnf       (Ctx *ctx, int argc, char **argv);
/* The (sa{sv}) arguments of Admin.CoprEnable/CoprDisable/CoprRemove for a
 * ChangePlan system_request (floating). */
GVariant *bkt_cmd_dnf_copr_args (JsonObject *req);
int       bkt_cmd_dev       (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_containerfile (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_changelog (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_base      (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_drift     (Ctx *ctx, int argc, char **argv);
/* changelog generate and motd (bkt-cmd-whatsnew.c); @argv[1] is the subcommand. */
int       bkt_cmd_changelog_more (Ctx *ctx, int argc, char **argv);
/* The distribution repo the maintenance commands work on (--repo, ...). */
char     *bkt_cmd_repo_path (Ctx *ctx, GError **error);
/* The "changelog" section of `bkt status`: the running image's release
 * (the booted version from @os, the "os" section, or the newest version
 * the image ships), the manual steps since the acknowledged version, and
 * warnings for malformed version files.  Never fails. */
JsonObject *bkt_image_changelog_section (JsonObject *os);
void      bkt_image_changelog_print (JsonObject *section);
int       bkt_cmd_upstream  (Ctx *ctx, int argc, char **argv);

G_END_DECLS
