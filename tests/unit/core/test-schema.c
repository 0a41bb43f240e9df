/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shapes behind the loaders and `bkt schema generate`
 * (bkt-shape.c, bkt-manifest-shapes.c): a name rule's pattern decides,
 * and it decides exactly as the hand-written check it replaced (now the
 * rule's explain function) did; the generated schemas carry the rules. */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-manifest-private.h"
#include "bkt-schema.h"
#include "bkt-test.h"

static const char alphabet[] = "a-.@+/_9";

/* Every string of up to @max characters of @alphabet, then @extra. */
static void
enumerate (GPtrArray *out, GString *prefix, guint max)
{
  g_ptr_array_add (out, g_strdup (prefix->str));
  if (prefix->len == max)
    return;
  for (const char *c = alphabet; *c != '\0'; c++)
    {
      g_string_append_c (prefix, *c);
      enumerate (out, prefix, max);
      g_string_truncate (prefix, prefix->len - 1);
    }
}

static GPtrArray *
corpus (void)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) prefix = g_string_new (NULL);
  static const char *const extra[] = {
    "org.gnome.Boxes", "org.a.b-c", "org.a.-x", "org.9a.B", "org..a.B", "org.a.B.", ".org.a.B", "org.a",
    "dash-to-dock@micxgx.gmail.com", "user-theme@gnome-shell-extensions.gcampax.github.com",
    "/usr/bin/podman", "/usr//bin", "/usr/bin/", "/usr/../bin", "/-x", "podman", "g++", "@group/proj",
    "@@g/p", "owner/proj/x", "a b", "a\nb", "a\n", "caf\xc3\xa9", "-rf", "..", ".", NULL
  };

  enumerate (out, prefix, 5);
  for (guint i = 0; extra[i] != NULL; i++)
    g_ptr_array_add (out, g_strdup (extra[i]));
  /* the length bounds: 255 and 256, a copr part of 100 and 101 */
  for (guint n = 254; n <= 256; n++)
    {
      g_autofree char *a = g_strnfill (n, 'a');
      g_ptr_array_add (out, g_strdup (a));
      g_ptr_array_add (out, g_strdup_printf ("org.a.%s", a + 6));
      g_ptr_array_add (out, g_strdup_printf ("/%s/%s", a, a));
    }
  for (guint n = 99; n <= 101; n++)
    {
      g_autofree char *a = g_strnfill (n, 'b');
      g_ptr_array_add (out, g_strdup_printf ("%s/p", a));
      g_ptr_array_add (out, g_strdup_printf ("@%s/%s", a, a));
    }
  return out;
}

/* The pattern accepts exactly what the former check accepted, and a
 * refusal is worded by it (never the generic description). */
static void
test_rules_match_checks (void)
{
  const BktStringRule *rules[] = {
    &bkt_rule_extension_uuid, &bkt_rule_plus_name, &bkt_rule_shim_host, &bkt_rule_copr_name,
    &bkt_rule_flatpak_app_id,
  };
  g_autoptr(GPtrArray) values = corpus ();
  guint accepted = 0;

  for (guint r = 0; r < G_N_ELEMENTS (rules); r++)
    for (guint i = 0; i < values->len; i++)
      {
        const char *v = values->pdata[i];
        g_autofree char *verdict = bkt_string_rule_check (rules[r], v);
        g_autofree char *check = rules[r]->explain (v);

        if ((verdict == NULL) != (check == NULL))
          g_error ("rule %u: \"%s\": pattern says %s, the check says %s", r, v,
                   verdict == NULL ? "ok" : verdict, check == NULL ? "ok" : check);
        if (verdict != NULL)
          g_assert_cmpstr (verdict, ==, check);
        else
          accepted++;
      }
  /* the corpus has both sides of every rule */
  g_assert_cmpuint (accepted, >, 1000);
}

static void
test_rule_bounds (void)
{
  static const char *const choices[] = { "system", "user", NULL };
  const BktStringRule choice = { .choices = choices };
  const BktStringRule bounded = { .pattern = "^[a-z]*$", .min_length = 2, .max_length = 3,
                                  .description = "two or three letters" };
  g_autofree char *w1 = bkt_string_rule_check (&choice, "root");
  g_autofree char *w2 = bkt_string_rule_check (&bounded, "a");
  g_autofree char *w3 = bkt_string_rule_check (&bounded, "abcd");
  g_autofree char *w4 = bkt_string_rule_check (&bounded, "ab\n");
  g_autofree char *w5 = bkt_string_rule_check (&bounded, "ab");
  g_autofree char *w6 = bkt_string_rule_check (&bounded, NULL);

  g_assert_cmpstr (w1, ==, "must be \"system\" or \"user\"");
  g_assert_cmpstr (w2, ==, "two or three letters");
  g_assert_cmpstr (w3, ==, "is longer than 3 characters");
  /* '$' is the end (ECMA 262), not "before a final newline" (PCRE's default) */
  g_assert_cmpstr (w4, ==, "two or three letters");
  g_assert_null (w5);
  g_assert_cmpstr (w6, ==, "two or three letters");
}

static JsonObject *
path_object (JsonObject *o, const char *const *path)
{
  for (guint i = 0; path[i] != NULL; i++)
    {
      g_assert_true (json_object_has_member (o, path[i]));
      o = json_object_get_object_member (o, path[i]);
    }
  return o;
}

/* Each of the ten kinds has a schema document; the loaders' rules are in
 * it (a flatpak id's pattern, an upstream source's conditional members,
 * the bare-string form of extensions). */
static void
test_generated_schemas (void)
{
  guint n = 0;
  const BktSchemaKind *kinds = bkt_schema_kinds (&n);
  g_autoptr(JsonNode) apps = NULL, up = NULL, ext = NULL;
  static const char *const app_id[] = { "$defs", "app", "properties", "id", NULL };
  static const char *const source[] = { "$defs", "source", NULL };
  JsonObject *o;
  g_autofree char *text = NULL;

  g_assert_cmpuint (n, ==, 10);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JsonNode) doc = bkt_schema_generate (&kinds[i]);
      JsonObject *root = json_node_get_object (doc);

      g_assert_cmpstr (json_object_get_string_member (root, "$schema"), ==, BKT_SCHEMA_DRAFT);
      g_assert_cmpstr (json_object_get_string_member (root, "type"), ==, "object");
      g_assert_true (json_object_has_member (json_object_get_object_member (root, "properties"), "$schema"));
      g_assert_true (g_str_has_suffix (kinds[i].schema_file, ".schema.json"));
      if (i < BKT_MANIFEST_N_KINDS)
        g_assert_true (bkt_manifest_kind_shape ((BktManifestKind) i) == kinds[i].shape);
    }

  apps = bkt_schema_generate (bkt_schema_kind_lookup ("flatpak-apps"));
  o = path_object (json_node_get_object (apps), app_id);
  g_assert_cmpstr (json_object_get_string_member (o, "pattern"), ==, bkt_rule_flatpak_app_id.pattern);
  g_assert_cmpint (json_object_get_int_member (o, "maxLength"), ==, 255);

  up = bkt_schema_generate (bkt_schema_kind_lookup ("upstream-manifest"));
  o = path_object (json_node_get_object (up), source);
  text = json_to_string (json_object_get_member (o, "allOf"), FALSE);
  g_assert_cmpstr (text, ==,
                   "[{\"if\":{\"properties\":{\"type\":{\"const\":\"github\"}},\"required\":[\"type\"]},"
                   "\"then\":{\"required\":[\"repo\"]}},"
                   "{\"if\":{\"properties\":{\"type\":{\"const\":\"url\"}},\"required\":[\"type\"]},"
                   "\"then\":{\"required\":[\"url\"]}}]");

  ext = bkt_schema_generate (bkt_schema_kind_lookup ("gnome-extensions"));
  o = json_object_get_object_member (json_object_get_object_member (json_node_get_object (ext), "$defs"),
                                     "extension");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "anyOf")), ==, 2);
}

/* The loader walks the same shape: what the shape refuses, the loader
 * refuses with the member's position. */
static void
test_loader_uses_shape (void)
{
  static const struct { BktManifestKind kind; const char *text, *error; } cases[] = {
    { BKT_MANIFEST_FLATPAK_APPS, "{\"apps\": [{\"id\": \"org.a.B\", \"remote\": \"r\", \"scope\": \"both\"}]}",
      "a.json:1:53: invalid \"scope\" \"both\": must be \"system\" or \"user\"" },
    { BKT_MANIFEST_SYSTEM_PACKAGES, "{\"packages\": [\"vim\"], \"groups\": [1]}",
      "a.json:1:34: each entry of \"groups\" must be a string, got a number" },
    /* the former check let "/" through as a host command (no path element to check) */
    { BKT_MANIFEST_HOST_SHIMS, "{\"shims\": [{\"name\": \"x\", \"host\": \"/\"}]}",
      "a.json:1:34: invalid \"host\" \"/\": must name a command, not \"/\"" },
    { BKT_MANIFEST_HOST_SHIMS, "{\"$schema\": 1}", "a.json:1:13: \"$schema\" must be a string, got a number" },
    { BKT_MANIFEST_GNOME_EXTENSIONS, "{\"extensions\": [{\"enabled\": true}]}",
      "a.json:1:17: entry is missing the required member \"uuid\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(BktManifest) m = bkt_manifest_load_data (cases[i].kind, "a.json", cases[i].text, -1, &error);

      g_assert_null (m);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      g_assert_cmpstr (error->message, ==, cases[i].error);
    }
}

/* Accepted values are remembered per rule (bkt-shape.c): a value is never
 * accepted for a rule because another rule accepted it, and a rejected
 * one stays rejected however often it is checked. */
static void
test_rule_memo (void)
{
  static const BktStringRule digits = { .pattern = "^[0-9]+$", .description = "digits" };
  static const BktStringRule letters = { .pattern = "^[a-z]+$", .description = "letters" };

  for (int round = 0; round < 3; round++)
    {
      g_autofree char *e1 = bkt_string_rule_check (&digits, "123");
      g_autofree char *e2 = bkt_string_rule_check (&letters, "123");
      g_autofree char *e3 = bkt_string_rule_check (&letters, "abc");
      g_autofree char *e4 = bkt_string_rule_check (&digits, "abc");

      g_assert_null (e1);
      g_assert_nonnull (e2);
      g_assert_null (e3);
      g_assert_nonnull (e4);
    }
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/schema/rules-match-checks", test_rules_match_checks);
  g_test_add_func ("/schema/rule-bounds", test_rule_bounds);
  g_test_add_func ("/schema/rule-memo", test_rule_memo);
  g_test_add_func ("/schema/generated", test_generated_schemas);
  g_test_add_func ("/schema/loader-uses-shape", test_loader_uses_shape);
  return g_test_run ();
}
