/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Child processes (bkt-spawn) and what is read from them: line splitting,
 * error tails, rpm-ostree's phases as progress. */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>

#include "bkt-error.h"
#include "bkt-rpm-ostree-progress.h"
#include "bkt-spawn.h"
#include "bkt-test.h"

static void
collect_line (gpointer user_data, const char *line)
{
  g_ptr_array_add (user_data, g_strdup (line));
}

static void
test_line_buffer (void)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  const char *text = "one\ntwo\n\nthree";
  BktLineBuffer lb;

  /* Byte by byte: the split does not depend on how the stream is chunked. */
  bkt_line_buffer_init (&lb, collect_line, lines);
  for (const char *p = text; *p; p++)
    bkt_line_buffer_feed (&lb, p, 1);
  g_assert_cmpuint (lines->len, ==, 3);
  bkt_line_buffer_flush (&lb);
  bkt_line_buffer_clear (&lb);
  g_assert_cmpuint (lines->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (lines, 0), ==, "one");
  g_assert_cmpstr (g_ptr_array_index (lines, 1), ==, "two");
  g_assert_cmpstr (g_ptr_array_index (lines, 2), ==, "");
  g_assert_cmpstr (g_ptr_array_index (lines, 3), ==, "three");
}

static void
test_tail (void)
{
  g_autofree char *a = bkt_spawn_tail ("a\nb\n\nc\nd\n\n\n", 2, 100);
  g_autofree char *b = bkt_spawn_tail ("first line\nerror: the reason\n", 8, 10);
  g_autofree char *c = bkt_spawn_tail (NULL, 8, 10);
  /* cut inside a multi-byte character: still valid UTF-8 */
  g_autofree char *d = bkt_spawn_tail ("xxxx\xc3\xa9\xc3\xa9\xc3\xa9", 8, 4);

  g_assert_cmpstr (a, ==, "c; d");
  g_assert_cmpstr (b, ==, "the reason");
  g_assert_cmpstr (c, ==, "");
  g_assert_true (g_utf8_validate (d, -1, NULL));
  g_assert_cmpuint (strlen (d), <=, 4);
}

/* The real CLI's output for an install (without a terminal). */
static const char install_output[] =
  "Checking out tree 0f3c9a1... done\n"
  "Enabled rpm-md repositories: fedora updates\n"
  "Importing rpm-md... done\n"
  "rpm-md repo 'fedora'; generated: 2026-10-24T13:55:59Z solvables: 74881\n"
  "Resolving dependencies... done\n"
  "Will download: 2 packages (1.2 MB)\n"
  "Downloading from 'fedora'... done\n"
  "Importing packages (1/2)... done\n"
  "Importing packages (2/2)... done\n"
  "Checking out packages... done\n"
  "Running pre scripts... done\n"
  "Running post scripts... done\n"
  "Running posttrans scripts... done\n"
  "Writing rpmdb... done\n"
  "Writing OSTree commit... done\n"
  "Staging deployment... done\n"
  "Added:\n"
  "  htop-3.3.0-1.fc41.x86_64\n"
  "Changes queued for next boot. Run \"systemctl reboot\" to start a reboot\n";

static void
test_rpm_ostree_progress (void)
{
  BktRpmOstreeProgress p;
  double last = 0;
  guint changes = 0;
  gboolean saw_resolving = FALSE, saw_half_import = FALSE;

  bkt_rpm_ostree_progress_init (&p);
  /* A phase shows while it runs (before its "done"). */
  g_assert_true (bkt_rpm_ostree_progress_feed (&p, "Resolving dependencies... ", 26));
  g_assert_cmpstr (p.detail, ==, "Resolving dependencies");
  g_assert_cmpfloat (p.fraction, >, 0.1);
  g_assert_cmpfloat (p.fraction, <, 0.3);
  /* Nothing new: no change reported. */
  g_assert_false (bkt_rpm_ostree_progress_feed (&p, "", 0));
  bkt_rpm_ostree_progress_clear (&p);

  /* Byte by byte through a whole install: monotone, every phase seen. */
  bkt_rpm_ostree_progress_init (&p);
  for (const char *c = install_output; *c; c++)
    if (bkt_rpm_ostree_progress_feed (&p, c, 1))
      {
        changes++;
        g_assert_cmpfloat (p.fraction, >=, last);
        g_assert_cmpfloat (p.fraction, <=, 1.0);
        last = p.fraction;
        saw_resolving |= g_strcmp0 (p.detail, "Resolving dependencies") == 0;
        saw_half_import |= g_strcmp0 (p.detail, "Importing packages (1/2)") == 0;
      }
  g_assert_true (saw_resolving);
  g_assert_true (saw_half_import);
  g_assert_cmpuint (changes, >, 15);
  g_assert_cmpfloat (last, >, 0.9);
  /* the package list (indented) is not a phase; the last line is */
  g_assert_cmpstr (p.detail, ==, "Changes queued for next boot. Run \"systemctl reboot\" to start a reboot");
  bkt_rpm_ostree_progress_clear (&p);

  /* An unknown phase of a future rpm-ostree: shown, the bar stays. */
  bkt_rpm_ostree_progress_init (&p);
  bkt_rpm_ostree_progress_feed (&p, "Writing rpmdb... done\n", 22);
  last = p.fraction;
  g_assert_true (bkt_rpm_ostree_progress_feed (&p, "Frobnicating bootloader... ", 27));
  g_assert_cmpstr (p.detail, ==, "Frobnicating bootloader");
  g_assert_cmpfloat (p.fraction, ==, last);
  /* a phase out of order never moves the bar back */
  bkt_rpm_ostree_progress_feed (&p, "Checking out tree abc... done\n", 30);
  g_assert_cmpfloat (p.fraction, ==, last);
  bkt_rpm_ostree_progress_clear (&p);
}

typedef struct {
  GString *out;
  guint    chunks;
} Chunks;

static void
on_chunk (gpointer user_data, const char *data, gsize len)
{
  Chunks *c = user_data;

  g_string_append_len (c->out, data, len);
  c->chunks++;
}

static void
test_spawn_exit (void)
{
  const char * const ok_argv[] = { "/bin/sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 3", NULL };
  const char * const sig_argv[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
  const char * const env_argv[] = { "/bin/sh", "-c", "printf '%s|%s' \"$BKT_A\" \"${HOME-unset}\"", NULL };
  const char * const setenv[] = { "BKT_A=x=y", NULL };
  const char * const unsetenv[] = { "HOME", NULL };
  const char * const missing[] = { "/nonexistent/bkt-no-such-program", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) streamed = g_string_new (NULL);
  Chunks chunks = { streamed, 0 };
  BktSpawnSpec spec = { .argv = ok_argv, .progress_fd = -1, .on_stdout = on_chunk, .user_data = &chunks };
  BktSpawnResult r = { 0 };
  g_autofree char *how = NULL;

  g_assert_true (bkt_spawn_run (&spec, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.code, ==, CLD_EXITED);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_cmpstr (r.out, ==, "out\n");
  g_assert_cmpstr (r.err, ==, "err\n");
  g_assert_cmpstr (streamed->str, ==, "out\n");
  bkt_spawn_result_clear (&r);

  spec = (BktSpawnSpec) { .argv = sig_argv, .progress_fd = -1 };
  g_assert_true (bkt_spawn_run (&spec, NULL, &r, &error));
  g_assert_cmpint (r.code, ==, CLD_KILLED);
  g_assert_cmpint (r.status, ==, SIGKILL);
  how = bkt_spawn_describe_exit (r.code, r.status);
  g_assert_cmpstr (how, ==, "was killed by signal 9");
  bkt_spawn_result_clear (&r);

  spec = (BktSpawnSpec) { .argv = env_argv, .setenv = setenv, .unsetenv = unsetenv, .progress_fd = -1 };
  g_assert_true (bkt_spawn_run (&spec, NULL, &r, &error));
  g_assert_cmpstr (r.out, ==, "x=y|unset");
  bkt_spawn_result_clear (&r);

  spec = (BktSpawnSpec) { .argv = missing, .progress_fd = -1 };
  g_assert_false (bkt_spawn_run (&spec, NULL, &r, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "bkt-no-such-program"));
}

static void
test_spawn_progress_fd (void)
{
  /* Progress on fd 3 arrives separately from stdout. */
  const char * const argv[] = { "/bin/sh", "-c", "echo p1 >&3; echo out; echo p2 >&3", NULL };
  g_autoptr(GString) progress = g_string_new (NULL);
  Chunks chunks = { progress, 0 };
  BktSpawnSpec spec = { .argv = argv, .progress_fd = 3, .on_progress = on_chunk, .user_data = &chunks };
  BktSpawnResult r = { 0 };

  g_assert_true (bkt_spawn_run (&spec, NULL, &r, NULL));
  g_assert_cmpstr (progress->str, ==, "p1\np2\n");
  g_assert_cmpstr (r.out, ==, "out\n");
  bkt_spawn_result_clear (&r);
}

static void
test_spawn_capture (void)
{
  const char * const ok[] = { "/bin/sh", "-c", "echo hello", NULL };
  const char * const bad[] = { "/bin/sh", "-c", "printf 'n%so\\n' is; echo 'error: the reason' >&2; exit 4", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *out = bkt_spawn_capture (ok, NULL, &error);
  g_autofree char *none = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "hello\n");
  none = bkt_spawn_capture (bad, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  /* the command, how it ended, and stderr's reason (not stdout) */
  g_assert_nonnull (strstr (error->message, "exited with status 4: error: the reason"));
  g_assert_null (strstr (error->message, "niso"));   /* what it printed on stdout */
}

static gboolean
cancel_later (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_thread (gpointer user_data)
{
  g_usleep (200 * 1000);
  cancel_later (user_data);
  return NULL;
}

static void
test_spawn_cancel (void)
{
  const char * const argv[] = { "/bin/sleep", "30", NULL };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  BktSpawnSpec spec = { .argv = argv, .progress_fd = -1, .cancel_signal = SIGTERM };
  BktSpawnResult r = { 0 };
  GThread *t = g_thread_new ("cancel", cancel_thread, cancellable);
  gint64 start = g_get_monotonic_time ();

  g_assert_true (bkt_spawn_run (&spec, cancellable, &r, NULL));
  g_thread_join (t);
  /* stopped with the signal asked for, long before sleep would end */
  g_assert_cmpint (r.code, ==, CLD_KILLED);
  g_assert_cmpint (r.status, ==, SIGTERM);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
  bkt_spawn_result_clear (&r);
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/spawn/line-buffer", test_line_buffer);
  g_test_add_func ("/spawn/tail", test_tail);
  g_test_add_func ("/spawn/rpm-ostree-progress", test_rpm_ostree_progress);
  g_test_add_func ("/spawn/exit", test_spawn_exit);
  g_test_add_func ("/spawn/progress-fd", test_spawn_progress_fd);
  g_test_add_func ("/spawn/capture", test_spawn_capture);
  g_test_add_func ("/spawn/cancel", test_spawn_cancel);
  return g_test_run ();
}
