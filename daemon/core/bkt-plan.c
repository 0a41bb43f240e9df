/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-json.h"
#include "bkt-plan.h"
#include "bkt-text.h"

struct _BktPlan
{
  GObject     parent_instance;
  char       *kind;
  GPtrArray  *operations;   /* of BktOperation */
  GStrv       warnings;
};

G_DEFINE_TYPE (BktPlan, bkt_plan, G_TYPE_OBJECT)

static void
bkt_plan_finalize (GObject *object)
{
  BktPlan *self = BKT_PLAN (object);

  g_free (self->kind);
  g_ptr_array_unref (self->operations);
  g_strfreev (self->warnings);
  G_OBJECT_CLASS (bkt_plan_parent_class)->finalize (object);
}

static void
bkt_plan_class_init (BktPlanClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_plan_finalize;
}

static void
bkt_plan_init (BktPlan *self)
{
  self->operations = g_ptr_array_new_with_free_func (g_object_unref);
}

BktPlan *
bkt_plan_new (const char         *kind,
              GPtrArray          *operations,
              const char * const *warnings)
{
  BktPlan *self = g_object_new (BKT_TYPE_PLAN, NULL);

  self->kind = g_strdup (kind);
  for (guint i = 0; operations != NULL && i < operations->len; i++)
    g_ptr_array_add (self->operations, g_object_ref (g_ptr_array_index (operations, i)));
  self->warnings = g_strdupv ((char **) warnings);
  if (self->warnings == NULL)
    self->warnings = g_new0 (char *, 1);
  return self;
}

const char *bkt_plan_get_kind (BktPlan *self) { return self->kind; }
guint bkt_plan_get_n_operations (BktPlan *self) { return self->operations->len; }
gboolean bkt_plan_is_empty (BktPlan *self) { return self->operations->len == 0; }
const char * const *bkt_plan_get_warnings (BktPlan *self) { return (const char * const *) self->warnings; }

BktOperation *
bkt_plan_get_operation (BktPlan *self, guint index)
{
  g_return_val_if_fail (index < self->operations->len, NULL);
  return g_ptr_array_index (self->operations, index);
}

typedef gboolean (*OpPredicate) (BktOperation *op, gconstpointer data);

static BktPlan *
filter (BktPlan *self, OpPredicate keep, gconstpointer data)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new ();

  for (guint i = 0; i < self->operations->len; i++)
    {
      BktOperation *op = g_ptr_array_index (self->operations, i);
      if (keep (op, data))
        g_ptr_array_add (ops, op);
    }
  return bkt_plan_new (self->kind, ops, (const char * const *) self->warnings);
}

static gboolean
has_scope (BktOperation *op, gconstpointer data)
{
  return bkt_operation_get_scope (op) == (BktScope) GPOINTER_TO_INT (data);
}

static gboolean
has_subsystem (BktOperation *op, gconstpointer data)
{
  return g_strcmp0 (bkt_operation_get_subsystem (op), data) == 0;
}

BktPlan *
bkt_plan_filter_scope (BktPlan *self, BktScope scope)
{
  return filter (self, has_scope, GINT_TO_POINTER (scope));
}

BktPlan *
bkt_plan_filter_subsystem (BktPlan *self, const char *subsystem)
{
  return filter (self, has_subsystem, subsystem);
}

JsonNode *
bkt_plan_to_json (BktPlan *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, self->kind);
  json_builder_set_member_name (b, "operations");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->operations->len; i++)
    json_builder_add_value (b, bkt_operation_to_json (g_ptr_array_index (self->operations, i)));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (guint i = 0; self->warnings[i] != NULL; i++)
    json_builder_add_string_value (b, self->warnings[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, self->operations->len);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
bkt_plan_describe (BktPlan *self)
{
  g_autoptr(JsonNode) node = bkt_plan_to_json (self);
  return bkt_plan_json_describe (json_node_get_object (node));
}

/* When the user sees the change, in words. */
static const char *
effect_text (const char *effect)
{
  if (g_strcmp0 (effect, "next-login") == 0)
    return "at next login";
  if (g_strcmp0 (effect, "reboot") == 0)
    return "after reboot";
  if (g_strcmp0 (effect, "manifest") == 0)
    return "manifest only";
  return "live";
}

/* Under an operation whose direction is not the plan's own: what the
 * record says happened (bkt-state-record.h). */
static void
append_sync_note (GString *out, JsonObject *op)
{
  JsonNode *node = json_object_get_member (op, "sync");
  JsonObject *sync = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *state = sync != NULL ? bkt_json_object_get_string (sync, "state") : NULL;
  const char *manifest = sync != NULL ? bkt_json_object_get_string (sync, "manifest") : NULL;
  const char *live = sync != NULL ? bkt_json_object_get_string (sync, "live") : NULL;

  if (sync != NULL && json_object_get_boolean_member_with_default (sync, "prune", FALSE))
    g_string_append_printf (out, "      pruned: bkt %s it (%s) and no manifest declares it any more\n",
                            g_strcmp0 (bkt_json_object_get_string (json_object_get_object_member (sync, "base"),
                                                                   "command"), "capture") == 0
                            ? "recorded" : "applied",
                            bkt_json_object_get_string (json_object_get_object_member (sync, "base"), "when"));
  else if (g_strcmp0 (state, "to-capture") == 0)
    g_string_append_printf (out, "      changed on this machine since bkt last synced it (now %s): "
                            "bkt capture records it, bkt apply --theirs reverts it\n", live ? live : "absent");
  else if (g_strcmp0 (state, "conflict") == 0)
    g_string_append_printf (out, "      CONFLICT: changed in the manifests (%s) and on this machine (%s): "
                            "bkt apply --theirs or bkt capture --ours\n",
                            manifest ? manifest : "absent", live ? live : "absent");
}

char *
bkt_plan_json_describe (JsonObject *plan)
{
  GString *out = g_string_new (NULL);
  JsonArray *ops = NULL;
  JsonArray *warnings = NULL;
  const char *current = NULL;
  guint n = 0;

  if (json_object_has_member (plan, "operations") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (plan, "operations")))
    ops = json_object_get_array_member (plan, "operations");
  if (json_object_has_member (plan, "warnings") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (plan, "warnings")))
    warnings = json_object_get_array_member (plan, "warnings");

  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      const char *subsystem = op ? bkt_json_object_get_string (op, "subsystem") : NULL;
      const char *summary = op ? bkt_json_object_get_string (op, "summary") : NULL;
      const char *effect = op ? bkt_json_object_get_string (op, "effect") : NULL;

      if (op == NULL)
        continue;
      /* Operations come grouped by subsystem (the engine plans one
       * subsystem after the other), so a header on change is enough. */
      if (g_strcmp0 (subsystem, current) != 0)
        {
          g_string_append_printf (out, "%s%s\n", n > 0 ? "\n" : "", subsystem ? subsystem : "?");
          current = subsystem;
        }
      /* The "pr" operations change the distribution repo, not this
       * machine: say so rather than "manifest only". */
      g_string_append_printf (out, "  ▸ %s  (%s)\n", summary ? summary : "?",
                              g_strcmp0 (subsystem, "pr") == 0 && g_strcmp0 (bkt_json_object_get_string (op, "action"), "journal") != 0
                              ? "distribution repo" : effect_text (effect));
      append_sync_note (out, op);
      n++;
    }

  /* One line per cause: the same warning about 40 items is one line
   * with the count, the fix and the items (bkt_text_group_lines). */
  if (warnings != NULL && json_array_get_length (warnings) > 0)
    {
      g_autoptr(GPtrArray) lines = g_ptr_array_new ();
      g_autoptr(GPtrArray) grouped = NULL;

      for (guint i = 0; i < json_array_get_length (warnings); i++)
        g_ptr_array_add (lines, (gpointer) json_array_get_string_element (warnings, i));
      g_ptr_array_add (lines, NULL);
      grouped = bkt_text_group_lines ((const char * const *) lines->pdata, BKT_PLAN_WARNING_NAMES);
      for (guint i = 0; i < grouped->len; i++)
        g_string_append_printf (out, "%swarning: %s\n", i == 0 && n > 0 ? "\n" : "", (char *) grouped->pdata[i]);
    }

  if (n == 0 && g_strcmp0 (bkt_json_object_get_string (plan, "kind"), "capture") == 0)
    g_string_append (out, "Nothing to capture: the manifests already record the live system.\n");
  else if (n == 0 && warnings != NULL && json_array_get_length (warnings) > 0)
    /* Skipped entries (a schema that is not installed…) mean the system
     * does not match the manifests, whatever bkt can do about it. */
    g_string_append (out, "Nothing bkt can do here, but the system does not fully match the manifests: "
                          "see the warnings above.\n");
  else if (n == 0)
    g_string_append (out, "Nothing to do: the system matches the manifests.\n");
  else
    g_string_append_printf (out, "\n%u operation(s) to perform\n", n);
  return g_string_free (out, FALSE);
}
