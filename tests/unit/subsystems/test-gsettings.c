/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-gsettings.h"
#include "bkt-manifest.h"
#include "bkt-test.h"

/* Real GSettings (keyfile backend) with the schemas in tests/data/schemas,
 * compiled at startup into a private directory.  The environment is set
 * before anything touches GSettings: GLib reads it only once. */

static const char *tmp_root;     /* XDG_CONFIG_HOME, compiled schemas, manifests */
static guint manifest_counter;

/* org.bkt.many, generated at startup: more keys than one GSettings
 * change notification may name (GLib asserts fewer than 256). */
#define N_MANY_KEYS 300

typedef struct
{
  char         *dir;       /* this test's manifest directory */
  BktSubsystem *gs;
} Fixture;

/* ── GSettings helpers (the test's own view of the live state) ─────────── */

static GSettings *
settings_new (const char *schema_id, const char *path)
{
  g_autoptr(GSettingsSchema) schema =
    g_settings_schema_source_lookup (g_settings_schema_source_get_default (), schema_id, TRUE);

  g_assert_nonnull (schema);
  return g_settings_new_full (schema, NULL, path);
}

static void
live_set (const char *schema_id, const char *path, const char *key, const char *text)
{
  g_autoptr(GSettings) settings = settings_new (schema_id, path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = g_variant_parse (NULL, text, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (g_settings_set_value (settings, key, value));
  g_settings_sync ();
}

static char *
live_get (const char *schema_id, const char *path, const char *key)
{
  g_autoptr(GSettings) settings = settings_new (schema_id, path);
  g_autoptr(GVariant) value = g_settings_get_value (settings, key);

  return g_variant_print (value, TRUE);
}

static gboolean
live_is_default (const char *schema_id, const char *path, const char *key)
{
  g_autoptr(GSettings) settings = settings_new (schema_id, path);
  g_autoptr(GVariant) value = g_settings_get_user_value (settings, key);

  return value == NULL;
}

static void
reset_schema (const char *schema_id, const char *path)
{
  g_autoptr(GSettings) settings = settings_new (schema_id, path);
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (gsize i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
  g_settings_sync ();
}

/* GSettings queues change notifications on the main context; dispatch them
 * so they do not pile up (and hold references) across tests. */
static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ── fixture ───────────────────────────────────────────────────────────── */

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  reset_schema ("org.bkt.test", NULL);
  reset_schema ("org.bkt.test.other", NULL);
  reset_schema ("org.bkt.test.reloc", "/org/bkt/reloc/a/");
  reset_schema ("org.bkt.test.reloc", "/org/bkt/reloc/b/");
  drain_main_context ();

  fx->dir = g_strdup_printf ("%s/manifests-%u", tmp_root, ++manifest_counter);
  g_assert_cmpint (g_mkdir_with_parents (fx->dir, 0700), ==, 0);
  fx->gs = bkt_gsettings_new ();
  g_assert_true (bkt_subsystem_load_live (fx->gs, NULL, NULL));
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = g_build_filename (fx->dir, "gsettings.json", NULL);

  g_clear_object (&fx->gs);
  (void) g_unlink (file);
  (void) g_rmdir (fx->dir);
  g_free (fx->dir);
  drain_main_context ();
}

/* A fresh subsystem: each one reads the live state once. */
static void
fixture_reload (Fixture *fx)
{
  drain_main_context ();
  g_clear_object (&fx->gs);
  fx->gs = bkt_gsettings_new ();
  g_assert_true (bkt_subsystem_load_live (fx->gs, NULL, NULL));
}

static BktManifestSet *
manifests_new (Fixture *fx, const char *settings_json)
{
  g_autofree char *file = g_build_filename (fx->dir, "gsettings.json", NULL);
  g_autofree char *doc = g_strdup_printf ("{\"settings\": [%s]}\n", settings_json);
  g_autoptr(GError) error = NULL;
  BktManifestSet *set;

  bkt_test_write_file (file, doc);
  set = bkt_manifest_set_load_dir (fx->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (set);
  return set;
}

/* ── planning helpers ──────────────────────────────────────────────────── */

static GPtrArray *
plan_apply (Fixture *fx, BktManifestSet *set, GPtrArray *warnings)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_assert_true (bkt_subsystem_plan_apply (fx->gs, set, ops, warnings, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&ops);
}

static GPtrArray *
plan_capture (Fixture *fx, BktManifestSet *set, GPtrArray *warnings)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_assert_true (bkt_subsystem_plan_capture (fx->gs, set, ops, warnings, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&ops);
}

/* @args_text: a{sv} in GVariant text, e.g. "{'schema': <'org.bkt.test'>}". */
static gboolean
plan_change (Fixture *fx, BktManifestSet *set, const char *action, const char *args_text,
             GPtrArray *ops, GError **error)
{
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GVariant) args = g_variant_parse (G_VARIANT_TYPE_VARDICT, args_text, NULL, NULL, &parse_error);

  g_assert_no_error (parse_error);
  return bkt_subsystem_plan_change (fx->gs, set, action, args, ops, error);
}

static GPtrArray *
change_ok (Fixture *fx, BktManifestSet *set, const char *action, const char *args_text)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_assert_true (plan_change (fx, set, action, args_text, ops, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&ops);
}

/* Fails with @code, leaves no operation behind; the message is returned. */
static char *
change_fails (Fixture *fx, BktManifestSet *set, const char *action, const char *args_text, BktError code)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_assert_false (plan_change (fx, set, action, args_text, ops, &error));
  g_assert_error (error, BKT_ERROR, (gint) code);
  g_assert_cmpuint (ops->len, ==, 0);
  return g_strdup (error->message);
}

static BktOperation *
find_op (GPtrArray *ops, const char *action, const char *target)
{
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      if (strcmp (bkt_operation_get_action (op), action) == 0 &&
          strcmp (bkt_operation_get_target (op), target) == 0)
        return op;
    }
  g_error ("no operation %s %s among %u", action, target, ops->len);
  return NULL;
}

static JsonObject *
record_entry (BktOperation *op)
{
  JsonNode *node = json_object_get_member (bkt_operation_get_details (op), "entry");

  g_assert_nonnull (node);
  return json_node_get_object (node);
}

static void
assert_in (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” does not contain “%s”", haystack, needle);
}

/* ── execution (in a worker thread, as the daemon does) ────────────────── */

typedef struct
{
  BktSubsystem *gs;
  GPtrArray    *ops;
  GCancellable *cancellable;
  GPtrArray    *results;   /* "target: ok" or "target: message" */
  guint         n_progress;
  gboolean      ok;
  GError       *error;
} ExecRun;

static void
on_progress (gpointer user_data, BktOperation *op, double fraction, const char *detail)
{
  ExecRun *run = user_data;
  run->n_progress++;
}

static void
on_op_done (gpointer user_data, BktOperation *op, const GError *error)
{
  ExecRun *run = user_data;
  g_ptr_array_add (run->results, g_strdup_printf ("%s: %s", bkt_operation_get_target (op),
                                                  error != NULL ? error->message : "ok"));
}

static gpointer
exec_thread (gpointer data)
{
  static const BktExecCallbacks callbacks = { on_progress, on_op_done, NULL };
  ExecRun *run = data;
  g_autoptr(BktExecContext) ctx = bkt_exec_context_new (&callbacks, run);

  run->ok = bkt_subsystem_execute (run->gs, run->ops, ctx, run->cancellable, &run->error);
  return NULL;
}

static void
exec_run (ExecRun *run)
{
  run->results = g_ptr_array_new_with_free_func (g_free);
  g_thread_join (g_thread_new ("exec", exec_thread, run));
  g_assert_cmpuint (run->results->len, ==, run->ops->len);
  drain_main_context ();
}

/* Only the live operations: "record"/"forget" are the engine's. */
static GPtrArray *
execute (Fixture *fx, GPtrArray *ops)
{
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func (g_object_unref);
  ExecRun run = { fx->gs, live, NULL };

  for (guint i = 0; i < ops->len; i++)
    if (bkt_operation_get_effect (g_ptr_array_index (ops, i)) != BKT_EFFECT_MANIFEST)
      g_ptr_array_add (live, g_object_ref (g_ptr_array_index (ops, i)));
  exec_run (&run);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  g_assert_cmpuint (run.n_progress, ==, 2 * live->len);
  return run.results;
}

static BktOperation *
set_op (const char *schema_id, const char *key, const char *value, const char *action)
{
  g_autoptr(JsonObject) details = json_object_new ();
  g_autofree char *target = g_strdup_printf ("gsetting:%s.%s", schema_id, key);

  json_object_set_string_member (details, "schema", schema_id);
  json_object_set_string_member (details, "key", key);
  json_object_set_string_member (details, "value", value);
  return bkt_operation_new ("gsettings", action, target, BKT_SCOPE_USER, BKT_EFFECT_LIVE, NULL, details);
}

/* The executor re-validates (the plan may be older than the schemas) and
 * gives every operation a result. */
static void
test_execute_errors (Fixture *fx, gconstpointer data)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  ExecRun run = { fx->gs, ops, NULL };
  ExecRun cancelled = { fx->gs, ops, cancellable };
  g_autofree char *count = NULL, *name = NULL;

  g_ptr_array_add (ops, set_op ("org.bkt.test", "count", "1000", "set"));
  g_ptr_array_add (ops, set_op ("org.example.absent", "foo", "1", "set"));
  g_ptr_array_add (ops, set_op ("org.bkt.test", "count", "1", "frobnicate"));
  g_ptr_array_add (ops, set_op ("org.bkt.test", "name", "'done'", "set"));
  exec_run (&run);
  g_assert_no_error (run.error);
  g_assert_true (run.ok);
  g_assert_cmpstr (g_ptr_array_index (run.results, 0), ==, "gsetting:org.bkt.test.count: value '1000' is out of "
                   "range for org.bkt.test count: it must be between 0 and 100");
  g_assert_cmpstr (g_ptr_array_index (run.results, 1), ==,
                   "gsetting:org.example.absent.foo: schema org.example.absent is not installed");
  g_assert_cmpstr (g_ptr_array_index (run.results, 2), ==,
                   "gsetting:org.bkt.test.count: gsettings cannot execute “frobnicate”");
  g_assert_cmpstr (g_ptr_array_index (run.results, 3), ==, "gsetting:org.bkt.test.name: ok");
  count = live_get ("org.bkt.test", NULL, "count");
  name = live_get ("org.bkt.test", NULL, "name");
  g_assert_cmpstr (count, ==, "10");
  g_assert_cmpstr (name, ==, "'done'");
  g_ptr_array_unref (run.results);

  live_set ("org.bkt.test", NULL, "name", "'before'");
  g_cancellable_cancel (cancellable);
  exec_run (&cancelled);
  g_assert_false (cancelled.ok);
  g_assert_error (cancelled.error, BKT_ERROR, BKT_ERROR_CANCELLED);
  g_assert_cmpstr (g_ptr_array_index (cancelled.results, 3), ==, "gsetting:org.bkt.test.name: cancelled");
  g_free (name);
  name = live_get ("org.bkt.test", NULL, "name");
  g_assert_cmpstr (name, ==, "'before'");
  g_clear_error (&cancelled.error);
  g_ptr_array_unref (cancelled.results);
}

/* ── apply ─────────────────────────────────────────────────────────────── */

static const char all_kinds_manifest[] =
  "{\"schema\": \"org.bkt.test\", \"key\": \"name\", \"value\": \"'hello'\"},"
  "{\"schema\": \"org.bkt.test\", \"key\": \"enabled\", \"value\": \"true\"},"
  "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"42\", \"comment\": \"the answer\"},"
  "{\"schema\": \"org.bkt.test\", \"key\": \"mode\", \"value\": \"'auto'\"},"
  "{\"schema\": \"org.bkt.test\", \"key\": \"clock-format\", \"value\": \"'12h'\"},"
  "{\"schema\": \"org.bkt.test\", \"key\": \"tags\", \"value\": \"['a', 'b']\"},"
  "{\"schema\": \"org.bkt.test\", \"key\": \"ratio\", \"value\": \"2.5\"},"
  "{\"schema\": \"org.bkt.test\", \"key\": \"size\", \"value\": \"uint32 7\"}";

static void
test_apply_ops (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, all_kinds_manifest);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) ops = plan_apply (fx, set, warnings);
  BktOperation *op;
  JsonObject *details;

  g_assert_cmpuint (ops->len, ==, 8);
  g_assert_cmpuint (warnings->len, ==, 0);

  op = find_op (ops, "set", "gsetting:org.bkt.test.clock-format");
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Set gsetting:org.bkt.test.clock-format ('24h' → '12h')");
  g_assert_cmpstr (bkt_operation_get_subsystem (op), ==, "gsettings");
  g_assert_cmpint (bkt_operation_get_effect (op), ==, BKT_EFFECT_LIVE);
  g_assert_cmpint (bkt_operation_get_scope (op), ==, BKT_SCOPE_USER);
  details = bkt_operation_get_details (op);
  g_assert_cmpstr (json_object_get_string_member (details, "schema"), ==, "org.bkt.test");
  g_assert_cmpstr (json_object_get_string_member (details, "key"), ==, "clock-format");
  g_assert_cmpstr (json_object_get_string_member (details, "value"), ==, "'12h'");
  g_assert_cmpstr (json_object_get_string_member (details, "previous"), ==, "'24h'");
  g_assert_false (json_object_has_member (details, "path"));

  g_assert_cmpstr (bkt_operation_get_summary (find_op (ops, "set", "gsetting:org.bkt.test.count")), ==,
                   "Set gsetting:org.bkt.test.count (10 → 42)");
  g_assert_cmpstr (bkt_operation_get_summary (find_op (ops, "set", "gsetting:org.bkt.test.enabled")), ==,
                   "Set gsetting:org.bkt.test.enabled (false → true)");
  g_assert_cmpstr (bkt_operation_get_summary (find_op (ops, "set", "gsetting:org.bkt.test.tags")), ==,
                   "Set gsetting:org.bkt.test.tags (@as [] → ['a', 'b'])");
  g_assert_cmpstr (bkt_operation_get_summary (find_op (ops, "set", "gsetting:org.bkt.test.ratio")), ==,
                   "Set gsetting:org.bkt.test.ratio (1.5 → 2.5)");
  g_assert_cmpstr (bkt_operation_get_summary (find_op (ops, "set", "gsetting:org.bkt.test.size")), ==,
                   "Set gsetting:org.bkt.test.size (uint32 0 → uint32 7)");
  g_assert_cmpstr (bkt_operation_get_summary (find_op (ops, "set", "gsetting:org.bkt.test.mode")), ==,
                   "Set gsetting:org.bkt.test.mode ('off' → 'auto')");
}

static void
test_apply_in_sync (Fixture *fx, gconstpointer data)
{
  /* The manifest's text differs from GLib's canonical form: values are
   * compared as GVariants, never as strings. */
  g_autoptr(BktManifestSet) set = manifests_new (fx,
    "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"  int32   42 \"},"
    "{\"schema\": \"org.bkt.test\", \"key\": \"name\", \"value\": \"\\\"hello\\\"\"},"
    "{\"schema\": \"org.bkt.test\", \"key\": \"ratio\", \"value\": \"1.5\"}");
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(JsonObject) status = NULL;

  live_set ("org.bkt.test", NULL, "count", "42");
  live_set ("org.bkt.test", NULL, "name", "'hello'");
  fixture_reload (fx);
  ops = plan_apply (fx, set, NULL);
  g_assert_cmpuint (ops->len, ==, 0);

  status = bkt_subsystem_status (fx->gs, set, NULL);
  g_assert_nonnull (status);
  g_assert_cmpint (json_object_get_int_member (status, "tracked"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (status, "in_sync"), ==, 3);
}

static void
test_apply_execute (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, all_kinds_manifest);
  g_autoptr(GPtrArray) ops = plan_apply (fx, set, NULL);
  g_autoptr(GPtrArray) results = execute (fx, ops);
  g_autoptr(GPtrArray) again = NULL;
  g_autofree char *keyfile_path = g_build_filename (tmp_root, "glib-2.0", "settings", "keyfile", NULL);
  g_autofree char *keyfile = NULL;
  g_autofree char *name = NULL, *tags = NULL, *mode = NULL, *size = NULL;

  for (guint i = 0; i < results->len; i++)
    g_assert_true (g_str_has_suffix (g_ptr_array_index (results, i), ": ok"));

  name = live_get ("org.bkt.test", NULL, "name");
  tags = live_get ("org.bkt.test", NULL, "tags");
  mode = live_get ("org.bkt.test", NULL, "mode");
  size = live_get ("org.bkt.test", NULL, "size");
  g_assert_cmpstr (name, ==, "'hello'");
  g_assert_cmpstr (tags, ==, "['a', 'b']");
  g_assert_cmpstr (mode, ==, "'auto'");
  g_assert_cmpstr (size, ==, "uint32 7");

  /* g_settings_sync() in execute: the values are on disk already. */
  g_assert_true (g_file_get_contents (keyfile_path, &keyfile, NULL, NULL));
  assert_in (keyfile, "[org/bkt/test]");
  assert_in (keyfile, "count=42");
  assert_in (keyfile, "name='hello'");

  fixture_reload (fx);
  again = plan_apply (fx, set, NULL);
  g_assert_cmpuint (again->len, ==, 0);
}

static void
test_apply_missing_schema_or_key (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx,
    "{\"schema\": \"org.example.absent\", \"key\": \"foo\", \"value\": \"1\"},"
    "{\"schema\": \"org.bkt.test\", \"key\": \"no-such-key\", \"value\": \"1\"},"
    "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"5\"}");
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) ops = plan_apply (fx, set, warnings);
  g_autoptr(JsonObject) status = NULL;
  JsonArray *unknown;

  /* The rest still plans. */
  g_assert_cmpuint (ops->len, ==, 1);
  find_op (ops, "set", "gsetting:org.bkt.test.count");
  g_assert_cmpuint (warnings->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (warnings, 0), ==,
                   "gsetting org.bkt.test no-such-key: schema org.bkt.test has no key no-such-key; skipped");
  g_assert_cmpstr (g_ptr_array_index (warnings, 1), ==,
                   "gsetting org.example.absent foo: schema org.example.absent is not installed; skipped");

  status = bkt_subsystem_status (fx->gs, set, NULL);
  g_assert_cmpint (json_object_get_int_member (status, "tracked"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (status, "in_sync"), ==, 0);
  /* Their own state, never in sync. */
  unknown = json_object_get_array_member (status, "unknown");
  g_assert_cmpuint (json_array_get_length (unknown), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (unknown, 1), "target"), ==,
                   "gsetting:org.example.absent.foo");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (unknown, 0), "key"), ==,
                   "no-such-key");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (unknown, 1), "reason"), ==,
                   "schema org.example.absent is not installed");
}

static void
test_apply_invalid_entry (Fixture *fx, gconstpointer data)
{
  static const char *const entries[] = {
    "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"'many'\"}",
    "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"1000\"}",
    "{\"schema\": \"org.bkt.test\", \"key\": \"mode\", \"value\": \"'sideways'\"}",
    "{\"schema\": \"org.bkt.test.reloc\", \"key\": \"level\", \"value\": \"1\"}",
  };
  static const char *const expected[] = {
    "value ''many'' is not a valid int32 for org.bkt.test count",
    "value '1000' is out of range for org.bkt.test count: it must be between 0 and 100",
    "allowed values are 'off', 'on', 'auto'",
    "schema org.bkt.test.reloc is relocatable",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      g_autoptr(BktManifestSet) set = manifests_new (fx, entries[i]);
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GError) error = NULL;

      g_assert_false (bkt_subsystem_plan_apply (fx->gs, set, ops, NULL, &error));
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      g_test_message ("%s", error->message);
      assert_in (error->message, "gsettings.json");
      assert_in (error->message, expected[i]);
      g_assert_cmpuint (ops->len, ==, 0);
    }
}

/* ── change ────────────────────────────────────────────────────────────── */

static void
test_change_set (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, "");
  g_autoptr(GPtrArray) ops = change_ok (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <'int32 50'>, 'comment': <'why not'>}");
  g_autoptr(GPtrArray) unquoted = NULL, same = NULL, results = NULL;
  g_autofree char *count = NULL;
  BktOperation *record;
  JsonObject *entry;

  g_assert_cmpuint (ops->len, ==, 2);
  g_assert_cmpstr (bkt_operation_get_action (g_ptr_array_index (ops, 0)), ==, "set");
  g_assert_cmpstr (bkt_operation_get_summary (g_ptr_array_index (ops, 0)), ==,
                   "Set gsetting:org.bkt.test.count (10 → 50)");
  record = find_op (ops, "record", "gsetting:org.bkt.test.count");
  g_assert_cmpstr (bkt_operation_get_summary (record), ==, "Record gsetting:org.bkt.test.count = 50");
  g_assert_cmpint (bkt_operation_get_effect (record), ==, BKT_EFFECT_MANIFEST);
  g_assert_cmpstr (bkt_operation_get_detail_string (record, "key"), ==, "org.bkt.test count");
  entry = record_entry (record);
  g_assert_cmpstr (json_object_get_string_member (entry, "schema"), ==, "org.bkt.test");
  g_assert_cmpstr (json_object_get_string_member (entry, "key"), ==, "count");
  g_assert_cmpstr (json_object_get_string_member (entry, "value"), ==, "50");
  g_assert_cmpstr (json_object_get_string_member (entry, "comment"), ==, "why not");
  g_assert_false (json_object_has_member (entry, "path"));

  results = execute (fx, ops);
  g_assert_cmpstr (g_ptr_array_index (results, 0), ==, "gsetting:org.bkt.test.count: ok");
  count = live_get ("org.bkt.test", NULL, "count");
  g_assert_cmpstr (count, ==, "50");

  /* Live already matches: only the manifest changes. */
  fixture_reload (fx);
  same = change_ok (fx, set, "set", "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <'50'>}");
  g_assert_cmpuint (same->len, ==, 1);
  g_assert_cmpstr (bkt_operation_get_action (g_ptr_array_index (same, 0)), ==, "record");

  /* As `gsettings set`: a string value may come without its quotes. */
  unquoted = change_ok (fx, set, "set", "{'schema': <'org.bkt.test'>, 'key': <'clock-format'>, 'value': <'12h'>}");
  g_assert_cmpstr (bkt_operation_get_summary (g_ptr_array_index (unquoted, 0)), ==,
                   "Set gsetting:org.bkt.test.clock-format ('24h' → '12h')");
  g_assert_cmpstr (json_object_get_string_member (record_entry (g_ptr_array_index (unquoted, 1)), "value"), ==,
                   "'12h'");
}

static void
test_change_unknown_schema (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, "");
  g_autofree char *typo = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.tset'>, 'key': <'count'>, 'value': <'1'>}", BKT_ERROR_NOT_FOUND);
  g_autofree char *prefix = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.te'>, 'key': <'count'>, 'value': <'1'>}", BKT_ERROR_NOT_FOUND);
  g_autofree char *far = change_fails (fx, set, "set",
    "{'schema': <'com.example.Nothing'>, 'key': <'count'>, 'value': <'1'>}", BKT_ERROR_NOT_FOUND);
  g_autofree char *capture = change_fails (fx, set, "capture", "{'schema': <'org.bkt.tesst'>}",
                                           BKT_ERROR_NOT_FOUND);

  g_assert_cmpstr (typo, ==, "schema org.bkt.tset is not installed; did you mean org.bkt.test?");
  g_assert_cmpstr (prefix, ==, "schema org.bkt.te is not installed; did you mean one of "
                               "org.bkt.test, org.bkt.test.other, org.bkt.test.reloc?");
  g_assert_cmpstr (far, ==, "schema com.example.Nothing is not installed");
  g_assert_cmpstr (capture, ==, "schema org.bkt.tesst is not installed; did you mean org.bkt.test?");
}

static void
test_change_unknown_key (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, "");
  g_autofree char *typo = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'cuont'>, 'value': <'1'>}", BKT_ERROR_NOT_FOUND);
  g_autofree char *unset = change_fails (fx, set, "unset",
    "{'schema': <'org.bkt.test'>, 'key': <'nmae'>}", BKT_ERROR_NOT_FOUND);

  g_assert_cmpstr (typo, ==, "schema org.bkt.test has no key cuont; did you mean count?");
  g_assert_cmpstr (unset, ==, "schema org.bkt.test has no key nmae; did you mean name?");
}

static void
test_change_invalid_value (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, "");
  g_autofree char *type = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <'abc'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *boolean = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'enabled'>, 'value': <'yes'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *array = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'tags'>, 'value': <'[1, 2]'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *range = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <'101'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *negative = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <'-1'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *enum_value = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'mode'>, 'value': <\"'sideways'\">}", BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *choice = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'clock-format'>, 'value': <'13h'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_autoptr(GPtrArray) edge = change_ok (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <'100'>}");

  g_assert_true (g_str_has_prefix (type, "value 'abc' is not a valid int32 for org.bkt.test count: "));
  g_assert_true (g_str_has_prefix (boolean, "value 'yes' is not a valid boolean for org.bkt.test enabled: "));
  g_assert_true (g_str_has_prefix (array, "value '[1, 2]' is not a valid string array for org.bkt.test tags: "));
  g_assert_cmpstr (range, ==, "value '101' is out of range for org.bkt.test count: it must be between 0 and 100");
  g_assert_cmpstr (negative, ==, "value '-1' is out of range for org.bkt.test count: it must be between 0 and 100");
  g_assert_cmpstr (enum_value, ==, "value ''sideways'' is out of range for org.bkt.test mode: "
                                   "allowed values are 'off', 'on', 'auto'");
  g_assert_cmpstr (choice, ==, "value '13h' is out of range for org.bkt.test clock-format: "
                               "allowed values are '24h', '12h'");
  g_assert_cmpuint (edge->len, ==, 2);
}

static void
test_change_relocatable (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, "");
  g_autofree char *no_path = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test.reloc'>, 'key': <'level'>, 'value': <'3'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *fixed = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <'3'>, 'path': <'/org/bkt/x/'>}",
    BKT_ERROR_INVALID_ARGUMENT);
  g_autofree char *bad_path = change_fails (fx, set, "set",
    "{'schema': <'org.bkt.test.reloc'>, 'key': <'level'>, 'value': <'3'>, 'path': <'/org//bkt/'>}",
    BKT_ERROR_INVALID_ARGUMENT);
  g_autoptr(GPtrArray) ops = change_ok (fx, set, "set",
    "{'schema': <'org.bkt.test.reloc'>, 'key': <'level'>, 'value': <'3'>, 'path': <'/org/bkt/reloc/a/'>}");
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *level_a = NULL, *level_b = NULL;
  BktOperation *op;

  assert_in (no_path, "relocatable");
  assert_in (fixed, "fixed path /org/bkt/test/");
  assert_in (bad_path, "'/org//bkt/'");

  g_assert_cmpuint (ops->len, ==, 2);
  op = find_op (ops, "set", "gsetting:org.bkt.test.reloc:/org/bkt/reloc/a/.level");
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Set gsetting:org.bkt.test.reloc:/org/bkt/reloc/a/.level (0 → 3)");
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "path"), ==, "/org/bkt/reloc/a/");
  op = find_op (ops, "record", "gsetting:org.bkt.test.reloc:/org/bkt/reloc/a/.level");
  g_assert_cmpstr (json_object_get_string_member (record_entry (op), "path"), ==, "/org/bkt/reloc/a/");
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "key"), ==, "org.bkt.test.reloc:/org/bkt/reloc/a/ level");

  results = execute (fx, ops);
  level_a = live_get ("org.bkt.test.reloc", "/org/bkt/reloc/a/", "level");
  level_b = live_get ("org.bkt.test.reloc", "/org/bkt/reloc/b/", "level");
  g_assert_cmpstr (level_a, ==, "3");
  g_assert_cmpstr (level_b, ==, "0");

  /* Apply plans per path too. */
  {
    g_autoptr(BktManifestSet) reloc = manifests_new (fx,
      "{\"schema\": \"org.bkt.test.reloc\", \"key\": \"level\", \"value\": \"3\", \"path\": \"/org/bkt/reloc/a/\"},"
      "{\"schema\": \"org.bkt.test.reloc\", \"key\": \"level\", \"value\": \"4\", \"path\": \"/org/bkt/reloc/b/\"}");
    g_autoptr(GPtrArray) apply = NULL;

    fixture_reload (fx);
    apply = plan_apply (fx, reloc, NULL);
    g_assert_cmpuint (apply->len, ==, 1);
    g_assert_cmpstr (bkt_operation_get_summary (g_ptr_array_index (apply, 0)), ==,
                     "Set gsetting:org.bkt.test.reloc:/org/bkt/reloc/b/.level (0 → 4)");
  }
}

static void
test_change_arguments (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, "");
  g_autoptr(GString) big = g_string_new ("'");
  g_autofree char *big_args = NULL, *msg = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GVariant) not_a_dict = NULL;

  msg = change_fails (fx, set, "set", "{'schema': <'-org.bkt.test'>, 'key': <'count'>, 'value': <'1'>}",
                      BKT_ERROR_INVALID_ARGUMENT);
  assert_in (msg, "must not start with '-'");
  g_free (msg);
  msg = change_fails (fx, set, "set", "{'schema': <'org.bkt.test'>, 'key': <'--help'>, 'value': <'1'>}",
                      BKT_ERROR_INVALID_ARGUMENT);
  assert_in (msg, "key '--help' must not start with '-'");
  g_free (msg);
  msg = change_fails (fx, set, "unset", "{'schema': <'-x'>, 'key': <'count'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_free (msg);
  msg = change_fails (fx, set, "set", "{'schema': <'org.bkt.test'>, 'value': <'1'>}", BKT_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (msg, ==, "missing argument “key”");
  g_free (msg);
  msg = change_fails (fx, set, "set", "{'schema': <'org.bkt.test'>, 'key': <'count'>, 'value': <int32 1>}",
                      BKT_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (msg, ==, "argument “value” must be a string, not i");
  g_free (msg);
  msg = change_fails (fx, set, "frobnicate", "@a{sv} {}", BKT_ERROR_NOT_SUPPORTED);
  assert_in (msg, "frobnicate");
  g_free (msg);

  /* Over 64 KiB: refused before parsing. */
  for (guint i = 0; i < 70 * 1024; i++)
    g_string_append_c (big, 'x');
  g_string_append_c (big, '\'');
  big_args = g_strdup_printf ("{'schema': <'org.bkt.test'>, 'key': <'name'>, 'value': <\"%s\">}", big->str);
  msg = change_fails (fx, set, "set", big_args, BKT_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (msg, ==, "value is longer than 65536 bytes");

  not_a_dict = g_variant_ref_sink (g_variant_new_string ("x"));
  g_assert_false (bkt_subsystem_plan_change (fx->gs, set, "set", not_a_dict, ops, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
}

static void
test_change_unset (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx,
    "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"42\"},"
    "{\"schema\": \"org.example.gone\", \"key\": \"foo\", \"value\": \"1\"}");
  g_autoptr(GPtrArray) ops = NULL, nothing = NULL, gone = NULL, results = NULL;
  BktOperation *op;

  live_set ("org.bkt.test", NULL, "count", "42");
  fixture_reload (fx);
  ops = change_ok (fx, set, "unset", "{'schema': <'org.bkt.test'>, 'key': <'count'>}");
  g_assert_cmpuint (ops->len, ==, 2);
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpstr (bkt_operation_get_action (op), ==, "reset");
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Reset gsetting:org.bkt.test.count to its default (10)");
  g_assert_cmpint (bkt_operation_get_effect (op), ==, BKT_EFFECT_LIVE);
  op = g_ptr_array_index (ops, 1);
  g_assert_cmpstr (bkt_operation_get_action (op), ==, "forget");
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "key"), ==, "org.bkt.test count");

  results = execute (fx, ops);
  g_assert_cmpstr (g_ptr_array_index (results, 0), ==, "gsetting:org.bkt.test.count: ok");
  g_assert_true (live_is_default ("org.bkt.test", NULL, "count"));

  /* Neither set nor tracked: nothing to do. */
  fixture_reload (fx);
  nothing = change_ok (fx, set, "unset", "{'schema': <'org.bkt.test'>, 'key': <'name'>}");
  g_assert_cmpuint (nothing->len, ==, 0);

  /* A tracked entry whose schema this machine lacks can still be forgotten. */
  gone = change_ok (fx, set, "unset", "{'schema': <'org.example.gone'>, 'key': <'foo'>}");
  g_assert_cmpuint (gone->len, ==, 1);
  g_assert_cmpstr (bkt_operation_get_action (g_ptr_array_index (gone, 0)), ==, "forget");
}

/* ── capture and status ────────────────────────────────────────────────── */

static void
test_capture (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx,
    "{\"schema\": \"org.bkt.test\", \"key\": \"name\", \"value\": \"'manifest'\", \"comment\": \"keep me\"},"
    "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"42\"},"
    "{\"schema\": \"org.bkt.test\", \"key\": \"gone-key\", \"value\": \"1\"},"
    "{\"schema\": \"org.example.gone\", \"key\": \"foo\", \"value\": \"1\"}");
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) ops = NULL, widened = NULL;
  BktOperation *op;
  JsonObject *entry;

  live_set ("org.bkt.test", NULL, "name", "'by hand'");      /* tracked, changed */
  live_set ("org.bkt.test", NULL, "count", "42");            /* tracked, in sync */
  live_set ("org.bkt.test", NULL, "enabled", "true");        /* untracked key of a tracked schema */
  live_set ("org.bkt.test.other", NULL, "color", "'red'");   /* untracked schema: noise */
  fixture_reload (fx);

  ops = plan_capture (fx, set, warnings);
  g_assert_cmpuint (ops->len, ==, 2);
  op = find_op (ops, "record", "gsetting:org.bkt.test.name");
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Update gsetting:org.bkt.test.name: 'manifest' → 'by hand'");
  entry = record_entry (op);
  g_assert_cmpstr (json_object_get_string_member (entry, "value"), ==, "'by hand'");
  g_assert_cmpstr (json_object_get_string_member (entry, "comment"), ==, "keep me");
  op = find_op (ops, "record", "gsetting:org.bkt.test.enabled");
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Record gsetting:org.bkt.test.enabled = true");
  entry = record_entry (op);
  g_assert_cmpstr (json_object_get_string_member (entry, "value"), ==, "true");
  g_assert_false (json_object_has_member (entry, "comment"));

  g_assert_cmpuint (warnings->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (warnings, 0), ==,
                   "gsetting org.bkt.test gone-key: schema org.bkt.test has no key gone-key; not captured");
  g_assert_cmpstr (g_ptr_array_index (warnings, 1), ==,
                   "gsetting org.example.gone foo: schema org.example.gone is not installed; not captured");

  /* `bkt gsetting capture org.bkt.test.other` widens capture to it. */
  widened = change_ok (fx, set, "capture", "{'schema': <'org.bkt.test.other'>}");
  g_assert_cmpuint (widened->len, ==, 1);
  op = g_ptr_array_index (widened, 0);
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Record gsetting:org.bkt.test.other.color = 'red'");
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "key"), ==, "org.bkt.test.other color");
}

static void
test_status (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx,
    "{\"schema\": \"org.bkt.test\", \"key\": \"count\", \"value\": \"42\"},"
    "{\"schema\": \"org.bkt.test\", \"key\": \"name\", \"value\": \"'x'\"},"
    "{\"schema\": \"org.bkt.test.reloc\", \"key\": \"level\", \"value\": \"2\", \"path\": \"/org/bkt/reloc/a/\"}");
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *untracked;
  JsonObject *item;

  live_set ("org.bkt.test", NULL, "count", "42");
  live_set ("org.bkt.test", NULL, "ratio", "3.0");
  live_set ("org.bkt.test.reloc", "/org/bkt/reloc/a/", "label", "'A'");
  live_set ("org.bkt.test.reloc", "/org/bkt/reloc/b/", "label", "'B'");  /* path not tracked */
  live_set ("org.bkt.test.other", NULL, "color", "'red'");               /* schema not tracked */
  fixture_reload (fx);

  status = bkt_subsystem_status (fx->gs, set, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (status, "tracked"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (status, "in_sync"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "unknown")), ==, 0);
  untracked = json_object_get_array_member (status, "untracked");
  g_assert_cmpuint (json_array_get_length (untracked), ==, 2);
  item = json_array_get_object_element (untracked, 0);
  g_assert_cmpstr (json_object_get_string_member (item, "target"), ==, "gsetting:org.bkt.test.ratio");
  g_assert_cmpstr (json_object_get_string_member (item, "value"), ==, "3.0");
  g_assert_cmpstr (json_object_get_string_member (item, "summary"), ==, "gsetting:org.bkt.test.ratio = 3.0");
  item = json_array_get_object_element (untracked, 1);
  g_assert_cmpstr (json_object_get_string_member (item, "target"), ==, "gsetting:org.bkt.test.reloc:/org/bkt/reloc/a/.label");
}

/* ── many keys of one schema ───────────────────────────────────────────── */

static char *
many_key (guint i)
{
  return g_strdup_printf ("key-%03u", i);
}

/* One batch changing N_MANY_KEYS keys of one schema: execute must split
 * it, or GSettings aborts the process when the change set is announced to
 * the GSettings objects watching the schema (the planner's and ours). */
static void
test_apply_many (Fixture *fx, gconstpointer data)
{
  g_autoptr(GSettings) watcher = settings_new ("org.bkt.many", NULL);
  g_autoptr(GString) json = g_string_new (NULL);
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) ops = NULL, results = NULL, again = NULL, reset_results = NULL;
  g_autoptr(GPtrArray) resets = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < N_MANY_KEYS; i++)
    {
      g_autofree char *key = many_key (i);

      g_string_append_printf (json, "%s{\"schema\": \"org.bkt.many\", \"key\": \"%s\", \"value\": \"%u\"}",
                              i > 0 ? "," : "", key, i + 1);
      g_ptr_array_add (resets, set_op ("org.bkt.many", key, "0", "reset"));
    }
  set = manifests_new (fx, json->str);
  ops = plan_apply (fx, set, NULL);
  g_assert_cmpuint (ops->len, ==, N_MANY_KEYS);
  results = execute (fx, ops);
  for (guint i = 0; i < results->len; i++)
    g_assert_true (g_str_has_suffix (g_ptr_array_index (results, i), ": ok"));
  for (guint i = 0; i < N_MANY_KEYS; i++)
    {
      g_autofree char *key = many_key (i);
      g_autofree char *value = live_get ("org.bkt.many", NULL, key);
      g_autofree char *expected = g_strdup_printf ("%u", i + 1);

      g_assert_cmpstr (value, ==, expected);
    }
  fixture_reload (fx);
  again = plan_apply (fx, set, NULL);
  g_assert_cmpuint (again->len, ==, 0);

  /* Resets are changes too, and leave the schema clean for other tests. */
  reset_results = execute (fx, resets);
  for (guint i = 0; i < N_MANY_KEYS; i++)
    {
      g_autofree char *key = many_key (i);
      g_autofree char *expected = g_strdup_printf ("gsetting:org.bkt.many.%s: ok", key);

      g_assert_cmpstr (g_ptr_array_index (reset_results, i), ==, expected);
      g_assert_true (live_is_default ("org.bkt.many", NULL, key));
    }
}

/* ── concurrency, as in the daemon ─────────────────────────────────────── */

/* The daemon's main thread runs a main loop while requests plan, report
 * status and execute in worker threads, any number at a time.  With
 * GSettings used from those threads directly, this crashed ("double free
 * or corruption", use after free under ASan) or lost writes to the
 * keyfile backend's reload about one run in six. */
#define N_PLANNERS    4
#define N_ROUNDS      50
#define N_STRESS_KEYS 100

typedef struct
{
  const char *dir;        /* the manifests */
  char       *keyfile;
  GMainLoop  *loop;
  gint        running;    /* threads not done yet */
  guint       n_rewrites;
} Stress;

static void
check_all_ok (GPtrArray *results)
{
  for (guint i = 0; i < results->len; i++)
    if (!g_str_has_suffix (g_ptr_array_index (results, i), ": ok"))
      g_error ("%s", (const char *) g_ptr_array_index (results, i));
}

/* stress_tick() sees it and ends the main loop: quitting from here could
 * come before the loop runs, and be lost. */
static void
stress_thread_done (Stress *st)
{
  g_atomic_int_add (&st->running, -1);
  g_main_context_wakeup (NULL);
}

static gpointer
planner_thread (gpointer data)
{
  Stress *st = data;

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(BktManifestSet) set = bkt_manifest_set_load_dir (st->dir, &error);
      g_autoptr(BktSubsystem) gs = bkt_gsettings_new ();
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GPtrArray) captured = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GVariant) args = g_variant_ref_sink (g_variant_new_parsed (
        "{'schema': <'org.bkt.test'>, 'key': <'ratio'>, 'value': <'2.5'>}"));
      g_autoptr(JsonObject) status = NULL;

      g_assert_no_error (error);
      g_assert_true (bkt_subsystem_load_live (gs, NULL, &error));
      g_assert_true (bkt_subsystem_plan_apply (gs, set, ops, NULL, &error));
      for (guint i = 0; i < ops->len; i++)
        g_assert_cmpstr (bkt_operation_get_action (g_ptr_array_index (ops, i)), ==, "set");
      status = bkt_subsystem_status (gs, set, &error);
      g_assert_no_error (error);
      g_assert_nonnull (status);
      g_assert_cmpint (json_object_get_int_member (status, "tracked"), ==, 8);
      g_assert_true (bkt_subsystem_plan_capture (gs, set, captured, NULL, &error));
      g_assert_true (bkt_subsystem_plan_change (gs, set, "set", args, changed, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (changed->len, >=, 1);
    }
  stress_thread_done (st);
  return NULL;
}

static gpointer
executor_thread (gpointer data)
{
  static const BktExecCallbacks callbacks = { on_progress, on_op_done, NULL };
  Stress *st = data;

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      g_autoptr(BktSubsystem) gs = bkt_gsettings_new ();
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *count = g_strdup_printf ("%u", round);
      g_autofree char *name = g_strdup_printf ("'round %u'", round);
      g_autoptr(GError) error = NULL;
      ExecRun run = { gs, ops, NULL, results };
      g_autoptr(BktExecContext) ctx = bkt_exec_context_new (&callbacks, &run);

      g_ptr_array_add (ops, set_op ("org.bkt.test", "count", count, "set"));
      g_ptr_array_add (ops, set_op ("org.bkt.test", "name", name, "set"));
      g_ptr_array_add (ops, set_op ("org.bkt.test", "enabled", round % 2 ? "true" : "false", "set"));
      g_ptr_array_add (ops, set_op ("org.bkt.test", "tags", "['a', 'b']", round % 2 ? "set" : "reset"));
      /* A bigger keyfile makes each write and reload last longer. */
      for (guint i = 0; i < N_STRESS_KEYS; i++)
        {
          g_autofree char *key = many_key (i);
          g_ptr_array_add (ops, set_op ("org.bkt.many", key, count, "set"));
        }
      g_assert_true (bkt_subsystem_load_live (gs, NULL, &error));
      g_assert_true (bkt_subsystem_execute (gs, ops, ctx, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (results->len, ==, ops->len);
      check_all_ok (results);
    }
  stress_thread_done (st);
  return NULL;
}

/* Meanwhile another program edits the keyfile: the backend reloads it
 * from its file monitor, in the main context.  Rewritten in the main
 * thread, so no write of the backend's gets lost in between. */
static gboolean
stress_tick (gpointer data)
{
  Stress *st = data;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *value = g_strdup_printf ("'color %u'", ++st->n_rewrites);

  if (g_atomic_int_get (&st->running) == 0)
    {
      g_main_loop_quit (st->loop);
      return G_SOURCE_REMOVE;
    }
  (void) g_key_file_load_from_file (keyfile, st->keyfile, G_KEY_FILE_NONE, NULL);
  g_key_file_set_value (keyfile, "org/bkt/other", "color", value);
  g_assert_true (g_key_file_save_to_file (keyfile, st->keyfile, NULL));
  return G_SOURCE_CONTINUE;
}

static void
test_concurrency (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_new (fx, all_kinds_manifest);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *keyfile = g_build_filename (tmp_root, "glib-2.0", "settings", "keyfile", NULL);
  Stress st = { fx->dir, keyfile, loop, N_PLANNERS + 1 };
  GThread *threads[N_PLANNERS + 1];
  g_autofree char *count = NULL, *name = NULL;
  g_autofree char *expected_count = g_strdup_printf ("%u", N_ROUNDS - 1);
  g_autofree char *expected_name = g_strdup_printf ("'round %u'", N_ROUNDS - 1);

  /* The keyfile must exist for the rewrites. */
  live_set ("org.bkt.test.other", NULL, "color", "'green'");
  for (guint i = 0; i < N_PLANNERS; i++)
    threads[i] = g_thread_new ("planner", planner_thread, &st);
  threads[N_PLANNERS] = g_thread_new ("executor", executor_thread, &st);
  g_timeout_add (1, stress_tick, &st);
  bkt_test_loop_run (loop, 60);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  drain_main_context ();

  count = live_get ("org.bkt.test", NULL, "count");
  name = live_get ("org.bkt.test", NULL, "name");
  g_assert_cmpstr (count, ==, expected_count);
  g_assert_cmpstr (name, ==, expected_name);
  g_assert_cmpuint (st.n_rewrites, >, 0);
  reset_schema ("org.bkt.many", NULL);
}

/* ── main ──────────────────────────────────────────────────────────────── */

static void
write_many_schema (const char *schema_dir)
{
  g_autofree char *file = g_build_filename (schema_dir, "org.bkt.many.gschema.xml", NULL);
  g_autoptr(GString) xml = g_string_new ("<schemalist>\n"
                                         "  <schema id=\"org.bkt.many\" path=\"/org/bkt/many/\">\n");

  for (guint i = 0; i < N_MANY_KEYS; i++)
    g_string_append_printf (xml, "    <key name=\"key-%03u\" type=\"i\"><default>0</default></key>\n", i);
  g_string_append (xml, "  </schema>\n</schemalist>\n");
  bkt_test_write_file (file, xml->str);
}

/* The test schemas plus a generated one, copied into a private directory
 * and compiled there. */
static void
compile_schemas (void)
{
  g_autofree char *schema_dir = g_build_filename (tmp_root, "schemas", NULL);
  /* g_test_get_filename() only works inside test cases. */
  g_autofree char *source_dir = bkt_test_data_path ("schemas", NULL);
  g_autoptr(GDir) dir = NULL;
  const char *argv[] = { "glib-compile-schemas", "--strict", schema_dir, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *err_out = NULL;
  const char *name;
  int status = 0;

  g_assert_cmpint (g_mkdir_with_parents (schema_dir, 0700), ==, 0);
  dir = g_dir_open (source_dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".gschema.xml"))
      {
        g_autofree char *from = g_build_filename (source_dir, name, NULL);
        g_autofree char *to = g_build_filename (schema_dir, name, NULL);

        g_autofree char *text = bkt_test_read_file (from);

        bkt_test_write_file (to, text);
      }
  write_many_schema (schema_dir);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err_out, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_exit_status (status, &error))
    g_error ("glib-compile-schemas failed: %s\n%s", error->message, err_out);
  g_setenv ("GSETTINGS_SCHEMA_DIR", schema_dir, TRUE);
}

int
main (int argc, char **argv)
{
  g_autoptr(BktTestDir) root = bkt_test_dir_new ("gsettings");

  /* Before g_test_init() and any GSettings use: GLib reads these once. */
  tmp_root = root->path;
  g_setenv ("XDG_CONFIG_HOME", tmp_root, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "keyfile", TRUE);

  bkt_test_init (&argc, &argv);
  compile_schemas ();

#define ADD(name, func) g_test_add ("/gsettings/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("apply/ops", test_apply_ops);
  ADD ("apply/in-sync", test_apply_in_sync);
  ADD ("apply/execute", test_apply_execute);
  ADD ("apply/missing-schema-or-key", test_apply_missing_schema_or_key);
  ADD ("apply/invalid-entry", test_apply_invalid_entry);
  ADD ("apply/many-keys", test_apply_many);
  ADD ("execute/errors", test_execute_errors);
  ADD ("change/set", test_change_set);
  ADD ("change/unknown-schema", test_change_unknown_schema);
  ADD ("change/unknown-key", test_change_unknown_key);
  ADD ("change/invalid-value", test_change_invalid_value);
  ADD ("change/relocatable", test_change_relocatable);
  ADD ("change/arguments", test_change_arguments);
  ADD ("change/unset", test_change_unset);
  ADD ("capture", test_capture);
  ADD ("status", test_status);
  ADD ("concurrency", test_concurrency);
#undef ADD

  return g_test_run ();
}
