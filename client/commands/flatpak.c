/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "commands.h"

/* `bkt flatpak`: add and remove act now, record in the user overlay and
 * propose (run_change); sync and capture are apply/capture of the
 * flatpak subsystem; list reads its Status. */

static int
flatpak_add (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "remote", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.remote, "Remote to install from (default: flathub)", "NAME" },
    { "scope", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.scope, "system (default) or user", "SCOPE" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Skip checking that the remote has the app", NULL },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, entries, TRUE, &argc, &argv, 1, 1, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "id", argv[1]);
  add_string (&b, "remote", ctx->opt.remote ? ctx->opt.remote : "flathub");
  add_string (&b, "scope", ctx->opt.scope ? ctx->opt.scope : "system");
  g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (ctx->opt.force));
  return run_change (ctx, "flatpak", "add", g_variant_builder_end (&b));
}

static int
flatpak_remove (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "scope", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.scope, "system or user (default: from the manifest)", "SCOPE" },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, entries, TRUE, &argc, &argv, 1, 1, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "id", argv[1]);
  add_string (&b, "scope", ctx->opt.scope);
  return run_change (ctx, "flatpak", "remove", g_variant_builder_end (&b));
}

static void
flatpak_entry (JsonObject *status, JsonObject *e)
{
  static const char * const id[] = { "id", NULL };
  JsonArray *drift = json_object_get_array_member (status, "drift");

  g_print ("%-40s %-12s %-7s %s\n", json_object_get_string_member_with_default (e, "id", "?"),
           json_object_get_string_member_with_default (e, "remote", "?"),
           json_object_get_string_member_with_default (e, "scope", "?"),
           bkt_list_matches (drift, "details", e, id) ? "not installed" : "in sync");
}

static int
flatpak_list (Ctx *ctx, int argc, char **argv)
{
  static const BktListView view = {
    .subsystem = "flatpak", .name_width = 40, .untracked_hint = "untracked: `bkt flatpak capture --select ID` records it",
    .print_entry = flatpak_entry,
  };
  return bkt_list_run (ctx, argc, argv, &view);
}

const BktCommand bkt_flatpak_commands[] = {
  { "add", NULL, "install a flatpak now and record it", "ID", flatpak_add },
  { "remove", NULL, "uninstall a flatpak now and forget it", "ID", flatpak_remove },
  { "list", NULL, "tracked flatpaks and their state", NULL, flatpak_list },
  { "sync", NULL, "install what the flatpak manifests list", NULL, bkt_cmd_run_sync, .data = "flatpak" },
  { "capture", NULL, "record flatpaks changed here (--select, --all-untracked: ones installed by hand)", NULL, bkt_cmd_run_capture, .data = "flatpak" },
  { NULL }
};
