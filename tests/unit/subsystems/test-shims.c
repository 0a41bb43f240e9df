/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bkt-engine.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-manifest.h"
#include "bkt-shims.h"
#include "bkt-test.h"

/* The shim subsystem through the engine, as the daemon drives it: a
 * private shim directory (BKT_SHIM_DIR), a manifest directory, and a
 * stand-in flatpak-spawn that records its argv so that we can see exactly
 * what a shim hands over to the host. */

typedef struct
{
  BktTestDir *tmp;
  const char *root;
  char *shim_dir;
  char *manifests;
  char *bin;       /* the stand-in flatpak-spawn */
  char *record;    /* where it writes its argv, NUL-separated */
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autofree char *spawn = NULL;

  fx->tmp = bkt_test_dir_new ("shims");
  fx->root = fx->tmp->path;
  fx->shim_dir = g_build_filename (fx->root, "shims", NULL);
  fx->manifests = g_build_filename (fx->root, "manifests", NULL);
  fx->bin = g_build_filename (fx->root, "bin", NULL);
  fx->record = g_build_filename (fx->root, "argv", NULL);
  g_assert_cmpint (g_mkdir (fx->manifests, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (fx->bin, 0700), ==, 0);
  g_setenv ("BKT_SHIM_DIR", fx->shim_dir, TRUE);
  {
    /* Each case its own state record (issue 13), never the user's. */
    g_autofree char *state = g_build_filename (fx->root, "state", NULL);
    g_setenv ("XDG_STATE_HOME", state, TRUE);
  }

  /* printf '%s\0' keeps every byte of every argument, with nothing
   * interpreted: the record is exactly the argv flatpak-spawn got. */
  spawn = g_build_filename (fx->bin, "flatpak-spawn", NULL);
  bkt_test_write_file (spawn, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$BKT_TEST_RECORD\"\n");
  g_assert_cmpint (g_chmod (spawn, 0755), ==, 0);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_pointer (&fx->tmp, bkt_test_dir_free);
  g_free (fx->shim_dir);
  g_free (fx->manifests);
  g_free (fx->bin);
  g_free (fx->record);
  g_unsetenv ("BKT_SHIM_DIR");
}

static BktManifestSet *
manifests_with (Fixture *fx, const char *json)
{
  g_autofree char *path = g_build_filename (fx->manifests, "host-shims.json", NULL);
  g_autoptr(GError) error = NULL;
  BktManifestSet *set;

  /* no json: an empty manifest (a directory without any is an error) */
  if (json != NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    bkt_test_write_file (path, json != NULL ? json : "{}");
  set = bkt_manifest_set_load_dir (fx->manifests, &error);
  g_assert_no_error (error);
  return set;
}

static BktEngine *
shim_engine (void)
{
  const char *only[] = { "shim", NULL };
  g_autoptr(GError) error = NULL;
  BktEngine *engine = bkt_engine_new (BKT_INSTANCE_SESSION, only, NULL, &error);

  g_assert_no_error (error);
  return engine;
}

typedef struct
{
  GPtrArray *results;   /* "target action: ok|message" */
  GPtrArray *messages;
} Run;

static void
on_done (gpointer user_data, BktOperation *op, const GError *error)
{
  Run *run = user_data;
  g_ptr_array_add (run->results, g_strdup_printf ("%s %s: %s", bkt_operation_get_target (op),
                                                  bkt_operation_get_action (op), error ? error->message : "ok"));
}

static void
on_message (gpointer user_data, const char *text)
{
  Run *run = user_data;
  g_ptr_array_add (run->messages, g_strdup (text));
}

/* Executes @plan; returns the results joined by '\n'. */
static char *
execute (BktEngine *engine, BktPlan *plan, BktManifestSet *set, char **messages, GError **error)
{
  static const BktExecCallbacks callbacks = { NULL, on_done, on_message };
  Run run = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
  BktExecContext *ctx;
  char *out;

  ctx = bkt_exec_context_new (&callbacks, &run);
  bkt_engine_execute (engine, plan, set, ctx, NULL, error);
  bkt_exec_context_free (ctx);
  g_ptr_array_add (run.results, NULL);
  g_ptr_array_add (run.messages, NULL);
  out = g_strjoinv ("\n", (char **) run.results->pdata);
  if (messages != NULL)
    *messages = g_strjoinv ("\n", (char **) run.messages->pdata);
  g_ptr_array_unref (run.results);
  g_ptr_array_unref (run.messages);
  return out;
}

static char *
plan_text (BktPlan *plan)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      g_string_append_printf (s, "%s%s %s", i ? "\n" : "", bkt_operation_get_action (op),
                              bkt_operation_get_target (op));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static GVariant *
args (const char *name, const char *host)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (name != NULL)
    g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (name));
  if (host != NULL)
    g_variant_builder_add (&b, "{sv}", "host", g_variant_new_string (host));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/* ── tests ─────────────────────────────────────────────────────────────── */

static void
test_original_fixture (void)
{
  g_autofree char *path = bkt_test_data_path ("original", "host-shims.json", NULL);
  g_autofree char *contents = bkt_test_read_file (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifest) m = bkt_manifest_load_file (BKT_MANIFEST_HOST_SHIMS, path, &error);
  g_autofree char *data = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 7);
  g_assert_nonnull (bkt_manifest_lookup (m, "rpm-ostree"));
  data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==, contents);
  bkt_manifest_sort (m);
  g_clear_pointer (&data, g_free);
  data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==, contents);
}

static void
test_manifest_validation (void)
{
  static const struct { const char *json; const char *message; } bad[] = {
    { "{\"shims\": [{\"name\": \"../x\"}]}", "must not start with '-' or '.'" },
    { "{\"shims\": [{\"name\": \"a/b\"}]}", "only letters, digits" },
    { "{\"shims\": [{\"name\": \"-rf\"}]}", "must not start with '-'" },
    { "{\"shims\": [{\"name\": \"a..b\"}]}", "must not contain '..'" },
    { "{\"shims\": [{\"name\": \"x\", \"host\": \"$(id)\"}]}", "" },
    { "{\"shims\": [{\"name\": \"x\", \"host\": \"/usr/../bin/sh\"}]}", "absolute path" },
    { "{\"shims\": [{\"host\": \"x\"}]}", "missing the required member \"name\"" },
    { "{\"shims\": [\"podman\"]}", "must be an object" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(BktManifest) m = bkt_manifest_load_data (BKT_MANIFEST_HOST_SHIMS, "host-shims.json",
                                                         bad[i].json, -1, &error);
      g_assert_null (m);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      g_assert_nonnull (strstr (error->message, bad[i].message));
    }
}

static void
test_sync (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_with (fx, "{\"shims\": [{\"name\": \"podman\"}, "
                                                      "{\"name\": \"rpm-ostree\"}, {\"name\": \"sc\", \"host\": \"systemctl\"}]}");
  g_autoptr(BktEngine) engine = shim_engine ();
  g_autoptr(BktPlan) plan = NULL, again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *results = NULL, *messages = NULL, *foreign = NULL, *podman = NULL;
  g_autofree char *foreign_path = g_build_filename (fx->shim_dir, "rpm-ostree", NULL);
  g_autofree char *podman_path = g_build_filename (fx->shim_dir, "podman", NULL);
  g_autofree char *sc_path = g_build_filename (fx->shim_dir, "sc", NULL);
  g_autoptr(BktEngine) engine2 = NULL, engine3 = NULL;
  g_autoptr(BktManifestSet) fewer = NULL;
  GStatBuf st;

  /* A file of the user's where one shim would go. */
  g_assert_cmpint (g_mkdir_with_parents (fx->shim_dir, 0755), ==, 0);
  bkt_test_write_file (foreign_path, "#!/bin/sh\necho mine\n");

  plan = bkt_engine_plan_apply (engine, set, NULL, &error);
  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "create shim:podman\ncreate shim:sc");
  g_assert_nonnull (strstr (bkt_plan_get_warnings (plan)[0], "rpm-ostree exists and is not a bkt shim"));
  results = execute (engine, plan, set, &messages, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (results, ==, "shim:podman create: ok\nshim:sc create: ok");
  g_assert_nonnull (strstr (messages, "2 created, 0 updated, 0 removed"));

  g_assert_cmpint (g_stat (podman_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0755);
  podman = bkt_test_read_file (podman_path);
  g_assert_nonnull (strstr (podman, "\n" BKT_SHIM_MARKER " "));
  g_assert_nonnull (strstr (podman, "exec flatpak-spawn --host 'podman' \"$@\"\n"));
  foreign = bkt_test_read_file (foreign_path);
  g_assert_cmpstr (foreign, ==, "#!/bin/sh\necho mine\n");

  /* In sync now. */
  engine2 = shim_engine ();
  again = bkt_engine_plan_apply (engine2, set, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_plan_get_n_operations (again), ==, 0);

  /* Dropped from the manifest (and an edited host): a plain apply only
   * updates; --prune also removes the shim bkt wrote; the foreign file
   * stays. */
  g_object_unref (set);
  set = NULL;
  fewer = manifests_with (fx, "{\"shims\": [{\"name\": \"podman\", \"host\": \"podman-remote\"}]}");
  engine3 = shim_engine ();
  g_clear_object (&plan);
  plan = bkt_engine_plan_apply (engine3, fewer, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "update shim:podman");
  g_clear_object (&engine3);
  engine3 = shim_engine ();
  bkt_engine_set_prune (engine3, TRUE);
  g_clear_object (&plan);
  plan = bkt_engine_plan_apply (engine3, fewer, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "update shim:podman\nremove shim:sc");
  g_clear_pointer (&results, g_free);
  g_clear_pointer (&messages, g_free);
  results = execute (engine3, plan, fewer, &messages, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (messages, "0 created, 1 updated, 1 removed"));
  g_assert_false (g_file_test (sc_path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&foreign, g_free);
  foreign = bkt_test_read_file (foreign_path);
  g_assert_cmpstr (foreign, ==, "#!/bin/sh\necho mine\n");
  g_clear_pointer (&podman, g_free);
  podman = bkt_test_read_file (podman_path);
  g_assert_nonnull (strstr (podman, "--host 'podman-remote' \"$@\""));
}

/* The generated shim, run for real: every argument arrives as it was. */
static void
test_arguments_pass_through (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_with (fx, "{\"shims\": [{\"name\": \"podman\"}]}");
  g_autoptr(BktEngine) engine = shim_engine ();
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *results = NULL;
  g_autofree char *shim = g_build_filename (fx->shim_dir, "podman", NULL);
  g_autofree char *pwned = g_build_filename (fx->root, "pwned", NULL);
  g_autofree char *inject = g_strdup_printf ("$(touch %s)", pwned);
  g_autofree char *backticks = g_strdup_printf ("`touch %s`", pwned);
  g_autofree char *path_env = g_strdup_printf ("%s:/usr/bin:/bin", fx->bin);
  g_autofree char *record_env = g_strdup_printf ("BKT_TEST_RECORD=%s", fx->record);
  g_autofree char *path_var = g_strconcat ("PATH=", path_env, NULL);
  const char *arguments[] = { "run", "a b  c", "it's", "\"quoted\"", inject, backticks, "*", "", "-x", "--",
                              "semi;colon", "new\nline", "$HOME", NULL };
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *envp[] = { path_var, record_env, NULL };
  g_autofree char *recorded = NULL;
  gsize length = 0;
  int status = 0;
  gsize pos = 0;
  guint n = 0;

  plan = bkt_engine_plan_apply (engine, set, NULL, &error);
  g_assert_no_error (error);
  results = execute (engine, plan, set, NULL, &error);
  g_assert_no_error (error);

  g_ptr_array_add (argv, shim);
  for (guint i = 0; arguments[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) arguments[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, (char **) envp, 0, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_exit_status (status, NULL));

  g_file_get_contents (fx->record, &recorded, &length, &error);
  g_assert_no_error (error);
  /* --host, the host command, then our arguments, byte for byte. */
  {
    const char *expected_head[] = { "--host", "podman" };
    for (; pos < length; n++)
      {
        const char *arg = recorded + pos;
        const char *want = n < 2 ? expected_head[n] : arguments[n - 2];

        g_assert_nonnull (want);
        g_assert_cmpstr (arg, ==, want);
        pos += strlen (arg) + 1;
      }
  }
  g_assert_cmpuint (n, ==, 2 + g_strv_length ((char **) arguments));
  g_assert_false (g_file_test (pwned, G_FILE_TEST_EXISTS));
}

static void
test_change (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) set = manifests_with (fx, NULL);
  g_autoptr(BktEngine) engine = shim_engine ();
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *results = NULL, *text = NULL, *saved = NULL;
  g_autofree char *manifest = g_build_filename (fx->manifests, "host-shims.json", NULL);
  g_autoptr(GVariant) add = args ("ujust", NULL);
  g_autoptr(GVariant) add_host = args ("jc", "journalctl");
  g_autoptr(GVariant) remove = args ("ujust", NULL);

  plan = bkt_engine_plan_change (engine, set, "shim", "add", add, NULL, &error);
  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "create shim:ujust\nrecord shim:ujust");
  results = execute (engine, plan, set, NULL, &error);
  g_assert_no_error (error);
  saved = bkt_test_read_file (manifest);
  g_assert_cmpstr (saved, ==, "{\n  \"shims\": [\n    { \"name\": \"ujust\" }\n  ]\n}\n");

  g_clear_object (&plan);
  plan = bkt_engine_plan_change (engine, set, "shim", "add", add_host, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&results, g_free);
  results = execute (engine, plan, set, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&saved, g_free);
  saved = bkt_test_read_file (manifest);
  g_assert_nonnull (strstr (saved, "{ \"name\": \"jc\", \"host\": \"journalctl\" }"));

  {
    g_autoptr(BktManifestSet) set2 = manifests_with (fx, NULL);
    g_autoptr(BktEngine) engine2 = shim_engine ();
    g_autofree char *shim = g_build_filename (fx->shim_dir, "ujust", NULL);

    g_clear_object (&plan);
    plan = bkt_engine_plan_change (engine2, set2, "shim", "remove", remove, NULL, &error);
    g_assert_no_error (error);
    g_clear_pointer (&text, g_free);
    text = plan_text (plan);
    g_assert_cmpstr (text, ==, "remove shim:ujust\nforget shim:ujust");
    g_clear_pointer (&results, g_free);
    results = execute (engine2, plan, set2, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (g_file_test (shim, G_FILE_TEST_EXISTS));
    g_clear_pointer (&saved, g_free);
    saved = bkt_test_read_file (manifest);
    g_assert_null (strstr (saved, "ujust"));
  }
}

static void
test_bad_names (Fixture *fx, gconstpointer data)
{
  static const char *const names[] = { "../evil", "a/b", "-rf", "..", ".", "", "a b", "x;y", "$(id)", NULL };
  g_autoptr(BktManifestSet) set = manifests_with (fx, NULL);
  g_autoptr(BktEngine) engine = shim_engine ();

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GVariant) a = args (names[i], NULL);
      g_autoptr(GVariant) h = args ("ok", names[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(BktPlan) plan = bkt_engine_plan_change (engine, set, "shim", "add", a, NULL, &error);

      g_assert_null (plan);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      plan = bkt_engine_plan_change (engine, set, "shim", "add", h, NULL, &error);
      g_assert_null (plan);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
    }
  g_assert_false (g_file_test (fx->shim_dir, G_FILE_TEST_EXISTS));

  /* A foreign file is never taken over by `add`, nor removed. */
  {
    g_autofree char *mine = g_build_filename (fx->shim_dir, "mine", NULL);
    g_autoptr(GVariant) a = args ("mine", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(BktPlan) plan = NULL;
    g_autoptr(BktEngine) engine2 = NULL;

    g_assert_cmpint (g_mkdir_with_parents (fx->shim_dir, 0755), ==, 0);
    bkt_test_write_file (mine, "user's\n");
    engine2 = shim_engine ();
    plan = bkt_engine_plan_change (engine2, set, "shim", "add", a, NULL, &error);
    g_assert_null (plan);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    plan = bkt_engine_plan_change (engine2, set, "shim", "remove", a, NULL, &error);
    g_assert_null (plan);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  }
}

static void
test_capture_and_status (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) empty = manifests_with (fx, "{\"shims\": [{\"name\": \"toolbox\"}]}");
  g_autofree char *orphan = NULL;
  g_autoptr(BktEngine) engine = shim_engine ();
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  JsonObject *s;

  g_assert_cmpint (g_mkdir_with_parents (fx->shim_dir, 0755), ==, 0);
  orphan = bkt_shims_render ("bootc", "bootc");
  {
    g_autofree char *path = g_build_filename (fx->shim_dir, "bootc", NULL);
    bkt_test_write_file (path, orphan);
  }
  /* The orphan shim is untracked: recorded only when picked. */
  plan = bkt_engine_plan_capture (engine, empty, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_plan_get_n_operations (plan), ==, 0);
  g_clear_object (&plan);
  {
    const char *select[] = { "shim:bootc", NULL };
    bkt_engine_set_capture_selection (engine, select, FALSE);
  }
  plan = bkt_engine_plan_capture (engine, empty, NULL, &error);
  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "record shim:bootc");
  g_assert_nonnull (strstr (bkt_plan_get_warnings (plan)[0], "shim toolbox is in the manifest"));

  status = bkt_engine_status (engine, empty, NULL, &error);
  g_assert_no_error (error);
  s = json_object_get_object_member (json_object_get_object_member (status, "subsystems"), "shim");
  g_assert_cmpint (json_object_get_int_member (s, "tracked"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (s, "in_sync"), ==, 0);
  /* The orphan (no record entry: bkt did not write it here) is untracked,
   * not drift: no apply removes it, --prune neither. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s, "untracked")), ==, 1);
  g_assert_cmpint (json_object_get_int_member (s, "drifted"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s, "unknown")), ==, 0);
  {
    JsonArray *drift = json_object_get_array_member (s, "drift");

    g_assert_cmpuint (json_array_get_length (drift), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (drift, 0), "target"), ==,
                     "shim:toolbox");
  }
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "prune")), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (s, "shims"), 0), "state"), ==, "missing");
}

static char *
shim_path (Fixture *fx, const char *name)
{
  return g_build_filename (fx->shim_dir, name, NULL);
}

static gboolean
has_warning (BktPlan *plan, const char *a, const char *b)
{
  const char * const *w = bkt_plan_get_warnings (plan);

  for (guint i = 0; w != NULL && w[i] != NULL; i++)
    if (strstr (w[i], a) != NULL && strstr (w[i], b) != NULL)
      return TRUE;
  return FALSE;
}

/* apply --prune removes exactly the shims bkt wrote (the record says
 * "apply") that no manifest lists any more and that are still as bkt left
 * them; never a marked copy bkt did not write, a file edited since, a
 * file turned into the user's own, or what a symlink points to. */
static void
test_prune (Fixture *fx, gconstpointer data)
{
  g_autoptr(BktManifestSet) all = manifests_with (fx, "{\"shims\": [{\"name\": \"gone\"}, {\"name\": \"late\"}, "
                                                      "{\"name\": \"edited\"}, {\"name\": \"mine\"}, "
                                                      "{\"name\": \"link\"}, {\"name\": \"kept\"}]}");
  g_autoptr(BktManifestSet) fewer = NULL;
  g_autoptr(BktEngine) engine = shim_engine ();
  g_autoptr(BktEngine) plain = shim_engine ();
  g_autoptr(BktEngine) prune = shim_engine ();
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BktStateRecord) record = NULL;
  g_autofree char *results = NULL, *text = NULL, *copy = NULL, *outside = NULL, *edited = NULL;
  g_autofree char *state_dir = NULL, *link = shim_path (fx, "link"), *late = shim_path (fx, "late");
  g_autofree char *edited_path = shim_path (fx, "edited"), *mine = shim_path (fx, "mine");

  plan = bkt_engine_plan_apply (engine, all, NULL, &error);
  g_assert_no_error (error);
  results = execute (engine, plan, all, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_plan_get_n_operations (plan), ==, 6);

  /* By hand: a marked copy bkt never wrote, an edit keeping the marker,
   * the marker lines taken out (the file is the user's now), a symlink
   * to a file outside with the very bytes bkt wrote. */
  copy = bkt_shims_render ("copy", "copy");
  {
    g_autofree char *p = shim_path (fx, "copy");
    bkt_test_write_file (p, copy);
  }
  edited = bkt_test_read_file (edited_path);
  {
    g_autofree char *more = g_strconcat (edited, "# my tweak\n", NULL);
    bkt_test_write_file (edited_path, more);
  }
  bkt_test_write_file (mine, "#!/bin/sh\nexec flatpak-spawn --host mine \"$@\"\n");
  outside = g_build_filename (fx->root, "outside", NULL);
  {
    g_autofree char *bytes = bkt_test_read_file (link);
    bkt_test_write_file (outside, bytes);
  }
  g_assert_cmpint (g_unlink (link), ==, 0);
  g_assert_cmpint (symlink (outside, link), ==, 0);
  /* A record entry (the user's file, editable) naming a path out of the
   * directory, with the outside file's very bytes as its base. */
  state_dir = bkt_state_record_default_dir (BKT_SCOPE_USER);
  {
    g_autoptr(BktStateRecord) r = bkt_state_record_load (BKT_SCOPE_USER, state_dir);
    g_autofree char *bytes = bkt_test_read_file (outside);

    g_assert_nonnull (bkt_state_record_lookup (r, "shim:gone"));
    bkt_state_record_set (r, "shim:../outside", bytes, NULL, NULL, "apply");
    g_assert_true (bkt_state_record_save (r, &error));
    g_assert_no_error (error);
  }

  /* Every one dropped but "kept". */
  fewer = manifests_with (fx, "{\"shims\": [{\"name\": \"kept\"}]}");
  g_clear_object (&plan);
  plan = bkt_engine_plan_apply (plain, fewer, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_plan_get_n_operations (plan), ==, 0);

  bkt_engine_set_prune (prune, TRUE);
  g_clear_object (&plan);
  plan = bkt_engine_plan_apply (prune, fewer, NULL, &error);
  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "remove shim:gone\nremove shim:late");
  for (guint i = 0; i < 2; i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      JsonObject *sync = bkt_operation_get_sync (op);

      g_assert_true (json_object_get_boolean_member (sync, "prune"));
      g_assert_cmpstr (json_object_get_string_member (sync, "direction"), ==, "prune");
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (sync, "base"), "command"), ==,
                       "apply");
    }
  g_assert_true (has_warning (plan, "not pruned", "shim:edited"));
  g_assert_true (has_warning (plan, "not pruned", "shim:mine"));
  g_assert_true (has_warning (plan, "not pruned", "shim:link"));

  /* Edited between the plan and its execution: left alone too. */
  {
    g_autofree char *bytes = bkt_test_read_file (late);
    g_autofree char *more = g_strconcat (bytes, "# later\n", NULL);
    bkt_test_write_file (late, more);
  }
  g_clear_pointer (&results, g_free);
  results = execute (prune, plan, fewer, NULL, &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "1 operation(s) failed"));
  g_assert_nonnull (strstr (results, "shim:gone remove: ok"));
  g_assert_nonnull (strstr (results, "shim:late remove: "));
  g_assert_nonnull (strstr (results, "changed since the plan was made: left alone"));
  {
    g_autofree char *gone = shim_path (fx, "gone"), *kept = shim_path (fx, "kept"), *p = shim_path (fx, "copy");
    g_autofree char *now = bkt_test_read_file (p);

    g_assert_false (g_file_test (gone, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (kept, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (late, G_FILE_TEST_EXISTS));
    g_assert_cmpstr (now, ==, copy);
  }
  g_assert_true (g_file_test (edited_path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (mine, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_assert_true (g_file_test (outside, G_FILE_TEST_EXISTS));

  /* The record forgets what was pruned, keeps the rest. */
  record = bkt_state_record_load (BKT_SCOPE_USER, state_dir);
  g_assert_null (bkt_state_record_lookup (record, "shim:gone"));
  g_assert_nonnull (bkt_state_record_lookup (record, "shim:late"));
  g_assert_nonnull (bkt_state_record_lookup (record, "shim:edited"));
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);

  g_test_add_func ("/shims/manifest/original", test_original_fixture);
  g_test_add_func ("/shims/manifest/validation", test_manifest_validation);
#define ADD(name, func) g_test_add ("/shims/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("sync", test_sync);
  ADD ("arguments", test_arguments_pass_through);
  ADD ("change", test_change);
  ADD ("bad-names", test_bad_names);
  ADD ("capture-status", test_capture_and_status);
  ADD ("prune", test_prune);
#undef ADD
  return g_test_run ();
}
