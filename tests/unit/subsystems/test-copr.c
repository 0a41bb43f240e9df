/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bkt-copr.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-manifest.h"
#include "bkt-test.h"

/* COPR: the strict name rule, the repo file exactly as `dnf copr enable`
 * writes it, scanning a repo directory, the subsystem's plans, execution
 * in a directory, and copr_repos as a manifest list (validated with
 * positions, edited in place). */

static const char *tmp_dir;

static void
test_names (void)
{
  const char *good[] = { "atim/starship", "@copr/copr-dev", "a_b.c/x-y.z", "A1/B2", NULL };
  const char *bad[] = { "", "-rf", "a/b/c", "../x", "x/..", "a/-b", "-a/b", ".a/b", "a/.b", "a", "/b", "a/",
                        "@/b", "@@g/b", "a b/c", "a/b;rm", "a/b+c", "a/b\n", "a\\b/c", NULL };
  g_autofree char *long_part = g_strnfill (101, 'a');
  g_autofree char *long_name = g_strconcat ("o/", long_part, NULL);
  g_autofree char *longest = g_strconcat ("o/", long_part + 1, NULL);
  g_autofree char *huge = g_strnfill (300, 'a');

  for (guint i = 0; good[i] != NULL; i++)
    {
      g_autofree char *why = bkt_manifest_check_copr_name (good[i]);
      g_assert_null (why);
    }
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_assert_false (bkt_copr_check_name (bad[i], &error));
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, "invalid COPR project"));
    }
  g_assert_false (bkt_copr_check_name (long_name, NULL));
  g_assert_false (bkt_copr_check_name (huge, NULL));
  g_assert_true (bkt_copr_check_name (longest, NULL));
  {
    /* The longest name still makes a valid file name. */
    g_autofree char *group = g_strconcat ("@", long_part + 1, "/", long_part + 1, NULL);
    g_autofree char *file = bkt_copr_file_name (group);
    g_assert_true (bkt_copr_check_name (group, NULL));
    g_assert_cmpuint (strlen (file), <=, 255);
  }
}

static void
test_repo_file (void)
{
  g_autofree char *id = bkt_copr_repo_id ("atim/starship");
  g_autofree char *file = bkt_copr_file_name ("atim/starship");
  g_autofree char *content = bkt_copr_repo_file ("atim/starship", TRUE, TRUE);
  g_autofree char *gid = bkt_copr_repo_id ("@copr/copr-dev");
  g_autofree char *gfile = bkt_copr_file_name ("@copr/copr-dev");
  g_autofree char *gcontent = bkt_copr_repo_file ("@copr/copr-dev", FALSE, FALSE);
  g_autofree char *back = NULL;

  g_assert_cmpstr (id, ==, "copr:copr.fedorainfracloud.org:atim:starship");
  g_assert_cmpstr (file, ==, "_copr:copr.fedorainfracloud.org:atim:starship.repo");
  g_assert_cmpstr (content, ==,
                   "[copr:copr.fedorainfracloud.org:atim:starship]\n"
                   "name=Copr repo for starship owned by atim\n"
                   "baseurl=https://download.copr.fedorainfracloud.org/results/atim/starship/fedora-$releasever-$basearch/\n"
                   "type=rpm-md\n"
                   "skip_if_unavailable=True\n"
                   "gpgcheck=1\n"
                   "gpgkey=https://download.copr.fedorainfracloud.org/results/atim/starship/pubkey.gpg\n"
                   "repo_gpgcheck=0\n"
                   "enabled=1\n"
                   "enabled_metadata=1\n");
  g_assert_cmpstr (gid, ==, "copr:copr.fedorainfracloud.org:group_copr:copr-dev");
  g_assert_cmpstr (gfile, ==, "_copr:copr.fedorainfracloud.org:group_copr:copr-dev.repo");
  g_assert_nonnull (strstr (gcontent, "[copr:copr.fedorainfracloud.org:group_copr:copr-dev]\n"
                                      "name=Copr repo for copr-dev owned by @copr\n"
                                      "baseurl=https://download.copr.fedorainfracloud.org/results/@copr/copr-dev/"));
  g_assert_nonnull (strstr (gcontent, "\ngpgcheck=0\n"));
  g_assert_nonnull (strstr (gcontent, "\nenabled=0\n"));

  back = bkt_copr_name_from_repo_id (gid);
  g_assert_cmpstr (back, ==, "@copr/copr-dev");
  g_free (back);
  back = bkt_copr_name_from_repo_id (file + 0);
  g_assert_cmpstr (back, ==, "atim/starship");
  g_free (back);
  back = bkt_copr_name_from_repo_id ("fedora");
  g_assert_null (back);
  back = bkt_copr_name_from_repo_id ("copr:copr.fedorainfracloud.org:..:x");
  g_assert_null (back);
  back = bkt_copr_name_from_repo_id ("copr:other.hub:a:b");
  g_assert_null (back);
}

static char *
repos_dir (const char *name)
{
  char *d = g_build_filename (tmp_dir, name, NULL);
  g_mkdir_with_parents (d, 0755);
  return d;
}

static void
test_scan_write_remove (void)
{
  g_autofree char *dir = repos_dir ("scan");
  g_autofree char *other = g_build_filename (dir, "fedora.repo", NULL);
  g_autofree char *bogus = g_build_filename (dir, "_copr:copr.fedorainfracloud.org:x:y.repo", NULL);
  g_autofree char *path = g_build_filename (dir, "_copr:copr.fedorainfracloud.org:atim:starship.repo", NULL);
  g_autofree char *text = NULL;
  g_autofree char *expected = bkt_copr_repo_file ("atim/starship", TRUE, FALSE);
  g_autoptr(JsonArray) live = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  bkt_test_write_file (other, "[fedora]\nenabled=1\n");
  /* A file whose section is not its name's repo is not ours. */
  bkt_test_write_file (bogus, "[something-else]\nenabled=1\n");
  g_assert_true (bkt_copr_write (dir, "atim/starship", TRUE, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);
  g_assert_true (bkt_copr_write (dir, "@g/p", FALSE, TRUE, &error));

  live = bkt_copr_scan (dir);
  g_assert_cmpuint (json_array_get_length (live), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (live, 0), "name"), ==, "@g/p");
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (live, 0), "enabled"));
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (live, 0), "gpg_check"));
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (live, 1), "name"), ==,
                   "atim/starship");
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (live, 1), "gpg_check"));

  /* Bad names never reach the file system, whatever the caller. */
  g_assert_false (bkt_copr_write (dir, "../../etc/x", TRUE, TRUE, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (bkt_copr_remove (dir, "a/b/c", &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (bkt_copr_remove (dir, "atim/starship", &error));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  /* Already gone is done. */
  g_assert_true (bkt_copr_remove (dir, "atim/starship", &error));
  g_assert_no_error (error);
  json_array_unref (g_steal_pointer (&live));
  live = bkt_copr_scan ("/nonexistent/dir");
  g_assert_cmpuint (json_array_get_length (live), ==, 0);
}

static BktManifest *
load (const char *json, GError **error)
{
  return bkt_manifest_load_data (BKT_MANIFEST_SYSTEM_PACKAGES, "system-packages.json", json, -1, error);
}

static char *
describe (GPtrArray *ops)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      JsonObject *d = bkt_operation_get_details (op);

      g_string_append_printf (s, "%s%s %s", i ? ";" : "", bkt_operation_get_action (op),
                              bkt_operation_get_target (op));
      if (json_object_has_member (d, "member"))
        {
          JsonObject *e = json_object_has_member (d, "entry") ? json_object_get_object_member (d, "entry") : NULL;
          g_string_append_printf (s, " [%s]", json_object_get_string_member (d, "member"));
          if (e != NULL)
            g_string_append_printf (s, " e=%d g=%d", json_object_get_boolean_member (e, "enabled"),
                                    json_object_get_boolean_member (e, "gpg_check"));
        }
      else
        g_string_append_printf (s, " e=%d g=%d", json_object_get_boolean_member (d, "enabled"),
                                json_object_get_boolean_member (d, "gpg_check"));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static JsonArray *
live_of (const char *json)
{
  g_autoptr(JsonNode) n = json_from_string (json, NULL);
  return json_array_ref (json_node_get_array (n));
}

/* bkt_copr_plan_change() with arguments in GVariant text. */
static gboolean
change (JsonArray *live, BktManifest *m, const char *action, const char *args, GPtrArray *ops, GError **error)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_parsed (args));
  return bkt_copr_plan_change (live, m, action, v, ops, error);
}

static void
test_plans (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifest) m = load ("{\"packages\": [], \"copr_repos\": ["
                                   "{\"name\": \"a/in-sync\", \"enabled\": true, \"gpg_check\": true},"
                                   "{\"name\": \"a/missing\"},"
                                   "{\"name\": \"a/off\", \"enabled\": false, \"gpg_check\": false}]}", &error);
  g_autoptr(JsonArray) live = live_of ("[{\"name\": \"a/in-sync\", \"enabled\": true, \"gpg_check\": true},"
                                       "{\"name\": \"a/off\", \"enabled\": true, \"gpg_check\": false},"
                                       "{\"name\": \"b/untracked\", \"enabled\": true, \"gpg_check\": false}]");
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonArray) st = NULL;
  g_autofree char *d = NULL;

  g_assert_no_error (error);
  bkt_copr_plan_apply (live, m, ops);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "copr-enable copr:a/missing e=1 g=1;copr-disable copr:a/off e=0 g=0");
  g_ptr_array_set_size (ops, 0);
  bkt_copr_plan_capture (live, m, ops);
  g_free (d);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "record copr:b/untracked [copr_repos] e=1 g=0");
  g_ptr_array_set_size (ops, 0);

  /* enable: the manifest's gpg_check stands unless given. */
  g_assert_true (change (live, m, "copr-enable", "{'name': <'a/off'>}", ops, &error));
  g_free (d);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "record copr:a/off [copr_repos] e=1 g=0");
  g_ptr_array_set_size (ops, 0);
  g_assert_true (change (live, m, "copr-enable", "{'name': <'c/new'>, 'gpg_check': <false>}", ops, &error));
  g_free (d);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "copr-enable copr:c/new e=1 g=0;record copr:c/new [copr_repos] e=1 g=0");
  g_ptr_array_set_size (ops, 0);
  g_assert_true (change (live, m, "copr-disable", "{'name': <'b/untracked'>}", ops, &error));
  g_free (d);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "copr-disable copr:b/untracked e=0 g=0;record copr:b/untracked [copr_repos] e=0 g=0");
  g_ptr_array_set_size (ops, 0);
  g_assert_true (change (live, m, "copr-remove", "{'name': <'a/in-sync'>}", ops, &error));
  g_free (d);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "copr-remove copr:a/in-sync e=0 g=1;forget copr:a/in-sync [copr_repos]");
  g_ptr_array_set_size (ops, 0);

  /* Refused: unknown project, bad names, bad options. */
  g_assert_false (change (live, m, "copr-disable", "{'name': <'z/z'>}", ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (change (live, m, "copr-enable", "{'name': <'-rf'>}", ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (change (live, m, "copr-enable", "{'name': <'a/b'>, 'gpg_check': <'no'>}", ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (change (live, m, "copr-remove", "{'name': <'a/in-sync'>, 'gpg_check': <true>}", ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (change (live, m, "copr-enable", "@a{sv} {}", ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (ops->len, ==, 0);

  st = bkt_copr_status (live, m);
  g_assert_cmpuint (json_array_get_length (st), ==, 4);
  {
    const char *expect[][2] = { { "a/in-sync", "in-sync" }, { "a/missing", "missing" }, { "a/off", "differs" },
                                { "b/untracked", "untracked" } };
    for (guint i = 0; i < 4; i++)
      {
        JsonObject *o = json_array_get_object_element (st, i);
        g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, expect[i][0]);
        g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, expect[i][1]);
      }
  }
}

typedef struct { GPtrArray *results; } Run;

static void
on_done (gpointer user_data, BktOperation *op, const GError *error)
{
  Run *run = user_data;
  g_ptr_array_add (run->results, g_strdup_printf ("%s=%s", bkt_operation_get_target (op),
                                                  error ? error->message : "ok"));
}

static void
test_execute (void)
{
  static const BktExecCallbacks callbacks = { NULL, on_done, NULL };
  g_autofree char *dir = repos_dir ("exec");
  g_autofree char *path = g_build_filename (dir, "_copr:copr.fedorainfracloud.org:atim:starship.repo", NULL);
  g_autofree char *text = NULL;
  g_autofree char *expected = bkt_copr_repo_file ("atim/starship", TRUE, TRUE);
  g_autoptr(BktManifest) m = load ("{\"packages\": [], \"copr_repos\": [{\"name\": \"atim/starship\"}]}", NULL);
  g_autoptr(JsonArray) live = bkt_copr_scan (dir);
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  Run run = { g_ptr_array_new_with_free_func (g_free) };
  BktExecContext *ctx = bkt_exec_context_new (&callbacks, &run);

  g_setenv ("BKT_YUM_REPOS_DIR", dir, TRUE);
  bkt_copr_plan_apply (live, m, ops);
  g_assert_cmpuint (ops->len, ==, 1);
  bkt_copr_execute (g_ptr_array_index (ops, 0), ctx);
  g_assert_cmpuint (run.results->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (run.results, 0), ==, "copr:atim/starship=ok");
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, expected);
  /* In sync now: nothing to do. */
  json_array_unref (live);
  live = bkt_copr_scan (dir);
  g_ptr_array_set_size (ops, 0);
  bkt_copr_plan_apply (live, m, ops);
  g_assert_cmpuint (ops->len, ==, 0);
  bkt_exec_context_free (ctx);
  g_ptr_array_unref (run.results);
  g_unsetenv ("BKT_YUM_REPOS_DIR");
}

static void
test_manifest_list (void)
{
  const char *file =
    "{\n"
    "  \"packages\": [\n"
    "    \"zsh\",\n"
    "    \"htop\"\n"
    "  ],\n"
    "  \"groups\": [],\n"
    "  \"excluded\": [],\n"
    "  \"copr_repos\": [\n"
    "    { \"name\": \"atim/starship\", \"enabled\": true, \"gpg_check\": true }\n"
    "  ]\n"
    "}\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifest) m = load (file, &error);
  g_autoptr(JsonObject) e = json_object_new ();
  g_autofree char *out = NULL;
  g_autofree char *out2 = NULL;

  g_assert_no_error (error);
  out = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (out, ==, file);
  g_free (out);

  json_object_set_string_member (e, "name", "@g/tools");
  json_object_set_boolean_member (e, "enabled", FALSE);
  json_object_set_boolean_member (e, "gpg_check", TRUE);
  bkt_manifest_apply_edit (m, "record", BKT_MANIFEST_COPR_MEMBER, e, NULL);
  out = bkt_manifest_to_data (m, NULL);
  /* Only the new entry's line: "packages" keeps its (unsorted) layout. */
  g_assert_cmpstr (out, ==,
                   "{\n"
                   "  \"packages\": [\n"
                   "    \"zsh\",\n"
                   "    \"htop\"\n"
                   "  ],\n"
                   "  \"groups\": [],\n"
                   "  \"excluded\": [],\n"
                   "  \"copr_repos\": [\n"
                   "    { \"name\": \"@g/tools\", \"enabled\": false, \"gpg_check\": true },\n"
                   "    { \"name\": \"atim/starship\", \"enabled\": true, \"gpg_check\": true }\n"
                   "  ]\n"
                   "}\n");

  /* Both lists edited at once: two in-place passes. */
  bkt_manifest_apply_edit (m, "forget", BKT_MANIFEST_COPR_MEMBER, NULL, "atim/starship");
  bkt_manifest_apply_edit (m, "forget", NULL, NULL, "htop");
  out2 = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (out2, ==,
                   "{\n"
                   "  \"packages\": [\n"
                   "    \"zsh\"\n"
                   "  ],\n"
                   "  \"groups\": [],\n"
                   "  \"excluded\": [],\n"
                   "  \"copr_repos\": [\n"
                   "    { \"name\": \"@g/tools\", \"enabled\": false, \"gpg_check\": true }\n"
                   "  ]\n"
                   "}\n");
  g_assert_nonnull (bkt_manifest_lookup_in (m, BKT_MANIFEST_COPR_MEMBER, "@g/tools"));
  g_assert_null (bkt_manifest_lookup_in (m, BKT_MANIFEST_COPR_MEMBER, "atim/starship"));
}

static void
test_manifest_invalid (void)
{
  const struct { const char *json; const char *where; } cases[] = {
    { "{\"copr_repos\": {}}", "1:16" },
    { "{\"copr_repos\": [\"a/b\"]}", "1:17" },
    { "{\"copr_repos\": [{\"enabled\": true}]}", "1:17" },
    { "{\"copr_repos\": [\n  {\"name\": \"../x\"}]}", "2:12" },
    { "{\"copr_repos\": [{\"name\": \"-rf/x\"}]}", "1:26" },
    { "{\"copr_repos\": [{\"name\": \"a/b\", \"gpg_check\": \"yes\"}]}", "" },
    { "{\"copr_repos\": [{\"name\": \"a/b\"}, {\"name\": \"a/b\"}]}", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(BktManifest) m = load (cases[i].json, &error);
      g_autofree char *prefix = g_strconcat ("system-packages.json:", cases[i].where, NULL);

      g_assert_null (m);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      g_assert_true (g_str_has_prefix (error->message, prefix));
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(BktTestDir) tmp = NULL;

  bkt_test_init (&argc, &argv);
  tmp = bkt_test_dir_new ("copr");
  tmp_dir = tmp->path;
  g_test_add_func ("/copr/names", test_names);
  g_test_add_func ("/copr/repo-file", test_repo_file);
  g_test_add_func ("/copr/scan-write-remove", test_scan_write_remove);
  g_test_add_func ("/copr/plans", test_plans);
  g_test_add_func ("/copr/execute", test_execute);
  g_test_add_func ("/copr/manifest-list", test_manifest_list);
  g_test_add_func ("/copr/manifest-invalid", test_manifest_invalid);
  return g_test_run ();
}
