/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "bkt-ego.h"
#include "bkt-error.h"
#include "bkt-extensions-private.h"
#include "bkt-fsutil.h"
#include "bkt-gsettings.h"
#include "bkt-zip.h"

/* Execution: an install from extensions.gnome.org (atomic, beside the
 * destination), removal of the user's copy only, enable/disable through
 * org.gnome.Shell.Extensions when the shell runs and the GSettings keys
 * otherwise, and each operation read back before it is reported done. */

gboolean
bkt_extensions_install_from_ego (const char *user_dir, const char *uuid, const char *shell_major,
                                 GCancellable *cancellable, GError **error)
{
  g_autoptr(BktEgoInfo) info = NULL;
  g_autoptr(GBytes) zip = NULL;
  g_autofree char *tmpl = NULL, *final = NULL, *aside = NULL;
  g_autoptr(Installed) meta = NULL;
  g_autoptr(GError) local_error = NULL;
  char *tmp;

  info = bkt_ego_lookup (uuid, shell_major, cancellable, error);
  if (info == NULL)
    return FALSE;
  if (info->download_url == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "%s has no release for GNOME Shell %s "
                        "(it has releases for: %s)", uuid, shell_major ? shell_major : "(unknown)",
                        info->shell_versions ? info->shell_versions : "none"), FALSE;
  zip = bkt_ego_download (info->download_url, cancellable, error);
  if (zip == NULL)
    return FALSE;

  if (g_mkdir_with_parents (user_dir, 0755) < 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot create %s: %s", user_dir, g_strerror (errno)),
           FALSE;
  /* Beside the destination, hidden (scan_dir skips dot names, and so
   * does the shell), so the final rename is atomic and a crash leaves
   * at worst a dot directory, never a half extension. */
  tmpl = g_strdup_printf ("%s/.%s.bkt-XXXXXX", user_dir, uuid);
  tmp = g_mkdtemp_full (tmpl, 0755);
  if (tmp == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot create a directory in %s: %s", user_dir,
                        g_strerror (errno)), FALSE;
  if (!bkt_zip_extract (zip, tmpl, &local_error))
    goto fail;
  meta = bkt_extensions_read_metadata (tmpl, &local_error);
  if (meta == NULL)
    {
      g_autoptr(GError) e = g_steal_pointer (&local_error);
      g_set_error (&local_error, BKT_ERROR, BKT_ERROR_FAILED, "the download of %s is not an extension (%s)",
                   uuid, e->message);
      goto fail;
    }
  if (!g_str_equal (meta->uuid, uuid))
    {
      g_set_error (&local_error, BKT_ERROR, BKT_ERROR_FAILED, "the download of %s is extension “%s” instead",
                   uuid, meta->uuid);
      goto fail;
    }
  final = g_build_filename (user_dir, uuid, NULL);
  if (g_file_test (final, G_FILE_TEST_EXISTS))
    {
      aside = g_strdup_printf ("%s/.%s.old-XXXXXX", user_dir, uuid);
      if (g_mkdtemp_full (aside, 0700) == NULL || g_rename (final, aside) < 0)
        {
          g_set_error (&local_error, BKT_ERROR, BKT_ERROR_FAILED, "cannot move the old %s aside: %s", final,
                       g_strerror (errno));
          g_clear_pointer (&aside, g_free);
          goto fail;
        }
    }
  if (g_rename (tmpl, final) < 0)
    {
      int saved = errno;
      if (aside != NULL)
        (void) g_rename (aside, final);
      g_set_error (&local_error, BKT_ERROR, BKT_ERROR_FAILED, "cannot install %s: %s", final, g_strerror (saved));
      g_clear_pointer (&aside, g_free);
      goto fail;
    }
  if (aside != NULL)
    (void) bkt_rm_rf (aside, NULL);
  return TRUE;

fail:
  (void) bkt_rm_rf (tmpl, NULL);
  if (aside != NULL)
    (void) bkt_rm_rf (aside, NULL);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static GDBusConnection *
shell_bus (GError **error)
{
  return g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
}

/* A boolean method of org.gnome.Shell.Extensions. */
static gboolean
shell_call (const char *method, const char *uuid, int timeout, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GDBusConnection) bus = shell_bus (&local_error);
  g_autoptr(GVariant) reply = NULL;
  const char *type = g_str_equal (method, "InstallRemoteExtension") ? "(s)" : "(b)";

  if (bus != NULL)
    reply = g_dbus_connection_call_sync (bus, SHELL_BUS_NAME, SHELL_PATH, SHELL_EXT_IFACE, method,
                                         g_variant_new ("(s)", uuid), G_VARIANT_TYPE (type),
                                         G_DBUS_CALL_FLAGS_NO_AUTO_START, timeout, NULL, &local_error);
  if (reply == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "GNOME Shell %s(%s) failed: %s", method, uuid,
                        local_error->message), FALSE;
  if (g_str_equal (type, "(s)"))
    {
      const char *result;
      g_variant_get (reply, "(&s)", &result);
      if (!g_str_equal (result, "successful"))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "GNOME Shell did not install %s: %s", uuid, result),
               FALSE;
      return TRUE;
    }
  {
    gboolean ok;
    g_variant_get (reply, "(b)", &ok);
    if (!ok)
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "GNOME Shell refused to %s %s", method, uuid), FALSE;
  }
  return TRUE;
}

/* The keys, re-read now (the plan's view may be stale): @uuid added to or
 * taken out of enabled-extensions, the other way round in
 * disabled-extensions (the shell honours both). */
static gboolean
keys_toggle (const char *uuid, gboolean enable, gboolean drop, GError **error)
{
  g_auto(GStrv) enabled = NULL, disabled = NULL;
  g_autoptr(GPtrArray) en = g_ptr_array_new (), dis = g_ptr_array_new ();
  gboolean found, found_dis;

  bkt_gsettings_get_strv (SHELL_SCHEMA, KEY_ENABLED, &found, &enabled, NULL);
  bkt_gsettings_get_strv (SHELL_SCHEMA, KEY_DISABLED, &found_dis, &disabled, NULL);
  if (!found)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "GNOME Shell is not running and the "
                        SHELL_SCHEMA " schema is not installed: cannot %s %s", enable ? "enable" : "disable",
                        uuid), FALSE;
  for (guint k = 0; enabled[k] != NULL; k++)
    if (!g_str_equal (enabled[k], uuid))
      g_ptr_array_add (en, enabled[k]);
  for (guint k = 0; disabled[k] != NULL; k++)
    if (!g_str_equal (disabled[k], uuid))
      g_ptr_array_add (dis, disabled[k]);
  if (enable)
    g_ptr_array_add (en, (char *) uuid);
  else if (!drop)
    g_ptr_array_add (dis, (char *) uuid);
  g_ptr_array_add (en, NULL);
  g_ptr_array_add (dis, NULL);
  if (!bkt_gsettings_set_strv (SHELL_SCHEMA, KEY_ENABLED, (const char * const *) en->pdata, error))
    return FALSE;
  return !found_dis || bkt_gsettings_set_strv (SHELL_SCHEMA, KEY_DISABLED, (const char * const *) dis->pdata, error);
}

static gboolean
toggle (BktExtensions *self, const char *uuid, gboolean enable, GError **error)
{
  if (self->shell_running)
    return shell_call (enable ? "EnableExtension" : "DisableExtension", uuid, SHELL_CALL_TIMEOUT_MS, error);
  return keys_toggle (uuid, enable, FALSE, error);
}

/* An extension that could not be downloaded is not installed: the
 * operation fails (saying that the next apply retries), the others go on,
 * and the transaction's result and exit status say that something failed. */
static gboolean
execute_install (BktExtensions *self, BktOperation *op, const char *uuid,
                 GCancellable *cancellable, GError **error)
{
  JsonObject *details = bkt_operation_get_details (op);
  gboolean enable = json_object_get_boolean_member_with_default (details, "enable", TRUE);
  g_autoptr(GError) local_error = NULL;

  /* The shell's own installer knows only extensions.gnome.org and shows
   * the user a dialog: used only for the real site with a running shell. */
  if (self->shell_running && !self->ego_custom)
    return shell_call ("InstallRemoteExtension", uuid, SHELL_INSTALL_TIMEOUT_MS, error) &&
           (enable || toggle (self, uuid, FALSE, error));
  if (!bkt_extensions_install_from_ego (self->user_dir, uuid, self->shell_major, cancellable, &local_error))
    {
      if (bkt_ego_is_network_error (local_error))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "not installed: %s (the next apply retries)",
                            local_error->message), FALSE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!enable)
    return TRUE;
  /* A running shell has not seen the new directory (it scans at startup)
   * and may refuse to enable what it does not know: then the key, which
   * it reads at next login. */
  if (self->shell_running && shell_call ("EnableExtension", uuid, SHELL_CALL_TIMEOUT_MS, NULL))
    return TRUE;
  return keys_toggle (uuid, TRUE, FALSE, error);
}

static gboolean
execute_uninstall (BktExtensions *self, const char *uuid, GError **error)
{
  Installed *i = g_hash_table_lookup (self->installed, uuid);
  g_autofree char *path = g_build_filename (self->user_dir, uuid, NULL);

  if (self->shell_running)
    return shell_call ("UninstallExtension", uuid, SHELL_CALL_TIMEOUT_MS, error);
  /* Only ever the user's copy: the path is rebuilt from the validated
   * uuid, not taken from the plan. */
  if (i != NULL && !i->user)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "%s is installed by the system image", uuid),
           FALSE;
  if (!bkt_rm_rf (path, error))
    return FALSE;
  /* Gone from both keys: a stale entry would enable a reinstall. */
  {
    g_auto(GStrv) enabled = NULL;
    gboolean found;
    bkt_gsettings_get_strv (SHELL_SCHEMA, KEY_ENABLED, &found, &enabled, NULL);
    if (found)
      return keys_toggle (uuid, FALSE, TRUE, error);
  }
  return TRUE;
}

/* ✓ only after the effect is verified, read back once for the batch
 * (@enabled: the enabled-extensions key after it): the extension's
 * directory with its metadata.json is there (install) or gone (uninstall),
 * and — where bkt wrote the keys itself, without a running shell — the key
 * says enabled or not. */
static gboolean
verify_one (BktExtensions *self, BktOperation *op, const char * const *enabled, GError **error)
{
  const char *action = bkt_operation_get_action (op);
  const char *uuid = bkt_operation_get_detail_string (op, "uuid");
  g_autofree char *metadata = g_build_filename (self->user_dir, uuid, "metadata.json", NULL);
  gboolean want_enabled = g_str_equal (action, "enable") ||
    (g_str_equal (action, "install") &&
     json_object_get_boolean_member_with_default (bkt_operation_get_details (op), "enable", TRUE));
  gboolean check_key = !self->shell_running && enabled != NULL &&
                       (g_str_equal (action, "enable") || g_str_equal (action, "disable") ||
                        g_str_equal (action, "install"));
  gboolean installed_here = g_file_test (metadata, G_FILE_TEST_IS_REGULAR);

  if (g_str_equal (action, "install") && !installed_here)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s is not installed after all (no %s)", uuid, metadata),
           FALSE;
  if (g_str_equal (action, "uninstall") && installed_here)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s is still installed (%s)", uuid, metadata), FALSE;
  if (check_key && g_strv_contains (enabled, uuid) != want_enabled)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s is %s in " SHELL_SCHEMA " " KEY_ENABLED " after all",
                        uuid, want_enabled ? "not enabled" : "still enabled"), FALSE;
  return TRUE;
}

gboolean
bkt_extensions_execute (BktSubsystem *subsystem, GPtrArray *ops, BktExecContext *ctx,
                        GCancellable *cancellable, GError **error)
{
  BktExtensions *self = BKT_EXTENSIONS (subsystem);
  g_autoptr(GPtrArray) done = g_ptr_array_new ();
  g_auto(GStrv) enabled = NULL;
  gboolean have_keys = FALSE;

  for (guint k = 0; k < ops->len; k++)
    {
      BktOperation *op = g_ptr_array_index (ops, k);
      const char *action = bkt_operation_get_action (op);
      const char *uuid = bkt_operation_get_detail_string (op, "uuid");
      g_autofree char *why = uuid != NULL ? bkt_manifest_check_extension_uuid (uuid) : g_strdup ("missing");
      g_autoptr(GError) op_error = NULL;

      if (g_cancellable_is_cancelled (cancellable))
        {
          g_set_error (&op_error, BKT_ERROR, BKT_ERROR_CANCELLED, "cancelled");
          bkt_exec_context_op_done (ctx, op, op_error);
          continue;
        }
      bkt_exec_context_progress (ctx, op, 0.0, bkt_operation_get_summary (op));
      if (why != NULL)
        g_set_error (&op_error, BKT_ERROR, BKT_ERROR_FAILED, "bad extension uuid in operation: %s", why);
      else if (g_str_equal (action, "install"))
        execute_install (self, op, uuid, cancellable, &op_error);
      else if (g_str_equal (action, "enable") || g_str_equal (action, "disable"))
        toggle (self, uuid, g_str_equal (action, "enable"), &op_error);
      else if (g_str_equal (action, "uninstall"))
        execute_uninstall (self, uuid, &op_error);
      else
        g_set_error (&op_error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "extension cannot execute “%s”", action);

      if (op_error == NULL)
        g_ptr_array_add (done, op);
      else
        bkt_exec_context_op_done (ctx, op, op_error);
    }

  if (done->len > 0)
    bkt_gsettings_get_strv (SHELL_SCHEMA, KEY_ENABLED, &have_keys, &enabled, NULL);
  for (guint k = 0; k < done->len; k++)
    {
      BktOperation *op = g_ptr_array_index (done, k);
      g_autoptr(GError) op_error = NULL;

      verify_one (self, op, have_keys ? (const char * const *) enabled : NULL, &op_error);
      bkt_exec_context_op_done (ctx, op, op_error);
    }
  return TRUE;
}
