/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The shared harness of the C unit tests (tests/unit/…): what every test
 * file needs and used to write for itself — a throwaway directory that
 * removes itself, file writers and readers that fail the test instead of
 * returning errors, a main loop run that cannot hang, the paths of the
 * source tree's fixtures and doubles, and a skip that names what is
 * missing (.ci/run fails on a skip of a component it installs).
 *
 * After the idea of gicmo/bolt's tests/bolt-test.h. */

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* g_test_init () plus what every bkt test wants: a C locale for messages
 * the tests compare, and no proxies (local test servers only). */
void bkt_test_init (int *argc, char ***argv);

/* A temporary directory ($TMPDIR/bkt-test-TAG-XXXXXX) removed with
 * everything in it when freed: `g_autoptr(BktTestDir) dir = bkt_test_dir_new ("x");`
 * (kept, and named on stderr, when BKT_TEST_KEEP_TMP is set). */
typedef struct
{
  char *path;
} BktTestDir;

BktTestDir *bkt_test_dir_new (const char *tag);
void bkt_test_dir_free (BktTestDir *dir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktTestDir, bkt_test_dir_free)

/* DIR/REL (REL may hold slashes). */
char *bkt_test_dir_path (BktTestDir *dir, const char *rel);
/* Makes DIR/REL and its parents (0755); returns its path. */
char *bkt_test_dir_mkdir (BktTestDir *dir, const char *rel);
/* Writes TEXT to DIR/REL, making the parents. */
void bkt_test_dir_write (BktTestDir *dir, const char *rel, const char *text);
/* DIR/REL's contents, or NULL when it does not exist. */
char *bkt_test_dir_read (BktTestDir *dir, const char *rel);

/* Writes TEXT to PATH (making the parents) or fails the test. */
void bkt_test_write_file (const char *path, const char *text);
/* PATH's contents; fails the test when it cannot be read. */
char *bkt_test_read_file (const char *path);
/* PATH's contents, or NULL when it cannot be read. */
char *bkt_test_try_read_file (const char *path);
/* DIR/REL variants, DIR being any directory. */
void bkt_test_write_in (const char *dir, const char *rel, const char *text);
char *bkt_test_read_in (const char *dir, const char *rel);
/* rm -rf PATH or fail the test (a missing PATH is fine). */
void bkt_test_rm_rf (const char *path);

/* tests/data/FIRST/… (G_TEST_SRCDIR, set by meson to tests/). */
char *bkt_test_data_path (const char *first, ...) G_GNUC_NULL_TERMINATED;
/* tests/doubles/NAME: the stand-ins for what Debian lacks (rpm-ostree, bootc, toolbox). */
char *bkt_test_double_path (const char *name);
/* tests/NAME: other source-tree files (the repo builder scripts). */
char *bkt_test_source_path (const char *name);

/* Iterates the thread-default main context until *DONE is TRUE; fails the
 * test after TIMEOUT_SECONDS instead of hanging until meson's timeout. */
void bkt_test_run_until (gboolean *done, guint timeout_seconds);
/* g_main_loop_run (LOOP) that fails the test after TIMEOUT_SECONDS. */
void bkt_test_loop_run (GMainLoop *loop, guint timeout_seconds);

/* Skips the current test because COMPONENT (a program or service, e.g.
 * "flatpak", "dnf", "rpmbuild") is not available.  The TAP line reads
 * "# SKIP needs COMPONENT: WHY"; .ci/run counts it and fails when it
 * installed COMPONENT itself.  Skips for other reasons use g_test_skip. */
void bkt_test_skip_without (const char *component, const char *why);
/* TRUE when PROGRAM is on PATH; otherwise skips (bkt_test_skip_without). */
gboolean bkt_test_require_program (const char *program, const char *why);

G_END_DECLS
