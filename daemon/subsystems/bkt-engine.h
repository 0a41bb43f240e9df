/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"
#include "bkt-sync.h"

G_BEGIN_DECLS

typedef enum {
  BKT_INSTANCE_SESSION,
  BKT_INSTANCE_SYSTEM,
} BktInstance;

/* The composite: which subsystems exist for an instance, in which order
 * they plan and execute, which scope the instance executes. */
#define BKT_TYPE_ENGINE (bkt_engine_get_type ())
G_DECLARE_FINAL_TYPE (BktEngine, bkt_engine, BKT, ENGINE, GObject)

/* Replaces aliases ("gsetting") by the registry's names in place; FALSE
 * with BKT_ERROR_INVALID_ARGUMENT if a name is unknown.  The subsystems,
 * their names and order are in bkt-subsystem-registry.[ch]. */
gboolean bkt_engine_check_subsystem_names (char **names, GError **error);

/* A fresh engine reads live state once; create one per request.
 * @only/@exclude: subsystem filters (NULL = no filter). */
BktEngine *bkt_engine_new (BktInstance          instance,
                           const char * const  *only,
                           const char * const  *exclude,
                           GError             **error);

BktInstance bkt_engine_get_instance (BktEngine *self);
/* How plans settle items changed on this machine or on both sides
 * (bkt-sync.h); set before planning. */
void        bkt_engine_set_resolution (BktEngine *self, BktResolve resolve, gboolean force);
BktScope    bkt_engine_get_scope    (BktEngine *self);
/* apply --prune: apply plans also take off the machine what bkt applied or
 * recorded and no manifest declares any more (bkt_sync_plan_prune). */
void        bkt_engine_set_prune    (BktEngine *self, gboolean prune);
/* Which untracked items a capture records (bkt-capture-select.h): only
 * the @select ones (NULL: no selection), or all of them. */
void        bkt_engine_set_capture_selection (BktEngine *self, const char * const *select,
                                              gboolean all_untracked);

/* Full plan (every scope the instance can read). */
BktPlan    *bkt_engine_plan_apply   (BktEngine *self, BktManifestSet *manifests, GCancellable *c, GError **error);
BktPlan    *bkt_engine_plan_capture (BktEngine *self, BktManifestSet *manifests, GCancellable *c, GError **error);
BktPlan    *bkt_engine_plan_change  (BktEngine *self, BktManifestSet *manifests, const char *subsystem,
                                     const char *action, GVariant *arguments, GCancellable *c, GError **error);
/* {"instance", "subsystems": {NAME: {...status, "drift": [op...], "unknown": [{target, summary, reason}...],
 *   "drifted": N}}, "operations": N, "unknown": N}; per subsystem tracked = in_sync + drifted + unknown. */
JsonObject *bkt_engine_status       (BktEngine *self, BktManifestSet *manifests, GCancellable *c, GError **error);

/* The selected subsystems (BktSubsystem, execution order; owned by the
 * engine) with their live state read, for readers of their own
 * (bkt-profile.c); NULL with @error if a live state cannot be read. */
GPtrArray  *bkt_engine_load_subsystems (BktEngine *self, GCancellable *c, GError **error);
/* One item as `bkt drift explain` shows it (bkt-explain.h); NULL with
 * BKT_ERROR_NOT_FOUND when @query names nothing here. */
JsonObject *bkt_engine_explain      (BktEngine *self, BktManifestSet *manifests, const char *query,
                                     GCancellable *c, GError **error);

/* Execute the operations of @plan that belong to this instance's scope,
 * subsystem by subsystem; manifest edits ("record"/"forget") are applied to
 * @manifests' writable layer with one atomic write per file.  Runs
 * synchronously (call it from a worker thread).  FALSE if any operation
 * failed or execution had to stop. */
gboolean    bkt_engine_execute      (BktEngine *self, BktPlan *plan, BktManifestSet *manifests,
                                     BktExecContext *ctx, GCancellable *c, GError **error);

G_END_DECLS
