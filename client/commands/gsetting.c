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

/* Whether the daemon could not check @entry (status "unknown": a schema or
 * key that is not installed here). */
static gboolean
entry_is_unknown (JsonObject *subsystem_status, JsonObject *entry)
{
  JsonArray *unknown = json_object_has_member (subsystem_status, "unknown")
                       ? json_object_get_array_member (subsystem_status, "unknown") : NULL;

  for (guint i = 0; unknown != NULL && i < json_array_get_length (unknown); i++)
    {
      JsonObject *u = json_array_get_object_element (unknown, i);
      if (u != NULL && json_object_has_member (u, "schema") &&
          g_strcmp0 (json_object_get_string_member_with_default (u, "schema", NULL),
                     json_object_get_string_member_with_default (entry, "schema", "")) == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (u, "key", NULL),
                     json_object_get_string_member_with_default (entry, "key", "")) == 0)
        return TRUE;
    }
  return FALSE;
}

static int
gsetting_list (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;
  JsonArray *entries, *drift, *untracked;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  s = bkt_cmd_subsystem_status (ctx, "gsettings", &all, &error);
  if (s == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      bkt_render_print_object (s);
      return EXIT_OK;
    }
  entries = json_object_get_array_member (s, "entries");
  drift = json_object_get_array_member (s, "drift");
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      const char *state = entry_is_unknown (s, e) ? "unknown schema/key" : "in sync";

      for (guint j = 0; drift != NULL && j < json_array_get_length (drift); j++)
        {
          JsonObject *d = json_object_get_object_member (json_array_get_object_element (drift, j), "details");
          if (g_strcmp0 (json_object_get_string_member_with_default (d, "schema", NULL),
                         json_object_get_string_member_with_default (e, "schema", "")) == 0 &&
              g_strcmp0 (json_object_get_string_member_with_default (d, "key", NULL),
                         json_object_get_string_member_with_default (e, "key", "")) == 0)
            state = "differs";
        }
      g_print ("%-40s %-28s %-20s %s\n", json_object_get_string_member_with_default (e, "schema", "?"),
               json_object_get_string_member_with_default (e, "key", "?"),
               json_object_get_string_member_with_default (e, "value", "?"), state);
    }
  untracked = json_object_has_member (s, "untracked") ? json_object_get_array_member (s, "untracked") : NULL;
  for (guint i = 0; untracked != NULL && i < json_array_get_length (untracked); i++)
    {
      JsonObject *o = json_array_get_object_element (untracked, i);
      g_print ("%-40s (untracked: run `bkt gsetting capture`)\n",
               json_object_get_string_member_with_default (o, "summary",
                 json_object_get_string_member_with_default (o, "target", "?")));
    }
  return EXIT_OK;
}

const BktCommand bkt_gsetting_commands[] = {
  { "set", NULL, "set a key now and record it (VALUE is GVariant text)", "SCHEMA KEY VALUE", gsetting_set },
  { "unset", NULL, "reset a key now and forget it", "SCHEMA KEY", gsetting_unset },
  { "list", NULL, "tracked settings and their state", NULL, gsetting_list },
  { "apply", NULL, "apply the gsettings manifest", NULL, bkt_cmd_run_sync, .data = "gsettings" },
  { "capture", NULL, "record changed settings (of SCHEMA only, if given)", "[SCHEMA]", gsetting_capture },
  { NULL }
};
