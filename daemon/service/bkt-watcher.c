/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-config.h"
#include "bkt-engine.h"
#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-manifest.h"
#include "bkt-watcher.h"
#include "bkt-watcher-notify.h"

/* Quiet time after the last event before the drift is computed: a flatpak
 * install or a Settings panel writes several times in a row. */
#define DEBOUNCE_MS_DEFAULT 2000
#define DEBOUNCE_MS_MAX     60000

/* One watched directory: its monitor, and whether it stands in for a
 * missing path (an ancestor: an event there only re-arms the monitors). */
typedef struct {
  GFileMonitor *monitor;
  GFile        *wanted;     /* the missing directory an ancestor stands in for */
  const char   *only;       /* the one child that counts (a flatpak installation's .changed), or NULL */
} Watch;

/* One GSettings object and the keys of it that count (NULL: all). */
typedef struct {
  GSettings  *settings;
  GHashTable *keys;
} WatchedSchema;

struct _BktWatcher
{
  GObject           parent_instance;
  BktDBusManager   *manager;
  BktIdle          *idle;
  BktIdleLocker    *locker;        /* held while running: no idle exit */
  GDBusConnection  *connection;
  GPtrArray        *watches;       /* Watch* */
  GPtrArray        *schemas;       /* WatchedSchema* */
  GCancellable     *cancellable;
  BktWatchNotifier *notifier;
  BktWatcherBusyFunc busy;
  gpointer          busy_data;
  guint             debounce_ms;
  guint             debounce_id;
  gboolean          evaluating;
  gboolean          again;         /* events came during an evaluation */
  gboolean          signalled;     /* a DriftChanged was emitted already */
};

G_DEFINE_TYPE (BktWatcher, bkt_watcher, G_TYPE_OBJECT)

static void schedule (BktWatcher *self);
static void arm_monitors (BktWatcher *self);

/* g_ptr_array_sort passes pointers to the elements. */
static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* ---- configuration ---------------------------------------------------------------- */

gboolean
bkt_watcher_configured (GError **error)
{
  g_autoptr(JsonObject) config = bkt_config_load (error);
  JsonNode *n;

  if (config == NULL)
    return FALSE;
  n = json_object_get_member (config, "watch");
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    {
      g_autofree char *path = bkt_config_path ();
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: \"watch\" must be true or false",
                          path), FALSE;
    }
  return json_node_get_boolean (n);
}

static gboolean
config_flag (const char *key)
{
  g_autoptr(JsonObject) config = bkt_config_load (NULL);

  return config != NULL && json_object_get_boolean_member_with_default (config, key, FALSE);
}

GStrv
bkt_watcher_ignored (void)
{
  g_autoptr(JsonObject) config = bkt_config_load (NULL);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  JsonNode *n = config != NULL ? json_object_get_member (config, "ignore") : NULL;
  JsonArray *a = n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;

  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        g_ptr_array_add (out, g_strdup (json_node_get_string (e)));
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

void
bkt_watcher_mark_ignored (JsonObject *status)
{
  g_auto(GStrv) ignored = bkt_watcher_ignored ();
  JsonObject *subsystems = json_object_get_object_member (status, "subsystems");
  g_autoptr(GList) names = subsystems != NULL ? json_object_get_members (subsystems) : NULL;
  g_autoptr(JsonArray) seen = json_array_new ();

  if (ignored[0] == NULL)
    return;
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *st = json_object_get_object_member (subsystems, l->data);
      JsonArray *lists[2] = { json_object_get_array_member (st, "drift"), json_object_get_array_member (st, "untracked") };

      for (guint k = 0; k < 2; k++)
        for (guint i = 0; lists[k] != NULL && i < json_array_get_length (lists[k]); i++)
          {
            JsonNode *n = json_array_get_element (lists[k], i);
            JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
            const char *target = o != NULL ? bkt_json_object_get_string (o, "target") : NULL;
            const char *dir = k == 1 ? "capture" : o != NULL ? bkt_json_object_get_string (o, "direction") : NULL;

            /* Only what was changed here: the manifests' changes are never ignored. */
            if (target == NULL || !g_strv_contains ((const char *const *) ignored, target) ||
                (g_strcmp0 (dir, "capture") != 0 && g_strcmp0 (dir, "conflict") != 0))
              continue;
            json_object_set_boolean_member (o, "ignored", TRUE);
            json_array_add_string_element (seen, target);
          }
    }
  json_object_set_array_member (status, "ignored", json_array_ref (seen));
}

static guint
debounce_ms (void)
{
  const char *env = g_getenv ("BKT_WATCH_DEBOUNCE_MS");
  g_autoptr(JsonObject) config = NULL;
  gint64 ms;

  if (env != NULL && *env != '\0')
    ms = g_ascii_strtoll (env, NULL, 10);
  else
    {
      config = bkt_config_load (NULL);
      ms = config != NULL ? json_object_get_int_member_with_default (config, "watch_debounce_ms", DEBOUNCE_MS_DEFAULT)
                          : DEBOUNCE_MS_DEFAULT;
    }
  return (guint) CLAMP (ms, 50, DEBOUNCE_MS_MAX);
}

/* ---- the sources of events ---------------------------------------------------------- */

static void
watch_free (gpointer p)
{
  Watch *w = p;

  g_file_monitor_cancel (w->monitor);
  g_signal_handlers_disconnect_matched (w->monitor, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, NULL);
  g_object_unref (w->monitor);
  g_clear_object (&w->wanted);
  g_free (w);
}

static void
schema_free (gpointer p)
{
  WatchedSchema *s = p;

  g_signal_handlers_disconnect_matched (s->settings, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, NULL);
  g_object_unref (s->settings);
  g_clear_pointer (&s->keys, g_hash_table_unref);
  g_free (s);
}

static gboolean
rearm (gpointer data)
{
  BktWatcher *self = data;

  if (self->cancellable == NULL)
    return G_SOURCE_REMOVE;
  arm_monitors (self);
  /* What appeared may be what is watched (a first user installation). */
  schedule (self);
  return G_SOURCE_REMOVE;
}

static void
on_dir_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event, BktWatcher *self)
{
  for (guint i = 0; i < self->watches->len; i++)
    {
      Watch *w = g_ptr_array_index (self->watches, i);
      g_autofree char *name = NULL;

      if (w->monitor != monitor)
        continue;
      if (w->wanted != NULL)
        {
          /* Only what is on the way to the missing directory: an ancestor
           * such as ~/.local/share changes all the time for other reasons.
           * Watch it if it is there now (from an idle: this monitor goes). */
          if (g_file_equal (file, w->wanted) || g_file_has_prefix (w->wanted, file))
            g_idle_add_full (G_PRIORITY_DEFAULT, rearm, g_object_ref (self), g_object_unref);
          return;
        }
      /* The directory itself went (and may come back): watch the way to it. */
      if ((event == G_FILE_MONITOR_EVENT_DELETED || event == G_FILE_MONITOR_EVENT_MOVED_OUT) &&
          g_file_equal (file, g_object_get_data (G_OBJECT (monitor), "bkt-path")))
        g_idle_add_full (G_PRIORITY_DEFAULT, rearm, g_object_ref (self), g_object_unref);
      name = g_file_get_basename (file);
      if (w->only != NULL && g_strcmp0 (name, w->only) != 0)
        return;
      break;
    }
  schedule (self);
}

/* Monitors @path, or while it does not exist its nearest existing ancestor
 * (GIO's own handling of a missing path polls it every few seconds: the
 * watcher must cost nothing while idle). */
static void
watch_dir (BktWatcher *self, const char *path, const char *only)
{
  g_autofree char *dir = g_strdup (path);
  gboolean ancestor = FALSE;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  Watch *w;

  while (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      char *parent = g_path_get_dirname (dir);
      gboolean top = g_str_equal (parent, dir);

      g_free (dir);
      dir = parent;
      ancestor = TRUE;
      if (top)
        return;
    }
  for (guint i = 0; i < self->watches->len; i++)
    {
      Watch *o = g_ptr_array_index (self->watches, i);
      g_autofree char *p = g_file_get_path (g_object_get_data (G_OBJECT (o->monitor), "bkt-path"));
      if (!ancestor && o->wanted == NULL && g_strcmp0 (p, dir) == 0 && g_strcmp0 (o->only, only) == 0)
        return;
    }
  file = g_file_new_for_path (dir);
  w = g_new0 (Watch, 1);
  w->wanted = ancestor ? g_file_new_for_path (path) : NULL;
  w->only = ancestor ? NULL : only;
  w->monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
  if (w->monitor == NULL)
    {
      g_debug ("watcher: cannot monitor %s: %s", dir, error->message);
      g_free (w);
      return;
    }
  g_object_set_data_full (G_OBJECT (w->monitor), "bkt-path", g_object_ref (file), g_object_unref);
  g_signal_connect (w->monitor, "changed", G_CALLBACK (on_dir_changed), self);
  g_ptr_array_add (self->watches, w);
  g_debug ("watcher: monitoring %s%s", dir, ancestor ? " (until the directory below appears)" : "");
}

static char *
shim_dir (void)
{
  char *dir = bkt_config_setting ("BKT_SHIM_DIR", "shim_dir", TRUE, NULL);

  return dir != NULL ? dir : g_build_filename (g_get_home_dir (), ".local", "toolbox", "shims", NULL);
}

/* The directories whose changes are changes of what bkt manages. */
static void
arm_monitors (BktWatcher *self)
{
  const char *system_flatpak = g_getenv ("FLATPAK_SYSTEM_DIR");
  const char *user_flatpak = g_getenv ("FLATPAK_USER_DIR");
  g_autofree char *user_base = user_flatpak != NULL && *user_flatpak != '\0'
                               ? g_strdup (user_flatpak)
                               : g_build_filename (g_get_user_data_dir (), "flatpak", NULL);
  const char *system_base = system_flatpak != NULL && *system_flatpak != '\0' ? system_flatpak : "/var/lib/flatpak";
  const char *const *data_dirs = g_get_system_data_dirs ();
  g_autofree char *shims = shim_dir ();

  if (self->watches->len > 0)
    g_ptr_array_set_size (self->watches, 0);
  /* app/ gets the deployments; flatpak touches .changed in the
   * installation's top directory when an operation is complete. */
  for (guint i = 0; i < 2; i++)
    {
      const char *base = i == 0 ? user_base : system_base;
      g_autofree char *apps = g_build_filename (base, "app", NULL);
      watch_dir (self, base, ".changed");
      watch_dir (self, apps, NULL);
    }
  {
    g_autofree char *ext = g_build_filename (g_get_user_data_dir (), "gnome-shell", "extensions", NULL);
    watch_dir (self, ext, NULL);
  }
  for (guint i = 0; data_dirs[i] != NULL; i++)
    {
      g_autofree char *ext = g_build_filename (data_dirs[i], "gnome-shell", "extensions", NULL);
      if (g_file_test (ext, G_FILE_TEST_IS_DIR))
        watch_dir (self, ext, NULL);
    }
  watch_dir (self, shims, NULL);
}

static void
on_setting_changed (GSettings *settings, const char *key, BktWatcher *self)
{
  for (guint i = 0; i < self->schemas->len; i++)
    {
      WatchedSchema *s = g_ptr_array_index (self->schemas, i);
      if (s->settings == settings && (s->keys == NULL || g_hash_table_contains (s->keys, key)))
        {
          schedule (self);
          return;
        }
    }
}

/* @key NULL: every key of the schema. */
static void
watch_setting (BktWatcher *self, const char *schema_id, const char *path, const char *key)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source != NULL ? g_settings_schema_source_lookup (source, schema_id, TRUE) : NULL;
  WatchedSchema *s = NULL;

  if (schema == NULL || (key != NULL && !g_settings_schema_has_key (schema, key)) ||
      (g_settings_schema_get_path (schema) == NULL && path == NULL))
    return;
  for (guint i = 0; i < self->schemas->len && s == NULL; i++)
    {
      WatchedSchema *o = g_ptr_array_index (self->schemas, i);
      g_autofree char *opath = NULL;
      g_autofree char *oid = NULL;

      g_object_get (o->settings, "path", &opath, "schema-id", &oid, NULL);
      if (g_str_equal (oid, schema_id) && (path == NULL || g_strcmp0 (opath, path) == 0))
        s = o;
    }
  if (s == NULL)
    {
      s = g_new0 (WatchedSchema, 1);
      s->settings = g_settings_new_full (schema, NULL, path);
      s->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_signal_connect (s->settings, "changed", G_CALLBACK (on_setting_changed), self);
      g_ptr_array_add (self->schemas, s);
    }
  if (key == NULL)
    g_clear_pointer (&s->keys, g_hash_table_unref);
  else if (s->keys != NULL)
    g_hash_table_add (s->keys, g_strdup (key));
  /* GSettings only reports changes of keys it has read (dconf). */
  {
    g_auto(GStrv) keys = key == NULL ? g_settings_schema_list_keys (schema) : NULL;
    for (guint i = 0; key == NULL && keys[i] != NULL; i++)
      g_variant_unref (g_settings_get_value (s->settings, keys[i]));
    if (key != NULL)
      g_variant_unref (g_settings_get_value (s->settings, key));
  }
}

static BktManifestSet *
load_manifests (GError **error)
{
  const char *image_dir = g_getenv ("BKT_IMAGE_MANIFESTS_DIR");
  g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "bkt", "manifests", NULL);

  return bkt_manifest_set_load_layered (image_dir != NULL ? image_dir : BKT_IMAGE_MANIFESTS_DIR, user_dir, error);
}

/* The keys the manifests track (all keys of their schemas with
 * "watch_all_keys") and the shell's extension lists. */
static void
watch_settings (BktWatcher *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifestSet) manifests = load_manifests (&error);
  BktManifest *m = manifests != NULL ? bkt_manifest_set_get (manifests, BKT_MANIFEST_GSETTINGS) : NULL;
  JsonArray *entries = m != NULL ? bkt_manifest_get_entries (m) : NULL;
  gboolean all = config_flag ("watch_all_keys");

  if (manifests == NULL)
    g_message ("watcher: the manifests cannot be read (%s): only the shell's keys and the directories are watched",
               error->message);
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *n = json_array_get_element (entries, i);
      JsonObject *e = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      const char *schema = e != NULL ? bkt_json_object_get_string (e, "schema") : NULL;
      const char *key = e != NULL ? bkt_json_object_get_string (e, "key") : NULL;

      if (schema != NULL && key != NULL)
        watch_setting (self, schema, bkt_json_object_get_string (e, "path"), all ? NULL : key);
    }
  watch_setting (self, "org.gnome.shell", NULL, "enabled-extensions");
  watch_setting (self, "org.gnome.shell", NULL, "disabled-extensions");
}

/* ---- evaluation ------------------------------------------------------------------------- */

static void
status_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *c)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifestSet) manifests = load_manifests (&error);
  g_autoptr(BktEngine) engine = NULL;
  JsonObject *status = NULL;

  if (manifests != NULL)
    engine = bkt_engine_new (BKT_INSTANCE_SESSION, NULL, NULL, &error);
  if (engine != NULL)
    status = bkt_engine_status (engine, manifests, c, &error);
  if (status == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, status, (GDestroyNotify) json_object_unref);
}

/* The counts per direction and the targets changed here, without the
 * ignored ones (bkt_watcher_mark_ignored has marked them). */
static GVariant *
summarize (JsonObject *status, GPtrArray *here)
{
  JsonObject *subsystems = json_object_get_object_member (status, "subsystems");
  g_autoptr(GList) names = subsystems != NULL ? json_object_get_members (subsystems) : NULL;
  guint32 apply = 0, capture = 0, conflict = 0, n_ignored = 0;
  GVariantBuilder b;

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *st = json_object_get_object_member (subsystems, l->data);
      JsonArray *lists[2] = { json_object_get_array_member (st, "drift"), json_object_get_array_member (st, "untracked") };

      for (guint k = 0; k < 2; k++)
        for (guint i = 0; lists[k] != NULL && i < json_array_get_length (lists[k]); i++)
          {
            JsonObject *op = json_array_get_object_element (lists[k], i);
            const char *target = op != NULL ? bkt_json_object_get_string (op, "target") : NULL;
            const char *dir = k == 1 ? "capture" : op != NULL ? bkt_json_object_get_string (op, "direction") : NULL;

            if (target == NULL)
              continue;
            if (g_strcmp0 (dir, "capture") == 0 || g_strcmp0 (dir, "conflict") == 0)
              {
                if (json_object_get_boolean_member_with_default (op, "ignored", FALSE))
                  {
                    n_ignored++;
                    continue;
                  }
                if (g_str_equal (dir, "conflict"))
                  conflict++;
                else if (!g_ptr_array_find_with_equal_func (here, target, g_str_equal, NULL))
                  {
                    capture++;
                    g_ptr_array_add (here, g_strdup (target));
                  }
              }
            else
              apply++;   /* what apply would do: changed in the manifests, never applied, two-way */
          }
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{su}"));
  g_variant_builder_add (&b, "{su}", "apply", apply);
  g_variant_builder_add (&b, "{su}", "capture", capture);
  g_variant_builder_add (&b, "{su}", "conflict", conflict);
  g_variant_builder_add (&b, "{su}", "ignored", n_ignored);
  return g_variant_builder_end (&b);
}

static void
on_status (GObject *source, GAsyncResult *result, gpointer data)
{
  BktWatcher *self = BKT_WATCHER (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) status = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr(GPtrArray) here = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GVariant) drift = NULL;
  GVariant *old;

  self->evaluating = FALSE;
  if (status == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("watcher: the drift could not be computed: %s", error->message);
      return;
    }
  if (self->cancellable == NULL)
    return;   /* stopped meanwhile */
  /* The same verdict as bkt status: one place decides what is ignored. */
  bkt_watcher_mark_ignored (status);
  drift = g_variant_ref_sink (summarize (status, here));
  old = bkt_dbus_manager_get_drift (self->manager);
  g_ptr_array_sort (here, compare_strings);
  g_ptr_array_add (here, NULL);
  if (!self->signalled || old == NULL || !g_variant_equal (old, drift))
    {
      g_autofree char *text = g_variant_print (drift, FALSE);
      g_message ("watcher: drift %s, %u item(s) changed here", text, here->len - 1);
      bkt_dbus_manager_set_drift (self->manager, drift);
      bkt_dbus_manager_emit_drift_changed (self->manager, drift, (const char *const *) here->pdata);
      self->signalled = TRUE;
    }
  bkt_watch_notifier_show (self->notifier, (const char *const *) here->pdata);
  if (self->again)
    {
      self->again = FALSE;
      schedule (self);
    }
}

static gboolean
evaluate (gpointer data)
{
  BktWatcher *self = data;
  g_autoptr(GTask) task = NULL;

  self->debounce_id = 0;
  if (self->evaluating)
    {
      self->again = TRUE;
      return G_SOURCE_REMOVE;
    }
  /* A transaction runs: once more after another quiet period (its own
   * changes keep restarting it until it has finished). */
  if (self->busy != NULL && self->busy (self->busy_data))
    {
      schedule (self);
      return G_SOURCE_REMOVE;
    }
  self->evaluating = TRUE;
  task = g_task_new (self, self->cancellable, on_status, NULL);
  g_task_run_in_thread (task, status_in_thread);
  return G_SOURCE_REMOVE;
}

/* Every event restarts the quiet period: a burst is one evaluation. */
static void
schedule (BktWatcher *self)
{
  if (self->cancellable == NULL)
    return;
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  self->debounce_id = g_timeout_add (self->debounce_ms, evaluate, self);
}

static void
on_settled (gpointer data)
{
  schedule (data);
}

/* ---- the object ------------------------------------------------------------------------- */

gboolean
bkt_watcher_start (BktWatcher *self, GDBusConnection *connection, GError **error)
{
  if (self->cancellable != NULL)
    return TRUE;
  self->cancellable = g_cancellable_new ();
  g_set_object (&self->connection, connection);
  self->debounce_ms = debounce_ms ();
  self->locker = bkt_idle_locker_new (self->idle, "watching");
  self->notifier = bkt_watch_notifier_new (connection, on_settled, self);
  arm_monitors (self);
  watch_settings (self);
  self->signalled = FALSE;
  bkt_dbus_manager_set_watching (self->manager, TRUE);
  g_message ("watcher: started (%u director%s, %u schema%s, debounce %u ms)", self->watches->len,
             self->watches->len == 1 ? "y" : "ies", self->schemas->len, self->schemas->len == 1 ? "" : "s",
             self->debounce_ms);
  /* The first counts, so Drift is right from the start. */
  evaluate (self);
  return TRUE;
}

void
bkt_watcher_stop (BktWatcher *self)
{
  GVariantBuilder b;

  if (self->cancellable == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  g_ptr_array_set_size (self->watches, 0);
  g_ptr_array_set_size (self->schemas, 0);
  g_clear_pointer (&self->notifier, bkt_watch_notifier_free);
  g_clear_pointer (&self->locker, bkt_idle_locker_free);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{su}"));
  bkt_dbus_manager_set_drift (self->manager, g_variant_builder_end (&b));
  bkt_dbus_manager_set_watching (self->manager, FALSE);
  g_message ("watcher: stopped");
}

gboolean
bkt_watcher_is_running (BktWatcher *self)
{
  return self->cancellable != NULL;
}

static void
bkt_watcher_dispose (GObject *object)
{
  BktWatcher *self = BKT_WATCHER (object);

  if (self->manager != NULL)
    bkt_watcher_stop (self);
  g_clear_object (&self->manager);
  g_clear_object (&self->idle);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (bkt_watcher_parent_class)->dispose (object);
}

static void
bkt_watcher_finalize (GObject *object)
{
  BktWatcher *self = BKT_WATCHER (object);

  g_ptr_array_unref (self->watches);
  g_ptr_array_unref (self->schemas);
  G_OBJECT_CLASS (bkt_watcher_parent_class)->finalize (object);
}

static void
bkt_watcher_class_init (BktWatcherClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = bkt_watcher_dispose;
  G_OBJECT_CLASS (klass)->finalize = bkt_watcher_finalize;
}

static void
bkt_watcher_init (BktWatcher *self)
{
  self->watches = g_ptr_array_new_with_free_func (watch_free);
  self->schemas = g_ptr_array_new_with_free_func (schema_free);
}

BktWatcher *
bkt_watcher_new (BktDBusManager *manager, BktIdle *idle, BktWatcherBusyFunc busy, gpointer data)
{
  BktWatcher *self = g_object_new (BKT_TYPE_WATCHER, NULL);
  GVariantBuilder b;

  self->busy = busy;
  self->busy_data = data;
  self->manager = g_object_ref (manager);
  self->idle = g_object_ref (idle);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{su}"));
  bkt_dbus_manager_set_drift (manager, g_variant_builder_end (&b));
  bkt_dbus_manager_set_watching (manager, FALSE);
  return self;
}
