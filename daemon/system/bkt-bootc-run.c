/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memfd_create() */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bkt-bootc.h"
#include "bkt-error.h"
#include "bkt-spawn.h"
#include "bkt-systemd.h"

/* Running bootc: as a child process, or in a transient systemd service
 * (bkt-bootc.h says when and why).  Both paths deliver progress lines as
 * they come, and end in the same (code, status, stdout, stderr), so
 * errors read the same either way. */

/* How much of bootc's stderr an error message carries: enough for the
 * reason (bootc prints "error: …" chains last), not a whole log. */
#define STDERR_TAIL_BYTES 2048
#define STDERR_TAIL_LINES 8

typedef struct {
  BktBootcProgressFunc func;
  gpointer             user_data;
  BktLineBuffer        lines;
} Progress;

static void
on_progress_line (gpointer user_data, const char *line)
{
  Progress *p = user_data;
  double fraction = -1;
  g_autofree char *detail = NULL;

  if (p->func != NULL && g_utf8_validate (line, -1, NULL) && bkt_bootc_parse_progress (line, &fraction, &detail))
    p->func (p->user_data, fraction, detail);
}

static void
on_progress_chunk (gpointer user_data, const char *data, gsize len)
{
  Progress *p = user_data;

  bkt_line_buffer_feed (&p->lines, data, len);
}

/* ---- as a child process ------------------------------------------------------- */

static gboolean
run_child (GPtrArray *argv, gboolean progress_fd, Progress *progress, GCancellable *cancellable,
           BktSpawnResult *result, GError **error)
{
  /* bootc's children (ostree, skopeo) must not inherit our session bus;
   * a clean C locale keeps its messages parseable. */
  const char * const setenv[] = { "LC_ALL=C.UTF-8", NULL };
  const char * const unsetenv[] = { "DBUS_SESSION_BUS_ADDRESS", NULL };
  BktSpawnSpec spec = {
    .setenv = setenv,
    .unsetenv = unsetenv,
    .progress_fd = -1,
    .user_data = progress,
    /* bootc stages atomically: SIGTERM leaves the booted and staged
     * deployments as they were. */
    .cancel_signal = SIGTERM,
  };

  if (progress_fd)
    {
      spec.progress_fd = 3;
      spec.on_progress = on_progress_chunk;
      g_ptr_array_add (argv, (char *) "--progress-fd");
      g_ptr_array_add (argv, (char *) "3");
    }
  g_ptr_array_add (argv, NULL);
  spec.argv = (const char * const *) argv->pdata;
  return bkt_spawn_run (&spec, cancellable, result, error);
}

/* ---- in a transient unit ------------------------------------------------------ */

/* The unit's standard streams are memfds, not pipes: bootc must not get
 * EPIPE (and give up an upgrade half way) when bktd exits or is killed
 * while it runs; the unit keeps its copies, writes go on, and nobody needs
 * to read them.  The open file description (and its offset) is shared with
 * the unit, so they are only ever read with pread() at our own offsets. */
#define POLL_MS 100

typedef struct {
  Progress *progress;
  int       fd;
  goffset   offset;
} Tail;

static void
tail_read (Tail *t)
{
  char buf[16384];
  ssize_t n;

  while ((n = pread (t->fd, buf, sizeof buf, t->offset)) > 0)
    {
      t->offset += n;
      bkt_line_buffer_feed (&t->progress->lines, buf, n);
    }
}

static gboolean
on_tail_poll (gpointer user_data)
{
  tail_read (user_data);
  return G_SOURCE_CONTINUE;
}

static int
new_memfd (const char *name, GError **error)
{
  int fd = memfd_create (name, MFD_CLOEXEC);

  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "memfd_create: %s", g_strerror (errsv));
    }
  return fd;
}

static char *
memfd_text (int fd)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  char buf[16384];
  goffset off = 0;
  ssize_t n;

  while ((n = pread (fd, buf, sizeof buf, off)) > 0)
    {
      g_byte_array_append (bytes, (const guint8 *) buf, n);
      off += n;
    }
  return bytes->len > 0 ? g_utf8_make_valid ((const char *) bytes->data, bytes->len) : g_strdup ("");
}

static gboolean
run_unit (GDBusConnection *systemd, GPtrArray *argv, gboolean progress_fd, Progress *progress,
          GCancellable *cancellable, BktSpawnResult *result, GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) cmd = g_ptr_array_new ();
  g_autoptr(GSource) poll = NULL;
  g_autofree char *name = g_strdup_printf ("bkt-bootc-%s-%" G_GINT64_FORMAT ".service", (char *) argv->pdata[1],
                                           g_get_real_time ());
  g_autofree char *description = g_strdup_printf ("bkt: bootc %s", (char *) argv->pdata[1]);
  const char * const env[] = { "LC_ALL=C.UTF-8", NULL };
  Tail tail = { progress, -1, 0 };
  BktSystemdExit exit = { 0 };
  int out = -1, err = -1;
  gboolean ok;

  /* A unit has exactly three standard streams to pass.  With progress,
   * stdout carries the progress-v0 lines: a shell (argv, nothing
   * interpreted from our values: they are positional parameters) gives
   * bootc the same "--progress-fd 3" as the child path, as a duplicate of
   * the unit's stdout, and sends bootc's own stdout to stderr. */
  if (progress_fd)
    {
      g_ptr_array_add (cmd, (char *) "/bin/sh");
      g_ptr_array_add (cmd, (char *) "-c");
      g_ptr_array_add (cmd, (char *) "exec \"$@\" 3>&1 1>&2");
      g_ptr_array_add (cmd, (char *) "bkt-bootc");
    }
  for (guint i = 0; i < argv->len; i++)
    g_ptr_array_add (cmd, argv->pdata[i]);
  if (progress_fd)
    {
      g_ptr_array_add (cmd, (char *) "--progress-fd");
      g_ptr_array_add (cmd, (char *) "3");
    }
  g_ptr_array_add (cmd, NULL);

  out = new_memfd (progress_fd ? "bkt-bootc-progress" : "bkt-bootc-stdout", error);
  if (out < 0)
    return FALSE;
  err = new_memfd ("bkt-bootc-stderr", error);
  if (err < 0)
    {
      close (out);
      return FALSE;
    }

  /* bkt_systemd_run_transient() iterates this context while it waits. */
  g_main_context_push_thread_default (context);
  if (progress_fd)
    {
      tail.fd = out;
      poll = g_timeout_source_new (POLL_MS);
      g_source_set_callback (poll, on_tail_poll, &tail, NULL);
      g_source_attach (poll, context);
    }
  ok = bkt_systemd_run_transient (systemd, name, description, (const char * const *) cmd->pdata, env, out, err,
                                  cancellable, &exit, error);
  if (poll != NULL)
    {
      g_source_destroy (poll);
      tail_read (&tail);
    }
  g_main_context_pop_thread_default (context);

  result->out = progress_fd ? NULL : memfd_text (out);
  result->err = memfd_text (err);
  close (out);
  close (err);
  if (!ok)
    return FALSE;
  if (exit.code == 0)
    {
      g_autofree char *why = bkt_spawn_tail (result->err, STDERR_TAIL_LINES, STDERR_TAIL_BYTES);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "systemd could not start %s (%s)%s%s",
                          (char *) argv->pdata[0], name, *why ? ": " : "", why), FALSE;
    }
  result->code = exit.code;
  result->status = exit.status;
  return TRUE;
}

/* ---- either way ----------------------------------------------------------------- */

gboolean
bkt_bootc_run (GDBusConnection      *systemd,
               const char * const   *args,
               gboolean              progress_fd,
               BktBootcProgressFunc  progress_func,
               gpointer              user_data,
               char                **output,
               GCancellable         *cancellable,
               GError              **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *bootc = bkt_bootc_path ();
  BktSpawnResult result = { 0 };
  Progress progress = { progress_func, user_data, { 0 } };
  gboolean ok;

  if (!g_file_test (bootc, G_FILE_TEST_IS_EXECUTABLE))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                        "bootc is not installed (%s): this is not a bootc system", bootc), FALSE;

  g_ptr_array_add (argv, (char *) bootc);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);

  bkt_line_buffer_init (&progress.lines, on_progress_line, &progress);
  if (systemd != NULL && bkt_systemd_available (systemd))
    ok = run_unit (systemd, argv, progress_fd, &progress, cancellable, &result, error);
  else
    ok = run_child (argv, progress_fd, &progress, cancellable, &result, error);
  bkt_line_buffer_flush (&progress.lines);
  bkt_line_buffer_clear (&progress.lines);

  if (!ok)
    ;
  else if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_CANCELLED, "bootc %s was cancelled", args[0]);
      ok = FALSE;
    }
  else if (result.code != CLD_EXITED || result.status != 0)
    {
      g_autofree char *why = bkt_spawn_tail (result.err, STDERR_TAIL_LINES, STDERR_TAIL_BYTES);
      if (result.code != CLD_EXITED)
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "bootc %s was killed by signal %d%s%s", args[0],
                     result.status, *why ? ": " : "", why);
      else
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "bootc %s failed (exit status %d)%s%s", args[0],
                     result.status, *why ? ": " : "", why);
      ok = FALSE;
    }
  else if (output != NULL)
    {
      /* With progress in a unit, bootc's stdout went to the stderr stream. */
      *output = result.out != NULL ? g_steal_pointer (&result.out) : g_steal_pointer (&result.err);
    }
  bkt_spawn_result_clear (&result);
  return ok;
}
