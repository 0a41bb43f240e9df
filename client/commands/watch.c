/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib-unix.h>
#include <unistd.h>

#include "commands.h"

/* `bkt watch enable|disable|status` (the session daemon's drift watcher)
 * and `bkt status --watch` (status redrawn on each DriftChanged). */

#define MANAGER "org.bkt.Daemon1.Manager"

static GVariant *
manager_property (Ctx *ctx, const char *name, GError **error)
{
  g_autoptr(GVariant) reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.freedesktop.DBus.Properties",
                                               "Get", g_variant_new ("(ss)", MANAGER, name), G_VARIANT_TYPE ("(v)"),
                                               error);
  GVariant *value = NULL;

  if (reply != NULL)
    g_variant_get (reply, "(v)", &value);
  return value;
}

/* The watcher lives in the session daemon on the session bus: a private
 * daemon (no session bus) ends with this command. */
static gboolean
needs_session_bus (Ctx *ctx, int *code)
{
  g_autoptr(GError) error = NULL;

  if (bkt_client_get_bus (ctx->client, BKT_TARGET_SESSION, &error) == NULL)
    {
      *code = fail (error);
      return FALSE;
    }
  if (!bkt_client_is_private (ctx->client))
    return TRUE;
  g_printerr ("bkt: the drift watcher runs in the session daemon on the session bus, and there is none here\n");
  *code = 4;
  return FALSE;
}

static void
print_drift (GVariant *drift)
{
  guint32 apply = 0, capture = 0, conflict = 0, ignored = 0;

  g_variant_lookup (drift, "apply", "u", &apply);
  g_variant_lookup (drift, "capture", "u", &capture);
  g_variant_lookup (drift, "conflict", "u", &conflict);
  g_variant_lookup (drift, "ignored", "u", &ignored);
  g_print ("Drift:    %u to apply, %u to capture, %u in conflict, %u ignored\n", apply, capture, conflict, ignored);
}

static int
watch_status (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) watching = NULL;
  g_autoptr(GVariant) drift = NULL;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code) || !needs_session_bus (ctx, &code))
    return code;
  watching = manager_property (ctx, "Watching", &error);
  drift = watching != NULL ? manager_property (ctx, "Drift", &error) : NULL;
  if (drift == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      GVariantIter iter;
      const char *key;
      guint32 n;

      g_string_printf (out, "{\"watching\": %s, \"drift\": {", g_variant_get_boolean (watching) ? "true" : "false");
      g_variant_iter_init (&iter, drift);
      for (guint i = 0; g_variant_iter_next (&iter, "{&su}", &key, &n); i++)
        g_string_append_printf (out, "%s\"%s\": %u", i > 0 ? ", " : "", key, n);
      g_string_append (out, "}}\n");
      g_print ("%s", out->str);
      return EXIT_OK;
    }
  g_print ("Watching: %s\n", g_variant_get_boolean (watching) ? "yes" : "no (bkt watch enable)");
  if (g_variant_get_boolean (watching))
    print_drift (drift);
  return EXIT_OK;
}

static int
watch_set (Ctx *ctx, int argc, char **argv)
{
  gboolean enable = g_str_equal (ctx->command->data, "enable");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code) || !needs_session_bus (ctx, &code))
    return code;
  if (ctx->opt.dry_run)
    {
      g_print ("Would %s the drift watcher (\"watch\": %s in config.json); nothing changed.\n",
               enable ? "start" : "stop", enable ? "true" : "false");
      return EXIT_OK;
    }
  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, MANAGER, "SetWatching", g_variant_new ("(b)", enable),
                           G_VARIANT_TYPE ("()"), &error);
  if (reply == NULL)
    return fail (error);
  if (!ctx->opt.json)
    g_print (enable ? "The drift watcher runs (and starts at login): changes made by hand are noticed as they happen.\n"
                    : "The drift watcher is off.\n");
  return EXIT_OK;
}

const BktCommand bkt_watch_commands[] = {
  { "enable", NULL, "start the drift watcher now and at every login", NULL, watch_set, .data = "enable" },
  { "disable", NULL, "stop the drift watcher", NULL, watch_set, .data = "disable" },
  { "status", NULL, "whether the watcher runs, and its drift counts", NULL, watch_status },
  { NULL }
};

/* ---- bkt status --watch ------------------------------------------------------------------- */

typedef struct {
  Ctx       *ctx;
  GMainLoop *loop;
  int        code;
} Live;

static gboolean
on_interrupt (gpointer data)
{
  Live *live = data;

  g_main_loop_quit (live->loop);
  return G_SOURCE_CONTINUE;
}

static void
redraw (Live *live)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *when = g_date_time_format (now, "%H:%M:%S");

  /* On a terminal the screen is redrawn in place; elsewhere (a pipe, a
   * log) each status follows the previous one. */
  if (!live->ctx->opt.json && isatty (STDOUT_FILENO))
    g_print ("\033[H\033[2J");
  live->code = bkt_cmd_status_once (live->ctx);
  if (!live->ctx->opt.json)
    g_print ("\nWatching for changes (%s; Ctrl-C to stop)\n", when);
}

static void
on_drift_changed (GDBusConnection *c, const char *sender, const char *path, const char *iface, const char *signal,
                  GVariant *params, gpointer data)
{
  redraw (data);
}

static void
on_vanished (GDBusConnection *c, const char *name, gpointer data)
{
  Live *live = data;

  g_printerr ("bkt: the session daemon is gone: nothing is watched any more\n");
  live->code = 4;
  g_main_loop_quit (live->loop);
}

int
bkt_cmd_status_watch (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) watching = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Live live = { ctx, loop, EXIT_OK };
  GDBusConnection *conn;
  guint sub, watch, sigint;
  int code;

  if (!needs_session_bus (ctx, &code))
    return code;
  watching = manager_property (ctx, "Watching", &error);
  if (watching == NULL)
    return fail (error);
  if (!g_variant_get_boolean (watching))
    {
      g_printerr ("bkt: status --watch follows the drift watcher, which is off: bkt watch enable\n");
      return EXIT_USAGE;
    }
  conn = bkt_client_get_bus (ctx->client, BKT_TARGET_SESSION, &error);
  sub = g_dbus_connection_signal_subscribe (conn, "org.bkt.Daemon1", MANAGER, "DriftChanged", "/org/bkt/Daemon1",
                                            NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_drift_changed, &live, NULL);
  watch = g_bus_watch_name_on_connection (conn, "org.bkt.Daemon1", G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                          on_vanished, &live, NULL);
  sigint = g_unix_signal_add (SIGINT, on_interrupt, &live);
  redraw (&live);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_bus_unwatch_name (watch);
  g_dbus_connection_signal_unsubscribe (conn, sub);
  return live.code;
}
