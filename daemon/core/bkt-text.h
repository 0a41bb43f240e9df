/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Optimal string alignment distance between @a and @b (insertions,
 * deletions, substitutions and adjacent transpositions each count one:
 * "tset" for "test" is the typo people make), for "did you mean"
 * suggestions.  Gives up early and returns @max + 1 once the distance is
 * known to exceed @max (pass G_MAXUINT - 1 for no bound). */
guint bkt_text_edit_distance (const char *a, const char *b, guint max, gboolean ignore_case);

G_END_DECLS
