/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The daemon's plan and transaction results, parsed once into a typed
 * view that the change flow (bkt-change.c) and the rendering share.
 * Strings are borrowed from the JSON the view holds a reference to. */

typedef enum {
  BKT_OUTCOME_NONE,      /* nothing of this kind was planned */
  BKT_OUTCOME_DONE,      /* all planned, all succeeded */
  BKT_OUTCOME_NOT_DONE,  /* some did not run */
  BKT_OUTCOME_FAILED,    /* at least one failed */
} BktOutcome;

typedef struct {
  const char *id;
  const char *subsystem;
  const char *scope;        /* "user", "system" or NULL */
  const char *summary;      /* what it does, for people ("Install flatpak:…") */
  gboolean    manifest_edit; /* effect "manifest": a record in the user overlay */
  gboolean    proposal;     /* subsystem "pr": the pull request itself */
  /* from the results, once bkt_reply_set_results() has run */
  gboolean    ran;
  gboolean    success;
} BktReplyOp;

/* A pull request: planned (dry run) or opened/queued (result). */
typedef struct {
  JsonObject *object;       /* borrowed: the whole "pr" member */
  const char *state;        /* "opened", "unchanged", "queued" or NULL (a preview) */
  const char *url;
  const char *branch;
  const char *base;
  const char *title;
  const char *error;
  const char *diff;         /* the repo's diff ("" when nothing changed), or NULL */
  gint64      queued_id;
  const char *repo_path;
  const char *repo_owner;
  const char *repo_name;
  JsonArray  *changelog;    /* draft entries (strings), or NULL */
} BktReplyPr;

/* One check of a pull request's preflight (dry run). */
typedef struct {
  const char *name;
  const char *detail;
  const char *fix;          /* or NULL */
  gboolean    ok;
} BktReplyCheck;

typedef struct {
  JsonObject *plan;         /* owned reference */
  const char *mode;         /* "pr", "local", "pr-only", "image" or NULL */
  GArray     *ops;          /* BktReplyOp, in plan order */
  JsonNode   *system_request; /* borrowed, or NULL */
  gboolean    has_pr_preview;
  BktReplyPr  pr_preview;   /* the plan's "pr" (dry run) */
  gboolean    preflight_failed; /* the PR would fail: see the checks */
  GArray     *preflight;    /* BktReplyCheck */
  /* results */
  JsonArray  *results;      /* owned reference, or NULL */
  guint       n_ok;
  guint       n_failed;
} BktReplyPlan;

BktReplyPlan *bkt_reply_plan_new  (JsonObject *plan);
void          bkt_reply_plan_free (BktReplyPlan *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktReplyPlan, bkt_reply_plan_free)

guint      bkt_reply_plan_n_operations (BktReplyPlan *view);
/* The operation @id, or NULL. */
const BktReplyOp *bkt_reply_plan_find (BktReplyPlan *view, const char *id);
/* Does the plan act (not only record) in @scope? */
gboolean   bkt_reply_plan_acts_in     (BktReplyPlan *view, const char *scope);
/* Match @results (per-operation {id, success}) to the plan's operations. */
void       bkt_reply_plan_set_results (BktReplyPlan *view, JsonArray *results);
/* Did the live operations (@manifest_edits FALSE) or the records (TRUE)
 * run, and did they all succeed?  Proposals are left out. */
BktOutcome bkt_reply_plan_outcome     (BktReplyPlan *view, gboolean manifest_edits);
const char *bkt_outcome_to_string     (BktOutcome outcome);

/* The session transaction's Result beyond its operations: the pull
 * request and the local journal entry. */
typedef struct {
  JsonObject *result;       /* owned reference */
  gboolean    has_pr;
  BktReplyPr  pr;
  gboolean    has_journal;
  gint64      journal_id;
  JsonObject *journal;      /* borrowed */
  JsonNode   *prs;          /* borrowed, or NULL */
} BktReplyResult;

BktReplyResult *bkt_reply_result_new  (JsonObject *result);
void            bkt_reply_result_free (BktReplyResult *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktReplyResult, bkt_reply_result_free)

G_END_DECLS
