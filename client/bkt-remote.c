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
