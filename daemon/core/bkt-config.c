/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-config.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"

char *
bkt_config_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "bkt", "config.json", NULL);
}

JsonObject *
bkt_config_load_file (const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_file (parser, path, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      /* json-glib names the file (with line and column) itself. */
      if (g_str_has_prefix (local_error->message, path))
        return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, local_error->message), NULL;
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: %s", path, local_error->message),
             NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: not a JSON object", path), NULL;
  return json_object_ref (json_node_get_object (root));
}

JsonObject *
bkt_config_load (GError **error)
{
  g_autofree char *path = bkt_config_path ();
  g_autoptr(GError) local_error = NULL;
  JsonObject *config = bkt_config_load_file (path, &local_error);

  if (local_error != NULL)
    return g_propagate_error (error, g_steal_pointer (&local_error)), NULL;
  return config != NULL ? config : json_object_new ();
}

char *
bkt_config_setting (const char *env, const char *key, gboolean is_path, GError **error)
{
  const char *value = env != NULL ? g_getenv (env) : NULL;
  g_autoptr(JsonObject) config = NULL;
  JsonNode *node;

  if (value != NULL && value[0] != '\0')
    return g_strdup (value);
  config = bkt_config_load (error);
  if (config == NULL)
    return NULL;
  node = json_object_get_member (config, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
      json_node_get_string (node)[0] == '\0')
    {
      g_autofree char *path = bkt_config_path ();
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "%s: \"%s\" must be a non-empty string", path, key), NULL;
    }
  value = json_node_get_string (node);
  if (is_path && g_str_has_prefix (value, "~/"))
    return g_build_filename (g_get_home_dir (), value + 2, NULL);
  return g_strdup (value);
}

gboolean
bkt_config_set_member (const char *key, JsonNode *value, GError **error)
{
  g_autofree char *path = bkt_config_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(JsonObject) config = bkt_config_load (error);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  gsize len;

  if (config == NULL)
    return FALSE;
  json_object_set_member (config, key, json_node_copy (value));
  root = json_node_init_object (json_node_alloc (), config);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  text = json_generator_to_data (gen, &len);
  if (!bkt_fs_mkdir_p (dir, 0700, error))
    return FALSE;
  {
    g_autofree char *with_newline = g_strconcat (text, "\n", NULL);
    return bkt_write_file_atomic (path, with_newline, len + 1, 0600, error);
  }
}
