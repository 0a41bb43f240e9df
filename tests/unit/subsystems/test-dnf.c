/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bkt-dnf.h"
#include "bkt-error.h"
#include "bkt-test.h"

/* The dnf subsystem against tests/doubles/rpm-ostree-double: plans from one
 * `status --json`, validation before any process, one batched call per
 * verb with the exact argv, per-operation results with rpm-ostree's
 * reason, and a machine without rpm-ostree. */

static BktTestDir *tmp;

static char *
path (const char *name)
{
  return bkt_test_dir_path (tmp, name);
}

static void
set_state (const char *json)
{
  g_autofree char *log = path ("log");

  bkt_test_dir_write (tmp, "state.json", json);
  g_unlink (log);
}

/* The double's log, one argv (JSON) per line. */
static char *
read_log (void)
{
  char *text = bkt_test_dir_read (tmp, "log");

  return text != NULL ? text : g_strdup ("");
}

static BktManifestSet *
manifests (const char *json)
{
  g_autofree char *dir = path ("m");
  g_autofree char *file = g_build_filename (dir, "system-packages.json", NULL);
  g_autoptr(GError) error = NULL;
  BktManifestSet *set;

  bkt_test_write_file (file, json);
  set = bkt_manifest_set_load_dir (dir, &error);
  g_assert_no_error (error);
  return set;
}

static BktSubsystem *
loaded (void)
{
  g_autoptr(GError) error = NULL;
  BktSubsystem *s = bkt_dnf_new ();

  g_assert_true (bkt_subsystem_load_live (s, NULL, &error));
  g_assert_no_error (error);
  return s;
}

/* "action target effect" per operation, ';'-joined. */
static char *
describe (GPtrArray *ops)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      g_string_append_printf (s, "%s%s %s %s", i ? ";" : "", bkt_operation_get_action (op),
                              bkt_operation_get_target (op), bkt_effect_to_string (bkt_operation_get_effect (op)));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_apply_capture_status (void)
{
  g_autoptr(BktSubsystem) s = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *d = NULL;
  g_autofree char *log = NULL;

  set_state ("{\"booted\": [\"a\", \"b\"], \"staged\": null, \"available\": null}");
  set = manifests ("{\"packages\": [\"c\", \"b\", \"d\"]}");
  s = loaded ();
  /* ONE status call for the whole request. */
  log = read_log ();
  g_assert_cmpstr (log, ==, "[\"status\", \"--json\"]\n");

  g_assert_true (bkt_subsystem_plan_apply (s, set, ops, warnings, &error));
  d = describe (ops);
  g_assert_cmpstr (d, ==, "install package:c reboot;install package:d reboot");
  g_assert_cmpuint (bkt_operation_get_scope (g_ptr_array_index (ops, 0)), ==, BKT_SCOPE_SYSTEM);

  g_ptr_array_set_size (ops, 0);
  g_assert_true (bkt_subsystem_plan_capture (s, set, ops, warnings, &error));
  g_free (d);
  d = describe (ops);
  /* Declared but not layered: a forget the engine keeps only when the
   * state record proves a removal here (bkt-sync.c, "needs_base"). */
  g_assert_cmpstr (d, ==, "record package:a manifest;forget package:c manifest;forget package:d manifest");
  g_assert_true (json_object_get_boolean_member (bkt_operation_get_details (g_ptr_array_index (ops, 1)),
                                                 "needs_base"));
  g_assert_cmpuint (warnings->len, ==, 0);

  st = bkt_subsystem_status (s, set, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (st, "tracked"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (st, "in_sync"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (st, "missing")), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (st, "untracked")), ==, 1);
  g_assert_false (json_object_get_boolean_member (st, "reboot_required"));
}

static void
test_staged_counts (void)
{
  g_autoptr(BktSubsystem) s = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *entries;

  set_state ("{\"booted\": [\"a\"], \"staged\": [\"a\", \"c\"], \"available\": null}");
  set = manifests ("{\"packages\": [\"a\", \"c\"]}");
  s = loaded ();
  /* What the next boot has is not drift: it needs a reboot, not another
   * deployment. */
  g_assert_true (bkt_subsystem_plan_apply (s, set, ops, warnings, &error));
  g_assert_cmpuint (ops->len, ==, 0);
  st = bkt_subsystem_status (s, set, &error);
  g_assert_true (json_object_get_boolean_member (st, "staged"));
  g_assert_true (json_object_get_boolean_member (st, "reboot_required"));
  entries = json_object_get_array_member (st, "entries");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 0), "state"), ==, "layered");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 1), "state"), ==,
                   "pending-reboot");
}

static gboolean
change (BktSubsystem *s, BktManifestSet *set, const char *action, const char * const *names, gboolean now,
        GPtrArray *ops, GError **error)
{
  GVariantBuilder b;
  g_autoptr(GVariant) args = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "packages", g_variant_new_strv (names, -1));
  g_variant_builder_add (&b, "{sv}", "now", g_variant_new_boolean (now));
  g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (TRUE));
  args = g_variant_ref_sink (g_variant_builder_end (&b));
  return bkt_subsystem_plan_change (s, set, action, args, ops, error);
}

static void
test_change_validation (void)
{
  g_autoptr(BktSubsystem) s = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autofree char *log = NULL;
  g_autofree char *d = NULL;
  g_autofree char *long_name = g_strnfill (300, 'a');
  const char *bad[][2] = { { "-rf", NULL }, { "htop; rm -rf /", NULL }, { "", NULL }, { long_name, NULL },
                           { "ok", "-x" } };
  const char *dup[] = { "x", "x", NULL };
  const char *none[] = { NULL };
  const char *add[] = { "a", "z", NULL };
  const char *rm[] = { "a", "m", NULL };
  const char *unknown[] = { "nowhere", NULL };

  set_state ("{\"booted\": [\"a\"], \"staged\": null, \"available\": null}");
  set = manifests ("{\"packages\": [\"m\"]}");
  s = loaded ();
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *names[3] = { bad[i][0], bad[i][1], NULL };
      g_assert_false (change (s, set, "add", names, FALSE, ops, &error));
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_false (change (s, set, "add", dup, FALSE, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (change (s, set, "add", none, FALSE, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (change (s, set, "remove", unknown, FALSE, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (ops->len, ==, 0);

  /* Already layered: recorded only.  --now: live. */
  g_assert_true (change (s, set, "add", add, TRUE, ops, &error));
  g_assert_no_error (error);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "install package:z live;record package:a manifest;record package:z manifest");
  g_ptr_array_set_size (ops, 0);
  g_assert_true (change (s, set, "remove", rm, FALSE, ops, &error));
  g_free (d);
  d = describe (ops);
  g_assert_cmpstr (d, ==, "uninstall package:a reboot;forget package:m manifest");

  /* Nothing but the one status ran. */
  log = read_log ();
  g_assert_cmpstr (log, ==, "[\"status\", \"--json\"]\n");
}

typedef struct {
  GPtrArray *results;
} Run;

static void
on_done (gpointer user_data, BktOperation *op, const GError *error)
{
  Run *run = user_data;
  g_ptr_array_add (run->results, g_strdup_printf ("%s=%s", bkt_operation_get_target (op),
                                                  error ? error->message : "ok"));
}

static char *
execute (BktSubsystem *s, GPtrArray *ops)
{
  static const BktExecCallbacks callbacks = { NULL, on_done, NULL };
  Run run = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(BktExecContext) ctx = bkt_exec_context_new (&callbacks, &run);
  g_autoptr(GError) error = NULL;
  char *out;

  g_assert_true (bkt_subsystem_execute (s, ops, ctx, NULL, &error));
  g_assert_no_error (error);
  g_ptr_array_add (run.results, NULL);
  out = g_strjoinv ("\n", (char **) run.results->pdata);
  g_ptr_array_unref (run.results);
  return out;
}

static void
test_execute_batched (void)
{
  g_autoptr(BktSubsystem) s = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) live = g_ptr_array_new ();
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *results = NULL;
  g_autofree char *log = NULL;
  g_autofree char *state = NULL;
  g_autofree char *state_path = path ("state.json");

  set_state ("{\"booted\": [\"old\"], \"staged\": null, \"available\": [\"x\", \"y\", \"old\"]}");
  set = manifests ("{\"packages\": [\"y\", \"x\"]}");
  s = loaded ();
  g_assert_true (bkt_subsystem_plan_apply (s, set, ops, warnings, &error));
  {
    const char *rm[] = { "old", NULL };
    g_assert_true (change (s, set, "remove", rm, FALSE, ops, &error));
  }
  for (guint i = 0; i < ops->len; i++)
    if (bkt_operation_get_effect (g_ptr_array_index (ops, i)) != BKT_EFFECT_MANIFEST)
      g_ptr_array_add (live, g_ptr_array_index (ops, i));
  results = execute (s, live);
  g_assert_cmpstr (results, ==, "package:old=ok\npackage:x=ok\npackage:y=ok");
  log = read_log ();
  /* Removals first, then ONE install for every package, then ONE status
   * read back for the plan (✓ only after the next boot shows the effect). */
  g_assert_cmpstr (log, ==,
                   "[\"status\", \"--json\"]\n"
                   "[\"uninstall\", \"--idempotent\", \"--\", \"old\"]\n"
                   "[\"install\", \"--idempotent\", \"--\", \"x\", \"y\"]\n"
                   "[\"status\", \"--json\"]\n");
  state = bkt_test_read_file (state_path);
  g_assert_nonnull (strstr (state, "\"staged\": [\"x\", \"y\"]"));
}

static void
test_execute_failure (void)
{
  g_autoptr(BktSubsystem) s = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *results = NULL;

  set_state ("{\"booted\": [], \"staged\": null, \"available\": [\"x\"]}");
  set = manifests ("{\"packages\": [\"x\", \"gone\"]}");
  s = loaded ();
  g_assert_true (bkt_subsystem_plan_apply (s, set, ops, warnings, &error));
  g_assert_cmpuint (ops->len, ==, 2);
  results = execute (s, ops);
  /* One call failed: each of its operations says so, with rpm-ostree's reason. */
  g_assert_nonnull (strstr (results, "package:gone=“"));
  g_assert_nonnull (strstr (results, "exited with status 1: error: Packages not found: gone"));
  g_assert_nonnull (strstr (results, "package:x=“"));
}

/* ✓ only after the effect is verified: an rpm-ostree that says it worked
 * and changed nothing (its status still without the package) fails the
 * operation, with the reason; a status that cannot be read back too. */
static void
test_execute_unverified (void)
{
  g_autoptr(BktSubsystem) s = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *results = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("BKT_RPM_OSTREE"));
  g_autofree char *liar = path ("rpm-ostree-liar");
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\n"
                                             "# says it installed, installs nothing\n"
                                             "if [ \"$1\" = install ]; then echo 'Added: x'; exit 0; fi\n"
                                             "exec '%s' \"$@\"\n", saved);

  bkt_test_write_file (liar, script);
  g_assert_cmpint (g_chmod (liar, 0755), ==, 0);
  g_setenv ("BKT_RPM_OSTREE", liar, TRUE);
  set_state ("{\"booted\": [], \"staged\": null, \"available\": [\"x\"]}");
  set = manifests ("{\"packages\": [\"x\"]}");
  s = loaded ();
  g_assert_true (bkt_subsystem_plan_apply (s, set, ops, warnings, &error));
  g_assert_cmpuint (ops->len, ==, 1);
  results = execute (s, ops);
  g_assert_cmpstr (results, ==, "package:x=rpm-ostree reported success, but the next boot does not request x");
  g_setenv ("BKT_RPM_OSTREE", saved, TRUE);
}

static void
test_unavailable (void)
{
  g_autoptr(BktSubsystem) s = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("BKT_RPM_OSTREE"));
  const char *add[] = { "x", NULL };

  g_setenv ("BKT_RPM_OSTREE", "/nonexistent/rpm-ostree", TRUE);
  set = manifests ("{\"packages\": [\"x\"]}");
  s = loaded ();
  g_assert_true (bkt_subsystem_plan_apply (s, set, ops, warnings, &error));
  g_assert_cmpuint (ops->len, ==, 0);
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (warnings, 0), "not an rpm-ostree system"));
  st = bkt_subsystem_status (s, set, &error);
  g_assert_false (json_object_get_boolean_member (st, "available"));
  g_assert_false (change (s, set, "add", add, FALSE, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  /* A failing status is no worse than a missing rpm-ostree. */
  g_clear_object (&s);
  g_ptr_array_set_size (warnings, 0);
  g_setenv ("BKT_RPM_OSTREE", "/bin/false", TRUE);
  s = loaded ();
  g_assert_true (bkt_subsystem_plan_apply (s, set, ops, warnings, &error));
  g_assert_cmpuint (ops->len, ==, 0);
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (warnings, 0), "rpm-ostree status failed"));
  g_setenv ("BKT_RPM_OSTREE", saved, TRUE);
}

int
main (int argc, char **argv)
{
  g_autofree char *dbl = NULL;
  g_autofree char *state = NULL;
  g_autofree char *log = NULL;
  int ret;

  bkt_test_init (&argc, &argv);
  tmp = bkt_test_dir_new ("dnf");
  dbl = bkt_test_double_path ("rpm-ostree-double");
  state = path ("state.json");
  log = path ("log");
  g_setenv ("BKT_RPM_OSTREE", dbl, TRUE);
  g_setenv ("RPM_OSTREE_DOUBLE_STATE", state, TRUE);
  g_setenv ("RPM_OSTREE_DOUBLE_LOG", log, TRUE);
  /* --force everywhere: existence checks are test-packages' and the
   * integration test's (real dnf); no dnf may run here. */
  g_setenv ("BKT_DNF", "/nonexistent/dnf", TRUE);

  g_test_add_func ("/dnf/apply-capture-status", test_apply_capture_status);
  g_test_add_func ("/dnf/staged-counts", test_staged_counts);
  g_test_add_func ("/dnf/change-validation", test_change_validation);
  g_test_add_func ("/dnf/execute-batched", test_execute_batched);
  g_test_add_func ("/dnf/execute-failure", test_execute_failure);
  g_test_add_func ("/dnf/execute-unverified", test_execute_unverified);
  g_test_add_func ("/dnf/unavailable", test_unavailable);
  ret = g_test_run ();

  bkt_test_dir_free (tmp);
  return ret;
}
