/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by bkt-manifest.c, bkt-manifest-writer.c and bkt-upstream.c only. */

#include "bkt-json.h"
#include "bkt-manifest.h"

G_BEGIN_DECLS

/* What the edit-preserving writer needs to know of a BktManifest. */
typedef struct {
  BktManifestKind kind;
  BktJsonDoc     *doc;      /* the file it was loaded from, or NULL */
  JsonNode       *root;     /* its current root object */
  JsonArray      *entries;  /* the root's list member */
  /* Set for a list of objects that is no BktManifestKind's (the upstream
   * pins): the list member's name; entries are keyed by their "name". */
  const char     *list_member;
} BktManifestView;

/* The loaded file's bytes with only the changed entries rewritten, or NULL
 * when that is not possible (not loaded from a file, or edits outside the
 * list): the caller then serialises the whole document. */
char *bkt_manifest_view_to_data_preserving (const BktManifestView *self, gsize *length);

G_END_DECLS
