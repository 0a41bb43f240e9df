/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "bkt-json.h"
#include "bkt-admin.h"
#include "bkt-client.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-render.h"
#include "bkt-cmd.h"

int
fail (GError *error)
{
  int code = bkt_error_exit_code (error);

  g_printerr ("bkt: %s\n", error->message);
  return code;
}

static int
usage_error (GOptionContext *octx, const char *message)
{
  g_printerr ("bkt: %s\n", message);
  g_printerr ("Run “%s --help” for usage.\n", g_get_prgname ());
  return EXIT_USAGE;
}

/* ---- option parsing -------------------------------------------------------------- */

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

/* Parse @argv for one command; leaves positional arguments in @argv.
 * Returns FALSE (and the exit code in @code) on --help or a usage error. */
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

gboolean
parse_command (Ctx *ctx, const char *usage, const char *summary, const GOptionEntry *extra,
               int *argc, char ***argv, guint min_args, guint max_args, int *code)
{
  return parse_command_full (ctx, usage, summary, extra, FALSE, argc, argv, min_args, max_args, code);
}

/* The common part of every command's parsing: the exit-status text, the
 * parse itself, the "--" GOption leaves in place (it has done its job:
 * what follows was not parsed as options), and the argument count. */
gboolean
bkt_cmd_parse_context (GOptionContext *octx, int *argc, char ***argv,
                       guint min_args, guint max_args, int *code)
{
  g_autoptr(GError) error = NULL;

  g_option_context_set_description (octx,
    "Exit status: 0 ok, 1 operation failed, 2 usage error, 3 not authorised,\n"
    "4 daemon unreachable, 5 invalid input, 6 busy, 130 cancelled or declined. See bkt(1).");
  if (!g_option_context_parse (octx, argc, argv, &error))
    {
      *code = usage_error (octx, error->message);
      return FALSE;
    }
  for (int i = 1; i < *argc; i++)
    if (g_str_equal ((*argv)[i], "--"))
      {
        memmove (&(*argv)[i], &(*argv)[i + 1], sizeof (char *) * (*argc - i));
        (*argc)--;
        break;
      }
  if ((guint) (*argc - 1) < min_args || (guint) (*argc - 1) > max_args)
    {
      g_autofree char *help = g_option_context_get_help (octx, TRUE, NULL);
      g_printerr ("%s", help);
      *code = EXIT_USAGE;
      return FALSE;
    }
  return TRUE;
}

gboolean
parse_command_full (Ctx *ctx, const char *usage, const char *summary, const GOptionEntry *extra,
                    gboolean with_change_options, int *argc, char ***argv,
                    guint min_args, guint max_args, int *code)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (usage);
  g_option_context_set_summary (octx, summary);
  g_option_context_add_main_entries (octx, global_entries (&ctx->opt), NULL);
  if (extra != NULL)
    g_option_context_add_main_entries (octx, extra, NULL);
  if (with_change_options)
    g_option_context_add_main_entries (octx, change_entries (&ctx->opt), NULL);
  if (!bkt_cmd_parse_context (octx, argc, argv, min_args, max_args, code))
    return FALSE;
  /* -n: from here on every file write of this process is refused. */
  bkt_fs_set_dry_run (ctx->opt.dry_run);
  if (ctx->opt.verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  bkt_client_set_wait (ctx->client, ctx->opt.wait);
  bkt_render_init (&ctx->render, ctx->opt.json);
  return TRUE;
}

static GStrv
split_list (const char *list)
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

/* Options a{sv} for the session instance's Manager methods. */
GVariant *
session_options (Ctx *ctx, const char *only_override)
{
  GVariantBuilder b;
  g_auto(GStrv) only = split_list (only_override ? only_override : ctx->opt.only);
  g_auto(GStrv) exclude = split_list (ctx->opt.exclude);

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
  return g_variant_builder_end (&b);
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

/* The mode sent to bktd, from --local/--pr-only/--context; NULL after
 * printing a usage error (then *code is set). */
static const char *
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

/* Options of a change or a proposal: session_options + where the repo is
 * + the mode. */
static GVariant *
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

static gboolean
plan_has_scope (JsonObject *plan, const char *scope)
{
  JsonArray *ops = json_object_get_array_member (plan, "operations");

  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (op, "scope", ""), scope) == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (op, "effect", ""), "manifest") != 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
plan_has_session_work (JsonObject *plan)
{
  JsonArray *ops = json_object_get_array_member (plan, "operations");

  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (op, "scope", ""), "user") == 0)
        return TRUE;
    }
  return FALSE;
}

/* Follow a transaction and collect its per-operation results. */
static gboolean
follow (Ctx *ctx, BktTarget target, GVariant *reply, JsonObject *plan, JsonArray *results, GError **error)
{
  g_autoptr(JsonObject) result = NULL;
  const char *path;
  gboolean ok;

  g_variant_get (reply, "(&o)", &path);
  ctx->render.plan = plan;
  ok = bkt_client_follow (ctx->client, target, path, &bkt_render_follow_callbacks,
                          &ctx->render, &result, error);
  bkt_render_end_progress (&ctx->render);
  if (result != NULL && target == BKT_TARGET_SESSION)
    {
      g_clear_pointer (&ctx->tx_result, json_object_unref);
      ctx->tx_result = json_object_ref (result);
    }
  if (result != NULL && json_object_has_member (result, "operations"))
    {
      JsonArray *ops = json_object_get_array_member (result, "operations");
      for (guint i = 0; i < json_array_get_length (ops); i++)
        json_array_add_element (results, json_node_copy (json_array_get_element (ops, i)));
    }
  return ok;
}

/* ---- punning: what happened locally, in the manifest, in the repo ---------------- */

static JsonObject *
member_obj (JsonObject *o, const char *member)
{
  JsonNode *n;

  if (o == NULL || (n = json_object_get_member (o, member)) == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return NULL;
  return json_node_get_object (n);
}

/* Did operations of this kind run, and did they all succeed?
 * @which: "live", "record" (manifest edits) */
static const char *
outcome (JsonObject *plan, JsonArray *results, const char *which)
{
  JsonArray *ops = json_object_get_array_member (plan, "operations");
  guint planned = 0, ok = 0, failed = 0;

  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      const char *sub = bkt_json_object_get_string (op, "subsystem");
      gboolean edit = g_strcmp0 (bkt_json_object_get_string (op, "effect"), "manifest") == 0;
      const char *id = bkt_json_object_get_string (op, "id");

      if (g_strcmp0 (sub, "pr") == 0 || edit != g_str_equal (which, "record"))
        continue;
      planned++;
      for (guint j = 0; j < json_array_get_length (results); j++)
        {
          JsonObject *r = json_array_get_object_element (results, j);
          if (g_strcmp0 (bkt_json_object_get_string (r, "id"), id) == 0)
            {
              if (json_object_get_boolean_member_with_default (r, "success", FALSE))
                ok++;
              else
                failed++;
              break;
            }
        }
    }
  if (planned == 0)
    return "none";
  if (failed > 0)
    return "failed";
  return ok == planned ? "done" : "not done";
}

static void
punning_json (Ctx *ctx, JsonObject *plan, JsonObject *out)
{
  JsonArray *results = json_object_get_array_member (out, "results");
  JsonObject *pr = member_obj (ctx->tx_result, "pr");
  JsonObject *journal = member_obj (ctx->tx_result, "journal");
  JsonObject *m = json_object_new ();

  if (bkt_json_object_get_string (plan, "mode") == NULL && pr == NULL)
    {
      json_object_unref (m);
      return;
    }
  json_object_set_string_member (out, "mode", bkt_json_object_get_string (plan, "mode") ? bkt_json_object_get_string (plan, "mode") : "pr");
  if (ctx->opt.context != NULL)
    json_object_set_string_member (out, "context", ctx->opt.context);
  json_object_set_string_member (out, "local", outcome (plan, results, "live"));
  json_object_set_string_member (m, "overlay", outcome (plan, results, "record"));
  if (pr != NULL && bkt_json_object_get_string (pr, "diff") != NULL)
    json_object_set_string_member (m, "diff", bkt_json_object_get_string (pr, "diff"));
  json_object_set_object_member (out, "manifest", m);
  if (pr != NULL)
    json_object_set_object_member (out, "pr", json_object_ref (pr));
  else
    json_object_set_null_member (out, "pr");
  if (ctx->tx_result != NULL && json_object_has_member (ctx->tx_result, "prs"))
    json_object_set_member (out, "prs", json_node_copy (json_object_get_member (ctx->tx_result, "prs")));
  if (journal != NULL)
    json_object_set_object_member (out, "journal", json_object_ref (journal));
}

static void
punning_text (Ctx *ctx, JsonObject *plan, JsonArray *results)
{
  JsonObject *pr = member_obj (ctx->tx_result, "pr");
  JsonObject *journal = member_obj (ctx->tx_result, "journal");
  const char *live = outcome (plan, results, "live");
  const char *record = outcome (plan, results, "record");

  if (bkt_json_object_get_string (plan, "mode") == NULL && pr == NULL)
    return;
  const char *mode = bkt_json_object_get_string (plan, "mode");
  gboolean acts = mode == NULL || g_str_equal (mode, "pr") || g_str_equal (mode, "local");

  g_print ("\nLocally:   %s\n", !g_str_equal (live, "none") ? live
                                : acts ? "nothing to do (already so)"
                                : "nothing (no local action in this mode)");
  g_print ("Manifest:  %s\n", g_str_equal (record, "none") ? "user overlay unchanged"
                                : g_str_equal (record, "done") ? "recorded in the user overlay" : record);
  if (journal != NULL)
    g_print ("Journal:   kept as local change #%" G_GINT64_FORMAT " (bkt local commit proposes it)\n",
             json_object_get_int_member_with_default (journal, "id", 0));
  if (pr == NULL)
    {
      if (journal == NULL)
        g_print ("PR:        none\n");
      return;
    }
  if (g_strcmp0 (bkt_json_object_get_string (pr, "state"), "opened") == 0)
    g_print ("PR:        %s  (branch %s)\n", bkt_json_object_get_string (pr, "url"), bkt_json_object_get_string (pr, "branch"));
  else if (g_strcmp0 (bkt_json_object_get_string (pr, "state"), "unchanged") == 0)
    g_print ("PR:        none needed: the repo already has this change\n");
  else if (g_strcmp0 (bkt_json_object_get_string (pr, "state"), "queued") == 0)
    g_print ("PR:        not opened (%s); kept as #%" G_GINT64_FORMAT ": run bkt pr retry\n",
             bkt_json_object_get_string (pr, "error"), json_object_get_int_member_with_default (pr, "queued_id", 0));
  if (bkt_json_object_get_string (pr, "diff") != NULL && *bkt_json_object_get_string (pr, "diff") != '\0')
    g_print ("\nRepo diff (%s):\n%s", bkt_json_object_get_string (member_obj (pr, "repo"), "path"), bkt_json_object_get_string (pr, "diff"));
}

/* --dry-run of a change: the PR it would open, after the local plan. */
static void
render_pr_preview (Ctx *ctx, JsonObject *plan)
{
  JsonObject *pr = member_obj (plan, "pr");
  JsonObject *preflight = member_obj (plan, "preflight");

  if (preflight != NULL && !json_object_get_boolean_member_with_default (preflight, "ok", TRUE))
    {
      JsonArray *checks = json_object_get_array_member (preflight, "checks");
      g_print ("\nPreflight: the pull request would fail:\n");
      for (guint i = 0; checks != NULL && i < json_array_get_length (checks); i++)
        {
          JsonObject *c = json_array_get_object_element (checks, i);
          if (!json_object_get_boolean_member_with_default (c, "ok", FALSE))
            g_print ("  ✗ %s: %s%s%s\n", bkt_json_object_get_string (c, "name"), bkt_json_object_get_string (c, "detail"),
                     bkt_json_object_get_string (c, "fix") ? "\n    Fix: " : "", bkt_json_object_get_string (c, "fix") ? bkt_json_object_get_string (c, "fix") : "");
        }
    }
  if (pr == NULL)
    {
      if (g_strcmp0 (bkt_json_object_get_string (plan, "mode"), "local") == 0)
        g_print ("\nNo pull request (--local): the change is kept in the local journal.\n");
      return;
    }
  if (bkt_json_object_get_string (pr, "error") != NULL)
    {
      g_print ("\nPull request: cannot be previewed: %s\n", bkt_json_object_get_string (pr, "error"));
      return;
    }
  g_print ("\nPull request that would be opened against %s/%s (%s):\n",
           bkt_json_object_get_string (member_obj (pr, "repo"), "owner"), bkt_json_object_get_string (member_obj (pr, "repo"), "name"),
           bkt_json_object_get_string (member_obj (pr, "repo"), "path"));
  g_print ("  Title:  %s\n  Branch: %s → %s\n", bkt_json_object_get_string (pr, "title"), bkt_json_object_get_string (pr, "branch"),
           bkt_json_object_get_string (pr, "base"));
  if (bkt_json_object_get_string (pr, "diff") != NULL && *bkt_json_object_get_string (pr, "diff") != '\0')
    {
      JsonNode *cl = json_object_get_member (pr, "changelog");
      JsonArray *entries = cl != NULL && JSON_NODE_HOLDS_ARRAY (cl) ? json_node_get_array (cl) : NULL;

      for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
        g_print ("  Changelog: %s (draft)\n", json_array_get_string_element (entries, i));
      g_print ("\n%s", bkt_json_object_get_string (pr, "diff"));
    }
  else
    g_print ("  (the repo already has this change: no pull request would be needed)\n");
}

static int
finish_execution (Ctx *ctx, JsonObject *plan, JsonArray *results, GError *error)
{
  guint n_failed = 0;

  for (guint i = 0; i < json_array_get_length (results); i++)
    if (!json_object_get_boolean_member_with_default (json_array_get_object_element (results, i),
                                                      "success", FALSE))
      n_failed++;

  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      json_object_set_object_member (out, "plan", json_object_ref (plan));
      json_object_set_array_member (out, "results", json_array_ref (results));
      json_object_set_boolean_member (out, "success", error == NULL);
      if (error != NULL)
        json_object_set_string_member (out, "error", error->message);
      punning_json (ctx, plan, out);
      bkt_render_print_object (out);
    }
  else
    {
      g_print ("\n%u operation(s) done, %u failed\n", json_array_get_length (results) - n_failed, n_failed);
      punning_text (ctx, plan, results);
    }

  if (error != NULL)
    return fail (error);
  return EXIT_OK;
}

/* ---- status ------------------------------------------------------------------------ */

static int
cmd_status (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(JsonObject) os = NULL;
  g_autoptr(JsonObject) changelog = NULL;
  g_autoptr(GError) error = NULL;
  const GOptionEntry extra[] = {
    { "only", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, "- show drift between manifests and the system", NULL, extra,
                      &argc, &argv, 0, 0, &code))
    return code;
  status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                 g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  if (status == NULL)
    return fail (error);
  /* The OS image (bootc) from the system instance and the image's
   * changelog (bkt-cmd-whatsnew.c); never errors. */
  os = bkt_admin_os_section (ctx->client);
  changelog = bkt_image_changelog_section (os);
  if (ctx->opt.json)
    {
      json_object_set_object_member (status, "os", g_steal_pointer (&os));
      json_object_set_object_member (status, "changelog", g_steal_pointer (&changelog));
    }
  bkt_render_status (&ctx->render, status);
  if (os != NULL)
    bkt_admin_print_os_section (os);
  if (changelog != NULL)
    bkt_image_changelog_print (changelog);
  return EXIT_OK;
}

/* ---- apply ------------------------------------------------------------------------- */

static gboolean
plan_reverts_changes_here (JsonObject *plan)
{
  JsonArray *ops = json_object_get_array_member (plan, "operations");

  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *sync = member_obj (json_array_get_object_element (ops, i), "sync");
      const char *state = sync != NULL ? bkt_json_object_get_string (sync, "state") : NULL;

      if (g_strcmp0 (state, "to-capture") == 0 || g_strcmp0 (state, "conflict") == 0)
        return TRUE;
    }
  return FALSE;
}

/* --theirs / --ours / --force (= @forced) of apply and capture, as the
 * "resolve" option (docs/manifests.md, "Which side changed"). */
static gboolean
pick_resolution (Ctx *ctx, const char *forced, int *code)
{
  if (ctx->opt.theirs && ctx->opt.ours)
    {
      g_printerr ("bkt: --theirs and --ours exclude each other\n");
      *code = EXIT_USAGE;
      return FALSE;
    }
  ctx->opt.resolve = ctx->opt.theirs ? "theirs" : ctx->opt.ours ? "ours" : ctx->opt.force ? forced : NULL;
  return TRUE;
}

int
run_apply (Ctx *ctx, const char *only)
{
  g_autoptr(JsonObject) plan = NULL;
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) opts = g_variant_ref_sink (session_options (ctx, only));
  JsonNode *sysreq;

  plan = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Plan",
                               g_variant_new ("(@a{sv})", opts), &error);
  if (plan == NULL)
    return fail (error);
  if (ctx->opt.dry_run)
    {
      bkt_render_plan (&ctx->render, plan);
      return EXIT_OK;
    }
  if (json_array_get_length (json_object_get_array_member (plan, "operations")) == 0)
    {
      if (ctx->opt.json)
        return finish_execution (ctx, plan, results, NULL);
      bkt_render_plan (&ctx->render, plan);
      return EXIT_OK;
    }
  if (!ctx->opt.json)
    {
      bkt_render_plan (&ctx->render, plan);
      g_print ("\n");
    }
  /* Stop before either part acts (the daemons refuse it too). */
  if (ctx->opt.resolve == NULL && plan_reverts_changes_here (plan))
    {
      g_printerr ("bkt: apply would revert what was changed on this machine since bkt last synced it (see above).\n"
                  "Run bkt capture to record it first, bkt apply --ours to apply the rest and keep it, "
                  "or bkt apply --theirs to revert it.\n");
      return 7;
    }

  /* The privileged part first, sent as content by this process so polkit
   * asks about (and its agent prompts) the real user.  If it is refused,
   * nothing else happens either. */
  sysreq = json_object_get_member (plan, "system_request");
  if (sysreq != NULL && JSON_NODE_HOLDS_VALUE (sysreq) && plan_has_scope (plan, "system"))
    {
      GVariantBuilder b;
      g_autoptr(GVariant) reply = NULL;
      GVariantIter iter;
      const char *key;
      GVariant *value;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_iter_init (&iter, opts);
      while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
        if (!g_str_equal (key, "manifests-dir"))
          g_variant_builder_add (&b, "{sv}", key, value);
      g_variant_builder_add (&b, "{sv}", "manifest", g_variant_new_string (json_node_get_string (sysreq)));
      reply = bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Manager", "Apply",
                               g_variant_new ("(a{sv})", &b), G_VARIANT_TYPE ("(o)"), &error);
      if (reply == NULL || !follow (ctx, BKT_TARGET_SYSTEM, reply, plan, results, &error))
        return finish_execution (ctx, plan, results, error);
    }

  if (plan_has_session_work (plan))
    {
      g_autoptr(GVariant) reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.bkt.Daemon1.Manager",
                                                   "Apply", g_variant_new ("(@a{sv})", opts),
                                                   G_VARIANT_TYPE ("(o)"), &error);
      if (reply == NULL || !follow (ctx, BKT_TARGET_SESSION, reply, plan, results, &error))
        return finish_execution (ctx, plan, results, error);
    }
  return finish_execution (ctx, plan, results, NULL);
}

static int
cmd_apply (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry extra[] = {
    { "only", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { "theirs", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.theirs, "The manifests win: revert what was changed on this machine", NULL },
    { "ours", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.ours, "This machine wins: apply the rest, keep what was changed here", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Same as --theirs", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, "- make the system match the manifests", NULL, extra, &argc, &argv, 0, 0, &code))
    return code;
  if (!pick_resolution (ctx, "theirs", &code))
    return code;
  return run_apply (ctx, NULL);
}

/* ---- capture ----------------------------------------------------------------------- */

int
run_capture (Ctx *ctx, const char *only)
{
  g_autoptr(JsonObject) plan = NULL;
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) opts = g_variant_ref_sink (session_options (ctx, only));
  g_autoptr(GVariant) reply = NULL;

  plan = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "CapturePlan",
                               g_variant_new ("(@a{sv})", opts), &error);
  if (plan == NULL)
    return fail (error);
  if (ctx->opt.dry_run || json_array_get_length (json_object_get_array_member (plan, "operations")) == 0)
    {
      if (ctx->opt.json && !ctx->opt.dry_run)
        return finish_execution (ctx, plan, results, NULL);
      bkt_render_plan (&ctx->render, plan);
      return EXIT_OK;
    }
  if (!ctx->opt.json)
    {
      bkt_render_plan (&ctx->render, plan);
      g_print ("\n");
    }
  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.bkt.Daemon1.Manager", "Capture",
                           g_variant_new ("(@a{sv})", opts), G_VARIANT_TYPE ("(o)"), &error);
  if (reply != NULL)
    follow (ctx, BKT_TARGET_SESSION, reply, plan, results, &error);
  return finish_execution (ctx, plan, results, error);
}

static int
cmd_capture (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry extra[] = {
    { "only", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { "ours", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.ours, "Record this machine's value of items changed on both sides", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Same as --ours", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, "- record the live system in the manifests", NULL, extra, &argc, &argv, 0, 0, &code))
    return code;
  if (!pick_resolution (ctx, "ours", &code))
    return code;
  return run_capture (ctx, NULL);
}

/* ---- changes (flatpak add/remove, gsetting set/unset) --------------------------------- */

int
run_change (Ctx *ctx, const char *subsystem, const char *action, GVariant *arguments)
{
  return run_change_acting (ctx, subsystem, action, arguments, NULL);
}

int
run_change_acting (Ctx *ctx, const char *subsystem, const char *action, GVariant *arguments,
                   const BktClientAct *act)
{
  g_autoptr(GVariant) args = g_variant_ref_sink (arguments);
  g_autoptr(GVariant) opts = NULL;
  g_autoptr(GVariant) plan_opts = NULL;
  g_autoptr(JsonObject) plan = NULL;
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  JsonNode *sysreq;
  const char *mode;
  int code = EXIT_OK;

  /* `gsetting capture SCHEMA` records what is already live: not a
   * change to propose. */
  if (g_str_equal (action, "capture"))
    mode = NULL;
  else if ((mode = change_mode (ctx, &code)) == NULL)
    return code;
  opts = g_variant_ref_sink (change_options (ctx, mode));
  if (ctx->opt.dry_run)
    {
      /* A dry run reports a failing preflight instead of failing. */
      GVariantDict d;
      g_variant_dict_init (&d, opts);
      g_variant_dict_insert (&d, "dry-run", "b", TRUE);
      plan_opts = g_variant_ref_sink (g_variant_dict_end (&d));
    }
  else
    plan_opts = g_variant_ref (opts);

  plan = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "ChangePlan",
                               g_variant_new ("(ss@a{sv}@a{sv})", subsystem, action, args, plan_opts), &error);
  if (plan == NULL)
    return fail (error);
  if (act != NULL)
    act->plan (ctx, act->data, plan);
  if (ctx->opt.dry_run)
    {
      bkt_render_plan (&ctx->render, plan);
      if (!ctx->opt.json)
        render_pr_preview (ctx, plan);
      return EXIT_OK;
    }
  if (!ctx->opt.json)
    {
      bkt_render_plan (&ctx->render, plan);
      g_print ("\n");
    }

  /* ChangePlan has just checked with dnf that the packages exist (the one
   * batched repoquery of the command): Change re-plans without asking
   * again.  Only a usability check; names are validated every time. */
  if (g_str_equal (subsystem, "dnf"))
    {
      GVariantDict d;
      g_variant_dict_init (&d, args);
      g_variant_dict_insert (&d, "force", "b", TRUE);
      g_variant_unref (args);
      args = g_variant_ref_sink (g_variant_dict_end (&d));
    }

  /* The client's own live part (bkt dev: dnf in the user's toolbox),
   * after the preflight and before anything is recorded. */
  if (act != NULL && !act->act (ctx, act->data, results, &error))
    return finish_execution (ctx, plan, results, error);

  /* Act first (system part through the system instance, as this user),
   * record after: the session only records what succeeded. */
  sysreq = json_object_get_member (plan, "system_request");
  if (sysreq != NULL && JSON_NODE_HOLDS_OBJECT (sysreq))
    {
      JsonObject *req = json_node_get_object (sysreq);
      const char *method = json_object_get_string_member_with_default (req, "method", "");
      const char *id = json_object_get_string_member_with_default (req, "id", "");
      GVariantBuilder b;
      g_autoptr(GVariant) sreply = NULL;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "force",
                             g_variant_new_boolean (json_object_get_boolean_member_with_default (req, "force", FALSE)));
      if (g_str_equal (method, "PackagesInstall") || g_str_equal (method, "PackagesUninstall"))
        {
          JsonArray *pkgs = json_object_get_array_member (req, "packages");
          g_autoptr(GPtrArray) names = g_ptr_array_new ();

          for (guint i = 0; pkgs != NULL && i < json_array_get_length (pkgs); i++)
            g_ptr_array_add (names, (gpointer) json_array_get_string_element (pkgs, i));
          g_ptr_array_add (names, NULL);
          /* Rebuilt: PackagesUninstall takes "now" only. */
          g_variant_builder_clear (&b);
          g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
          g_variant_builder_add (&b, "{sv}", "now",
                                 g_variant_new_boolean (json_object_get_boolean_member_with_default (req, "now", FALSE)));
          if (g_str_equal (method, "PackagesInstall"))
            g_variant_builder_add (&b, "{sv}", "force",
                                   g_variant_new_boolean (json_object_get_boolean_member_with_default (req, "force",
                                                                                                      FALSE)));
          sreply = bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Admin", method,
                                    g_variant_new ("(^asa{sv})", (char **) names->pdata, &b),
                                    G_VARIANT_TYPE ("(o)"), &error);
        }
      else if (g_str_has_prefix (method, "Copr"))
        {
          g_variant_builder_clear (&b);   /* they take their own options */
          sreply = bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Admin", method,
                                    bkt_cmd_dnf_copr_args (req), G_VARIANT_TYPE ("(o)"), &error);
        }
      else if (g_str_equal (method, "FlatpakInstall"))
        sreply = bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Admin", method,
                                  g_variant_new ("(ssa{sv})",
                                                 json_object_get_string_member_with_default (req, "remote", ""),
                                                 id, &b),
                                  G_VARIANT_TYPE ("(o)"), &error);
      else
        sreply = bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Admin", method,
                                  g_variant_new ("(sa{sv})", id, &b), G_VARIANT_TYPE ("(o)"), &error);
      if (sreply == NULL || !follow (ctx, BKT_TARGET_SYSTEM, sreply, plan, results, &error))
        return finish_execution (ctx, plan, results, error);
    }

  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.bkt.Daemon1.Manager", "Change",
                           g_variant_new ("(ss@a{sv}@a{sv})", subsystem, action, args, opts),
                           G_VARIANT_TYPE ("(o)"), &error);
  if (reply != NULL)
    follow (ctx, BKT_TARGET_SESSION, reply, plan, results, &error);
  return finish_execution (ctx, plan, results, error);
}

void
add_string (GVariantBuilder *b, const char *key, const char *value)
{
  if (value != NULL)
    g_variant_builder_add (b, "{sv}", key, g_variant_new_string (value));
}

/* ---- flatpak ------------------------------------------------------------------------- */

static int
list_subsystem (Ctx *ctx, const char *subsystem)
{
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;
  JsonArray *entries, *drift;

  status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                 g_variant_new ("(@a{sv})", session_options (ctx, subsystem)), &error);
  if (status == NULL)
    return fail (error);
  s = json_object_get_object_member (json_object_get_object_member (status, "subsystems"), subsystem);
  if (ctx->opt.json || s == NULL)
    {
      if (s != NULL)
        bkt_render_print_object (s);
      return EXIT_OK;
    }
  entries = json_object_get_array_member (s, "entries");
  drift = json_object_get_array_member (s, "drift");
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      const char *state = "in sync";

      for (guint j = 0; drift != NULL && j < json_array_get_length (drift); j++)
        {
          JsonObject *d = json_object_get_object_member (json_array_get_object_element (drift, j), "details");
          if (g_str_equal (subsystem, "flatpak") &&
              g_strcmp0 (json_object_get_string_member_with_default (d, "id", NULL),
                         json_object_get_string_member_with_default (e, "id", "")) == 0)
            state = "not installed";
          else if (g_str_equal (subsystem, "gsettings") &&
                   g_strcmp0 (json_object_get_string_member_with_default (d, "schema", NULL),
                              json_object_get_string_member_with_default (e, "schema", "")) == 0 &&
                   g_strcmp0 (json_object_get_string_member_with_default (d, "key", NULL),
                              json_object_get_string_member_with_default (e, "key", "")) == 0)
            state = "differs";
        }
      if (g_str_equal (subsystem, "flatpak"))
        g_print ("%-40s %-12s %-7s %s\n", json_object_get_string_member_with_default (e, "id", "?"),
                 json_object_get_string_member_with_default (e, "remote", "?"),
                 json_object_get_string_member_with_default (e, "scope", "?"), state);
      else
        g_print ("%-40s %-28s %-20s %s\n", json_object_get_string_member_with_default (e, "schema", "?"),
                 json_object_get_string_member_with_default (e, "key", "?"),
                 json_object_get_string_member_with_default (e, "value", "?"), state);
    }
  if (json_object_has_member (s, "untracked"))
    {
      JsonArray *u = json_object_get_array_member (s, "untracked");
      for (guint i = 0; i < json_array_get_length (u); i++)
        {
          JsonObject *o = json_array_get_object_element (u, i);
          g_print ("%-40s (untracked: run `bkt %s capture`)\n",
                   json_object_get_string_member_with_default (o, "summary",
                     json_object_get_string_member_with_default (o, "target", "?")),
                   g_str_equal (subsystem, "flatpak") ? "flatpak" : "gsetting");
        }
    }
  return EXIT_OK;
}

static int
cmd_flatpak (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  const GOptionEntry add_entries[] = {
    { "remote", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.remote, "Remote to install from (default: flathub)", "NAME" },
    { "scope", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.scope, "system (default) or user", "SCOPE" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Skip checking that the remote has the app", NULL },
    { NULL }
  };
  const GOptionEntry remove_entries[] = {
    { "scope", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.scope, "system or user (default: from the manifest)", "SCOPE" },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (sub == NULL || g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      g_print ("Usage: bkt flatpak (fp) COMMAND\n\n"
               "  add ID [--remote R] [--scope system|user] [--force]   install and record\n"
               "  remove ID [--scope S]                                uninstall and forget\n"
               "  list                                                 tracked apps and their state\n"
               "  sync                                                 apply the flatpak manifests\n"
               "  capture                                              record installed apps\n");
      return sub == NULL ? EXIT_USAGE : EXIT_OK;
    }
  argc--;
  argv++;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (g_str_equal (sub, "add"))
    {
      if (!parse_command_full (ctx, "ID - install a flatpak now and record it", NULL, add_entries, TRUE,
                          &argc, &argv, 1, 1, &code))
        return code;
      add_string (&b, "id", argv[1]);
      add_string (&b, "remote", ctx->opt.remote ? ctx->opt.remote : "flathub");
      add_string (&b, "scope", ctx->opt.scope ? ctx->opt.scope : "system");
      g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (ctx->opt.force));
      return run_change (ctx, "flatpak", "add", g_variant_builder_end (&b));
    }
  if (g_str_equal (sub, "remove"))
    {
      if (!parse_command_full (ctx, "ID - uninstall a flatpak now and forget it", NULL, remove_entries, TRUE,
                          &argc, &argv, 1, 1, &code))
        return code;
      add_string (&b, "id", argv[1]);
      add_string (&b, "scope", ctx->opt.scope);
      return run_change (ctx, "flatpak", "remove", g_variant_builder_end (&b));
    }
  g_variant_builder_clear (&b);
  if (g_str_equal (sub, "list"))
    {
      if (!parse_command (ctx, "- tracked flatpaks and their state", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      return list_subsystem (ctx, "flatpak");
    }
  if (g_str_equal (sub, "sync"))
    {
      if (!parse_command (ctx, "- install what the flatpak manifests list", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      return run_apply (ctx, "flatpak");
    }
  if (g_str_equal (sub, "capture"))
    {
      if (!parse_command (ctx, "- record installed flatpaks", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      return run_capture (ctx, "flatpak");
    }
  g_printerr ("bkt: unknown flatpak command “%s”; see bkt flatpak --help\n", sub);
  return EXIT_USAGE;
}

/* ---- gsetting ------------------------------------------------------------------------ */

static int
cmd_gsetting (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  const GOptionEntry set_entries[] = {
    { "comment", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.comment, "Why this setting (kept in the manifest)", "TEXT" },
    { "path", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.path, "Path of a relocatable schema", "PATH" },
    { NULL }
  };
  const GOptionEntry path_entries[] = {
    { "path", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.path, "Path of a relocatable schema", "PATH" },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (sub == NULL || g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      g_print ("Usage: bkt gsetting (gs) COMMAND\n\n"
               "  set SCHEMA KEY VALUE [--comment C]   set now and record (VALUE is GVariant text)\n"
               "  unset SCHEMA KEY                     reset now and forget\n"
               "  list                                 tracked settings and their state\n"
               "  apply                                apply the gsettings manifest\n"
               "  capture [SCHEMA]                     record changed settings\n");
      return sub == NULL ? EXIT_USAGE : EXIT_OK;
    }
  argc--;
  argv++;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (g_str_equal (sub, "set"))
    {
      if (!parse_command_full (ctx, "SCHEMA KEY VALUE - set a key now and record it", NULL, set_entries, TRUE,
                          &argc, &argv, 3, 3, &code))
        {
          g_variant_builder_clear (&b);
          return code;
        }
      add_string (&b, "schema", argv[1]);
      add_string (&b, "key", argv[2]);
      add_string (&b, "value", argv[3]);
      add_string (&b, "comment", ctx->opt.comment);
      add_string (&b, "path", ctx->opt.path);
      return run_change (ctx, "gsettings", "set", g_variant_builder_end (&b));
    }
  if (g_str_equal (sub, "unset"))
    {
      if (!parse_command_full (ctx, "SCHEMA KEY - reset a key now and forget it", NULL, path_entries, TRUE,
                          &argc, &argv, 2, 2, &code))
        {
          g_variant_builder_clear (&b);
          return code;
        }
      add_string (&b, "schema", argv[1]);
      add_string (&b, "key", argv[2]);
      add_string (&b, "path", ctx->opt.path);
      return run_change (ctx, "gsettings", "unset", g_variant_builder_end (&b));
    }
  if (g_str_equal (sub, "capture"))
    {
      if (!parse_command (ctx, "[SCHEMA] - record changed settings", NULL, path_entries,
                          &argc, &argv, 0, 1, &code))
        {
          g_variant_builder_clear (&b);
          return code;
        }
      if (argc > 1)
        {
          add_string (&b, "schema", argv[1]);
          add_string (&b, "path", ctx->opt.path);
          return run_change (ctx, "gsettings", "capture", g_variant_builder_end (&b));
        }
      g_variant_builder_clear (&b);
      return run_capture (ctx, "gsettings");
    }
  g_variant_builder_clear (&b);
  if (g_str_equal (sub, "list"))
    {
      if (!parse_command (ctx, "- tracked settings and their state", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      return list_subsystem (ctx, "gsettings");
    }
  if (g_str_equal (sub, "apply"))
    {
      if (!parse_command (ctx, "- apply the gsettings manifest", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      return run_apply (ctx, "gsettings");
    }
  g_printerr ("bkt: unknown gsetting command “%s”; see bkt gsetting --help\n", sub);
  return EXIT_USAGE;
}

/* ---- local journal and PR retry --------------------------------------------------------- */

static int
print_journal (Ctx *ctx, JsonObject *journal)
{
  JsonArray *entries = json_object_get_array_member (journal, "entries");

  if (ctx->opt.json)
    {
      bkt_render_print_object (journal);
      return EXIT_OK;
    }
  if (entries == NULL || json_array_get_length (entries) == 0)
    {
      g_print ("No local changes and no failed pull requests.\n");
      return EXIT_OK;
    }
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (json_object_get_int_member_with_default (e, "created", 0));
      g_autofree char *when = t ? g_date_time_format (t, "%Y-%m-%d %H:%M") : g_strdup ("?");

      g_print ("#%-4" G_GINT64_FORMAT " %-7s %s  %s\n", json_object_get_int_member_with_default (e, "id", 0),
               bkt_json_object_get_string (e, "state"), when, bkt_json_object_get_string (e, "summary") ? bkt_json_object_get_string (e, "summary") : "");
      if (bkt_json_object_get_string (e, "command") != NULL)
        g_print ("      %s\n", bkt_json_object_get_string (e, "command"));
      if (bkt_json_object_get_string (e, "error") != NULL)
        g_print ("      failed: %s\n", bkt_json_object_get_string (e, "error"));
    }
  return EXIT_OK;
}

/* LocalCommit / PrRetry: a transaction of pr operations only. */
static int
run_proposal (Ctx *ctx, const char *method, GVariant *params_in)
{
  g_autoptr(GVariant) params = g_variant_ref_sink (params_in);
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(JsonObject) plan = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.bkt.Daemon1.Manager", method, params,
                           G_VARIANT_TYPE ("(o)"), &error);
  if (reply == NULL)
    return fail (error);
  {
    const char *path;
    g_autoptr(JsonObject) tx_plan = NULL;

    g_variant_get (reply, "(&o)", &path);
    tx_plan = bkt_client_transaction_plan (ctx->client, BKT_TARGET_SESSION, path, NULL);
    if (tx_plan != NULL)
      {
        g_clear_pointer (&plan, json_object_unref);
        plan = g_steal_pointer (&tx_plan);
      }
    else
      json_object_set_array_member (plan, "operations", json_array_new ());
  }
  json_object_set_string_member (plan, "mode", "pr");
  if (!ctx->opt.json)
    {
      bkt_render_plan (&ctx->render, plan);
      g_print ("\n");
    }
  follow (ctx, BKT_TARGET_SESSION, reply, plan, results, &error);
  return finish_execution (ctx, plan, results, error);
}

static int
cmd_local (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  const GOptionEntry commit_entries[] = {
    { "select", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.select, "Only these journal ids (comma-separated)", "IDS" },
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight, "Go ahead even if the checks fail", NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  int code;

  if (sub == NULL || g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      g_print ("Usage: bkt local COMMAND\n\n"
               "  list                      changes made with --local, and failed pull requests\n"
               "  commit [--select IDS]     propose local changes as one pull request\n");
      return sub == NULL ? EXIT_USAGE : EXIT_OK;
    }
  argc--;
  argv++;
  if (g_str_equal (sub, "list"))
    {
      g_autoptr(JsonObject) journal = NULL;

      if (!parse_command (ctx, "- changes not proposed yet", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      journal = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "LocalList",
                                      g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
      if (journal == NULL)
        return fail (error);
      return print_journal (ctx, journal);
    }
  if (g_str_equal (sub, "commit"))
    {
      g_auto(GStrv) parts = NULL;
      GVariantBuilder ids;

      if (!parse_command (ctx, "- propose local changes as one pull request", NULL, commit_entries,
                          &argc, &argv, 0, 0, &code))
        return code;
      g_variant_builder_init (&ids, G_VARIANT_TYPE ("ax"));
      parts = split_list (ctx->opt.select);
      for (guint i = 0; parts != NULL && parts[i] != NULL; i++)
        {
          const char *p = parts[i][0] == '#' ? parts[i] + 1 : parts[i];
          gint64 id = 0;
          if (!g_ascii_string_to_signed (p, 10, 1, G_MAXINT64, &id, NULL))
            {
              g_variant_builder_clear (&ids);
              g_printerr ("bkt: --select takes journal ids like 1,3 (see bkt local list), not “%s”\n", parts[i]);
              return EXIT_USAGE;
            }
          g_variant_builder_add (&ids, "x", id);
        }
      return run_proposal (ctx, "LocalCommit",
                           g_variant_new ("(ax@a{sv})", &ids, change_options (ctx, NULL)));
    }
  g_printerr ("bkt: unknown local command “%s”; see bkt local --help\n", sub);
  return EXIT_USAGE;
}

static int
cmd_pr (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  const GOptionEntry retry_entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight, "Go ahead even if the checks fail", NULL },
    { NULL }
  };
  g_autoptr(JsonObject) journal = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *entries;
  gboolean any = FALSE;
  int code;

  if (sub == NULL || g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      g_print ("Usage: bkt pr COMMAND\n\n"
               "  retry                     push and open again the pull requests that failed\n");
      return sub == NULL ? EXIT_USAGE : EXIT_OK;
    }
  argc--;
  argv++;
  if (!g_str_equal (sub, "retry"))
    {
      g_printerr ("bkt: unknown pr command “%s”; see bkt pr --help\n", sub);
      return EXIT_USAGE;
    }
  if (!parse_command (ctx, "- retry failed pull requests", NULL, retry_entries, &argc, &argv, 0, 0, &code))
    return code;
  journal = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "LocalList",
                                  g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  if (journal == NULL)
    return fail (error);
  entries = json_object_get_array_member (journal, "entries");
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    any |= g_strcmp0 (bkt_json_object_get_string (json_array_get_object_element (entries, i), "state"), "failed") == 0;
  if (!any)
    {
      if (ctx->opt.json)
        g_print ("{\"success\": true, \"results\": [], \"pr\": null}\n");
      else
        g_print ("Nothing to retry: no failed pull requests are queued.\n");
      return EXIT_OK;
    }
  return run_proposal (ctx, "PrRetry", g_variant_new ("(@a{sv})", change_options (ctx, NULL)));
}

/* ---- admin (client/bkt-admin.c) ------------------------------------------------------ */

static int
cmd_admin (Ctx *ctx, int argc, char **argv)
{
  return bkt_admin_main (ctx->client, argc, argv);
}

/* ---- main ------------------------------------------------------------------------------- */

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: bkt [--manifests DIR] [-n|--dry-run] [--json] [--wait] COMMAND …\n\n"
           "Keep your distribution's manifests and this machine in step.\n"
           "Every change (flatpak add/remove, gsetting set/unset) acts now, records it, and\n"
           "opens a pull request to the distribution repo; --local: no PR; --pr-only: only\n"
           "the PR.  See docs/punning.md.\n\n"
           "Commands:\n"
           "  status                 drift between manifests and the system\n"
           "  apply                  make the system match the manifests\n"
           "  capture                record the live system in the manifests\n"
           "  flatpak (fp) …         add, remove, list, sync, capture flatpaks\n"
           "  gsetting (gs) …        set, unset, list, apply, capture settings\n"
           "  extension (ext) …      add, remove, enable, disable, list, sync, capture GNOME Shell extensions\n"
           "  shim …                 add, remove, list, sync toolbox shims for host commands\n"
           "  dnf …                  search, info, provides, list, repoquery: the host's dnf\n"
           "  dev …                  dnf, enter, status, update: the development toolbox\n"
           "  containerfile …        sync, check the Containerfile's managed sections\n"
           "  changelog …            add, pending, validate, show, list, release, clear: the repo's changelog\n"
           "  base …                 verify, list, info, assume, unassume, snapshot: base assumptions\n"
           "  drift check            base assumptions, Containerfile and manifests vs system (exit 0/1/2)\n"
           "  upstream …             list, info, check, update, pin, add, remove, lock, verify, generate: pins\n"
           "  local list|commit      changes made with --local; propose them as one PR\n"
           "  pr retry               retry pull requests that failed\n"
           "  admin …                bootc (OS image) and systemctl, through the system daemon\n"
           "  version                print the client and daemon versions\n\n"
           "Run “bkt COMMAND --help” for a command's options. See bkt(1).\n");
}

static int
cmd_version (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  if (!parse_command (ctx, "- print versions", NULL, NULL, &argc, &argv, 0, 0, &code))
    return code;
  g_print ("bkt %s\n", PACKAGE_VERSION);
  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.freedesktop.DBus.Properties", "Get",
                           g_variant_new ("(ss)", "org.bkt.Daemon1.Manager", "DaemonVersion"),
                           G_VARIANT_TYPE ("(v)"), &error);
  if (reply == NULL)
    return fail (error);
  g_variant_get (reply, "(v)", &value);
  g_print ("bktd %s%s\n", g_variant_get_string (value, NULL),
           bkt_client_is_private (ctx->client) ? " (private instance)" : "");
  return EXIT_OK;
}

int
main (int argc, char **argv)
{
  static const struct {
    const char *name;
    const char *alias;
    int (*run) (Ctx *ctx, int argc, char **argv);
  } commands[] = {
    { "status", NULL, cmd_status },
    { "apply", NULL, cmd_apply },
    { "capture", NULL, cmd_capture },
    { "flatpak", "fp", cmd_flatpak },
    { "gsetting", "gs", cmd_gsetting },
    { "extension", "ext", bkt_cmd_extension },
    { "shim", NULL, bkt_cmd_shim },
    { "dnf", NULL, bkt_cmd_dnf },
    { "dev", NULL, bkt_cmd_dev },
    { "containerfile", NULL, bkt_cmd_containerfile },
    { "changelog", NULL, bkt_cmd_changelog },
    { "base", NULL, bkt_cmd_base },
    { "drift", NULL, bkt_cmd_drift },
    { "upstream", NULL, bkt_cmd_upstream },
    { "version", NULL, cmd_version },
    { "local", NULL, cmd_local },
    { "pr", NULL, cmd_pr },
    { "admin", NULL, cmd_admin },
  };
  g_autoptr(BktClient) client = NULL;
  Ctx ctx = { 0 };
  int first = 1;
  int code = EXIT_USAGE;

  setlocale (LC_ALL, "");
  g_set_prgname ("bkt");

  /* Global options may precede the command: move them after it so each
   * command's parser sees them (they are in every command's entries). */
  while (first < argc && argv[first][0] == '-' && !g_str_equal (argv[first], "--"))
    {
      if (g_str_equal (argv[first], "--help") || g_str_equal (argv[first], "-h"))
        {
          print_usage (stdout);
          return EXIT_OK;
        }
      if (g_str_equal (argv[first], "--version"))
        {
          g_print ("bkt %s\n", PACKAGE_VERSION);
          return EXIT_OK;
        }
      /* -m/--manifests, --repo and --context take a value */
      if ((g_str_equal (argv[first], "--manifests") || g_str_equal (argv[first], "-m") ||
           g_str_equal (argv[first], "--repo") || g_str_equal (argv[first], "--context")) && first + 1 < argc)
        first++;
      first++;
    }
  if (first >= argc)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char **args = NULL;
      int n = 0;

      if (!g_str_equal (argv[first], commands[i].name) &&
          (commands[i].alias == NULL || !g_str_equal (argv[first], commands[i].alias)))
        continue;

      /* argv for the command: "bkt COMMAND", then its arguments, then the
       * global options that came before the command. */
      args = g_new0 (char *, argc + 2);
      args[n++] = g_strdup_printf ("bkt %s", commands[i].name);
      for (int j = first + 1; j < argc; j++)
        {
          /* Global options go before a "--" so that it keeps its meaning
           * (everything after it is an argument, e.g. an id like "-x"). */
          if (g_str_equal (argv[j], "--"))
            for (int k = 1; k < first; k++)
              args[n++] = argv[k];
          args[n++] = argv[j];
        }
      if (!g_strv_contains ((const char * const *) argv + first + 1, "--"))
        for (int j = 1; j < first; j++)
          args[n++] = argv[j];
      client = bkt_client_new ();
      bkt_client_set_interactive (client, isatty (STDIN_FILENO));
      ctx.client = client;
      {
        g_autoptr(GString) line = g_string_new ("bkt");
        for (int j = 1; j < argc; j++)
          {
            g_autofree char *q = strpbrk (argv[j], " \t'\"$`\\") ? g_shell_quote (argv[j]) : g_strdup (argv[j]);
            g_string_append_printf (line, " %s", q);
          }
        ctx.command_line = g_string_free (g_steal_pointer (&line), FALSE);
      }
      ctx.typed_args = argv + first + 1;
      code = commands[i].run (&ctx, n, args);
      g_free (ctx.command_line);
      g_clear_pointer (&ctx.tx_result, json_object_unref);
      g_free (ctx.opt.repo);
      g_free (ctx.opt.context);
      g_free (ctx.opt.select);
      g_free (args[0]);
      g_free (ctx.opt.manifests);
      g_free (ctx.opt.only);
      g_free (ctx.opt.exclude);
      g_free (ctx.opt.remote);
      g_free (ctx.opt.scope);
      g_free (ctx.opt.comment);
      g_free (ctx.opt.path);
      g_free (ctx.opt.host);
      return code;
    }
  g_printerr ("bkt: unknown command “%s”\n\n", argv[first]);
  print_usage (stderr);
  return EXIT_USAGE;
}
