/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "bkt-spawn.h"
#include "bkt-copr.h"
#include "bkt-error.h"
#include "bkt-manifest.h"
#include "bkt-packages.h"
#include "bkt-repo.h"

/* `bkt dnf`: layered packages and COPR repositories are punned changes
 * through the daemons (run_change); the dnf queries run in the client,
 * without a daemon: the user's own, unprivileged reads of the package
 * metadata. */

/* ---- dnf ---------------------------------------------------------------------------- */

static gboolean
in_toolbox (void)
{
  return g_str_equal (bkt_cmd_detect_context (), "dev");
}

/* The command line that runs `dnf VERB ARGS…` where the packages are: the
 * host's dnf5 else dnf; from a toolbox, on the host through flatpak-spawn,
 * choosing there (the toolbox's own dnf would answer about the toolbox).
 * BKT_DNF names the dnf to use (tests). */
static GPtrArray *
dnf_argv (const char *verb, char **args, GError **error)
{
  g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
  const char *forced = g_getenv ("BKT_DNF");

  if (in_toolbox ())
    {
      g_ptr_array_add (a, g_strdup ("flatpak-spawn"));
      g_ptr_array_add (a, g_strdup ("--host"));
      if (forced != NULL && *forced != '\0')
        g_ptr_array_add (a, g_strdup (forced));
      else
        {
          /* Arguments travel as "$@", never through the shell's parser. */
          g_ptr_array_add (a, g_strdup ("sh"));
          g_ptr_array_add (a, g_strdup ("-c"));
          g_ptr_array_add (a, g_strdup ("if command -v dnf5 >/dev/null 2>&1; then exec dnf5 \"$@\"; "
                                        "else exec dnf \"$@\"; fi"));
          g_ptr_array_add (a, g_strdup ("dnf"));
        }
    }
  else
    {
      char *path = forced != NULL && *forced != '\0' ? g_strdup (forced) : g_find_program_in_path ("dnf5");

      if (path == NULL)
        path = g_find_program_in_path ("dnf");
      if (path == NULL)
        {
          g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "neither dnf5 nor dnf is installed");
          return NULL;
        }
      g_ptr_array_add (a, path);
    }
  g_ptr_array_add (a, g_strdup (verb));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (a, g_strdup (args[i]));
  g_ptr_array_add (a, NULL);
  return g_steal_pointer (&a);
}

/* A query: the user's arguments go to dnf as they were typed, after the
 * verb that bkt chose (so they cannot turn the query into another dnf
 * command: `bkt dnf search install x` searches for "install").  bkt parses
 * none of them, so `--json` or `-y` after the verb are dnf's, not ours.
 * exec: dnf's output, exit status and signals are the user's directly. */
static int
run_query (const char *verb, char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) a = NULL;

  for (guint i = 0; args[i] != NULL; i++)
    if (!g_utf8_validate (args[i], -1, NULL))
      {
        g_printerr ("bkt: argument %u is not valid UTF-8\n", i + 1);
        return EXIT_USAGE;
      }
  a = dnf_argv (verb, args, &error);
  if (a == NULL)
    return fail (error);
  g_debug ("exec %s", (const char *) g_ptr_array_index (a, 0));
  fflush (stdout);
  execvp (g_ptr_array_index (a, 0), (char **) a->pdata);
  g_printerr ("bkt: cannot run %s: %s\n", (const char *) g_ptr_array_index (a, 0), g_strerror (errno));
  return EXIT_FAILED;
}

/* `rpm-ostree status --json` of the host (from a toolbox, through
 * flatpak-spawn): an unprivileged read. */
static char *
rpm_ostree_status (GError **error)
{
  g_autoptr(GPtrArray) a = g_ptr_array_new ();
  char *out;

  if (in_toolbox ())
    {
      g_ptr_array_add (a, (char *) "flatpak-spawn");
      g_ptr_array_add (a, (char *) "--host");
    }
  g_ptr_array_add (a, (char *) bkt_packages_rpm_ostree ());
  g_ptr_array_add (a, (char *) "status");
  g_ptr_array_add (a, (char *) "--json");
  g_ptr_array_add (a, NULL);
  out = bkt_spawn_capture ((const char *const *) a->pdata, NULL, error);
  if (out == NULL)
    g_prefix_error (error, "rpm-ostree status failed: ");
  return out;
}

static JsonArray *
names_not_in (const char *const *a, const char *const *b)
{
  JsonArray *out = json_array_new ();

  for (gsize i = 0; a != NULL && a[i] != NULL; i++)
    if (b == NULL || !g_strv_contains (b, a[i]))
      json_array_add_string_element (out, a[i]);
  return out;
}

static void
print_names (const char *title, JsonArray *a)
{
  if (json_array_get_length (a) == 0)
    return;
  g_print ("%s\n", title);
  for (guint i = 0; i < json_array_get_length (a); i++)
    g_print ("  %s\n", json_array_get_string_element (a, i));
}

/* Manifest packages against the packages requested in the booted
 * deployment (and in a staged one, which needs a reboot). */
static int
dnf_diff (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  g_autoptr(GPtrArray) wanted = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *status = NULL;
  g_auto(GStrv) booted = NULL;
  g_auto(GStrv) pending = NULL;
  g_autoptr(JsonObject) o = json_object_new ();
  const char *const *target;
  JsonArray *entries;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  set = bkt_cmd_load_manifests (ctx, &error);
  if (set == NULL)
    return fail (error);
  entries = bkt_manifest_get_entries (bkt_manifest_set_get (set, BKT_MANIFEST_SYSTEM_PACKAGES));
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      char *key = bkt_manifest_node_key (BKT_MANIFEST_SYSTEM_PACKAGES, json_array_get_element (entries, i));
      if (key != NULL)
        g_ptr_array_add (wanted, key);
    }
  g_ptr_array_add (wanted, NULL);
  status = rpm_ostree_status (&error);
  if (status == NULL)
    return fail (error);
  booted = bkt_packages_parse_status (status, -1, &pending, &error);
  if (booted == NULL)
    return fail (error);
  /* What the next boot will have: the staged deployment if there is one. */
  target = (const char *const *) (pending != NULL ? pending : booted);

  json_object_set_array_member (o, "missing", names_not_in ((const char *const *) wanted->pdata, target));
  json_object_set_array_member (o, "untracked", names_not_in (target, (const char *const *) wanted->pdata));
  json_object_set_array_member (o, "pending_install", names_not_in (target, (const char *const *) booted));
  json_object_set_array_member (o, "pending_removal", names_not_in ((const char *const *) booted, target));
  json_object_set_boolean_member (o, "reboot_required", pending != NULL);
  if (ctx->opt.json)
    {
      bkt_render_print_object (o);
      return EXIT_OK;
    }
  print_names ("In the manifest, not layered (bkt dnf sync would install):",
               json_object_get_array_member (o, "missing"));
  print_names ("Layered, not in the manifest (bkt dnf capture would record):",
               json_object_get_array_member (o, "untracked"));
  print_names ("Installed at the next boot (reboot required):",
               json_object_get_array_member (o, "pending_install"));
  print_names ("Removed at the next boot (reboot required):",
               json_object_get_array_member (o, "pending_removal"));
  if (json_array_get_length (json_object_get_array_member (o, "missing")) == 0
      && json_array_get_length (json_object_get_array_member (o, "untracked")) == 0)
    g_print ("Layered packages match the manifest%s.\n", pending != NULL ? " (after a reboot)" : "");
  return EXIT_OK;
}

/* `bkt dnf list` without arguments: the tracked packages and their state,
 * from the session instance's status of subsystem dnf. */
static int
dnf_list (Ctx *ctx)
{
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;
  JsonArray *entries, *untracked;

  s = bkt_cmd_subsystem_status (ctx, "dnf", &status, &error);
  if (s == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      bkt_render_print_object (s);
      return EXIT_OK;
    }
  if (!json_object_get_boolean_member_with_default (s, "available", FALSE))
    g_print ("Layered packages cannot be read: %s\n", json_object_get_string_member_with_default (s, "reason", "?"));
  entries = json_object_get_array_member (s, "entries");
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      g_print ("%-40s %s\n", json_object_get_string_member_with_default (e, "name", "?"),
               json_object_get_string_member_with_default (e, "state", "?"));
    }
  untracked = json_object_get_array_member (s, "untracked");
  for (guint i = 0; untracked != NULL && i < json_array_get_length (untracked); i++)
    g_print ("%-40s layered, untracked (run `bkt dnf capture`)\n",
             json_object_get_string_member_with_default (json_array_get_object_element (untracked, i), "name", "?"));
  if (json_object_get_boolean_member_with_default (s, "reboot_required", FALSE))
    g_print ("A staged deployment is pending: reboot to apply it.\n");
  return EXIT_OK;
}

/* install/remove: punned changes like `bkt flatpak add` (act through
 * bktd --system, record, open the PR). */
static int
dnf_change (Ctx *ctx, int argc, char **argv)
{
  gboolean install = g_str_equal (ctx->command->name, "install");
  const GOptionEntry install_entries[] = {
    { "now", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.now, "Apply live (rpm-ostree --apply-live) instead of at the next boot", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Skip checking that the packages exist in the enabled repositories", NULL },
    { NULL }
  };
  const GOptionEntry remove_entries[] = {
    { "now", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.now, "Apply live (rpm-ostree --apply-live) instead of at the next boot", NULL },
    { NULL }
  };
  GVariantBuilder b;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  int code;

  if (!parse_command_full (ctx, install ? install_entries : remove_entries, TRUE, &argc, &argv, 1, G_MAXUINT,
                           &code))
    return code;
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (names, argv[i]);
  g_ptr_array_add (names, NULL);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "packages", g_variant_new_strv ((const char * const *) names->pdata, -1));
  g_variant_builder_add (&b, "{sv}", "now", g_variant_new_boolean (ctx->opt.now));
  g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (ctx->opt.force));
  return run_change (ctx, "dnf", install ? "add" : "remove", g_variant_builder_end (&b));
}

/* ---- dnf copr ---------------------------------------------------------------------- */

static const char *
copr_state_text (JsonNode *n)
{
  JsonObject *o = n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;

  if (o == NULL)
    return "-";
  if (json_object_get_boolean_member_with_default (o, "enabled", TRUE))
    return json_object_get_boolean_member_with_default (o, "gpg_check", TRUE) ? "enabled" : "enabled, no gpgcheck";
  return json_object_get_boolean_member_with_default (o, "gpg_check", TRUE) ? "disabled" : "disabled, no gpgcheck";
}

/* The manifest's copr_repos against the repo files, from the session
 * instance's status of subsystem dnf. */
static int
copr_list (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;
  JsonArray *coprs;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                 g_variant_new ("(@a{sv})", session_options (ctx, "dnf")), &error);
  if (status == NULL)
    return fail (error);
  s = json_object_get_object_member (json_object_get_object_member (status, "subsystems"), "dnf");
  coprs = s != NULL && json_object_has_member (s, "copr") ? json_object_get_array_member (s, "copr") : NULL;
  if (ctx->opt.json)
    {
      g_autoptr(JsonNode) n = json_node_new (JSON_NODE_ARRAY);

      if (coprs != NULL)
        json_node_set_array (n, coprs);
      else
        json_node_take_array (n, json_array_new ());
      bkt_render_print_json (n);
      return EXIT_OK;
    }
  if (coprs == NULL || json_array_get_length (coprs) == 0)
    {
      g_print ("No COPR repositories in the manifest or in %s.\n", bkt_copr_repos_dir ());
      return EXIT_OK;
    }
  g_print ("%-40s %-22s %-22s %s\n", "PROJECT", "MANIFEST", "SYSTEM", "STATE");
  for (guint i = 0; i < json_array_get_length (coprs); i++)
    {
      JsonObject *e = json_array_get_object_element (coprs, i);
      const char *state = json_object_get_string_member_with_default (e, "state", "?");

      g_print ("%-40s %-22s %-22s %s\n", json_object_get_string_member_with_default (e, "name", "?"),
               copr_state_text (json_object_get_member (e, "manifest")),
               copr_state_text (json_object_get_member (e, "system")),
               g_str_equal (state, "untracked") ? "untracked (run `bkt dnf capture`)"
               : g_str_equal (state, "in-sync") ? "in sync"
               : g_str_equal (state, "missing") ? "missing (run `bkt dnf sync`)"
               : "differs (run `bkt dnf sync`)");
    }
  return EXIT_OK;
}

/* `bkt dnf copr enable|disable|remove OWNER/PROJECT`: punned changes (the
 * repo file through bktd --system, copr_repos recorded, the PR with the
 * Containerfile's COPR_REPOS section). */
static int
copr_change (Ctx *ctx, int argc, char **argv)
{
  const char *verb = ctx->command->name;
  gboolean no_gpgcheck = FALSE;
  const GOptionEntry enable_entries[] = {
    { "no-gpgcheck", 0, 0, G_OPTION_ARG_NONE, &no_gpgcheck, "Write gpgcheck=0 and record \"gpg_check\": false", NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *action = NULL;
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, g_str_equal (verb, "enable") ? enable_entries : NULL, TRUE, &argc, &argv, 1, 1,
                           &code))
    return code;
  /* Checked here too, so that a bad name is refused before any daemon
   * is asked (bktd checks again: the bus is a trust boundary). */
  if (!bkt_copr_check_name (argv[1], &error))
    return fail (error);
  action = g_strconcat ("copr-", verb, NULL);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (argv[1]));
  if (no_gpgcheck)
    g_variant_builder_add (&b, "{sv}", "gpg_check", g_variant_new_boolean (FALSE));
  return run_change (ctx, "dnf", action, g_variant_builder_end (&b));
}

static const BktCommand copr_commands[] = {
  { "enable", NULL, "enable a COPR repository, record it in copr_repos, open the PR", "OWNER/PROJECT", copr_change },
  { "disable", NULL, "set enabled=0 in the repo file and the manifest, open the PR", "OWNER/PROJECT", copr_change },
  { "remove", NULL, "delete the repo file, forget it, open the PR", "OWNER/PROJECT", copr_change },
  { "list", NULL, "COPR repositories: the manifest's copr_repos against the repo files", NULL, copr_list },
  { NULL }
};

/* A dnf query verb: the arguments exactly as typed after it (not the argv
 * the command table builds, which appends global options). */
static int
dnf_query (Ctx *ctx, int argc, char **argv)
{
  return run_query (ctx->command->name, ctx->typed_args != NULL ? ctx->typed_args : argv + 1);
}

/* `bkt dnf list` alone lists the tracked packages; with arguments it is
 * dnf's own list. */
static int
dnf_list_or_query (Ctx *ctx, int argc, char **argv)
{
  int code;

  if (ctx->typed_args != NULL && ctx->typed_args[0] != NULL)
    return dnf_query (ctx, argc, argv);
  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  return dnf_list (ctx);
}

const BktCommand bkt_dnf_commands[] = {
  { "install", NULL, "layer RPM packages (rpm-ostree), record them, open the PR (--now, --force)", "PKG…",
    dnf_change },
  { "remove", NULL, "remove layered packages, forget them, open the PR (--now)", "PKG…", dnf_change },
  { "sync", NULL, "layer what system-packages.json lists (apply --only dnf)", NULL, bkt_cmd_run_sync,
    .data = "dnf" },
  { "capture", NULL, "record layered packages missing from the manifest", NULL, bkt_cmd_run_capture,
    .data = "dnf" },
  { "list", NULL, "tracked packages and their state (with ARGS…: the host's dnf list)", "[ARGS…]",
    dnf_list_or_query },
  { "copr", NULL, "COPR repo files, recorded in copr_repos", NULL, NULL, copr_commands },
  { "search", NULL, "the host's dnf5 (else dnf) search, ARGS as given", "ARGS…", dnf_query },
  { "info", NULL, "the host's dnf info, ARGS as given", "ARGS…", dnf_query },
  { "provides", NULL, "the host's dnf provides, ARGS as given", "ARGS…", dnf_query },
  { "repoquery", NULL, "the host's dnf repoquery, ARGS as given", "ARGS…", dnf_query },
  { "diff", NULL, "system-packages.json against the packages layered with rpm-ostree", NULL, dnf_diff },
  { NULL }
};
