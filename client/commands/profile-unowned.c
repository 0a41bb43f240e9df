/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkt-copr.h"
#include "bkt-error.h"
#include "bkt-spawn.h"
#include "commands.h"

/* bkt profile unowned [--root ROOT] [DIR…]: the files under /etc and
 * /usr/local (or DIR…) that no RPM package owns — what an admin put there
 * by hand, which no image rebuild brings back.  The RPM database is asked
 * ONCE for all of them (`rpm -qf FILE…`; only a list longer than half the
 * system's argument limit is split), never once per file: on ~5,000 files
 * that is the difference between a fraction of a second and minutes
 * (docs/benchmarks.md).  An empty database (no RPM system) or one rpm
 * cannot read is an error, never "everything unowned" or "nothing".  Files
 * bkt itself writes (the COPR repo files of
 * bkt dnf copr) are left out. */

static char *opt_root;

/* Under @root + @dir, every file that is not a directory, as paths
 * inside @root ("/etc/foo"). */
static gboolean
walk (const char *root, const char *dir, GPtrArray *out, GError **error)
{
  g_autofree char *on_disk = g_build_filename (root, dir, NULL);
  g_autoptr(GDir) d = g_dir_open (on_disk, 0, error);
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *inside = g_build_filename (dir, name, NULL);
      g_autofree char *path = g_build_filename (root, inside, NULL);
      struct stat st;

      if (lstat (path, &st) != 0)
        continue;  /* gone meanwhile */
      if (S_ISDIR (st.st_mode))
        {
          g_autoptr(GError) sub = NULL;
          /* An unreadable subdirectory (root-only under /etc) is said, not fatal. */
          if (!walk (root, inside, out, &sub))
            g_printerr ("bkt: profile unowned: skipping %s: %s\n", inside, sub->message);
          continue;
        }
      g_ptr_array_add (out, g_steal_pointer (&inside));
    }
  return TRUE;
}

/* What bkt wrote itself: COPR repo files named as bkt names them, in the
 * directory bkt writes them to. */
static gboolean
managed_by_bkt (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *repos = g_canonicalize_filename (bkt_copr_repos_dir (), "/");

  if (!g_str_equal (dir, repos) || !g_str_has_prefix (base, "_copr:") || !g_str_has_suffix (base, ".repo"))
    return FALSE;
  {
    g_autofree char *id = g_strndup (base + 1, strlen (base) - 1 - strlen (".repo"));
    g_autofree char *name = bkt_copr_name_from_repo_id (id);
    return name != NULL;
  }
}

/* The path a line of `rpm -qf` says is owned by no package: "file PATH is
 * not owned by any package" (the path exists on the host), or "error:
 * file PATH: No such file or directory" (with --root, rpm looks for the
 * file outside the root; either way the database has no owner). */
static char *
unowned_from_line (const char *line)
{
  static const char not_owned[] = " is not owned by any package";
  static const char missing[] = ": No such file or directory";

  if (g_str_has_prefix (line, "file ") && g_str_has_suffix (line, not_owned))
    return g_strndup (line + 5, strlen (line) - 5 - strlen (not_owned));
  if (g_str_has_prefix (line, "error: file ") && g_str_has_suffix (line, missing))
    return g_strndup (line + 12, strlen (line) - 12 - strlen (missing));
  return NULL;
}

/* The unowned paths of @text (rpm's stdout or stderr) into @unowned.  Any
 * other error line means rpm did not answer for every file (a database it
 * cannot read): FALSE with it, rather than files silently counted as owned. */
static gboolean
collect_unowned (const char *text, GHashTable *unowned, GError **error)
{
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *path = unowned_from_line (lines[i]);
      if (path != NULL)
        g_hash_table_add (unowned, path);
      else if (g_str_has_prefix (lines[i], "error:"))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "rpm -qf: %s", lines[i]), FALSE;
    }
  return TRUE;
}

/* An empty database (no RPM system here: Debian's /etc) would make every
 * file "unowned"; that is no answer, so it is an error. */
static gboolean
check_database (const char *rpm, const char *root, GError **error)
{
  const char *argv[] = { rpm, "--root", root != NULL ? root : "/", "-qa", "--qf", "%{NAME}\n", NULL };
  const char *env[] = { "LC_ALL=C", NULL };
  BktSpawnSpec spec = { .argv = argv, .setenv = env, .progress_fd = -1 };
  BktSpawnResult res = { 0 };
  gboolean ok;

  if (!bkt_spawn_run (&spec, NULL, &res, error))
    return FALSE;
  ok = bkt_spawn_check (argv, &res, NULL, error);
  if (ok && (res.out == NULL || res.out[0] == '\0'))
    ok = (g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                       "the RPM database of %s holds no package: no file there can be told owned or not",
                       root != NULL ? root : "/"), FALSE);
  bkt_spawn_result_clear (&res);
  return ok;
}

/* One `rpm [--root R] -qf -- FILE…` per batch of @files (one batch unless
 * the list outgrows half of ARG_MAX); the unowned paths go to @unowned.
 * rpm exits with the number of files it found no owner for, so its
 * status says nothing: only its output does. */
static gboolean
query_rpm (const char *rpm, const char *root, GPtrArray *files, GHashTable *unowned, guint *n_calls,
           GError **error)
{
  long arg_max = sysconf (_SC_ARG_MAX);
  gsize budget = arg_max > 0 ? (gsize) arg_max / 2 : 128 * 1024;
  const char *env[] = { "LC_ALL=C", NULL };
  guint next = 0;

  while (next < files->len)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      BktSpawnResult res = { 0 };
      gboolean ran;
      BktSpawnSpec spec = { 0 };
      gsize used = 0;

      g_ptr_array_add (argv, (gpointer) rpm);
      if (root != NULL)
        {
          g_ptr_array_add (argv, (gpointer) "--root");
          g_ptr_array_add (argv, (gpointer) root);
        }
      g_ptr_array_add (argv, (gpointer) "-qf");
      g_ptr_array_add (argv, (gpointer) "--");
      do
        {
          const char *f = files->pdata[next++];
          used += strlen (f) + 1 + sizeof (char *);
          g_ptr_array_add (argv, (gpointer) f);
        }
      while (next < files->len && used < budget);
      g_ptr_array_add (argv, NULL);
      spec.argv = (const char * const *) argv->pdata;
      spec.setenv = env;
      spec.progress_fd = -1;
      if (!bkt_spawn_run (&spec, NULL, &res, error))
        return FALSE;
      (*n_calls)++;
      ran = (res.code == CLD_EXITED || bkt_spawn_check ((const char * const *) argv->pdata, &res, NULL, error)) &&
            collect_unowned (res.out, unowned, error) && collect_unowned (res.err, unowned, error);
      bkt_spawn_result_clear (&res);
      if (!ran)
        return FALSE;
    }
  return TRUE;
}

static char *
find_rpm (GError **error)
{
  const char *forced = g_getenv ("BKT_RPM");
  char *path = g_find_program_in_path (forced != NULL && *forced != '\0' ? forced : "rpm");

  if (path == NULL)
    g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                 "rpm is not installed: bkt profile unowned asks the RPM database who owns each file");
  return path;
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
print_result (Ctx *ctx, GPtrArray *result, guint n_files, guint n_skipped, guint n_calls)
{
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      JsonArray *a = json_array_new ();

      for (guint i = 0; i < result->len; i++)
        json_array_add_string_element (a, result->pdata[i]);
      json_object_set_array_member (o, "unowned", a);
      json_object_set_int_member (o, "files", n_files);
      json_object_set_int_member (o, "skipped_bkt_managed", n_skipped);
      json_object_set_int_member (o, "rpm_calls", n_calls);
      if (opt_root != NULL)
        json_object_set_string_member (o, "root", opt_root);
      bkt_render_print_object (o);
      return;
    }
  for (guint i = 0; i < result->len; i++)
    g_print ("%s\n", (const char *) result->pdata[i]);
  g_printerr ("%u of %u file(s) owned by no RPM package (%u written by bkt left out)\n", result->len, n_files,
              n_skipped);
}

int
bkt_cmd_profile_unowned (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &opt_root, "The system's root directory and its RPM database", "DIR" },
    { NULL }
  };
  static const char * const defaults[] = { "/etc", "/usr/local", NULL };
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) queried = g_ptr_array_new ();
  g_autoptr(GHashTable) unowned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) result = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *rpm = NULL;
  const char *root;
  g_autoptr(GPtrArray) dirs = g_ptr_array_new ();
  guint n_calls = 0, n_skipped = 0;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, G_MAXUINT, &code))
    return code;
  root = opt_root != NULL ? opt_root : "/";
  if (!g_file_test (root, G_FILE_TEST_IS_DIR))
    return g_printerr ("bkt: profile unowned: %s: no such directory\n", root), EXIT_USAGE;
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (dirs, argv[i]);
  for (guint i = 0; argc == 1 && defaults[i] != NULL; i++)
    g_ptr_array_add (dirs, (gpointer) defaults[i]);
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *inside = g_canonicalize_filename (dirs->pdata[i], "/");
      g_autofree char *on_disk = g_build_filename (root, inside, NULL);

      /* A directory that does not exist is an error, never "nothing unowned". */
      if (!g_file_test (on_disk, G_FILE_TEST_IS_DIR))
        return g_printerr ("bkt: profile unowned: %s: no such directory\n", on_disk), EXIT_USAGE;
      if (!walk (root, inside, files, &error))
        return fail (error);
    }
  for (guint i = 0; i < files->len; i++)
    {
      if (strchr (files->pdata[i], '\n') != NULL)
        {
          /* rpm answers one line per file: such a name cannot be read back */
          g_autofree char *shown = g_strescape (files->pdata[i], NULL);
          g_printerr ("bkt: profile unowned: a file name with a newline: %s\n", shown);
          return EXIT_FAILED;
        }
      if (managed_by_bkt (files->pdata[i]))
        n_skipped++;
      else
        g_ptr_array_add (queried, files->pdata[i]);
    }
  if (queried->len > 0)
    {
      rpm = find_rpm (&error);
      if (rpm == NULL || !check_database (rpm, opt_root, &error) || !query_rpm (rpm, opt_root, queried, unowned, &n_calls, &error))
        return fail (error);
    }
  for (guint i = 0; i < queried->len; i++)
    if (g_hash_table_contains (unowned, queried->pdata[i]))
      g_ptr_array_add (result, queried->pdata[i]);
  g_ptr_array_sort (result, compare_paths);
  print_result (ctx, result, files->len, n_skipped, n_calls);
  return EXIT_OK;
}
