/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-git.h"
#include "bkt-plan.h"

G_BEGIN_DECLS

/* `bkt capture --pr` (used by bkt-pr.c only): the items a capture plan
 * records or forgets, proposed as ONE pull request with one commit per
 * subsystem and one draft changelog entry listing them all
 * (docs/punning.md, "Capturing what changed here"). */

/* One commit of the series: path → GBytes, and its message. */
typedef struct {
  GHashTable *files;
  char       *message;
} BktPrCommit;

void bkt_pr_commit_free (BktPrCommit *commit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktPrCommit, bkt_pr_commit_free)

/* Appends to @items ({"subsystem","action","name","describe","summary",
 * "command","captured": true}) and @edits (each with its "subsystem") the
 * manifest edits of @capture; @command is the client's.  An edit of
 * another manifest than its subsystem's is refused, as for any punned
 * change.  FALSE with @error when there is nothing to propose. */
gboolean   bkt_pr_capture_collect (BktPlan *capture, const char *command, JsonArray *items,
                                   JsonArray *edits, GError **error);

/* Whether @items came from a capture (bkt_pr_capture_collect). */
gboolean   bkt_pr_capture_is_capture (JsonArray *items);

/* The one draft changelog entry listing @items; its path in @rel_path. */
GBytes    *bkt_pr_capture_draft_entry (JsonArray *items, char **rel_path, GError **error);

/* The series for @details (a commit-push's): one BktPrCommit per
 * subsystem, in the items' order, each with the repo's own files edited
 * by that subsystem's edits; the draft entry goes with the last.  A
 * subsystem whose edits the repo already has makes no commit: an empty
 * array means the repo already says everything.  @diff_out: the whole
 * diff. */
GPtrArray *bkt_pr_capture_commits (BktGit *git, JsonObject *details, char **diff_out, GError **error);

G_END_DECLS
