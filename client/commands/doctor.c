/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-json.h"
#include "commands.h"

/* bkt doctor: everything bkt depends on, each problem with its fix.  The
 * client checks what only it can see — the two daemons and their versions
 * against its own, the polkit agent it starts on a terminal, the toolbox
 * it runs for bkt dev, bootc through the system daemon — and asks the
 * session daemon for the rest (Manager.Doctor: manifests, gsettings
 * schemas, flatpak remotes, the state records, the PR preflight,
 * rpm-ostree), so the client stays thin.  Exit 0 healthy, 1 with
 * problems, EXIT_DOCTOR_FAILED when no report could be made. */

/* The daemon answers and is the client's version (a skew between an
 * updated bkt and a bktd still running from before is what breaks
 * replies).  FALSE if it does not answer. */
static gboolean
check_daemon (Ctx *ctx, JsonArray *checks, BktTarget target)
{
  const char *name = target == BKT_TARGET_SYSTEM ? "system-daemon" : "session-daemon";
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree char *detail = NULL, *fix = NULL;
  const char *version;

  if (target == BKT_TARGET_SYSTEM && !bkt_client_system_reachable (ctx->client, &error))
    {
      bkt_json_add_check (checks, name, FALSE, error->message,
                          "start it: systemctl start bktd.service (install bkt's D-Bus service and policy files, "
                          "see docs/packaging.md, so that the bus starts it on demand)");
      return FALSE;
    }
  reply = bkt_client_call (ctx->client, target, "org.freedesktop.DBus.Properties", "Get",
                           g_variant_new ("(ss)", "org.bkt.Daemon1.Manager", "DaemonVersion"),
                           G_VARIANT_TYPE ("(v)"), &error);
  if (reply == NULL)
    {
      bkt_json_add_check (checks, name, FALSE, error->message,
                          target == BKT_TARGET_SYSTEM ? "systemctl status bktd.service; journalctl -u bktd"
                                                      : "journalctl --user -u bktd-session (bktd --session must be "
                                                        "activatable on the session bus: bktd-session.service)");
      return FALSE;
    }
  g_variant_get (reply, "(v)", &value);
  version = g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ? g_variant_get_string (value, NULL) : "?";
  if (g_str_equal (version, PACKAGE_VERSION))
    {
      detail = g_strdup_printf ("bktd %s%s", version,
                                target == BKT_TARGET_SESSION && bkt_client_is_private (ctx->client)
                                ? " (private instance: no session bus)" : "");
      bkt_json_add_check (checks, name, TRUE, detail, NULL);
      return TRUE;
    }
  detail = g_strdup_printf ("bktd %s answers, but bkt is %s (version skew)", version, PACKAGE_VERSION);
  fix = g_strdup (target == BKT_TARGET_SYSTEM
                  ? "restart the old daemon: systemctl restart bktd.service"
                  : "restart the old daemon: systemctl --user restart bktd-session.service (or log out and in)");
  bkt_json_add_check (checks, name, FALSE, detail, fix);
  return TRUE;
}

/* On a terminal, bkt starts pkttyagent so polkit can ask for a password. */
static void
check_polkit_agent (JsonArray *checks)
{
  gboolean present = g_file_test (BKT_PKTTYAGENT, G_FILE_TEST_IS_EXECUTABLE);
  g_autofree char *detail = NULL;

  if (!isatty (STDIN_FILENO))
    {
      bkt_json_add_check (checks, "polkit-agent", TRUE, "not on a terminal: the desktop's agent answers", NULL);
      return;
    }
  detail = present ? g_strdup (BKT_PKTTYAGENT)
                   : g_strdup_printf ("%s is not installed: on this terminal polkit cannot ask for a password",
                                      BKT_PKTTYAGENT);
  bkt_json_add_check (checks, "polkit-agent", present, detail, "install polkit's pkttyagent (package polkit)");
}

/* bkt dev runs toolbox (BKT_TOOLBOX), else podman. */
static void
check_toolbox (JsonArray *checks)
{
  const char *forced = g_getenv ("BKT_TOOLBOX");
  g_autofree char *path = forced != NULL && *forced != '\0' ? g_strdup (forced) : g_find_program_in_path ("toolbox");
  gboolean ok = path != NULL && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
  g_autofree char *podman = ok ? NULL : g_find_program_in_path ("podman");
  g_autofree char *detail = ok ? g_strdup (path)
                               : podman != NULL ? g_strdup_printf ("no toolbox; bkt dev uses %s", podman)
                                                : g_strdup ("neither toolbox nor podman is installed (bkt dev)");

  bkt_json_add_check (checks, "toolbox", ok || podman != NULL, detail, "install toolbox (rpm-ostree install toolbox)");
}

/* bootc, as the system daemon runs it (its own path and environment). */
static void
check_bootc (Ctx *ctx, JsonArray *checks)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = bkt_client_call (ctx->client, BKT_TARGET_SYSTEM, "org.bkt.Daemon1.Admin",
                                               "BootcStatus", g_variant_new ("(@a{sv})",
                                                                             g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                                                                  NULL, 0)),
                                               G_VARIANT_TYPE ("(s)"), &error);

  bkt_json_add_check (checks, "bootc", reply != NULL, reply != NULL ? "bootc status answers" : error->message,
                      "bkt admin bootc and the os section of bkt status need bootc: install it (a bootc image has it)");
}

/* The session daemon's own checks, appended to @checks. */
static gboolean
session_checks (Ctx *ctx, JsonArray *checks, GError **error)
{
  g_autoptr(JsonObject) report = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Doctor",
                                                       g_variant_new ("(@a{sv})", change_options (ctx, NULL)),
                                                       error);
  JsonNode *node;

  if (report == NULL)
    return FALSE;
  node = json_object_get_member (report, "checks");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, "the session daemon's report has no checks"),
           FALSE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *c = json_array_get_element (json_node_get_array (node), i);
      if (!JSON_NODE_HOLDS_OBJECT (c) || !json_object_has_member (json_node_get_object (c), "name"))
        return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, "the session daemon's report is malformed"),
               FALSE;
      json_array_add_element (checks, json_node_copy (c));
    }
  return TRUE;
}

static guint
count_problems (JsonArray *checks)
{
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (checks); i++)
    n += !json_object_get_boolean_member (json_array_get_object_element (checks, i), "ok");
  return n;
}

static void
print_report (JsonArray *checks, guint problems)
{
  for (guint i = 0; i < json_array_get_length (checks); i++)
    {
      JsonObject *c = json_array_get_object_element (checks, i);
      const char *fix = json_object_get_string_member_with_default (c, "fix", NULL);

      g_print ("%s %-16s %s\n", json_object_get_boolean_member (c, "ok") ? "✓" : "✗",
               json_object_get_string_member (c, "name"),
               json_object_get_string_member_with_default (c, "detail", ""));
      if (fix != NULL)
        g_print ("  fix: %s\n", fix);
    }
  if (problems == 0)
    g_print ("Everything bkt depends on is in place.\n");
  else
    g_print ("%u problem(s) found.\n", problems);
}

int
bkt_cmd_doctor (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout to check", "DIR" },
    { NULL }
  };
  g_autoptr(JsonArray) checks = json_array_new ();
  g_autoptr(GError) error = NULL;
  guint problems;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (check_daemon (ctx, checks, BKT_TARGET_SYSTEM))
    check_bootc (ctx, checks);
  check_polkit_agent (checks);
  check_toolbox (checks);
  if (check_daemon (ctx, checks, BKT_TARGET_SESSION) && !session_checks (ctx, checks, &error))
    {
      /* A daemon that answers but has no Doctor is an old one: skew. */
      if (g_dbus_error_is_remote_error (error) || error->domain == BKT_ERROR)
        bkt_json_add_check (checks, "session-checks", FALSE, error->message,
                            "restart the session daemon (systemctl --user restart bktd-session.service)");
      else
        {
          g_printerr ("bkt: doctor: %s\n", error->message);
          return EXIT_DOCTOR_FAILED;
        }
    }
  problems = count_problems (checks);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_boolean_member (o, "ok", problems == 0);
      json_object_set_int_member (o, "problems", problems);
      json_object_set_array_member (o, "checks", json_array_ref (checks));
      bkt_render_print_object (o);
    }
  else
    print_report (checks, problems);
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      g_printerr ("bkt: doctor: cannot write the report: %s\n", g_strerror (errno));
      return EXIT_DOCTOR_FAILED;
    }
  return problems == 0 ? EXIT_OK : EXIT_FAILED;
}
