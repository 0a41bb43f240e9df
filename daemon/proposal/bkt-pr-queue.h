/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The journal of changes not (yet) proposed: $XDG_DATA_HOME/bkt/pr-queue.json
 *   {"next_id": N, "entries": [ENTRY...]}
 * ENTRY: {"id": N, "state": "local"|"failed", "created": UNIX,
 *         "summary", "command", "subsystem", "action", "name",
 *         "edits": [{"manifest", "action": "record"|"forget", "entry"|"key"}],
 *         "error"?, "branch"? (already pushed: only the PR request is left)}
 *
 * "local": made with --local, waiting for `bkt local commit`.
 * "failed": its push or PR request failed; `bkt pr retry` tries again.
 * Every change is atomic (temp file + rename) so nothing is lost. */
#define BKT_TYPE_PR_QUEUE (bkt_pr_queue_get_type ())
G_DECLARE_FINAL_TYPE (BktPrQueue, bkt_pr_queue, BKT, PR_QUEUE, GObject)

/* The user's queue (or @path); a missing file is an empty queue. */
BktPrQueue *bkt_pr_queue_load (const char *path, GError **error);
char       *bkt_pr_queue_default_path (void);

/* Adds a copy of @entry with a new id and "created"; saves.  Returns the id. */
gint64      bkt_pr_queue_add    (BktPrQueue *self, JsonObject *entry, GError **error);
/* Removes the entries with these ids; saves. */
gboolean    bkt_pr_queue_remove (BktPrQueue *self, const gint64 *ids, guint n_ids, GError **error);
JsonObject *bkt_pr_queue_lookup (BktPrQueue *self, gint64 id);
/* Entries (borrowed JsonObjects) in id order, of @state or all (NULL). */
GPtrArray  *bkt_pr_queue_list   (BktPrQueue *self, const char *state);
/* {"path", "entries": [...]} (a copy). */
JsonObject *bkt_pr_queue_to_json (BktPrQueue *self);

/* Deep copies (json_node_copy() shares objects and arrays): plans are
 * immutable and the queue edits its entries, so neither may share. */
JsonObject *bkt_pr_json_object_copy (JsonObject *object);
JsonArray  *bkt_pr_json_array_copy  (JsonArray *array);

G_END_DECLS
