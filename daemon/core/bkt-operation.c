/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-operation.h"

struct _BktOperation
{
  GObject     parent_instance;
  char       *id;
  char       *subsystem;
  char       *action;
  char       *target;
  char       *summary;
  BktScope    scope;
  BktEffect   effect;
  JsonObject *details;
  JsonObject *sync;     /* NULL until the engine classifies it */
};

G_DEFINE_TYPE (BktOperation, bkt_operation, G_TYPE_OBJECT)

static void
bkt_operation_finalize (GObject *object)
{
  BktOperation *self = BKT_OPERATION (object);

  g_free (self->id);
  g_free (self->subsystem);
  g_free (self->action);
  g_free (self->target);
  g_free (self->summary);
  g_clear_pointer (&self->details, json_object_unref);
  g_clear_pointer (&self->sync, json_object_unref);
  G_OBJECT_CLASS (bkt_operation_parent_class)->finalize (object);
}

static void
bkt_operation_class_init (BktOperationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_operation_finalize;
}

static void
bkt_operation_init (BktOperation *self)
{
}

const char *
bkt_scope_to_string (BktScope scope)
{
  return scope == BKT_SCOPE_SYSTEM ? "system" : "user";
}

gboolean
bkt_scope_from_string (const char *s, BktScope *out)
{
  if (g_strcmp0 (s, "system") == 0)
    *out = BKT_SCOPE_SYSTEM;
  else if (g_strcmp0 (s, "user") == 0)
    *out = BKT_SCOPE_USER;
  else
    return FALSE;
  return TRUE;
}

const char *
bkt_effect_to_string (BktEffect effect)
{
  switch (effect)
    {
    case BKT_EFFECT_LIVE: return "live";
    case BKT_EFFECT_NEXT_LOGIN: return "next-login";
    case BKT_EFFECT_REBOOT: return "reboot";
    case BKT_EFFECT_MANIFEST: return "manifest";
    default: g_assert_not_reached ();
    }
}

BktOperation *
bkt_operation_new (const char *subsystem,
                   const char *action,
                   const char *target,
                   BktScope    scope,
                   BktEffect   effect,
                   const char *summary,
                   JsonObject *details)
{
  BktOperation *self;

  g_return_val_if_fail (subsystem != NULL && action != NULL && target != NULL, NULL);

  self = g_object_new (BKT_TYPE_OPERATION, NULL);
  self->subsystem = g_strdup (subsystem);
  self->action = g_strdup (action);
  self->target = g_strdup (target);
  /* The scope is part of the identity: the same remote may be added to
   * both installations in one plan. */
  self->id = g_strdup_printf ("%s:%s:%s@%s", subsystem, action, target, bkt_scope_to_string (scope));
  self->scope = scope;
  self->effect = effect;
  self->summary = g_strdup (summary != NULL ? summary : self->id);
  self->details = details != NULL ? json_object_ref (details) : json_object_new ();
  /* Operations are shared between the plan shown to the user and the
   * executor: sealing makes any later mutation a loud programming error. */
  json_object_seal (self->details);
  return self;
}

const char *bkt_operation_get_id (BktOperation *self) { return self->id; }
const char *bkt_operation_get_subsystem (BktOperation *self) { return self->subsystem; }
const char *bkt_operation_get_action (BktOperation *self) { return self->action; }
const char *bkt_operation_get_target (BktOperation *self) { return self->target; }
BktScope bkt_operation_get_scope (BktOperation *self) { return self->scope; }
BktEffect bkt_operation_get_effect (BktOperation *self) { return self->effect; }
const char *bkt_operation_get_summary (BktOperation *self) { return self->summary; }
JsonObject *bkt_operation_get_details (BktOperation *self) { return self->details; }

const char *
bkt_operation_get_detail_string (BktOperation *self, const char *member)
{
  JsonNode *node = json_object_get_member (self->details, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

JsonNode *
bkt_operation_to_json (BktOperation *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, self->id);
  json_builder_set_member_name (b, "subsystem");
  json_builder_add_string_value (b, self->subsystem);
  json_builder_set_member_name (b, "action");
  json_builder_add_string_value (b, self->action);
  json_builder_set_member_name (b, "target");
  json_builder_add_string_value (b, self->target);
  json_builder_set_member_name (b, "scope");
  json_builder_add_string_value (b, bkt_scope_to_string (self->scope));
  json_builder_set_member_name (b, "effect");
  json_builder_add_string_value (b, bkt_effect_to_string (self->effect));
  json_builder_set_member_name (b, "summary");
  json_builder_add_string_value (b, self->summary);
  json_builder_set_member_name (b, "details");
  {
    g_autoptr(JsonNode) d = json_node_new (JSON_NODE_OBJECT);
    json_node_set_object (d, self->details);
    json_builder_add_value (b, json_node_copy (d));
  }
  if (self->sync != NULL)
    {
      g_autoptr(JsonNode) d = json_node_new (JSON_NODE_OBJECT);
      JsonNode *base = json_object_get_member (self->sync, "base");

      json_builder_set_member_name (b, "direction");
      json_builder_add_string_value (b, json_object_get_string_member (self->sync, "direction"));
      json_builder_set_member_name (b, "base");
      json_builder_add_value (b, json_node_copy (base));
      json_node_set_object (d, self->sync);
      json_builder_set_member_name (b, "sync");
      json_builder_add_value (b, json_node_copy (d));
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
bkt_operation_set_sync (BktOperation *self, JsonObject *sync)
{
  g_return_if_fail (self->sync == NULL);
  self->sync = json_object_ref (sync);
  json_object_seal (self->sync);
}

JsonObject *
bkt_operation_get_sync (BktOperation *self)
{
  return self->sync;
}

const char *
bkt_operation_get_sync_state (BktOperation *self)
{
  return self->sync != NULL ? json_object_get_string_member (self->sync, "state") : NULL;
}
