/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-os.h"
#include "commands.h"

/* `bkt status`, `bkt apply`, `bkt capture` and `bkt version`: the whole
 * system against the manifests, through the session daemon. */

int
bkt_cmd_status (Ctx *ctx, int argc, char **argv)
{
  static gboolean watch;
  g_autofree char *format = NULL;
  /* -f/--format: the original's spelling of --json (`bkt status -f json`). */
  const GOptionEntry entries[] = {
    { "only", 's', 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 'x', 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "Output format: text or json (-f json is --json)", "FORMAT" },
    { "watch", 0, 0, G_OPTION_ARG_NONE, &watch, "Redraw whenever the drift watcher sees a change (bkt watch)", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (format != NULL && !g_str_equal (format, "json") && !g_str_equal (format, "text"))
    {
      g_printerr ("bkt: status: --format is text or json, not “%s”\n", format);
      return EXIT_USAGE;
    }
  if (g_strcmp0 (format, "json") == 0)
    {
      ctx->opt.json = TRUE;
      bkt_render_init (&ctx->render, TRUE);
    }
  return watch ? bkt_cmd_status_watch (ctx) : bkt_cmd_status_once (ctx);
}

int
bkt_cmd_status_once (Ctx *ctx)
{
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(JsonObject) os = NULL;
  g_autoptr(JsonObject) changelog = NULL;
  g_autoptr(GError) error = NULL;

  status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                 g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  if (status == NULL)
    return fail (error);
  /* The OS image (bootc) from the system instance and the image's
   * changelog (image-changelog.c); never errors. */
  os = bkt_os_section (ctx->client);
  changelog = bkt_image_changelog_section (os);
  if (ctx->opt.json)
    {
      json_object_set_object_member (status, "os", g_steal_pointer (&os));
      json_object_set_object_member (status, "changelog", g_steal_pointer (&changelog));
    }
  bkt_render_status (&ctx->render, status);
  if (os != NULL)
    bkt_os_print_section (os);
  if (changelog != NULL)
    bkt_image_changelog_print (changelog);
  /* An entry that cannot be checked here is not "in sync": say so in the
   * exit status too (bkt(1)). */
  return json_object_get_int_member_with_default (status, "unknown", 0) > 0 ? EXIT_FAILED : EXIT_OK;
}

/* --theirs / --ours / --force (= @forced) of apply and capture, as the
 * "resolve" option (docs/manifests.md, "Which side changed"). */
static gboolean
pick_resolution (Ctx *ctx, const char *forced, int *code)
{
  if (ctx->opt.theirs && ctx->opt.ours)
    {
      g_printerr ("bkt: --theirs and --ours exclude each other\n");
      *code = EXIT_USAGE;
      return FALSE;
    }
  ctx->opt.resolve = ctx->opt.theirs ? "theirs" : ctx->opt.ours ? "ours" : ctx->opt.force ? forced : NULL;
  return TRUE;
}

int
bkt_cmd_apply (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "only", 's', 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 'x', 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { "scope", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.scope,
      "Only this scope's part: user (the session's) or system (bktd --system's)", "SCOPE" },
    { "if-image-changed", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.if_image_changed,
      "Do nothing when the image's manifests were applied here already (docs/image.md)", NULL },
    { "notify", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.notify,
      "Send a desktop notification when something changed or failed", NULL },
    { "theirs", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.theirs,
      "The manifests win: revert what was changed on this machine", NULL },
    { "ours", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.ours,
      "This machine wins: apply the rest, keep what was changed here", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Same as --theirs", NULL },
    { "prune", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.prune,
      "Also remove what bkt installed or set and no manifest declares any more", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code) || !pick_resolution (ctx, "theirs", &code))
    return code;
  if (ctx->opt.scope != NULL && !g_str_equal (ctx->opt.scope, "user") && !g_str_equal (ctx->opt.scope, "system"))
    {
      g_printerr ("bkt: apply: --scope is user or system, not “%s”\n", ctx->opt.scope);
      return EXIT_USAGE;
    }
  return run_apply (ctx, NULL);
}

int
bkt_cmd_capture (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "only", 's', 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 'x', 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { "ours", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.ours,
      "Record this machine's value of items changed on both sides", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Same as --ours", NULL },
    { "pr", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.pr,
      "Also propose what is captured as ONE pull request (one commit per subsystem)", NULL },
    { "item", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ctx->opt.items,
      "Only this item, e.g. flatpak:org.gnome.Boxes (repeatable)", "TARGET" },
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "With --pr: the distribution repo checkout", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight,
      "With --pr: capture even if the pull request cannot be opened", NULL },
    { "select", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.select,
      "Record only these items (comma-separated, as bkt drift status names them)", "IDS" },
    { "all-untracked", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.all_untracked,
      "Record every untracked item too (items no manifest declares)", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code) || !pick_resolution (ctx, "ours", &code))
    return code;
  if ((ctx->opt.repo != NULL || ctx->opt.skip_preflight) && !ctx->opt.pr)
    {
      g_printerr ("bkt: capture: --repo and --skip-preflight go with --pr\n");
      return EXIT_USAGE;
    }
  return run_capture (ctx, NULL);
}

int
bkt_cmd_version (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  if (!ctx->opt.json)
    g_print ("bkt %s\n", PACKAGE_VERSION);
  reply = bkt_client_call (ctx->client, BKT_TARGET_SESSION, "org.freedesktop.DBus.Properties", "Get",
                           g_variant_new ("(ss)", "org.bkt.Daemon1.Manager", "DaemonVersion"),
                           G_VARIANT_TYPE ("(v)"), &error);
  if (reply == NULL)
    return fail (error);
  g_variant_get (reply, "(v)", &value);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_string_member (o, "bkt", PACKAGE_VERSION);
      json_object_set_string_member (o, "bktd", g_variant_get_string (value, NULL));
      json_object_set_boolean_member (o, "private_instance", bkt_client_is_private (ctx->client));
      bkt_render_print_object (o);
      return EXIT_OK;
    }
  g_print ("bktd %s%s\n", g_variant_get_string (value, NULL),
           bkt_client_is_private (ctx->client) ? " (private instance)" : "");
  return EXIT_OK;
}
