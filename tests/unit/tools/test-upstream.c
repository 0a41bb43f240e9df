/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-semver.h"
#include "bkt-upstream.h"
#include "bkt-test.h"

/* Versions, policies and the upstream manifest: the original's file loads
 * unchanged and is written back byte for byte; a new pin changes only the
 * pin's lines; bad files are errors at FILE:LINE:COLUMN. */

static void
test_compare (void)
{
  static const struct { const char *a, *b; int cmp; } table[] = {
    { "1.2.3", "v1.2.3", 0 },
    { "v1.2.3", "V1.2.3", 0 },
    { "1.2.3", "1.2.4", -1 },
    { "1.2.3", "1.10.0", -1 },
    { "1.2.3-rc1", "1.2.3", -1 },
    { "1.2.3-alpha", "1.2.3-alpha.1", -1 },
    { "1.2.3-alpha.1", "1.2.3-alpha.beta", -1 },
    { "1.2.3-beta.2", "1.2.3-beta.11", -1 },
    { "1.2.3-rc.1", "1.2.3", -1 },
    { "1.2.3+build.5", "1.2.3", 0 },
    { "1.2.3+b1", "1.2.3+b2", 0 },
    { "2.0.0", "10.0.0", -1 },
    { "2024.01.05", "2024.1.5", 0 },
    { "2024.01.05", "2024.01.10", -1 },
    { "2024.12.31", "2025.01.01", -1 },
    { "2024-11-18", "2024-12-01", -1 },
    { "2024-11-18", "2024-11-18", 0 },
    { "r99", "r100", -1 },
    { "1.2", "1.2.1", -1 },
    { "99999999999999999999999.0", "100000000000000000000000.0", -1 },
    { "1.0a", "1.0", 1 },
    { "1.0", "1.0.a", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      int c = bkt_version_compare (table[i].a, table[i].b);
      int r = bkt_version_compare (table[i].b, table[i].a);
      g_test_message ("%s vs %s", table[i].a, table[i].b);
      g_assert_cmpint (c, ==, table[i].cmp);
      g_assert_cmpint (r, ==, -table[i].cmp);
    }
}

static void
test_parse (void)
{
  BktSemver v;

  g_assert_true (bkt_semver_parse ("v1.2.3-rc.1+sha.abc", &v));
  g_assert_cmpuint (v.major, ==, 1);
  g_assert_cmpuint (v.minor, ==, 2);
  g_assert_cmpuint (v.patch, ==, 3);
  g_assert_cmpstr (v.pre, ==, "rc.1");
  g_assert_cmpstr (v.build, ==, "sha.abc");
  bkt_semver_clear (&v);
  /* not semver: leading zeros, dates, two parts, junk */
  for (guint i = 0; i < 7; i++)
    {
      static const char *const bad[] = { "2024.01.05", "2024-11-18", "1.2", "01.2.3", "1.2.3-", "1.2.3+",
                                         "1.2.3-a..b" };
      g_assert_false (bkt_semver_parse (bad[i], &v));
      g_assert_null (v.pre);
      g_assert_null (v.build);
    }
  g_assert_true (bkt_version_is_prerelease ("1.2.3-rc1"));
  g_assert_false (bkt_version_is_prerelease ("1.2.3"));
  g_assert_false (bkt_version_is_prerelease ("2024-11-18"));
}

/* pin/patch/minor/major × candidates, from v1.2.3, a pre-release and a
 * date-like version. */
static void
test_policy_table (void)
{
  static const struct {
    const char *pinned, *candidate;
    gboolean pre;                /* the forge marks it a pre-release */
    gboolean pin, patch, minor, major;
  } table[] = {
    { "v1.2.3", "v1.2.4", FALSE, FALSE, TRUE, TRUE, TRUE },
    { "v1.2.3", "1.2.4", FALSE, FALSE, TRUE, TRUE, TRUE },
    { "v1.2.3", "v1.3.0", FALSE, FALSE, FALSE, TRUE, TRUE },
    { "v1.2.3", "v2.0.0", FALSE, FALSE, FALSE, FALSE, TRUE },
    { "v1.2.3", "v1.2.3", FALSE, FALSE, FALSE, FALSE, FALSE },
    { "v1.2.3", "v1.2.2", FALSE, FALSE, FALSE, FALSE, FALSE },
    { "v1.2.3", "v1.2.4-rc1", FALSE, FALSE, FALSE, FALSE, FALSE },
    { "v1.2.3", "v1.2.4", TRUE, FALSE, FALSE, FALSE, FALSE },
    { "v1.2.3", "2024.01.05", FALSE, FALSE, FALSE, FALSE, TRUE },
    { "1.2.3-rc1", "1.2.3", FALSE, FALSE, TRUE, TRUE, TRUE },
    { "1.2.3-rc1", "1.2.3-rc2", FALSE, FALSE, TRUE, TRUE, TRUE },
    { "1.2.3-rc1", "1.3.0-rc1", FALSE, FALSE, FALSE, TRUE, TRUE },
    { "1.2.3-rc1", "1.2.2", FALSE, FALSE, FALSE, FALSE, FALSE },
    { "2024.01.05", "2024.01.06", FALSE, FALSE, FALSE, FALSE, TRUE },
    { "2024.01.05", "2024.01.05", FALSE, FALSE, FALSE, FALSE, FALSE },
    { "2024.01.05", "2023.12.31", FALSE, FALSE, FALSE, FALSE, FALSE },
    { "2024-11-18", "2025-01-02", FALSE, FALSE, FALSE, FALSE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      gboolean want[] = { table[i].pin, table[i].patch, table[i].minor, table[i].major };
      for (guint p = BKT_UPSTREAM_POLICY_PIN; p <= BKT_UPSTREAM_POLICY_MAJOR; p++)
        {
          g_test_message ("%s → %s under %s", table[i].pinned, table[i].candidate, bkt_upstream_policy_to_string (p));
          g_assert_cmpint (bkt_upstream_policy_allows (p, table[i].pinned, table[i].candidate, table[i].pre, FALSE),
                           ==, want[p]);
        }
    }
  /* --pre takes pre-releases the policy allows otherwise */
  g_assert_true (bkt_upstream_policy_allows (BKT_UPSTREAM_POLICY_PATCH, "v1.2.3", "v1.2.4-rc1", FALSE, TRUE));
  g_assert_false (bkt_upstream_policy_allows (BKT_UPSTREAM_POLICY_PATCH, "v1.2.3", "v1.3.0-rc1", FALSE, TRUE));
  g_assert_false (bkt_upstream_policy_allows (BKT_UPSTREAM_POLICY_PIN, "v1.2.3", "v1.2.4-rc1", FALSE, TRUE));
}

static char *
original_path (void)
{
  return bkt_test_data_path ("original", "upstream-manifest.json", NULL);
}

static BktUpstreamManifest *
load_copy (const char *dir, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "manifest.json", NULL);

  bkt_test_write_file (path, text);
  return bkt_upstream_manifest_load (path, "upstream/manifest.json", FALSE, error);
}

static void
test_original_roundtrip (void)
{
  g_autofree char *orig = original_path ();
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BktUpstreamManifest) m = NULL;
  g_autofree char *out = NULL;
  gsize len = 0, out_len = 0;
  JsonArray *a;

  text = bkt_test_read_file (orig);
  len = strlen (text);
  m = bkt_upstream_manifest_load (orig, NULL, FALSE, &error);
  g_assert_no_error (error);
  a = bkt_upstream_manifest_get_upstreams (m);
  g_assert_cmpuint (json_array_get_length (a), ==, 6);
  g_assert_cmpstr (json_object_get_string_member (bkt_upstream_manifest_lookup (m, "getnf"), "description"), ==,
                   "Nerd Fonts installer script");
  g_assert_true (bkt_upstream_uses_tags (bkt_upstream_manifest_lookup (m, "keyd")));
  g_assert_cmpint (bkt_upstream_get_policy (bkt_upstream_manifest_lookup (m, "keyd")), ==, BKT_UPSTREAM_POLICY_PIN);
  out = bkt_upstream_manifest_to_data (m, &out_len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (out_len, ==, len);
  g_assert_cmpstr (out, ==, text);
}

/* Lines of @a not in @b at the same place: a crude line diff of equal
 * line counts, enough for "only the pin's lines changed". */
static GPtrArray *
changed_lines (const char *a, const char *b)
{
  g_auto(GStrv) la = g_strsplit (a, "\n", -1);
  g_auto(GStrv) lb = g_strsplit (b, "\n", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  g_assert_cmpuint (g_strv_length (la), ==, g_strv_length (lb));
  for (guint i = 0; la[i] != NULL; i++)
    if (!g_str_equal (la[i], lb[i]))
      g_ptr_array_add (out, g_strdup (lb[i]));
  return out;
}

static void
test_set_pin_minimal_diff (void)
{
  g_autofree char *orig = original_path ();
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BktUpstreamManifest) m = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_utc (2026, 1, 5, 10, 0, 0);
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) diff = NULL;
  gsize out_len = 0;

  text = bkt_test_read_file (orig);
  m = bkt_upstream_manifest_load (orig, NULL, FALSE, &error);
  g_assert_no_error (error);
  bkt_upstream_set_pin (bkt_upstream_manifest_lookup (m, "getnf"), "v0.4.0",
                        "1111111111111111111111111111111111111111", NULL,
                        "2222222222222222222222222222222222222222222222222222222222222222", now);
  out = bkt_upstream_manifest_to_data (m, &out_len, &error);
  g_assert_no_error (error);
  diff = changed_lines (text, out);
  g_assert_cmpuint (diff->len, ==, 4);
  g_assert_cmpstr (diff->pdata[0], ==, "        \"version\": \"v0.4.0\",");
  g_assert_cmpstr (diff->pdata[1], ==, "        \"commit\": \"1111111111111111111111111111111111111111\",");
  g_assert_cmpstr (diff->pdata[3], ==, "        \"pinned_at\": \"2026-01-05T10:00:00Z\"");
}

/* The edit a pull request carries (bkt upstream … --pr), applied to the
 * file's bytes as a branch has them. */
static void
test_apply_edit (void)
{
  g_autofree char *orig = original_path ();
  g_autofree char *text = NULL;
  gsize len = 0, out_len = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(BktUpstreamManifest) m = NULL;
  g_autoptr(JsonObject) entry = json_object_new ();
  JsonObject *pin = json_object_new ();
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) diff = NULL;

  text = bkt_test_read_file (orig);
  len = strlen (text);
  m = bkt_upstream_manifest_load_data ("upstream/manifest.json", text, len, &error);
  g_assert_no_error (error);
  g_assert_null (bkt_upstream_manifest_get_path (m));
  json_object_set_string_member (entry, "name", "getnf");
  json_object_set_object_member (entry, "pinned", pin);
  json_object_set_string_member (pin, "version", "v0.4.0");
  json_object_set_string_member (pin, "commit", "1111111111111111111111111111111111111111");
  json_object_set_string_member (pin, "sha256", "2222222222222222222222222222222222222222222222222222222222222222");
  json_object_set_string_member (pin, "pinned_at", "2026-01-05T10:00:00Z");
  g_assert_true (bkt_upstream_check_change (entry, &error));
  g_assert_no_error (error);
  g_assert_true (bkt_upstream_manifest_apply_edit (m, "record", entry, NULL));
  out = bkt_upstream_manifest_to_data (m, &out_len, &error);
  g_assert_no_error (error);
  diff = changed_lines (text, out);
  g_assert_cmpuint (diff->len, ==, 4);
  g_assert_cmpstr (diff->pdata[0], ==, "        \"version\": \"v0.4.0\",");

  /* The same pin made again: it keeps its pinned_at, no change. */
  {
    g_autoptr(BktUpstreamManifest) again = bkt_upstream_manifest_load_data ("m", out, out_len, &error);
    g_autofree char *out2 = NULL;
    gsize out2_len = 0;

    g_assert_no_error (error);
    json_object_set_string_member (pin, "pinned_at", "2027-01-01T00:00:00Z");
    g_assert_true (bkt_upstream_manifest_apply_edit (again, "record", entry, NULL));
    out2 = bkt_upstream_manifest_to_data (again, &out2_len, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (out2, ==, out);
    /* forget: the upstream goes; forgetting it again is nothing */
    g_assert_true (bkt_upstream_manifest_apply_edit (again, "forget", NULL, "getnf"));
    g_assert_false (bkt_upstream_manifest_apply_edit (again, "forget", NULL, "getnf"));
    g_assert_null (bkt_upstream_manifest_lookup (again, "getnf"));
  }

  /* A bad pin is refused as the file's own would be. */
  json_object_set_string_member (pin, "sha256", "abc");
  g_assert_false (bkt_upstream_check_change (entry, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_nonnull (strstr (error->message, "invalid \"sha256\" \"abc\": must be 64 lowercase hex digits"));
  g_clear_error (&error);
  json_object_set_string_member (entry, "name", "../x");
  g_assert_false (bkt_upstream_check_change (entry, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
}

/* A branch without the file: an add writes a new one. */
static void
test_apply_edit_new_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktUpstreamManifest) m = bkt_upstream_manifest_load_data ("upstream/manifest.json", NULL, 0, &error);
  g_autoptr(JsonObject) u = bkt_upstream_new_entry ("bat", NULL, "sharkdp/bat", "bat-*.tar.gz", FALSE, "patch");
  g_autoptr(BktUpstreamManifest) back = NULL;
  g_autofree char *out = NULL;
  const char *type = NULL;
  g_autofree char *msg = bkt_upstream_change_message ("add", "bat", NULL, "v1", "sharkdp/bat", &type);
  gsize len = 0;

  g_assert_no_error (error);
  bkt_upstream_set_pin_at (u, "v1", NULL, "https://example.org/bat.tar.gz",
                           "2222222222222222222222222222222222222222222222222222222222222222", "2026-01-05T10:00:00Z");
  g_assert_true (bkt_upstream_check_change (u, &error));
  g_assert_true (bkt_upstream_manifest_apply_edit (m, "record", u, NULL));
  out = bkt_upstream_manifest_to_data (m, &len, &error);
  g_assert_no_error (error);
  back = bkt_upstream_manifest_load_data ("x", out, len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bkt_upstream_get_type (bkt_upstream_manifest_lookup (back, "bat")), ==, "github");
  g_assert_cmpstr (msg, ==, "Add upstream bat (sharkdp/bat) at v1");
  g_assert_cmpstr (type, ==, "added");
}

static void
test_render_pins (void)
{
  g_autofree char *orig = original_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BktUpstreamManifest) m = bkt_upstream_manifest_load (orig, NULL, FALSE, &error);
  g_autofree char *body = NULL;

  g_assert_no_error (error);
  body = bkt_upstream_render_pins (m);
  g_assert_true (g_str_has_prefix (body, "ARG UPSTREAM_BIBATA_CURSOR_VERSION=v2.0.7\n"
                                         "ARG UPSTREAM_BIBATA_CURSOR_SHA256=7d3495864e5bbef02f5e77de760b2905903b63c71495a78ef6306d19a3b556d8\n"
                                         "ARG UPSTREAM_GETNF_VERSION=v0.3.0\n"));
  g_assert_nonnull (strstr (body, "ARG UPSTREAM_WHITESUR_ICONS_COMMIT=bab5833b5cae200bccb786a2d3d6afa2201e7806\n"));
  g_assert_true (g_str_has_suffix (body, "\n"));
}

static void
test_bad_files (void)
{
  static const struct { const char *text, *error; } table[] = {
    { "{\n  \"upstreams\": [\n    { \"name\": \"a\" \n", "upstream/manifest.json:4:1:" },
    { "{ \"upstreams\": {} }", "upstream/manifest.json:1:16: \"upstreams\" must be an array, got an object" },
    { "{ \"upstreams\": [ { \"name\": \"../x\", \"source\": {}, \"pinned\": {} } ] }",
      "upstream/manifest.json:1:28: invalid \"name\" \"../x\": must start with a letter or digit" },
    { "{ \"upstreams\": [ { \"name\": \"-x\" } ] }", "upstream/manifest.json:1:28: invalid \"name\" \"-x\"" },
    { "{ \"upstreams\": [ { \"name\": \"a/b\" } ] }", "upstream/manifest.json:1:28: invalid \"name\" \"a/b\": may only" },
    { "{\n\"upstreams\": [ { \"name\": \"a\", \"policy\": \"latest\",\n \"source\": {}, \"pinned\": {} } ] }",
      "upstream/manifest.json:2:41: invalid \"policy\" \"latest\": must be \"pin\", \"patch\", \"minor\" or \"major\"" },
    { "{ \"upstreams\": [ { \"name\": \"a\", \"source\": { \"type\": \"github\", \"repo\": \"../x\" }, \"pinned\": {} } ] }",
      "upstream/manifest.json:1:71: invalid \"repo\" \"../x\": must be OWNER/REPO" },
    { "{ \"upstreams\": [ { \"name\": \"a\", \"source\": { \"type\": \"github\", \"repo\": \"o/r\" },\n"
      "  \"pinned\": { \"version\": \"1.0\", \"sha256\": \"abc\", \"pinned_at\": \"2024-01-01T00:00:00Z\" } } ] }",
      "upstream/manifest.json:2:43: invalid \"sha256\" \"abc\": must be 64 lowercase hex digits" },
    { "{ \"upstreams\": [ { \"name\": \"a\", \"source\": { \"type\": \"github\", \"repo\": \"o/r\" },\n"
      "  \"pinned\": { \"version\": \"1.0 $(x)\", \"sha256\": \"abc\", \"pinned_at\": \"x\" } } ] }",
      "upstream/manifest.json:2:26: invalid \"version\" \"1.0 $(x)\": may only" },
  };
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("upstream");
  const char *dir = tmp->path;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(BktUpstreamManifest) m = NULL;
      g_clear_error (&error);
      m = load_copy (dir, table[i].text, &error);
      g_test_message ("%s", table[i].text);
      g_assert_null (m);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      if (!g_str_has_prefix (error->message, table[i].error))
        g_error ("got “%s”, expected “%s…”", error->message, table[i].error);
    }
  /* two names that are one ARG name */
  {
    g_autofree char *orig = original_path ();
    g_autoptr(BktUpstreamManifest) m = bkt_upstream_manifest_load (orig, NULL, FALSE, NULL);
    JsonObject *copy = bkt_json_object_deep_copy (bkt_upstream_manifest_lookup (m, "getnf"));
    gsize len;
    g_autofree char *out = NULL;

    json_object_set_string_member (copy, "name", "bibata_cursor");
    g_clear_error (&error);
    g_assert_true (bkt_upstream_manifest_add (m, copy, &error));
    out = bkt_upstream_manifest_to_data (m, &len, &error);
    g_assert_null (out);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
    g_assert_nonnull (strstr (error->message, "duplicate upstream “bibata_cursor”"));
  }
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/semver/compare", test_compare);
  g_test_add_func ("/semver/parse", test_parse);
  g_test_add_func ("/semver/policy-table", test_policy_table);
  g_test_add_func ("/upstream/original-roundtrip", test_original_roundtrip);
  g_test_add_func ("/upstream/set-pin-minimal-diff", test_set_pin_minimal_diff);
  g_test_add_func ("/upstream/render-pins", test_render_pins);
  g_test_add_func ("/upstream/apply-edit", test_apply_edit);
  g_test_add_func ("/upstream/apply-edit-new-file", test_apply_edit_new_file);
  g_test_add_func ("/upstream/bad-files", test_bad_files);
  return g_test_run ();
}
