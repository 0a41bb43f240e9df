/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bkt-changelog.h"
#include "bkt-changelog-gen.h"
#include "commands.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-json.h"
#include "bkt-repo.h"

/* `bkt changelog` (in bkt-tool): the repo-side changelog.  They run
 * in the client, without the daemon, because they read and write files of
 * the distribution repo and are run by CI in containers that have no
 * session bus (docs/maintenance.md). */

/* ---- changelog ---------------------------------------------------------------------- */

static void
print_entry (JsonObject *e)
{
  g_print ("%s%s  %s/%s: %s\n", json_object_get_string_member (e, "file"),
           json_object_get_boolean_member (e, "draft") ? " [draft]" : "",
           json_object_get_string_member (e, "type"), json_object_get_string_member (e, "category"),
           json_object_get_string_member (e, "message"));
  if (json_object_has_member (e, "manual_steps"))
    {
      JsonArray *a = json_object_get_array_member (e, "manual_steps");
      for (guint i = 0; i < json_array_get_length (a); i++)
        g_print ("    manual step: %s\n", json_array_get_string_element (a, i));
    }
}

static int
changelog_pending (Ctx *ctx, const char *repo, gboolean validate, gboolean no_drafts)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = bkt_changelog_load_pending (repo, &error);
  guint drafts = 0;

  if (entries == NULL)
    return fail (error);
  for (guint i = 0; i < entries->len; i++)
    drafts += json_object_get_boolean_member (entries->pdata[i], "draft");
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      JsonArray *a = json_array_new ();
      for (guint i = 0; i < entries->len; i++)
        json_array_add_object_element (a, json_object_ref (entries->pdata[i]));
      json_object_set_array_member (o, "pending", a);
      json_object_set_int_member (o, "drafts", drafts);
      bkt_render_print_object (o);
    }
  else if (validate)
    g_print ("%u pending entries valid (%u drafts)\n", entries->len, drafts);
  else if (entries->len == 0)
    g_print ("No pending changelog entries.\n");
  else
    for (guint i = 0; i < entries->len; i++)
      print_entry (entries->pdata[i]);
  if (no_drafts && drafts > 0)
    {
      for (guint i = 0; i < entries->len; i++)
        if (json_object_get_boolean_member (entries->pdata[i], "draft"))
          g_printerr ("bkt: .changelog/pending/%s is a draft: review it and set \"draft\" to false\n",
                      json_object_get_string_member (entries->pdata[i], "file"));
      g_printerr ("bkt: drafts may not be merged; on a pull request, `bkt changelog validate --allow-drafts` accepts them\n");
      return EXIT_FAILED;
    }
  return EXIT_OK;
}

static int
changelog_show (Ctx *ctx, const char *repo, const char *version)
{
  g_autoptr(GError) error = NULL;

  if (version == NULL)
    {
      g_autofree char *path = g_build_filename (repo, "CHANGELOG.md", NULL);
      g_autofree char *text = bkt_changelog_read_markdown (repo, &error);
      if (text == NULL)
        return fail (error);
      if (ctx->opt.json)
        {
          g_autoptr(JsonObject) o = json_object_new ();
          json_object_set_string_member (o, "file", path);
          json_object_set_string_member (o, "markdown", text);
          bkt_render_print_object (o);
          return EXIT_OK;
        }
      g_print ("%s", text);
    }
  else
    {
      g_autoptr(JsonObject) doc = bkt_changelog_load_version (repo, version, &error);
      g_autofree char *section = NULL;
      if (doc == NULL)
        return fail (error);
      if (ctx->opt.json)
        {
          bkt_render_print_object (doc);
          return EXIT_OK;
        }
      section = bkt_changelog_render_section (doc);
      g_print ("%s", section);
    }
  return EXIT_OK;
}

static int
changelog_list (Ctx *ctx, const char *repo)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) versions = bkt_changelog_list_versions (repo, &error);
  g_autoptr(JsonArray) a = json_array_new ();

  if (versions == NULL)
    return fail (error);
  /* newest first, as CHANGELOG.md reads */
  for (guint i = g_strv_length (versions); i-- > 0;)
    {
      g_autoptr(JsonObject) doc = bkt_changelog_load_version (repo, versions[i], &error);
      if (doc == NULL)
        return fail (error);
      if (ctx->opt.json)
        json_array_add_string_element (a, versions[i]);
      else
        g_print ("%s  %s  %u entries\n", versions[i], json_object_get_string_member_with_default (doc, "date", "?"),
                 json_array_get_length (json_object_get_array_member (doc, "entries")));
    }
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_array_member (o, "versions", json_array_ref (a));
      bkt_render_print_object (o);
    }
  return EXIT_OK;
}

static int
changelog_run (Ctx *ctx, int argc, char **argv)
{
  const char *sub = ctx->command->name;
  g_autofree char *command = NULL;
  g_auto(GStrv) steps = NULL;
  gint pr = 0;
  gboolean draft = FALSE, confirm = FALSE, no_drafts = FALSE, allow_drafts = FALSE;
  g_autofree char *type = NULL;
  g_autofree char *category = NULL;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "command", 0, 0, G_OPTION_ARG_STRING, &command, "add: the command that made the change", "CMD" },
    { "pr", 0, 0, G_OPTION_ARG_INT, &pr, "add: the pull request number", "N" },
    { "draft", 0, 0, G_OPTION_ARG_NONE, &draft, "add: a draft, to be reviewed before release", NULL },
    { "manual-step", 0, 0, G_OPTION_ARG_STRING_ARRAY, &steps, "add: what users must do after upgrading (repeatable)", "TEXT" },
    { "type", 't', 0, G_OPTION_ARG_STRING, &type, "add: the entry's type (the original's form: add -t TYPE -c CATEGORY MESSAGE)", "TYPE" },
    { "category", 'c', 0, G_OPTION_ARG_STRING, &category, "add: the entry's category", "CATEGORY" },
    { "allow-drafts", 0, 0, G_OPTION_ARG_NONE, &allow_drafts, "validate: accept draft entries (on a pull request; merge must not)", NULL },
    { "no-drafts", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &no_drafts, "validate: fail on drafts (the default)", NULL },
    { "confirm", 0, 0, G_OPTION_ARG_NONE, &confirm, "clear: really remove every pending entry", NULL },
    { NULL }
  };
  guint min = 0, max = 0;
  g_autofree char *repo = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  /* add: TYPE CATEGORY MESSAGE, or -t TYPE -c CATEGORY MESSAGE (the
   * original's form); the count is checked once the options are known */
  if (g_str_equal (sub, "add"))
    min = 1, max = 3;
  else if (g_str_equal (sub, "show") || g_str_equal (sub, "release"))
    max = 1;
  if (!parse_command (ctx, entries, &argc, &argv, min, max, &code))
    return code;
  if (g_str_equal (sub, "add"))
    {
      guint want = (type == NULL ? 1 : 0) + (category == NULL ? 1 : 0) + 1;
      if ((guint) (argc - 1) != want)
        {
          /* what is missing first, in the words of the form used */
          const char *names[3] = { NULL, NULL, "MESSAGE" };
          g_autoptr(GPtrArray) need = g_ptr_array_new ();
          g_autoptr(GString) missing = g_string_new (NULL);

          names[0] = type == NULL ? "TYPE" : NULL;
          names[1] = category == NULL ? "CATEGORY" : NULL;
          for (guint i = 0; i < 3; i++)
            if (names[i] != NULL)
              g_ptr_array_add (need, (gpointer) names[i]);
          if ((guint) (argc - 1) < want)
            {
              for (guint i = argc - 1; i < need->len; i++)
                g_string_append_printf (missing, "%s%s", i == (guint) (argc - 1) ? ""
                                        : i + 1 == need->len ? " and " : ", ", (const char *) need->pdata[i]);
              g_printerr ("bkt: changelog add: missing %s\n", missing->str);
            }
          else
            {
              g_autofree char *extra = g_strjoinv (" ", argv + 1 + want);
              g_printerr ("bkt: changelog add: too many arguments (%s)\n", extra);
            }
          g_printerr ("Usage: bkt changelog add [OPTION…] TYPE CATEGORY MESSAGE\n"
                      "   or: bkt changelog add [OPTION…] -t TYPE -c CATEGORY MESSAGE\n");
          return EXIT_USAGE;
        }
      /* positional: argv[1..3]; with options, the positions they leave */
      if (type == NULL)
        type = g_strdup (argv[1]);
      if (category == NULL)
        category = g_strdup (argv[argc - 2]);
    }
  if (g_str_equal (sub, "clear") && !confirm)
    {
      g_printerr ("bkt: changelog clear removes every pending entry: add --confirm\n");
      return EXIT_USAGE;
    }
  repo = bkt_cmd_repo_path (ctx, &error);
  if (repo == NULL)
    return fail (error);

  if (g_str_equal (sub, "add"))
    {
      g_autoptr(JsonObject) e = json_object_new ();
      g_autofree char *path = NULL;

      json_object_set_string_member (e, "type", type);
      json_object_set_string_member (e, "category", category);
      json_object_set_string_member (e, "message", argv[argc - 1]);
      if (command != NULL)
        json_object_set_string_member (e, "command", command);
      if (pr != 0)
        json_object_set_int_member (e, "pr", pr);
      json_object_set_boolean_member (e, "draft", draft);
      if (steps != NULL)
        {
          JsonArray *a = json_array_new ();
          for (guint i = 0; steps[i] != NULL; i++)
            json_array_add_string_element (a, steps[i]);
          json_object_set_array_member (e, "manual_steps", a);
        }
      path = bkt_changelog_add (repo, e, &error);
      if (path == NULL)
        return fail (error);
      g_print (ctx->opt.dry_run ? "Would write %s (--dry-run: nothing written)\n" : "%s\n", path);
      return EXIT_OK;
    }
  if (g_str_equal (sub, "pending") || g_str_equal (sub, "validate"))
    /* validate fails on drafts unless allowed: distribution CI runs it to
     * block them on merge, as the original's did */
    return changelog_pending (ctx, repo, g_str_equal (sub, "validate"),
                              g_str_equal (sub, "validate") && !allow_drafts);
  if (g_str_equal (sub, "show"))
    return changelog_show (ctx, repo, argc > 1 ? argv[1] : NULL);
  if (g_str_equal (sub, "list"))
    return changelog_list (ctx, repo);
  if (g_str_equal (sub, "release"))
    {
      g_autofree char *v = bkt_changelog_release (repo, argc > 1 ? argv[1] : NULL, &error);
      if (v == NULL)
        return fail (error);
      g_print (ctx->opt.dry_run ? "Would release %s (--dry-run: nothing written)\n" : "Released %s\n", v);
      return EXIT_OK;
    }
  {
    guint n = bkt_changelog_clear (repo, &error);
    if (error != NULL)
      return fail (error);
    g_print (ctx->opt.dry_run ? "Would remove %u pending entries (--dry-run: nothing removed)\n"
                              : "Removed %u pending entries\n", n);
  }
  return EXIT_OK;
}

/* ---- generate -------------------------------------------------------------------------------- */

static int
changelog_generate (Ctx *ctx, const char *repo, const char *base, gboolean write)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) result = bkt_changelog_generate (repo, base, &error);
  g_auto(GStrv) written = NULL;
  JsonArray *entries;

  if (result == NULL)
    return fail (error);
  entries = json_object_get_array_member (result, "entries");
  if (write && (written = bkt_changelog_generate_write (repo, result, &error)) == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      if (written != NULL)
        {
          JsonArray *a = json_array_new ();
          for (guint i = 0; written[i] != NULL; i++)
            json_array_add_string_element (a, written[i]);
          json_object_set_array_member (result, "written", a);
        }
      bkt_render_print_object (result);
      return EXIT_OK;
    }
  g_print ("Manifest changes since %s:\n", json_object_get_string_member (result, "base"));
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      g_print ("  %-8s %s: %s%s%s\n", json_object_get_string_member (e, "type"),
               json_object_get_string_member (e, "category"), json_object_get_string_member (e, "message"),
               written == NULL ? "" : ctx->opt.dry_run ? "  → would write " : "  → ",
               written != NULL ? written[i] : "");
    }
  if (json_array_get_length (entries) == 0)
    g_print ("  no new entries\n");
  if (json_object_get_int_member (result, "covered") > 0)
    g_print ("(%" G_GINT64_FORMAT " covered by pending entries already)\n", json_object_get_int_member (result, "covered"));
  if (!write && json_array_get_length (entries) > 0)
    g_print ("Write them as draft pending entries with --write.\n");
  return EXIT_OK;
}

static int
changelog_generate_cmd (Ctx *ctx, int argc, char **argv)
{
  g_autofree char *base = NULL;
  gboolean write = FALSE;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "base", 0, 0, G_OPTION_ARG_STRING, &base, "Compare with this git revision (default: the merge-base with the default branch)", "REF" },
    { "write", 0, 0, G_OPTION_ARG_NONE, &write, "Write the entries as draft pending entries", NULL },
    { NULL }
  };
  g_autofree char *repo = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  repo = bkt_cmd_repo_path (ctx, &error);
  if (repo == NULL)
    return fail (error);
  return changelog_generate (ctx, repo, base, write);
}

const BktCommand bkt_changelog_commands[] = {
  { "add", NULL, "a pending entry (--command, --pr, --draft, --manual-step; or -t TYPE -c CATEGORY MESSAGE)",
    "TYPE CATEGORY MESSAGE", changelog_run },
  { "generate", NULL, "entries for the manifest changes since REF (--base REF, --write)", NULL,
    changelog_generate_cmd },
  { "pending", NULL, "list the pending entries", NULL, changelog_run },
  { "validate", NULL, "check the pending entries, for CI; a draft fails unless --allow-drafts", NULL, changelog_run },
  { "show", NULL, "CHANGELOG.md, or one released version", "[VERSION]", changelog_run },
  { "list", NULL, "released versions", NULL, changelog_run },
  { "release", NULL, "release the pending entries (default version YYYY.MM.DD.N)", "[VERSION]", changelog_run },
  { "clear", NULL, "remove every pending entry (--confirm)", NULL, changelog_run },
  { "motd", NULL, "what's new in this image, once (--all; --login: silent when nothing is new)", NULL,
    bkt_cmd_changelog_motd },
  { NULL }
};
