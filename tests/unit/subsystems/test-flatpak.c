/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/wait.h>
#include <sys/types.h>
#include <unistd.h>

#include <flatpak.h>
#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-flatpak.h"
#include "bkt-test.h"

/* BktFlatpak against real libflatpak: a local unsigned repo built by
 * tests/flatpak-repo.sh and throwaway system and user installations
 * (FLATPAK_SYSTEM_DIR, FLATPAK_USER_DIR, FLATPAK_CONFIG_DIR).
 *
 * libflatpak reads those variables once per process, so every test shares
 * the two installations; the tests run in order as one scenario and each
 * leaves the installations as the next one expects (noted per test).
 *
 * Buses: libflatpak asks malcontent over the system bus whether an install
 * is allowed, except for root, and after a transaction it asks both buses
 * to ReloadConfig.  Both bus addresses point at a socket nobody listens
 * on: as root nothing needs a bus, nothing reaches the host's buses, and
 * libflatpak 1.14's leak of every ReloadConfig reply (64 bytes, which
 * LeakSanitizer would report) never happens.  A non-root user install
 * would need a private dbus-daemon as the system bus (malcontent's service
 * is then missing and the check is skipped), but system-scope installs
 * need root anyway (otherwise libflatpak goes through its system helper),
 * so without root the installing tests are skipped. */

static BktTestDir *tmp;
static const char *tmp_dir;
/* What the install tests lack ("root", "flatpak"), or NULL. */
static const char *install_lacks;
static char *repo_url;
static char *repo_link_url;  /* same repo, other URL: for modify-remote */
static gboolean can_install;
static guint manifest_counter;

/* ------------------------------------------------------------------------ */
/* Environment                                                               */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
set_env_dir (const char *variable, const char *name)
{
  g_autofree char *path = tmp_path (name);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  g_setenv (variable, path, TRUE);
}

/* Both buses point at a socket nobody listens on: see the comment at the
 * top.  Any attempt by libflatpak to reach a bus fails at once instead of
 * touching the host's buses. */
static void
isolate_buses (void)
{
  g_autofree char *socket = tmp_path ("no-bus.socket");
  g_autofree char *address = g_strconcat ("unix:path=", socket, NULL);

  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", address, TRUE);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
}

static gboolean
build_repo (void)
{
  g_autofree char *script = bkt_test_source_path ("flatpak-repo.sh");
  g_autofree char *dir = tmp_path ("repo-build");
  g_autofree char *repo = NULL;
  g_autofree char *link = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "bash", script, "--apps", "2", dir, NULL };
  gint64 start = g_get_monotonic_time ();
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    return FALSE;  /* no flatpak CLI to build the repo with */
  if (!g_spawn_check_exit_status (status, &error))
    g_error ("flatpak-repo.sh failed: %s\n%s%s", error->message, out, err);

  repo = g_build_filename (dir, "repo", NULL);
  link = tmp_path ("repo-link");
  g_assert_cmpint (symlink (repo, link), ==, 0);
  repo_url = g_strconcat ("file://", repo, NULL);
  repo_link_url = g_strconcat ("file://", link, NULL);
  g_test_message ("repo built in %.2f s: %s", (g_get_monotonic_time () - start) / 1e6, repo_url);
  return TRUE;
}

static void
setup_environment (void)
{
  tmp = bkt_test_dir_new ("flatpak");
  tmp_dir = tmp->path;

  /* Before anything touches libflatpak or GIO: flatpak caches these. */
  set_env_dir ("HOME", "home");
  set_env_dir ("XDG_CONFIG_HOME", "home/.config");
  set_env_dir ("XDG_DATA_HOME", "home/.local/share");
  set_env_dir ("XDG_CACHE_HOME", "home/.cache");
  set_env_dir ("XDG_STATE_HOME", "home/.local/state");
  set_env_dir ("XDG_RUNTIME_DIR", "runtime");
  set_env_dir ("FLATPAK_USER_DIR", "flatpak-user");
  set_env_dir ("FLATPAK_SYSTEM_DIR", "flatpak-system");
  set_env_dir ("FLATPAK_CONFIG_DIR", "flatpak-config");
  isolate_buses ();

  if (geteuid () != 0)
    install_lacks = "root";
  else if (!build_repo ())
    install_lacks = "flatpak";
  can_install = install_lacks == NULL;
}

static void
teardown_environment (void)
{
  g_clear_pointer (&tmp, bkt_test_dir_free);
  tmp_dir = NULL;
  g_clear_pointer (&repo_url, g_free);
  g_clear_pointer (&repo_link_url, g_free);
}

static gboolean
require_install (void)
{
  if (!can_install)
    bkt_test_skip_without (install_lacks, "system installations and the test repo (tests/flatpak-repo.sh)");
  return can_install;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* A manifest directory holding the two files; NULL leaves a file out. */
static BktManifestSet *
load_manifests (const char *remotes_json, const char *apps_json)
{
  g_autofree char *name = g_strdup_printf ("manifests-%u", ++manifest_counter);
  g_autofree char *dir = tmp_path (name);
  g_autoptr(GError) error = NULL;
  BktManifestSet *set;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  if (remotes_json != NULL)
    {
      g_autofree char *path = g_build_filename (dir, "flatpak-remotes.json", NULL);
      g_assert_true (g_file_set_contents (path, remotes_json, -1, &error));
    }
  if (apps_json != NULL)
    {
      g_autofree char *path = g_build_filename (dir, "flatpak-apps.json", NULL);
      g_assert_true (g_file_set_contents (path, apps_json, -1, &error));
    }
  if (remotes_json == NULL && apps_json == NULL)
    {
      /* no manifest at all: an empty one (a directory without any is an error) */
      g_autofree char *path = g_build_filename (dir, "flatpak-apps.json", NULL);
      g_assert_true (g_file_set_contents (path, "{}", -1, &error));
    }
  set = bkt_manifest_set_load_dir (dir, &error);
  g_assert_no_error (error);
  return set;
}

/* The scenario's manifest: "test" (system) and "test-user" (user) both
 * serve the local repo; Hello goes system-wide, Second to the user. */
static BktManifestSet *
load_main_manifests (const char *system_url)
{
  g_autofree char *remotes = g_strdup_printf (
    "{\"remotes\": [\n"
    "  {\"name\": \"test\", \"url\": \"%s\", \"scope\": \"system\", \"gpg_verify\": false},\n"
    "  {\"name\": \"test-user\", \"url\": \"%s\", \"scope\": \"user\", \"gpg_verify\": false}\n"
    "]}\n", system_url, repo_url);
  const char *apps =
    "{\"apps\": [\n"
    "  {\"id\": \"org.test.Hello\", \"remote\": \"test\", \"scope\": \"system\"},\n"
    "  {\"id\": \"org.test.Second\", \"remote\": \"test-user\", \"scope\": \"user\"}\n"
    "]}\n";

  return load_manifests (remotes, apps);
}

static BktSubsystem *
new_loaded (gboolean read_user, gboolean read_system)
{
  g_autoptr(BktSubsystem) fp = bkt_flatpak_new (read_user, read_system);
  g_autoptr(GError) error = NULL;

  bkt_subsystem_load_live (fp, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&fp);
}

static GPtrArray *
plan_apply (BktSubsystem *fp, BktManifestSet *manifests, GPtrArray *warnings)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  g_assert_true (bkt_subsystem_plan_apply (fp, manifests, ops, warnings != NULL ? warnings : ignored, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&ops);
}

static GPtrArray *
plan_change (BktSubsystem *fp, BktManifestSet *manifests, const char *action, GVariant *args, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GVariant) owned = g_variant_ref_sink (args);

  if (!bkt_subsystem_plan_change (fp, manifests, action, owned, ops, error))
    {
      g_assert_cmpuint (ops->len, ==, 0);
      return NULL;
    }
  return g_steal_pointer (&ops);
}

/* "action target" per op, one a line, to compare whole plans at once. */
static char *
describe_ops (GPtrArray *ops)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < ops->len; i++)
    g_string_append_printf (s, "%s %s\n", bkt_operation_get_action (g_ptr_array_index (ops, i)),
                            bkt_operation_get_target (g_ptr_array_index (ops, i)));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static BktOperation *
find_op (GPtrArray *ops, const char *action, const char *target)
{
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      if (g_str_equal (bkt_operation_get_action (op), action) && g_str_equal (bkt_operation_get_target (op), target))
        return op;
    }
  g_error ("no %s %s in the plan", action, target);
  return NULL;
}

/* Only what execute() gets: the engine runs manifest edits itself. */
static GPtrArray *
live_ops (GPtrArray *ops)
{
  GPtrArray *live = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < ops->len; i++)
    if (bkt_operation_get_effect (g_ptr_array_index (ops, i)) != BKT_EFFECT_MANIFEST)
      g_ptr_array_add (live, g_object_ref (g_ptr_array_index (ops, i)));
  return live;
}

typedef struct {
  GHashTable *results;   /* op id → "" or the error message */
  GHashTable *codes;     /* op id → BktError code (GINT_TO_POINTER), failures only */
  GPtrArray  *progress;   /* "target fraction detail" */
  GPtrArray  *messages;
  GMutex      lock;
} Recorder;

static void
recorder_clear (Recorder *r)
{
  g_clear_pointer (&r->results, g_hash_table_unref);
  g_clear_pointer (&r->codes, g_hash_table_unref);
  g_clear_pointer (&r->progress, g_ptr_array_unref);
  g_clear_pointer (&r->messages, g_ptr_array_unref);
  g_mutex_clear (&r->lock);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Recorder, recorder_clear)

static void
record_progress (gpointer user_data, BktOperation *op, double fraction, const char *detail)
{
  Recorder *r = user_data;

  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  g_mutex_lock (&r->lock);
  g_ptr_array_add (r->progress, g_strdup_printf ("%s %.2f %s", bkt_operation_get_target (op), fraction,
                                                 detail != NULL ? detail : "-"));
  g_mutex_unlock (&r->lock);
}

static void
record_done (gpointer user_data, BktOperation *op, const GError *error)
{
  Recorder *r = user_data;

  g_mutex_lock (&r->lock);
  /* Exactly one result per operation. */
  g_assert_false (g_hash_table_contains (r->results, bkt_operation_get_id (op)));
  g_hash_table_insert (r->results, g_strdup (bkt_operation_get_id (op)),
                       g_strdup (error != NULL ? error->message : ""));
  if (error != NULL)
    {
      g_assert_true (error->domain == BKT_ERROR);
      g_hash_table_insert (r->codes, g_strdup (bkt_operation_get_id (op)), GINT_TO_POINTER (error->code));
    }
  g_mutex_unlock (&r->lock);
}

static void
record_message (gpointer user_data, const char *text)
{
  Recorder *r = user_data;

  g_mutex_lock (&r->lock);
  g_ptr_array_add (r->messages, g_strdup (text));
  g_mutex_unlock (&r->lock);
}

static void
recorder_init (Recorder *r)
{
  r->results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  r->codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r->progress = g_ptr_array_new_with_free_func (g_free);
  r->messages = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&r->lock);
}

/* Runs @ops like the engine does: in a worker thread. */
typedef struct {
  BktSubsystem   *fp;
  GPtrArray      *ops;
  BktExecContext *ctx;
  GCancellable   *cancellable;
  GError         *error;
  gboolean        ok;
} ExecJob;

static gpointer
exec_thread (gpointer data)
{
  ExecJob *job = data;

  job->ok = bkt_subsystem_execute (job->fp, job->ops, job->ctx, job->cancellable, &job->error);
  return NULL;
}

static gboolean
execute (GPtrArray *ops, Recorder *r, GCancellable *cancellable, GError **error)
{
  static const BktExecCallbacks callbacks = { record_progress, record_done, record_message };
  g_autoptr(BktSubsystem) fp = bkt_flatpak_new (TRUE, TRUE);
  g_autoptr(BktExecContext) ctx = bkt_exec_context_new (&callbacks, r);
  ExecJob job = { fp, ops, ctx, cancellable, NULL, FALSE };

  recorder_init (r);
  g_thread_join (g_thread_new ("exec", exec_thread, &job));
  g_assert_cmpuint (g_hash_table_size (r->results), ==, ops->len);
  if (job.error != NULL)
    g_propagate_error (error, job.error);
  return job.ok;
}

static const char *
result_of (Recorder *r, GPtrArray *ops, const char *action, const char *target)
{
  BktOperation *op = find_op (ops, action, target);
  const char *result = g_hash_table_lookup (r->results, bkt_operation_get_id (op));

  g_assert_nonnull (result);
  return result;
}

static FlatpakInstallation *
open_installation (BktScope scope)
{
  g_autoptr(GError) error = NULL;
  FlatpakInstallation *inst = scope == BKT_SCOPE_SYSTEM ? flatpak_installation_new_system (NULL, &error)
                                                        : flatpak_installation_new_user (NULL, &error);
  g_assert_no_error (error);
  return inst;
}

/* Asked of a fresh installation object, not of anything BktFlatpak read. */
static gboolean
is_installed (BktScope scope, const char *id, const char *branch)
{
  g_autoptr(FlatpakInstallation) inst = open_installation (scope);
  g_autoptr(FlatpakInstalledRef) ref = NULL;
  g_autoptr(GError) error = NULL;

  ref = flatpak_installation_get_installed_ref (inst, FLATPAK_REF_KIND_APP, id, NULL, branch, NULL, &error);
  if (ref == NULL)
    g_assert_error (error, FLATPAK_ERROR, FLATPAK_ERROR_NOT_INSTALLED);
  return ref != NULL;
}

/* Changes "by hand", behind BktFlatpak's back. */
static void
hand_change (BktScope scope, const char *remote, const char *id, const char *branch)
{
  g_autoptr(FlatpakInstallation) inst = open_installation (scope);
  g_autoptr(FlatpakTransaction) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ref = g_strdup_printf ("app/%s/%s/%s", id, flatpak_get_default_arch (), branch);

  t = flatpak_transaction_new_for_installation (inst, NULL, &error);
  g_assert_no_error (error);
  flatpak_transaction_set_no_interaction (t, TRUE);
  flatpak_transaction_add_default_dependency_sources (t);
  if (remote != NULL)
    flatpak_transaction_add_install (t, remote, ref, NULL, &error);
  else
    flatpak_transaction_add_uninstall (t, ref, &error);
  g_assert_no_error (error);
  flatpak_transaction_run (t, NULL, &error);
  g_assert_no_error (error);
}

static char *
live_remote_url (BktScope scope, const char *name)
{
  g_autoptr(FlatpakInstallation) inst = open_installation (scope);
  g_autoptr(GError) error = NULL;
  g_autoptr(FlatpakRemote) remote = flatpak_installation_get_remote_by_name (inst, name, NULL, &error);

  g_assert_no_error (error);
  return flatpak_remote_get_url (remote);
}

static JsonObject *
status_of (BktManifestSet *manifests)
{
  g_autoptr(BktSubsystem) fp = new_loaded (TRUE, TRUE);
  g_autoptr(GError) error = NULL;
  JsonObject *status = bkt_subsystem_status (fp, manifests, &error);

  g_assert_no_error (error);
  g_assert_nonnull (status);
  return status;
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void
assert_invalid (BktSubsystem *fp, BktManifestSet *m, const char *action, GVariant *args, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = plan_change (fp, m, action, args, &error);

  g_assert_null (ops);
  g_assert_error (error, BKT_ERROR, code);
  /* Messages cross D-Bus: valid UTF-8, and a huge argument is not echoed. */
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_cmpuint (strlen (error->message), <, 1024);
  g_test_message ("%s → %s", action, error->message);
}

static void
test_change_invalid (void)
{
  g_autoptr(BktSubsystem) fp = new_loaded (TRUE, TRUE);
  g_autoptr(BktManifestSet) m = load_manifests (NULL, NULL);
  g_autofree char *long_id = g_strnfill (300, 'a');
  g_autofree char *huge = NULL;
  static const char * const bad_ids[] = { "-foo", "foo", "a..b", "org.example", "org.-x.App",
                                          "org.example.", ".org.example.App", "org.1x.App", "org.ex ample.App",
                                          "org.t\xc3\xa9st.App" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <%s>, 'force': <true>}", bad_ids[i]),
                      BKT_ERROR_INVALID_ARGUMENT);
      assert_invalid (fp, m, "remove", g_variant_new_parsed ("{'id': <%s>}", bad_ids[i]),
                      BKT_ERROR_INVALID_ARGUMENT);
    }

  memcpy (long_id, "org.example.", 12);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <%s>, 'force': <true>}", long_id),
                  BKT_ERROR_INVALID_ARGUMENT);

  assert_invalid (fp, m, "add", g_variant_new_parsed ("@a{sv} {}"), BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'remote': <'-evil'>, "
                                                      "'force': <true>}"), BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'remote': <'a/b'>, "
                                                      "'force': <true>}"), BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'scope': <'galaxy'>}"),
                  BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <int32 3>}"), BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'force': <'yes'>}"),
                  BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'scop': <'user'>}"),
                  BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("('org.test.Hello',)"), BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "frobnicate", g_variant_new_parsed ("@a{sv} {}"), BKT_ERROR_NOT_SUPPORTED);

  /* 10 MB where a scope and a key are expected. */
  huge = g_strnfill (10 * 1024 * 1024, 'x');
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'scope': <%s>}", huge),
                  BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{%s: <'x'>}", huge), BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <%s>}", huge), BKT_ERROR_INVALID_ARGUMENT);
  assert_invalid (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'remote': <%s>}", huge),
                  BKT_ERROR_INVALID_ARGUMENT);

  /* Valid ids get through validation (then fail on what is not there). */
  assert_invalid (fp, m, "remove", g_variant_new_parsed ("{'id': <'org.example.Not-There_2'>}"),
                  BKT_ERROR_NOT_FOUND);
}

static void
test_apply (void)
{
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) again = NULL;
  g_autoptr(BktSubsystem) fp = NULL;
  g_autoptr(BktSubsystem) sys_only = NULL;
  g_autoptr(GPtrArray) sys_ops = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Recorder) r = { 0 };
  g_autofree char *plan_text = NULL;
  g_autofree char *sys_text = NULL;
  g_autofree char *expected = NULL;
  BktOperation *op;
  JsonObject *details;
  gint64 start;

  if (!require_install ())
    return;
  m = load_main_manifests (repo_url);

  start = g_get_monotonic_time ();
  fp = new_loaded (TRUE, TRUE);
  ops = plan_apply (fp, m, warnings);
  g_test_message ("load + plan (empty installations): %.1f ms", seconds_since (start) * 1000);

  plan_text = describe_ops (ops);
  g_assert_cmpstr (plan_text, ==,
                   "add-remote flatpak-remote:test\n"
                   "add-remote flatpak-remote:test-user\n"
                   "install flatpak:org.test.Hello\n"
                   "install flatpak:org.test.Second\n");
  g_assert_cmpuint (warnings->len, ==, 0);

  op = find_op (ops, "add-remote", "flatpak-remote:test");
  expected = g_strdup_printf ("Add flatpak remote test (%s, system)", repo_url);
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, expected);
  g_assert_cmpint (bkt_operation_get_scope (op), ==, BKT_SCOPE_SYSTEM);
  details = bkt_operation_get_details (op);
  g_assert_cmpstr (json_object_get_string_member (details, "url"), ==, repo_url);
  g_assert_false (json_object_get_boolean_member (details, "gpg_verify"));
  g_assert_cmpint (bkt_operation_get_scope (find_op (ops, "add-remote", "flatpak-remote:test-user")), ==,
                   BKT_SCOPE_USER);

  op = find_op (ops, "install", "flatpak:org.test.Hello");
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Install flatpak:org.test.Hello (test, system)");
  g_assert_cmpint (bkt_operation_get_effect (op), ==, BKT_EFFECT_LIVE);
  g_assert_cmpint (bkt_operation_get_scope (op), ==, BKT_SCOPE_SYSTEM);
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "id"), ==, "org.test.Hello");
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "remote"), ==, "test");
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "scope"), ==, "system");
  op = find_op (ops, "install", "flatpak:org.test.Second");
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Install flatpak:org.test.Second (test-user, user)");
  g_assert_cmpint (bkt_operation_get_scope (op), ==, BKT_SCOPE_USER);

  /* The system instance reads only the system installation: user entries
   * are not its business. */
  sys_only = new_loaded (FALSE, TRUE);
  sys_ops = plan_apply (sys_only, m, NULL);
  sys_text = describe_ops (sys_ops);
  g_assert_cmpstr (sys_text, ==, "add-remote flatpak-remote:test\ninstall flatpak:org.test.Hello\n");

  start = g_get_monotonic_time ();
  g_assert_true (execute (ops, &r, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("execute (2 remotes, runtime + 2 apps in 2 installations): %.2f s", seconds_since (start));
  for (guint i = 0; i < ops->len; i++)
    g_assert_cmpstr (g_hash_table_lookup (r.results, bkt_operation_get_id (g_ptr_array_index (ops, i))), ==, "");
  /* Every op moves to 1; the runtime flatpak adds for Hello is announced
   * and its download counts towards Hello. */
  g_assert_cmpuint (r.progress->len, >=, ops->len);
  for (guint i = 0; i < r.progress->len; i++)
    g_test_message ("progress: %s", (char *) g_ptr_array_index (r.progress, i));
  for (guint i = 0; i < r.messages->len; i++)
    g_test_message ("message: %s", (char *) g_ptr_array_index (r.messages, i));
  g_assert_cmpuint (r.messages->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (r.messages, 0), "install runtime/org.test.Platform/"));
  g_assert_true (g_str_has_suffix (g_ptr_array_index (r.messages, 0), "(needed by flatpak:org.test.Hello)"));

  g_assert_true (is_installed (BKT_SCOPE_SYSTEM, "org.test.Hello", "master"));
  g_assert_true (is_installed (BKT_SCOPE_USER, "org.test.Second", "stable"));
  g_assert_false (is_installed (BKT_SCOPE_SYSTEM, "org.test.Second", "stable"));
  g_assert_false (is_installed (BKT_SCOPE_USER, "org.test.Hello", "master"));

  /* Converged: a fresh read plans nothing. */
  g_clear_object (&fp);
  start = g_get_monotonic_time ();
  fp = new_loaded (TRUE, TRUE);
  again = plan_apply (fp, m, NULL);
  g_test_message ("load + plan (in sync): %.1f ms", seconds_since (start) * 1000);
  g_assert_cmpuint (again->len, ==, 0);

  status = status_of (m);
  /* Counts cover apps and remotes (2 + 2), as drift does. */
  g_assert_cmpint (json_object_get_int_member (status, "tracked"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (status, "in_sync"), ==, 4);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "untracked")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "missing")), ==, 0);
  details = json_object_get_object_member (status, "remotes");
  g_assert_cmpint (json_object_get_int_member (details, "tracked"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (details, "in_sync"), ==, 2);
}

/* Leaves remote "test" at the original URL. */
static void
test_modify_remote (void)
{
  g_autoptr(BktManifestSet) moved = NULL;
  g_autoptr(BktManifestSet) original = NULL;
  g_autoptr(BktSubsystem) fp = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) again = NULL;
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Recorder) r = { 0 };
  g_auto(Recorder) r2 = { 0 };
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *url = NULL;
  g_autoptr(JsonObject) status = NULL;

  if (!require_install ())
    return;
  moved = load_main_manifests (repo_link_url);
  original = load_main_manifests (repo_url);

  fp = new_loaded (TRUE, TRUE);
  ops = plan_apply (fp, moved, NULL);
  text = describe_ops (ops);
  g_assert_cmpstr (text, ==, "modify-remote flatpak-remote:test\n");
  expected = g_strdup_printf ("Change flatpak remote test URL (%s → %s, system)", repo_url, repo_link_url);
  g_assert_cmpstr (bkt_operation_get_summary (g_ptr_array_index (ops, 0)), ==, expected);

  status = status_of (moved);
  g_assert_cmpstr (json_array_get_string_element (
                     json_object_get_array_member (json_object_get_object_member (status, "remotes"), "drifted"), 0),
                   ==, "flatpak-remote:test");

  g_assert_true (execute (ops, &r, NULL, &error));
  g_assert_no_error (error);
  url = live_remote_url (BKT_SCOPE_SYSTEM, "test");
  g_assert_cmpstr (url, ==, repo_link_url);

  g_clear_object (&fp);
  fp = new_loaded (TRUE, TRUE);
  again = plan_apply (fp, moved, NULL);
  g_assert_cmpuint (again->len, ==, 0);

  /* And back, through the same path. */
  back = plan_apply (fp, original, NULL);
  g_assert_cmpuint (back->len, ==, 1);
  g_assert_true (execute (back, &r2, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&url, g_free);
  url = live_remote_url (BKT_SCOPE_SYSTEM, "test");
  g_assert_cmpstr (url, ==, repo_url);
}

/* Leaves Hello and Second installed, App001 not. */
static void
test_drift (void)
{
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(BktManifestSet) empty = NULL;
  g_autoptr(BktSubsystem) fp = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) all_ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) all_warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) fix = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Recorder) r = { 0 };
  g_autofree char *text = NULL;
  JsonArray *untracked;
  JsonObject *item, *entry;
  BktOperation *op;

  if (!require_install ())
    return;
  m = load_main_manifests (repo_url);
  hand_change (BKT_SCOPE_SYSTEM, NULL, "org.test.Hello", "master");
  hand_change (BKT_SCOPE_USER, "test-user", "org.test.App001", "master");

  status = status_of (m);
  g_assert_cmpint (json_object_get_int_member (status, "tracked"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (status, "in_sync"), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "missing")), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (status, "missing"), 0), ==,
                   "flatpak:org.test.Hello");
  untracked = json_object_get_array_member (status, "untracked");
  g_assert_cmpuint (json_array_get_length (untracked), ==, 1);
  item = json_array_get_object_element (untracked, 0);
  g_assert_cmpstr (json_object_get_string_member (item, "target"), ==, "flatpak:org.test.App001");
  g_assert_cmpstr (json_object_get_string_member (item, "id"), ==, "org.test.App001");
  g_assert_cmpstr (json_object_get_string_member (item, "origin"), ==, "test-user");
  g_assert_cmpstr (json_object_get_string_member (item, "scope"), ==, "user");
  g_assert_nonnull (json_object_get_string_member (item, "summary"));

  fp = new_loaded (TRUE, TRUE);
  g_assert_true (bkt_subsystem_plan_capture (fp, m, ops, warnings, &error));
  g_assert_no_error (error);
  text = describe_ops (ops);
  g_assert_cmpstr (text, ==, "record flatpak:org.test.App001\n");
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Record flatpak:org.test.App001 (test-user, user)");
  g_assert_cmpint (bkt_operation_get_effect (op), ==, BKT_EFFECT_MANIFEST);
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "manifest"), ==, "flatpak-apps");
  entry = json_object_get_object_member (bkt_operation_get_details (op), "entry");
  g_assert_cmpstr (json_object_get_string_member (entry, "id"), ==, "org.test.App001");
  g_assert_cmpstr (json_object_get_string_member (entry, "remote"), ==, "test-user");
  g_assert_cmpstr (json_object_get_string_member (entry, "scope"), ==, "user");
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (warnings, 0), ==,
                   "flatpak:org.test.Hello is in the manifest but not installed (removed by hand?); "
                   "run `bkt apply` to reinstall or `bkt flatpak remove org.test.Hello` to forget it");

  /* From nothing, capture records the remotes too (gpg_verify kept off,
   * or the entry could not recreate them); an app in both scopes is
   * recorded once, system-wide, since the manifest holds one entry per id. */
  hand_change (BKT_SCOPE_SYSTEM, "test", "org.test.Second", "stable");
  g_clear_object (&fp);
  fp = new_loaded (TRUE, TRUE);
  empty = load_manifests (NULL, NULL);
  g_assert_true (bkt_subsystem_plan_capture (fp, empty, all_ops, all_warnings, &error));
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  text = describe_ops (all_ops);
  g_assert_cmpstr (text, ==,
                   "record flatpak-remote:test\n"
                   "record flatpak-remote:test-user\n"
                   "record flatpak:org.test.App001\n"
                   "record flatpak:org.test.Second\n");
  entry = json_object_get_object_member (bkt_operation_get_details (g_ptr_array_index (all_ops, 1)), "entry");
  g_assert_cmpstr (json_object_get_string_member (entry, "name"), ==, "test-user");
  g_assert_cmpstr (json_object_get_string_member (entry, "url"), ==, repo_url);
  g_assert_cmpstr (json_object_get_string_member (entry, "scope"), ==, "user");
  g_assert_false (json_object_get_boolean_member (entry, "gpg_verify"));
  entry = json_object_get_object_member (bkt_operation_get_details (g_ptr_array_index (all_ops, 3)), "entry");
  g_assert_cmpstr (json_object_get_string_member (entry, "scope"), ==, "system");
  g_assert_cmpstr (json_object_get_string_member (entry, "remote"), ==, "test");
  g_assert_cmpuint (all_warnings->len, ==, 0);
  hand_change (BKT_SCOPE_SYSTEM, NULL, "org.test.Second", "stable");

  /* apply puts Hello back. */
  fix = plan_apply (fp, m, NULL);
  g_clear_pointer (&text, g_free);
  text = describe_ops (fix);
  g_assert_cmpstr (text, ==, "install flatpak:org.test.Hello\n");
  g_assert_true (execute (fix, &r, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (is_installed (BKT_SCOPE_SYSTEM, "org.test.Hello", "master"));

  hand_change (BKT_SCOPE_USER, NULL, "org.test.App001", "master");
}

static void
test_change_add (void)
{
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(BktSubsystem) fp = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) installed = NULL;
  g_autoptr(GPtrArray) stable = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *ref = NULL;
  BktOperation *op;
  JsonObject *entry;
  gint64 start;

  if (!require_install ())
    return;
  m = load_main_manifests (repo_url);
  fp = new_loaded (TRUE, TRUE);

  start = g_get_monotonic_time ();
  ops = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Helo'>, 'remote': <'test'>, "
                                                         "'scope': <'system'>}"), &error);
  g_test_message ("add with a typo: %.1f ms", seconds_since (start) * 1000);
  g_assert_null (ops);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "flatpak org.test.Helo not found in remote test; did you mean: org.test.Hello?");
  g_clear_error (&error);

  /* Case and substring matches. */
  ops = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'com.example.second'>, 'remote': <'test'>}"),
                     &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "did you mean: org.test.Second?"));
  g_clear_error (&error);

  ops = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Zzzzzzzzzz'>, 'remote': <'test'>}"),
                     &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "flatpak org.test.Zzzzzzzzzz not found in remote test");
  g_clear_error (&error);

  /* Remote missing in that scope: the message names what is configured. */
  ops = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Hello'>}"), &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "flathub"));
  g_assert_nonnull (strstr (error->message, "configured: test)"));
  g_clear_error (&error);

  ops = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.App002'>, 'remote': <'test'>}"),
                     &error);
  g_assert_no_error (error);
  text = describe_ops (ops);
  g_assert_cmpstr (text, ==, "install flatpak:org.test.App002\nrecord flatpak:org.test.App002\n");
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Install flatpak:org.test.App002 (test, system)");
  ref = g_strdup_printf ("app/org.test.App002/%s/master", flatpak_get_default_arch ());
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "ref"), ==, ref);
  op = g_ptr_array_index (ops, 1);
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Record flatpak:org.test.App002 (test, system)");
  entry = json_object_get_object_member (bkt_operation_get_details (op), "entry");
  g_assert_cmpstr (json_object_get_string_member (entry, "remote"), ==, "test");
  g_assert_cmpstr (json_object_get_string_member (entry, "scope"), ==, "system");

  /* Already installed there: only the manifest changes. */
  installed = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Second'>, "
                                                               "'remote': <'test-user'>, 'scope': <'user'>}"), &error);
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  text = describe_ops (installed);
  g_assert_cmpstr (text, ==, "record flatpak:org.test.Second\n");

  /* The branch comes from the remote: Second only has "stable". */
  stable = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Second'>, 'remote': <'test'>, "
                                                            "'scope': <'system'>}"), &error);
  g_assert_no_error (error);
  g_clear_pointer (&ref, g_free);
  ref = g_strdup_printf ("app/org.test.Second/%s/stable", flatpak_get_default_arch ());
  g_assert_cmpstr (bkt_operation_get_detail_string (g_ptr_array_index (stable, 0), "ref"), ==, ref);
}

/* Leaves Second uninstalled. */
static void
test_change_remove (void)
{
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(BktSubsystem) fp = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) live = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Recorder) r = { 0 };
  g_autofree char *text = NULL;
  BktOperation *op;

  if (!require_install ())
    return;
  m = load_main_manifests (repo_url);
  fp = new_loaded (TRUE, TRUE);

  ops = plan_change (fp, m, "remove", g_variant_new_parsed ("{'id': <'org.test.Second'>}"), &error);
  g_assert_no_error (error);
  text = describe_ops (ops);
  g_assert_cmpstr (text, ==, "uninstall flatpak:org.test.Second\nforget flatpak:org.test.Second\n");
  op = g_ptr_array_index (ops, 0);
  g_assert_cmpstr (bkt_operation_get_summary (op), ==, "Uninstall flatpak:org.test.Second (user)");
  g_assert_cmpint (bkt_operation_get_scope (op), ==, BKT_SCOPE_USER);
  op = g_ptr_array_index (ops, 1);
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "key"), ==, "org.test.Second");
  g_assert_cmpstr (bkt_operation_get_detail_string (op, "manifest"), ==, "flatpak-apps");

  live = live_ops (ops);
  g_assert_true (execute (live, &r, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (result_of (&r, live, "uninstall", "flatpak:org.test.Second"), ==, "");
  g_assert_false (is_installed (BKT_SCOPE_USER, "org.test.Second", "stable"));
}

/* Leaves App002 installed system-wide. */
static void
test_partial_failure (void)
{
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(BktSubsystem) fp = NULL;
  g_autoptr(GPtrArray) missing = NULL;
  g_autoptr(GPtrArray) good = NULL;
  g_autoptr(GPtrArray) no_runtime = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_auto(Recorder) r = { 0 };
  const char *result;

  if (!require_install ())
    return;
  m = load_main_manifests (repo_url);
  fp = new_loaded (TRUE, TRUE);

  /* --force skips the look-up: the failure shows at execution. */
  missing = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.Missing'>, 'remote': <'test'>, "
                                                             "'force': <true>}"), &error);
  g_assert_no_error (error);
  good = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.App002'>, 'remote': <'test'>}"),
                      &error);
  g_assert_no_error (error);
  /* In the remote, so `add` accepts it, but its runtime is nowhere: that
   * fails a whole flatpak transaction before anything runs. */
  no_runtime = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.NoRuntime'>, "
                                                                "'remote': <'test'>}"), &error);
  g_assert_no_error (error);
  g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (missing, 0)));
  g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (no_runtime, 0)));
  g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (good, 0)));
  /* Also a remote that does not exist, forced. */
  {
    g_autoptr(GPtrArray) nowhere = plan_change (fp, m, "add",
                                                g_variant_new_parsed ("{'id': <'org.test.Hello'>, 'remote': <'nowhere'>, "
                                                                      "'scope': <'user'>, 'force': <true>}"), &error);
    g_assert_no_error (error);
    g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (nowhere, 0)));
  }

  execute (ops, &r, NULL, &error);
  g_assert_no_error (error);
  result = result_of (&r, ops, "install", "flatpak:org.test.Missing");
  g_assert_cmpstr (result, ==, "flatpak org.test.Missing not found in remote test");
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (r.codes, "flatpak:install:flatpak:org.test.Missing@system")), ==,
                   BKT_ERROR_NOT_FOUND);
  result = result_of (&r, ops, "install", "flatpak:org.test.Hello");
  g_assert_cmpstr (result, ==, "flatpak remote nowhere is not configured in the user installation");
  result = result_of (&r, ops, "install", "flatpak:org.test.NoRuntime");
  g_assert_nonnull (strstr (result, "requires the runtime org.test.Nowhere"));
  g_assert_cmpstr (result_of (&r, ops, "install", "flatpak:org.test.App002"), ==, "");
  g_assert_true (is_installed (BKT_SCOPE_SYSTEM, "org.test.App002", "master"));
  g_assert_false (is_installed (BKT_SCOPE_USER, "org.test.Hello", "master"));
}

static void
test_cancelled (void)
{
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(BktSubsystem) fp = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GPtrArray) live = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_auto(Recorder) r = { 0 };

  if (!require_install ())
    return;
  m = load_main_manifests (repo_url);
  fp = new_loaded (TRUE, TRUE);
  ops = plan_change (fp, m, "add", g_variant_new_parsed ("{'id': <'org.test.App001'>, 'remote': <'test-user'>, "
                                                         "'scope': <'user'>}"), &error);
  g_assert_no_error (error);
  live = live_ops (ops);

  g_cancellable_cancel (cancellable);
  g_assert_false (execute (live, &r, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (r.codes, "flatpak:install:flatpak:org.test.App001@user")), ==,
                   BKT_ERROR_CANCELLED);
  g_assert_false (is_installed (BKT_SCOPE_USER, "org.test.App001", "master"));
}

int
main (int argc, char **argv)
{
  int ret;

  bkt_test_init (&argc, &argv);
  setup_environment ();

  g_test_add_func ("/flatpak/change-invalid", test_change_invalid);
  g_test_add_func ("/flatpak/apply", test_apply);
  g_test_add_func ("/flatpak/modify-remote", test_modify_remote);
  g_test_add_func ("/flatpak/drift", test_drift);
  g_test_add_func ("/flatpak/change-add", test_change_add);
  g_test_add_func ("/flatpak/change-remove", test_change_remove);
  g_test_add_func ("/flatpak/partial-failure", test_partial_failure);
  g_test_add_func ("/flatpak/cancelled", test_cancelled);

  ret = g_test_run ();
  teardown_environment ();
  return ret;
}
