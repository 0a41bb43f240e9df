/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bkt-base.h"
#include "bkt-changelog.h"
#include "bkt-changelog-gen.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-test.h"

/* The changelog and base-assumption engines on scratch repos: both entry
 * formats, errors with file and line, release numbering across days,
 * refusals that leave every file as it was. */

/* The original's YAML entry, as its `bkt changelog add` wrote it. */
static const char original_yaml[] =
  "timestamp: 2025-01-02T10:11:12Z\n"
  "type: added\n"
  "category: flatpak\n"
  "message: 'Add Firefox: the browser'\n"
  "command: bkt flatpak add org.mozilla.firefox\n"
  "pr: 42\n"
  "draft: false\n";

static void
test_yaml_original (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) e = bkt_changelog_parse_entry ("e.yaml", original_yaml, strlen (original_yaml), TRUE, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (e, "type"), ==, "added");
  g_assert_cmpstr (json_object_get_string_member (e, "message"), ==, "Add Firefox: the browser");
  g_assert_cmpstr (json_object_get_string_member (e, "command"), ==, "bkt flatpak add org.mozilla.firefox");
  g_assert_cmpint (json_object_get_int_member (e, "pr"), ==, 42);
  g_assert_false (json_object_get_boolean_member (e, "draft"));
}

static void
test_yaml_manual_steps (void)
{
  const char *y = "---\n# a comment\ntimestamp: 2025-01-02T10:11:12Z\ntype: changed\ncategory: system\n"
                  "message: \"Quoted \\\"x\\\"\"\ndraft: true\npr: null\nmanual_steps:\n  - Log out and in\n  - 'Run it''s thing'\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) e = bkt_changelog_parse_entry ("e.yaml", y, strlen (y), TRUE, &error);
  JsonArray *steps;

  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (e, "message"), ==, "Quoted \"x\"");
  g_assert_true (json_object_get_boolean_member (e, "draft"));
  g_assert_false (json_object_has_member (e, "pr"));
  steps = json_object_get_array_member (e, "manual_steps");
  g_assert_cmpuint (json_array_get_length (steps), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (steps, 1), ==, "Run it's thing");
}

static void
expect_error (const char *data, gboolean yaml, const char *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) e = bkt_changelog_parse_entry ("f", data, strlen (data), yaml, &error);

  g_assert_null (e);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  if (strstr (error->message, message) == NULL)
    g_error ("expected “%s” in “%s”", message, error->message);
}

static void
test_bad_entries (void)
{
  expect_error ("timestamp: 2025-01-02T10:11:12Z\ntype: improved\ncategory: dnf\nmessage: x\n", TRUE,
                "f:2: unknown type “improved”");
  expect_error ("timestamp: 2025-01-02T10:11:12Z\ntype: added\ncategory: flatpack\nmessage: x\n", TRUE,
                "f:3: unknown category “flatpack”");
  expect_error ("timestamp: x\ntype: added\ncategory: dnf\nmessage: m\n", TRUE, "f:1: “timestamp” is not an ISO 8601");
  expect_error ("type: added\ntype: fixed\n", TRUE, "f:2: duplicate key “type”");
  expect_error ("type: added\n  nested: 1\n", TRUE, "f:2: unexpected indentation");
  expect_error ("type: [added]\n", TRUE, "f:1: unsupported YAML");
  expect_error ("type: 'added\n", TRUE, "f:1: unterminated");
  expect_error ("- x\n", TRUE, "f:1: a list item outside a list");
  expect_error ("type: added\ncategory: dnf\nmessage: m\n", TRUE, "missing field “timestamp”");
  expect_error ("{\n  \"timestamp\": \"2025-01-02T10:11:12Z\",\n  \"type\": \"added\",\n  \"category\": \"dnf\",\n"
                "  \"message\": \"m\",\n  \"pr\": \"12\"\n}\n", FALSE, "f:6: “pr” must be a positive integer");
  expect_error ("{\n  \"timestamp\": \"2025-01-02T10:11:12Z\",\n  \"type\": \"added\",\n  \"category\": \"dnf\",\n"
                "  \"message\": \"m\",\n  \"colour\": 1\n}\n", FALSE, "f:6: unknown field “colour”");
  expect_error ("{ \"type\": ", FALSE, "f:1:");
  expect_error ("[]", FALSE, "f:1:1: a changelog entry must be an object");
}

static void
test_bad_files (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("changelog");
  const char *repo = tmp->path;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *big = g_strnfill (BKT_CHANGELOG_MAX_FILE + 1, 'a');
  g_autofree char *target = g_build_filename (repo, "outside.json", NULL);
  g_autofree char *link = g_build_filename (repo, ".changelog", "pending", "link.json", NULL);

  bkt_test_dir_write (tmp, ".changelog/pending/.gitkeep", "");
  bkt_test_dir_write (tmp, ".changelog/pending/big.yaml", big);
  entries = bkt_changelog_load_pending (repo, &error);
  g_assert_null (entries);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_nonnull (strstr (error->message, ".changelog/pending/big.yaml:1: too large"));
  g_clear_error (&error);
  {
    g_autofree char *big_path = g_build_filename (repo, ".changelog", "pending", "big.yaml", NULL);
    g_unlink (big_path);
  }

  bkt_test_dir_write (tmp, "outside.json", "{}");
  g_assert_cmpint (symlink (target, link), ==, 0);
  entries = bkt_changelog_load_pending (repo, &error);
  g_assert_null (entries);
  g_assert_nonnull (strstr (error->message, "link.json:1: not a regular file"));
  g_clear_error (&error);
  g_unlink (link);

  bkt_test_dir_write (tmp, ".changelog/pending/notes.txt", "x");
  entries = bkt_changelog_load_pending (repo, &error);
  g_assert_null (entries);
  g_assert_nonnull (strstr (error->message, "notes.txt:1: not a changelog entry name"));
  g_clear_error (&error);

  g_assert_false (bkt_changelog_version_is_valid ("../../etc/passwd"));
  g_assert_false (bkt_changelog_version_is_valid ("2026.1.5.1"));
  g_assert_false (bkt_changelog_version_is_valid ("2026.01.05.0"));
  g_assert_true (bkt_changelog_version_is_valid ("2026.01.05.12"));
  g_assert_null (bkt_changelog_load_version (repo, "../x", &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
}

static char *
add (const char *repo, const char *type, const char *category, gboolean draft, const char *step)
{
  g_autoptr(JsonObject) e = json_object_new ();
  g_autoptr(GError) error = NULL;
  char *path;

  json_object_set_string_member (e, "type", type);
  json_object_set_string_member (e, "category", category);
  json_object_set_string_member (e, "message", "a change");
  json_object_set_boolean_member (e, "draft", draft);
  if (step != NULL)
    {
      JsonArray *a = json_array_new ();
      json_array_add_string_element (a, step);
      json_object_set_array_member (e, "manual_steps", a);
    }
  path = bkt_changelog_add (repo, e, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_release_across_days (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("changelog");
  const char *repo = tmp->path;
  g_autoptr(GError) error = NULL;
  g_autofree char *v = NULL;
  g_autofree char *md = NULL;
  g_autofree char *draft = NULL;
  g_auto(GStrv) versions = NULL;
  g_autoptr(JsonObject) doc = NULL;

  g_setenv ("BKT_NOW", "2026-01-05T23:59:00Z", TRUE);
  g_free (add (repo, "added", "flatpak", FALSE, "Log out"));
  v = bkt_changelog_release (repo, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (v, ==, "2026.01.05.1");
  g_clear_pointer (&v, g_free);

  /* a second release the same day, then the next day starts at .1 */
  g_free (add (repo, "fixed", "dnf", FALSE, NULL));
  v = bkt_changelog_release (repo, NULL, &error);
  g_assert_cmpstr (v, ==, "2026.01.05.2");
  g_clear_pointer (&v, g_free);
  g_setenv ("BKT_NOW", "2026-01-06", TRUE);
  g_free (add (repo, "security", "base", FALSE, NULL));
  v = bkt_changelog_release (repo, NULL, &error);
  g_assert_cmpstr (v, ==, "2026.01.06.1");
  g_clear_pointer (&v, g_free);

  versions = bkt_changelog_list_versions (repo, &error);
  g_assert_cmpuint (g_strv_length (versions), ==, 3);
  g_assert_cmpstr (versions[0], ==, "2026.01.05.1");
  g_assert_cmpstr (versions[2], ==, "2026.01.06.1");
  doc = bkt_changelog_load_version (repo, "2026.01.05.1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (doc, "manual_steps"), 0), ==, "Log out");

  md = bkt_test_dir_read (tmp, "CHANGELOG.md");
  g_assert_nonnull (strstr (md, BKT_CHANGELOG_MARKER "\n\n## 2026.01.06.1 (2026-01-06)\n\n### Security\n"));
  g_assert_true (strstr (md, "## 2026.01.06.1") < strstr (md, "## 2026.01.05.2"));
  g_assert_nonnull (strstr (md, "### Manual steps\n\n- Log out\n"));

  /* a draft blocks the release and nothing changes */
  g_clear_pointer (&md, g_free);
  md = bkt_test_dir_read (tmp, "CHANGELOG.md");
  draft = add (repo, "changed", "gsetting", TRUE, NULL);
  v = bkt_changelog_release (repo, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "draft"));
  g_clear_error (&error);
  {
    g_autofree char *now = bkt_test_dir_read (tmp, "CHANGELOG.md");
    g_assert_cmpstr (now, ==, md);
    g_assert_true (g_file_test (draft, G_FILE_TEST_EXISTS));
  }
  /* an explicit version that exists is refused */
  g_assert_cmpuint (bkt_changelog_clear (repo, &error), ==, 1);
  g_free (add (repo, "changed", "gsetting", FALSE, NULL));
  g_assert_null (bkt_changelog_release (repo, "2026.01.05.2", &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_clear_error (&error);
  g_unsetenv ("BKT_NOW");
}

static void
test_release_needs_marker (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("changelog");
  const char *repo = tmp->path;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  g_autofree char *versions = g_build_filename (repo, ".changelog", "versions", NULL);

  bkt_test_dir_write (tmp, "CHANGELOG.md", "# Changelog\n\nhand written\n");
  g_free (add (repo, "added", "docs", FALSE, NULL));
  g_assert_null (bkt_changelog_release (repo, NULL, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_false (g_file_test (versions, G_FILE_TEST_EXISTS));
  pending = bkt_changelog_load_pending (repo, NULL);
  g_assert_cmpuint (pending->len, ==, 1);
  g_clear_error (&error);
  g_assert_null (bkt_changelog_release (repo, "2026.13", &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
}

/* What a punned change puts in its PR reads back as a valid draft. */
static void
test_draft_entry (void)
{
  const struct { const char *sub, *action, *type, *category; } cases[] = {
    { "gsettings", "set", "changed", "gsetting" },
    { "flatpak", "add", "added", "flatpak" },
    { "extension", "remove", "removed", "extension" },
    { "shims", "add", "added", "shim" },
    { "mystery", "poke", "changed", "other" },
  };

  g_setenv ("BKT_NOW", "2026-03-04T05:06:07Z", TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = NULL;
      g_autofree char *expected = NULL;
      g_autoptr(GBytes) b = bkt_changelog_draft_entry (cases[i].sub, cases[i].action, "x.y", "bkt z", i, &path, &error);
      g_autoptr(JsonObject) e = NULL;
      gsize len;
      const char *data;

      g_assert_no_error (error);
      data = g_bytes_get_data (b, &len);
      e = bkt_changelog_parse_entry (path, data, len, FALSE, &error);
      g_assert_no_error (error);
      g_assert_true (json_object_get_boolean_member (e, "draft"));
      g_assert_cmpstr (json_object_get_string_member (e, "type"), ==, cases[i].type);
      g_assert_cmpstr (json_object_get_string_member (e, "category"), ==, cases[i].category);
      g_assert_cmpstr (json_object_get_string_member (e, "command"), ==, "bkt z");
      expected = i == 0 ? g_strdup_printf (".changelog/pending/20260304T050607Z-%s.json", cases[i].category)
                        : g_strdup_printf (".changelog/pending/20260304T050607Z-%s-%u.json", cases[i].category, i + 1);
      g_assert_cmpstr (path, ==, expected);
    }
  g_unsetenv ("BKT_NOW");
}

static void
test_base_reference_loads (void)
{
  g_autofree char *path = bkt_test_data_path ("original", BKT_BASE_FILE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) o = bkt_base_load (path, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "packages")), ==, 8);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "paths")), ==, 7);
}

static void
test_base_assume (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("changelog");
  const char *repo = tmp->path;
  g_autofree char *src = bkt_test_data_path ("original", BKT_BASE_FILE, NULL);
  g_autofree char *text = NULL;
  g_autofree char *path = g_build_filename (repo, BKT_BASE_FILE, NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) o = NULL;
  JsonArray *p;

  g_file_get_contents (src, &text, NULL, &error);
  bkt_test_dir_write (tmp, BKT_BASE_FILE, text);
  g_assert_true (bkt_base_set_package (path, "grub2", "Boots", FALSE, &error));
  g_assert_no_error (error);
  o = bkt_base_load (path, &error);
  p = json_object_get_array_member (o, "packages");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (p, 4), "name"), ==, "grub2");
  g_assert_cmpuint (json_array_get_length (p), ==, 9);

  before = bkt_test_dir_read (tmp, BKT_BASE_FILE);
  g_assert_false (bkt_base_set_package (path, "grub2", "again", FALSE, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (bkt_base_set_package (path, "--root=/", NULL, FALSE, &error));
  g_clear_error (&error);
  g_assert_false (bkt_base_set_package (path, "nano", NULL, TRUE, &error));
  g_clear_error (&error);
  after = bkt_test_dir_read (tmp, BKT_BASE_FILE);
  g_assert_cmpstr (before, ==, after);

  g_assert_true (bkt_base_set_package (path, "grub2", NULL, TRUE, &error));
  g_clear_pointer (&after, g_free);
  after = bkt_test_dir_read (tmp, BKT_BASE_FILE);
  /* removing what was added gives the original file back, byte for byte */
  g_assert_cmpstr (after, ==, text);
}

/* The pull request's edit (bkt base … --pr): no error for what the
 * branch already says, another reason replaces the entry's. */
static void
test_base_edit_data (void)
{
  g_autofree char *src = bkt_test_data_path ("original", BKT_BASE_FILE, NULL);
  g_autofree char *text = NULL;
  g_autofree char *same = NULL;
  g_autofree char *none = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *added = NULL;
  g_autofree char *back = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0, n = 0;

  g_assert_true (g_file_get_contents (src, &text, &len, NULL));
  same = bkt_base_edit_data ("f", text, len, "flatpak", NULL, FALSE, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (same, ==, text);
  none = bkt_base_edit_data ("f", text, len, "nano", NULL, TRUE, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (none, ==, text);
  reason = bkt_base_edit_data ("f", text, len, "flatpak", "Apps", FALSE, &n, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (reason, "\"reason\": \"Apps\""));
  g_assert_null (strstr (reason, "Core to bkt flatpak commands"));
  added = bkt_base_edit_data ("f", text, len, "grub2", "Boots", FALSE, &n, &error);
  g_assert_no_error (error);
  back = bkt_base_edit_data ("f", added, n, "grub2", NULL, TRUE, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, text);
  g_assert_null (bkt_base_edit_data ("f", text, len, "-x", NULL, FALSE, &n, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
}

/* A repo-side change's draft uses its command's words. */
static void
test_draft_entry_words (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GBytes) b = bkt_changelog_draft_entry_full ("upstream", "update", "lazygit", "changed",
                                                        "Update lazygit from v1 to v2", "bkt upstream update lazygit --pr",
                                                        0, &path, &error);
  g_autoptr(JsonParser) p = json_parser_new ();
  JsonObject *o;

  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (p, g_bytes_get_data (b, NULL), (gssize) g_bytes_get_size (b), NULL));
  o = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpstr (json_object_get_string_member (o, "message"), ==, "Update lazygit from v1 to v2");
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "changed");
  g_assert_cmpstr (json_object_get_string_member (o, "category"), ==, "upstream");
  g_assert_true (json_object_get_boolean_member (o, "draft"));
  g_assert_true (g_str_has_suffix (path, "-upstream.json"));
}

static void
test_base_bad (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("changelog");
  const char *repo = tmp->path;
  g_autofree char *path = g_build_filename (repo, BKT_BASE_FILE, NULL);
  g_autoptr(GError) error = NULL;

  bkt_test_dir_write (tmp, BKT_BASE_FILE, "{\n  \"base_image\": { \"source\": \"x\" },\n  \"packages\": [\n    { \"name\": \"-x\" }\n  ]\n}\n");
  g_assert_null (bkt_base_load (path, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_nonnull (strstr (error->message, BKT_BASE_FILE ":4:15:"));
  g_clear_error (&error);
  bkt_test_dir_write (tmp, BKT_BASE_FILE, "{\n  \"base_image\": { \"source\": \"x\" },\n  \"packages\": [],\n  \"paths\": [\"/usr/../etc\"]\n}\n");
  g_assert_null (bkt_base_load (path, &error));
  g_assert_nonnull (strstr (error->message, ":4:13: invalid path \"/usr/../etc\": must be an absolute path without \"..\" elements"));
}

/* ---- generate ------------------------------------------------------------------------ */

static void
git (const char *dir, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (argv, (char *) "git");
  g_ptr_array_add (argv, (char *) "-C");
  g_ptr_array_add (argv, (char *) dir);
  g_ptr_array_add (argv, (char *) "-c");
  g_ptr_array_add (argv, (char *) "user.name=T");
  g_ptr_array_add (argv, (char *) "-c");
  g_ptr_array_add (argv, (char *) "user.email=t@example.org");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("git failed: %s", err);
}

static char *
entries_text (JsonObject *result)
{
  JsonArray *a = json_object_get_array_member (result, "entries");
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *e = json_array_get_object_element (a, i);
      g_string_append_printf (s, "%s %s: %s\n", json_object_get_string_member (e, "type"),
                              json_object_get_string_member (e, "category"), json_object_get_string_member (e, "message"));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Real git history: a branch changing several manifests, compared with its
 * merge-base, then with --write the drafts cover everything. */
static void
test_generate (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("changelog");
  const char *dir = tmp->path;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(JsonObject) from_head = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  g_auto(GStrv) written = NULL;
  g_autofree char *text = NULL;

  bkt_test_dir_write (tmp, "manifests/flatpak-apps.json",
       "{\"apps\": [{\"id\": \"org.a.A\", \"remote\": \"flathub\", \"scope\": \"system\"},\n"
       "  {\"id\": \"org.b.B\", \"remote\": \"flathub\", \"scope\": \"system\"}]}\n");
  bkt_test_dir_write (tmp, "manifests/gsettings.json",
       "{\"settings\": [{\"schema\": \"org.gnome.desktop.interface\", \"key\": \"color-scheme\", \"value\": \"'default'\"}]}\n");
  bkt_test_dir_write (tmp, "manifests/gnome-extensions.json", "{\"extensions\": [\"a@x\", \"b@x\"]}\n");
  bkt_test_dir_write (tmp, "manifests/system-packages.json", "{\"packages\": [\"vim\"], \"copr_repos\": []}\n");
  git (dir, (const char *[]) { "init", "-q", "-b", "main", NULL });
  git (dir, (const char *[]) { "add", ".", NULL });
  git (dir, (const char *[]) { "commit", "-q", "-m", "initial", NULL });
  git (dir, (const char *[]) { "checkout", "-q", "-b", "topic", NULL });
  /* committed on the branch */
  bkt_test_dir_write (tmp, "manifests/flatpak-apps.json",
       "{\"apps\": [{\"id\": \"org.b.B\", \"remote\": \"flathub\", \"scope\": \"user\"},\n"
       "  {\"id\": \"org.c.C\", \"remote\": \"flathub\", \"scope\": \"system\"}]}\n");
  bkt_test_dir_write (tmp, "manifests/host-shims.json", "{\"shims\": [{\"name\": \"podman\"}]}\n");
  git (dir, (const char *[]) { "commit", "-qam", "apps", NULL });
  git (dir, (const char *[]) { "add", ".", NULL });
  git (dir, (const char *[]) { "commit", "-qm", "shims", NULL });
  /* and uncommitted */
  bkt_test_dir_write (tmp, "manifests/gsettings.json",
       "{\"settings\": [{\"schema\": \"org.gnome.desktop.interface\", \"key\": \"color-scheme\", \"value\": \"'prefer-dark'\"}]}\n");
  bkt_test_dir_write (tmp, "manifests/gnome-extensions.json", "{\"extensions\": [{\"uuid\": \"a@x\", \"enabled\": false}]}\n");
  bkt_test_dir_write (tmp, "manifests/system-packages.json",
       "{\"packages\": [\"vim\", \"htop\"], \"copr_repos\": [{\"name\": \"atim/starship\", \"enabled\": true, \"gpg_check\": true}]}\n");
  bkt_test_dir_write (tmp, "upstream/manifest.json",
       "{\"upstreams\": [{\"name\": \"starship\", \"source\": {\"type\": \"github\"}, \"pinned\": {\"version\": \"1.2.3\"}}]}\n");

  result = bkt_changelog_generate (dir, NULL, &error);
  g_assert_no_error (error);
  text = entries_text (result);
  g_assert_cmpstr (text, ==,
                   "changed flatpak: change flatpak org.b.B\n"
                   "added flatpak: add flatpak org.c.C\n"
                   "removed flatpak: remove flatpak org.a.A\n"
                   "changed gsetting: set gsetting org.gnome.desktop.interface color-scheme\n"
                   "changed extension: disable extension a@x\n"
                   "removed extension: remove extension b@x\n"
                   "added shim: add shim podman\n"
                   "added dnf: add dnf htop\n"
                   "added dnf: add dnf copr atim/starship\n"
                   "added upstream: Add upstream starship (?) at 1.2.3\n");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (result, "base"), "merge-base with main ("));
  /* an explicit base: HEAD has the committed part */
  from_head = bkt_changelog_generate (dir, "HEAD", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (from_head, "entries")), ==, 6);

  /* a pending entry of a punned PR covers its change; a dnf one all its packages */
  {
    g_autoptr(JsonObject) e = json_object_new ();
    g_autofree char *p = NULL;
    g_autoptr(JsonObject) r2 = NULL;
    json_object_set_string_member (e, "type", "added");
    json_object_set_string_member (e, "category", "dnf");
    json_object_set_string_member (e, "message", "add dnf htop btop");
    p = bkt_changelog_add (dir, e, &error);
    g_assert_no_error (error);
    r2 = bkt_changelog_generate (dir, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (r2, "entries")), ==, 9);
    g_assert_cmpint (json_object_get_int_member (r2, "covered"), ==, 1);
  }

  written = bkt_changelog_generate_write (dir, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (written), ==, 10);
  pending = bkt_changelog_load_pending (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pending->len, ==, 11);
  for (guint i = 0; i < pending->len; i++)
    if (!g_str_equal (json_object_get_string_member (pending->pdata[i], "message"), "add dnf htop btop"))
      g_assert_true (json_object_get_boolean_member (pending->pdata[i], "draft"));
  again = bkt_changelog_generate (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (again, "entries")), ==, 0);

  /* bad input: a malformed manifest on either side names it; a revision
   * is never an option */
  g_clear_pointer (&result, json_object_unref);
  result = bkt_changelog_generate (dir, "--output=/tmp/x", &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  result = bkt_changelog_generate (dir, "no-such-branch", &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  bkt_test_dir_write (tmp, "manifests/host-shims.json", "{\"shims\": [{\"name\": \"podman\"},]}\n");
  result = bkt_changelog_generate (dir, NULL, &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_true (g_str_has_prefix (error->message, "manifests/host-shims.json:1:"));
  g_clear_error (&error);
  bkt_test_dir_write (tmp, "upstream/manifest.json", "{\"upstreams\": [{\"source\": {}}]}\n");
  bkt_test_dir_write (tmp, "manifests/host-shims.json", "{\"shims\": [{\"name\": \"podman\"}]}\n");
  result = bkt_changelog_generate (dir, NULL, &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_true (g_str_has_prefix (error->message, "upstream/manifest.json:1:16: "));
  g_clear_error (&error);
}

/* Version files are read for status and motd long after release: a bad
 * one is an error at its position. */
static void
test_bad_version_files (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("changelog");
  const char *dir = tmp->path;
  g_autofree char *vdir = g_build_filename (dir, "versions", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) doc = NULL;
  g_auto(GStrv) versions = NULL;
  g_autofree char *text = NULL;

  bkt_test_dir_write (tmp, "versions/2026.01.05.1.json",
       "{\"version\": \"2026.01.05.1\", \"date\": \"2026-01-05\", \"entries\": [\n"
       "  {\"timestamp\": \"2026-01-05T10:00:00Z\", \"type\": \"added\", \"category\": \"flatpak\", \"message\": \"Add Firefox\"},\n"
       "  {\"timestamp\": \"2026-01-05T10:00:00Z\", \"type\": \"fixed\", \"category\": \"dnf\", \"message\": \"Fix htop\"}],\n"
       " \"manual_steps\": [\"Log out\"]}\n");
  bkt_test_dir_write (tmp, "versions/2026.01.06.1.json",
       "{\"entries\": [\n  {\"timestamp\": \"2026-01-06T10:00:00Z\", \"type\": \"improved\", \"category\": \"dnf\", \"message\": \"x\"}]}\n");
  bkt_test_dir_write (tmp, "versions/2026.01.07.1.json", "{\"entries\": [], \"manual_steps\": [1]}\n");
  bkt_test_dir_write (tmp, "versions/2026.01.08.1.json", "{\"entries\": [}\n");
  bkt_test_dir_write (tmp, "versions/notes.txt", "not a version\n");
  versions = bkt_changelog_list_versions_in (vdir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (versions), ==, 4);
  g_assert_cmpint (bkt_changelog_compare_versions ("2026.01.05.2", "2026.01.05.10"), <, 0);
  g_assert_cmpint (bkt_changelog_compare_versions ("2026.02.01.1", "2026.01.31.9"), >, 0);

  doc = bkt_changelog_load_version_in (vdir, "V", "2026.01.05.1", &error);
  g_assert_no_error (error);
  text = bkt_changelog_render_short (doc, TRUE);
  g_assert_cmpstr (text, ==, "2026.01.05.1 (2026-01-05)\n"
                             "  added      flatpak: Add Firefox\n"
                             "  fixed      dnf: Fix htop\n"
                             "  Manual steps:\n"
                             "    - Log out\n");
  g_clear_pointer (&doc, json_object_unref);
  doc = bkt_changelog_load_version_in (vdir, "V", "2026.01.06.1", &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_cmpstr (error->message, ==, "V/2026.01.06.1.json:2:3: unknown type “improved” (expected added, "
                                       "changed, removed, fixed, security or deprecated)");
  g_clear_error (&error);
  doc = bkt_changelog_load_version_in (vdir, "V", "2026.01.07.1", &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_true (g_str_has_prefix (error->message, "V/2026.01.07.1.json:1:"));
  g_assert_nonnull (strstr (error->message, "manual step"));
  g_clear_error (&error);
  doc = bkt_changelog_load_version_in (vdir, "V", "2026.01.08.1", &error);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_true (g_str_has_prefix (error->message, "V/2026.01.08.1.json:1:"));
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/changelog/yaml-original", test_yaml_original);
  g_test_add_func ("/changelog/yaml-manual-steps", test_yaml_manual_steps);
  g_test_add_func ("/changelog/bad-entries", test_bad_entries);
  g_test_add_func ("/changelog/bad-files", test_bad_files);
  g_test_add_func ("/changelog/release-across-days", test_release_across_days);
  g_test_add_func ("/changelog/release-needs-marker", test_release_needs_marker);
  g_test_add_func ("/changelog/draft-entry", test_draft_entry);
  g_test_add_func ("/changelog/generate", test_generate);
  g_test_add_func ("/changelog/bad-version-files", test_bad_version_files);
  g_test_add_func ("/base/reference-loads", test_base_reference_loads);
  g_test_add_func ("/base/assume", test_base_assume);
  g_test_add_func ("/base/bad", test_base_bad);
  g_test_add_func ("/base/edit-data", test_base_edit_data);
  g_test_add_func ("/changelog/draft-entry-words", test_draft_entry_words);
  return g_test_run ();
}
