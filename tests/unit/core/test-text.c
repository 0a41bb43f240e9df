/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text helpers (bkt-text): grouping the same warning about many items into
 * one line per cause, as plans and status print them. */
#include "config.h"

#include "bkt-test.h"
#include "bkt-text.h"

static GPtrArray *
group (const char * const *lines, guint max)
{
  return bkt_text_group_lines (lines, max);
}

static void
test_group_by_cause (void)
{
  const char * const lines[] = {
    "shim bootc is in the manifest but not in /h/shims: `bkt shim sync` creates it, `bkt shim remove bootc` forgets it",
    "flatpak:org.a.App is in the manifest but not installed; `bkt flatpak remove org.a.App` forgets it",
    "shim podman is in the manifest but not in /h/shims: `bkt shim sync` creates it, `bkt shim remove podman` forgets it",
    "a warning of its own",
    "flatpak:org.b.Other is in the manifest but not installed; `bkt flatpak remove org.b.Other` forgets it",
    "shim ujust is in the manifest but not in /h/shims: `bkt shim sync` creates it, `bkt shim remove ujust` forgets it",
    NULL
  };
  g_autoptr(GPtrArray) out = group (lines, 8);

  /* one line per cause, in the order each was first seen; the count, the
   * fix (the sentence itself) and the items */
  g_assert_cmpuint (out->len, ==, 3);
  g_assert_cmpstr (out->pdata[0], ==,
                   "3× shim <name> is in the manifest but not in /h/shims: `bkt shim sync` creates it, "
                   "`bkt shim remove <name>` forgets it — <name>: bootc, podman, ujust");
  g_assert_cmpstr (out->pdata[1], ==,
                   "2× flatpak:<name> is in the manifest but not installed; `bkt flatpak remove <name>` forgets it"
                   " — <name>: org.a.App, org.b.Other");
  g_assert_cmpstr (out->pdata[2], ==, "a warning of its own");
}

static void
test_group_keeps_different_sentences (void)
{
  /* same length, one word apart, but the word is not the item everywhere */
  const char * const lines[] = {
    "extension x@y is not installed: `bkt ext sync` installs it",
    "extension x@y is not enabled: `bkt ext sync` installs it",
    "extension x@y is not installed: `bkt ext sync` installs it",
    NULL
  };
  g_autoptr(GPtrArray) out = group (lines, 8);

  /* "installed"/"enabled" is a word of the sentence, not a name: no group;
   * a line said twice is not a group of two items either */
  g_assert_cmpuint (out->len, ==, 3);
  for (guint i = 0; i < out->len; i++)
    g_assert_cmpstr (out->pdata[i], ==, lines[i]);
}

static void
test_group_names_at_most (void)
{
  g_autoptr(GPtrArray) in = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) out = NULL;

  for (guint i = 0; i < 12; i++)
    g_ptr_array_add (in, g_strdup_printf ("app org.t.A%02u is missing: `bkt apply` installs org.t.A%02u", i, i));
  g_ptr_array_add (in, NULL);
  out = group ((const char * const *) in->pdata, 3);
  g_assert_cmpuint (out->len, ==, 1);
  g_assert_cmpstr (out->pdata[0], ==, "12× app <name> is missing: `bkt apply` installs <name> — <name>: "
                                      "org.t.A00, org.t.A01, org.t.A02 and 9 more");
}

static void
test_group_empty_and_single (void)
{
  const char * const none[] = { NULL };
  const char * const one[] = { "only this", NULL };
  g_autoptr(GPtrArray) a = group (none, 8);
  g_autoptr(GPtrArray) b = group (one, 8);

  g_assert_cmpuint (a->len, ==, 0);
  g_assert_cmpuint (b->len, ==, 1);
  g_assert_cmpstr (b->pdata[0], ==, "only this");
}

static void
test_natural_compare (void)
{
  const char *sorted[] = { "org.x.App", "org.x.App02", "org.x.App2", "org.x.App10", "org.x.App10a", "org.x.Apq",
                           "org.x.app1" };

  for (guint i = 0; i < G_N_ELEMENTS (sorted); i++)
    for (guint j = 0; j < G_N_ELEMENTS (sorted); j++)
      {
        int c = bkt_text_natural_compare (sorted[i], sorted[j]);
        g_assert_cmpint (i < j ? -1 : i > j ? 1 : 0, ==, c < 0 ? -1 : c > 0 ? 1 : 0);
      }
  g_assert_cmpint (bkt_text_natural_compare (NULL, "a"), <, 0);
  g_assert_cmpint (bkt_text_natural_compare ("a", NULL), >, 0);
  g_assert_cmpint (bkt_text_natural_compare (NULL, NULL), ==, 0);
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/text/natural-compare", test_natural_compare);
  g_test_add_func ("/text/group/by-cause", test_group_by_cause);
  g_test_add_func ("/text/group/different-sentences", test_group_keeps_different_sentences);
  g_test_add_func ("/text/group/names-at-most", test_group_names_at_most);
  g_test_add_func ("/text/group/empty-and-single", test_group_empty_and_single);
  return g_test_run ();
}
