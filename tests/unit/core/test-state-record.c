/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state record (bkt-state-record): the six states of three-way
 * classification, a record that survives a save/load, a missing record
 * (first run), a corrupt one (two-way, kept aside, never lost), bounds. */
#include "config.h"

#include <stdio.h>

#include "bkt-fsutil.h"
#include "bkt-state-record.h"
#include "bkt-test.h"

static BktSyncState
classify (BktStateRecord *r, const char *target, const char *m, const char *l)
{
  return bkt_state_record_classify (r, target, m, l, NULL);
}

static void
test_classify (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("record");
  g_autoptr(BktStateRecord) r = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
  const BktRecordEntry *base = NULL;

  g_assert_cmpint (bkt_state_record_get_health (r), ==, BKT_RECORD_MISSING);
  g_assert_null (bkt_state_record_get_warning (r));
  /* No base: a declared item is never synced (apply), a live-only one untracked. */
  g_assert_cmpint (classify (r, "gsetting:a", "'x'", "'y'"), ==, BKT_SYNC_NEVER_SYNCED);
  g_assert_cmpint (classify (r, "flatpak:b", NULL, "flathub"), ==, BKT_SYNC_UNTRACKED);
  g_assert_cmpint (classify (r, "gsetting:a", "'x'", "'x'"), ==, BKT_SYNC_IN_SYNC);

  bkt_state_record_set (r, "gsetting:a", "'x'", "image", "/usr/share/bkt/manifests/gsettings.json", "apply");
  g_assert_cmpint (bkt_state_record_classify (r, "gsetting:a", "'x'", "'x'", &base), ==, BKT_SYNC_IN_SYNC);
  g_assert_nonnull (base);
  g_assert_cmpstr (base->value, ==, "'x'");
  g_assert_cmpstr (base->command, ==, "apply");
  g_assert_cmpint (classify (r, "gsetting:a", "'x'", "'by-hand'"), ==, BKT_SYNC_TO_CAPTURE);
  g_assert_cmpint (classify (r, "gsetting:a", "'edited'", "'x'"), ==, BKT_SYNC_TO_APPLY);
  g_assert_cmpint (classify (r, "gsetting:a", "'edited'", "'by-hand'"), ==, BKT_SYNC_CONFLICT);
  /* Dropped from the manifests, untouched here: apply's (prune's) job. */
  g_assert_cmpint (classify (r, "gsetting:a", NULL, "'x'"), ==, BKT_SYNC_TO_APPLY);
  /* Removed by hand, still declared: capture's. */
  g_assert_cmpint (classify (r, "gsetting:a", "'x'", NULL), ==, BKT_SYNC_TO_CAPTURE);

  g_assert_cmpstr (bkt_sync_state_direction (BKT_SYNC_NEVER_SYNCED), ==, "apply");
  g_assert_cmpstr (bkt_sync_state_direction (BKT_SYNC_TO_CAPTURE), ==, "capture");
  g_assert_cmpstr (bkt_sync_state_to_string (BKT_SYNC_CONFLICT), ==, "conflict");
}

static void
test_save_load (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("record");
  g_autoptr(BktStateRecord) r = bkt_state_record_load (BKT_SCOPE_SYSTEM, dir->path);
  g_autoptr(BktStateRecord) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL, *second = NULL;
  const BktRecordEntry *e;

  bkt_state_record_set (r, "flatpak:org.test.Hello@system", "test-repo", "user", "flatpak-apps.json", "apply");
  bkt_state_record_set (r, "flatpak:org.test.Gone@system", NULL, NULL, NULL, "capture");
  g_assert_true (bkt_state_record_save (r, &error));
  g_assert_no_error (error);
  first = bkt_test_dir_read (dir, "state.json");

  again = bkt_state_record_load (BKT_SCOPE_SYSTEM, dir->path);
  g_assert_cmpint (bkt_state_record_get_health (again), ==, BKT_RECORD_OK);
  g_assert_cmpuint (bkt_state_record_get_n_items (again), ==, 2);
  e = bkt_state_record_lookup (again, "flatpak:org.test.Hello@system");
  g_assert_nonnull (e);
  g_assert_cmpstr (e->value, ==, "test-repo");
  g_assert_cmpstr (e->layer, ==, "user");
  g_assert_cmpstr (e->file, ==, "flatpak-apps.json");
  g_assert_nonnull (e->when);
  e = bkt_state_record_lookup (again, "flatpak:org.test.Gone@system");
  g_assert_nonnull (e);
  g_assert_null (e->value);
  /* Same record, same bytes (sorted). */
  g_assert_true (bkt_state_record_save (again, &error));
  second = bkt_test_dir_read (dir, "state.json");
  g_assert_cmpstr (first, ==, second);
  g_assert_nonnull (strstr (first, "\"version\" : 1"));
}

/* A warm daemon keeps the last parse of each record file: every load
 * still sees the file as it is now (replaced, rewritten in place,
 * corrupted), and a caller changing its loaded record changes no other
 * load's. */
static void
test_cache_follows_the_file (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("record");
  g_autoptr(BktStateRecord) r = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
  g_autoptr(BktStateRecord) a = NULL, b = NULL, c = NULL, d = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *edited = NULL;

  bkt_state_record_set (r, "gsetting:a", "'x'", "image", "gsettings.json", "apply");
  g_assert_true (bkt_state_record_save (r, &error));
  a = bkt_state_record_load (BKT_SCOPE_USER, dir->path);   /* parsed */
  b = bkt_state_record_load (BKT_SCOPE_USER, dir->path);   /* from the cache */
  g_assert_cmpstr (bkt_state_record_lookup (b, "gsetting:a")->value, ==, "'x'");
  /* b is a copy: changing it changes neither a nor the next load */
  bkt_state_record_set (b, "gsetting:a", "'changed'", "image", "gsettings.json", "apply");
  bkt_state_record_remove (b, "gsetting:a");
  g_assert_cmpstr (bkt_state_record_lookup (a, "gsetting:a")->value, ==, "'x'");
  g_clear_object (&c);
  c = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
  g_assert_cmpstr (bkt_state_record_lookup (c, "gsetting:a")->value, ==, "'x'");

  /* replaced (bkt's own rename) */
  bkt_state_record_set (a, "gsetting:a", "'y'", "image", "gsettings.json", "apply");
  g_assert_true (bkt_state_record_save (a, &error));
  g_clear_object (&c);
  c = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
  g_assert_cmpstr (bkt_state_record_lookup (c, "gsetting:a")->value, ==, "'y'");

  /* rewritten in place with the same size (another tool, an editor) */
  text = bkt_test_dir_read (dir, "state.json");
  edited = g_strdup (text);
  g_assert_nonnull (strstr (edited, "'y'"));
  strstr (edited, "'y'")[1] = 'z';
  g_assert_cmpuint (strlen (edited), ==, strlen (text));
  {
    g_autofree char *path = g_build_filename (dir->path, "state.json", NULL);
    FILE *f = fopen (path, "r+");
    g_assert_nonnull (f);
    g_assert_cmpuint (fwrite (edited, 1, strlen (edited), f), ==, strlen (edited));
    fclose (f);
  }
  d = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
  g_assert_cmpstr (bkt_state_record_lookup (d, "gsetting:a")->value, ==, "'z'");

  /* corrupted after a good parse: corrupt, never the cached copy */
  bkt_test_dir_write (dir, "state.json", "{ not json");
  g_clear_object (&d);
  d = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
  g_assert_cmpint (bkt_state_record_get_health (d), ==, BKT_RECORD_CORRUPT);
}

static void
test_corrupt (void)
{
  const char *bad[] = {
    "{ not json",
    "[1, 2]",
    "{\"version\": 2, \"items\": {}}",
    "{\"version\": 1}",
    "{\"version\": 1, \"items\": {\"gsetting:a\": {\"value\": 3}}}",
    "",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(BktTestDir) dir = bkt_test_dir_new ("record");
      g_autoptr(BktStateRecord) r = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *kept = NULL;

      bkt_test_dir_write (dir, "state.json", bad[i]);
      r = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
      g_assert_cmpint (bkt_state_record_get_health (r), ==, BKT_RECORD_CORRUPT);
      g_assert_nonnull (strstr (bkt_state_record_get_warning (r), "two-way"));
      g_assert_nonnull (strstr (bkt_state_record_get_warning (r), "state.json"));
      /* No direction from an unreadable record. */
      g_assert_cmpint (classify (r, "gsetting:a", "'x'", "'y'"), ==, BKT_SYNC_TWO_WAY);
      g_assert_cmpint (classify (r, "gsetting:a", "'x'", "'x'"), ==, BKT_SYNC_IN_SYNC);

      /* The next write keeps the old file aside. */
      bkt_state_record_set (r, "gsetting:a", "'x'", NULL, NULL, "apply");
      g_assert_true (bkt_state_record_save (r, &error));
      g_assert_no_error (error);
      kept = bkt_test_dir_read (dir, "state.json.corrupt");
      g_assert_cmpstr (kept, ==, bad[i]);
      g_assert_cmpint (bkt_state_record_get_health (r), ==, BKT_RECORD_OK);
    }
}

static void
test_bounds (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("record");
  g_autoptr(BktStateRecord) r = bkt_state_record_load (BKT_SCOPE_USER, dir->path);
  g_autofree char *longv = g_strnfill (BKT_STATE_VALUE_MAX + 1, 'v');
  g_autofree char *fp = bkt_state_fingerprint (longv);
  const BktRecordEntry *e;

  /* Long values are kept as checksums and still compare. */
  g_assert_true (g_str_has_prefix (fp, "sha256:"));
  bkt_state_record_set (r, "shim:big", longv, NULL, NULL, "apply");
  e = bkt_state_record_lookup (r, "shim:big");
  g_assert_cmpstr (e->value, ==, fp);
  g_assert_cmpint (classify (r, "shim:big", longv, longv), ==, BKT_SYNC_IN_SYNC);
  g_assert_cmpint (classify (r, "shim:big", "short", longv), ==, BKT_SYNC_TO_APPLY);
}

static void
test_dry_run_writes_nothing (void)
{
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("record");
  g_autofree char *sub = bkt_test_dir_path (dir, "state");
  g_autoptr(BktStateRecord) r = bkt_state_record_load (BKT_SCOPE_USER, sub);
  g_autoptr(GError) error = NULL;

  bkt_state_record_set (r, "gsetting:a", "'x'", NULL, NULL, "apply");
  bkt_fs_set_dry_run (TRUE);
  g_assert_false (bkt_state_record_save (r, &error));
  bkt_fs_set_dry_run (FALSE);
  g_assert_nonnull (error);
  g_assert_false (g_file_test (sub, G_FILE_TEST_EXISTS));
}

static void
test_default_dir (void)
{
  g_autofree char *user = NULL, *system = NULL;

  g_setenv ("BKT_SYSTEM_STATE_DIR", "/tmp/somewhere", TRUE);
  system = bkt_state_record_default_dir (BKT_SCOPE_SYSTEM);
  g_assert_cmpstr (system, ==, "/tmp/somewhere");
  g_free (system);
  /* A relative path is not taken. */
  g_setenv ("BKT_SYSTEM_STATE_DIR", "rel", TRUE);
  system = bkt_state_record_default_dir (BKT_SCOPE_SYSTEM);
  g_assert_cmpstr (system, ==, "/var/lib/bkt");
  g_unsetenv ("BKT_SYSTEM_STATE_DIR");
  user = bkt_state_record_default_dir (BKT_SCOPE_USER);
  g_assert_true (g_str_has_suffix (user, "/bkt"));
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/state-record/classify", test_classify);
  g_test_add_func ("/state-record/save-load", test_save_load);
  g_test_add_func ("/state-record/cache", test_cache_follows_the_file);
  g_test_add_func ("/state-record/corrupt", test_corrupt);
  g_test_add_func ("/state-record/bounds", test_bounds);
  g_test_add_func ("/state-record/dry-run", test_dry_run_writes_nothing);
  g_test_add_func ("/state-record/default-dir", test_default_dir);
  return g_test_run ();
}
