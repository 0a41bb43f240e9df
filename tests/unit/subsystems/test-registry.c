/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-test.h"
#include "bkt-flatpak.h"
#include "bkt-subsystem-registry.h"

/* The subsystem registry (names, aliases, order, instances) and the one
 * entry validator per manifest kind: the manifest loader, the plan and the
 * registry's row apply the same check, so a flatpak id the plan refuses
 * never loads from a manifest. */

static BktTestDir *tmp;   /* the throwaway installations, HOME and manifests */

/* ------------------------------------------------------------------------ */
/* Registry                                                                  */

static void
test_registry_rows (void)
{
  static const char * const order[] = { "shim", "skel", "gsettings", "extension", "flatpak", "dnf", "toolbox" };
  gboolean kind_owned[BKT_MANIFEST_N_KINDS] = { FALSE };
  const BktSubsystemInfo *rows;
  guint n;

  rows = bkt_subsystem_registry (&n);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (order));
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpstr (rows[i].name, ==, order[i]);
      g_assert_nonnull (rows[i].create);
      /* skel manages files, not manifest entries */
      g_assert_cmpuint (rows[i].n_manifests, >=, g_str_equal (rows[i].name, "skel") ? 0 : 1);
      g_assert_true (rows[i].instances & BKT_INSTANCES_SESSION);
      /* Each manifest kind belongs to exactly one subsystem. */
      for (guint k = 0; k < rows[i].n_manifests; k++)
        {
          g_assert_false (kind_owned[rows[i].manifests[k].kind]);
          kind_owned[rows[i].manifests[k].kind] = TRUE;
        }
      g_assert_true (bkt_subsystem_registry_lookup (rows[i].name) == &rows[i]);
      for (guint a = 0; rows[i].aliases != NULL && rows[i].aliases[a] != NULL; a++)
        g_assert_true (bkt_subsystem_registry_lookup (rows[i].aliases[a]) == &rows[i]);
    }
  for (guint k = 0; k < BKT_MANIFEST_N_KINDS; k++)
    g_assert_true (kind_owned[k]);
}

/* Names as users type them: `--only gsetting` and `--only gsettings`. */
static void
test_registry_aliases (void)
{
  g_auto(GStrv) names = g_strsplit ("gsetting,gsettings,fp,ext,shim,dnf", ",", -1);
  g_auto(GStrv) bad = g_strsplit ("gsetting,flatpack", ",", -1);
  g_autoptr(GError) error = NULL;
  g_autofree char *joined = NULL;

  g_assert_true (bkt_subsystem_registry_canonicalize (names, &error));
  g_assert_no_error (error);
  joined = g_strjoinv (",", names);
  g_assert_cmpstr (joined, ==, "gsettings,gsettings,flatpak,extension,shim,dnf");

  g_assert_false (bkt_subsystem_registry_canonicalize (bad, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "unknown subsystem “flatpack” (known: shim, skel, gsettings, extension, flatpak, dnf, toolbox)");
  g_assert_true (bkt_subsystem_registry_canonicalize (NULL, NULL));
}

/* The engine takes its subsystems, their order and the instance split
 * from the table; an alias filters like the name. */
static void
test_engine_from_registry (void)
{
  g_autoptr(GError) error = NULL;
  const char * const only_alias[] = { "gsetting", NULL };
  const char * const exclude[] = { "gs", "fp", NULL };
  const char * const unknown[] = { "flatpack", NULL };
  g_autoptr(BktEngine) e = NULL;

  e = bkt_engine_new (BKT_INSTANCE_SESSION, only_alias, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (e);
  g_clear_object (&e);
  e = bkt_engine_new (BKT_INSTANCE_SYSTEM, NULL, exclude, &error);
  g_assert_no_error (error);
  g_clear_object (&e);
  e = bkt_engine_new (BKT_INSTANCE_SESSION, unknown, NULL, &error);
  g_assert_null (e);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* Flatpak application ids: flatpak's rule at every boundary                */

typedef struct {
  const char *id;
  const char *why;  /* NULL: valid */
} IdCase;

static const IdCase id_cases[] = {
  { "org.example.App", NULL },
  /* '-' is fine anywhere in the last element, in any case... */
  { "org.example.my-app", NULL },
  { "org.example.My-App", NULL },
  { "org.example.-app", NULL },
  { "org.example.App-", NULL },
  /* ...and nowhere else. */
  { "org.my-example.App", "may contain '-' only in its last element" },
  { "org.-example.App", "may contain '-' only in its last element" },
  { "-org.example.App", "must not start with '-'" },
  /* Three elements at least. */
  { "com.app", "needs at least three elements separated by '.' (reverse DNS such as org.example.App)" },
  { "firefox", "needs at least three elements separated by '.' (reverse DNS such as org.example.App)" },
  { "a.b.c", NULL },
  { "org.example.a.b.c.D", NULL },
  /* Elements start with a letter or '_', then letters, digits, '_'. */
  { "_org._example._App", NULL },
  { "org.example.App2", NULL },
  { "org.example.A_2_b", NULL },
  { "org.9lives.App", "has an element starting with a digit" },
  { "org.example.2App", "has an element starting with a digit" },
  { "1org.example.App", "has an element starting with a digit" },
  /* Empty elements and stray dots. */
  { ".org.example.App", "must not start with '.'" },
  { "org.example.App.", "must not end with '.'" },
  { "org..example.App", "has an empty element" },
  /* Nothing else. */
  { "org.ex ample.App", "must not contain ' ' (only letters, digits, '_', '.' and, in the last element, '-')" },
  { "org.example.App+", "must not contain '+' (only letters, digits, '_', '.' and, in the last element, '-')" },
  { "org.example.App/x", "must not contain '/' (only letters, digits, '_', '.' and, in the last element, '-')" },
  { "org.t\xc3\xa9st.App", "must not contain '?' (only letters, digits, '_', '.' and, in the last element, '-')" },
  { "", "must not be empty" },
};

/* "org.example." + 'x' × (length − 12) */
static char *
id_of_length (gsize length)
{
  g_autofree char *tail = g_strnfill (length - 12, 'x');
  return g_strconcat ("org.example.", tail, NULL);
}

static void
test_app_id_rule (void)
{
  g_autofree char *longest = id_of_length (255);
  g_autofree char *too_long = id_of_length (256);
  g_autofree char *why = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (id_cases); i++)
    {
      g_autofree char *got = bkt_manifest_check_flatpak_app_id (id_cases[i].id);
      g_test_message ("%s", id_cases[i].id);
      g_assert_cmpstr (got, ==, id_cases[i].why);
    }
  g_assert_null (bkt_manifest_check_flatpak_app_id (longest));
  why = bkt_manifest_check_flatpak_app_id (too_long);
  g_assert_cmpstr (why, ==, "is longer than 255 characters");
}

/* The loader refuses exactly what the rule refuses, with file:line:col of
 * the id's value. */
static void
test_app_id_loader (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (id_cases); i++)
    {
      g_autofree char *doc = g_strdup_printf ("{\n  \"apps\": [\n    {\"id\": \"%s\", \"remote\": \"flathub\", "
                                              "\"scope\": \"user\"}\n  ]\n}\n", id_cases[i].id);
      g_autoptr(GError) error = NULL;
      g_autoptr(BktManifest) m = bkt_manifest_load_data (BKT_MANIFEST_FLATPAK_APPS, "flatpak-apps.json",
                                                         doc, -1, &error);

      g_test_message ("%s", id_cases[i].id);
      if (id_cases[i].why == NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (m);
        }
      else
        {
          g_autofree char *expected = NULL;

          /* Non-UTF-8 ids already fail as JSON text. */
          if (!g_utf8_validate (id_cases[i].id, -1, NULL))
            continue;
          expected = g_strdup_printf ("flatpak-apps.json:3:12: invalid \"id\" \"%s\": %s", id_cases[i].id,
                                      id_cases[i].why);
          g_assert_null (m);
          g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
          g_assert_cmpstr (error->message, ==, expected);
        }
    }
}

/* The plan (bkt flatpak add/remove, through ChangePlan) refuses the same
 * ids with the same reason, and accepts the others. */
static void
test_app_id_plan (void)
{
  g_autoptr(BktSubsystem) fp = bkt_flatpak_new (TRUE, TRUE);
  g_autoptr(BktManifestSet) m = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = bkt_test_dir_mkdir (tmp, "manifests");

  /* an empty manifest: a directory holding none is an error */
  bkt_test_dir_write (tmp, "manifests/flatpak-apps.json", "{}");
  m = bkt_manifest_set_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_true (bkt_subsystem_load_live (fp, NULL, &error));
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (id_cases); i++)
    {
      g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GVariant) args = g_variant_ref_sink (
          g_variant_new_parsed ("{'id': <%s>, 'scope': <'user'>, 'force': <true>}", id_cases[i].id));
      gboolean ok = bkt_subsystem_plan_change (fp, m, "add", args, ops, &error);

      g_test_message ("%s", id_cases[i].id);
      if (id_cases[i].why == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_autofree char *expected = g_strdup_printf ("invalid flatpak application id “%s”: %s",
                                                       g_utf8_validate (id_cases[i].id, -1, NULL) ? id_cases[i].id
                                                                                                  : "…",
                                                       id_cases[i].why);
          g_assert_false (ok);
          g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
          g_assert_cmpstr (error->message, ==, expected);
          g_clear_error (&error);
        }
    }
}

/* Every row's entry validator is the loader's: a name it refuses does not
 * load from the row's first manifest. */
static void
test_row_validators_are_the_loaders (void)
{
  static const struct { const char *subsystem; const char *doc; } bad[] = {
    { "shim", "{\"shims\": [{\"name\": \"-x\"}]}" },
    { "gsettings", "{\"settings\": [{\"schema\": \"-org.x\", \"key\": \"k\", \"value\": \"1\"}]}" },
    { "extension", "{\"extensions\": [\"../evil\"]}" },
    { "flatpak", "{\"apps\": [{\"id\": \"com.app\", \"remote\": \"r\", \"scope\": \"user\"}]}" },
    { "dnf", "{\"packages\": [\"-x\"]}" },
    { "toolbox", "{\"packages\": [\"-x\"]}" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const BktSubsystemInfo *row = bkt_subsystem_registry_lookup (bad[i].subsystem);
      g_autoptr(GError) error = NULL;
      g_autoptr(BktManifest) m = NULL;
      g_autoptr(JsonParser) p = json_parser_new ();
      JsonNode *entries;
      JsonNode *first;
      g_autofree char *name = NULL;
      g_autofree char *why = NULL;

      g_assert_nonnull (row);
      g_assert_nonnull (row->check_entry_name);
      /* The row's validator refuses the name... */
      g_assert_true (json_parser_load_from_data (p, bad[i].doc, -1, NULL));
      entries = json_object_get_member (json_node_get_object (json_parser_get_root (p)),
                                        bkt_manifest_kind_list_member (row->manifests[0].kind));
      first = json_array_get_element (json_node_get_array (entries), 0);
      name = g_strdup (JSON_NODE_HOLDS_VALUE (first) ? json_node_get_string (first)
                       : json_object_get_string_member (json_node_get_object (first),
                                                        g_str_equal (bad[i].subsystem, "flatpak") ? "id"
                                                        : g_str_equal (bad[i].subsystem, "gsettings") ? "schema"
                                                        : "name"));
      why = row->check_entry_name (name);
      g_assert_nonnull (why);
      /* ...and so does the loader, with that reason. */
      m = bkt_manifest_load_data (row->manifests[0].kind, "m.json", bad[i].doc, -1, &error);
      g_assert_null (m);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      g_assert_nonnull (strstr (error->message, why));
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(BktTestDir) dir = NULL;
  g_autofree char *path = NULL;

  bkt_test_init (&argc, &argv);
  dir = tmp = bkt_test_dir_new ("registry");
  /* Throwaway installations for the plan, and no bus (libflatpak would
   * ask one to reload its configuration). */
  for (guint i = 0; i < 4; i++)
    {
      static const char * const vars[] = { "HOME", "FLATPAK_USER_DIR", "FLATPAK_SYSTEM_DIR", "FLATPAK_CONFIG_DIR" };
      g_autofree char *d = bkt_test_dir_mkdir (tmp, vars[i]);
      g_setenv (vars[i], d, TRUE);
    }
  path = g_strconcat ("unix:path=", tmp->path, "/no-bus.socket", NULL);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", path, TRUE);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", path, TRUE);

  g_test_add_func ("/registry/rows", test_registry_rows);
  g_test_add_func ("/registry/aliases", test_registry_aliases);
  g_test_add_func ("/registry/engine", test_engine_from_registry);
  g_test_add_func ("/registry/row-validators-are-the-loaders", test_row_validators_are_the_loaders);
  g_test_add_func ("/registry/app-id/rule", test_app_id_rule);
  g_test_add_func ("/registry/app-id/loader", test_app_id_loader);
  g_test_add_func ("/registry/app-id/plan", test_app_id_plan);
  return g_test_run ();
}
