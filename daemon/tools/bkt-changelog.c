/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "bkt-changelog.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-json.h"

/* The order sections appear in a release: what a user must look at first. */
static const char *const entry_types[] = { "security", "added", "changed", "deprecated", "removed", "fixed", NULL };
static const char *const type_titles[] = { "Security", "Added", "Changed", "Deprecated", "Removed", "Fixed", NULL };

/* The subsystems a distribution repo has, plus catch-alls.  A closed list
 * so that a typo ("flatpack") fails review in CI instead of making a
 * section of its own. */
static const char *const entry_categories[] = {
  "flatpak", "gsetting", "extension", "shim", "dnf", "toolbox", "upstream", "base",
  "containerfile", "system", "bkt", "docs", "ci", "other", NULL
};

static const char *const entry_keys[] = {
  "timestamp", "type", "category", "message", "command", "pr", "draft", "manual_steps", NULL
};

/* ---- reading entries ---------------------------------------------------------------- */

static gboolean
fail_at (GError **error, const char *filename, guint line, const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail_at (GError **error, const char *filename, guint line, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s:%u: %s", filename, line, msg);
  return FALSE;
}

static guint
line_of (GHashTable *lines, const char *key)
{
  gpointer v = lines != NULL ? g_hash_table_lookup (lines, key) : NULL;

  return v != NULL ? GPOINTER_TO_UINT (v) : 1;
}

/* Check @raw (as read, either format) and build the canonical entry.
 * @lines maps each member name to the line it is on. */
static JsonObject *
canonical_entry (const char *filename, JsonObject *raw, GHashTable *lines, GError **error)
{
  g_autoptr(JsonObject) e = json_object_new ();
  g_autoptr(GList) members = json_object_get_members (raw);
  const char *required[] = { "timestamp", "type", "category", "message" };
  JsonNode *n;

  /* An optional member written as null (serde's None) is absent. */
  for (GList *l = members; l != NULL; l = l->next)
    if (JSON_NODE_HOLDS_NULL (json_object_get_member (raw, l->data))
        && g_strv_contains ((const char *const[]) { "command", "pr", "manual_steps", NULL }, l->data))
      json_object_remove_member (raw, l->data);
  g_clear_pointer (&members, g_list_free);
  members = json_object_get_members (raw);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (entry_keys, l->data))
      {
        fail_at (error, filename, line_of (lines, l->data), "unknown field “%s” (expected one of %s)",
                 (const char *) l->data, "timestamp, type, category, message, command, pr, draft, manual_steps");
        return NULL;
      }
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    {
      const char *k = required[i];
      const char *s;

      n = json_object_get_member (raw, k);
      if (n == NULL)
        {
          fail_at (error, filename, 1, "missing field “%s”", k);
          return NULL;
        }
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        {
          fail_at (error, filename, line_of (lines, k), "“%s” must be a string", k);
          return NULL;
        }
      s = json_node_get_string (n);
      if (*s == '\0' || strlen (s) > 4096)
        {
          fail_at (error, filename, line_of (lines, k), "“%s” must be 1 to 4096 characters", k);
          return NULL;
        }
      if (g_str_equal (k, "type") && !g_strv_contains (entry_types, s))
        {
          fail_at (error, filename, line_of (lines, k),
                   "unknown type “%s” (expected added, changed, removed, fixed, security or deprecated)", s);
          return NULL;
        }
      if (g_str_equal (k, "category") && !g_strv_contains (entry_categories, s))
        {
          g_autofree char *all = g_strjoinv (", ", (char **) entry_categories);
          fail_at (error, filename, line_of (lines, k), "unknown category “%s” (expected one of %s)", s, all);
          return NULL;
        }
      if (g_str_equal (k, "timestamp"))
        {
          g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
          g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (s, utc);
          if (dt == NULL)
            {
              fail_at (error, filename, line_of (lines, k), "“timestamp” is not an ISO 8601 date-time: “%s”", s);
              return NULL;
            }
        }
      json_object_set_string_member (e, k, s);
    }
  if ((n = json_object_get_member (raw, "command")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        return fail_at (error, filename, line_of (lines, "command"), "“command” must be a string"), NULL;
      json_object_set_string_member (e, "command", json_node_get_string (n));
    }
  if ((n = json_object_get_member (raw, "pr")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 || json_node_get_int (n) <= 0)
        return fail_at (error, filename, line_of (lines, "pr"), "“pr” must be a positive integer"), NULL;
      json_object_set_int_member (e, "pr", json_node_get_int (n));
    }
  n = json_object_get_member (raw, "draft");
  if (n != NULL && (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN))
    return fail_at (error, filename, line_of (lines, "draft"), "“draft” must be true or false"), NULL;
  json_object_set_boolean_member (e, "draft", n != NULL && json_node_get_boolean (n));
  if ((n = json_object_get_member (raw, "manual_steps")) != NULL)
    {
      JsonArray *a = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
      JsonArray *steps = json_array_new ();

      json_object_set_array_member (e, "manual_steps", steps);
      if (a == NULL)
        return fail_at (error, filename, line_of (lines, "manual_steps"),
                        "“manual_steps” must be a list of strings"), NULL;
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *s = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_VALUE (s) || json_node_get_value_type (s) != G_TYPE_STRING
              || *json_node_get_string (s) == '\0')
            return fail_at (error, filename, line_of (lines, "manual_steps") + (lines != NULL ? i + 1 : 0),
                            "a manual step must be a non-empty string"), NULL;
          json_array_add_string_element (steps, json_node_get_string (s));
        }
    }
  return g_steal_pointer (&e);
}

/* A YAML scalar in the subset: quoted strings, true/false, null, integers,
 * else a plain string.  Anything that would mean more in real YAML (flow
 * collections, anchors, tags, block scalars) is refused rather than read
 * differently from a YAML library. */
static JsonNode *
yaml_scalar (const char *filename, guint line, const char *text, GError **error)
{
  gsize len = strlen (text);

  if (text[0] == '"' || text[0] == '\'')
    {
      char q = text[0];
      g_autoptr(GString) s = g_string_new (NULL);
      gsize i = 1;

      for (; i < len; i++)
        {
          if (text[i] == q)
            {
              /* '' is a quote inside a single-quoted scalar */
              if (q == '\'' && text[i + 1] == '\'')
                {
                  g_string_append_c (s, q);
                  i++;
                  continue;
                }
              break;
            }
          if (q == '"' && text[i] == '\\' && i + 1 < len)
            {
              char c = text[++i];
              g_string_append_c (s, c == 'n' ? '\n' : c == 't' ? '\t' : c);
            }
          else
            g_string_append_c (s, text[i]);
        }
      if (i >= len || (i + 1 < len && text[i + 1] != ' ' && text[i + 1] != '#'))
        return fail_at (error, filename, line, "unterminated or malformed quoted string"), NULL;
      return json_node_init_string (json_node_alloc (), s->str);
    }
  if (strstr (text, " #") != NULL)
    {
      /* a comment after a plain scalar */
      g_autofree char *bare = g_strndup (text, strstr (text, " #") - text);
      return yaml_scalar (filename, line, g_strchomp (bare), error);
    }
  if (strchr ("[{&*!|>%@`", text[0]) != NULL)
    return fail_at (error, filename, line, "unsupported YAML (only plain or quoted scalars)"), NULL;
  if (g_str_equal (text, "true") || g_str_equal (text, "false"))
    return json_node_init_boolean (json_node_alloc (), g_str_equal (text, "true"));
  if (g_str_equal (text, "null") || g_str_equal (text, "~"))
    return json_node_init_null (json_node_alloc ());
  if (len <= 18 && text[strspn (text, "0123456789")] == '\0')
    return json_node_init_int (json_node_alloc (), g_ascii_strtoll (text, NULL, 10));
  return json_node_init_string (json_node_alloc (), text);
}

static JsonObject *
parse_yaml (const char *filename, const char *data, GHashTable *lines, GError **error)
{
  g_autoptr(JsonObject) o = json_object_new ();
  g_auto(GStrv) split = g_strsplit (data, "\n", -1);
  JsonArray *list = NULL;   /* the block list being read, owned by @o */

  for (guint i = 0; split[i] != NULL; i++)
    {
      guint line = i + 1;
      char *t = g_strchomp (split[i]);   /* also drops a CR */
      char *colon;
      g_autofree char *key = NULL;
      JsonNode *value;

      {
        const char *s = t + strspn (t, " ");
        if (*s == '\0' || *s == '#' || (i == 0 && g_str_equal (s, "---")))
          continue;
        if (strchr (t, '\t') != NULL && strspn (t, " \t") > strspn (t, " "))
          return fail_at (error, filename, line, "tabs are not allowed for indentation"), NULL;
        if (s[0] == '-' && (s[1] == ' ' || s[1] == '\0'))
          {
            g_autoptr(JsonNode) item = NULL;
            g_autofree char *text = g_strstrip (g_strdup (s + 1));
            if (list == NULL)
              return fail_at (error, filename, line, "a list item outside a list"), NULL;
            item = yaml_scalar (filename, line, text, error);
            if (item == NULL)
              return NULL;
            json_array_add_element (list, g_steal_pointer (&item));
            continue;
          }
        if (s != t)
          return fail_at (error, filename, line, "unexpected indentation (entries are a flat mapping)"), NULL;
      }
      colon = strchr (t, ':');
      if (colon == NULL || (colon[1] != ' ' && colon[1] != '\0'))
        return fail_at (error, filename, line, "expected “key: value”"), NULL;
      key = g_strndup (t, colon - t);
      if (key[0] == '\0' || key[strspn (key, "abcdefghijklmnopqrstuvwxyz_")] != '\0')
        return fail_at (error, filename, line, "invalid key “%s”", key), NULL;
      if (json_object_has_member (o, key))
        return fail_at (error, filename, line, "duplicate key “%s”", key), NULL;
      g_hash_table_insert (lines, g_strdup (key), GUINT_TO_POINTER (line));
      list = NULL;
      colon = g_strstrip (colon + 1);
      if (*colon == '\0' || *colon == '#')
        {
          /* An empty value starts a block list (manual_steps:). */
          list = json_array_new ();
          json_object_set_array_member (o, key, list);
          continue;
        }
      value = yaml_scalar (filename, line, colon, error);
      if (value == NULL)
        return NULL;
      json_object_set_member (o, key, value);
    }
  return g_steal_pointer (&o);
}

JsonObject *
bkt_changelog_parse_entry (const char *filename, const char *data, gsize length, gboolean is_yaml, GError **error)
{
  g_autoptr(GHashTable) lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(JsonObject) raw = NULL;
  g_autofree char *copy = NULL;

  if (length > BKT_CHANGELOG_MAX_FILE)
    return fail_at (error, filename, 1, "too large (%" G_GSIZE_FORMAT " bytes, at most %d)",
                    length, BKT_CHANGELOG_MAX_FILE), NULL;
  if (memchr (data, '\0', length) != NULL || !g_utf8_validate (data, length, NULL))
    return fail_at (error, filename, 1, "not UTF-8 text"), NULL;
  if (is_yaml)
    {
      copy = g_strndup (data, length);
      raw = parse_yaml (filename, copy, lines, error);
      if (raw == NULL)
        return NULL;
    }
  else
    {
      g_autoptr(BktJsonDoc) doc = bkt_json_doc_parse (filename, data, (gssize) length, error);
      JsonNode *root;
      JsonObjectIter it;
      const char *k;
      JsonNode *v;

      if (doc == NULL)
        return NULL;
      root = bkt_json_doc_get_root (doc);
      if (!JSON_NODE_HOLDS_OBJECT (root))
        return bkt_json_doc_error_at (doc, root, error, "a changelog entry must be an object"), NULL;
      raw = json_object_ref (json_node_get_object (root));
      json_object_iter_init (&it, raw);
      while (json_object_iter_next (&it, &k, &v))
        {
          const BktJsonSpan *span = bkt_json_doc_get_span (doc, v);
          g_hash_table_insert (lines, g_strdup (k), GUINT_TO_POINTER (span != NULL ? span->line : 1));
        }
    }
  return canonical_entry (filename, raw, lines, error);
}

/* Pending file names: a safe basename (no "/", no leading dot, no "..")
 * with a known extension. */
static gboolean
pending_name_ok (const char *name, gboolean *is_yaml)
{
  if (!g_ascii_isalnum (name[0]) || name[strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")] != '\0'
      || strstr (name, "..") != NULL || strlen (name) > 200)
    return FALSE;
  *is_yaml = g_str_has_suffix (name, ".yaml") || g_str_has_suffix (name, ".yml");
  return *is_yaml || g_str_has_suffix (name, ".json");
}

/* Read a regular file (never through a symbolic link) of bounded size. */
static gboolean
read_bounded (const char *path, const char *display, char **data, gsize *length, GError **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", display, g_strerror (e));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    return fail_at (error, display, 1, "not a regular file");
  if (st.st_size > BKT_CHANGELOG_MAX_FILE)
    return fail_at (error, display, 1, "too large (%lld bytes, at most %d)", (long long) st.st_size,
                    BKT_CHANGELOG_MAX_FILE);
  if (!g_file_get_contents (path, data, length, error))
    return FALSE;
  /* it may have grown since the lstat() */
  if (*length > BKT_CHANGELOG_MAX_FILE)
    {
      g_clear_pointer (data, g_free);
      return fail_at (error, display, 1, "too large (at most %d bytes)", BKT_CHANGELOG_MAX_FILE);
    }
  return TRUE;
}

static char *
pending_dir (const char *repo_dir)
{
  return g_build_filename (repo_dir, ".changelog", "pending", NULL);
}

static char *
versions_dir (const char *repo_dir)
{
  return g_build_filename (repo_dir, ".changelog", "versions", NULL);
}

static gint
compare_entry_files (gconstpointer a, gconstpointer b)
{
  return strcmp (json_object_get_string_member (*(JsonObject **) a, "file"),
                 json_object_get_string_member (*(JsonObject **) b, "file"));
}

GPtrArray *
bkt_changelog_load_pending (const char *repo_dir, GError **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autofree char *dir = pending_dir (repo_dir);
  g_autoptr(GDir) d = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *name;

  d = g_dir_open (dir, 0, &local_error);
  if (d == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&entries);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *display = g_build_filename (".changelog", "pending", name, NULL);
      g_autofree char *data = NULL;
      gsize length;
      gboolean is_yaml = FALSE;
      JsonObject *e;

      if (g_str_equal (name, ".gitkeep"))
        continue;
      if (!pending_name_ok (name, &is_yaml))
        return fail_at (error, display, 1, "not a changelog entry name (NAME.json, NAME.yaml or NAME.yml)"), NULL;
      if (!read_bounded (path, display, &data, &length, error))
        return NULL;
      e = bkt_changelog_parse_entry (display, data, length, is_yaml, error);
      if (e == NULL)
        return NULL;
      json_object_set_string_member (e, "file", name);
      g_ptr_array_add (entries, e);
    }
  g_ptr_array_sort (entries, compare_entry_files);
  return g_steal_pointer (&entries);
}

/* ---- writing entries ---------------------------------------------------------------- */

GDateTime *
bkt_changelog_now (GError **error)
{
  const char *env = g_getenv ("BKT_NOW");
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  GDateTime *dt;

  if (env == NULL || *env == '\0')
    return g_date_time_new_now_utc ();
  dt = g_date_time_new_from_iso8601 (env, utc);
  if (dt == NULL)
    {
      g_autofree char *full = g_strdup_printf ("%sT00:00:00Z", env);
      dt = g_date_time_new_from_iso8601 (full, utc);
    }
  if (dt == NULL)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "BKT_NOW is not an ISO 8601 date or date-time: “%s”", env);
      return NULL;
    }
  return dt;
}

static gboolean
write_json (const char *path, JsonObject *o, GError **error)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);
  gsize len;
  g_autofree char *text = bkt_json_to_document (node, &len);

  return bkt_write_file_atomic (path, text, len, 0644, error);
}

char *
bkt_changelog_add (const char *repo_dir, JsonObject *entry, GError **error)
{
  g_autoptr(GDateTime) now = bkt_changelog_now (error);
  g_autofree char *dir = pending_dir (repo_dir);
  g_autofree char *stamp = NULL;
  g_autoptr(JsonObject) raw = json_object_new ();
  g_autoptr(JsonObject) e = NULL;
  g_autofree char *path = NULL;
  JsonObjectIter it;
  const char *k;
  JsonNode *v;

  if (now == NULL)
    return NULL;
  json_object_iter_init (&it, entry);
  while (json_object_iter_next (&it, &k, &v))
    json_object_set_member (raw, k, json_node_copy (v));
  if (!json_object_has_member (raw, "timestamp"))
    {
      g_autofree char *iso = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
      json_object_set_string_member (raw, "timestamp", iso);
    }
  /* The same checks as a hand-written file gets, before anything exists. */
  e = canonical_entry ("new entry", raw, NULL, error);
  if (e == NULL)
    return NULL;
  /* --dry-run: everything checked, the path it would have, nothing written */
  if (!bkt_fs_dry_run () && !bkt_fs_mkdir_p (dir, 0755, error))
    return NULL;
  stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  for (guint n = 1; path == NULL || g_file_test (path, G_FILE_TEST_EXISTS); n++)
    {
      g_autofree char *name = n == 1
        ? g_strdup_printf ("%s-%s.json", stamp, json_object_get_string_member (e, "category"))
        : g_strdup_printf ("%s-%s-%u.json", stamp, json_object_get_string_member (e, "category"), n);
      g_free (path);
      path = g_build_filename (dir, name, NULL);
    }
  if (!bkt_fs_dry_run () && !write_json (path, e, error))
    return NULL;
  return g_steal_pointer (&path);
}

/* ---- versions ----------------------------------------------------------------------- */

gboolean
bkt_changelog_version_is_valid (const char *version)
{
  g_auto(GStrv) parts = g_strsplit (version, ".", -1);
  const guint widths[] = { 4, 2, 2, 0 };

  if (g_strv_length (parts) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      gsize len = strlen (parts[i]);
      if (len == 0 || parts[i][strspn (parts[i], "0123456789")] != '\0')
        return FALSE;
      if (widths[i] != 0 ? len != widths[i] : (len > 4 || parts[i][0] == '0'))
        return FALSE;
    }
  return TRUE;
}

static gint
compare_versions (gconstpointer a, gconstpointer b)
{
  g_auto(GStrv) pa = g_strsplit (*(const char **) a, ".", 4);
  g_auto(GStrv) pb = g_strsplit (*(const char **) b, ".", 4);

  for (guint i = 0; i < 4; i++)
    {
      guint64 x = g_ascii_strtoull (pa[i], NULL, 10), y = g_ascii_strtoull (pb[i], NULL, 10);
      if (x != y)
        return x < y ? -1 : 1;
    }
  return 0;
}

GStrv
bkt_changelog_list_versions (const char *repo_dir, GError **error)
{
  g_autofree char *dir = versions_dir (repo_dir);

  return bkt_changelog_list_versions_in (dir, error);
}

GStrv
bkt_changelog_list_versions_in (const char *dir, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) d = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *name;

  d = g_dir_open (dir, 0, &local_error);
  if (d == NULL && !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *v = g_str_has_suffix (name, ".json") ? g_strndup (name, strlen (name) - 5) : NULL;
      /* Other files (a .gitkeep, a README) are not versions. */
      if (v != NULL && bkt_changelog_version_is_valid (v))
        g_ptr_array_add (out, g_steal_pointer (&v));
    }
  g_ptr_array_sort (out, compare_versions);
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

char *
bkt_changelog_next_version (const char *repo_dir, GDateTime *now, GError **error)
{
  g_auto(GStrv) versions = bkt_changelog_list_versions (repo_dir, error);
  g_autofree char *day = g_date_time_format (now, "%Y.%m.%d.");
  guint64 n = 0;

  if (versions == NULL)
    return NULL;
  for (guint i = 0; versions[i] != NULL; i++)
    if (g_str_has_prefix (versions[i], day))
      n = MAX (n, g_ascii_strtoull (versions[i] + strlen (day), NULL, 10));
  return g_strdup_printf ("%s%" G_GUINT64_FORMAT, day, n + 1);
}

JsonObject *
bkt_changelog_load_version (const char *repo_dir, const char *version, GError **error)
{
  g_autofree char *dir = versions_dir (repo_dir);

  return bkt_changelog_load_version_in (dir, ".changelog/versions", version, error);
}

/* A version file's entries are shown to users (status, motd) long after
 * release: the same checks as a pending entry, at the entry's position. */
static gboolean
check_version_doc (BktJsonDoc *doc, JsonObject *root, GError **error)
{
  JsonArray *entries = json_object_get_array_member (root, "entries");
  JsonNode *n;

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *e = json_array_get_element (entries, i);
      g_autoptr(JsonObject) raw = NULL;
      g_autoptr(JsonObject) ok = NULL;
      g_autoptr(GError) local_error = NULL;
      const char *msg;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        return bkt_json_doc_error_at (doc, e, error, "an entry must be an object");
      raw = bkt_json_object_deep_copy (json_node_get_object (e));
      ok = canonical_entry ("", raw, NULL, &local_error);
      if (ok == NULL)
        {
          /* canonical_entry's "FILE:LINE: " prefix is replaced by the entry's position */
          msg = strstr (local_error->message, ": ");
          return bkt_json_doc_error_at (doc, e, error, "%s", msg != NULL ? msg + 2 : local_error->message);
        }
    }
  for (guint k = 0; k < 3; k++)
    {
      const char *m = (const char *[]) { "version", "date", "released_at" }[k];
      n = json_object_get_member (root, m);
      if (n != NULL && (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING))
        return bkt_json_doc_error_at (doc, n, error, "“%s” must be a string", m);
    }
  n = json_object_get_member (root, "manual_steps");
  if (n != NULL)
    {
      JsonArray *a = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
      if (a == NULL)
        return bkt_json_doc_error_at (doc, n, error, "“manual_steps” must be a list of strings");
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *s = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_VALUE (s) || json_node_get_value_type (s) != G_TYPE_STRING)
            return bkt_json_doc_error_at (doc, s, error, "a manual step must be a string");
        }
    }
  return TRUE;
}

JsonObject *
bkt_changelog_load_version_in (const char *dir, const char *display_dir, const char *version, GError **error)
{
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *display = NULL;
  g_autofree char *data = NULL;
  g_autoptr(BktJsonDoc) doc = NULL;
  gsize length;
  JsonNode *root;

  /* The version names a file: only the one shape that cannot escape. */
  if (!bkt_changelog_version_is_valid (version))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not a version (YYYY.MM.DD.N): “%s”", version);
      return NULL;
    }
  name = g_strdup_printf ("%s.json", version);
  path = g_build_filename (dir, name, NULL);
  display = g_build_filename (display_dir, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "no version %s (bkt changelog list)", version);
      return NULL;
    }
  if (!read_bounded (path, display, &data, &length, error))
    return NULL;
  doc = bkt_json_doc_parse (display, data, (gssize) length, error);
  if (doc == NULL)
    return NULL;
  root = bkt_json_doc_get_root (doc);
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || !json_object_has_member (json_node_get_object (root), "entries")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "entries")))
    return bkt_json_doc_error_at (doc, root, error, "a version file is an object with an “entries” list"), NULL;
  if (!check_version_doc (doc, json_node_get_object (root), error))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

/* "VERSION (DATE)" and a newline, after @prefix */
static void
append_heading (GString *s, const char *prefix, JsonObject *doc)
{
  g_string_append_printf (s, "%s%s", prefix, json_object_get_string_member_with_default (doc, "version", "?"));
  if (json_object_has_member (doc, "date"))
    g_string_append_printf (s, " (%s)", json_object_get_string_member (doc, "date"));
  g_string_append (s, "\n");
}

char *
bkt_changelog_render_section (JsonObject *doc)
{
  g_autoptr(GString) s = g_string_new (NULL);
  JsonArray *entries = json_object_get_array_member (doc, "entries");
  JsonArray *steps = json_object_has_member (doc, "manual_steps")
    ? json_object_get_array_member (doc, "manual_steps") : NULL;

  append_heading (s, "## ", doc);
  for (guint t = 0; entry_types[t] != NULL; t++)
    {
      gboolean header = FALSE;

      for (guint i = 0; i < json_array_get_length (entries); i++)
        {
          JsonObject *e = json_array_get_object_element (entries, i);

          if (e == NULL || g_strcmp0 (json_object_get_string_member_with_default (e, "type", ""), entry_types[t]) != 0)
            continue;
          if (!header)
            g_string_append_printf (s, "\n### %s\n\n", type_titles[t]);
          header = TRUE;
          g_string_append_printf (s, "- **%s**: %s", json_object_get_string_member_with_default (e, "category", "?"),
                                  json_object_get_string_member_with_default (e, "message", ""));
          if (json_object_has_member (e, "command"))
            g_string_append_printf (s, " (`%s`)", json_object_get_string_member (e, "command"));
          if (json_object_has_member (e, "pr"))
            g_string_append_printf (s, " (#%" G_GINT64_FORMAT ")", json_object_get_int_member (e, "pr"));
          g_string_append (s, "\n");
        }
    }
  if (steps != NULL && json_array_get_length (steps) > 0)
    {
      g_string_append (s, "\n### Manual steps\n\n");
      for (guint i = 0; i < json_array_get_length (steps); i++)
        g_string_append_printf (s, "- %s\n", json_array_get_string_element (steps, i));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
bkt_changelog_render_short (JsonObject *doc, gboolean entries_too)
{
  g_autoptr(GString) s = g_string_new (NULL);
  JsonArray *entries = json_object_get_array_member (doc, "entries");
  JsonArray *steps = json_object_has_member (doc, "manual_steps")
    ? json_object_get_array_member (doc, "manual_steps") : NULL;

  append_heading (s, "", doc);
  /* in the release's order of types, as CHANGELOG.md has them */
  for (guint t = 0; entries_too && entry_types[t] != NULL; t++)
    for (guint i = 0; i < json_array_get_length (entries); i++)
      {
        JsonObject *e = json_array_get_object_element (entries, i);

        if (g_strcmp0 (json_object_get_string_member_with_default (e, "type", ""), entry_types[t]) == 0)
          g_string_append_printf (s, "  %-10s %s: %s\n", entry_types[t],
                                  json_object_get_string_member_with_default (e, "category", "?"),
                                  json_object_get_string_member_with_default (e, "message", ""));
      }
  if (steps != NULL && json_array_get_length (steps) > 0)
    {
      g_string_append (s, "  Manual steps:\n");
      for (guint i = 0; i < json_array_get_length (steps); i++)
        g_string_append_printf (s, "    - %s\n", json_array_get_string_element (steps, i));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gint
bkt_changelog_compare_versions (const char *a, const char *b)
{
  return compare_versions (&a, &b);
}

/* CHANGELOG.md with @section inserted after the marker line.  A file
 * without the marker is an error: where the section goes is the
 * maintainers' choice, not a guess. */
static char *
insert_section (const char *repo_dir, const char *section, GError **error)
{
  g_autofree char *path = g_build_filename (repo_dir, "CHANGELOG.md", NULL);
  g_autofree char *old = NULL;
  const char *marker;
  const char *rest;
  g_autoptr(GString) out = g_string_new (NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup_printf ("# Changelog\n\n%s\n\n%s", BKT_CHANGELOG_MARKER, section);
  if (!g_file_get_contents (path, &old, NULL, error))
    return NULL;
  marker = strstr (old, BKT_CHANGELOG_MARKER);
  if (marker == NULL)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST,
                   "CHANGELOG.md:1: no “%s” line to insert the release after", BKT_CHANGELOG_MARKER);
      return NULL;
    }
  rest = strchr (marker, '\n');
  rest = rest != NULL ? rest + 1 : marker + strlen (marker);
  g_string_append_len (out, old, rest - old);
  if (rest[-1] != '\n')
    g_string_append_c (out, '\n');
  g_string_append_c (out, '\n');
  g_string_append (out, section);
  while (*rest == '\n')
    rest++;
  if (*rest != '\0')
    g_string_append_printf (out, "\n%s", rest);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
bkt_changelog_read_markdown (const char *repo_dir, GError **error)
{
  g_autofree char *path = g_build_filename (repo_dir, "CHANGELOG.md", NULL);
  char *text = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "%s has no CHANGELOG.md yet: `bkt changelog release` creates it from the pending "
                        "entries, or create it with a title and the line “%s” under which releases go; "
                        "`bkt changelog list` lists the released versions", repo_dir, BKT_CHANGELOG_MARKER), NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  return text;
}

char *
bkt_changelog_release (const char *repo_dir, const char *version, GError **error)
{
  g_autoptr(GPtrArray) pending = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *v = NULL;
  g_autofree char *dir = versions_dir (repo_dir);
  g_autofree char *vpath = NULL;
  g_autofree char *vname = NULL;
  g_autofree char *section = NULL;
  g_autofree char *changelog = NULL;
  g_autofree char *md_path = g_build_filename (repo_dir, "CHANGELOG.md", NULL);
  g_autoptr(JsonObject) doc = json_object_new ();
  JsonArray *entries = json_array_new ();
  JsonArray *steps = json_array_new ();
  g_autoptr(GString) drafts = g_string_new (NULL);

  json_object_set_array_member (doc, "entries", entries);
  json_object_set_array_member (doc, "manual_steps", steps);
  if (version != NULL && !bkt_changelog_version_is_valid (version))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not a version (YYYY.MM.DD.N): “%s”", version);
      return NULL;
    }
  pending = bkt_changelog_load_pending (repo_dir, error);
  if (pending == NULL || (now = bkt_changelog_now (error)) == NULL)
    return NULL;
  for (guint i = 0; i < pending->len; i++)
    if (json_object_get_boolean_member (pending->pdata[i], "draft"))
      g_string_append_printf (drafts, "%s%s", drafts->len ? ", " : "",
                              json_object_get_string_member (pending->pdata[i], "file"));
  if (drafts->len > 0)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                   "draft entries must be reviewed first (set \"draft\": false): %s", drafts->str);
      return NULL;
    }
  if (pending->len == 0)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "nothing to release: no pending entries");
      return NULL;
    }
  v = version != NULL ? g_strdup (version) : bkt_changelog_next_version (repo_dir, now, error);
  if (v == NULL)
    return NULL;
  vname = g_strdup_printf ("%s.json", v);
  vpath = g_build_filename (dir, vname, NULL);
  if (g_file_test (vpath, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "version %s exists already", v);
      return NULL;
    }
  json_object_set_string_member (doc, "version", v);
  {
    g_autofree char *date = g_date_time_format (now, "%Y-%m-%d");
    g_autofree char *at = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
    json_object_set_string_member (doc, "date", date);
    json_object_set_string_member (doc, "released_at", at);
  }
  for (guint i = 0; i < pending->len; i++)
    {
      JsonObject *e = pending->pdata[i];
      JsonObject *copy = json_object_new ();
      JsonObjectIter it;
      const char *k;
      JsonNode *n;

      json_object_iter_init (&it, e);
      while (json_object_iter_next (&it, &k, &n))
        if (!g_str_equal (k, "file") && !g_str_equal (k, "draft"))
          json_object_set_member (copy, k, json_node_copy (n));
      json_array_add_object_element (entries, copy);
      if (json_object_has_member (e, "manual_steps"))
        {
          JsonArray *a = json_object_get_array_member (e, "manual_steps");
          for (guint j = 0; j < json_array_get_length (a); j++)
            json_array_add_string_element (steps, json_array_get_string_element (a, j));
        }
    }
  section = bkt_changelog_render_section (doc);
  /* Everything is computed before the first write: a refusal leaves the
   * repo as it was. */
  changelog = insert_section (repo_dir, section, error);
  if (changelog == NULL)
    return NULL;
  if (bkt_fs_dry_run ())
    return g_steal_pointer (&v);
  if (!bkt_fs_mkdir_p (dir, 0755, error))
    return NULL;
  if (!write_json (vpath, doc, error)
      || !bkt_write_file_atomic (md_path, changelog, strlen (changelog), 0644, error))
    return NULL;
  for (guint i = 0; i < pending->len; i++)
    {
      g_autofree char *p = g_build_filename (repo_dir, ".changelog", "pending",
                                             json_object_get_string_member (pending->pdata[i], "file"), NULL);
      if (!bkt_fs_unlink (p, error))
        return NULL;
    }
  return g_steal_pointer (&v);
}

guint
bkt_changelog_clear (const char *repo_dir, GError **error)
{
  g_autofree char *dir = pending_dir (repo_dir);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      gboolean is_yaml;
      /* Only entry files: a stray file is the user's, not ours to delete. */
      if (pending_name_ok (name, &is_yaml))
        g_ptr_array_add (names, g_build_filename (dir, name, NULL));
    }
  for (guint i = 0; i < names->len && !bkt_fs_dry_run (); i++)
    if (!bkt_fs_unlink (names->pdata[i], error))
      return 0;
  return names->len;
}

/* ---- drafts for punned changes ------------------------------------------------------ */

GBytes *
bkt_changelog_draft_entry (const char *subsystem, const char *action, const char *name,
                           const char *command, guint index, char **rel_path, GError **error)
{
  return bkt_changelog_draft_entry_full (subsystem, action, name, NULL, NULL, command, index, rel_path, error);
}

GBytes *
bkt_changelog_draft_entry_full (const char *subsystem, const char *action, const char *name,
                                const char *type, const char *message_in, const char *command,
                                guint index, char **rel_path, GError **error)
{
  static const char *const added[] = { "add", "install", "enable", "record", "assume", NULL };
  static const char *const removed[] = { "remove", "uninstall", "unset", "disable", "forget", "unassume", NULL };
  g_autoptr(GDateTime) now = bkt_changelog_now (error);
  g_autoptr(JsonObject) e = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *category = NULL;
  g_autofree char *stamp = NULL;
  g_autofree char *iso = NULL;
  g_autofree char *message = NULL;
  g_autofree char *file = NULL;
  gsize len;
  char *text;

  if (now == NULL)
    return NULL;
  /* Subsystems are plural where the engine's are ("gsettings"); the
   * categories are the command names. */
  category = g_strdup (subsystem != NULL ? subsystem : "other");
  if (g_str_has_suffix (category, "s") && !g_str_equal (category, "base"))
    category[strlen (category) - 1] = '\0';
  if (g_str_equal (category, "package"))
    g_free (g_steal_pointer (&category)), category = g_strdup ("dnf");
  if (!g_strv_contains (entry_categories, category))
    g_free (g_steal_pointer (&category)), category = g_strdup ("other");
  stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  iso = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  message = message_in != NULL ? g_strdup (message_in)
                               : g_strdup_printf ("%s %s %s", action != NULL ? action : "change", category,
                                                  name != NULL ? name : "");
  g_strchomp (message);
  json_object_set_string_member (e, "timestamp", iso);
  json_object_set_string_member (e, "type", type != NULL ? type
                                            : g_strv_contains (added, action ? action : "") ? "added"
                                            : g_strv_contains (removed, action ? action : "") ? "removed" : "changed");
  json_object_set_string_member (e, "category", category);
  json_object_set_string_member (e, "message", message);
  if (command != NULL)
    json_object_set_string_member (e, "command", command);
  json_object_set_boolean_member (e, "draft", TRUE);
  file = index == 0 ? g_strdup_printf ("%s-%s.json", stamp, category)
                    : g_strdup_printf ("%s-%s-%u.json", stamp, category, index + 1);
  *rel_path = g_build_filename (".changelog", "pending", file, NULL);
  node = json_node_init_object (json_node_alloc (), e);
  text = bkt_json_to_document (node, &len);
  return g_bytes_new_take (text, len);
}
