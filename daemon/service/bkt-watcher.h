/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "bkt-dbus-generated.h"
#include "bkt-idle.h"

G_BEGIN_DECLS

/* The drift watcher of the session instance (docs/architecture.md, "The
 * drift watcher"): GSettings "changed" signals for the keys the manifests
 * track (every key of their schemas with "watch_all_keys"), the shell's
 * enabled-extensions/disabled-extensions, and file monitors on the user and
 * system flatpak installations, the extensions directories and the shim
 * directory.  A burst of events becomes one evaluation after the debounce
 * time; nothing polls.  Each evaluation computes the status, and when the
 * counts change sets Manager.Drift and emits DriftChanged; when items
 * changed on this machine wait, one desktop notification with the actions
 * Review, Propose (bkt capture --pr of exactly those items) and Ignore
 * ("ignore" in config.json). */
#define BKT_TYPE_WATCHER (bkt_watcher_get_type ())
G_DECLARE_FINAL_TYPE (BktWatcher, bkt_watcher, BKT, WATCHER, GObject)

/* Sets @manager's Drift and Watching and emits its DriftChanged; holds
 * @idle busy while running. */
typedef gboolean (*BktWatcherBusyFunc) (gpointer data);

/* @busy (with @data): whether a transaction is changing the machine; the
 * watcher waits until it has finished before it evaluates (what it
 * changes is not drift, and its reads must not race the transaction's). */
BktWatcher *bkt_watcher_new        (BktDBusManager *manager, BktIdle *idle, BktWatcherBusyFunc busy,
                                    gpointer data);
/* Starts watching on @connection (the session bus: notifications); a
 * running watcher is left as it is. */
gboolean    bkt_watcher_start      (BktWatcher *self, GDBusConnection *connection, GError **error);
void        bkt_watcher_stop       (BktWatcher *self);
gboolean    bkt_watcher_is_running (BktWatcher *self);

/* Whether config.json asks for the watcher ("watch": true). */
gboolean    bkt_watcher_configured (GError **error);
/* The targets config.json's "ignore" lists (NULL-terminated, maybe empty). */
GStrv       bkt_watcher_ignored    (void);

/* Marks the drift and untracked items of @status (Manager.Status's
 * document) that were changed here and that config.json ignores with
 * "ignored": true, and lists them in "ignored". */
void        bkt_watcher_mark_ignored (JsonObject *status);

G_END_DECLS
