/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "bkt-json.h"
#include "bkt-config.h"
#include "bkt-ego.h"
#include "bkt-error.h"

#define DEFAULT_BASE_URL "https://extensions.gnome.org"
#define MAX_INFO_SIZE (1024 * 1024)
#define MAX_ZIP_SIZE (64 * 1024 * 1024)
#define TIMEOUT_SECONDS 30

void
bkt_ego_info_free (BktEgoInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->uuid);
  g_free (info->name);
  g_free (info->version);
  g_free (info->download_url);
  g_free (info->shell_versions);
  g_free (info);
}

char *
bkt_ego_base_url (gboolean *custom, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *base = bkt_config_setting ("BKT_EXTENSIONS_URL", "extensions_url", FALSE, &local_error);
  gsize len;

  if (local_error != NULL)
    return g_propagate_error (error, g_steal_pointer (&local_error)), NULL;
  if (custom != NULL)
    *custom = base != NULL;
  if (base == NULL)
    base = g_strdup (DEFAULT_BASE_URL);
  len = strlen (base);

  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';
  return g_steal_pointer (&base);
}

gboolean
bkt_ego_is_network_error (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
}

/* A session per request: libsoup 3.0 sessions belong to the thread that
 * made them, and requests come from the daemon's worker threads. */
static SoupSession *
new_session (void)
{
  SoupSession *session = soup_session_new ();

  soup_session_set_timeout (session, TIMEOUT_SECONDS);
  soup_session_set_user_agent (session, "bkt/" PACKAGE_VERSION);
  return session;
}

/* GET @url; the body on 200, else an error saying what the server said. */
static GBytes *
get (const char *url, gsize max, guint *out_status, GCancellable *cancellable, GError **error)
{
  g_autoptr(SoupSession) session = new_session ();
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) body = NULL;
  guint status;

  *out_status = 0;
  if (msg == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "invalid URL “%s”", url), NULL;
  body = soup_session_send_and_read (session, msg, cancellable, &local_error);
  if (body == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_CANCELLED, "cancelled"), NULL;
      /* Resolver, connection, TLS and timeout errors alike: the server
       * could not be asked, which is not an answer. */
      return g_set_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, "cannot reach %s: %s",
                          url, local_error->message), NULL;
    }
  status = soup_message_get_status (msg);
  *out_status = status;
  if (status == SOUP_STATUS_NOT_FOUND)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s: not found (HTTP 404)", url), NULL;
  if (status != SOUP_STATUS_OK)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: the server answered HTTP %u %s", url, status,
                        soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : ""), NULL;
  if (g_bytes_get_size (body) > max)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: answer larger than %" G_GSIZE_FORMAT " bytes",
                        url, max), NULL;
  return g_steal_pointer (&body);
}

static char *
member_scalar (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return NULL;
  if (json_node_get_value_type (n) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (n));
  if (json_node_get_value_type (n) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (n));
  return NULL;
}

static gint
compare_versions (gconstpointer a, gconstpointer b)
{
  const char *x = *(const char * const *) a, *y = *(const char * const *) b;
  gdouble dx = g_ascii_strtod (x, NULL), dy = g_ascii_strtod (y, NULL);
  return dx < dy ? -1 : dx > dy ? 1 : g_strcmp0 (x, y);
}

BktEgoInfo *
bkt_ego_parse_info (const char *base, const char *url, const char *uuid, const char *shell_major, GBytes *body,
                    GError **error)
{
  g_autofree char *q_uuid = g_uri_escape_string (uuid, NULL, FALSE);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(BktEgoInfo) info = g_new0 (BktEgoInfo, 1);
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonObject *o;
  JsonNode *map;
  const char *download;
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);

  /* An empty answer has no data pointer, which json-glib refuses. */
  if (!json_parser_load_from_data (parser, data ? data : "", (gssize) len, &local_error) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: not the expected JSON object%s%s", url,
                        local_error ? ": " : "", local_error ? local_error->message : ""), NULL;
  o = json_node_get_object (root);
  if (g_strcmp0 (bkt_json_object_get_string (o, "uuid"), uuid) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: the server describes “%s”, not “%s”", url,
                        bkt_json_object_get_string (o, "uuid") ? bkt_json_object_get_string (o, "uuid") : "nothing", uuid), NULL;
  info->uuid = g_strdup (uuid);
  info->name = g_strdup (bkt_json_object_get_string (o, "name"));
  info->version = member_scalar (o, "version");
  download = bkt_json_object_get_string (o, "download_url");

  map = json_object_get_member (o, "shell_version_map");
  if (map != NULL && JSON_NODE_HOLDS_OBJECT (map))
    {
      g_autoptr(GList) names = json_object_get_members (json_node_get_object (map));
      g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
      g_autoptr(GString) text = g_string_new (NULL);
      const char *newest = NULL;

      for (GList *l = names; l != NULL; l = l->next)
        g_ptr_array_add (sorted, l->data);
      g_ptr_array_sort (sorted, compare_versions);
      for (guint i = 0; i < sorted->len; i++)
        g_string_append_printf (text, "%s%s", i > 0 ? ", " : "", (char *) g_ptr_array_index (sorted, i));
      info->shell_versions = g_strdup (text->str);
      if (sorted->len > 0)
        newest = g_ptr_array_index (sorted, sorted->len - 1);
      /* Shell version unknown: the newest release, as a user picking it
       * on the web site would. */
      if (download == NULL && shell_major == NULL && newest != NULL)
        {
          JsonNode *v = json_object_get_member (json_node_get_object (map), newest);
          g_autofree char *pk = v != NULL && JSON_NODE_HOLDS_OBJECT (v) ? member_scalar (json_node_get_object (v), "pk")
                                                                         : NULL;
          if (pk != NULL)
            {
              g_autofree char *q_pk = g_uri_escape_string (pk, NULL, FALSE);
              info->download_url = g_strdup_printf ("%s/download-extension/%s.shell-extension.zip?version_tag=%s",
                                                    base, q_uuid, q_pk);
              g_free (info->version);
              info->version = member_scalar (json_node_get_object (v), "version");
            }
        }
    }
  if (download != NULL)
    {
      /* Relative to the server, as e.g.o answers; an absolute URL must be
       * on the same server: a listing must not send us elsewhere. */
      if (download[0] == '/')
        info->download_url = g_strconcat (base, download, NULL);
      else if (g_str_has_prefix (download, base) && download[strlen (base)] == '/')
        info->download_url = g_strdup (download);
      else
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: download URL “%s” is not on %s", url,
                            download, base), NULL;
    }
  return g_steal_pointer (&info);
}

BktEgoInfo *
bkt_ego_lookup (const char *uuid, const char *shell_major, GCancellable *cancellable, GError **error)
{
  g_autofree char *base = bkt_ego_base_url (NULL, error);
  g_autofree char *q_uuid = g_uri_escape_string (uuid, NULL, FALSE);
  g_autofree char *url = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) local_error = NULL;
  guint status;

  if (base == NULL)
    return NULL;
  if (shell_major != NULL)
    {
      g_autofree char *q_shell = g_uri_escape_string (shell_major, NULL, FALSE);
      url = g_strdup_printf ("%s/extension-info/?uuid=%s&shell_version=%s", base, q_uuid, q_shell);
    }
  else
    url = g_strdup_printf ("%s/extension-info/?uuid=%s", base, q_uuid);
  body = get (url, MAX_INFO_SIZE, &status, cancellable, &local_error);
  if (body == NULL)
    {
      if (g_error_matches (local_error, BKT_ERROR, BKT_ERROR_NOT_FOUND))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "no extension “%s” on %s", uuid, base), NULL;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return bkt_ego_parse_info (base, url, uuid, shell_major, body, error);
}

GBytes *
bkt_ego_download (const char *url, GCancellable *cancellable, GError **error)
{
  guint status;
  return get (url, MAX_ZIP_SIZE, &status, cancellable, error);
}
