/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-sync.h"

G_BEGIN_DECLS

/* Whether @query names @target as bkt_sync_match() reads names: the
 * target, the target without its "subsystem:" prefix, or "A B" for "A.B". */
gboolean bkt_sync_query_names_target (const char *query, const char *target);

/* Untracked items are recorded only when picked (docs/manifests.md, "Which
 * side changed"): with @select (names as bkt_sync_match() reads them) a
 * capture plan keeps only the operations these name; else it leaves out
 * the untracked ones unless @all_untracked, with one grouped warning.  A
 * selected name that names nothing on this machine or in the manifests is
 * BKT_ERROR_NOT_FOUND; one whose item capture must not record (in sync,
 * never applied here, changed in the manifests) is a warning.  Run after
 * bkt_sync_classify(). */
gboolean bkt_capture_select (BktSync *sync, GPtrArray *ops, GPtrArray *warnings,
                             const char * const *select, gboolean all_untracked, GError **error);

G_END_DECLS
