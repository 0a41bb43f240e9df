/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The unified diff (bkt-diff) that `bkt skel diff` prints: exact output for
 * small cases, and for random texts a diff that the real `patch` applies to
 * turn one text into the other. */
#include "config.h"

#include <string.h>

#include "bkt-diff.h"
#include "bkt-test.h"

static char *
diff (const char *a, const char *b)
{
  return bkt_diff_unified ("a", a, strlen (a), "b", b, strlen (b), 3);
}

static void
test_exact (void)
{
  g_autofree char *same = diff ("x\ny\n", "x\ny\n");
  g_autofree char *one = diff ("a\nb\nc\n", "a\nB\nc\n");
  g_autofree char *added = diff ("", "new\n");
  g_autofree char *no_nl = diff ("a\nb", "a\nb\n");

  g_assert_cmpstr (same, ==, "");
  g_assert_cmpstr (one, ==, "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  g_assert_cmpstr (added, ==, "--- a\n+++ b\n@@ -0,0 +1 @@\n+new\n");
  g_assert_cmpstr (no_nl, ==, "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

/* Far apart changes get their own hunks, as GNU diff makes them. */
static void
test_hunks_like_gnu_diff (void)
{
  g_autoptr(GString) a = g_string_new (NULL), b = g_string_new (NULL);
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("diff");
  g_autofree char *pa = bkt_test_dir_path (dir, "a"), *pb = bkt_test_dir_path (dir, "b");
  g_autofree char *ours = NULL, *gnu = NULL;
  const char *argv[] = { "diff", "-u", "--label", "a", "--label", "b", pa, pb, NULL };

  if (!bkt_test_require_program ("diff", "to compare with GNU diff"))
    return;
  for (int i = 0; i < 40; i++)
    {
      g_string_append_printf (a, "line %d\n", i);
      g_string_append_printf (b, i == 5 || i == 30 ? "changed %d\n" : "line %d\n", i);
    }
  g_string_append (b, "tail\n");
  bkt_test_write_file (pa, a->str);
  bkt_test_write_file (pb, b->str);
  ours = diff (a->str, b->str);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &gnu, NULL, NULL, NULL));
  g_assert_cmpstr (ours, ==, gnu);
}

static char *
random_text (GRand *r, guint lines)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < lines; i++)
    g_string_append_printf (s, "%c\n", 'a' + g_rand_int_range (r, 0, 4));
  return g_string_free (s, FALSE);
}

/* patch(1) turns a into b with every diff, minimal or past the limit. */
static void
test_patch_applies (void)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (15);
  g_autoptr(BktTestDir) dir = bkt_test_dir_new ("diff");
  g_autofree char *pa = bkt_test_dir_path (dir, "a"), *pp = bkt_test_dir_path (dir, "p");

  if (!bkt_test_require_program ("patch", "to apply the diffs"))
    return;
  for (int round = 0; round < 60; round++)
    {
      g_autofree char *a = random_text (r, (guint) g_rand_int_range (r, 0, 40));
      g_autofree char *b = random_text (r, (guint) g_rand_int_range (r, 0, 40));
      g_autofree char *d = diff (a, b), *result = NULL;
      const char *argv[] = { "patch", "-s", "-u", pa, pp, NULL };
      int status = 0;

      if (*d == '\0')
        continue;
      bkt_test_write_file (pa, a);
      bkt_test_write_file (pp, d);
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                                   &status, NULL));
      g_assert_cmpint (status, ==, 0);
      result = bkt_test_read_file (pa);
      g_assert_cmpstr (result, ==, b);
    }
  {
    /* Past BKT_DIFF_MAX_EDITS: one hunk out, one in, still correct. */
    g_autoptr(GString) a = g_string_new (NULL), b = g_string_new (NULL);
    g_autofree char *d = NULL, *result = NULL;
    const char *argv[] = { "patch", "-s", "-u", pa, pp, NULL };
    int status = 0;

    for (int i = 0; i < BKT_DIFF_MAX_EDITS; i++)
      {
        g_string_append_printf (a, "a%d\n", i);
        g_string_append_printf (b, "b%d\n", i);
      }
    d = diff (a->str, b->str);
    bkt_test_write_file (pa, a->str);
    bkt_test_write_file (pp, d);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                                 &status, NULL));
    g_assert_cmpint (status, ==, 0);
    result = bkt_test_read_file (pa);
    g_assert_cmpstr (result, ==, b->str);
  }
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/diff/exact", test_exact);
  g_test_add_func ("/diff/hunks-like-gnu-diff", test_hunks_like_gnu_diff);
  g_test_add_func ("/diff/patch-applies", test_patch_applies);
  return g_test_run ();
}
