/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-exec-context.h"
#include "bkt-manifest.h"
#include "bkt-plan.h"

G_BEGIN_DECLS

/* Every subsystem has the same shape: read live state once → compare with
 * manifests → operations; execute a batch of its own operations reporting
 * one result each.  Subsystem objects are created per request and read the
 * live state at most once (load_live), so a plan sees one consistent state.
 *
 * A subsystem is created for the scopes its instance may *read*
 * (the session reads system flatpaks too, to plan and show status) and only
 * executes operations of the scope its instance owns: the engine filters. */
/* One item for three-way classification (bkt-state-record.h): its target
 * and scope as the subsystem's operations name them, and comparable
 * fingerprints of the value the manifests declare and of the live value
 * (NULL: not declared / absent here). */
typedef struct {
  char     *target;
  BktScope  scope;
  char     *manifest;
  char     *live;
  BktManifestKind kind;  /* the manifest kind that declares it ... */
  char     *key;         /* ... under this entry key; NULL when undeclared */
} BktItem;

BktItem *bkt_item_new  (const char *target, BktScope scope, const char *manifest,
                        const char *live, BktManifestKind kind, const char *key);
void     bkt_item_free (BktItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktItem, bkt_item_free)

#define BKT_TYPE_SUBSYSTEM (bkt_subsystem_get_type ())
G_DECLARE_INTERFACE (BktSubsystem, bkt_subsystem, BKT, SUBSYSTEM, GObject)

struct _BktSubsystemInterface
{
  GTypeInterface parent_iface;

  const char *(*get_name)     (BktSubsystem *self);
  gboolean    (*load_live)    (BktSubsystem *self, GCancellable *cancellable, GError **error);
  /* Append operations that make the live state match @manifests; entries
   * that cannot be planned on this machine (e.g. a schema that is not
   * installed) go to @warnings (char *) instead of failing the plan. */
  gboolean    (*plan_apply)   (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *ops,
                               GPtrArray *warnings, GError **error);
  /* Append "record" operations for live state missing from or different in
   * @manifests; things only the manifests have go to @warnings (char *). */
  gboolean    (*plan_capture) (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *ops,
                               GPtrArray *warnings, GError **error);
  /* Validate one change (e.g. action "add" with {"id": ...}) and append its
   * live operations followed by its "record"/"forget" operation. */
  gboolean    (*plan_change)  (BktSubsystem *self, BktManifestSet *manifests, const char *action,
                               GVariant *arguments, GPtrArray *ops, GError **error);
  /* {"tracked": N, "untracked": [{"target","summary"}...], ...subsystem extras} */
  JsonObject *(*status)       (BktSubsystem *self, BktManifestSet *manifests, GError **error);
  /* Execute @ops (all this subsystem's, none "record"/"forget"); report
   * each through @ctx.  Returns FALSE only when it could not go on at all. */
  gboolean    (*execute)      (BktSubsystem *self, GPtrArray *ops, BktExecContext *ctx,
                               GCancellable *cancellable, GError **error);
  /* Optional: append a BktItem for every item the manifests declare and
   * every live item apply or capture would touch, with the same targets
   * as the operations.  A subsystem without it stays two-way. */
  gboolean    (*items)        (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *items,
                               GError **error);
  /* Optional: the request says the manifests win (--theirs, --force), so
   * a subsystem that otherwise keeps what it finds on the machine and bkt
   * never synced (a dotfile the user had before: skel) may replace it. */
  void        (*set_overwrite) (BktSubsystem *self, gboolean overwrite);
  /* Optional (apply --prune): the typed operation that takes @target off
   * the machine — one of this subsystem's targets of @scope, which the
   * state record says bkt applied or recorded and which no manifest
   * declares any more (bkt-sync.c decides that; the subsystem only knows
   * how to undo it) — with *@live set to the live fingerprint items()
   * would give.  NULL (*@live NULL) when @target is not this subsystem's
   * or is not on the machine; NULL with *@live set when it is there but
   * this subsystem would not take it off (a file in a shim's place that
   * is no bkt shim): bkt-sync.c warns when that live value is not bkt's. */
  BktOperation *(*plan_prune) (BktSubsystem *self, const char *target, BktScope scope, char **live);
};

const char *bkt_subsystem_get_name     (BktSubsystem *self);
gboolean    bkt_subsystem_load_live    (BktSubsystem *self, GCancellable *cancellable, GError **error);
gboolean    bkt_subsystem_plan_apply   (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *ops,
                                        GPtrArray *warnings, GError **error);
gboolean    bkt_subsystem_plan_capture (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *ops,
                                        GPtrArray *warnings, GError **error);
gboolean    bkt_subsystem_plan_change  (BktSubsystem *self, BktManifestSet *manifests, const char *action,
                                        GVariant *arguments, GPtrArray *ops, GError **error);
JsonObject *bkt_subsystem_status       (BktSubsystem *self, BktManifestSet *manifests, GError **error);
gboolean    bkt_subsystem_execute      (BktSubsystem *self, GPtrArray *ops, BktExecContext *ctx,
                                        GCancellable *cancellable, GError **error);
gboolean    bkt_subsystem_has_items    (BktSubsystem *self);
void        bkt_subsystem_set_overwrite (BktSubsystem *self, gboolean overwrite);
gboolean    bkt_subsystem_items        (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *items,
                                        GError **error);
BktOperation *bkt_subsystem_plan_prune (BktSubsystem *self, const char *target, BktScope scope, char **live);

/* Manifest edits as operations, shared by every subsystem's capture and
 * change: "record" upserts @entry into @kind's file, "forget" removes @key.
 * The engine executes them against the writable layer in one atomic write
 * per file. */
BktOperation *bkt_operation_new_record (const char *subsystem, BktManifestKind kind,
                                        const char *target, const char *summary, JsonObject *entry);
BktOperation *bkt_operation_new_forget (const char *subsystem, BktManifestKind kind,
                                        const char *target, const char *summary, const char *key);
/* A "forget" of an item removed on this machine that the plan keeps only
 * when the state record says bkt synced it and it changed here since
 * (details "needs_base"): without a base, a declared item that is not on
 * the machine more likely never got there than was removed on purpose. */
BktOperation *bkt_operation_new_forget_removed_here (const char *subsystem, BktManifestKind kind,
                                                     const char *target, const char *summary, const char *key);
/* The same in a secondary list of @kind's file (bkt_manifest_upsert_in():
 * "copr_repos"), entries keyed by "name"; details carry "member". */
BktOperation *bkt_operation_new_record_in (const char *subsystem, BktManifestKind kind, const char *member,
                                           const char *target, const char *summary, JsonObject *entry);
BktOperation *bkt_operation_new_forget_in (const char *subsystem, BktManifestKind kind, const char *member,
                                           const char *target, const char *summary, const char *name);

G_END_DECLS
