/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The skel subsystem's file access (bkt-skel-fs): paths checked before
 * use, links refused at every component below the root, atomic writes
 * with cleaned modes, nothing written in a dry run. */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-skel-fs.h"
#include "bkt-test.h"

static void
test_check_path (void)
{
  const char *good[] = { ".bashrc", ".config/app/settings.ini", "a b", NULL };
  const char *bad[] = { "", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", ".", "..", "a\nb", NULL };

  for (guint i = 0; good[i] != NULL; i++)
    {
      g_autofree char *why = bkt_skel_check_path (good[i]);
      g_assert_null (why);
    }
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autofree char *why = bkt_skel_check_path (bad[i]);
      g_assert_nonnull (why);
    }
  g_assert_cmpuint (bkt_skel_clean_mode (04755), ==, 0755);
  g_assert_cmpuint (bkt_skel_clean_mode (02644), ==, 0644);
  g_assert_cmpuint (bkt_skel_clean_mode (0044), ==, 0444);
}

static int
open_root (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

/* A link anywhere below the root — a directory or the file — is refused
 * for reading and writing, and nothing is written through it. */
static void
test_links_refused (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("skel");
  g_autofree char *home = bkt_test_dir_mkdir (dir, "home");
  g_autofree char *outside = bkt_test_dir_mkdir (dir, "outside");
  g_autofree char *link_dir = g_build_filename (home, ".config", NULL);
  g_autofree char *link_file = g_build_filename (home, ".profile", NULL);
  g_autofree char *target = g_build_filename (outside, "secret", NULL);
  g_autoptr(GBytes) data = g_bytes_new_static ("x\n", 2);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;
  gboolean exists;
  guint mode;
  int root;

  bkt_test_write_file (target, "secret\n");
  g_assert_cmpint (symlink (outside, link_dir), ==, 0);
  g_assert_cmpint (symlink (target, link_file), ==, 0);
  root = open_root (home);

  g_assert_false (bkt_skel_read_at (root, ".config/secret", "~/.config/secret", &got, &mode, &exists, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (bkt_skel_read_at (root, ".profile", "~/.profile", &got, &mode, &exists, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (bkt_skel_write_at (root, ".config/secret", "~/.config/secret", data, 0644, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (bkt_skel_write_at (root, ".profile", "~/.profile", data, 0644, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  after = bkt_test_read_file (target);
  g_assert_cmpstr (after, ==, "secret\n");
  close (root);
}

static void
test_write_read_back (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("skel");
  g_autofree char *home = bkt_test_dir_mkdir (dir, "home");
  g_autofree char *path = g_build_filename (home, ".local/bin/tool", NULL);
  g_autoptr(GBytes) data = g_bytes_new_static ("#!/bin/sh\n", 10);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;
  gboolean exists;
  guint mode = 0;
  int root = open_root (home);

  g_assert_true (bkt_skel_read_at (root, ".local/bin/tool", path, &got, &mode, &exists, &error));
  g_assert_false (exists);
  g_assert_true (bkt_skel_write_at (root, ".local/bin/tool", path, data, 06755, &error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0755);
  g_assert_true (bkt_skel_read_at (root, ".local/bin/tool", path, &got, &mode, &exists, &error));
  g_assert_true (exists);
  g_assert_true (g_bytes_equal (got, data));

  /* A dry run writes nothing, not even the directories. */
  bkt_fs_set_dry_run (TRUE);
  g_assert_false (bkt_skel_write_at (root, "new/file", "~/new/file", data, 0644, &error));
  g_assert_nonnull (error);
  bkt_fs_set_dry_run (FALSE);
  g_assert_false (g_file_test (g_build_filename (home, "new", NULL), G_FILE_TEST_EXISTS));
  close (root);
}

/* The tree walk lists regular files only; links are left out with a warning. */
static void
test_list_tree (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("skel");
  g_autofree char *skel = bkt_test_dir_mkdir (dir, "skel");
  g_autofree char *link = g_build_filename (skel, ".evil", NULL);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GError) error = NULL;

  bkt_test_write_in (skel, ".bashrc", "x\n");
  bkt_test_write_in (skel, ".config/a/b.conf", "y\n");
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  files = bkt_skel_list_tree (skel, warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (files->len, ==, 2);
  g_assert_cmpstr (files->pdata[0], ==, ".bashrc");
  g_assert_cmpstr (files->pdata[1], ==, ".config/a/b.conf");
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_nonnull (strstr (warnings->pdata[0], "symbolic link"));
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/skel/check-path", test_check_path);
  g_test_add_func ("/skel/links-refused", test_links_refused);
  g_test_add_func ("/skel/write-read-back", test_write_read_back);
  g_test_add_func ("/skel/list-tree", test_list_tree);
  return g_test_run ();
}
