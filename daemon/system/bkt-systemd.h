/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* systemd units through org.freedesktop.systemd1 on the system bus (the
 * connection the system instance already has), never by running systemctl.
 * All calls are synchronous and meant for worker threads: each one that
 * waits for a job iterates a private main context of its own. */

/* The verbs of SystemctlManage. */
typedef enum {
  BKT_SYSTEMD_START,
  BKT_SYSTEMD_STOP,
  BKT_SYSTEMD_RESTART,
  BKT_SYSTEMD_RELOAD,
  BKT_SYSTEMD_ENABLE,
  BKT_SYSTEMD_DISABLE,
  BKT_SYSTEMD_MASK,
  BKT_SYSTEMD_UNMASK,
  BKT_SYSTEMD_DAEMON_RELOAD,
} BktSystemdVerb;

gboolean    bkt_systemd_verb_from_string (const char *s, BktSystemdVerb *out);
const char *bkt_systemd_verb_to_string   (BktSystemdVerb verb);

/* Validates @name and returns the full unit name: a name without a known
 * unit suffix gets ".service" (as systemctl does).  Refused with
 * BKT_ERROR_INVALID_ARGUMENT: empty, longer than 255 characters, a leading
 * "-" or ".", "/" anywhere, characters outside [A-Za-z0-9:_.\@-], an empty
 * name before the suffix. */
char *bkt_systemd_normalize_unit (const char *name, GError **error);

/* {"units": [{"unit","description","load_state","active_state","sub_state",
 * "unit_file_state","result","exec_main_status","failure"|null}...]}.
 * A unit systemd does not know is reported with load_state "not-found". */
JsonObject *bkt_systemd_status (GDBusConnection    *connection,
                                const char * const *units,
                                GCancellable       *cancellable,
                                GError            **error);

/* Runs @verb on @unit (ignored for daemon-reload) and waits for its job.
 * @now: enable/unmask also start, disable/mask also stop.  On a failed job
 * the error says the job result and the unit's failure reason.
 * BKT_ERROR_NOT_FOUND for a unit systemd does not have. */
gboolean bkt_systemd_run (GDBusConnection *connection,
                          BktSystemdVerb   verb,
                          const char      *unit,
                          gboolean         now,
                          GCancellable    *cancellable,
                          GError         **error);

/* TRUE when org.freedesktop.systemd1 has an owner on @connection: the
 * system is run by systemd and transient units are available. */
gboolean bkt_systemd_available (GDBusConnection *connection);

/* How a command run by bkt_systemd_run_transient() ended, as systemd
 * reports it in the unit's ExecMainCode/ExecMainStatus: @code is CLD_EXITED,
 * CLD_KILLED or CLD_DUMPED (0: systemd did not say), @status the exit status
 * or the signal number. */
typedef struct {
  int code;
  int status;
} BktSystemdExit;

/* Runs @argv (argv[0] an absolute path) as a transient oneshot service
 * called @name, outside this process's sandbox and lifetime, with stdout
 * and stderr connected to @stdout_fd and @stderr_fd (passed to systemd, not
 * closed here), @env as its only additions to the manager's environment,
 * no start timeout, and waits for it to end while iterating the calling
 * thread's default main context (so the caller's reads of those
 * descriptors progress meanwhile).  TRUE when the command ran (whatever its
 * exit status, in @exit); FALSE when systemd could not start it.
 * Cancelling @cancellable stops the unit (SIGTERM, as systemd does) and
 * waits for it to end, then fails with BKT_ERROR_CANCELLED.  A failed unit is
 * reset afterwards so that it does not linger in `systemctl --failed`. */
gboolean bkt_systemd_run_transient (GDBusConnection    *connection,
                                    const char         *name,
                                    const char         *description,
                                    const char * const *argv,
                                    const char * const *env,
                                    int                 stdout_fd,
                                    int                 stderr_fd,
                                    GCancellable       *cancellable,
                                    BktSystemdExit     *exit,
                                    GError            **error);

G_END_DECLS
