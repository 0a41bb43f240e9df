/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "bkt-base.h"
#include "bkt-changelog.h"
#include "bkt-changelog-gen.h"
#include "bkt-error.h"
#include "bkt-git.h"
#include "bkt-json.h"
#include "bkt-manifest.h"

#define UPSTREAM_FILE "upstream/manifest.json"
#define BASE_PATH "manifests/" BKT_BASE_FILE
/* Files read into memory whole: far more than any real manifest. */
#define MAX_FILE (4 * 1024 * 1024)

typedef struct {
  JsonArray  *entries;   /* borrowed: the result's */
  GHashTable *covered;   /* "category\nmessage" of pending entries */
  GHashTable *seen;      /* the same for entries generated already */
  guint       n_covered;
} Gen;

static void
emit (Gen *g, const char *source, const char *type, const char *category, const char *format, ...)
  G_GNUC_PRINTF (5, 6);

static void
emit (Gen *g, const char *source, const char *type, const char *category, const char *format, ...)
{
  va_list ap;
  g_autofree char *message = NULL;
  g_autofree char *key = NULL;
  JsonObject *e;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  key = g_strdup_printf ("%s\n%s", category, message);
  if (g_hash_table_contains (g->covered, key))
    {
      g->n_covered++;
      return;
    }
  if (!g_hash_table_add (g->seen, g_steal_pointer (&key)))
    return;
  e = json_object_new ();
  json_object_set_string_member (e, "type", type);
  json_object_set_string_member (e, "category", category);
  json_object_set_string_member (e, "message", message);
  json_object_set_string_member (e, "source", source);
  json_array_add_object_element (g->entries, e);
}

/* Pending entries cover what they say.  A punned dnf change names all its
 * packages in one message ("add dnf htop btop"): it covers each of them. */
static GHashTable *
covered_set (GPtrArray *pending)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < pending->len; i++)
    {
      const char *category = json_object_get_string_member (pending->pdata[i], "category");
      const char *message = json_object_get_string_member (pending->pdata[i], "message");

      g_hash_table_add (set, g_strdup_printf ("%s\n%s", category, message));
      if (g_str_equal (category, "dnf") || g_str_equal (category, "toolbox"))
        {
          g_auto(GStrv) words = g_strsplit (message, " ", -1);
          if (g_strv_length (words) > 3 && g_str_equal (words[1], category))
            for (guint w = 2; words[w] != NULL; w++)
              g_hash_table_add (set, g_strdup_printf ("%s\n%s %s %s", category, words[0], category, words[w]));
        }
    }
  return set;
}

/* ---- the two sides of a file ---------------------------------------------------------- */

typedef struct {
  GBytes *old_data;   /* NULL: not in the base revision */
  char   *old_name;   /* "REV:PATH", for errors */
  char   *new_path;   /* in the working tree */
  char   *display;    /* "manifests/FILE.json" */
} Side;

static void
side_clear (Side *s)
{
  g_clear_pointer (&s->old_data, g_bytes_unref);
  g_clear_pointer (&s->old_name, g_free);
  g_clear_pointer (&s->new_path, g_free);
  g_clear_pointer (&s->display, g_free);
}

/* The working tree's file: NULL with no error when it does not exist. */
static char *
read_new (const char *path, const char *display, gsize *length, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  char *data = NULL;

  if (!g_file_get_contents (path, &data, length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: %s", display, local_error->message);
      return NULL;
    }
  if (*length > MAX_FILE)
    {
      g_free (data);
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s:1:1: too large", display);
      return NULL;
    }
  return data;
}

/* ---- manifests -------------------------------------------------------------------------- */

static BktManifest *
load_old_manifest (BktManifestKind kind, Side *s, GError **error)
{
  gsize len;
  const char *data;

  if (s->old_data == NULL)
    return bkt_manifest_new_empty (kind);
  data = g_bytes_get_data (s->old_data, &len);
  return bkt_manifest_load_data (kind, s->old_name, data, (gssize) len, error);
}

/* Both sides' bytes: @old_data NULL if the revision lacks the file,
 * @new_data NULL if the working tree does. */
static gboolean
read_sides (Side *s, const char **old_data, gsize *old_len, char **new_data, gsize *new_len, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  *old_len = 0;
  *old_data = s->old_data != NULL ? g_bytes_get_data (s->old_data, old_len) : NULL;
  *new_len = 0;
  *new_data = read_new (s->new_path, s->display, new_len, &local_error);
  if (local_error != NULL)
    return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
  return TRUE;
}

static BktManifest *
load_new_manifest (BktManifestKind kind, Side *s, GError **error)
{
  g_autofree char *data = NULL;
  const char *old_data;
  gsize old_len, len;

  if (!read_sides (s, &old_data, &old_len, &data, &len, error))
    return NULL;
  if (data == NULL)
    return bkt_manifest_new_empty (kind);
  return bkt_manifest_load_data (kind, s->display, data, (gssize) len, error);
}

/* Entries compared as what they mean: a bare extension uuid is
 * {"uuid": U}, and comments are notes, not changes. */
static gboolean
entries_differ (BktManifestKind kind, JsonNode *a, JsonNode *b)
{
  g_autoptr(JsonObject) oa = bkt_manifest_node_to_object (kind, a);
  g_autoptr(JsonObject) ob = bkt_manifest_node_to_object (kind, b);
  g_autoptr(JsonObject) ca = NULL;
  g_autoptr(JsonObject) cb = NULL;
  g_autoptr(JsonNode) na = NULL;
  g_autoptr(JsonNode) nb = NULL;

  if (oa == NULL || ob == NULL)
    return !json_node_equal (a, b);
  ca = bkt_json_object_deep_copy (oa);
  cb = bkt_json_object_deep_copy (ob);
  json_object_remove_member (ca, "comment");
  json_object_remove_member (cb, "comment");
  na = json_node_init_object (json_node_alloc (), ca);
  nb = json_node_init_object (json_node_alloc (), cb);
  return !json_node_equal (na, nb);
}

static gboolean
extension_enabled (JsonNode *node)
{
  g_autoptr(JsonObject) o = bkt_manifest_node_to_object (BKT_MANIFEST_GNOME_EXTENSIONS, node);

  return o == NULL || json_object_get_boolean_member_with_default (o, "enabled", TRUE);
}

/* What the punned command of @kind is called and its noun ("flatpak
 * remote"), for messages like the punned drafts'. */
static void
kind_words (BktManifestKind kind, const char **category, const char **noun)
{
  switch (kind)
    {
    case BKT_MANIFEST_FLATPAK_REMOTES: *category = "flatpak"; *noun = "flatpak remote"; break;
    case BKT_MANIFEST_FLATPAK_APPS: *category = "flatpak"; *noun = "flatpak"; break;
    case BKT_MANIFEST_GSETTINGS: *category = "gsetting"; *noun = "gsetting"; break;
    case BKT_MANIFEST_GNOME_EXTENSIONS: *category = "extension"; *noun = "extension"; break;
    case BKT_MANIFEST_HOST_SHIMS: *category = "shim"; *noun = "shim"; break;
    case BKT_MANIFEST_SYSTEM_PACKAGES: *category = "dnf"; *noun = "dnf"; break;
    case BKT_MANIFEST_TOOLBOX_PACKAGES: *category = "toolbox"; *noun = "toolbox"; break;
    case BKT_MANIFEST_N_KINDS:
    default: *category = "other"; *noun = "entry"; break;
    }
}

static void
diff_entry (Gen *g, BktManifestKind kind, const char *source, const char *key, JsonNode *old, JsonNode *new)
{
  const char *category, *noun;
  gboolean gs = kind == BKT_MANIFEST_GSETTINGS;

  kind_words (kind, &category, &noun);
  if (old == NULL)
    emit (g, source, "added", category, "%s %s %s", gs ? "set" : "add", noun, key);
  else if (new == NULL)
    emit (g, source, "removed", category, "%s %s %s", gs ? "unset" : "remove", noun, key);
  else if (!entries_differ (kind, old, new))
    return;
  else if (kind == BKT_MANIFEST_GNOME_EXTENSIONS && extension_enabled (old) != extension_enabled (new))
    emit (g, source, "changed", category, "%s %s %s", extension_enabled (new) ? "enable" : "disable", noun, key);
  else
    emit (g, source, "changed", category, "%s %s %s", gs ? "set" : "change", noun, key);
}

/* Keys of a list of strings or of objects with a string @key_member. */
static char *
list_key (JsonNode *n, const char *key_member)
{
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (n));
  if (key_member != NULL && JSON_NODE_HOLDS_OBJECT (n))
    {
      const char *k = bkt_json_object_get_string (json_node_get_object (n), key_member);
      return g_strdup (k);
    }
  return NULL;
}

/* Added, removed and changed elements of two lists keyed by @key (@key_of
 * gives an element's key, NULL to skip it); @describe words one. */
typedef void (*DescribeFunc) (Gen *g, const char *source, const char *key, JsonNode *old, JsonNode *new,
                              gpointer data);

static void
diff_lists (Gen *g, const char *source, JsonArray *old, JsonArray *new,
            char *(*key_of) (JsonNode *, gpointer), gpointer key_data, DescribeFunc describe, gpointer data)
{
  g_autoptr(GHashTable) old_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) new_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; old != NULL && i < json_array_get_length (old); i++)
    {
      JsonNode *n = json_array_get_element (old, i);
      char *k = key_of (n, key_data);
      if (k != NULL)
        g_hash_table_insert (old_by_key, k, n);
    }
  /* new and changed in the new file's order, then removed in the old's */
  for (guint i = 0; new != NULL && i < json_array_get_length (new); i++)
    {
      JsonNode *n = json_array_get_element (new, i);
      g_autofree char *k = key_of (n, key_data);
      if (k == NULL)
        continue;
      describe (g, source, k, g_hash_table_lookup (old_by_key, k), n, data);
      g_hash_table_add (new_keys, g_steal_pointer (&k));
    }
  for (guint i = 0; old != NULL && i < json_array_get_length (old); i++)
    {
      JsonNode *n = json_array_get_element (old, i);
      g_autofree char *k = key_of (n, key_data);
      if (k != NULL && !g_hash_table_contains (new_keys, k))
        {
          describe (g, source, k, n, NULL, data);
          g_hash_table_add (new_keys, g_steal_pointer (&k));   /* a duplicate is reported once */
        }
    }
}

static char *
manifest_key_of (JsonNode *n, gpointer data)
{
  return bkt_manifest_node_key (GPOINTER_TO_INT (data), n);
}

static void
describe_manifest_entry (Gen *g, const char *source, const char *key, JsonNode *old, JsonNode *new, gpointer data)
{
  diff_entry (g, GPOINTER_TO_INT (data), source, key, old, new);
}

static char *
member_key_of (JsonNode *n, gpointer data)
{
  return list_key (n, data);
}

typedef struct {
  const char *category;
  const char *noun;   /* "dnf group" */
} ExtraWords;

/* groups, excluded, copr_repos of the package manifests */
static void
describe_extra (Gen *g, const char *source, const char *key, JsonNode *old, JsonNode *new, gpointer data)
{
  ExtraWords *w = data;

  if (old == NULL)
    emit (g, source, "added", w->category, "add %s %s", w->noun, key);
  else if (new == NULL)
    emit (g, source, "removed", w->category, "remove %s %s", w->noun, key);
  else if (!json_node_equal (old, new))
    {
      gboolean was = JSON_NODE_HOLDS_OBJECT (old)
                     && json_object_get_boolean_member_with_default (json_node_get_object (old), "enabled", TRUE);
      gboolean is = JSON_NODE_HOLDS_OBJECT (new)
                    && json_object_get_boolean_member_with_default (json_node_get_object (new), "enabled", TRUE);
      emit (g, source, "changed", w->category, "%s %s %s", was == is ? "change" : is ? "enable" : "disable",
            w->noun, key);
    }
}

static JsonArray *
root_array (BktManifest *m, const char *member)
{
  BktJsonDoc *doc = bkt_manifest_get_doc (m);
  JsonNode *root = doc != NULL ? bkt_json_doc_get_root (doc) : NULL;
  JsonNode *n = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
                ? json_object_get_member (json_node_get_object (root), member) : NULL;

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static gboolean
diff_manifest (Gen *g, BktManifestKind kind, Side *s, GError **error)
{
  g_autoptr(BktManifest) old = load_old_manifest (kind, s, error);
  g_autoptr(BktManifest) new = NULL;

  if (old == NULL || (new = load_new_manifest (kind, s, error)) == NULL)
    return FALSE;
  diff_lists (g, s->display, bkt_manifest_get_entries (old), bkt_manifest_get_entries (new),
              manifest_key_of, GINT_TO_POINTER (kind), describe_manifest_entry, GINT_TO_POINTER (kind));
  if (kind == BKT_MANIFEST_SYSTEM_PACKAGES || kind == BKT_MANIFEST_TOOLBOX_PACKAGES)
    {
      const char *category = kind == BKT_MANIFEST_SYSTEM_PACKAGES ? "dnf" : "toolbox";
      g_autofree char *group = g_strdup_printf ("%s group", category);
      g_autofree char *excluded = g_strdup_printf ("%s excluded", category);
      g_autofree char *copr = g_strdup_printf ("%s copr", category);
      ExtraWords wg = { category, group }, we = { category, excluded }, wc = { category, copr };

      diff_lists (g, s->display, root_array (old, "groups"), root_array (new, "groups"),
                  member_key_of, NULL, describe_extra, &wg);
      diff_lists (g, s->display, root_array (old, "excluded"), root_array (new, "excluded"),
                  member_key_of, NULL, describe_extra, &we);
      diff_lists (g, s->display, root_array (old, "copr_repos"), root_array (new, "copr_repos"),
                  member_key_of, (gpointer) "name", describe_extra, &wc);
    }
  return TRUE;
}

/* ---- base image assumptions ------------------------------------------------------------- */

static void
describe_assumption (Gen *g, const char *source, const char *key, JsonNode *old, JsonNode *new, gpointer data)
{
  const char *what = data;   /* NULL: a package */
  const char *reason = new != NULL && JSON_NODE_HOLDS_OBJECT (new)
                       ? bkt_json_object_get_string (json_node_get_object (new), "reason") : NULL;
  g_autofree char *message = NULL;

  /* a changed reason is the maintainers' note, not a change of the image */
  if (old != NULL && new != NULL)
    return;
  message = bkt_base_change_message (what, key, reason, new == NULL);
  emit (g, source, new == NULL ? "removed" : "added", "base", "%s", message);
}

static JsonArray *
object_array (JsonObject *o, const char *member)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, member) : NULL;

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static gboolean
diff_base (Gen *g, Side *s, GError **error)
{
  g_autoptr(JsonObject) old = NULL;
  g_autoptr(JsonObject) new = NULL;
  g_autofree char *data = NULL;
  const char *old_data;
  gsize old_len, len;

  if (!read_sides (s, &old_data, &old_len, &data, &len, error))
    return FALSE;
  if (old_data != NULL && (old = bkt_base_load_data (s->old_name, old_data, old_len, error)) == NULL)
    return FALSE;
  if (data != NULL && (new = bkt_base_load_data (s->display, data, len, error)) == NULL)
    return FALSE;
  if (old != NULL && new != NULL)
    {
      const char *a = bkt_json_object_get_string (json_object_get_object_member (old, "base_image"), "source");
      const char *b = bkt_json_object_get_string (json_object_get_object_member (new, "base_image"), "source");
      if (g_strcmp0 (a, b) != 0)
        emit (g, s->display, "changed", "base", "Base image %s (was %s)", b, a);
    }
  diff_lists (g, s->display, object_array (old, "packages"), object_array (new, "packages"),
              member_key_of, (gpointer) "name", describe_assumption, NULL);
  diff_lists (g, s->display, object_array (old, "services"), object_array (new, "services"),
              member_key_of, NULL, describe_assumption, (gpointer) "service");
  diff_lists (g, s->display, object_array (old, "paths"), object_array (new, "paths"),
              member_key_of, NULL, describe_assumption, (gpointer) "path");
  return TRUE;
}

/* ---- upstream pins ------------------------------------------------------------------------ */

/* upstream/manifest.json {"upstreams": [{name, source, pinned{version, ...}, policy?, install?}]}:
 * only what generate needs is checked here (names, and a pinned version
 * that is a string). */
static BktJsonDoc *
load_upstreams (const char *display, const char *data, gsize len, JsonArray **list, GError **error)
{
  g_autoptr(BktJsonDoc) doc = bkt_json_doc_parse (display, data, (gssize) len, error);
  JsonNode *root, *n;

  if (doc == NULL)
    return NULL;
  root = bkt_json_doc_get_root (doc);
  n = JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), "upstreams") : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return bkt_json_doc_error_at (doc, n != NULL ? n : root, error, "expected {\"upstreams\": [...]}"), NULL;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (n)); i++)
    {
      JsonNode *e = json_array_get_element (json_node_get_array (n), i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      JsonNode *pinned = o != NULL ? json_object_get_member (o, "pinned") : NULL;
      JsonNode *v = pinned != NULL && JSON_NODE_HOLDS_OBJECT (pinned)
                    ? json_object_get_member (json_node_get_object (pinned), "version") : NULL;

      if (o == NULL || bkt_json_object_get_string (o, "name") == NULL || *bkt_json_object_get_string (o, "name") == '\0')
        return bkt_json_doc_error_at (doc, e, error, "an upstream needs a \"name\" string"), NULL;
      if (pinned != NULL && !JSON_NODE_HOLDS_OBJECT (pinned))
        return bkt_json_doc_error_at (doc, pinned, error, "\"pinned\" must be an object"), NULL;
      if (v != NULL && (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING))
        return bkt_json_doc_error_at (doc, v, error, "\"version\" must be a string"), NULL;
    }
  *list = json_node_get_array (n);
  return g_steal_pointer (&doc);
}

static const char *
pinned_version (JsonNode *n)
{
  JsonObject *o = json_node_get_object (n);
  JsonNode *p = json_object_get_member (o, "pinned");

  return p != NULL ? bkt_json_object_get_string (json_node_get_object (p), "version") : NULL;
}

static void
describe_upstream (Gen *g, const char *source, const char *key, JsonNode *old, JsonNode *new, gpointer data)
{
  const char *ov = old != NULL ? pinned_version (old) : NULL;
  const char *nv = new != NULL ? pinned_version (new) : NULL;

  /* Worded as `bkt upstream add|remove|update` word their entries
   * (client/commands/upstream.c), so that theirs cover these. */
  if (old == NULL)
    {
      JsonNode *src = json_object_get_member (json_node_get_object (new), "source");
      const char *from = src != NULL && JSON_NODE_HOLDS_OBJECT (src)
                         ? bkt_json_object_get_string (json_node_get_object (src), "repo") : NULL;
      if (from == NULL && src != NULL && JSON_NODE_HOLDS_OBJECT (src))
        from = bkt_json_object_get_string (json_node_get_object (src), "url");
      emit (g, source, "added", "upstream", "Add upstream %s (%s) at %s", key, from ? from : "?",
            nv ? nv : "unpinned");
    }
  else if (new == NULL)
    emit (g, source, "removed", "upstream", "Remove upstream %s", key);
  else if (g_strcmp0 (ov, nv) != 0)
    emit (g, source, "changed", "upstream", "Update %s from %s to %s", key, ov ? ov : "unpinned",
          nv ? nv : "unpinned");
  else if (!json_node_equal (old, new))
    emit (g, source, "changed", "upstream", "Change upstream %s", key);
}

static gboolean
diff_upstream (Gen *g, Side *s, GError **error)
{
  g_autoptr(BktJsonDoc) old = NULL;
  g_autoptr(BktJsonDoc) new = NULL;
  g_autofree char *data = NULL;
  JsonArray *old_list = NULL, *new_list = NULL;
  const char *old_data;
  gsize old_len, len;

  if (!read_sides (s, &old_data, &old_len, &data, &len, error))
    return FALSE;
  if (old_data != NULL && (old = load_upstreams (s->old_name, old_data, old_len, &old_list, error)) == NULL)
    return FALSE;
  if (data != NULL && (new = load_upstreams (s->display, data, len, &new_list, error)) == NULL)
    return FALSE;
  diff_lists (g, s->display, old_list, new_list, member_key_of, (gpointer) "name", describe_upstream, NULL);
  return TRUE;
}

/* ---- the whole ------------------------------------------------------------------------------ */

JsonObject *
bkt_changelog_generate (const char *repo_dir, const char *ref, GError **error)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) old_files = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  g_autoptr(GHashTable) covered = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(JsonObject) result = json_object_new ();
  g_autofree char *described = NULL;
  g_autofree char *rev_name = NULL;
  JsonArray *entries = json_array_new ();
  Gen g = { entries, NULL, seen, 0 };
  guint n_files;

  json_object_set_array_member (result, "entries", entries);
  /* A malformed pending entry is an error before anything is compared:
   * what is covered must be known. */
  pending = bkt_changelog_load_pending (repo_dir, error);
  if (pending == NULL)
    return NULL;
  covered = covered_set (pending);
  g.covered = covered;
  for (guint k = 0; k < BKT_MANIFEST_N_KINDS; k++)
    g_ptr_array_add (paths, g_strconcat ("manifests/", bkt_manifest_kind_file_name (k), NULL));
  g_ptr_array_add (paths, g_strdup (BASE_PATH));
  g_ptr_array_add (paths, g_strdup (UPSTREAM_FILE));
  n_files = paths->len;
  g_ptr_array_add (paths, NULL);
  old_files = bkt_git_read_files_at (repo_dir, ref, (const char *const *) paths->pdata, &described, error);
  if (old_files == NULL)
    return NULL;
  /* errors in the old side name it as git does: REV:PATH (the commit
   * abbreviated, in the parentheses of @described) */
  rev_name = ref != NULL ? g_strdup (ref) : g_strndup (strrchr (described, '(') + 1, 12);
  for (guint i = 0; i < n_files; i++)
    {
      const char *rel = paths->pdata[i];
      Side s = { NULL, NULL, NULL, NULL };
      GBytes *b = g_hash_table_lookup (old_files, rel);
      gboolean ok;

      if (b != NULL && g_bytes_get_size (b) > MAX_FILE)
        {
          g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s:%s:1:1: too large", rev_name, rel);
          return NULL;
        }
      s.old_data = b != NULL ? g_bytes_ref (b) : NULL;
      s.old_name = g_strdup_printf ("%s:%s", rev_name, rel);
      s.new_path = g_build_filename (repo_dir, rel, NULL);
      s.display = g_strdup (rel);
      if (i < BKT_MANIFEST_N_KINDS)
        ok = diff_manifest (&g, (BktManifestKind) i, &s, error);
      else if (g_str_equal (rel, BASE_PATH))
        ok = diff_base (&g, &s, error);
      else
        ok = diff_upstream (&g, &s, error);
      side_clear (&s);
      if (!ok)
        return NULL;
    }
  json_object_set_string_member (result, "base", described);
  json_object_set_int_member (result, "covered", g.n_covered);
  return g_steal_pointer (&result);
}

GStrv
bkt_changelog_generate_write (const char *repo_dir, JsonObject *result, GError **error)
{
  JsonArray *entries = json_object_get_array_member (result, "entries");
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      g_autoptr(JsonObject) draft = json_object_new ();
      char *path;

      json_object_set_string_member (draft, "type", json_object_get_string_member (e, "type"));
      json_object_set_string_member (draft, "category", json_object_get_string_member (e, "category"));
      json_object_set_string_member (draft, "message", json_object_get_string_member (e, "message"));
      /* generated wording is a maintainer's to review, as a punned PR's */
      json_object_set_boolean_member (draft, "draft", TRUE);
      path = bkt_changelog_add (repo_dir, draft, error);
      if (path == NULL)
        {
          /* all or nothing: the drafts written so far go again */
          for (guint j = 0; j < written->len; j++)
            if (g_unlink (written->pdata[j]) != 0 && errno != ENOENT)
              g_warning ("could not remove %s: %s", (char *) written->pdata[j], g_strerror (errno));
          return NULL;
        }
      g_ptr_array_add (written, path);
    }
  g_ptr_array_add (written, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&written), FALSE);
}
