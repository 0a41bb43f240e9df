/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-client.h"
#include "bkt-render.h"
#include <stdio.h>

#include "bkt-manifest.h"

G_BEGIN_DECLS

/* Shared by the command files (commands/): option parsing, the command
 * tables, the change flow.  Built into libbkt-client (a static library
 * linked by bkt and bkt-tool); the command files never call each other. */

/* Exit codes (documented in bkt(1)). */
enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_DECLINED = 130,
  /* 3 not authorised, 4 daemon unreachable, 5 invalid input, 6 busy,
   * 130 cancelled: bkt_error_exit_code() */
  /* upstream verify: nothing failed, but some pins could not be
   * downloaded (network), so nothing was compared for them */
  EXIT_UNVERIFIED = 7,
  /* apply: items changed on this machine since bkt last synced them (or on
   * both sides) would be reverted; nothing done (org.bkt.Error.Conflict) */
  EXIT_CONFLICT = 8,
  /* doctor: no report could be made (its checks did not run) */
  EXIT_DOCTOR_FAILED = 9,
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
  gboolean  pr;           /* capture --pr */
  char    **items;        /* capture --item TARGET… */
  char     *repo;
  char     *context;
  char     *select;
  /* apply: once per image, and say so on the desktop (docs/image.md) */
  gboolean  if_image_changed;
  gboolean  notify;
  /* three-way sync (apply, capture): which side wins, sent as "resolve"
   * (docs/manifests.md, "Which side changed") */
  gboolean  theirs;
  gboolean  ours;
  const char *resolve;
  /* apply --prune: also remove what bkt installed and no manifest declares */
  gboolean  prune;
  /* capture: untracked items are recorded only when picked (--select
   * IDS, sent as "select"; --all-untracked) */
  gboolean  all_untracked;
} Options;

typedef struct BktCommand BktCommand;

typedef struct {
  Options      opt;
  BktClient   *client;
  BktRenderer  render;
  char        *command_line;   /* as typed, quoted in a PR's body */
  JsonObject  *tx_result;      /* the session transaction's Result */
  char       **typed_args;     /* the arguments after the command, as typed (borrowed) */
  char       **argv;           /* main's argv (borrowed): for bkt-tool and the host fallback */
  const BktCommand *command;   /* the command running */
  const BktCommand *group;     /* the table it was found in (its siblings) */
  const char  *path;           /* its full path, "bkt flatpak add" (borrowed) */
} Ctx;

/* A command at one level of the command line: a leaf (@run) or a group
 * (@subcommands, a table ended by a row with a NULL name).  The tables
 * produce `bkt --help`, `bkt help CMD [SUB]`, each group's list and each
 * leaf's usage line with its full path. */
struct BktCommand {
  const char        *name;
  const char        *alias;        /* or NULL */
  const char        *summary;      /* one line: what it does */
  const char        *usage;        /* the arguments after [OPTION…], e.g. "ID"; NULL: none */
  int              (*run) (Ctx *ctx, int argc, char **argv);
  const BktCommand  *subcommands;  /* a group: the next level */
  const char        *data;         /* per-row data for rows sharing one run (a subsystem, a verb) */
  gboolean           hidden;       /* accepted, not listed */
};

/* main() of bkt and bkt-tool: the context (the command line as typed, for
 * a PR's body), then @table from the top ("bkt", @summary). */
int       bkt_cmd_main    (BktClient *client, const char *summary, const BktCommand *table,
                           int argc, char **argv);

/* Is --version among the options before the command name (bkt -v --version)? */
gboolean  bkt_cmd_wants_version (int argc, char **argv);

/* Prints "bkt: MESSAGE" and returns the exit code for @error. */
int       fail            (GError *error);

/* Run @argv (argv[0] the path so far, "bkt") against @table: finds the
 * command by name or alias after any global options, answers --help and
 * `help [CMD…]`, says what is missing or unknown (exit 2), and runs the
 * leaf with argv[0] its full path ("bkt flatpak add") and ctx->command set. */
int       bkt_cmd_dispatch (Ctx *ctx, const BktCommand *table, int argc, char **argv);
/* The row of @table named (or aliased) @name, or NULL. */
const BktCommand *bkt_cmd_find (const BktCommand *table, const char *name);
/* Does option word @arg take the next word as its value (global and change options)? */
gboolean  bkt_cmd_option_takes_value (const char *arg);
/* `bkt __complete WORD… CURRENT` (bkt-complete.c): the candidates for the
 * word being typed, one per line, for the scripts `bkt completions SHELL`
 * prints.  Always exit 0; never acts. */
int       bkt_cmd_complete (Ctx *ctx, const BktCommand *table, int n_words, char **words);
/* bkt completions bash|zsh|fish */
int       bkt_cmd_completions (Ctx *ctx, int argc, char **argv);
/* The help of a group (its summary and a table of its commands). */
void      bkt_cmd_print_group_help (FILE *out, const char *path, const char *summary,
                                    const BktCommand *table);
/* The exit-status text every command's --help ends with. */
extern const char bkt_cmd_exit_status_text[];

/* Parse with @octx (its entries set): exit-status text, "--" handling and
 * the positional argument count ("bkt: PATH: missing ARG" / "too many
 * arguments", then the usage line).  FALSE with the exit code in @code. */
gboolean  bkt_cmd_parse_context (GOptionContext *octx, const char *path, const char *usage,
                                 int *argc, char ***argv, guint min_args, guint max_args, int *code);
/* Parse @argv for the current command (ctx->command: its usage and
 * summary); leaves positional arguments in @argv.  Returns FALSE (and the
 * exit code in @code) on --help or a usage error.
 * A group whose commands share one function may share one @extra table:
 * an entry whose description starts with "CMD[, CMD…]: ", all of them
 * names in the group (e.g. "add: the pull request number"), is an option
 * of those commands only — the others neither list nor accept it. */
gboolean  parse_command   (Ctx *ctx, const GOptionEntry *extra,
                           int *argc, char ***argv, guint min_args, guint max_args, int *code);
/* The same, for mutating commands: adds --local, --pr-only, --repo,
 * --skip-preflight and --context (see docs/punning.md). */
gboolean  parse_command_full (Ctx *ctx, const GOptionEntry *extra, gboolean with_change_options,
                              int *argc, char ***argv, guint min_args, guint max_args, int *code);
/* Where bkt runs: "host", "dev" (a toolbox: /run/.toolboxenv) or "image"
 * (another container); BKT_CONTEXT_ROOT prefixes the markers (tests). */
const char *bkt_cmd_detect_context (void);
/* The manifests as the session daemon reads them: -m DIR, else the image
 * copy under the user's overlay. */
BktManifestSet *bkt_cmd_load_manifests (Ctx *ctx, GError **error);
/* "a,b" as a NULL-terminated list without empty items; NULL for NULL. */
GStrv     bkt_cmd_split_list (const char *list);
/* Options a{sv} for the session instance's Manager methods (floating). */
GVariant *session_options (Ctx *ctx, const char *only_override);
/* Options of a change or a proposal: session_options + the repo + @mode
 * (floating). */
GVariant *change_options  (Ctx *ctx, const char *mode);
/* The mode sent to bktd, from --local/--pr-only/--context; NULL after
 * printing a usage error (then *code is set). */
const char *change_mode   (Ctx *ctx, int *code);
void      add_string      (GVariantBuilder *b, const char *key, const char *value);
/* The distribution repo's path (--repo, config.json, the working
 * directory...: bkt_repo_discover()), for the repo-side tools. */
char     *bkt_cmd_repo_path (Ctx *ctx, GError **error);

/* A mutating command's clear yes: @confirm (--confirm/-y), or "yes" typed
 * on a terminal.  FALSE with *@code set (2 without a terminal, 130 when
 * declined) after saying why. */
gboolean  bkt_cmd_confirm (gboolean confirm, const char *what, int *code);

/* (bkt-change.c) Rows shared by the subsystem groups: apply (`sync`) or capture of the
 * subsystem the row's data names. */
int       bkt_cmd_run_sync    (Ctx *ctx, int argc, char **argv);
int       bkt_cmd_run_capture (Ctx *ctx, int argc, char **argv);
/* The status object of one subsystem from the session daemon (@out_all
 * holds the whole reply), or NULL with @error set. */
JsonObject *bkt_cmd_subsystem_status (Ctx *ctx, const char *subsystem, JsonObject **out_all, GError **error);

/* ---- the change flow (bkt-change.c) ---- */

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
/* LocalCommit / PrRetry: a transaction of pr operations only; takes
 * @params (floating). */
int       run_proposal    (Ctx *ctx, const char *method, GVariant *params);

/* ---- the repo tools' executable (bkt-tool, in libexecdir) ---- */

/* Exec bkt-tool with the command line as typed (git runs git-foo the same
 * way); BKT_TOOL_PATH overrides where it is (tests run the build's). */
int       bkt_cmd_exec_tool (Ctx *ctx, int argc, char **argv);


/* ---- `bkt SUBSYSTEM list` (bkt-list.c) ---------------------------------------------- */

/* How one subsystem's list looks; the flow is bkt_list_run's. */
typedef struct {
  const char *subsystem;        /* its name in the daemon's Status */
  const char *entries_member;   /* the tracked entries' member; NULL: "entries" */
  int         name_width;       /* the first column, also of untracked lines */
  const char *untracked_hint;   /* after an untracked item: what records it */
  void (*print_header) (JsonObject *status);                        /* or NULL */
  void (*print_entry)  (JsonObject *status, JsonObject *entry);
  void (*print_footer) (JsonObject *status, guint n_untracked);     /* or NULL */
} BktListView;

int      bkt_list_run     (Ctx *ctx, int argc, char **argv, const BktListView *view);
/* Is there an object in @items (its @member, if not NULL) whose string
 * members @keys equal @entry's?  (A drift operation's "details", an
 * "unknown" entry: which state a tracked entry is in.) */
gboolean bkt_list_matches (JsonArray *items, const char *member, JsonObject *entry, const char *const *keys);

G_END_DECLS
