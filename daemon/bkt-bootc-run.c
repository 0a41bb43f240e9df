/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memfd_create() */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>

#include "bkt-bootc.h"
#include "bkt-error.h"
#include "bkt-systemd.h"

/* Running bootc: as a child process, or in a transient systemd service
 * (bkt-bootc.h says when and why).  Both paths deliver the same three
 * streams (progress, stdout, stderr) on a private main context and end in
 * the same (code, status) pair, so errors read the same either way. */

/* How much of bootc's stderr an error message carries: enough for the
 * reason (bootc prints "error: …" chains last), not a whole log. */
#define STDERR_TAIL_BYTES 2048
#define STDERR_TAIL_LINES 8

typedef struct {
  GMainContext         *context;
  GDataInputStream     *progress;
  BktBootcProgressFunc  progress_cb;
  gpointer              user_data;
  GOutputStream        *out;      /* GMemoryOutputStream */
  GOutputStream        *err;
  guint                 pending;
} Run;

static void
on_progress_line (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Run *run = user_data;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                      res, NULL, NULL);
  if (line == NULL)
    {
      /* EOF (bootc exited or closed the fd) or an error: stop reading. */
      run->pending--;
      g_main_context_wakeup (run->context);
      return;
    }
  if (run->progress_cb != NULL)
    {
      double fraction = -1;
      g_autofree char *detail = NULL;

      if (bkt_bootc_parse_progress (line, &fraction, &detail))
        run->progress_cb (run->user_data, fraction, detail);
    }
  g_data_input_stream_read_line_async (run->progress, G_PRIORITY_DEFAULT, NULL, on_progress_line, run);
}

static void
on_spliced (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Run *run = user_data;

  /* A read error only shortens the text; the exit status decides. */
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), res, NULL);
  run->pending--;
  g_main_context_wakeup (run->context);
}

/* Reads @in until EOF into @to. */
static void
read_stream (Run *run, GInputStream *in, GOutputStream **to)
{
  *to = g_memory_output_stream_new_resizable ();
  g_output_stream_splice_async (*to, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, G_PRIORITY_DEFAULT, NULL,
                                on_spliced, run);
  run->pending++;
}

static void
read_progress (Run *run, int fd)
{
  g_autoptr(GInputStream) raw = g_unix_input_stream_new (fd, TRUE);

  run->progress = g_data_input_stream_new (raw);
  g_data_input_stream_read_line_async (run->progress, G_PRIORITY_DEFAULT, NULL, on_progress_line, run);
  run->pending++;
}

static char *
stream_text (GOutputStream *s)
{
  GMemoryOutputStream *m = G_MEMORY_OUTPUT_STREAM (s);
  gsize n = s != NULL ? g_memory_output_stream_get_data_size (m) : 0;

  return n > 0 ? g_utf8_make_valid (g_memory_output_stream_get_data (m), n) : g_strdup ("");
}

static char *
stderr_tail (const char *text)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  guint n, first;

  lines = g_strsplit (text, "\n", -1);
  n = g_strv_length (lines);
  while (n > 0 && *g_strstrip (lines[n - 1]) == '\0')
    n--;
  first = n > STDERR_TAIL_LINES ? n - STDERR_TAIL_LINES : 0;
  for (guint i = first; i < n; i++)
    {
      if (out->len > 0)
        g_string_append (out, "; ");
      g_string_append (out, g_strstrip (lines[i]));
    }
  if (out->len > STDERR_TAIL_BYTES)
    g_string_erase (out, 0, out->len - STDERR_TAIL_BYTES);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
open_pipe (int fds[2], GError **error)
{
  g_autoptr(GError) local = NULL;

  if (g_unix_open_pipe (fds, FD_CLOEXEC, &local))
    return TRUE;
  return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "pipe: %s", local->message), FALSE;
}

static void
drain (Run *run)
{
  while (run->pending > 0)
    g_main_context_iteration (run->context, TRUE);
}

/* ---- as a child process ------------------------------------------------------- */

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GSubprocess *proc = user_data;

  /* bootc stages atomically: SIGTERM leaves the booted and staged
   * deployments as they were. */
  g_subprocess_send_signal (proc, SIGTERM);
}

static gboolean
run_child (Run *run, GPtrArray *argv, gboolean progress_fd, GCancellable *cancellable, int *code, int *status,
           GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) local = NULL;
  int fds[2] = { -1, -1 };
  gulong cancel_id = 0;

  /* bootc's children (ostree, skopeo) must not inherit our bus or our
   * descriptors; a clean C locale keeps its messages parseable. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  if (progress_fd)
    {
      if (!open_pipe (fds, error))
        return FALSE;
      /* The write end becomes fd 3 in bootc and only there. */
      g_subprocess_launcher_take_fd (launcher, fds[1], 3);
      g_ptr_array_add (argv, (char *) "--progress-fd");
      g_ptr_array_add (argv, (char *) "3");
    }
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &local);
  /* Drop our copy of the write end so EOF arrives when bootc exits. */
  g_clear_object (&launcher);
  if (proc == NULL)
    {
      if (fds[0] >= 0)
        close (fds[0]);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot run %s: %s", (char *) argv->pdata[0],
                          local->message), FALSE;
    }
  if (fds[0] >= 0)
    read_progress (run, fds[0]);
  read_stream (run, g_subprocess_get_stdout_pipe (proc), &run->out);
  read_stream (run, g_subprocess_get_stderr_pipe (proc), &run->err);
  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), proc, NULL);

  drain (run);
  /* All streams are at EOF: reap the process. */
  g_subprocess_wait (proc, NULL, NULL);
  if (cancel_id != 0)
    g_cancellable_disconnect (cancellable, cancel_id);

  if (g_subprocess_get_if_signaled (proc))
    {
      *code = CLD_KILLED;
      *status = g_subprocess_get_term_sig (proc);
    }
  else
    {
      *code = CLD_EXITED;
      *status = g_subprocess_get_exit_status (proc);
    }
  return TRUE;
}

/* ---- in a transient unit ------------------------------------------------------ */

/* The unit's standard streams are memfds, not pipes: bootc must not get
 * EPIPE (and give up an upgrade half way) when bktd exits or is killed
 * while it runs; the unit keeps its copies, writes go on, and nobody needs
 * to read them.  The open file description (and its offset) is shared with
 * the unit, so they are only ever read with pread() at our own offsets. */
#define POLL_MS 100

typedef struct {
  Run     *run;
  int      progress_fd;
  goffset  offset;
  GString *partial;   /* an unfinished last line */
} Tail;

static void
tail_read (Tail *t, gboolean final)
{
  char buf[16384];
  ssize_t n;

  while ((n = pread (t->progress_fd, buf, sizeof buf, t->offset)) > 0)
    {
      t->offset += n;
      g_string_append_len (t->partial, buf, n);
    }
  for (;;)
    {
      char *nl = memchr (t->partial->str, '\n', t->partial->len);
      g_autofree char *line = NULL;
      double fraction = -1;
      g_autofree char *detail = NULL;

      if (nl == NULL && !(final && t->partial->len > 0))
        break;
      line = g_strndup (t->partial->str, nl != NULL ? (gsize) (nl - t->partial->str) : t->partial->len);
      g_string_erase (t->partial, 0, nl != NULL ? (gssize) (nl - t->partial->str) + 1 : -1);
      if (t->run->progress_cb != NULL && g_utf8_validate (line, -1, NULL) &&
          bkt_bootc_parse_progress (line, &fraction, &detail))
        t->run->progress_cb (t->run->user_data, fraction, detail);
    }
}

static gboolean
on_tail_poll (gpointer user_data)
{
  tail_read (user_data, FALSE);
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

static GOutputStream *
memfd_contents (int fd)
{
  GOutputStream *s = g_memory_output_stream_new_resizable ();
  char buf[16384];
  goffset off = 0;
  ssize_t n;

  while ((n = pread (fd, buf, sizeof buf, off)) > 0)
    {
      g_output_stream_write_all (s, buf, n, NULL, NULL, NULL);
      off += n;
    }
  return s;
}

static gboolean
run_unit (Run *run, GDBusConnection *systemd, GPtrArray *argv, gboolean progress_fd, GCancellable *cancellable,
          int *code, int *status, GError **error)
{
  g_autoptr(GPtrArray) cmd = g_ptr_array_new ();
  g_autoptr(GSource) poll = NULL;
  g_autofree char *name = g_strdup_printf ("bkt-bootc-%s-%" G_GINT64_FORMAT ".service", (char *) argv->pdata[1],
                                           g_get_real_time ());
  g_autofree char *description = g_strdup_printf ("bkt: bootc %s", (char *) argv->pdata[1]);
  const char * const env[] = { "LC_ALL=C.UTF-8", NULL };
  g_autoptr(GString) partial = g_string_new (NULL);
  Tail tail = { run, -1, 0, partial };
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
  if (progress_fd)
    {
      tail.progress_fd = out;
      poll = g_timeout_source_new (POLL_MS);
      g_source_set_callback (poll, on_tail_poll, &tail, NULL);
      g_source_attach (poll, run->context);
    }

  ok = bkt_systemd_run_transient (systemd, name, description, (const char * const *) cmd->pdata, env, out, err,
                                  cancellable, &exit, error);
  if (poll != NULL)
    {
      g_source_destroy (poll);
      tail_read (&tail, TRUE);
    }
  else
    run->out = memfd_contents (out);
  run->err = memfd_contents (err);
  close (out);
  close (err);
  if (!ok)
    return FALSE;
  if (exit.code == 0)
    {
      g_autofree char *text = stream_text (run->err);
      g_autofree char *tail_text = stderr_tail (text);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "systemd could not start %s (%s)%s%s",
                          (char *) argv->pdata[0], name, *tail_text ? ": " : "", tail_text), FALSE;
    }
  *code = exit.code;
  *status = exit.status;
  return TRUE;
}

/* ---- either way ----------------------------------------------------------------- */

gboolean
bkt_bootc_run (GDBusConnection      *systemd,
               const char * const   *args,
               gboolean              progress_fd,
               BktBootcProgressFunc  progress,
               gpointer              user_data,
               char                **output,
               GCancellable         *cancellable,
               GError              **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err_text = NULL;
  const char *bootc = bkt_bootc_path ();
  Run run = { 0 };
  int code = 0, status = 0;
  gboolean ok;

  if (!g_file_test (bootc, G_FILE_TEST_IS_EXECUTABLE))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                        "bootc is not installed (%s): this is not a bootc system", bootc), FALSE;

  g_ptr_array_add (argv, (char *) bootc);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);

  run.context = context;
  run.progress_cb = progress;
  run.user_data = user_data;
  g_main_context_push_thread_default (context);
  if (systemd != NULL && bkt_systemd_available (systemd))
    ok = run_unit (&run, systemd, argv, progress_fd, cancellable, &code, &status, error);
  else
    ok = run_child (&run, argv, progress_fd, cancellable, &code, &status, error);
  g_main_context_pop_thread_default (context);

  err_text = stream_text (run.err);
  if (!ok)
    ;
  else if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_CANCELLED, "bootc %s was cancelled", args[0]);
      ok = FALSE;
    }
  else if (code != CLD_EXITED || status != 0)
    {
      g_autofree char *tail = stderr_tail (err_text);
      if (code != CLD_EXITED)
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "bootc %s was killed by signal %d%s%s", args[0],
                     status, *tail ? ": " : "", tail);
      else
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "bootc %s failed (exit status %d)%s%s", args[0],
                     status, *tail ? ": " : "", tail);
      ok = FALSE;
    }
  else if (output != NULL)
    {
      /* With progress in a unit, bootc's stdout went to the stderr pipe. */
      *output = run.out != NULL ? stream_text (run.out) : g_steal_pointer (&err_text);
    }

  g_clear_object (&run.progress);
  g_clear_object (&run.out);
  g_clear_object (&run.err);
  return ok;
}
