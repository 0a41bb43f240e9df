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

G_END_DECLS
