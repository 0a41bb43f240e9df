/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The drift watcher's settings (issue 17): config.json written with one
 * member changed and the others kept, the "ignore" list, and the one
 * verdict on what is ignored that both bkt status and the watcher use. */
#include "config.h"

#include <sys/stat.h>

#include "bkt-config.h"
#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-test.h"
#include "bkt-watcher.h"
#include "bkt-watcher-notify.h"

static char *config_dir;

static JsonObject *
read_config (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = bkt_config_path ();
  JsonObject *o = bkt_config_load_file (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (o);
  return o;
}

static void
write_config (const char *text)
{
  bkt_test_write_in (config_dir, "bkt/config.json", text);
}

static void
test_set_member_keeps_the_others (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) yes = json_node_new (JSON_NODE_VALUE);
  g_autoptr(JsonObject) config = NULL;
  g_autofree char *path = bkt_config_path ();
  struct stat st;

  write_config ("{ \"repo\": \"~/src/distro\", \"fork\": \"never\", \"nested\": {\"a\": [1, 2]} }\n");
  json_node_set_boolean (yes, TRUE);
  g_assert_true (bkt_config_set_member ("watch", yes, &error));
  g_assert_no_error (error);
  config = read_config ();
  g_assert_cmpstr (bkt_json_object_get_string (config, "repo"), ==, "~/src/distro");
  g_assert_cmpstr (bkt_json_object_get_string (config, "fork"), ==, "never");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_object_get_object_member (config, "nested"), "a")), ==, 2);
  g_assert_true (json_object_get_boolean_member (config, "watch"));
  g_assert_true (bkt_watcher_configured (&error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
test_set_member_leaves_a_broken_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) yes = json_node_new (JSON_NODE_VALUE);
  g_autofree char *path = bkt_config_path ();
  g_autofree char *after = NULL;
  const char *broken = "{ \"repo\": \"~/src/distro\", \n";

  write_config (broken);
  json_node_set_boolean (yes, TRUE);
  g_assert_false (bkt_config_set_member ("watch", yes, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "config.json"));
  after = bkt_test_read_file (path);
  g_assert_cmpstr (after, ==, broken);
}

static void
test_watch_must_be_boolean (void)
{
  g_autoptr(GError) error = NULL;

  write_config ("{ \"watch\": \"yes\" }\n");
  g_assert_false (bkt_watcher_configured (&error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  write_config ("{}\n");
  g_assert_false (bkt_watcher_configured (&error));
  g_assert_no_error (error);
}

static void
test_ignore_merges_sorted_once (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) config = NULL;
  g_auto(GStrv) ignored = NULL;
  const char *first[] = { "gsetting:b.k", "flatpak:org.a", NULL };
  const char *second[] = { "flatpak:org.a", "extension:x@y", NULL };

  write_config ("{ \"watch\": true }\n");
  g_assert_true (bkt_watch_ignore (first, &error));
  g_assert_true (bkt_watch_ignore (second, &error));
  g_assert_no_error (error);
  ignored = bkt_watcher_ignored ();
  g_assert_cmpuint (g_strv_length (ignored), ==, 3);
  g_assert_cmpstr (ignored[0], ==, "extension:x@y");
  g_assert_cmpstr (ignored[1], ==, "flatpak:org.a");
  g_assert_cmpstr (ignored[2], ==, "gsetting:b.k");
  config = read_config ();
  g_assert_true (json_object_get_boolean_member (config, "watch"));
}

static JsonObject *
parse (const char *text)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (p, text, -1, &error));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static void
test_mark_ignored_only_what_changed_here (void)
{
  g_autoptr(JsonObject) status = parse (
    "{\"subsystems\": {\"gsettings\": {\"drift\": ["
    "  {\"target\": \"gsetting:a.here\", \"direction\": \"capture\"},"
    "  {\"target\": \"gsetting:a.there\", \"direction\": \"apply\"},"
    "  {\"target\": \"gsetting:a.both\", \"direction\": \"conflict\"},"
    "  {\"target\": \"gsetting:a.other\", \"direction\": \"capture\"}],"
    " \"untracked\": []},"
    " \"flatpak\": {\"drift\": [], \"untracked\": [{\"target\": \"flatpak:org.x\"}]}}}");
  JsonArray *drift, *untracked, *ignored;

  write_config ("{ \"ignore\": [\"gsetting:a.here\", \"gsetting:a.there\", \"gsetting:a.both\", \"flatpak:org.x\"] }\n");
  bkt_watcher_mark_ignored (status);
  drift = json_object_get_array_member (json_object_get_object_member (json_object_get_object_member (status, "subsystems"), "gsettings"), "drift");
  untracked = json_object_get_array_member (json_object_get_object_member (json_object_get_object_member (status, "subsystems"), "flatpak"), "untracked");
  /* changed here (and on both sides): ignored; changed in the manifests:
   * never, whatever the list says */
  g_assert_true (json_object_get_boolean_member_with_default (json_array_get_object_element (drift, 0), "ignored", FALSE));
  g_assert_false (json_object_has_member (json_array_get_object_element (drift, 1), "ignored"));
  g_assert_true (json_object_get_boolean_member_with_default (json_array_get_object_element (drift, 2), "ignored", FALSE));
  g_assert_false (json_object_has_member (json_array_get_object_element (drift, 3), "ignored"));
  g_assert_true (json_object_get_boolean_member_with_default (json_array_get_object_element (untracked, 0), "ignored", FALSE));
  ignored = json_object_get_array_member (status, "ignored");
  g_assert_cmpuint (json_array_get_length (ignored), ==, 3);
}

int
main (int argc, char **argv)
{
  g_autoptr(BktTestDir) dir = NULL;
  int rc;

  bkt_test_init (&argc, &argv);
  dir = bkt_test_dir_new ("watcher");
  config_dir = bkt_test_dir_mkdir (dir, "config");
  /* before anything asks GLib for the user's directories (it caches them) */
  g_setenv ("XDG_CONFIG_HOME", config_dir, TRUE);
  g_test_add_func ("/watcher/config/set-member-keeps-the-others", test_set_member_keeps_the_others);
  g_test_add_func ("/watcher/config/set-member-leaves-a-broken-file", test_set_member_leaves_a_broken_file);
  g_test_add_func ("/watcher/config/watch-must-be-boolean", test_watch_must_be_boolean);
  g_test_add_func ("/watcher/ignore/merges-sorted-once", test_ignore_merges_sorted_once);
  g_test_add_func ("/watcher/ignore/only-what-changed-here", test_mark_ignored_only_what_changed_here);
  rc = g_test_run ();
  g_free (config_dir);
  return rc;
}
