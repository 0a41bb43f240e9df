/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>

#include "bkt-error.h"
#include "bkt-spawn.h"

#define CHUNK 8192

/* ---- line buffer ---------------------------------------------------------------- */

void
bkt_line_buffer_init (BktLineBuffer *lb, BktLineFunc func, gpointer user_data)
{
  lb->partial = g_string_new (NULL);
  lb->func = func;
  lb->user_data = user_data;
}

void
bkt_line_buffer_feed (BktLineBuffer *lb, const char *data, gsize len)
{
  const char *nl;

  g_string_append_len (lb->partial, data, len);
  while ((nl = memchr (lb->partial->str, '\n', lb->partial->len)) != NULL)
    {
      g_autofree char *line = g_strndup (lb->partial->str, nl - lb->partial->str);
      g_string_erase (lb->partial, 0, nl - lb->partial->str + 1);
      lb->func (lb->user_data, line);
    }
}

void
bkt_line_buffer_flush (BktLineBuffer *lb)
{
  if (lb->partial->len > 0)
    {
      g_autofree char *line = g_strndup (lb->partial->str, lb->partial->len);
      g_string_truncate (lb->partial, 0);
      lb->func (lb->user_data, line);
    }
}

void
bkt_line_buffer_clear (BktLineBuffer *lb)
{
  if (lb->partial != NULL)
    g_string_free (lb->partial, TRUE);
  lb->partial = NULL;
}

/* ---- messages --------------------------------------------------------------------- */

char *
bkt_spawn_describe_exit (int code, int status)
{
  if (code == CLD_EXITED)
    return g_strdup_printf ("exited with status %d", status);
  return g_strdup_printf ("was killed by signal %d", status);
}

char *
bkt_spawn_tail (const char *text, guint max_lines, gsize max_bytes)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  guint n, first;

  if (text == NULL)
    return g_strdup ("");
  lines = g_strsplit (text, "\n", -1);
  n = g_strv_length (lines);
  while (n > 0 && *g_strstrip (lines[n - 1]) == '\0')
    n--;
  first = n > max_lines ? n - max_lines : 0;
  for (guint i = first; i < n; i++)
    {
      if (*g_strstrip (lines[i]) == '\0')
        continue;
      if (out->len > 0)
        g_string_append (out, "; ");
      g_string_append (out, lines[i]);
    }
  if (out->len > max_bytes)
    {
      /* Keep the end (the reason), cut at a character boundary. */
      const char *start = g_utf8_find_next_char (out->str + out->len - max_bytes - 1, NULL);
      g_string_erase (out, 0, start - out->str);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- running ---------------------------------------------------------------------- */

typedef struct Run Run;

typedef struct {
  Run               *run;
  GInputStream      *in;
  GByteArray        *collected;   /* NULL: not kept */
  BktSpawnChunkFunc  func;
  char               buf[CHUNK];
} Stream;

struct Run {
  GMainContext *context;
  gpointer      user_data;
  guint         pending;
};

static void
on_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Stream *s = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, NULL);

  if (n <= 0)
    {
      /* EOF, or an error: either way this stream is done; the exit
       * status tells the outcome. */
      s->run->pending--;
      g_main_context_wakeup (s->run->context);
      return;
    }
  if (s->collected != NULL)
    g_byte_array_append (s->collected, (const guint8 *) s->buf, n);
  if (s->func != NULL)
    s->func (s->run->user_data, s->buf, n);
  g_input_stream_read_async (s->in, s->buf, sizeof s->buf, G_PRIORITY_DEFAULT, NULL, on_read, s);
}

static void
stream_start (Stream *s, Run *run, GInputStream *in, gboolean collect, BktSpawnChunkFunc func)
{
  s->run = run;
  s->in = g_object_ref (in);
  s->collected = collect ? g_byte_array_new () : NULL;
  s->func = func;
  g_input_stream_read_async (in, s->buf, sizeof s->buf, G_PRIORITY_DEFAULT, NULL, on_read, s);
  run->pending++;
}

static char *
stream_finish (Stream *s)
{
  char *text = NULL;

  if (s->collected != NULL)
    {
      /* (an empty GByteArray has no data at all) */
      text = s->collected->len > 0 ? g_utf8_make_valid ((const char *) s->collected->data, s->collected->len)
                                   : g_strdup ("");
      g_byte_array_unref (s->collected);
    }
  g_clear_object (&s->in);
  return text;
}

typedef struct {
  GSubprocess *proc;
  int          signum;
} Cancel;

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  Cancel *c = user_data;

  g_subprocess_send_signal (c->proc, c->signum);
}

gboolean
bkt_spawn_run (const BktSpawnSpec *spec, GCancellable *cancellable, BktSpawnResult *result, GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GInputStream) progress = NULL;
  g_autoptr(GError) local = NULL;
  Run run = { context, spec->user_data, 0 };
  Stream out = { 0 }, err = { 0 }, prog = { 0 };
  Cancel cancel = { NULL, spec->cancel_signal != 0 ? spec->cancel_signal : SIGTERM };
  int fds[2] = { -1, -1 };
  gulong cancel_id = 0;

  memset (result, 0, sizeof *result);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (guint i = 0; spec->setenv != NULL && spec->setenv[i] != NULL; i++)
    {
      g_auto(GStrv) kv = g_strsplit (spec->setenv[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
    }
  for (guint i = 0; spec->unsetenv != NULL && spec->unsetenv[i] != NULL; i++)
    g_subprocess_launcher_unsetenv (launcher, spec->unsetenv[i]);
  if (spec->progress_fd >= 0)
    {
      if (!g_unix_open_pipe (fds, FD_CLOEXEC, &local))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "pipe: %s", local->message), FALSE;
      /* The write end becomes @progress_fd in the child and only there. */
      g_subprocess_launcher_take_fd (launcher, fds[1], spec->progress_fd);
      progress = g_unix_input_stream_new (fds[0], TRUE);
    }

  proc = g_subprocess_launcher_spawnv (launcher, spec->argv, &local);
  /* Our copy of the write end goes with the launcher, so EOF arrives when
   * the child exits. */
  g_clear_object (&launcher);
  if (proc == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot run %s: %s", spec->argv[0], local->message),
           FALSE;

  g_main_context_push_thread_default (context);
  stream_start (&out, &run, g_subprocess_get_stdout_pipe (proc), TRUE, spec->on_stdout);
  stream_start (&err, &run, g_subprocess_get_stderr_pipe (proc), TRUE, NULL);
  if (progress != NULL)
    stream_start (&prog, &run, progress, FALSE, spec->on_progress);
  cancel.proc = proc;
  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), &cancel, NULL);
  while (run.pending > 0)
    g_main_context_iteration (context, TRUE);
  /* Every stream is at EOF: reap the child. */
  g_subprocess_wait (proc, NULL, NULL);
  if (cancel_id != 0)
    g_cancellable_disconnect (cancellable, cancel_id);
  g_main_context_pop_thread_default (context);

  result->out = stream_finish (&out);
  result->err = stream_finish (&err);
  g_free (stream_finish (&prog));
  if (g_subprocess_get_if_signaled (proc))
    {
      result->code = CLD_KILLED;
      result->status = g_subprocess_get_term_sig (proc);
    }
  else
    {
      result->code = CLD_EXITED;
      result->status = g_subprocess_get_exit_status (proc);
    }
  return TRUE;
}

/* How much of a failed program's stderr an error carries. */
#define FAIL_TAIL_LINES 12
#define FAIL_TAIL_BYTES 2000

gboolean
bkt_spawn_check (const char * const *argv, const BktSpawnResult *result, GCancellable *cancellable,
                 GError **error)
{
  g_autofree char *why = NULL;
  g_autofree char *how = NULL;
  g_autofree char *cmd = NULL;

  if (g_cancellable_is_cancelled (cancellable))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_CANCELLED, "%s was cancelled", argv[0]), FALSE;
  if (result->code == CLD_EXITED && result->status == 0)
    return TRUE;
  why = bkt_spawn_tail (result->err, FAIL_TAIL_LINES, FAIL_TAIL_BYTES);
  how = bkt_spawn_describe_exit (result->code, result->status);
  cmd = g_strjoinv (" ", (char **) argv);
  return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "“%s” %s%s%s", cmd, how, *why ? ": " : "", why), FALSE;
}

char *
bkt_spawn_capture (const char * const *argv, GCancellable *cancellable, GError **error)
{
  BktSpawnSpec spec = { .argv = argv, .progress_fd = -1, .cancel_signal = SIGTERM };
  BktSpawnResult result = { 0 };
  char *out = NULL;

  if (bkt_spawn_run (&spec, cancellable, &result, error) && bkt_spawn_check (argv, &result, cancellable, error))
    out = g_steal_pointer (&result.out);
  bkt_spawn_result_clear (&result);
  return out;
}

void
bkt_spawn_result_clear (BktSpawnResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}
