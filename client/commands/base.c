/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bkt-base.h"
#include "bkt-changelog.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-json.h"
#include "commands.h"

/* `bkt base` (in bkt-tool): the base image assumptions, a file of the
 * distribution repo; assume and unassume --pr propose the change through
 * the session daemon (run_change). */

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

static int
base_run (Ctx *ctx, int argc, char **argv)
{
  const char *sub = ctx->command->name;
  g_autofree char *root = NULL;
  g_autofree char *file_opt = NULL;
  g_autofree char *reason = NULL;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file_opt, "The assumptions file (default: the repo's)", "PATH" },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root, "verify, snapshot: the system root to check (default /)", "DIR" },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "assume: why the distribution needs it", "TEXT" },
    { "pr", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.pr_only,
      "assume, unassume: propose the change as a pull request (the checkout is not edited)", NULL },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight,
      "assume, unassume: with --pr, go ahead when a check fails (the PR then waits in the queue)", NULL },
    { NULL }
  };
  g_autofree char *repo = NULL;
  g_autofree char *file = NULL;
  g_autoptr(JsonObject) assumptions = NULL;
  g_autoptr(GError) error = NULL;
  gboolean change;
  int code;

  change = g_str_equal (sub, "assume") || g_str_equal (sub, "unassume");
  if (!parse_command (ctx, entries, &argc, &argv, change ? 1 : 0, change ? 1 : 0, &code))
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

/* assume and unassume take --pr: propose the change as a pull request. */
const BktCommand bkt_base_commands[] = {
  { "verify", NULL, "check the base image assumptions (exit 1 on drift; --root DIR)", NULL, base_run },
  { "list", NULL, "the assumed packages, services and paths", NULL, base_run },
  { "info", NULL, "the base image and how much is assumed", NULL, base_run },
  { "assume", NULL, "assume a package (writes a changelog entry; --reason TEXT)", "PKG", base_run },
  { "unassume", NULL, "stop assuming a package (writes a changelog entry)", "PKG", base_run },
  { "snapshot", NULL, "print every installed package as assumptions, to review (--root DIR)", NULL, base_run },
  { NULL }
};
