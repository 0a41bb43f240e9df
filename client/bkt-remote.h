/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Another machine's bktd, with existing pieces only: `ssh HOST
 * systemd-stdio-bridge [--user]` carries that machine's system (session)
 * bus over the ssh child's stdin/stdout, and GDBus talks to it as to a
 * local bus (docs/architecture.md, "Other machines: bkt -H HOST"). */

/* Is @host acceptable as ssh's destination?  Refused: empty, longer than
 * 255 bytes, starting with '-' (ssh would read it as an option), or with
 * whitespace or control characters.  BKT_ERROR_INVALID_ARGUMENT. */
gboolean         bkt_remote_host_valid (const char *host, GError **error);

/* Take -H HOST / --host HOST / --host=HOST / -HHOST out of @argv when it
 * comes before the command name (after it, --host is a command's own
 * option: `bkt shim add NAME --host CMD`).  *@host is set (the last one
 * given); FALSE with a usage message printed when the value is missing. */
gboolean         bkt_remote_take_host_option (int *argc, char **argv, char **host);

/* Spawn ssh (BatchMode when @batch: no prompt, e.g. without a terminal or
 * for many hosts at once) and connect over it to @host's session bus
 * (@user_bus) or system bus.  @child receives the ssh process.  Failure:
 * BKT_ERROR_AUTHORITY_UNAVAILABLE with what ssh said (an unknown or
 * changed host key, a refused connection, a missing systemd-stdio-bridge). */
GDBusConnection *bkt_remote_connect (const char  *host,
                                     gboolean     user_bus,
                                     gboolean     batch,
                                     GSubprocess **child,
                                     GError     **error);

/* polkit on HOST asks an agent on HOST: start `pkttyagent --process PID`
 * there (PID: the bridge carrying @connection, as HOST's bus
 * knows it) on an ssh terminal of its own (ssh -t, this terminal), and
 * return once it is registered, or NULL (debug message) if it could not
 * be.  Its prompts are copied to stdout; the keys typed go to it. */
typedef struct _BktRemoteAgent BktRemoteAgent;
BktRemoteAgent  *bkt_remote_agent_start (const char *host, GDBusConnection *connection);
/* Stop it (the terminal is given back); NULL is fine. */
void             bkt_remote_agent_stop  (BktRemoteAgent *agent);

/* Close @connection and reap @child (ssh leaves once the bridge sees EOF). */
void             bkt_remote_disconnect (GDBusConnection *connection, GSubprocess *child);

G_END_DECLS
