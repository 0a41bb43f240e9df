/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bkt-cmd.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-repo.h"

/* What every command shares: the command tables' dispatch and help, option
 * parsing (global options before or after the command name at every
 * level), and the options sent to the daemon. */

const char bkt_cmd_exit_status_text[] =
  "Exit status: 0 ok, 1 operation failed, 2 usage error, 3 not authorised,\n"
  "4 daemon unreachable, 5 invalid input, 6 busy, 130 cancelled or declined. See bkt(1).";

int
fail (GError *error)
{
  int code = bkt_error_exit_code (error);

  g_printerr ("bkt: %s\n", error->message);
  return code;
}

/* ---- options --------------------------------------------------------------------------- */

static GOptionEntry *
global_entries (Options *o)
{
  static GOptionEntry e[6];
  const GOptionEntry tmpl[] = {
    { "manifests", 'm', 0, G_OPTION_ARG_FILENAME, &o->manifests, "Use this manifests directory instead of the layering", "DIR" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &o->dry_run, "Show the plan; change nothing", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Machine-readable output", NULL },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &o->wait, "If bktd is busy, wait instead of failing", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, "Show debug messages", NULL },
    { NULL }
  };
  memcpy (e, tmpl, sizeof tmpl);
  return e;
}

/* Options of every mutating command (and of local commit / pr retry). */
static GOptionEntry *
change_entries (Options *o)
{
  static GOptionEntry e[6];
  const GOptionEntry tmpl[] = {
    { "local", 0, 0, G_OPTION_ARG_NONE, &o->local, "Act and record here; no pull request (journaled for bkt local commit)", NULL },
    { "pr-only", 0, 0, G_OPTION_ARG_NONE, &o->pr_only, "Only open the pull request; change nothing here", NULL },
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &o->repo, "The distribution repo checkout", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &o->skip_preflight, "Act even if the pull request cannot be opened", NULL },
    { "context", 0, 0, G_OPTION_ARG_STRING, &o->context, "host, dev (toolbox) or image (build time: record + PR only)", "CTX" },
    { NULL }
  };
  memcpy (e, tmpl, sizeof tmpl);
  return e;
}

/* Does @arg (an option word before the command name) take the next word
 * as its value?  The options that may come before a command name are the
 * global ones and the change options; their tables say which take one. */
gboolean
bkt_cmd_option_takes_value (const char *arg)
{
  Options scratch = { 0 };
  const GOptionEntry *tables[] = { global_entries (&scratch), change_entries (&scratch) };

  if (strchr (arg, '=') != NULL)
    return FALSE;
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    for (const GOptionEntry *e = tables[t]; e->long_name != NULL; e++)
      {
        gboolean named = (g_str_has_prefix (arg, "--") && g_str_equal (arg + 2, e->long_name)) ||
                         (e->short_name != 0 && arg[0] == '-' && arg[1] == e->short_name && arg[2] == '\0');
        if (named)
          return e->arg != G_OPTION_ARG_NONE;
      }
  return FALSE;
}

static gboolean
is_help_option (const char *arg)
{
  return g_str_equal (arg, "--help") || g_str_equal (arg, "-h") || g_str_equal (arg, "-?");
}

/* The parameter words of a usage ("SCHEMA KEY [VALUE]…"): the required
 * ones, in order, without brackets or ellipses. */
static GPtrArray *
required_params (const char *usage)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) words = g_strsplit (usage != NULL ? usage : "", " ", -1);

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr(GString) w = g_string_new (words[i]);
      if (w->len == 0 || w->str[0] == '[' || w->str[0] == '-' || w->str[0] == '|')
        continue;
      while (w->len > 0 && (g_str_has_suffix (w->str, "…") || w->str[w->len - 1] == '.'))
        g_string_truncate (w, g_str_has_suffix (w->str, "…") ? w->len - strlen ("…") : w->len - 1);
      if (w->len > 0)
        g_ptr_array_add (out, g_string_free (g_steal_pointer (&w), FALSE));
    }
  return g_steal_pointer (&out);
}

/* "bkt: gsetting set: missing KEY and VALUE" */
static void
print_missing (const char *what, const char *usage, guint given)
{
  g_autoptr(GPtrArray) params = required_params (usage);
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = given; i < params->len; i++)
    g_string_append_printf (s, "%s%s", i == given ? "" : i + 1 == params->len ? " and " : ", ",
                            (const char *) params->pdata[i]);
  g_printerr ("bkt: %s: missing %s\n", what, s->len > 0 ? s->str : "an argument");
}

/* The common part of every command's parsing: the exit-status text, the
 * parse itself, the "--" GOption leaves in place (it has done its job:
 * what follows was not parsed as options), and the argument count. */
gboolean
bkt_cmd_parse_context (GOptionContext *octx, const char *path, const char *usage,
                       int *argc, char ***argv, guint min_args, guint max_args, int *code)
{
  g_autoptr(GError) error = NULL;
  const char *what = g_str_has_prefix (path, "bkt ") ? path + 4 : path;
  guint given;

  g_option_context_set_description (octx, bkt_cmd_exit_status_text);
  if (!g_option_context_parse (octx, argc, argv, &error))
    {
      g_printerr ("bkt: %s: %s\n", what, error->message);
      g_printerr ("Run “%s --help” for usage.\n", path);
      *code = EXIT_USAGE;
      return FALSE;
    }
  for (int i = 1; i < *argc; i++)
    if (g_str_equal ((*argv)[i], "--"))
      {
        memmove (&(*argv)[i], &(*argv)[i + 1], sizeof (char *) * (*argc - i));
        (*argc)--;
        break;
      }
  given = (guint) (*argc - 1);
  if (given >= min_args && given <= max_args)
    return TRUE;
  if (given < min_args)
    print_missing (what, usage, given);
  else
    {
      g_autofree char *extra = g_strjoinv (" ", *argv + 1 + max_args);
      g_printerr ("bkt: %s: too many arguments (%s)\n", what, extra);
    }
  g_printerr ("Usage: %s [OPTION…]%s%s\nRun “%s --help” for more.\n", path,
              usage != NULL ? " " : "", usage != NULL ? usage : "", path);
  *code = EXIT_USAGE;
  return FALSE;
}

/* Is @name a command of @group? */
static gboolean
is_sibling (const BktCommand *group, const char *name)
{
  for (const BktCommand *c = group; group != NULL && c->name != NULL; c++)
    if (g_str_equal (c->name, name))
      return TRUE;
  return FALSE;
}

/* The entries of @extra this command takes (see parse_command()), with
 * the "CMD: " prefix left out of their description. */
static GArray *
entries_for_command (Ctx *ctx, const GOptionEntry *extra)
{
  GArray *out = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));

  for (const GOptionEntry *e = extra; e != NULL && e->long_name != NULL; e++)
    {
      const char *colon = e->description != NULL ? strstr (e->description, ": ") : NULL;
      g_autofree char *prefix = colon != NULL ? g_strndup (e->description, colon - e->description) : NULL;
      g_auto(GStrv) names = prefix != NULL ? g_strsplit (prefix, ", ", -1) : NULL;
      gboolean scoped = names != NULL && names[0] != NULL;
      GOptionEntry copy = *e;

      for (guint i = 0; scoped && names[i] != NULL; i++)
        scoped = is_sibling (ctx->group, names[i]);
      if (scoped)
        {
          if (!g_strv_contains ((const char * const *) names, ctx->command->name))
            continue;
          copy.description = colon + 2;
        }
      g_array_append_val (out, copy);
    }
  return out;
}

/* A change option (--local, --pr-only, --repo, --skip-preflight,
 * --context) given to a command that does not take it, wherever it was
 * typed (bkt --local status): a clear error rather than GOption's
 * "Unknown option", and never ignored. */
static gboolean
refuse_change_options (Ctx *ctx, GArray *own, int argc, char **argv, int *code)
{
  Options scratch = { 0 };
  const GOptionEntry *change = change_entries (&scratch);
  const char *what = g_str_has_prefix (ctx->path, "bkt ") ? ctx->path + 4 : ctx->path;

  for (int i = 1; i < argc && !g_str_equal (argv[i], "--"); i++)
    {
      g_autofree char *name = NULL;
      gboolean defined = FALSE;

      if (!g_str_has_prefix (argv[i], "--"))
        continue;
      name = g_strndup (argv[i] + 2, strcspn (argv[i] + 2, "="));
      for (guint k = 0; k < own->len; k++)
        defined |= g_strcmp0 (g_array_index (own, GOptionEntry, k).long_name, name) == 0;
      for (const GOptionEntry *e = change; !defined && e->long_name != NULL; e++)
        if (g_str_equal (e->long_name, name))
          {
            g_printerr ("bkt: %s: --%s applies to commands that record a change and propose it (flatpak add, "
                        "gsetting set, …: CHANGE OPTIONS in bkt(1)), not to %s\n", what, name, what);
            *code = EXIT_USAGE;
            return FALSE;
          }
    }
  return TRUE;
}

gboolean
parse_command (Ctx *ctx, const GOptionEntry *extra,
               int *argc, char ***argv, guint min_args, guint max_args, int *code)
{
  return parse_command_full (ctx, extra, FALSE, argc, argv, min_args, max_args, code);
}

gboolean
parse_command_full (Ctx *ctx, const GOptionEntry *extra, gboolean with_change_options,
                    int *argc, char ***argv, guint min_args, guint max_args, int *code)
{
  const BktCommand *cmd = ctx->command;
  g_autofree char *params = g_strdup_printf ("%s%s%s", cmd->usage ? cmd->usage : "",
                                             cmd->usage ? " - " : "- ", cmd->summary);
  g_autoptr(GOptionContext) octx = g_option_context_new (params);
  g_autoptr(GArray) own = entries_for_command (ctx, extra);

  g_option_context_add_main_entries (octx, global_entries (&ctx->opt), NULL);
  g_option_context_add_main_entries (octx, (const GOptionEntry *) own->data, NULL);
  if (with_change_options)
    g_option_context_add_main_entries (octx, change_entries (&ctx->opt), NULL);
  else if (!refuse_change_options (ctx, own, *argc, *argv, code))
    return FALSE;
  if (!bkt_cmd_parse_context (octx, ctx->path, cmd->usage, argc, argv, min_args, max_args, code))
    return FALSE;
  /* -n: from here on every file write of this process is refused. */
  bkt_fs_set_dry_run (ctx->opt.dry_run);
  if (ctx->opt.verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  if (ctx->client != NULL)
    bkt_client_set_wait (ctx->client, ctx->opt.wait);
  bkt_render_init (&ctx->render, ctx->opt.json);
  return TRUE;
}

/* ---- the command tables ------------------------------------------------------------- */

const BktCommand *
bkt_cmd_find (const BktCommand *table, const char *name)
{
  for (const BktCommand *c = table; c->name != NULL; c++)
    if (g_str_equal (c->name, name) || g_strcmp0 (c->alias, name) == 0)
      return c;
  return NULL;
}

void
bkt_cmd_print_group_help (FILE *out, const char *path, const char *summary, const BktCommand *table)
{
  guint width = 0;

  fprintf (out, "Usage: %s [OPTION…] COMMAND …\n\n", path);
  if (summary != NULL)
    fprintf (out, "%s\n\n", summary);
  fprintf (out, "Commands:\n");
  for (const BktCommand *c = table; c->name != NULL; c++)
    if (!c->hidden)
      width = MAX (width, strlen (c->name) + (c->alias ? strlen (c->alias) + 3 : 0));
  for (const BktCommand *c = table; c->name != NULL; c++)
    {
      g_autofree char *label = NULL;
      if (c->hidden)
        continue;
      label = c->alias ? g_strdup_printf ("%s (%s)", c->name, c->alias) : g_strdup (c->name);
      fprintf (out, "  %-*s  %s\n", (int) width, label, c->summary);
    }
  fprintf (out, "\nGlobal options (before or after the command name, at every level):\n ");
  {
    Options scratch = { 0 };
    const GOptionEntry *first = global_entries (&scratch);

    for (const GOptionEntry *e = first; e->long_name != NULL; e++)
      {
        if (e != first)
          fputc (',', out);
        if (e->short_name != 0)
          fprintf (out, " -%c/", e->short_name);
        else
          fputc (' ', out);
        fprintf (out, "--%s%s%s", e->long_name, e->arg_description ? " " : "",
                 e->arg_description ? e->arg_description : "");
      }
  }
  fprintf (out, "\nChange options (of the commands that record and propose a change, also at every level):\n ");
  {
    Options scratch = { 0 };
    const GOptionEntry *first = change_entries (&scratch);

    for (const GOptionEntry *e = first; e->long_name != NULL; e++)
      fprintf (out, "%s --%s%s%s", e != first ? "," : "", e->long_name, e->arg_description ? " " : "",
               e->arg_description ? e->arg_description : "");
  }
  fprintf (out, "\n\nRun “%s help COMMAND” or “%s COMMAND --help” for a command's options. See bkt(1).\n",
           path, path);
}

/* The index of the first word of argv[1..] that is not an option (nor an
 * option's value): the command name; -1 if there is none. */
static int
find_command_word (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        return -1;
      if (argv[i][0] != '-' || argv[i][1] == '\0')
        return i;
      if (bkt_cmd_option_takes_value (argv[i]))
        i++;
    }
  return -1;
}

gboolean
bkt_cmd_wants_version (int argc, char **argv)
{
  for (int i = 1; i < argc && argv[i][0] == '-' && !g_str_equal (argv[i], "--"); i++)
    {
      if (g_str_equal (argv[i], "--version"))
        return TRUE;
      if (bkt_cmd_option_takes_value (argv[i]))
        i++;
    }
  return FALSE;
}

static gboolean
has_help_option (int argc, char **argv)
{
  for (int i = 1; i < argc && !g_str_equal (argv[i], "--"); i++)
    if (is_help_option (argv[i]))
      return TRUE;
  return FALSE;
}

int
bkt_cmd_dispatch (Ctx *ctx, const BktCommand *table, int argc, char **argv)
{
  const char *path = argv[0];
  const char *summary = ctx->command != NULL ? ctx->command->summary : NULL;
  int word = find_command_word (argc, argv);
  const BktCommand *cmd;
  g_autofree char *sub_path = NULL;
  g_autofree char **args = NULL;
  const char *saved_path = ctx->path;
  char **saved_typed = ctx->typed_args;
  gboolean moved = FALSE;
  int n = 0, code;

  if (word < 0)
    {
      gboolean help = has_help_option (argc, argv);
      if (!help && g_str_has_prefix (path, "bkt "))
        g_printerr ("bkt: %s: missing COMMAND\n", path + 4);
      else if (!help)
        g_printerr ("bkt: missing COMMAND\n");
      bkt_cmd_print_group_help (help ? stdout : stderr, path, summary, table);
      return help ? EXIT_OK : EXIT_USAGE;
    }

  /* `help [CMD…]` at any level: the same as `CMD… --help`. */
  if (g_str_equal (argv[word], "help"))
    {
      args = g_new0 (char *, argc + 2);
      for (int i = 0; i < argc; i++)
        if (i != word)
          args[n++] = argv[i];
      args[n++] = (char *) "--help";
      /* Commands that pass their arguments on as typed (dnf queries) see
       * this argv instead, --help included. */
      ctx->typed_args = NULL;
      code = bkt_cmd_dispatch (ctx, table, n, args);
      ctx->typed_args = saved_typed;
      return code;
    }

  cmd = bkt_cmd_find (table, argv[word]);
  if (cmd == NULL)
    {
      if (g_str_has_prefix (path, "bkt "))
        g_printerr ("bkt: unknown %s command “%s”\n\n", path + 4, argv[word]);
      else
        g_printerr ("bkt: unknown command “%s”\n\n", argv[word]);
      bkt_cmd_print_group_help (stderr, path, summary, table);
      return EXIT_USAGE;
    }

  /* The next level's argv: its full path, the words after the name, then
   * the options that came before it (before a "--", so that it keeps its
   * meaning: everything after it is an argument, e.g. an id like "-x").
   * A command's own parser sees them wherever they were typed. */
  sub_path = g_strdup_printf ("%s %s", path, cmd->name);
  args = g_new0 (char *, argc + 1);
  args[n++] = sub_path;
  for (int i = word + 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--") && !moved)
        {
          for (int j = 1; j < word; j++)
            args[n++] = argv[j];
          moved = TRUE;
        }
      args[n++] = argv[i];
    }
  for (int j = 1; j < word && !moved; j++)
    args[n++] = argv[j];
  /* The arguments as typed after the name (dnf passes them on as given). */
  if (ctx->typed_args != NULL)
    {
      /* typed_args - 1 stands for argv[0]: typed_args points into main's argv */
      int tw = find_command_word (g_strv_length (ctx->typed_args) + 1, ctx->typed_args - 1);
      if (tw > 0)
        ctx->typed_args += tw;
    }

  ctx->command = cmd;
  ctx->group = table;
  ctx->path = sub_path;
  g_set_prgname (sub_path);
  code = cmd->subcommands != NULL ? bkt_cmd_dispatch (ctx, cmd->subcommands, n, args)
                                  : cmd->run (ctx, n, args);
  ctx->path = saved_path;
  ctx->typed_args = saved_typed;
  return code;
}

/* Mutating commands need a clear yes: --confirm/-y, or an answer on a
 * terminal.  A script without the flag is refused rather than guessed. */
gboolean
bkt_cmd_confirm (gboolean confirm, const char *what, int *code)
{
  char line[64];

  if (confirm)
    return TRUE;
  if (!isatty (STDIN_FILENO))
    {
      g_printerr ("bkt: refusing to %s without confirmation: pass --confirm (or -y), or run the "
                  "command on a terminal and answer “yes”\n", what);
      *code = EXIT_USAGE;
      return FALSE;
    }
  g_print ("This will %s.\nContinue? [y/N] ", what);
  fflush (stdout);
  if (fgets (line, sizeof line, stdin) != NULL)
    {
      g_strstrip (line);
      if (g_ascii_strcasecmp (line, "y") == 0 || g_ascii_strcasecmp (line, "yes") == 0)
        return TRUE;
    }
  g_print ("Nothing done.\n");
  *code = EXIT_DECLINED;
  return FALSE;
}

/* ---- main ------------------------------------------------------------------------------ */

static char *
quoted_command_line (char **argv)
{
  g_autoptr(GString) line = g_string_new ("bkt");

  for (int j = 1; argv[j] != NULL; j++)
    {
      g_autofree char *q = strpbrk (argv[j], " \t'\"$`\\") ? g_shell_quote (argv[j]) : g_strdup (argv[j]);
      g_string_append_printf (line, " %s", q);
    }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static void
options_clear (Options *o)
{
  g_free (o->manifests);
  g_free (o->only);
  g_free (o->exclude);
  g_free (o->remote);
  g_free (o->scope);
  g_free (o->comment);
  g_free (o->path);
  g_free (o->host);
  g_free (o->repo);
  g_free (o->context);
  g_free (o->select);
  g_strfreev (o->items);
}

int
bkt_cmd_main (BktClient *client, const char *summary, const BktCommand *table, int argc, char **argv)
{
  const BktCommand top = { "bkt", NULL, summary, NULL, NULL, table };
  g_autofree char **args = g_new0 (char *, argc + 1);
  Ctx ctx = { 0 };
  int code;

  g_set_prgname ("bkt");
  ctx.client = client;
  ctx.argv = argv;
  ctx.typed_args = argv + 1;
  ctx.command = &top;
  ctx.path = "bkt";
  ctx.command_line = quoted_command_line (argv);
  bkt_render_init (&ctx.render, FALSE);
  args[0] = (char *) "bkt";
  for (int i = 1; i < argc; i++)
    args[i] = argv[i];
  /* the shells' completion functions (bkt completions SHELL) */
  if (argc > 1 && g_str_equal (argv[1], "__complete"))
    code = bkt_cmd_complete (&ctx, table, argc - 2, argv + 2);
  else
    code = bkt_cmd_dispatch (&ctx, table, argc, args);
  g_free (ctx.command_line);
  g_clear_pointer (&ctx.tx_result, json_object_unref);
  options_clear (&ctx.opt);
  return code;
}

/* ---- repo tools: bkt-tool ------------------------------------------------------------- */

/* Which bkt-tool: BKT_TOOL_PATH; else, for a bkt run from where it was
 * built (not from BKT_BINDIR), the bkt-tool built beside it, so that a
 * build tree never runs an installed tool of another version, or the one
 * of a relocated installation (DESTDIR, a prefix copied elsewhere:
 * BINDIR/../libexec); else the installed one. */
static char *
tool_path (void)
{
  const char *env = g_getenv ("BKT_TOOL_PATH");
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (dir != NULL && !g_str_equal (dir, BKT_BINDIR))
    {
      g_autofree char *sibling = g_build_filename (dir, "bkt-tool", NULL);
      g_autofree char *relocated = g_build_filename (dir, "..", "libexec", "bkt-tool", NULL);
      if (g_file_test (sibling, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&sibling);
      if (g_file_test (relocated, G_FILE_TEST_IS_EXECUTABLE))
        return g_canonicalize_filename (relocated, NULL);
    }
  return g_strdup (BKT_LIBEXECDIR "/bkt-tool");
}

int
bkt_cmd_exec_tool (Ctx *ctx, int argc, char **argv)
{
  g_autofree char *tool = tool_path ();
  g_autoptr(GPtrArray) a = g_ptr_array_new ();

  g_ptr_array_add (a, (char *) tool);
  for (guint i = 1; ctx->argv[i] != NULL; i++)
    g_ptr_array_add (a, ctx->argv[i]);
  g_ptr_array_add (a, NULL);
  fflush (stdout);
  execv (tool, (char **) a->pdata);
  g_printerr ("bkt: cannot run %s: %s (the repo tools: changelog, upstream, base, containerfile, drift)\n",
              tool, g_strerror (errno));
  return EXIT_FAILED;
}

/* ---- context and mode ------------------------------------------------------------ */

/* Where bkt runs: "host", "dev" (a toolbox: host-level work goes to the
 * host's bktd over the shared session bus) or "image" (any other
 * container, e.g. an image build: nothing live to act on).
 * BKT_CONTEXT_ROOT prefixes the marker files (tests). */
const char *
bkt_cmd_detect_context (void)
{
  const char *root = g_getenv ("BKT_CONTEXT_ROOT");
  g_autofree char *toolbox = g_build_filename (root ? root : "/", "run", ".toolboxenv", NULL);
  g_autofree char *containerenv = g_build_filename (root ? root : "/", "run", ".containerenv", NULL);
  const char *container = g_getenv ("container");

  if (g_file_test (toolbox, G_FILE_TEST_EXISTS))
    return "dev";
  if (g_file_test (containerenv, G_FILE_TEST_EXISTS) || (container != NULL && *container != '\0'))
    return "image";
  return "host";
}

BktManifestSet *
bkt_cmd_load_manifests (Ctx *ctx, GError **error)
{
  const char *image_dir = g_getenv ("BKT_IMAGE_MANIFESTS_DIR");
  g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "bkt", "manifests", NULL);

  if (ctx->opt.manifests != NULL)
    return bkt_manifest_set_load_dir (ctx->opt.manifests, error);
  return bkt_manifest_set_load_layered (image_dir ? image_dir : BKT_IMAGE_MANIFESTS_DIR, user_dir, error);
}

char *
bkt_cmd_repo_path (Ctx *ctx, GError **error)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *repo_dir = ctx->opt.repo != NULL ? g_canonicalize_filename (ctx->opt.repo, NULL) : NULL;
  g_autoptr(BktRepo) repo = bkt_repo_discover (repo_dir, cwd, error);

  return repo != NULL ? g_strdup (bkt_repo_get_path (repo)) : NULL;
}

GStrv
bkt_cmd_split_list (const char *list)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  if (list == NULL)
    return NULL;
  parts = g_strsplit (list, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i] != '\0')
        g_ptr_array_add (out, g_strdup (parts[i]));
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

GVariant *
session_options (Ctx *ctx, const char *only_override)
{
  GVariantBuilder b;
  g_auto(GStrv) only = bkt_cmd_split_list (only_override ? only_override : ctx->opt.only);
  g_auto(GStrv) exclude = bkt_cmd_split_list (ctx->opt.exclude);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (only != NULL)
    g_variant_builder_add (&b, "{sv}", "only", g_variant_new_strv ((const char * const *) only, -1));
  if (exclude != NULL)
    g_variant_builder_add (&b, "{sv}", "exclude", g_variant_new_strv ((const char * const *) exclude, -1));
  if (ctx->opt.manifests != NULL)
    {
      g_autofree char *abs = g_canonicalize_filename (ctx->opt.manifests, NULL);
      g_variant_builder_add (&b, "{sv}", "manifests-dir", g_variant_new_string (abs));
    }
  if (ctx->opt.resolve != NULL)
    g_variant_builder_add (&b, "{sv}", "resolve", g_variant_new_string (ctx->opt.resolve));
  if (ctx->opt.prune)
    g_variant_builder_add (&b, "{sv}", "prune", g_variant_new_boolean (TRUE));
  return g_variant_builder_end (&b);
}

const char *
change_mode (Ctx *ctx, int *code)
{
  const char *context;

  if (ctx->opt.local && ctx->opt.pr_only)
    {
      g_printerr ("bkt: --local and --pr-only conflict: --local changes this machine without a pull "
                  "request, --pr-only opens a pull request without changing this machine\n");
      *code = EXIT_USAGE;
      return NULL;
    }
  if (ctx->opt.context != NULL && !g_strv_contains ((const char * const[]) { "host", "dev", "image", NULL },
                                                    ctx->opt.context))
    {
      g_printerr ("bkt: --context must be host, dev or image, not “%s”\n", ctx->opt.context);
      *code = EXIT_USAGE;
      return NULL;
    }
  context = ctx->opt.context ? ctx->opt.context : bkt_cmd_detect_context ();
  if (ctx->opt.context == NULL)
    ctx->opt.context = g_strdup (context);
  if (g_str_equal (context, "image"))
    {
      if (ctx->opt.local)
        {
          g_printerr ("bkt: --local acts on this machine, but the context is “image” (build time: "
                      "nothing live to act on).  Use --context host to act here.\n");
          *code = EXIT_USAGE;
          return NULL;
        }
      return ctx->opt.pr_only ? "pr-only" : "image";
    }
  if (g_str_equal (context, "dev") && g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL && !ctx->opt.pr_only)
    {
      g_printerr ("bkt: inside a toolbox, changes are made on the host through the session bus, and "
                  "this toolbox has none.\nNext steps: run it on the host (flatpak-spawn --host bkt …), "
                  "enter the toolbox from a desktop session, or use --pr-only (or --context image) to "
                  "only propose the change.\n");
      *code = 4;
      return NULL;
    }
  return ctx->opt.local ? "local" : ctx->opt.pr_only ? "pr-only" : "pr";
}

GVariant *
change_options (Ctx *ctx, const char *mode)
{
  g_autoptr(GVariant) base = g_variant_ref_sink (session_options (ctx, NULL));
  g_autofree char *cwd = g_get_current_dir ();
  GVariantBuilder b;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, base);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    g_variant_builder_add (&b, "{sv}", key, value);
  if (mode != NULL)
    g_variant_builder_add (&b, "{sv}", "mode", g_variant_new_string (mode));
  if (ctx->opt.repo != NULL)
    {
      g_autofree char *abs = g_canonicalize_filename (ctx->opt.repo, NULL);
      g_variant_builder_add (&b, "{sv}", "repo-dir", g_variant_new_string (abs));
    }
  g_variant_builder_add (&b, "{sv}", "cwd", g_variant_new_string (cwd));
  if (ctx->command_line != NULL)
    g_variant_builder_add (&b, "{sv}", "command", g_variant_new_string (ctx->command_line));
  if (ctx->opt.skip_preflight)
    g_variant_builder_add (&b, "{sv}", "skip-preflight", g_variant_new_boolean (TRUE));
  return g_variant_builder_end (&b);
}

void
add_string (GVariantBuilder *b, const char *key, const char *value)
{
  if (value != NULL)
    g_variant_builder_add (b, "{sv}", key, g_variant_new_string (value));
}
