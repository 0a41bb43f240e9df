/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "bkt-spawn.h"
#include "bkt-config.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-manifest.h"
#include "bkt-packages.h"
#include "bkt-plan.h"
#include "bkt-repo.h"
#include "bkt-toolbox.h"
#include "dev-private.h"

/* `bkt dev`: the development toolbox and manifests/toolbox-packages.json.
 *
 * It all runs here, in the client, with no daemon: the toolbox is the
 * user's own container, so nothing needs privilege beyond the container's
 * own sudo, and dnf must run on the user's terminal (its progress, a sudo
 * prompt if the toolbox has one, Ctrl-C).  A daemon in between would only
 * see the bus's environment, not the user's shell, and would add a second
 * place for dnf's output to be mangled.  The session daemon is used for
 * exactly one thing: the pull request of `--pr` (subsystem "toolbox",
 * which records and proposes; see daemon/subsystems/toolbox/bkt-toolbox.h). */

#define MAX_SUGGESTIONS 3

static const char *const query_verbs[] = { "search", "info", "provides", "list", "repoquery", "check-update",
                                           NULL };

void
bkt_dev_target_clear (Target *t)
{
  g_free (t->program);
  g_free (t->container);
  g_free (t->dnf);
  g_free (t->rpm);
  g_free (t->own_image);
}

const char *
bkt_dev_route_name (BktToolboxRoute route)
{
  return route == BKT_TOOLBOX_ROUTE_DIRECT ? "direct" : route == BKT_TOOLBOX_ROUTE_TOOLBOX ? "toolbox" : "podman";
}

/* A file under the context root (BKT_CONTEXT_ROOT, the tests' stand-in
 * for "/"), read whole; NULL if absent. */
static char *
read_context_file (const char *rel)
{
  const char *root = g_getenv ("BKT_CONTEXT_ROOT");
  g_autofree char *path = g_build_filename (root ? root : "/", rel, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

gboolean
bkt_dev_resolve_target (const char *container_opt, Target *t, GError **error)
{
  gboolean inside = g_str_equal (bkt_cmd_detect_context (), "dev");
  g_autofree char *why = NULL;
  g_autofree char *own = NULL;

  t->is_root = geteuid () == 0;
  if (inside)
    {
      g_autofree char *env = read_context_file ("run/.containerenv");
      own = bkt_toolbox_file_value (env, "name");
      t->own_image = bkt_toolbox_file_value (env, "image");
    }
  if (container_opt != NULL)
    t->container = g_strdup (container_opt);
  else if (own != NULL)
    t->container = g_strdup (own);
  else
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(JsonObject) config = bkt_config_load (&local_error);
      g_autofree char *os_release = NULL;

      if (local_error != NULL)
        return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
      os_release = read_context_file ("etc/os-release");
      if (os_release == NULL)
        os_release = read_context_file ("usr/lib/os-release");
      t->container = bkt_toolbox_default_name (config, os_release, error);
      if (t->container == NULL)
        return FALSE;
    }
  why = bkt_toolbox_check_name (t->container);
  if (why != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "invalid toolbox name “%.64s”: %s",
                        t->container, why), FALSE;

  if (inside)
    {
      /* From inside, only this toolbox is at hand (another one is the
       * host's business). */
      if (own != NULL && !g_str_equal (own, t->container))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "bkt runs inside toolbox “%s”, not “%s”: run bkt dev on the host "
                            "(flatpak-spawn --host bkt dev …) to reach another toolbox", own, t->container), FALSE;
      t->route = BKT_TOOLBOX_ROUTE_DIRECT;
      t->dnf = bkt_packages_find_dnf (error);
      if (t->dnf == NULL)
        return FALSE;
      t->rpm = g_strdup (g_getenv ("BKT_RPM") != NULL && *g_getenv ("BKT_RPM") != '\0' ? g_getenv ("BKT_RPM")
                                                                                          : "rpm");
      return TRUE;
    }
  /* From the host: toolbox (BKT_TOOLBOX), else podman exec into it.  dnf
   * and rpm are the container's own. */
  t->dnf = g_strdup ("dnf");
  t->rpm = g_strdup ("rpm");
  if (g_getenv ("BKT_TOOLBOX") != NULL && *g_getenv ("BKT_TOOLBOX") != '\0')
    t->program = g_strdup (g_getenv ("BKT_TOOLBOX"));
  else
    t->program = g_find_program_in_path ("toolbox");
  if (t->program != NULL)
    {
      t->route = BKT_TOOLBOX_ROUTE_TOOLBOX;
      return TRUE;
    }
  t->program = g_find_program_in_path ("podman");
  if (t->program != NULL)
    {
      t->route = BKT_TOOLBOX_ROUTE_PODMAN;
      return TRUE;
    }
  return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                      "neither toolbox nor podman is installed: bkt dev needs one of them on the host"), FALSE;
}

char **
bkt_dev_wrap (Target *t, gboolean privileged, const char * const *cmd)
{
  return bkt_toolbox_wrap_argv (t->route, t->program, t->container, privileged, t->is_root, cmd);
}

/* Runs @argv on the user's terminal (dnf's progress is theirs); with
 * --json its output goes to stderr so stdout stays one JSON document. */
gboolean
bkt_dev_run_visible (Ctx *ctx, const char * const *argv, GError **error)
{
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GSubprocess) p = NULL;

  if (ctx->opt.json)
    {
      int fd = dup (STDERR_FILENO);
      if (fd >= 0)
        g_subprocess_launcher_take_stdout_fd (l, fd);
    }
  fflush (stdout);
  p = g_subprocess_launcher_spawnv (l, argv, error);
  if (p == NULL || !g_subprocess_wait (p, NULL, error))
    return FALSE;
  if (!g_subprocess_get_successful (p))
    {
      g_autofree char *cmd = g_strjoinv (" ", (char **) argv);
      if (g_subprocess_get_if_exited (p))
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "“%s” exited with status %d", cmd,
                     g_subprocess_get_exit_status (p));
      else
        g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "“%s” was killed by signal %d", cmd,
                     g_subprocess_get_term_sig (p));
      return FALSE;
    }
  return TRUE;
}

/* ---- the container's state ------------------------------------------------------ */

void
bkt_dev_live_clear (Live *l)
{
  g_free (l->image);
  g_strfreev (l->installed);
}

/* Whether the container exists and its image: one `toolbox list
 * --containers` (or `podman container inspect`); inside it, it exists. */
gboolean
bkt_dev_read_exists (Target *t, Live *live, GError **error)
{
  if (t->route == BKT_TOOLBOX_ROUTE_DIRECT)
    {
      live->exists = TRUE;
      live->image = g_strdup (t->own_image);
      return TRUE;
    }
  if (t->route == BKT_TOOLBOX_ROUTE_TOOLBOX)
    {
      const char *argv[] = { t->program, "list", "--containers", NULL };
      g_autofree char *out = bkt_spawn_capture (argv, NULL, error);

      if (out == NULL)
        return FALSE;
      live->exists = bkt_toolbox_parse_list (out, t->container, &live->image);
      return TRUE;
    }
  {
    const char *argv[] = { t->program, "container", "inspect", "--format", "{{.ImageName}}", t->container, NULL };
    g_autoptr(GError) local_error = NULL;
    g_autofree char *out = bkt_spawn_capture (argv, NULL, &local_error);

    live->exists = out != NULL;
    if (out != NULL)
      live->image = g_strdup (g_strstrip (out));
    return TRUE;
  }
}

/* The installed package names: ONE `rpm -qa` in the container. */
gboolean
bkt_dev_read_installed (Target *t, Live *live, GError **error)
{
  const char *cmd[] = { t->rpm, "-qa", "--qf", "%{NAME}\\n", NULL };
  g_auto(GStrv) argv = bkt_dev_wrap (t, FALSE, cmd);
  g_autofree char *out = bkt_spawn_capture ((const char * const *) argv, NULL, error);

  if (out == NULL)
    return FALSE;
  live->installed = bkt_toolbox_parse_installed (out);
  return TRUE;
}

gboolean
bkt_dev_read_live (Target *t, Live *live, GError **error)
{
  if (!bkt_dev_read_exists (t, live, error))
    return FALSE;
  return !live->exists || bkt_dev_read_installed (t, live, error);
}

/* The packages of the container's image, recorded by `bkt dev update
 * --rebuild` when it created the container: what "extra" is measured
 * against (a toolbox image has hundreds of packages the manifest does not
 * list).  $XDG_DATA_HOME/bkt/dev/NAME.base, one name a line. */
static char *
base_path (const char *container)
{
  g_autofree char *file = g_strconcat (container, ".base", NULL);

  return g_build_filename (g_get_user_data_dir (), "bkt", "dev", file, NULL);
}

char **
bkt_dev_load_base (const char *container)
{
  g_autofree char *path = base_path (container);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return bkt_toolbox_parse_installed (text);
}

static gboolean
save_base (const char *container, const char * const *names, GError **error)
{
  g_autofree char *path = base_path (container);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *joined = g_strjoinv ("\n", (char **) names);
  g_autofree char *text = g_strconcat (joined, "\n", NULL);

  if (!bkt_fs_mkdir_p (dir, 0700, error))
    return FALSE;
  return bkt_write_file_atomic (path, text, strlen (text), 0600, error);
}

GStrv
bkt_dev_manifest_names (Ctx *ctx, GError **error)
{
  g_autoptr(BktManifestSet) set = bkt_cmd_load_manifests (ctx, error);
  g_autoptr(GPtrArray) names = NULL;
  GStrv out;

  if (set == NULL)
    return NULL;
  names = bkt_toolbox_manifest_names (set);
  out = g_new0 (char *, names->len + 1);
  for (guint i = 0; i < names->len; i++)
    out[i] = g_strdup (g_ptr_array_index (names, i));
  return out;
}

/* ---- options -------------------------------------------------------------------- */

void
bkt_dev_options_clear (DevOptions *o)
{
  g_free (o->container);
  g_free (o->image);
}

/* `--container NAME` / `-c NAME` / `--container=NAME` at the start of
 * @args (before a pass-through verb, whose own options are dnf's). */
static char **
take_leading_container (char **args, char **out)
{
  while (args[0] != NULL)
    {
      if ((g_str_equal (args[0], "--container") || g_str_equal (args[0], "-c")) && args[1] != NULL)
        {
          g_free (*out);
          *out = g_strdup (args[1]);
          args += 2;
        }
      else if (g_str_has_prefix (args[0], "--container="))
        {
          g_free (*out);
          *out = g_strdup (args[0] + strlen ("--container="));
          args++;
        }
      else
        break;
    }
  return args;
}

/* ---- dev dnf -------------------------------------------------------------------- */

typedef struct {
  Target             *target;
  gboolean            install;
  const char * const *names;
  JsonNode           *plan;    /* bkt_toolbox_plan() without the edits: the live operations */
} Act;

static gboolean
act_dnf (Ctx *ctx, Act *a, GError **error)
{
  g_auto(GStrv) argv = bkt_toolbox_dnf_change_argv (a->target->route, a->target->program, a->target->container,
                                                    a->target->is_root, a->target->dnf, a->install, a->names);

  /* Checked again right before the one process that matters. */
  if (!bkt_packages_check_names (a->names, error))
    return FALSE;
  return bkt_dev_run_visible (ctx, (const char * const *) argv, error);
}

/* --pr: the live operations join the session's plan (its records and the
 * pull request), at the front, so that one plan and one result list say
 * what happened where. */
void
bkt_dev_plan_prepend (JsonNode *live, JsonObject *plan)
{
  JsonArray *mine = json_object_get_array_member (json_node_get_object (live), "operations");
  JsonArray *theirs = json_object_get_array_member (plan, "operations");
  JsonArray *all = json_array_new ();

  for (guint i = 0; i < json_array_get_length (mine); i++)
    json_array_add_element (all, json_node_copy (json_array_get_element (mine, i)));
  for (guint i = 0; theirs != NULL && i < json_array_get_length (theirs); i++)
    json_array_add_element (all, json_node_copy (json_array_get_element (theirs, i)));
  json_object_set_array_member (plan, "operations", all);
  json_object_set_int_member (plan, "count", json_array_get_length (all));
}

void
bkt_dev_add_results (JsonNode *live, const GError *error, JsonArray *results)
{
  JsonArray *mine = json_object_get_array_member (json_node_get_object (live), "operations");

  for (guint i = 0; i < json_array_get_length (mine); i++)
    {
      JsonObject *op = json_array_get_object_element (mine, i);
      JsonObject *r = json_object_new ();

      json_object_set_string_member (r, "id", json_object_get_string_member (op, "id"));
      json_object_set_string_member (r, "summary", json_object_get_string_member (op, "summary"));
      json_object_set_boolean_member (r, "success", error == NULL);
      if (error == NULL)
        json_object_set_null_member (r, "error");
      else
        json_object_set_string_member (r, "error", error->message);
      json_array_add_object_element (results, r);
    }
}

static void
act_plan (Ctx *ctx, gpointer data, JsonObject *plan)
{
  bkt_dev_plan_prepend (((Act *) data)->plan, plan);
}

static gboolean
act_run (Ctx *ctx, gpointer data, JsonArray *results, GError **error)
{
  Act *a = data;
  g_autoptr(GError) local_error = NULL;
  gboolean ok = act_dnf (ctx, a, &local_error);

  bkt_dev_add_results (a->plan, local_error, results);
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return ok;
}

/* The record without a PR: the user's overlay (or -m DIR), one atomic,
 * format-preserving write of toolbox-packages.json. */
gboolean
bkt_dev_record (Ctx *ctx, gboolean install, const char * const *names, char **out_path, GError **error)
{
  g_autoptr(BktManifestSet) set = bkt_cmd_load_manifests (ctx, error);
  g_autoptr(BktManifest) m = NULL;
  gboolean changed = FALSE;

  if (set == NULL)
    return FALSE;
  m = bkt_manifest_set_load_writable (set, BKT_MANIFEST_TOOLBOX_PACKAGES, error);
  if (m == NULL)
    return FALSE;
  for (gsize i = 0; names[i] != NULL; i++)
    {
      if (install)
        {
          g_autoptr(JsonObject) entry = json_object_new ();

          if (bkt_manifest_lookup_node (m, names[i]) != NULL)
            continue;
          json_object_set_string_member (entry, "name", names[i]);
          bkt_manifest_upsert (m, entry);
          changed = TRUE;
        }
      else
        changed |= bkt_manifest_remove (m, names[i]);
    }
  *out_path = g_build_filename (bkt_manifest_set_get_write_dir (set),
                                bkt_manifest_kind_file_name (BKT_MANIFEST_TOOLBOX_PACKAGES), NULL);
  return !changed || bkt_manifest_set_save_writable (set, m, error);
}

void
bkt_dev_print_argv (const char *what, const char * const *argv)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (gsize i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *q = argv[i][0] == '\0' || strpbrk (argv[i], " \t'\"$`\\;&|<>*?()[]{}~#!") != NULL
                           ? g_shell_quote (argv[i]) : g_strdup (argv[i]);
      g_string_append_printf (s, "%s%s", i > 0 ? " " : "", q);
    }
  g_print ("%s%s\n", what, s->str);
}

JsonArray *
bkt_dev_strv_to_json (const char * const *v)
{
  JsonArray *a = json_array_new ();

  for (gsize i = 0; v != NULL && v[i] != NULL; i++)
    json_array_add_string_element (a, v[i]);
  return a;
}

static int
dev_dnf_change (Ctx *ctx, gboolean install, const char *container, int argc, char **argv)
{
  g_auto(DevOptions) o = { 0 };
  const GOptionEntry entries[] = {
    CONTAINER_ENTRY (&o),
    { "pr", 0, 0, G_OPTION_ARG_NONE, &o.pr, "Also open a pull request to the distribution repo", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force, "Skip the check that the packages exist", NULL },
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout (--pr)", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight, "Act even if the pull request cannot be opened", NULL },
    { NULL }
  };
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonNode) plan_json = NULL;
  g_auto(GStrv) dnf_argv = NULL;
  g_autofree char *path = NULL;
  Act act = { 0 };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, G_MAXUINT, &code))
    return code;
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (names, argv[i]);
  g_ptr_array_add (names, NULL);

  /* Names first, before any process: "-rf" must never reach dnf. */
  if (!bkt_packages_check_names ((const char * const *) names->pdata, &error))
    return fail (error);
  for (guint i = 0; i + 1 < names->len; i++)
    for (guint j = 0; j < i; j++)
      if (g_str_equal (g_ptr_array_index (names, i), g_ptr_array_index (names, j)))
        {
          g_printerr ("bkt: package “%s” is given twice\n", (const char *) g_ptr_array_index (names, i));
          return 5;
        }
  if (!bkt_dev_resolve_target (o.container != NULL ? o.container : container, &t, &error))
    return fail (error);

  dnf_argv = bkt_toolbox_dnf_change_argv (t.route, t.program, t.container, t.is_root, t.dnf, install,
                                          (const char * const *) names->pdata);
  plan = bkt_toolbox_plan (t.container, install, (const char * const *) names->pdata, TRUE);
  plan_json = bkt_plan_to_json (plan);

  /* ONE repoquery in the container's repos (they may differ from the
   * host's); a miss names the package and its close names. */
  if (install && !ctx->opt.force)
    {
      const char *cmd[] = { t.dnf, NULL };
      g_auto(GStrv) prefix = bkt_dev_wrap (&t, FALSE, cmd);

      if (!bkt_packages_check_exist ((const char * const *) prefix, (const char * const *) names->pdata,
                                     MAX_SUGGESTIONS, NULL, NULL, &error))
        return fail (error);
    }

  act.target = &t;
  act.install = install;
  act.names = (const char * const *) names->pdata;
  if (o.pr)
    {
      const BktClientAct hooks = { act_plan, act_run, &act };
      g_autoptr(BktPlan) live = bkt_toolbox_plan (t.container, install, (const char * const *) names->pdata, FALSE);
      GVariantBuilder b;

      /* The record and the proposal are the session daemon's (subsystem
       * toolbox, which only exists when named); the dnf call is ours,
       * after its preflight. */
      act.plan = bkt_plan_to_json (live);
      if (!ctx->opt.json)
        bkt_dev_print_argv (ctx->opt.dry_run ? "Would run: " : "Command: ", (const char * const *) dnf_argv);
      g_free (ctx->opt.only);
      ctx->opt.only = g_strdup ("toolbox");
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "packages",
                             g_variant_new_strv ((const char * const *) names->pdata, -1));
      code = run_change_acting (ctx, "toolbox", install ? "add" : "remove", g_variant_builder_end (&b), &hooks);
      json_node_unref (act.plan);
      return code;
    }

  if (ctx->opt.dry_run)
    {
      if (ctx->opt.json)
        {
          JsonObject *po = json_node_get_object (plan_json);
          json_object_set_array_member (po, "argv", bkt_dev_strv_to_json ((const char * const *) dnf_argv));
          bkt_render_print_object (po);
          return EXIT_OK;
        }
      bkt_render_plan (&ctx->render, json_node_get_object (plan_json));
      bkt_dev_print_argv ("Would run: ", (const char * const *) dnf_argv);
      return EXIT_OK;
    }
  if (!ctx->opt.json)
    bkt_render_plan (&ctx->render, json_node_get_object (plan_json));
  if (!act_dnf (ctx, &act, &error))
    {
      g_printerr ("bkt: %s\nNothing was recorded.\n", error->message);
      return EXIT_FAILED;
    }
  if (!bkt_dev_record (ctx, install, (const char * const *) names->pdata, &path, &error))
    return fail (error);
  bkt_dev_sync_after (ctx, &t, "dev-dnf", (const char * const *) names->pdata);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();

      json_object_set_string_member (out, "container", t.container);
      json_object_set_string_member (out, "route", bkt_dev_route_name (t.route));
      json_object_set_string_member (out, "action", install ? "install" : "remove");
      json_object_set_array_member (out, "packages", bkt_dev_strv_to_json ((const char * const *) names->pdata));
      json_object_set_array_member (out, "argv", bkt_dev_strv_to_json ((const char * const *) dnf_argv));
      json_object_set_string_member (out, "manifest", path);
      json_object_set_null_member (out, "pr");
      bkt_render_print_object (out);
    }
  else
    g_print ("\nToolbox:   %s %s\nManifest:  %s\nPR:        none (add --pr to propose it to the distribution repo)\n",
             t.container, install ? "has them" : "no longer has them", path);
  return EXIT_OK;
}

/* Everything else is dnf's own: the verb bkt chose, then the arguments as
 * typed (so `bkt dev dnf search install` searches for "install").
 * exec: dnf's output, exit status and signals are the user's. */
static int
dev_dnf_passthrough (const char *container_opt, const char *verb, char **args)
{
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) cmd = g_ptr_array_new ();
  g_auto(GStrv) argv = NULL;
  gboolean privileged = !g_strv_contains (query_verbs, verb);

  for (guint i = 0; args[i] != NULL; i++)
    if (!g_utf8_validate (args[i], -1, NULL))
      {
        g_printerr ("bkt: argument %u is not valid UTF-8\n", i + 1);
        return EXIT_USAGE;
      }
  if (!bkt_dev_resolve_target (container_opt, &t, &error))
    return fail (error);
  g_ptr_array_add (cmd, t.dnf);
  g_ptr_array_add (cmd, (char *) verb);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (cmd, args[i]);
  g_ptr_array_add (cmd, NULL);
  argv = bkt_dev_wrap (&t, privileged, (const char * const *) cmd->pdata);
  fflush (stdout);
  execvp (argv[0], argv);
  g_printerr ("bkt: cannot run %s: %s\n", argv[0], g_strerror (errno));
  return EXIT_FAILED;
}

static int
dev_dnf (Ctx *ctx, int argc, char **argv)
{
  g_autofree char *container = NULL;
  /* `bkt dev dnf` passes the arguments on as typed (ctx->typed_args):
   * only --container NAME before the verb is bkt's. */
  char **typed = ctx->typed_args != NULL ? ctx->typed_args : argv + 1;
  const char *verb;

  typed = take_leading_container (typed, &container);
  verb = typed[0];
  if (verb == NULL || g_str_equal (verb, "--help") || g_str_equal (verb, "-h"))
    {
      g_print ("Usage: bkt dev dnf [--container NAME] COMMAND …\n\n"
               "  install PKG… [--pr] [--force]   install into the toolbox, record in toolbox-packages.json\n"
               "  remove PKG… [--pr]              remove from the toolbox, forget in toolbox-packages.json\n"
               "  search|info|provides|list|repoquery|check-update ARGS…   the toolbox's dnf, ARGS as given\n"
               "  upgrade ARGS…                   the toolbox's dnf (with sudo), ARGS as given; nothing recorded\n");
      return verb == NULL ? EXIT_USAGE : EXIT_OK;
    }
  if (g_str_equal (verb, "install") || g_str_equal (verb, "remove"))
    {
      /* The command's argv from the verb on (GOption finds --container
       * and the rest wherever they are): this argv and the typed
       * arguments are aligned, argv[0] being "bkt dev dnf". */
      static const BktCommand change_rows[] = {
        { "install", NULL, "install packages into the development toolbox and record them", "PKG…" },
        { "remove", NULL, "remove packages from the development toolbox and forget them", "PKG…" },
      };
      gboolean install = g_str_equal (verb, "install");
      g_autofree char *path = g_strdup_printf ("%s %s", ctx->path, verb);
      int i = ctx->typed_args != NULL ? (int) (typed - ctx->typed_args) + 1 : (int) (typed - argv);

      if (i < 1 || i >= argc || !g_str_equal (argv[i], verb))
        return EXIT_USAGE;
      argv[i] = path;
      ctx->command = &change_rows[install ? 0 : 1];
      ctx->path = path;
      return dev_dnf_change (ctx, install, container, argc - i, argv + i);
    }
  if (g_strv_contains (query_verbs, verb) || g_str_equal (verb, "upgrade"))
    return dev_dnf_passthrough (container, verb, typed + 1);
  g_printerr ("bkt: unknown dev dnf command “%s”: bkt dev dnf runs install, remove, upgrade, search, info, "
              "provides, list, repoquery and check-update (see bkt dev dnf --help)\n", verb);
  return EXIT_USAGE;
}

/* ---- status, update, enter ------------------------------------------------------- */

static JsonObject *
status_object (Target *t, Live *live, const char * const *wanted, const char * const *base,
               char ***out_missing)
{
  JsonObject *o = json_object_new ();
  g_auto(GStrv) missing = NULL;
  g_auto(GStrv) extra = NULL;

  json_object_set_string_member (o, "container", t->container);
  json_object_set_string_member (o, "route", bkt_dev_route_name (t->route));
  json_object_set_boolean_member (o, "exists", live->exists);
  if (live->image != NULL)
    json_object_set_string_member (o, "image", live->image);
  else
    json_object_set_null_member (o, "image");
  json_object_set_int_member (o, "tracked", wanted ? g_strv_length ((char **) wanted) : 0);
  if (!live->exists)
    {
      json_object_set_array_member (o, "missing", bkt_dev_strv_to_json (wanted));
      json_object_set_null_member (o, "extra");
      if (out_missing != NULL)
        *out_missing = g_strdupv ((char **) wanted);
      return o;
    }
  bkt_toolbox_diff (wanted, (const char * const *) live->installed, base, &missing, &extra);
  json_object_set_int_member (o, "installed", g_strv_length (live->installed));
  json_object_set_array_member (o, "missing", bkt_dev_strv_to_json ((const char * const *) missing));
  /* Without the image's package list, everything the image has would
   * count as extra: unknown rather than wrong. */
  if (base != NULL)
    json_object_set_array_member (o, "extra", bkt_dev_strv_to_json ((const char * const *) extra));
  else
    json_object_set_null_member (o, "extra");
  json_object_set_boolean_member (o, "base_known", base != NULL);
  if (out_missing != NULL)
    *out_missing = g_steal_pointer (&missing);
  return o;
}

static void
print_list (const char *title, JsonArray *a)
{
  if (a == NULL || json_array_get_length (a) == 0)
    return;
  g_print ("%s\n", title);
  for (guint i = 0; i < json_array_get_length (a); i++)
    g_print ("  %s\n", json_array_get_string_element (a, i));
}

static int
dev_status (Ctx *ctx, int argc, char **argv)
{
  g_auto(DevOptions) o = { 0 };
  const GOptionEntry entries[] = { CONTAINER_ENTRY (&o), { NULL } };
  g_auto(Target) t = { 0 };
  g_auto(Live) live = { 0 };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) wanted = NULL;
  g_auto(GStrv) base = NULL;
  g_autoptr(JsonObject) st = NULL;
  JsonNode *extra;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (!bkt_dev_resolve_target (o.container, &t, &error) || (wanted = bkt_dev_manifest_names (ctx, &error)) == NULL
      || !bkt_dev_read_live (&t, &live, &error))
    return fail (error);
  base = bkt_dev_load_base (t.container);
  st = status_object (&t, &live, (const char * const *) wanted, (const char * const *) base, NULL);
  if (ctx->opt.json)
    {
      bkt_render_print_object (st);
      return EXIT_OK;
    }
  g_print ("Toolbox:   %s (%s)\n", t.container,
           live.exists ? (live.image ? live.image : "image unknown") : "does not exist: bkt dev update --rebuild creates it");
  g_print ("Manifest:  %u package(s) in toolbox-packages.json\n", g_strv_length (wanted));
  print_list ("Missing from the toolbox (bkt dev update installs them):", json_object_get_array_member (st, "missing"));
  extra = json_object_get_member (st, "extra");
  if (extra != NULL && JSON_NODE_HOLDS_ARRAY (extra))
    print_list ("Installed, not in the manifest (bkt dev dnf install records them):", json_node_get_array (extra));
  else if (live.exists)
    g_print ("Extra packages: unknown (bkt did not create this toolbox, so its image's packages are not known; "
             "bkt dev update --rebuild recreates it)\n");
  if (live.exists && json_array_get_length (json_object_get_array_member (st, "missing")) == 0)
    g_print ("The toolbox has every package of the manifest.\n");
  return EXIT_OK;
}

static gboolean
rebuild (Ctx *ctx, Target *t, Live *live, const char *image, GError **error)
{
  g_autoptr(GPtrArray) create = g_ptr_array_new ();

  if (live->exists)
    {
      const char *rm[] = { t->program, "rm", "--force", t->container, NULL };
      if (!bkt_dev_run_visible (ctx, rm, error))
        return FALSE;
    }
  /* --assumeyes: the image download toolbox would ask about is part of
   * what the user has just confirmed. */
  g_ptr_array_add (create, t->program);
  g_ptr_array_add (create, (char *) "--assumeyes");
  g_ptr_array_add (create, (char *) "create");
  if (image != NULL)
    {
      g_ptr_array_add (create, (char *) "--image");
      g_ptr_array_add (create, (char *) image);
    }
  /* The name is checked: it cannot be read as an option. */
  g_ptr_array_add (create, t->container);
  g_ptr_array_add (create, NULL);
  if (!bkt_dev_run_visible (ctx, (const char * const *) create->pdata, error))
    return FALSE;
  g_clear_pointer (&live->installed, g_strfreev);
  live->exists = TRUE;
  /* What the image brings, before anything of ours: the base of "extra". */
  if (!bkt_dev_read_installed (t, live, error))
    return FALSE;
  return save_base (t->container, (const char * const *) live->installed, error);
}

/* The COPR operations (first: a package may come from one), then one
 * install operation per missing package. */
static BktPlan *
update_plan (const char *container, GPtrArray *copr_ops, const char * const *missing)
{
  g_autoptr(BktPlan) packages = bkt_toolbox_plan (container, TRUE, missing, FALSE);
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < copr_ops->len; i++)
    g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (copr_ops, i)));
  for (guint i = 0; i < bkt_plan_get_n_operations (packages); i++)
    g_ptr_array_add (ops, g_object_ref (bkt_plan_get_operation (packages, i)));
  return bkt_plan_new ("change", ops, NULL);
}

static int
dev_update (Ctx *ctx, int argc, char **argv)
{
  g_auto(DevOptions) o = { 0 };
  const GOptionEntry entries[] = {
    CONTAINER_ENTRY (&o),
    { "rebuild", 0, 0, G_OPTION_ARG_NONE, &o.rebuild, "Remove and recreate the toolbox, then install everything", NULL },
    { "image", 0, 0, G_OPTION_ARG_STRING, &o.image, "The image of a rebuilt toolbox (default: the current one's)", "IMAGE" },
    { "confirm", 'y', 0, G_OPTION_ARG_NONE, &o.confirm, "Rebuild without asking", NULL },
    { NULL }
  };
  g_auto(Target) t = { 0 };
  g_auto(Live) live = { 0 };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) wanted = NULL;
  g_auto(GStrv) missing = NULL;
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonNode) plan_json = NULL;
  g_auto(GStrv) dnf_argv = NULL;
  g_autofree char *image = NULL;
  g_autoptr(GPtrArray) copr_ops = g_ptr_array_new_with_free_func (g_object_unref);
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (!bkt_dev_resolve_target (o.container, &t, &error) || (wanted = bkt_dev_manifest_names (ctx, &error)) == NULL)
    return fail (error);
  /* Names from a file reach dnf's argv: the same checks as typed ones. */
  if (wanted[0] != NULL && !bkt_packages_check_names ((const char * const *) wanted, &error))
    return fail (error);
  if (o.rebuild && t.route != BKT_TOOLBOX_ROUTE_TOOLBOX)
    {
      g_printerr ("bkt: --rebuild needs toolbox on the host (%s): run it on the host, where toolbox create "
                  "and toolbox rm are\n", t.route == BKT_TOOLBOX_ROUTE_DIRECT ? "bkt runs inside the toolbox"
                                                                               : "toolbox is not installed");
      return EXIT_USAGE;
    }
  if (!bkt_dev_read_live (&t, &live, &error))
    return fail (error);
  if (!live.exists && !o.rebuild)
    {
      g_printerr ("bkt: toolbox “%s” does not exist: bkt dev update --rebuild creates it (toolbox create) and "
                  "installs toolbox-packages.json\n", t.container);
      return 5;
    }
  image = g_strdup (o.image != NULL ? o.image : live.image);

  if (o.rebuild)
    {
      g_autofree char *what = g_strdup_printf ("remove toolbox “%s” and create it anew%s%s (what was installed "
                                               "in it by hand is lost)", t.container,
                                               image ? " from " : "", image ? image : "");
      missing = g_strdupv (wanted);
      if (ctx->opt.dry_run)
        {
          /* A new container has no COPR: every declared one is enabled. */
          if (!bkt_dev_copr_update_ops (ctx, &t, TRUE, copr_ops, &error))
            return fail (error);
          plan = update_plan (t.container, copr_ops, (const char * const *) missing);
          plan_json = bkt_plan_to_json (plan);
          bkt_render_plan (&ctx->render, json_node_get_object (plan_json));
          if (!ctx->opt.json)
            g_print ("Would %s first.\n", what);
          return EXIT_OK;
        }
      if (!bkt_cmd_confirm (o.confirm, what, &code))
        return code;
      if (!rebuild (ctx, &t, &live, image, &error))
        return fail (error);
      g_strfreev (missing);
      missing = NULL;
    }
  {
    g_autoptr(JsonObject) st = status_object (&t, &live, (const char * const *) wanted, NULL, &missing);
  }
  /* COPRs first: a package may come from one. */
  if (!bkt_dev_copr_update_ops (ctx, &t, FALSE, copr_ops, &error))
    return fail (error);
  plan = update_plan (t.container, copr_ops, (const char * const *) missing);
  plan_json = bkt_plan_to_json (plan);
  if (missing[0] != NULL)
    dnf_argv = bkt_toolbox_dnf_change_argv (t.route, t.program, t.container, t.is_root, t.dnf, TRUE,
                                            (const char * const *) missing);
  if (ctx->opt.json && ctx->opt.dry_run)
    {
      JsonObject *po = json_node_get_object (plan_json);
      json_object_set_array_member (po, "argv", bkt_dev_strv_to_json ((const char * const *) dnf_argv));
      json_object_set_array_member (po, "copr_argv", bkt_dev_copr_argvs_json (&t, copr_ops));
      bkt_render_print_object (po);
      return EXIT_OK;
    }
  if (!ctx->opt.json && dnf_argv == NULL && copr_ops->len == 0)
    g_print ("Toolbox “%s” has every package of toolbox-packages.json.\n", t.container);
  else if (!ctx->opt.json)
    bkt_render_plan (&ctx->render, json_node_get_object (plan_json));
  if (ctx->opt.dry_run)
    {
      bkt_dev_copr_print_argvs ("Would run: ", &t, copr_ops);
      if (dnf_argv != NULL)
        bkt_dev_print_argv ("Would run: ", (const char * const *) dnf_argv);
      return EXIT_OK;
    }
  if (!bkt_dev_copr_execute (ctx, &t, copr_ops, &error))
    return fail (error);
  if (dnf_argv != NULL && !bkt_dev_run_visible (ctx, (const char * const *) dnf_argv, &error))
    return fail (error);
  bkt_dev_sync_after (ctx, &t, "dev-update", NULL);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      json_object_set_string_member (out, "container", t.container);
      json_object_set_boolean_member (out, "rebuilt", o.rebuild);
      json_object_set_array_member (out, "installed", bkt_dev_strv_to_json ((const char * const *) missing));
      json_object_set_array_member (out, "argv", bkt_dev_strv_to_json ((const char * const *) dnf_argv));
      json_object_set_array_member (out, "copr_argv", bkt_dev_copr_argvs_json (&t, copr_ops));
      bkt_render_print_object (out);
    }
  return EXIT_OK;
}

static int
dev_enter (Ctx *ctx, int argc, char **argv)
{
  g_auto(DevOptions) o = { 0 };
  const GOptionEntry entries[] = { CONTAINER_ENTRY (&o), { NULL } };
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (!bkt_dev_resolve_target (o.container, &t, &error))
    return fail (error);
  if (t.route == BKT_TOOLBOX_ROUTE_DIRECT)
    {
      g_printerr ("bkt: already inside toolbox “%s”\n", t.container);
      return EXIT_USAGE;
    }
  if (t.route == BKT_TOOLBOX_ROUTE_PODMAN)
    {
      g_printerr ("bkt: toolbox is not installed: bkt dev enter runs “toolbox enter %s”\n", t.container);
      return EXIT_FAILED;
    }
  {
    const char *enter[] = { t.program, "enter", t.container, NULL };
    fflush (stdout);
    execvp (enter[0], (char **) enter);
  }
  g_printerr ("bkt: cannot run %s: %s\n", t.program, g_strerror (errno));
  return EXIT_FAILED;
}

/* flatpak, extension, gsetting and shim are host-level: `bkt dev NAME`
 * says where they are instead. */
static int
dev_host_level (Ctx *ctx, int argc, char **argv)
{
  const char *instead = ctx->command->data;

  g_printerr ("bkt: “bkt dev %s” does not exist: %s are host-level, not the toolbox's.\n"
              "Run %s\n", ctx->command->name, g_str_has_prefix (instead, "bkt flatpak") ? "flatpaks"
                           : g_str_has_prefix (instead, "bkt extension") ? "extensions"
                           : g_str_has_prefix (instead, "bkt gsetting") ? "settings"
                           : "shims", instead);
  return EXIT_USAGE;
}

#define HOST_LEVEL(name, instead) { name, NULL, NULL, NULL, dev_host_level, .data = instead, .hidden = TRUE }

/* The toolbox is toolbox-packages.json's (never system-packages.json);
 * every command takes --container NAME. */
const BktCommand bkt_dev_commands[] = {
  { "dnf", NULL, "install|remove PKG… [--pr]: change the toolbox's packages and record them; "
    "search|info|list|…|upgrade ARGS…: the toolbox's dnf, ARGS as given", "[--container NAME] COMMAND …", dev_dnf },
  { "status", NULL, "the toolbox against the manifest (missing, extra)", NULL, dev_status },
  { "diff", NULL, "which side changed, per package: TO APPLY (bkt dev update), TO CAPTURE, UNTRACKED "
    "(bkt dev capture), with the command that settles each", NULL, bkt_dev_diff },
  { "capture", NULL, "record in toolbox-packages.json the packages changed in the toolbox since bkt last synced "
    "it (--select NAMES, --all-untracked: ones installed by hand)", NULL, bkt_dev_capture },
  { "update", NULL, "install the missing packages (--rebuild [-y]: recreate the toolbox)", NULL, dev_update },
  { "enter", NULL, "toolbox enter NAME", NULL, dev_enter },
  { "copr", NULL, "COPR repos inside the toolbox (dnf copr), recorded in toolbox-packages.json's copr_repos",
    NULL, NULL, bkt_dev_copr_commands },
  HOST_LEVEL ("flatpak", "bkt flatpak …: flatpak apps are installed on the host and every toolbox sees them"),
  HOST_LEVEL ("fp", "bkt flatpak …: flatpak apps are installed on the host and every toolbox sees them"),
  HOST_LEVEL ("extension", "bkt extension …: GNOME Shell extensions belong to the host's session"),
  HOST_LEVEL ("ext", "bkt extension …: GNOME Shell extensions belong to the host's session"),
  HOST_LEVEL ("gsetting", "bkt gsetting …: settings are the host session's (dconf), shared with every toolbox"),
  HOST_LEVEL ("gs", "bkt gsetting …: settings are the host session's (dconf), shared with every toolbox"),
  HOST_LEVEL ("shim", "bkt shim …: shims run host commands from a toolbox; they are written on the host"),
  { NULL }
};
