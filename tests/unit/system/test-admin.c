/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the admin subsystems' pure parts: bootc image references,
 * progress-v0 lines, host-v1 status documents, unit names, admin plans. */
#include "config.h"

#include "bkt-admin-ops.h"
#include "bkt-bootc.h"
#include "bkt-error.h"
#include "bkt-systemd.h"
#include "bkt-test.h"

static void
test_image_refs (void)
{
  const char *good[] = { "quay.io/fedora/fedora-bootc:41", "localhost:5000/os@sha256:0123abcd",
                         "/var/lib/images/os.tar", "registry.example.com/a/b_c-d.e:1+2", NULL };
  const char *bad[] = { "", "-x", "--help", "img;rm -rf /", "a b", "$(reboot)", "a|b", "a\nb", "`id`",
                        "a'b", "a\"b", "a>b", "a&b", "é", NULL };
  g_autofree char *long_ok = g_strnfill (BKT_BOOTC_MAX_IMAGE_LEN, 'a');
  g_autofree char *too_long = g_strnfill (BKT_BOOTC_MAX_IMAGE_LEN + 1, 'a');
  g_autoptr(GError) error = NULL;

  for (guint i = 0; good[i]; i++)
    g_assert_true (bkt_bootc_check_image (good[i], NULL));
  for (guint i = 0; bad[i]; i++)
    {
      g_assert_false (bkt_bootc_check_image (bad[i], &error));
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_true (bkt_bootc_check_image (long_ok, NULL));
  g_assert_false (bkt_bootc_check_image (too_long, NULL));
  g_assert_true (bkt_bootc_check_transport ("containers-storage", NULL));
  g_assert_false (bkt_bootc_check_transport ("docker", NULL));
  g_assert_false (bkt_bootc_check_transport ("", NULL));
}

static void
test_progress (void)
{
  double f;
  g_autofree char *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;

  g_assert_true (bkt_bootc_parse_progress ("{\"type\":\"Start\",\"version\":\"0.1.0\"}", &f, &d1));
  g_assert_cmpfloat (f, <, 0);
  g_assert_true (bkt_bootc_parse_progress (
    "{\"type\":\"ProgressBytes\",\"task\":\"pulling\",\"description\":\"Pulling image\",\"id\":\"x\","
    "\"bytesCached\":0,\"bytes\":5000000,\"bytesTotal\":20000000,\"stepsCached\":0,\"steps\":1,"
    "\"stepsTotal\":4,\"subtasks\":[]}", &f, &d2));
  g_assert_cmpfloat_with_epsilon (f, 0.25, 1e-9);
  /* g_format_size() separates with a no-break space */
  g_assert_nonnull (strstr (d2, "Pulling image: 5.0\u00a0MB / 20.0\u00a0MB, layer 2/4"));
  /* bytesTotal 0 means unspecified: layers give the fraction */
  g_assert_true (bkt_bootc_parse_progress (
    "{\"type\":\"ProgressBytes\",\"task\":\"pulling\",\"description\":\"\",\"id\":\"x\",\"bytesCached\":0,"
    "\"bytes\":5,\"bytesTotal\":0,\"stepsCached\":0,\"steps\":3,\"stepsTotal\":4,\"subtasks\":[]}", &f, &d3));
  g_assert_cmpfloat_with_epsilon (f, 0.75, 1e-9);
  g_assert_true (bkt_bootc_parse_progress (
    "{\"type\":\"ProgressSteps\",\"task\":\"staging\",\"description\":\"Staging image\",\"id\":\"x\","
    "\"stepsCached\":0,\"steps\":1,\"stepsTotal\":3,\"subtasks\":[{\"subtask\":\"a\",\"description\":\"Staging\","
    "\"id\":\"a\",\"completed\":true},{\"subtask\":\"b\",\"description\":\"Deploying\",\"id\":\"b\","
    "\"completed\":false}]}", &f, &d4));
  g_assert_cmpstr (d4, ==, "Staging image: step 1/3, Deploying");
  {
    g_autofree char *d = NULL;
    g_assert_false (bkt_bootc_parse_progress ("not json", &f, &d));
    g_assert_false (bkt_bootc_parse_progress ("{\"type\":\"Other\"}", &f, &d));
    g_assert_false (bkt_bootc_parse_progress ("[1]", &f, &d));
    g_assert_null (d);
  }
}

static void
test_status (void)
{
  const char *doc =
    "{\"apiVersion\":\"org.containers.bootc/v1\",\"kind\":\"BootcHost\",\"metadata\":{\"name\":\"host\"},"
    "\"spec\":{\"bootOrder\":\"default\",\"image\":{\"image\":\"quay.io/a/b:1\",\"transport\":\"registry\"}},"
    "\"status\":{\"staged\":{\"image\":{\"image\":{\"image\":\"quay.io/a/b:1\",\"transport\":\"registry\"},"
    "\"version\":\"2\",\"timestamp\":null,\"imageDigest\":\"sha256:22\",\"architecture\":\"x86_64\"},"
    "\"incompatible\":false,\"pinned\":false,"
    "\"ostree\":{\"checksum\":\"ab12\",\"deploySerial\":1,\"stateroot\":\"default\"}},"
    "\"booted\":{\"image\":{\"image\":{\"image\":\"quay.io/a/b:1\",\"transport\":\"registry\"},"
    "\"version\":\"1\",\"timestamp\":\"2026-11-01T00:00:00Z\",\"imageDigest\":\"sha256:11\","
    "\"architecture\":\"x86_64\"},\"cachedUpdate\":null,\"incompatible\":false,\"pinned\":true},"
    "\"rollback\":null,\"rollbackQueued\":false,\"type\":\"bootcHost\"}}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) st = bkt_bootc_status_from_json (doc, &error);
  JsonObject *booted;

  g_assert_no_error (error);
  booted = json_object_get_object_member (st, "booted");
  g_assert_cmpstr (json_object_get_string_member (booted, "image"), ==, "quay.io/a/b:1");
  g_assert_cmpstr (json_object_get_string_member (booted, "digest"), ==, "sha256:11");
  g_assert_cmpstr (json_object_get_string_member (booted, "version"), ==, "1");
  g_assert_true (json_object_get_boolean_member (booted, "pinned"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (st, "staged"), "version"), ==, "2");
  g_assert_true (json_object_get_null_member (json_object_get_object_member (st, "staged"), "timestamp"));
  g_assert_true (json_object_get_null_member (st, "rollback"));
  g_assert_true (json_object_get_boolean_member (st, "reboot_required"));
  /* where the staged deployment's files are (bkt upgrade); none given: null */
  {
    JsonObject *o = json_object_get_object_member (json_object_get_object_member (st, "staged"), "ostree");
    g_assert_cmpstr (json_object_get_string_member (o, "stateroot"), ==, "default");
    g_assert_cmpstr (json_object_get_string_member (o, "checksum"), ==, "ab12");
    g_assert_cmpint (json_object_get_int_member (o, "deploy_serial"), ==, 1);
    g_assert_true (json_object_get_null_member (booted, "ostree"));
  }
  g_assert_cmpstr (json_object_get_string_member (st, "type"), ==, "bootcHost");

  /* a host that is not bootc: everything null */
  {
    g_autoptr(JsonObject) empty = bkt_bootc_status_from_json (
      "{\"apiVersion\":\"org.containers.bootc/v1\",\"kind\":\"BootcHost\",\"status\":{\"booted\":null}}", &error);
    g_assert_no_error (error);
    g_assert_true (json_object_get_null_member (empty, "booted"));
    g_assert_false (json_object_get_boolean_member (empty, "reboot_required"));
  }
  g_assert_null (bkt_bootc_status_from_json ("{\"kind\":\"Other\"}", &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (bkt_bootc_status_from_json ("garbage", &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
}

static void
test_unit_names (void)
{
  const struct { const char *in, *out; } good[] = {
    { "sshd", "sshd.service" }, { "sshd.service", "sshd.service" }, { "getty@tty1", "getty@tty1.service" },
    { "fstrim.timer", "fstrim.timer" }, { "dev-disk-by\\x2duuid.device", "dev-disk-by\\x2duuid.device" },
    { "foo.bar", "foo.bar.service" }, { "a:b_c", "a:b_c.service" },
  };
  const char *bad[] = { "", "../etc/passwd.service", "-x.service", "a/b", ".service", "foo bar", "a;b",
                        "$(id)", "é.service", NULL };
  g_autofree char *long_name = g_strnfill (250, 'a');
  g_autofree char *too_long = g_strnfill (256, 'a');
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *n = bkt_systemd_normalize_unit (good[i].in, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (n, ==, good[i].out);
    }
  for (guint i = 0; bad[i]; i++)
    {
      g_autofree char *n = bkt_systemd_normalize_unit (bad[i], &error);
      g_assert_null (n);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  /* 250 + ".service" is over 255 */
  g_assert_null (bkt_systemd_normalize_unit (long_name, NULL));
  g_assert_null (bkt_systemd_normalize_unit (too_long, NULL));
}

static void
test_plans (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) none = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  g_autoptr(GVariant) now = g_variant_ref_sink (g_variant_new_parsed ("{'now': <true>}"));
  g_autoptr(GVariant) bogus = g_variant_ref_sink (g_variant_new_parsed ("{'force': <true>}"));
  const char *units[] = { "a", "b.socket", NULL };
  const char *no_units[] = { NULL };
  g_autoptr(BktPlan) p = bkt_admin_plan_systemctl ("enable", units, now, &error);
  g_autoptr(BktPlan) r = NULL;
  g_autoptr(BktPlan) s = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (bkt_plan_get_n_operations (p), ==, 2);
  g_assert_cmpstr (bkt_operation_get_id (bkt_plan_get_operation (p, 0)), ==, "systemd:enable:unit:a.service@system");
  g_assert_cmpstr (bkt_operation_get_summary (bkt_plan_get_operation (p, 1)), ==,
                   "Enable unit b.socket and start it");
  g_assert_null (bkt_admin_plan_systemctl ("enable", units, bogus, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (bkt_admin_plan_systemctl ("start", no_units, none, &error));
  g_clear_error (&error);
  g_assert_null (bkt_admin_plan_systemctl ("kill", units, none, &error));
  g_clear_error (&error);
  r = bkt_admin_plan_systemctl ("daemon-reload", no_units, none, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_plan_get_n_operations (r), ==, 1);

  s = bkt_admin_plan_bootc ("switch", "quay.io/a/b:2", none, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bkt_operation_get_detail_string (bkt_plan_get_operation (s, 0), "transport"), ==, "registry");
  g_assert_cmpint (bkt_operation_get_effect (bkt_plan_get_operation (s, 0)), ==, BKT_EFFECT_REBOOT);
  g_assert_null (bkt_admin_plan_bootc ("switch", "a b", none, &error));
  g_clear_error (&error);
  g_assert_null (bkt_admin_plan_bootc ("rollback", NULL, now, &error));
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/admin/bootc/image-refs", test_image_refs);
  g_test_add_func ("/admin/bootc/progress", test_progress);
  g_test_add_func ("/admin/bootc/status", test_status);
  g_test_add_func ("/admin/systemd/unit-names", test_unit_names);
  g_test_add_func ("/admin/plans", test_plans);
  return g_test_run ();
}
