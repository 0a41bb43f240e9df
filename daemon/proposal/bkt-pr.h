/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-exec-context.h"
#include "bkt-plan.h"
#include "bkt-pr-queue.h"
#include "bkt-repo.h"

G_BEGIN_DECLS

/* Command punning: a change acts locally, records, and proposes itself to
 * the distribution repo.  The proposal is part of the same plan, as
 * operations of subsystem "pr" that run after the local ones:
 *
 *   pr:journal     (--local) keep the change for `bkt local commit`
 *   pr:commit-push commit the repo's own manifest file(s), edited, on a new
 *                  branch from the fetched default branch; push it
 *   pr:open-pr     open the pull request through the forge's REST API
 *
 * See docs/punning.md. */

typedef enum {
  BKT_CHANGE_MODE_PR,        /* default: act + record + PR */
  BKT_CHANGE_MODE_LOCAL,     /* act + record + journal, no PR */
  BKT_CHANGE_MODE_PR_ONLY,   /* PR only: nothing changes locally */
  BKT_CHANGE_MODE_IMAGE,     /* build time: record + PR, no live action */
} BktChangeMode;

gboolean    bkt_change_mode_from_string (const char *s, BktChangeMode *out);
const char *bkt_change_mode_to_string   (BktChangeMode mode);
/* Does this mode open a pull request? */
gboolean    bkt_change_mode_proposes    (BktChangeMode mode);

/* Where the proposal goes: the discovered repo (or NULL, discovered again
 * at execution) and the discovery inputs for later. */
typedef struct {
  BktRepo    *repo;
  const char *repo_dir;
  const char *cwd;
  const char *command;   /* the client's command line, for the PR body */
} BktPrTarget;

/* @change (a "change" plan from the engine) reshaped for @mode: live
 * operations dropped (pr-only, image), manifest edits dropped (pr-only),
 * then the "pr" operations appended. */
BktPlan    *bkt_pr_plan_change (BktPlan *change, BktChangeMode mode, const BktPrTarget *target,
                                const char *subsystem, const char *action, GVariant *arguments,
                                GError **error);
/* One PR from the selected local entries (@ids NULL/empty: all of them). */
BktPlan    *bkt_pr_plan_local_commit (BktPrQueue *queue, const gint64 *ids, guint n_ids,
                                      const BktPrTarget *target, GError **error);
/* capture --pr: @capture (a "capture" plan from the engine) followed by
 * ONE proposal of its record/forget edits, one commit per subsystem and
 * one draft changelog entry listing them (bkt-pr-capture.h). */
BktPlan    *bkt_pr_plan_capture (BktPlan *capture, const BktPrTarget *target, GError **error);
/* One PR per failed entry. */
BktPlan    *bkt_pr_plan_retry (BktPrQueue *queue, const BktPrTarget *target, GError **error);

/* What the plan would propose, from the repo as it is (no fetch):
 * {"repo", "branch", "base", "title", "body", "files", "diff", "changelog"
 * (the draft entries' paths)}; NULL if the
 * plan proposes nothing. */
JsonObject *bkt_pr_preview (BktPlan *plan, GError **error);

/* What the PR will need: {"ok", "checks": [{"name","ok","detail","fix"}]}.
 * @repo NULL: discovery failed with @repo_error.  @network: also connect
 * to the remote. */
JsonObject *bkt_pr_preflight (BktRepo *repo, const GError *repo_error, gboolean network);
/* The same checks for every repo @plan's "pr" operations propose to
 * (LocalCommit, PrRetry), with the network check. */
JsonObject *bkt_pr_preflight_plan (BktPlan *plan);
/* The failed checks as one message with their fixes. */
char       *bkt_pr_preflight_message (JsonObject *preflight);

/* Execute the "pr" operations of @plan, after the local ones.  @local_ok:
 * the local part (live operations and manifest edits) succeeded; if not,
 * nothing is proposed.  Adds "pr" (and "journal") to @result.  FALSE if a
 * pr operation failed (the change is then in the queue). */
gboolean    bkt_pr_execute (BktPlan *plan, gboolean local_ok, BktExecContext *ctx,
                            JsonObject *result, GCancellable *cancellable, GError **error);

G_END_DECLS
