/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The client's side of the bus: the session instance (on the session bus,
 * or a private bktd over a socket pair when there is none), the system
 * instance, transaction following, and the polkit agent for TTY users. */
#define BKT_TYPE_CLIENT (bkt_client_get_type ())
G_DECLARE_FINAL_TYPE (BktClient, bkt_client, BKT, CLIENT, GObject)

typedef enum {
  BKT_TARGET_SESSION,
  BKT_TARGET_SYSTEM,
} BktTarget;

/* What the caller wants to hear while a transaction runs. */
typedef struct {
  void (*progress)  (gpointer user_data, guint percent, const char *operation, const char *detail);
  void (*operation) (gpointer user_data, guint index, const char *id, gboolean success, const char *error);
  void (*message)   (gpointer user_data, const char *text);
} BktFollowCallbacks;

BktClient *bkt_client_new (void);

/* Interactive (a TTY on stdin): allows polkit interaction and starts
 * pkttyagent before the first privileged call. */
void       bkt_client_set_interactive (BktClient *self, gboolean interactive);
/* --wait: retry when the daemon is Busy instead of failing. */
void       bkt_client_set_wait        (BktClient *self, gboolean wait);

/* Call a method of org.bkt.Daemon1.Manager/Admin and return its reply. */
GVariant  *bkt_client_call (BktClient   *self,
                            BktTarget    target,
                            const char  *interface_name,
                            const char  *method,
                            GVariant    *parameters,
                            const GVariantType *reply_type,
                            GError     **error);

/* Call a Manager method returning one JSON string and parse it. */
JsonObject *bkt_client_call_json (BktClient *self, BktTarget target, const char *method,
                                  GVariant *parameters, GError **error);

/* Subscribe to the transaction at @path, Start() it, run until Finished
 * (Ctrl-C cancels it), and return its Result JSON.  FALSE with the
 * transaction's error (an org.bkt.Error) if it failed; @result is set even
 * then when the daemon produced one. */
gboolean   bkt_client_follow (BktClient                *self,
                              BktTarget                 target,
                              const char               *path,
                              const BktFollowCallbacks *callbacks,
                              gpointer                  user_data,
                              JsonObject              **result,
                              GError                  **error);

/* The Plan property of the transaction at @path (for transactions whose
 * plan the caller did not ask for first, e.g. LocalCommit). */
JsonObject *bkt_client_transaction_plan (BktClient *self, BktTarget target, const char *path,
                                         GError **error);

/* The connection to @target's daemon (transfer none), for signals. */
GDBusConnection *bkt_client_get_connection (BktClient *self, BktTarget target, GError **error);
/* Is the session instance a private one (no session bus)? */
gboolean   bkt_client_is_private (BktClient *self);
/* Whether the system daemon answers on the system bus (running, or
 * activatable there), asked before acting on a plan with a system part;
 * FALSE with BKT_ERROR_AUTHORITY_UNAVAILABLE saying why. */
gboolean   bkt_client_system_reachable (BktClient *self, GError **error);

G_END_DECLS
