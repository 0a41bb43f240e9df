/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Structured logging: to journald (with BKT_* fields) when stderr is the
 * journal, as under systemd; as plain "bktd[instance]: level: text" lines
 * otherwise.  @verbose also shows info and debug messages. */
void bkt_log_setup (const char *instance, gboolean verbose, gboolean quiet);

G_END_DECLS
