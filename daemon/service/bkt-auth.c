/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <polkit/polkit.h>

#include "bkt-auth.h"
#include "bkt-error.h"

struct _BktAuth
{
  GObject          parent_instance;
  PolkitAuthority *authority;   /* NULL until the first successful lookup */
};

G_DEFINE_TYPE (BktAuth, bkt_auth, G_TYPE_OBJECT)

static void
bkt_auth_finalize (GObject *object)
{
  BktAuth *self = BKT_AUTH (object);

  g_clear_object (&self->authority);
  G_OBJECT_CLASS (bkt_auth_parent_class)->finalize (object);
}

static void
bkt_auth_class_init (BktAuthClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_auth_finalize;
}

static void
bkt_auth_init (BktAuth *self)
{
}

BktAuth *
bkt_auth_new (void)
{
  return g_object_new (BKT_TYPE_AUTH, NULL);
}

typedef struct {
  PolkitSubject *subject;
  PolkitDetails *details;
  char          *action_id;
  PolkitCheckAuthorizationFlags flags;
  GCancellable  *timeout_cancellable;   /* cancelled by the timeout or the caller's */
  GCancellable  *caller_cancellable;
  gulong         caller_handler;
  guint          timeout_id;
  gboolean       timed_out;
} CheckData;

static void
check_data_free (CheckData *d)
{
  if (d->timeout_id != 0)
    g_source_remove (d->timeout_id);
  if (d->caller_handler != 0)
    g_cancellable_disconnect (d->caller_cancellable, d->caller_handler);
  g_clear_object (&d->caller_cancellable);
  g_clear_object (&d->subject);
  g_clear_object (&d->details);
  g_clear_object (&d->timeout_cancellable);
  g_free (d->action_id);
  g_free (d);
}

static gboolean
on_timeout (gpointer user_data)
{
  CheckData *d = user_data;

  d->timed_out = TRUE;
  d->timeout_id = 0;
  g_cancellable_cancel (d->timeout_cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *caller, gpointer user_data)
{
  CheckData *d = user_data;
  g_cancellable_cancel (d->timeout_cancellable);
}

/* A missing polkitd must be a clear error, not a hang nor a generic
 * failure: the D-Bus errors for "nobody owns the name" say exactly that. */
static void
translate_polkit_error (GError **error, const char *action_id)
{
  GError *e = *error;
  gboolean unavailable =
    g_error_matches (e, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
    g_error_matches (e, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
    g_error_matches (e, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND) ||
    g_error_matches (e, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
    g_error_matches (e, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_EXEC_FAILED);

  if (unavailable)
    {
      *error = g_error_new (BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                            "cannot check authorization for %s: polkit is not available (%s)",
                            action_id, e->message);
      g_error_free (e);
    }
  else
    {
      g_dbus_error_strip_remote_error (e);
      *error = g_error_new (BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                            "cannot check authorization for %s: %s", action_id, e->message);
      g_error_free (e);
    }
}

static void
check_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  CheckData *d = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthorizationResult) result =
    polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), res, &error);

  if (result == NULL)
    {
      if (d->timed_out)
        {
          g_task_return_new_error (task, BKT_ERROR, BKT_ERROR_TIMED_OUT,
                                   "polkit did not answer within %d seconds for %s",
                                   (d->flags & POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION)
                                     ? BKT_AUTH_INTERACTIVE_TIMEOUT_SECONDS : BKT_AUTH_TIMEOUT_SECONDS,
                                   d->action_id);
          return;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_new_error (task, BKT_ERROR, BKT_ERROR_CANCELLED,
                                   "authorization for %s was cancelled", d->action_id);
          return;
        }
      translate_polkit_error (&error, d->action_id);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (polkit_authorization_result_get_is_authorized (result))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (polkit_authorization_result_get_dismissed (result))
    g_task_return_new_error (task, BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                             "authentication for %s was dismissed", d->action_id);
  else if (polkit_authorization_result_get_is_challenge (result))
    g_task_return_new_error (task, BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                             "not authorized for %s: authentication is required and no "
                             "polkit agent answered (run from a terminal, or allow "
                             "interactive authorization)", d->action_id);
  else
    g_task_return_new_error (task, BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                             "not authorized for %s", d->action_id);
}

static void
do_check (BktAuth *self, GTask *task)
{
  CheckData *d = g_task_get_task_data (task);

  polkit_authority_check_authorization (self->authority, d->subject, d->action_id,
                                        d->details, d->flags, d->timeout_cancellable,
                                        check_cb, task);
}

static void
authority_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  BktAuth *self = g_task_get_source_object (task);
  CheckData *d = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  PolkitAuthority *authority = polkit_authority_get_finish (res, &error);

  if (authority == NULL)
    {
      translate_polkit_error (&error, d->action_id);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_set_object (&self->authority, authority);
  g_object_unref (authority);
  do_check (self, g_steal_pointer (&task));
}

void
bkt_auth_check_async (BktAuth               *self,
                      GDBusMethodInvocation *invocation,
                      const char            *action_id,
                      const char * const    *details,
                      GCancellable          *cancellable,
                      GAsyncReadyCallback    callback,
                      gpointer               user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  CheckData *d = g_new0 (CheckData, 1);
  GDBusMessage *msg = g_dbus_method_invocation_get_message (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  guint timeout;

  g_task_set_source_tag (task, bkt_auth_check_async);
  g_task_set_task_data (task, d, (GDestroyNotify) check_data_free);
  d->action_id = g_strdup (action_id);
  d->details = polkit_details_new ();
  for (guint i = 0; details != NULL && details[i] != NULL && details[i + 1] != NULL; i += 2)
    polkit_details_insert (d->details, details[i], details[i + 1]);

  if (sender == NULL)
    {
      /* A peer-to-peer connection has no bus names; the system instance
       * only ever listens on the bus, so this is a programming error. */
      g_task_return_new_error (task, BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                               "caller has no bus name to authorize");
      g_object_unref (task);
      return;
    }
  d->subject = polkit_system_bus_name_new (sender);
  /* Interaction only if the caller said it can wait for a human (its agent
   * will prompt); otherwise polkit answers at once. */
  if (g_dbus_message_get_flags (msg) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
    d->flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;
  else
    d->flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;

  d->timeout_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      d->caller_cancellable = g_object_ref (cancellable);
      d->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled), d, NULL);
    }
  timeout = (d->flags & POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION)
              ? BKT_AUTH_INTERACTIVE_TIMEOUT_SECONDS : BKT_AUTH_TIMEOUT_SECONDS;
  d->timeout_id = g_timeout_add_seconds (timeout, on_timeout, d);

  if (self->authority == NULL)
    polkit_authority_get_async (d->timeout_cancellable, authority_cb, task);
  else
    do_check (self, task);
}

gboolean
bkt_auth_check_finish (BktAuth *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
