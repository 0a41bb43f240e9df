/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-operation.h"
#include "bkt-plan.h"
#include "bkt-reply.h"
#include "bkt-test.h"

/* The client's typed view of the daemon's replies (client/bkt-reply.c),
 * fed with plans the core itself serialises (bkt_plan_to_json: the same
 * JSON bktd sends), so a renamed member fails here. */

static BktOperation *
op (const char *subsystem, const char *target, BktScope scope, BktEffect effect, const char *summary)
{
  return bkt_operation_new (subsystem, effect == BKT_EFFECT_MANIFEST ? "record" : "install", target, scope,
                            effect, summary, NULL);
}

/* A change's plan: a system install, a user setting, the record of both
 * in the overlay, and the pull request. */
static JsonObject *
change_plan (void)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *o;

  g_ptr_array_add (ops, op ("flatpak", "flatpak:org.test.Hello", BKT_SCOPE_SYSTEM, BKT_EFFECT_LIVE,
                            "Install flatpak:org.test.Hello (bkt-test, system)"));
  g_ptr_array_add (ops, op ("gsettings", "gsetting:org.test.a.b", BKT_SCOPE_USER, BKT_EFFECT_LIVE, "Set a.b"));
  g_ptr_array_add (ops, op ("flatpak", "flatpak:org.test.Hello", BKT_SCOPE_USER, BKT_EFFECT_MANIFEST,
                            "Record flatpak:org.test.Hello"));
  g_ptr_array_add (ops, op ("pr", "pr:distro", BKT_SCOPE_USER, BKT_EFFECT_LIVE, "Open a pull request"));
  plan = bkt_plan_new ("change", ops, NULL);
  node = bkt_plan_to_json (plan);
  o = json_object_ref (json_node_get_object (node));
  json_object_set_string_member (o, "mode", "pr");
  return o;
}

static const char *
op_id (BktReplyPlan *view, guint i)
{
  return g_array_index (view->ops, BktReplyOp, i).id;
}

static JsonArray *
results (BktReplyPlan *view, const gboolean *success, guint n)
{
  JsonArray *a = json_array_new ();

  for (guint i = 0; i < n; i++)
    {
      JsonObject *r = json_object_new ();
      json_object_set_string_member (r, "id", op_id (view, i));
      json_object_set_boolean_member (r, "success", success[i]);
      json_array_add_object_element (a, r);
    }
  return a;
}

static void
test_plan_view (void)
{
  g_autoptr(JsonObject) plan = change_plan ();
  g_autoptr(BktReplyPlan) view = bkt_reply_plan_new (plan);
  const BktReplyOp *o;

  g_assert_cmpuint (bkt_reply_plan_n_operations (view), ==, 4);
  g_assert_cmpstr (view->mode, ==, "pr");
  o = &g_array_index (view->ops, BktReplyOp, 0);
  g_assert_cmpstr (o->subsystem, ==, "flatpak");
  g_assert_cmpstr (o->scope, ==, "system");
  g_assert_cmpstr (o->summary, ==, "Install flatpak:org.test.Hello (bkt-test, system)");
  g_assert_false (o->manifest_edit);
  g_assert_true (g_array_index (view->ops, BktReplyOp, 2).manifest_edit);
  g_assert_true (g_array_index (view->ops, BktReplyOp, 3).proposal);
  g_assert_true (bkt_reply_plan_find (view, o->id) == o);
  g_assert_null (bkt_reply_plan_find (view, "flatpak:install:nothing@user"));
  g_assert_true (bkt_reply_plan_acts_in (view, "system"));
  g_assert_true (bkt_reply_plan_acts_in (view, "user"));
  g_assert_null (view->system_request);
  g_assert_false (view->has_pr_preview);
  g_assert_false (view->preflight_failed);
  /* nothing ran yet */
  g_assert_cmpint (bkt_reply_plan_outcome (view, FALSE), ==, BKT_OUTCOME_NOT_DONE);
  g_assert_cmpint (bkt_reply_plan_outcome (view, TRUE), ==, BKT_OUTCOME_NOT_DONE);
}

/* A record alone does not act in the user scope; an empty plan has
 * nothing of either kind. */
static void
test_records_do_not_act (void)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(BktReplyPlan) view = NULL;
  g_autoptr(BktReplyPlan) empty = NULL;
  g_autoptr(JsonObject) nothing = json_object_new ();

  g_ptr_array_add (ops, op ("shim", "shim:htop", BKT_SCOPE_USER, BKT_EFFECT_MANIFEST, "Record shim:htop"));
  plan = bkt_plan_new ("capture", ops, NULL);
  node = bkt_plan_to_json (plan);
  view = bkt_reply_plan_new (json_node_get_object (node));
  g_assert_false (bkt_reply_plan_acts_in (view, "user"));
  g_assert_cmpint (bkt_reply_plan_outcome (view, FALSE), ==, BKT_OUTCOME_NONE);

  empty = bkt_reply_plan_new (nothing);
  g_assert_cmpuint (bkt_reply_plan_n_operations (empty), ==, 0);
  g_assert_cmpint (bkt_reply_plan_outcome (empty, TRUE), ==, BKT_OUTCOME_NONE);
  g_assert_null (empty->mode);
}

static void
test_outcomes (void)
{
  g_autoptr(JsonObject) plan = change_plan ();
  g_autoptr(BktReplyPlan) view = bkt_reply_plan_new (plan);
  const gboolean all_ok[] = { TRUE, TRUE, TRUE, TRUE };
  const gboolean live_failed[] = { FALSE, TRUE, TRUE, TRUE };
  g_autoptr(JsonArray) ok = results (view, all_ok, 4);
  g_autoptr(JsonArray) failed = results (view, live_failed, 4);
  g_autoptr(JsonArray) partial = results (view, all_ok, 1);   /* only the system install ran */

  bkt_reply_plan_set_results (view, ok);
  g_assert_cmpuint (view->n_ok, ==, 4);
  g_assert_cmpuint (view->n_failed, ==, 0);
  g_assert_cmpint (bkt_reply_plan_outcome (view, FALSE), ==, BKT_OUTCOME_DONE);
  g_assert_cmpint (bkt_reply_plan_outcome (view, TRUE), ==, BKT_OUTCOME_DONE);
  g_assert_cmpstr (bkt_outcome_to_string (bkt_reply_plan_outcome (view, TRUE)), ==, "done");

  bkt_reply_plan_set_results (view, failed);
  g_assert_cmpuint (view->n_ok, ==, 3);
  g_assert_cmpuint (view->n_failed, ==, 1);
  g_assert_cmpint (bkt_reply_plan_outcome (view, FALSE), ==, BKT_OUTCOME_FAILED);
  g_assert_cmpint (bkt_reply_plan_outcome (view, TRUE), ==, BKT_OUTCOME_DONE);

  /* the proposal does not count as live work; what did not run is "not done" */
  bkt_reply_plan_set_results (view, partial);
  g_assert_cmpint (bkt_reply_plan_outcome (view, FALSE), ==, BKT_OUTCOME_NOT_DONE);
  g_assert_cmpint (bkt_reply_plan_outcome (view, TRUE), ==, BKT_OUTCOME_NOT_DONE);
  g_assert_cmpstr (bkt_outcome_to_string (BKT_OUTCOME_NOT_DONE), ==, "not done");
}

static JsonObject *
parse (const char *text)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (p, text, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static void
test_pr_preview_and_preflight (void)
{
  g_autoptr(JsonObject) plan = parse (
    "{\"operations\": [], \"mode\": \"pr\", \"system_request\": {\"method\": \"FlatpakInstall\"},"
    " \"pr\": {\"title\": \"feat: add flatpak org.test.Hello\", \"branch\": \"bkt/x\", \"base\": \"main\","
    "        \"diff\": \"+x\\n\", \"changelog\": [\"added: Hello\"],"
    "        \"repo\": {\"owner\": \"acme\", \"name\": \"distro\", \"path\": \"/r\"}},"
    " \"preflight\": {\"ok\": false, \"checks\": [{\"name\": \"token\", \"ok\": false, \"detail\": \"none\","
    "                 \"fix\": \"gh auth login\"}, {\"name\": \"remote\", \"ok\": true, \"detail\": \"ok\"}]}}");
  g_autoptr(BktReplyPlan) view = bkt_reply_plan_new (plan);
  const BktReplyCheck *c;

  g_assert_nonnull (view->system_request);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (view->system_request));
  g_assert_true (view->has_pr_preview);
  g_assert_cmpstr (view->pr_preview.title, ==, "feat: add flatpak org.test.Hello");
  g_assert_cmpstr (view->pr_preview.branch, ==, "bkt/x");
  g_assert_cmpstr (view->pr_preview.base, ==, "main");
  g_assert_cmpstr (view->pr_preview.diff, ==, "+x\n");
  g_assert_cmpstr (view->pr_preview.repo_owner, ==, "acme");
  g_assert_cmpstr (view->pr_preview.repo_path, ==, "/r");
  g_assert_cmpuint (json_array_get_length (view->pr_preview.changelog), ==, 1);
  g_assert_null (view->pr_preview.error);
  g_assert_true (view->preflight_failed);
  g_assert_cmpuint (view->preflight->len, ==, 2);
  c = &g_array_index (view->preflight, BktReplyCheck, 0);
  g_assert_cmpstr (c->name, ==, "token");
  g_assert_cmpstr (c->fix, ==, "gh auth login");
  g_assert_false (c->ok);
  g_assert_true (g_array_index (view->preflight, BktReplyCheck, 1).ok);
  g_assert_null (g_array_index (view->preflight, BktReplyCheck, 1).fix);
}

static void
test_result_view (void)
{
  g_autoptr(JsonObject) result = parse (
    "{\"operations\": [], \"pr\": {\"state\": \"queued\", \"error\": \"HTTP 502\", \"queued_id\": 7,"
    "                             \"diff\": \"\"}, \"journal\": {\"id\": 3}, \"prs\": [1, 2]}");
  g_autoptr(BktReplyResult) res = bkt_reply_result_new (result);
  g_autoptr(BktReplyResult) none = bkt_reply_result_new (NULL);
  /* a member of the wrong type is absent, not a crash */
  g_autoptr(JsonObject) odd = parse ("{\"pr\": \"opened\", \"journal\": [1]}");
  g_autoptr(BktReplyResult) odd_res = bkt_reply_result_new (odd);

  g_assert_true (res->has_pr);
  g_assert_cmpstr (res->pr.state, ==, "queued");
  g_assert_cmpstr (res->pr.error, ==, "HTTP 502");
  g_assert_cmpint (res->pr.queued_id, ==, 7);
  g_assert_cmpstr (res->pr.diff, ==, "");
  g_assert_true (res->pr.object != NULL);
  g_assert_true (res->has_journal);
  g_assert_cmpint (res->journal_id, ==, 3);
  g_assert_nonnull (res->prs);

  g_assert_false (none->has_pr);
  g_assert_false (none->has_journal);
  g_assert_null (none->prs);
  g_assert_false (odd_res->has_pr);
  g_assert_false (odd_res->has_journal);
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/reply/plan-view", test_plan_view);
  g_test_add_func ("/reply/records-do-not-act", test_records_do_not_act);
  g_test_add_func ("/reply/outcomes", test_outcomes);
  g_test_add_func ("/reply/pr-preview-and-preflight", test_pr_preview_and_preflight);
  g_test_add_func ("/reply/result-view", test_result_view);
  return g_test_run ();
}
