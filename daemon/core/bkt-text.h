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
/* strcmp, but runs of digits compare as numbers ("App2" < "App10"), so
 * lists read in the order people expect; equal numbers with different
 * leading zeros, and otherwise equal strings, fall back to strcmp (a total
 * order).  NULL sorts first. */
int   bkt_text_natural_compare (const char *a, const char *b);

/* @lines with the ones that say the same about different items grouped:
 * "shim bootc is in the manifest but not in …: `bkt shim remove bootc`
 * forgets it" for 7 shims becomes one line, "7× shim <name> is in the
 * manifest … `bkt shim remove <name>` forgets it — <name>: bootc, flatpak,
 * … and 2 more" (at most @max_names named), in the order each cause was
 * first seen.  Two lines belong together when they differ in one word
 * (the item, quotes and a "kind:" prefix aside) and are the same once
 * that item is replaced everywhere.  A line alone stays as it is. */
GPtrArray *bkt_text_group_lines (const char * const *lines, guint max_names);

G_END_DECLS
