/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-engine.h"
#include "bkt-capture-select.h"
#include "bkt-error.h"
#include "bkt-explain.h"
#include "bkt-subsystem-registry.h"
#include "bkt-sync.h"

struct _BktEngine
{
  GObject      parent_instance;
  BktInstance  instance;
  GPtrArray   *subsystems;   /* of BktSubsystem, in execution order */
  gboolean     loaded;
  BktSync     *sync;         /* records + items, read with the live state */
  BktResolve   resolve;
  gboolean     force;
  gboolean     prune;
  GStrv        select;         /* capture: only these items */
  gboolean     all_untracked;  /* capture: every untracked item too */
};

G_DEFINE_TYPE (BktEngine, bkt_engine, G_TYPE_OBJECT)

gboolean
bkt_engine_check_subsystem_names (char **names, GError **error)
{
  return bkt_subsystem_registry_canonicalize (names, error);
}

/* Whether a filter list names @row (by its canonical name: lists are
 * canonicalised first). */
static gboolean
names_row (const char * const *names, const BktSubsystemInfo *row)
{
  return names != NULL && g_strv_contains (names, row->name);
}

static void
bkt_engine_finalize (GObject *object)
{
  BktEngine *self = BKT_ENGINE (object);

  g_ptr_array_unref (self->subsystems);
  g_clear_pointer (&self->sync, bkt_sync_free);
  g_strfreev (self->select);
  G_OBJECT_CLASS (bkt_engine_parent_class)->finalize (object);
}

static void
bkt_engine_class_init (BktEngineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_engine_finalize;
}

static void
bkt_engine_init (BktEngine *self)
{
  self->subsystems = g_ptr_array_new_with_free_func (g_object_unref);
}

BktEngine *
bkt_engine_new (BktInstance          instance,
                const char * const  *only,
                const char * const  *exclude,
                GError             **error)
{
  g_autoptr(BktEngine) self = NULL;
  g_auto(GStrv) only_names = g_strdupv ((char **) only);
  g_auto(GStrv) exclude_names = g_strdupv ((char **) exclude);
  gboolean filtered = only_names != NULL && only_names[0] != NULL;
  const BktSubsystemInfo *rows;
  guint n_rows;

  if (!bkt_subsystem_registry_canonicalize (only_names, error) ||
      !bkt_subsystem_registry_canonicalize (exclude_names, error))
    return NULL;

  self = g_object_new (BKT_TYPE_ENGINE, NULL);
  self->instance = instance;
  rows = bkt_subsystem_registry (&n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      const BktSubsystemInfo *row = &rows[i];

      if ((filtered || row->on_request_only) && !names_row ((const char * const *) only_names, row))
        continue;
      if (names_row ((const char * const *) exclude_names, row))
        continue;
      if ((row->instances & (1 << instance)) == 0)
        continue;
      g_ptr_array_add (self->subsystems, row->create (instance));
    }
  return g_steal_pointer (&self);
}

BktInstance
bkt_engine_get_instance (BktEngine *self)
{
  return self->instance;
}

BktScope
bkt_engine_get_scope (BktEngine *self)
{
  return self->instance == BKT_INSTANCE_SYSTEM ? BKT_SCOPE_SYSTEM : BKT_SCOPE_USER;
}

void
bkt_engine_set_resolution (BktEngine *self, BktResolve resolve, gboolean force)
{
  self->resolve = resolve;
  self->force = force;
  for (guint i = 0; i < self->subsystems->len; i++)
    bkt_subsystem_set_overwrite (g_ptr_array_index (self->subsystems, i), resolve == BKT_RESOLVE_THEIRS || force);
}

void
bkt_engine_set_prune (BktEngine *self, gboolean prune)
{
  self->prune = prune;
}

void
bkt_engine_set_capture_selection (BktEngine *self, const char * const *select, gboolean all_untracked)
{
  g_strfreev (self->select);
  self->select = g_strdupv ((char **) select);
  self->all_untracked = all_untracked;
}

static gboolean
ensure_loaded (BktEngine *self, GCancellable *c, GError **error)
{
  if (self->loaded)
    return TRUE;
  for (guint i = 0; i < self->subsystems->len; i++)
    if (!bkt_subsystem_load_live (g_ptr_array_index (self->subsystems, i), c, error))
      return FALSE;
  /* The records are read with the live state: one consistent picture. */
  self->sync = bkt_sync_new (self->instance == BKT_INSTANCE_SESSION);
  self->loaded = TRUE;
  return TRUE;
}

GPtrArray *
bkt_engine_load_subsystems (BktEngine *self, GCancellable *c, GError **error)
{
  return ensure_loaded (self, c, error) ? self->subsystems : NULL;
}

/* The items of every classifying subsystem, before anything executes: the
 * values both sides had, which the record keeps after execution. */
static gboolean
ensure_items (BktEngine *self, BktManifestSet *manifests, GError **error)
{
  for (guint i = 0; i < self->subsystems->len; i++)
    if (!bkt_sync_add_items (self->sync, g_ptr_array_index (self->subsystems, i), manifests, error))
      return FALSE;
  return TRUE;
}

/* Only the items of the subsystems @ops touch: what an apply plan without
 * prune classifies (an item changed on either side is an operation; one
 * in sync is none).  A plan of a machine in sync so reads no items at all,
 * and the rest are read by update_record() if the plan executes (their
 * state did not change: they had no operation). */
static gboolean
ensure_items_of (BktEngine *self, BktManifestSet *manifests, GPtrArray *ops, GError **error)
{
  for (guint i = 0; i < self->subsystems->len; i++)
    {
      BktSubsystem *s = g_ptr_array_index (self->subsystems, i);
      gboolean touched = FALSE;

      for (guint k = 0; k < ops->len && !touched; k++)
        touched = g_str_equal (bkt_operation_get_subsystem (g_ptr_array_index (ops, k)), bkt_subsystem_get_name (s));
      if (touched && !bkt_sync_add_items (self->sync, s, manifests, error))
        return FALSE;
    }
  return TRUE;
}

static BktSubsystem *
find_subsystem (BktEngine *self, const char *name_or_alias)
{
  const BktSubsystemInfo *row = bkt_subsystem_registry_lookup (name_or_alias);
  const char *name = row != NULL ? row->name : name_or_alias;

  for (guint i = 0; i < self->subsystems->len; i++)
    {
      BktSubsystem *s = g_ptr_array_index (self->subsystems, i);
      if (g_strcmp0 (bkt_subsystem_get_name (s), name) == 0)
        return s;
    }
  return NULL;
}

typedef gboolean (*PlanFunc) (BktSubsystem *s, BktManifestSet *m, GPtrArray *ops,
                              GPtrArray *warnings, GError **error);

static BktPlan *
plan_all (BktEngine *self, const char *kind, PlanFunc func, BktManifestSet *manifests,
          GCancellable *c, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);

  if (!ensure_loaded (self, c, error))
    return NULL;
  for (guint i = 0; i < self->subsystems->len; i++)
    if (!func (g_ptr_array_index (self->subsystems, i), manifests, ops, warnings, error))
      return NULL;
  /* Prune looks at every item bkt recorded, capture's selection at every
   * item there is; an apply plan only at those it changes. */
  if (g_str_equal (kind, "apply") && !self->prune ? !ensure_items_of (self, manifests, ops, error)
                                                  : !ensure_items (self, manifests, error))
    return NULL;
  bkt_sync_add_record_warnings (self->sync, warnings);
  bkt_sync_classify (self->sync, kind, ops, warnings, self->resolve, self->force);
  if (self->prune && g_str_equal (kind, "apply"))
    bkt_sync_plan_prune (self->sync, self->subsystems, ops, warnings);
  if (g_str_equal (kind, "capture") &&
      !bkt_capture_select (self->sync, ops, warnings, (const char * const *) self->select, self->all_untracked,
                           error))
    return NULL;
  g_ptr_array_add (warnings, NULL);
  return bkt_plan_new (kind, ops, (const char * const *) warnings->pdata);
}

BktPlan *
bkt_engine_plan_apply (BktEngine *self, BktManifestSet *manifests, GCancellable *c, GError **error)
{
  return plan_all (self, "apply", bkt_subsystem_plan_apply, manifests, c, error);
}

BktPlan *
bkt_engine_plan_capture (BktEngine *self, BktManifestSet *manifests, GCancellable *c, GError **error)
{
  return plan_all (self, "capture", bkt_subsystem_plan_capture, manifests, c, error);
}

BktPlan *
bkt_engine_plan_change (BktEngine *self, BktManifestSet *manifests, const char *subsystem,
                        const char *action, GVariant *arguments, GCancellable *c, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  BktSubsystem *s = find_subsystem (self, subsystem);

  if (s == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unknown subsystem “%s”", subsystem), NULL;
  if (!ensure_loaded (self, c, error))
    return NULL;
  if (!bkt_subsystem_plan_change (s, manifests, action, arguments, ops, error))
    return NULL;
  if (!ensure_items (self, manifests, error))
    return NULL;
  bkt_sync_classify (self->sync, "change", ops, NULL, self->resolve, self->force);
  return bkt_plan_new ("change", ops, NULL);
}

/* The manifest entries a subsystem owns, so that `bkt flatpak list` and
 * friends show the tracked items next to their live state. */
static void
add_entries (JsonObject *status, BktManifestSet *manifests, const char *subsystem)
{
  const BktSubsystemInfo *row = bkt_subsystem_registry_lookup (subsystem);

  for (guint i = 0; row != NULL && i < row->n_manifests; i++)
    {
      const BktSubsystemManifest *owned = &row->manifests[i];
      g_autoptr(JsonNode) wrap = NULL;

      if (owned->status_member == NULL)
        continue;
      wrap = json_node_new (JSON_NODE_ARRAY);
      json_node_set_array (wrap, bkt_manifest_get_entries (bkt_manifest_set_get (manifests, owned->kind)));
      json_object_set_member (status, owned->status_member, json_node_copy (wrap));
    }
}

/* Sums the subsystems' sync counts into @totals; untracked items too. */
static void
add_totals (JsonObject *totals, JsonObject *counts, JsonObject *st, gint64 *untracked)
{
  g_autoptr(GList) members = json_object_get_members (counts);
  JsonNode *u = json_object_get_member (st, "untracked");

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_int_member (totals, l->data, json_object_get_int_member_with_default (totals, l->data, 0) +
                                json_object_get_int_member (counts, l->data));
  if (u != NULL && JSON_NODE_HOLDS_ARRAY (u))
    *untracked += json_array_get_length (json_node_get_array (u));
}

/* The first run here (no record yet): what is in sync now is in sync by
 * definition, so it becomes the base at once — otherwise a change by hand
 * before the first apply would read as "never synced" and be reverted. */
static void
seed_first_record (BktEngine *self, BktManifestSet *manifests)
{
  BktScope scope = bkt_engine_get_scope (self);
  BktStateRecord *record = bkt_sync_get_record (self->sync, scope);
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  if (record == NULL || bkt_state_record_get_health (record) != BKT_RECORD_MISSING)
    return;
  if (!bkt_sync_update_record (self->sync, scope, "seed", none, manifests, &error))
    g_warning ("cannot seed the state record: %s", error->message);
}

/* {"user"|"system": {"path", "health": "ok"|"missing"|"corrupt", "items": N}} */
static JsonObject *
record_status (BktEngine *self)
{
  static const char * const health[] = { "ok", "missing", "corrupt" };
  JsonObject *out = json_object_new ();

  for (BktScope scope = BKT_SCOPE_USER; scope <= BKT_SCOPE_SYSTEM; scope++)
    {
      BktStateRecord *r = bkt_sync_get_record (self->sync, scope);
      JsonObject *o;

      if (r == NULL)
        continue;
      o = json_object_new ();
      json_object_set_string_member (o, "path", bkt_state_record_get_path (r));
      json_object_set_string_member (o, "health", health[bkt_state_record_get_health (r)]);
      json_object_set_int_member (o, "items", bkt_state_record_get_n_items (r));
      json_object_set_object_member (out, bkt_scope_to_string (scope), o);
    }
  return out;
}

/* Every declared item in exactly one state, and counts that add up:
 * tracked = in_sync + drifted + unknown.  "unknown" lists the entries that
 * cannot be checked on this machine (e.g. a schema that is not installed);
 * "drift" is the operations apply would perform, so an item that apply
 * acts on is drift and not also "untracked" (a bkt shim the manifests do
 * not list: apply removes it, capture would record it).  Returns the
 * number of unknown entries. */
static guint
account_states (JsonObject *st, GPtrArray *ops)
{
  g_autoptr(GHashTable) acted_on = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *untracked = json_object_has_member (st, "untracked") ? json_object_get_array_member (st, "untracked")
                                                                    : NULL;
  gint64 tracked = json_object_get_int_member_with_default (st, "tracked", 0);
  gint64 in_sync = json_object_get_int_member_with_default (st, "in_sync", 0);
  guint n_unknown;

  if (!json_object_has_member (st, "unknown"))
    json_object_set_array_member (st, "unknown", json_array_new ());
  n_unknown = json_array_get_length (json_object_get_array_member (st, "unknown"));

  for (guint i = 0; i < ops->len; i++)
    g_hash_table_add (acted_on, (gpointer) bkt_operation_get_target (g_ptr_array_index (ops, i)));
  for (guint i = untracked != NULL ? json_array_get_length (untracked) : 0; i > 0; i--)
    {
      JsonNode *item = json_array_get_element (untracked, i - 1);
      const char *target = JSON_NODE_HOLDS_OBJECT (item)
                           ? json_object_get_string_member_with_default (json_node_get_object (item), "target", NULL)
                           : NULL;
      if (target != NULL && g_hash_table_contains (acted_on, target))
        json_array_remove_element (untracked, i - 1);
    }
  json_object_set_int_member (st, "drifted", MAX (tracked - in_sync - (gint64) n_unknown, 0));
  return n_unknown;
}

/* What `bkt apply --prune` would remove (the operations, as JSON), its
 * number as totals' "to_prune": nothing of it is drift — a plain apply
 * leaves it — but status names the command. */
static JsonArray *
prune_candidates (BktEngine *self, GPtrArray *drift_ops, JsonObject *totals)
{
  JsonArray *out = json_array_new ();
  guint n = drift_ops->len;

  bkt_sync_plan_prune (self->sync, self->subsystems, drift_ops, NULL);
  for (guint i = n; i < drift_ops->len; i++)
    json_array_add_element (out, bkt_operation_to_json (g_ptr_array_index (drift_ops, i)));
  json_object_set_int_member (totals, "to_prune", drift_ops->len - n);
  return out;
}

/* A prune candidate is bkt's, not untracked: capture would not record it
 * (the manifests dropped it since bkt synced it), `apply --prune` removes
 * it.  Drops it from its subsystem's "untracked" (matching the scope where
 * the entry names one); returns how many went. */
static gint64
drop_pruned_untracked (JsonObject *subsystems, JsonArray *prune)
{
  g_autoptr(GHashTable) pruned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GList) names = json_object_get_members (subsystems);
  gint64 dropped = 0;

  for (guint i = 0; i < json_array_get_length (prune); i++)
    {
      JsonObject *op = json_array_get_object_element (prune, i);

      g_hash_table_add (pruned, g_strconcat (json_object_get_string_member (op, "scope"), "\t",
                                             json_object_get_string_member (op, "target"), NULL));
      g_hash_table_add (pruned, g_strconcat ("\t", json_object_get_string_member (op, "target"), NULL));
    }
  for (GList *l = names; l != NULL && g_hash_table_size (pruned) > 0; l = l->next)
    {
      JsonObject *st = json_object_get_object_member (subsystems, l->data);
      JsonNode *u = json_object_get_member (st, "untracked");
      JsonArray *untracked = u != NULL && JSON_NODE_HOLDS_ARRAY (u) ? json_node_get_array (u) : NULL;

      for (guint i = untracked != NULL ? json_array_get_length (untracked) : 0; i > 0; i--)
        {
          JsonNode *item = json_array_get_element (untracked, i - 1);
          JsonObject *o = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
          const char *target = o != NULL ? json_object_get_string_member_with_default (o, "target", NULL) : NULL;
          g_autofree char *key = target != NULL
                                 ? g_strconcat (json_object_get_string_member_with_default (o, "scope", ""), "\t",
                                                target, NULL)
                                 : NULL;

          if (key != NULL && g_hash_table_contains (pruned, key))
            {
              json_array_remove_element (untracked, i - 1);
              dropped++;
            }
        }
    }
  return dropped;
}

JsonObject *
bkt_engine_status (BktEngine *self, BktManifestSet *manifests, GCancellable *c, GError **error)
{
  g_autoptr(JsonObject) result = json_object_new ();
  g_autoptr(JsonObject) subsystems = json_object_new ();
  g_autoptr(GPtrArray) all_warnings = g_ptr_array_new_with_free_func (g_free);
  JsonArray *warnings = json_array_new ();
  g_autoptr(JsonObject) totals = json_object_new ();
  g_autoptr(GPtrArray) all_ops = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 untracked = 0;
  guint total = 0, unknown = 0;

  json_object_set_string_member (result, "instance",
                                 self->instance == BKT_INSTANCE_SYSTEM ? "system" : "session");
  if (!ensure_loaded (self, c, error))
    {
      json_array_unref (warnings);
      return NULL;
    }

  for (guint i = 0; i < self->subsystems->len; i++)
    {
      BktSubsystem *s = g_ptr_array_index (self->subsystems, i);
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(JsonObject) st = NULL;
      JsonArray *drift;

      if (!bkt_subsystem_plan_apply (s, manifests, ops, all_warnings, error))
        {
          json_array_unref (warnings);
          return NULL;
        }
      st = bkt_subsystem_status (s, manifests, error);
      if (st == NULL || !bkt_sync_add_items (self->sync, s, manifests, error))
        {
          json_array_unref (warnings);
          return NULL;
        }
      /* Which side changed: the same classification apply makes, with
       * nothing left out (status shows everything). */
      bkt_sync_classify (self->sync, "status", ops, NULL, BKT_RESOLVE_ASK, FALSE);
      json_object_set_object_member (st, "sync", bkt_sync_counts (ops));
      /* Drift is exactly what apply would do: the same plan, not a second
       * comparison that could disagree with it. */
      drift = json_array_new ();
      for (guint j = 0; j < ops->len; j++)
        {
          json_array_add_element (drift, bkt_operation_to_json (g_ptr_array_index (ops, j)));
          g_ptr_array_add (all_ops, g_object_ref (g_ptr_array_index (ops, j)));
        }
      json_object_set_array_member (st, "drift", drift);
      total += ops->len;
      unknown += account_states (st, ops);
      add_totals (totals, json_object_get_object_member (st, "sync"), st, &untracked);
      add_entries (st, manifests, bkt_subsystem_get_name (s));
      json_object_set_object_member (subsystems, bkt_subsystem_get_name (s), json_object_ref (st));
    }
  {
    JsonArray *prune = prune_candidates (self, all_ops, totals);

    untracked -= drop_pruned_untracked (subsystems, prune);
    json_object_set_array_member (result, "prune", prune);
  }
  seed_first_record (self, manifests);
  bkt_sync_add_record_warnings (self->sync, all_warnings);
  for (guint i = 0; i < all_warnings->len; i++)
    json_array_add_string_element (warnings, g_ptr_array_index (all_warnings, i));
  json_object_set_object_member (result, "record", record_status (self));
  json_object_set_object_member (result, "sync", json_object_ref (totals));
  json_object_set_array_member (result, "next_actions", bkt_sync_next_actions (totals, untracked));

  json_object_set_object_member (result, "subsystems", g_steal_pointer (&subsystems));
  json_object_set_int_member (result, "operations", total);
  json_object_set_int_member (result, "unknown", unknown);
  json_object_set_array_member (result, "warnings", warnings);
  return g_steal_pointer (&result);
}

JsonObject *
bkt_engine_explain (BktEngine *self, BktManifestSet *manifests, const char *query, GCancellable *c,
                    GError **error)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  JsonObject *out;
  JsonArray *w;

  if (!ensure_loaded (self, c, error) || !ensure_items (self, manifests, error))
    return NULL;
  out = bkt_explain (self->sync, manifests, query, error);
  if (out == NULL)
    return NULL;
  bkt_sync_add_record_warnings (self->sync, warnings);
  w = json_array_new ();
  for (guint i = 0; i < warnings->len; i++)
    json_array_add_string_element (w, g_ptr_array_index (warnings, i));
  json_object_set_array_member (out, "warnings", w);
  return out;
}

static gboolean
is_manifest_edit (BktOperation *op)
{
  return bkt_operation_get_effect (op) == BKT_EFFECT_MANIFEST;
}

/* Manifest edits: one load and one atomic write per file, whatever the
 * number of entries.  An edit for a target whose live operation failed is
 * not recorded: the manifest must not claim what the system did not do. */
static gboolean
execute_manifest_edits (BktEngine *self, GPtrArray *edits, GHashTable *failed_targets,
                        BktManifestSet *manifests, BktExecContext *ctx, GError **error)
{
  for (guint k = 0; k < BKT_MANIFEST_N_KINDS; k++)
    {
      g_autoptr(BktManifest) m = NULL;
      g_autoptr(GPtrArray) done = g_ptr_array_new ();
      g_autoptr(GError) local_error = NULL;
      const char *kind_name = bkt_manifest_kind_name (k);

      for (guint i = 0; i < edits->len; i++)
        {
          BktOperation *op = g_ptr_array_index (edits, i);
          const char *target = bkt_operation_get_target (op);
          JsonObject *details = bkt_operation_get_details (op);

          if (g_strcmp0 (bkt_operation_get_detail_string (op, "manifest"), kind_name) != 0)
            continue;
          if (g_hash_table_contains (failed_targets, target))
            {
              g_autoptr(GError) e = g_error_new (BKT_ERROR, BKT_ERROR_FAILED,
                                                 "not recorded: the change to %s failed", target);
              bkt_exec_context_op_done (ctx, op, e);
              continue;
            }
          if (m == NULL)
            {
              m = bkt_manifest_set_load_writable (manifests, k, &local_error);
              if (m == NULL)
                break;
            }
          /* The plan's entry is sealed; the manifest takes a copy. */
          bkt_manifest_apply_edit (m, bkt_operation_get_action (op), bkt_json_object_get_string (details, "member"),
                                   json_object_has_member (details, "entry")
                                   ? json_object_get_object_member (details, "entry") : NULL,
                                   bkt_operation_get_detail_string (op, "key"));
          g_ptr_array_add (done, op);
        }

      if (m != NULL && local_error == NULL)
        {
          bkt_manifest_sort (m);
          bkt_manifest_set_save_writable (manifests, m, &local_error);
        }
      for (guint i = 0; i < done->len; i++)
        bkt_exec_context_op_done (ctx, g_ptr_array_index (done, i), local_error);
      if (local_error != NULL)
        {
          /* Every edit of this file is reported failed; stop so that a
           * broken write location does not get half of a change. */
          for (guint i = 0; i < edits->len; i++)
            {
              BktOperation *op = g_ptr_array_index (edits, i);
              if (g_strcmp0 (bkt_operation_get_detail_string (op, "manifest"), kind_name) == 0 &&
                  !g_ptr_array_find (done, op, NULL))
                bkt_exec_context_op_done (ctx, op, local_error);
            }
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

typedef struct {
  BktExecContext *outer;
  GHashTable     *failed_targets;
  GPtrArray      *done;            /* of BktOperation, succeeded */
} TrackFailures;

static void
track_progress (gpointer user_data, BktOperation *op, double fraction, const char *detail)
{
  TrackFailures *t = user_data;
  bkt_exec_context_progress (t->outer, op, fraction, detail);
}

static void
track_op_done (gpointer user_data, BktOperation *op, const GError *error)
{
  TrackFailures *t = user_data;

  if (error != NULL)
    g_hash_table_add (t->failed_targets, g_strdup (bkt_operation_get_target (op)));
  else
    g_ptr_array_add (t->done, g_object_ref (op));
  bkt_exec_context_op_done (t->outer, op, error);
}

static void
track_message (gpointer user_data, const char *text)
{
  TrackFailures *t = user_data;
  bkt_exec_context_message (t->outer, "%s", text);
}

/* The items of @name, read afresh against @now (none for a two-way one). */
static gboolean
fresh_items (BktEngine *self, const char *name, BktManifestSet *now, GPtrArray *items, GError **error)
{
  const BktSubsystemInfo *row = bkt_subsystem_registry_lookup (name);
  g_autoptr(BktSubsystem) s = row != NULL ? row->create (self->instance) : NULL;

  if (s == NULL || !bkt_subsystem_has_items (s))
    return TRUE;
  return bkt_subsystem_load_live (s, NULL, error) && bkt_subsystem_items (s, now, items, error);
}

/* One item read after a change: its new base; left alone when the two
 * sides do not agree (mode "image" changed the manifests only). */
static void
record_changed_item (BktEngine *self, BktStateRecord *record, BktManifestSet *now, const BktItem *item)
{
  const char *layer = NULL;
  g_autofree char *file = NULL;

  /* The system instance sees no manifest (the session records the
   * change): the value its verified operation left is the new base. */
  if (self->instance == BKT_INSTANCE_SESSION && g_strcmp0 (item->manifest, item->live) != 0)
    return;
  if (item->live == NULL)
    {
      bkt_state_record_remove (record, item->target);
      return;
    }
  file = item->key != NULL ? bkt_manifest_set_declaring_file (now, item->kind, item->key, &layer) : NULL;
  bkt_state_record_set (record, item->target, item->live, layer, file, "change");
}

/* After a change (punned, local, or an Admin call): the base of each
 * target it touched becomes what both sides hold now — read again, since
 * the plan's items are the values from before it.  A target gone from both
 * sides leaves the record.  So `bkt flatpak add X` is in sync afterwards,
 * not "changed on this machine". */
static gboolean
record_change (BktEngine *self, BktManifestSet *manifests, GPtrArray *done, GError **error)
{
  BktScope scope = bkt_engine_get_scope (self);
  BktStateRecord *record = bkt_sync_get_record (self->sync, scope);
  g_autoptr(GHashTable) touched = g_hash_table_new (g_str_hash, g_str_equal);  /* target → subsystem */
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(BktManifestSet) now = NULL;
  GHashTableIter iter;
  gpointer key;

  if (record == NULL || done->len == 0)
    return TRUE;
  for (guint i = 0; i < done->len; i++)
    {
      BktOperation *op = g_ptr_array_index (done, i);
      g_hash_table_insert (touched, (gpointer) bkt_operation_get_target (op), (gpointer) bkt_operation_get_subsystem (op));
      g_hash_table_add (names, (gpointer) bkt_operation_get_subsystem (op));
    }
  now = bkt_manifest_set_reload (manifests, error);
  if (now == NULL)
    return FALSE;
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) bkt_item_free);

      if (!fresh_items (self, key, now, items, error))
        return FALSE;
      for (guint i = 0; i < items->len; i++)
        {
          const BktItem *item = g_ptr_array_index (items, i);

          if (item->scope != scope || !g_hash_table_remove (touched, item->target))
            continue;
          record_changed_item (self, record, now, item);
        }
    }
  /* Left: targets that are neither declared nor on the machine now. */
  g_hash_table_iter_init (&iter, touched);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (bkt_sync_lookup (self->sync, key, scope) != NULL)
      bkt_state_record_remove (record, key);
  return bkt_state_record_save (record, error);
}

/* After the operations verified their effect: what bkt synced, in this
 * instance's own record (the session's user record, root's system one). */
static gboolean
update_record (BktEngine *self, BktPlan *plan, BktManifestSet *manifests, GPtrArray *done,
               BktExecContext *ctx)
{
  const char *kind = bkt_plan_get_kind (plan);
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (kind, "change") == 0 && self->sync != NULL)
    {
      if (record_change (self, manifests, done, &error))
        return TRUE;
      bkt_exec_context_message (ctx, "warning: %s", error->message);
      return FALSE;
    }
  if (g_strcmp0 (kind, "apply") != 0 && g_strcmp0 (kind, "capture") != 0)
    return TRUE;
  if (!ensure_items (self, manifests, &error) ||
      !bkt_sync_update_record (self->sync, bkt_engine_get_scope (self), kind, done, manifests, &error))
    {
      bkt_exec_context_message (ctx, "warning: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
bkt_engine_execute (BktEngine *self, BktPlan *plan, BktManifestSet *manifests,
                    BktExecContext *ctx, GCancellable *c, GError **error)
{
  static const BktExecCallbacks tracking = { track_progress, track_op_done, track_message };
  g_autoptr(GHashTable) failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) edits = g_ptr_array_new ();
  g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func (g_object_unref);
  TrackFailures t = { ctx, failed, done };
  g_autoptr(BktExecContext) inner = bkt_exec_context_new (&tracking, &t);
  BktScope scope = bkt_engine_get_scope (self);

  if (!ensure_loaded (self, c, error))
    return FALSE;

  for (guint i = 0; i < self->subsystems->len; i++)
    {
      BktSubsystem *s = g_ptr_array_index (self->subsystems, i);
      const char *name = bkt_subsystem_get_name (s);
      g_autoptr(GPtrArray) ops = g_ptr_array_new ();

      for (guint j = 0; j < bkt_plan_get_n_operations (plan); j++)
        {
          BktOperation *op = bkt_plan_get_operation (plan, j);

          if (g_strcmp0 (bkt_operation_get_subsystem (op), name) != 0)
            continue;
          if (is_manifest_edit (op))
            {
              g_ptr_array_add (edits, op);
              continue;
            }
          /* Operations of the other instance's scope are not ours to run:
           * the caller sends them to that instance. */
          if (bkt_operation_get_scope (op) != scope)
            continue;
          g_ptr_array_add (ops, op);
        }
      if (ops->len == 0)
        continue;
      if (g_cancellable_set_error_if_cancelled (c, error))
        return FALSE;
      if (!bkt_subsystem_execute (s, ops, inner, c, error))
        return FALSE;
    }

  if (edits->len > 0)
    {
      if (self->instance == BKT_INSTANCE_SYSTEM)
        return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                                    "the system instance never writes manifests"), FALSE;
      if (g_cancellable_set_error_if_cancelled (c, error))
        return FALSE;
      if (!execute_manifest_edits (self, edits, failed, manifests, inner, error))
        return FALSE;
    }

  if (!update_record (self, plan, manifests, done, ctx))
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED,
                                "the changes were made but the state record could not be written"), FALSE;
  if (bkt_exec_context_get_n_failed (inner) > 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                        "%u operation(s) failed", bkt_exec_context_get_n_failed (inner)), FALSE;
  return TRUE;
}
