/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-profile.h"
#include "bkt-subsystem.h"

static char *
item_key (const char *target, BktScope scope)
{
  return g_strdup_printf ("%s@%s", target, bkt_scope_to_string (scope));
}

/* A classifying subsystem: its items carry both sides. */
static gboolean
collect_items (BktSubsystem *s, BktManifestSet *manifests, JsonObject *live, JsonObject *declared,
               GError **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) bkt_item_free);

  if (!bkt_subsystem_items (s, manifests, items, error))
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      BktItem *it = g_ptr_array_index (items, i);
      g_autofree char *key = item_key (it->target, it->scope);

      if (it->live != NULL)
        json_object_set_string_member (live, key, it->live);
      if (it->manifest != NULL)
        json_object_set_string_member (declared, key, it->manifest);
    }
  return TRUE;
}

/* The targets of @s's "record" operations when capturing against @set. */
static GHashTable *
capture_targets (BktSubsystem *s, BktManifestSet *set, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!bkt_subsystem_plan_capture (s, set, ops, warnings, error))
    return NULL;
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      if (g_str_equal (bkt_operation_get_action (op), "record"))
        g_hash_table_add (out, item_key (bkt_operation_get_target (op), bkt_operation_get_scope (op)));
    }
  return g_steal_pointer (&out);
}

/* Any other subsystem: what it would record into empty manifests is what
 * is here; of it, what it would not record into @manifests is declared,
 * and so is what apply would install. */
static gboolean
collect_presence (BktSubsystem *s, BktManifestSet *manifests, JsonObject *live, JsonObject *declared,
                  GError **error)
{
  g_autoptr(BktManifestSet) empty = bkt_manifest_set_new_from_content ("{}", error);
  g_autoptr(GHashTable) here = empty != NULL ? capture_targets (s, empty, error) : NULL;
  g_autoptr(GHashTable) undeclared = here != NULL ? capture_targets (s, manifests, error) : NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  if (undeclared == NULL || !bkt_subsystem_plan_apply (s, manifests, ops, warnings, error))
    return FALSE;
  g_hash_table_iter_init (&iter, here);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      json_object_set_string_member (live, key, "present");
      if (!g_hash_table_contains (undeclared, key))
        json_object_set_string_member (declared, key, "present");
    }
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      g_autofree char *k = item_key (bkt_operation_get_target (op), bkt_operation_get_scope (op));

      if (g_str_equal (bkt_operation_get_action (op), "install"))
        json_object_set_string_member (declared, k, "present");
    }
  return TRUE;
}

JsonObject *
bkt_profile_collect (BktEngine *engine, BktManifestSet *manifests, GCancellable *c, GError **error)
{
  GPtrArray *subsystems = bkt_engine_load_subsystems (engine, c, error);
  g_autoptr(JsonObject) out = json_object_new ();
  JsonObject *live_all = json_object_new ();
  JsonObject *declared_all = json_object_new ();

  json_object_set_object_member (out, "subsystems", live_all);
  json_object_set_object_member (out, "manifests", declared_all);
  if (subsystems == NULL)
    return NULL;
  for (guint i = 0; i < subsystems->len; i++)
    {
      BktSubsystem *s = g_ptr_array_index (subsystems, i);
      JsonObject *live = json_object_new ();
      JsonObject *declared = json_object_new ();
      gboolean ok;

      json_object_set_object_member (live_all, bkt_subsystem_get_name (s), live);
      json_object_set_object_member (declared_all, bkt_subsystem_get_name (s), declared);
      ok = bkt_subsystem_has_items (s) ? collect_items (s, manifests, live, declared, error)
                                       : collect_presence (s, manifests, live, declared, error);
      if (!ok)
        return NULL;
    }
  return g_steal_pointer (&out);
}
