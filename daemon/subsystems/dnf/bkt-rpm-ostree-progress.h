/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "bkt-spawn.h"

G_BEGIN_DECLS

/* rpm-ostree's CLI output, turned into progress as it arrives.  Without a
 * terminal, rpm-ostree prints one line per phase of a transaction
 * ("Checking out tree 675ab14... done", "Resolving dependencies... done",
 * "Importing packages (3/10)... done", "Staging deployment... done", then
 * "Added:" and a summary); the phase's text comes first and "done" when it
 * ends, on the same line.  Phases have a known order, so each one maps to a
 * share of the whole; "N/M" counts move within a phase.  Unknown lines only
 * change the detail text: a future rpm-ostree with new phases still shows
 * what it does, and the bar never goes backwards. */
typedef struct {
  BktLineBuffer lines;
  double        fraction;   /* 0..1, never decreasing */
  char         *detail;     /* the phase, e.g. "Resolving dependencies" */
  gboolean      changed;
} BktRpmOstreeProgress;

void     bkt_rpm_ostree_progress_init  (BktRpmOstreeProgress *p);
void     bkt_rpm_ostree_progress_clear (BktRpmOstreeProgress *p);
/* TRUE when the fraction or the detail changed. */
gboolean bkt_rpm_ostree_progress_feed  (BktRpmOstreeProgress *p, const char *data, gsize len);

G_END_DECLS
