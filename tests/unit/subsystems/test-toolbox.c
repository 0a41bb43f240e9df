/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-toolbox.h"
#include "bkt-test.h"

/* The pure parts of `bkt dev` (daemon/subsystems/toolbox/bkt-toolbox.c): container names,
 * the default name, the argv of each route into the container, toolbox's
 * `list` output, rpm's names, the missing/extra diff, and the subsystem's
 * change plan (records only). */

static void
assert_argv (char **argv, const char *const *expected)
{
  g_autofree char *got = g_strjoinv ("|", argv);
  g_autofree char *want = g_strjoinv ("|", (char **) expected);

  g_assert_cmpstr (got, ==, want);
}

static void
test_names (void)
{
  g_autofree char *long_name = g_strnfill (65, 'a');
  const char *good[] = { "fedora-toolbox-41", "dev", "my_box.2", "0x", NULL };
  const char *bad[] = { "", "-x", "--rm", ".x", "a;b", "a/b", "a b", "ä", long_name, NULL };

  for (guint i = 0; good[i] != NULL; i++)
    {
      g_autofree char *why = bkt_toolbox_check_name (good[i]);
      g_assert_null (why);
    }
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autofree char *why = bkt_toolbox_check_name (bad[i]);
      g_assert_nonnull (why);
    }
}

static void
test_default_name (void)
{
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *a = bkt_toolbox_default_name (NULL, "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=41\n", &error);
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autofree char *d = NULL;
  g_autofree char *e = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, "fedora-toolbox-41");
  b = bkt_toolbox_default_name (NULL, "ID=\"rhel\"\nVERSION_ID=\"9.4\"\n", &error);
  g_assert_cmpstr (b, ==, "rhel-toolbox-9.4");
  c = bkt_toolbox_default_name (NULL, "ID=debian\nVERSION_ID=\"12\"\n", &error);
  g_assert_null (c);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  json_object_set_string_member (config, "dev_container", "work");
  d = bkt_toolbox_default_name (config, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d, ==, "work");
  json_object_set_string_member (config, "dev_container", "-rf");
  e = bkt_toolbox_default_name (config, "ID=fedora\nVERSION_ID=41\n", &error);
  g_assert_null (e);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  json_object_set_int_member (config, "dev_container", 3);
  g_assert_null (bkt_toolbox_default_name (config, NULL, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
}

static void
test_argv (void)
{
  const char *names[] = { "gcc", "htop", NULL };
  const char *qa[] = { "rpm", "-qa", NULL };
  g_auto(GStrv) direct_user = bkt_toolbox_dnf_change_argv (BKT_TOOLBOX_ROUTE_DIRECT, NULL, "dev", FALSE, "/usr/bin/dnf5",
                                                           TRUE, names);
  g_auto(GStrv) direct_root = bkt_toolbox_dnf_change_argv (BKT_TOOLBOX_ROUTE_DIRECT, NULL, "dev", TRUE, "dnf", FALSE,
                                                           names);
  g_auto(GStrv) tb = bkt_toolbox_dnf_change_argv (BKT_TOOLBOX_ROUTE_TOOLBOX, "/usr/bin/toolbox", "dev", FALSE, "dnf",
                                                  TRUE, names);
  g_auto(GStrv) pm = bkt_toolbox_dnf_change_argv (BKT_TOOLBOX_ROUTE_PODMAN, "podman", "dev", FALSE, "dnf", FALSE,
                                                  names);
  g_auto(GStrv) tb_query = bkt_toolbox_wrap_argv (BKT_TOOLBOX_ROUTE_TOOLBOX, "toolbox", "dev", FALSE, FALSE, qa);
  g_auto(GStrv) direct_query = bkt_toolbox_wrap_argv (BKT_TOOLBOX_ROUTE_DIRECT, NULL, "dev", FALSE, FALSE, qa);
  g_autofree char *user_arg = g_strdup (g_get_user_name ());
  g_auto(GStrv) pm_query = bkt_toolbox_wrap_argv (BKT_TOOLBOX_ROUTE_PODMAN, "podman", "dev", FALSE, FALSE, qa);

  assert_argv (direct_user, (const char *[]) { "sudo", "/usr/bin/dnf5", "install", "-y", "--", "gcc", "htop", NULL });
  assert_argv (direct_root, (const char *[]) { "dnf", "remove", "-y", "--", "gcc", "htop", NULL });
  assert_argv (tb, (const char *[]) { "/usr/bin/toolbox", "run", "-c", "dev", "sudo", "dnf", "install", "-y", "--",
                                      "gcc", "htop", NULL });
  assert_argv (pm, (const char *[]) { "podman", "exec", "--user", "root", "dev", "dnf", "remove", "-y", "--",
                                      "gcc", "htop", NULL });
  assert_argv (tb_query, (const char *[]) { "toolbox", "run", "-c", "dev", "rpm", "-qa", NULL });
  assert_argv (direct_query, qa);
  assert_argv (pm_query, (const char *[]) { "podman", "exec", "--user", user_arg, "dev", "rpm", "-qa", NULL });
}

static void
test_parse_list (void)
{
  /* toolbox 0.0.99.5's `toolbox list --containers` (tabwriter, 2 spaces). */
  const char *out =
    "CONTAINER ID  CONTAINER NAME     CREATED        STATUS   IMAGE NAME\n"
    "3f5ad4e1d6a2  fedora-toolbox-39  2 weeks ago    exited   registry.fedoraproject.org/fedora-toolbox:39\n"
    "9c9a09e50532  dev                Less than a second ago  running  quay.io/me/dev:latest\n";
  g_autofree char *image = NULL;
  g_autofree char *image2 = NULL;

  g_assert_true (bkt_toolbox_parse_list (out, "fedora-toolbox-39", &image));
  g_assert_cmpstr (image, ==, "registry.fedoraproject.org/fedora-toolbox:39");
  g_assert_true (bkt_toolbox_parse_list (out, "dev", &image2));
  g_assert_cmpstr (image2, ==, "quay.io/me/dev:latest");
  g_assert_false (bkt_toolbox_parse_list (out, "fedora", NULL));
  g_assert_false (bkt_toolbox_parse_list (out, "CONTAINER", NULL));
  g_assert_false (bkt_toolbox_parse_list ("", "dev", NULL));
}

static void
test_installed_and_diff (void)
{
  g_auto(GStrv) installed = bkt_toolbox_parse_installed ("zsh\ngpg-pubkey\nbash\n\nkernel\nkernel\n  gcc \n");
  const char *wanted[] = { "gcc", "htop", "zsh", NULL };
  const char *base[] = { "bash", NULL };
  g_auto(GStrv) missing = NULL;
  g_auto(GStrv) extra = NULL;
  g_auto(GStrv) missing2 = NULL;
  g_auto(GStrv) extra2 = NULL;

  assert_argv (installed, (const char *[]) { "bash", "gcc", "kernel", "zsh", NULL });
  bkt_toolbox_diff (wanted, (const char * const *) installed, base, &missing, &extra);
  assert_argv (missing, (const char *[]) { "htop", NULL });
  assert_argv (extra, (const char *[]) { "kernel", NULL });
  bkt_toolbox_diff (wanted, (const char * const *) installed, NULL, &missing2, &extra2);
  assert_argv (extra2, (const char *[]) { "bash", "kernel", NULL });
}

static void
test_plan_change (void)
{
  g_autoptr(BktSubsystem) s = bkt_toolbox_new ();
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("toolbox");
  const char *dir = tmp->path;
  g_autofree char *file = g_build_filename (dir, "toolbox-packages.json", NULL);
  const char *bad[] = { "-rf", NULL };
  const char *pkgs[] = { "gcc", "htop", NULL };
  g_autoptr(GVariant) args = NULL;
  g_autoptr(GVariant) bad_args = NULL;
  g_autoptr(BktPlan) plan = NULL;

  bkt_test_write_file (file, "{\"packages\": [\"gcc\"]}\n");
  set = bkt_manifest_set_load_dir (dir, &error);
  g_assert_no_error (error);
  bad_args = g_variant_ref_sink (g_variant_new_parsed ("{'packages': <%^as>}", bad));
  g_assert_false (bkt_subsystem_plan_change (s, set, "add", bad_args, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  args = g_variant_ref_sink (g_variant_new_parsed ("{'packages': <%^as>}", pkgs));
  g_assert_false (bkt_subsystem_plan_change (s, set, "install", args, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_assert_cmpuint (ops->len, ==, 0);

  /* add: a record each; remove: a forget for what the manifest has */
  g_assert_true (bkt_subsystem_plan_change (s, set, "add", args, ops, &error));
  g_assert_cmpuint (ops->len, ==, 2);
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      g_assert_cmpstr (bkt_operation_get_action (op), ==, "record");
      g_assert_cmpstr (bkt_operation_get_detail_string (op, "manifest"), ==, "toolbox-packages");
    }
  g_ptr_array_set_size (ops, 0);
  g_assert_true (bkt_subsystem_plan_change (s, set, "remove", args, ops, &error));
  g_assert_cmpuint (ops->len, ==, 1);
  g_assert_cmpstr (bkt_operation_get_action (g_ptr_array_index (ops, 0)), ==, "forget");
  g_assert_cmpstr (bkt_operation_get_target (g_ptr_array_index (ops, 0)), ==, "package:gcc");

  /* the client's plan: live ops, then the edits */
  plan = bkt_toolbox_plan ("dev", TRUE, pkgs, TRUE);
  g_assert_cmpuint (bkt_plan_get_n_operations (plan), ==, 4);
  g_assert_cmpstr (bkt_operation_get_action (bkt_plan_get_operation (plan, 0)), ==, "install");
  g_assert_cmpstr (bkt_operation_get_action (bkt_plan_get_operation (plan, 3)), ==, "record");
}

/* `dnf repolist --all` as dnf4 prints it without a terminal (no name
 * column) and as dnf5 prints it (with names holding spaces): COPR
 * projects of the default hub only, group owners given back their '@'. */
static void
test_parse_coprs (void)
{
  const char *dnf4 =
    "repo id                                                                   status\n"
    "copr:copr.fedorainfracloud.org:group_devs:nightly                        disabled\n"
    "copr:copr.fedorainfracloud.org:bkt:tools                                 enabled\n"
    "copr:copr.fedorainfracloud.org:bkt:tools:ml                              enabled\n"
    "coprdep:fedora-39-x86_64                                                  enabled\n"
    "copr:copr.example.org:bkt:other                                           enabled\n"
    "fedora                                                                    enabled\n"
    "local                                                                     enabled\n";
  const char *dnf5 =
    "repo id                                    repo name                                status\n"
    "copr:copr.fedorainfracloud.org:bkt:tools   Copr repo for tools owned by bkt         enabled\n"
    "copr:copr.fedorainfracloud.org:x:-y        Copr repo for -y owned by x              enabled\n"
    "updates                                    Fedora 41 - x86_64 - Updates             disabled\n";
  g_autoptr(JsonArray) a = bkt_toolbox_parse_coprs (dnf4);
  g_autoptr(JsonArray) b = bkt_toolbox_parse_coprs (dnf5);
  g_autoptr(JsonArray) none = bkt_toolbox_parse_coprs ("");
  JsonObject *o;

  g_assert_cmpuint (json_array_get_length (a), ==, 2);
  o = json_array_get_object_element (a, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "@devs/nightly");
  g_assert_false (json_object_get_boolean_member (o, "enabled"));
  o = json_array_get_object_element (a, 1);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "bkt/tools");
  g_assert_true (json_object_get_boolean_member (o, "enabled"));
  /* a project bkt would refuse ("-y") is not one */
  g_assert_cmpuint (json_array_get_length (b), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (b, 0), "name"), ==, "bkt/tools");
  g_assert_cmpuint (json_array_get_length (none), ==, 0);
}

/* --pr of bkt dev copr: the session's part is the record in copr_repos
 * only, the manifest's gpg_check kept; a bad name is refused. */
static void
test_plan_copr_change (void)
{
  g_autoptr(BktSubsystem) s = bkt_toolbox_new ();
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("toolbox-copr");
  g_autofree char *file = g_build_filename (tmp->path, "toolbox-packages.json", NULL);
  g_autoptr(GVariant) bad = g_variant_ref_sink (g_variant_new_parsed ("{'name': <'-x/y'>}"));
  g_autoptr(GVariant) args = g_variant_ref_sink (g_variant_new_parsed ("{'name': <'bkt/tools'>}"));
  JsonObject *entry;

  bkt_test_write_file (file, "{\"packages\": [], \"copr_repos\": [{\"name\": \"bkt/tools\", \"gpg_check\": false}]}\n");
  set = bkt_manifest_set_load_dir (tmp->path, &error);
  g_assert_no_error (error);
  g_assert_false (bkt_subsystem_plan_change (s, set, "copr-enable", bad, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (ops->len, ==, 0);
  g_assert_true (bkt_subsystem_plan_change (s, set, "copr-disable", args, ops, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ops->len, ==, 1);
  g_assert_cmpstr (bkt_operation_get_action (g_ptr_array_index (ops, 0)), ==, "record");
  g_assert_cmpstr (bkt_operation_get_detail_string (g_ptr_array_index (ops, 0), "member"), ==, "copr_repos");
  entry = json_object_get_object_member (bkt_operation_get_details (g_ptr_array_index (ops, 0)), "entry");
  g_assert_nonnull (entry);
  g_assert_false (json_object_get_boolean_member (entry, "enabled"));
  g_assert_false (json_object_get_boolean_member (entry, "gpg_check"));
}

static void
test_copr_ops (void)
{
  g_autoptr(BktOperation) live = bkt_toolbox_copr_op ("dev", "bkt/tools", TRUE);
  g_autoptr(BktOperation) record = bkt_toolbox_copr_record_op ("bkt/tools", FALSE, TRUE);

  g_assert_cmpstr (bkt_operation_get_action (live), ==, "copr-enable");
  g_assert_cmpstr (bkt_operation_get_target (live), ==, "copr:bkt/tools");
  g_assert_cmpint (bkt_operation_get_effect (live), ==, BKT_EFFECT_LIVE);
  g_assert_cmpstr (bkt_operation_get_action (record), ==, "record");
  g_assert_cmpstr (bkt_operation_get_detail_string (record, "manifest"), ==, "toolbox-packages");
  g_assert_cmpstr (bkt_operation_get_detail_string (record, "member"), ==, "copr_repos");
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/toolbox/names", test_names);
  g_test_add_func ("/toolbox/default-name", test_default_name);
  g_test_add_func ("/toolbox/argv", test_argv);
  g_test_add_func ("/toolbox/parse-list", test_parse_list);
  g_test_add_func ("/toolbox/installed-diff", test_installed_and_diff);
  g_test_add_func ("/toolbox/plan-change", test_plan_change);
  g_test_add_func ("/toolbox/parse-coprs", test_parse_coprs);
  g_test_add_func ("/toolbox/copr-ops", test_copr_ops);
  g_test_add_func ("/toolbox/plan-copr-change", test_plan_copr_change);
  return g_test_run ();
}
