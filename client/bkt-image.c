/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-image.h"

/* The image's manifests are small (a few files of a few KiB); refuse
 * something that is not, rather than hash gigabytes at every login. */
#define MAX_MANIFEST_BYTES (16 * 1024 * 1024)

char *
bkt_image_manifests_dir (const char *manifests_opt)
{
  const char *env = g_getenv ("BKT_IMAGE_MANIFESTS_DIR");

  if (manifests_opt != NULL)
    return g_canonicalize_filename (manifests_opt, NULL);
  return g_strdup (env != NULL && *env != '\0' ? env : BKT_IMAGE_MANIFESTS_DIR);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

char *
bkt_image_manifests_digest (const char *dir, GError **error)
{
  g_autoptr(GDir) d = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *name;
  gsize total = 0;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "%s is not a directory: this image has no manifests to apply", dir), NULL;
  d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strdup (name));
  if (names->len == 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "%s holds no manifest: this image has nothing to apply", dir), NULL;
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      char header[64];

      if (!g_file_get_contents (path, &data, &len, error))
        return NULL;
      total += len;
      if (total > MAX_MANIFEST_BYTES)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "the manifests in %s are larger than %d MiB", dir, MAX_MANIFEST_BYTES >> 20), NULL;
      /* name and length first, so moving bytes between files changes it */
      g_checksum_update (sum, (const guchar *) names->pdata[i], strlen (names->pdata[i]) + 1);
      g_snprintf (header, sizeof header, "%" G_GSIZE_FORMAT "\n", len);
      g_checksum_update (sum, (const guchar *) header, strlen (header));
      g_checksum_update (sum, (const guchar *) data, len);
    }
  return g_strdup (g_checksum_get_string (sum));
}

char *
bkt_image_stamp_path (const char *scope)
{
  g_autofree char *file = g_strdup_printf ("image-applied-%s", scope != NULL ? scope : "all");
  const char *state;

  if (geteuid () == 0)
    {
      const char *sys = g_getenv ("BKT_SYSTEM_STATE_DIR");
      return g_build_filename (sys != NULL && *sys != '\0' ? sys : "/var/lib/bkt", file, NULL);
    }
  /* $XDG_STATE_HOME (GLib has g_get_user_state_dir () only from 2.72) */
  state = g_getenv ("XDG_STATE_HOME");
  if (state != NULL && g_path_is_absolute (state))
    return g_build_filename (state, "bkt", file, NULL);
  return g_build_filename (g_get_home_dir (), ".local", "state", "bkt", file, NULL);
}

gboolean
bkt_image_stamp_matches (const char *path, const char *digest)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  return g_str_equal (g_strstrip (text), digest);
}

gboolean
bkt_image_stamp_write (const char *path, const char *digest, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = g_strconcat (digest, "\n", NULL);

  if (!bkt_fs_mkdir_p (dir, 0755, error))
    return FALSE;
  return bkt_write_file_atomic (path, text, strlen (text), 0644, error);
}

gboolean
bkt_notify (const char *summary, const char *body, gboolean urgent, GError **error)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder hints;

  if (bus == NULL)
    return FALSE;
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (urgent ? 2 : 1));
  g_variant_builder_add (&hints, "{sv}", "desktop-entry", g_variant_new_string ("bkt"));
  /* a short timeout: a login must not wait for a notification server */
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                                       "org.freedesktop.Notifications", "Notify",
                                       g_variant_new ("(susssasa{sv}i)", "bkt", 0u, "system-software-update",
                                                      summary, body, NULL, &hints, -1),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 2000, NULL, error);
  return reply != NULL;
}
