/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bkt-base.h"
#include "bkt-changelog.h"
#include "bkt-cmd.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-json.h"
#include "bkt-repo.h"

/* `bkt changelog` and `bkt base`: repo-side maintenance tools.  They run
 * in the client, without the daemon, because they read and write files of
 * the distribution repo and are run by CI in containers that have no
 * session bus (docs/maintenance.md). */

char *
bkt_cmd_repo_path (Ctx *ctx, GError **error)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *repo_dir = ctx->opt.repo != NULL ? g_canonicalize_filename (ctx->opt.repo, NULL) : NULL;
  g_autoptr(BktRepo) repo = bkt_repo_discover (repo_dir, cwd, error);

  return repo != NULL ? g_strdup (bkt_repo_get_path (repo)) : NULL;
}

int
bkt_cmd_sub_usage (const char *what, const char *sub, const char *text)
{
  gboolean help = sub != NULL && (g_str_equal (sub, "--help") || g_str_equal (sub, "-h"));
  FILE *out = help ? stdout : stderr;

  if (sub != NULL && !help)
    fprintf (out, "bkt: unknown %s command “%s”\n\n", what, sub);
  fputs (text, out);
  return help ? EXIT_OK : EXIT_USAGE;
}

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
      g_autofree char *text = bkt_changelog_read_markdown (repo, &error);
      if (text == NULL)
        return fail (error);
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

int
bkt_cmd_changelog (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  static const char *const subs[] = { "add", "pending", "validate", "show", "list", "release", "clear", NULL };
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

  if (sub != NULL && (g_str_equal (sub, "generate") || g_str_equal (sub, "motd")))
    return bkt_cmd_changelog_more (ctx, argc, argv);
  if (sub == NULL || !g_strv_contains (subs, sub))
    return bkt_cmd_sub_usage ("changelog", sub,
                      "Usage: bkt changelog COMMAND [--repo DIR]\n\n"
                      "  add TYPE CATEGORY MESSAGE   a pending entry (--command, --pr, --draft, --manual-step);\n"
                      "  add -t TYPE -c CATEGORY MESSAGE   the same\n"
                      "  generate [--base REF] [--write]  entries for the manifest changes since REF\n"
                      "  pending                     list the pending entries\n"
                      "  validate [--allow-drafts]   check the pending entries (CI; a draft fails unless allowed)\n"
                      "  show [VERSION]              CHANGELOG.md, or one released version\n"
                      "  list                        released versions\n"
                      "  release [VERSION]           release the pending entries (default YYYY.MM.DD.N)\n"
                      "  clear --confirm             remove every pending entry\n"
                      "  motd [--all]                what's new in this image, once (login shells)\n");
  /* add: TYPE CATEGORY MESSAGE, or -t TYPE -c CATEGORY MESSAGE (the
   * original's form); the count is checked once the options are known */
  if (g_str_equal (sub, "add"))
    min = 1, max = 3;
  else if (g_str_equal (sub, "show") || g_str_equal (sub, "release"))
    max = 1;
  argc--;
  argv++;
  if (!parse_command (ctx, "- the distribution repo's changelog (docs/maintenance.md)", NULL, entries,
                      &argc, &argv, min, max, &code))
    return code;
  if (g_str_equal (sub, "add"))
    {
      guint want = (type == NULL ? 1 : 0) + (category == NULL ? 1 : 0) + 1;
      if ((guint) (argc - 1) != want)
        {
          g_printerr ("bkt: changelog add takes TYPE CATEGORY MESSAGE or -t TYPE -c CATEGORY MESSAGE\n");
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

/* ---- base --------------------------------------------------------------------------- */

static void
print_section (const char *what, JsonObject *report)
{
  JsonObject *s = json_object_get_object_member (report, what);
  JsonArray *present = json_object_get_array_member (s, "present");
  JsonArray *missing = json_object_get_array_member (s, "missing");
  JsonArray *unknown = json_object_has_member (s, "unknown") ? json_object_get_array_member (s, "unknown") : NULL;
  guint np = json_array_get_length (present), nm = json_array_get_length (missing);
  guint nu = unknown != NULL ? json_array_get_length (unknown) : 0;

  if (np + nm + nu == 0)
    return;
  /* not found in a database that records nothing is not "missing" */
  if (nu > 0)
    {
      g_print ("%s: %u not checked: %s\n", what, nu, json_object_get_string_member (s, "unknown_reason"));
      for (guint i = 0; i < nu; i++)
        g_print ("  NOT RECORDED %s\n", json_array_get_string_element (unknown, i));
      return;
    }
  g_print ("%s: %u/%u present\n", what, np, np + nm);
  for (guint i = 0; i < nm; i++)
    g_print ("  MISSING %s\n", json_array_get_string_element (missing, i));
}

/* Something assumed is missing (not merely unverifiable). */
static gboolean
base_drifted (JsonObject *report)
{
  const char *kinds[] = { "packages", "services", "paths" };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    if (json_array_get_length (json_object_get_array_member (json_object_get_object_member (report, kinds[k]),
                                                             "missing")) > 0)
      return TRUE;
  return FALSE;
}

int
bkt_cmd_base (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  static const char *const subs[] = { "verify", "list", "info", "assume", "unassume", "snapshot", NULL };
  g_autofree char *root = NULL;
  g_autofree char *file_opt = NULL;
  g_autofree char *reason = NULL;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file_opt, "The assumptions file (default: the repo's)", "PATH" },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root, "verify: the system root to check (default /)", "DIR" },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "assume: why the distribution needs it", "TEXT" },
    { "pr", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.pr_only,
      "assume, unassume: propose the change as a pull request (the checkout is not edited)", NULL },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight,
      "with --pr: go ahead when a check fails (the PR then waits in the queue)", NULL },
    { NULL }
  };
  g_autofree char *repo = NULL;
  g_autofree char *file = NULL;
  g_autoptr(JsonObject) assumptions = NULL;
  g_autoptr(GError) error = NULL;
  gboolean change;
  int code;

  if (sub == NULL || !g_strv_contains (subs, sub))
    return bkt_cmd_sub_usage ("base", sub,
                      "Usage: bkt base COMMAND [--repo DIR] [--file PATH]\n\n"
                      "  verify [--root DIR]         check the base image assumptions (exit 1 on drift)\n"
                      "  list                        the assumed packages, services and paths\n"
                      "  info                        the base image and how much is assumed\n"
                      "  assume PKG [--reason TEXT]  assume a package (writes a changelog entry)\n"
                      "  unassume PKG                stop assuming it (writes a changelog entry)\n"
                      "  snapshot [--root DIR]       print every installed package as assumptions, to review\n\n"
                      "assume and unassume take --pr: propose the change as a pull request\n");
  change = g_str_equal (sub, "assume") || g_str_equal (sub, "unassume");
  argc--;
  argv++;
  if (!parse_command (ctx, "- the base image assumptions (docs/maintenance.md)", NULL, entries,
                      &argc, &argv, change ? 1 : 0, change ? 1 : 0, &code))
    return code;
  if (ctx->opt.pr_only)
    {
      GVariantBuilder b;

      if (!change)
        {
          g_printerr ("bkt: --pr proposes a change: base assume and unassume take it, not %s\n", sub);
          return EXIT_USAGE;
        }
      if (file_opt != NULL || ctx->opt.manifests != NULL)
        {
          g_printerr ("bkt: --pr proposes a change to the repo's own manifests/" BKT_BASE_FILE
                      ", not to another file\n");
          return EXIT_USAGE;
        }
      /* The typed edit, applied by the session daemon to the repo's own
       * file as the default branch has it (docs/punning.md): this
       * checkout's file is neither read nor written. */
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      add_string (&b, "name", argv[1]);
      if (g_str_equal (sub, "assume"))
        add_string (&b, "reason", reason);
      return run_change (ctx, "base", sub, g_variant_builder_end (&b));
    }
  /* A changelog entry needs the repo; reading needs only the file. */
  if (file_opt == NULL || change)
    {
      repo = bkt_cmd_repo_path (ctx, &error);
      if (repo == NULL)
        return fail (error);
    }
  if (file_opt != NULL)
    file = g_canonicalize_filename (file_opt, NULL);
  else if (ctx->opt.manifests != NULL)
    file = g_build_filename (ctx->opt.manifests, BKT_BASE_FILE, NULL);
  else
    file = g_build_filename (repo, "manifests", BKT_BASE_FILE, NULL);

  if (change)
    {
      gboolean remove = g_str_equal (sub, "unassume");
      g_autoptr(JsonObject) e = json_object_new ();
      g_autofree char *message = NULL;
      g_autofree char *entry = NULL;

      g_autofree char *before = NULL;
      gsize before_len = 0;

      /* Kept to put back if the changelog entry cannot be written: the
       * two files change together or not at all. */
      if (!g_file_get_contents (file, &before, &before_len, &error)
          || !bkt_base_set_package (file, argv[1], remove ? NULL : reason, remove, &error))
        return fail (error);
      message = bkt_base_change_message (NULL, argv[1], remove ? NULL : reason, remove);
      json_object_set_string_member (e, "type", remove ? "removed" : "added");
      json_object_set_string_member (e, "category", "base");
      json_object_set_string_member (e, "message", message);
      json_object_set_string_member (e, "command", ctx->command_line);
      entry = bkt_changelog_add (repo, e, &error);
      if (entry == NULL)
        {
          g_autoptr(GError) restore_error = NULL;
          if (!bkt_write_file_atomic (file, before, before_len, 0644, &restore_error))
            g_printerr ("bkt: could not restore %s: %s\n", file, restore_error->message);
          return fail (error);
        }
      if (ctx->opt.dry_run)
        g_print ("Would %s %s in %s; changelog entry %s (--dry-run: nothing written)\n",
                 remove ? "unassume" : "assume", argv[1], file, entry);
      else
        g_print ("%s %s; changelog entry %s\n", remove ? "Unassumed" : "Assumed", argv[1], entry);
      return EXIT_OK;
    }

  if (g_str_equal (sub, "snapshot"))
    {
      g_autoptr(JsonObject) snap = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;

      /* the current file gives the reasons; without one, a fresh start */
      if (g_file_test (file, G_FILE_TEST_EXISTS) && (assumptions = bkt_base_load (file, &error)) == NULL)
        return fail (error);
      snap = bkt_base_snapshot (assumptions, root, &error);
      if (snap == NULL)
        return fail (error);
      node = json_node_init_object (json_node_alloc (), snap);
      text = bkt_json_to_document (node, NULL);
      g_print ("%s", text);
      return EXIT_OK;
    }
  assumptions = bkt_base_load (file, &error);
  if (assumptions == NULL)
    return fail (error);
  if (g_str_equal (sub, "verify"))
    {
      g_autoptr(JsonObject) report = bkt_base_verify (assumptions, root, &error);
      gboolean ok;

      if (report == NULL)
        return fail (error);
      ok = json_object_get_boolean_member (report, "ok");
      if (ctx->opt.json)
        bkt_render_print_object (report);
      else
        {
          g_print ("base image: %s\n",
                   json_object_get_string_member (json_object_get_object_member (assumptions, "base_image"), "source"));
          print_section ("packages", report);
          print_section ("services", report);
          print_section ("paths", report);
          g_print ("%s\n", ok ? "All assumptions hold."
                           : base_drifted (report) ? "DRIFT: the base image no longer provides the above."
                           : "NOT VERIFIED: nothing is missing, but the packages could not be checked here.");
        }
      return ok ? EXIT_OK : base_drifted (report) ? EXIT_FAILED : EXIT_UNVERIFIED;
    }
  if (ctx->opt.json)
    {
      bkt_render_print_object (assumptions);
      return EXIT_OK;
    }
  if (g_str_equal (sub, "info"))
    {
      JsonObject *b = json_object_get_object_member (assumptions, "base_image");
      g_print ("base image: %s\n", json_object_get_string_member (b, "source"));
      g_print ("last verified: %s\n", json_object_get_string_member_with_default (b, "last_verified_at", "never"));
      if (json_object_has_member (b, "last_verified_digest"))
        g_print ("digest: %s\n", json_object_get_string_member (b, "last_verified_digest"));
      g_print ("assumed: %u packages, %u services, %u paths\n",
               json_array_get_length (json_object_get_array_member (assumptions, "packages")),
               json_object_has_member (assumptions, "services")
                 ? json_array_get_length (json_object_get_array_member (assumptions, "services")) : 0,
               json_object_has_member (assumptions, "paths")
                 ? json_array_get_length (json_object_get_array_member (assumptions, "paths")) : 0);
      return EXIT_OK;
    }
  {
    JsonArray *p = json_object_get_array_member (assumptions, "packages");
    for (guint i = 0; i < json_array_get_length (p); i++)
      {
        JsonObject *o = json_array_get_object_element (p, i);
        g_print ("package  %-24s %s\n", json_object_get_string_member (o, "name"),
                 json_object_get_string_member_with_default (o, "reason", ""));
      }
    for (guint k = 0; k < 2; k++)
      {
        const char *m = k == 0 ? "services" : "paths";
        JsonArray *a = json_object_has_member (assumptions, m) ? json_object_get_array_member (assumptions, m) : NULL;
        for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
          g_print ("%-8s %s\n", k == 0 ? "service" : "path", json_array_get_string_element (a, i));
      }
  }
  return EXIT_OK;
}
