/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-manifest.h"

/* The content a user instance sends to the system instance crosses a
 * privilege boundary: keep it bounded. */
#define CONTENT_MAX_SIZE (4 * 1024 * 1024)
#define CONTENT_DISPLAY_NAME "<request>"

struct _BktManifestSet
{
  GObject parent_instance;

  BktManifest *manifests[BKT_MANIFEST_N_KINDS];
  char *write_dir;  /* NULL for content sets */
  char *image_dir;  /* the lower layer of a layered set, else NULL */
  BktManifest *upper[BKT_MANIFEST_N_KINDS];  /* the user layer alone (layered sets) */
  BktManifest *lower[BKT_MANIFEST_N_KINDS];  /* the image layer alone, as loaded (layered sets) */
};

G_DEFINE_TYPE (BktManifestSet, bkt_manifest_set, G_TYPE_OBJECT)

static void
bkt_manifest_set_finalize (GObject *object)
{
  BktManifestSet *self = BKT_MANIFEST_SET (object);

  for (guint i = 0; i < BKT_MANIFEST_N_KINDS; i++)
    {
      g_clear_object (&self->manifests[i]);
      g_clear_object (&self->upper[i]);
      g_clear_object (&self->lower[i]);
    }
  g_clear_pointer (&self->write_dir, g_free);
  g_clear_pointer (&self->image_dir, g_free);

  G_OBJECT_CLASS (bkt_manifest_set_parent_class)->finalize (object);
}

static void
bkt_manifest_set_class_init (BktManifestSetClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_manifest_set_finalize;
}

static void
bkt_manifest_set_init (BktManifestSet *self)
{
}

/* NULL @dir reads as a missing directory, i.e. an empty manifest. */
static BktManifest *
load_kind (const char *dir, BktManifestKind kind, GError **error)
{
  g_autofree char *path = NULL;

  if (dir == NULL)
    return bkt_manifest_new_empty (kind);
  path = g_build_filename (dir, bkt_manifest_kind_file_name (kind), NULL);
  return bkt_manifest_load_file (kind, path, error);
}

/* The user's entries plus the image's entries the user does not have.
 * Starting from the user's file keeps its top-level members (and makes
 * it the origin), and a user entry replaces the image's one whole: an
 * overlay that only patched some members would make it impossible to
 * drop a member the image sets. */
static BktManifest *
merge (BktManifest *image, BktManifest *user)
{
  BktManifest *merged = bkt_manifest_copy (user);
  JsonArray *entries = bkt_manifest_get_entries (image);
  BktManifestKind kind = bkt_manifest_get_kind (image);

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      /* Node-wise: gnome-extensions entries may be bare uuid strings. */
      g_autofree char *key = bkt_manifest_node_key (kind, node);
      g_autoptr(JsonObject) entry = NULL;

      if (key == NULL || bkt_manifest_lookup_node (merged, key) != NULL)
        continue;
      entry = bkt_manifest_node_to_object (kind, node);
      bkt_manifest_upsert (merged, entry);
    }
  /* copr_repos merges the same way, by name: the user's entry wins. */
  entries = bkt_manifest_get_list (image, BKT_MANIFEST_COPR_MEMBER);
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      const char *name = e != NULL ? json_object_get_string_member_with_default (e, "name", NULL) : NULL;

      if (name != NULL && bkt_manifest_lookup_in (merged, BKT_MANIFEST_COPR_MEMBER, name) == NULL)
        bkt_manifest_upsert_in (merged, BKT_MANIFEST_COPR_MEMBER, e);
    }
  bkt_manifest_sort (merged);
  return merged;
}

BktManifestSet *
bkt_manifest_set_load_layered (const char *image_dir, const char *user_dir, GError **error)
{
  g_autoptr(BktManifestSet) self = g_object_new (BKT_TYPE_MANIFEST_SET, NULL);

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < BKT_MANIFEST_N_KINDS; i++)
    {
      g_autoptr(BktManifest) image = load_kind (image_dir, (BktManifestKind) i, error);
      g_autoptr(BktManifest) user = NULL;

      if (image == NULL)
        return NULL;
      user = load_kind (user_dir, (BktManifestKind) i, error);
      if (user == NULL)
        return NULL;

      if (user_dir == NULL)
        {
          self->manifests[i] = bkt_manifest_copy (image);
          bkt_manifest_sort (self->manifests[i]);
        }
      else
        {
          self->manifests[i] = merge (image, user);
          self->upper[i] = g_object_ref (user);
        }
      /* As loaded, with its positions: `bkt drift explain` names file:line. */
      self->lower[i] = g_object_ref (image);
    }

  self->write_dir = g_strdup (user_dir);
  self->image_dir = g_strdup (image_dir);
  return g_steal_pointer (&self);
}

/* A directory named by the user (-m DIR) must be one that holds
 * manifests: a missing one read as empty would plan the removal of
 * everything installed (a typo in -m ~/distro/manfiests). */
static gboolean
check_manifests_dir (const char *dir, GError **error)
{
  g_autoptr(GString) names = g_string_new (NULL);

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "manifests directory %s does not exist", dir), FALSE;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "manifests directory %s is not a directory", dir), FALSE;
  for (guint i = 0; i < BKT_MANIFEST_N_KINDS; i++)
    {
      const char *name = bkt_manifest_kind_file_name ((BktManifestKind) i);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return TRUE;
      g_string_append_printf (names, "%s%s", names->len ? ", " : "", name);
    }
  return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                      "manifests directory %s holds no manifest (none of %s); "
                      "create one, even as {}, to start from nothing", dir, names->str), FALSE;
}

BktManifestSet *
bkt_manifest_set_load_dir (const char *dir, GError **error)
{
  g_autoptr(BktManifestSet) self = g_object_new (BKT_TYPE_MANIFEST_SET, NULL);

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_manifests_dir (dir, error))
    return NULL;

  for (guint i = 0; i < BKT_MANIFEST_N_KINDS; i++)
    {
      self->manifests[i] = load_kind (dir, (BktManifestKind) i, error);
      if (self->manifests[i] == NULL)
        return NULL;
      /* A view for planning: sorting it does not touch the file, which is
       * reloaded raw by load_writable() for edits. */
      bkt_manifest_sort (self->manifests[i]);
    }

  self->write_dir = g_strdup (dir);
  return g_steal_pointer (&self);
}

static const char *
entry_scope (JsonObject *entry)
{
  JsonNode *node = json_object_get_member (entry, "scope");

  /* Validation guarantees a string when present; absent means system
   * (remotes may leave it out). */
  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return "system";
  return json_node_get_string (node);
}

/* Only the kinds the system instance acts on: gsettings are per user.
 * Layered packages are system-wide by nature (bare names, no scope). */
static gboolean
is_content_kind (BktManifestKind kind)
{
  return kind == BKT_MANIFEST_FLATPAK_REMOTES || kind == BKT_MANIFEST_FLATPAK_APPS ||
         kind == BKT_MANIFEST_SYSTEM_PACKAGES;
}

BktManifestSet *
bkt_manifest_set_new_from_content (const char *json, GError **error)
{
  g_autoptr(BktManifestSet) self = NULL;
  g_autoptr(BktJsonDoc) doc = NULL;
  JsonNode *root;
  JsonObject *object;
  g_autoptr(GList) names = NULL;
  gsize length;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  length = strlen (json);
  if (length > CONTENT_MAX_SIZE)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                   "Manifest content is %" G_GSIZE_FORMAT " bytes, more than the limit of 4 MiB",
                   length);
      return NULL;
    }

  doc = bkt_json_doc_parse (CONTENT_DISPLAY_NAME, json, (gssize) length, error);
  if (doc == NULL)
    return NULL;

  root = bkt_json_doc_get_root (doc);
  if (JSON_NODE_TYPE (root) != JSON_NODE_OBJECT)
    {
      bkt_json_doc_error_at (doc, root, error, "manifest content must be a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);

  self = g_object_new (BKT_TYPE_MANIFEST_SET, NULL);
  names = json_object_get_members (object);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *member = json_object_get_member (object, name);
      BktManifestKind kind;
      BktManifest *m;
      JsonArray *entries;

      if (!bkt_manifest_kind_from_name (name, &kind) || !is_content_kind (kind))
        {
          bkt_json_doc_error_at (doc, member, error,
                                 "unexpected member \"%s\" (expected \"flatpak-remotes\", \"flatpak-apps\" "
                                 "or \"system-packages\")",
                                 name);
          return NULL;
        }

      m = bkt_manifest_load_node (kind, doc, member, error);
      if (m == NULL)
        return NULL;
      self->manifests[kind] = m;

      /* The system instance runs as root: letting it act in a user's
       * scope would mean writing into that user's home on their behalf. */
      entries = bkt_manifest_get_entries (m);
      for (guint i = 0; kind != BKT_MANIFEST_SYSTEM_PACKAGES && i < json_array_get_length (entries); i++)
        {
          JsonObject *entry = json_array_get_object_element (entries, i);

          if (g_strcmp0 (entry_scope (entry), "system") != 0)
            {
              bkt_json_doc_error_at (doc, json_object_get_member (entry, "scope"), error,
                                     "scope \"%s\": the system instance only handles system scope",
                                     entry_scope (entry));
              return NULL;
            }
        }
    }

  for (guint i = 0; i < BKT_MANIFEST_N_KINDS; i++)
    if (self->manifests[i] == NULL)
      self->manifests[i] = bkt_manifest_new_empty ((BktManifestKind) i);

  return g_steal_pointer (&self);
}

BktManifestSet *
bkt_manifest_set_reload (BktManifestSet *self, GError **error)
{
  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), NULL);

  if (self->write_dir == NULL)
    return g_object_ref (self);
  if (self->image_dir != NULL)
    return bkt_manifest_set_load_layered (self->image_dir, self->write_dir, error);
  return bkt_manifest_set_load_dir (self->write_dir, error);
}

char *
bkt_manifest_set_to_system_content (BktManifestSet *self)
{
  g_autoptr(JsonObject) content = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) generator = NULL;

  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), NULL);

  content = json_object_new ();
  for (guint k = 0; k < BKT_MANIFEST_N_KINDS; k++)
    {
      JsonArray *entries;
      g_autoptr(JsonArray) system = NULL;
      g_autoptr(JsonObject) doc = NULL;

      if (!is_content_kind ((BktManifestKind) k))
        continue;

      entries = bkt_manifest_get_entries (self->manifests[k]);
      system = json_array_new ();
      for (guint i = 0; i < json_array_get_length (entries); i++)
        {
          JsonObject *entry;

          /* Package entries are bare names and system-wide. */
          if (k == BKT_MANIFEST_SYSTEM_PACKAGES)
            {
              json_array_add_element (system, json_node_copy (json_array_get_element (entries, i)));
              continue;
            }
          entry = json_array_get_object_element (entries, i);
          /* Sharing the entry objects is fine: this tree only lives until
           * it is serialised below and is never modified. */
          if (g_strcmp0 (entry_scope (entry), "system") == 0)
            json_array_add_object_element (system, json_object_ref (entry));
        }

      doc = json_object_new ();
      json_object_set_array_member (doc, bkt_manifest_kind_list_member ((BktManifestKind) k),
                                    json_array_ref (system));
      /* The COPR repos the system instance writes, as declared. */
      if (k == BKT_MANIFEST_SYSTEM_PACKAGES
          && bkt_manifest_get_list (self->manifests[k], BKT_MANIFEST_COPR_MEMBER) != NULL
          && json_array_get_length (bkt_manifest_get_list (self->manifests[k], BKT_MANIFEST_COPR_MEMBER)) > 0)
        json_object_set_array_member (doc, BKT_MANIFEST_COPR_MEMBER,
                                      json_array_ref (bkt_manifest_get_list (self->manifests[k],
                                                                             BKT_MANIFEST_COPR_MEMBER)));
      json_object_set_object_member (content, bkt_manifest_kind_name ((BktManifestKind) k),
                                     json_object_ref (doc));
    }

  root = json_node_alloc ();
  json_node_init_object (root, content);
  generator = json_generator_new ();
  json_generator_set_pretty (generator, FALSE);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

BktManifest *
bkt_manifest_set_get (BktManifestSet *self, BktManifestKind kind)
{
  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), NULL);
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  return self->manifests[kind];
}

JsonObject *
bkt_manifest_set_lookup (BktManifestSet *self, BktManifestKind kind, const char *key)
{
  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), NULL);
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  return bkt_manifest_lookup (self->manifests[kind], key);
}

const char *
bkt_manifest_set_get_write_dir (BktManifestSet *self)
{
  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), NULL);
  return self->write_dir;
}

const char *
bkt_manifest_set_get_image_dir (BktManifestSet *self)
{
  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), NULL);
  return self->image_dir;
}

BktManifest *
bkt_manifest_set_load_writable (BktManifestSet *self, BktManifestKind kind, GError **error)
{
  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), NULL);
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->write_dir == NULL)
    {
      g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                           "Manifests received from a client cannot be edited");
      return NULL;
    }
  /* Reloaded from disk rather than taken from the merged view: an edit
   * must not copy the image's entries into the user's overlay. */
  return load_kind (self->write_dir, kind, error);
}

gboolean
bkt_manifest_set_save_writable (BktManifestSet *self, BktManifest *m, GError **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), FALSE);
  g_return_val_if_fail (BKT_IS_MANIFEST (m), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->write_dir == NULL)
    {
      g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                           "Manifests received from a client cannot be saved");
      return FALSE;
    }
  path = g_build_filename (self->write_dir,
                           bkt_manifest_kind_file_name (bkt_manifest_get_kind (m)), NULL);
  return bkt_manifest_save (m, path, error);
}

char *
bkt_manifest_set_declaring_file (BktManifestSet *self, BktManifestKind kind, const char *key, const char **layer)
{
  const char *file_name = bkt_manifest_kind_file_name (kind);
  const char *dir;

  *layer = NULL;
  if (key == NULL || bkt_manifest_lookup_node (self->manifests[kind], key) == NULL)
    return NULL;
  if (self->upper[kind] == NULL)
    {
      /* One directory (-m DIR) or content: no layering to tell apart. */
      *layer = self->write_dir != NULL ? "manifests-dir" : NULL;
      dir = self->write_dir;
    }
  else if (bkt_manifest_lookup_node (self->upper[kind], key) != NULL)
    *layer = "user", dir = self->write_dir;
  else
    *layer = "image", dir = self->image_dir;
  return dir != NULL ? g_build_filename (dir, file_name, NULL) : g_strdup (file_name);
}

const char *
bkt_manifest_set_declaring_layer_name (BktManifestSet *self)
{
  if (self->write_dir == NULL)
    return NULL;
  return self->image_dir != NULL || self->upper[0] != NULL ? "user" : "manifests-dir";
}

/* json-glib before 1.10 has no json_object_take_string_member(). */
static void
take_string (JsonObject *o, const char *member, char *value)
{
  json_object_set_string_member (o, member, value);
  g_free (value);
}

/* One layer's declaration of @key: {"layer", "file", "declared", "line"?,
 * "entry"?}. */
static JsonObject *
layer_entry (const char *layer, const char *dir, BktManifest *m, BktManifestKind kind, const char *key)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = m != NULL ? bkt_manifest_lookup_node (m, key) : NULL;
  BktJsonDoc *doc = m != NULL ? bkt_manifest_get_doc (m) : NULL;
  const BktJsonSpan *span = node != NULL && doc != NULL ? bkt_json_doc_get_span (doc, node) : NULL;

  json_object_set_string_member (o, "layer", layer);
  if (dir != NULL)
    take_string (o, "file", g_build_filename (dir, bkt_manifest_kind_file_name (kind), NULL));
  else
    json_object_set_null_member (o, "file");
  json_object_set_boolean_member (o, "declared", node != NULL);
  if (span != NULL)
    json_object_set_int_member (o, "line", span->line);
  if (node != NULL)
    json_object_set_member (o, "entry", json_node_copy (node));
  return o;
}

JsonArray *
bkt_manifest_set_layer_entries (BktManifestSet *self, BktManifestKind kind, const char *key)
{
  JsonArray *layers = json_array_new ();
  JsonObject *top = NULL;

  g_return_val_if_fail (BKT_IS_MANIFEST_SET (self), layers);
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS && key != NULL, layers);

  if (self->upper[kind] != NULL)
    {
      json_array_add_object_element (layers, layer_entry ("image", self->image_dir, self->lower[kind], kind, key));
      json_array_add_object_element (layers, layer_entry ("user", self->write_dir, self->upper[kind], kind, key));
    }
  else
    json_array_add_object_element (layers, layer_entry (self->write_dir != NULL ? "manifests-dir" : "content",
                                                        self->write_dir, self->manifests[kind], kind, key));
  /* The user's entry replaces the image's whole: the last declaring layer wins. */
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *o = json_array_get_object_element (layers, i);

      json_object_set_boolean_member (o, "in_effect", FALSE);
      if (json_object_get_boolean_member (o, "declared"))
        top = o;
    }
  if (top != NULL)
    json_object_set_boolean_member (top, "in_effect", TRUE);
  return layers;
}
