/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "bkt-cmd.h"
#include "bkt-error.h"
#include "bkt-image.h"
#include "bkt-json.h"
#include "bkt-reply.h"

/* The change flow every mutating command shares: ask the session daemon
 * for the plan, show it, act (the privileged part through the system
 * instance, as this user), record, propose, and say what happened — from
 * the typed view of the replies (bkt-reply.h). */

/* Follow a transaction and collect its per-operation results. */
static gboolean
follow (Ctx *ctx, BktTarget target, GVariant *reply, BktReplyPlan *view, JsonArray *results, GError **error)
{
  g_autoptr(JsonObject) result = NULL;
  const char *path;
  gboolean ok;

  g_variant_get (reply, "(&o)", &path);
  ctx->render.plan = view;
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

static void
punning_json (Ctx *ctx, BktReplyPlan *view, BktReplyResult *res, JsonObject *out)
{
  JsonObject *m;

  if (view->mode == NULL && !res->has_pr)
    return;
  m = json_object_new ();
  json_object_set_string_member (out, "mode", view->mode ? view->mode : "pr");
  if (ctx->opt.context != NULL)
    json_object_set_string_member (out, "context", ctx->opt.context);
  json_object_set_string_member (out, "local", bkt_outcome_to_string (bkt_reply_plan_outcome (view, FALSE)));
  json_object_set_string_member (m, "overlay", bkt_outcome_to_string (bkt_reply_plan_outcome (view, TRUE)));
  if (res->has_pr && res->pr.diff != NULL)
    json_object_set_string_member (m, "diff", res->pr.diff);
  json_object_set_object_member (out, "manifest", m);
  if (res->has_pr)
    json_object_set_object_member (out, "pr", json_object_ref (res->pr.object));
  else
    json_object_set_null_member (out, "pr");
  if (res->prs != NULL)
    json_object_set_member (out, "prs", json_node_copy (res->prs));
  if (res->has_journal)
    json_object_set_object_member (out, "journal", json_object_ref (res->journal));
}

static void
punning_text (BktReplyPlan *view, BktReplyResult *res)
{
  BktOutcome live = bkt_reply_plan_outcome (view, FALSE);
  BktOutcome record = bkt_reply_plan_outcome (view, TRUE);
  gboolean acts;

  if (view->mode == NULL && !res->has_pr)
    return;
  acts = view->mode == NULL || g_str_equal (view->mode, "pr") || g_str_equal (view->mode, "local");
  g_print ("\nLocally:   %s\n", live != BKT_OUTCOME_NONE ? bkt_outcome_to_string (live)
                                : acts ? "nothing to do (already so)"
                                : "nothing (no local action in this mode)");
  g_print ("Manifest:  %s\n", record == BKT_OUTCOME_NONE ? "user overlay unchanged"
                                : record == BKT_OUTCOME_DONE ? "recorded in the user overlay"
                                : bkt_outcome_to_string (record));
  if (res->has_journal)
    g_print ("Journal:   kept as local change #%" G_GINT64_FORMAT " (bkt local commit proposes it)\n",
             res->journal_id);
  if (!res->has_pr)
    {
      if (!res->has_journal)
        g_print ("PR:        none\n");
      return;
    }
  if (g_strcmp0 (res->pr.state, "opened") == 0)
    g_print ("PR:        %s  (branch %s)\n", res->pr.url, res->pr.branch);
  else if (g_strcmp0 (res->pr.state, "unchanged") == 0)
    g_print ("PR:        none needed: the repo already has this change\n");
  else if (g_strcmp0 (res->pr.state, "queued") == 0)
    g_print ("PR:        not opened (%s); kept as #%" G_GINT64_FORMAT ": run bkt pr retry\n",
             res->pr.error, res->pr.queued_id);
  if (res->pr.diff != NULL && *res->pr.diff != '\0')
    g_print ("\nRepo diff (%s):\n%s", res->pr.repo_path, res->pr.diff);
}

static void
render_preflight (BktReplyPlan *view)
{
  if (!view->preflight_failed)
    return;
  g_print ("\nPreflight: the pull request would fail:\n");
  for (guint i = 0; i < view->preflight->len; i++)
    {
      const BktReplyCheck *c = &g_array_index (view->preflight, BktReplyCheck, i);

      if (!c->ok)
        g_print ("  ✗ %s: %s%s%s\n", c->name, c->detail, c->fix ? "\n    Fix: " : "", c->fix ? c->fix : "");
    }
}

/* --dry-run of a change: the PR it would open, after the local plan. */
static void
render_pr_preview (BktReplyPlan *view)
{
  const BktReplyPr *pr = &view->pr_preview;

  render_preflight (view);
  if (!view->has_pr_preview)
    {
      if (g_strcmp0 (view->mode, "local") == 0)
        g_print ("\nNo pull request (--local): the change is kept in the local journal.\n");
      return;
    }
  if (pr->error != NULL)
    {
      g_print ("\nPull request: cannot be previewed: %s\n", pr->error);
      return;
    }
  g_print ("\nPull request that would be opened against %s/%s (%s):\n",
           pr->repo_owner, pr->repo_name, pr->repo_path);
  g_print ("  Title:  %s\n  Branch: %s → %s\n", pr->title, pr->branch, pr->base);
  if (pr->diff != NULL && *pr->diff != '\0')
    {
      for (guint i = 0; pr->changelog != NULL && i < json_array_get_length (pr->changelog); i++)
        g_print ("  Changelog: %s (draft)\n", json_array_get_string_element (pr->changelog, i));
      g_print ("\n%s", pr->diff);
    }
  else
    g_print ("  (the repo already has this change: no pull request would be needed)\n");
}

static int
finish_execution (Ctx *ctx, BktReplyPlan *view, JsonArray *results, GError *error)
{
  g_autoptr(BktReplyResult) res = bkt_reply_result_new (ctx->tx_result);

  bkt_reply_plan_set_results (view, results);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      json_object_set_object_member (out, "plan", json_object_ref (view->plan));
      json_object_set_array_member (out, "results", json_array_ref (results));
      json_object_set_boolean_member (out, "success", error == NULL);
      if (error != NULL)
        json_object_set_string_member (out, "error", error->message);
      punning_json (ctx, view, res, out);
      bkt_render_print_object (out);
    }
  else
    {
      g_print ("\n%u operation(s) done, %u failed\n", view->n_ok, view->n_failed);
      punning_text (view, res);
    }

  if (error != NULL)
    return fail (error);
  return EXIT_OK;
}

/* ---- apply and capture --------------------------------------------------------------- */

static int apply_plan (Ctx *ctx, const char *only, BktReplyPlan **out_view);

/* --scope: only this scope's operations stay in the plan; the other part is
 * left to whoever owns it (bkt-apply.service runs the system part as root,
 * bkt-apply-user.service the user's at login). */
static void
keep_scope (JsonObject *plan, const char *scope)
{
  JsonArray *ops = json_object_get_array_member (plan, "operations");
  JsonArray *kept = json_array_new ();
  guint left = 0;

  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (op, "scope", ""), scope) == 0)
        json_array_add_element (kept, json_node_copy (json_array_get_element (ops, i)));
      else
        left++;
    }
  json_object_set_array_member (plan, "operations", kept);
  json_object_set_int_member (plan, "count", json_array_get_length (kept));
  if (g_str_equal (scope, "user"))
    json_object_set_null_member (plan, "system_request");
  if (left > 0)
    {
      JsonArray *w = json_object_get_array_member (plan, "warnings");
      g_autofree char *text = g_strdup_printf ("%u operation(s) of the other scope left out (--scope %s)", left, scope);
      if (w == NULL)
        json_object_set_array_member (plan, "warnings", (w = json_array_new ()));
      json_array_add_string_element (w, text);
    }
}

/* The desktop notification of --notify: only when something changed or
 * failed (a login with nothing to do stays quiet). */
static void
notify_outcome (BktReplyPlan *view, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *summary = NULL;

  if (view == NULL || (view->n_ok == 0 && view->n_failed == 0 && code == EXIT_OK))
    return;
  for (guint i = 0, shown = 0; i < view->ops->len && shown < 5; i++, shown++)
    {
      const char *what = g_array_index (view->ops, BktReplyOp, i).summary;
      g_string_append_printf (body, "%s%s", body->len ? "\n" : "", what != NULL ? what : "");
    }
  if (view->ops->len > 5)
    g_string_append_printf (body, "\n… and %u more", view->ops->len - 5);
  if (code != EXIT_OK || view->n_failed > 0)
    summary = g_strdup_printf ("Your distribution's settings: %u of %u change(s) failed — run bkt status",
                               view->n_failed, view->n_ok + view->n_failed);
  else
    summary = g_strdup_printf ("Your distribution's settings: %u change(s) applied", view->n_ok);
  if (!bkt_notify (summary, body->str, code != EXIT_OK, &error))
    g_debug ("no desktop notification: %s", error->message);
}

/* Before acting on a plan with a system part: is bktd --system there?
 * If not, nothing is done, and the user learns which part needs it, how
 * to start it, and how to apply the rest without it. */
static gboolean
system_part_reachable (Ctx *ctx, BktReplyPlan *view, int *code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) subs = g_ptr_array_new ();
  g_autofree char *list = NULL;
  guint n = 0;

  if (bkt_client_system_reachable (ctx->client, &error))
    return TRUE;
  for (guint i = 0; i < view->ops->len; i++)
    {
      const BktReplyOp *op = &g_array_index (view->ops, BktReplyOp, i);

      if (g_strcmp0 (op->scope, "system") != 0 || op->manifest_edit)
        continue;
      n++;
      if (op->subsystem != NULL && !g_ptr_array_find_with_equal_func (subs, op->subsystem, g_str_equal, NULL))
        g_ptr_array_add (subs, (gpointer) op->subsystem);
    }
  g_ptr_array_add (subs, NULL);
  list = g_strjoinv (",", (char **) subs->pdata);
  g_printerr ("bkt: nothing was done: the system part of this plan (%u operation(s) of %s) needs the system "
              "daemon bktd: %s.\n"
              "  Start it: sudo systemctl start bktd.service (installed, the system bus also starts it on demand).\n"
              "  Or apply only the user part now: bkt apply --scope user (or leave these subsystems out: "
              "--exclude %s)\n", n, list, error->message, list);
  *code = bkt_error_exit_code (error);
  return FALSE;
}

int
run_apply (Ctx *ctx, const char *only)
{
  g_autoptr(BktReplyPlan) view = NULL;
  g_autofree char *dir = NULL, *digest = NULL, *stamp = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  if (ctx->opt.if_image_changed)
    {
      dir = bkt_image_manifests_dir (ctx->opt.manifests);
      digest = bkt_image_manifests_digest (dir, &error);
      if (digest == NULL)
        return fail (error);
      stamp = bkt_image_stamp_path (ctx->opt.scope);
      if (bkt_image_stamp_matches (stamp, digest))
        {
          if (ctx->opt.json)
            g_print ("{\"applied_already\":true,\"manifests\":\"%s\",\"stamp\":\"%s\"}\n", dir, stamp);
          else
            g_print ("The image's manifests (%s) were applied here already (%s): nothing to do.\n", dir, stamp);
          return EXIT_OK;
        }
    }
  code = apply_plan (ctx, only, &view);
  if (code == EXIT_OK && digest != NULL && !ctx->opt.dry_run)
    {
      if (!bkt_image_stamp_write (stamp, digest, &error))
        return fail (error);
    }
  if (ctx->opt.notify && !ctx->opt.dry_run)
    notify_outcome (view, code);
  return code;
}

/* Whether the plan reverts an item changed on this machine (or on both
 * sides): the state record's verdict in each operation's "sync". */
static gboolean
plan_reverts_changes_here (JsonObject *plan)
{
  JsonNode *node = json_object_get_member (plan, "operations");
  JsonArray *ops = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonNode *op = json_array_get_element (ops, i);
      JsonNode *sync = JSON_NODE_HOLDS_OBJECT (op) ? json_object_get_member (json_node_get_object (op), "sync") : NULL;
      const char *state = sync != NULL && JSON_NODE_HOLDS_OBJECT (sync)
                          ? json_object_get_string_member_with_default (json_node_get_object (sync), "state", NULL)
                          : NULL;

      if (g_strcmp0 (state, "to-capture") == 0 || g_strcmp0 (state, "conflict") == 0)
        return TRUE;
    }
  return FALSE;
}

static int
apply_plan (Ctx *ctx, const char *only, BktReplyPlan **out_view)
{
  g_autoptr(JsonObject) plan = NULL;
  BktReplyPlan *view = NULL;
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) opts = g_variant_ref_sink (session_options (ctx, only));

  plan = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Plan",
                               g_variant_new ("(@a{sv})", opts), &error);
  if (plan == NULL)
    return fail (error);
  if (ctx->opt.scope != NULL)
    keep_scope (plan, ctx->opt.scope);
  view = *out_view = bkt_reply_plan_new (plan);
  if (ctx->opt.dry_run)
    {
      bkt_render_plan (&ctx->render, plan);
      return EXIT_OK;
    }
  if (bkt_reply_plan_n_operations (view) == 0)
    {
      if (ctx->opt.json)
        return finish_execution (ctx, view, results, NULL);
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
      return EXIT_CONFLICT;
    }
  if (view->system_request != NULL && JSON_NODE_HOLDS_VALUE (view->system_request) &&
      bkt_reply_plan_acts_in (view, "system"))
    {
      int code;
      if (!system_part_reachable (ctx, view, &code))
        return code;
    }

  /* The privileged part first, sent as content by this process so polkit
   * asks about (and its agent prompts) the real user.  If it is refused,
   * nothing else happens either. */
  if (view->system_request != NULL && JSON_NODE_HOLDS_VALUE (view->system_request) &&
      bkt_reply_plan_acts_in (view, "system"))
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
      g_variant_builder_add (&b, "{sv}", "manifest",
                             g_variant_new_string (json_node_get_string (view->system_request)));
      reply = bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Manager", "Apply",
                               g_variant_new ("(a{sv})", &b), G_VARIANT_TYPE ("(o)"), &error);
      if (reply == NULL || !follow (ctx, BKT_TARGET_SYSTEM, reply, view, results, &error))
        return finish_execution (ctx, view, results, error);
    }

  /* Any user-scope operation (records included) is the session's work. */
  for (guint i = 0; i < view->ops->len; i++)
    if (g_strcmp0 (g_array_index (view->ops, BktReplyOp, i).scope, "user") == 0)
      {
        g_autoptr(GVariant) reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.bkt.Daemon1.Manager",
                                                     "Apply", g_variant_new ("(@a{sv})", opts),
                                                     G_VARIANT_TYPE ("(o)"), &error);
        if (reply == NULL || !follow (ctx, BKT_TARGET_SESSION, reply, view, results, &error))
          return finish_execution (ctx, view, results, error);
        break;
      }
  return finish_execution (ctx, view, results, NULL);
}

/* capture's options: with --pr, a change's (mode "pr", the repo, the
 * command for the PR body) and the --item selection. */
static GVariant *
capture_options (Ctx *ctx, const char *only, gboolean dry_run)
{
  g_autoptr(GVariant) base = g_variant_ref_sink (ctx->opt.pr ? change_options (ctx, "pr")
                                                             : session_options (ctx, only));
  GVariantDict d;

  g_variant_dict_init (&d, base);
  if (only != NULL)
    {
      g_auto(GStrv) list = bkt_cmd_split_list (only);
      g_variant_dict_insert_value (&d, "only", g_variant_new_strv ((const char * const *) list, -1));
    }
  if (ctx->opt.items != NULL && ctx->opt.items[0] != NULL)
    g_variant_dict_insert_value (&d, "targets", g_variant_new_strv ((const char * const *) ctx->opt.items, -1));
  if (ctx->opt.select != NULL)
    {
      g_auto(GStrv) select = bkt_cmd_split_list (ctx->opt.select);
      g_variant_dict_insert_value (&d, "select", g_variant_new_strv ((const char * const *) select, -1));
    }
  if (ctx->opt.all_untracked)
    g_variant_dict_insert (&d, "all-untracked", "b", TRUE);
  /* A dry run of --pr shows the PR (and a failing preflight) instead of
   * failing. */
  if (dry_run && ctx->opt.pr)
    g_variant_dict_insert (&d, "dry-run", "b", TRUE);
  return g_variant_dict_end (&d);
}

int
run_capture (Ctx *ctx, const char *only)
{
  g_autoptr(JsonObject) plan = NULL;
  g_autoptr(BktReplyPlan) view = NULL;
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) opts = g_variant_ref_sink (capture_options (ctx, only, FALSE));
  g_autoptr(GVariant) plan_opts = g_variant_ref_sink (capture_options (ctx, only, ctx->opt.dry_run));
  g_autoptr(GVariant) reply = NULL;

  plan = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "CapturePlan",
                               g_variant_new ("(@a{sv})", plan_opts), &error);
  if (plan == NULL)
    return fail (error);
  view = bkt_reply_plan_new (plan);
  if (ctx->opt.dry_run || bkt_reply_plan_n_operations (view) == 0)
    {
      if (ctx->opt.json && !ctx->opt.dry_run)
        return finish_execution (ctx, view, results, NULL);
      bkt_render_plan (&ctx->render, plan);
      if (ctx->opt.dry_run && ctx->opt.pr && !ctx->opt.json)
        render_pr_preview (view);
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
    follow (ctx, BKT_TARGET_SESSION, reply, view, results, &error);
  return finish_execution (ctx, view, results, error);
}

/* ---- changes ------------------------------------------------------------------------ */

/* The Admin call a ChangePlan's system_request asks for, as this user. */
static GVariant *
system_request_call (Ctx *ctx, JsonObject *req, GError **error)
{
  const char *method = json_object_get_string_member_with_default (req, "method", "");
  const char *id = json_object_get_string_member_with_default (req, "id", "");
  gboolean force = json_object_get_boolean_member_with_default (req, "force", FALSE);
  GVariant *params;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (g_str_equal (method, "PackagesInstall") || g_str_equal (method, "PackagesUninstall"))
    {
      JsonArray *pkgs = json_object_get_array_member (req, "packages");
      g_autoptr(GPtrArray) names = g_ptr_array_new ();

      for (guint i = 0; pkgs != NULL && i < json_array_get_length (pkgs); i++)
        g_ptr_array_add (names, (gpointer) json_array_get_string_element (pkgs, i));
      g_ptr_array_add (names, NULL);
      /* PackagesUninstall takes "now" only. */
      g_variant_builder_add (&b, "{sv}", "now",
                             g_variant_new_boolean (json_object_get_boolean_member_with_default (req, "now", FALSE)));
      if (g_str_equal (method, "PackagesInstall"))
        g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (force));
      params = g_variant_new ("(^asa{sv})", (char **) names->pdata, &b);
    }
  else if (g_str_has_prefix (method, "Copr"))
    {
      /* CoprEnable/CoprDisable/CoprRemove (sa{sv}): their own options */
      if (!g_str_equal (method, "CoprRemove"))
        g_variant_builder_add (&b, "{sv}", "gpg_check",
                               g_variant_new_boolean (json_object_get_boolean_member_with_default (req, "gpg_check",
                                                                                                  TRUE)));
      params = g_variant_new ("(sa{sv})", json_object_get_string_member_with_default (req, "project", ""), &b);
    }
  else
    {
      g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (force));
      if (g_str_equal (method, "FlatpakInstall"))
        params = g_variant_new ("(ssa{sv})", json_object_get_string_member_with_default (req, "remote", ""), id, &b);
      else
        params = g_variant_new ("(sa{sv})", id, &b);
    }
  return bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Admin", method, params,
                          G_VARIANT_TYPE ("(o)"), error);
}

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
  g_autoptr(BktReplyPlan) view = NULL;
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
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
  view = bkt_reply_plan_new (plan);
  if (ctx->opt.dry_run)
    {
      bkt_render_plan (&ctx->render, plan);
      if (!ctx->opt.json)
        render_pr_preview (view);
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
    return finish_execution (ctx, view, results, error);

  /* Act first (system part through the system instance, as this user),
   * record after: the session only records what succeeded. */
  if (view->system_request != NULL && JSON_NODE_HOLDS_OBJECT (view->system_request))
    {
      g_autoptr(GVariant) sreply = system_request_call (ctx, json_node_get_object (view->system_request), &error);
      if (sreply == NULL || !follow (ctx, BKT_TARGET_SYSTEM, sreply, view, results, &error))
        return finish_execution (ctx, view, results, error);
    }

  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.bkt.Daemon1.Manager", "Change",
                           g_variant_new ("(ss@a{sv}@a{sv})", subsystem, action, args, opts),
                           G_VARIANT_TYPE ("(o)"), &error);
  if (reply != NULL)
    follow (ctx, BKT_TARGET_SESSION, reply, view, results, &error);
  return finish_execution (ctx, view, results, error);
}

/* ---- proposals (bkt local commit, bkt pr retry) -------------------------------------- */

/* --dry-run of local commit / pr retry: the journal entries in @state
 * that would be proposed (--select narrows local commit). */
static int
proposal_preview (Ctx *ctx, const char *state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) journal = NULL;
  g_autoptr(JsonArray) chosen = json_array_new ();
  g_auto(GStrv) select = bkt_cmd_split_list (ctx->opt.select);
  JsonArray *entries;

  journal = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "LocalList",
                                  g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  if (journal == NULL)
    return fail (error);
  entries = json_object_get_array_member (journal, "entries");
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member_with_default (e, "id", 0));
      g_autofree char *hash_id = g_strconcat ("#", id, NULL);

      if (g_strcmp0 (bkt_json_object_get_string (e, "state"), state) != 0)
        continue;
      if (select != NULL && !g_strv_contains ((const char * const *) select, id)
          && !g_strv_contains ((const char * const *) select, hash_id))
        continue;
      json_array_add_object_element (chosen, json_object_ref (e));
    }
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      json_object_set_boolean_member (out, "dry_run", TRUE);
      json_object_set_array_member (out, "entries", json_array_ref (chosen));
      bkt_render_print_object (out);
      return EXIT_OK;
    }
  if (json_array_get_length (chosen) == 0)
    g_print ("Nothing to propose: no %s changes in the journal.\n", state);
  else
    g_print ("Would %s (--dry-run: nothing pushed or opened):\n",
             g_str_equal (state, "failed") ? "retry these pull requests"
                                          : "propose these local changes as one pull request");
  for (guint i = 0; i < json_array_get_length (chosen); i++)
    {
      JsonObject *e = json_array_get_object_element (chosen, i);
      g_print ("  #%" G_GINT64_FORMAT " %s %s %s\n", json_object_get_int_member_with_default (e, "id", 0),
               bkt_json_object_get_string (e, "action"), bkt_json_object_get_string (e, "subsystem"),
               bkt_json_object_get_string (e, "name"));
    }
  return EXIT_OK;
}

int
run_proposal (Ctx *ctx, const char *method, GVariant *params_in)
{
  g_autoptr(GVariant) params = g_variant_ref_sink (params_in);
  g_autoptr(JsonArray) results = json_array_new ();
  g_autoptr(JsonObject) plan = NULL;
  g_autoptr(BktReplyPlan) view = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *path;

  /* LocalCommit and PrRetry create the transaction that pushes: a dry
   * run only reads the journal and says what they would propose. */
  if (ctx->opt.dry_run)
    return proposal_preview (ctx, g_str_equal (method, "PrRetry") ? "failed" : "local");
  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.bkt.Daemon1.Manager", method, params,
                           G_VARIANT_TYPE ("(o)"), &error);
  if (reply == NULL)
    return fail (error);
  g_variant_get (reply, "(&o)", &path);
  plan = bkt_client_transaction_plan (ctx->client, BKT_TARGET_SESSION, path, NULL);
  if (plan == NULL)
    {
      plan = json_object_new ();
      json_object_set_array_member (plan, "operations", json_array_new ());
    }
  json_object_set_string_member (plan, "mode", "pr");
  view = bkt_reply_plan_new (plan);
  if (!ctx->opt.json)
    {
      bkt_render_plan (&ctx->render, plan);
      g_print ("\n");
    }
  follow (ctx, BKT_TARGET_SESSION, reply, view, results, &error);
  return finish_execution (ctx, view, results, error);
}

/* ---- rows shared by the subsystem groups ---------------------------------------------- */

int
bkt_cmd_run_sync (Ctx *ctx, int argc, char **argv)
{
  /* SUBSYSTEM sync is apply --only SUBSYSTEM: the same choice for items
   * changed on this machine (a rollback that dropped layered packages, an
   * app removed by hand), or it could only ever stop there. */
  const GOptionEntry entries[] = {
    { "theirs", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.theirs,
      "The manifests win: revert what was changed on this machine", NULL },
    { "ours", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.ours,
      "This machine wins: apply the rest, keep what was changed here", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Same as --theirs", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (ctx->opt.theirs && ctx->opt.ours)
    {
      g_printerr ("bkt: --theirs and --ours exclude each other\n");
      return EXIT_USAGE;
    }
  ctx->opt.resolve = ctx->opt.theirs || ctx->opt.force ? "theirs" : ctx->opt.ours ? "ours" : NULL;
  return run_apply (ctx, ctx->command->data);
}

int
bkt_cmd_run_capture (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "select", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.select,
      "Record only these items (comma-separated, as bkt drift status names them)", "IDS" },
    { "all-untracked", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.all_untracked,
      "Record every untracked item too (items no manifest declares)", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  return run_capture (ctx, ctx->command->data);
}

JsonObject *
bkt_cmd_subsystem_status (Ctx *ctx, const char *subsystem, JsonObject **out_all, GError **error)
{
  JsonObject *status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                             g_variant_new ("(@a{sv})", session_options (ctx, subsystem)), error);
  JsonObject *subsystems;

  if (status == NULL)
    return NULL;
  *out_all = status;
  subsystems = json_object_get_object_member (status, "subsystems");
  if (subsystems == NULL || !json_object_has_member (subsystems, subsystem))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "the daemon reports no %s subsystem", subsystem);
      return NULL;
    }
  return json_object_get_object_member (subsystems, subsystem);
}
