/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-copr.h"
#include "bkt-error.h"
#include "bkt-manifest.h"
#include "bkt-plan.h"
#include "bkt-spawn.h"
#include "dev-private.h"

/* COPRs inside the development toolbox: `bkt dev copr list|enable|disable`,
 * and the COPR step of `bkt dev update` and `bkt dev diff`.
 *
 * The toolbox's own dnf does the work — `dnf -y copr enable|disable
 * OWNER/PROJECT` (dnf-plugins-core in dnf4, dnf5-plugins in dnf5), which
 * fetches the repo file COPR serves for the toolbox's release, something
 * the host cannot know — and `dnf repolist --all` reads the result back:
 * an operation is done when the container's dnf lists the repo enabled
 * (or disabled), not when `dnf copr` exited 0.  The record is
 * toolbox-packages.json's copr_repos, entries as system-packages.json's
 * ({name, enabled, gpg_check}), in the user's overlay (or -m DIR), like
 * `bkt dev dnf install` records packages.
 *
 * Names are checked with the host's COPR rule (bkt_copr_check_name(): each
 * part letters, digits, '.', '_', '-', never a leading '-') before any
 * process starts, so no name can reach dnf as an option. */

static JsonObject *
find_copr (JsonArray *a, const char *name)
{
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (o, "name", NULL), name) == 0)
        return o;
    }
  return NULL;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
copr_enabled (JsonObject *o)
{
  return o != NULL && json_object_get_boolean_member_with_default (o, "enabled", TRUE);
}

gboolean
bkt_dev_read_coprs (Target *t, JsonArray **out, GError **error)
{
  const char *cmd[] = { t->dnf, "repolist", "--all", NULL };
  g_auto(GStrv) argv = bkt_dev_wrap (t, FALSE, cmd);
  g_autofree char *text = bkt_spawn_capture ((const char * const *) argv, NULL, error);

  if (text == NULL)
    return FALSE;
  *out = bkt_toolbox_parse_coprs (text);
  return TRUE;
}

JsonArray *
bkt_dev_manifest_coprs (BktManifestSet *set)
{
  return bkt_copr_manifest_entries (bkt_manifest_set_get (set, BKT_MANIFEST_TOOLBOX_PACKAGES));
}

static char **
copr_argv (Target *t, BktOperation *op)
{
  JsonObject *d = bkt_operation_get_details (op);
  const char *cmd[] = { t->dnf, "-y", "copr", json_object_get_boolean_member (d, "enabled") ? "enable" : "disable",
                        json_object_get_string_member (d, "name"), NULL };

  return bkt_dev_wrap (t, TRUE, cmd);
}

static gboolean
is_live_copr_op (BktOperation *op)
{
  return g_str_has_prefix (bkt_operation_get_action (op), "copr-")
         && bkt_operation_get_effect (op) == BKT_EFFECT_LIVE;
}

void
bkt_dev_copr_print_argvs (const char *what, Target *t, GPtrArray *ops)
{
  for (guint i = 0; i < ops->len; i++)
    if (is_live_copr_op (g_ptr_array_index (ops, i)))
      {
        g_auto(GStrv) argv = copr_argv (t, g_ptr_array_index (ops, i));
        bkt_dev_print_argv (what, (const char * const *) argv);
      }
}

JsonArray *
bkt_dev_copr_argvs_json (Target *t, GPtrArray *ops)
{
  JsonArray *a = json_array_new ();

  for (guint i = 0; i < ops->len; i++)
    if (is_live_copr_op (g_ptr_array_index (ops, i)))
      {
        g_auto(GStrv) argv = copr_argv (t, g_ptr_array_index (ops, i));
        json_array_add_array_element (a, bkt_dev_strv_to_json ((const char * const *) argv));
      }
  return a;
}

/* Runs the live COPR operations of @ops, one `dnf copr` each (the plugin
 * takes one project a call), then ONE `dnf repolist --all` that must show
 * each project as it was asked to be. */
gboolean
bkt_dev_copr_execute (Ctx *ctx, Target *t, GPtrArray *ops, GError **error)
{
  g_autoptr(JsonArray) after = NULL;
  guint n = 0;

  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      g_auto(GStrv) argv = NULL;
      g_autoptr(GError) run_error = NULL;

      if (!is_live_copr_op (op))
        continue;
      /* Checked again right before the process that matters. */
      if (!bkt_copr_check_name (bkt_operation_get_detail_string (op, "name"), error))
        return FALSE;
      argv = copr_argv (t, op);
      if (!bkt_dev_run_visible (ctx, (const char * const *) argv, &run_error))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s (if the toolbox's dnf has no copr command: "
                            "bkt dev dnf install dnf5-plugins, or dnf-plugins-core for dnf4)", run_error->message),
               FALSE;
      n++;
    }
  if (n == 0)
    return TRUE;
  if (!bkt_dev_read_coprs (t, &after, error))
    return FALSE;
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *name = bkt_operation_get_detail_string (op, "name");
      gboolean want;
      JsonObject *l;

      if (!is_live_copr_op (op))
        continue;
      want = json_object_get_boolean_member (bkt_operation_get_details (op), "enabled");
      l = find_copr (after, name);
      if (l != NULL && copr_enabled (l) == want)
        continue;
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "dnf copr %s %s exited 0 but toolbox “%s”'s "
                          "dnf repolist %s", want ? "enable" : "disable", name, t->container,
                          l == NULL ? "does not list it" : want ? "lists it disabled" : "lists it enabled"), FALSE;
    }
  return TRUE;
}

void
bkt_dev_copr_plan_update (const char *container, JsonArray *wanted, JsonArray *live, GPtrArray *ops)
{
  /* Projects the manifest does not list are left alone, as `bkt apply`
   * leaves the host's (bkt dev diff shows them). */
  for (guint i = 0; i < json_array_get_length (wanted); i++)
    {
      JsonObject *w = json_array_get_object_element (wanted, i);
      const char *name = json_object_get_string_member (w, "name");
      JsonObject *l = find_copr (live, name);

      /* enabled: false is met by a disabled repo and by none at all (dnf
       * copr disable fails on a project the toolbox never had). */
      if (copr_enabled (w) && !copr_enabled (l))
        g_ptr_array_add (ops, bkt_toolbox_copr_op (container, name, TRUE));
      else if (!copr_enabled (w) && copr_enabled (l))
        g_ptr_array_add (ops, bkt_toolbox_copr_op (container, name, FALSE));
    }
}

JsonArray *
bkt_dev_copr_diff (JsonArray *wanted, JsonArray *live)
{
  JsonArray *out = json_array_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (wanted); i++)
    g_ptr_array_add (names, (gpointer) json_object_get_string_member (json_array_get_object_element (wanted, i),
                                                                      "name"));
  for (guint i = 0; live != NULL && i < json_array_get_length (live); i++)
    {
      const char *name = json_object_get_string_member (json_array_get_object_element (live, i), "name");
      if (find_copr (wanted, name) == NULL)
        g_ptr_array_add (names, (gpointer) name);
    }
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      JsonObject *w = find_copr (wanted, name), *l = find_copr (live, name);
      JsonObject *o;

      if (w != NULL && copr_enabled (w) == copr_enabled (l))
        continue;
      if (w == NULL && !copr_enabled (l))
        continue;   /* a disabled repo nobody declared changes nothing */
      o = json_object_new ();
      json_object_set_string_member (o, "name", name);
      json_object_set_boolean_member (o, "declared", w != NULL);
      if (w != NULL)
        json_object_set_boolean_member (o, "declared_enabled", copr_enabled (w));
      else
        json_object_set_null_member (o, "declared_enabled");
      json_object_set_boolean_member (o, "enabled", copr_enabled (l));
      if (w == NULL)
        {
          json_object_set_string_member (o, "state", "untracked");
          json_object_set_string_member (o, "what", "enabled in the toolbox, in no manifest");
          g_autofree char *next = g_strdup_printf ("bkt dev copr enable %s (records it) or bkt dev copr "
                                                   "disable %s", name, name);
          json_object_set_string_member (o, "next", next);
        }
      else
        {
          json_object_set_string_member (o, "state", copr_enabled (w) ? "missing" : "differs");
          json_object_set_string_member (o, "what", copr_enabled (w) ? "in the manifest, not enabled in the toolbox"
                                                    : "disabled in the manifest, enabled in the toolbox");
          json_object_set_string_member (o, "next", "bkt dev update");
        }
      json_array_add_object_element (out, o);
    }
  return out;
}

/* ---- bkt dev copr list|enable|disable --------------------------------------------- */

/* The manifest's copr_repos and the container's COPRs (it must exist). */
static gboolean
load_sides (Ctx *ctx, Target *t, JsonArray **wanted, JsonArray **live, GError **error)
{
  g_autoptr(BktManifestSet) set = bkt_cmd_load_manifests (ctx, error);
  g_auto(Live) l = { 0 };

  if (set == NULL || !bkt_dev_read_exists (t, &l, error))
    return FALSE;
  if (!l.exists)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "toolbox “%s” does not exist: bkt dev update "
                        "--rebuild creates it", t->container), FALSE;
  *wanted = bkt_dev_manifest_coprs (set);
  return bkt_dev_read_coprs (t, live, error);
}

static const char *
list_state (JsonObject *w, JsonObject *l)
{
  if (w == NULL)
    return "untracked";
  if (copr_enabled (w) == copr_enabled (l))
    return "in-sync";
  return copr_enabled (w) ? "missing" : "differs";
}

static JsonNode *
side_node (JsonObject *o, gboolean with_gpg)
{
  JsonObject *s;
  JsonNode *n;

  if (o == NULL)
    return json_node_new (JSON_NODE_NULL);
  s = json_object_new ();
  json_object_set_boolean_member (s, "enabled", copr_enabled (o));
  if (with_gpg)
    json_object_set_boolean_member (s, "gpg_check", json_object_get_boolean_member_with_default (o, "gpg_check",
                                                                                                  TRUE));
  n = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (n, s);
  return n;
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  return strcmp (json_object_get_string_member (*(JsonObject * const *) a, "name"),
                 json_object_get_string_member (*(JsonObject * const *) b, "name"));
}

static JsonArray *
list_rows (JsonArray *wanted, JsonArray *live)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < json_array_get_length (wanted); i++)
    g_ptr_array_add (rows, json_array_get_object_element (wanted, i));
  for (guint i = 0; i < json_array_get_length (live); i++)
    if (find_copr (wanted, json_object_get_string_member (json_array_get_object_element (live, i), "name")) == NULL)
      g_ptr_array_add (rows, json_array_get_object_element (live, i));
  g_ptr_array_sort (rows, compare_entries);
  for (guint i = 0; i < rows->len; i++)
    {
      const char *name = json_object_get_string_member (g_ptr_array_index (rows, i), "name");
      JsonObject *w = find_copr (wanted, name), *l = find_copr (live, name);
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "name", name);
      json_object_set_member (o, "manifest", side_node (w, TRUE));
      json_object_set_member (o, "toolbox", side_node (l, FALSE));
      json_object_set_string_member (o, "state", list_state (w, l));
      json_array_add_object_element (out, o);
    }
  return out;
}

static const char *
side_text (JsonNode *n)
{
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return "-";
  return json_object_get_boolean_member (json_node_get_object (n), "enabled") ? "enabled" : "disabled";
}

static int
copr_list (Ctx *ctx, int argc, char **argv)
{
  g_auto(DevOptions) o = { 0 };
  const GOptionEntry entries[] = { CONTAINER_ENTRY (&o), { NULL } };
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) wanted = NULL;
  g_autoptr(JsonArray) live = NULL;
  g_autoptr(JsonArray) rows = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (!bkt_dev_resolve_target (o.container, &t, &error) || !load_sides (ctx, &t, &wanted, &live, &error))
    return fail (error);
  rows = list_rows (wanted, live);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();

      json_object_set_string_member (out, "container", t.container);
      json_object_set_array_member (out, "coprs", json_array_ref (rows));
      bkt_render_print_object (out);
      return EXIT_OK;
    }
  if (json_array_get_length (rows) == 0)
    {
      g_print ("No COPR repositories in toolbox-packages.json or in toolbox “%s”.\n", t.container);
      return EXIT_OK;
    }
  g_print ("%-40s %-10s %-10s %s\n", "PROJECT", "MANIFEST", "TOOLBOX", "STATE");
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *e = json_array_get_object_element (rows, i);
      const char *state = json_object_get_string_member (e, "state");

      g_print ("%-40s %-10s %-10s %s\n", json_object_get_string_member (e, "name"),
               side_text (json_object_get_member (e, "manifest")), side_text (json_object_get_member (e, "toolbox")),
               g_str_equal (state, "untracked") ? "untracked (bkt dev copr enable|disable records it)"
               : g_str_equal (state, "in-sync") ? "in sync"
               : g_str_equal (state, "missing") ? "missing (bkt dev update enables it)"
               : "differs (bkt dev update disables it)");
    }
  return EXIT_OK;
}

/* The record without a PR: toolbox-packages.json's copr_repos in the
 * user's overlay (or -m DIR), one atomic, format-preserving write, none
 * when the entry says so already. */
static gboolean
record_copr (Ctx *ctx, const char *name, gboolean enabled, gboolean gpg_check, char **out_path, GError **error)
{
  g_autoptr(BktManifestSet) set = bkt_cmd_load_manifests (ctx, error);
  g_autoptr(BktManifest) m = NULL;
  g_autoptr(JsonObject) entry = json_object_new ();
  JsonObject *current;

  if (set == NULL)
    return FALSE;
  m = bkt_manifest_set_load_writable (set, BKT_MANIFEST_TOOLBOX_PACKAGES, error);
  if (m == NULL)
    return FALSE;
  *out_path = g_build_filename (bkt_manifest_set_get_write_dir (set),
                                bkt_manifest_kind_file_name (BKT_MANIFEST_TOOLBOX_PACKAGES), NULL);
  current = bkt_manifest_lookup_in (m, BKT_MANIFEST_COPR_MEMBER, name);
  if (current != NULL && copr_enabled (current) == enabled
      && json_object_get_boolean_member_with_default (current, "gpg_check", TRUE) == gpg_check)
    return TRUE;
  json_object_set_string_member (entry, "name", name);
  json_object_set_boolean_member (entry, "enabled", enabled);
  json_object_set_boolean_member (entry, "gpg_check", gpg_check);
  bkt_manifest_upsert_in (m, BKT_MANIFEST_COPR_MEMBER, entry);
  return bkt_manifest_set_save_writable (set, m, error);
}

static void
print_result (Ctx *ctx, Target *t, GPtrArray *ops, const char *name, gboolean enable, const char *path)
{
  g_autoptr(JsonObject) out = NULL;

  if (!ctx->opt.json)
    {
      g_print ("\nToolbox:   %s has COPR %s %s\nManifest:  %s\n"
               "PR:        none (add --pr to propose it to the distribution repo)\n", t->container, name,
               enable ? "enabled" : "disabled", path);
      return;
    }
  out = json_object_new ();
  json_object_set_string_member (out, "container", t->container);
  json_object_set_string_member (out, "route", bkt_dev_route_name (t->route));
  json_object_set_string_member (out, "action", enable ? "enable" : "disable");
  json_object_set_string_member (out, "name", name);
  json_object_set_boolean_member (out, "enabled", enable);
  json_object_set_array_member (out, "argv", bkt_dev_copr_argvs_json (t, ops));
  json_object_set_string_member (out, "manifest", path);
  json_object_set_null_member (out, "pr");
  bkt_render_print_object (out);
}

/* --pr: the container's part is ours, after the session's preflight;
 * the record and the pull request are the session daemon's (subsystem
 * toolbox, actions copr-enable / copr-disable). */
typedef struct {
  Target    *target;
  GPtrArray *ops;     /* the live operations */
  JsonNode  *plan;    /* the same as a plan */
} CoprAct;

static void
copr_act_plan (Ctx *ctx, gpointer data, JsonObject *plan)
{
  bkt_dev_plan_prepend (((CoprAct *) data)->plan, plan);
}

static gboolean
copr_act_run (Ctx *ctx, gpointer data, JsonArray *results, GError **error)
{
  CoprAct *a = data;
  g_autoptr(GError) local_error = NULL;
  gboolean ok = bkt_dev_copr_execute (ctx, a->target, a->ops, &local_error);

  bkt_dev_add_results (a->plan, local_error, results);
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return ok;
}

static int
copr_change_pr (Ctx *ctx, Target *t, GPtrArray *ops, const char *name, gboolean enable)
{
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(BktPlan) plan = NULL;
  CoprAct act = { t, live, NULL };
  const BktClientAct hooks = { copr_act_plan, copr_act_run, &act };
  GVariantBuilder b;
  int code;

  for (guint i = 0; i < ops->len; i++)
    if (is_live_copr_op (g_ptr_array_index (ops, i)))
      g_ptr_array_add (live, g_object_ref (g_ptr_array_index (ops, i)));
  plan = bkt_plan_new ("change", live, NULL);
  act.plan = bkt_plan_to_json (plan);
  if (!ctx->opt.json)
    bkt_dev_copr_print_argvs (ctx->opt.dry_run ? "Would run: " : "Command: ", t, live);
  g_free (ctx->opt.only);
  ctx->opt.only = g_strdup ("toolbox");
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (name));
  code = run_change_acting (ctx, "toolbox", enable ? "copr-enable" : "copr-disable", g_variant_builder_end (&b),
                            &hooks);
  json_node_unref (act.plan);
  return code;
}

static int
copr_change (Ctx *ctx, int argc, char **argv)
{
  gboolean enable = g_str_equal (ctx->command->name, "enable");
  g_auto(DevOptions) o = { 0 };
  const GOptionEntry entries[] = {
    CONTAINER_ENTRY (&o),
    { "pr", 0, 0, G_OPTION_ARG_NONE, &o.pr, "Also open a pull request to the distribution repo", NULL },
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout (--pr)", "DIR" },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight, "Act even if the pull request cannot be opened", NULL },
    { NULL }
  };
  g_auto(Target) t = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) wanted = NULL;
  g_autoptr(JsonArray) live = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonNode) plan_json = NULL;
  g_autofree char *path = NULL;
  const char *name;
  JsonObject *w, *l;
  gboolean gpg_check;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 1, 1, &code))
    return code;
  name = argv[1];
  /* The name first, before any process: "-x" must never reach dnf. */
  if (!bkt_copr_check_name (name, &error))
    return fail (error);
  if (!bkt_dev_resolve_target (o.container, &t, &error) || !load_sides (ctx, &t, &wanted, &live, &error))
    return fail (error);
  w = find_copr (wanted, name);
  l = find_copr (live, name);
  if (!enable && w == NULL && l == NULL)
    {
      g_set_error (&error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "COPR project “%s” is neither in toolbox-packages.json "
                   "nor in toolbox “%s” (bkt dev copr list)", name, t.container);
      return fail (error);
    }
  /* The manifest's gpg_check stands: the toolbox's dnf copr keeps the
   * repo file's own (COPR's: checked). */
  gpg_check = w != NULL ? json_object_get_boolean_member_with_default (w, "gpg_check", TRUE) : TRUE;
  if (enable != copr_enabled (l))
    g_ptr_array_add (ops, bkt_toolbox_copr_op (t.container, name, enable));
  if (o.pr)
    return copr_change_pr (ctx, &t, ops, name, enable);
  g_ptr_array_add (ops, bkt_toolbox_copr_record_op (name, enable, gpg_check));
  plan = bkt_plan_new ("change", ops, NULL);
  plan_json = bkt_plan_to_json (plan);

  if (ctx->opt.dry_run && ctx->opt.json)
    {
      JsonObject *po = json_node_get_object (plan_json);
      json_object_set_array_member (po, "argv", bkt_dev_copr_argvs_json (&t, ops));
      bkt_render_print_object (po);
      return EXIT_OK;
    }
  if (!ctx->opt.json)
    bkt_render_plan (&ctx->render, json_node_get_object (plan_json));
  if (ctx->opt.dry_run)
    {
      bkt_dev_copr_print_argvs ("Would run: ", &t, ops);
      return EXIT_OK;
    }
  if (!bkt_dev_copr_execute (ctx, &t, ops, &error))
    {
      g_printerr ("bkt: %s\nNothing was recorded.\n", error->message);
      return EXIT_FAILED;
    }
  if (!record_copr (ctx, name, enable, gpg_check, &path, &error))
    return fail (error);
  print_result (ctx, &t, ops, name, enable, path);
  return EXIT_OK;
}

const BktCommand bkt_dev_copr_commands[] = {
  { "list", NULL, "the toolbox's COPR repos against toolbox-packages.json's copr_repos", NULL, copr_list },
  { "enable", NULL, "dnf copr enable in the toolbox (checked with dnf repolist), recorded in copr_repos [--pr]",
    "OWNER/PROJECT", copr_change },
  { "disable", NULL, "dnf copr disable in the toolbox, recorded as \"enabled\": false [--pr]", "OWNER/PROJECT",
    copr_change },
  { NULL }
};

gboolean
bkt_dev_copr_update_ops (Ctx *ctx, Target *t, gboolean fresh, GPtrArray *ops, GError **error)
{
  g_autoptr(BktManifestSet) set = bkt_cmd_load_manifests (ctx, error);
  g_autoptr(JsonArray) wanted = NULL;
  g_autoptr(JsonArray) live = NULL;

  if (set == NULL)
    return FALSE;
  wanted = bkt_dev_manifest_coprs (set);
  /* No copr_repos, no question to the container. */
  if (json_array_get_length (wanted) == 0)
    return TRUE;
  for (guint i = 0; i < json_array_get_length (wanted); i++)
    {
      JsonObject *w = json_array_get_object_element (wanted, i);

      /* Said rather than silently ignored: dnf copr writes the repo file
       * COPR serves, whose gpgcheck is on. */
      if (copr_enabled (w) && !json_object_get_boolean_member (w, "gpg_check"))
        g_printerr ("bkt: warning: copr:%s has \"gpg_check\": false, which bkt dev does not apply inside the "
                    "toolbox (its signatures stay checked)\n", json_object_get_string_member (w, "name"));
    }
  if (fresh)
    live = json_array_new ();
  else if (!bkt_dev_read_coprs (t, &live, error))
    return FALSE;
  bkt_dev_copr_plan_update (t->container, wanted, live, ops);
  return TRUE;
}
