/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "bkt-json.h"
#include "bkt-os.h"
#include "commands.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-render.h"

#define ADMIN_IFACE "org.bkt.Daemon1.Admin"

typedef struct {
  Ctx         *ctx;
  BktClient   *client;
  /* options */
  gboolean     json;
  gboolean     confirm;
  gboolean     dry_run;
  gboolean     wait;
  gboolean     verbose;
  char        *manifests;   /* global option, accepted and ignored */
  gboolean     check;
  gboolean     apply;
  gboolean     now;
  char        *transport;
} Admin;

/* ---- toolbox ------------------------------------------------------------------ */

static gboolean
in_toolbox (void)
{
  return g_file_test ("/run/.toolboxenv", G_FILE_TEST_EXISTS) ||
         g_file_test ("/run/.containerenv", G_FILE_TEST_EXISTS);
}

/* In a toolbox (or another container) whose system bus is not the host's,
 * run the same command on the host instead: `flatpak-spawn --host bkt …`.
 * Returns only if that is not possible. */
static void
maybe_run_on_host (Admin *a, const GError *error)
{
  g_autoptr(GPtrArray) argv = NULL;
  g_autofree char *spawn = NULL;

  /* with -H the daemon is HOST's: the toolbox's host is not the answer */
  if (!g_error_matches (error, BKT_ERROR, BKT_ERROR_AUTHORITY_UNAVAILABLE) || !in_toolbox () ||
      bkt_client_get_host (a->client) != NULL ||
      g_getenv ("BKT_NO_HOST_FALLBACK") != NULL)
    return;
  spawn = g_find_program_in_path ("flatpak-spawn");
  if (spawn == NULL)
    return;
  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, spawn);
  g_ptr_array_add (argv, (char *) "--host");
  g_ptr_array_add (argv, (char *) "bkt");
  for (guint i = 1; a->ctx->argv[i] != NULL; i++)
    g_ptr_array_add (argv, a->ctx->argv[i]);
  g_ptr_array_add (argv, NULL);
  g_printerr ("bkt: the system daemon is not reachable from this container: running the command on "
              "the host (flatpak-spawn --host)\n");
  fflush (stdout);
  execv (spawn, (char **) argv->pdata);
  g_printerr ("bkt: flatpak-spawn: %s\n", g_strerror (errno));
}

/* ---- option parsing -------------------------------------------------------------- */

static gboolean
parse (Admin *a, const GOptionEntry *extra, int *argc, char ***argv, guint min_args, guint max_args, int *code)
{
  const BktCommand *cmd = a->ctx->command;
  const GOptionEntry common[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &a->json, "Machine-readable output", NULL },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &a->wait, "If bktd is busy, wait instead of failing", NULL },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &a->dry_run, "Say what would be done; do nothing", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &a->verbose, "Show debug messages", NULL },
    { "manifests", 'm', G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &a->manifests, "Unused here", "DIR" },
    { NULL }
  };
  g_autofree char *params = g_strdup_printf ("%s%s%s", cmd->usage ? cmd->usage : "", cmd->usage ? " - " : "- ",
                                             cmd->summary);
  g_autoptr(GOptionContext) octx = g_option_context_new (params);

  g_option_context_add_main_entries (octx, common, NULL);
  if (extra != NULL)
    g_option_context_add_main_entries (octx, extra, NULL);
  if (!bkt_cmd_parse_context (octx, a->ctx->path, cmd->usage, argc, argv, min_args, max_args, code))
    return FALSE;
  bkt_fs_set_dry_run (a->dry_run);
  if (a->verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  bkt_client_set_wait (a->client, a->wait);
  return TRUE;
}

/* Mutating commands need a clear yes: --confirm/-y, or an answer on a
 * terminal.  A script without the flag is refused rather than guessed. */
static gboolean
confirmed (Admin *a, const char *what, int *code)
{
  return bkt_cmd_confirm (a->confirm, what, code);
}

/* The positional arguments after the command name, NULL-terminated. */
static GStrv
positional (int argc, char **argv)
{
  GStrv out = g_new0 (char *, MAX (argc, 1));

  for (int i = 1; i < argc; i++)
    out[i - 1] = g_strdup (argv[i]);
  return out;
}

/* ---- system calls and transactions --------------------------------------------------- */

static GVariant *
admin_call (Admin *a, const char *method, GVariant *params, const char *reply_type, GError **error)
{
  GVariant *reply = bkt_client_call (a->client, BKT_TARGET_SYSTEM, ADMIN_IFACE, method, params,
                                     G_VARIANT_TYPE (reply_type), error);
  if (reply == NULL)
    maybe_run_on_host (a, *error);
  return reply;
}

static JsonObject *
parse_json (const char *text, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_data (parser, text, -1, error))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, "bktd sent a reply that is not a JSON object"), NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* The transaction's plan (for operation summaries in the output); on
 * HOST's system bus with -H. */
static JsonObject *
tx_plan (Admin *a, const char *path)
{
  return bkt_client_transaction_plan (a->client, BKT_TARGET_SYSTEM, path, NULL);
}

/* Call @method (which returns a transaction), follow it with a progress
 * bar, print the outcome. */
static int
run_transaction (Admin *a, const char *method, GVariant *params)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(JsonObject) plan = NULL;
  g_autoptr(BktReplyPlan) view = NULL;
  BktRenderer render;
  const char *path;
  gboolean ok;

  bkt_render_init (&render, a->json);
  reply = admin_call (a, method, params, "(o)", &error);
  if (reply == NULL)
    {
      if (a->json)
        {
          g_autoptr(JsonObject) out = json_object_new ();
          json_object_set_boolean_member (out, "success", FALSE);
          json_object_set_string_member (out, "error", error->message);
          bkt_render_print_object (out);
        }
      return fail (error);
    }
  g_variant_get (reply, "(&o)", &path);
  plan = tx_plan (a, path);
  view = plan != NULL ? bkt_reply_plan_new (plan) : NULL;
  render.plan = view;
  ok = bkt_client_follow (a->client, BKT_TARGET_SYSTEM, path, &bkt_render_follow_callbacks, &render,
                          &result, &error);
  bkt_render_end_progress (&render);

  if (a->json)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      json_object_set_string_member (out, "transaction", path);
      json_object_set_boolean_member (out, "success", ok);
      if (!ok)
        json_object_set_string_member (out, "error", error->message);
      if (result != NULL)
        json_object_set_object_member (out, "result", json_object_ref (result));
      bkt_render_print_object (out);
    }
  else if (ok && result != NULL)
    {
      const char *output = bkt_json_object_get_string (result, "output");
      JsonObject *st = bkt_os_member_object (result, "status");

      if (output != NULL && *g_strstrip ((char *) output) != '\0')
        g_print ("%s\n", output);
      if (st != NULL)
        {
          g_print ("\nOS image (bootc):\n");
          bkt_os_print_bootc_status (st);
        }
    }
  if (!ok)
    return fail (error);
  return EXIT_OK;
}

/* ---- bootc ---------------------------------------------------------------------------- */

static int
bootc_status (Admin *a, int argc, char **argv)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) st = NULL;
  const char *text;
  int code;

  if (!parse (a, NULL, &argc, &argv, 0, 0, &code))
    return code;
  reply = admin_call (a, "BootcStatus", g_variant_new ("(a{sv})", NULL), "(s)", &error);
  if (reply == NULL)
    return fail (error);
  g_variant_get (reply, "(&s)", &text);
  st = parse_json (text, &error);
  if (st == NULL)
    return fail (error);
  if (a->json)
    bkt_render_print_object (st);
  else
    {
      g_print ("OS image (bootc):\n");
      bkt_os_print_bootc_status (st);
    }
  return EXIT_OK;
}

static int
bootc_change (Admin *a, const char *sub, int argc, char **argv)
{
  const GOptionEntry upgrade_entries[] = {
    { "check", 0, 0, G_OPTION_ARG_NONE, &a->check, "Only check whether an update is available", NULL },
    { "apply", 0, 0, G_OPTION_ARG_NONE, &a->apply, "Reboot into the update once it is staged", NULL },
    { "confirm", 'y', 0, G_OPTION_ARG_NONE, &a->confirm, "Do it without asking", NULL },
    { NULL }
  };
  const GOptionEntry switch_entries[] = {
    { "transport", 0, 0, G_OPTION_ARG_STRING, &a->transport,
      "registry (default), oci, oci-archive, containers-storage or dir", "T" },
    { "apply", 0, 0, G_OPTION_ARG_NONE, &a->apply, "Reboot into the new image once it is staged", NULL },
    { "confirm", 'y', 0, G_OPTION_ARG_NONE, &a->confirm, "Do it without asking", NULL },
    { NULL }
  };
  const GOptionEntry rollback_entries[] = {
    { "confirm", 'y', 0, G_OPTION_ARG_NONE, &a->confirm, "Do it without asking", NULL },
    { NULL }
  };
  g_autofree char *what = NULL;
  GVariantBuilder b;
  int code;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (g_str_equal (sub, "upgrade"))
    {
      if (!parse (a, upgrade_entries, &argc, &argv, 0, 0, &code))
        goto usage;
      if (a->check && a->apply)
        {
          g_printerr ("bkt: --check and --apply exclude each other\n");
          code = EXIT_USAGE;
          goto usage;
        }
      if (a->check)
        g_variant_builder_add (&b, "{sv}", "check", g_variant_new_boolean (TRUE));
      if (a->apply)
        g_variant_builder_add (&b, "{sv}", "apply", g_variant_new_boolean (TRUE));
      what = g_strdup (a->apply ? "download and stage the OS image update and reboot into it"
                                : "download and stage the OS image update (it applies at the next boot)");
      if (a->dry_run)
        {
          g_print ("Would %s.\n", a->check ? "check for an OS image update" : what);
          g_variant_builder_clear (&b);
          return EXIT_OK;
        }
      /* --check changes nothing: no confirmation needed. */
      if (!a->check && !confirmed (a, what, &code))
        goto usage;
      return run_transaction (a, "BootcUpgrade", g_variant_new ("(a{sv})", &b));
    }
  if (g_str_equal (sub, "rollback"))
    {
      if (!parse (a, rollback_entries, &argc, &argv, 0, 0, &code))
        goto usage;
      what = g_strdup ("boot the rollback (previous) OS image at the next boot");
      if (a->dry_run)
        {
          g_print ("Would %s.\n", what);
          g_variant_builder_clear (&b);
          return EXIT_OK;
        }
      if (!confirmed (a, what, &code))
        goto usage;
      return run_transaction (a, "BootcRollback", g_variant_new ("(a{sv})", &b));
    }
  /* switch */
  if (!parse (a, switch_entries, &argc, &argv, 1, 1, &code))
    goto usage;
  if (a->transport != NULL)
    g_variant_builder_add (&b, "{sv}", "transport", g_variant_new_string (a->transport));
  if (a->apply)
    g_variant_builder_add (&b, "{sv}", "apply", g_variant_new_boolean (TRUE));
  what = g_strdup_printf ("switch the operating system to image %s%s", argv[1],
                          a->apply ? " and reboot into it" : " (it applies at the next boot)");
  if (a->dry_run)
    {
      g_print ("Would %s.\n", what);
      g_variant_builder_clear (&b);
      return EXIT_OK;
    }
  if (!confirmed (a, what, &code))
    goto usage;
  return run_transaction (a, "BootcSwitch", g_variant_new ("(sa{sv})", argv[1], &b));

usage:
  g_variant_builder_clear (&b);
  return code;
}

/* ---- systemctl ------------------------------------------------------------------------- */

static int
systemctl_status (Admin *a, int argc, char **argv)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) st = NULL;
  g_auto(GStrv) names = NULL;
  JsonArray *units;
  const char *text;
  int code;

  if (!parse (a, NULL, &argc, &argv, 1, G_MAXINT, &code))
    return code;
  names = positional (argc, argv);
  reply = admin_call (a, "SystemctlStatus",
                      g_variant_new ("(^asa{sv})", (const char * const *) names, NULL), "(s)", &error);
  if (reply == NULL)
    return fail (error);
  g_variant_get (reply, "(&s)", &text);
  st = parse_json (text, &error);
  if (st == NULL)
    return fail (error);
  if (a->json)
    {
      bkt_render_print_object (st);
      return EXIT_OK;
    }
  units = json_object_get_array_member (st, "units");
  for (guint i = 0; units != NULL && i < json_array_get_length (units); i++)
    {
      JsonObject *u = json_array_get_object_element (units, i);
      const char *failure = bkt_json_object_get_string (u, "failure");

      g_print ("%s%s%s\n", bkt_json_object_get_string (u, "unit"), bkt_json_object_get_string (u, "description") ? " - " : "",
               bkt_json_object_get_string (u, "description") ? bkt_json_object_get_string (u, "description") : "");
      g_print ("     Loaded: %s%s%s%s\n", bkt_json_object_get_string (u, "load_state") ? bkt_json_object_get_string (u, "load_state") : "?",
               bkt_json_object_get_string (u, "unit_file_state") && *bkt_json_object_get_string (u, "unit_file_state") ? " (" : "",
               bkt_json_object_get_string (u, "unit_file_state") && *bkt_json_object_get_string (u, "unit_file_state") ? bkt_json_object_get_string (u, "unit_file_state") : "",
               bkt_json_object_get_string (u, "unit_file_state") && *bkt_json_object_get_string (u, "unit_file_state") ? ")" : "");
      g_print ("     Active: %s (%s)\n", bkt_json_object_get_string (u, "active_state") ? bkt_json_object_get_string (u, "active_state") : "?",
               bkt_json_object_get_string (u, "sub_state") ? bkt_json_object_get_string (u, "sub_state") : "?");
      if (failure != NULL)
        g_print ("    Failure: %s\n", failure);
    }
  return EXIT_OK;
}

static int
systemctl_manage (Admin *a, const char *verb, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "now", 0, 0, G_OPTION_ARG_NONE, &a->now, "enable: also start; disable, mask: also stop", NULL },
    { "confirm", 'y', 0, G_OPTION_ARG_NONE, &a->confirm, "Do it without asking", NULL },
    { NULL }
  };
  gboolean reload = g_str_equal (verb, "daemon-reload");
  g_autofree char *what = NULL;
  g_autofree char *units = NULL;
  g_auto(GStrv) names = NULL;
  GVariantBuilder b;
  int code;

  if (!parse (a, entries, &argc, &argv, reload ? 0 : 1, reload ? 0 : G_MAXINT, &code))
    return code;
  names = positional (argc, argv);
  units = g_strjoinv (" ", names);
  what = reload ? g_strdup ("reload the systemd manager configuration")
                : g_strdup_printf ("%s %s%s", verb, units, a->now ? " (--now)" : "");
  if (a->dry_run)
    {
      g_print ("Would %s.\n", what);
      return EXIT_OK;
    }
  if (!confirmed (a, what, &code))
    return code;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (a->now)
    g_variant_builder_add (&b, "{sv}", "now", g_variant_new_boolean (TRUE));
  return run_transaction (a, "SystemctlManage",
                          g_variant_new ("(s^asa{sv})", verb, (const char * const *) names, &b));
}

/* ---- the table ----------------------------------------------------------------------- */

static void
admin_init (Admin *a, Ctx *ctx)
{
  *a = (Admin) { 0 };
  a->ctx = ctx;
  a->client = ctx->client;
}

static void
admin_clear (Admin *a)
{
  g_free (a->manifests);
  g_free (a->transport);
}

static int
admin_bootc_status (Ctx *ctx, int argc, char **argv)
{
  Admin a;
  int code;

  admin_init (&a, ctx);
  code = bootc_status (&a, argc, argv);
  admin_clear (&a);
  return code;
}

/* upgrade, rollback, switch: the row's name says which. */
static int
admin_bootc_change (Ctx *ctx, int argc, char **argv)
{
  Admin a;
  int code;

  admin_init (&a, ctx);
  code = bootc_change (&a, ctx->command->name, argc, argv);
  admin_clear (&a);
  return code;
}

static int
admin_systemctl_status (Ctx *ctx, int argc, char **argv)
{
  Admin a;
  int code;

  admin_init (&a, ctx);
  code = systemctl_status (&a, argc, argv);
  admin_clear (&a);
  return code;
}

/* The unit verbs: the row's name is the verb SystemctlManage runs. */
static int
admin_systemctl_manage (Ctx *ctx, int argc, char **argv)
{
  Admin a;
  int code;

  admin_init (&a, ctx);
  code = systemctl_manage (&a, ctx->command->name, argc, argv);
  admin_clear (&a);
  return code;
}

static const BktCommand bootc_commands[] = {
  { "status", NULL, "show the OS image status (booted, staged, rollback)", NULL, admin_bootc_status },
  { "upgrade", NULL, "download and stage the OS image update (--check, --apply)", NULL, admin_bootc_change },
  { "rollback", NULL, "boot the previous OS image next", NULL, admin_bootc_change },
  { "switch", NULL, "switch the OS to another image (--transport)", "IMAGE", admin_bootc_change },
  { NULL }
};

static const BktCommand systemctl_commands[] = {
  { "status", NULL, "state and recent failure of units", "UNIT…", admin_systemctl_status },
  { "start", NULL, "start units and wait for the jobs", "UNIT…", admin_systemctl_manage },
  { "stop", NULL, "stop units and wait for the jobs", "UNIT…", admin_systemctl_manage },
  { "restart", NULL, "restart units and wait for the jobs", "UNIT…", admin_systemctl_manage },
  { "reload", NULL, "reload units and wait for the jobs", "UNIT…", admin_systemctl_manage },
  { "enable", NULL, "enable units (--now: also start)", "UNIT…", admin_systemctl_manage },
  { "disable", NULL, "disable units (--now: also stop)", "UNIT…", admin_systemctl_manage },
  { "mask", NULL, "mask units (--now: also stop)", "UNIT…", admin_systemctl_manage },
  { "unmask", NULL, "unmask units", "UNIT…", admin_systemctl_manage },
  { "daemon-reload", NULL, "reload the systemd manager configuration", NULL, admin_systemctl_manage },
  { NULL }
};

const BktCommand bkt_admin_commands[] = {
  { "bootc", NULL, "the OS image (bootc); changes need --confirm (-y) or a “yes”", NULL, NULL, bootc_commands },
  { "systemctl", NULL, "systemd units (a name without a suffix means NAME.service)", NULL, NULL,
    systemctl_commands },
  { NULL }
};
