/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "bkt-json.h"
#include "bkt-error.h"
#include "bkt-pr-queue.h"

struct _BktPrQueue
{
  GObject     parent_instance;
  char       *path;
  JsonObject *doc;      /* {"next_id", "entries"} */
};

G_DEFINE_TYPE (BktPrQueue, bkt_pr_queue, G_TYPE_OBJECT)

static void
bkt_pr_queue_finalize (GObject *object)
{
  BktPrQueue *self = BKT_PR_QUEUE (object);

  g_free (self->path);
  g_clear_pointer (&self->doc, json_object_unref);
  G_OBJECT_CLASS (bkt_pr_queue_parent_class)->finalize (object);
}

static void
bkt_pr_queue_class_init (BktPrQueueClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_pr_queue_finalize;
}

static void
bkt_pr_queue_init (BktPrQueue *self)
{
}

/* NULL-tolerant: queue entries may lack a member. */
JsonObject *
bkt_pr_json_object_copy (JsonObject *object)
{
  return object != NULL ? bkt_json_object_deep_copy (object) : json_object_new ();
}

JsonArray *
bkt_pr_json_array_copy (JsonArray *array)
{
  return array != NULL ? bkt_json_array_deep_copy (array) : json_array_new ();
}

char *
bkt_pr_queue_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "bkt", "pr-queue.json", NULL);
}

static JsonArray *
entries (BktPrQueue *self)
{
  return json_object_get_array_member (self->doc, "entries");
}

BktPrQueue *
bkt_pr_queue_load (const char *path, GError **error)
{
  g_autoptr(BktPrQueue) self = g_object_new (BKT_TYPE_PR_QUEUE, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  self->path = path ? g_strdup (path) : bkt_pr_queue_default_path ();
  if (!json_parser_load_from_file (parser, self->path, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                            "the PR queue %s is unreadable (%s); move it aside to start a new one",
                            self->path, local_error->message), NULL;
      self->doc = json_object_new ();
      json_object_set_int_member (self->doc, "next_id", 1);
      json_object_set_array_member (self->doc, "entries", json_array_new ());
      return g_steal_pointer (&self);
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "entries") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "entries")))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                        "the PR queue %s is not a bkt queue; move it aside to start a new one",
                        self->path), NULL;
  self->doc = json_object_ref (json_node_get_object (root));
  if (!json_object_has_member (self->doc, "next_id"))
    json_object_set_int_member (self->doc, "next_id", 1);
  return g_steal_pointer (&self);
}

static gboolean
save (BktPrQueue *self, GError **error)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;

  json_node_set_object (node, self->doc);
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  text = json_generator_to_data (gen, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot create %s: %s", dir,
                        g_strerror (errno)), FALSE;
  /* g_file_set_contents writes a temp file, fsyncs and renames. */
  if (!g_file_set_contents (self->path, text, -1, &local_error))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot write the PR queue: %s",
                        local_error->message), FALSE;
  return TRUE;
}

gint64
bkt_pr_queue_add (BktPrQueue *self, JsonObject *entry, GError **error)
{
  gint64 id = json_object_get_int_member_with_default (self->doc, "next_id", 1);
  JsonObject *o = bkt_pr_json_object_copy (entry);

  json_object_set_int_member (o, "id", id);
  if (!json_object_has_member (o, "created"))
    json_object_set_int_member (o, "created", g_get_real_time () / G_USEC_PER_SEC);
  json_array_add_object_element (entries (self), o);
  json_object_set_int_member (self->doc, "next_id", id + 1);
  if (!save (self, error))
    return 0;
  return id;
}

gboolean
bkt_pr_queue_remove (BktPrQueue *self, const gint64 *ids, guint n_ids, GError **error)
{
  JsonArray *a = entries (self);
  gboolean changed = FALSE;

  for (guint i = json_array_get_length (a); i-- > 0;)
    {
      JsonObject *e = json_array_get_object_element (a, i);
      gint64 id = json_object_get_int_member_with_default (e, "id", 0);

      for (guint j = 0; j < n_ids; j++)
        if (ids[j] == id)
          {
            json_array_remove_element (a, i);
            changed = TRUE;
            break;
          }
    }
  return !changed || save (self, error);
}

JsonObject *
bkt_pr_queue_lookup (BktPrQueue *self, gint64 id)
{
  JsonArray *a = entries (self);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *e = json_array_get_object_element (a, i);
      if (json_object_get_int_member_with_default (e, "id", 0) == id)
        return e;
    }
  return NULL;
}

GPtrArray *
bkt_pr_queue_list (BktPrQueue *self, const char *state)
{
  GPtrArray *out = g_ptr_array_new ();
  JsonArray *a = entries (self);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *e = json_array_get_object_element (a, i);
      if (state == NULL ||
          g_strcmp0 (json_object_get_string_member_with_default (e, "state", ""), state) == 0)
        g_ptr_array_add (out, e);
    }
  return out;
}

JsonObject *
bkt_pr_queue_to_json (BktPrQueue *self)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "path", self->path);
  json_object_set_array_member (o, "entries", bkt_pr_json_array_copy (entries (self)));
  return o;
}
