/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-packages.h"
#include "bkt-plan.h"
#include "bkt-state-record.h"
#include "dev-private.h"

/* The toolbox's three-way sync: `bkt dev diff` and `bkt dev capture`.
 *
 * Like the host's subsystems (docs/manifests.md, "Which side changed"),
 * each package of the toolbox is compared three ways: toolbox-packages.json,
 * the container, and the base — what bkt last synced.  The toolbox is the
 * client's (everything of `bkt dev` runs here, on the user's terminal), so
 * its record is the client's too: one state record per container,
 * $XDG_STATE_HOME/bkt/dev/NAME/state.json, the same format and code as the
 * session instance's (bkt-state-record.c), written only by `bkt dev`.
 * A package's value is "installed" or absent.
 *
 * Which packages count: the manifest's, and those installed that the
 * container's image did not bring (its package list, kept by `bkt dev
 * update --rebuild`) or that the record knows.  Without the image's list
 * a package installed by hand cannot be told from the image's: untracked
 * ones are then unknown, and say so. */

#define INSTALLED "installed"

typedef struct {
  char                 *name;
  const char           *manifest;   /* INSTALLED or NULL */
  const char           *live;
  BktSyncState          state;
  const BktRecordEntry *base;
} Pkg;

static void
pkg_free (Pkg *p)
{
  g_free (p->name);
  g_free (p);
}

typedef struct {
  BktManifestSet *manifests;
  BktStateRecord *record;
  GPtrArray      *pkgs;        /* Pkg*, by name */
  gboolean        image_known;
  Live            live;
} View;

static void
view_clear (View *v)
{
  g_clear_object (&v->manifests);
  g_clear_object (&v->record);
  g_clear_pointer (&v->pkgs, g_ptr_array_unref);
  bkt_dev_live_clear (&v->live);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (View, view_clear)

static char *
record_dir (const char *container)
{
  g_autofree char *dir = bkt_state_record_default_dir (BKT_SCOPE_USER);

  return g_build_filename (dir, "dev", container, NULL);
}

static char *
target_of (const char *name)
{
  return g_strconcat ("package:", name, NULL);
}

static gint
compare_pkgs (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Pkg * const *) a)->name, (*(Pkg * const *) b)->name);
}

static void
add_pkg (View *v, GHashTable *seen, const char *name, GHashTable *wanted, GHashTable *installed)
{
  Pkg *p;
  g_autofree char *target = NULL;

  if (g_hash_table_contains (seen, name))
    return;
  g_hash_table_add (seen, (gpointer) name);
  p = g_new0 (Pkg, 1);
  p->name = g_strdup (name);
  p->manifest = g_hash_table_contains (wanted, name) ? INSTALLED : NULL;
  p->live = g_hash_table_contains (installed, name) ? INSTALLED : NULL;
  target = target_of (name);
  p->state = bkt_state_record_classify (v->record, target, p->manifest, p->live, &p->base);
  g_ptr_array_add (v->pkgs, p);
}

/* The manifest, the container (one `rpm -qa`) and the record, classified. */
static gboolean
load_view (Ctx *ctx, Target *t, const char * const *touched, View *v, GError **error)
{
  g_autofree char *dir = record_dir (t->container);
  g_autoptr(GPtrArray) names = NULL;
  g_auto(GStrv) image = NULL;
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) installed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) from_image = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  v->manifests = bkt_cmd_load_manifests (ctx, error);
  if (v->manifests == NULL || !bkt_dev_read_live (t, &v->live, error))
    return FALSE;
  if (!v->live.exists)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "toolbox “%s” does not exist: bkt dev update "
                        "--rebuild creates it", t->container), FALSE;
  names = bkt_toolbox_manifest_names (v->manifests);
  image = bkt_dev_load_base (t->container);
  v->image_known = image != NULL;
  v->record = bkt_state_record_load (BKT_SCOPE_USER, dir);
  v->pkgs = g_ptr_array_new_with_free_func ((GDestroyNotify) pkg_free);
  for (guint i = 0; i < names->len; i++)
    g_hash_table_add (wanted, g_ptr_array_index (names, i));
  for (guint i = 0; v->live.installed[i] != NULL; i++)
    g_hash_table_add (installed, v->live.installed[i]);
  for (guint i = 0; image != NULL && image[i] != NULL; i++)
    g_hash_table_add (from_image, image[i]);

  for (guint i = 0; i < names->len; i++)
    add_pkg (v, seen, g_ptr_array_index (names, i), wanted, installed);
  for (guint i = 0; v->live.installed[i] != NULL; i++)
    {
      const char *name = v->live.installed[i];
      g_autofree char *target = target_of (name);

      if ((v->image_known && !g_hash_table_contains (from_image, name)) ||
          bkt_state_record_lookup (v->record, target) != NULL)
        add_pkg (v, seen, name, wanted, installed);
    }
  /* What bkt just forgot or removed: absent on both sides, it leaves the record. */
  for (guint i = 0; touched != NULL && touched[i] != NULL; i++)
    add_pkg (v, seen, touched[i], wanted, installed);
  g_ptr_array_sort (v->pkgs, compare_pkgs);
  return TRUE;
}

/* What both sides agree on becomes the base; a package absent on both
 * sides leaves the record.  One atomic write. */
static gboolean
seed (View *v, const char *command, GError **error)
{
  for (guint i = 0; i < v->pkgs->len; i++)
    {
      Pkg *p = g_ptr_array_index (v->pkgs, i);
      g_autofree char *target = target_of (p->name);
      const BktRecordEntry *e = bkt_state_record_lookup (v->record, target);
      const char *layer = NULL;
      g_autofree char *file = NULL;

      if (g_strcmp0 (p->manifest, p->live) != 0)
        continue;
      if (p->manifest == NULL)
        {
          bkt_state_record_remove (v->record, target);
          continue;
        }
      if (e != NULL && g_strcmp0 (e->value, p->live) == 0)
        continue;
      file = bkt_manifest_set_declaring_file (v->manifests, BKT_MANIFEST_TOOLBOX_PACKAGES, p->name, &layer);
      bkt_state_record_set (v->record, target, p->live, layer, file, command);
    }
  return bkt_state_record_save (v->record, error);
}

void
bkt_dev_sync_after (Ctx *ctx, Target *t, const char *command, const char * const *touched)
{
  g_auto(View) v = { 0 };
  g_autoptr(GError) error = NULL;

  /* Read back: only what the container really has now is recorded. */
  if (!load_view (ctx, t, touched, &v, &error) || !seed (&v, command, &error))
    g_printerr ("bkt: warning: the toolbox's state record was not updated: %s\n", error->message);
}

/* ---- diff ---------------------------------------------------------------------- */

static const char *
state_label (BktSyncState state)
{
  switch (state)
    {
    case BKT_SYNC_IN_SYNC: return "IN SYNC";
    case BKT_SYNC_TO_APPLY: return "TO APPLY";
    case BKT_SYNC_NEVER_SYNCED: return "NEVER SYNCED";
    case BKT_SYNC_TO_CAPTURE: return "TO CAPTURE";
    case BKT_SYNC_CONFLICT: return "CONFLICT";
    case BKT_SYNC_UNTRACKED: return "UNTRACKED";
    case BKT_SYNC_TWO_WAY:
    default: return "NO RECORD";
    }
}

/* What the difference is, in the toolbox's words, and the command that settles it. */
static char *
describe (Pkg *p, char **next)
{
  gboolean declared = p->manifest != NULL, here = p->live != NULL;

  switch (p->state)
    {
    case BKT_SYNC_TO_CAPTURE:
    case BKT_SYNC_UNTRACKED:
      *next = g_strdup_printf ("bkt dev capture --select %s", p->name);
      return g_strdup (declared ? "in the manifest, removed from the toolbox by hand"
                                : "installed in the toolbox by hand, in no manifest");
    case BKT_SYNC_CONFLICT:
      *next = g_strdup_printf ("bkt dev update (the manifest wins) or bkt dev capture --select %s (the toolbox wins)",
                               p->name);
      return g_strdup ("changed on both sides");
    default:
      if (declared && !here)
        {
          *next = g_strdup ("bkt dev update");
          return g_strdup (p->state == BKT_SYNC_NEVER_SYNCED ? "in the manifest, never installed here"
                                                            : "added to the manifest, not installed");
        }
      *next = g_strdup_printf ("bkt dev dnf remove %s", p->name);
      return g_strdup ("removed from the manifest, still installed");
    }
}

static JsonObject *
pkg_json (Pkg *p)
{
  JsonObject *o = json_object_new ();
  g_autofree char *next = NULL;
  g_autofree char *what = describe (p, &next);

  json_object_set_string_member (o, "name", p->name);
  json_object_set_string_member (o, "state", bkt_sync_state_to_string (p->state));
  json_object_set_string_member (o, "direction", bkt_sync_state_direction (p->state));
  json_object_set_string_member (o, "label", state_label (p->state));
  json_object_set_boolean_member (o, "declared", p->manifest != NULL);
  json_object_set_boolean_member (o, "installed", p->live != NULL);
  if (p->base != NULL)
    {
      JsonObject *b = json_object_new ();

      json_object_set_boolean_member (b, "installed", p->base->value != NULL);
      if (p->base->command != NULL)
        json_object_set_string_member (b, "command", p->base->command);
      if (p->base->when != NULL)
        json_object_set_string_member (b, "when", p->base->when);
      json_object_set_object_member (o, "base", b);
    }
  else
    json_object_set_null_member (o, "base");
  json_object_set_string_member (o, "what", what);
  json_object_set_string_member (o, "next", next);
  return o;
}

/* The COPRs too: toolbox-packages.json's copr_repos against ONE `dnf
 * repolist --all` in the container (two-way: the state record keeps
 * packages only).  NULL, with a warning, if the container's dnf cannot
 * list them: the packages' diff still stands. */
static JsonArray *
diff_coprs (Target *t, View *v)
{
  g_autoptr(JsonArray) wanted = bkt_dev_manifest_coprs (v->manifests);
  g_autoptr(JsonArray) live = NULL;
  g_autoptr(GError) error = NULL;

  if (!bkt_dev_read_coprs (t, &live, &error))
    {
      g_printerr ("bkt: warning: the toolbox's COPR repos are unknown: %s\n", error->message);
      return NULL;
    }
  return bkt_dev_copr_diff (wanted, live);
}

int
bkt_dev_diff (Ctx *ctx, int argc, char **argv)
{
  g_auto(DevOptions) o = { 0 };
  const GOptionEntry entries[] = { CONTAINER_ENTRY (&o), { NULL } };
  g_auto(Target) t = { 0 };
  g_auto(View) v = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  JsonArray *differ = json_array_new ();
  g_autoptr(JsonArray) coprs = NULL;
  guint in_sync = 0;
  gboolean first_run;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    {
      json_array_unref (differ);
      return code;
    }
  json_object_set_array_member (out, "packages", differ);
  if (!bkt_dev_resolve_target (o.container, &t, &error) || !load_view (ctx, &t, NULL, &v, &error))
    return fail (error);
  coprs = diff_coprs (&t, &v);
  first_run = bkt_state_record_get_health (v.record) == BKT_RECORD_MISSING;
  for (guint i = 0; i < v.pkgs->len; i++)
    {
      Pkg *p = g_ptr_array_index (v.pkgs, i);

      if (p->state == BKT_SYNC_IN_SYNC)
        in_sync++;
      else
        json_array_add_object_element (differ, pkg_json (p));
    }
  /* The first look seeds what agrees now, as bkt status does on the host. */
  if (first_run && !seed (&v, "seed", &error))
    g_printerr ("bkt: warning: the toolbox's state record was not written: %s\n", error->message);
  json_object_set_string_member (out, "container", t.container);
  json_object_set_string_member (out, "record", bkt_state_record_get_path (v.record));
  json_object_set_boolean_member (out, "image_known", v.image_known);
  json_object_set_int_member (out, "in_sync", in_sync);
  if (coprs != NULL)
    json_object_set_array_member (out, "coprs", json_array_ref (coprs));
  else
    json_object_set_null_member (out, "coprs");
  if (bkt_state_record_get_warning (v.record) != NULL)
    json_object_set_string_member (out, "warning", bkt_state_record_get_warning (v.record));
  if (ctx->opt.json)
    {
      bkt_render_print_object (out);
      return EXIT_OK;
    }
  g_print ("Toolbox %s against toolbox-packages.json\n", t.container);
  for (guint i = 0; i < json_array_get_length (differ); i++)
    {
      JsonObject *p = json_array_get_object_element (differ, i);

      g_print ("  %-13s %-24s %s\n  %13s → %s\n", json_object_get_string_member (p, "label"),
               json_object_get_string_member (p, "name"), json_object_get_string_member (p, "what"), "",
               json_object_get_string_member (p, "next"));
    }
  for (guint i = 0; coprs != NULL && i < json_array_get_length (coprs); i++)
    {
      JsonObject *c = json_array_get_object_element (coprs, i);
      const char *state = json_object_get_string_member (c, "state");
      g_autofree char *target = g_strconcat ("copr:", json_object_get_string_member (c, "name"), NULL);

      g_print ("  %-13s %-24s %s\n  %13s → %s\n", g_str_equal (state, "untracked") ? "UNTRACKED"
                                                 : g_str_equal (state, "missing") ? "NOT ENABLED" : "TO DISABLE",
               target, json_object_get_string_member (c, "what"), "", json_object_get_string_member (c, "next"));
    }
  if (!v.image_known)
    g_print ("Packages installed by hand are not known: bkt did not create this toolbox, so its image's packages "
             "are not known (bkt dev update --rebuild recreates it).\n");
  if (bkt_state_record_get_warning (v.record) != NULL)
    g_print ("warning: %s\n", bkt_state_record_get_warning (v.record));
  g_print ("%u package(s) in sync, %u differ.\n", in_sync, json_array_get_length (differ));
  if (coprs != NULL && json_array_get_length (coprs) > 0)
    g_print ("%u COPR repo(s) differ.\n", json_array_get_length (coprs));
  return EXIT_OK;
}

/* ---- capture -------------------------------------------------------------------- */

/* @query names package @name: "NAME" or "package:NAME". */
static gboolean
names_pkg (const char *query, const char *name)
{
  return g_str_equal (query, name) || (g_str_has_prefix (query, "package:") && g_str_equal (query + 8, name));
}

/* Which packages a capture records (@adds) or forgets (@removes): those
 * changed in the toolbox since the base, and untracked ones only when
 * picked — the host's rule (docs/manifests.md). */
static gboolean
pick (View *v, char **select, gboolean all_untracked, GPtrArray *adds, GPtrArray *removes,
      GPtrArray *warnings, GError **error)
{
  g_autoptr(GString) left = g_string_new (NULL);
  guint n_left = 0;

  for (guint i = 0; select != NULL && select[i] != NULL; i++)
    {
      gboolean known = FALSE;

      for (guint j = 0; j < v->pkgs->len && !known; j++)
        known = names_pkg (select[i], ((Pkg *) g_ptr_array_index (v->pkgs, j))->name);
      if (!known)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "--select: no package “%s” in the toolbox or "
                            "in toolbox-packages.json (bkt dev diff lists them)", select[i]), FALSE;
    }
  for (guint i = 0; i < v->pkgs->len; i++)
    {
      Pkg *p = g_ptr_array_index (v->pkgs, i);
      gboolean picked = FALSE;
      gboolean capturable = p->state == BKT_SYNC_TO_CAPTURE || p->state == BKT_SYNC_UNTRACKED ||
                            p->state == BKT_SYNC_TWO_WAY;

      for (guint j = 0; select != NULL && select[j] != NULL && !picked; j++)
        picked = names_pkg (select[j], p->name);
      if (select != NULL && picked && !capturable)
        g_ptr_array_add (warnings, g_strdup_printf ("%s: nothing to capture (%s)", p->name,
                                                    bkt_sync_state_to_string (p->state)));
      if (!capturable || (select != NULL && !picked))
        continue;
      if (select == NULL && p->state == BKT_SYNC_UNTRACKED && !all_untracked)
        {
          g_string_append_printf (left, "%s%s", n_left++ ? ", " : "", p->name);
          continue;
        }
      g_ptr_array_add (p->live != NULL ? adds : removes, p->name);
    }
  if (n_left > 0)
    g_ptr_array_add (warnings, g_strdup_printf ("%u untracked package(s) left out: %s; pick them with bkt dev "
                                                "capture --select NAME[,NAME…] or take them all with "
                                                "--all-untracked", n_left, left->str));
  g_ptr_array_add (adds, NULL);
  g_ptr_array_add (removes, NULL);
  return TRUE;
}

static JsonObject *
capture_plan (GPtrArray *adds, GPtrArray *removes, GPtrArray *warnings)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonNode) node = NULL;

  for (guint i = 0; i + 1 < adds->len; i++)
    g_ptr_array_add (ops, bkt_packages_record_op ("toolbox", BKT_MANIFEST_TOOLBOX_PACKAGES, adds->pdata[i]));
  for (guint i = 0; i + 1 < removes->len; i++)
    g_ptr_array_add (ops, bkt_packages_forget_op ("toolbox", BKT_MANIFEST_TOOLBOX_PACKAGES, removes->pdata[i]));
  g_ptr_array_add (warnings, NULL);
  plan = bkt_plan_new ("capture", ops, (const char * const *) warnings->pdata);
  g_ptr_array_remove_index (warnings, warnings->len - 1);
  node = bkt_plan_to_json (plan);
  return json_object_ref (json_node_get_object (node));
}

int
bkt_dev_capture (Ctx *ctx, int argc, char **argv)
{
  g_auto(DevOptions) o = { 0 };
  gboolean all_untracked = FALSE;
  g_autofree char *select_opt = NULL;
  const GOptionEntry entries[] = {
    CONTAINER_ENTRY (&o),
    { "select", 0, 0, G_OPTION_ARG_STRING, &select_opt, "Record only these packages (comma-separated)", "NAMES" },
    { "all-untracked", 0, 0, G_OPTION_ARG_NONE, &all_untracked,
      "Record every package installed by hand too", NULL },
    { NULL }
  };
  g_auto(Target) t = { 0 };
  g_auto(View) v = { 0 };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) select = NULL;
  g_autoptr(GPtrArray) adds = g_ptr_array_new ();
  g_autoptr(GPtrArray) removes = g_ptr_array_new ();
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) plan = NULL;
  g_autofree char *path = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  select = bkt_cmd_split_list (select_opt);
  if (!bkt_dev_resolve_target (o.container, &t, &error) || !load_view (ctx, &t, NULL, &v, &error) ||
      !pick (&v, select, all_untracked, adds, removes, warnings, &error))
    return fail (error);
  plan = capture_plan (adds, removes, warnings);
  if (ctx->opt.dry_run || (adds->len == 1 && removes->len == 1))
    {
      bkt_render_plan (&ctx->render, plan);
      return EXIT_OK;
    }
  if (!ctx->opt.json)
    bkt_render_plan (&ctx->render, plan);
  /* Two atomic writes at most (additions, then removals) of one file. */
  if (adds->len > 1 && !bkt_dev_record (ctx, TRUE, (const char * const *) adds->pdata, &path, &error))
    return fail (error);
  if (removes->len > 1)
    {
      g_autofree char *again = NULL;

      if (!bkt_dev_record (ctx, FALSE, (const char * const *) removes->pdata, &again, &error))
        return fail (error);
      if (path == NULL)
        path = g_steal_pointer (&again);
    }
  bkt_dev_sync_after (ctx, &t, "dev-capture", (const char * const *) removes->pdata);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();

      json_object_set_string_member (out, "container", t.container);
      json_object_set_array_member (out, "recorded", bkt_dev_strv_to_json ((const char * const *) adds->pdata));
      json_object_set_array_member (out, "forgotten", bkt_dev_strv_to_json ((const char * const *) removes->pdata));
      json_object_set_string_member (out, "manifest", path);
      json_object_set_object_member (out, "plan", g_steal_pointer (&plan));
      bkt_render_print_object (out);
    }
  else
    g_print ("\nManifest:  %s\n", path);
  return EXIT_OK;
}
