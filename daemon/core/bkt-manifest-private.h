/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the core manifest files (bkt-manifest*.c) and bkt-upstream.c only. */

#include "bkt-json.h"
#include "bkt-manifest.h"
#include "bkt-shape.h"

G_BEGIN_DECLS

/* The name rules of bkt-manifest-names.c, for the shapes
 * (bkt-manifest-shapes.c). */
extern const BktStringRule bkt_rule_extension_uuid;
extern const BktStringRule bkt_rule_plus_name;   /* shim and package names */
extern const BktStringRule bkt_rule_shim_host;
extern const BktStringRule bkt_rule_copr_name;
extern const BktStringRule bkt_rule_flatpak_app_id;

/* What the edit-preserving writer needs to know of a BktManifest. */
typedef struct {
  BktManifestKind kind;
  const char     *filename; /* for the re-parse's messages */
  const char     *data;     /* the file's bytes, to be edited */
  gsize           length;
  JsonNode       *root;     /* the manifest's current root object */
  const char     *list;     /* the list member to rewrite: the kind's, or
                             * a secondary list ("copr_repos", keyed by
                             * its entries' "name") */
  JsonArray      *entries;  /* the root's @list member */
  const char     *other;    /* a member that may differ too (rewritten by
                             * another pass), or NULL */
} BktManifestView;

/* @data with only the changed entries of @list rewritten, or NULL when
 * that is not possible (edits outside @list and @other): the caller then
 * serialises the whole document.  The caller makes sure @root was loaded
 * from a file; a manifest with two lists edited is written in two passes
 * (the second one's @data being the first one's output). */
char *bkt_manifest_view_to_data_preserving (const BktManifestView *self, gsize *length);

G_END_DECLS
