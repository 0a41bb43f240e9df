/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "bkt-cmd.h"
#include "bkt-error.h"

/* `bkt extension` and `bkt shim`: the same change mechanism as `bkt
 * flatpak add` (ChangePlan, then Change: act now, record in the user
 * overlay), listings from the subsystem's Status. */

/* The status object of one subsystem, or NULL (error set). */
static JsonObject *
subsystem_status (Ctx *ctx, const char *subsystem, JsonObject **out_all, GError **error)
{
  JsonObject *status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                             g_variant_new ("(@a{sv})", session_options (ctx, subsystem)), error);
  JsonObject *subsystems;

  if (status == NULL)
    return NULL;
  *out_all = status;
  subsystems = json_object_get_object_member (status, "subsystems");
  if (subsystems == NULL || !json_object_has_member (subsystems, subsystem))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "the daemon reports no %s subsystem", subsystem);
      return NULL;
    }
  return json_object_get_object_member (subsystems, subsystem);
}

/* ---- extension ---------------------------------------------------------------------- */

static int
list_extensions (Ctx *ctx)
{
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s = subsystem_status (ctx, "extension", &all, &error);
  JsonArray *entries, *untracked;
  const char *version;

  if (s == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      bkt_render_print_object (s);
      return EXIT_OK;
    }
  entries = json_object_get_array_member (s, "entries");
  untracked = json_object_get_array_member (s, "untracked");
  version = json_object_get_string_member_with_default (s, "shell_version", NULL);
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      gboolean want = json_object_get_boolean_member_with_default (e, "enabled", TRUE);
      const char *state = json_object_get_string_member_with_default (e, "state", "?");
      gboolean compatible = json_object_get_boolean_member_with_default (e, "compatible", TRUE);

      g_print ("%-50s %-9s %s%s\n", json_object_get_string_member_with_default (e, "uuid", "?"),
               want ? "enabled" : "disabled", state, compatible ? "" : " (incompatible)");
    }
  for (guint i = 0; untracked != NULL && i < json_array_get_length (untracked); i++)
    g_print ("%-50s (untracked: run `bkt extension capture`)\n",
             json_object_get_string_member_with_default (json_array_get_object_element (untracked, i), "summary", "?"));
  g_print ("\n%" G_GINT64_FORMAT " tracked: %" G_GINT64_FORMAT " installed, %" G_GINT64_FORMAT " enabled, %"
           G_GINT64_FORMAT " not installed; %u untracked; GNOME Shell %s%s\n",
           json_object_get_int_member_with_default (s, "tracked", 0),
           json_object_get_int_member_with_default (s, "installed", 0),
           json_object_get_int_member_with_default (s, "enabled", 0),
           json_object_get_int_member_with_default (s, "not_installed", 0),
           untracked != NULL ? json_array_get_length (untracked) : 0,
           version != NULL ? version : "version unknown",
           json_object_get_boolean_member_with_default (s, "shell_running", FALSE) ? " (running)" : " (not running)");
  return EXIT_OK;
}

int
bkt_cmd_extension (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  const GOptionEntry add_entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force,
      "Record even if extensions.gnome.org cannot confirm it (offline, other shell version)", NULL },
    { "disabled", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.disabled, "Install but keep it disabled", NULL },
    { NULL }
  };
  const struct { const char *name; const char *usage; } one_uuid[] = {
    { "remove", "UUID - uninstall an extension now and forget it" },
    { "enable", "UUID - enable an installed extension now and record it" },
    { "disable", "UUID - disable an extension now and record it as disabled" },
  };
  GVariantBuilder b;
  int code;

  if (sub == NULL || g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      g_print ("Usage: bkt extension (ext) COMMAND\n\n"
               "  add UUID [--force] [--disabled]   install from extensions.gnome.org, enable, record\n"
               "  remove UUID                       uninstall and forget\n"
               "  enable UUID | disable UUID        switch now and record the state\n"
               "  list                              tracked extensions and their state\n"
               "  sync                              apply the extensions manifest\n"
               "  capture                           record extensions enabled, disabled or removed by hand\n");
      return sub == NULL ? EXIT_USAGE : EXIT_OK;
    }
  argc--;
  argv++;
  if (g_str_equal (sub, "add"))
    {
      if (!parse_command_full (ctx, "UUID - install a GNOME Shell extension now and record it", NULL, add_entries,
                               TRUE, &argc, &argv, 1, 1, &code))
        return code;
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      add_string (&b, "uuid", argv[1]);
      g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (ctx->opt.force));
      g_variant_builder_add (&b, "{sv}", "disabled", g_variant_new_boolean (ctx->opt.disabled));
      return run_change (ctx, "extension", "add", g_variant_builder_end (&b));
    }
  for (guint i = 0; i < G_N_ELEMENTS (one_uuid); i++)
    if (g_str_equal (sub, one_uuid[i].name))
      {
        if (!parse_command_full (ctx, one_uuid[i].usage, NULL, NULL, TRUE, &argc, &argv, 1, 1, &code))
          return code;
        g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
        add_string (&b, "uuid", argv[1]);
        return run_change (ctx, "extension", sub, g_variant_builder_end (&b));
      }
  if (g_str_equal (sub, "list"))
    {
      if (!parse_command (ctx, "- tracked extensions and their state", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      return list_extensions (ctx);
    }
  if (g_str_equal (sub, "sync"))
    {
      if (!parse_command (ctx, "- install and enable what the extensions manifest lists", NULL, NULL,
                          &argc, &argv, 0, 0, &code))
        return code;
      return run_apply (ctx, "extension");
    }
  if (g_str_equal (sub, "capture"))
    {
      if (!parse_command (ctx, "- record extensions enabled, disabled or removed by hand", NULL, NULL,
                          &argc, &argv, 0, 0, &code))
        return code;
      return run_capture (ctx, "extension");
    }
  g_printerr ("bkt: unknown extension command “%s”; see bkt extension --help\n", sub);
  return EXIT_USAGE;
}

/* ---- shim --------------------------------------------------------------------------- */

static int
list_shims (Ctx *ctx)
{
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s = subsystem_status (ctx, "shim", &all, &error);
  JsonArray *shims, *untracked;

  if (s == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      bkt_render_print_object (s);
      return EXIT_OK;
    }
  shims = json_object_get_array_member (s, "shims");
  untracked = json_object_get_array_member (s, "untracked");
  g_print ("Shim directory: %s\n", json_object_get_string_member_with_default (s, "dir", "?"));
  for (guint i = 0; shims != NULL && i < json_array_get_length (shims); i++)
    {
      JsonObject *o = json_array_get_object_element (shims, i);
      g_print ("%-24s → host %-24s %s\n", json_object_get_string_member_with_default (o, "name", "?"),
               json_object_get_string_member_with_default (o, "host", "?"),
               json_object_get_string_member_with_default (o, "state", "?"));
    }
  for (guint i = 0; untracked != NULL && i < json_array_get_length (untracked); i++)
    g_print ("%-24s (untracked bkt shim: `bkt capture --only shim` records it, `bkt shim sync` removes it)\n",
             json_object_get_string_member_with_default (json_array_get_object_element (untracked, i), "summary", "?"));
  return EXIT_OK;
}

int
bkt_cmd_shim (Ctx *ctx, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  const GOptionEntry add_entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.host, "Host command to run (default: NAME)", "COMMAND" },
    { NULL }
  };
  GVariantBuilder b;
  int code;

  if (sub == NULL || g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      g_print ("Usage: bkt shim COMMAND\n\n"
               "  add NAME [--host COMMAND]   create a toolbox shim running the host's COMMAND, record it\n"
               "  remove NAME                 remove the shim and forget it\n"
               "  list                        tracked shims and their state\n"
               "  sync                        write and remove shims as the manifest says\n");
      return sub == NULL ? EXIT_USAGE : EXIT_OK;
    }
  argc--;
  argv++;
  if (g_str_equal (sub, "add") || g_str_equal (sub, "remove"))
    {
      gboolean add = g_str_equal (sub, "add");

      if (!parse_command_full (ctx, add ? "NAME - create a shim for a host command now and record it"
                                        : "NAME - remove a shim now and forget it",
                               NULL, add ? add_entries : NULL, TRUE, &argc, &argv, 1, 1, &code))
        return code;
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      add_string (&b, "name", argv[1]);
      if (add)
        add_string (&b, "host", ctx->opt.host);
      return run_change (ctx, "shim", sub, g_variant_builder_end (&b));
    }
  if (g_str_equal (sub, "list"))
    {
      if (!parse_command (ctx, "- tracked shims and their state", NULL, NULL, &argc, &argv, 0, 0, &code))
        return code;
      return list_shims (ctx);
    }
  if (g_str_equal (sub, "sync"))
    {
      if (!parse_command (ctx, "- write and remove shims as the manifest says", NULL, NULL,
                          &argc, &argv, 0, 0, &code))
        return code;
      return run_apply (ctx, "shim");
    }
  g_printerr ("bkt: unknown shim command “%s”; see bkt shim --help\n", sub);
  return EXIT_USAGE;
}
