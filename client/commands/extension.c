/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "commands.h"
#include "bkt-error.h"

/* `bkt extension`: the same change mechanism as `bkt
 * flatpak add` (ChangePlan, then Change: act now, record in the user
 * overlay), listings from the subsystem's Status. */

/* ---- extension ---------------------------------------------------------------------- */

static void
extension_entry (JsonObject *status, JsonObject *e)
{
  gboolean want = json_object_get_boolean_member_with_default (e, "enabled", TRUE);
  gboolean compatible = json_object_get_boolean_member_with_default (e, "compatible", TRUE);

  g_print ("%-50s %-9s %s%s\n", json_object_get_string_member_with_default (e, "uuid", "?"),
           want ? "enabled" : "disabled", json_object_get_string_member_with_default (e, "state", "?"),
           compatible ? "" : " (incompatible)");
}

static void
extension_footer (JsonObject *s, guint n_untracked)
{
  const char *version = json_object_get_string_member_with_default (s, "shell_version", NULL);

  g_print ("\n%" G_GINT64_FORMAT " tracked: %" G_GINT64_FORMAT " installed, %" G_GINT64_FORMAT " enabled, %"
           G_GINT64_FORMAT " not installed; %u untracked; GNOME Shell %s%s\n",
           json_object_get_int_member_with_default (s, "tracked", 0),
           json_object_get_int_member_with_default (s, "installed", 0),
           json_object_get_int_member_with_default (s, "enabled", 0),
           json_object_get_int_member_with_default (s, "not_installed", 0), n_untracked,
           version != NULL ? version : "version unknown",
           json_object_get_boolean_member_with_default (s, "shell_running", FALSE) ? " (running)" : " (not running)");
}

static int
extension_list (Ctx *ctx, int argc, char **argv)
{
  static const BktListView view = {
    .subsystem = "extension", .name_width = 50, .untracked_hint = "untracked: `bkt extension capture --select ID` records it",
    .print_entry = extension_entry, .print_footer = extension_footer,
  };
  return bkt_list_run (ctx, argc, argv, &view);
}

static int
extension_add (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force,
      "Record even if extensions.gnome.org cannot confirm it (offline, other shell version)", NULL },
    { "disabled", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.disabled, "Install but keep it disabled", NULL },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, entries, TRUE, &argc, &argv, 1, 1, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "uuid", argv[1]);
  g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (ctx->opt.force));
  g_variant_builder_add (&b, "{sv}", "disabled", g_variant_new_boolean (ctx->opt.disabled));
  return run_change (ctx, "extension", "add", g_variant_builder_end (&b));
}

/* remove, enable, disable: the row's name is the action. */
static int
extension_change (Ctx *ctx, int argc, char **argv)
{
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, NULL, TRUE, &argc, &argv, 1, 1, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "uuid", argv[1]);
  return run_change (ctx, "extension", ctx->command->name, g_variant_builder_end (&b));
}

const BktCommand bkt_extension_commands[] = {
  { "add", NULL, "install a GNOME Shell extension from extensions.gnome.org now, enable and record it", "UUID",
    extension_add },
  { "remove", NULL, "uninstall an extension now and forget it", "UUID", extension_change },
  { "enable", NULL, "enable an installed extension now and record it", "UUID", extension_change },
  { "disable", NULL, "disable an extension now and record it as disabled", "UUID", extension_change },
  { "list", NULL, "tracked extensions and their state", NULL, extension_list },
  { "sync", NULL, "install and enable what the extensions manifest lists", NULL, bkt_cmd_run_sync,
    .data = "extension" },
  { "capture", NULL, "record extensions enabled, disabled or removed by hand", NULL, bkt_cmd_run_capture,
    .data = "extension" },
  { NULL }
};
