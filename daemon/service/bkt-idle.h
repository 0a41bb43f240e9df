/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Idle exit.  Whatever keeps the daemon busy (a method call being handled,
 * a pending or running transaction) holds a BktIdleLocker for as long as
 * it lasts, and every method call counts from its arrival on the
 * connection to its reply (bkt_idle_watch_calls); the timer runs only
 * while neither is there, and "timeout" is emitted when it runs out.  One
 * object instead of re-arm calls scattered over every path that starts or
 * ends work. */
#define BKT_TYPE_IDLE (bkt_idle_get_type ())
G_DECLARE_FINAL_TYPE (BktIdle, bkt_idle, BKT, IDLE, GObject)

/* @timeout_seconds: 0 never times out. */
BktIdle *bkt_idle_new       (guint timeout_seconds);
/* Arms the timer if nothing holds a lock (the daemon is ready). */
void     bkt_idle_start     (BktIdle *self);
guint    bkt_idle_get_n_locks (BktIdle *self);
/* Counts the calls on @connection from arrival to reply (a connection
 * filter); once, before the daemon serves.  The calls unanswered now: */
void     bkt_idle_watch_calls (BktIdle *self, GDBusConnection *connection);
guint    bkt_idle_get_n_calls (BktIdle *self);
/* The last phase of an idle exit: "timeout" is emitted again as soon as
 * nothing holds a lock (no more waiting for the timeout), after whatever
 * is already queued in the main context ran. */
void     bkt_idle_drain     (BktIdle *self);

typedef struct _BktIdleLocker BktIdleLocker;

/* Holds @idle busy until the locker is freed; @reason is for the log. */
BktIdleLocker *bkt_idle_locker_new  (BktIdle *idle, const char *reason);
void           bkt_idle_locker_free (BktIdleLocker *locker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktIdleLocker, bkt_idle_locker_free)

G_END_DECLS
