/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gio.h>

#include "bkt-daemon.h"
#include "bkt-error.h"
#include "bkt-log.h"
#include "bkt-subsystem-registry.h"

#define BKT_BUS_NAME "org.bkt.Daemon1"

typedef struct {
  GMainLoop *loop;
  int        exit_code;
  guint      owner_id;   /* the bus name, until an idle exit releases it */
} App;

static gboolean
on_signal (gpointer user_data)
{
  App *app = user_data;

  g_message ("terminating on signal");
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

/* An idle exit in two steps: the name goes first (see
 * bkt_daemon_release_name), then, once the calls that reached us before
 * were answered, the daemon itself. */
static void
on_idle (BktDaemon *daemon, App *app)
{
  if (app->owner_id != 0)
    {
      guint owner_id = app->owner_id;

      app->owner_id = 0;
      bkt_daemon_release_name (daemon, owner_id);
      return;
    }
  g_main_loop_quit (app->loop);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  App *app = user_data;

  /* Either another bktd took the name (--replace) or we never got it:
   * without the name nobody can reach us, so leave. */
  g_warning ("lost (or could not acquire) the bus name %s", name);
  app->exit_code = 1;
  g_main_loop_quit (app->loop);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  g_message ("ready as %s", name);
}

static void
on_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error, gpointer user_data)
{
  App *app = user_data;

  /* The private peer (the client that started us) went away, or the bus
   * died: nothing left to serve. */
  g_main_loop_quit (app->loop);
}

/* A private instance serves the one client that started it: only the same
 * user may authenticate. */
static gboolean
on_authorize_peer (GDBusAuthObserver *observer, GIOStream *stream, GCredentials *credentials,
                   gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  uid_t uid;

  if (credentials == NULL)
    return FALSE;
  uid = g_credentials_get_unix_user (credentials, &error);
  return uid != (uid_t) -1 && uid == getuid ();
}

static GDBusConnection *
connect_peer_fd (int fd, GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GDBusAuthObserver) observer = NULL;
  g_autofree char *guid = NULL;

  if (socket == NULL)
    return NULL;
  stream = g_socket_connection_factory_create_connection (socket);
  observer = g_dbus_auth_observer_new ();
  g_signal_connect (observer, "authorize-authenticated-peer", G_CALLBACK (on_authorize_peer), NULL);
  guid = g_dbus_generate_guid ();
  return g_dbus_connection_new_sync (G_IO_STREAM (stream), guid,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                                     G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                                     observer, NULL, error);
}

/* bktd's command line, its connection and its main loop (bktd.c is only
 * main(), so that everything else is in the library the tests link). */
/* One line per row of the subsystem registry: its name, then its aliases
 * (what --only and --exclude take; `bkt __complete` reads it). */
static void
print_subsystems (void)
{
  guint n = 0;
  const BktSubsystemInfo *rows = bkt_subsystem_registry (&n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GString) line = g_string_new (rows[i].name);

      for (guint a = 0; rows[i].aliases != NULL && rows[i].aliases[a] != NULL; a++)
        g_string_append_printf (line, " %s", rows[i].aliases[a]);
      g_print ("%s\n", line->str);
    }
}

int
bkt_daemon_main (int argc, char **argv)
{
  gboolean opt_system = FALSE, opt_session = FALSE, opt_replace = FALSE, opt_verbose = FALSE;
  gboolean opt_version = FALSE;
  gboolean opt_list = FALSE;
  int opt_fd = -1;
  int opt_idle = -1;
  g_autofree char *opt_address = NULL;
  const GOptionEntry entries[] = {
    { "system", 0, 0, G_OPTION_ARG_NONE, &opt_system, "Run the system instance (root, system bus)", NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &opt_session, "Run the session instance (the user, session bus)", NULL },
    { "address", 0, 0, G_OPTION_ARG_STRING, &opt_address, "Connect to this bus address instead of the default bus", "ADDRESS" },
    { "fd", 0, 0, G_OPTION_ARG_INT, &opt_fd, "Serve one peer on this connected socket (private instance)", "FD" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &opt_idle, "Exit after SECONDS without clients (0: never)", "SECONDS" },
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &opt_replace, "Replace a running instance", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log info and debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
    { "list-subsystems", 0, 0, G_OPTION_ARG_NONE, &opt_list, "Print the subsystems (name, then aliases) and exit",
      NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new ("- bkt daemon");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(BktDaemon) daemon = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  BktInstance instance;
  guint idle;
  App app = { NULL, 0, 0 };

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_set_description (octx,
    "bktd keeps bkt's manifests and the live system in step. See bktd(8).\n"
    "Environment: BKT_IDLE_TIMEOUT, BKT_IMAGE_MANIFESTS_DIR (see docs/environment.md).");
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("bktd: %s\n", error->message);
      return 2;
    }
  if (opt_version)
    {
      g_print ("bktd %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (opt_list)
    {
      print_subsystems ();
      return 0;
    }
  if (opt_system == opt_session)
    {
      g_printerr ("bktd: exactly one of --system or --session is required\n");
      return 2;
    }
  if (opt_system && opt_fd >= 0)
    {
      g_printerr ("bktd: --fd serves a private session instance only\n");
      return 2;
    }
  instance = opt_system ? BKT_INSTANCE_SYSTEM : BKT_INSTANCE_SESSION;
  bkt_log_setup (opt_system ? "system" : "session", opt_verbose, opt_fd >= 0);

  /* Make sure our error names are registered before the first reply. */
  (void) BKT_ERROR;

  if (opt_idle < 0)
    {
      const char *env = g_getenv ("BKT_IDLE_TIMEOUT");
      opt_idle = env ? (int) g_ascii_strtoll (env, NULL, 10) : BKT_IDLE_TIMEOUT_DEFAULT;
    }
  /* A private instance lives exactly as long as its one client. */
  idle = opt_fd >= 0 ? 0 : (guint) MAX (opt_idle, 0);

  if (opt_fd >= 0)
    connection = connect_peer_fd (opt_fd, &error);
  else if (opt_address != NULL)
    connection = g_dbus_connection_new_for_address_sync (opt_address,
                                                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                         G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                         NULL, NULL, &error);
  else
    connection = g_bus_get_sync (opt_system ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION, NULL, &error);
  if (connection == NULL)
    {
      g_printerr ("bktd: cannot connect: %s\n", error->message);
      return 1;
    }
  g_dbus_connection_set_exit_on_close (connection, FALSE);

  loop = g_main_loop_new (NULL, FALSE);
  app.loop = loop;
  daemon = bkt_daemon_new (instance, idle);
  g_signal_connect (daemon, "idle", G_CALLBACK (on_idle), &app);
  if (!bkt_daemon_export (daemon, connection, &error))
    {
      g_printerr ("bktd: cannot export objects: %s\n", error->message);
      return 1;
    }
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), &app);

  if (opt_fd >= 0)
    g_dbus_connection_start_message_processing (connection);
  else
    app.owner_id = g_bus_own_name_on_connection (connection, BKT_BUS_NAME,
                                                 G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT |
                                                 (opt_replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                                                 on_name_acquired, on_name_lost, &app, NULL);

  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);

  g_main_loop_run (loop);

  if (app.owner_id != 0)
    g_bus_unown_name (app.owner_id);
  g_signal_handlers_disconnect_by_data (daemon, &app);
  g_signal_handlers_disconnect_by_data (connection, &app);
  g_dbus_connection_flush_sync (connection, NULL, NULL);
  return app.exit_code;
}
