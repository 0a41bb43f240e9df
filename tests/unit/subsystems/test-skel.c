/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The skel subsystem's file access (bkt-skel-fs): paths checked before
 * use, links refused at every component below the root, atomic writes
 * with cleaned modes, nothing written in a dry run. */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-skel-fs.h"
#include "bkt-skel.h"
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
  {
    g_autofree char *new_dir = g_build_filename (home, "new", NULL);
    g_assert_false (g_file_test (new_dir, G_FILE_TEST_EXISTS));
  }
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

/* ---- the subsystem, against a real home ------------------------------------------ */

static char *world;  /* HOME is WORLD/home, the manifests WORLD/manifests, the skel WORLD/skel */

typedef struct { guint done, failed; } Results;

static void
on_done (gpointer data, BktOperation *op, const GError *error)
{
  Results *r = data;
  if (error != NULL)
    g_printerr ("%s: %s\n", bkt_operation_get_target (op), error->message);
  r->done += error == NULL;
  r->failed += error != NULL;
}

static void on_progress (gpointer d, BktOperation *op, double f, const char *t) {}
static void on_message (gpointer d, const char *t) {}

/* A fresh subsystem's apply plan: its operations, its warnings joined. */
static GPtrArray *
plan (gboolean overwrite, BktSubsystem **out, char **warnings_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mdir = g_build_filename (world, "manifests", NULL);
  g_autoptr(BktManifestSet) m = bkt_manifest_set_load_dir (mdir, &error);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *ops = g_ptr_array_new_with_free_func (g_object_unref);
  BktSubsystem *s = bkt_skel_new ();

  g_assert_no_error (error);
  bkt_subsystem_set_overwrite (s, overwrite);
  g_assert_true (bkt_subsystem_load_live (s, NULL, &error));
  g_assert_true (bkt_subsystem_plan_apply (s, m, ops, warnings, &error));
  g_assert_no_error (error);
  g_ptr_array_add (warnings, NULL);
  *warnings_out = g_strjoinv ("\n", (char **) warnings->pdata);
  *out = s;
  return ops;
}

static void
execute (BktSubsystem *s, GPtrArray *ops, guint expect_done)
{
  static const BktExecCallbacks cb = { on_progress, on_done, on_message };
  Results r = { 0 };
  BktExecContext *ctx = bkt_exec_context_new (&cb, &r);
  g_autoptr(GError) error = NULL;

  g_assert_true (bkt_subsystem_execute (s, ops, ctx, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.failed, ==, 0);
  g_assert_cmpuint (r.done, ==, expect_done);
  bkt_exec_context_free (ctx);
}

/* A dotfile bkt never synced is kept unless the request says the skel
 * wins; missing files are copied with their modes; without a home the
 * plan is empty and says why (the other subsystems go on). */
static void
test_subsystem (void)
{
  g_autofree char *home = g_build_filename (world, "home", NULL);
  g_autofree char *skel = g_build_filename (world, "skel", NULL);
  g_autofree char *b = g_build_filename (home, "sub", ".b", NULL);
  g_autofree char *a_text = NULL, *warnings = NULL, *gone = g_strconcat (home, ".away", NULL);
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(BktSubsystem) s = NULL;
  struct stat st;

  bkt_test_write_in (world, "manifests/gsettings.json", "{\"settings\": []}\n");
  bkt_test_write_in (skel, ".a", "A\n");
  bkt_test_write_in (skel, "sub/.b", "B\n");
  {
    g_autofree char *skel_b = g_build_filename (skel, "sub", ".b", NULL);
    g_assert_cmpint (g_chmod (skel_b, 04755), ==, 0);
  }
  bkt_test_write_in (home, ".a", "mine\n");

  ops = plan (FALSE, &s, &warnings);
  g_assert_cmpuint (ops->len, ==, 1);
  g_assert_cmpstr (bkt_operation_get_target (ops->pdata[0]), ==, "skel:sub/.b");
  g_assert_nonnull (strstr (warnings, ".a differs from the skel and bkt never synced it"));
  execute (s, ops, 1);
  g_assert_cmpint (stat (b, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0755);
  a_text = bkt_test_read_in (home, ".a");
  g_assert_cmpstr (a_text, ==, "mine\n");
  g_clear_pointer (&ops, g_ptr_array_unref);
  g_clear_object (&s);
  g_clear_pointer (&warnings, g_free);
  g_clear_pointer (&a_text, g_free);

  ops = plan (TRUE, &s, &warnings);
  g_assert_cmpuint (ops->len, ==, 1);
  g_assert_cmpstr (bkt_operation_get_action (ops->pdata[0]), ==, "update");
  execute (s, ops, 1);
  a_text = bkt_test_read_in (home, ".a");
  g_assert_cmpstr (a_text, ==, "A\n");
  g_clear_pointer (&ops, g_ptr_array_unref);
  g_clear_object (&s);
  g_clear_pointer (&warnings, g_free);

  g_assert_cmpint (g_rename (home, gone), ==, 0);
  ops = plan (TRUE, &s, &warnings);
  g_assert_cmpint (g_rename (gone, home), ==, 0);
  g_assert_cmpuint (ops->len, ==, 0);
  g_assert_nonnull (strstr (warnings, "cannot open the home directory"));
}

/* The user's skel (beside the overlay manifests) replaces the image's file
 * of the same path: one file, from the upper layer. */
static void
test_layers (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *image = g_build_filename (world, "layers", "image", "manifests", NULL);
  g_autofree char *user = g_build_filename (world, "layers", "user", "manifests", NULL);
  g_autofree char *image_skel = g_build_filename (world, "layers", "image", "skel", NULL);
  g_autofree char *user_skel = g_build_filename (world, "layers", "user", "skel", NULL);
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(BktSubsystem) s = bkt_skel_new ();
  g_autoptr(JsonObject) st = NULL;
  JsonArray *files;
  JsonObject *f;

  bkt_test_write_in (image_skel, ".layered", "image\n");
  bkt_test_write_in (image_skel, ".only-image", "image\n");
  bkt_test_write_in (user_skel, ".layered", "user\n");
  m = bkt_manifest_set_load_layered (image, user, &error);
  g_assert_no_error (error);
  g_assert_true (bkt_subsystem_load_live (s, NULL, &error));
  st = bkt_subsystem_status (s, m, &error);
  g_assert_no_error (error);
  files = json_object_get_array_member (st, "files");
  g_assert_cmpuint (json_array_get_length (files), ==, 2);
  f = json_array_get_object_element (files, 0);
  g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, ".layered");
  g_assert_cmpstr (json_object_get_string_member (f, "layer"), ==, "user");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (f, "source"), user_skel));
  f = json_array_get_object_element (files, 1);
  g_assert_cmpstr (json_object_get_string_member (f, "layer"), ==, "image");
}

int
main (int argc, char **argv)
{
  g_autoptr(BktTestDir) dir = NULL;
  g_autofree char *home = NULL, *state = NULL;

  bkt_test_init (&argc, &argv);
  /* Before anything asks GLib for them: it keeps the first answer. */
  dir = bkt_test_dir_new ("skel-world");
  world = bkt_test_dir_path (dir, "");
  home = bkt_test_dir_mkdir (dir, "home");
  state = bkt_test_dir_mkdir (dir, "state");
  g_setenv ("HOME", home, TRUE);
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_test_add_func ("/skel/subsystem", test_subsystem);
  g_test_add_func ("/skel/layers", test_layers);
  g_test_add_func ("/skel/check-path", test_check_path);
  g_test_add_func ("/skel/links-refused", test_links_refused);
  g_test_add_func ("/skel/write-read-back", test_write_read_back);
  g_test_add_func ("/skel/list-tree", test_list_tree);
  {
    int ret = g_test_run ();
    g_free (world);
    return ret;
  }
}
