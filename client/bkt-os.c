/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "bkt-json.h"
#include "bkt-os.h"

/* The OS image (bootc) as bkt shows it: the "os" section of `bkt status`
 * and the text of `bkt admin bootc status` and of an upgrade's result. */

#define ADMIN_IFACE "org.bkt.Daemon1.Admin"
/* `bkt status` must stay fast and never hang on the os section: a system
 * daemon that does not answer within this is reported as unreachable. */
#define OS_SECTION_TIMEOUT_MS 5000

JsonObject *
bkt_os_member_object (JsonObject *o, const char *member)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, member) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static void
print_deployment (const char *label, JsonObject *e)
{
  if (e == NULL)
    {
      g_print ("  %-9s none\n", label);
      return;
    }
  g_print ("  %-9s %s%s%s%s\n", label, bkt_json_object_get_string (e, "image") ? bkt_json_object_get_string (e, "image") : "(unknown image)",
           bkt_json_object_get_string (e, "transport") && g_strcmp0 (bkt_json_object_get_string (e, "transport"), "registry") != 0 ? " (" : "",
           bkt_json_object_get_string (e, "transport") && g_strcmp0 (bkt_json_object_get_string (e, "transport"), "registry") != 0 ? bkt_json_object_get_string (e, "transport") : "",
           bkt_json_object_get_string (e, "transport") && g_strcmp0 (bkt_json_object_get_string (e, "transport"), "registry") != 0 ? ")" : "");
  if (bkt_json_object_get_string (e, "version"))
    g_print ("  %-9s version %s\n", "", bkt_json_object_get_string (e, "version"));
  if (bkt_json_object_get_string (e, "digest"))
    g_print ("  %-9s digest %s\n", "", bkt_json_object_get_string (e, "digest"));
  if (bkt_json_object_get_string (e, "timestamp"))
    g_print ("  %-9s built %s\n", "", bkt_json_object_get_string (e, "timestamp"));
}

static const char *
next_action (JsonObject *st)
{
  /* A queued rollback wins over a staged update: it is what boots next. */
  if (json_object_get_boolean_member_with_default (st, "rollback_queued", FALSE))
    return "reboot to boot the rollback image";
  if (bkt_os_member_object (st, "staged") != NULL)
    return "reboot to apply the staged update";
  return NULL;
}

void
bkt_os_print_bootc_status (JsonObject *st)
{
  JsonObject *rollback = bkt_os_member_object (st, "rollback");
  const char *next = next_action (st);

  print_deployment ("booted", bkt_os_member_object (st, "booted"));
  print_deployment ("staged", bkt_os_member_object (st, "staged"));
  if (rollback != NULL)
    g_print ("  %-9s available: %s%s%s%s\n", "rollback", bkt_json_object_get_string (rollback, "image") ? bkt_json_object_get_string (rollback, "image") : "?",
             bkt_json_object_get_string (rollback, "version") ? " (version " : "", bkt_json_object_get_string (rollback, "version") ? bkt_json_object_get_string (rollback, "version") : "",
             bkt_json_object_get_string (rollback, "version") ? ")" : "");
  else
    g_print ("  %-9s none\n", "rollback");
  if (json_object_get_boolean_member_with_default (st, "rollback_queued", FALSE))
    g_print ("  %-9s the rollback image boots next\n", "queued");
  if (bkt_os_member_object (st, "cached_update") != NULL)
    g_print ("  %-9s update available: version %s\n", "", bkt_json_object_get_string (bkt_os_member_object (st, "cached_update"), "version") ?
             bkt_json_object_get_string (bkt_os_member_object (st, "cached_update"), "version") : "?");
  if (next != NULL)
    g_print ("  %-9s %s\n", "next", next);
}

JsonObject *
bkt_os_section (BktClient *client)
{
  JsonObject *os = json_object_new ();
  GDBusConnection *bus = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *text;

  /* Not through bkt_client_call(): the os section is an extra, it must
   * neither start an agent nor wait minutes for a daemon. */
  bus = bkt_client_get_bus (client, BKT_TARGET_SYSTEM, &error);   /* HOST's with -H */
  if (bus != NULL)
    reply = g_dbus_connection_call_sync (bus, "org.bkt.Daemon1", "/org/bkt/Daemon1", ADMIN_IFACE, "BootcStatus",
                                         g_variant_new ("(a{sv})", NULL), G_VARIANT_TYPE ("(s)"),
                                         G_DBUS_CALL_FLAGS_NONE, OS_SECTION_TIMEOUT_MS, NULL, &error);
  if (reply == NULL)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);
      gboolean reachable = bus != NULL && remote != NULL && g_str_has_prefix (remote, "org.bkt.Error.");

      g_dbus_error_strip_remote_error (error);
      json_object_set_boolean_member (os, "available", FALSE);
      json_object_set_boolean_member (os, "reachable", reachable);
      json_object_set_string_member (os, "reason", reachable ? error->message : "system daemon not reachable");
      if (!reachable)
        json_object_set_string_member (os, "detail", error->message);
      return os;
    }
  g_variant_get (reply, "(&s)", &text);
  json_object_set_boolean_member (os, "reachable", TRUE);
  if (!json_parser_load_from_data (parser, text, -1, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      json_object_set_boolean_member (os, "available", FALSE);
      json_object_set_string_member (os, "reason", "bktd sent a bootc status that is not JSON");
      return os;
    }
  json_object_set_boolean_member (os, "available", TRUE);
  json_object_set_object_member (os, "bootc", json_object_ref (json_node_get_object (json_parser_get_root (parser))));
  return os;
}

void
bkt_os_print_section (JsonObject *os)
{
  g_print ("\nOS image (bootc):\n");
  if (!json_object_get_boolean_member_with_default (os, "available", FALSE))
    {
      g_print ("  %s%s%s%s\n", bkt_json_object_get_string (os, "reason") ? bkt_json_object_get_string (os, "reason") : "not available",
               bkt_json_object_get_string (os, "detail") ? " (" : "", bkt_json_object_get_string (os, "detail") ? bkt_json_object_get_string (os, "detail") : "",
               bkt_json_object_get_string (os, "detail") ? ")" : "");
      return;
    }
  bkt_os_print_bootc_status (bkt_os_member_object (os, "bootc"));
}
