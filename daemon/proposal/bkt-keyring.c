/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-keyring.h"

/* The Secret Service API (freedesktop.org), spoken with GDBus: libsecret
 * is not a dependency of this build.  Four calls: SearchItems,
 * OpenSession("plain"), GetSecrets, Session.Close. */
#define SS_NAME      "org.freedesktop.secrets"
#define SS_PATH      "/org/freedesktop/secrets"
#define SS_IFACE     "org.freedesktop.Secret.Service"
#define SS_SESSION   "org.freedesktop.Secret.Session"
/* A keyring that does not answer within this is treated as absent: the
 * token lookup runs before every proposal and must not hang it. */
#define SS_TIMEOUT_MS 2000

static GVariant *
ss_call (GDBusConnection *bus, const char *path, const char *iface, const char *method,
         GVariant *params, const char *reply_type)
{
  /* NO_AUTO_START: a keyring started by this call would be locked (and
   * unlocking it prompts); only a running one is asked. */
  return g_dbus_connection_call_sync (bus, SS_NAME, path, iface, method, params,
                                      G_VARIANT_TYPE (reply_type), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                      SS_TIMEOUT_MS, NULL, NULL);
}

/* SearchItems(a{ss}) → (unlocked ao, locked ao) */
static GVariant *
search (GDBusConnection *bus, const char *service, const char *username)
{
  GVariantBuilder attrs;

  g_variant_builder_init (&attrs, G_VARIANT_TYPE ("a{ss}"));
  g_variant_builder_add (&attrs, "{ss}", "service", service);
  if (username != NULL)
    g_variant_builder_add (&attrs, "{ss}", "username", username);
  return ss_call (bus, SS_PATH, SS_IFACE, "SearchItems", g_variant_new ("(a{ss})", &attrs), "(aoao)");
}

/* The secret of @item, read over a "plain" session. */
static char *
read_secret (GDBusConnection *bus, const char *item)
{
  g_autoptr(GVariant) opened = NULL;
  g_autoptr(GVariant) secrets = NULL;
  g_autoptr(GVariant) closed = NULL;
  g_autoptr(GVariant) value = NULL;
  const char *session = NULL;
  const char *items[] = { item, NULL };
  char *token = NULL;

  opened = ss_call (bus, SS_PATH, SS_IFACE, "OpenSession",
                    g_variant_new ("(sv)", "plain", g_variant_new_string ("")), "(vo)");
  if (opened == NULL)
    return NULL;
  g_variant_get (opened, "(v&o)", NULL, &session);
  secrets = ss_call (bus, SS_PATH, SS_IFACE, "GetSecrets",
                     g_variant_new ("(^ao&o)", items, session), "(a{o(oayays)})");
  if (secrets != NULL)
    {
      g_autoptr(GVariant) dict = g_variant_get_child_value (secrets, 0);
      g_autoptr(GVariant) secret = g_variant_lookup_value (dict, item, G_VARIANT_TYPE ("(oayays)"));

      if (secret != NULL)
        value = g_variant_get_child_value (secret, 2);
    }
  if (value != NULL)
    {
      gsize len = 0;
      const char *data = g_variant_get_fixed_array (value, &len, 1);
      /* gh stores the bare token; a trailing newline is not part of it. */
      while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
      if (len > 0 && memchr (data, '\0', len) == NULL)
        token = g_strndup (data, len);
      /* The reply is ours alone: wipe the copy GDBus made. */
      explicit_bzero ((char *) data, len);
    }
  closed = ss_call (bus, session, SS_SESSION, "Close", NULL, "()");
  return token;
}

BktKeyringResult
bkt_keyring_gh_token (const char *host, char **token)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *service = NULL;
  gboolean locked = FALSE;

  *token = NULL;
  if (host == NULL)
    return BKT_KEYRING_NONE;
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (bus == NULL)
    return BKT_KEYRING_NONE;
  service = g_strconcat ("gh:", host, NULL);
  /* The active account's item first (username ""), then any account's. */
  for (guint pass = 0; pass < 2; pass++)
    {
      g_autoptr(GVariant) found = search (bus, service, pass == 0 ? "" : NULL);
      g_autofree const char **unlocked = NULL;
      g_autofree const char **locked_items = NULL;

      if (found == NULL)
        return locked ? BKT_KEYRING_LOCKED : BKT_KEYRING_NONE;   /* no service, or it failed */
      g_variant_get (found, "(^a&o^a&o)", &unlocked, &locked_items);
      for (guint i = 0; unlocked[i] != NULL && *token == NULL; i++)
        *token = read_secret (bus, unlocked[i]);
      if (*token != NULL)
        return BKT_KEYRING_FOUND;
      locked |= locked_items[0] != NULL;
    }
  return locked ? BKT_KEYRING_LOCKED : BKT_KEYRING_NONE;
}
