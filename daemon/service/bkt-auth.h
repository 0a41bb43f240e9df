/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* polkit authorisation of D-Bus callers of the system instance.
 *
 * Always asynchronous (a slow or hung polkitd must not stall the daemon),
 * always for the caller's system-bus-name subject (so polkit resolves the
 * real process and the agent registered for it), interactive only when the
 * caller's message carries ALLOW_INTERACTIVE_AUTHORIZATION. */
#define BKT_TYPE_AUTH (bkt_auth_get_type ())
G_DECLARE_FINAL_TYPE (BktAuth, bkt_auth, BKT, AUTH, GObject)

/* Non-interactive checks give up after this long (polkitd hung). */
#define BKT_AUTH_TIMEOUT_SECONDS 25
/* Interactive checks wait for a human typing a password. */
#define BKT_AUTH_INTERACTIVE_TIMEOUT_SECONDS 300

BktAuth *bkt_auth_new (void);

/* @details: NULL-terminated key/value pairs shown by the agent, e.g.
 * { "org.bkt.target", "flatpak:org.gnome.Boxes", NULL }. */
void     bkt_auth_check_async  (BktAuth               *self,
                                GDBusMethodInvocation *invocation,
                                const char            *action_id,
                                const char * const    *details,
                                GCancellable          *cancellable,
                                GAsyncReadyCallback    callback,
                                gpointer               user_data);
/* FALSE with BKT_ERROR_NOT_AUTHORIZED, BKT_ERROR_AUTHORITY_UNAVAILABLE or
 * BKT_ERROR_TIMED_OUT. */
gboolean bkt_auth_check_finish (BktAuth       *self,
                                GAsyncResult  *result,
                                GError       **error);

G_END_DECLS
