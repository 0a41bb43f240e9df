/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-admin-ops.h"
#include "bkt-bootc.h"
#include "bkt-copr.h"
#include "bkt-daemon-private.h"
#include "bkt-error.h"
#include "bkt-git.h"
#include "bkt-pr-maint.h"
#include "bkt-systemd.h"

/* The worker's side of a request: one function per kind (the request
 * table in bkt-daemon.c names them), run in a thread so that reading
 * flatpak, GSettings or a repository never blocks the bus. */

/* ---- manifests and the engine ------------------------------------------------ */

BktManifestSet *
bkt_daemon_load_manifests (Request *r, GError **error)
{
  if (r->daemon->instance == BKT_INSTANCE_SYSTEM)
    return bkt_manifest_set_new_from_content (r->opt.content ? r->opt.content : "{}", error);

  if (r->opt.manifests_dir != NULL && r->opt.image_manifests_dir != NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"manifests-dir\" replaces the layering, \"image-manifests-dir\" "
                                "changes its image layer: give one of them"), NULL;
  if (r->opt.manifests_dir != NULL)
    return bkt_manifest_set_load_dir (r->opt.manifests_dir, error);
  {
    const char *image_dir = r->opt.image_manifests_dir ? r->opt.image_manifests_dir
                                                       : g_getenv ("BKT_IMAGE_MANIFESTS_DIR");
    g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "bkt", "manifests", NULL);

    return bkt_manifest_set_load_layered (image_dir ? image_dir : BKT_IMAGE_MANIFESTS_DIR,
                                          user_dir, error);
  }
}

/* The manifests and an engine for the subsystems the options select. */
static gboolean
load_engine (Request *r, GError **error)
{
  /* Loaded already when the worker resumes after polkit was asked again. */
  if (r->out.engine != NULL)
    return TRUE;
  r->out.manifests = bkt_daemon_load_manifests (r, error);
  if (r->out.manifests == NULL)
    return FALSE;
  r->out.engine = bkt_engine_new (r->daemon->instance, (const char * const *) r->opt.only,
                                  (const char * const *) r->opt.exclude, error);
  if (r->out.engine == NULL)
    return FALSE;
  bkt_engine_set_resolution (r->out.engine, r->opt.resolve, r->opt.force);
  bkt_engine_set_prune (r->out.engine, r->opt.prune);
  /* "targets" (--item, the watcher's Propose) names exactly what to
   * capture, so it picks untracked items as "select" does. */
  bkt_engine_set_capture_selection (r->out.engine,
                                    (const char * const *) (r->opt.select != NULL ? r->opt.select : r->opt.targets),
                                    r->opt.all_untracked);
  return TRUE;
}

/* An apply that would revert items changed on this machine (or changed on
 * both sides) stops with their list and the choices (docs/manifests.md,
 * "Which side changed"). */
static gboolean
check_no_changes_here (BktPlan *plan, GError **error)
{
  g_autoptr(GString) list = g_string_new (NULL);
  guint n = 0;

  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      const char *state = bkt_operation_get_sync_state (op);
      JsonObject *sync = bkt_operation_get_sync (op);

      if (g_strcmp0 (state, "to-capture") != 0 && g_strcmp0 (state, "conflict") != 0)
        continue;
      if (n++ < 20)
        g_string_append_printf (list, "\n  %s %s (manifests: %s, this machine: %s)",
                                g_str_equal (state, "conflict") ? "CONFLICT" : "changed here:",
                                bkt_operation_get_target (op),
                                json_object_get_string_member_with_default (sync, "manifest", "absent"),
                                json_object_get_string_member_with_default (sync, "live", "absent"));
    }
  if (n == 0)
    return TRUE;
  if (n > 20)
    g_string_append_printf (list, "\n  … and %u more", n - 20);
  return g_set_error (error, BKT_ERROR, BKT_ERROR_CONFLICT,
                      "%u item(s) were changed on this machine since bkt last synced them; apply would "
                      "revert them:%s\nRun bkt capture to record them first, bkt apply --ours to apply "
                      "the rest and keep them, or bkt apply --theirs (--force) to revert them",
                      n, list->str), FALSE;
}

gboolean
bkt_compute_status (Request *r, GCancellable *c, GError **error)
{
  if (!load_engine (r, error))
    return FALSE;
  r->out.status = bkt_engine_status (r->out.engine, r->out.manifests, c, error);
  /* What the user chose to ignore (the watcher's notification) says so. */
  if (r->out.status != NULL && r->daemon->instance == BKT_INSTANCE_SESSION)
    bkt_watcher_mark_ignored (r->out.status);
  return r->out.status != NULL;
}

gboolean
bkt_compute_explain (Request *r, GCancellable *c, GError **error)
{
  if (!load_engine (r, error))
    return FALSE;
  r->out.status = bkt_engine_explain (r->out.engine, r->out.manifests, r->opt.item, c, error);
  return r->out.status != NULL;
}

/* What @r's loaded set layers (packages, COPR repos: repo files under
 * /etc/yum.repos.d are packages too), for org.bkt.packages and its
 * prompt, and whether it enables a COPR repo without signature checks
 * (org.bkt.insecure-repo).  Read from the loaded set, whose loader bounds
 * depth and size: what must be authorised is decided by the same parser
 * that decides what will be done. */
#define PROMPT_NAMES 12

static void
scan_layered (Request *r)
{
  BktManifest *m = bkt_manifest_set_get (r->out.manifests, BKT_MANIFEST_SYSTEM_PACKAGES);
  JsonArray *packages, *copr;
  g_autoptr(GString) text = g_string_new (NULL);
  guint n_packages, n_copr;

  if (m == NULL)
    return;
  packages = bkt_manifest_get_entries (m);
  copr = bkt_manifest_get_list (m, BKT_MANIFEST_COPR_MEMBER);
  n_packages = packages ? json_array_get_length (packages) : 0;
  n_copr = copr ? json_array_get_length (copr) : 0;
  r->out.layers_packages = n_packages + n_copr > 0;
  for (guint i = 0; i < n_packages && i < PROMPT_NAMES; i++)
    {
      g_autofree char *key = bkt_manifest_node_key (BKT_MANIFEST_SYSTEM_PACKAGES,
                                                    json_array_get_element (packages, i));
      g_string_append_printf (text, "%s%s", i == 0 ? "packages: " : " ", key ? key : "?");
    }
  if (n_packages > PROMPT_NAMES)
    g_string_append_printf (text, " … (%u in all)", n_packages);
  for (guint i = 0; i < n_copr; i++)
    {
      JsonNode *node = json_array_get_element (copr, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = o ? json_object_get_string_member_with_default (o, "name", "?") : "?";
      gboolean insecure = o != NULL && json_object_get_boolean_member_with_default (o, "enabled", TRUE) &&
                          !json_object_get_boolean_member_with_default (o, "gpg_check", TRUE);

      r->insecure |= insecure;
      if (i < PROMPT_NAMES)
        g_string_append_printf (text, "%s%s%s", i == 0 ? (text->len ? "; COPR repos: " : "COPR repos: ") : " ",
                                name, insecure ? " (gpg_check=false)" : "");
    }
  if (n_copr > PROMPT_NAMES)
    g_string_append_printf (text, " … (%u in all)", n_copr);
  r->out.packages_summary = g_string_free (g_steal_pointer (&text), FALSE);
}

/* What a system Apply will do, for polkit's prompt (org.bkt.target):
 * the summaries of the plan's operations that change the system — the
 * plan that will run if authorised, not the content it came from — the
 * first few of them, each cut to a line. */
#define PROMPT_OPERATIONS 8
#define PROMPT_SUMMARY_CHARS 160

static char *
plan_prompt (BktPlan *plan)
{
  g_autoptr(GString) text = g_string_new (NULL);
  guint n = 0;

  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      const char *summary = bkt_operation_get_summary (op);
      JsonObject *details = bkt_operation_get_details (op);

      if (bkt_operation_get_effect (op) == BKT_EFFECT_MANIFEST)
        continue;
      if (n++ >= PROMPT_OPERATIONS)
        continue;
      if (text->len > 0)
        g_string_append (text, "; ");
      if (g_utf8_strlen (summary, -1) > PROMPT_SUMMARY_CHARS)
        {
          g_autofree char *cut = g_utf8_substring (summary, 0, PROMPT_SUMMARY_CHARS - 1);
          g_string_append_printf (text, "%s…", cut);
        }
      else
        g_string_append (text, summary);
      /* A remote that flatpak will not verify is worth a word of its own. */
      if (details != NULL && json_object_has_member (details, "gpg_verify") &&
          !json_object_get_boolean_member_with_default (details, "gpg_verify", TRUE))
        g_string_append (text, " without GPG verification");
    }
  if (n > PROMPT_OPERATIONS)
    g_string_append_printf (text, "; … and %u more (%u changes in all)", n - PROMPT_OPERATIONS, n);
  if (n == 0)
    g_string_append (text, "nothing to change: the system already matches the manifests");
  return g_string_free (g_steal_pointer (&text), FALSE);
}

gboolean
bkt_compute_apply_plan (Request *r, GCancellable *c, GError **error)
{
  /* Planned already: polkit was asked for what the plan removes. */
  if (r->out.plan != NULL)
    return TRUE;
  if (!load_engine (r, error))
    return FALSE;
  /* A system Apply is planned before polkit is asked (the plan is what
   * Plan shows anyone): the prompts name what this plan does, and the
   * actions it needs besides org.bkt.apply are read from the loaded set
   * (docs/polkit.md).  The transaction runs this same plan. */
  if (r->daemon->instance == BKT_INSTANCE_SYSTEM && r->kind == REQ_APPLY)
    scan_layered (r);
  r->out.plan = bkt_engine_plan_apply (r->out.engine, r->out.manifests, c, error);
  /* Reverting what the person changed here is never silent. */
  if (r->out.plan != NULL && r->kind == REQ_APPLY && !r->opt.force && r->opt.resolve == BKT_RESOLVE_ASK &&
      !check_no_changes_here (r->out.plan, error))
    g_clear_object (&r->out.plan);
  if (r->out.plan != NULL && r->daemon->instance == BKT_INSTANCE_SYSTEM && r->kind == REQ_APPLY)
    r->out.plan_prompt = plan_prompt (r->out.plan);
  return r->out.plan != NULL;
}

static gboolean preflight_passes (Request *r, GError **error);

/* "targets": only these items (the watcher's Propose names exactly the
 * items its notification listed); one the plan does not have is an error,
 * so that nothing else is captured in its place. */
static gboolean
keep_targets (BktPlan **plan, GStrv targets, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint t = 0; targets[t] != NULL; t++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < bkt_plan_get_n_operations (*plan); i++)
        {
          BktOperation *op = bkt_plan_get_operation (*plan, i);
          if (g_str_equal (bkt_operation_get_target (op), targets[t]))
            {
              found = TRUE;
              if (!g_ptr_array_find (ops, op, NULL))
                g_ptr_array_add (ops, g_object_ref (op));
            }
        }
      if (!found)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "%s has nothing to capture (it is in sync, changed in the manifests, or in "
                            "conflict): see bkt status", targets[t]), FALSE;
    }
  {
    BktPlan *kept = bkt_plan_new (bkt_plan_get_kind (*plan), ops, bkt_plan_get_warnings (*plan));
    g_object_unref (*plan);
    *plan = kept;
  }
  return TRUE;
}

/* capture --pr: the capture and ONE pull request of what it records, after
 * the same preflight as every punned change. */
static BktPlan *
punned_capture_plan (Request *r, BktPlan *capture, GError **error)
{
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(GError) repo_error = NULL;
  BktPrTarget target = { NULL, r->pun.repo_dir, r->pun.cwd, r->pun.command };
  BktPlan *plan;

  if (r->pun.mode != BKT_CHANGE_MODE_PR)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "a capture is recorded, and proposed with mode “pr”; mode “%s” is for changes",
                        bkt_change_mode_to_string (r->pun.mode)), NULL;
  repo = bkt_repo_discover (r->pun.repo_dir, r->pun.cwd, &repo_error);
  target.repo = repo;
  if (!r->pun.skip_preflight || r->kind == REQ_CAPTURE_PLAN)
    {
      r->out.preflight = bkt_pr_preflight (repo, repo_error, TRUE);
      if (!preflight_passes (r, error))
        return NULL;
    }
  plan = bkt_pr_plan_capture (capture, &target, error);
  if (plan != NULL && r->opt.dry_run && repo != NULL)
    {
      g_autoptr(GError) preview_error = NULL;
      r->out.preview = bkt_pr_preview (plan, &preview_error);
      if (r->out.preview == NULL && preview_error != NULL)
        {
          r->out.preview = json_object_new ();
          json_object_set_string_member (r->out.preview, "error", preview_error->message);
        }
    }
  return plan;
}

gboolean
bkt_compute_capture_plan (Request *r, GCancellable *c, GError **error)
{
  g_autoptr(BktPlan) capture = NULL;

  if (!load_engine (r, error))
    return FALSE;
  capture = bkt_engine_plan_capture (r->out.engine, r->out.manifests, c, error);
  if (capture == NULL)
    return FALSE;
  if (r->opt.targets != NULL && !keep_targets (&capture, r->opt.targets, error))
    return FALSE;
  if (r->pun.mode_set)
    r->out.plan = punned_capture_plan (r, capture, error);
  else
    r->out.plan = g_steal_pointer (&capture);
  return r->out.plan != NULL;
}

/* ---- changes and punning ----------------------------------------------------------- */

/* The preflight's verdict for @r: failed checks stop the request with
 * their fixes, unless --skip-preflight or a dry run (which shows them). */
static gboolean
preflight_passes (Request *r, GError **error)
{
  g_autofree char *msg = NULL;

  if (json_object_get_boolean_member (r->out.preflight, "ok") || r->pun.skip_preflight || r->opt.dry_run)
    return TRUE;
  msg = bkt_pr_preflight_message (r->out.preflight);
  g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, msg);
  return FALSE;
}

static gboolean
is_plan_only (Request *r)
{
  return r->kind == REQ_CHANGE_PLAN || r->kind == REQ_REPO_CHANGE_PLAN;
}

/* The change plan reshaped for its mode, with the preflight: what the PR
 * will need is checked before anything is done (docs/punning.md). */
static BktPlan *
punned_change_plan (Request *r, BktPlan *change, GError **error)
{
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(GError) repo_error = NULL;
  BktPrTarget target = { NULL, r->pun.repo_dir, r->pun.cwd, r->pun.command };
  gboolean proposes = bkt_change_mode_proposes (r->pun.mode);
  BktPlan *plan;

  if (!r->pun.mode_set)
    return g_object_ref (change);
  if (proposes)
    {
      repo = bkt_repo_discover (r->pun.repo_dir, r->pun.cwd, &repo_error);
      target.repo = repo;
      if (!r->pun.skip_preflight || is_plan_only (r))
        {
          /* The whole preflight on both calls: the remote's answer to
           * ChangePlan (which the client asks first) is remembered for a
           * minute, so Change does not pay the round trip twice. */
          r->out.preflight = bkt_pr_preflight (repo, repo_error, TRUE);
          if (!preflight_passes (r, error))
            return NULL;
        }
    }
  plan = bkt_pr_plan_change (change, r->pun.mode, &target, r->change.subsystem, r->change.action,
                             r->change.arguments, error);
  /* Only a dry run shows the PR before it exists: reading the repo (or
   * cloning the managed one) must not delay a real change's local part. */
  if (plan != NULL && is_plan_only (r) && r->opt.dry_run && proposes && repo != NULL)
    {
      g_autoptr(GError) preview_error = NULL;
      r->out.preview = bkt_pr_preview (plan, &preview_error);
      if (r->out.preview == NULL && preview_error != NULL)
        {
          r->out.preview = json_object_new ();
          json_object_set_string_member (r->out.preview, "error", preview_error->message);
        }
    }
  return plan;
}

gboolean
bkt_compute_change (Request *r, GCancellable *c, GError **error)
{
  g_autoptr(BktPlan) change = NULL;

  if (!load_engine (r, error))
    return FALSE;
  change = bkt_engine_plan_change (r->out.engine, r->out.manifests, r->change.subsystem, r->change.action,
                                   r->change.arguments, c, error);
  if (change == NULL)
    return FALSE;
  r->out.plan = punned_change_plan (r, change, error);
  return r->out.plan != NULL;
}

/* bkt upstream/base --pr: a repo-side change, proposed only (its edit is
 * not the user overlay's; nothing acts here, no manifests are read). */
gboolean
bkt_compute_repo_change (Request *r, GCancellable *c, GError **error)
{
  g_autoptr(BktPlan) change = NULL;

  if (!r->pun.mode_set || r->pun.mode != BKT_CHANGE_MODE_PR_ONLY)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "a %s change is proposed as a pull request only (mode “pr-only”: bkt %s … --pr); "
                        "without --pr bkt edits the checkout itself", r->change.subsystem,
                        r->change.subsystem), FALSE;
  change = bkt_pr_maint_plan_change (r->change.subsystem, r->change.action, r->change.arguments, error);
  if (change == NULL)
    return FALSE;
  r->out.plan = punned_change_plan (r, change, error);
  return r->out.plan != NULL;
}

/* ---- the PR queue ------------------------------------------------------------------ */

gboolean
bkt_compute_queue (Request *r, GCancellable *c, GError **error)
{
  g_autoptr(BktPrQueue) queue = bkt_pr_queue_load (NULL, error);
  g_autoptr(BktRepo) repo = NULL;
  BktPrTarget target = { NULL, r->pun.repo_dir, r->pun.cwd, r->pun.command };

  if (queue == NULL)
    return FALSE;
  if (r->kind == REQ_LOCAL_LIST)
    {
      r->out.queue = bkt_pr_queue_to_json (queue);
      return TRUE;
    }
  /* Found now if possible, so the plan names where the PR goes; a
   * missing repo fails at execution and the entries stay queued. */
  repo = bkt_repo_discover (r->pun.repo_dir, r->pun.cwd, NULL);
  target.repo = repo;
  if (repo != NULL)
    {
      /* Opening it (no clone, no network) learns the forge repo's
       * name from the origin remote, for the plan's text. */
      g_autoptr(BktGit) git = bkt_git_open (repo, NULL, FALSE, NULL);
    }
  if (r->kind == REQ_LOCAL_COMMIT)
    r->out.plan = bkt_pr_plan_local_commit (queue, r->pun.ids ? (const gint64 *) r->pun.ids->data : NULL,
                                            r->pun.ids ? r->pun.ids->len : 0, &target, error);
  else
    r->out.plan = bkt_pr_plan_retry (queue, &target, error);
  if (r->out.plan == NULL)
    return FALSE;
  /* Opening a PR later needs what opening it now needs: the same
   * checks, before anything is pushed or taken off the queue. */
  if (!r->pun.skip_preflight)
    {
      r->out.preflight = bkt_pr_preflight_plan (r->out.plan);
      if (!preflight_passes (r, error))
        {
          g_clear_object (&r->out.plan);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- the Admin interface ------------------------------------------------------------ */

/* A system flatpak, layered packages or a COPR repo file: the subsystem's
 * change, of which root keeps only the system operations (it records
 * nothing; the session records). */
gboolean
bkt_compute_system_change (Request *r, GCancellable *c, GError **error)
{
  g_autoptr(BktPlan) full = NULL;

  if (!load_engine (r, error))
    return FALSE;
  full = bkt_engine_plan_change (r->out.engine, r->out.manifests, r->change.subsystem, r->change.action,
                                 r->change.arguments, c, error);
  if (full == NULL)
    return FALSE;
  r->out.plan = bkt_plan_filter_scope (full, BKT_SCOPE_SYSTEM);
  return TRUE;
}

gboolean
bkt_compute_bootc_status (Request *r, GCancellable *c, GError **error)
{
  r->out.status = bkt_bootc_status (c, error);
  return r->out.status != NULL;
}

gboolean
bkt_compute_systemctl_status (Request *r, GCancellable *c, GError **error)
{
  r->out.status = bkt_systemd_status (r->daemon->connection, (const char * const *) r->admin.units, c, error);
  return r->out.status != NULL;
}

gboolean
bkt_compute_nothing (Request *r, GCancellable *c, GError **error)
{
  return TRUE;
}

/* ---- transactions ------------------------------------------------------------------ */

void
transaction_work_free (gpointer p)
{
  TransactionWork *w = p;

  g_clear_object (&w->engine);
  g_clear_object (&w->manifests);
  g_clear_object (&w->connection);
  g_free (w);
}

static gboolean
plan_has_local_work (BktPlan *plan)
{
  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    if (!g_str_equal (bkt_operation_get_subsystem (bkt_plan_get_operation (plan, i)), "pr"))
      return TRUE;
  return FALSE;
}

gboolean
bkt_execute_engine (BktTransaction *tx, BktExecContext *ctx, JsonObject *result,
                    GCancellable *cancellable, gpointer work, GError **error)
{
  TransactionWork *w = work;
  BktPlan *plan = bkt_transaction_get_plan (tx);
  g_autoptr(GError) local_error = NULL;
  gboolean local_ok = TRUE;

  /* Capture on the system instance computes; it never writes (root does
   * not touch a user's files): the plan itself is the result. */
  if (g_strcmp0 (bkt_transaction_get_kind (tx), "capture") == 0 && w->engine != NULL &&
      bkt_engine_get_instance (w->engine) == BKT_INSTANCE_SYSTEM)
    {
      json_object_set_member (result, "capture", bkt_plan_to_json (plan));
      return TRUE;
    }
  /* The local part first, reported operation by operation as it ends, so
   * the user has the change before any of the PR work starts. */
  if (w->engine != NULL && plan_has_local_work (plan))
    local_ok = bkt_engine_execute (w->engine, plan, w->manifests, ctx, cancellable, &local_error);
  if (w->engine == NULL || bkt_engine_get_instance (w->engine) == BKT_INSTANCE_SESSION)
    {
      g_autoptr(GError) pr_error = NULL;
      if (!bkt_pr_execute (plan, local_ok, ctx, result, cancellable, &pr_error) && local_error == NULL)
        local_error = g_steal_pointer (&pr_error);
    }
  if (local_error != NULL)
    return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
  return TRUE;
}

gboolean
bkt_execute_admin_op (BktTransaction *tx, BktExecContext *ctx, JsonObject *result,
                      GCancellable *cancellable, gpointer work, GError **error)
{
  TransactionWork *w = work;

  return bkt_admin_execute (bkt_transaction_get_plan (tx), w->connection, ctx, result, cancellable, error);
}

/* ---- the session plan's system part ---------------------------------------------------- */

static gboolean
plan_has_scope (BktPlan *plan, BktScope scope)
{
  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      if (bkt_operation_get_scope (op) == scope && bkt_operation_get_effect (op) != BKT_EFFECT_MANIFEST)
        return TRUE;
    }
  return FALSE;
}

/* A dnf change: all its system operations as ONE Admin call (one polkit
 * check, one batched rpm-ostree run). */
static JsonObject *
dnf_system_request (BktPlan *plan)
{
  JsonObject *req = json_object_new ();
  JsonArray *names = json_array_new ();
  gboolean now = FALSE;
  const char *method = NULL;

  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);

      if (bkt_operation_get_scope (op) != BKT_SCOPE_SYSTEM || !g_str_equal (bkt_operation_get_subsystem (op), "dnf")
          || bkt_operation_get_effect (op) == BKT_EFFECT_MANIFEST)
        continue;
      /* A COPR change is one repo file: its own Admin method, told the
       * manifest's gpg_check so that the file matches the record. */
      if (bkt_copr_is_copr_op (op))
        {
          const char *action = bkt_operation_get_action (op);

          json_object_set_string_member (req, "method", g_str_equal (action, "copr-enable") ? "CoprEnable"
                                                        : g_str_equal (action, "copr-disable") ? "CoprDisable"
                                                                                               : "CoprRemove");
          json_object_set_string_member (req, "project", bkt_operation_get_detail_string (op, "name"));
          json_object_set_boolean_member (req, "gpg_check",
                                          json_object_get_boolean_member_with_default (
                                            bkt_operation_get_details (op), "gpg_check", TRUE));
          json_array_unref (names);
          return req;
        }
      method = g_str_equal (bkt_operation_get_action (op), "install") ? "PackagesInstall" : "PackagesUninstall";
      now |= bkt_operation_get_effect (op) == BKT_EFFECT_LIVE;
      json_array_add_string_element (names, bkt_operation_get_detail_string (op, "name"));
    }
  json_object_set_string_member (req, "method", method);
  json_object_set_array_member (req, "packages", names);
  json_object_set_boolean_member (req, "now", now);
  /* The session has just made the one existence check (or was told not
   * to): the system instance need not ask dnf again.  Not a safety check
   * — rpm-ostree refuses unknown packages itself — and names are
   * validated there all the same. */
  json_object_set_boolean_member (req, "force", TRUE);
  return req;
}

/* A flatpak change: the one system operation, as the Admin call to make. */
static JsonObject *
flatpak_system_request (Request *r)
{
  for (guint i = 0; i < bkt_plan_get_n_operations (r->out.plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (r->out.plan, i);
      const char *action = bkt_operation_get_action (op);
      JsonObject *req;

      if (bkt_operation_get_scope (op) != BKT_SCOPE_SYSTEM || !g_str_equal (bkt_operation_get_subsystem (op), "flatpak"))
        continue;
      req = json_object_new ();
      if (g_str_equal (action, "install"))
        {
          json_object_set_string_member (req, "method", "FlatpakInstall");
          json_object_set_string_member (req, "remote", bkt_operation_get_detail_string (op, "remote"));
        }
      else
        json_object_set_string_member (req, "method", "FlatpakUninstall");
      json_object_set_string_member (req, "id", bkt_operation_get_detail_string (op, "id"));
      json_object_set_boolean_member (req, "force", r->opt.force);
      return req;
    }
  return NULL;
}

/* (see docs/architecture.md) */
void
bkt_daemon_add_system_request (Request *r, JsonObject *plan_json)
{
  JsonObject *req = NULL;

  if (r->daemon->instance != BKT_INSTANCE_SESSION || !plan_has_scope (r->out.plan, BKT_SCOPE_SYSTEM))
    {
      json_object_set_null_member (plan_json, "system_request");
      return;
    }
  if (r->kind == REQ_PLAN || r->kind == REQ_APPLY)
    {
      g_autofree char *content = bkt_manifest_set_to_system_content (r->out.manifests);
      json_object_set_string_member (plan_json, "system_request", content);
      return;
    }
  if (g_strcmp0 (r->change.subsystem, "dnf") == 0)
    req = dnf_system_request (r->out.plan);
  else
    req = flatpak_system_request (r);
  if (req != NULL)
    json_object_set_object_member (plan_json, "system_request", req);
  else
    json_object_set_null_member (plan_json, "system_request");
}
