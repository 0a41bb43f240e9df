/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bkt-cmd.h"
#include "bkt-error.h"
#include "bkt-remote.h"

/* bkt -H HOST: ssh runs `systemd-stdio-bridge` on HOST, which forwards
 * between its stdin/stdout and HOST's bus; here the ssh child's
 * stdin/stdout are one end of a socket pair and GDBus speaks the D-Bus
 * protocol on the other, as a client of a message bus.  ssh does
 * everything ssh does: known_hosts, keys, agent, ~/.ssh/config; bkt adds
 * no option that weakens it, and the host is passed after "--". */

#define HOST_MAX 255
/* ssh's own message, kept for the error; more is noise */
#define SSH_STDERR_MAX 4096
/* how long ssh may take to leave once the bridge saw EOF */
#define SSH_EXIT_WAIT_MS 5000
/* The command ssh runs on HOST (one string, for the login shell; sh -c
 * so that it means the same under any shell, fish included).  The bus
 * address is picked on HOST the way its D-Bus libraries pick it — the
 * login's DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus (what
 * pam_systemd sets up); DBUS_SYSTEM_BUS_ADDRESS, else the standard system
 * socket — and given with -p: systemd-stdio-bridge before systemd 254
 * ignores both --user and DBUS_SYSTEM_BUS_ADDRESS. */
#define REMOTE_SESSION_BRIDGE \
  "sh -c 'exec systemd-stdio-bridge -p \"${DBUS_SESSION_BUS_ADDRESS:-unix:path=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/bus}\"'"
#define REMOTE_SYSTEM_BRIDGE \
  "sh -c 'exec systemd-stdio-bridge -p \"${DBUS_SYSTEM_BUS_ADDRESS:-unix:path=/run/dbus/system_bus_socket}\"'"
/* BatchMode: how long to wait for the TCP connection (no prompt anyway) */
#define SSH_CONNECT_TIMEOUT "ConnectTimeout=15"

gboolean
bkt_remote_host_valid (const char *host, GError **error)
{
  const char *why = NULL;

  if (host == NULL || *host == '\0')
    why = "it is empty";
  else if (strlen (host) > HOST_MAX)
    why = "it is longer than 255 bytes";
  else if (host[0] == '-')
    why = "it starts with “-” (ssh would read it as an option)";
  else
    for (const char *p = host; *p != '\0' && why == NULL; p++)
      if (g_ascii_isspace (*p) || g_ascii_iscntrl (*p))
        why = "it contains whitespace or a control character";
  if (why == NULL)
    return TRUE;
  return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                      "“%s” is not a host name for ssh: %s", host != NULL ? host : "", why), FALSE;
}

gboolean
bkt_remote_take_host_option (int *argc, char **argv, char **host)
{
  int i = 1;

  while (i < *argc && argv[i][0] == '-' && argv[i][1] != '\0' && !g_str_equal (argv[i], "--"))
    {
      const char *value = NULL;
      int words = 0;

      if (g_str_equal (argv[i], "-H") || g_str_equal (argv[i], "--host"))
        {
          if (i + 1 >= *argc)
            {
              g_printerr ("bkt: %s needs a HOST (ssh's destination: NAME, USER@NAME, an alias of "
                          "~/.ssh/config or ssh://USER@NAME:PORT)\n", argv[i]);
              return FALSE;
            }
          value = argv[i + 1];
          words = 2;
        }
      else if (g_str_has_prefix (argv[i], "--host="))
        value = argv[i] + strlen ("--host="), words = 1;
      else if (g_str_has_prefix (argv[i], "-H"))
        value = argv[i] + 2, words = 1;
      if (words == 0)
        {
          /* another option before the command: skip it and its value
           * (the table decides which take one; -m DIR, --context CTX) */
          i += bkt_cmd_option_takes_value (argv[i]) ? 2 : 1;
          continue;
        }
      g_free (*host);
      *host = g_strdup (value);
      memmove (&argv[i], &argv[i + words], sizeof (char *) * (*argc - i - words + 1));
      *argc -= words;
    }
  return TRUE;
}

/* What ssh said, as one line for the error: its last non-empty line, or
 * an explanation when it is about the host key. */
static char *
explain_ssh_failure (const char *host, gboolean user_bus, const char *text, int status)
{
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);
  const char *last = NULL;

  if (text != NULL && strstr (text, "REMOTE HOST IDENTIFICATION HAS CHANGED") != NULL)
    return g_strdup_printf ("ssh refused %s: its host key does not match the one recorded in known_hosts "
                            "(the machine was reinstalled, or someone is in between); verify the new key, "
                            "then update known_hosts (ssh-keygen -R)", host);
  if (text != NULL && strstr (text, "Host key verification failed") != NULL)
    return g_strdup_printf ("ssh refused %s: its host key is not in known_hosts (or does not match); "
                            "verify and record it with a plain `ssh %s` first", host, host);
  for (guint i = 0; lines[i] != NULL; i++)
    if (*g_strstrip (lines[i]) != '\0')
      last = lines[i];
  if (last != NULL && strstr (last, "Failed to start bus client") != NULL)
    return user_bus
      ? g_strdup_printf ("%s has no session bus for this user over ssh (%s): the user's systemd instance "
                         "runs only while they are logged in there, unless lingering is on "
                         "(loginctl enable-linger)", host, last)
      : g_strdup_printf ("%s: systemd-stdio-bridge cannot reach the system bus (%s)", host, last);
  if (status == 127 || (last != NULL && strstr (last, "systemd-stdio-bridge") != NULL))
    return g_strdup_printf ("%s has no systemd-stdio-bridge (systemd's; needed to reach its bus): %s",
                            host, last != NULL ? last : "command not found");
  return g_strdup_printf ("ssh to %s failed: %s", host,
                          last != NULL ? last : "the connection closed before the D-Bus handshake");
}

/* Reap @child within SSH_EXIT_WAIT_MS, else stop it. */
static void
reap (GSubprocess *child)
{
  for (guint waited = 0; g_subprocess_get_identifier (child) != NULL && waited < SSH_EXIT_WAIT_MS; waited += 20)
    g_usleep (20 * 1000);
  if (g_subprocess_get_identifier (child) != NULL)
    g_subprocess_send_signal (child, SIGTERM);
  g_subprocess_wait (child, NULL, NULL);
}

static GError *
failure_from_child (const char *host, gboolean user_bus, GSubprocess *child, const GError *dbus_error)
{
  GInputStream *err = g_subprocess_get_stderr_pipe (child);
  g_autofree char *text = g_malloc0 (SSH_STDERR_MAX + 1);
  g_autofree char *why = NULL;
  gsize n = 0;

  reap (child);
  g_input_stream_read_all (err, text, SSH_STDERR_MAX, &n, NULL, NULL);
  g_debug ("ssh %s: %s (D-Bus: %s)", host, text, dbus_error->message);
  why = explain_ssh_failure (host, user_bus, text,
                             g_subprocess_get_if_exited (child) ? g_subprocess_get_exit_status (child) : -1);
  return g_error_new_literal (BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE, why);
}

GDBusConnection *
bkt_remote_connect (const char *host, gboolean user_bus, gboolean batch, GSubprocess **child, GError **error)
{
  g_autofree char *ssh = g_find_program_in_path ("ssh");
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  GDBusConnection *connection;
  int fds[2];

  if (!bkt_remote_host_valid (host, error))
    return NULL;
  if (ssh == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE,
                        "bkt -H needs ssh (openssh-client), and there is none in PATH"), NULL;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "socketpair: %s",
                        g_strerror (errno)), NULL;

  /* -T: the bus is binary, no terminal in between. */
  g_ptr_array_add (argv, ssh);
  g_ptr_array_add (argv, "-T");
  if (batch)
    {
      g_ptr_array_add (argv, "-o");
      g_ptr_array_add (argv, "BatchMode=yes");
      g_ptr_array_add (argv, "-o");
      g_ptr_array_add (argv, SSH_CONNECT_TIMEOUT);
    }
  g_ptr_array_add (argv, "--");
  g_ptr_array_add (argv, (char *) host);
  g_ptr_array_add (argv, (char *) (user_bus ? REMOTE_SESSION_BRIDGE : REMOTE_SYSTEM_BRIDGE));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_stdin_fd (launcher, fds[1]);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (fds[1]));
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &local);
  g_clear_object (&launcher);   /* closes the child's end here */
  if (proc == NULL)
    {
      close (fds[0]);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE, "cannot run %s: %s", ssh,
                          local->message), NULL;
    }
  socket = g_socket_new_from_fd (fds[0], error);
  if (socket == NULL)
    {
      close (fds[0]);
      reap (proc);
      return NULL;
    }
  stream = g_socket_connection_factory_create_connection (socket);
  connection = g_dbus_connection_new_sync (G_IO_STREAM (stream), NULL,
                                           G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                           G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                           NULL, NULL, &local);
  if (connection == NULL)
    {
      g_clear_object (&stream);
      g_clear_object (&socket);
      g_propagate_error (error, failure_from_child (host, user_bus, proc, local));
      return NULL;
    }
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  *child = g_steal_pointer (&proc);
  return connection;
}

void
bkt_remote_disconnect (GDBusConnection *connection, GSubprocess *child)
{
  if (connection != NULL)
    g_dbus_connection_close_sync (connection, NULL, NULL);
  if (child != NULL)
    reap (child);
}

/* ---- polkit agent on HOST ------------------------------------------------------ */

/* What the remote side prints once pkttyagent closed its --notify-fd
 * (registered); not shown. */
#define AGENT_READY "BKT-AGENT-READY"
#define AGENT_READY_TIMEOUT_S 20
/* The agent's prompts go to its terminal (/dev/tty: ssh -t's); the pipe
 * on fd 3 has no other writer, so `cat` ends when the agent closes it.
 * Not --fallback (unlike the local one): the person is here, not at
 * HOST's desktop, and polkit uses a fallback agent only for a subject in
 * a login session, which an ssh login without pam_systemd has not. */
#define REMOTE_AGENT \
  "sh -c 'pkttyagent --process %u --notify-fd 3 3>&1 >/dev/tty 2>&1 </dev/tty " \
  "| { cat >/dev/null; echo " AGENT_READY "; }'"

struct _BktRemoteAgent
{
  GSubprocess *ssh;
  GThread     *relay;
  GMutex       lock;
  GCond        cond;
  gboolean     ready;
  gboolean     ended;
};

/* Read ssh's stdout: up to the marker, silently; then copy the agent's
 * prompts to our stdout until ssh leaves. */
static gpointer
relay_agent_output (gpointer data)
{
  BktRemoteAgent *a = data;
  GInputStream *in = g_subprocess_get_stdout_pipe (a->ssh);
  g_autoptr(GString) head = g_string_new (NULL);
  char buf[1024];
  gssize n;

  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, NULL)) > 0)
    {
      const char *mark;
      if (a->ready)
        {
          if (write (STDOUT_FILENO, buf, n) < 0)
            break;
          continue;
        }
      g_string_append_len (head, buf, n);
      mark = strstr (head->str, AGENT_READY);
      if (mark == NULL)
        {
          if (head->len > SSH_STDERR_MAX)   /* not our marker: it will not come */
            break;
          continue;
        }
      g_debug ("polkit agent on HOST: %s", head->str);
      g_mutex_lock (&a->lock);
      a->ready = TRUE;
      g_cond_signal (&a->cond);
      g_mutex_unlock (&a->lock);
    }
  g_mutex_lock (&a->lock);
  a->ended = TRUE;
  g_cond_signal (&a->cond);
  g_mutex_unlock (&a->lock);
  return NULL;
}

static gboolean
bridge_pid (GDBusConnection *connection, guint32 *pid)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  const char *name = g_dbus_connection_get_unique_name (connection);

  if (name == NULL)
    return FALSE;
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", name), G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply == NULL)
    {
      g_debug ("no process id of %s on the remote bus: %s", name, error->message);
      return FALSE;
    }
  g_variant_get (reply, "(u)", pid);
  return TRUE;
}

BktRemoteAgent *
bkt_remote_agent_start (const char *host, GDBusConnection *connection)
{
  g_autofree char *ssh = g_find_program_in_path ("ssh");
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;
  BktRemoteAgent *a;
  gint64 deadline;
  guint32 pid;

  if (ssh == NULL || !bkt_remote_host_valid (host, NULL) || !bridge_pid (connection, &pid))
    return NULL;
  command = g_strdup_printf (REMOTE_AGENT, pid);
  a = g_new0 (BktRemoteAgent, 1);
  g_mutex_init (&a->lock);
  g_cond_init (&a->cond);
  /* stdin and stderr: this terminal (ssh -t makes it raw while it runs) */
  a->ssh = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                             ssh, "-t", "-q", "--", host, command, NULL);
  if (a->ssh == NULL)
    {
      g_debug ("no polkit agent on %s: %s", host, error->message);
      bkt_remote_agent_stop (a);
      return NULL;
    }
  a->relay = g_thread_new ("bkt-remote-agent", relay_agent_output, a);
  deadline = g_get_monotonic_time () + AGENT_READY_TIMEOUT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&a->lock);
  while (!a->ready && !a->ended)
    if (!g_cond_wait_until (&a->cond, &a->lock, deadline))
      break;
  g_mutex_unlock (&a->lock);
  if (!a->ready)
    {
      g_debug ("the polkit agent on %s did not register", host);
      bkt_remote_agent_stop (a);
      return NULL;
    }
  return a;
}

void
bkt_remote_agent_stop (BktRemoteAgent *a)
{
  if (a == NULL)
    return;
  if (a->ssh != NULL)
    {
      /* ssh leaves on SIGTERM and gives the terminal back; the hangup
       * ends pkttyagent on HOST */
      g_subprocess_send_signal (a->ssh, SIGTERM);
      reap (a->ssh);
    }
  if (a->relay != NULL)
    g_thread_join (a->relay);
  g_clear_object (&a->ssh);
  g_mutex_clear (&a->lock);
  g_cond_clear (&a->cond);
  g_free (a);
}
