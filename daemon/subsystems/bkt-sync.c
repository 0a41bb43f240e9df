/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-capture-select.h"
#include "bkt-sync.h"

struct _BktSync
{
  BktStateRecord *records[2];   /* by BktScope; NULL: not readable here */
  GHashTable     *items;        /* "scope\ttarget" → BktItem* */
  GHashTable     *by_target;    /* target → BktItem* (first seen) */
  GHashTable     *classifying;  /* subsystem names with items */
};

gboolean
bkt_resolve_from_string (const char *s, BktResolve *out)
{
  if (g_strcmp0 (s, "theirs") == 0)
    *out = BKT_RESOLVE_THEIRS;
  else if (g_strcmp0 (s, "ours") == 0)
    *out = BKT_RESOLVE_OURS;
  else if (s == NULL || *s == '\0' || g_str_equal (s, "ask"))
    *out = BKT_RESOLVE_ASK;
  else
    return FALSE;
  return TRUE;
}

BktSync *
bkt_sync_new (gboolean with_user_record)
{
  BktSync *self = g_new0 (BktSync, 1);
  g_autofree char *system_dir = bkt_state_record_default_dir (BKT_SCOPE_SYSTEM);

  self->records[BKT_SCOPE_SYSTEM] = bkt_state_record_load (BKT_SCOPE_SYSTEM, system_dir);
  if (with_user_record)
    {
      g_autofree char *user_dir = bkt_state_record_default_dir (BKT_SCOPE_USER);
      self->records[BKT_SCOPE_USER] = bkt_state_record_load (BKT_SCOPE_USER, user_dir);
    }
  self->items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) bkt_item_free);
  self->by_target = g_hash_table_new (g_str_hash, g_str_equal);
  self->classifying = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
bkt_sync_free (BktSync *self)
{
  if (self == NULL)
    return;
  g_clear_object (&self->records[0]);
  g_clear_object (&self->records[1]);
  g_hash_table_unref (self->by_target);
  g_hash_table_unref (self->items);
  g_hash_table_unref (self->classifying);
  g_free (self);
}

static char *
item_key (BktScope scope, const char *target)
{
  return g_strconcat (bkt_scope_to_string (scope), "\t", target, NULL);
}

gboolean
bkt_sync_add_items (BktSync *self, BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new ();
  const char *name = bkt_subsystem_get_name (subsystem);

  if (!bkt_subsystem_has_items (subsystem) || g_hash_table_contains (self->classifying, name))
    return TRUE;
  if (!bkt_subsystem_items (subsystem, manifests, items, error))
    {
      g_ptr_array_set_free_func (items, (GDestroyNotify) bkt_item_free);
      return FALSE;
    }
  for (guint i = 0; i < items->len; i++)
    {
      BktItem *item = g_ptr_array_index (items, i);

      if (!g_hash_table_contains (self->by_target, item->target))
        g_hash_table_insert (self->by_target, item->target, item);
      g_hash_table_replace (self->items, item_key (item->scope, item->target), item);
    }
  g_hash_table_add (self->classifying, g_strdup (name));
  return TRUE;
}

const BktItem *
bkt_sync_lookup (BktSync *self, const char *target, BktScope scope)
{
  g_autofree char *key = item_key (scope, target);

  return g_hash_table_lookup (self->items, key);
}

static gboolean
item_matches (const BktItem *item, const char *query)
{
  return bkt_sync_query_names_target (query, item->target) || (item->key != NULL && g_str_equal (item->key, query));
}

static gint
compare_items (gconstpointer a, gconstpointer b)
{
  const BktItem *x = *(const BktItem * const *) a, *y = *(const BktItem * const *) b;
  int c = strcmp (x->target, y->target);

  return c != 0 ? c : (int) x->scope - (int) y->scope;
}

GPtrArray *
bkt_sync_match (BktSync *self, const char *query)
{
  GPtrArray *found = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (item_matches (value, query))
      g_ptr_array_add (found, value);
  g_ptr_array_sort (found, compare_items);
  return found;
}

BktStateRecord *
bkt_sync_get_record (BktSync *self, BktScope scope)
{
  return self->records[scope];
}

/* A record edit names its scope in its entry (a system flatpak is
 * recorded by the session); a live operation in the operation itself. */
static const BktItem *
op_item (BktSync *self, BktOperation *op)
{
  JsonObject *details = bkt_operation_get_details (op);
  JsonObject *entry = json_object_has_member (details, "entry") &&
                      JSON_NODE_HOLDS_OBJECT (json_object_get_member (details, "entry"))
                      ? json_object_get_object_member (details, "entry") : NULL;
  const char *scope_name = entry != NULL ? json_object_get_string_member_with_default (entry, "scope", NULL) : NULL;
  BktScope scope = bkt_operation_get_scope (op);
  const BktItem *item;

  if (scope_name != NULL)
    bkt_scope_from_string (scope_name, &scope);
  item = bkt_sync_lookup (self, bkt_operation_get_target (op), scope);
  if (item == NULL && bkt_operation_get_effect (op) == BKT_EFFECT_MANIFEST)
    item = g_hash_table_lookup (self->by_target, bkt_operation_get_target (op));
  return item;
}

/* The command that resolves an item in @state. */
static const char *
next_command (BktSyncState state)
{
  switch (state)
    {
    case BKT_SYNC_IN_SYNC: return "";
    case BKT_SYNC_TO_APPLY:
    case BKT_SYNC_NEVER_SYNCED: return "bkt apply";
    case BKT_SYNC_TO_CAPTURE: return "bkt capture";
    /* Untracked items are recorded only when picked. */
    case BKT_SYNC_UNTRACKED: return "bkt capture --select ID or --all-untracked";
    case BKT_SYNC_CONFLICT: return "bkt apply --theirs or bkt capture --ours";
    case BKT_SYNC_TWO_WAY:
    default: return "bkt apply or bkt capture";
    }
}

static JsonObject *
sync_object (BktSyncState state, const BktRecordEntry *base, const BktItem *item)
{
  JsonObject *sync = json_object_new ();

  json_object_set_string_member (sync, "state", bkt_sync_state_to_string (state));
  json_object_set_string_member (sync, "direction", bkt_sync_state_direction (state));
  json_object_set_string_member (sync, "next", next_command (state));
  if (base != NULL)
    {
      JsonObject *b = json_object_new ();

      if (base->value != NULL)
        json_object_set_string_member (b, "value", base->value);
      else
        json_object_set_null_member (b, "value");
      if (base->layer != NULL)
        json_object_set_string_member (b, "layer", base->layer);
      if (base->file != NULL)
        json_object_set_string_member (b, "file", base->file);
      if (base->command != NULL)
        json_object_set_string_member (b, "command", base->command);
      if (base->when != NULL)
        json_object_set_string_member (b, "when", base->when);
      json_object_set_object_member (sync, "base", b);
    }
  else
    json_object_set_null_member (sync, "base");
  if (item->manifest != NULL)
    json_object_set_string_member (sync, "manifest", item->manifest);
  else
    json_object_set_null_member (sync, "manifest");
  if (item->live != NULL)
    json_object_set_string_member (sync, "live", item->live);
  else
    json_object_set_null_member (sync, "live");
  return sync;
}

/* Whether a plan of @kind may contain an operation in @state. */
static gboolean
keeps (const char *kind, BktSyncState state, BktResolve resolve, gboolean force)
{
  if (g_strcmp0 (kind, "capture") == 0)
    {
      if (state == BKT_SYNC_NEVER_SYNCED || state == BKT_SYNC_TO_APPLY)
        return FALSE;
      if (state == BKT_SYNC_CONFLICT)
        return force || resolve == BKT_RESOLVE_OURS;
      return TRUE;
    }
  if (g_strcmp0 (kind, "apply") == 0 && resolve == BKT_RESOLVE_OURS)
    return state != BKT_SYNC_TO_CAPTURE && state != BKT_SYNC_CONFLICT;
  return TRUE;
}

void
bkt_sync_warn_targets (GPtrArray *warnings, GPtrArray *targets, const char *what, const char *fix)
{
  g_autoptr(GString) s = NULL;

  if (warnings == NULL || targets->len == 0)
    return;
  s = g_string_new (NULL);
  g_string_append_printf (s, "%u %s: ", targets->len, what);
  for (guint i = 0; i < targets->len && i < 5; i++)
    g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", (char *) g_ptr_array_index (targets, i));
  if (targets->len > 5)
    g_string_append_printf (s, " (and %u more)", targets->len - 5);
  g_string_append_printf (s, "; %s", fix);
  g_ptr_array_add (warnings, g_string_free (g_steal_pointer (&s), FALSE));
}

void
bkt_sync_classify (BktSync *self, const char *kind, GPtrArray *ops, GPtrArray *warnings,
                   BktResolve resolve, gboolean force)
{
  g_autoptr(GPtrArray) never = g_ptr_array_new ();
  g_autoptr(GPtrArray) manifests_changed = g_ptr_array_new ();
  g_autoptr(GPtrArray) dropped = g_ptr_array_new ();
  g_autoptr(GPtrArray) conflicts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) kept_here = g_ptr_array_new ();
  g_autoptr(GPtrArray) unproven = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < ops->len;)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const BktItem *item = g_hash_table_contains (self->classifying, bkt_operation_get_subsystem (op))
                            ? op_item (self, op) : NULL;
      BktStateRecord *record = item != NULL ? self->records[item->scope] : NULL;
      const BktRecordEntry *base = NULL;
      g_autoptr(JsonObject) sync = NULL;
      gboolean needs_base = json_object_get_boolean_member_with_default (bkt_operation_get_details (op),
                                                                          "needs_base", FALSE);
      BktSyncState state = BKT_SYNC_TWO_WAY;

      if (record != NULL && bkt_operation_get_sync (op) == NULL)
        state = bkt_state_record_classify (record, item->target, item->manifest, item->live, &base);
      /* Only a base proves the item was removed here, not never there. */
      if (needs_base && (record == NULL || state == BKT_SYNC_TWO_WAY))
        {
          g_ptr_array_add (unproven, g_strdup (bkt_operation_get_target (op)));
          g_ptr_array_remove_index (ops, i);
          continue;
        }
      if (record == NULL || bkt_operation_get_sync (op) != NULL)
        {
          i++;
          continue;
        }
      sync = sync_object (state, base, item);
      bkt_operation_set_sync (op, sync);
      if (keeps (kind, state, resolve, force))
        {
          i++;
          continue;
        }
      if (state == BKT_SYNC_NEVER_SYNCED)
        g_ptr_array_add (never, (gpointer) item->target);
      /* Dropped from the manifests: no plain apply removes it. */
      else if (state == BKT_SYNC_TO_APPLY && item->manifest == NULL)
        g_ptr_array_add (dropped, (gpointer) item->target);
      else if (state == BKT_SYNC_TO_APPLY)
        g_ptr_array_add (manifests_changed, (gpointer) item->target);
      else if (state == BKT_SYNC_CONFLICT)
        g_ptr_array_add (conflicts, g_strdup_printf ("%s (manifests %s, here %s)", item->target,
                                                     item->manifest ? item->manifest : "absent",
                                                     item->live ? item->live : "absent"));
      else
        g_ptr_array_add (kept_here, (gpointer) item->target);
      g_ptr_array_remove_index (ops, i);
    }
  if (warnings == NULL)
    return;
  bkt_sync_warn_targets (warnings, never,
                         "item(s) never applied here left out (capture never records a value bkt did not apply here)",
                         "run bkt apply");
  bkt_sync_warn_targets (warnings, manifests_changed,
                         "item(s) changed in the manifests since bkt last synced them left out",
                         "run bkt apply");
  bkt_sync_warn_targets (warnings, dropped,
                         "item(s) bkt synced that no manifest declares any more left out (capture does not "
                         "record what the manifests dropped)",
                         "bkt apply --prune removes those bkt installed or set (bkt status lists them)");
  bkt_sync_warn_targets (warnings, conflicts, "item(s) changed on both sides left out",
                         "bkt capture --ours records this machine's values, bkt apply --theirs the manifests'");
  bkt_sync_warn_targets (warnings, kept_here,
                         "item(s) changed on this machine kept (--ours)", "bkt capture records them");
  bkt_sync_warn_targets (warnings, unproven,
                         "item(s) declared but not on this machine kept in the manifests (without a usable "
                         "state record bkt cannot tell a removal by hand from an install that never happened)",
                         "bkt apply installs them; the subsystem's remove command forgets one");
}

gboolean
bkt_sync_is_prune (BktOperation *op)
{
  JsonObject *sync = bkt_operation_get_sync (op);

  return sync != NULL && json_object_get_boolean_member_with_default (sync, "prune", FALSE);
}

/* The operation of the first classifying subsystem that knows @target. */
static BktOperation *
prune_op (BktSync *self, GPtrArray *subsystems, const char *target, BktScope scope, char **live)
{
  for (guint i = 0; i < subsystems->len; i++)
    {
      BktSubsystem *s = g_ptr_array_index (subsystems, i);
      BktOperation *op;

      /* A two-way subsystem has no items: "declared" cannot be told. */
      if (!g_hash_table_contains (self->classifying, bkt_subsystem_get_name (s)))
        continue;
      op = bkt_subsystem_plan_prune (s, target, scope, live);
      if (op != NULL || *live != NULL)
        return op;
    }
  return NULL;
}

/* The prune candidates of @record: bkt's entries with a value that no
 * manifest declares in the record's scope and no operation acts on. */
static void
prune_record (BktSync *self, BktStateRecord *record, GPtrArray *subsystems, GHashTable *acted_on,
              GPtrArray *ops, GPtrArray *changed)
{
  BktScope scope = bkt_state_record_get_scope (record);
  g_autoptr(GPtrArray) targets = bkt_state_record_get_targets (record);

  for (guint i = 0; i < targets->len; i++)
    {
      const char *target = g_ptr_array_index (targets, i);
      const BktRecordEntry *base = bkt_state_record_lookup (record, target);
      const BktItem *item = bkt_sync_lookup (self, target, scope);
      g_autoptr(BktOperation) op = NULL;
      g_autofree char *live = NULL, *fp = NULL;
      g_autoptr(BktItem) seen = NULL;
      g_autoptr(JsonObject) sync = NULL;

      if (!bkt_record_entry_is_bkts (base) || base->value == NULL || (item != NULL && item->manifest != NULL) ||
          g_hash_table_contains (acted_on, target))
        continue;
      op = prune_op (self, subsystems, target, scope, &live);
      if (live == NULL)
        continue;  /* not on the machine (any more): nothing to undo */
      fp = bkt_state_fingerprint (live);
      /* Changed since (a shim edited, or turned into the user's own
       * file, which has no removal at all): kept, and said so. */
      if (g_strcmp0 (fp, base->value) != 0)
        {
          g_ptr_array_add (changed, g_strdup (target));
          continue;
        }
      if (op == NULL)
        continue;
      seen = bkt_item_new (target, scope, NULL, live, BKT_MANIFEST_N_KINDS, NULL);
      sync = sync_object (BKT_SYNC_TO_APPLY, base, seen);
      /* Removed from the manifests since bkt synced it: apply's
       * direction, the removal only --prune makes. */
      json_object_set_string_member (sync, "direction", "prune");
      json_object_set_string_member (sync, "next", "bkt apply --prune");
      json_object_set_boolean_member (sync, "prune", TRUE);
      bkt_operation_set_sync (op, sync);
      g_ptr_array_add (ops, g_steal_pointer (&op));
    }
}

void
bkt_sync_plan_prune (BktSync *self, GPtrArray *subsystems, GPtrArray *ops, GPtrArray *warnings)
{
  g_autoptr(GHashTable) acted_on = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) pruned = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < ops->len; i++)
    g_hash_table_add (acted_on, (gpointer) bkt_operation_get_target (g_ptr_array_index (ops, i)));
  for (guint s = 0; s < G_N_ELEMENTS (self->records); s++)
    if (self->records[s] != NULL && bkt_state_record_get_health (self->records[s]) != BKT_RECORD_CORRUPT)
      prune_record (self, self->records[s], subsystems, acted_on, pruned, changed);
  /* After everything else: what replaces a pruned item is installed first. */
  for (guint i = 0; i < pruned->len; i++)
    g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (pruned, i)));
  bkt_sync_warn_targets (warnings, changed,
                         "item(s) no manifest declares any more were changed on this machine since bkt "
                         "synced them: kept (not pruned)", "bkt capture records them, or remove them yourself");
}

void
bkt_sync_add_record_warnings (BktSync *self, GPtrArray *warnings)
{
  for (guint s = 0; s < G_N_ELEMENTS (self->records); s++)
    if (self->records[s] != NULL && bkt_state_record_get_warning (self->records[s]) != NULL)
      g_ptr_array_add (warnings, g_strdup (bkt_state_record_get_warning (self->records[s])));
}

/* Sets @target's base to @value, with the file and layer that declare it. */
static void
record_item (BktStateRecord *record, BktManifestSet *manifests, const BktItem *item, const char *value,
             const char *command)
{
  const char *layer = NULL;
  g_autofree char *file = manifests != NULL
                          ? bkt_manifest_set_declaring_file (manifests, item->kind, item->key, &layer) : NULL;

  bkt_state_record_set (record, item->target, value, layer, file, command);
}

gboolean
bkt_sync_update_record (BktSync *self, BktScope scope, const char *kind, GPtrArray *done,
                        BktManifestSet *manifests, GError **error)
{
  BktStateRecord *record = self->records[scope];
  GHashTableIter iter;
  gpointer value;

  if (record == NULL || g_hash_table_size (self->classifying) == 0)
    return TRUE;
  for (guint i = 0; i < done->len; i++)
    {
      BktOperation *op = g_ptr_array_index (done, i);
      const BktItem *item = g_hash_table_contains (self->classifying, bkt_operation_get_subsystem (op))
                            ? op_item (self, op) : NULL;
      gboolean edit = bkt_operation_get_effect (op) == BKT_EFFECT_MANIFEST;
      /* What both sides hold now: the manifest's value after an apply,
       * the live one after a record; nothing after a forget. */
      const char *agreed;

      /* Pruned: nothing of bkt's is there any more, on either side. */
      if (bkt_sync_is_prune (op))
        {
          if (bkt_operation_get_scope (op) == scope)
            bkt_state_record_remove (record, bkt_operation_get_target (op));
          continue;
        }
      if (item == NULL || item->scope != scope)
        continue;
      if (edit && g_strcmp0 (bkt_operation_get_action (op), "forget") == 0)
        {
          bkt_state_record_remove (record, item->target);
          continue;
        }
      /* A capture agrees on the live value even when the subsystem
       * records it itself (skel copies a file, not a manifest entry). */
      agreed = edit || g_strcmp0 (kind, "capture") == 0 ? item->live : item->manifest;
      if (edit)
        {
          /* Recorded into the writable layer, whichever declared it before. */
          const char *dir = bkt_manifest_set_get_write_dir (manifests);
          g_autofree char *file = dir != NULL ? g_build_filename (dir, bkt_manifest_kind_file_name (item->kind), NULL)
                                              : NULL;

          bkt_state_record_set (record, item->target, agreed, bkt_manifest_set_declaring_layer_name (manifests),
                                file, kind);
        }
      else
        record_item (record, manifests, item, agreed, kind);
    }
  /* Seed and refresh what already agrees (the first run's migration). */
  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const BktItem *item = value;
      const BktRecordEntry *e;
      g_autofree char *fp = NULL;

      if (item->scope != scope || item->manifest == NULL || g_strcmp0 (item->manifest, item->live) != 0)
        continue;
      e = bkt_state_record_lookup (record, item->target);
      fp = bkt_state_fingerprint (item->live);
      /* Both sides moved to the same value: that is the new base. */
      if (e == NULL || g_strcmp0 (e->value, fp) != 0)
        record_item (record, manifests, item, item->live, e == NULL ? "seed" : kind);
    }
  return bkt_state_record_save (record, error);
}

JsonObject *
bkt_sync_counts (GPtrArray *ops)
{
  JsonObject *counts = json_object_new ();
  guint to_apply = 0, to_capture = 0, conflict = 0, never = 0, two_way = 0;

  for (guint i = 0; i < ops->len; i++)
    {
      const char *state = bkt_operation_get_sync_state (g_ptr_array_index (ops, i));

      if (state == NULL || g_str_equal (state, "two-way"))
        two_way++;
      else if (g_str_equal (state, "to-capture") || g_str_equal (state, "untracked"))
        to_capture++;
      else if (g_str_equal (state, "conflict"))
        conflict++;
      else if (g_str_equal (state, "never-synced"))
        never++;
      else
        to_apply++;
    }
  /* Never synced is still "to apply": the columns add up to the drift. */
  json_object_set_int_member (counts, "to_apply", to_apply + never + two_way);
  json_object_set_int_member (counts, "to_capture", to_capture);
  json_object_set_int_member (counts, "conflict", conflict);
  json_object_set_int_member (counts, "never_synced", never);
  return counts;
}

static void
add_action (JsonArray *actions, gint64 n, const char *what, const char *command, gint64 priority)
{
  JsonObject *a;

  if (n == 0)
    return;
  a = json_object_new ();
  json_object_set_string_member (a, "description", what);
  json_object_set_string_member (a, "command", command);
  json_object_set_int_member (a, "priority", priority);
  json_object_set_int_member (a, "count", n);
  json_array_add_object_element (actions, a);
}

JsonArray *
bkt_sync_next_actions (JsonObject *totals, gint64 untracked)
{
  JsonArray *actions = json_array_new ();
  gint64 conflict = json_object_get_int_member_with_default (totals, "conflict", 0);
  gint64 to_capture = json_object_get_int_member_with_default (totals, "to_capture", 0);
  gint64 never = json_object_get_int_member_with_default (totals, "never_synced", 0);
  gint64 to_apply = json_object_get_int_member_with_default (totals, "to_apply", 0) - never;

  /* Conflicts first: nothing else settles them. */
  add_action (actions, conflict, "items changed both in the manifests and on this machine: choose a side",
              "bkt apply --theirs or bkt capture --ours", 1);
  add_action (actions, to_capture, "items changed on this machine since bkt last synced them: record them",
              "bkt capture", 2);
  add_action (actions, to_apply, "items changed in the manifests: apply them", "bkt apply", 2);
  add_action (actions, never, "items never applied here: apply them", "bkt apply", 3);
  add_action (actions, untracked, "items on this machine that no manifest declares: pick what to record",
              "bkt capture --select ID[,ID…] or bkt capture --all-untracked", 4);
  add_action (actions, json_object_get_int_member_with_default (totals, "to_prune", 0),
              "items bkt installed or set that no manifest declares any more: remove them", "bkt apply --prune", 4);
  return actions;
}
