/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>

#include <glib/gstdio.h>

#include "bkt-test.h"

void
bkt_test_init (int *argc, char ***argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  /* Test servers are local; a desktop's proxy settings must not apply. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (argc, argv, NULL);
}

BktTestDir *
bkt_test_dir_new (const char *tag)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("bkt-test-%s-XXXXXX", tag);
  BktTestDir *dir = g_new0 (BktTestDir, 1);

  dir->path = g_dir_make_tmp (template, &error);
  g_assert_no_error (error);
  return dir;
}

void
bkt_test_dir_free (BktTestDir *dir)
{
  if (dir == NULL)
    return;
  if (g_getenv ("BKT_TEST_KEEP_TMP") != NULL)
    g_printerr ("# kept %s\n", dir->path);
  else
    bkt_test_rm_rf (dir->path);
  g_free (dir->path);
  g_free (dir);
}

char *
bkt_test_dir_path (BktTestDir *dir, const char *rel)
{
  return g_build_filename (dir->path, rel, NULL);
}

char *
bkt_test_dir_mkdir (BktTestDir *dir, const char *rel)
{
  char *path = bkt_test_dir_path (dir, rel);

  g_assert_cmpint (g_mkdir_with_parents (path, 0755), ==, 0);
  return path;
}

void
bkt_test_dir_write (BktTestDir *dir, const char *rel, const char *text)
{
  g_autofree char *path = bkt_test_dir_path (dir, rel);

  bkt_test_write_file (path, text);
}

char *
bkt_test_dir_read (BktTestDir *dir, const char *rel)
{
  g_autofree char *path = bkt_test_dir_path (dir, rel);

  return bkt_test_try_read_file (path);
}

void
bkt_test_write_file (const char *path, const char *text)
{
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

char *
bkt_test_read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

char *
bkt_test_try_read_file (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

void
bkt_test_write_in (const char *dir, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);

  bkt_test_write_file (path, text);
}

char *
bkt_test_read_in (const char *dir, const char *rel)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);

  return bkt_test_read_file (path);
}

/* Depth first, without following symbolic links (a test may plant one
 * pointing outside its directory).  Directories are made writable first:
 * flatpak and tests that provoke write failures leave read-only trees. */
void
bkt_test_rm_rf (const char *path)
{
  GDir *dir;

  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR)
      && g_chmod (path, 0700) == 0 && (dir = g_dir_open (path, 0, NULL)) != NULL)
    {
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          bkt_test_rm_rf (child);
        }
      g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK));
}

char *
bkt_test_data_path (const char *first, ...)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  g_autofree char *rel = NULL;
  va_list args;

  va_start (args, first);
  for (const char *p = first; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  rel = g_build_filenamev ((char **) parts->pdata);
  return g_test_build_filename (G_TEST_DIST, "data", rel, NULL);
}

char *
bkt_test_double_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "doubles", name, NULL);
}

char *
bkt_test_source_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, name, NULL);
}

static gboolean
on_timeout (gpointer data)
{
  gboolean *timed_out = data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void
bkt_test_run_until (gboolean *done, guint timeout_seconds)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gboolean timed_out = FALSE;
  g_autoptr(GSource) timer = g_timeout_source_new_seconds (timeout_seconds);

  g_source_set_callback (timer, on_timeout, &timed_out, NULL);
  g_source_attach (timer, context);
  while (!*done && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_main_context_unref (context);
  if (!*done)
    g_error ("timed out after %u s waiting for the main loop", timeout_seconds);
}

typedef struct
{
  GMainLoop *loop;
  gboolean timed_out;
} LoopRun;

static gboolean
on_loop_timeout (gpointer data)
{
  LoopRun *run = data;

  run->timed_out = TRUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

void
bkt_test_loop_run (GMainLoop *loop, guint timeout_seconds)
{
  LoopRun run = { loop, FALSE };
  g_autoptr(GSource) timer = g_timeout_source_new_seconds (timeout_seconds);

  g_source_set_callback (timer, on_loop_timeout, &run, NULL);
  g_source_attach (timer, g_main_loop_get_context (loop));
  g_main_loop_run (loop);
  g_source_destroy (timer);
  if (run.timed_out)
    g_error ("timed out after %u s in the main loop", timeout_seconds);
}

void
bkt_test_skip_without (const char *component, const char *why)
{
  g_autofree char *reason = g_strdup_printf ("needs %s: %s", component, why);

  g_test_skip (reason);
}

gboolean
bkt_test_require_program (const char *program, const char *why)
{
  g_autofree char *found = g_find_program_in_path (program);

  if (found == NULL)
    bkt_test_skip_without (program, why);
  return found != NULL;
}
