/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-state-record.h"
#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* How a run settles items changed on this machine (apply) or on both
 * sides (apply and capture): see docs/manifests.md, "Which side changed". */
typedef enum {
  BKT_RESOLVE_ASK,     /* apply stops with the list; capture leaves conflicts out */
  BKT_RESOLVE_THEIRS,  /* the manifests win */
  BKT_RESOLVE_OURS,    /* this machine wins */
} BktResolve;

gboolean bkt_resolve_from_string (const char *s, BktResolve *out);

/* Three-way sync for one engine: the records it reads (the user's only
 * for the session instance), the items of the classifying subsystems, the
 * classification of plans, the record update after execution. */
typedef struct _BktSync BktSync;

BktSync *bkt_sync_new  (gboolean with_user_record);
void     bkt_sync_free (BktSync *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktSync, bkt_sync_free)

/* Reads @subsystem's items once (no-op for a two-way subsystem). */
gboolean bkt_sync_add_items (BktSync *self, BktSubsystem *subsystem, BktManifestSet *manifests,
                             GError **error);

/* Annotates each of @ops (plan @kind "apply", "capture" or "change") and
 * removes what the plan must not do: a capture leaves out items never
 * synced here, changed in the manifests, or in conflict (unless
 * @resolve is OURS or @force); an apply with OURS leaves out what was
 * changed here.  Grouped warnings go to @warnings. */
void bkt_sync_classify (BktSync *self, const char *kind, GPtrArray *ops, GPtrArray *warnings,
                        BktResolve resolve, gboolean force);

/* apply --prune: appends to @ops, for every entry of the readable
 * records that bkt applied or recorded (bkt_record_entry_is_bkts) and
 * that no manifest declares in its scope any more, the operation of the
 * classifying subsystem of @subsystems (BktSubsystem*) that takes it off
 * the machine — only while the live value is still the one bkt synced: an
 * item changed since (by hand, by another tool) is kept, with a warning.
 * Targets @ops already acts on are left to those operations.  Each added
 * operation's "sync" has "direction": "prune" and its base. */
void bkt_sync_plan_prune (BktSync *self, GPtrArray *subsystems, GPtrArray *ops, GPtrArray *warnings);

/* Whether @op was planned by bkt_sync_plan_prune. */
gboolean bkt_sync_is_prune (BktOperation *op);

/* Warnings about the records (corrupt: two-way), each once. */
void bkt_sync_add_record_warnings (BktSync *self, GPtrArray *warnings);
/* One warning for a group of targets: "N WHAT: a, b, c, d, e (and N more); FIX"
 * (nothing when @targets is empty or @warnings NULL). */
void bkt_sync_warn_targets (GPtrArray *warnings, GPtrArray *targets, const char *what, const char *fix);

/* After execution: the base of @scope's items becomes the value the
 * successful operations of @done (BktOperation*) agreed on, and items in
 * sync are seeded; one atomic write of @scope's record. */
gboolean bkt_sync_update_record (BktSync *self, BktScope scope, const char *kind, GPtrArray *done,
                                 BktManifestSet *manifests, GError **error);

/* {"to_apply","to_capture","conflict","never_synced","in_sync_base"}
 * counts of the classified @ops (an apply plan). */
JsonObject *bkt_sync_counts (GPtrArray *ops);

/* The original tool's next_actions: [{"description","command","priority",
 * "count"}] from summed counts (bkt_sync_counts) and untracked items. */
JsonArray *bkt_sync_next_actions (JsonObject *totals, gint64 untracked);

/* The item of @target in @scope or NULL. */
const BktItem *bkt_sync_lookup (BktSync *self, const char *target, BktScope scope);
BktStateRecord *bkt_sync_get_record (BktSync *self, BktScope scope);
/* The items (const BktItem*, sorted by target and scope) that @query
 * names: a target ("gsetting:SCHEMA.KEY"), a target without its prefix
 * ("org.gnome.Boxes", a uuid, a shim name), or a declared entry's key
 * ("SCHEMA KEY"). */
GPtrArray *bkt_sync_match (BktSync *self, const char *query);

G_END_DECLS
