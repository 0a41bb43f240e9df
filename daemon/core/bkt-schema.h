/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-json.h"
#include "bkt-manifest.h"
#include "bkt-shape.h"

G_BEGIN_DECLS

/* Every kind of document a distribution repo holds, with the shape its
 * loader checks it against (bkt-manifest-shapes.c) and the JSON Schema
 * `bkt schema generate` writes from that shape.  The seven BktManifestKind
 * kinds come first, in their enum's order. */
typedef struct {
  const char     *name;        /* "flatpak-apps", "upstream-manifest", "repo" */
  const char     *path;        /* in a distribution repo: "manifests/flatpak-apps.json" */
  const char     *schema_file; /* "flatpak-apps.schema.json" */
  const char     *title;
  const char     *description;
  const BktShape *shape;
  /* What the shape cannot say (unique ARG names of upstreams), or NULL.
   * The seven manifest kinds' unique keys are bkt_manifest_load_node()'s. */
  gboolean      (*check_more) (BktJsonDoc *doc, JsonNode *root, GError **error);
} BktSchemaKind;

#define BKT_SCHEMA_DRAFT "https://json-schema.org/draft/2020-12/schema"

const BktSchemaKind *bkt_schema_kinds       (guint *n_kinds);
const BktSchemaKind *bkt_schema_kind_lookup (const char *name);
/* The root shape of a manifest kind (what bkt_manifest_load_node() walks). */
const BktShape      *bkt_manifest_kind_shape (BktManifestKind kind);
/* The JSON Schema document of @kind. */
JsonNode            *bkt_schema_generate    (const BktSchemaKind *kind);
/* Check @root, a document of @kind in @doc: its shape, then check_more. */
gboolean             bkt_schema_check_document (const BktSchemaKind *kind, BktJsonDoc *doc, JsonNode *root,
                                                GError **error);
/* An upstream's Containerfile ARG name part: NAME upper-cased, '.' and '-'
 * as '_' (two upstreams may not share one). */
char                *bkt_schema_upstream_arg_name (const char *name);
/* Parse @data and check it against @kind's shape: the document, or NULL
 * with BKT_ERROR_INVALID_MANIFEST "DISPLAY:LINE:COLUMN: what".  At most
 * @max_size bytes. */
BktJsonDoc          *bkt_schema_load_data   (const BktSchemaKind *kind, const char *display, const char *data,
                                             gsize length, gsize max_size, GError **error);

/* Rules other layers check names with (bkt-upstream.c, bkt-base.c). */
extern const BktStringRule bkt_rule_upstream_name;
extern const BktStringRule bkt_rule_github_repo;
extern const BktStringRule bkt_rule_upstream_version;
extern const BktStringRule bkt_rule_base_package;

G_END_DECLS
