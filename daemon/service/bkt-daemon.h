/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-engine.h"

G_BEGIN_DECLS

/* The exported org.bkt.Daemon1 object of one instance (system or session):
 * method dispatch, polkit (system), transactions, Busy, idle exit. */
#define BKT_TYPE_DAEMON (bkt_daemon_get_type ())
G_DECLARE_FINAL_TYPE (BktDaemon, bkt_daemon, BKT, DAEMON, GObject)

/* @idle_timeout: seconds without calls or transactions before the "idle"
 * signal (0: never). */
BktDaemon *bkt_daemon_new    (BktInstance instance, guint idle_timeout);
gboolean   bkt_daemon_export (BktDaemon *self, GDBusConnection *connection, GError **error);
/* The first "idle" of a daemon that owns a bus name: releases it (from
 * g_bus_own_name_on_connection) and answers what was routed here before the
 * release; "idle" comes again when that is done, then the daemon may exit. */
void       bkt_daemon_release_name (BktDaemon *self, guint owner_id);

/* bktd: options, connection, main loop; the exit code (bktd.c). */
int        bkt_daemon_main   (int argc, char **argv);

G_END_DECLS
