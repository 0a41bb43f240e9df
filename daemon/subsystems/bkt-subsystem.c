/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-error.h"
#include "bkt-subsystem.h"

G_DEFINE_INTERFACE (BktSubsystem, bkt_subsystem, G_TYPE_OBJECT)

static void
bkt_subsystem_default_init (BktSubsystemInterface *iface)
{
}

const char *
bkt_subsystem_get_name (BktSubsystem *self)
{
  return BKT_SUBSYSTEM_GET_IFACE (self)->get_name (self);
}

gboolean
bkt_subsystem_load_live (BktSubsystem *self, GCancellable *cancellable, GError **error)
{
  return BKT_SUBSYSTEM_GET_IFACE (self)->load_live (self, cancellable, error);
}

gboolean
bkt_subsystem_plan_apply (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *ops,
                          GPtrArray *warnings, GError **error)
{
  return BKT_SUBSYSTEM_GET_IFACE (self)->plan_apply (self, manifests, ops, warnings, error);
}

gboolean
bkt_subsystem_plan_capture (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *ops,
                            GPtrArray *warnings, GError **error)
{
  return BKT_SUBSYSTEM_GET_IFACE (self)->plan_capture (self, manifests, ops, warnings, error);
}

gboolean
bkt_subsystem_plan_change (BktSubsystem *self, BktManifestSet *manifests, const char *action,
                           GVariant *arguments, GPtrArray *ops, GError **error)
{
  BktSubsystemInterface *iface = BKT_SUBSYSTEM_GET_IFACE (self);

  if (iface->plan_change == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                        "subsystem %s has no action “%s”", iface->get_name (self), action), FALSE;
  return iface->plan_change (self, manifests, action, arguments, ops, error);
}

JsonObject *
bkt_subsystem_status (BktSubsystem *self, BktManifestSet *manifests, GError **error)
{
  return BKT_SUBSYSTEM_GET_IFACE (self)->status (self, manifests, error);
}

gboolean
bkt_subsystem_execute (BktSubsystem *self, GPtrArray *ops, BktExecContext *ctx,
                       GCancellable *cancellable, GError **error)
{
  return BKT_SUBSYSTEM_GET_IFACE (self)->execute (self, ops, ctx, cancellable, error);
}

gboolean
bkt_subsystem_has_items (BktSubsystem *self)
{
  return BKT_SUBSYSTEM_GET_IFACE (self)->items != NULL;
}

void
bkt_subsystem_set_overwrite (BktSubsystem *self, gboolean overwrite)
{
  BktSubsystemInterface *iface = BKT_SUBSYSTEM_GET_IFACE (self);

  if (iface->set_overwrite != NULL)
    iface->set_overwrite (self, overwrite);
}

gboolean
bkt_subsystem_items (BktSubsystem *self, BktManifestSet *manifests, GPtrArray *items, GError **error)
{
  BktSubsystemInterface *iface = BKT_SUBSYSTEM_GET_IFACE (self);

  return iface->items == NULL || iface->items (self, manifests, items, error);
}

BktOperation *
bkt_subsystem_plan_prune (BktSubsystem *self, const char *target, BktScope scope, char **live)
{
  BktSubsystemInterface *iface = BKT_SUBSYSTEM_GET_IFACE (self);

  *live = NULL;
  return iface->plan_prune != NULL ? iface->plan_prune (self, target, scope, live) : NULL;
}

BktItem *
bkt_item_new (const char *target, BktScope scope, const char *manifest, const char *live,
              BktManifestKind kind, const char *key)
{
  BktItem *item = g_new0 (BktItem, 1);

  item->target = g_strdup (target);
  item->scope = scope;
  item->manifest = g_strdup (manifest);
  item->live = g_strdup (live);
  item->kind = kind;
  item->key = g_strdup (key);
  return item;
}

void
bkt_item_free (BktItem *item)
{
  if (item == NULL)
    return;
  g_free (item->target);
  g_free (item->manifest);
  g_free (item->live);
  g_free (item->key);
  g_free (item);
}

static BktOperation *
manifest_edit_new_full (const char *subsystem, const char *action, BktManifestKind kind, const char *member,
                        const char *target, const char *summary, JsonObject *entry, const char *key,
                        gboolean needs_base)
{
  g_autoptr(JsonObject) details = json_object_new ();

  if (needs_base)
    json_object_set_boolean_member (details, "needs_base", TRUE);

  json_object_set_string_member (details, "manifest", bkt_manifest_kind_name (kind));
  if (member != NULL)
    json_object_set_string_member (details, "member", member);
  if (entry != NULL)
    {
      JsonNode *n = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (n, entry);
      json_object_set_member (details, "entry", n);
    }
  if (key != NULL)
    json_object_set_string_member (details, "key", key);

  /* Manifest edits are always the user's: the writable layer is theirs. */
  return bkt_operation_new (subsystem, action, target, BKT_SCOPE_USER,
                            BKT_EFFECT_MANIFEST, summary, details);
}

static BktOperation *
manifest_edit_new (const char *subsystem, const char *action, BktManifestKind kind, const char *member,
                   const char *target, const char *summary, JsonObject *entry, const char *key)
{
  return manifest_edit_new_full (subsystem, action, kind, member, target, summary, entry, key, FALSE);
}

BktOperation *
bkt_operation_new_forget_removed_here (const char *subsystem, BktManifestKind kind,
                                       const char *target, const char *summary, const char *key)
{
  return manifest_edit_new_full (subsystem, "forget", kind, NULL, target, summary, NULL, key, TRUE);
}

BktOperation *
bkt_operation_new_record (const char *subsystem, BktManifestKind kind,
                          const char *target, const char *summary, JsonObject *entry)
{
  g_autofree char *key = bkt_manifest_entry_key (kind, entry);
  return manifest_edit_new (subsystem, "record", kind, NULL, target, summary, entry, key);
}

BktOperation *
bkt_operation_new_record_in (const char *subsystem, BktManifestKind kind, const char *member,
                             const char *target, const char *summary, JsonObject *entry)
{
  const char *name = json_object_get_string_member_with_default (entry, "name", NULL);
  return manifest_edit_new (subsystem, "record", kind, member, target, summary, entry, name);
}

BktOperation *
bkt_operation_new_forget_in (const char *subsystem, BktManifestKind kind, const char *member,
                             const char *target, const char *summary, const char *name)
{
  return manifest_edit_new (subsystem, "forget", kind, member, target, summary, NULL, name);
}

BktOperation *
bkt_operation_new_forget (const char *subsystem, BktManifestKind kind,
                          const char *target, const char *summary, const char *key)
{
  return manifest_edit_new (subsystem, "forget", kind, NULL, target, summary, NULL, key);
}
