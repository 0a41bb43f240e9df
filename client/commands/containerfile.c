/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "commands.h"
#include "bkt-containerfile.h"
#include "bkt-error.h"
#include "bkt-repo.h"

/* `bkt containerfile` (in bkt-tool): the Containerfile is a file of the
 * distribution repo that the user edits and commits; its managed sections
 * are generated from the manifests, without a daemon. */

/* Where the Containerfile and the manifests it is generated from are:
 * --file and -m win, else the distribution repo (bkt_repo_discover()). */
static gboolean
containerfile_paths (Ctx *ctx, const char *file, char **out_file, char **out_manifests, GError **error)
{
  g_autoptr(BktRepo) repo = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *repo_dir = ctx->opt.repo != NULL ? g_canonicalize_filename (ctx->opt.repo, NULL) : NULL;

  if (file == NULL || ctx->opt.manifests == NULL)
    {
      g_autoptr(GError) local_error = NULL;

      repo = bkt_repo_discover (repo_dir, cwd, &local_error);
      /* With --file, the manifests beside it do when there is no repo. */
      if (repo == NULL && file == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  if (file != NULL)
    *out_file = g_canonicalize_filename (file, NULL);
  else
    *out_file = g_build_filename (bkt_repo_get_path (repo), "Containerfile", NULL);
  if (ctx->opt.manifests != NULL)
    *out_manifests = g_canonicalize_filename (ctx->opt.manifests, NULL);
  else if (repo != NULL)
    *out_manifests = g_build_filename (bkt_repo_get_path (repo), "manifests", NULL);
  else
    {
      g_autofree char *dir = g_path_get_dirname (*out_file);
      *out_manifests = g_build_filename (dir, "manifests", NULL);
    }
  return TRUE;
}

/* {"file", "changed": [SECTION…], "written": b, "up_to_date": b, "error": s} */
static void
print_json (const char *file, char **changed, gboolean written, const char *error)
{
  g_autoptr(JsonObject) o = json_object_new ();
  JsonArray *a = json_array_new ();

  for (guint i = 0; changed[i] != NULL; i++)
    json_array_add_string_element (a, changed[i]);
  json_object_set_string_member (o, "file", file);
  json_object_set_array_member (o, "changed", a);
  json_object_set_boolean_member (o, "written", written);
  if (error != NULL)
    {
      json_object_set_boolean_member (o, "up_to_date", FALSE);
      json_object_set_string_member (o, "error", error);
    }
  bkt_render_print_object (o);
}

static int
containerfile_run (Ctx *ctx, int argc, char **argv)
{
  const char *sub = ctx->command->name;
  g_autofree char *file_opt = NULL;
  const GOptionEntry entries[] = {
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file_opt, "The Containerfile (default: the repo's)", "PATH" },
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { NULL }
  };
  g_autofree char *file = NULL;
  g_autofree char *manifests = NULL;
  g_auto(GStrv) changed = NULL;
  g_autoptr(GError) error = NULL;
  gboolean check;
  int code;

  check = g_str_equal (sub, "check");
  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;

  /* sync --dry-run compares as check does and writes nothing */
  if (!containerfile_paths (ctx, file_opt, &file, &manifests, &error)
      || !bkt_containerfile_sync_file (file, manifests, check || ctx->opt.dry_run, &changed, &error))
    {
      /* Drift is the answer `check` exists for, not a failure to run. */
      if (check && changed != NULL && changed[0] != NULL)
        {
          if (ctx->opt.json)
            print_json (file, changed, FALSE, error->message);
          else
            g_printerr ("bkt: %s\n", error->message);
          return EXIT_FAILED;
        }
      if (!check && changed != NULL && changed[0] != NULL)
        g_clear_error (&error);
      else
        return fail (error);
    }
  if (ctx->opt.json)
    print_json (file, changed, !check && !ctx->opt.dry_run && changed[0] != NULL, NULL);
  else if (changed[0] == NULL)
    g_print ("%s: managed sections up to date\n", file);
  else
    {
      g_autofree char *list = g_strjoinv (", ", changed);
      if (ctx->opt.dry_run)
        g_print ("%s: would regenerate %s (--dry-run: nothing written)\n", file, list);
      else
        g_print ("%s: regenerated %s\n", file, list);
    }
  return EXIT_OK;
}

const BktCommand bkt_containerfile_commands[] = {
  { "sync", NULL, "regenerate the managed sections (SYSTEM_PACKAGES, COPR_REPOS, HOST_SHIMS) from the manifests",
    NULL, containerfile_run },
  { "check", NULL, "exit 1 if a managed section is out of date (for CI)", NULL, containerfile_run },
  { NULL }
};
