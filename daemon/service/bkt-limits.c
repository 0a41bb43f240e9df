/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-error.h"
#include "bkt-limits.h"

static gboolean
exceeded (GError **error, const char *limit, gsize value, gsize max)
{
  return g_set_error (error, BKT_ERROR, BKT_ERROR_LIMIT_EXCEEDED,
                      "limit “%s” exceeded: %" G_GSIZE_FORMAT " (at most %" G_GSIZE_FORMAT ")",
                      limit, value, max), FALSE;
}

gboolean
bkt_limits_check_content (const char *text, gsize len, GError **error)
{
  gboolean in_string = FALSE;
  gsize depth = 0, nodes = 0;

  if (len > BKT_LIMIT_CONTENT_BYTES)
    return exceeded (error, "manifest content bytes", len, BKT_LIMIT_CONTENT_BYTES);
  /* A value starts after "[", "{", ",", ":" or at the top: counting those
   * separators (outside strings) bounds the values from above. */
  nodes = 1;
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > BKT_LIMIT_CONTENT_DEPTH)
            return exceeded (error, "manifest content nesting depth", depth, BKT_LIMIT_CONTENT_DEPTH);
          nodes++;
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        case ',':
        case ':':
          nodes++;
          break;
        default:
          break;
        }
      if (nodes > BKT_LIMIT_CONTENT_NODES)
        return exceeded (error, "manifest content values", nodes, BKT_LIMIT_CONTENT_NODES);
    }
  return TRUE;
}

typedef struct {
  gsize values;
} Walk;

static gboolean
walk (GVariant *value, gboolean is_manifest, Walk *w, GError **error)
{
  if (++w->values > BKT_LIMIT_ARGUMENT_VALUES)
    return exceeded (error, "values in one call", w->values, BKT_LIMIT_ARGUMENT_VALUES);

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    {
      gsize len = 0;

      g_variant_get_string (value, &len);
      if (is_manifest)
        return TRUE;   /* bkt_limits_check_content() */
      if (len > BKT_LIMIT_STRING_BYTES)
        return exceeded (error, "string argument bytes", len, BKT_LIMIT_STRING_BYTES);
      return TRUE;
    }
  if (!g_variant_is_container (value))
    return TRUE;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_ARRAY) &&
      g_variant_n_children (value) > BKT_LIMIT_ARRAY_LENGTH)
    return exceeded (error, "array argument length", g_variant_n_children (value), BKT_LIMIT_ARRAY_LENGTH);
  /* Fixed-size arrays (LocalCommit's ids) are one value, not many. */
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_ARRAY) &&
      g_variant_type_is_basic (g_variant_type_element (g_variant_get_type (value))) &&
      !g_variant_type_equal (g_variant_type_element (g_variant_get_type (value)), G_VARIANT_TYPE_STRING))
    return TRUE;

  /* A dict entry {"manifest", <s>}: its string is the content. */
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_DICT_ENTRY))
    {
      g_autoptr(GVariant) key = g_variant_get_child_value (value, 0);
      g_autoptr(GVariant) inner = g_variant_get_child_value (value, 1);
      gboolean manifest = g_variant_is_of_type (key, G_VARIANT_TYPE_STRING) &&
                          g_str_equal (g_variant_get_string (key, NULL), "manifest");

      return walk (key, FALSE, w, error) && walk (inner, manifest, w, error);
    }
  for (gsize i = 0; i < g_variant_n_children (value); i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

      if (!walk (child, is_manifest && g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT), w, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
bkt_limits_check_parameters (GVariant *parameters, GError **error)
{
  Walk w = { 0 };

  return walk (parameters, FALSE, &w, error);
}
