/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "bkt-ego.h"
#include "bkt-error.h"
#include "bkt-extensions-private.h"
#include "bkt-gsettings.h"

/* The extension subsystem: installed extensions (the user's and the
 * image's directories) and org.gnome.shell's lists against
 * gnome-extensions.json.  This file reads the live state and plans (apply,
 * capture, status, items, prune, changes); bkt-extensions-exec.c executes. */

void
bkt_extensions_installed_free (Installed *i)
{
  g_free (i->uuid);
  g_free (i->path);
  g_strfreev (i->shell_versions);
  g_free (i);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static gint
compare_installed (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (((const Installed *) a)->uuid, ((const Installed *) b)->uuid);
}

static void bkt_extensions_subsystem_init (BktSubsystemInterface *iface);

G_DEFINE_TYPE_WITH_CODE (BktExtensions, bkt_extensions, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (BKT_TYPE_SUBSYSTEM, bkt_extensions_subsystem_init))

static void
bkt_extensions_finalize (GObject *object)
{
  BktExtensions *self = BKT_EXTENSIONS (object);

  g_free (self->user_dir);
  g_hash_table_unref (self->installed);
  g_strfreev (self->enabled);
  g_strfreev (self->disabled);
  g_free (self->shell_version);
  g_free (self->shell_major);
  g_free (self->ego_url);
  G_OBJECT_CLASS (bkt_extensions_parent_class)->finalize (object);
}

static void
bkt_extensions_class_init (BktExtensionsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_extensions_finalize;
}

static void
bkt_extensions_init (BktExtensions *self)
{
  self->user_dir = g_build_filename (g_get_user_data_dir (), "gnome-shell", "extensions", NULL);
  self->installed = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) bkt_extensions_installed_free);
  self->enabled = g_new0 (char *, 1);
  self->disabled = g_new0 (char *, 1);
}

BktSubsystem *
bkt_extensions_new (void)
{
  return BKT_SUBSYSTEM (g_object_new (BKT_TYPE_EXTENSIONS, NULL));
}

/* ── metadata.json ─────────────────────────────────────────────────────── */

/* The uuid and shell versions of the extension in @dir, or NULL. */
Installed *
bkt_extensions_read_metadata (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "metadata.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *contents = NULL;
  gsize length = 0;
  JsonNode *root, *uuid, *versions;
  JsonObject *o;
  Installed *i;
  GStatBuf st;

  if (g_lstat (path, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > MAX_METADATA_SIZE)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: missing or not a small regular file", path), NULL;
  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  if (!json_parser_load_from_data (parser, contents, (gssize) length, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: not a JSON object", path), NULL;
  o = json_node_get_object (root);
  uuid = json_object_get_member (o, "uuid");
  if (uuid == NULL || !JSON_NODE_HOLDS_VALUE (uuid) || json_node_get_value_type (uuid) != G_TYPE_STRING)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: no \"uuid\" string", path), NULL;
  i = g_new0 (Installed, 1);
  i->uuid = g_strdup (json_node_get_string (uuid));
  i->path = g_strdup (dir);
  versions = json_object_get_member (o, "shell-version");
  if (versions != NULL && JSON_NODE_HOLDS_ARRAY (versions))
    {
      JsonArray *a = json_node_get_array (versions);
      g_autoptr(GPtrArray) v = g_ptr_array_new ();

      for (guint k = 0; k < json_array_get_length (a); k++)
        {
          JsonNode *n = json_array_get_element (a, k);
          if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
            g_ptr_array_add (v, g_strdup (json_node_get_string (n)));
        }
      g_ptr_array_add (v, NULL);
      i->shell_versions = (GStrv) g_ptr_array_free (g_steal_pointer (&v), FALSE);
    }
  return i;
}

/* Whether an extension declaring @versions runs on shell @major (unknown
 * shell or no declaration: assumed compatible).  "45" matches 45.x; the
 * pre-40 form "3.38" matches only itself. */
static gboolean
is_compatible (Installed *i, const char *major, const char *full)
{
  if (major == NULL || i->shell_versions == NULL)
    return TRUE;
  for (guint k = 0; i->shell_versions[k] != NULL; k++)
    {
      const char *v = i->shell_versions[k];
      if (g_str_equal (v, major) || (full != NULL && g_str_has_prefix (full, v) &&
                                     (full[strlen (v)] == '.' || full[strlen (v)] == '\0')))
        return TRUE;
    }
  return FALSE;
}

/* ── live state ────────────────────────────────────────────────────────── */

static void
scan_dir (BktExtensions *self, const char *dir, gboolean user)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      Installed *i;

      /* Our own temporary and backup directories. */
      if (name[0] == '.')
        continue;
      path = g_build_filename (dir, name, NULL);
      i = bkt_extensions_read_metadata (path, NULL);
      if (i == NULL)
        continue;
      /* The shell loads an extension from the directory named after it;
       * a metadata uuid that differs is not that extension. */
      if (!g_str_equal (i->uuid, name))
        {
          bkt_extensions_installed_free (i);
          continue;
        }
      i->user = user;
      /* User installations shadow system ones, as in the shell. */
      if (!user && g_hash_table_contains (self->installed, i->uuid))
        bkt_extensions_installed_free (i);
      else
        g_hash_table_replace (self->installed, i->uuid, i);
    }
}

/* The running shell: its ShellVersion property, without auto-starting
 * anything.  No session bus, no shell: not running. */
static void
probe_shell (BktExtensions *self, GCancellable *cancellable)
{
  const char *env = g_getenv ("BKT_GNOME_SHELL");
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  self->shell_running = FALSE;
  if (g_strcmp0 (env, "absent") == 0)
    return;
  /* Only a session bus that exists: without an address GLib would try to
   * autolaunch one (dbus-launch, when $DISPLAY is set), which is no way
   * to find out that no shell runs. */
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), "bus", NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return;
    }
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, cancellable, NULL);
  if (bus == NULL)
    return;
  reply = g_dbus_connection_call_sync (bus, SHELL_BUS_NAME, SHELL_PATH, "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.gnome.Shell", "ShellVersion"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 2000,
                                       cancellable, NULL);
  if (reply == NULL)
    return;
  self->shell_running = TRUE;
  g_variant_get (reply, "(v)", &value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) && self->shell_version == NULL)
    self->shell_version = g_variant_dup_string (value, NULL);
}

static gboolean
bkt_extensions_load_live (BktSubsystem *subsystem, GCancellable *cancellable, GError **error)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  const char * const *data_dirs = g_get_system_data_dirs ();
  const char *env_version = g_getenv ("BKT_SHELL_VERSION");
  gboolean found_disabled = FALSE;

  g_clear_pointer (&self->ego_url, g_free);
  self->ego_url = bkt_ego_base_url (&self->ego_custom, error);
  if (self->ego_url == NULL)
    return FALSE;
  g_hash_table_remove_all (self->installed);
  scan_dir (self, self->user_dir, TRUE);
  for (guint k = 0; data_dirs[k] != NULL; k++)
    {
      g_autofree char *dir = g_build_filename (data_dirs[k], "gnome-shell", "extensions", NULL);
      scan_dir (self, dir, FALSE);
    }

  g_clear_pointer (&self->shell_version, g_free);
  g_clear_pointer (&self->shell_major, g_free);
  /* The version the extensions must fit: set by hand (no shell running,
   * or a toolbox), else the running shell's; else unknown, and nothing is
   * called incompatible.  Not `gnome-shell --version`: starting the
   * compositor binary from a daemon to ask is not worth it. */
  if (env_version != NULL && env_version[0] != '\0')
    self->shell_version = g_strdup (env_version);
  probe_shell (self, cancellable);
  if (self->shell_version != NULL)
    {
      const char *dot = strchr (self->shell_version, '.');
      /* Since GNOME 40 extensions name the major version only. */
      if (dot != NULL && g_ascii_strtoll (self->shell_version, NULL, 10) >= 40)
        self->shell_major = g_strndup (self->shell_version, (gsize) (dot - self->shell_version));
      else
        self->shell_major = g_strdup (self->shell_version);
    }

  g_strfreev (self->enabled);
  g_strfreev (self->disabled);
  self->enabled = self->disabled = NULL;
  bkt_gsettings_get_strv (SHELL_SCHEMA, KEY_ENABLED, &self->have_schema, &self->enabled, NULL);
  bkt_gsettings_get_strv (SHELL_SCHEMA, KEY_DISABLED, &found_disabled, &self->disabled, NULL);
  return TRUE;
}

static gboolean
is_enabled (BktExtensions *self, const char *uuid)
{
  return g_strv_contains ((const char * const *) self->enabled, uuid);
}

/* ── manifest entries ──────────────────────────────────────────────────── */

typedef struct
{
  const char *uuid;
  gboolean    enabled;
} Wanted;

/* The manifest's extensions (bare strings and objects alike), borrowed
 * from @manifests, in its (sorted) order. */
static GArray *
wanted_list (BktManifestSet *manifests)
{
  JsonArray *entries = bkt_manifest_get_entries (bkt_manifest_set_get (manifests, BKT_MANIFEST_GNOME_EXTENSIONS));
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Wanted));

  for (guint k = 0; k < json_array_get_length (entries); k++)
    {
      JsonNode *node = json_array_get_element (entries, k);
      Wanted w = { NULL, TRUE };

      if (JSON_NODE_HOLDS_VALUE (node))
        w.uuid = json_node_get_string (node);
      else if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *o = json_node_get_object (node);
          w.uuid = json_object_get_string_member_with_default (o, "uuid", NULL);
          w.enabled = json_object_get_boolean_member_with_default (o, "enabled", TRUE);
        }
      if (w.uuid != NULL)
        g_array_append_val (out, w);
    }
  return out;
}

static gboolean
is_tracked (BktManifestSet *manifests, const char *uuid)
{
  return bkt_manifest_lookup_node (bkt_manifest_set_get (manifests, BKT_MANIFEST_GNOME_EXTENSIONS), uuid) != NULL;
}

static char *
make_target (const char *uuid)
{
  return g_strconcat ("extension:", uuid, NULL);
}

static JsonObject *
extension_entry (const char *uuid, gboolean enabled)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "uuid", uuid);
  /* "enabled" only when false: the bare-string form is "enabled". */
  if (!enabled)
    json_object_set_boolean_member (o, "enabled", FALSE);
  return o;
}

/* ── operations ────────────────────────────────────────────────────────── */

static BktEffect
live_effect (BktExtensions *self)
{
  return self->shell_running ? BKT_EFFECT_LIVE : BKT_EFFECT_NEXT_LOGIN;
}

static BktOperation *
op_new (BktExtensions *self, const char *action, const char *uuid, gboolean enable, const char *summary)
{
  g_autoptr(JsonObject) details = json_object_new ();
  g_autofree char *target = make_target (uuid);

  json_object_set_string_member (details, "uuid", uuid);
  if (g_str_equal (action, "install"))
    json_object_set_boolean_member (details, "enable", enable);
  return bkt_operation_new (SUBSYSTEM_NAME, action, target, BKT_SCOPE_USER, live_effect (self), summary, details);
}

static BktOperation *
install_op (BktExtensions *self, const char *uuid, gboolean enable)
{
  g_autofree char *summary = g_strdup_printf ("Install extension:%s from %s%s", uuid, self->ego_url,
                                              enable ? " and enable it" : " (disabled)");
  return op_new (self, "install", uuid, enable, summary);
}

static BktOperation *
toggle_op (BktExtensions *self, const char *uuid, gboolean enable)
{
  g_autofree char *summary = g_strdup_printf ("%s extension:%s", enable ? "Enable" : "Disable", uuid);
  return op_new (self, enable ? "enable" : "disable", uuid, FALSE, summary);
}

/* Enabling needs the shell or its schema; without either, say so once
 * instead of planning operations that can only fail. */
static gboolean
can_toggle (BktExtensions *self, GPtrArray *warnings)
{
  if (self->shell_running || self->have_schema)
    return TRUE;
  if (warnings != NULL)
    g_ptr_array_add (warnings, g_strdup ("extensions: GNOME Shell is not running and the org.gnome.shell "
                                         "schema is not installed: enabled state left alone"));
  return FALSE;
}

/* What makes @w true, appended to @ops. */
static void
plan_wanted (BktExtensions *self, const Wanted *w, GPtrArray *ops, gboolean *warned, GPtrArray *warnings)
{
  Installed *i = g_hash_table_lookup (self->installed, w->uuid);
  gboolean toggle_ok;

  if (i == NULL)
    {
      g_ptr_array_add (ops, install_op (self, w->uuid, w->enabled && (self->shell_running || self->have_schema)));
      return;
    }
  if (w->enabled == is_enabled (self, w->uuid))
    return;
  toggle_ok = can_toggle (self, *warned ? NULL : warnings);
  *warned = TRUE;
  if (toggle_ok)
    g_ptr_array_add (ops, toggle_op (self, w->uuid, w->enabled));
}

static gboolean
bkt_extensions_plan_apply (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                           GPtrArray *warnings, GError **error)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  g_autoptr(GArray) wanted = wanted_list (manifests);
  gboolean warned = FALSE;

  for (guint k = 0; k < wanted->len; k++)
    plan_wanted (self, &g_array_index (wanted, Wanted, k), ops, &warned, warnings);
  return TRUE;
}

/* Enabled by hand → recorded; disabled by hand → recorded as
 * "enabled": false; removed by hand → forgotten (from the user's overlay,
 * which is where bkt put it; an image entry can only be reported). */
static gboolean
bkt_extensions_plan_capture (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                             GPtrArray *warnings, GError **error)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  g_autoptr(GArray) wanted = wanted_list (manifests);
  g_autoptr(BktManifest) writable = NULL;
  g_autoptr(GPtrArray) uuids = g_ptr_array_new ();

  for (guint k = 0; self->enabled[k] != NULL; k++)
    g_ptr_array_add (uuids, self->enabled[k]);
  g_ptr_array_sort (uuids, compare_strings);
  for (guint k = 0; k < uuids->len; k++)
    {
      const char *uuid = g_ptr_array_index (uuids, k);
      g_autofree char *why = bkt_manifest_check_extension_uuid (uuid);
      g_autoptr(JsonObject) entry = NULL;
      g_autofree char *target = NULL, *summary = NULL;

      if (is_tracked (manifests, uuid) || !g_hash_table_contains (self->installed, uuid))
        continue;
      if (why != NULL)
        {
          g_ptr_array_add (warnings, g_strdup_printf ("enabled extension “%s” cannot be recorded: %s", uuid, why));
          continue;
        }
      entry = extension_entry (uuid, TRUE);
      target = make_target (uuid);
      summary = g_strdup_printf ("Record %s (enabled)", target);
      g_ptr_array_add (ops, bkt_operation_new_record (SUBSYSTEM_NAME, BKT_MANIFEST_GNOME_EXTENSIONS, target,
                                                      summary, entry));
    }

  for (guint k = 0; k < wanted->len; k++)
    {
      const Wanted *w = &g_array_index (wanted, Wanted, k);
      g_autofree char *target = make_target (w->uuid);
      g_autofree char *summary = NULL;

      if (!g_hash_table_contains (self->installed, w->uuid))
        {
          if (writable == NULL)
            writable = bkt_manifest_set_load_writable (manifests, BKT_MANIFEST_GNOME_EXTENSIONS, NULL);
          if (writable != NULL && bkt_manifest_lookup_node (writable, w->uuid) != NULL)
            {
              summary = g_strdup_printf ("Forget %s (not installed any more)", target);
              g_ptr_array_add (ops, bkt_operation_new_forget (SUBSYSTEM_NAME, BKT_MANIFEST_GNOME_EXTENSIONS,
                                                              target, summary, w->uuid));
            }
          else
            g_ptr_array_add (warnings, g_strdup_printf ("extension %s is in the image's manifest but not "
                                                        "installed: `bkt extension sync` installs it", w->uuid));
          continue;
        }
      if (w->enabled == is_enabled (self, w->uuid) || !(self->shell_running || self->have_schema))
        continue;
      {
        g_autoptr(JsonObject) entry = extension_entry (w->uuid, !w->enabled);
        summary = g_strdup_printf ("Record %s (%s)", target, w->enabled ? "disabled" : "enabled");
        g_ptr_array_add (ops, bkt_operation_new_record (SUBSYSTEM_NAME, BKT_MANIFEST_GNOME_EXTENSIONS, target,
                                                        summary, entry));
      }
    }
  return TRUE;
}

/* ── items (three-way classification) ──────────────────────────────── */

static const char *
live_fingerprint (BktExtensions *self, const char *uuid)
{
  if (!g_hash_table_contains (self->installed, uuid))
    return NULL;
  return is_enabled (self, uuid) ? "enabled" : "disabled";
}

/* Declared extensions ("enabled"/"disabled" on each side, NULL = not
 * installed) and enabled ones no entry declares. */
static gboolean
bkt_extensions_items (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *items, GError **error)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  g_autoptr(GArray) wanted = wanted_list (manifests);

  for (guint k = 0; k < wanted->len; k++)
    {
      const Wanted *w = &g_array_index (wanted, Wanted, k);
      g_autofree char *target = make_target (w->uuid);

      g_ptr_array_add (items, bkt_item_new (target, BKT_SCOPE_USER, w->enabled ? "enabled" : "disabled",
                                            live_fingerprint (self, w->uuid), BKT_MANIFEST_GNOME_EXTENSIONS,
                                            w->uuid));
    }
  for (guint k = 0; self->enabled[k] != NULL; k++)
    {
      const char *uuid = self->enabled[k];
      g_autofree char *target = NULL;

      if (is_tracked (manifests, uuid) || !g_hash_table_contains (self->installed, uuid))
        continue;
      target = make_target (uuid);
      g_ptr_array_add (items, bkt_item_new (target, BKT_SCOPE_USER, NULL, "enabled", BKT_MANIFEST_GNOME_EXTENSIONS, NULL));
    }
  return TRUE;
}

/* apply --prune of an extension bkt installed or enabled: what `bkt
 * extension remove` does — the user's copy uninstalled, the image's
 * switched off. */
static BktOperation *
bkt_extensions_plan_prune (BktSubsystem *subsystem, const char *target, BktScope scope, char **live)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  const char *uuid = g_str_has_prefix (target, "extension:") ? target + strlen ("extension:") : NULL;
  Installed *installed = uuid != NULL && scope == BKT_SCOPE_USER ? g_hash_table_lookup (self->installed, uuid) : NULL;
  g_autofree char *summary = NULL;

  if (installed == NULL)
    return NULL;
  *live = g_strdup (live_fingerprint (self, uuid));
  if (installed->user)
    {
      summary = g_strdup_printf ("Uninstall %s", target);
      return op_new (self, "uninstall", uuid, FALSE, summary);
    }
  if (is_enabled (self, uuid) && can_toggle (self, NULL))
    return toggle_op (self, uuid, FALSE);
  return NULL;
}

/* ── changes ───────────────────────────────────────────────────────────── */

static gboolean
string_arg (GVariant *arguments, const char *name, char **out, GError **error)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (arguments, name, NULL);

  *out = NULL;
  if (value == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "missing argument “%s”", name), FALSE;
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "argument “%s” must be a string", name), FALSE;
  *out = g_variant_dup_string (value, NULL);
  return TRUE;
}

static gboolean
bool_arg (GVariant *arguments, const char *name)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (arguments, name, G_VARIANT_TYPE_BOOLEAN);
  return value != NULL && g_variant_get_boolean (value);
}

/* `add` asks extensions.gnome.org before anything changes, so a typo is
 * caught now and not at the next sync. */
static gboolean
validate_remote (BktExtensions *self, const char *uuid, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(BktEgoInfo) info = bkt_ego_lookup (uuid, self->shell_major, NULL, &local_error);

  if (info == NULL)
    {
      if (bkt_ego_is_network_error (local_error))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "could not check %s: %s; use --force to record it "
                            "anyway (it is installed by a later sync)", uuid, local_error->message), FALSE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (info->download_url == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "%s has no release for GNOME Shell %s "
                        "(it has releases for: %s); use --force to record it anyway", uuid,
                        self->shell_version, info->shell_versions ? info->shell_versions : "none"), FALSE;
  return TRUE;
}

static gboolean
bkt_extensions_plan_change (BktSubsystem *subsystem, BktManifestSet *manifests, const char *action,
                            GVariant *arguments, GPtrArray *ops, GError **error)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  g_autofree char *uuid = NULL, *why = NULL, *target = NULL;
  Installed *installed;
  gboolean tracked;
  g_autoptr(GPtrArray) new_ops = g_ptr_array_new_with_free_func (g_object_unref);

  if (arguments == NULL || !g_variant_is_of_type (arguments, G_VARIANT_TYPE_VARDICT))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "arguments must be a dictionary (a{sv})"),
           FALSE;
  if (g_strcmp0 (action, "add") != 0 && g_strcmp0 (action, "remove") != 0 &&
      g_strcmp0 (action, "enable") != 0 && g_strcmp0 (action, "disable") != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                        "subsystem extension has no such action (add, remove, enable, disable)"), FALSE;
  if (!string_arg (arguments, "uuid", &uuid, error))
    return FALSE;
  if ((why = bkt_manifest_check_extension_uuid (uuid)) != NULL)
    {
      if (strlen (uuid) > 255)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "invalid extension uuid: %s", why), FALSE;
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "invalid extension uuid “%s”: %s",
                          uuid, why), FALSE;
    }
  target = make_target (uuid);
  installed = g_hash_table_lookup (self->installed, uuid);
  tracked = is_tracked (manifests, uuid);

  if (g_str_equal (action, "add") || g_str_equal (action, "enable") || g_str_equal (action, "disable"))
    {
      gboolean enable = g_str_equal (action, "enable") || (g_str_equal (action, "add") && !bool_arg (arguments, "disabled"));
      g_autoptr(JsonObject) entry = extension_entry (uuid, enable);
      g_autofree char *summary = g_strdup_printf ("Record %s (%s)", target, enable ? "enabled" : "disabled");

      if (installed == NULL)
        {
          if (!g_str_equal (action, "add"))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "extension %s is not installed "
                                "(`bkt extension add %s` installs it)", uuid, uuid), FALSE;
          if (!bool_arg (arguments, "force") && !validate_remote (self, uuid, error))
            return FALSE;
          g_ptr_array_add (new_ops, install_op (self, uuid, enable && (self->shell_running || self->have_schema)));
        }
      else if (enable != is_enabled (self, uuid))
        {
          if (!can_toggle (self, NULL))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "cannot %s %s: GNOME Shell is not "
                                "running and the org.gnome.shell schema is not installed",
                                enable ? "enable" : "disable", uuid), FALSE;
          g_ptr_array_add (new_ops, toggle_op (self, uuid, enable));
        }
      g_ptr_array_add (new_ops, bkt_operation_new_record (SUBSYSTEM_NAME, BKT_MANIFEST_GNOME_EXTENSIONS, target,
                                                          summary, entry));
    }
  else
    {
      if (!tracked && installed == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "extension %s is neither tracked nor installed",
                            uuid), FALSE;
      if (installed != NULL && installed->user)
        {
          g_autofree char *summary = g_strdup_printf ("Uninstall %s", target);
          g_ptr_array_add (new_ops, op_new (self, "uninstall", uuid, FALSE, summary));
        }
      else if (installed != NULL && is_enabled (self, uuid) && can_toggle (self, NULL))
        /* The image's copy stays; switching it off is what remains. */
        g_ptr_array_add (new_ops, toggle_op (self, uuid, FALSE));
      if (tracked)
        {
          g_autofree char *summary = g_strdup_printf ("Forget %s", target);
          g_ptr_array_add (new_ops, bkt_operation_new_forget (SUBSYSTEM_NAME, BKT_MANIFEST_GNOME_EXTENSIONS,
                                                              target, summary, uuid));
        }
    }
  for (guint k = 0; k < new_ops->len; k++)
    g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (new_ops, k)));
  return TRUE;
}

/* ── status ────────────────────────────────────────────────────────────── */

/* {"tracked","untracked":[...],"installed","enabled","not_installed",
 *  "shell_running","shell_version"|null,"incompatible":[uuid...],
 *  "entries":[{"uuid","enabled","state","location"?,"compatible"}]}
 * Counts are of tracked extensions; "untracked" are enabled ones the
 * manifests lack (what capture would record). */
static JsonObject *
bkt_extensions_status (BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  g_autoptr(GArray) wanted = wanted_list (manifests);
  g_autoptr(JsonObject) status = json_object_new ();
  JsonArray *entries = json_array_new ();
  JsonArray *untracked = json_array_new ();
  JsonArray *incompatible = json_array_new ();
  guint n_installed = 0, n_enabled = 0, n_missing = 0, n_in_sync = 0;
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GList) all = NULL;

  for (guint k = 0; k < wanted->len; k++)
    {
      const Wanted *w = &g_array_index (wanted, Wanted, k);
      Installed *i = g_hash_table_lookup (self->installed, w->uuid);
      JsonObject *o = json_object_new ();
      const char *state;

      /* Without a shell or its schema the enabled state cannot be acted
       * on (apply plans nothing for it): installed is all there is. */
      if (i != NULL && (w->enabled == is_enabled (self, w->uuid) || !(self->shell_running || self->have_schema)))
        n_in_sync++;
      if (i == NULL)
        state = "not installed", n_missing++;
      else if (is_enabled (self, w->uuid))
        state = "enabled", n_installed++, n_enabled++;
      else
        state = "installed", n_installed++;
      json_object_set_string_member (o, "uuid", w->uuid);
      json_object_set_boolean_member (o, "enabled", w->enabled);
      json_object_set_string_member (o, "state", state);
      if (i != NULL)
        {
          json_object_set_string_member (o, "location", i->user ? "user" : "system");
          json_object_set_boolean_member (o, "compatible", is_compatible (i, self->shell_major, self->shell_version));
        }
      json_array_add_object_element (entries, o);
    }

  /* Sorted, so output is stable. */
  g_hash_table_iter_init (&iter, self->installed);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    all = g_list_prepend (all, value);
  all = g_list_sort (all, compare_installed);
  for (GList *l = all; l != NULL; l = l->next)
    {
      Installed *i = l->data;
      if ((is_tracked (manifests, i->uuid) || is_enabled (self, i->uuid)) &&
          !is_compatible (i, self->shell_major, self->shell_version))
        json_array_add_string_element (incompatible, i->uuid);
    }
  for (guint k = 0; self->enabled[k] != NULL; k++)
    {
      const char *uuid = self->enabled[k];
      if (!is_tracked (manifests, uuid) && g_hash_table_contains (self->installed, uuid))
        {
          JsonObject *o = json_object_new ();
          g_autofree char *target = make_target (uuid);
          json_object_set_string_member (o, "target", target);
          json_object_set_string_member (o, "summary", uuid);
          json_array_add_object_element (untracked, o);
        }
    }

  json_object_set_int_member (status, "tracked", wanted->len);
  json_object_set_int_member (status, "in_sync", n_in_sync);
  json_object_set_array_member (status, "untracked", untracked);
  json_object_set_int_member (status, "installed", n_installed);
  json_object_set_int_member (status, "enabled", n_enabled);
  json_object_set_int_member (status, "not_installed", n_missing);
  json_object_set_boolean_member (status, "shell_running", self->shell_running);
  if (self->shell_version != NULL)
    json_object_set_string_member (status, "shell_version", self->shell_version);
  else
    json_object_set_null_member (status, "shell_version");
  json_object_set_array_member (status, "incompatible", incompatible);
  json_object_set_array_member (status, "entries", entries);
  return g_steal_pointer (&status);
}

static const char *
bkt_extensions_get_name (BktSubsystem *subsystem)
{
  return SUBSYSTEM_NAME;
}

static void
bkt_extensions_subsystem_init (BktSubsystemInterface *iface)
{
  iface->get_name = bkt_extensions_get_name;
  iface->load_live = bkt_extensions_load_live;
  iface->plan_apply = bkt_extensions_plan_apply;
  iface->plan_capture = bkt_extensions_plan_capture;
  iface->plan_change = bkt_extensions_plan_change;
  iface->status = bkt_extensions_status;
  iface->execute = bkt_extensions_execute;
  iface->items = bkt_extensions_items;
  iface->plan_prune = bkt_extensions_plan_prune;
}
