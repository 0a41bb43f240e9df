/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-sync.h"

G_BEGIN_DECLS

/* {"query", "items": [{"target", "subsystem", "scope", "manifest_kind",
 *   "key", "layers": [bkt_manifest_set_layer_entries()], "manifest",
 *   "base": {"value","layer","file","command","when"}|null, "live",
 *   "record", "state", "direction", "command"}]} for the items @query
 * names (bkt_sync_match()), or a declared entry no subsystem classifies
 * here (state "unknown", "reason").  BKT_ERROR_NOT_FOUND when nothing
 * matches.  @sync holds the items of every classifying subsystem. */
JsonObject *bkt_explain (BktSync *sync, BktManifestSet *manifests, const char *query, GError **error);

G_END_DECLS
