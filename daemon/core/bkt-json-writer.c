/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "bkt-json.h"

/* A JSON writer laying values out the way prettier does for .json files
 * (printWidth 80): an object or array goes on one line when that line,
 * up to and including what follows the value on it (a comma), fits in
 * 80 columns, and is expanded one member or element per line otherwise.
 *
 * json-glib's JsonGenerator cannot do this: it writes `"key" : value`,
 * expands everything and knows nothing about line width, so every save
 * would reformat a hand-kept file from top to bottom. */

/* ------------------------------------------------------------------ */
/* Scalars                                                              */

void
bkt_json_append_string (GString *out, const char *str)
{
  const char *s = str != NULL ? str : "";
  const char *end = s + strlen (s);

  g_string_append_c (out, '"');
  while (s < end)
    {
      guchar c = (guchar) *s;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
          s++;
        }
      else if (c < 0x20)
        {
          switch (c)
            {
            case '\b': g_string_append (out, "\\b"); break;
            case '\f': g_string_append (out, "\\f"); break;
            case '\n': g_string_append (out, "\\n"); break;
            case '\r': g_string_append (out, "\\r"); break;
            case '\t': g_string_append (out, "\\t"); break;
            default: g_string_append_printf (out, "\\u%04x", c); break;
            }
          s++;
        }
      else if (c < 0x80)
        {
          g_string_append_c (out, (char) c);
          s++;
        }
      else
        {
          /* Non-ASCII text is written as is (the file is UTF-8).  A string
           * put together in code might not be valid UTF-8; the reader
           * would refuse the whole file, so write U+FFFD instead. */
          gunichar ch = g_utf8_get_char_validated (s, end - s);

          if (ch == (gunichar) -1 || ch == (gunichar) -2)
            {
              g_string_append (out, "\xEF\xBF\xBD");
              s++;
            }
          else
            {
              const char *next = g_utf8_next_char (s);
              g_string_append_len (out, s, next - s);
              s = next;
            }
        }
    }
  g_string_append_c (out, '"');
}

static void
append_double (GString *out, double d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  gboolean found = FALSE;

  /* JSON has no NaN or infinity, and our reader refuses them. */
  if (!isfinite (d))
    {
      g_string_append (out, "null");
      return;
    }

  /* The shortest spelling that reads back as the same double, so 0.1 is
   * "0.1" and not "0.10000000000000001" (%.17g, g_ascii_dtostr(), always
   * round-trips and is the last resort). */
  for (int precision = 15; precision <= 16 && !found; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buf, sizeof buf, format, d);
      found = g_ascii_strtod (buf, NULL) == d;
    }
  if (!found)
    g_ascii_dtostr (buf, sizeof buf, d);

  g_string_append (out, buf);
  /* 2.0 must not come back as the integer 2: the reader decides the type
   * by the spelling. */
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
append_scalar (GString *out, JsonNode *node)
{
  if (JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    {
      g_string_append (out, "null");
      return;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      append_double (out, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    case G_TYPE_STRING:
      bkt_json_append_string (out, json_node_get_string (node));
      break;
    default:
      g_string_append (out, "null");
      break;
    }
}

/* ------------------------------------------------------------------ */
/* Layout                                                               */

gsize
bkt_json_text_width (const char *text, gssize length)
{
  const char *s = text;
  const char *end;
  gsize width = 0;

  if (length < 0)
    length = (gssize) strlen (text);
  end = text + length;

  /* As prettier's getStringWidth(): East Asian wide characters take two
   * columns, combining marks none. */
  while (s < end)
    {
      gunichar ch = g_utf8_get_char_validated (s, end - s);

      if (ch == (gunichar) -1 || ch == (gunichar) -2)
        {
          width++;
          s++;
          continue;
        }
      if (g_unichar_iswide (ch))
        width += 2;
      else if (!g_unichar_ismark (ch) && !g_unichar_iszerowidth (ch))
        width++;
      s = g_utf8_next_char (s);
    }
  return width;
}

static JsonObject *
node_object (JsonNode *node)
{
  return JSON_NODE_TYPE (node) == JSON_NODE_OBJECT ? json_node_get_object (node) : NULL;
}

static JsonArray *
node_array (JsonNode *node)
{
  return JSON_NODE_TYPE (node) == JSON_NODE_ARRAY ? json_node_get_array (node) : NULL;
}

void
bkt_json_append_inline (GString *out, JsonNode *node)
{
  JsonObject *object = node_object (node);
  JsonArray *array = node_array (node);

  if (object != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (object);

      if (names == NULL)
        {
          g_string_append (out, "{}");
          return;
        }
      /* Prettier's bracketSpacing: "{ " and " }" around members. */
      g_string_append (out, "{ ");
      for (GList *l = names; l != NULL; l = l->next)
        {
          bkt_json_append_string (out, l->data);
          g_string_append (out, ": ");
          bkt_json_append_inline (out, json_object_get_member (object, l->data));
          if (l->next != NULL)
            g_string_append (out, ", ");
        }
      g_string_append (out, " }");
    }
  else if (array != NULL)
    {
      guint n = json_array_get_length (array);

      g_string_append_c (out, '[');
      for (guint i = 0; i < n; i++)
        {
          bkt_json_append_inline (out, json_array_get_element (array, i));
          if (i + 1 < n)
            g_string_append (out, ", ");
        }
      g_string_append_c (out, ']');
    }
  else
    append_scalar (out, node);
}

/* Prettier keeps an object expanded when its source had a line break
 * between "{" and the first member: someone chose that layout. */
static gboolean
was_expanded (BktJsonDoc *doc, JsonNode *node)
{
  const BktJsonSpan *span;
  const char *data;
  gsize length;

  if (doc == NULL || node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_OBJECT)
    return FALSE;
  span = bkt_json_doc_get_span (doc, node);
  if (span == NULL)
    return FALSE;
  data = bkt_json_doc_get_data (doc, &length);
  for (gsize i = span->offset + 1; i < span->end && i < length; i++)
    {
      if (data[i] == '\n')
        return TRUE;
      if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
        break;
    }
  return FALSE;
}

static gsize
string_width (const char *s)
{
  return bkt_json_text_width (s, -1);
}

static gboolean
is_number (JsonNode *node)
{
  return JSON_NODE_TYPE (node) == JSON_NODE_VALUE &&
         (json_node_get_value_type (node) == G_TYPE_INT64 ||
          json_node_get_value_type (node) == G_TYPE_DOUBLE);
}

static gboolean
is_number_list (JsonArray *array)
{
  guint n = json_array_get_length (array);

  if (n < 2)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!is_number (json_array_get_element (array, i)))
      return FALSE;
  return TRUE;
}

/* Prettier always breaks an array of two or more objects that each have
 * more than one member (or of arrays with more than one element). */
static gboolean
is_matrix (JsonArray *array)
{
  guint n = json_array_get_length (array);
  JsonNodeType type;

  if (n < 2)
    return FALSE;
  type = JSON_NODE_TYPE (json_array_get_element (array, 0));
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (array, i);

      if (JSON_NODE_TYPE (e) != type)
        return FALSE;
      if (type == JSON_NODE_OBJECT && json_object_get_size (json_node_get_object (e)) > 1)
        continue;
      if (type == JSON_NODE_ARRAY && json_array_get_length (json_node_get_array (e)) > 1)
        continue;
      return FALSE;
    }
  return TRUE;
}

static void append_pretty (GString *out, JsonNode *node, const char *indent, const char *unit,
                           gsize column, gsize trailing, gboolean expand,
                           BktJsonDoc *shape_doc, JsonNode *shape);

/* One member or element per line, each at @indent + @unit. */
static void
append_expanded (GString *out, JsonNode *node, const char *indent, const char *unit,
                 BktJsonDoc *shape_doc, JsonNode *shape)
{
  g_autofree char *child_indent = g_strconcat (indent, unit, NULL);
  gsize child_column = string_width (child_indent);
  JsonObject *object = node_object (node);
  JsonArray *array = node_array (node);
  JsonObject *shape_object = shape != NULL ? node_object (shape) : NULL;
  JsonArray *shape_array = shape != NULL ? node_array (shape) : NULL;

  if (object != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (object);

      g_string_append (out, "{\n");
      for (GList *l = names; l != NULL; l = l->next)
        {
          g_autoptr(GString) key = g_string_new (NULL);
          JsonNode *child_shape = NULL;

          bkt_json_append_string (key, l->data);
          if (shape_object != NULL)
            child_shape = json_object_get_member (shape_object, l->data);
          g_string_append (out, child_indent);
          g_string_append_len (out, key->str, key->len);
          g_string_append (out, ": ");
          append_pretty (out, json_object_get_member (object, l->data), child_indent, unit,
                         child_column + string_width (key->str) + 2, l->next != NULL ? 1 : 0,
                         FALSE, shape_doc, child_shape);
          g_string_append (out, l->next != NULL ? ",\n" : "\n");
        }
      g_string_append (out, indent);
      g_string_append_c (out, '}');
    }
  else if (is_number_list (array))
    {
      guint n = json_array_get_length (array);
      gsize column = child_column;

      /* Numbers are filled in, as many to a line as fit. */
      g_string_append (out, "[\n");
      g_string_append (out, child_indent);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(GString) item = g_string_new (NULL);

          append_scalar (item, json_array_get_element (array, i));
          if (i + 1 < n)
            g_string_append_c (item, ',');
          if (i > 0 && column + 1 + item->len > BKT_JSON_PRINT_WIDTH)
            {
              g_string_append_c (out, '\n');
              g_string_append (out, child_indent);
              column = child_column;
            }
          else if (i > 0)
            {
              g_string_append_c (out, ' ');
              column++;
            }
          g_string_append_len (out, item->str, item->len);
          column += item->len;
        }
      g_string_append_c (out, '\n');
      g_string_append (out, indent);
      g_string_append_c (out, ']');
    }
  else
    {
      guint n = json_array_get_length (array);

      g_string_append (out, "[\n");
      for (guint i = 0; i < n; i++)
        {
          JsonNode *child_shape = NULL;

          if (shape_array != NULL && i < json_array_get_length (shape_array))
            child_shape = json_array_get_element (shape_array, i);
          g_string_append (out, child_indent);
          append_pretty (out, json_array_get_element (array, i), child_indent, unit,
                         child_column, i + 1 < n ? 1 : 0, FALSE, shape_doc, child_shape);
          g_string_append (out, i + 1 < n ? ",\n" : "\n");
        }
      g_string_append (out, indent);
      g_string_append_c (out, ']');
    }
}

static void
append_pretty (GString *out, JsonNode *node, const char *indent, const char *unit,
               gsize column, gsize trailing, gboolean expand,
               BktJsonDoc *shape_doc, JsonNode *shape)
{
  JsonObject *object = node_object (node);
  JsonArray *array = node_array (node);
  gboolean empty;

  if (object == NULL && array == NULL)
    {
      append_scalar (out, node);
      return;
    }

  empty = object != NULL ? json_object_get_size (object) == 0 : json_array_get_length (array) == 0;
  if (array != NULL && is_matrix (array))
    expand = TRUE;
  if (!empty && !expand && !was_expanded (shape_doc, shape))
    {
      g_autoptr(GString) line = g_string_new (NULL);

      bkt_json_append_inline (line, node);
      if (column + string_width (line->str) + trailing <= BKT_JSON_PRINT_WIDTH)
        {
          g_string_append_len (out, line->str, line->len);
          return;
        }
    }
  if (empty)
    g_string_append (out, object != NULL ? "{}" : "[]");
  else
    append_expanded (out, node, indent, unit, shape_doc, shape);
}

void
bkt_json_append_pretty (GString *out, JsonNode *node, const BktJsonLayout *layout)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (node != NULL);
  g_return_if_fail (layout != NULL);

  append_pretty (out, node,
                 layout->indent != NULL ? layout->indent : "",
                 layout->unit != NULL ? layout->unit : "  ",
                 layout->column, layout->trailing, layout->expand,
                 layout->shape_doc, layout->shape);
}

/* A list of entries: each entry on a line of its own (or several), never
 * the whole list on one line, so adding an entry adds lines. */
static gboolean
is_entry_list (JsonNode *node)
{
  JsonArray *array = node_array (node);
  guint n;

  if (array == NULL)
    return FALSE;
  n = json_array_get_length (array);
  if (n == 0)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (JSON_NODE_TYPE (json_array_get_element (array, i)) != JSON_NODE_OBJECT)
      return FALSE;
  return TRUE;
}

char *
bkt_json_to_document (JsonNode *root, gsize *length)
{
  GString *out = g_string_new (NULL);
  JsonObject *object;

  g_return_val_if_fail (root != NULL, NULL);

  object = node_object (root);
  if (object == NULL || json_object_get_size (object) == 0)
    {
      BktJsonLayout layout = { .indent = "", .unit = "  " };
      bkt_json_append_pretty (out, root, &layout);
    }
  else
    {
      g_autoptr(GList) names = json_object_get_members (object);

      g_string_append (out, "{\n");
      for (GList *l = names; l != NULL; l = l->next)
        {
          JsonNode *value = json_object_get_member (object, l->data);
          gsize start = out->len;
          BktJsonLayout layout = { .indent = "  ", .unit = "  " };

          g_string_append (out, "  ");
          bkt_json_append_string (out, l->data);
          g_string_append (out, ": ");
          layout.column = bkt_json_text_width (out->str + start, (gssize) (out->len - start));
          layout.trailing = l->next != NULL ? 1 : 0;
          layout.expand = is_entry_list (value);
          bkt_json_append_pretty (out, value, &layout);
          g_string_append (out, l->next != NULL ? ",\n" : "\n");
        }
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, '\n');

  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}
