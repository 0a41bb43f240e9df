/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A unified diff ("--- A", "+++ B", "@@ -l,n +l,n @@" hunks with
 * @context lines around each change) of two texts, line by line, from a
 * shortest edit script (Myers' O((N+M)D) algorithm).  Past
 * BKT_DIFF_MAX_EDITS differences the script is no longer minimal: the
 * rest is one hunk that removes and adds it all (still a correct diff).
 * A last line without a newline gets "\ No newline at end of file".
 * Equal texts give "". */
#define BKT_DIFF_MAX_EDITS 4096

char *bkt_diff_unified (const char *label_a, const char *a, gsize a_len,
                        const char *label_b, const char *b, gsize b_len, guint context);

G_END_DECLS
