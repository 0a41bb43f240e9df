/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <sys/wait.h>

#include <gio/gunixfdlist.h>

#include "bkt-error.h"
#include "bkt-systemd.h"

#define SD_NAME "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"
/* A unit's start may legitimately take long (TimeoutStartSec= defaults to
 * 90 s, and units may raise it); systemd ends every job itself, this only
 * guards against a manager that never answers. */
#define JOB_TIMEOUT_SECONDS (15 * 60)
#define CALL_TIMEOUT_MS (60 * 1000)

static const char * const verbs[] = {
  [BKT_SYSTEMD_START] = "start",
  [BKT_SYSTEMD_STOP] = "stop",
  [BKT_SYSTEMD_RESTART] = "restart",
  [BKT_SYSTEMD_RELOAD] = "reload",
  [BKT_SYSTEMD_ENABLE] = "enable",
  [BKT_SYSTEMD_DISABLE] = "disable",
  [BKT_SYSTEMD_MASK] = "mask",
  [BKT_SYSTEMD_UNMASK] = "unmask",
  [BKT_SYSTEMD_DAEMON_RELOAD] = "daemon-reload",
};

static const char * const suffixes[] = {
  "service", "socket", "device", "mount", "automount", "swap", "target",
  "path", "timer", "slice", "scope", NULL
};

gboolean
bkt_systemd_verb_from_string (const char *s, BktSystemdVerb *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (g_strcmp0 (s, verbs[i]) == 0)
      {
        *out = (BktSystemdVerb) i;
        return TRUE;
      }
  return FALSE;
}

const char *
bkt_systemd_verb_to_string (BktSystemdVerb verb)
{
  g_return_val_if_fail ((guint) verb < G_N_ELEMENTS (verbs), "?");
  return verbs[verb];
}

char *
bkt_systemd_normalize_unit (const char *name, GError **error)
{
  g_autofree char *full = NULL;
  const char *dot;
  gsize len = strlen (name);

  if (len == 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "a unit name must not be empty"), NULL;
  /* Checked on the caller's text first so that the message shows what was
   * typed; the name is never echoed whole when it is huge. */
  if (len > 255)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "a unit name is at most 255 characters long (got %" G_GSIZE_FORMAT ")", len), NULL;
  if (name[0] == '-' || name[0] == '.')
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unit name “%s” must not start with “%c”", name, name[0]), NULL;
  for (gsize i = 0; i < len; i++)
    {
      char c = name[i];
      if (c == '/')
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "unit name “%s” must not contain “/”: it is a name, not a path", name), NULL;
      if (!(g_ascii_isalnum (c) || strchr (":_.\\@-", c) != NULL))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "unit name has an invalid character at position %" G_GSIZE_FORMAT
                            " (allowed: letters, digits and : _ . \\ @ -)", i + 1), NULL;
    }

  dot = strrchr (name, '.');
  if (dot != NULL && g_strv_contains (suffixes, dot + 1))
    full = g_strdup (name);
  else
    full = g_strconcat (name, ".service", NULL);
  dot = strrchr (full, '.');
  if (dot == full)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unit name “%s” has nothing before its suffix", name), NULL;
  if (strlen (full) > 255)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unit name “%s” is too long with its suffix", name), NULL;
  return g_steal_pointer (&full);
}

/* ---- errors ------------------------------------------------------------------ */

static void
translate_error (GError **error, const char *unit)
{
  GError *e = *error;
  g_autofree char *remote = g_dbus_error_get_remote_error (e);
  BktError code = BKT_ERROR_FAILED;

  if (remote != NULL &&
      (g_str_equal (remote, "org.freedesktop.systemd1.NoSuchUnit") ||
       g_str_equal (remote, "org.freedesktop.systemd1.LoadFailed")))
    code = BKT_ERROR_NOT_FOUND;
  else if (remote != NULL && g_str_equal (remote, "org.freedesktop.systemd1.UnitMasked"))
    code = BKT_ERROR_FAILED;
  else if (g_error_matches (e, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
           g_error_matches (e, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    code = BKT_ERROR_NOT_SUPPORTED;
  else if (g_error_matches (e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    code = BKT_ERROR_CANCELLED;
  g_dbus_error_strip_remote_error (e);
  if (code == BKT_ERROR_NOT_SUPPORTED)
    *error = g_error_new (BKT_ERROR, code, "systemd is not reachable on the system bus: %s", e->message);
  else
    *error = g_error_new (BKT_ERROR, code, "%s%s%s", unit ? unit : "", unit ? ": " : "", e->message);
  g_error_free (e);
}

static GVariant *
call (GDBusConnection *c, const char *path, const char *iface, const char *method, GVariant *params,
      const char *reply_type, const char *unit, GCancellable *cancellable, GError **error)
{
  GVariant *reply = g_dbus_connection_call_sync (c, SD_NAME, path, iface, method, params,
                                                 reply_type ? G_VARIANT_TYPE (reply_type) : NULL,
                                                 G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, cancellable, error);
  if (reply == NULL && error != NULL)
    translate_error (error, unit);
  return reply;
}

/* ---- status ------------------------------------------------------------------ */

static GVariant *
get_all (GDBusConnection *c, const char *path, const char *iface, GCancellable *cancellable)
{
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (c, SD_NAME, path, "org.freedesktop.DBus.Properties",
                                                           "GetAll", g_variant_new ("(s)", iface),
                                                           G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
                                                           CALL_TIMEOUT_MS, cancellable, NULL);
  return reply != NULL ? g_variant_get_child_value (reply, 0) : NULL;
}

static void
set_prop_string (JsonObject *o, const char *member, GVariant *props, const char *name)
{
  const char *v = NULL;

  if (props != NULL && g_variant_lookup (props, name, "&s", &v))
    json_object_set_string_member (o, member, v);
  else
    json_object_set_null_member (o, member);
}

static JsonObject *
unit_status (GDBusConnection *c, const char *unit, GCancellable *cancellable, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) props = NULL;
  g_autoptr(GVariant) service = NULL;
  JsonObject *o;
  const char *path, *result = NULL, *active = NULL;
  gint32 status = 0;

  /* LoadUnit (not GetUnit): a unit that is not loaded right now, e.g. an
   * inactive one, is still reported with its real state. */
  reply = call (c, SD_PATH, SD_MANAGER, "LoadUnit", g_variant_new ("(s)", unit), "(o)", unit,
                cancellable, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&o)", &path);
  props = get_all (c, path, SD_UNIT, cancellable);
  if (props == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: systemd did not report its properties", unit), NULL;

  o = json_object_new ();
  json_object_set_string_member (o, "unit", unit);
  set_prop_string (o, "description", props, "Description");
  set_prop_string (o, "load_state", props, "LoadState");
  set_prop_string (o, "active_state", props, "ActiveState");
  set_prop_string (o, "sub_state", props, "SubState");
  set_prop_string (o, "unit_file_state", props, "UnitFileState");
  g_variant_lookup (props, "ActiveState", "&s", &active);

  if (g_str_has_suffix (unit, ".service"))
    service = get_all (c, path, SD_SERVICE, cancellable);
  set_prop_string (o, "result", service, "Result");
  if (service != NULL && g_variant_lookup (service, "ExecMainStatus", "i", &status))
    json_object_set_int_member (o, "exec_main_status", status);
  else
    json_object_set_null_member (o, "exec_main_status");
  if (service != NULL)
    g_variant_lookup (service, "Result", "&s", &result);

  /* The recent failure, in one phrase, as systemctl status shows it. */
  if (g_strcmp0 (active, "failed") == 0 || (result != NULL && !g_str_equal (result, "success")))
    {
      g_autofree char *why = NULL;
      if (result != NULL && g_str_equal (result, "exit-code"))
        why = g_strdup_printf ("exit-code (status %d)", status);
      else
        why = g_strdup (result != NULL ? result : "failed");
      json_object_set_string_member (o, "failure", why);
    }
  else
    json_object_set_null_member (o, "failure");
  return o;
}

JsonObject *
bkt_systemd_status (GDBusConnection    *connection,
                    const char * const *units,
                    GCancellable       *cancellable,
                    GError            **error)
{
  g_autoptr(JsonObject) out = json_object_new ();
  JsonArray *arr = json_array_new ();

  json_object_set_array_member (out, "units", arr);
  for (guint i = 0; units != NULL && units[i] != NULL; i++)
    {
      JsonObject *u = unit_status (connection, units[i], cancellable, error);
      if (u == NULL)
        return NULL;
      json_array_add_object_element (arr, u);
    }
  return g_steal_pointer (&out);
}

/* ---- jobs -------------------------------------------------------------------- */

/* Watches JobRemoved on the thread-default main context of whoever created
 * it.  The subscription is made before the call that creates the job: its
 * callbacks are queued to that context, so a job that ends before the
 * call's reply arrives is not missed.  Subscribe() makes systemd emit job
 * signals at all. */
typedef struct {
  GDBusConnection *c;
  GMainContext    *context;
  GHashTable      *removed;   /* job path → result, seen so far */
  char            *systemd;   /* the manager's unique bus name */
  guint            sub;
} JobWatch;

static void
on_job_removed (GDBusConnection *c, const char *sender, const char *path, const char *iface,
                const char *signal, GVariant *params, gpointer user_data)
{
  JobWatch *w = user_data;
  guint32 id;
  const char *job, *unit, *result;

  /* Any peer can send a signal; only the manager's own says a job ended
   * (GLib before 2.80.1 could let a forged one through: CVE-2024-34397). */
  if (w->systemd == NULL || g_strcmp0 (sender, w->systemd) != 0)
    {
      g_message ("ignoring a JobRemoved signal from %s, not from systemd (%s)", sender ? sender : "(none)",
                 w->systemd ? w->systemd : "not on the bus");
      return;
    }
  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(uoss)")))
    return;
  g_variant_get (params, "(u&o&s&s)", &id, &job, &unit, &result);
  g_hash_table_insert (w->removed, g_strdup (job), g_strdup (result));
}

static void
job_watch_begin (JobWatch *w, GDBusConnection *c, GCancellable *cancellable)
{
  g_autoptr(GVariant) reply = NULL;

  w->c = c;
  w->context = g_main_context_ref_thread_default ();
  w->removed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  reply = g_dbus_connection_call_sync (c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "GetNameOwner", g_variant_new ("(s)", SD_NAME), G_VARIANT_TYPE ("(s)"),
                                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, cancellable, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(s)", &w->systemd);
  g_clear_pointer (&reply, g_variant_unref);
  /* Subscribed to the unique name: the match rule itself names systemd. */
  w->sub = g_dbus_connection_signal_subscribe (c, w->systemd ? w->systemd : SD_NAME, SD_MANAGER, "JobRemoved",
                                               SD_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_job_removed, w, NULL);
  reply = call (c, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, NULL, cancellable, NULL);
}

static void
job_watch_end (JobWatch *w)
{
  g_dbus_connection_signal_unsubscribe (w->c, w->sub);
  /* Unsubscribing queues the user data's release on the context: drain
   * it before @w goes out of scope. */
  while (g_main_context_pending (w->context))
    g_main_context_iteration (w->context, FALSE);
  g_clear_pointer (&w->removed, g_hash_table_unref);
  g_clear_pointer (&w->context, g_main_context_unref);
  g_clear_pointer (&w->systemd, g_free);
}

static gboolean
on_flag_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;
  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until @job is removed (its result returned), @cancellable is
 * cancelled or @timeout_s seconds pass (0: no limit); NULL then. */
static const char *
job_watch_wait (JobWatch *w, const char *job, guint timeout_s, GCancellable *cancellable, gboolean *timed_out)
{
  g_autoptr(GSource) timeout = NULL;

  *timed_out = FALSE;
  if (timeout_s > 0)
    {
      timeout = g_timeout_source_new_seconds (timeout_s);
      g_source_set_callback (timeout, on_flag_timeout, timed_out, NULL);
      g_source_attach (timeout, w->context);
    }
  while (!g_hash_table_contains (w->removed, job) && !*timed_out && !g_cancellable_is_cancelled (cancellable))
    g_main_context_iteration (w->context, TRUE);
  if (timeout != NULL)
    g_source_destroy (timeout);
  return g_hash_table_lookup (w->removed, job);
}

/* StartUnit & co. return a job; its end is the JobRemoved signal with the
 * job's result ("done", "failed", "canceled", "timeout", "dependency", …). */
static gboolean
run_job (GDBusConnection *c, const char *method, const char *unit, GCancellable *cancellable, GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GVariant) reply = NULL;
  JobWatch w = { 0 };
  gboolean timed_out = FALSE;
  const char *job, *result;
  gboolean ok = FALSE;

  g_main_context_push_thread_default (context);
  job_watch_begin (&w, c, cancellable);
  reply = call (c, SD_PATH, SD_MANAGER, method, g_variant_new ("(ss)", unit, "replace"), "(o)", unit,
                cancellable, error);
  if (reply == NULL)
    goto out;
  g_variant_get (reply, "(&o)", &job);

  result = job_watch_wait (&w, job, JOB_TIMEOUT_SECONDS, cancellable, &timed_out);
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_CANCELLED,
                   "%s: stopped waiting for job %s (it goes on in systemd)", unit, job);
      goto out;
    }
  if (timed_out)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_TIMED_OUT, "%s: job %s did not finish within %d seconds",
                   unit, job, JOB_TIMEOUT_SECONDS);
      goto out;
    }
  if (g_str_equal (result, "done") || g_str_equal (result, "skipped"))
    ok = TRUE;
  else
    {
      g_autoptr(JsonObject) st = unit_status (c, unit, cancellable, NULL);
      const char *failure = st != NULL ? json_object_get_string_member_with_default (st, "failure", NULL) : NULL;

      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: job %s finished with result “%s”%s%s", unit,
                   method, result, failure ? "; the unit failed: " : "", failure ? failure : "");
    }

out:
  job_watch_end (&w);
  g_main_context_pop_thread_default (context);
  return ok;
}

/* ---- transient units ------------------------------------------------------------ */

gboolean
bkt_systemd_available (GDBusConnection *c)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean has = FALSE;

  if (c == NULL)
    return FALSE;
  reply = g_dbus_connection_call_sync (c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", g_variant_new ("(s)", SD_NAME), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &has);
  return has;
}

/* How long a stop request may take before we stop waiting: systemd's own
 * TimeoutStopSec= (90 s) plus a margin; after it systemd has killed the
 * unit with SIGKILL anyway. */
#define STOP_WAIT_SECONDS 100

static void
read_exit (GDBusConnection *c, const char *name, BktSystemdExit *exit)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) props = NULL;
  const char *path;

  exit->code = 0;
  exit->status = 0;
  reply = call (c, SD_PATH, SD_MANAGER, "GetUnit", g_variant_new ("(s)", name), "(o)", name, NULL, NULL);
  if (reply == NULL)
    return;   /* collected already: it succeeded (only failed units stay loaded) */
  g_variant_get (reply, "(&o)", &path);
  props = get_all (c, path, SD_SERVICE, NULL);
  if (props != NULL)
    {
      g_variant_lookup (props, "ExecMainCode", "i", &exit->code);
      g_variant_lookup (props, "ExecMainStatus", "i", &exit->status);
    }
}

gboolean
bkt_systemd_run_transient (GDBusConnection    *c,
                           const char         *name,
                           const char         *description,
                           const char * const *argv,
                           const char * const *env,
                           int                 stdout_fd,
                           int                 stderr_fd,
                           GCancellable       *cancellable,
                           BktSystemdExit     *exit,
                           GError            **error)
{
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) reset = NULL;
  GVariantBuilder props, exec;
  JobWatch w = { 0 };
  gboolean timed_out = FALSE, ok = FALSE;
  const char *job, *result;
  int out_idx, err_idx;

  exit->code = CLD_EXITED;
  exit->status = 0;
  out_idx = g_unix_fd_list_append (fds, stdout_fd, error);
  err_idx = out_idx >= 0 ? g_unix_fd_list_append (fds, stderr_fd, error) : -1;
  if (err_idx < 0)
    return FALSE;

  g_variant_builder_init (&exec, G_VARIANT_TYPE ("a(sasb)"));
  g_variant_builder_add (&exec, "(s^asb)", argv[0], argv, FALSE);
  g_variant_builder_init (&props, G_VARIANT_TYPE ("a(sv)"));
  g_variant_builder_add (&props, "(sv)", "Description", g_variant_new_string (description));
  /* oneshot: the start job ends when the command does, with result
   * "done" or "failed", which is what we wait for. */
  g_variant_builder_add (&props, "(sv)", "Type", g_variant_new_string ("oneshot"));
  g_variant_builder_add (&props, "(sv)", "ExecStart", g_variant_builder_end (&exec));
  /* An image pull takes as long as it takes; a oneshot's default start
   * timeout (90 s) would kill it. */
  g_variant_builder_add (&props, "(sv)", "TimeoutStartUSec", g_variant_new_uint64 (G_MAXUINT64));
  g_variant_builder_add (&props, "(sv)", "StandardInput", g_variant_new_string ("null"));
  g_variant_builder_add (&props, "(sv)", "StandardOutputFileDescriptor", g_variant_new_handle (out_idx));
  g_variant_builder_add (&props, "(sv)", "StandardErrorFileDescriptor", g_variant_new_handle (err_idx));
  if (env != NULL && env[0] != NULL)
    g_variant_builder_add (&props, "(sv)", "Environment", g_variant_new_strv (env, -1));

  job_watch_begin (&w, c, cancellable);
  reply = g_dbus_connection_call_with_unix_fd_list_sync (c, SD_NAME, SD_PATH, SD_MANAGER, "StartTransientUnit",
                                                         g_variant_new ("(ssa(sv)a(sa(sv)))", name, "fail",
                                                                        &props, NULL),
                                                         G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE,
                                                         CALL_TIMEOUT_MS, fds, NULL, cancellable, error);
  if (reply == NULL)
    {
      translate_error (error, name);
      goto out;
    }
  g_variant_get (reply, "(&o)", &job);

  /* No timeout: systemd ends the job when the command ends. */
  result = job_watch_wait (&w, job, 0, cancellable, &timed_out);
  if (result == NULL)
    {
      /* Cancelled: stop the unit (SIGTERM to the command, SIGKILL after
       * TimeoutStopSec=) and wait until its start job is gone, so that
       * nothing is left running when we report the cancellation. */
      g_autoptr(GVariant) stop = call (c, SD_PATH, SD_MANAGER, "StopUnit", g_variant_new ("(ss)", name, "replace"),
                                       "(o)", name, NULL, NULL);
      const char *stop_job;

      job_watch_wait (&w, job, STOP_WAIT_SECONDS, NULL, &timed_out);
      if (stop != NULL)
        {
          g_variant_get (stop, "(&o)", &stop_job);
          job_watch_wait (&w, stop_job, STOP_WAIT_SECONDS, NULL, &timed_out);
        }
      g_set_error (error, BKT_ERROR, BKT_ERROR_CANCELLED, "%s was cancelled", description);
      goto out;
    }
  if (g_str_equal (result, "done"))
    ok = TRUE;
  else if (g_str_equal (result, "failed"))
    {
      read_exit (c, name, exit);
      ok = TRUE;
    }
  else
    g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: systemd ended its job with result “%s”", name, result);

out:
  /* A failed unit stays loaded (and in `systemctl --failed`) until reset;
   * it is ours, so clean it up.  Harmless when it is gone already. */
  reset = call (c, SD_PATH, SD_MANAGER, "ResetFailedUnit", g_variant_new ("(s)", name), NULL, NULL, NULL, NULL);
  job_watch_end (&w);
  return ok;
}


static gboolean
reload_manager (GDBusConnection *c, GCancellable *cancellable, GError **error)
{
  g_autoptr(GVariant) reply = call (c, SD_PATH, SD_MANAGER, "Reload", NULL, NULL, NULL, cancellable, error);
  return reply != NULL;
}

gboolean
bkt_systemd_run (GDBusConnection *c, BktSystemdVerb verb, const char *unit, gboolean now,
                 GCancellable *cancellable, GError **error)
{
  const char *files[] = { unit, NULL };
  g_autoptr(GVariant) reply = NULL;

  switch (verb)
    {
    case BKT_SYSTEMD_START:
      return run_job (c, "StartUnit", unit, cancellable, error);
    case BKT_SYSTEMD_STOP:
      return run_job (c, "StopUnit", unit, cancellable, error);
    case BKT_SYSTEMD_RESTART:
      return run_job (c, "RestartUnit", unit, cancellable, error);
    case BKT_SYSTEMD_RELOAD:
      return run_job (c, "ReloadUnit", unit, cancellable, error);
    case BKT_SYSTEMD_DAEMON_RELOAD:
      return reload_manager (c, cancellable, error);
    case BKT_SYSTEMD_ENABLE:
      /* runtime=false (persistent, in /etc), force=false (never replace
       * a symlink someone else made) */
      reply = call (c, SD_PATH, SD_MANAGER, "EnableUnitFiles", g_variant_new ("(^asbb)", files, FALSE, FALSE),
                    "(ba(sss))", unit, cancellable, error);
      break;
    case BKT_SYSTEMD_DISABLE:
      reply = call (c, SD_PATH, SD_MANAGER, "DisableUnitFiles", g_variant_new ("(^asb)", files, FALSE),
                    "(a(sss))", unit, cancellable, error);
      break;
    case BKT_SYSTEMD_MASK:
      reply = call (c, SD_PATH, SD_MANAGER, "MaskUnitFiles", g_variant_new ("(^asbb)", files, FALSE, FALSE),
                    "(a(sss))", unit, cancellable, error);
      break;
    case BKT_SYSTEMD_UNMASK:
      reply = call (c, SD_PATH, SD_MANAGER, "UnmaskUnitFiles", g_variant_new ("(^asb)", files, FALSE),
                    "(a(sss))", unit, cancellable, error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (reply == NULL)
    return FALSE;
  /* Unit file changes take effect in the manager after a reload, as
   * systemctl does it. */
  if (!reload_manager (c, cancellable, error))
    return FALSE;
  if (now && verb == BKT_SYSTEMD_ENABLE)
    return run_job (c, "StartUnit", unit, cancellable, error);
  if (now && (verb == BKT_SYSTEMD_DISABLE || verb == BKT_SYSTEMD_MASK))
    return run_job (c, "StopUnit", unit, cancellable, error);
  return TRUE;
}
