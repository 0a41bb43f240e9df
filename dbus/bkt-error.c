/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-error.h"

static const GDBusErrorEntry bkt_error_entries[] = {
  { BKT_ERROR_FAILED, "org.bkt.Error.Failed" },
  { BKT_ERROR_NOT_AUTHORIZED, "org.bkt.Error.NotAuthorized" },
  { BKT_ERROR_BUSY, "org.bkt.Error.Busy" },
  { BKT_ERROR_INVALID_MANIFEST, "org.bkt.Error.InvalidManifest" },
  { BKT_ERROR_INVALID_ARGUMENT, "org.bkt.Error.InvalidArgument" },
  { BKT_ERROR_NOT_FOUND, "org.bkt.Error.NotFound" },
  { BKT_ERROR_CANCELLED, "org.bkt.Error.Cancelled" },
  { BKT_ERROR_AUTHORITY_UNAVAILABLE, "org.bkt.Error.AuthorityUnavailable" },
  { BKT_ERROR_NOT_SUPPORTED, "org.bkt.Error.NotSupported" },
  { BKT_ERROR_TIMED_OUT, "org.bkt.Error.TimedOut" },
  { BKT_ERROR_LIMIT_EXCEEDED, "org.bkt.Error.LimitExceeded" },
  { BKT_ERROR_CONFLICT, "org.bkt.Error.Conflict" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (bkt_error_entries) == BKT_ERROR_CONFLICT + 1);

GQuark
bkt_error_quark (void)
{
  static gsize quark = 0;

  /* Registering the domain makes GDBus translate these errors to and from
   * their names on both sides of the bus. */
  g_dbus_error_register_error_domain ("bkt-error-quark", &quark,
                                      bkt_error_entries,
                                      G_N_ELEMENTS (bkt_error_entries));
  return (GQuark) quark;
}

const char *
bkt_error_code_to_name (BktError code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bkt_error_entries); i++)
    if (bkt_error_entries[i].error_code == (gint) code)
      return bkt_error_entries[i].dbus_error_name;
  return "org.bkt.Error.Failed";
}

void
bkt_error_normalize (GError **error)
{
  GError *e;
  BktError code = BKT_ERROR_FAILED;

  if (error == NULL || *error == NULL)
    return;
  e = *error;
  if (e->domain == BKT_ERROR)
    return;

  if (g_dbus_error_is_remote_error (e))
    {
      /* A remote error that is not ours (e.g. from polkitd): keep the text
       * but strip the GDBus prefix so users read a sentence. */
      g_dbus_error_strip_remote_error (e);
    }

  if (e->domain == G_IO_ERROR)
    {
      switch (e->code)
        {
        case G_IO_ERROR_CANCELLED: code = BKT_ERROR_CANCELLED; break;
        case G_IO_ERROR_NOT_FOUND: code = BKT_ERROR_NOT_FOUND; break;
        case G_IO_ERROR_INVALID_ARGUMENT:
        case G_IO_ERROR_INVALID_DATA: code = BKT_ERROR_INVALID_ARGUMENT; break;
        case G_IO_ERROR_PERMISSION_DENIED: code = BKT_ERROR_NOT_AUTHORIZED; break;
        case G_IO_ERROR_BUSY: code = BKT_ERROR_BUSY; break;
        case G_IO_ERROR_TIMED_OUT: code = BKT_ERROR_TIMED_OUT; break;
        case G_IO_ERROR_NOT_SUPPORTED: code = BKT_ERROR_NOT_SUPPORTED; break;
        default: break;
        }
    }
  else if (e->domain == G_DBUS_ERROR)
    {
      if (e->code == G_DBUS_ERROR_ACCESS_DENIED || e->code == G_DBUS_ERROR_AUTH_FAILED)
        code = BKT_ERROR_NOT_AUTHORIZED;
      else if (e->code == G_DBUS_ERROR_INVALID_ARGS)
        code = BKT_ERROR_INVALID_ARGUMENT;
      else if (e->code == G_DBUS_ERROR_SERVICE_UNKNOWN || e->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER)
        code = BKT_ERROR_AUTHORITY_UNAVAILABLE;
    }
  else if (e->domain == G_KEY_FILE_ERROR || e->domain == G_VARIANT_PARSE_ERROR)
    code = BKT_ERROR_INVALID_ARGUMENT;

  *error = g_error_new_literal (BKT_ERROR, code, e->message);
  g_error_free (e);
}

void
bkt_error_return (GDBusMethodInvocation *invocation, GError *error)
{
  bkt_error_normalize (&error);
  g_dbus_method_invocation_take_error (invocation, error);
}

int
bkt_error_exit_code (const GError *error)
{
  /* Documented in docs/bkt.1: 1 failed, 2 usage, 3 not authorised,
   * 4 daemon unreachable, 5 invalid input, 6 busy, 8 changed on this
   * machine (apply would revert it), 130 cancelled. */
  if (error == NULL)
    return 0;
  if (error->domain == BKT_ERROR)
    {
      switch ((BktError) error->code)
        {
        case BKT_ERROR_NOT_AUTHORIZED: return 3;
        case BKT_ERROR_AUTHORITY_UNAVAILABLE: return 4;
        case BKT_ERROR_INVALID_MANIFEST:
        case BKT_ERROR_INVALID_ARGUMENT:
        case BKT_ERROR_NOT_FOUND:
        case BKT_ERROR_LIMIT_EXCEEDED: return 5;
        case BKT_ERROR_BUSY: return 6;
        case BKT_ERROR_CONFLICT: return 8;
        case BKT_ERROR_CANCELLED: return 130;
        default: return 1;
        }
    }
  if (error->domain == G_DBUS_ERROR &&
      (error->code == G_DBUS_ERROR_SERVICE_UNKNOWN ||
       error->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER ||
       error->code == G_DBUS_ERROR_NO_REPLY ||
       error->code == G_DBUS_ERROR_DISCONNECTED ||
       error->code == G_DBUS_ERROR_SPAWN_FAILED))
    return 4;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return 4;
  return 1;
}
