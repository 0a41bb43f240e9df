/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-json.h"
#include "bkt-reply.h"

/* Every member the client reads from a plan or a result is read here,
 * once; the rest of the client works with the typed view. */

static JsonObject *
member_object (JsonObject *o, const char *member)
{
  JsonNode *n;

  if (o == NULL || (n = json_object_get_member (o, member)) == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return NULL;
  return json_node_get_object (n);
}

static JsonArray *
member_array (JsonObject *o, const char *member)
{
  JsonNode *n;

  if (o == NULL || (n = json_object_get_member (o, member)) == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return NULL;
  return json_node_get_array (n);
}

static void
read_pr (JsonObject *o, BktReplyPr *pr)
{
  JsonObject *repo = member_object (o, "repo");
  pr->object = o;
  pr->state = bkt_json_object_get_string (o, "state");
  pr->url = bkt_json_object_get_string (o, "url");
  pr->branch = bkt_json_object_get_string (o, "branch");
  pr->base = bkt_json_object_get_string (o, "base");
  pr->title = bkt_json_object_get_string (o, "title");
  pr->error = bkt_json_object_get_string (o, "error");
  pr->diff = bkt_json_object_get_string (o, "diff");
  pr->queued_id = json_object_get_int_member_with_default (o, "queued_id", 0);
  pr->repo_path = bkt_json_object_get_string (repo, "path");
  pr->repo_owner = bkt_json_object_get_string (repo, "owner");
  pr->repo_name = bkt_json_object_get_string (repo, "name");
  pr->changelog = member_array (o, "changelog");
}

BktReplyPlan *
bkt_reply_plan_new (JsonObject *plan)
{
  BktReplyPlan *view = g_new0 (BktReplyPlan, 1);
  JsonArray *ops = member_array (plan, "operations");
  JsonObject *pr = member_object (plan, "pr");
  JsonObject *preflight = member_object (plan, "preflight");

  view->plan = json_object_ref (plan);
  view->mode = bkt_json_object_get_string (plan, "mode");
  view->ops = g_array_new (FALSE, TRUE, sizeof (BktReplyOp));
  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *o = json_array_get_object_element (ops, i);
      BktReplyOp op = { 0 };

      if (o == NULL)
        continue;
      op.id = bkt_json_object_get_string (o, "id");
      op.subsystem = bkt_json_object_get_string (o, "subsystem");
      op.scope = bkt_json_object_get_string (o, "scope");
      op.summary = bkt_json_object_get_string (o, "summary");
      op.manifest_edit = g_strcmp0 (bkt_json_object_get_string (o, "effect"), "manifest") == 0;
      op.proposal = g_strcmp0 (op.subsystem, "pr") == 0;
      g_array_append_val (view->ops, op);
    }
  view->system_request = json_object_get_member (plan, "system_request");
  if (view->system_request != NULL && JSON_NODE_HOLDS_NULL (view->system_request))
    view->system_request = NULL;
  view->has_pr_preview = pr != NULL;
  if (pr != NULL)
    read_pr (pr, &view->pr_preview);
  view->preflight = g_array_new (FALSE, TRUE, sizeof (BktReplyCheck));
  if (preflight != NULL)
    {
      JsonArray *checks = member_array (preflight, "checks");

      view->preflight_failed = !json_object_get_boolean_member_with_default (preflight, "ok", TRUE);
      for (guint i = 0; checks != NULL && i < json_array_get_length (checks); i++)
        {
          JsonObject *c = json_array_get_object_element (checks, i);
          BktReplyCheck check = {
            bkt_json_object_get_string (c, "name"), bkt_json_object_get_string (c, "detail"),
            bkt_json_object_get_string (c, "fix"), json_object_get_boolean_member_with_default (c, "ok", FALSE),
          };
          g_array_append_val (view->preflight, check);
        }
    }
  return view;
}

void
bkt_reply_plan_free (BktReplyPlan *view)
{
  if (view == NULL)
    return;
  json_object_unref (view->plan);
  g_clear_pointer (&view->results, json_array_unref);
  g_array_unref (view->ops);
  g_array_unref (view->preflight);
  g_free (view);
}

guint
bkt_reply_plan_n_operations (BktReplyPlan *view)
{
  return view->ops->len;
}

const BktReplyOp *
bkt_reply_plan_find (BktReplyPlan *view, const char *id)
{
  for (guint i = 0; view != NULL && i < view->ops->len; i++)
    if (g_strcmp0 (g_array_index (view->ops, BktReplyOp, i).id, id) == 0)
      return &g_array_index (view->ops, BktReplyOp, i);
  return NULL;
}

gboolean
bkt_reply_plan_acts_in (BktReplyPlan *view, const char *scope)
{
  for (guint i = 0; i < view->ops->len; i++)
    {
      BktReplyOp *op = &g_array_index (view->ops, BktReplyOp, i);
      if (g_strcmp0 (op->scope, scope) == 0 && !op->manifest_edit)
        return TRUE;
    }
  return FALSE;
}

void
bkt_reply_plan_set_results (BktReplyPlan *view, JsonArray *results)
{
  g_clear_pointer (&view->results, json_array_unref);
  view->results = json_array_ref (results);
  view->n_ok = view->n_failed = 0;
  for (guint j = 0; j < json_array_get_length (results); j++)
    if (json_object_get_boolean_member_with_default (json_array_get_object_element (results, j), "success", FALSE))
      view->n_ok++;
    else
      view->n_failed++;
  for (guint i = 0; i < view->ops->len; i++)
    {
      BktReplyOp *op = &g_array_index (view->ops, BktReplyOp, i);

      op->ran = op->success = FALSE;
      for (guint j = 0; j < json_array_get_length (results); j++)
        {
          JsonObject *r = json_array_get_object_element (results, j);
          if (g_strcmp0 (bkt_json_object_get_string (r, "id"), op->id) == 0)
            {
              op->ran = TRUE;
              op->success = json_object_get_boolean_member_with_default (r, "success", FALSE);
              break;
            }
        }
    }
}

BktOutcome
bkt_reply_plan_outcome (BktReplyPlan *view, gboolean manifest_edits)
{
  guint planned = 0, ok = 0, failed = 0;

  for (guint i = 0; i < view->ops->len; i++)
    {
      BktReplyOp *op = &g_array_index (view->ops, BktReplyOp, i);

      if (op->proposal || op->manifest_edit != manifest_edits)
        continue;
      planned++;
      if (op->ran && op->success)
        ok++;
      else if (op->ran)
        failed++;
    }
  if (planned == 0)
    return BKT_OUTCOME_NONE;
  if (failed > 0)
    return BKT_OUTCOME_FAILED;
  return ok == planned ? BKT_OUTCOME_DONE : BKT_OUTCOME_NOT_DONE;
}

const char *
bkt_outcome_to_string (BktOutcome outcome)
{
  switch (outcome)
    {
    case BKT_OUTCOME_NONE: return "none";
    case BKT_OUTCOME_DONE: return "done";
    case BKT_OUTCOME_NOT_DONE: return "not done";
    case BKT_OUTCOME_FAILED: return "failed";
    }
  g_return_val_if_reached ("none");
}

BktReplyResult *
bkt_reply_result_new (JsonObject *result)
{
  BktReplyResult *view = g_new0 (BktReplyResult, 1);
  JsonObject *pr = member_object (result, "pr");

  view->result = result != NULL ? json_object_ref (result) : NULL;
  view->has_pr = pr != NULL;
  if (pr != NULL)
    read_pr (pr, &view->pr);
  view->journal = member_object (result, "journal");
  view->has_journal = view->journal != NULL;
  if (view->journal != NULL)
    view->journal_id = json_object_get_int_member_with_default (view->journal, "id", 0);
  view->prs = result != NULL ? json_object_get_member (result, "prs") : NULL;
  return view;
}

void
bkt_reply_result_free (BktReplyResult *view)
{
  if (view == NULL)
    return;
  g_clear_pointer (&view->result, json_object_unref);
  g_free (view);
}
