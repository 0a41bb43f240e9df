/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-changelog.h"
#include "bkt-json.h"
#include "bkt-error.h"
#include "bkt-forge.h"
#include "bkt-git.h"
#include "bkt-manifest.h"
#include "bkt-pr.h"
#include "bkt-pr-capture.h"
#include "bkt-pr-files.h"
#include "bkt-pr-item.h"
#include "bkt-pr-maint.h"

#define SUBSYSTEM "pr"
/* A PR title must stay readable in a list of PRs. */
#define MAX_TITLE_ITEMS 3

static const char * const mode_names[] = { "pr", "local", "pr-only", "image" };

gboolean
bkt_change_mode_from_string (const char *s, BktChangeMode *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (mode_names); i++)
    if (g_strcmp0 (s, mode_names[i]) == 0)
      {
        *out = (BktChangeMode) i;
        return TRUE;
      }
  return FALSE;
}

const char *
bkt_change_mode_to_string (BktChangeMode mode)
{
  return mode_names[mode];
}

gboolean
bkt_change_mode_proposes (BktChangeMode mode)
{
  return mode != BKT_CHANGE_MODE_LOCAL;
}

/* ---- small JSON helpers ------------------------------------------------------ */

static JsonObject *
copy_object (JsonObject *o)
{
  return bkt_pr_json_object_copy (o);
}

static JsonArray *
copy_array (JsonArray *a)
{
  return bkt_pr_json_array_copy (a);
}

static void
set_opt_string (JsonObject *o, const char *member, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, member, value);
  else
    json_object_set_null_member (o, member);
}

/* ---- describing a change ------------------------------------------------------- */

/* "add flatpak org.gnome.Boxes", "set gsetting org.gnome.desktop.interface clock-format" */
static char *
describe_item (JsonObject *item)
{
  const char *sub = bkt_json_object_get_string (item, "subsystem");
  const char *noun = bkt_pr_item_noun (sub);

  /* Repo-side changes word themselves ("update lazygit to v0.58.0"). */
  if (bkt_json_object_get_string (item, "describe") != NULL)
    return g_strdup (bkt_json_object_get_string (item, "describe"));
  return g_strdup_printf ("%s %s %s", bkt_json_object_get_string (item, "action"), noun ? noun : "?", bkt_json_object_get_string (item, "name"));
}

static char *
make_title (JsonArray *items)
{
  guint n = json_array_get_length (items);
  const char *scope = n == 1 ? bkt_json_object_get_string (json_array_get_object_element (items, 0), "scope") : NULL;
  g_autoptr(GString) t = g_string_new (NULL);

  g_string_printf (t, "feat(%s): ", scope != NULL ? scope : "manifests");

  if (n == 1)
    {
      g_autofree char *d = describe_item (json_array_get_object_element (items, 0));
      g_string_append (t, d);
      return g_string_free (g_steal_pointer (&t), FALSE);
    }
  g_string_append_printf (t, "%u changes (", n);
  for (guint i = 0; i < MIN (n, MAX_TITLE_ITEMS); i++)
    {
      g_autofree char *d = describe_item (json_array_get_object_element (items, i));
      g_string_append_printf (t, "%s%s", i > 0 ? ", " : "", d);
    }
  g_string_append (t, n > MAX_TITLE_ITEMS ? ", …)" : ")");
  return g_string_free (g_steal_pointer (&t), FALSE);
}

static char *
make_body (JsonArray *items, JsonArray *files)
{
  g_autoptr(GString) b = g_string_new ("Proposed by bkt: this change was made");
  guint n = json_array_get_length (items);

  g_string_append (b, n == 1 ? " with the command below.\n\n" : " with the commands below.\n\n");
  for (guint i = 0; i < n; i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      g_autofree char *d = describe_item (item);
      const char *summary = bkt_json_object_get_string (item, "summary");
      const char *command = bkt_json_object_get_string (item, "command");

      g_string_append_printf (b, "- %s", d);
      if (summary != NULL)
        g_string_append_printf (b, ": %s", summary);
      if (command != NULL)
        g_string_append_printf (b, "\n  Command: `%s`", command);
      if (bkt_json_object_get_string (item, "mode") != NULL)
        g_string_append_printf (b, " (mode: %s)", bkt_json_object_get_string (item, "mode"));
      g_string_append_c (b, '\n');
    }
  g_string_append (b, "\nFiles:");
  for (guint i = 0; i < json_array_get_length (files); i++)
    g_string_append_printf (b, " `%s`", json_array_get_string_element (files, i));
  g_string_append_c (b, '\n');
  return g_string_free (g_steal_pointer (&b), FALSE);
}

static JsonObject *
edit_from_op (BktOperation *op)
{
  JsonObject *d = bkt_operation_get_details (op);
  JsonObject *e = json_object_new ();

  json_object_set_string_member (e, "manifest", bkt_json_object_get_string (d, "manifest"));
  json_object_set_string_member (e, "action", bkt_operation_get_action (op));
  if (json_object_has_member (d, "entry"))
    json_object_set_object_member (e, "entry", copy_object (json_object_get_object_member (d, "entry")));
  set_opt_string (e, "key", bkt_json_object_get_string (d, "key"));
  if (bkt_json_object_get_string (d, "member") != NULL)
    json_object_set_string_member (e, "member", bkt_json_object_get_string (d, "member"));
  /* The version an upstream update moves from (bkt-pr-maint.c). */
  if (bkt_json_object_get_string (d, "from") != NULL)
    json_object_set_string_member (e, "from", bkt_json_object_get_string (d, "from"));
  return e;
}

/* ---- building pr operations ------------------------------------------------------ */

/* @items: what is proposed (for title, body and the queue); @edits: the
 * manifest edits; @queue_ids: journal entries this proposal settles;
 * @branch: already pushed (retry of a failed PR request) or NULL. */
static void
add_proposal_ops (GPtrArray *ops, const BktPrTarget *target, JsonArray *items, JsonArray *edits,
                  JsonArray *queue_ids, const char *title_in, const char *body_in,
                  const char *pushed_branch, const char *head_owner)
{
  g_autoptr(JsonObject) details = json_object_new ();
  g_autoptr(JsonArray) files = bkt_pr_edited_files (edits);
  g_autofree char *title = title_in ? g_strdup (title_in) : make_title (items);
  g_autofree char *body = body_in ? g_strdup (body_in) : make_body (items, files);
  g_autofree char *branch = NULL;
  g_autofree char *files_text = NULL;
  const char *base = target->repo ? bkt_repo_get_default_branch (target->repo) : "main";
  const char *where = target->repo && bkt_repo_get_owner (target->repo)
                      ? bkt_repo_get_owner (target->repo) : NULL;

  if (pushed_branch != NULL)
    branch = g_strdup (pushed_branch);
  else if (bkt_pr_capture_is_capture (items))
    {
      g_autofree char *n = g_strdup_printf ("%u-changes", json_array_get_length (items));
      branch = bkt_git_branch_name ("capture", "here", n, g_get_real_time () / G_USEC_PER_SEC);
    }
  else if (json_array_get_length (items) == 1)
    {
      JsonObject *item = json_array_get_object_element (items, 0);
      branch = bkt_git_branch_name (bkt_pr_item_noun (bkt_json_object_get_string (item, "subsystem")),
                                    bkt_json_object_get_string (item, "action"), bkt_json_object_get_string (item, "name"),
                                    g_get_real_time () / G_USEC_PER_SEC);
    }
  else
    {
      g_autofree char *n = g_strdup_printf ("%u-changes", json_array_get_length (items));
      branch = bkt_git_branch_name ("local", "commit", n, g_get_real_time () / G_USEC_PER_SEC);
    }

  if (target->repo != NULL)
    json_object_set_object_member (details, "repo", bkt_repo_to_json (target->repo));
  else
    json_object_set_null_member (details, "repo");
  set_opt_string (details, "repo_dir", target->repo_dir);
  set_opt_string (details, "cwd", target->cwd);
  json_object_set_string_member (details, "branch", branch);
  json_object_set_string_member (details, "base", base);
  json_object_set_string_member (details, "title", title);
  json_object_set_string_member (details, "body", body);
  json_object_set_array_member (details, "items", copy_array (items));
  json_object_set_array_member (details, "edits", copy_array (edits));
  json_object_set_array_member (details, "files", copy_array (files));
  json_object_set_array_member (details, "queue_ids", queue_ids ? copy_array (queue_ids) : json_array_new ());
  /* A branch already pushed to a fork: the PR's head is "OWNER:BRANCH". */
  set_opt_string (details, "head_owner", head_owner);

  {
    g_auto(GStrv) names = g_new0 (char *, json_array_get_length (files) + 1);
    for (guint i = 0; i < json_array_get_length (files); i++)
      names[i] = g_strdup (json_array_get_string_element (files, i));
    files_text = g_strjoinv (", ", names);
  }

  if (pushed_branch == NULL)
    {
      g_autofree char *summary = g_strdup_printf ("Commit %s to branch %s (from %s) and push it",
                                                  files_text, branch, base);
      g_autofree char *t = g_strconcat ("pr:", branch, NULL);
      g_ptr_array_add (ops, bkt_operation_new (SUBSYSTEM, "commit-push", t, BKT_SCOPE_USER,
                                               BKT_EFFECT_MANIFEST, summary, details));
    }
  {
    g_autofree char *summary = g_strdup_printf ("Open pull request “%s” against %s%s%s", title,
                                                where ? where : "the distribution repo",
                                                where ? "/" : "",
                                                where ? bkt_repo_get_name (target->repo) : "");
    g_autofree char *t = g_strconcat ("pr:", branch, NULL);
    g_ptr_array_add (ops, bkt_operation_new (SUBSYSTEM, "open-pr", t, BKT_SCOPE_USER,
                                             BKT_EFFECT_MANIFEST, summary, details));
  }
}

BktPlan *
bkt_pr_plan_change (BktPlan *change, BktChangeMode mode, const BktPrTarget *target,
                    const char *subsystem, const char *action, GVariant *arguments, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonArray) edits = json_array_new ();
  g_autoptr(JsonArray) items = json_array_new ();
  g_autoptr(JsonObject) item = json_object_new ();
  g_autofree char *name = bkt_pr_item_name (subsystem, arguments);
  const char *live_summary = NULL, *edit_summary = NULL;
  JsonObject *words = NULL;

  if (name == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s %s: the arguments name no item to propose", action, subsystem), NULL;

  for (guint i = 0; i < bkt_plan_get_n_operations (change); i++)
    {
      BktOperation *op = bkt_plan_get_operation (change, i);
      gboolean is_edit = bkt_operation_get_effect (op) == BKT_EFFECT_MANIFEST;

      if (is_edit)
        {
          JsonObject *d = bkt_operation_get_details (op);

          json_array_add_object_element (edits, edit_from_op (op));
          if (edit_summary == NULL)
            edit_summary = bkt_operation_get_summary (op);
          /* A repo-side change's own words for the title and the draft
           * entry (bkt-pr-maint.c). */
          if (words == NULL && json_object_has_member (d, "pr"))
            words = json_object_get_object_member (d, "pr");
        }
      else
        {
          JsonObject *d = bkt_operation_get_details (op);

          if (live_summary == NULL)
            live_summary = bkt_operation_get_summary (op);
          /* A live operation that records a file rather than a manifest
           * entry (skel) names the repo edit it proposes itself. */
          if (json_object_has_member (d, "pr_edit") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (d, "pr_edit")))
            json_array_add_object_element (edits, copy_object (json_object_get_object_member (d, "pr_edit")));
        }

      /* pr-only changes nothing here; image has no live system to act on
       * but records what the image will have. */
      if (mode == BKT_CHANGE_MODE_PR_ONLY || (mode == BKT_CHANGE_MODE_IMAGE && !is_edit))
        continue;
      g_ptr_array_add (ops, g_object_ref (op));
    }

  json_object_set_string_member (item, "subsystem", subsystem);
  json_object_set_string_member (item, "action", action);
  json_object_set_string_member (item, "name", name);
  set_opt_string (item, "summary", live_summary ? live_summary : edit_summary);
  {
    g_autofree char *command = bkt_pr_item_public_command (target->command);
    set_opt_string (item, "command", command);
  }
  json_object_set_string_member (item, "mode", bkt_change_mode_to_string (mode));
  if (words != NULL)
    {
      g_autoptr(GList) members = json_object_get_members (words);
      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_string_member (item, l->data, bkt_json_object_get_string (words, l->data));
    }
  json_array_add_object_element (items, json_object_ref (item));

  /* Removing what only the repo lists: its entry goes all the same. */
  if (json_array_get_length (edits) == 0 && (g_str_equal (action, "remove") || g_str_equal (action, "unset")))
    bkt_pr_item_forget_edits (subsystem, name, arguments, edits);
  if (!bkt_pr_item_check_edits (subsystem, edits, error))
    return NULL;
  if (json_array_get_length (edits) == 0 && bkt_change_mode_proposes (mode))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s %s %s changes no manifest: there is nothing to propose", action,
                        subsystem, name), NULL;

  if (mode == BKT_CHANGE_MODE_LOCAL)
    {
      g_autoptr(JsonObject) details = json_object_new ();
      g_autoptr(JsonObject) entry = copy_object (item);
      g_autofree char *summary = g_strdup_printf ("Keep “%s” in the local journal (bkt local commit proposes it)",
                                                  live_summary ? live_summary : name);
      g_autofree char *t = g_strconcat ("journal:", name, NULL);

      json_object_set_string_member (entry, "state", "local");
      json_object_set_array_member (entry, "edits", json_array_ref (edits));
      json_object_set_object_member (details, "entry", g_steal_pointer (&entry));
      g_ptr_array_add (ops, bkt_operation_new (SUBSYSTEM, "journal", t, BKT_SCOPE_USER,
                                               BKT_EFFECT_MANIFEST, summary, details));
    }
  else
    add_proposal_ops (ops, target, items, edits, NULL, NULL, NULL, NULL, NULL);
  return bkt_plan_new ("change", ops, bkt_plan_get_warnings (change));
}

BktPlan *
bkt_pr_plan_local_commit (BktPrQueue *queue, const gint64 *ids, guint n_ids,
                          const BktPrTarget *target, GError **error)
{
  g_autoptr(GPtrArray) local = bkt_pr_queue_list (queue, "local");
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonArray) items = json_array_new ();
  g_autoptr(JsonArray) edits = json_array_new ();
  g_autoptr(JsonArray) queue_ids = json_array_new ();

  for (guint j = 0; j < n_ids; j++)
    {
      JsonObject *e = bkt_pr_queue_lookup (queue, ids[j]);
      if (e == NULL || g_strcmp0 (bkt_json_object_get_string (e, "state"), "local") != 0)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "no local change #%" G_GINT64_FORMAT " (see bkt local list)", ids[j]), NULL;
    }
  for (guint i = 0; i < local->len; i++)
    {
      JsonObject *e = g_ptr_array_index (local, i);
      gint64 id = json_object_get_int_member_with_default (e, "id", 0);
      gboolean selected = n_ids == 0;
      JsonArray *ee = json_object_get_array_member (e, "edits");

      for (guint j = 0; j < n_ids && !selected; j++)
        selected = ids[j] == id;
      if (!selected)
        continue;
      json_array_add_object_element (items, copy_object (e));
      for (guint k = 0; ee != NULL && k < json_array_get_length (ee); k++)
        json_array_add_object_element (edits, copy_object (json_array_get_object_element (ee, k)));
      json_array_add_int_element (queue_ids, id);
    }
  if (json_array_get_length (items) == 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "there are no local changes to commit (bkt --local … journals them)"), NULL;
  add_proposal_ops (ops, target, items, edits, queue_ids, NULL, NULL, NULL, NULL);
  return bkt_plan_new ("local-commit", ops, NULL);
}

BktPlan *
bkt_pr_plan_capture (BktPlan *capture, const BktPrTarget *target, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonArray) items = json_array_new ();
  g_autoptr(JsonArray) edits = json_array_new ();

  if (!bkt_pr_capture_collect (capture, target->command, items, edits, error))
    return NULL;
  /* The capture itself first (the user overlay and the state record),
   * then its proposal. */
  for (guint i = 0; i < bkt_plan_get_n_operations (capture); i++)
    g_ptr_array_add (ops, g_object_ref (bkt_plan_get_operation (capture, i)));
  add_proposal_ops (ops, target, items, edits, NULL, NULL, NULL, NULL, NULL);
  return bkt_plan_new ("capture", ops, bkt_plan_get_warnings (capture));
}

BktPlan *
bkt_pr_plan_retry (BktPrQueue *queue, const BktPrTarget *target_in, GError **error)
{
  g_autoptr(GPtrArray) failed = bkt_pr_queue_list (queue, "failed");
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);

  if (failed->len == 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "no failed pull requests are queued"), NULL;
  for (guint i = 0; i < failed->len; i++)
    {
      JsonObject *e = g_ptr_array_index (failed, i);
      g_autoptr(JsonArray) ids = json_array_new ();
      g_autoptr(BktRepo) repo = NULL;
      BktPrTarget target = *target_in;

      /* Retry where the change was meant to go, when that was known. */
      if (json_object_has_member (e, "repo") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (e, "repo")))
        repo = bkt_repo_new_from_json (json_object_get_object_member (e, "repo"), NULL);
      if (repo != NULL)
        target.repo = repo;
      json_array_add_int_element (ids, json_object_get_int_member_with_default (e, "id", 0));
      add_proposal_ops (ops, &target, json_object_get_array_member (e, "items"),
                        json_object_get_array_member (e, "edits"), ids,
                        bkt_json_object_get_string (e, "title"), bkt_json_object_get_string (e, "body"),
                        bkt_json_object_get_string (e, "branch"), bkt_json_object_get_string (e, "head_owner"));
    }
  return bkt_plan_new ("pr-retry", ops, NULL);
}

static BktRepo *
repo_for (JsonObject *details, GError **error)
{
  JsonNode *n = json_object_get_member (details, "repo");

  if (n != NULL && JSON_NODE_HOLDS_OBJECT (n))
    return bkt_repo_new_from_json (json_node_get_object (n), error);
  return bkt_repo_discover (bkt_json_object_get_string (details, "repo_dir"), bkt_json_object_get_string (details, "cwd"), error);
}

static BktOperation *
find_op (BktPlan *plan, const char *action, guint from)
{
  for (guint i = from; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      if (g_str_equal (bkt_operation_get_subsystem (op), SUBSYSTEM) &&
          g_str_equal (bkt_operation_get_action (op), action))
        return op;
    }
  return NULL;
}

/* Every manifest change carries its changelog entry, as a draft: the
 * wording is the maintainers' to review before release (docs/maintenance.md).
 * Adds one file per proposed item to @files; their paths to @paths. */
static gboolean
add_draft_entries (JsonObject *details, GHashTable *files, JsonArray *paths, GError **error)
{
  JsonArray *items = json_object_get_array_member (details, "items");

  /* A capture lists all its items in one entry. */
  if (bkt_pr_capture_is_capture (items))
    {
      g_autofree char *path = NULL;
      GBytes *entry = bkt_pr_capture_draft_entry (items, &path, error);

      if (entry == NULL)
        return FALSE;
      if (paths != NULL)
        json_array_add_string_element (paths, path);
      g_hash_table_insert (files, g_steal_pointer (&path), entry);
      return TRUE;
    }
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      g_autofree char *path = NULL;
      GBytes *entry = bkt_changelog_draft_entry_full (bkt_json_object_get_string (item, "subsystem"),
                                                      bkt_json_object_get_string (item, "action"),
                                                      bkt_json_object_get_string (item, "name"),
                                                      bkt_json_object_get_string (item, "changelog_type"),
                                                      bkt_json_object_get_string (item, "changelog_message"),
                                                      bkt_json_object_get_string (item, "command"), i, &path, error);
      if (entry == NULL)
        return FALSE;
      if (paths != NULL)
        json_array_add_string_element (paths, path);
      g_hash_table_insert (files, g_steal_pointer (&path), entry);
    }
  return TRUE;
}

JsonObject *
bkt_pr_preview (BktPlan *plan, GError **error)
{
  BktOperation *op = find_op (plan, "commit-push", 0);
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(BktGit) git = NULL;
  g_autoptr(GHashTable) files = NULL;
  g_autofree char *diff = NULL;
  JsonObject *details, *out;
  JsonArray *changelog;

  if (op == NULL)
    op = find_op (plan, "open-pr", 0);
  if (op == NULL)
    return NULL;
  details = bkt_operation_get_details (op);
  repo = repo_for (details, error);
  if (repo == NULL)
    return NULL;
  git = bkt_git_open (repo, NULL, TRUE, error);
  if (git == NULL)
    return NULL;
  files = bkt_pr_edited_contents (git, json_object_get_array_member (details, "edits"), &diff, error);
  if (files == NULL)
    return NULL;

  changelog = json_array_new ();
  if (g_hash_table_size (files) > 0 && !add_draft_entries (details, files, changelog, error))
    {
      json_array_unref (changelog);
      return NULL;
    }
  out = json_object_new ();
  json_object_set_array_member (out, "changelog", changelog);
  json_object_set_object_member (out, "repo", bkt_repo_to_json (repo));
  json_object_set_string_member (out, "branch", bkt_json_object_get_string (details, "branch"));
  json_object_set_string_member (out, "base", bkt_repo_get_default_branch (repo));
  json_object_set_string_member (out, "title", bkt_json_object_get_string (details, "title"));
  json_object_set_string_member (out, "body", bkt_json_object_get_string (details, "body"));
  json_object_set_array_member (out, "files", copy_array (json_object_get_array_member (details, "files")));
  json_object_set_string_member (out, "diff", diff);
  return out;
}

/* ---- preflight ---------------------------------------------------------------------- */

static void
add_check (JsonArray *checks, const char *name, gboolean ok, const char *detail, const char *fix)
{
  JsonObject *c = json_object_new ();

  json_object_set_string_member (c, "name", name);
  json_object_set_boolean_member (c, "ok", ok);
  set_opt_string (c, "detail", detail);
  set_opt_string (c, "fix", fix);
  json_array_add_object_element (checks, c);
}

/* A remote found reachable is not asked again for a minute: the client
 * asks for the plan (ChangePlan) and then makes the change (Change), and
 * both run the whole preflight; the second must not cost a second round
 * trip.  A failure is never remembered. */
#define REACH_TTL_USEC (60 * G_USEC_PER_SEC)
static GMutex reach_lock;
static GHashTable *reach_seen;   /* URL → monotonic time it answered */

static gboolean
reached_recently (const char *url)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&reach_lock);
  gpointer t;

  if (url == NULL || reach_seen == NULL || !g_hash_table_lookup_extended (reach_seen, url, NULL, &t))
    return FALSE;
  return g_get_monotonic_time () - *(gint64 *) t < REACH_TTL_USEC;
}

static void
remember_reached (const char *url)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&reach_lock);
  gint64 *t = g_new (gint64, 1);

  if (url == NULL)
    {
      g_free (t);
      return;
    }
  if (reach_seen == NULL)
    reach_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  *t = g_get_monotonic_time ();
  g_hash_table_replace (reach_seen, g_strdup (url), t);
}

JsonObject *
bkt_pr_preflight (BktRepo *repo, const GError *repo_error, gboolean network)
{
  JsonObject *out = json_object_new ();
  JsonArray *checks = json_array_new ();
  gboolean ok = TRUE;

  json_object_set_array_member (out, "checks", checks);
  if (repo == NULL)
    {
      /* A broken config.json is not a missing repo: the fix is the file. */
      add_check (checks, "repo", FALSE, repo_error ? repo_error->message : "not found",
                 g_error_matches (repo_error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT)
                 ? "correct ~/.config/bkt/config.json (see docs/punning.md)"
                 : "run bkt inside a checkout of the distribution repo, or pass --repo DIR");
      json_object_set_boolean_member (out, "ok", FALSE);
      return out;
    }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(BktGit) git = NULL;
    g_autofree char *token = NULL;
    g_autofree char *who = NULL;
    const char *source = NULL;

    token = bkt_forge_find_token (bkt_repo_get_api_url (repo), &source);
    /* Managed clones are made at the first real proposal, not here. */
    git = bkt_git_open (repo, token, FALSE, &error);
    if (git == NULL && !(bkt_repo_is_managed (repo) && g_error_matches (error, BKT_ERROR, BKT_ERROR_NOT_FOUND)))
      {
        add_check (checks, "repo", FALSE, error->message, NULL);
        ok = FALSE;
      }
    else
      {
        g_autofree char *d = g_strdup_printf ("%s (%s)", bkt_repo_get_path (repo), bkt_repo_get_source (repo));
        add_check (checks, "repo", TRUE, d, NULL);
      }
    g_clear_error (&error);

    who = git != NULL ? bkt_git_get_identity (git, &error) : bkt_git_default_identity (&error);
    add_check (checks, "identity", who != NULL, who ? who : error->message,
               who ? NULL : "git config --global user.name \"Your Name\"; "
                            "git config --global user.email you@example.com");
    ok &= who != NULL;
    g_clear_error (&error);

    if (token != NULL)
      {
        g_autofree char *d = g_strdup_printf ("from %s", source);
        add_check (checks, "token", TRUE, d, NULL);
      }
    else if (g_strcmp0 (source, BKT_FORGE_SOURCE_LOCKED_KEYRING) == 0)
      {
        add_check (checks, "token", FALSE, "gh's token is in the keyring, which is locked",
                   "unlock the login keyring (log in to the desktop session, or unlock “Login” in "
                   "Passwords and Keys), or keep gh's token in its hosts.yml instead "
                   "(gh auth login --insecure-storage: a file only you can read)");
        ok = FALSE;
      }
    else
      {
        add_check (checks, "token", FALSE, "no forge token: GITHUB_TOKEN, GH_TOKEN, gh's hosts.yml and the keyring "
                                           "have none",
                   "gh auth login (bktd reads gh's keyring entry or hosts.yml; a GITHUB_TOKEN in "
                   "bktd's own environment works too, but not one set for the whole session)");
        ok = FALSE;
      }

    if (network && (git != NULL || bkt_repo_get_url (repo) != NULL))
      {
        const char *url = bkt_repo_get_url (repo);
        gboolean reached = reached_recently (url) ||
                           (git != NULL ? bkt_git_check_remote (git, &error)
                                        : bkt_git_check_url (url, token, bkt_repo_get_api_url (repo), &error));
        if (reached)
          remember_reached (url);
        add_check (checks, "remote", reached, reached ? bkt_repo_get_url (repo) : error->message,
                   reached ? NULL : "check the network and the remote URL (git remote -v)");
        ok &= reached;
      }
    if (token != NULL)
      explicit_bzero (token, strlen (token));
  }
  json_object_set_boolean_member (out, "ok", ok);
  return out;
}

JsonObject *
bkt_pr_preflight_plan (BktPlan *plan)
{
  JsonObject *out = json_object_new ();
  JsonArray *checks = json_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean ok = TRUE;

  json_object_set_array_member (out, "checks", checks);
  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      const char *action = bkt_operation_get_action (op);
      g_autoptr(GError) repo_error = NULL;
      g_autoptr(BktRepo) repo = NULL;
      g_autoptr(JsonObject) one = NULL;
      JsonArray *one_checks;

      if (!g_str_equal (bkt_operation_get_subsystem (op), SUBSYSTEM) ||
          !(g_str_equal (action, "commit-push") || g_str_equal (action, "open-pr")))
        continue;
      repo = repo_for (bkt_operation_get_details (op), &repo_error);
      /* One check per repo: a commit-push and its open-pr, or several
       * retries, go to the same place. */
      if (repo != NULL && !g_hash_table_add (seen, g_strdup (bkt_repo_get_path (repo))))
        continue;
      one = bkt_pr_preflight (repo, repo_error, TRUE);
      ok &= json_object_get_boolean_member (one, "ok");
      one_checks = json_object_get_array_member (one, "checks");
      for (guint j = 0; j < json_array_get_length (one_checks); j++)
        json_array_add_element (checks, json_array_dup_element (one_checks, j));
    }
  json_object_set_boolean_member (out, "ok", ok);
  return out;
}

char *
bkt_pr_preflight_message (JsonObject *preflight)
{
  g_autoptr(GString) s = g_string_new ("the pull request could not be opened, so nothing was done:");
  JsonArray *checks = json_object_get_array_member (preflight, "checks");

  for (guint i = 0; i < json_array_get_length (checks); i++)
    {
      JsonObject *c = json_array_get_object_element (checks, i);
      if (json_object_get_boolean_member_with_default (c, "ok", FALSE))
        continue;
      g_string_append_printf (s, "\n  ✗ %s: %s", bkt_json_object_get_string (c, "name"), bkt_json_object_get_string (c, "detail") ? bkt_json_object_get_string (c, "detail") : "");
      if (bkt_json_object_get_string (c, "fix") != NULL)
        g_string_append_printf (s, "\n    Fix: %s", bkt_json_object_get_string (c, "fix"));
    }
  g_string_append (s, "\nUse --local to act and record without a PR (bkt local commit proposes it later), "
                      "or --skip-preflight to act anyway.");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- execution ------------------------------------------------------------------------ */

/* A proposal that did not make it: into the queue, replacing the entries
 * it was made from, so that `bkt pr retry` has everything. */
static gint64
queue_failure (BktPrQueue *queue, JsonObject *details, BktRepo *repo, const char *pushed_branch,
               const char *head_owner, const GError *failure, GError **error)
{
  g_autoptr(JsonObject) entry = json_object_new ();
  JsonArray *qids = json_object_get_array_member (details, "queue_ids");
  g_autofree gint64 *ids = g_new0 (gint64, qids ? json_array_get_length (qids) + 1 : 1);
  guint n = 0;
  gint64 id;

  json_object_set_string_member (entry, "state", "failed");
  json_object_set_string_member (entry, "summary", bkt_json_object_get_string (details, "title"));
  json_object_set_string_member (entry, "title", bkt_json_object_get_string (details, "title"));
  json_object_set_string_member (entry, "body", bkt_json_object_get_string (details, "body"));
  json_object_set_array_member (entry, "items", copy_array (json_object_get_array_member (details, "items")));
  json_object_set_array_member (entry, "edits", copy_array (json_object_get_array_member (details, "edits")));
  if (repo != NULL)
    json_object_set_object_member (entry, "repo", bkt_repo_to_json (repo));
  set_opt_string (entry, "branch", pushed_branch);
  if (pushed_branch != NULL && head_owner != NULL)
    json_object_set_string_member (entry, "head_owner", head_owner);
  json_object_set_string_member (entry, "error", failure->message);
  id = bkt_pr_queue_add (queue, entry, error);
  if (id == 0)
    return 0;
  for (guint i = 0; qids != NULL && i < json_array_get_length (qids); i++)
    ids[n++] = json_array_get_int_element (qids, i);
  if (n > 0 && !bkt_pr_queue_remove (queue, ids, n, error))
    return 0;
  return id;
}

static gboolean
settle_queue (BktPrQueue *queue, JsonObject *details, GError **error)
{
  JsonArray *qids = json_object_get_array_member (details, "queue_ids");
  g_autofree gint64 *ids = g_new0 (gint64, qids ? json_array_get_length (qids) + 1 : 1);
  guint n = 0;

  for (guint i = 0; qids != NULL && i < json_array_get_length (qids); i++)
    ids[n++] = json_array_get_int_element (qids, i);
  return n == 0 || bkt_pr_queue_remove (queue, ids, n, error);
}

/* ssh://… or scp-like "user@host:path" (a colon before any slash; a
 * plain path is not): the fork is pushed to over SSH too. */
static gboolean
is_ssh_url (const char *url)
{
  const char *colon, *slash;

  if (url == NULL)
    return FALSE;
  if (g_str_has_prefix (url, "ssh://"))
    return TRUE;
  colon = strchr (url, ':');
  slash = strchr (url, '/');
  return strstr (url, "://") == NULL && colon != NULL && (slash == NULL || colon < slash);
}

static char *
commit_series (BktGit *git, const char *branch, GPtrArray *series, char **used, GError **error)
{
  g_autofree GHashTable **files = g_new0 (GHashTable *, series->len);
  g_autofree const char **messages = g_new0 (const char *, series->len);

  for (guint i = 0; i < series->len; i++)
    {
      BktPrCommit *c = g_ptr_array_index (series, i);
      files[i] = c->files;
      messages[i] = c->message;
    }
  return bkt_git_commit_series_and_push (git, branch, (GHashTable *const *) files,
                                         (const char *const *) messages, series->len, used, error);
}

/* The commits of @details' proposal: one with the edited files and the
 * draft entries, or for a capture one per subsystem.  Empty when the repo
 * already says what the change says; NULL with @error. */
static GPtrArray *
edited_series (BktGit *git, JsonObject *details, char **diff, GError **error)
{
  g_autoptr(GPtrArray) series = NULL;
  g_autoptr(BktPrCommit) one = NULL;

  if (bkt_pr_capture_is_capture (json_object_get_array_member (details, "items")))
    return bkt_pr_capture_commits (git, details, diff, error);
  series = g_ptr_array_new_with_free_func ((GDestroyNotify) bkt_pr_commit_free);
  one = g_new0 (BktPrCommit, 1);
  one->files = bkt_pr_edited_contents (git, json_object_get_array_member (details, "edits"), diff, error);
  if (one->files == NULL)
    return NULL;
  if (g_hash_table_size (one->files) == 0)
    return g_steal_pointer (&series);
  if (!add_draft_entries (details, one->files, NULL, error))
    return NULL;
  one->message = g_strdup_printf ("%s\n\n%s", bkt_json_object_get_string (details, "title"),
                                  bkt_json_object_get_string (details, "body"));
  g_ptr_array_add (series, g_steal_pointer (&one));
  return g_steal_pointer (&series);
}

/* One proposal: @cp (commit-push, NULL when the branch is already pushed)
 * then @open (open-pr).  Fills @pr; FALSE with @error when it failed (and
 * was queued). */
static gboolean
run_proposal (BktOperation *cp, BktOperation *open, BktPrQueue *queue, BktExecContext *ctx,
              JsonObject *pr, GCancellable *cancellable, GError **error)
{
  JsonObject *details = bkt_operation_get_details (cp ? cp : open);
  g_autofree char *branch = g_strdup (bkt_json_object_get_string (details, "branch"));
  g_autoptr(GError) failure = NULL;
  g_autoptr(GError) queue_error = NULL;
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(BktGit) git = NULL;
  g_autofree char *token = NULL;
  g_autofree char *url = NULL;
  g_autofree char *head_owner = g_strdup (bkt_json_object_get_string (details, "head_owner"));
  g_autofree char *head = NULL;
  gboolean pushed = cp == NULL;
  gint64 qid;

  json_object_set_string_member (pr, "branch", branch);
  json_object_set_string_member (pr, "title", bkt_json_object_get_string (details, "title"));
  repo = repo_for (details, &failure);
  if (repo == NULL)
    goto failed;
  json_object_set_object_member (pr, "repo", bkt_repo_to_json (repo));
  token = bkt_forge_find_token (bkt_repo_get_api_url (repo), NULL);

  if (cp != NULL)
    {
      g_autoptr(GPtrArray) series = NULL;
      g_autofree char *diff = NULL;
      g_autofree char *commit = NULL;

      bkt_exec_context_progress (ctx, cp, 0.1, "fetching");
      git = bkt_git_open (repo, token, TRUE, &failure);
      if (git == NULL || !bkt_git_fetch (git, &failure))
        goto failed;
      series = edited_series (git, details, &diff, &failure);
      if (series == NULL && failure->domain == BKT_PR_STALE_ERROR)
        {
          /* The branch has moved past what the change was made from: no
           * retry can fix that, so nothing is queued (and an entry this
           * came from goes). */
          g_autoptr(GError) e = g_error_new_literal (BKT_ERROR, BKT_ERROR_FAILED, "not opened: nothing was pushed");

          json_object_set_string_member (pr, "state", "stale");
          json_object_set_string_member (pr, "error", failure->message);
          bkt_exec_context_op_done (ctx, cp, failure);
          bkt_exec_context_op_done (ctx, open, e);
          if (!settle_queue (queue, details, error))
            return FALSE;
          return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "the pull request was not opened: %s",
                              failure->message), FALSE;
        }
      if (series == NULL)
        goto failed;
      json_object_set_string_member (pr, "diff", diff);
      if (series->len == 0)
        {
          /* The repo already says what the change says: a PR would be
           * empty.  Nothing to keep either. */
          json_object_set_string_member (pr, "state", "unchanged");
          bkt_exec_context_message (ctx, "The repo's manifests already have this change: no pull request needed.");
          bkt_exec_context_op_done (ctx, cp, NULL);
          bkt_exec_context_op_done (ctx, open, NULL);
          return settle_queue (queue, details, error);
        }
      /* Without push access to the repo (or with "fork": "always"), the
       * branch goes to the user's fork.  Without a token there is no
       * asking: origin, and the PR request fails into the queue. */
      if (token != NULL)
        {
          g_autofree char *fork_url = NULL;

          bkt_exec_context_progress (ctx, cp, 0.3, "checking push access");
          g_clear_pointer (&head_owner, g_free);
          if (!bkt_forge_push_target (bkt_repo_get_api_url (repo), bkt_repo_get_owner (repo), bkt_repo_get_name (repo),
                                      token, bkt_repo_get_fork (repo), is_ssh_url (bkt_repo_get_url (repo)),
                                      &head_owner, &fork_url, cancellable, &failure))
            goto failed;
          if (fork_url != NULL)
            {
              bkt_exec_context_message (ctx, "Pushing to the fork of %s/%s owned by %s (%s)",
                                        bkt_repo_get_owner (repo), bkt_repo_get_name (repo), head_owner,
                                        g_str_equal (bkt_repo_get_fork (repo), "always")
                                        ? "\"fork\": \"always\"" : "no push access to the repo");
              if (!bkt_git_set_push_url (git, fork_url, &failure))
                goto failed;
              json_object_set_string_member (pr, "fork", fork_url);
            }
        }
      bkt_exec_context_progress (ctx, cp, 0.5, "pushing");
      {
        g_autofree char *used = NULL;
        commit = commit_series (git, branch, series, &used, &failure);
        if (commit == NULL)
          goto failed;
        g_free (branch);
        branch = g_steal_pointer (&used);
        json_object_set_string_member (pr, "branch", branch);
      }
      pushed = TRUE;
      json_object_set_string_member (pr, "commit", commit);
      bkt_exec_context_op_done (ctx, cp, NULL);
    }

  if (token == NULL)
    {
      failure = g_error_new_literal (BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                                     "no forge token (GITHUB_TOKEN, GH_TOKEN, gh's hosts.yml, the keyring).  Fix: gh auth "
                                     "login, then bkt pr retry");
      goto failed;
    }
  bkt_exec_context_progress (ctx, open, 0.5, "requesting");
  head = head_owner != NULL ? g_strdup_printf ("%s:%s", head_owner, branch) : g_strdup (branch);
  json_object_set_string_member (pr, "head", head);
  url = bkt_forge_open_pull_request (bkt_repo_get_api_url (repo), bkt_repo_get_owner (repo),
                                     bkt_repo_get_name (repo), token, bkt_json_object_get_string (details, "title"), head,
                                     bkt_json_object_get_string (details, "base"), bkt_json_object_get_string (details, "body"), cancellable, &failure);
  explicit_bzero (token, strlen (token));
  if (url == NULL)
    goto failed;
  json_object_set_string_member (pr, "state", "opened");
  json_object_set_string_member (pr, "url", url);
  bkt_exec_context_message (ctx, "Pull request: %s", url);
  bkt_exec_context_op_done (ctx, open, NULL);
  return settle_queue (queue, details, error);

failed:
  if (token != NULL)
    explicit_bzero (token, strlen (token));
  qid = queue_failure (queue, details, repo, pushed ? branch : NULL, head_owner, failure, &queue_error);
  json_object_set_string_member (pr, "state", "queued");
  json_object_set_string_member (pr, "error", failure->message);
  if (qid > 0)
    json_object_set_int_member (pr, "queued_id", qid);
  if (cp != NULL && !pushed)
    {
      bkt_exec_context_op_done (ctx, cp, failure);
      {
        g_autoptr(GError) e = g_error_new_literal (BKT_ERROR, BKT_ERROR_FAILED,
                                                   "not opened: the branch was not pushed");
        bkt_exec_context_op_done (ctx, open, e);
      }
    }
  else
    bkt_exec_context_op_done (ctx, open, failure);
  if (queue_error != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s; and it could not be queued: %s",
                        failure->message, queue_error->message), FALSE;
  return g_set_error (error, BKT_ERROR, failure->domain == BKT_ERROR ? failure->code : BKT_ERROR_FAILED,
                      "the pull request was not opened: %s.  The change is kept as #%" G_GINT64_FORMAT
                      ": bkt pr retry", failure->message, qid), FALSE;
}

gboolean
bkt_pr_execute (BktPlan *plan, gboolean local_ok, BktExecContext *ctx, JsonObject *result,
                GCancellable *cancellable, GError **error)
{
  g_autoptr(BktPrQueue) queue = NULL;
  g_autoptr(JsonArray) prs = json_array_new ();
  g_autoptr(GError) first_error = NULL;
  gboolean any = FALSE;

  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    any |= g_str_equal (bkt_operation_get_subsystem (bkt_plan_get_operation (plan, i)), SUBSYSTEM);
  if (!any)
    return TRUE;
  queue = bkt_pr_queue_load (NULL, error);
  if (queue == NULL)
    return FALSE;

  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      const char *action = bkt_operation_get_action (op);
      g_autoptr(JsonObject) pr = NULL;
      g_autoptr(GError) e = NULL;

      if (!g_str_equal (bkt_operation_get_subsystem (op), SUBSYSTEM) || g_str_equal (action, "open-pr"))
        continue;   /* open-pr runs with its commit-push, or alone below */

      if (!local_ok)
        {
          e = g_error_new_literal (BKT_ERROR, BKT_ERROR_FAILED, "not proposed: the local change failed");
          bkt_exec_context_op_done (ctx, op, e);
          continue;
        }
      if (g_str_equal (action, "journal"))
        {
          gint64 id = bkt_pr_queue_add (queue, json_object_get_object_member (bkt_operation_get_details (op), "entry"), &e);
          bkt_exec_context_op_done (ctx, op, e);
          if (id > 0)
            {
              JsonObject *j = json_object_new ();
              json_object_set_int_member (j, "id", id);
              json_object_set_object_member (result, "journal", j);
              bkt_exec_context_message (ctx, "Kept as local change #%" G_GINT64_FORMAT " (bkt local commit)", id);
            }
          else if (first_error == NULL)
            first_error = g_steal_pointer (&e);
          continue;
        }
      /* commit-push: its open-pr follows it in the plan. */
      pr = json_object_new ();
      if (!run_proposal (op, find_op (plan, "open-pr", i + 1), queue, ctx, pr, cancellable, &e) &&
          first_error == NULL)
        first_error = g_steal_pointer (&e);
      json_array_add_object_element (prs, g_steal_pointer (&pr));
    }

  /* Retries of already pushed branches: open-pr with no commit-push. */
  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      g_autoptr(JsonObject) pr = NULL;
      g_autoptr(GError) e = NULL;
      gboolean has_cp = FALSE;

      if (!g_str_equal (bkt_operation_get_subsystem (op), SUBSYSTEM) ||
          !g_str_equal (bkt_operation_get_action (op), "open-pr"))
        continue;
      for (guint j = 0; j < i && !has_cp; j++)
        {
          BktOperation *o = bkt_plan_get_operation (plan, j);
          has_cp = g_str_equal (bkt_operation_get_subsystem (o), SUBSYSTEM) &&
                   g_str_equal (bkt_operation_get_action (o), "commit-push") &&
                   g_str_equal (bkt_operation_get_target (o), bkt_operation_get_target (op));
        }
      if (has_cp)
        continue;
      if (!local_ok)
        {
          e = g_error_new_literal (BKT_ERROR, BKT_ERROR_FAILED, "not proposed: the local change failed");
          bkt_exec_context_op_done (ctx, op, e);
          continue;
        }
      pr = json_object_new ();
      if (!run_proposal (NULL, op, queue, ctx, pr, cancellable, &e) && first_error == NULL)
        first_error = g_steal_pointer (&e);
      json_array_add_object_element (prs, g_steal_pointer (&pr));
    }

  if (json_array_get_length (prs) > 0)
    {
      json_object_set_object_member (result, "pr",
                                     json_object_ref (json_array_get_object_element (prs, 0)));
      json_object_set_array_member (result, "prs", json_array_ref (prs));
    }
  if (first_error != NULL)
    return g_propagate_error (error, g_steal_pointer (&first_error)), FALSE;
  return TRUE;
}
