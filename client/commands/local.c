/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "bkt-json.h"
#include "commands.h"

/* `bkt local` (changes made with --local, proposed later as one PR) and
 * `bkt pr retry` (the pull requests that failed): the session daemon's
 * journal. */

static int
print_journal (Ctx *ctx, JsonObject *journal)
{
  JsonArray *entries = json_object_get_array_member (journal, "entries");

  if (ctx->opt.json)
    {
      bkt_render_print_object (journal);
      return EXIT_OK;
    }
  if (entries == NULL || json_array_get_length (entries) == 0)
    {
      g_print ("No local changes and no failed pull requests.\n");
      return EXIT_OK;
    }
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (json_object_get_int_member_with_default (e, "created", 0));
      g_autofree char *when = t ? g_date_time_format (t, "%Y-%m-%d %H:%M") : g_strdup ("?");

      g_print ("#%-4" G_GINT64_FORMAT " %-7s %s  %s\n", json_object_get_int_member_with_default (e, "id", 0),
               bkt_json_object_get_string (e, "state"), when, bkt_json_object_get_string (e, "summary") ? bkt_json_object_get_string (e, "summary") : "");
      if (bkt_json_object_get_string (e, "command") != NULL)
        g_print ("      %s\n", bkt_json_object_get_string (e, "command"));
      if (bkt_json_object_get_string (e, "error") != NULL)
        g_print ("      failed: %s\n", bkt_json_object_get_string (e, "error"));
    }
  return EXIT_OK;
}

static int
local_list (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(JsonObject) journal = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  journal = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "LocalList",
                                  g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  if (journal == NULL)
    return fail (error);
  return print_journal (ctx, journal);
}

static int
local_commit (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "select", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.select, "Only these journal ids (comma-separated)", "IDS" },
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight, "Go ahead even if the checks fail", NULL },
    { NULL }
  };
  g_auto(GStrv) parts = NULL;
  GVariantBuilder ids;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  g_variant_builder_init (&ids, G_VARIANT_TYPE ("ax"));
  parts = bkt_cmd_split_list (ctx->opt.select);
  for (guint i = 0; parts != NULL && parts[i] != NULL; i++)
    {
      const char *p = parts[i][0] == '#' ? parts[i] + 1 : parts[i];
      gint64 id = 0;
      if (!g_ascii_string_to_signed (p, 10, 1, G_MAXINT64, &id, NULL))
        {
          g_variant_builder_clear (&ids);
          g_printerr ("bkt: --select takes journal ids like 1,3 (see bkt local list), not “%s”\n", parts[i]);
          return EXIT_USAGE;
        }
      g_variant_builder_add (&ids, "x", id);
    }
  return run_proposal (ctx, "LocalCommit", g_variant_new ("(ax@a{sv})", &ids, change_options (ctx, NULL)));
}

const BktCommand bkt_local_commands[] = {
  { "list", NULL, "changes made with --local, and failed pull requests", NULL, local_list },
  { "commit", NULL, "propose local changes as one pull request", NULL, local_commit },
  { NULL }
};

static int
pr_retry (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight, "Go ahead even if the checks fail", NULL },
    { NULL }
  };
  g_autoptr(JsonObject) journal = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *entries_list;
  gboolean any = FALSE;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  journal = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "LocalList",
                                  g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  if (journal == NULL)
    return fail (error);
  entries_list = json_object_get_array_member (journal, "entries");
  for (guint i = 0; entries_list != NULL && i < json_array_get_length (entries_list); i++)
    any |= g_strcmp0 (bkt_json_object_get_string (json_array_get_object_element (entries_list, i), "state"),
                      "failed") == 0;
  if (!any)
    {
      if (ctx->opt.json)
        g_print ("{\"success\": true, \"results\": [], \"pr\": null}\n");
      else
        g_print ("Nothing to retry: no failed pull requests are queued.\n");
      return EXIT_OK;
    }
  return run_proposal (ctx, "PrRetry", g_variant_new ("(@a{sv})", change_options (ctx, NULL)));
}

const BktCommand bkt_pr_commands[] = {
  { "retry", NULL, "push and open again the pull requests that failed", NULL, pr_retry },
  { NULL }
};
