/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "commands.h"

/* `bkt shim`: toolbox shims for host commands, with the same change
 * mechanism as `bkt flatpak add`; list reads the subsystem's Status. */

/* ---- shim --------------------------------------------------------------------------- */

static void
shim_header (JsonObject *s)
{
  g_print ("Shim directory: %s\n", json_object_get_string_member_with_default (s, "dir", "?"));
}

static void
shim_entry (JsonObject *status, JsonObject *o)
{
  g_print ("%-24s → host %-24s %s\n", json_object_get_string_member_with_default (o, "name", "?"),
           json_object_get_string_member_with_default (o, "host", "?"),
           json_object_get_string_member_with_default (o, "state", "?"));
}

static int
shim_list (Ctx *ctx, int argc, char **argv)
{
  static const BktListView view = {
    .subsystem = "shim", .entries_member = "shims", .name_width = 24,
    .untracked_hint = "untracked bkt shim: `bkt capture --only shim --select ID` records it, `bkt shim remove NAME` removes it",
    .print_header = shim_header, .print_entry = shim_entry,
  };
  return bkt_list_run (ctx, argc, argv, &view);
}

/* add and remove: the row's name is the action. */
static int
shim_change (Ctx *ctx, int argc, char **argv)
{
  gboolean add = g_str_equal (ctx->command->name, "add");
  const GOptionEntry add_entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.host, "Host command to run (default: NAME)", "COMMAND" },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, add ? add_entries : NULL, TRUE, &argc, &argv, 1, 1, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "name", argv[1]);
  if (add)
    add_string (&b, "host", ctx->opt.host);
  return run_change (ctx, "shim", ctx->command->name, g_variant_builder_end (&b));
}

const BktCommand bkt_shim_commands[] = {
  { "add", NULL, "create a toolbox shim running the host's COMMAND now and record it", "NAME", shim_change },
  { "remove", NULL, "remove a shim now and forget it", "NAME", shim_change },
  { "list", NULL, "tracked shims and their state", NULL, shim_list },
  { "sync", NULL, "write and update shims as the manifest says (apply --only shim)", NULL, bkt_cmd_run_sync, .data = "shim" },
  { NULL }
};
