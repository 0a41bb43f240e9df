/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "bkt-copr.h"
#include "bkt-dnf.h"
#include "bkt-error.h"
#include "bkt-packages.h"
#include "bkt-rpm-ostree-progress.h"
#include "bkt-spawn.h"

/* Manifest entries handled here:
 *
 *   system-packages.json  {"packages": [NAME, ...], ...}  (bare strings,
 *                         read as {"name": NAME} by bkt-manifest)
 *
 * Targets are "package:NAME".  rpm-ostree is run through its CLI, not its
 * D-Bus API (org.projectatomic.rpmostree1): the CLI is the interface the
 * distribution documents and keeps stable, it already handles the
 * transaction, its client-side locking and --idempotent, and one argv is
 * what the tests' double can check exactly.  Its progress comes from the
 * phases it prints (bkt-rpm-ostree-progress.c), relayed as they happen. */

#define SUBSYSTEM_NAME "dnf"
#define OUTPUT_TAIL    2000
#define OUTPUT_TAIL_LINES 12
#define MAX_SUGGESTIONS 3

struct _BktDnf
{
  GObject    parent_instance;
  gboolean   loaded;
  /* FALSE when there is no rpm-ostree to ask (not an image-based system):
   * then there is nothing to plan, only a warning when packages are
   * declared. */
  gboolean   available;
  char      *unavailable_reason;
  char     **booted;    /* requested-packages of the booted deployment, sorted */
  char     **staged;    /* of the staged deployment, or NULL if none */
  JsonArray *coprs;     /* the COPR repo files, bkt_copr_scan() */
};

static void bkt_dnf_subsystem_init (BktSubsystemInterface *iface);

G_DEFINE_TYPE_WITH_CODE (BktDnf, bkt_dnf, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (BKT_TYPE_SUBSYSTEM, bkt_dnf_subsystem_init))

static void
bkt_dnf_finalize (GObject *object)
{
  BktDnf *self = BKT_DNF (object);

  g_free (self->unavailable_reason);
  g_strfreev (self->booted);
  g_strfreev (self->staged);
  g_clear_pointer (&self->coprs, json_array_unref);
  G_OBJECT_CLASS (bkt_dnf_parent_class)->finalize (object);
}

static void
bkt_dnf_class_init (BktDnfClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_dnf_finalize;
}

static void
bkt_dnf_init (BktDnf *self)
{
}

BktSubsystem *
bkt_dnf_new (void)
{
  return BKT_SUBSYSTEM (g_object_new (BKT_TYPE_DNF, NULL));
}

/* Live state                                                                */

typedef struct {
  GPtrArray            *ops;   /* to report progress on, or NULL */
  BktExecContext       *ctx;
  BktRpmOstreeProgress  progress;
} Relay;

static void
on_stdout (gpointer user_data, const char *data, gsize len)
{
  Relay *r = user_data;

  if (r->ops == NULL || !bkt_rpm_ostree_progress_feed (&r->progress, data, len))
    return;
  for (guint i = 0; i < r->ops->len; i++)
    bkt_exec_context_progress (r->ctx, g_ptr_array_index (r->ops, i), r->progress.fraction, r->progress.detail);
}

/* Runs @argv (never through a shell), returning its stdout, and relays
 * rpm-ostree's phases as progress of @ops while it runs when @ops is not
 * NULL.  Cancelling @cancellable kills the child: a cancelled transaction
 * must not leave an rpm-ostree running on its behalf. */
static char *
run_argv (const char * const *argv, GPtrArray *ops, BktExecContext *ctx, GCancellable *cancellable,
          GError **error)
{
  BktSpawnSpec spec = {
    .argv = argv,
    .progress_fd = -1,
    .on_stdout = on_stdout,
    .cancel_signal = SIGKILL,
  };
  BktSpawnResult result = { 0 };
  Relay relay = { ops, ctx, { { 0 } } };
  char *out = NULL;

  bkt_rpm_ostree_progress_init (&relay.progress);
  spec.user_data = &relay;
  if (bkt_spawn_run (&spec, cancellable, &result, error) && bkt_spawn_check (argv, &result, cancellable, error))
    out = g_steal_pointer (&result.out);
  bkt_rpm_ostree_progress_clear (&relay.progress);
  bkt_spawn_result_clear (&result);
  return out;
}

static const char *
bkt_dnf_get_name (BktSubsystem *subsystem)
{
  return SUBSYSTEM_NAME;
}

static gboolean
bkt_dnf_load_live (BktSubsystem *subsystem, GCancellable *cancellable, GError **error)
{
  BktDnf *self = BKT_DNF (subsystem);
  const char *rpm_ostree = bkt_packages_rpm_ostree ();
  const char *argv[] = { rpm_ostree, "status", "--json", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) local_error = NULL;

  if (self->loaded)
    return TRUE;
  self->loaded = TRUE;
  /* Repo files are read on every system, rpm-ostree or not: a COPR is a
   * dnf repo before it is anything to rpm-ostree. */
  self->coprs = bkt_copr_scan (bkt_copr_repos_dir ());
  /* Not an error: most machines bkt's tests (and a toolbox) run on have no
   * rpm-ostree, and the other subsystems must still work there. */
  if (!g_file_test (rpm_ostree, G_FILE_TEST_IS_EXECUTABLE))
    {
      self->unavailable_reason = g_strdup_printf ("%s is not installed (not an rpm-ostree system)", rpm_ostree);
      return TRUE;
    }
  out = run_argv (argv, NULL, NULL, cancellable, &local_error);
  if (out != NULL)
    self->booted = bkt_packages_parse_status (out, -1, &self->staged, &local_error);
  if (self->booted == NULL)
    {
      if (g_error_matches (local_error, BKT_ERROR, BKT_ERROR_CANCELLED))
        return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
      /* Like a missing rpm-ostree: one broken subsystem must not take
       * status and apply of all the others down with it.  Plans carry the
       * reason as a warning and changes are refused with it. */
      self->unavailable_reason = g_strdup_printf ("rpm-ostree status failed: %s", local_error->message);
      return TRUE;
    }
  self->available = TRUE;
  return TRUE;
}

/* What the next boot will have: the staged deployment's packages if one is
 * pending (it already includes the booted ones still requested), else the
 * booted one's.  Installing what is staged is not drift: it needs a reboot,
 * not another deployment. */
static const char * const *
effective (BktDnf *self)
{
  return (const char * const *) (self->staged != NULL ? self->staged : self->booted);
}

/* The manifest's package names (borrowed from it), in its (sorted) order. */
static GPtrArray *
manifest_names (BktManifestSet *manifests)
{
  BktManifest *m = bkt_manifest_set_get (manifests, BKT_MANIFEST_SYSTEM_PACKAGES);
  JsonArray *entries = bkt_manifest_get_entries (m);
  GPtrArray *names = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *n = json_array_get_element (entries, i);
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        g_ptr_array_add (names, (gpointer) json_node_get_string (n));
    }
  return names;
}

static gboolean
names_contain (GPtrArray *names, const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (g_str_equal (g_ptr_array_index (names, i), name))
      return TRUE;
  return FALSE;
}

static BktOperation *
new_package_op (const char *name, gboolean install, gboolean apply_live)
{
  g_autoptr(JsonObject) details = json_object_new ();
  g_autofree char *target = g_strconcat ("package:", name, NULL);
  g_autofree char *summary = NULL;

  json_object_set_string_member (details, "name", name);
  json_object_set_boolean_member (details, "apply_live", apply_live);
  summary = g_strdup_printf ("%s %s (rpm-ostree%s)", install ? "Layer" : "Remove layered", target,
                             apply_live ? ", applied live" : ", reboot required");
  return bkt_operation_new (SUBSYSTEM_NAME, install ? "install" : "uninstall", target, BKT_SCOPE_SYSTEM,
                            apply_live ? BKT_EFFECT_LIVE : BKT_EFFECT_REBOOT, summary, details);
}

static void
warn_unavailable (BktDnf *self, BktManifestSet *manifests, GPtrArray *warnings)
{
  g_autoptr(GPtrArray) names = manifest_names (manifests);

  if (names->len > 0)
    g_ptr_array_add (warnings, g_strdup_printf ("dnf: %u declared package(s) not checked: %s",
                                                names->len, self->unavailable_reason));
}

static gboolean
bkt_dnf_plan_apply (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                    GPtrArray *warnings, GError **error)
{
  BktDnf *self = BKT_DNF (subsystem);
  g_autoptr(GPtrArray) names = NULL;

  /* Repos first: a package may come from one of them. */
  bkt_copr_plan_apply (self->coprs, bkt_manifest_set_get (manifests, BKT_MANIFEST_SYSTEM_PACKAGES), ops);
  if (!self->available)
    {
      warn_unavailable (self, manifests, warnings);
      return TRUE;
    }
  names = manifest_names (manifests);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *why = bkt_manifest_check_package_name (name);

      /* The manifest loader checked already; kept so that no name from a
       * file can ever reach rpm-ostree's argv unchecked. */
      if (why != NULL)
        continue;
      if (!g_strv_contains (effective (self), name))
        g_ptr_array_add (ops, new_package_op (name, TRUE, FALSE));
    }
  return TRUE;
}

static gboolean
bkt_dnf_plan_capture (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                      GPtrArray *warnings, GError **error)
{
  BktDnf *self = BKT_DNF (subsystem);
  g_autoptr(GPtrArray) names = NULL;

  bkt_copr_plan_capture (self->coprs, bkt_manifest_set_get (manifests, BKT_MANIFEST_SYSTEM_PACKAGES), ops);
  if (!self->available)
    {
      warn_unavailable (self, manifests, warnings);
      return TRUE;
    }
  names = manifest_names (manifests);
  /* What the next boot requests, as apply and items() compare: a package
   * removed by hand (staged without it) is not recorded back. */
  for (guint i = 0; effective (self)[i] != NULL; i++)
    {
      const char *name = effective (self)[i];
      g_autofree char *why = bkt_manifest_check_package_name (name);

      if (!names_contain (names, name) && why == NULL)
        g_ptr_array_add (ops, bkt_packages_record_op (SUBSYSTEM_NAME, BKT_MANIFEST_SYSTEM_PACKAGES, name));
    }
  /* A package the manifest declares but the system dropped is forgotten
   * only when the state record says bkt layered it and it was removed
   * here since (bkt-sync.c keeps the operation only then: "needs_base");
   * otherwise it is more likely a layering that never happened. */
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *target = NULL, *summary = NULL;

      if (g_strv_contains (effective (self), name))
        continue;
      target = g_strconcat ("package:", name, NULL);
      summary = g_strdup_printf ("Forget %s (removed on this machine) in %s", target,
                                 bkt_manifest_kind_file_name (BKT_MANIFEST_SYSTEM_PACKAGES));
      g_ptr_array_add (ops, bkt_operation_new_forget_removed_here (SUBSYSTEM_NAME, BKT_MANIFEST_SYSTEM_PACKAGES,
                                                                   target, summary, name));
    }
  return TRUE;
}

/* Three-way classification: "layered" when the next boot requests the
 * package (what apply compares), on each side; NULL = absent. */
static gboolean
bkt_dnf_items (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *items, GError **error)
{
  BktDnf *self = BKT_DNF (subsystem);
  g_autoptr(GPtrArray) names = NULL;

  if (!self->available)
    return TRUE;
  names = manifest_names (manifests);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *target = g_strconcat ("package:", name, NULL);

      g_ptr_array_add (items, bkt_item_new (target, BKT_SCOPE_SYSTEM, "layered",
                                            g_strv_contains (effective (self), name) ? "layered" : NULL,
                                            BKT_MANIFEST_SYSTEM_PACKAGES, name));
    }
  for (guint i = 0; effective (self)[i] != NULL; i++)
    {
      const char *name = effective (self)[i];
      g_autofree char *target = NULL;

      if (names_contain (names, name))
        continue;
      target = g_strconcat ("package:", name, NULL);
      g_ptr_array_add (items, bkt_item_new (target, BKT_SCOPE_SYSTEM, NULL, "layered",
                                            BKT_MANIFEST_SYSTEM_PACKAGES, NULL));
    }
  return TRUE;
}

/* apply --prune of a package bkt layered: its removal (next boot). */
static BktOperation *
bkt_dnf_plan_prune (BktSubsystem *subsystem, const char *target, BktScope scope, char **live)
{
  BktDnf *self = BKT_DNF (subsystem);
  const char *name = g_str_has_prefix (target, "package:") ? target + strlen ("package:") : NULL;

  g_autofree char *why = name != NULL ? bkt_manifest_check_package_name (name) : NULL;

  if (!self->available || name == NULL || why != NULL || scope != BKT_SCOPE_SYSTEM ||
      !g_strv_contains (effective (self), name))
    return NULL;
  *live = g_strdup ("layered");
  return new_package_op (name, FALSE, FALSE);
}

/* Changes                                                                   */

static gboolean
bool_arg (GVariant *arguments, const char *name, gboolean *out, GError **error)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (arguments, name, NULL);

  *out = FALSE;
  if (value == NULL)
    return TRUE;
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "argument “%s” must be a boolean", name),
           FALSE;
  *out = g_variant_get_boolean (value);
  return TRUE;
}

/* The COPR project of @name's repos if every repo that has it is a COPR
 * that copr_repos does not list (so the image, built from the manifest,
 * would not find it), else NULL. */
static char *
only_in_untracked_copr (GPtrArray *repos, BktManifest *m)
{
  g_autofree char *untracked = NULL;

  for (guint i = 0; i < repos->len; i++)
    {
      const char *id = g_ptr_array_index (repos, i);
      g_autofree char *copr = NULL;

      if (!g_str_has_prefix (id, "copr:"))
        return NULL;
      copr = bkt_copr_name_from_repo_id (id);
      if (copr != NULL && bkt_manifest_lookup_in (m, BKT_MANIFEST_COPR_MEMBER, copr) != NULL)
        return NULL;
      if (untracked == NULL)
        untracked = copr != NULL ? g_steal_pointer (&copr) : g_strdup (id);
    }
  return g_steal_pointer (&untracked);
}

/* ONE repoquery for all @names; a miss is an error naming every unknown
 * package, with close names from the repos when there are any.  A
 * package that only an untracked COPR has is refused with the fix, when
 * there is a manifest @m to compare with (NULL: the system instance's
 * Admin call, which knows no manifest; the session has checked). */
static gboolean
check_exist (const char * const *names, BktManifest *m, GError **error)
{
  g_autofree char *dnf = bkt_packages_find_dnf (error);
  g_autofree char *logdir = bkt_packages_dnf_logdir_option ();
  const char *prefix[] = { dnf, logdir, NULL };
  g_autoptr(GHashTable) found = NULL;
  g_autoptr(GError) local_error = NULL;

  if (dnf == NULL)
    return g_prefix_error (error, "cannot check that the packages exist (--force skips the check): "), FALSE;
  if (!bkt_packages_check_exist (prefix, names, MAX_SUGGESTIONS, &found, NULL, &local_error))
    {
      if (!g_error_matches (local_error, BKT_ERROR, BKT_ERROR_NOT_FOUND))
        g_prefix_error (&local_error, "cannot check that the packages exist (--force skips the check): ");
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  for (guint i = 0; m != NULL && names[i] != NULL; i++)
    {
      g_autofree char *copr = only_in_untracked_copr (g_hash_table_lookup (found, names[i]), m);

      if (copr != NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "%s is only in COPR %s, which the manifest does not track: "
                            "run `bkt dnf copr enable %s` first", names[i], copr, copr), FALSE;
    }
  return TRUE;
}

static gboolean
bkt_dnf_plan_change (BktSubsystem *subsystem, BktManifestSet *manifests, const char *action,
                     GVariant *arguments, GPtrArray *ops, GError **error)
{
  BktDnf *self = BKT_DNF (subsystem);
  g_autoptr(GVariant) value = NULL;
  g_autofree const char **names = NULL;
  g_autoptr(GPtrArray) tracked = NULL;
  gboolean add, now, force;

  if (arguments == NULL || !g_variant_is_of_type (arguments, G_VARIANT_TYPE_VARDICT))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "arguments must be a dictionary (a{sv})"),
           FALSE;
  if (g_strcmp0 (action, "copr-enable") == 0 || g_strcmp0 (action, "copr-disable") == 0
      || g_strcmp0 (action, "copr-remove") == 0)
    return bkt_copr_plan_change (self->coprs, bkt_manifest_set_get (manifests, BKT_MANIFEST_SYSTEM_PACKAGES),
                                 action, arguments, ops, error);
  if (g_strcmp0 (action, "add") != 0 && g_strcmp0 (action, "remove") != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                        "subsystem dnf has no such action (add, remove, copr-enable, copr-disable, copr-remove)"),
           FALSE;
  add = g_str_equal (action, "add");
  value = g_variant_lookup_value (arguments, "packages", NULL);
  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "argument “packages” (as) is required"),
           FALSE;
  if (!bool_arg (arguments, "now", &now, error) || !bool_arg (arguments, "force", &force, error))
    return FALSE;
  /* rpm-ostree applies only additions live: its uninstall has no
   * --apply-live (an unknown option there), so a removal waits for the
   * next boot, and saying otherwise would be a lie. */
  if (!add && now)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                        "rpm-ostree cannot remove packages live (uninstall has no --apply-live): remove them "
                        "without --now; the removal takes effect at the next boot"), FALSE;
  names = g_variant_get_strv (value, NULL);

  /* Names first, before any process: "-rf" must never reach dnf. */
  if (!bkt_packages_check_names (names, error))
    return FALSE;
  for (guint i = 0; names[i] != NULL; i++)
    for (guint j = 0; j < i; j++)
      if (g_str_equal (names[i], names[j]))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "package “%s” is given twice", names[i]),
               FALSE;
  /* Content sets (no write dir) are the system instance's: no manifest. */
  if (add && !force
      && !check_exist (names, bkt_manifest_set_get_write_dir (manifests) != NULL
                              ? bkt_manifest_set_get (manifests, BKT_MANIFEST_SYSTEM_PACKAGES) : NULL, error))
    return FALSE;
  if (!self->available)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "cannot layer packages: %s",
                        self->unavailable_reason), FALSE;

  tracked = manifest_names (manifests);
  if (!add)
    for (guint i = 0; names[i] != NULL; i++)
      if (!g_strv_contains (effective (self), names[i]) && !names_contain (tracked, names[i]))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "package “%s” is neither layered nor in the manifests", names[i]), FALSE;

  /* Live operations first (executed as one rpm-ostree call), then the
   * manifest edits, which the engine only makes for what succeeded. */
  for (guint i = 0; names[i] != NULL; i++)
    {
      gboolean layered = g_strv_contains (effective (self), names[i]);
      if (add != layered)
        g_ptr_array_add (ops, new_package_op (names[i], add, now));
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (add)
        g_ptr_array_add (ops, bkt_packages_record_op (SUBSYSTEM_NAME, BKT_MANIFEST_SYSTEM_PACKAGES, names[i]));
      else if (names_contain (tracked, names[i]))
        g_ptr_array_add (ops, bkt_packages_forget_op (SUBSYSTEM_NAME, BKT_MANIFEST_SYSTEM_PACKAGES, names[i]));
    }
  return TRUE;
}

/* Status                                                                    */

static JsonObject *
bkt_dnf_status (BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  BktDnf *self = BKT_DNF (subsystem);
  g_autoptr(JsonObject) st = json_object_new ();
  g_autoptr(GPtrArray) names = manifest_names (manifests);
  JsonArray *untracked = json_array_new ();
  JsonArray *missing = json_array_new ();
  JsonArray *entries = json_array_new ();
  JsonArray *layered = json_array_new ();
  guint in_sync = 0;

  json_object_set_boolean_member (st, "available", self->available);
  if (!self->available)
    json_object_set_string_member (st, "reason", self->unavailable_reason);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      JsonObject *e = json_object_new ();
      g_autofree char *target = g_strconcat ("package:", name, NULL);
      const char *state;

      if (!self->available)
        state = "unknown";
      else if (g_strv_contains ((const char * const *) self->booted, name)
               && (self->staged == NULL || g_strv_contains ((const char * const *) self->staged, name)))
        state = "layered", in_sync++;
      else if (g_strv_contains (effective (self), name))
        state = "pending-reboot", in_sync++;
      else
        {
          state = "missing";
          json_array_add_string_element (missing, name);
        }
      json_object_set_string_member (e, "name", name);
      json_object_set_string_member (e, "target", target);
      json_object_set_string_member (e, "state", state);
      json_array_add_object_element (entries, e);
    }
  for (guint i = 0; self->available && self->booted[i] != NULL; i++)
    {
      json_array_add_string_element (layered, self->booted[i]);
      if (!names_contain (names, self->booted[i]))
        {
          JsonObject *o = json_object_new ();
          g_autofree char *target = g_strconcat ("package:", self->booted[i], NULL);
          g_autofree char *summary = g_strdup_printf ("Layered package %s, not in the manifest", self->booted[i]);

          json_object_set_string_member (o, "target", target);
          json_object_set_string_member (o, "summary", summary);
          json_object_set_string_member (o, "name", self->booted[i]);
          json_array_add_object_element (untracked, o);
        }
    }
  json_object_set_int_member (st, "tracked", names->len);
  json_object_set_int_member (st, "in_sync", in_sync);
  json_object_set_array_member (st, "untracked", untracked);
  json_object_set_array_member (st, "missing", missing);
  json_object_set_array_member (st, "entries", entries);
  json_object_set_array_member (st, "layered", layered);
  json_object_set_boolean_member (st, "staged", self->staged != NULL);
  json_object_set_array_member (st, "copr", bkt_copr_status (self->coprs,
                                                             bkt_manifest_set_get (manifests, BKT_MANIFEST_SYSTEM_PACKAGES)));
  /* A staged deployment is what a reboot brings; until then the booted
   * system does not have its packages. */
  json_object_set_boolean_member (st, "reboot_required", self->staged != NULL);
  return g_steal_pointer (&st);
}

/* Execution                                                                 */

/* ONE rpm-ostree call for @ops (all install or all uninstall). */
/* What the next boot requests, read again after a change: the staged
 * deployment's requested packages if one is pending, else the booted one's. */
static GStrv
read_next_boot (GCancellable *cancellable, GError **error)
{
  const char *argv[] = { bkt_packages_rpm_ostree (), "status", "--json", NULL };
  g_autofree char *out = run_argv (argv, NULL, NULL, cancellable, error);
  g_auto(GStrv) booted = NULL;
  g_auto(GStrv) staged = NULL;

  if (out == NULL)
    return NULL;
  booted = bkt_packages_parse_status (out, -1, &staged, error);
  if (booted == NULL)
    return NULL;
  return staged != NULL ? g_steal_pointer (&staged) : g_steal_pointer (&booted);
}

/* Did rpm-ostree do what it said?  An install is done when the next boot
 * requests the package, a removal when it no longer does. */
static GError *
verify_op (BktOperation *op, gboolean install, GStrv next_boot, const GError *read_error)
{
  const char *name = bkt_operation_get_detail_string (op, "name");

  if (next_boot == NULL)
    return g_error_new (BKT_ERROR, BKT_ERROR_FAILED, "rpm-ostree reported success, but its status could not be "
                        "read back to verify it: %s", read_error != NULL ? read_error->message : "no status");
  if (install != g_strv_contains ((const char * const *) next_boot, name))
    return g_error_new (BKT_ERROR, BKT_ERROR_FAILED,
                        install ? "rpm-ostree reported success, but the next boot does not request %s"
                                : "rpm-ostree reported success, but the next boot still requests %s", name);
  return NULL;
}

/* One rpm-ostree call for @ops (all installs or all removals); its error
 * (NULL: rpm-ostree said it worked) for report_batch. */
static GError *
run_batch (GPtrArray *ops, gboolean install, BktExecContext *ctx, GCancellable *cancellable)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_auto(GStrv) argv = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  gboolean apply_live = FALSE;

  if (ops->len == 0)
    return NULL;
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      g_ptr_array_add (names, (gpointer) bkt_operation_get_detail_string (op, "name"));
      /* One call cannot be live for some packages only; a change asks for
       * all or none. */
      apply_live |= json_object_get_boolean_member_with_default (bkt_operation_get_details (op),
                                                                  "apply_live", FALSE);
      bkt_exec_context_progress (ctx, op, 0.0, "rpm-ostree");
    }
  g_ptr_array_add (names, NULL);

  /* Checked again here, in the privileged process, whatever planned it. */
  if (!bkt_packages_check_names ((const char * const *) names->pdata, &error))
    goto report;
  argv = bkt_packages_rpm_ostree_argv (bkt_packages_rpm_ostree (), install,
                                       (const char * const *) names->pdata, apply_live);
  out = run_argv ((const char * const *) argv, ops, ctx, cancellable, &error);
  if (out != NULL && *out != '\0')
    {
      /* The summary after the phases: "Added: …", "Changes queued for
       * next boot …". */
      g_autofree char *t = bkt_spawn_tail (out, OUTPUT_TAIL_LINES, OUTPUT_TAIL);
      bkt_exec_context_message (ctx, "%s", t);
    }

report:
  return g_steal_pointer (&error);
}

/* Each operation's result: rpm-ostree's error, or whether the next boot
 * (@after, read once for the plan) shows its effect. */
static void
report_batch (GPtrArray *ops, gboolean install, const GError *error, GStrv after, const GError *after_error,
              BktExecContext *ctx)
{
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      g_autoptr(GError) unverified = NULL;

      if (error == NULL)
        unverified = verify_op (op, install, after, after_error);
      if (error == NULL && unverified == NULL)
        bkt_exec_context_progress (ctx, op, 1.0, NULL);
      bkt_exec_context_op_done (ctx, op, error != NULL ? error : unverified);
    }
}

static gboolean
bkt_dnf_execute (BktSubsystem *subsystem, GPtrArray *ops, BktExecContext *ctx,
                 GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) installs = g_ptr_array_new ();
  g_autoptr(GPtrArray) uninstalls = g_ptr_array_new ();
  g_autoptr(GError) rm_error = NULL, in_error = NULL, after_error = NULL;
  g_auto(GStrv) after = NULL;
  gboolean cancelled;

  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *action = bkt_operation_get_action (op);

      /* Repo files first and one by one: they are quick, and the
         * packages may come from them. */
      if (bkt_copr_is_copr_op (op))
        bkt_copr_execute (op, ctx);
      else if (g_str_equal (action, "install"))
        g_ptr_array_add (installs, op);
      else if (g_str_equal (action, "uninstall"))
        g_ptr_array_add (uninstalls, op);
      else
        {
          g_autoptr(GError) e = g_error_new (BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "dnf: unknown action “%s”", action);
          bkt_exec_context_op_done (ctx, op, e);
        }
    }
  /* Removals first: a swap (remove A, add B) must not fail on a conflict
   * between A and B. */
  rm_error = run_batch (uninstalls, FALSE, ctx, cancellable);
  cancelled = g_cancellable_is_cancelled (cancellable);
  if (!cancelled)
    in_error = run_batch (installs, TRUE, ctx, cancellable);
  /* ✓ only after the effect is verified: the deployments read once more
   * for the whole plan, if rpm-ostree said anything worked. */
  if ((uninstalls->len > 0 && rm_error == NULL) || (installs->len > 0 && in_error == NULL && !cancelled))
    after = read_next_boot (NULL, &after_error);
  report_batch (uninstalls, FALSE, rm_error, after, after_error, ctx);
  if (cancelled)
    return g_cancellable_set_error_if_cancelled (cancellable, error), FALSE;
  report_batch (installs, TRUE, in_error, after, after_error, ctx);
  return TRUE;
}

static void
bkt_dnf_subsystem_init (BktSubsystemInterface *iface)
{
  iface->get_name = bkt_dnf_get_name;
  iface->load_live = bkt_dnf_load_live;
  iface->plan_apply = bkt_dnf_plan_apply;
  iface->plan_capture = bkt_dnf_plan_capture;
  iface->plan_change = bkt_dnf_plan_change;
  iface->status = bkt_dnf_status;
  iface->execute = bkt_dnf_execute;
  iface->items = bkt_dnf_items;
  iface->plan_prune = bkt_dnf_plan_prune;
}
