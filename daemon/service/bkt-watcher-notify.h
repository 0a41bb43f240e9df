/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The watcher's desktop notification (org.freedesktop.Notifications on
 * the session bus): one notification for the items changed on this
 * machine, replaced when they change, with the actions "Review",
 * "Propose" and "Ignore" when the server supports actions.
 *
 *   Propose  runs `bkt capture --pr --item T…` of exactly the notified
 *            items (the client: the same validation, preflight and
 *            D-Bus path as typed by the user), then shows its outcome;
 *   Ignore   adds them to "ignore" in config.json;
 *   Review   shows every item and the commands.
 *
 * @settled runs after Propose or Ignore has finished (the watcher
 * evaluates again). */
typedef struct _BktWatchNotifier BktWatchNotifier;

BktWatchNotifier *bkt_watch_notifier_new  (GDBusConnection *connection, GDestroyNotify settled, gpointer data);
/* @here: the targets changed here (sorted; empty: nothing waits).  Nothing
 * is shown again for the same items. */
void              bkt_watch_notifier_show (BktWatchNotifier *self, const char *const *here);
void              bkt_watch_notifier_free (BktWatchNotifier *self);

/* Adds @targets to "ignore" in config.json (kept sorted, once each). */
gboolean          bkt_watch_ignore        (const char *const *targets, GError **error);

G_END_DECLS
