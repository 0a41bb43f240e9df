/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-shape.h"

/* ------------------------------------------------------------------ */
/* Strings                                                              */

G_LOCK_DEFINE_STATIC (regexes);
static GHashTable *regexes; /* pattern (static string) → GRegex, for the process's life */

static gboolean
pattern_matches (const char *pattern, const char *value)
{
  GRegex *re;

  G_LOCK (regexes);
  if (regexes == NULL)
    regexes = g_hash_table_new (g_direct_hash, g_direct_equal);
  re = g_hash_table_lookup (regexes, pattern);
  if (re == NULL)
    {
      g_autoptr(GError) local_error = NULL;

      /* DOLLAR_ENDONLY: '$' is the end, as in ECMA 262, not "before a
       * final newline" as PCRE has it by default. */
      re = g_regex_new (pattern, G_REGEX_DOLLAR_ENDONLY, 0, &local_error);
      if (re == NULL)
        g_error ("bad pattern %s: %s", pattern, local_error->message);
      g_hash_table_insert (regexes, (gpointer) pattern, re);
    }
  G_UNLOCK (regexes);
  return g_regex_match (re, value, 0, NULL);
}

/* Values each rule with a pattern or a check function accepted: a warm
 * daemon loads the same manifests on every request, and matching their
 * ~1,500 strings against the rules' regexes and parsing 500 GVariant
 * values was ~9 M instructions per load (docs/benchmarks.md).  Both are
 * pure functions of the rule and the value, so an accepted value stays
 * accepted.  Bounded: short values only, and the whole memo is dropped
 * when it holds too many. */
#define GOOD_VALUE_MAX_LEN 256
#define GOOD_VALUES_MAX    65536

G_LOCK_DEFINE_STATIC (good_values);
static GHashTable *good_values;   /* rule → GHashTable (set of values) */
#ifndef BKT_FUZZING
static guint n_good_values;
#endif

static gboolean
known_good (const BktStringRule *rule, const char *value)
{
  GHashTable *set;
  gboolean known;

  G_LOCK (good_values);
  set = good_values != NULL ? g_hash_table_lookup (good_values, rule) : NULL;
  known = set != NULL && g_hash_table_contains (set, value);
  G_UNLOCK (good_values);
  return known;
}

static void
remember_good (const BktStringRule *rule, const char *value)
{
#ifndef BKT_FUZZING
  GHashTable *set;

  if (strlen (value) > GOOD_VALUE_MAX_LEN)
    return;
  G_LOCK (good_values);
  if (good_values == NULL || n_good_values >= GOOD_VALUES_MAX)
    {
      g_clear_pointer (&good_values, g_hash_table_unref);
      good_values = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                           (GDestroyNotify) g_hash_table_unref);
      n_good_values = 0;
    }
  set = g_hash_table_lookup (good_values, rule);
  if (set == NULL)
    {
      set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (good_values, (gpointer) rule, set);
    }
  if (g_hash_table_add (set, g_strdup (value)))
    n_good_values++;
  G_UNLOCK (good_values);
#endif
}

static char *
explain (const BktStringRule *rule, const char *value, const char *fallback)
{
  char *why = rule->explain != NULL ? rule->explain (value) : NULL;

  if (why != NULL)
    return why;
  return g_strdup (fallback != NULL ? fallback : rule->description);
}

static char *
describe_choices (const char *const *choices)
{
  g_autoptr(GString) s = g_string_new ("must be ");

  for (guint i = 0; choices[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (s, choices[i + 1] == NULL ? " or " : ", ");
      g_string_append_printf (s, "\"%s\"", choices[i]);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
bkt_string_rule_check (const BktStringRule *rule, const char *value)
{
  glong n;

  g_return_val_if_fail (rule != NULL, NULL);
  if (value == NULL)
    value = "";
  if (!g_utf8_validate (value, -1, NULL))
    return g_strdup ("is not UTF-8 text");
  n = g_utf8_strlen (value, -1);
  if (rule->min_length > 0 && n < (glong) rule->min_length)
    return explain (rule, value, rule->min_length == 1 ? "must not be empty" : NULL);
  if (rule->max_length > 0 && n > (glong) rule->max_length)
    {
      g_autofree char *too_long = g_strdup_printf ("is longer than %u characters", rule->max_length);
      return explain (rule, value, too_long);
    }
  if (rule->pattern == NULL && rule->check == NULL)
    return rule->choices != NULL && !g_strv_contains (rule->choices, value) ? describe_choices (rule->choices) : NULL;
  if (known_good (rule, value))
    return NULL;
  if (rule->pattern != NULL && !pattern_matches (rule->pattern, value))
    return explain (rule, value, NULL);
  if (rule->choices != NULL && !g_strv_contains (rule->choices, value))
    return describe_choices (rule->choices);
  if (rule->check != NULL)
    {
      char *problem = rule->check (value);
      if (problem != NULL)
        return problem;
    }
  remember_good (rule, value);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Checking                                                             */

static const char *
describe_node (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT: return "an object";
    case JSON_NODE_ARRAY: return "an array";
    case JSON_NODE_NULL: return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING: return "a string";
    case G_TYPE_BOOLEAN: return "a boolean";
    case G_TYPE_INT64:
    case G_TYPE_DOUBLE: return "a number";
    default: return "a value";
    }
}

static gboolean
has_type (const BktShape *shape, JsonNode *node)
{
  switch (shape->type)
    {
    case BKT_SHAPE_OBJECT: return JSON_NODE_HOLDS_OBJECT (node);
    case BKT_SHAPE_ARRAY: return JSON_NODE_HOLDS_ARRAY (node);
    case BKT_SHAPE_STRING:
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
    case BKT_SHAPE_BOOLEAN:
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

static const char *
expected (const BktShape *shape)
{
  if (shape->expected != NULL)
    return shape->expected;
  switch (shape->type)
    {
    case BKT_SHAPE_OBJECT: return shape->or_string != NULL ? "a string or an object" : "an object";
    case BKT_SHAPE_ARRAY: return "an array";
    case BKT_SHAPE_STRING: return "a string";
    case BKT_SHAPE_BOOLEAN: return "a boolean";
    default:
      g_assert_not_reached ();
    }
  return NULL;
}

/* Where a node is, for messages: the document's root, a member's value or
 * a list's element. */
typedef enum { AT_ROOT, AT_MEMBER, AT_ELEMENT } Place;

static gboolean check_node (const BktShape *shape, Place place, const char *name, BktJsonDoc *doc,
                            JsonNode *node, GError **error);

static gboolean
check_object (const BktShape *shape, Place place, BktJsonDoc *doc, JsonNode *node, GError **error)
{
  JsonObject *o = json_node_get_object (node);

  for (const BktShapeMember *m = shape->members; m != NULL && m->name != NULL; m++)
    {
      JsonNode *member = json_object_get_member (o, m->name);

      if (member == NULL)
        {
          if (m->required)
            return bkt_json_doc_error_at (doc, node, error, "%s is missing the required member \"%s\"",
                                          place == AT_ELEMENT ? "entry" : place == AT_ROOT ? "the document"
                                                                                           : "object",
                                          m->name);
          continue;
        }
      if (!check_node (m->shape, AT_MEMBER, m->name, doc, member, error))
        return FALSE;
    }
  for (const BktShapeVariant *v = shape->variants; v != NULL && v->member != NULL; v++)
    {
      JsonNode *tag = json_object_get_member (o, v->member);

      if (tag == NULL || !JSON_NODE_HOLDS_VALUE (tag) || json_node_get_value_type (tag) != G_TYPE_STRING
          || g_strcmp0 (json_node_get_string (tag), v->value) != 0)
        continue;
      for (guint i = 0; v->required[i] != NULL; i++)
        if (!json_object_has_member (o, v->required[i]))
          return bkt_json_doc_error_at (doc, node, error, "\"%s\" %s needs the member \"%s\"",
                                        v->member, v->value, v->required[i]);
    }
  return TRUE;
}

static gboolean
check_string (const BktShape *shape, Place place, const char *name, BktJsonDoc *doc, JsonNode *node,
              GError **error)
{
  const char *value = json_node_get_string (node);
  g_autofree char *why = shape->rule != NULL ? bkt_string_rule_check (shape->rule, value) : NULL;

  if (why == NULL)
    return TRUE;
  if (place == AT_ELEMENT)
    return bkt_json_doc_error_at (doc, node, error, "invalid %s \"%s\": %s",
                                  shape->noun != NULL ? shape->noun : "entry", value, why);
  return bkt_json_doc_error_at (doc, node, error, "invalid \"%s\" \"%s\": %s", name, value, why);
}

static gboolean
check_node (const BktShape *shape, Place place, const char *name, BktJsonDoc *doc, JsonNode *node,
            GError **error)
{
  if (shape->or_string != NULL && has_type (shape->or_string, node))
    return check_string (shape->or_string, place, name, doc, node, error);
  if (!has_type (shape, node))
    switch (place)
      {
      case AT_ROOT:
        return bkt_json_doc_error_at (doc, node, error, "a %s manifest must be a JSON object, got %s", name,
                                      describe_node (node));
      case AT_ELEMENT:
        return bkt_json_doc_error_at (doc, node, error, "each entry of \"%s\" must be %s, got %s", name,
                                      expected (shape), describe_node (node));
      case AT_MEMBER:
      default:
        return bkt_json_doc_error_at (doc, node, error, "\"%s\" must be %s, got %s", name, expected (shape),
                                      describe_node (node));
      }
  switch (shape->type)
    {
    case BKT_SHAPE_OBJECT:
      return check_object (shape, place, doc, node, error);
    case BKT_SHAPE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (a); i++)
          if (!check_node (shape->items, AT_ELEMENT, name, doc, json_array_get_element (a, i), error))
            return FALSE;
        return TRUE;
      }
    case BKT_SHAPE_STRING:
      return check_string (shape, place, name, doc, node, error);
    case BKT_SHAPE_BOOLEAN:
    default:
      return TRUE;
    }
}

gboolean
bkt_shape_check (const BktShape *shape, const char *what, BktJsonDoc *doc, JsonNode *node, GError **error)
{
  return check_node (shape, AT_ROOT, what, doc, node, error);
}

gboolean
bkt_shape_check_member (const BktShape *shape, const char *name, BktJsonDoc *doc, JsonNode *node,
                        GError **error)
{
  return check_node (shape, AT_MEMBER, name, doc, node, error);
}

gboolean
bkt_shape_check_element (const BktShape *shape, const char *list, BktJsonDoc *doc, JsonNode *node,
                         GError **error)
{
  return check_node (shape, AT_ELEMENT, list, doc, node, error);
}

const BktShapeMember *
bkt_shape_find_member (const BktShape *shape, const char *name)
{
  for (const BktShapeMember *m = shape->members; m != NULL && m->name != NULL; m++)
    if (strcmp (m->name, name) == 0)
      return m;
  return NULL;
}

/* ------------------------------------------------------------------ */
/* JSON Schema                                                          */

static JsonObject *to_schema (const BktShape *shape, JsonObject *defs, gboolean top);

static JsonArray *
strv_array (const char *const *strv)
{
  JsonArray *a = json_array_new ();

  for (guint i = 0; strv[i] != NULL; i++)
    json_array_add_string_element (a, strv[i]);
  return a;
}

static void
string_schema (JsonObject *s, const BktStringRule *rule)
{
  json_object_set_string_member (s, "type", "string");
  if (rule == NULL)
    return;
  if (rule->pattern != NULL)
    json_object_set_string_member (s, "pattern", rule->pattern);
  if (rule->min_length > 0)
    json_object_set_int_member (s, "minLength", rule->min_length);
  if (rule->max_length > 0)
    json_object_set_int_member (s, "maxLength", rule->max_length);
  if (rule->choices != NULL)
    json_object_set_array_member (s, "enum", strv_array (rule->choices));
  if (rule->format != NULL)
    json_object_set_string_member (s, "format", rule->format);
  if (rule->check_name != NULL)
    json_object_set_string_member (s, "x-bkt-check", rule->check_name);
}

static void
object_schema (JsonObject *s, const BktShape *shape, JsonObject *defs)
{
  JsonObject *props = json_object_new ();
  JsonArray *required = json_array_new ();

  json_object_set_string_member (s, "type", "object");
  for (const BktShapeMember *m = shape->members; m != NULL && m->name != NULL; m++)
    {
      json_object_set_object_member (props, m->name, to_schema (m->shape, defs, FALSE));
      if (m->required)
        json_array_add_string_element (required, m->name);
    }
  json_object_set_object_member (s, "properties", props);
  if (json_array_get_length (required) > 0)
    json_object_set_array_member (s, "required", required);
  else
    json_array_unref (required);
  if (shape->variants != NULL && shape->variants[0].member != NULL)
    {
      JsonArray *all = json_array_new ();

      for (const BktShapeVariant *v = shape->variants; v->member != NULL; v++)
        {
          JsonObject *rule = json_object_new ();
          JsonObject *cond = json_object_new ();
          JsonObject *cond_props = json_object_new ();
          JsonObject *tag = json_object_new ();
          JsonObject *then = json_object_new ();
          const char *const tag_required[] = { v->member, NULL };

          json_object_set_string_member (tag, "const", v->value);
          json_object_set_object_member (cond_props, v->member, tag);
          json_object_set_object_member (cond, "properties", cond_props);
          json_object_set_array_member (cond, "required", strv_array (tag_required));
          json_object_set_array_member (then, "required", strv_array (v->required));
          json_object_set_object_member (rule, "if", cond);
          json_object_set_object_member (rule, "then", then);
          json_array_add_object_element (all, rule);
        }
      json_object_set_array_member (s, "allOf", all);
    }
}

static JsonObject *
to_schema (const BktShape *shape, JsonObject *defs, gboolean top)
{
  JsonObject *s;

  if (!top && shape->def_name != NULL)
    {
      JsonObject *ref = json_object_new ();

      if (!json_object_has_member (defs, shape->def_name))
        {
          /* Reserve the name first: a shape may refer to itself. */
          json_object_set_null_member (defs, shape->def_name);
          json_object_set_object_member (defs, shape->def_name, to_schema (shape, defs, TRUE));
        }
      {
        g_autofree char *target = g_strconcat ("#/$defs/", shape->def_name, NULL);
        json_object_set_string_member (ref, "$ref", target);
      }
      return ref;
    }

  s = json_object_new ();
  if (shape->description != NULL)
    json_object_set_string_member (s, "description", shape->description);
  else if (shape->rule != NULL && shape->rule->description != NULL)
    json_object_set_string_member (s, "description", shape->rule->description);
  switch (shape->type)
    {
    case BKT_SHAPE_STRING:
      string_schema (s, shape->rule);
      break;
    case BKT_SHAPE_BOOLEAN:
      json_object_set_string_member (s, "type", "boolean");
      break;
    case BKT_SHAPE_ARRAY:
      json_object_set_string_member (s, "type", "array");
      json_object_set_object_member (s, "items", to_schema (shape->items, defs, FALSE));
      if (shape->unique != NULL)
        json_object_set_string_member (s, "x-bkt-unique", shape->unique);
      break;
    case BKT_SHAPE_OBJECT:
    default:
      object_schema (s, shape, defs);
      break;
    }
  if (shape->or_string != NULL)
    {
      /* "anyOf" [string, object]: the two cannot both match. */
      JsonObject *any = json_object_new ();
      JsonArray *alts = json_array_new ();

      json_object_remove_member (s, "description");
      json_array_add_object_element (alts, to_schema (shape->or_string, defs, FALSE));
      json_array_add_object_element (alts, s);
      if (shape->description != NULL)
        json_object_set_string_member (any, "description", shape->description);
      json_object_set_array_member (any, "anyOf", alts);
      return any;
    }
  return s;
}

JsonNode *
bkt_shape_to_schema (const BktShape *shape, const char *id, const char *title, const char *description)
{
  g_autoptr(JsonObject) defs = json_object_new ();
  g_autoptr(JsonObject) body = to_schema (shape, defs, TRUE);
  JsonObject *doc = json_object_new ();
  g_autoptr(GList) names = json_object_get_members (body);
  JsonNode *node;

  /* Header first, in the order people read it. */
  json_object_set_string_member (doc, "$schema", "https://json-schema.org/draft/2020-12/schema");
  if (id != NULL)
    json_object_set_string_member (doc, "$id", id);
  json_object_set_string_member (doc, "title", title);
  json_object_set_string_member (doc, "description", description);
  for (GList *l = names; l != NULL; l = l->next)
    if (strcmp (l->data, "description") != 0)
      json_object_set_member (doc, l->data, json_node_copy (json_object_get_member (body, l->data)));
  if (json_object_get_size (defs) > 0)
    json_object_set_object_member (doc, "$defs", json_object_ref (defs));
  node = json_node_alloc ();
  json_node_init_object (node, doc);
  json_object_unref (doc);
  return node;
}
