/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-schema.h"

/* `bkt schema`: the JSON Schemas of every document of a distribution repo,
 * written from the shapes the loaders check (bkt-manifest-shapes.c), so an
 * editor that validates against them agrees with bkt.  No daemon. */

static char *
installed_schema (const BktSchemaKind *kind)
{
  return g_build_filename (BKT_PKGDATADIR, "schemas", kind->schema_file, NULL);
}

static int
schema_list (Ctx *ctx, int argc, char **argv)
{
  guint n = 0;
  const BktSchemaKind *kinds = bkt_schema_kinds (&n);
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  if (ctx->opt.json)
    {
      g_autoptr(JsonArray) a = json_array_new ();
      g_autoptr(JsonNode) node = json_node_alloc ();

      for (guint i = 0; i < n; i++)
        {
          JsonObject *o = json_object_new ();
          g_autofree char *schema = installed_schema (&kinds[i]);

          json_object_set_string_member (o, "kind", kinds[i].name);
          json_object_set_string_member (o, "file", kinds[i].path);
          json_object_set_string_member (o, "schema", schema);
          json_array_add_object_element (a, o);
        }
      json_node_init_array (node, a);
      bkt_render_print_json (node);
      return EXIT_OK;
    }
  g_print ("%-24s %-40s %s\n", "KIND", "FILE", "SCHEMA");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *schema = installed_schema (&kinds[i]);
      g_print ("%-24s %-40s %s\n", kinds[i].name, kinds[i].path, schema);
    }
  return EXIT_OK;
}

/* The schema file's text as `generate` writes it. */
static char *
schema_text (const BktSchemaKind *kind, gsize *length)
{
  g_autoptr(JsonNode) doc = bkt_schema_generate (kind);

  return bkt_json_to_document (doc, length);
}

static gboolean
same_content (const char *path, const char *data, gsize length)
{
  g_autofree char *old = NULL;
  gsize old_length = 0;

  return g_file_get_contents (path, &old, &old_length, NULL) && old_length == length
         && memcmp (old, data, length) == 0;
}

/* DIR, else the distribution repo's schemas/ (where its manifests'
 * "$schema": "../schemas/NAME.schema.json" point). */
static char *
target_dir (Ctx *ctx, const char *dir, GError **error)
{
  g_autofree char *repo = NULL;

  if (dir != NULL)
    return g_canonicalize_filename (dir, NULL);
  repo = bkt_cmd_repo_path (ctx, error);
  if (repo == NULL)
    {
      g_prefix_error (error, "no DIR given and ");
      return NULL;
    }
  return g_build_filename (repo, "schemas", NULL);
}

static int
schema_generate (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout (default DIR: its schemas/)",
      "DIR" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(JsonArray) files = json_array_new ();
  guint n = 0;
  const BktSchemaKind *kinds = bkt_schema_kinds (&n);
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 1, &code))
    return code;
  dir = target_dir (ctx, argc > 1 ? argv[1] : NULL, &error);
  if (dir == NULL)
    return fail (error);
  if (g_file_test (dir, G_FILE_TEST_EXISTS) && !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_printerr ("bkt: schema generate: %s is not a directory\n", dir);
      return EXIT_FAILED;
    }
  if (!ctx->opt.dry_run && !bkt_fs_mkdir_p (dir, 0755, &error))
    return fail (error);
  for (guint i = 0; i < n; i++)
    {
      gsize length = 0;
      g_autofree char *text = schema_text (&kinds[i], &length);
      g_autofree char *path = g_build_filename (dir, kinds[i].schema_file, NULL);
      gboolean changed = !same_content (path, text, length);
      JsonObject *o = json_object_new ();

      if (changed && !ctx->opt.dry_run && !bkt_write_file_atomic (path, text, length, 0644, &error))
        {
          json_object_unref (o);
          return fail (error);
        }
      json_object_set_string_member (o, "kind", kinds[i].name);
      json_object_set_string_member (o, "path", path);
      json_object_set_boolean_member (o, "changed", changed);
      json_array_add_object_element (files, o);
      if (!ctx->opt.json)
        g_print ("%s %s\n", !changed ? "unchanged  " : ctx->opt.dry_run ? "would write" : "wrote      ", path);
    }
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();

      json_object_set_string_member (o, "dir", dir);
      json_object_set_boolean_member (o, "dry_run", ctx->opt.dry_run);
      json_object_set_array_member (o, "files", json_array_ref (files));
      bkt_render_print_object (o);
    }
  return EXIT_OK;
}

/* The kind of @path by its name: "upstream/manifest.json", "repo.json",
 * else "manifests/KIND.json" (any directory). */
static const BktSchemaKind *
kind_of_path (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *parent = g_path_get_basename (dir);
  g_autofree char *stem = NULL;

  if (g_str_equal (base, "manifest.json") && g_str_equal (parent, "upstream"))
    return bkt_schema_kind_lookup ("upstream-manifest");
  if (!g_str_has_suffix (base, ".json"))
    return NULL;
  stem = g_strndup (base, strlen (base) - strlen (".json"));
  if (g_str_equal (stem, "upstream-manifest"))
    return NULL;
  return bkt_schema_kind_lookup (stem);
}

/* Load @path as the loaders do: the manifest kinds through
 * bkt_manifest_load_file() (unique keys included), the others through
 * their shape and checks (what bkt base, bkt upstream and repo discovery
 * load them with). */
static gboolean
check_file (const BktSchemaKind *kind, const char *path, GError **error)
{
  guint n = 0;
  const BktSchemaKind *kinds = bkt_schema_kinds (&n);
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr(BktJsonDoc) doc = NULL;

  /* A missing manifest loads as an empty one; asked to check a file,
   * its absence is the error. */
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s: no such file", path), FALSE;
  if (kind - kinds < BKT_MANIFEST_N_KINDS)
    {
      g_autoptr(BktManifest) m = bkt_manifest_load_file ((BktManifestKind) (kind - kinds), path, error);
      return m != NULL;
    }
  if (!g_file_get_contents (path, &data, &length, error))
    return FALSE;
  doc = bkt_schema_load_data (kind, path, data, length, 8 * 1024 * 1024, error);
  return doc != NULL;
}

static int
schema_check (Ctx *ctx, int argc, char **argv)
{
  g_autofree char *kind_name = NULL;
  const GOptionEntry entries[] = {
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind_name, "Check every FILE as this kind (default: by its name)",
      "KIND" },
    { NULL }
  };
  g_autoptr(JsonArray) results = json_array_new ();
  const BktSchemaKind *forced = NULL;
  int code, status = EXIT_OK;

  if (!parse_command (ctx, entries, &argc, &argv, 1, G_MAXUINT, &code))
    return code;
  if (kind_name != NULL && (forced = bkt_schema_kind_lookup (kind_name)) == NULL)
    {
      g_printerr ("bkt: schema check: unknown kind “%s” (bkt schema list names them)\n", kind_name);
      return EXIT_USAGE;
    }
  for (int i = 1; i < argc; i++)
    {
      const BktSchemaKind *kind = forced != NULL ? forced : kind_of_path (argv[i]);
      g_autoptr(GError) error = NULL;
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "file", argv[i]);
      json_array_add_object_element (results, o);
      if (kind == NULL)
        g_set_error (&error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                     "%s: not a manifest file name bkt knows (bkt schema list); use --kind KIND", argv[i]);
      else
        json_object_set_string_member (o, "kind", kind->name);
      if (error == NULL)
        check_file (kind, argv[i], &error);
      json_object_set_boolean_member (o, "ok", error == NULL);
      if (error != NULL)
        {
          json_object_set_string_member (o, "error", error->message);
          if (status == EXIT_OK)
            status = bkt_error_exit_code (error);
          if (!ctx->opt.json)
            g_printerr ("bkt: %s\n", error->message);
        }
      else if (!ctx->opt.json)
        g_print ("%s: ok (%s)\n", argv[i], kind->name);
    }
  if (ctx->opt.json)
    {
      g_autoptr(JsonNode) node = json_node_alloc ();

      json_node_init_array (node, results);  /* takes its own reference */
      bkt_render_print_json (node);
    }
  return status;
}

const BktCommand bkt_schema_commands[] = {
  { "list", NULL, "every manifest kind: its file in the repo and its installed JSON Schema", NULL, schema_list },
  { "generate", NULL, "write the JSON Schemas into DIR (default: the repo's schemas/)", "[DIR]", schema_generate },
  { "check", NULL, "load manifest files as bkt does and say what is wrong (no daemon)", "FILE…", schema_check },
  { NULL }
};
