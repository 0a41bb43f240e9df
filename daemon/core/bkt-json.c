/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "bkt-error.h"
#include "bkt-json.h"

/* A strict RFC 8259 parser producing json-glib nodes plus a side table of
 * source spans.  We do not use JsonParser because it cannot tell us where a
 * node came from after the fact, and because it accepts things a manifest
 * must not contain (duplicate members silently overwrite, comments with
 * some options). */

struct _BktJsonDoc
{
  GObject parent_instance;

  char *filename;
  char *data;        /* NUL-terminated private copy */
  gsize length;
  JsonNode *root;
  /* JsonNode* (one reference held) → BktJsonSpan*.  Holding a reference
   * keeps a node alive while the document lives, so that a node removed
   * from the tree by an edit cannot be freed and its address reused by a
   * new node, which would then be given a stale span. */
  GHashTable *spans;
};

G_DEFINE_TYPE (BktJsonDoc, bkt_json_doc, G_TYPE_OBJECT)

static void
bkt_json_doc_finalize (GObject *object)
{
  BktJsonDoc *self = BKT_JSON_DOC (object);

  g_clear_pointer (&self->spans, g_hash_table_unref);
  g_clear_pointer (&self->root, json_node_unref);
  g_clear_pointer (&self->data, g_free);
  g_clear_pointer (&self->filename, g_free);

  G_OBJECT_CLASS (bkt_json_doc_parent_class)->finalize (object);
}

static void
bkt_json_doc_class_init (BktJsonDocClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_json_doc_finalize;
}

static void
bkt_json_doc_init (BktJsonDoc *self)
{
  self->spans = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                       (GDestroyNotify) json_node_unref,
                                       g_free);
}

/* ------------------------------------------------------------------ */
/* Parser                                                               */

typedef struct
{
  BktJsonDoc *doc;
  const char *data;
  gsize len;
  gsize pos;
  /* Newlines only ever appear in whitespace (a raw newline inside a
   * string is an error), so tracking the current line while skipping
   * whitespace is enough to know the line of every byte we look at. */
  guint line;
  gsize line_start;
  guint depth;
  GError **error;
} Parser;

typedef struct
{
  guint line;
  guint column;
  gsize offset;
} Pos;

static Pos
parser_pos (Parser *p)
{
  Pos pos = { p->line, (guint) (p->pos - p->line_start + 1), p->pos };
  return pos;
}

static gboolean parser_error_at (Parser *p, Pos pos, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
parser_error_at (Parser *p, Pos pos, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (p->error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST,
               "%s:%u:%u: %s", p->doc->filename, pos.line, pos.column, msg);
  return FALSE;
}

static gboolean
at_eof (Parser *p)
{
  return p->pos >= p->len;
}

static void
skip_ws (Parser *p)
{
  while (p->pos < p->len)
    {
      char c = p->data[p->pos];

      if (c == '\n')
        {
          p->pos++;
          p->line++;
          p->line_start = p->pos;
        }
      else if (c == ' ' || c == '\t' || c == '\r')
        p->pos++;
      else
        break;
    }
}

/* Describe the byte at the current position for an error message, so
 * "expected ':'" can say what it found instead. Validates UTF-8 here too:
 * outside strings any non-ASCII byte is an error anyway, but "invalid
 * UTF-8" is the more useful thing to say when that is the actual problem. */
static char *
describe_here (Parser *p, gboolean *invalid_utf8)
{
  guchar c;

  *invalid_utf8 = FALSE;
  if (at_eof (p))
    return g_strdup ("end of file");

  c = (guchar) p->data[p->pos];
  if (c == '\0')
    return g_strdup ("a NUL byte");
  if (c < 0x20 || c == 0x7f)
    return g_strdup_printf ("control character 0x%02x", c);
  if (c < 0x80)
    return g_strdup_printf ("'%c'", c);

  {
    gunichar ch = g_utf8_get_char_validated (p->data + p->pos, (gssize) (p->len - p->pos));
    if (ch == (gunichar) -1 || ch == (gunichar) -2)
      {
        *invalid_utf8 = TRUE;
        return g_strdup ("invalid UTF-8");
      }
    {
      char buf[8] = { 0 };
      g_unichar_to_utf8 (ch, buf);
      return g_strdup_printf ("'%s'", buf);
    }
  }
}

/* "expected X, got Y" at the current position. */
static gboolean
parser_expected (Parser *p, const char *what)
{
  gboolean invalid_utf8;
  g_autofree char *got = describe_here (p, &invalid_utf8);

  if (invalid_utf8)
    return parser_error_at (p, parser_pos (p), "invalid UTF-8 byte sequence");
  if (at_eof (p))
    return parser_error_at (p, parser_pos (p), "unexpected end of file, %s", what);
  return parser_error_at (p, parser_pos (p), "%s, got %s", what, got);
}

static void
record_span (Parser *p, JsonNode *node, Pos start)
{
  BktJsonSpan *span = g_new0 (BktJsonSpan, 1);

  span->line = start.line;
  span->column = start.column;
  span->offset = start.offset;
  span->end = p->pos;
  g_hash_table_replace (p->doc->spans, json_node_ref (node), span);
}

static gboolean
parse_hex4 (Parser *p, guint *out)
{
  guint v = 0;

  if (p->len - p->pos < 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (p->data[p->pos + i]);
      if (d < 0)
        return FALSE;
      v = (v << 4) | (guint) d;
    }
  p->pos += 4;
  *out = v;
  return TRUE;
}

/* Parses a string starting at the opening quote.  Returns the unescaped,
 * validated UTF-8 text or NULL with an error set. */
static char *
parse_string (Parser *p)
{
  g_autoptr(GString) out = g_string_new (NULL);
  Pos open = parser_pos (p);

  g_assert (p->data[p->pos] == '"');
  p->pos++;

  for (;;)
    {
      guchar c;

      if (at_eof (p))
        {
          parser_error_at (p, open, "unterminated string");
          return NULL;
        }

      c = (guchar) p->data[p->pos];
      if (c == '"')
        {
          p->pos++;
          return g_string_free (g_steal_pointer (&out), FALSE);
        }
      else if (c == '\\')
        {
          Pos esc = parser_pos (p);
          char e;

          p->pos++;
          if (at_eof (p))
            {
              parser_error_at (p, open, "unterminated string");
              return NULL;
            }
          e = p->data[p->pos++];
          switch (e)
            {
            case '"': g_string_append_c (out, '"'); break;
            case '\\': g_string_append_c (out, '\\'); break;
            case '/': g_string_append_c (out, '/'); break;
            case 'b': g_string_append_c (out, '\b'); break;
            case 'f': g_string_append_c (out, '\f'); break;
            case 'n': g_string_append_c (out, '\n'); break;
            case 'r': g_string_append_c (out, '\r'); break;
            case 't': g_string_append_c (out, '\t'); break;
            case 'u':
              {
                guint u;
                gunichar ch;

                if (!parse_hex4 (p, &u))
                  {
                    parser_error_at (p, esc, "invalid \\u escape: expected four hexadecimal digits");
                    return NULL;
                  }
                if (u >= 0xD800 && u <= 0xDBFF)
                  {
                    guint lo;

                    /* A high surrogate is only meaningful followed by an
                     * escaped low surrogate; together they encode one
                     * character outside the BMP. */
                    if (p->len - p->pos < 2 || p->data[p->pos] != '\\' ||
                        p->data[p->pos + 1] != 'u')
                      {
                        parser_error_at (p, esc, "unpaired surrogate \\u%04X in string", u);
                        return NULL;
                      }
                    p->pos += 2;
                    if (!parse_hex4 (p, &lo))
                      {
                        Pos lo_pos = esc;
                        lo_pos.column += 6;
                        lo_pos.offset += 6;
                        parser_error_at (p, lo_pos, "invalid \\u escape: expected four hexadecimal digits");
                        return NULL;
                      }
                    if (lo < 0xDC00 || lo > 0xDFFF)
                      {
                        parser_error_at (p, esc, "unpaired surrogate \\u%04X in string", u);
                        return NULL;
                      }
                    ch = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                  }
                else if (u >= 0xDC00 && u <= 0xDFFF)
                  {
                    parser_error_at (p, esc, "unpaired surrogate \\u%04X in string", u);
                    return NULL;
                  }
                else if (u == 0)
                  {
                    /* json-glib strings are C strings: a NUL would
                     * silently truncate the value. */
                    parser_error_at (p, esc, "\\u0000 is not supported in strings");
                    return NULL;
                  }
                else
                  ch = u;
                g_string_append_unichar (out, ch);
                break;
              }
            default:
              if ((guchar) e < 0x20 || (guchar) e >= 0x7f)
                parser_error_at (p, esc, "invalid escape sequence in string");
              else
                parser_error_at (p, esc, "invalid escape sequence '\\%c' in string", e);
              return NULL;
            }
        }
      else if (c < 0x20)
        {
          if (c == '\n' || c == '\r')
            parser_error_at (p, parser_pos (p), "unescaped line break in string (missing closing '\"'?)");
          else if (c == '\0')
            parser_error_at (p, parser_pos (p), "NUL byte in string");
          else
            parser_error_at (p, parser_pos (p), "unescaped control character 0x%02x in string", c);
          return NULL;
        }
      else if (c < 0x80)
        {
          g_string_append_c (out, (char) c);
          p->pos++;
        }
      else
        {
          const char *s = p->data + p->pos;
          gunichar ch = g_utf8_get_char_validated (s, (gssize) (p->len - p->pos));
          const char *next;

          /* g_utf8_get_char_validated() rejects overlong forms, surrogates
           * and values above U+10FFFF, which is exactly RFC 3629. */
          if (ch == (gunichar) -1 || ch == (gunichar) -2)
            {
              parser_error_at (p, parser_pos (p), "invalid UTF-8 byte sequence");
              return NULL;
            }
          next = g_utf8_next_char (s);
          g_string_append_len (out, s, next - s);
          p->pos += (gsize) (next - s);
        }
    }
}

static gboolean
is_digit (Parser *p)
{
  return !at_eof (p) && g_ascii_isdigit (p->data[p->pos]);
}

static JsonNode *
parse_number (Parser *p)
{
  Pos start = parser_pos (p);
  gboolean integral = TRUE;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (p->data[p->pos] == '-')
    {
      p->pos++;
      if (!is_digit (p))
        {
          parser_expected (p, "expected a digit after '-'");
          return NULL;
        }
    }

  if (p->data[p->pos] == '0')
    {
      p->pos++;
      if (is_digit (p))
        {
          parser_error_at (p, start, "invalid number: leading zeros are not allowed");
          return NULL;
        }
    }
  else
    while (is_digit (p))
      p->pos++;

  if (!at_eof (p) && p->data[p->pos] == '.')
    {
      integral = FALSE;
      p->pos++;
      if (!is_digit (p))
        {
          parser_expected (p, "expected a digit after '.' in number");
          return NULL;
        }
      while (is_digit (p))
        p->pos++;
    }

  if (!at_eof (p) && (p->data[p->pos] == 'e' || p->data[p->pos] == 'E'))
    {
      integral = FALSE;
      p->pos++;
      if (!at_eof (p) && (p->data[p->pos] == '+' || p->data[p->pos] == '-'))
        p->pos++;
      if (!is_digit (p))
        {
          parser_expected (p, "expected a digit in the number's exponent");
          return NULL;
        }
      while (is_digit (p))
        p->pos++;
    }

  text = g_strndup (p->data + start.offset, p->pos - start.offset);
  node = json_node_alloc ();

  /* "Integral" is decided by the spelling, as json-glib does: 1 is an
   * int64, 1.0 is a double.  That keeps a value's type stable across a
   * load/save round trip. */
  if (integral)
    {
      gint64 v;
      char *end = NULL;

      errno = 0;
      v = g_ascii_strtoll (text, &end, 10);
      if (errno == 0 && end != NULL && *end == '\0')
        {
          json_node_init_int (node, v);
          record_span (p, node, start);
          return g_steal_pointer (&node);
        }
      /* Out of int64 range: fall through to a double, like JavaScript. */
    }

  {
    double d;

    errno = 0;
    d = g_ascii_strtod (text, NULL);
    if (!isfinite (d))
      {
        parser_error_at (p, start, "number %s is out of range", text);
        return NULL;
      }
    json_node_init_double (node, d);
  }

  record_span (p, node, start);
  return g_steal_pointer (&node);
}

static JsonNode *parse_value (Parser *p);

static gboolean
enter_container (Parser *p, Pos start)
{
  if (p->depth >= BKT_JSON_MAX_DEPTH)
    return parser_error_at (p, start, "nesting is too deep (at most %d levels of objects and arrays)",
                            BKT_JSON_MAX_DEPTH);
  p->depth++;
  return TRUE;
}

static JsonNode *
parse_object (Parser *p)
{
  Pos start = parser_pos (p);
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (!enter_container (p, start))
    return NULL;

  object = json_object_new ();
  p->pos++; /* '{' */
  skip_ws (p);

  if (!at_eof (p) && p->data[p->pos] == '}')
    p->pos++;
  else
    for (;;)
      {
        Pos key_pos;
        g_autofree char *name = NULL;
        JsonNode *value;

        if (at_eof (p) || p->data[p->pos] != '"')
          {
            parser_expected (p, "expected a string (member name) or '}'");
            return NULL;
          }
        key_pos = parser_pos (p);
        name = parse_string (p);
        if (name == NULL)
          return NULL;
        if (json_object_has_member (object, name))
          {
            parser_error_at (p, key_pos, "duplicate member \"%s\" in object", name);
            return NULL;
          }

        skip_ws (p);
        if (at_eof (p) || p->data[p->pos] != ':')
          {
            parser_expected (p, "expected ':' after member name");
            return NULL;
          }
        p->pos++;
        skip_ws (p);

        value = parse_value (p);
        if (value == NULL)
          return NULL;
        /* The object takes our reference; the span table holds its own,
         * recorded on exactly this node, which json_object_get_member()
         * will hand back later. */
        json_object_set_member (object, name, value);

        skip_ws (p);
        if (!at_eof (p) && p->data[p->pos] == ',')
          {
            Pos comma = parser_pos (p);

            p->pos++;
            skip_ws (p);
            if (!at_eof (p) && p->data[p->pos] == '}')
              {
                parser_error_at (p, comma, "trailing comma before '}' is not allowed");
                return NULL;
              }
            continue;
          }
        if (!at_eof (p) && p->data[p->pos] == '}')
          {
            p->pos++;
            break;
          }
        parser_expected (p, "expected ',' or '}' after object member");
        return NULL;
      }

  p->depth--;
  node = json_node_alloc ();
  json_node_init_object (node, object);
  record_span (p, node, start);
  return g_steal_pointer (&node);
}

static JsonNode *
parse_array (Parser *p)
{
  Pos start = parser_pos (p);
  g_autoptr(JsonArray) array = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (!enter_container (p, start))
    return NULL;

  array = json_array_new ();
  p->pos++; /* '[' */
  skip_ws (p);

  if (!at_eof (p) && p->data[p->pos] == ']')
    p->pos++;
  else
    for (;;)
      {
        JsonNode *value = parse_value (p);

        if (value == NULL)
          return NULL;
        json_array_add_element (array, value);

        skip_ws (p);
        if (!at_eof (p) && p->data[p->pos] == ',')
          {
            Pos comma = parser_pos (p);

            p->pos++;
            skip_ws (p);
            if (!at_eof (p) && p->data[p->pos] == ']')
              {
                parser_error_at (p, comma, "trailing comma before ']' is not allowed");
                return NULL;
              }
            continue;
          }
        if (!at_eof (p) && p->data[p->pos] == ']')
          {
            p->pos++;
            break;
          }
        parser_expected (p, "expected ',' or ']' after array element");
        return NULL;
      }

  p->depth--;
  node = json_node_alloc ();
  json_node_init_array (node, array);
  record_span (p, node, start);
  return g_steal_pointer (&node);
}

static gboolean
match_literal (Parser *p, const char *word)
{
  gsize n = strlen (word);

  if (p->len - p->pos < n || memcmp (p->data + p->pos, word, n) != 0)
    return FALSE;
  /* "trueish" is not "true" followed by garbage we report later: the
   * whole word is wrong, so say so here. */
  if (p->pos + n < p->len && g_ascii_isalnum (p->data[p->pos + n]))
    return FALSE;
  p->pos += n;
  return TRUE;
}

/* Value at the current (non-whitespace) position. */
static JsonNode *
parse_value (Parser *p)
{
  Pos start = parser_pos (p);
  g_autoptr(JsonNode) node = NULL;
  char c;

  if (at_eof (p))
    {
      parser_expected (p, "expected a JSON value");
      return NULL;
    }

  c = p->data[p->pos];
  switch (c)
    {
    case '{':
      return parse_object (p);
    case '[':
      return parse_array (p);
    case '"':
      {
        g_autofree char *s = parse_string (p);
        if (s == NULL)
          return NULL;
        node = json_node_alloc ();
        json_node_init_string (node, s);
        break;
      }
    case 't':
    case 'f':
    case 'n':
      node = json_node_alloc ();
      if (match_literal (p, "true"))
        json_node_init_boolean (node, TRUE);
      else if (match_literal (p, "false"))
        json_node_init_boolean (node, FALSE);
      else if (match_literal (p, "null"))
        json_node_init_null (node);
      else
        {
          parser_error_at (p, start, "invalid literal (expected true, false or null)");
          return NULL;
        }
      break;
    default:
      if (c == '-' || g_ascii_isdigit (c))
        return parse_number (p);
      parser_expected (p, "expected a JSON value");
      return NULL;
    }

  record_span (p, node, start);
  return g_steal_pointer (&node);
}

BktJsonDoc *
bkt_json_doc_parse (const char *filename,
                    const char *data,
                    gssize      length,
                    GError    **error)
{
  g_autoptr(BktJsonDoc) doc = NULL;
  Parser p = { 0 };

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length < 0)
    length = (gssize) strlen (data);

  doc = g_object_new (BKT_TYPE_JSON_DOC, NULL);
  doc->filename = g_strdup (filename != NULL ? filename : "<input>");
  doc->length = (gsize) length;
  doc->data = g_malloc ((gsize) length + 1);
  if (length > 0)
    memcpy (doc->data, data, (gsize) length);
  doc->data[length] = '\0';

  p.doc = doc;
  p.data = doc->data;
  p.len = doc->length;
  p.line = 1;
  p.error = error;

  /* RFC 8259 lets parsers ignore a byte order mark; editors on some
   * systems add one, and rejecting it would only confuse users. */
  if (p.len >= 3 && memcmp (p.data, "\xEF\xBB\xBF", 3) == 0)
    p.pos = 3;

  skip_ws (&p);
  doc->root = parse_value (&p);
  if (doc->root == NULL)
    return NULL;

  skip_ws (&p);
  if (!at_eof (&p))
    {
      parser_expected (&p, "expected end of file after the JSON value");
      return NULL;
    }

  return g_steal_pointer (&doc);
}

JsonNode *
bkt_json_doc_get_root (BktJsonDoc *self)
{
  g_return_val_if_fail (BKT_IS_JSON_DOC (self), NULL);
  return self->root;
}

const char *
bkt_json_doc_get_filename (BktJsonDoc *self)
{
  g_return_val_if_fail (BKT_IS_JSON_DOC (self), NULL);
  return self->filename;
}

const char *
bkt_json_doc_get_data (BktJsonDoc *self, gsize *length)
{
  g_return_val_if_fail (BKT_IS_JSON_DOC (self), NULL);
  if (length != NULL)
    *length = self->length;
  return self->data;
}

const BktJsonSpan *
bkt_json_doc_get_span (BktJsonDoc *self, JsonNode *node)
{
  g_return_val_if_fail (BKT_IS_JSON_DOC (self), NULL);
  if (node == NULL)
    return NULL;
  return g_hash_table_lookup (self->spans, node);
}

gboolean
bkt_json_doc_error_at (BktJsonDoc *self,
                       JsonNode   *node,
                       GError    **error,
                       const char *format,
                       ...)
{
  const BktJsonSpan *span;
  va_list args;
  g_autofree char *msg = NULL;
  guint line = 1, column = 1;

  g_return_val_if_fail (BKT_IS_JSON_DOC (self), FALSE);

  span = bkt_json_doc_get_span (self, node);
  if (span != NULL)
    {
      line = span->line;
      column = span->column;
    }

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST,
               "%s:%u:%u: %s", self->filename, line, column, msg);
  return FALSE;
}

const char *
bkt_json_object_get_string (JsonObject *o, const char *member)
{
  JsonNode *n;

  if (o == NULL || (n = json_object_get_member (o, member)) == NULL ||
      !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* json_node_copy() shares the object/array (and even the JsonValue)
 * between the copies, so editing one would edit the other. */
JsonNode *
bkt_json_node_deep_copy (JsonNode *node)
{
  JsonNode *copy = json_node_alloc ();

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *src = json_node_get_object (node);
        g_autoptr(JsonObject) dst = json_object_new ();
        g_autoptr(GList) names = json_object_get_members (src);

        for (GList *l = names; l != NULL; l = l->next)
          json_object_set_member (dst, l->data,
                                  bkt_json_node_deep_copy (json_object_get_member (src, l->data)));
        json_node_init_object (copy, dst);
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *src = json_node_get_array (node);
        g_autoptr(JsonArray) dst = json_array_sized_new (json_array_get_length (src));

        for (guint i = 0; i < json_array_get_length (src); i++)
          json_array_add_element (dst, bkt_json_node_deep_copy (json_array_get_element (src, i)));
        json_node_init_array (copy, dst);
        break;
      }
    case JSON_NODE_NULL:
      json_node_init_null (copy);
      break;
    case JSON_NODE_VALUE:
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING: json_node_init_string (copy, json_node_get_string (node)); break;
        case G_TYPE_BOOLEAN: json_node_init_boolean (copy, json_node_get_boolean (node)); break;
        case G_TYPE_INT64: json_node_init_int (copy, json_node_get_int (node)); break;
        case G_TYPE_DOUBLE: json_node_init_double (copy, json_node_get_double (node)); break;
        default: json_node_init_null (copy); break;
        }
      break;
    }
  return copy;
}

JsonObject *
bkt_json_object_deep_copy (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_alloc ();
  g_autoptr(JsonNode) copy = NULL;

  json_node_init_object (node, object);
  copy = bkt_json_node_deep_copy (node);
  return json_node_dup_object (copy);
}

JsonArray *
bkt_json_array_deep_copy (JsonArray *array)
{
  g_autoptr(JsonNode) node = json_node_alloc ();
  g_autoptr(JsonNode) copy = NULL;

  json_node_init_array (node, array);
  copy = bkt_json_node_deep_copy (node);
  return json_node_dup_array (copy);
}

void
bkt_json_add_check (JsonArray *checks, const char *name, gboolean ok, const char *detail, const char *fix)
{
  JsonObject *c = json_object_new ();

  json_object_set_string_member (c, "name", name);
  json_object_set_boolean_member (c, "ok", ok);
  if (detail != NULL)
    json_object_set_string_member (c, "detail", detail);
  if (fix != NULL && !ok)
    json_object_set_string_member (c, "fix", fix);
  json_array_add_object_element (checks, c);
}
