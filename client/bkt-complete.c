/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bkt-cmd.h"

/* Shell completion generated from the command tables.
 *
 * `bkt completions bash|zsh|fish` prints a small script for the shell; the
 * script asks `bkt __complete WORD… CURRENT` for the candidates, so the
 * commands, their names and aliases always come from the same tables as
 * `bkt --help`, and a new command completes without touching the scripts
 * (the way cobra-based tools do it).  Options come from the leaf's own
 * `--help` (one child process, only when an option is being completed), and
 * a few arguments complete from cheap local reads: GSettings schemas and
 * keys (GIO, in process), installed flatpaks (directory listings), installed
 * extensions, systemd units (one D-Bus call).  Completion never acts and
 * never contacts bkt's daemons: it runs at every TAB. */

static void
candidate (const char *word, const char *prefix)
{
  if (word != NULL && g_str_has_prefix (word, prefix))
    printf ("%s\n", word);
}

static void
list_group (const BktCommand *table, const char *prefix)
{
  for (const BktCommand *c = table; c->name != NULL; c++)
    if (!c->hidden)
      candidate (c->name, prefix);
}

/* The options of @path's leaf, read from its own --help in a child. */
static void
list_options (char **path_words, const char *prefix)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autoptr(GRegex) re = g_regex_new ("(?:^|[\\s,])(--[a-z][a-z0-9-]*|-[a-zA-Z])\\b", 0, 0, NULL);
  g_autoptr(GMatchInfo) m = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_ptr_array_add (argv, self != NULL ? self : (char *) "bkt");
  for (guint i = 0; path_words[i] != NULL; i++)
    g_ptr_array_add (argv, path_words[i]);
  g_ptr_array_add (argv, (char *) "--help");
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                     NULL, NULL))
    return;
  g_regex_match (re, out, 0, &m);
  for (; g_match_info_matches (m); g_match_info_next (m, NULL))
    {
      g_autofree char *opt = g_match_info_fetch (m, 1);
      if (g_hash_table_add (seen, g_strdup (opt)))
        candidate (opt, prefix);
    }
}

static void
list_schemas (const char *prefix)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_auto(GStrv) plain = NULL, relocatable = NULL;

  if (source == NULL)
    return;
  g_settings_schema_source_list_schemas (source, TRUE, &plain, &relocatable);
  for (guint i = 0; plain[i] != NULL; i++)
    candidate (plain[i], prefix);
  for (guint i = 0; relocatable[i] != NULL; i++)
    candidate (relocatable[i], prefix);
}

static void
list_keys (const char *schema_id, const char *prefix)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  if (source == NULL || (schema = g_settings_schema_source_lookup (source, schema_id, TRUE)) == NULL)
    return;
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    candidate (keys[i], prefix);
}

/* Entries of @dir that are directories, e.g. flatpak's app/ or the
 * extensions directory: a name is an installed id. */
static void
list_dir (const char *dir, const char *prefix)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR))
        candidate (name, prefix);
    }
}

static void
list_flatpaks (const char *prefix)
{
  const char *user = g_getenv ("FLATPAK_USER_DIR");
  const char *sys = g_getenv ("FLATPAK_SYSTEM_DIR");
  g_autofree char *user_app = user != NULL ? g_build_filename (user, "app", NULL)
                                           : g_build_filename (g_get_user_data_dir (), "flatpak", "app", NULL);
  g_autofree char *sys_app = g_build_filename (sys != NULL ? sys : "/var/lib/flatpak", "app", NULL);

  list_dir (user_app, prefix);
  list_dir (sys_app, prefix);
}

static void
list_extensions (const char *prefix)
{
  g_autofree char *mine = g_build_filename (g_get_user_data_dir (), "gnome-shell", "extensions", NULL);

  list_dir (mine, prefix);
}

/* Unit names from systemd (loaded units, or unit files for the verbs that
 * act on files), one call on the system bus, a short timeout. */
static void
list_units (const char *verb, const char *prefix)
{
  gboolean files = g_str_equal (verb, "enable") || g_str_equal (verb, "disable") || g_str_equal (verb, "mask") ||
                   g_str_equal (verb, "unmask");
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) list = NULL;

  if (bus == NULL)
    return;
  /* The reply type is checked by GDBus; either list's entries start with
   * the name (ListUnits) or the unit file's path (ListUnitFiles). */
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", files ? "ListUnitFiles" : "ListUnits",
                                       NULL, G_VARIANT_TYPE (files ? "(a(ss))" : "(a(ssssssouso))"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, 2000, NULL, NULL);
  if (reply == NULL)
    return;
  list = g_variant_get_child_value (reply, 0);
  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (list, i);
      const char *first = NULL;
      g_autofree char *name = NULL;

      g_variant_get_child (entry, 0, "&s", &first);
      name = g_path_get_basename (first);
      candidate (name, prefix);
    }
}

/* The subsystems of --only/-s and --exclude/-x, from the registry as bktd
 * prints it (bktd --list-subsystems: no bus, no daemon started); @cur may
 * be a comma-separated list, whose last item is completed and whose
 * earlier items are not offered again.  @option_prefix ("--only=") is
 * kept in front of each candidate. */
static void
list_subsystems (const char *option_prefix, const char *cur)
{
  const char *bktd = g_getenv ("BKTD_PATH");
  const char *argv[] = { bktd != NULL ? bktd : BKT_LIBEXECDIR "/bktd", "--list-subsystems", NULL };
  const char *comma = strrchr (cur, ',');
  g_autofree char *head = g_strndup (cur, comma != NULL ? (gsize) (comma + 1 - cur) : 0);
  g_auto(GStrv) given = g_strsplit (head, ",", -1);
  g_autofree char *typed = g_strconcat (option_prefix, cur, NULL);
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status,
                     NULL) || !g_spawn_check_wait_status (status, NULL))
    return;
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *name = g_strndup (lines[i], strcspn (lines[i], " "));
      g_autofree char *word = NULL;

      if (name[0] == '\0' || g_strv_contains ((const char *const *) given, name))
        continue;
      word = g_strconcat (option_prefix, head, name, NULL);
      candidate (word, typed);
    }
}

static gboolean
is_subsystem_option (const char *word)
{
  return g_str_equal (word, "--only") || g_str_equal (word, "-s") || g_str_equal (word, "--exclude") ||
         g_str_equal (word, "-x");
}

/* Arguments that complete from what is on this machine, by the leaf's
 * path ("bkt gsetting set") and how many arguments are already typed. */
static void
list_arguments (const char *path, GPtrArray *args, const char *prefix)
{
  if (g_str_equal (path, "bkt gsetting set") || g_str_equal (path, "bkt gsetting unset"))
    {
      if (args->len == 0)
        list_schemas (prefix);
      else if (args->len == 1)
        list_keys (args->pdata[0], prefix);
    }
  else if (g_str_equal (path, "bkt flatpak remove") && args->len == 0)
    list_flatpaks (prefix);
  else if ((g_str_equal (path, "bkt extension remove") || g_str_equal (path, "bkt extension enable") ||
            g_str_equal (path, "bkt extension disable")) && args->len == 0)
    list_extensions (prefix);
  else if (g_str_has_prefix (path, "bkt admin systemctl ") && !g_str_has_suffix (path, "daemon-reload"))
    list_units (path + strlen ("bkt admin systemctl "), prefix);
  else if (g_str_equal (path, "bkt completions") && args->len == 0)
    {
      candidate ("bash", prefix);
      candidate ("fish", prefix);
      candidate ("zsh", prefix);
    }
}

/* bkt-tool's commands: the same question, asked of bkt-tool (its own
 * tables): bkt_cmd_exec_tool runs it with this command line, which starts
 * with "__complete" and the words. */
static int
ask_tool (Ctx *ctx)
{
  fflush (stdout);
  return bkt_cmd_exec_tool (ctx, 0, NULL);
}

int
bkt_cmd_complete (Ctx *ctx, const BktCommand *table, int n_words, char **words)
{
  const BktCommand *group = table, *leaf = NULL;
  g_autoptr(GPtrArray) path_words = g_ptr_array_new ();
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GString) path = g_string_new ("bkt");
  const char *cur = n_words > 0 ? words[n_words - 1] : "";
  gboolean help = FALSE;

  for (int i = 0; i < n_words - 1; i++)
    {
      const char *w = words[i];
      const BktCommand *c;

      if (w[0] == '-' && w[1] != '\0')
        {
          /* bkt -H HOST (before the command name only: bkt-remote.c) */
          if (path_words->len == 0 && (g_str_equal (w, "-H") || g_str_equal (w, "--host")))
            i++;
          else if (bkt_cmd_option_takes_value (w))
            i++;
          continue;
        }
      if (leaf != NULL)
        {
          g_ptr_array_add (args, (gpointer) w);
          continue;
        }
      if (group == table && path_words->len == 0 && !help && g_str_equal (w, "help"))
        {
          help = TRUE;   /* bkt help CMD [SUB]: complete command names */
          continue;
        }
      c = bkt_cmd_find (group, w);
      if (c == NULL)
        return EXIT_OK;
      if (c->run == bkt_cmd_exec_tool)
        return ask_tool (ctx);
      g_ptr_array_add (path_words, (gpointer) c->name);
      g_string_append_printf (path, " %s", c->name);
      if (c->subcommands != NULL)
        group = c->subcommands;
      else
        leaf = c;
    }
  g_ptr_array_add (path_words, NULL);
  if (n_words >= 2 && is_subsystem_option (words[n_words - 2]))
    list_subsystems ("", cur);
  else if (g_str_has_prefix (cur, "--only=") || g_str_has_prefix (cur, "--exclude="))
    {
      g_autofree char *option = g_strndup (cur, strchr (cur, '=') + 1 - cur);
      list_subsystems (option, cur + strlen (option));
    }
  else if (cur[0] == '-')
    list_options ((char **) path_words->pdata, cur);
  else if (leaf == NULL)
    {
      list_group (group, cur);
      if (group == table && !help)
        candidate ("help", cur);
    }
  else if (!help)
    list_arguments (path->str, args, cur);
  return EXIT_OK;
}

/* ---- the scripts ------------------------------------------------------------------------ */

static const char bash_script[] =
  "# bash completion for bkt (generated by `bkt completions bash`; the candidates come\n"
  "# from `bkt __complete`, i.e. from bkt's own command tables)\n"
  "_bkt()\n"
  "{\n"
  "    local cur words cword\n"
  "    if declare -F _init_completion >/dev/null 2>&1; then\n"
  "        _init_completion -n =: || return\n"
  "    else\n"
  "        cur=${COMP_WORDS[COMP_CWORD]}; words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD\n"
  "    fi\n"
  "    local IFS=$'\\n'\n"
  "    COMPREPLY=($(command \"${words[0]}\" __complete \"${words[@]:1:cword-1}\" \"$cur\" 2>/dev/null))\n"
  "    if declare -F __ltrim_colon_completions >/dev/null 2>&1; then\n"
  "        __ltrim_colon_completions \"$cur\"\n"
  "    fi\n"
  "}\n"
  "complete -F _bkt bkt\n";

static const char zsh_script[] =
  "#compdef bkt\n"
  "# zsh completion for bkt (generated by `bkt completions zsh`; the candidates come\n"
  "# from `bkt __complete`, i.e. from bkt's own command tables)\n"
  "local -a candidates\n"
  "candidates=(\"${(@f)$(${words[1]} __complete \"${(@)words[2,CURRENT-1]}\" \"${words[CURRENT]}\" 2>/dev/null)}\")\n"
  "compadd -a candidates\n";

static const char fish_script[] =
  "# fish completion for bkt (generated by `bkt completions fish`; the candidates come\n"
  "# from `bkt __complete`, i.e. from bkt's own command tables)\n"
  "complete -c bkt -f -a '(bkt __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'\n";

int
bkt_cmd_completions (Ctx *ctx, int argc, char **argv)
{
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 1, 1, &code))
    return code;
  if (g_str_equal (argv[1], "bash"))
    fputs (bash_script, stdout);
  else if (g_str_equal (argv[1], "zsh"))
    fputs (zsh_script, stdout);
  else if (g_str_equal (argv[1], "fish"))
    fputs (fish_script, stdout);
  else
    {
      g_printerr ("bkt: completions: no script for “%s” (bash, zsh or fish)\n", argv[1]);
      return EXIT_USAGE;
    }
  return EXIT_OK;
}
