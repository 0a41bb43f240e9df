/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixfdlist.h>

#include "bkt-client.h"
#include "bkt-error.h"
#include "bkt-remote.h"

#define BKT_BUS_NAME "org.bkt.Daemon1"
#define BKT_OBJECT_PATH "/org/bkt/Daemon1"
#define BKT_TX_IFACE "org.bkt.Daemon1.Transaction"
/* Long enough for a human at a polkit prompt. */
#define BKT_CALL_TIMEOUT_MS (10 * 60 * 1000)

struct _BktClient
{
  GObject          parent_instance;
  GDBusConnection *session;
  GDBusConnection *system;
  GSubprocess     *private_daemon;
  GSubprocess     *agent;
  /* bkt -H HOST: both buses are HOST's, each over its own ssh child */
  char            *host;
  GSubprocess     *ssh_session;
  GSubprocess     *ssh_system;
  gboolean         report_skew;
  gboolean         skew_reported;
  gboolean         session_is_private;
  gboolean         interactive;
  gboolean         wait;
};

G_DEFINE_TYPE (BktClient, bkt_client, G_TYPE_OBJECT)

static void
bkt_client_dispose (GObject *object)
{
  BktClient *self = BKT_CLIENT (object);

  if (self->agent != NULL)
    g_subprocess_send_signal (self->agent, SIGTERM);
  g_clear_object (&self->agent);
  if (self->host != NULL)
    {
      bkt_remote_disconnect (self->session, self->ssh_session);
      bkt_remote_disconnect (self->system, self->ssh_system);
      g_clear_object (&self->ssh_session);
      g_clear_object (&self->ssh_system);
      g_clear_pointer (&self->host, g_free);
    }
  g_clear_object (&self->session);
  g_clear_object (&self->system);
  if (self->private_daemon != NULL)
    {
      /* Closing our end of the socket pair already made it exit; reap it. */
      g_subprocess_wait (self->private_daemon, NULL, NULL);
      g_clear_object (&self->private_daemon);
    }
  G_OBJECT_CLASS (bkt_client_parent_class)->dispose (object);
}

static void
bkt_client_class_init (BktClientClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = bkt_client_dispose;
}

static void
bkt_client_init (BktClient *self)
{
}

BktClient *
bkt_client_new (void)
{
  (void) BKT_ERROR;  /* register org.bkt.Error.* so replies map back */
  return g_object_new (BKT_TYPE_CLIENT, NULL);
}

void bkt_client_set_interactive (BktClient *self, gboolean interactive) { self->interactive = interactive; }
void bkt_client_set_wait (BktClient *self, gboolean wait) { self->wait = wait; }
gboolean bkt_client_is_private (BktClient *self) { return self->session_is_private; }
static const char *destination (BktClient *self, BktTarget target);
const char *bkt_client_get_host (BktClient *self) { return self->host; }

gboolean
bkt_client_set_host (BktClient *self, const char *host, GError **error)
{
  g_return_val_if_fail (self->session == NULL && self->system == NULL, FALSE);
  if (!bkt_remote_host_valid (host, error))
    return FALSE;
  g_free (self->host);
  self->host = g_strdup (host);
  self->report_skew = TRUE;
  return TRUE;
}

void bkt_client_set_report_skew (BktClient *self, gboolean report) { self->report_skew = report; }

char *
bkt_client_daemon_version (BktClient *self, BktTarget target, GError **error)
{
  GDBusConnection *conn = bkt_client_get_bus (self, target, error);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  if (conn == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (conn, destination (self, target), BKT_OBJECT_PATH,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.bkt.Daemon1.Manager", "DaemonVersion"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    {
      if (error != NULL && *error != NULL)
        g_dbus_error_strip_remote_error (*error);
      return NULL;
    }
  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "bktd's DaemonVersion is not a string"), NULL;
  return g_variant_dup_string (value, NULL);
}

/* ---- connections ----------------------------------------------------------- */

/* @with_bus: there is no session bus at all (SSH, a console): the private
 * daemon then gets a private one of its own (dbus-run-session, gone with
 * it), because dconf writes settings through its writer service on the
 * session bus — without one, GSettings writes are lost. */
static GDBusConnection *
start_private_daemon (BktClient *self, gboolean with_bus, GError **error)
{
  g_autofree char *run_session = with_bus ? g_find_program_in_path ("dbus-run-session") : NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GError) spawn_error = NULL;
  GDBusConnection *connection;
  const char *bktd = g_getenv ("BKTD_PATH");
  int fds[2];

  if (bktd == NULL)
    bktd = BKT_LIBEXECDIR "/bktd";
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                        "socketpair: %s", g_strerror (errno)), NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  if (run_session != NULL)
    self->private_daemon = g_subprocess_launcher_spawn (launcher, &spawn_error, run_session, "--", bktd,
                                                        "--session", "--fd", "3", NULL);
  else
    self->private_daemon = g_subprocess_launcher_spawn (launcher, &spawn_error, bktd, "--session", "--fd", "3",
                                                        NULL);
  /* The launcher holds the daemon's end: close it here, or a daemon that
   * dies at once (dbus-run-session whose bktd cannot start) would leave
   * the handshake below waiting on a peer we hold ourselves. */
  g_clear_object (&launcher);
  if (self->private_daemon == NULL)
    {
      close (fds[0]);
      /* Unreachable (exit code 4), whatever the spawn error was. */
      return g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                          "there is no session bus and a private %s could not be started: %s",
                          bktd, spawn_error->message), NULL;
    }
  socket = g_socket_new_from_fd (fds[0], error);
  if (socket == NULL)
    {
      close (fds[0]);
      return NULL;
    }
  stream = g_socket_connection_factory_create_connection (socket);
  self->session_is_private = TRUE;
  connection = g_dbus_connection_new_sync (G_IO_STREAM (stream), NULL, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                           NULL, NULL, &spawn_error);
  if (connection == NULL)
    /* Started but gone at once (e.g. a bktd that cannot be executed under
     * dbus-run-session): unreachable (exit code 4), like a failed spawn. */
    return g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                        "there is no session bus and a private %s could not be started: %s",
                        bktd, spawn_error->message), NULL;
  return connection;
}

/* HOST's bus over ssh, made once per target.  Without a terminal ssh
 * may not prompt (BatchMode): a script fails instead of hanging. */
static GDBusConnection *
get_remote_connection (BktClient *self, BktTarget target, GError **error)
{
  GDBusConnection **conn = target == BKT_TARGET_SYSTEM ? &self->system : &self->session;
  GSubprocess **child = target == BKT_TARGET_SYSTEM ? &self->ssh_system : &self->ssh_session;
  g_autofree char *version = NULL;

  if (*conn != NULL)
    return *conn;
  *conn = bkt_remote_connect (self->host, target == BKT_TARGET_SESSION, !self->interactive, child, error);
  if (*conn == NULL || !self->report_skew || self->skew_reported)
    return *conn;
  /* Another version on HOST may not speak the same API: say so once,
   * before its answers are read as this version's. */
  self->skew_reported = TRUE;
  version = bkt_client_daemon_version (self, target, NULL);
  if (version != NULL && !g_str_equal (version, PACKAGE_VERSION))
    g_printerr ("bkt: warning: %s runs bktd %s, this bkt is %s (version skew: replies may differ from "
                "what this bkt expects; install the same version on both)\n", self->host, version,
                PACKAGE_VERSION);
  return *conn;
}

static GDBusConnection *
get_connection (BktClient *self, BktTarget target, GError **error)
{
  if (self->host != NULL)
    return get_remote_connection (self, target, error);
  if (target == BKT_TARGET_SYSTEM)
    {
      if (self->system == NULL)
        {
          g_autoptr(GError) local = NULL;
          self->system = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local);
          if (self->system == NULL)
            return g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                                "cannot reach the system bus (%s), where the system daemon bktd answers",
                                local->message), NULL;
        }
      return self->system;
    }

  if (self->session == NULL)
    {
      g_autoptr(GError) local = NULL;
      /* Over SSH or in a CI container there is no session bus: the same
       * engine then runs privately, for this client only. */
      if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL)
        self->session = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &local);
      if (self->session == NULL)
        {
          if (local != NULL)
            g_debug ("no session bus (%s): starting a private bktd", local->message);
          self->session = start_private_daemon (self, TRUE, error);
        }
    }
  return self->session;
}

GDBusConnection *
bkt_client_get_bus (BktClient *self, BktTarget target, GError **error)
{
  return get_connection (self, target, error);
}

gboolean
bkt_client_system_reachable (BktClient *self, GError **error)
{
  GDBusConnection *conn = get_connection (self, BKT_TARGET_SYSTEM, error);
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GVariant) names = NULL;
  g_autofree const char **list = NULL;
  gboolean has = FALSE;

  if (conn == NULL)
    return FALSE;
  owned = g_dbus_connection_call_sync (conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", g_variant_new ("(s)", BKT_BUS_NAME), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (owned == NULL)
    return FALSE;
  g_variant_get (owned, "(b)", &has);
  if (has)
    return TRUE;
  /* not running: the bus starts it on the first call if it has its service file */
  names = g_dbus_connection_call_sync (conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "ListActivatableNames", NULL, G_VARIANT_TYPE ("(as)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (names == NULL)
    return FALSE;
  g_variant_get (names, "(^a&s)", &list);
  if (g_strv_contains (list, BKT_BUS_NAME))
    return TRUE;
  return g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                      "the system daemon bktd is not running on the system bus, and the bus cannot start it "
                      "(no %s service is installed for it)", BKT_BUS_NAME), FALSE;
}

/* ---- polkit agent ------------------------------------------------------------ */

static void
ensure_agent (BktClient *self)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = NULL;
  int notify[2];
  char buf;

  if (!self->interactive || self->agent != NULL || g_getenv ("BKT_NO_PKTTYAGENT") != NULL)
    return;
  if (!g_file_test (BKT_PKTTYAGENT, G_FILE_TEST_IS_EXECUTABLE))
    return;
  if (!g_unix_open_pipe (notify, FD_CLOEXEC, NULL))
    return;

  /* --fallback: a desktop session's own agent, if any, keeps priority.
   * The agent closes --notify-fd once it is registered for our process,
   * so the privileged call cannot race its registration. */
  pid = g_strdup_printf ("%d", (int) getpid ());
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_fd (launcher, notify[1], 3);
  self->agent = g_subprocess_launcher_spawn (launcher, &error, BKT_PKTTYAGENT,
                                             "--process", pid, "--fallback", "--notify-fd", "3", NULL);
  if (self->agent == NULL)
    {
      close (notify[0]);
      g_debug ("pkttyagent not started: %s", error->message);
      return;
    }
  g_clear_object (&launcher);   /* closes our copy of the write end */
  while (read (notify[0], &buf, 1) < 0 && errno == EINTR)
    ;
  close (notify[0]);
}

/* ---- calls --------------------------------------------------------------------- */

/* A private session instance is a peer, not a bus: no destination name. */
static const char *
destination (BktClient *self, BktTarget target)
{
  return self->session_is_private && target == BKT_TARGET_SESSION ? NULL : BKT_BUS_NAME;
}

/* A transaction's JSON property (Plan, Result), parsed; NULL if unreadable. */
static JsonObject *
get_tx_json (GDBusConnection *conn, const char *dest, const char *path, const char *property,
             GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  reply = g_dbus_connection_call_sync (conn, dest, path, "org.freedesktop.DBus.Properties",
                                       "Get", g_variant_new ("(ss)", BKT_TX_IFACE, property),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      !json_parser_load_from_data (parser, g_variant_get_string (value, NULL), -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "the transaction %s has no readable %s",
                        path, property), NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static gboolean
is_unreachable (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_CHILD_EXITED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static GVariant *
call_until_answered (BktClient *self, BktTarget target, const char *interface_name, const char *method,
                     GVariant *params, const GVariantType *reply_type, GError **error);

/* Methods every local user may call (docs/architecture.md): no agent. */
static gboolean
is_read_only (const char *interface_name, const char *method)
{
  const char *const reads[] = { "Status", "Plan", "CapturePlan", "Capture", "BootcStatus", "SystemctlStatus", NULL };

  return g_str_equal (interface_name, "org.freedesktop.DBus.Properties") || g_strv_contains (reads, method);
}

GVariant *
bkt_client_call (BktClient   *self,
                 BktTarget    target,
                 const char  *interface_name,
                 const char  *method,
                 GVariant    *parameters,
                 const GVariantType *reply_type,
                 GError     **error)
{
  g_autoptr(GVariant) params = parameters ? g_variant_ref_sink (parameters) : NULL;
  BktRemoteAgent *agent = NULL;
  GVariant *reply;

  /* -H on a terminal: HOST's polkit may ask; an agent there answers, for
   * this call only (its ssh terminal holds ours while it runs). */
  if (self->host != NULL && self->interactive && target == BKT_TARGET_SYSTEM &&
      !is_read_only (interface_name, method) && g_getenv ("BKT_NO_PKTTYAGENT") == NULL)
    {
      GDBusConnection *conn = get_connection (self, target, error);
      if (conn == NULL)
        return NULL;
      agent = bkt_remote_agent_start (self->host, conn);
    }
  reply = call_until_answered (self, target, interface_name, method, params, reply_type, error);
  bkt_remote_agent_stop (agent);
  return reply;
}

static GVariant *
call_until_answered (BktClient *self, BktTarget target, const char *interface_name, const char *method,
                     GVariant *params, const GVariantType *reply_type, GError **error)
{
  gboolean waited = FALSE;

  for (;;)
    {
      g_autoptr(GError) local = NULL;
      GDBusConnection *conn = get_connection (self, target, error);
      GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
      GVariant *reply;

      if (conn == NULL)
        return NULL;
      if (target == BKT_TARGET_SYSTEM && self->interactive)
        {
          /* A local agent answers for local processes only: with -H,
           * bkt_client_call() started one on HOST. */
          if (self->host == NULL)
            ensure_agent (self);
          flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
        }
      reply = g_dbus_connection_call_sync (conn,
                                           destination (self, target),
                                           BKT_OBJECT_PATH, interface_name, method, params,
                                           reply_type, flags, BKT_CALL_TIMEOUT_MS, NULL, &local);
      if (reply != NULL)
        return reply;

      if (target == BKT_TARGET_SESSION && !self->session_is_private && self->host == NULL &&
          (g_error_matches (local, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
           g_error_matches (local, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND)))
        {
          /* A session bus without an activatable bktd (not installed for
           * this user, or a minimal container): same engine, privately. */
          g_debug ("no bktd on the session bus: starting a private one");
          g_clear_object (&self->session);
          self->session = start_private_daemon (self, FALSE, error);
          if (self->session == NULL)
            return NULL;
          continue;
        }
      if (self->wait && g_error_matches (local, BKT_ERROR, BKT_ERROR_BUSY))
        {
          g_dbus_error_strip_remote_error (local);
          if (!waited)
            g_printerr ("bkt: %s\nbkt: waiting…\n", local->message);
          waited = TRUE;
          g_usleep (G_USEC_PER_SEC / 2);
          continue;
        }
      if (is_unreachable (local) && self->host != NULL)
        {
          g_dbus_error_strip_remote_error (local);
          g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                       "the %s daemon bktd on %s is not reachable over ssh (%s)",
                       target == BKT_TARGET_SYSTEM ? "system" : "session", self->host, local->message);
          return NULL;
        }
      if (is_unreachable (local))
        {
          g_dbus_error_strip_remote_error (local);
          g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                       target == BKT_TARGET_SYSTEM
                         ? "the system daemon bktd is not reachable (%s). It is started by D-Bus "
                           "activation: check that bkt is installed system-wide "
                           "(org.bkt.Daemon1 in /usr/share/dbus-1/system-services) and see "
                           "`journalctl -u bktd`."
                         : "the session daemon bktd is not reachable (%s)",
                       local->message);
          return NULL;
        }
      g_dbus_error_strip_remote_error (local);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
}

JsonObject *
bkt_client_call_json (BktClient *self, BktTarget target, const char *method,
                      GVariant *parameters, GError **error)
{
  g_autoptr(GVariant) reply = bkt_client_call (self, target, "org.bkt.Daemon1.Manager", method,
                                               parameters, G_VARIANT_TYPE ("(s)"), error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *text;

  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&s)", &text);
  if (!json_parser_load_from_data (parser, text, -1, error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "bktd sent a reply that is not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* ---- transactions ------------------------------------------------------------ */

typedef struct {
  BktClient                *self;
  GDBusConnection          *conn;
  const char               *path;
  const BktFollowCallbacks *cb;
  gpointer                  user_data;
  GMainLoop                *loop;
  gboolean                  finished;
  gboolean                  success;
  char                     *error_name;
  char                     *error_message;
  gboolean                  vanished;
  guint                     n_interrupts;
} Follow;

static void
on_tx_signal (GDBusConnection *conn, const char *sender, const char *path, const char *iface,
              const char *signal, GVariant *params, gpointer user_data)
{
  Follow *f = user_data;

  if (g_str_equal (signal, "Progress") && f->cb && f->cb->progress)
    {
      guint percent;
      const char *op, *detail;
      g_variant_get (params, "(u&s&s)", &percent, &op, &detail);
      f->cb->progress (f->user_data, percent, op, detail);
    }
  else if (g_str_equal (signal, "OperationFinished") && f->cb && f->cb->operation)
    {
      guint index;
      const char *id, *err;
      gboolean ok;
      g_variant_get (params, "(u&sb&s)", &index, &id, &ok, &err);
      f->cb->operation (f->user_data, index, id, ok, err);
    }
  else if (g_str_equal (signal, "Message") && f->cb && f->cb->message)
    {
      const char *text;
      g_variant_get (params, "(&s)", &text);
      f->cb->message (f->user_data, text);
    }
  else if (g_str_equal (signal, "Finished"))
    {
      g_variant_get (params, "(bss)", &f->success, &f->error_name, &f->error_message);
      f->finished = TRUE;
      g_main_loop_quit (f->loop);
    }
}

static void
on_daemon_vanished (GDBusConnection *conn, const char *name, gpointer user_data)
{
  Follow *f = user_data;

  f->vanished = TRUE;
  g_main_loop_quit (f->loop);
}

static void
on_closed (GDBusConnection *conn, gboolean remote_vanished, GError *error, gpointer user_data)
{
  on_daemon_vanished (conn, NULL, user_data);
}

static gboolean
on_sigint (gpointer user_data)
{
  Follow *f = user_data;

  /* First Ctrl-C: ask the daemon to cancel and wait for it to say so;
   * a second one leaves at once (the transaction goes on or stops as the
   * daemon decides). */
  if (++f->n_interrupts > 1)
    {
      g_printerr ("\nbkt: interrupted\n");
      _exit (130);
    }
  g_printerr ("\nbkt: cancelling %s (Ctrl-C again to leave now)\n", f->path);
  g_dbus_connection_call (f->conn, f->self->session_is_private && f->conn == f->self->session
                                     ? NULL : BKT_BUS_NAME,
                          f->path, BKT_TX_IFACE, "Cancel", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
  return G_SOURCE_CONTINUE;
}

static JsonObject *
read_result (Follow *f, const char *dest)
{
  return get_tx_json (f->conn, dest, f->path, "Result", NULL);
}

JsonObject *
bkt_client_transaction_plan (BktClient *self, BktTarget target, const char *path, GError **error)
{
  GDBusConnection *conn = get_connection (self, target, error);

  if (conn == NULL)
    return NULL;
  return get_tx_json (conn, destination (self, target), path, "Plan", error);
}

gboolean
bkt_client_follow (BktClient                *self,
                   BktTarget                 target,
                   const char               *path,
                   const BktFollowCallbacks *callbacks,
                   gpointer                  user_data,
                   JsonObject              **result,
                   GError                  **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) local = NULL;
  GDBusConnection *conn = get_connection (self, target, error);
  const char *dest;
  Follow f = { 0 };
  guint sub, watch = 0, sigint;
  gulong closed_id;

  if (conn == NULL)
    return FALSE;
  dest = destination (self, target);
  f.self = self;
  f.conn = conn;
  f.path = path;
  f.cb = callbacks;
  f.user_data = user_data;
  f.loop = loop;

  /* Subscribe before Start(): the transaction waits for us, so no signal
   * can be missed. */
  sub = g_dbus_connection_signal_subscribe (conn, dest, BKT_TX_IFACE, NULL, path, NULL,
                                            G_DBUS_SIGNAL_FLAGS_NONE, on_tx_signal, &f, NULL);
  if (dest != NULL)
    watch = g_bus_watch_name_on_connection (conn, dest, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                            NULL, on_daemon_vanished, &f, NULL);
  closed_id = g_signal_connect (conn, "closed", G_CALLBACK (on_closed), &f);
  sigint = g_unix_signal_add (SIGINT, on_sigint, &f);

  reply = g_dbus_connection_call_sync (conn, dest, path, BKT_TX_IFACE, "Start", NULL, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &local);
  if (reply != NULL)
    g_main_loop_run (loop);

  g_source_remove (sigint);
  g_signal_handler_disconnect (conn, closed_id);
  if (watch != 0)
    g_bus_unwatch_name (watch);
  g_dbus_connection_signal_unsubscribe (conn, sub);

  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (local);
      g_propagate_error (error, g_steal_pointer (&local));
      g_free (f.error_name);
      g_free (f.error_message);
      return FALSE;
    }
  if (!f.finished)
    {
      g_free (f.error_name);
      g_free (f.error_message);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                          "bktd (%s) exited while %s was running; what it finished stays done, "
                          "run the command again to converge",
                          target == BKT_TARGET_SYSTEM ? "system" : "session", path), FALSE;
    }

  if (result != NULL)
    *result = read_result (&f, dest);
  if (!f.success)
    {
      GError *e = g_dbus_error_new_for_dbus_error (f.error_name, f.error_message);
      g_dbus_error_strip_remote_error (e);
      g_propagate_error (error, e);
    }
  g_free (f.error_name);
  g_free (f.error_message);
  return f.success;
}
