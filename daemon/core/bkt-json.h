/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A JSON document parsed with the source position of every node.
 *
 * json-glib's parser forgets where a node came from once parsing is done,
 * but a manifest error must say file:line:column (for a wrong type as much
 * as for a syntax error), and later edits must touch only the bytes of one
 * entry.  So we parse ourselves into json-glib nodes and keep a side table
 * node → span. */
typedef struct {
  guint line;    /* 1-based line of the node's first byte */
  guint column;  /* 1-based column (in bytes) of the node's first byte */
  gsize offset;  /* byte offset of the node's first byte */
  gsize end;     /* byte offset one past the node's last byte */
} BktJsonSpan;

#define BKT_JSON_MAX_DEPTH 64

#define BKT_TYPE_JSON_DOC (bkt_json_doc_get_type ())
G_DECLARE_FINAL_TYPE (BktJsonDoc, bkt_json_doc, BKT, JSON_DOC, GObject)

/* Parse @data (UTF-8, @length or -1).  @filename is only used in messages.
 * Errors are BKT_ERROR_INVALID_MANIFEST with "FILENAME:LINE:COLUMN: what". */
BktJsonDoc *bkt_json_doc_parse (const char *filename,
                                const char *data,
                                gssize      length,
                                GError    **error);

JsonNode          *bkt_json_doc_get_root     (BktJsonDoc *self);
const char        *bkt_json_doc_get_filename (BktJsonDoc *self);
const char        *bkt_json_doc_get_data     (BktJsonDoc *self, gsize *length);
/* NULL for nodes that did not come from this document. */
const BktJsonSpan *bkt_json_doc_get_span     (BktJsonDoc *self, JsonNode *node);

/* Set @error to BKT_ERROR_INVALID_MANIFEST "FILENAME:LINE:COLUMN: MESSAGE"
 * located at @node (or at the start of the file if unknown). Returns FALSE. */
gboolean bkt_json_doc_error_at (BktJsonDoc *self,
                                JsonNode   *node,
                                GError    **error,
                                const char *format,
                                ...) G_GNUC_PRINTF (4, 5);

/* ------------------------------------------------------------------ */
/* Writing (bkt-json-writer.c)
 *
 * Layout as prettier writes .json files: 2-space indent, `"key": value`,
 * and an object or array on one line when that line, including the comma
 * that follows the value, fits in BKT_JSON_PRINT_WIDTH columns, else one
 * member or element per line.  Objects on one line are `{ "a": 1 }`,
 * arrays `[1, 2]`, empty ones `{}` and `[]`.  Strings escape '"', '\\'
 * and control characters (\n, \t, ... or \u00XX) and keep other text,
 * non-ASCII included, as it is; integers are written as integers and
 * doubles with the fewest digits that read back as the same value (and a
 * ".0" if they would otherwise read back as an integer). */

#define BKT_JSON_PRINT_WIDTH 80

typedef struct {
  const char *indent;    /* indentation of the line the value starts on */
  const char *unit;      /* one more level of indentation ("  " if NULL) */
  gsize       column;    /* display width of what precedes the value on its line */
  gsize       trailing;  /* characters following it on the line (1 for a comma) */
  gboolean    expand;    /* expand the value itself even if it would fit */
  /* Optional: the value as it was in a parsed document.  Objects that
   * were expanded there (a line break between "{" and the first member)
   * stay expanded, as prettier keeps them; members are matched by name,
   * elements by position. */
  BktJsonDoc *shape_doc;
  JsonNode   *shape;
} BktJsonLayout;

/* @str as a JSON string literal. */
void   bkt_json_append_string (GString *out, const char *str);
/* @node on one line. */
void   bkt_json_append_inline (GString *out, JsonNode *node);
/* @node laid out for the position @layout describes.  Lines after the
 * first are indented; no line break is written before or after. */
void   bkt_json_append_pretty (GString *out, JsonNode *node, const BktJsonLayout *layout);
/* Columns @text takes (wide characters two, combining marks none). */
gsize  bkt_json_text_width    (const char *text, gssize length);
/* A whole file: the top-level object always expanded, a member holding a
 * non-empty array of objects (a list of entries) always one entry per
 * line or more, anything else by the rule above; final newline. */
char  *bkt_json_to_document   (JsonNode *root, gsize *length);

/* The string member @member of @o, or NULL when @o is NULL, the member is
 * missing or it is not a string: lookups in documents read from elsewhere
 * must never abort on a wrong type. */
const char *bkt_json_object_get_string (JsonObject *o, const char *member);

/* Deep copies: json_node_copy() shares objects and arrays, and sealed or
 * shared trees must never be edited through a copy. */
JsonNode   *bkt_json_node_deep_copy   (JsonNode *node);
JsonObject *bkt_json_object_deep_copy (JsonObject *object);
JsonArray  *bkt_json_array_deep_copy  (JsonArray *array);

/* Appends {"name", "ok", "detail"?, "fix"?} to @checks — one check of
 * bkt doctor's report (the session daemon's part and the client's): the
 * detail when given, the fix only for a failed check. */
void        bkt_json_add_check (JsonArray *checks, const char *name, gboolean ok, const char *detail,
                                const char *fix);

G_END_DECLS
