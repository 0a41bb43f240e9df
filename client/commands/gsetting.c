/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "commands.h"

/* `bkt gsetting`: set and unset act now, record in the user overlay and
 * propose (run_change); apply and capture are apply/capture of the
 * gsettings subsystem (capture SCHEMA records one schema's changed keys);
 * list reads its Status. */

static int
gsetting_set (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "comment", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.comment, "Why this setting (kept in the manifest)", "TEXT" },
    { "path", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.path, "Path of a relocatable schema", "PATH" },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, entries, TRUE, &argc, &argv, 3, 3, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "schema", argv[1]);
  add_string (&b, "key", argv[2]);
  add_string (&b, "value", argv[3]);
  add_string (&b, "comment", ctx->opt.comment);
  add_string (&b, "path", ctx->opt.path);
  return run_change (ctx, "gsettings", "set", g_variant_builder_end (&b));
}

static int
gsetting_unset (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "path", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.path, "Path of a relocatable schema", "PATH" },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, entries, TRUE, &argc, &argv, 2, 2, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "schema", argv[1]);
  add_string (&b, "key", argv[2]);
  add_string (&b, "path", ctx->opt.path);
  return run_change (ctx, "gsettings", "unset", g_variant_builder_end (&b));
}

static int
gsetting_capture (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "path", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.path, "Path of a relocatable schema", "PATH" },
    { "select", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.select,
      "Without SCHEMA: record only these keys (comma-separated, as bkt drift status names them)", "IDS" },
    { "all-untracked", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.all_untracked,
      "Without SCHEMA: record every key set here that no manifest declares too", NULL },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 1, &code))
    return code;
  if (argc < 2)
    return run_capture (ctx, "gsettings");
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "schema", argv[1]);
  add_string (&b, "path", ctx->opt.path);
  return run_change (ctx, "gsettings", "capture", g_variant_builder_end (&b));
}


/* A setting is in sync, differs (apply would set it), or cannot be
 * checked here (a schema or key that is not installed: "unknown"). */
static void
gsetting_entry (JsonObject *status, JsonObject *e)
{
  static const char * const key[] = { "schema", "key", NULL };
  const char *state = "in sync";

  if (bkt_list_matches (json_object_get_array_member (status, "drift"), "details", e, key))
    state = "differs";
  else if (json_object_has_member (status, "unknown") &&
           bkt_list_matches (json_object_get_array_member (status, "unknown"), NULL, e, key))
    state = "unknown schema/key";
  g_print ("%-40s %-28s %-20s %s\n", json_object_get_string_member_with_default (e, "schema", "?"),
           json_object_get_string_member_with_default (e, "key", "?"),
           json_object_get_string_member_with_default (e, "value", "?"), state);
}

static int
gsetting_list (Ctx *ctx, int argc, char **argv)
{
  static const BktListView view = {
    .subsystem = "gsettings", .name_width = 40, .untracked_hint = "untracked: `bkt gsetting capture --select ID` records it",
    .print_entry = gsetting_entry,
  };
  return bkt_list_run (ctx, argc, argv, &view);
}

const BktCommand bkt_gsetting_commands[] = {
  { "set", NULL, "set a key now and record it (VALUE is GVariant text)", "SCHEMA KEY VALUE", gsetting_set },
  { "unset", NULL, "reset a key now and forget it", "SCHEMA KEY", gsetting_unset },
  { "list", NULL, "tracked settings and their state", NULL, gsetting_list },
  { "apply", NULL, "apply the gsettings manifest", NULL, bkt_cmd_run_sync, .data = "gsettings" },
  { "capture", NULL, "record changed settings (of SCHEMA only, if given)", "[SCHEMA]", gsetting_capture },
  { NULL }
};
