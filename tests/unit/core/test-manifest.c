/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-manifest.h"
#include "bkt-test.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static guint
count_occurrences (const char *haystack, const char *needle)
{
  guint n = 0;

  for (const char *s = strstr (haystack, needle); s != NULL; s = strstr (s + 1, needle))
    n++;
  return n;
}

static guint
count_dir_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static BktManifest *
load_ok (BktManifestKind kind, const char *name, const char *data)
{
  g_autoptr(GError) error = NULL;
  BktManifest *m = bkt_manifest_load_data (kind, name, data, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static void
assert_load_error (BktManifestKind kind, const char *name, const char *data, const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifest) m = bkt_manifest_load_data (kind, name, data, -1, &error);

  g_assert_null (m);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_cmpstr (error->message, ==, expected);
}

static char *
entry_key_at (BktManifest *m, guint i)
{
  JsonObject *entry = json_array_get_object_element (bkt_manifest_get_entries (m), i);
  return bkt_manifest_entry_key (bkt_manifest_get_kind (m), entry);
}

/* Both hold the same entries (json_node_equal()), by key. */
static void
assert_same_entries (BktManifest *a, BktManifest *b)
{
  JsonArray *entries = bkt_manifest_get_entries (a);

  g_assert_cmpuint (bkt_manifest_get_n_entries (a), ==, bkt_manifest_get_n_entries (b));
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      g_autofree char *key = entry_key_at (a, i);
      JsonObject *other = bkt_manifest_lookup (b, key);
      g_autoptr(JsonNode) other_node = NULL;

      g_assert_nonnull (other);
      other_node = json_node_init_object (json_node_alloc (), other);
      g_assert_true (json_node_equal (node, other_node));
    }
}

/* The original distribution's file of @kind; its text in @contents if
 * not NULL. */
static BktManifest *
load_fixture (BktManifestKind kind, char **contents)
{
  g_autofree char *path = bkt_test_data_path ("original",
                                                 bkt_manifest_kind_file_name (kind), NULL);
  g_autoptr(GError) error = NULL;
  BktManifest *m = bkt_manifest_load_file (kind, path, &error);

  g_assert_no_error (error);
  if (contents != NULL)
    *contents = bkt_test_read_file (path);
  return m;
}

/* Saves @m into @dir, checks that the file is what to_data() gives and
 * reads back to the entries @m holds; returns the file's contents. */
static char *
save_and_check (BktManifest *m, const char *dir)
{
  BktManifestKind kind = bkt_manifest_get_kind (m);
  g_autofree char *path = g_build_filename (dir, bkt_manifest_kind_file_name (kind), NULL);
  g_autofree char *data = bkt_manifest_to_data (m, NULL);
  g_autoptr(BktManifest) back = NULL;
  g_autoptr(GError) error = NULL;
  char *contents;

  g_assert_true (bkt_manifest_save (m, path, &error));
  g_assert_no_error (error);
  contents = bkt_test_read_file (path);
  g_assert_cmpstr (contents, ==, data);
  back = bkt_manifest_load_file (kind, path, &error);
  g_assert_no_error (error);
  assert_same_entries (m, back);
  return contents;
}

/* Index of the first line of @text containing @needle. */
static guint
line_of (const char *text, const char *needle)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], needle) != NULL)
      return i;
  g_assert_not_reached ();
  return 0;
}

static guint
n_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  return g_strv_length (lines);
}

/* @after must be @before with its lines from @at on, @removed, replaced
 * by @inserted, and nothing else changed: the lines outside that block
 * are the longest common prefix and suffix of both texts. */
static void
assert_diff (const char *before, const char *after, guint at,
             const char * const *removed, const char * const *inserted)
{
  g_auto(GStrv) a = g_strsplit (before, "\n", -1);
  g_auto(GStrv) b = g_strsplit (after, "\n", -1);
  guint na = g_strv_length (a), nb = g_strv_length (b);
  guint p = 0, q = 0;
  g_autoptr(GString) got_removed = g_string_new (NULL);
  g_autoptr(GString) got_inserted = g_string_new (NULL);
  g_autofree char *want_removed = g_strjoinv ("|\n", (GStrv) removed);
  g_autofree char *want_inserted = g_strjoinv ("|\n", (GStrv) inserted);

  while (p < na && p < nb && g_str_equal (a[p], b[p]))
    p++;
  while (q < na - p && q < nb - p && g_str_equal (a[na - 1 - q], b[nb - 1 - q]))
    q++;
  for (guint i = p; i < na - q; i++)
    g_string_append_printf (got_removed, "%s%s", i > p ? "|\n" : "", a[i]);
  for (guint i = p; i < nb - q; i++)
    g_string_append_printf (got_inserted, "%s%s", i > p ? "|\n" : "", b[i]);

  g_assert_cmpstr (got_removed->str, ==, want_removed);
  g_assert_cmpstr (got_inserted->str, ==, want_inserted);
  g_assert_cmpuint (p, ==, at);
}

#define LINES(...) ((const char * const []) { __VA_ARGS__, NULL })
#define NO_LINES ((const char * const []) { NULL })

static void
upsert_json (BktManifest *m, const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  bkt_manifest_upsert (m, json_node_get_object (node));
}

static void
assert_data (BktManifest *m, const char *expected)
{
  g_autofree char *data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==, expected);
}

/* ------------------------------------------------------------------ */
/* Kinds and keys                                                       */

static void
test_kinds (void)
{
  BktManifestKind kind;

  g_assert_cmpstr (bkt_manifest_kind_file_name (BKT_MANIFEST_FLATPAK_REMOTES), ==, "flatpak-remotes.json");
  g_assert_cmpstr (bkt_manifest_kind_file_name (BKT_MANIFEST_FLATPAK_APPS), ==, "flatpak-apps.json");
  g_assert_cmpstr (bkt_manifest_kind_file_name (BKT_MANIFEST_GSETTINGS), ==, "gsettings.json");
  g_assert_cmpstr (bkt_manifest_kind_name (BKT_MANIFEST_FLATPAK_APPS), ==, "flatpak-apps");
  g_assert_cmpstr (bkt_manifest_kind_list_member (BKT_MANIFEST_FLATPAK_REMOTES), ==, "remotes");
  g_assert_cmpstr (bkt_manifest_kind_list_member (BKT_MANIFEST_FLATPAK_APPS), ==, "apps");
  g_assert_cmpstr (bkt_manifest_kind_list_member (BKT_MANIFEST_GSETTINGS), ==, "settings");

  g_assert_true (bkt_manifest_kind_from_name ("gsettings", &kind));
  g_assert_cmpint (kind, ==, BKT_MANIFEST_GSETTINGS);
  g_assert_true (bkt_manifest_kind_from_name ("flatpak-remotes", &kind));
  g_assert_cmpint (kind, ==, BKT_MANIFEST_FLATPAK_REMOTES);
  g_assert_false (bkt_manifest_kind_from_name ("flatpak-apps.json", &kind));
  g_assert_false (bkt_manifest_kind_from_name (NULL, &kind));
}

static void
test_entry_key (void)
{
  g_autoptr(JsonObject) app = json_object_new ();
  g_autoptr(JsonObject) remote = json_object_new ();
  g_autoptr(JsonObject) setting = json_object_new ();
  g_autofree char *k1 = NULL;
  g_autofree char *k2 = NULL;
  g_autofree char *k3 = NULL;
  g_autofree char *k4 = NULL;
  g_autofree char *k5 = NULL;

  json_object_set_string_member (app, "id", "org.example.App");
  json_object_set_string_member (app, "remote", "flathub");
  k1 = bkt_manifest_entry_key (BKT_MANIFEST_FLATPAK_APPS, app);
  g_assert_cmpstr (k1, ==, "org.example.App");

  json_object_set_string_member (remote, "name", "flathub");
  k2 = bkt_manifest_entry_key (BKT_MANIFEST_FLATPAK_REMOTES, remote);
  g_assert_cmpstr (k2, ==, "flathub");

  json_object_set_string_member (setting, "schema", "org.gnome.desktop.interface");
  json_object_set_string_member (setting, "key", "gtk-theme");
  k3 = bkt_manifest_entry_key (BKT_MANIFEST_GSETTINGS, setting);
  g_assert_cmpstr (k3, ==, "org.gnome.desktop.interface gtk-theme");
  json_object_set_string_member (setting, "path", "/org/example/");
  k4 = bkt_manifest_entry_key (BKT_MANIFEST_GSETTINGS, setting);
  g_assert_cmpstr (k4, ==, "org.gnome.desktop.interface:/org/example/ gtk-theme");

  /* No identity, no key. */
  k5 = bkt_manifest_entry_key (BKT_MANIFEST_FLATPAK_APPS, remote);
  g_assert_null (k5);
}

/* ------------------------------------------------------------------ */
/* The original distribution's manifests                                */

static void
check_fixture (BktManifestKind kind, const char *file, const char *member)
{
  g_autofree char *path = bkt_test_data_path ("original", file, NULL);
  g_autofree char *contents = bkt_test_read_file (path);
  g_autofree char *needle = g_strdup_printf ("\"%s\"", member);
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifest) m = bkt_manifest_load_file (kind, path, &error);
  g_autoptr(BktManifest) again = NULL;
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *data = NULL;
  g_autofree char *saved = NULL;
  guint expected = count_occurrences (contents, needle);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpstr (bkt_manifest_get_origin (m), ==, path);
  g_assert_nonnull (bkt_manifest_get_doc (m));
  /* Counted from the raw text, independently of the parser. */
  g_assert_cmpuint (expected, >, 0);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, expected);

  /* What we write we can read back, with the same entries. */
  data = bkt_manifest_to_data (m, NULL);
  again = bkt_manifest_load_data (kind, file, data, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (again), ==, expected);
  g_assert_true (g_str_has_suffix (data, "}\n"));
  g_assert_nonnull (strstr (data, "\"$schema\""));

  /* Byte for byte what it was, even sorted: sorting orders the view, not
   * the file. */
  g_assert_cmpstr (data, ==, contents);
  bkt_manifest_sort (m);
  saved = save_and_check (m, dir);
  g_assert_cmpstr (saved, ==, contents);
}

static void
test_original_fixtures (void)
{
  g_autofree char *path = bkt_test_data_path ("original", "flatpak-apps.json", NULL);
  g_autoptr(BktManifest) apps = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *entry;

  check_fixture (BKT_MANIFEST_FLATPAK_REMOTES, "flatpak-remotes.json", "name");
  check_fixture (BKT_MANIFEST_FLATPAK_APPS, "flatpak-apps.json", "id");
  check_fixture (BKT_MANIFEST_GSETTINGS, "gsettings.json", "schema");

  apps = bkt_manifest_load_file (BKT_MANIFEST_FLATPAK_APPS, path, &error);
  g_assert_no_error (error);
  entry = bkt_manifest_lookup (apps, "app.xemu.xemu");
  g_assert_nonnull (entry);
  g_assert_cmpstr (json_object_get_string_member (entry, "scope"), ==, "user");
  g_assert_null (bkt_manifest_lookup (apps, "org.example.NotThere"));
}

/* ------------------------------------------------------------------ */
/* Validation                                                           */

static void
test_wrong_types (void)
{
  assert_load_error (BKT_MANIFEST_GSETTINGS, "gsettings.json",
                     "{\n"
                     "  \"settings\": [\n"
                     "    {\n"
                     "      \"schema\": \"org.gnome.desktop.interface\",\n"
                     "      \"key\": \"gtk-theme\",\n"
                     "      \"comment\": \"x\",\n"
                     "      \"value\": 0\n"
                     "    }\n"
                     "  ]\n"
                     "}\n",
                     "gsettings.json:7:16: \"value\" must be a string (GVariant text), got a number");

  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json", "[]",
                     "a.json:1:1: a flatpak-apps manifest must be a JSON object, got an array");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json", "{\"apps\": {}}",
                     "a.json:1:10: \"apps\" must be an array, got an object");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json", "{\"apps\": [\n  \"org.a.B\"\n]}",
                     "a.json:2:3: each entry of \"apps\" must be an object, got a string");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [\n  {\"id\": \"org.a.B\", \"remote\": \"flathub\"}\n]}",
                     "a.json:2:3: entry is missing the required member \"scope\"");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"org.a.B\", \"remote\": \"flathub\", \"scope\": true}]}",
                     "a.json:1:59: \"scope\" must be a string (\"system\" or \"user\"), got a boolean");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"org.a.B\", \"remote\": \"flathub\", \"scope\": \"both\"}]}",
                     "a.json:1:59: invalid \"scope\" \"both\": must be \"system\" or \"user\"");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": null, \"remote\": \"flathub\", \"scope\": \"user\"}]}",
                     "a.json:1:18: \"id\" must be a string, got null");
  assert_load_error (BKT_MANIFEST_FLATPAK_REMOTES, "r.json",
                     "{\"remotes\": [{\"name\": \"flathub\", \"url\": [\"x\"]}]}",
                     "r.json:1:41: \"url\" must be a string, got an array");
  assert_load_error (BKT_MANIFEST_FLATPAK_REMOTES, "r.json",
                     "{\"remotes\": [{\"name\": \"flathub\", \"url\": \"https://x/\", \"filtered\": \"yes\"}]}",
                     "r.json:1:67: \"filtered\" must be a boolean, got a string");
  assert_load_error (BKT_MANIFEST_GSETTINGS, "g.json",
                     "{\"settings\": [{\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"1\", \"comment\": 5}]}",
                     "g.json:1:70: \"comment\" must be a string, got a number");
}

static void
test_invalid_values (void)
{
  /* App ids. */
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"firefox\", \"remote\": \"flathub\", \"scope\": \"user\"}]}",
                     "a.json:1:18: invalid \"id\" \"firefox\": needs at least three elements separated by '.' (reverse DNS such as org.example.App)");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"org.9lives.App\", \"remote\": \"flathub\", \"scope\": \"user\"}]}",
                     "a.json:1:18: invalid \"id\" \"org.9lives.App\": has an element starting with a digit");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"-org.a.B\", \"remote\": \"flathub\", \"scope\": \"user\"}]}",
                     "a.json:1:18: invalid \"id\" \"-org.a.B\": must not start with '-'");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"org..B\", \"remote\": \"flathub\", \"scope\": \"user\"}]}",
                     "a.json:1:18: invalid \"id\" \"org..B\": has an empty element");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"org.a b.C\", \"remote\": \"flathub\", \"scope\": \"user\"}]}",
                     "a.json:1:18: invalid \"id\" \"org.a b.C\": must not contain ' ' (only letters, digits, '_', '.' and, in the last element, '-')");
  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [{\"id\": \"org.a.B\", \"remote\": \"-flathub\", \"scope\": \"user\"}]}",
                     "a.json:1:39: invalid \"remote\" \"-flathub\": must not start with '-'");
  {
    g_autoptr(GString) doc = g_string_new ("{\"apps\": [{\"id\": \"org.");
    g_autofree char *expected = NULL;
    g_autoptr(BktManifest) m = NULL;

    /* 255 characters are fine, 256 are not. */
    g_string_append (doc, "a.");
    while (doc->len - strlen ("{\"apps\": [{\"id\": \"") < 255)
      g_string_append_c (doc, 'x');
    g_string_append (doc, "\", \"remote\": \"r\", \"scope\": \"user\"}]}");
    m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json", doc->str);
    g_string_insert_c (doc, 30, 'y');
    expected = g_strdup_printf ("a.json:1:18: invalid \"id\" \"%.*s\": is longer than 255 characters",
                                256, doc->str + 18);
    assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json", doc->str, expected);
  }

  /* Remotes. */
  assert_load_error (BKT_MANIFEST_FLATPAK_REMOTES, "r.json",
                     "{\"remotes\": [{\"name\": \"\", \"url\": \"https://x/\"}]}",
                     "r.json:1:23: invalid \"name\" \"\": must not be empty");
  assert_load_error (BKT_MANIFEST_FLATPAK_REMOTES, "r.json",
                     "{\"remotes\": [{\"name\": \"a/b\", \"url\": \"https://x/\"}]}",
                     "r.json:1:23: invalid \"name\" \"a/b\": only letters, digits, '.', '_' and '-' are allowed");
  assert_load_error (BKT_MANIFEST_FLATPAK_REMOTES, "r.json",
                     "{\"remotes\": [{\"name\": \"x\", \"url\": \"\"}]}",
                     "r.json:1:35: invalid \"url\" \"\": must not be empty");

  /* GSettings. */
  assert_load_error (BKT_MANIFEST_GSETTINGS, "g.json",
                     "{\"settings\": [{\"schema\": \"org.a\", \"key\": \"Theme\", \"value\": \"1\"}]}",
                     "g.json:1:42: invalid \"key\" \"Theme\": only lowercase letters, digits and '-' are allowed");
  assert_load_error (BKT_MANIFEST_GSETTINGS, "g.json",
                     "{\"settings\": [{\"schema\": \"org/a\", \"key\": \"k\", \"value\": \"1\"}]}",
                     "g.json:1:26: invalid \"schema\" \"org/a\": only letters, digits, '.' and '-' are allowed");
  {
    /* GLib's own wording follows in parentheses; it varies by version. */
    g_autoptr(GError) error = NULL;
    g_autoptr(BktManifest) m =
      bkt_manifest_load_data (BKT_MANIFEST_GSETTINGS, "g.json",
                              "{\"settings\": [\n{\"schema\": \"org.a\", \"key\": \"k\",\n \"value\": \"'unterminated\"}]}",
                              -1, &error);
    g_assert_null (m);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
    g_assert_true (g_str_has_prefix (error->message,
                                     "g.json:3:11: invalid \"value\" \"'unterminated\": not valid GVariant text ("));
  }
  /* Valid GVariant text of any type is accepted. */
  {
    g_autoptr(BktManifest) m =
      load_ok (BKT_MANIFEST_GSETTINGS, "g.json",
               "{\"settings\": [{\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"@as []\"},"
               " {\"schema\": \"a.b\", \"key\": \"l\", \"value\": \"[('xkb', 'us')]\"}]}");
    g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 2);
  }
  assert_load_error (BKT_MANIFEST_GSETTINGS, "g.json",
                     "{\"settings\": [{\"schema\": \"org.a\", \"key\": \"k\", \"value\": \"1\", \"path\": \"/org/a\"}]}",
                     "g.json:1:69: invalid \"path\" \"/org/a\": must start and end with '/'");
}

static void
test_duplicates (void)
{
  g_autoptr(BktManifest) ok = NULL;

  assert_load_error (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                     "{\"apps\": [\n"
                     "  {\"id\": \"org.a.B\", \"remote\": \"flathub\", \"scope\": \"user\"},\n"
                     "  {\"id\": \"org.c.D\", \"remote\": \"flathub\", \"scope\": \"user\"},\n"
                     "  {\"id\": \"org.a.B\", \"remote\": \"other\", \"scope\": \"system\"}\n"
                     "]}",
                     "a.json:4:3: duplicate entry \"org.a.B\" (first defined on line 2)");
  assert_load_error (BKT_MANIFEST_GSETTINGS, "g.json",
                     "{\"settings\": [\n"
                     "  {\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"1\"},\n"
                     "  {\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"2\"}\n"
                     "]}",
                     "g.json:3:3: duplicate entry \"a.b k\" (first defined on line 2)");

  /* The same key of a relocatable schema at two paths is two settings. */
  ok = load_ok (BKT_MANIFEST_GSETTINGS, "g.json",
                "{\"settings\": [\n"
                "  {\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"1\", \"path\": \"/a/\"},\n"
                "  {\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"2\", \"path\": \"/b/\"},\n"
                "  {\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"3\"}\n"
                "]}");
  g_assert_cmpuint (bkt_manifest_get_n_entries (ok), ==, 3);
  g_assert_nonnull (bkt_manifest_lookup (ok, "a.b:/b/ k"));
  g_assert_nonnull (bkt_manifest_lookup (ok, "a.b k"));
}

static void
test_syntax_error_names_file (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *path = g_build_filename (dir, "flatpak-apps.json", NULL);
  g_autofree char *expected = g_strdup_printf ("%s:4:15: expected ',' or '}' after object member, got '\"'", path);
  g_autoptr(BktManifest) m = NULL;
  g_autoptr(GError) error = NULL;

  bkt_test_write_in (dir, "flatpak-apps.json",
              "{\n"
              "  \"apps\": [\n"
              "    {\n"
              "    \"id\": \"x\" \"remote\": \"flathub\"\n"
              "    }\n"
              "  ]\n"
              "}\n");
  m = bkt_manifest_load_file (BKT_MANIFEST_FLATPAK_APPS, path, &error);
  g_assert_null (m);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_cmpstr (error->message, ==, expected);
}

/* ------------------------------------------------------------------ */
/* Unknown members, editing, output                                     */

static void
test_unknown_members_round_trip (void)
{
  const char *input =
    "{\n"
    "  \"$schema\": \"https://example.org/flatpak-apps.schema.json\",\n"
    "  \"apps\": [\n"
    "    {\"id\": \"org.a.B\", \"remote\": \"flathub\", \"scope\": \"system\",\n"
    "     \"x-note\": {\"why\": [1, 2.5, true, null]}}\n"
    "  ],\n"
    "  \"x-top\": \"kept\"\n"
    "}\n";
  const char *expected =
    "{\n"
    "  \"$schema\": \"https://example.org/flatpak-apps.schema.json\",\n"
    "  \"apps\": [\n"
    "    {\n"
    "      \"id\": \"org.a.B\",\n"
    "      \"remote\": \"flathub\",\n"
    "      \"scope\": \"system\",\n"
    "      \"x-note\": { \"why\": [1, 2.5, true, null] }\n"
    "    }\n"
    "  ],\n"
    "  \"x-top\": \"kept\"\n"
    "}\n";
  g_autoptr(BktManifest) m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json", input);
  g_autoptr(BktManifest) copy = bkt_manifest_copy (m);
  g_autoptr(BktManifest) again = NULL;
  g_autoptr(BktManifest) again_copy = NULL;
  g_autofree char *data = NULL;
  g_autofree char *data2 = NULL;
  g_autofree char *data3 = NULL;
  gsize length;

  /* Not edited: the file as it was, however it is laid out. */
  data = bkt_manifest_to_data (m, &length);
  g_assert_cmpstr (data, ==, input);
  g_assert_cmpuint (length, ==, strlen (input));
  g_clear_pointer (&data, g_free);

  /* Written anew (a copy is not the file), unknown members included. */
  data = bkt_manifest_to_data (copy, &length);
  g_assert_cmpstr (data, ==, expected);
  g_assert_cmpuint (length, ==, strlen (expected));

  /* Stable: writing what we wrote changes nothing, either way. */
  again = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json", data);
  data2 = bkt_manifest_to_data (again, NULL);
  g_assert_cmpstr (data2, ==, data);
  again_copy = bkt_manifest_copy (again);
  data3 = bkt_manifest_to_data (again_copy, NULL);
  g_assert_cmpstr (data3, ==, data);
}

static JsonObject *
new_app (const char *id, const char *remote, const char *scope)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "id", id);
  json_object_set_string_member (o, "remote", remote);
  json_object_set_string_member (o, "scope", scope);
  return o;
}

static void
test_upsert_remove_sort (void)
{
  g_autoptr(BktManifest) m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                                      "{\"apps\": [\n"
                                      "  {\"x-first\": 1, \"id\": \"org.z.Z\", \"remote\": \"flathub\", \"scope\": \"user\", \"x-note\": \"keep\"},\n"
                                      "  {\"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"user\"}\n"
                                      "]}");
  g_autoptr(JsonObject) replacement = new_app ("org.z.Z", "other", "system");
  g_autoptr(JsonObject) added = new_app ("org.m.M", "flathub", "system");
  JsonArray *entries = bkt_manifest_get_entries (m);
  JsonObject *entry;
  g_autoptr(GList) names = NULL;
  g_autofree char *k0 = NULL;
  g_autofree char *k1 = NULL;
  g_autofree char *k2 = NULL;

  /* Replace: known members from the new entry, unknown ones kept in
   * their place, the entry keeps its position. */
  json_object_set_string_member (replacement, "x-new", "added");
  bkt_manifest_upsert (m, replacement);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 2);
  entry = json_array_get_object_element (entries, 0);
  g_assert_cmpstr (json_object_get_string_member (entry, "remote"), ==, "other");
  g_assert_cmpstr (json_object_get_string_member (entry, "scope"), ==, "system");
  g_assert_cmpstr (json_object_get_string_member (entry, "x-note"), ==, "keep");
  g_assert_cmpint (json_object_get_int_member (entry, "x-first"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (entry, "x-new"), ==, "added");
  names = json_object_get_members (entry);
  g_assert_cmpstr (g_list_nth_data (names, 0), ==, "x-first");
  g_assert_cmpstr (g_list_nth_data (names, 1), ==, "id");
  g_assert_cmpstr (g_list_nth_data (names, 4), ==, "x-note");
  g_assert_cmpstr (g_list_nth_data (names, 5), ==, "x-new");

  /* An unknown member the new entry sets wins. */
  json_object_set_string_member (replacement, "x-note", "changed");
  bkt_manifest_upsert (m, replacement);
  entry = bkt_manifest_lookup (m, "org.z.Z");
  g_assert_cmpstr (json_object_get_string_member (entry, "x-note"), ==, "changed");

  /* The manifest holds a copy: the caller's object stays theirs. */
  json_object_set_string_member (replacement, "remote", "mutated");
  g_assert_cmpstr (json_object_get_string_member (entry, "remote"), ==, "other");

  /* Insert appends. */
  bkt_manifest_upsert (m, added);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 3);
  k2 = entry_key_at (m, 2);
  g_assert_cmpstr (k2, ==, "org.m.M");
  g_clear_pointer (&k2, g_free);

  /* Sort in place: the array obtained before stays the live one. */
  bkt_manifest_sort (m);
  g_assert_true (entries == bkt_manifest_get_entries (m));
  k0 = entry_key_at (m, 0);
  k1 = entry_key_at (m, 1);
  k2 = entry_key_at (m, 2);
  g_assert_cmpstr (k0, ==, "org.a.A");
  g_assert_cmpstr (k1, ==, "org.m.M");
  g_assert_cmpstr (k2, ==, "org.z.Z");

  g_assert_true (bkt_manifest_remove (m, "org.m.M"));
  g_assert_false (bkt_manifest_remove (m, "org.m.M"));
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 2);
  g_assert_null (bkt_manifest_lookup (m, "org.m.M"));
}

static void
test_upsert_drops_known_members (void)
{
  /* A known optional member left out of the replacement is removed:
   * only unknown members carry over. */
  g_autoptr(BktManifest) m = load_ok (BKT_MANIFEST_GSETTINGS, "g.json",
                                      "{\"settings\": [{\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"1\", \"comment\": \"old\"}]}");
  g_autoptr(JsonObject) s = json_object_new ();
  JsonObject *entry;

  json_object_set_string_member (s, "schema", "a.b");
  json_object_set_string_member (s, "key", "k");
  json_object_set_string_member (s, "value", "2");
  bkt_manifest_upsert (m, s);
  entry = bkt_manifest_lookup (m, "a.b k");
  g_assert_cmpstr (json_object_get_string_member (entry, "value"), ==, "2");
  g_assert_false (json_object_has_member (entry, "comment"));
}

static void
test_new_entries_order (void)
{
  g_autoptr(BktManifest) m = bkt_manifest_new_empty (BKT_MANIFEST_GSETTINGS);
  g_autoptr(JsonObject) s = json_object_new ();
  g_autofree char *data = NULL;

  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 0);
  g_assert_cmpint (bkt_manifest_get_kind (m), ==, BKT_MANIFEST_GSETTINGS);
  g_assert_null (bkt_manifest_get_doc (m));

  json_object_set_string_member (s, "schema", "org.gnome.desktop.interface");
  json_object_set_string_member (s, "key", "gtk-theme");
  json_object_set_string_member (s, "value", "'adw-gtk3'");
  json_object_set_string_member (s, "comment", "why");
  bkt_manifest_upsert (m, s);
  data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==,
                   "{\n"
                   "  \"settings\": [\n"
                   "    {\n"
                   "      \"schema\": \"org.gnome.desktop.interface\",\n"
                   "      \"key\": \"gtk-theme\",\n"
                   "      \"value\": \"'adw-gtk3'\",\n"
                   "      \"comment\": \"why\"\n"
                   "    }\n"
                   "  ]\n"
                   "}\n");
}

static void
test_copy_is_deep (void)
{
  g_autoptr(BktManifest) m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json",
                                      "{\"apps\": [{\"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"user\", \"x\": {\"y\": 1}}]}");
  g_autoptr(BktManifest) copy = bkt_manifest_copy (m);
  g_autoptr(JsonObject) other = new_app ("org.a.A", "other", "system");
  JsonObject *orig_entry;
  JsonObject *copy_entry;
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;

  /* The same entries, though only @m writes the file's own bytes. */
  assert_same_entries (m, copy);
  d1 = bkt_manifest_to_data (m, NULL);
  d2 = bkt_manifest_to_data (copy, NULL);
  g_assert_cmpstr (d2, ==, "{\n  \"apps\": [\n    { \"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"user\", \"x\": { \"y\": 1 } }\n  ]\n}\n");
  g_assert_cmpstr (bkt_manifest_get_origin (copy), ==, "a.json");

  bkt_manifest_upsert (copy, other);
  copy_entry = bkt_manifest_lookup (copy, "org.a.A");
  json_object_set_int_member (json_object_get_object_member (copy_entry, "x"), "y", 2);
  /* Values are not shared either (json_node_copy() would share them). */
  json_node_set_string (json_object_get_member (copy_entry, "id"), "org.a.A");

  orig_entry = bkt_manifest_lookup (m, "org.a.A");
  g_assert_cmpstr (json_object_get_string_member (orig_entry, "remote"), ==, "flathub");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (orig_entry, "x"), "y"), ==, 1);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 1);
}

/* ------------------------------------------------------------------ */
/* Writing: the file's own layout, and new files                       */

/* flatpak-apps.json as distributed, with @upsert (an app "ID REMOTE
 * SCOPE") or @remove applied, saved: the file differs from the original
 * by exactly the block assert_diff() is given. */
static void
check_apps_edit (const char *dir, const char *upsert, const char *remove, guint at,
                 const char * const *removed, const char * const *inserted)
{
  g_autofree char *orig = NULL;
  g_autoptr(BktManifest) m = load_fixture (BKT_MANIFEST_FLATPAK_APPS, &orig);
  g_autofree char *out = NULL;

  if (upsert != NULL)
    {
      g_auto(GStrv) f = g_strsplit (upsert, " ", 3);
      g_autoptr(JsonObject) app = new_app (f[0], f[1], f[2]);

      bkt_manifest_upsert (m, app);
    }
  if (remove != NULL)
    g_assert_true (bkt_manifest_remove (m, remove));
  /* The engine sorts before saving: that orders the view only. */
  bkt_manifest_sort (m);
  out = save_and_check (m, dir);
  assert_diff (orig, out, at, removed, inserted);
}

static void
test_fixture_apps_edits (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *orig = NULL;
  g_autoptr(BktManifest) m = load_fixture (BKT_MANIFEST_FLATPAK_APPS, &orig);
  g_autoptr(JsonObject) xemu = new_app ("app.xemu.xemu", "flathub", "user");
  g_autoptr(JsonObject) boxes = new_app ("org.gnome.Boxes", "flathub", "system");
  g_autoptr(JsonObject) gradia = new_app ("be.alexandervanhee.gradia", "flathub", "user");
  const char *vlc = "    { \"id\": \"org.videolan.VLC\", \"remote\": \"flathub\", \"scope\": \"system\" }";
  g_autofree char *vlc_comma = g_strconcat (vlc, ",", NULL);
  g_autofree char *out = NULL;

  /* Added: one line at its place in the file's order (letters compared
   * without case), though in memory the list is sorted by bytes. */
  check_apps_edit (dir, "org.gnome.Boxes flathub system", NULL, line_of (orig, "\"org.gnome.baobab\"") + 1,
                   NO_LINES, LINES ("    { \"id\": \"org.gnome.Boxes\", \"remote\": \"flathub\", \"scope\": \"system\" },"));
  check_apps_edit (dir, "aa.example.First flathub system", NULL, 3,
                   NO_LINES, LINES ("    { \"id\": \"aa.example.First\", \"remote\": \"flathub\", \"scope\": \"system\" },"));
  /* Last: the entry before it gains a comma. */
  check_apps_edit (dir, "zz.example.Last flathub user", NULL, n_lines (orig) - 4, LINES ("    }"),
                   LINES ("    },", "    { \"id\": \"zz.example.Last\", \"remote\": \"flathub\", \"scope\": \"user\" }"));

  /* Removed: its line goes, nothing else; the last one takes the comma
   * of the entry before it. */
  check_apps_edit (dir, NULL, "app.xemu.xemu", 3,
                   LINES ("    { \"id\": \"app.xemu.xemu\", \"remote\": \"flathub\", \"scope\": \"user\" },"), NO_LINES);
  check_apps_edit (dir, NULL, "org.virt_manager.virt-manager", line_of (orig, "org.videolan.VLC"),
                   LINES (vlc_comma, "    {", "      \"id\": \"org.virt_manager.virt-manager\",",
                          "      \"remote\": \"flathub\",", "      \"scope\": \"system\"", "    }"),
                   LINES (vlc));

  /* Replaced, expanded: stays expanded (though it would now fit on one
   * line), members in their order; only the changed line differs. */
  check_apps_edit (dir, "be.alexandervanhee.gradia flathub user", NULL,
                   line_of (orig, "be.alexandervanhee.gradia") + 2,
                   LINES ("      \"scope\": \"system\""), LINES ("      \"scope\": \"user\""));
  /* Replaced, one line: stays so while it fits in 80 columns with its
   * comma, is expanded when it no longer does. */
  check_apps_edit (dir, "org.gnome.Logs flathub user", NULL, line_of (orig, "org.gnome.Logs"),
                   LINES ("    { \"id\": \"org.gnome.Logs\", \"remote\": \"flathub\", \"scope\": \"system\" },"),
                   LINES ("    { \"id\": \"org.gnome.Logs\", \"remote\": \"flathub\", \"scope\": \"user\" },"));
  check_apps_edit (dir, "com.discordapp.Discord flathub-beta system", NULL, line_of (orig, "com.discordapp.Discord"),
                   LINES ("    { \"id\": \"com.discordapp.Discord\", \"remote\": \"flathub\", \"scope\": \"system\" },"),
                   LINES ("    {", "      \"id\": \"com.discordapp.Discord\",", "      \"remote\": \"flathub-beta\",",
                          "      \"scope\": \"system\"", "    },"));

  /* Changed in place through lookup(), not upsert(): noticed all the
   * same.  Removed and added back as it was: nothing to write. */
  json_object_set_string_member (bkt_manifest_lookup (m, "org.videolan.VLC"), "scope", "user");
  out = save_and_check (m, dir);
  assert_diff (orig, out, line_of (orig, "org.videolan.VLC"), LINES (vlc_comma),
               LINES ("    { \"id\": \"org.videolan.VLC\", \"remote\": \"flathub\", \"scope\": \"user\" },"));
  g_clear_pointer (&out, g_free);
  g_clear_object (&m);
  m = load_fixture (BKT_MANIFEST_FLATPAK_APPS, NULL);
  g_assert_true (bkt_manifest_remove (m, "app.xemu.xemu"));
  bkt_manifest_upsert (m, xemu);
  out = save_and_check (m, dir);
  g_assert_cmpstr (out, ==, orig);
  g_clear_pointer (&out, g_free);

  /* Everything at once: each change where it belongs, and the file reads
   * back to what the manifest holds (save_and_check()). */
  bkt_manifest_upsert (m, boxes);
  bkt_manifest_upsert (m, gradia);
  g_assert_true (bkt_manifest_remove (m, "org.gnome.Totem"));
  g_assert_true (bkt_manifest_remove (m, "org.gnome.Weather"));
  g_assert_true (bkt_manifest_remove (m, "org.virt_manager.virt-manager"));
  bkt_manifest_sort (m);
  out = save_and_check (m, dir);
  g_assert_cmpuint (n_lines (out), ==, n_lines (orig) + 1 - 2 - 5);
  g_assert_nonnull (strstr (out, "\"org.gnome.baobab\", \"remote\": \"flathub\", \"scope\": \"system\" },\n"
                                 "    { \"id\": \"org.gnome.Boxes\""));
  g_assert_nonnull (strstr (out, "\"org.gnome.TextEditor\", \"remote\": \"flathub\", \"scope\": \"system\" },\n"
                                 "    {\n      \"id\": \"org.gustavoperedo.FontDownloader\""));
  g_assert_nonnull (strstr (out, "\"be.alexandervanhee.gradia\",\n      \"remote\": \"flathub\",\n"
                                 "      \"scope\": \"user\"\n    },\n"));
  g_assert_true (g_str_has_suffix (out, "\"org.videolan.VLC\", \"remote\": \"flathub\", \"scope\": \"system\" }\n  ]\n}\n"));
}

static void
test_fixture_gsettings_edits (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *orig = NULL;
  g_autoptr(BktManifest) m = load_fixture (BKT_MANIFEST_GSETTINGS, &orig);
  const char *key = "org.gnome.settings-daemon.plugins.power sleep-inactive-ac-type";
  g_autoptr(GList) names = NULL;
  g_autofree char *out = NULL;

  /* A new value, the comment carried over as capture does: one line,
   * the entry still expanded, its members in their order. */
  upsert_json (m, "{\"schema\": \"org.gnome.settings-daemon.plugins.power\", \"key\": \"sleep-inactive-ac-type\","
                  " \"value\": \"'suspend'\", \"comment\": \"Disable auto-suspend on AC power"
                  " (keep battery behavior as system default)\"}");
  names = json_object_get_members (bkt_manifest_lookup (m, key));
  g_assert_cmpuint (g_list_length (names), ==, 4);
  g_assert_cmpstr (g_list_nth_data (names, 2), ==, "value");
  out = save_and_check (m, dir);
  assert_diff (orig, out, line_of (orig, "sleep-inactive-ac-type") + 1,
               LINES ("      \"value\": \"'nothing'\","), LINES ("      \"value\": \"'suspend'\","));
  g_clear_pointer (&out, g_free);

  /* The file is not sorted: a new setting goes last; too long for one
   * line, it is expanded.  (The old last "    }" gains a comma, which a
   * line diff sees as lines inserted before the new last "    }".) */
  g_clear_object (&m);
  m = load_fixture (BKT_MANIFEST_GSETTINGS, NULL);
  upsert_json (m, "{\"schema\": \"org.gnome.desktop.wm.preferences\", \"key\": \"button-layout\","
                  " \"value\": \"'appmenu:minimize,close'\"}");
  bkt_manifest_sort (m);
  out = save_and_check (m, dir);
  assert_diff (orig, out, n_lines (orig) - 4, NO_LINES,
               LINES ("    },", "    {", "      \"schema\": \"org.gnome.desktop.wm.preferences\",",
                      "      \"key\": \"button-layout\",", "      \"value\": \"'appmenu:minimize,close'\""));
  g_clear_pointer (&out, g_free);

  /* All removed: an empty list, "$schema" kept. */
  g_clear_object (&m);
  m = load_fixture (BKT_MANIFEST_GSETTINGS, NULL);
  while (bkt_manifest_get_n_entries (m) > 0)
    {
      g_autofree char *k = entry_key_at (m, 0);
      g_assert_true (bkt_manifest_remove (m, k));
    }
  out = save_and_check (m, dir);
  g_assert_cmpstr (out, ==, "{\n  \"$schema\": \"https://wycats.github.io/bootc/gsettings.schema.json\",\n"
                            "  \"settings\": []\n}\n");
}

#define APP_B "{\"id\": \"org.b.B\", \"remote\": \"r\", \"scope\": \"system\"}"
#define LINE_B "{ \"id\": \"org.b.B\", \"remote\": \"r\", \"scope\": \"system\" }"

static void
test_edit_layouts (void)
{
  g_autoptr(BktManifest) m = NULL;

  /* Compact, sorted: inserted in order, with the file's separator. */
  m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json",
               "{\"apps\": [{\"id\": \"org.a.A\", \"remote\": \"r\", \"scope\": \"user\"},"
               " {\"id\": \"org.c.C\", \"remote\": \"r\", \"scope\": \"user\"}]}");
  upsert_json (m, APP_B);
  assert_data (m, "{\"apps\": [{\"id\": \"org.a.A\", \"remote\": \"r\", \"scope\": \"user\"}, " LINE_B ","
                  " {\"id\": \"org.c.C\", \"remote\": \"r\", \"scope\": \"user\"}]}");
  g_assert_true (bkt_manifest_remove (m, "org.a.A"));
  g_assert_true (bkt_manifest_remove (m, "org.c.C"));
  assert_data (m, "{\"apps\": [" LINE_B "]}");
  g_clear_object (&m);

  /* Not sorted: sort() leaves the file's order, new entries go last. */
  m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json",
               "{\n  \"apps\": [\n    { \"id\": \"org.z.Z\", \"remote\": \"r\", \"scope\": \"user\" },\n"
               "    { \"id\": \"org.a.A\", \"remote\": \"r\", \"scope\": \"user\" }\n  ]\n}\n");
  bkt_manifest_sort (m);
  assert_data (m, "{\n  \"apps\": [\n    { \"id\": \"org.z.Z\", \"remote\": \"r\", \"scope\": \"user\" },\n"
                  "    { \"id\": \"org.a.A\", \"remote\": \"r\", \"scope\": \"user\" }\n  ]\n}\n");
  upsert_json (m, APP_B);
  bkt_manifest_sort (m);
  assert_data (m, "{\n  \"apps\": [\n    { \"id\": \"org.z.Z\", \"remote\": \"r\", \"scope\": \"user\" },\n"
                  "    { \"id\": \"org.a.A\", \"remote\": \"r\", \"scope\": \"user\" },\n    " LINE_B "\n  ]\n}\n");
  g_clear_object (&m);

  /* 4-space indent and CRLF line ends are the file's: kept. */
  m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json",
               "{\r\n    \"apps\": [\r\n        {\r\n            \"id\": \"org.a.A\",\r\n"
               "            \"remote\": \"flathub\",\r\n            \"scope\": \"system\"\r\n        }\r\n    ]\r\n}\r\n");
  upsert_json (m, "{\"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"user\"}");
  upsert_json (m, APP_B);
  assert_data (m, "{\r\n    \"apps\": [\r\n        {\r\n            \"id\": \"org.a.A\",\r\n"
                  "            \"remote\": \"flathub\",\r\n            \"scope\": \"user\"\r\n        },\r\n"
                  "        " LINE_B "\r\n    ]\r\n}\r\n");
  g_clear_object (&m);

  /* An empty list gets its first entry.  No list at all: unchanged, the
   * file as it was; with an entry, written anew. */
  m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json", "{\n  \"apps\": [],\n  \"x\": 1\n}\n");
  upsert_json (m, APP_B);
  assert_data (m, "{\n  \"apps\": [\n    " LINE_B "\n  ],\n  \"x\": 1\n}\n");
  g_clear_object (&m);
  m = load_ok (BKT_MANIFEST_FLATPAK_APPS, "a.json", "{\"$schema\":\"s\"}");
  assert_data (m, "{\"$schema\":\"s\"}");
  upsert_json (m, APP_B);
  assert_data (m, "{\n  \"$schema\": \"s\",\n  \"apps\": [\n    " LINE_B "\n  ]\n}\n");
}

static void
test_new_file_layout (void)
{
  g_autoptr(BktManifest) empty = bkt_manifest_new_empty (BKT_MANIFEST_FLATPAK_APPS);
  g_autoptr(BktManifest) m = bkt_manifest_new_empty (BKT_MANIFEST_FLATPAK_REMOTES);
  g_autoptr(BktManifest) apps = bkt_manifest_new_empty (BKT_MANIFEST_FLATPAK_APPS);

  assert_data (empty, "{\n  \"apps\": []\n}\n");

  upsert_json (m, "{\"name\": \"flathub\", \"url\": \"https://dl.flathub.org/\", \"filtered\": true}");
  upsert_json (m, "{\"name\": \"appcenter\", \"url\": \"https://flatpak.elementary.io/repo\", \"scope\": \"system\"}");
  upsert_json (m, "{\"name\": \"mine\", \"url\": \"https://x/\", \"x-small\": {\"list\": [1, \"two\"], \"empty\": {}},"
                  " \"x-big\": {\"list\": [1, \"two\"], \"empty\": {},"
                  " \"note\": \"long enough that this object no longer fits on its line\"}}");
  bkt_manifest_sort (m);
  assert_data (m,
               "{\n  \"remotes\": [\n"
               "    {\n      \"name\": \"appcenter\",\n      \"url\": \"https://flatpak.elementary.io/repo\",\n"
               "      \"scope\": \"system\"\n    },\n"
               "    { \"name\": \"flathub\", \"url\": \"https://dl.flathub.org/\", \"filtered\": true },\n"
               "    {\n      \"name\": \"mine\",\n      \"url\": \"https://x/\",\n"
               "      \"x-small\": { \"list\": [1, \"two\"], \"empty\": {} },\n"
               "      \"x-big\": {\n        \"list\": [1, \"two\"],\n        \"empty\": {},\n"
               "        \"note\": \"long enough that this object no longer fits on its line\"\n      }\n"
               "    }\n  ]\n}\n");

  /* 80 columns with the comma fit, 81 do not; the last entry has no
   * comma to count. */
  upsert_json (apps, "{\"id\": \"zzz.bambulab.BambuStudio\", \"remote\": \"flathub\", \"scope\": \"system\"}");
  upsert_json (apps, "{\"id\": \"com.fightcade.Fightcade\", \"remote\": \"flathub\", \"scope\": \"system\"}");
  upsert_json (apps, "{\"id\": \"com.bambulab.BambuStudio\", \"remote\": \"flathub\", \"scope\": \"system\"}");
  bkt_manifest_sort (apps);
  assert_data (apps,
               "{\n  \"apps\": [\n"
               "    {\n      \"id\": \"com.bambulab.BambuStudio\",\n      \"remote\": \"flathub\",\n"
               "      \"scope\": \"system\"\n    },\n"
               "    { \"id\": \"com.fightcade.Fightcade\", \"remote\": \"flathub\", \"scope\": \"system\" },\n"
               "    { \"id\": \"zzz.bambulab.BambuStudio\", \"remote\": \"flathub\", \"scope\": \"system\" }\n"
               "  ]\n}\n");
}

static void
test_unicode_and_escapes (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  const char *text = "caf\xC3\xA9 \"q\" back\\slash\ttab\nnl\r\x01\x1f/ \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC";
  g_autoptr(BktManifest) m = bkt_manifest_new_empty (BKT_MANIFEST_FLATPAK_APPS);
  g_autoptr(BktManifest) back = NULL;
  g_autoptr(JsonObject) app = new_app ("org.u.U", "flathub", "user");
  g_autofree char *out = NULL;
  g_autofree char *out2 = NULL;
  JsonArray *got;

  json_object_set_string_member (app, "x-text", text);
  json_object_set_member (app, "x-numbers",
                          json_from_string ("[42, -9223372036854775808, 0.1, 2.0, -1.5e300, 0.3333333333333333]", NULL));
  bkt_manifest_upsert (m, app);
  out = bkt_manifest_to_data (m, NULL);
  g_assert_nonnull (strstr (out, "\"x-text\": \"caf\xC3\xA9 \\\"q\\\" back\\\\slash\\ttab\\nnl\\r\\u0001\\u001f/ "
                                 "\xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC\""));
  /* Numbers are filled in, as prettier does. */
  g_assert_nonnull (strstr (out, "      \"x-numbers\": [\n"
                                 "        42, -9223372036854775808, 0.1, 2.0, -1.5e+300, 0.3333333333333333\n"
                                 "      ]\n"));

  /* Read back: the same values, 2.0 still a double, 42 an integer. */
  back = load_ok (BKT_MANIFEST_FLATPAK_APPS, "u.json", out);
  assert_same_entries (m, back);
  got = json_object_get_array_member (bkt_manifest_lookup (back, "org.u.U"), "x-numbers");
  g_assert_cmpint (json_node_get_value_type (json_array_get_element (got, 1)), ==, G_TYPE_INT64);
  g_assert_cmpint (json_node_get_value_type (json_array_get_element (got, 3)), ==, G_TYPE_DOUBLE);
  g_assert_true (json_array_get_double_element (got, 5) == 1.0 / 3.0);

  /* In a file written by hand, escapes spelled another way stay as they
   * are unless their entry changes. */
  g_clear_object (&back);
  back = load_ok (BKT_MANIFEST_FLATPAK_APPS, "u.json",
                  "{\"apps\": [\n  {\"id\": \"org.u.U\", \"remote\": \"flathub\", \"scope\": \"user\", \"x\": \"caf\\u00e9\\/\"}\n]}\n");
  out2 = save_and_check (back, dir);
  g_assert_nonnull (strstr (out2, "\"caf\\u00e9\\/\""));
  g_clear_pointer (&out2, g_free);
  bkt_manifest_upsert (back, app);
  out2 = save_and_check (back, dir);
  g_assert_nonnull (strstr (out2, "caf\xC3\xA9 \\\"q\\\""));

  /* Wide characters take two columns, combining marks none. */
  g_assert_cmpuint (bkt_json_text_width ("\xE6\x97\xA5\xE6\x9C\xAC", -1), ==, 4);
  g_assert_cmpuint (bkt_json_text_width ("e\xCC\x81", -1), ==, 1);
}

/* ------------------------------------------------------------------ */
/* Files                                                                */

static void
test_missing_and_unreadable (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *missing = g_build_filename (dir, "nope", "flatpak-apps.json", NULL);
  g_autofree char *as_dir = g_build_filename (dir, "gsettings.json", NULL);
  g_autofree char *big = g_build_filename (dir, "flatpak-remotes.json", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(BktManifest) m = NULL;
  g_autoptr(BktManifest) m2 = NULL;
  g_autoptr(BktManifest) m3 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  m = bkt_manifest_load_file (BKT_MANIFEST_FLATPAK_APPS, missing, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 0);
  g_assert_cmpstr (bkt_manifest_get_origin (m), ==, missing);

  /* Not a missing file: an error naming the path. */
  g_assert_cmpint (g_mkdir (as_dir, 0755), ==, 0);
  m2 = bkt_manifest_load_file (BKT_MANIFEST_GSETTINGS, as_dir, &error);
  g_assert_null (m2);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, as_dir));
  g_clear_error (&error);

  /* Over 8 MiB: refused, however valid. */
  contents = g_malloc (8 * 1024 * 1024 + 2);
  memset (contents, ' ', 8 * 1024 * 1024 + 1);
  contents[0] = '{';
  contents[8 * 1024 * 1024] = '}';
  contents[8 * 1024 * 1024 + 1] = '\0';
  bkt_test_write_in (dir, "flatpak-remotes.json", contents);
  m3 = bkt_manifest_load_file (BKT_MANIFEST_FLATPAK_REMOTES, big, &error);
  g_assert_null (m3);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  expected = g_strdup_printf ("%s: manifest is larger than the limit of 8 MiB", big);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_save_atomic (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *sub = g_build_filename (dir, "a", "b", NULL);
  g_autofree char *path = g_build_filename (sub, "flatpak-apps.json", NULL);
  g_autoptr(BktManifest) m = bkt_manifest_new_empty (BKT_MANIFEST_FLATPAK_APPS);
  g_autoptr(JsonObject) app = new_app ("org.a.A", "flathub", "system");
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *written = NULL;
  g_autofree char *written2 = NULL;
  struct stat st;
  mode_t old_umask;

  /* Missing parents are created, private; the file itself is 0644
   * whatever the umask. */
  old_umask = umask (0077);
  bkt_manifest_upsert (m, app);
  g_assert_true (bkt_manifest_save (m, path, &error));
  umask (old_umask);
  g_assert_no_error (error);
  written = bkt_test_read_file (path);
  expected = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (written, ==, expected);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0644);
  g_assert_cmpint (g_stat (sub, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  g_assert_cmpuint (count_dir_entries (sub), ==, 1);

  /* Replacing an existing file leaves exactly the new file. */
  g_assert_true (bkt_manifest_remove (m, "org.a.A"));
  g_assert_true (bkt_manifest_save (m, path, &error));
  g_assert_no_error (error);
  written2 = bkt_test_read_file (path);
  g_assert_null (strstr (written2, "org.a.A"));
  g_assert_cmpuint (count_dir_entries (sub), ==, 1);
}

static void
test_save_failure_leaves_no_tmp (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *target = g_build_filename (dir, "gsettings.json", NULL);
  g_autofree char *inside = g_build_filename (target, "keep", NULL);
  g_autofree char *kept = NULL;
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_autofree char *below_file = g_build_filename (file, "gsettings.json", NULL);
  g_autoptr(BktManifest) m = bkt_manifest_new_empty (BKT_MANIFEST_GSETTINGS);
  g_autoptr(GError) error = NULL;

  /* The target is a non-empty directory: rename() fails after the
   * temporary file was written.  Tests run as root, so a read-only
   * directory would not make anything fail. */
  bkt_test_write_in (target, "keep", "precious");
  g_assert_false (bkt_manifest_save (m, target, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, target));
  g_clear_error (&error);
  /* No gsettings.json.XXXXXX left behind, the old content untouched. */
  g_assert_cmpuint (count_dir_entries (dir), ==, 1);
  kept = bkt_test_read_file (inside);
  g_assert_cmpstr (kept, ==, "precious");

  /* The parent cannot be created: nothing is written at all. */
  bkt_test_write_in (dir, "file", "not a dir");
  g_assert_false (bkt_manifest_save (m, below_file, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_cmpuint (count_dir_entries (dir), ==, 2);
}

/* ------------------------------------------------------------------ */
/* Sets                                                                 */

static void
test_layered_merge (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *image = g_build_filename (dir, "image", NULL);
  g_autofree char *user = g_build_filename (dir, "user", NULL);
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(BktManifestSet) image_only = NULL;
  g_autoptr(BktManifestSet) user_only = NULL;
  g_autoptr(GError) error = NULL;
  BktManifest *apps;
  JsonObject *entry;
  g_autofree char *k0 = NULL;
  g_autofree char *k1 = NULL;
  g_autofree char *k2 = NULL;
  g_autofree char *k3 = NULL;

  bkt_test_write_in (image, "flatpak-apps.json",
              "{\"apps\": [\n"
              "  {\"id\": \"org.z.Image\", \"remote\": \"flathub\", \"scope\": \"system\"},\n"
              "  {\"id\": \"org.b.Both\", \"remote\": \"flathub\", \"scope\": \"system\", \"x-image\": 1},\n"
              "  {\"id\": \"org.a.Image\", \"remote\": \"flathub\", \"scope\": \"system\"}\n"
              "]}");
  bkt_test_write_in (user, "flatpak-apps.json",
              "{\"apps\": [\n"
              "  {\"id\": \"org.y.User\", \"remote\": \"flathub\", \"scope\": \"user\"},\n"
              "  {\"id\": \"org.b.Both\", \"remote\": \"mine\", \"scope\": \"user\"}\n"
              "]}");
  bkt_test_write_in (image, "gsettings.json",
              "{\"settings\": [{\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"1\"}]}");

  set = bkt_manifest_set_load_layered (image, user, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bkt_manifest_set_get_write_dir (set), ==, user);

  apps = bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_APPS);
  g_assert_cmpuint (bkt_manifest_get_n_entries (apps), ==, 4);
  k0 = entry_key_at (apps, 0);
  k1 = entry_key_at (apps, 1);
  k2 = entry_key_at (apps, 2);
  k3 = entry_key_at (apps, 3);
  g_assert_cmpstr (k0, ==, "org.a.Image");
  g_assert_cmpstr (k1, ==, "org.b.Both");
  g_assert_cmpstr (k2, ==, "org.y.User");
  g_assert_cmpstr (k3, ==, "org.z.Image");

  /* The user's entry wins whole: nothing of the image's survives. */
  entry = bkt_manifest_set_lookup (set, BKT_MANIFEST_FLATPAK_APPS, "org.b.Both");
  g_assert_cmpstr (json_object_get_string_member (entry, "remote"), ==, "mine");
  g_assert_cmpstr (json_object_get_string_member (entry, "scope"), ==, "user");
  g_assert_false (json_object_has_member (entry, "x-image"));

  /* Only in the image; in neither. */
  g_assert_nonnull (bkt_manifest_set_lookup (set, BKT_MANIFEST_GSETTINGS, "a.b k"));
  g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_REMOTES)), ==, 0);

  /* Either side may be absent. */
  image_only = bkt_manifest_set_load_layered (image, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (bkt_manifest_set_get_write_dir (image_only));
  g_clear_pointer (&k0, g_free);
  k0 = entry_key_at (bkt_manifest_set_get (image_only, BKT_MANIFEST_FLATPAK_APPS), 0);
  g_assert_cmpstr (k0, ==, "org.a.Image");

  user_only = bkt_manifest_set_load_layered (NULL, user, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (user_only, BKT_MANIFEST_FLATPAK_APPS)), ==, 2);
  g_clear_pointer (&k0, g_free);
  k0 = entry_key_at (bkt_manifest_set_get (user_only, BKT_MANIFEST_FLATPAK_APPS), 0);
  g_assert_cmpstr (k0, ==, "org.b.Both");
}

static void
test_layered_errors (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(BktManifestSet) empty = NULL;
  g_autoptr(BktManifestSet) broken = NULL;
  g_autoptr(GError) error = NULL;

  empty = bkt_manifest_set_load_layered (missing, missing, &error);
  g_assert_no_error (error);
  for (guint k = 0; k < BKT_MANIFEST_N_KINDS; k++)
    g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (empty, k)), ==, 0);

  /* A broken user file is an error, not silently ignored. */
  bkt_test_write_in (dir, "flatpak-remotes.json", "{\"remotes\": [}");
  broken = bkt_manifest_set_load_layered (missing, dir, &error);
  g_assert_null (broken);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  expected = g_strdup_printf ("%s/flatpak-remotes.json:1:14: expected a JSON value, got '}'", dir);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_load_dir_and_writable (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autofree char *path = g_build_filename (dir, "flatpak-apps.json", NULL);
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(BktManifest) raw = NULL;
  g_autoptr(BktManifest) raw_gs = NULL;
  g_autoptr(JsonObject) app = new_app ("org.m.M", "flathub", "system");
  g_autoptr(GError) error = NULL;
  g_autofree char *k0 = NULL;
  g_autofree char *k1 = NULL;
  g_autofree char *k2 = NULL;
  g_autofree char *saved = NULL;

  bkt_test_write_in (dir, "flatpak-apps.json",
              "{\"apps\": [\n"
              "  {\"id\": \"org.z.Z\", \"remote\": \"flathub\", \"scope\": \"system\"},\n"
              "  {\"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"system\"}\n"
              "]}");
  set = bkt_manifest_set_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bkt_manifest_set_get_write_dir (set), ==, dir);
  k0 = entry_key_at (bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_APPS), 0);
  g_assert_cmpstr (k0, ==, "org.a.A");
  g_clear_pointer (&k0, g_free);

  /* The writable copy is the file as it is, not the sorted view. */
  raw = bkt_manifest_set_load_writable (set, BKT_MANIFEST_FLATPAK_APPS, &error);
  g_assert_no_error (error);
  k0 = entry_key_at (raw, 0);
  g_assert_cmpstr (k0, ==, "org.z.Z");
  g_assert_cmpstr (bkt_manifest_get_origin (raw), ==, path);

  bkt_manifest_upsert (raw, app);
  g_assert_true (bkt_manifest_set_save_writable (set, raw, &error));
  g_assert_no_error (error);
  saved = bkt_test_read_file (path);
  g_assert_nonnull (strstr (saved, "org.m.M"));
  g_assert_cmpuint (count_dir_entries (dir), ==, 1);

  /* Kinds without a file yet start empty and are created on save. */
  raw_gs = bkt_manifest_set_load_writable (set, BKT_MANIFEST_GSETTINGS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (raw_gs), ==, 0);
  g_assert_true (bkt_manifest_set_save_writable (set, raw_gs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_dir_entries (dir), ==, 2);

  g_clear_object (&set);
  set = bkt_manifest_set_load_dir (dir, &error);
  g_assert_no_error (error);
  k1 = entry_key_at (bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_APPS), 1);
  k2 = entry_key_at (bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_APPS), 2);
  g_assert_cmpstr (k1, ==, "org.m.M");
  g_assert_cmpstr (k2, ==, "org.z.Z");
}

static void
assert_content_error (const char *content, gint code, const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifestSet) set = bkt_manifest_set_new_from_content (content, &error);

  g_assert_null (set);
  g_assert_error (error, BKT_ERROR, code);
  if (expected != NULL)
    g_assert_cmpstr (error->message, ==, expected);
}

static void
test_content (void)
{
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(BktManifest) m = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *huge = NULL;
  g_autofree char *out = NULL;

  set = bkt_manifest_set_new_from_content (
    "{\"flatpak-remotes\": {\"remotes\": [{\"name\": \"flathub\", \"url\": \"https://dl.flathub.org/repo/\"}]},\n"
    " \"flatpak-apps\": {\"$schema\": \"x\", \"apps\": [{\"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"system\"}]}}",
    &error);
  g_assert_no_error (error);
  g_assert_nonnull (set);
  g_assert_null (bkt_manifest_set_get_write_dir (set));
  g_assert_nonnull (bkt_manifest_set_lookup (set, BKT_MANIFEST_FLATPAK_REMOTES, "flathub"));
  g_assert_nonnull (bkt_manifest_set_lookup (set, BKT_MANIFEST_FLATPAK_APPS, "org.a.A"));
  g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (set, BKT_MANIFEST_GSETTINGS)), ==, 0);

  /* Nowhere to write. */
  m = bkt_manifest_set_load_writable (set, BKT_MANIFEST_FLATPAK_APPS, &error);
  g_assert_null (m);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  m = bkt_manifest_new_empty (BKT_MANIFEST_FLATPAK_APPS);
  g_assert_false (bkt_manifest_set_save_writable (set, m, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  /* Empty content is an empty set. */
  g_clear_object (&set);
  set = bkt_manifest_set_new_from_content ("{}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_APPS)), ==, 0);
  out = bkt_manifest_set_to_system_content (set);
  g_assert_cmpstr (out, ==, "{\"flatpak-remotes\":{\"remotes\":[]},\"flatpak-apps\":{\"apps\":[]},"
                            "\"system-packages\":{\"packages\":[]}}");

  assert_content_error ("{\"flatpak-apps\": {\"apps\": [\n"
                        "  {\"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"user\"}]}}",
                        BKT_ERROR_INVALID_MANIFEST,
                        "<request>:2:51: scope \"user\": the system instance only handles system scope");
  assert_content_error ("{\"flatpak-remotes\": {\"remotes\": [{\"name\": \"r\", \"url\": \"u\", \"scope\": \"user\"}]}}",
                        BKT_ERROR_INVALID_MANIFEST,
                        "<request>:1:69: scope \"user\": the system instance only handles system scope");
  /* Package names in content are checked like a file's, before any
   * rpm-ostree could see them; toolbox packages are not the system's. */
  assert_content_error ("{\"system-packages\": {\"packages\": [\"-rf\"]}}", BKT_ERROR_INVALID_MANIFEST, NULL);
  assert_content_error ("{\"system-packages\": {\"packages\": [\"htop; rm -rf /\"]}}", BKT_ERROR_INVALID_MANIFEST,
                        NULL);
  assert_content_error ("{\"toolbox-packages\": {\"packages\": []}}", BKT_ERROR_INVALID_MANIFEST, NULL);
  /* Validated exactly like a file, positions in the request. */
  assert_content_error ("{\n\"flatpak-apps\": {\"apps\": [{\"id\": 1}]}}",
                        BKT_ERROR_INVALID_MANIFEST,
                        "<request>:2:34: \"id\" must be a string, got a number");
  assert_content_error ("{\"flatpak-apps\": []}", BKT_ERROR_INVALID_MANIFEST,
                        "<request>:1:18: a flatpak-apps manifest must be a JSON object, got an array");
  assert_content_error ("{\"flatpak-apps\": {\"apps\": [}}", BKT_ERROR_INVALID_MANIFEST,
                        "<request>:1:28: expected a JSON value, got '}'");
  /* Only the kinds the system instance handles. */
  assert_content_error ("{\"gsettings\": {\"settings\": []}}", BKT_ERROR_INVALID_MANIFEST,
                        "<request>:1:15: unexpected member \"gsettings\" (expected \"flatpak-remotes\", \"flatpak-apps\" or \"system-packages\")");
  assert_content_error ("{\"other\": 1}", BKT_ERROR_INVALID_MANIFEST,
                        "<request>:1:11: unexpected member \"other\" (expected \"flatpak-remotes\", \"flatpak-apps\" or \"system-packages\")");
  assert_content_error ("[]", BKT_ERROR_INVALID_MANIFEST,
                        "<request>:1:1: manifest content must be a JSON object");

  /* Bounded before parsing. */
  huge = g_malloc (4 * 1024 * 1024 + 2);
  memset (huge, ' ', 4 * 1024 * 1024 + 1);
  huge[0] = '{';
  huge[4 * 1024 * 1024] = '}';
  huge[4 * 1024 * 1024 + 1] = '\0';
  assert_content_error (huge, BKT_ERROR_INVALID_ARGUMENT, NULL);
  /* Exactly at the limit is fine. */
  huge[4 * 1024 * 1024] = '\0';
  huge[4 * 1024 * 1024 - 1] = '}';
  g_clear_object (&set);
  set = bkt_manifest_set_new_from_content (huge, &error);
  g_assert_no_error (error);
}

static void
test_system_content (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("manifest");
  const char *dir = tmp->path;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(BktManifestSet) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *content = NULL;

  bkt_test_write_in (dir, "flatpak-remotes.json",
              "{\"remotes\": [\n"
              "  {\"name\": \"flathub\", \"url\": \"https://dl.flathub.org/repo/\", \"filtered\": true},\n"
              "  {\"name\": \"mine\", \"url\": \"https://x/\", \"scope\": \"user\"}\n"
              "]}");
  bkt_test_write_in (dir, "flatpak-apps.json",
              "{\"apps\": [\n"
              "  {\"id\": \"org.u.User\", \"remote\": \"flathub\", \"scope\": \"user\"},\n"
              "  {\"id\": \"org.s.System\", \"remote\": \"flathub\", \"scope\": \"system\", \"x\": 1}\n"
              "]}");
  bkt_test_write_in (dir, "gsettings.json",
              "{\"settings\": [{\"schema\": \"a.b\", \"key\": \"k\", \"value\": \"1\"}]}");
  /* Packages are system-wide: all of them go, as bare names, without the
   * members the system instance has no use for. */
  bkt_test_write_in (dir, "system-packages.json", "{\"packages\": [\"zsh\", \"htop\"], \"groups\": []}");

  set = bkt_manifest_set_load_dir (dir, &error);
  g_assert_no_error (error);
  content = bkt_manifest_set_to_system_content (set);
  g_assert_cmpstr (content, ==,
                   "{\"flatpak-remotes\":{\"remotes\":[{\"name\":\"flathub\",\"url\":\"https://dl.flathub.org/repo/\","
                   "\"filtered\":true}]},\"flatpak-apps\":{\"apps\":[{\"id\":\"org.s.System\",\"remote\":\"flathub\","
                   "\"scope\":\"system\",\"x\":1}]},\"system-packages\":{\"packages\":[\"htop\",\"zsh\"]}}");

  /* What the user instance sends, the system instance accepts. */
  back = bkt_manifest_set_new_from_content (content, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bkt_manifest_set_lookup (back, BKT_MANIFEST_FLATPAK_APPS, "org.s.System"));
  g_assert_null (bkt_manifest_set_lookup (back, BKT_MANIFEST_FLATPAK_APPS, "org.u.User"));
  g_assert_nonnull (bkt_manifest_set_lookup (back, BKT_MANIFEST_FLATPAK_REMOTES, "flathub"));
  g_assert_nonnull (bkt_manifest_lookup_node (bkt_manifest_set_get (back, BKT_MANIFEST_SYSTEM_PACKAGES), "zsh"));
  g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (back, BKT_MANIFEST_SYSTEM_PACKAGES)), ==, 2);
}

static void
test_fixtures_as_layers (void)
{
  /* The original distribution's directory works as the image layer, and
   * its system part goes through the content path unchanged. */
  g_autofree char *image = bkt_test_data_path ("original", NULL);
  g_autofree char *apps_path = bkt_test_data_path ("original", "flatpak-apps.json", NULL);
  g_autofree char *apps_text = bkt_test_read_file (apps_path);
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(BktManifestSet) sys = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *content = NULL;
  guint n_apps = count_occurrences (apps_text, "\"id\"");
  guint n_user = count_occurrences (apps_text, "\"scope\": \"user\"");

  set = bkt_manifest_set_load_layered (image, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_APPS)), ==, n_apps);

  content = bkt_manifest_set_to_system_content (set);
  sys = bkt_manifest_set_new_from_content (content, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (bkt_manifest_set_get (sys, BKT_MANIFEST_FLATPAK_APPS)),
                    ==, n_apps - n_user);
}


/* The package manifests: the original's empty files load and round-trip
 * byte for byte; names are bare strings, validated; edits keep the other
 * members (groups, excluded, copr_repos) as they are. */
static void
test_package_manifests (void)
{
  const BktManifestKind kinds[] = { BKT_MANIFEST_SYSTEM_PACKAGES, BKT_MANIFEST_TOOLBOX_PACKAGES };
  static const char text[] =
    "{\n"
    "  \"packages\": [\n"
    "    \"htop\",\n"
    "    \"zsh\"\n"
    "  ],\n"
    "  \"groups\": [\"development-tools\"],\n"
    "  \"excluded\": [],\n"
    "  \"copr_repos\": [{ \"name\": \"atim/starship\", \"enabled\": true, \"gpg_check\": true }]\n"
    "}\n";
  static const char *const bad[] = {
    "{\"packages\": [\"-rf\"]}",
    "{\"packages\": [\"htop; rm -rf /\"]}",
    "{\"packages\": [\"\"]}",
    "{\"packages\": [{\"name\": \"htop\"}]}",
    "{\"packages\": [\"htop\", \"htop\"]}",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifest) m = NULL;
  g_autoptr(JsonObject) fish = json_object_new ();
  g_autoptr(JsonObject) obj = NULL;
  g_autofree char *data = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *contents = NULL;
      g_autoptr(BktManifest) f = load_fixture (kinds[i], &contents);
      g_autofree char *out = bkt_manifest_to_data (f, NULL);

      g_assert_cmpuint (bkt_manifest_get_n_entries (f), ==, 0);
      g_assert_cmpstr (out, ==, contents);
    }
  g_assert_cmpstr (bkt_manifest_kind_name (BKT_MANIFEST_SYSTEM_PACKAGES), ==, "system-packages");
  g_assert_cmpstr (bkt_manifest_kind_list_member (BKT_MANIFEST_TOOLBOX_PACKAGES), ==, "packages");

  m = bkt_manifest_load_data (BKT_MANIFEST_SYSTEM_PACKAGES, "system-packages.json", text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 2);
  g_assert_nonnull (bkt_manifest_lookup_node (m, "zsh"));
  obj = bkt_manifest_node_to_object (BKT_MANIFEST_SYSTEM_PACKAGES, bkt_manifest_lookup_node (m, "htop"));
  g_assert_cmpstr (json_object_get_string_member (obj, "name"), ==, "htop");

  json_object_set_string_member (fish, "name", "fish");
  bkt_manifest_upsert (m, fish);
  bkt_manifest_upsert (m, fish);   /* idempotent */
  g_assert_true (bkt_manifest_remove (m, "zsh"));
  data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==,
    "{\n"
    "  \"packages\": [\n"
    "    \"fish\",\n"
    "    \"htop\"\n"
    "  ],\n"
    "  \"groups\": [\"development-tools\"],\n"
    "  \"excluded\": [],\n"
    "  \"copr_repos\": [{ \"name\": \"atim/starship\", \"enabled\": true, \"gpg_check\": true }]\n"
    "}\n");

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(BktManifest) b = bkt_manifest_load_data (BKT_MANIFEST_SYSTEM_PACKAGES, "system-packages.json",
                                                         bad[i], -1, &error);
      g_assert_null (b);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      g_clear_error (&error);
    }
  {
    g_autofree char *long_name = g_strnfill (300, 'a');
    g_autofree char *why = bkt_manifest_check_package_name (long_name);
    g_autofree char *ok = bkt_manifest_check_package_name ("gcc-c++");
    g_autofree char *copr_ok = bkt_manifest_check_copr_name ("@group/proj.x");
    g_autofree char *copr_bad = bkt_manifest_check_copr_name ("owner/../x");
    g_assert_nonnull (why);
    g_assert_null (ok);
    g_assert_null (copr_ok);
    g_assert_nonnull (copr_bad);
  }
}

/* Lookups go through an index (find_entry): it follows every change,
 * made here (upsert, remove, sort) or by a caller through get_entries()
 * (appended, reordered, replaced in place). */
static void
test_lookup_index (void)
{
  g_autoptr(BktManifest) m = bkt_manifest_new_empty (BKT_MANIFEST_SYSTEM_PACKAGES);
  JsonArray *entries = bkt_manifest_get_entries (m);
  char name[32];

  for (guint i = 0; i < 500; i++)
    {
      g_autoptr(JsonObject) e = json_object_new ();
      g_snprintf (name, sizeof name, "pkg-%03u", 499 - i);
      json_object_set_string_member (e, "name", name);
      bkt_manifest_upsert (m, e);
    }
  g_assert_nonnull (bkt_manifest_lookup_node (m, "pkg-000"));
  g_assert_null (bkt_manifest_lookup_node (m, "pkg-500"));
  g_assert_true (bkt_manifest_remove (m, "pkg-250"));
  g_assert_null (bkt_manifest_lookup_node (m, "pkg-250"));
  g_assert_false (bkt_manifest_remove (m, "pkg-250"));
  bkt_manifest_sort (m);
  g_assert_cmpstr (json_node_get_string (bkt_manifest_lookup_node (m, "pkg-001")), ==, "pkg-001");
  g_assert_cmpstr (json_array_get_string_element (entries, 1), ==, "pkg-001");
  /* behind the manifest's back */
  json_array_add_string_element (entries, "late");
  g_assert_nonnull (bkt_manifest_lookup_node (m, "late"));
  json_array_remove_element (entries, 0);
  json_array_add_string_element (entries, "renamed");
  g_assert_nonnull (bkt_manifest_lookup_node (m, "renamed"));
  g_assert_null (bkt_manifest_lookup_node (m, "pkg-000"));
  g_assert_cmpstr (json_node_get_string (bkt_manifest_lookup_node (m, "pkg-002")), ==, "pkg-002");
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 500);
}

int
main (int argc, char *argv[])
{
  bkt_test_init (&argc, &argv);

  g_test_add_func ("/manifest/kinds", test_kinds);
  g_test_add_func ("/manifest/entry-key", test_entry_key);
  g_test_add_func ("/manifest/original-fixtures", test_original_fixtures);
  g_test_add_func ("/manifest/wrong-types", test_wrong_types);
  g_test_add_func ("/manifest/invalid-values", test_invalid_values);
  g_test_add_func ("/manifest/duplicates", test_duplicates);
  g_test_add_func ("/manifest/syntax-error-names-file", test_syntax_error_names_file);
  g_test_add_func ("/manifest/unknown-members-round-trip", test_unknown_members_round_trip);
  g_test_add_func ("/manifest/upsert-remove-sort", test_upsert_remove_sort);
  g_test_add_func ("/manifest/upsert-drops-known-members", test_upsert_drops_known_members);
  g_test_add_func ("/manifest/new-entries-order", test_new_entries_order);
  g_test_add_func ("/manifest/copy-is-deep", test_copy_is_deep);
  g_test_add_func ("/manifest/write/fixture-apps-edits", test_fixture_apps_edits);
  g_test_add_func ("/manifest/write/fixture-gsettings-edits", test_fixture_gsettings_edits);
  g_test_add_func ("/manifest/write/edit-layouts", test_edit_layouts);
  g_test_add_func ("/manifest/write/new-file-layout", test_new_file_layout);
  g_test_add_func ("/manifest/write/unicode-and-escapes", test_unicode_and_escapes);
  g_test_add_func ("/manifest/missing-and-unreadable", test_missing_and_unreadable);
  g_test_add_func ("/manifest/save-atomic", test_save_atomic);
  g_test_add_func ("/manifest/save-failure-leaves-no-tmp", test_save_failure_leaves_no_tmp);
  g_test_add_func ("/manifest-set/layered-merge", test_layered_merge);
  g_test_add_func ("/manifest-set/layered-errors", test_layered_errors);
  g_test_add_func ("/manifest-set/load-dir-and-writable", test_load_dir_and_writable);
  g_test_add_func ("/manifest-set/content", test_content);
  g_test_add_func ("/manifest-set/system-content", test_system_content);
  g_test_add_func ("/manifest-set/fixtures-as-layers", test_fixtures_as_layers);
  g_test_add_func ("/manifest/packages", test_package_manifests);
  g_test_add_func ("/manifest/lookup-index", test_lookup_index);

  return g_test_run ();
}
