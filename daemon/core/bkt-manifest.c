/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-manifest.h"
#include "bkt-manifest-private.h"
#include "bkt-schema.h"
#include "bkt-text.h"

/* Manifests are small, hand-edited files.  The limit protects the daemon
 * from being made to read something huge (or endless, like a FIFO or a
 * device node) at a path it was pointed at. */
#define MANIFEST_MAX_SIZE (8 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Kinds                                                                */

typedef struct
{
  const char *file_name;
  const char *name;
  const char *list_member;
} KindInfo;

static const KindInfo kind_info[BKT_MANIFEST_N_KINDS] = {
  [BKT_MANIFEST_FLATPAK_REMOTES] = { "flatpak-remotes.json", "flatpak-remotes", "remotes" },
  [BKT_MANIFEST_FLATPAK_APPS] = { "flatpak-apps.json", "flatpak-apps", "apps" },
  [BKT_MANIFEST_GSETTINGS] = { "gsettings.json", "gsettings", "settings" },
  [BKT_MANIFEST_GNOME_EXTENSIONS] = { "gnome-extensions.json", "gnome-extensions", "extensions" },
  [BKT_MANIFEST_HOST_SHIMS] = { "host-shims.json", "host-shims", "shims" },
  [BKT_MANIFEST_SYSTEM_PACKAGES] = { "system-packages.json", "system-packages", "packages" },
  [BKT_MANIFEST_TOOLBOX_PACKAGES] = { "toolbox-packages.json", "toolbox-packages", "packages" },
};

const char *
bkt_manifest_kind_file_name (BktManifestKind kind)
{
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  return kind_info[kind].file_name;
}

const char *
bkt_manifest_kind_name (BktManifestKind kind)
{
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  return kind_info[kind].name;
}

const char *
bkt_manifest_kind_list_member (BktManifestKind kind)
{
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  return kind_info[kind].list_member;
}

gboolean
bkt_manifest_kind_from_name (const char *name, BktManifestKind *out_kind)
{
  for (guint i = 0; i < BKT_MANIFEST_N_KINDS; i++)
    if (g_strcmp0 (name, kind_info[i].name) == 0)
      {
        if (out_kind != NULL)
          *out_kind = (BktManifestKind) i;
        return TRUE;
      }
  return FALSE;
}

static gboolean
is_package_kind (BktManifestKind kind)
{
  return kind == BKT_MANIFEST_SYSTEM_PACKAGES || kind == BKT_MANIFEST_TOOLBOX_PACKAGES;
}

/* The shape of one entry of @kind's list (bkt-manifest-shapes.c). */
static const BktShape *
entry_shape (BktManifestKind kind)
{
  return bkt_shape_find_member (bkt_manifest_kind_shape (kind), kind_info[kind].list_member)->shape->items;
}

static gboolean
is_known_member (BktManifestKind kind, const char *name)
{
  return bkt_shape_find_member (entry_shape (kind), name) != NULL;
}

static gboolean
node_is (JsonNode *node, JsonNodeType node_type, GType value_type)
{
  if (JSON_NODE_TYPE (node) != node_type)
    return FALSE;
  return node_type != JSON_NODE_VALUE || json_node_get_value_type (node) == value_type;
}

/* The string member @name of @entry, or NULL if absent or not a string.
 * (json_object_get_string_member() warns on a missing member.) */
static const char *
get_string (JsonObject *entry, const char *name)
{
  JsonNode *node = json_object_get_member (entry, name);

  if (node == NULL || !node_is (node, JSON_NODE_VALUE, G_TYPE_STRING))
    return NULL;
  return json_node_get_string (node);
}

char *
bkt_manifest_entry_key (BktManifestKind kind, JsonObject *entry)
{
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  g_return_val_if_fail (entry != NULL, NULL);

  switch (kind)
    {
    case BKT_MANIFEST_FLATPAK_REMOTES:
      return g_strdup (get_string (entry, "name"));
    case BKT_MANIFEST_FLATPAK_APPS:
      return g_strdup (get_string (entry, "id"));
    case BKT_MANIFEST_GSETTINGS:
      {
        const char *schema = get_string (entry, "schema");
        const char *key = get_string (entry, "key");
        const char *path = get_string (entry, "path");

        if (schema == NULL || key == NULL)
          return NULL;
        /* Relocatable schemas are only identified together with their
         * path: the same key may be set at several paths. */
        if (path != NULL)
          return g_strdup_printf ("%s:%s %s", schema, path, key);
        return g_strdup_printf ("%s %s", schema, key);
      }
    case BKT_MANIFEST_GNOME_EXTENSIONS:
      return g_strdup (get_string (entry, "uuid"));
    case BKT_MANIFEST_HOST_SHIMS:
    case BKT_MANIFEST_SYSTEM_PACKAGES:
    case BKT_MANIFEST_TOOLBOX_PACKAGES:
      return g_strdup (get_string (entry, "name"));
    case BKT_MANIFEST_N_KINDS:
    default:
      g_return_val_if_reached (NULL);
    }
}

/* Whether @node is a list element stored as a bare string, which
 * gnome-extensions.json ("extensions": ["uuid", ...]) and the package
 * manifests ("packages": ["name", ...]) have. */
static gboolean
is_bare_entry (BktManifestKind kind, JsonNode *node)
{
  return (kind == BKT_MANIFEST_GNOME_EXTENSIONS || is_package_kind (kind))
         && node_is (node, JSON_NODE_VALUE, G_TYPE_STRING);
}

char *
bkt_manifest_node_key (BktManifestKind kind, JsonNode *node)
{
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);

  if (node == NULL)
    return NULL;
  if (is_bare_entry (kind, node))
    return g_strdup (json_node_get_string (node));
  if (JSON_NODE_TYPE (node) == JSON_NODE_OBJECT)
    return bkt_manifest_entry_key (kind, json_node_get_object (node));
  return NULL;
}

JsonObject *
bkt_manifest_node_to_object (BktManifestKind kind, JsonNode *node)
{
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);

  if (node == NULL)
    return NULL;
  if (is_bare_entry (kind, node))
    {
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, is_package_kind (kind) ? "name" : "uuid", json_node_get_string (node));
      return o;
    }
  if (JSON_NODE_TYPE (node) == JSON_NODE_OBJECT)
    return json_object_ref (json_node_get_object (node));
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Deep copies                                                          */

/* ------------------------------------------------------------------ */
/* BktManifest                                                          */

struct _BktManifest
{
  GObject parent_instance;

  BktManifestKind kind;
  char *origin;
  JsonNode *root;       /* an object node */
  JsonArray *entries;   /* the root's list member (owned by root) */
  BktJsonDoc *doc;      /* where root came from; NULL if built in code */
  GHashTable *index;    /* entry key → position + 1 (find_entry); NULL: not built */
  GPtrArray *index_nodes; /* the entries' nodes when it was built (held) */
};

G_DEFINE_TYPE (BktManifest, bkt_manifest, G_TYPE_OBJECT)

static void
bkt_manifest_finalize (GObject *object)
{
  BktManifest *self = BKT_MANIFEST (object);

  g_clear_pointer (&self->origin, g_free);
  g_clear_pointer (&self->root, json_node_unref);
  g_clear_object (&self->doc);
  g_clear_pointer (&self->index, g_hash_table_unref);
  g_clear_pointer (&self->index_nodes, g_ptr_array_unref);

  G_OBJECT_CLASS (bkt_manifest_parent_class)->finalize (object);
}

static void
bkt_manifest_class_init (BktManifestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_manifest_finalize;
}

static void
bkt_manifest_init (BktManifest *self)
{
}

/* Takes a reference to @root (an object node).  Adds the list member if
 * the document had none, so entries can be appended. */
static BktManifest *
manifest_new_with_root (BktManifestKind kind, const char *origin, JsonNode *root)
{
  BktManifest *self = g_object_new (BKT_TYPE_MANIFEST, NULL);
  JsonObject *object = json_node_get_object (root);
  const char *list = kind_info[kind].list_member;

  self->kind = kind;
  self->origin = g_strdup (origin);
  self->root = json_node_ref (root);
  if (!json_object_has_member (object, list))
    json_object_set_array_member (object, list, json_array_new ());
  self->entries = json_object_get_array_member (object, list);
  return self;
}

BktManifest *
bkt_manifest_new_empty (BktManifestKind kind)
{
  g_autoptr(JsonNode) root = json_node_alloc ();
  g_autoptr(JsonObject) object = json_object_new ();

  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);

  json_node_init_object (root, object);
  return manifest_new_with_root (kind, kind_info[kind].file_name, root);
}

BktManifest *
bkt_manifest_copy (BktManifest *self)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);

  root = bkt_json_node_deep_copy (self->root);
  return manifest_new_with_root (self->kind, self->origin, root);
}

/* A duplicate COPR project in copr_repos (the shape checked the rest). */
static gboolean
check_copr_duplicates (BktJsonDoc *doc, JsonNode *root, GError **error)
{
  JsonNode *list = json_object_get_member (json_node_get_object (root), BKT_MANIFEST_COPR_MEMBER);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *a;

  if (list == NULL)
    return TRUE;
  a = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      const char *name = get_string (json_node_get_object (e), "name");

      if (g_hash_table_contains (seen, name))
        return bkt_json_doc_error_at (doc, e, error, "duplicate COPR project \"%s\"", name);
      g_hash_table_add (seen, (gpointer) name);
    }
  return TRUE;
}

BktManifest *
bkt_manifest_load_node (BktManifestKind kind,
                        BktJsonDoc     *doc,
                        JsonNode       *node,
                        GError        **error)
{
  const char *list_name;
  JsonNode *list_node;
  g_autoptr(GHashTable) seen = NULL;
  BktManifest *self;

  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  g_return_val_if_fail (BKT_IS_JSON_DOC (doc), NULL);
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  list_name = kind_info[kind].list_member;

  /* Types, required members and every value's rule: the kind's shape,
   * which `bkt schema generate` writes out as its JSON Schema. */
  if (!bkt_shape_check (bkt_manifest_kind_shape (kind), kind_info[kind].name, doc, node, error))
    return NULL;

  /* What a JSON Schema cannot say: unique keys. */
  list_node = json_object_get_member (json_node_get_object (node), list_name);
  if (list_node != NULL)
    {
      JsonArray *entries = json_node_get_array (list_node);

      /* key → entry node, to point at the first one on a duplicate. */
      seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      for (guint i = 0; i < json_array_get_length (entries); i++)
        {
          JsonNode *entry = json_array_get_element (entries, i);
          char *key = bkt_manifest_node_key (kind, entry);
          JsonNode *first = g_hash_table_lookup (seen, key);

          if (first != NULL)
            {
              const BktJsonSpan *span = bkt_json_doc_get_span (doc, first);

              bkt_json_doc_error_at (doc, entry, error, "duplicate entry \"%s\" (first defined on line %u)",
                                     key, span != NULL ? span->line : 0);
              g_free (key);
              return NULL;
            }
          g_hash_table_insert (seen, key, entry);
        }
    }

  /* copr_repos' names become file names under /etc/yum.repos.d and
   * URLs, on the system instance too: one repo file per project. */
  if (is_package_kind (kind) && !check_copr_duplicates (doc, node, error))
    return NULL;

  self = manifest_new_with_root (kind, bkt_json_doc_get_filename (doc), node);
  self->doc = g_object_ref (doc);
  return self;
}

BktManifest *
bkt_manifest_load_data (BktManifestKind kind,
                        const char     *display_name,
                        const char     *data,
                        gssize          length,
                        GError        **error)
{
  g_autoptr(BktJsonDoc) doc = NULL;

  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);

  if (length < 0)
    length = (gssize) strlen (data);
  if ((gsize) length > MANIFEST_MAX_SIZE)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST,
                   "%s: manifest is larger than the limit of 8 MiB", display_name);
      return NULL;
    }

  doc = bkt_json_doc_parse (display_name, data, length, error);
  if (doc == NULL)
    return NULL;
  return bkt_manifest_load_node (kind, doc, bkt_json_doc_get_root (doc), error);
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    {
      g_close (*fd, NULL);
      *fd = -1;
    }
}

/* Reads at most MANIFEST_MAX_SIZE bytes; sets *too_big instead of reading
 * further.  Errors are G_FILE_ERROR, so the caller can tell ENOENT. */
static gboolean
read_file_limited (const char *path, char **out, gsize *out_len, gboolean *too_big, GError **error)
{
  __attribute__((cleanup (close_fd))) int fd = -1;
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  struct stat st;

  *too_big = FALSE;
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "%s", g_strerror (saved_errno));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "%s", g_strerror (EISDIR));
      return FALSE;
    }

  for (;;)
    {
      guint8 chunk[16384];
      gssize n = read (fd, chunk, sizeof chunk);

      if (n < 0)
        {
          int saved_errno = errno;
          if (saved_errno == EINTR)
            continue;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "%s", g_strerror (saved_errno));
          return FALSE;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > MANIFEST_MAX_SIZE)
        {
          *too_big = TRUE;
          return FALSE;
        }
      g_byte_array_append (buf, chunk, (guint) n);
    }

  *out_len = buf->len;
  g_byte_array_append (buf, (const guint8 *) "", 1);
  *out = (char *) g_byte_array_free (g_steal_pointer (&buf), FALSE);
  return TRUE;
}

BktManifest *
bkt_manifest_load_file (BktManifestKind kind, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  gboolean too_big = FALSE;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (!read_file_limited (path, &contents, &length, &too_big, &local_error))
    {
      if (too_big)
        {
          g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST,
                       "%s: manifest is larger than the limit of 8 MiB", path);
          return NULL;
        }
      /* A kind nobody has written yet simply has no entries. */
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          BktManifest *self = bkt_manifest_new_empty (kind);
          g_free (self->origin);
          self->origin = g_strdup (path);
          return self;
        }
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "Cannot read %s: %s",
                   path, local_error->message);
      return NULL;
    }

  return bkt_manifest_load_data (kind, path, contents, (gssize) length, error);
}

BktManifestKind
bkt_manifest_get_kind (BktManifest *self)
{
  g_return_val_if_fail (BKT_IS_MANIFEST (self), BKT_MANIFEST_N_KINDS);
  return self->kind;
}

const char *
bkt_manifest_get_origin (BktManifest *self)
{
  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);
  return self->origin;
}

BktJsonDoc *
bkt_manifest_get_doc (BktManifest *self)
{
  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);
  return self->doc;
}

JsonArray *
bkt_manifest_get_entries (BktManifest *self)
{
  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);
  return self->entries;
}

guint
bkt_manifest_get_n_entries (BktManifest *self)
{
  g_return_val_if_fail (BKT_IS_MANIFEST (self), 0);
  return json_array_get_length (self->entries);
}

/* Index of the entry with @key, or -1. */
/* Lookups by key go through an index built on the first one: a linear
 * scan building every entry's key made merging a 500-entry image layer,
 * seeding a 550-item state record or capturing many items O(n²) key builds
 * (≈ 270 M instructions at 500 entries, docs/benchmarks.md).  Every change
 * made here drops it; a caller may still add, remove or reorder elements
 * of the array it got from get_entries(), so each lookup first compares
 * the array's nodes with those the index was built from (held, so that
 * no new node can reuse an old one's address): pointer compares, no key
 * built. */
static void
index_drop (BktManifest *self)
{
  g_clear_pointer (&self->index, g_hash_table_unref);
  g_clear_pointer (&self->index_nodes, g_ptr_array_unref);
}

static gboolean
index_is_current (BktManifest *self)
{
  guint n = json_array_get_length (self->entries);

  if (self->index == NULL || self->index_nodes->len != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (g_ptr_array_index (self->index_nodes, i) != json_array_get_element (self->entries, i))
      return FALSE;
  return TRUE;
}

static void
index_build (BktManifest *self)
{
  guint n = json_array_get_length (self->entries);

  index_drop (self);
  self->index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->index_nodes = g_ptr_array_new_full (n, (GDestroyNotify) json_node_unref);
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (self->index_nodes, json_node_ref (json_array_get_element (self->entries, i)));
      /* Entries are validated unless a caller put something else in
       * through get_entries(): those have no key and are skipped. */
      char *key = bkt_manifest_node_key (self->kind, json_array_get_element (self->entries, i));

      /* The first of two equal keys wins, as the scan found it. */
      if (key == NULL || g_hash_table_contains (self->index, key))
        g_free (key);
      else
        g_hash_table_insert (self->index, key, GUINT_TO_POINTER (i + 1));
    }
}

static gint
index_find (BktManifest *self, const char *key)
{
  gpointer p = g_hash_table_lookup (self->index, key);

  return p == NULL ? -1 : (gint) GPOINTER_TO_UINT (p) - 1;
}

static gint
find_entry (BktManifest *self, const char *key)
{
  g_autofree char *found_key = NULL;
  gint i;

  if (!index_is_current (self))
    index_build (self);
  i = index_find (self, key);
  if (i < 0)
    return -1;
  found_key = bkt_manifest_node_key (self->kind, json_array_get_element (self->entries, (guint) i));
  if (g_strcmp0 (found_key, key) == 0)
    return i;
  index_build (self);  /* an element's key changed in place */
  return index_find (self, key);
}

JsonObject *
bkt_manifest_lookup (BktManifest *self, const char *key)
{
  JsonNode *node;
  gint i;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  i = find_entry (self, key);
  if (i < 0)
    return NULL;
  node = json_array_get_element (self->entries, (guint) i);
  return JSON_NODE_TYPE (node) == JSON_NODE_OBJECT ? json_node_get_object (node) : NULL;
}

JsonNode *
bkt_manifest_lookup_node (BktManifest *self, const char *key)
{
  gint i;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  i = find_entry (self, key);
  return i < 0 ? NULL : json_array_get_element (self->entries, (guint) i);
}

/* An extension entry that the bare string says all of. */
static gboolean
extension_entry_is_plain (JsonObject *entry)
{
  JsonNode *enabled = json_object_get_member (entry, "enabled");
  guint n = json_object_get_size (entry);

  if (enabled != NULL && (!node_is (enabled, JSON_NODE_VALUE, G_TYPE_BOOLEAN) || !json_node_get_boolean (enabled)))
    return FALSE;
  return n == (enabled != NULL ? 2u : 1u) && get_string (entry, "uuid") != NULL;
}

void
bkt_manifest_upsert (BktManifest *self, JsonObject *entry)
{
  g_autofree char *key = NULL;
  g_autoptr(JsonObject) merged = NULL;
  gint i;

  g_return_if_fail (BKT_IS_MANIFEST (self));
  g_return_if_fail (entry != NULL);

  key = bkt_manifest_entry_key (self->kind, entry);
  g_return_if_fail (key != NULL);

  i = find_entry (self, key);
  if (i < 0)
    {
      guint n = json_array_get_length (self->entries);

      if ((self->kind == BKT_MANIFEST_GNOME_EXTENSIONS && extension_entry_is_plain (entry))
          || is_package_kind (self->kind))
        json_array_add_string_element (self->entries, key);
      else
        /* Copied so the caller's object stays theirs to change. */
        json_array_add_object_element (self->entries, bkt_json_object_deep_copy (entry));
      /* The index (current: find_entry just checked it) gains the new
       * entry, so upserting N entries is not N rebuilds. */
      g_ptr_array_add (self->index_nodes, json_node_ref (json_array_get_element (self->entries, n)));
      g_hash_table_insert (self->index, g_steal_pointer (&key), GUINT_TO_POINTER (n + 1));
      return;
    }
  if (is_bare_entry (self->kind, json_array_get_element (self->entries, (guint) i)))
    {
      JsonNode *node = json_array_get_element (self->entries, (guint) i);

      g_autoptr(GPtrArray) nodes = NULL;
      guint n = json_array_get_length (self->entries);

      /* A package is its name: nothing else to record. */
      if (is_package_kind (self->kind) || extension_entry_is_plain (entry))
        return;
      /* A string node cannot become an object node in place (it may be
       * shared): rebuild the array with a new node at the same index,
       * keeping the JsonArray itself as get_entries() handed it out. */
      nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
      for (guint k = 0; k < n; k++)
        g_ptr_array_add (nodes, json_node_ref (json_array_get_element (self->entries, k)));
      while (json_array_get_length (self->entries) > 0)
        json_array_remove_element (self->entries, json_array_get_length (self->entries) - 1);
      for (guint k = 0; k < n; k++)
        {
          if (k == (guint) i)
            json_array_add_object_element (self->entries, bkt_json_object_deep_copy (entry));
          else
            json_array_add_element (self->entries, json_node_ref (g_ptr_array_index (nodes, k)));
        }
      index_drop (self);  /* a new node at @i */
      (void) node;
      return;
    }

  {
    JsonObject *old = json_array_get_object_element (self->entries, (guint) i);
    g_autoptr(GList) old_names = json_object_get_members (old);
    g_autoptr(GList) new_names = json_object_get_members (entry);

    /* Keep the old member order so a rewrite of the file changes as few
     * lines as possible: old members in place (new value if @entry sets
     * it, old value if unknown to us, dropped if a known member @entry
     * leaves out), then whatever @entry adds. */
    merged = json_object_new ();
    for (GList *l = old_names; l != NULL; l = l->next)
      {
        const char *name = l->data;
        JsonNode *value = json_object_get_member (entry, name);

        if (value != NULL)
          json_object_set_member (merged, name, bkt_json_node_deep_copy (value));
        else if (!is_known_member (self->kind, name))
          json_object_set_member (merged, name, bkt_json_node_deep_copy (json_object_get_member (old, name)));
      }
    for (GList *l = new_names; l != NULL; l = l->next)
      if (!json_object_has_member (merged, l->data))
        json_object_set_member (merged, l->data, bkt_json_node_deep_copy (json_object_get_member (entry, l->data)));
  }

  /* JsonArray has no replace: swap the element in place through its
   * node so the entry keeps its position (and the index stays true: same
   * node, same key). */
  json_node_set_object (json_array_get_element (self->entries, (guint) i), merged);
}

gboolean
bkt_manifest_remove (BktManifest *self, const char *key)
{
  gint i;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  i = find_entry (self, key);
  if (i < 0)
    return FALSE;
  json_array_remove_element (self->entries, (guint) i);
  index_drop (self);
  return TRUE;
}

/* Secondary lists                                                      */

static JsonArray *
secondary_list (BktManifest *self, const char *member, gboolean create)
{
  JsonObject *root = json_node_get_object (self->root);
  JsonNode *node = json_object_get_member (root, member);

  if (node != NULL && JSON_NODE_TYPE (node) == JSON_NODE_ARRAY)
    return json_node_get_array (node);
  if (!create)
    return NULL;
  json_object_set_array_member (root, member, json_array_new ());
  return json_object_get_array_member (root, member);
}

static gint
find_named (JsonArray *list, const char *name)
{
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonNode *n = json_array_get_element (list, i);
      if (JSON_NODE_TYPE (n) == JSON_NODE_OBJECT
          && g_strcmp0 (get_string (json_node_get_object (n), "name"), name) == 0)
        return (gint) i;
    }
  return -1;
}

JsonArray *
bkt_manifest_get_list (BktManifest *self, const char *member)
{
  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);
  return secondary_list (self, member, FALSE);
}

JsonObject *
bkt_manifest_lookup_in (BktManifest *self, const char *member, const char *name)
{
  JsonArray *list;
  gint i;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);
  list = secondary_list (self, member, FALSE);
  i = find_named (list, name);
  return i < 0 ? NULL : json_array_get_object_element (list, (guint) i);
}

void
bkt_manifest_upsert_in (BktManifest *self, const char *member, JsonObject *entry)
{
  const char *name;
  JsonArray *list;
  gint i;

  g_return_if_fail (BKT_IS_MANIFEST (self));
  name = get_string (entry, "name");
  g_return_if_fail (name != NULL);
  list = secondary_list (self, member, TRUE);
  i = find_named (list, name);
  if (i < 0)
    {
      json_array_add_object_element (list, bkt_json_object_deep_copy (entry));
      return;
    }
  {
    JsonObject *old = json_array_get_object_element (list, (guint) i);
    g_autoptr(GList) names = json_object_get_members (entry);
    g_autoptr(JsonObject) merged = bkt_json_object_deep_copy (old);

    /* Members @entry sets replace the old ones in their place; the others
     * (unknown to us) stay. */
    for (GList *l = names; l != NULL; l = l->next)
      json_object_set_member (merged, l->data, bkt_json_node_deep_copy (json_object_get_member (entry, l->data)));
    json_node_set_object (json_array_get_element (list, (guint) i), merged);
  }
}

gboolean
bkt_manifest_remove_in (BktManifest *self, const char *member, const char *name)
{
  JsonArray *list;
  gint i;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), FALSE);
  list = secondary_list (self, member, FALSE);
  i = find_named (list, name);
  if (i < 0)
    return FALSE;
  json_array_remove_element (list, (guint) i);
  return TRUE;
}

void
bkt_manifest_apply_edit (BktManifest *self, const char *action, const char *member,
                         JsonObject *entry, const char *key)
{
  g_return_if_fail (BKT_IS_MANIFEST (self));

  if (g_strcmp0 (action, "record") == 0 && entry != NULL)
    {
      /* The caller's entry (often a sealed plan's) stays theirs. */
      g_autoptr(JsonObject) copy = bkt_json_object_deep_copy (entry);

      if (member != NULL)
        bkt_manifest_upsert_in (self, member, copy);
      else
        bkt_manifest_upsert (self, copy);
    }
  else if (key != NULL)
    {
      if (member != NULL)
        bkt_manifest_remove_in (self, member, key);
      else
        bkt_manifest_remove (self, key);
    }
}

typedef struct
{
  char *key;
  JsonNode *node;
} SortItem;

/* Natural order (org.x.App2 before org.x.App10): the plan, status and
 * progress follow the view's order, and people count that way. */
static gint
compare_items (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return bkt_text_natural_compare (((const SortItem *) a)->key, ((const SortItem *) b)->key);
}

void
bkt_manifest_sort (BktManifest *self)
{
  guint n;
  g_autofree SortItem *items = NULL;

  g_return_if_fail (BKT_IS_MANIFEST (self));

  n = json_array_get_length (self->entries);
  if (n < 2)
    return;
  items = g_new0 (SortItem, n);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (self->entries, i);

      items[i].node = json_node_ref (node);
      items[i].key = bkt_manifest_node_key (self->kind, node);
    }

  /* Stable, so entries with equal keys (only possible through direct
   * edits of the array) keep their relative order. */
  g_qsort_with_data (items, (gint) n, sizeof (SortItem), compare_items, NULL);

  /* Rebuild in place rather than swapping in a new array, so a JsonArray
   * pointer obtained from get_entries() stays valid. */
  while (json_array_get_length (self->entries) > 0)
    json_array_remove_element (self->entries, json_array_get_length (self->entries) - 1);
  for (guint i = 0; i < n; i++)
    {
      json_array_add_element (self->entries, items[i].node);
      g_free (items[i].key);
    }
  index_drop (self);
}

/* The file's bytes with the edits of both lists (the kind's and, for
 * package manifests, copr_repos) made in place: copr_repos first, against
 * the file; then the kind's list against that result.  NULL if either
 * pass cannot keep the file's layout. */
static char *
to_data_preserving (BktManifest *self, gsize *length)
{
  const char *list = kind_info[self->kind].list_member;
  JsonNode *coprs = is_package_kind (self->kind)
                    ? json_object_get_member (json_node_get_object (self->root), BKT_MANIFEST_COPR_MEMBER) : NULL;
  g_autofree char *first = NULL;
  BktManifestView view;
  gsize len = 0;

  if (self->doc == NULL || bkt_json_doc_get_root (self->doc) != self->root)
    return NULL;
  view.kind = self->kind;
  view.filename = bkt_json_doc_get_filename (self->doc);
  view.data = bkt_json_doc_get_data (self->doc, &view.length);
  view.root = self->root;
  if (coprs != NULL && JSON_NODE_TYPE (coprs) == JSON_NODE_ARRAY)
    {
      view.list = BKT_MANIFEST_COPR_MEMBER;
      view.entries = json_node_get_array (coprs);
      view.other = list;
      first = bkt_manifest_view_to_data_preserving (&view, &len);
      if (first == NULL)
        return NULL;
      view.data = first;
      view.length = len;
    }
  view.list = list;
  view.entries = self->entries;
  /* Pass 1 wrote copr_repos, in the file's order rather than memory's. */
  view.other = first != NULL ? BKT_MANIFEST_COPR_MEMBER : NULL;
  return bkt_manifest_view_to_data_preserving (&view, length);
}

char *
bkt_manifest_to_data (BktManifest *self, gsize *length)
{
  gsize len = 0;
  char *data;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), NULL);

  data = to_data_preserving (self, &len);
  if (data == NULL)
    data = bkt_json_to_document (self->root, &len);
  if (length != NULL)
    *length = len;
  return data;
}

static gboolean
write_all (int fd, const char *data, gsize length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      length -= (gsize) n;
    }
  return TRUE;
}

static gboolean
save_failed (GError **error, const char *what, const char *path, int saved_errno)
{
  g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "Cannot %s %s: %s",
               what, path, g_strerror (saved_errno));
  return FALSE;
}

gboolean
bkt_manifest_save (BktManifest *self, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *tmp_path = NULL;
  gsize length;
  int fd;
  int saved_errno;

  g_return_val_if_fail (BKT_IS_MANIFEST (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  data = bkt_manifest_to_data (self, &length);

  /* The user overlay may not exist yet; it holds the user's own
   * configuration, hence private. */
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) < 0)
    return save_failed (error, "create directory", dir, errno);

  /* Same directory as the target, so the rename cannot cross file
   * systems and either the old or the new file is there, never half. */
  tmp_path = g_strdup_printf ("%s.XXXXXX", path);
  fd = g_mkstemp_full (tmp_path, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    return save_failed (error, "create a temporary file for", path, errno);

  /* g_mkstemp_full()'s mode is filtered by the umask; manifests are
   * meant to be readable by the system instance and other tools. */
  if (fchmod (fd, 0644) < 0 ||
      !write_all (fd, data, length) ||
      fsync (fd) < 0)
    {
      saved_errno = errno;
      (void) close (fd);
      (void) g_unlink (tmp_path);
      return save_failed (error, "write", tmp_path, saved_errno);
    }
  if (close (fd) < 0)
    {
      saved_errno = errno;
      (void) g_unlink (tmp_path);
      return save_failed (error, "write", tmp_path, saved_errno);
    }
  if (g_rename (tmp_path, path) < 0)
    {
      saved_errno = errno;
      (void) g_unlink (tmp_path);
      return save_failed (error, "replace", path, saved_errno);
    }

  /* Make the rename itself durable; failing here loses nothing the
   * caller could act on, so it is not an error. */
  fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      (void) fsync (fd);
      (void) close (fd);
    }

  return TRUE;
}
