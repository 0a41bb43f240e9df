/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-exec-context.h"
#include "bkt-plan.h"

G_BEGIN_DECLS

/* One exported org.bkt.Daemon1.Transaction.
 *
 * Created "pending" so the caller can subscribe to signals before anything
 * happens, then run in a worker thread after Start().  Progress and results
 * are marshalled back to the main thread, which alone touches D-Bus. */
#define BKT_TYPE_TRANSACTION (bkt_transaction_get_type ())
G_DECLARE_FINAL_TYPE (BktTransaction, bkt_transaction, BKT, TRANSACTION, GObject)

/* Runs in a worker thread.  May add members to @result (the Result JSON,
 * which already gets "operations").  Returns FALSE with @error on failure. */
typedef gboolean (*BktTransactionFunc) (BktTransaction *tx,
                                        BktExecContext *ctx,
                                        JsonObject     *result,
                                        GCancellable   *cancellable,
                                        gpointer        user_data,
                                        GError        **error);

/* How long a pending transaction waits for Start() before it is cancelled,
 * and how long a finished one stays exported for late joiners. */
#define BKT_TRANSACTION_START_TIMEOUT_SECONDS 60
#define BKT_TRANSACTION_RETENTION_SECONDS 300

BktTransaction *bkt_transaction_new (GDBusConnection   *connection,
                                     const char        *kind,
                                     const char        *owner,   /* unique name of creator, NULL on p2p */
                                     BktPlan           *plan,
                                     BktTransactionFunc func,
                                     gpointer           user_data,
                                     GDestroyNotify     destroy);

/* Exports the object; FALSE on failure. */
gboolean    bkt_transaction_export       (BktTransaction *self, GError **error);
const char *bkt_transaction_get_path     (BktTransaction *self);
const char *bkt_transaction_get_kind     (BktTransaction *self);
const char *bkt_transaction_get_state    (BktTransaction *self);
/* Pending or running. */
gboolean    bkt_transaction_is_active    (BktTransaction *self);
BktPlan    *bkt_transaction_get_plan     (BktTransaction *self);
void        bkt_transaction_cancel       (BktTransaction *self);
/* The unique bus name of its creator (NULL on a peer-to-peer connection). */
const char *bkt_transaction_get_owner    (BktTransaction *self);
/* The creator's uid (system bus), or (uid_t) -1 when not known. */
void        bkt_transaction_set_owner_uid (BktTransaction *self, guint uid);
guint       bkt_transaction_get_owner_uid (BktTransaction *self);
/* Keeps @data until the transaction has finished (or is disposed), then
 * frees it with @destroy: e.g. an idle locker. */
void        bkt_transaction_hold_while_active (BktTransaction *self, gpointer data, GDestroyNotify destroy);

/* Signals (GObject): "finished" when it ends (after Finished went out on
 * the bus), "expired" when its retention ends and it was unexported. */

G_END_DECLS
