/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-packages.h"
#include "bkt-test.h"

/* The building blocks of `bkt dnf install/remove/sync`: names refused
 * before any process, ONE batched existence query against the real dnf
 * and a local RPM repo (tests/rpm-repo.sh), typo suggestions, and
 * rpm-ostree's command lines and status through tests/doubles/rpm-ostree-double. */

static const char *tmp_dir;
static char *dnf_wrapper;   /* logs each call, then runs the real dnf on the local repo */
static char *dnf_log;
static char *missing_tool;  /* what rpm-repo.sh lacked ("rpmbuild", …) */

static char *
read_text (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
test_names_refused (void)
{
  g_autofree char *long_name = g_strnfill (300, 'a');
  const char *const bad[][3] = {
    { "-rf", NULL },
    { "htop; rm -rf /", NULL },
    { "", NULL },
    { long_name, NULL },
    { "htop", "--installroot=/", NULL },
    { "ok", "../x", NULL },
    { "a b", NULL },
    { "$(id)", NULL },
  };
  const char *const good[] = { "htop", "gcc-c++", "python3.12", "tmux_2", NULL };
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (bkt_packages_check_names (bad[i], &error));
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, "invalid package name"));
      g_clear_error (&error);
    }
  g_assert_false (bkt_packages_check_names ((const char *const[]) { NULL }, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (bkt_packages_check_names (good, &error));
  g_assert_no_error (error);
}

static void
test_suggest (void)
{
  const char *const available[] = { "bkt-fish", "bkt-hello", "bkt-htop", "fish", "htop", "zsh", NULL };
  g_auto(GStrv) a = bkt_packages_suggest ("hotp", available, 3);
  g_auto(GStrv) b = bkt_packages_suggest ("bkt-helo", available, 3);
  g_auto(GStrv) c = bkt_packages_suggest ("emacs", available, 3);
  g_auto(GStrv) d = bkt_packages_suggest ("fish", available, 5);

  g_assert_cmpstr (a[0], ==, "htop");
  g_assert_cmpstr (b[0], ==, "bkt-hello");
  g_assert_cmpuint (g_strv_length (c), ==, 0);
  /* Itself is not a suggestion; a name containing it is, after close ones. */
  g_assert_false (g_strv_contains ((const char *const *) d, "fish"));
  g_assert_true (g_strv_contains ((const char *const *) d, "bkt-fish"));
  g_assert_cmpstr (d[0], ==, "zsh");
}

static gboolean
have_repo (void)
{
  if (dnf_wrapper == NULL)
    {
      bkt_test_skip_without (missing_tool, "the local RPM repo (tests/rpm-repo.sh)");
      return FALSE;
    }
  return TRUE;
}

static guint
count_lines (const char *text, const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_has_prefix (lines[i], prefix);
  return n;
}

static void
test_find_missing_real_dnf (void)
{
  const char *const names[] = { "bkt-hello", "bkt-hotp", "bkt-fish", "no-such-thing", NULL };
  const char *const bad[] = { "bkt-hello", "-y", NULL };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) missing = NULL;
  g_auto(GStrv) available = NULL;
  g_auto(GStrv) none = NULL;
  g_auto(GStrv) hint = NULL;
  g_autofree char *log = NULL;

  if (!have_repo ())
    return;
  g_unlink (dnf_log);
  missing = bkt_packages_find_missing (dnf_wrapper, names, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (missing), ==, 2);
  g_assert_cmpstr (missing[0], ==, "bkt-hotp");
  g_assert_cmpstr (missing[1], ==, "no-such-thing");
  /* ONE batched query with every name, after "--". */
  log = read_text (dnf_log);
  g_assert_cmpuint (count_lines (log, "repoquery"), ==, 1);
  g_assert_cmpstr (log, ==, "repoquery --qf %{name} %{repoid}\\n -- bkt-hello bkt-hotp bkt-fish no-such-thing\n");

  none = bkt_packages_find_missing (dnf_wrapper, (const char *const[]) { "bkt-htop", NULL }, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (none), ==, 0);

  available = bkt_packages_list_available (dnf_wrapper, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (available), ==, 3);
  g_assert_cmpstr (available[0], ==, "bkt-fish");
  hint = bkt_packages_suggest ("bkt-hotp", (const char *const *) available, 3);
  g_assert_cmpstr (hint[0], ==, "bkt-htop");

  /* Refused before dnf is started. */
  g_unlink (dnf_log);
  g_assert_null (bkt_packages_find_missing (dnf_wrapper, bad, NULL, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_assert_false (g_file_test (dnf_log, G_FILE_TEST_EXISTS));
}

static void
test_dnf_failure (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) m = bkt_packages_find_missing ("/bin/false", (const char *const[]) { "htop", NULL }, NULL, &error);

  g_assert_null (m);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
}

static void
test_rpm_ostree_argv (void)
{
  const char *const names[] = { "htop", "zsh", NULL };
  g_auto(GStrv) a = bkt_packages_rpm_ostree_argv ("/usr/bin/rpm-ostree", TRUE, names, FALSE);
  g_auto(GStrv) b = bkt_packages_rpm_ostree_argv ("/usr/bin/rpm-ostree", FALSE, names, FALSE);
  g_auto(GStrv) c = bkt_packages_rpm_ostree_argv ("/usr/bin/rpm-ostree", TRUE, names, TRUE);
  g_autofree char *ja = g_strjoinv (" ", a);
  g_autofree char *jb = g_strjoinv (" ", b);
  g_autofree char *jc = g_strjoinv (" ", c);

  g_assert_cmpstr (ja, ==, "/usr/bin/rpm-ostree install --idempotent -- htop zsh");
  g_assert_cmpstr (jb, ==, "/usr/bin/rpm-ostree uninstall --idempotent -- htop zsh");
  g_assert_cmpstr (jc, ==, "/usr/bin/rpm-ostree install --idempotent --apply-live -- htop zsh");

  /* main() set the override before any thread existed. */
  g_assert_cmpstr (bkt_packages_rpm_ostree (), ==, "/x/rpm-ostree");
  g_assert_cmpstr (BKT_RPM_OSTREE, !=, "");
}

static char **double_env;

static char *
run_double (const char *const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, double_env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_exit_status (status, &error))
    g_error ("%s: %s", argv[1], err);
  return out;
}

/* Runs the double, which must refuse @argv with @message (as rpm-ostree does). */
static void
double_refuses (const char *const *argv, const char *message)
{
  g_autofree char *out = NULL, *err = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, double_env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, NULL));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 1);
  g_assert_cmpstr (err, ==, message);
}

static void
test_rpm_ostree_double_status (void)
{
  g_autofree char *dbl = bkt_test_double_path ("rpm-ostree-double");
  g_autofree char *state = g_build_filename (tmp_dir, "rpm-ostree-state.json", NULL);
  g_autofree char *log = g_build_filename (tmp_dir, "rpm-ostree.log", NULL);
  const char *const pkgs[] = { "zsh", "htop", NULL };
  const char *const status_argv[] = { dbl, "status", "--json", NULL };
  g_auto(GStrv) install = bkt_packages_rpm_ostree_argv (dbl, TRUE, pkgs, FALSE);
  g_auto(GStrv) live = bkt_packages_rpm_ostree_argv (dbl, TRUE, (const char *const[]) { "git", NULL }, TRUE);
  g_auto(GStrv) remove = bkt_packages_rpm_ostree_argv (dbl, FALSE, (const char *const[]) { "zsh", NULL }, FALSE);
  g_autofree char *out1 = NULL, *out2 = NULL, *recorded = NULL;
  g_auto(GStrv) booted = NULL, pending = NULL, booted2 = NULL, pending2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bad = NULL;

  double_env = g_environ_setenv (g_get_environ (), "RPM_OSTREE_DOUBLE_STATE", state, TRUE);
  double_env = g_environ_setenv (double_env, "RPM_OSTREE_DOUBLE_LOG", log, TRUE);
  {
    const char *initial = "{\"booted\": [\"vim-enhanced\"], \"staged\": null, "
                          "\"available\": [\"vim-enhanced\", \"zsh\", \"htop\", \"git\"]}";
    g_assert_true (bkt_write_file_atomic (state, initial, strlen (initial), 0644, &error));
  }
  g_assert_no_error (error);

  g_free (run_double ((const char *const *) install));
  out1 = run_double (status_argv);
  booted = bkt_packages_parse_status (out1, -1, &pending, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (booted), ==, 1);
  g_assert_cmpstr (booted[0], ==, "vim-enhanced");
  /* Staged, not booted: a reboot is required. */
  g_assert_nonnull (pending);
  g_assert_cmpuint (g_strv_length (pending), ==, 3);
  g_assert_cmpstr (pending[0], ==, "htop");

  /* --apply-live changes the booted deployment (the staged one plus git)
   * and leaves nothing staged. */
  g_free (run_double ((const char *const *) live));
  out2 = run_double (status_argv);
  booted2 = bkt_packages_parse_status (out2, -1, &pending2, &error);
  g_assert_no_error (error);
  g_assert_null (pending2);
  g_assert_cmpuint (g_strv_length (booted2), ==, 4);
  g_assert_cmpstr (booted2[0], ==, "git");
  g_assert_cmpstr (booted2[3], ==, "zsh");
  g_free (run_double ((const char *const *) remove));

  /* What rpm-ostree refuses, the double refuses: no live removal, no
   * package the repos lack. */
  double_refuses ((const char *const[]) { dbl, "uninstall", "--idempotent", "--apply-live", "--", "zsh", NULL },
                  "error: Unknown option --apply-live\n");
  double_refuses ((const char *const[]) { dbl, "uninstall", "-A", "zsh", NULL }, "error: Unknown option -A\n");
  double_refuses ((const char *const[]) { dbl, "install", "--", "no-such-package", NULL },
                  "error: Packages not found: no-such-package\n");

  recorded = read_text (log);
  g_assert_cmpstr (recorded, ==,
                   "[\"install\", \"--idempotent\", \"--\", \"zsh\", \"htop\"]\n"
                   "[\"status\", \"--json\"]\n"
                   "[\"install\", \"--idempotent\", \"--apply-live\", \"--\", \"git\"]\n"
                   "[\"status\", \"--json\"]\n"
                   "[\"uninstall\", \"--idempotent\", \"--\", \"zsh\"]\n"
                   "[\"uninstall\", \"--idempotent\", \"--apply-live\", \"--\", \"zsh\"]\n"
                   "[\"uninstall\", \"-A\", \"zsh\"]\n"
                   "[\"install\", \"--\", \"no-such-package\"]\n");

  bad = g_strdup ("{\"deployments\": [{\"booted\": false, \"requested-packages\": []}]}");
  g_assert_null (bkt_packages_parse_status (bad, -1, NULL, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (bkt_packages_parse_status ("{", -1, NULL, &error));
  g_assert_nonnull (error);
  g_clear_pointer (&double_env, g_strfreev);
}

static void
build_repo (void)
{
  g_autofree char *script = bkt_test_source_path ("rpm-repo.sh");
  g_autofree char *dir = g_build_filename (tmp_dir, "rpm", NULL);
  g_autofree char *out = NULL, *err = NULL, *wrapper_text = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "bash", script, dir, NULL };
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      /* rpm-repo.sh says "no TOOL". */
      missing_tool = g_strdup (g_str_has_prefix (err, "no ") ? g_strstrip (err + 3) : "rpm-repo.sh");
      return;
    }
  if (!g_spawn_check_exit_status (status, &error))
    g_error ("rpm-repo.sh failed: %s\n%s%s", error->message, out, err);
  dnf_log = g_build_filename (tmp_dir, "dnf.log", NULL);
  dnf_wrapper = g_build_filename (tmp_dir, "dnf-logged", NULL);
  wrapper_text = g_strdup_printf ("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\nexec '%s/dnf' \"$@\"\n", dnf_log, dir);
  g_assert_true (bkt_write_file_atomic (dnf_wrapper, wrapper_text, strlen (wrapper_text), 0755, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_autoptr(BktTestDir) tmp = NULL;
  int ret;

  bkt_test_init (&argc, &argv);
  tmp = bkt_test_dir_new ("packages");
  tmp_dir = tmp->path;
  /* rpmbuild and dnf write into $HOME. */
  g_setenv ("HOME", tmp_dir, TRUE);
  g_setenv ("BKT_RPM_OSTREE", "/x/rpm-ostree", TRUE);
  build_repo ();

  g_test_add_func ("/packages/names-refused", test_names_refused);
  g_test_add_func ("/packages/suggest", test_suggest);
  g_test_add_func ("/packages/find-missing-real-dnf", test_find_missing_real_dnf);
  g_test_add_func ("/packages/dnf-failure", test_dnf_failure);
  g_test_add_func ("/packages/rpm-ostree-argv", test_rpm_ostree_argv);
  g_test_add_func ("/packages/rpm-ostree-double-status", test_rpm_ostree_double_status);
  ret = g_test_run ();

  g_free (dnf_wrapper);
  g_free (dnf_log);
  g_free (missing_tool);
  return ret;
}
