/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-admin-ops.h"
#include "bkt-auth.h"
#include "bkt-bootc.h"
#include "bkt-copr.h"
#include "bkt-daemon.h"
#include "bkt-daemon-private.h"
#include "bkt-dbus-generated.h"
#include "bkt-error.h"
#include "bkt-git.h"
#include "bkt-packages.h"
#include "bkt-pr.h"
#include "bkt-pr-maint.h"
#include "bkt-systemd.h"
#include "bkt-transaction.h"

#define BKT_OBJECT_PATH "/org/bkt/Daemon1"
/* Content sent to the system instance; bigger is abuse, not a manifest. */
#define BKT_MAX_CONTENT (4 * 1024 * 1024)

struct _BktDaemon
{
  GObject          parent_instance;
  BktInstance      instance;
  GDBusConnection *connection;
  BktDBusManager  *manager;
  BktDBusAdmin    *admin;         /* system instance only */
  BktAuth         *auth;          /* system instance only */
  GHashTable      *transactions;  /* path → BktTransaction, until they expire */
  BktTransaction  *active;        /* the one mutating transaction, or NULL */

  guint            idle_timeout;
  guint            idle_id;
  guint            n_calls;       /* method calls being handled */
};

enum { SIGNAL_IDLE, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (BktDaemon, bkt_daemon, G_TYPE_OBJECT)

/* Per method: its name (logs), its polkit action and its transaction. */
typedef struct {
  const char *method;
  const char *action_id;   /* polkit, system instance */
  const char *tx_kind;     /* NULL: replies with JSON, no transaction */
} RequestInfo;

static const RequestInfo request_info[] = {
  [REQ_STATUS]            = { "Status",           "org.bkt.status",  NULL },
  [REQ_PLAN]              = { "Plan",             "org.bkt.plan",    NULL },
  [REQ_APPLY]             = { "Apply",            "org.bkt.apply",   "apply" },
  [REQ_CAPTURE_PLAN]      = { "CapturePlan",      "org.bkt.capture", NULL },
  [REQ_CAPTURE]           = { "Capture",          "org.bkt.capture", "capture" },
  [REQ_CHANGE_PLAN]       = { "ChangePlan",       NULL,              NULL },
  [REQ_CHANGE]            = { "Change",           NULL,              "change" },
  [REQ_FLATPAK_INSTALL]   = { "FlatpakInstall",   "org.bkt.flatpak", "flatpak-install" },
  [REQ_FLATPAK_UNINSTALL] = { "FlatpakUninstall", "org.bkt.flatpak", "flatpak-uninstall" },
  [REQ_PACKAGES_INSTALL]  = { "PackagesInstall",  "org.bkt.packages", "packages-install" },
  [REQ_PACKAGES_UNINSTALL] = { "PackagesUninstall", "org.bkt.packages", "packages-uninstall" },
  [REQ_COPR_ENABLE]       = { "CoprEnable",       "org.bkt.packages", "copr-enable" },
  [REQ_COPR_DISABLE]      = { "CoprDisable",      "org.bkt.packages", "copr-disable" },
  [REQ_COPR_REMOVE]       = { "CoprRemove",       "org.bkt.packages", "copr-remove" },
  [REQ_LOCAL_LIST]        = { "LocalList",        NULL,              NULL },
  [REQ_LOCAL_COMMIT]      = { "LocalCommit",      NULL,              "local-commit" },
  [REQ_PR_RETRY]          = { "PrRetry",          NULL,              "pr-retry" },
  [REQ_BOOTC_STATUS]      = { "BootcStatus",      "org.bkt.admin.bootc.status",  NULL },
  [REQ_BOOTC_UPGRADE]     = { "BootcUpgrade",     "org.bkt.admin.bootc.upgrade", "bootc-upgrade" },
  [REQ_BOOTC_ROLLBACK]    = { "BootcRollback",    "org.bkt.admin.bootc.rollback", "bootc-rollback" },
  [REQ_BOOTC_SWITCH]      = { "BootcSwitch",      "org.bkt.admin.bootc.switch",  "bootc-switch" },
  [REQ_SYSTEMCTL_STATUS]  = { "SystemctlStatus",  "org.bkt.admin.systemctl.status", NULL },
  [REQ_SYSTEMCTL_MANAGE]  = { "SystemctlManage",  "org.bkt.admin.systemctl.manage", "systemctl" },
};

/* Bounds on what a client may hand us for the PR's text. */
const char *
bkt_daemon_request_tx_kind (RequestKind kind)
{
  return request_info[kind].tx_kind;
}

#define BKT_MAX_COMMAND 1024

void
bkt_daemon_request_free (Request *r)
{
  g_clear_object (&r->daemon);
  g_clear_object (&r->invocation);
  g_strfreev (r->only);
  g_strfreev (r->exclude);
  g_free (r->manifests_dir);
  g_free (r->image_manifests_dir);
  g_free (r->content);
  g_free (r->subsystem);
  g_free (r->action);
  g_free (r->target);
  g_free (r->repo_dir);
  g_free (r->cwd);
  g_free (r->command);
  g_clear_pointer (&r->ids, g_array_unref);
  g_clear_pointer (&r->preview, json_object_unref);
  g_clear_pointer (&r->preflight, json_object_unref);
  g_clear_pointer (&r->queue, json_object_unref);
  g_strfreev (r->details);
  g_strfreev (r->units);
  g_clear_pointer (&r->arguments, g_variant_unref);
  g_clear_object (&r->manifests);
  g_clear_object (&r->engine);
  g_clear_object (&r->plan);
  g_clear_pointer (&r->status, json_object_unref);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, bkt_daemon_request_free)

/* ---- idle exit ------------------------------------------------------------ */

static gboolean on_idle_timeout (gpointer user_data);

static void
idle_rearm (BktDaemon *self)
{
  g_clear_handle_id (&self->idle_id, g_source_remove);
  if (self->idle_timeout > 0)
    self->idle_id = g_timeout_add_seconds (self->idle_timeout, on_idle_timeout, self);
}

static gboolean
on_idle_timeout (gpointer user_data)
{
  BktDaemon *self = user_data;

  self->idle_id = 0;
  /* Busy with a call or a transaction: look again later rather than exit
   * under a client's feet. */
  if (self->n_calls > 0 || self->active != NULL)
    {
      idle_rearm (self);
      return G_SOURCE_REMOVE;
    }
  g_message ("no clients for %u seconds, exiting", self->idle_timeout);
  g_signal_emit (self, signals[SIGNAL_IDLE], 0);
  return G_SOURCE_REMOVE;
}

static void
call_begin (BktDaemon *self)
{
  self->n_calls++;
  idle_rearm (self);
}

static void
call_end (BktDaemon *self)
{
  g_assert (self->n_calls > 0);
  self->n_calls--;
  idle_rearm (self);
}

/* ---- options ---------------------------------------------------------------- */

static gboolean
parse_options (Request *r, GVariant *options, GError **error)
{
  GVariantIter iter;
  gboolean system = r->daemon->instance == BKT_INSTANCE_SYSTEM;

  g_variant_iter_init (&iter, options);
  for (;;)
    {
      /* Not g_variant_iter_loop(): returning from its loop leaks. */
      g_autoptr(GVariant) entry = g_variant_iter_next_value (&iter);
      g_autoptr(GVariant) value = NULL;
      const char *key;

      if (entry == NULL)
        break;
      g_variant_get (entry, "{&sv}", &key, &value);
      if ((g_str_equal (key, "only") || g_str_equal (key, "exclude")) &&
          g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        {
          GStrv *dest = g_str_equal (key, "only") ? &r->only : &r->exclude;
          g_strfreev (*dest);
          *dest = g_variant_dup_strv (value, NULL);
          if (!bkt_engine_check_subsystem_names (*dest, error))
            return FALSE;
        }
      else if (g_str_equal (key, "manifests-dir") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          if (system)
            return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                        "the system instance never reads a path: send the "
                                        "system-scope manifests as content in \"manifest\""), FALSE;
          g_free (r->manifests_dir);
          r->manifests_dir = g_variant_dup_string (value, NULL);
          if (!g_path_is_absolute (r->manifests_dir))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"manifests-dir\" must be an absolute path, not “%s”",
                                r->manifests_dir), FALSE;
        }
      else if (g_str_equal (key, "image-manifests-dir") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          /* The staged image's manifests as the lower layer: what `bkt
           * apply` will do after the next boot (bkt upgrade). */
          if (system)
            return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                        "the system instance never reads a path: send the "
                                        "system-scope manifests as content in \"manifest\""), FALSE;
          g_free (r->image_manifests_dir);
          r->image_manifests_dir = g_variant_dup_string (value, NULL);
          if (!g_path_is_absolute (r->image_manifests_dir))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"image-manifests-dir\" must be an absolute path, not “%s”",
                                r->image_manifests_dir), FALSE;
        }
      else if (g_str_equal (key, "manifest") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          gsize len = 0;
          const char *s = g_variant_get_string (value, &len);

          if (!system)
            return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                        "\"manifest\" is only for the system instance; the "
                                        "session instance reads the layered manifests"), FALSE;
          /* Refused before parsing and before polkit: an oversized request
           * costs nothing but this comparison. */
          if (len > BKT_MAX_CONTENT)
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"manifest\" is %" G_GSIZE_FORMAT " bytes; at most %d are accepted",
                                len, BKT_MAX_CONTENT), FALSE;
          g_free (r->content);
          r->content = g_strndup (s, len);
        }
      else if (g_str_equal (key, "dry-run") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        r->dry_run = g_variant_get_boolean (value);
      else if (g_str_equal (key, "force") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        r->force = g_variant_get_boolean (value);
      else if (g_str_equal (key, "record-only") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        ; /* accepted for compatibility: the session never runs system operations anyway */
      else if (!system && g_str_equal (key, "mode") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          if (!bkt_change_mode_from_string (g_variant_get_string (value, NULL), &r->mode))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "unknown mode “%s” (pr, local, pr-only, image)",
                                g_variant_get_string (value, NULL)), FALSE;
          r->mode_set = TRUE;
        }
      else if (!system && (g_str_equal (key, "repo-dir") || g_str_equal (key, "cwd")) &&
               g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          char **dest = g_str_equal (key, "cwd") ? &r->cwd : &r->repo_dir;
          g_free (*dest);
          *dest = g_variant_dup_string (value, NULL);
          if (!g_path_is_absolute (*dest))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"%s\" must be an absolute path, not “%s”", key, *dest), FALSE;
        }
      else if (!system && g_str_equal (key, "command") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          gsize len = 0;
          const char *c = g_variant_get_string (value, &len);
          /* Only text for the PR body: cut, never refused. */
          g_free (r->command);
          r->command = g_utf8_make_valid (c, MIN (len, BKT_MAX_COMMAND));
        }
      else if (!system && g_str_equal (key, "skip-preflight") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        r->skip_preflight = g_variant_get_boolean (value);
      else
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "unknown option “%s” of type %s", key,
                            g_variant_get_type_string (value)), FALSE;
    }
  return TRUE;
}

/* ---- identifiers crossing the bus ------------------------------------------- */

gboolean
bkt_daemon_check_name (const char *what, const char *value, GError **error)
{
  gsize len = strlen (value);

  /* Names later reach libflatpak, and in later subsystems command lines:
   * refuse anything that could be read as an option or a path. */
  if (len == 0 || len > 255)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s must be 1 to 255 characters long", what), FALSE;
  if (value[0] == '-' || value[0] == '.')
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s “%s” must not start with “%c”", what, value, value[0]), FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isalnum (value[i]) || value[i] == '.' || value[i] == '_' || value[i] == '-'))
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "%s “%s” has an invalid character at position %" G_GSIZE_FORMAT,
                          what, value, i + 1), FALSE;
  return TRUE;
}

/* ---- worker: manifests, engine, plan --------------------------------------- */

static BktManifestSet *
load_manifests (Request *r, GError **error)
{
  if (r->daemon->instance == BKT_INSTANCE_SYSTEM)
    return bkt_manifest_set_new_from_content (r->content ? r->content : "{}", error);

  if (r->manifests_dir != NULL && r->image_manifests_dir != NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"manifests-dir\" replaces the layering, \"image-manifests-dir\" "
                                "changes its image layer: give one of them"), NULL;
  if (r->manifests_dir != NULL)
    return bkt_manifest_set_load_dir (r->manifests_dir, error);
  {
    const char *image_dir = r->image_manifests_dir ? r->image_manifests_dir : g_getenv ("BKT_IMAGE_MANIFESTS_DIR");
    g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "bkt", "manifests", NULL);

    return bkt_manifest_set_load_layered (image_dir ? image_dir : BKT_IMAGE_MANIFESTS_DIR,
                                          user_dir, error);
  }
}

/* The preflight's verdict for @r: failed checks stop the request with
 * their fixes, unless --skip-preflight or a dry run (which shows them). */
static gboolean
preflight_passes (Request *r, GError **error)
{
  g_autofree char *msg = NULL;

  if (json_object_get_boolean_member (r->preflight, "ok") || r->skip_preflight || r->dry_run)
    return TRUE;
  msg = bkt_pr_preflight_message (r->preflight);
  g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, msg);
  return FALSE;
}

/* The change plan reshaped for its mode, with the preflight: what the PR
 * will need is checked before anything is done (docs/punning.md). */
static BktPlan *
punned_change_plan (Request *r, BktPlan *change, GError **error)
{
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(GError) repo_error = NULL;
  BktPrTarget target = { NULL, r->repo_dir, r->cwd, r->command };
  gboolean proposes = bkt_change_mode_proposes (r->mode);
  BktPlan *plan;

  if (!r->mode_set)
    return g_object_ref (change);
  if (proposes)
    {
      repo = bkt_repo_discover (r->repo_dir, r->cwd, &repo_error);
      target.repo = repo;
      if (!r->skip_preflight || r->kind == REQ_CHANGE_PLAN)
        {
          /* The whole preflight on both calls: the remote's answer to
           * ChangePlan (which the client asks first) is remembered for a
           * minute, so Change does not pay the round trip twice. */
          r->preflight = bkt_pr_preflight (repo, repo_error, TRUE);
          if (!preflight_passes (r, error))
            return NULL;
        }
    }
  plan = bkt_pr_plan_change (change, r->mode, &target, r->subsystem, r->action, r->arguments, error);
  /* Only a dry run shows the PR before it exists: reading the repo (or
   * cloning the managed one) must not delay a real change's local part. */
  if (plan != NULL && r->kind == REQ_CHANGE_PLAN && r->dry_run && proposes && repo != NULL)
    {
      g_autoptr(GError) preview_error = NULL;
      r->preview = bkt_pr_preview (plan, &preview_error);
      if (r->preview == NULL && preview_error != NULL)
        {
          r->preview = json_object_new ();
          json_object_set_string_member (r->preview, "error", preview_error->message);
        }
    }
  return plan;
}

static void
compute_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *c)
{
  Request *r = task_data;
  g_autoptr(GError) error = NULL;

  if (r->kind == REQ_LOCAL_LIST || r->kind == REQ_LOCAL_COMMIT || r->kind == REQ_PR_RETRY)
    {
      g_autoptr(BktPrQueue) queue = bkt_pr_queue_load (NULL, &error);
      g_autoptr(BktRepo) repo = NULL;
      BktPrTarget target = { NULL, r->repo_dir, r->cwd, r->command };

      if (queue == NULL)
        goto out;
      if (r->kind == REQ_LOCAL_LIST)
        {
          r->queue = bkt_pr_queue_to_json (queue);
          goto out;
        }
      /* Found now if possible, so the plan names where the PR goes; a
       * missing repo fails at execution and the entries stay queued. */
      repo = bkt_repo_discover (r->repo_dir, r->cwd, NULL);
      target.repo = repo;
      if (repo != NULL)
        {
          /* Opening it (no clone, no network) learns the forge repo's
           * name from the origin remote, for the plan's text. */
          g_autoptr(BktGit) git = bkt_git_open (repo, NULL, FALSE, NULL);
        }
      if (r->kind == REQ_LOCAL_COMMIT)
        r->plan = bkt_pr_plan_local_commit (queue, r->ids ? (const gint64 *) r->ids->data : NULL,
                                            r->ids ? r->ids->len : 0, &target, &error);
      else
        r->plan = bkt_pr_plan_retry (queue, &target, &error);
      /* Opening a PR later needs what opening it now needs: the same
       * checks, before anything is pushed or taken off the queue. */
      if (r->plan != NULL && !r->skip_preflight)
        {
          r->preflight = bkt_pr_preflight_plan (r->plan);
          if (!preflight_passes (r, &error))
            g_clear_object (&r->plan);
        }
      goto out;
    }

  if (IS_ADMIN_REQUEST (r->kind))
    {
      /* Transactions already carry their plan; only the reads work here. */
      if (r->kind == REQ_BOOTC_STATUS)
        r->status = bkt_bootc_status (c, &error);
      else if (r->kind == REQ_SYSTEMCTL_STATUS)
        r->status = bkt_systemd_status (r->daemon->connection, (const char * const *) r->units, c, &error);
      goto out;
    }

  r->manifests = load_manifests (r, &error);
  if (r->manifests == NULL)
    goto out;
  r->engine = bkt_engine_new (r->daemon->instance, (const char * const *) r->only,
                              (const char * const *) r->exclude, &error);
  if (r->engine == NULL)
    goto out;

  switch (r->kind)
    {
    case REQ_STATUS:
      r->status = bkt_engine_status (r->engine, r->manifests, c, &error);
      break;
    case REQ_PLAN:
    case REQ_APPLY:
      r->plan = bkt_engine_plan_apply (r->engine, r->manifests, c, &error);
      break;
    case REQ_CAPTURE_PLAN:
    case REQ_CAPTURE:
      r->plan = bkt_engine_plan_capture (r->engine, r->manifests, c, &error);
      break;
    case REQ_CHANGE_PLAN:
    case REQ_CHANGE:
      {
        g_autoptr(BktPlan) change = NULL;

        /* bkt upstream/base --pr: a repo-side change, proposed only (its
         * edit is not the user overlay's; nothing acts here). */
        if (bkt_pr_maint_is_subsystem (r->subsystem))
          {
            if (!r->mode_set || r->mode != BKT_CHANGE_MODE_PR_ONLY)
              g_set_error (&error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                           "a %s change is proposed as a pull request only (mode “pr-only”: bkt %s … --pr); "
                           "without --pr bkt edits the checkout itself", r->subsystem, r->subsystem);
            else
              change = bkt_pr_maint_plan_change (r->subsystem, r->action, r->arguments, &error);
          }
        else
          change = bkt_engine_plan_change (r->engine, r->manifests, r->subsystem, r->action, r->arguments, c,
                                           &error);
        if (change != NULL)
          r->plan = punned_change_plan (r, change, &error);
      }
      break;
    case REQ_FLATPAK_INSTALL:
    case REQ_FLATPAK_UNINSTALL:
      {
        g_autoptr(BktPlan) full = bkt_engine_plan_change (r->engine, r->manifests, "flatpak",
                                                          r->action, r->arguments, c, &error);
        /* Root records nothing: only the system operation is kept. */
        if (full != NULL)
          r->plan = bkt_plan_filter_scope (full, BKT_SCOPE_SYSTEM);
      }
      break;
    case REQ_PACKAGES_INSTALL:
    case REQ_PACKAGES_UNINSTALL:
    case REQ_COPR_ENABLE:
    case REQ_COPR_DISABLE:
    case REQ_COPR_REMOVE:
      {
        g_autoptr(BktPlan) full = bkt_engine_plan_change (r->engine, r->manifests, "dnf",
                                                          r->action, r->arguments, c, &error);
        /* As for flatpaks: root layers, the session records. */
        if (full != NULL)
          r->plan = bkt_plan_filter_scope (full, BKT_SCOPE_SYSTEM);
      }
      break;
    default:
      g_assert_not_reached ();
    }

out:
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static char *
node_to_string (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  return node_to_string (node);
}

static gboolean
plan_has_scope (BktPlan *plan, BktScope scope)
{
  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      if (bkt_operation_get_scope (op) == scope && bkt_operation_get_effect (op) != BKT_EFFECT_MANIFEST)
        return TRUE;
    }
  return FALSE;
}

/* The part of a session plan that only the system instance may do, as the
 * content the caller forwards (see docs/architecture.md). */
static void
add_system_request (Request *r, JsonObject *plan_json)
{
  if (r->daemon->instance != BKT_INSTANCE_SESSION || !plan_has_scope (r->plan, BKT_SCOPE_SYSTEM))
    {
      json_object_set_null_member (plan_json, "system_request");
      return;
    }

  if (r->kind == REQ_PLAN || r->kind == REQ_APPLY)
    {
      g_autofree char *content = bkt_manifest_set_to_system_content (r->manifests);
      json_object_set_string_member (plan_json, "system_request", content);
      return;
    }

  /* A dnf change: all its system operations as ONE Admin call (one
   * polkit check, one batched rpm-ostree run). */
  if (g_strcmp0 (r->subsystem, "dnf") == 0)
    {
      JsonObject *req = json_object_new ();
      JsonArray *names = json_array_new ();
      gboolean now = FALSE;
      const char *method = NULL;

      for (guint i = 0; i < bkt_plan_get_n_operations (r->plan); i++)
        {
          BktOperation *op = bkt_plan_get_operation (r->plan, i);

          if (bkt_operation_get_scope (op) != BKT_SCOPE_SYSTEM || !g_str_equal (bkt_operation_get_subsystem (op), "dnf")
              || bkt_operation_get_effect (op) == BKT_EFFECT_MANIFEST)
            continue;
          /* A COPR change is one repo file: its own Admin method, told the
           * manifest's gpg_check so that the file matches the record. */
          if (bkt_copr_is_copr_op (op))
            {
              const char *action = bkt_operation_get_action (op);

              json_object_set_string_member (req, "method", g_str_equal (action, "copr-enable") ? "CoprEnable"
                                                            : g_str_equal (action, "copr-disable") ? "CoprDisable"
                                                                                                   : "CoprRemove");
              json_object_set_string_member (req, "project", bkt_operation_get_detail_string (op, "name"));
              json_object_set_boolean_member (req, "gpg_check",
                                              json_object_get_boolean_member_with_default (
                                                bkt_operation_get_details (op), "gpg_check", TRUE));
              json_array_unref (names);
              json_object_set_object_member (plan_json, "system_request", req);
              return;
            }
          method = g_str_equal (bkt_operation_get_action (op), "install") ? "PackagesInstall" : "PackagesUninstall";
          now |= bkt_operation_get_effect (op) == BKT_EFFECT_LIVE;
          json_array_add_string_element (names, bkt_operation_get_detail_string (op, "name"));
        }
      json_object_set_string_member (req, "method", method);
      json_object_set_array_member (req, "packages", names);
      json_object_set_boolean_member (req, "now", now);
      /* The session has just made the one existence check (or was told
       * not to): the system instance need not ask dnf again.  Not a
       * safety check — rpm-ostree refuses unknown packages itself — and
       * names are validated there all the same. */
      json_object_set_boolean_member (req, "force", TRUE);
      json_object_set_object_member (plan_json, "system_request", req);
      return;
    }

  /* A change: the one system operation, as the Admin call to make. */
  for (guint i = 0; i < bkt_plan_get_n_operations (r->plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (r->plan, i);
      const char *action = bkt_operation_get_action (op);
      JsonObject *req;

      if (bkt_operation_get_scope (op) != BKT_SCOPE_SYSTEM || !g_str_equal (bkt_operation_get_subsystem (op), "flatpak"))
        continue;
      req = json_object_new ();
      if (g_str_equal (action, "install"))
        {
          json_object_set_string_member (req, "method", "FlatpakInstall");
          json_object_set_string_member (req, "remote", bkt_operation_get_detail_string (op, "remote"));
        }
      else
        json_object_set_string_member (req, "method", "FlatpakUninstall");
      json_object_set_string_member (req, "id", bkt_operation_get_detail_string (op, "id"));
      json_object_set_boolean_member (req, "force", r->force);
      json_object_set_object_member (plan_json, "system_request", req);
      return;
    }
  json_object_set_null_member (plan_json, "system_request");
}

/* ---- transactions ----------------------------------------------------------- */

typedef struct {
  BktEngine       *engine;
  BktManifestSet  *manifests;
  GDBusConnection *connection;
  RequestKind      kind;
} TxData;

static void
tx_data_free (gpointer p)
{
  TxData *d = p;

  g_clear_object (&d->engine);
  g_clear_object (&d->manifests);
  g_clear_object (&d->connection);
  g_free (d);
}

static gboolean
plan_has_local_work (BktPlan *plan)
{
  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    if (!g_str_equal (bkt_operation_get_subsystem (bkt_plan_get_operation (plan, i)), "pr"))
      return TRUE;
  return FALSE;
}

static gboolean
tx_execute (BktTransaction *tx, BktExecContext *ctx, JsonObject *result,
            GCancellable *cancellable, gpointer user_data, GError **error)
{
  TxData *d = user_data;
  BktPlan *plan = bkt_transaction_get_plan (tx);
  g_autoptr(GError) local_error = NULL;
  gboolean local_ok = TRUE;

  if (IS_ADMIN_REQUEST (d->kind))
    return bkt_admin_execute (plan, d->connection, ctx, result, cancellable, error);

  /* Capture on the system instance computes; it never writes (root does
   * not touch a user's files): the plan itself is the result. */
  if (d->kind == REQ_CAPTURE && bkt_engine_get_instance (d->engine) == BKT_INSTANCE_SYSTEM)
    {
      json_object_set_member (result, "capture", bkt_plan_to_json (plan));
      return TRUE;
    }
  /* The local part first, reported operation by operation as it ends, so
   * the user has the change before any of the PR work starts. */
  if (d->engine != NULL && plan_has_local_work (plan))
    local_ok = bkt_engine_execute (d->engine, plan, d->manifests, ctx, cancellable, &local_error);
  if (d->engine == NULL || bkt_engine_get_instance (d->engine) == BKT_INSTANCE_SESSION)
    {
      g_autoptr(GError) pr_error = NULL;
      if (!bkt_pr_execute (plan, local_ok, ctx, result, cancellable, &pr_error) && local_error == NULL)
        local_error = g_steal_pointer (&pr_error);
    }
  if (local_error != NULL)
    return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;
  return TRUE;
}

static void
on_tx_finished (BktTransaction *tx, BktDaemon *self)
{
  if (self->active == tx)
    self->active = NULL;
  idle_rearm (self);
}

static void
on_tx_expired (BktTransaction *tx, BktDaemon *self)
{
  g_hash_table_remove (self->transactions, bkt_transaction_get_path (tx));
}

static gboolean
check_not_busy (BktDaemon *self, GError **error)
{
  if (self->active == NULL)
    return TRUE;
  return g_set_error (error, BKT_ERROR, BKT_ERROR_BUSY,
                      "another transaction is %s: %s (%s); try again when it has finished",
                      bkt_transaction_get_state (self->active),
                      bkt_transaction_get_path (self->active),
                      bkt_transaction_get_kind (self->active)), FALSE;
}

static void
create_transaction (Request *r)
{
  BktDaemon *self = r->daemon;
  g_autoptr(GError) error = NULL;
  g_autoptr(BktTransaction) tx = NULL;
  TxData *d;

  /* Checked again: another request may have won while we planned. */
  if (!check_not_busy (self, &error))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      return;
    }

  d = g_new0 (TxData, 1);
  d->engine = r->engine ? g_object_ref (r->engine) : NULL;
  d->manifests = r->manifests ? g_object_ref (r->manifests) : NULL;
  d->connection = g_object_ref (self->connection);
  d->kind = r->kind;
  tx = bkt_transaction_new (self->connection, request_info[r->kind].tx_kind,
                            g_dbus_method_invocation_get_sender (r->invocation),
                            r->plan, tx_execute, d, tx_data_free);
  if (!bkt_transaction_export (tx, &error))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      return;
    }
  g_signal_connect (tx, "finished", G_CALLBACK (on_tx_finished), self);
  g_signal_connect (tx, "expired", G_CALLBACK (on_tx_expired), self);
  g_hash_table_insert (self->transactions, g_strdup (bkt_transaction_get_path (tx)), g_object_ref (tx));
  self->active = tx;

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "BKT_TRANSACTION", bkt_transaction_get_path (tx),
                    "MESSAGE", "%s: %s (%u operations) for %s",
                    bkt_transaction_get_path (tx), request_info[r->kind].tx_kind,
                    bkt_plan_get_n_operations (r->plan),
                    g_dbus_method_invocation_get_sender (r->invocation)
                      ? g_dbus_method_invocation_get_sender (r->invocation) : "peer");
  g_dbus_method_invocation_return_value (g_steal_pointer (&r->invocation),
                                         g_variant_new ("(o)", bkt_transaction_get_path (tx)));
}

static void
compute_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  BktDaemon *self = BKT_DAEMON (source);
  Request *r = g_task_get_task_data (G_TASK (res));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      call_end (self);
      return;
    }

  if (r->kind == REQ_STATUS || r->kind == REQ_LOCAL_LIST ||
      r->kind == REQ_BOOTC_STATUS || r->kind == REQ_SYSTEMCTL_STATUS)
    {
      g_autofree char *text = object_to_string (r->kind == REQ_LOCAL_LIST ? r->queue : r->status);
      g_dbus_method_invocation_return_value (g_steal_pointer (&r->invocation),
                                             g_variant_new ("(s)", text));
    }
  else if (request_info[r->kind].tx_kind != NULL && !(r->kind == REQ_CAPTURE && r->dry_run))
    create_transaction (r);
  else
    {
      g_autoptr(JsonNode) node = bkt_plan_to_json (r->plan);
      g_autofree char *text = NULL;

      add_system_request (r, json_node_get_object (node));
      if (r->mode_set)
        {
          JsonObject *o = json_node_get_object (node);
          json_object_set_string_member (o, "mode", bkt_change_mode_to_string (r->mode));
          if (r->preview != NULL)
            json_object_set_object_member (o, "pr", json_object_ref (r->preview));
          if (r->preflight != NULL)
            json_object_set_object_member (o, "preflight", json_object_ref (r->preflight));
        }
      text = node_to_string (node);
      g_dbus_method_invocation_return_value (g_steal_pointer (&r->invocation),
                                             g_variant_new ("(s)", text));
    }
  call_end (self);
}

static void
start_compute (Request *r)
{
  GTask *task = g_task_new (r->daemon, NULL, compute_done, NULL);

  g_task_set_task_data (task, r, (GDestroyNotify) bkt_daemon_request_free);
  g_task_run_in_thread (task, compute_in_thread);
  g_object_unref (task);
}

/* What Apply content declares beyond org.bkt.apply: layered packages or
 * COPR repos ("system-packages" with a non-empty list: org.bkt.packages),
 * and among the COPR repos an enabled one with "gpg_check": false
 * (org.bkt.insecure-repo; asked even when the repo file is already there,
 * since every Apply re-asserts it).  Content that does not parse declares
 * nothing here; the worker reports it properly. */
static void
content_scan (const char *content, gboolean *packages, gboolean *insecure)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root, *member;
  JsonObject *doc;

  *packages = *insecure = FALSE;
  if (content == NULL || !json_parser_load_from_data (parser, content, -1, NULL))
    return;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  member = json_object_get_member (json_node_get_object (root), "system-packages");
  if (member == NULL || !JSON_NODE_HOLDS_OBJECT (member))
    return;
  doc = json_node_get_object (member);
  /* COPR repos are repo files under /etc/yum.repos.d: packages too. */
  for (guint i = 0; i < 2; i++)
    {
      member = json_object_get_member (doc, i == 0 ? "packages" : BKT_MANIFEST_COPR_MEMBER);
      if (member != NULL && JSON_NODE_HOLDS_ARRAY (member) && json_array_get_length (json_node_get_array (member)) > 0)
        *packages = TRUE;
    }
  member = json_object_get_member (doc, BKT_MANIFEST_COPR_MEMBER);
  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member))
    return;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (member)); i++)
    {
      JsonNode *e = json_array_get_element (json_node_get_array (member), i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;

      if (o != NULL && json_object_get_boolean_member_with_default (o, "enabled", TRUE)
          && !json_object_get_boolean_member_with_default (o, "gpg_check", TRUE))
        *insecure = TRUE;
    }
}

static void
auth_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Request *r = user_data;
  BktDaemon *self = g_object_ref (r->daemon);
  g_autoptr(GError) error = NULL;

  if (!bkt_auth_check_finish (BKT_AUTH (source), res, &error))
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                        "MESSAGE", "refused %s for %s: %s", request_info[r->kind].method,
                        g_dbus_method_invocation_get_sender (r->invocation), error->message);
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      bkt_daemon_request_free (r);
      call_end (self);
      g_object_unref (self);
      return;
    }
  /* Layering packages is org.bkt.packages whichever method asks for it:
   * an Apply whose content declares packages needs both actions. */
  if (r->kind == REQ_APPLY && !r->packages_authorized)
    {
      gboolean packages;

      content_scan (r->content, &packages, &r->insecure);
      r->packages_authorized = TRUE;
      if (packages)
        {
          const char *details[] = { "org.bkt.target", "system-packages", NULL };

          bkt_auth_check_async (self->auth, r->invocation, "org.bkt.packages", details, NULL, auth_done, r);
          g_object_unref (self);
          return;
        }
    }
  /* A source without signature checks: its own action, asked last (after
   * the method's own action granted it a reason to ask at all). */
  if (r->insecure && !r->insecure_authorized)
    {
      g_autofree char *what = g_strdup_printf ("%s, gpg_check=false",
                                               r->kind == REQ_APPLY ? "copr_repos of the manifests" : r->target);
      const char *details[] = { "org.bkt.target", what, NULL };

      r->insecure_authorized = TRUE;
      bkt_auth_check_async (self->auth, r->invocation, "org.bkt.insecure-repo", details, NULL, auth_done, r);
      g_object_unref (self);
      return;
    }
  start_compute (r);
  g_object_unref (self);
}

/* Every request enters here: options, Busy, polkit (system), then work in
 * a thread so that reading flatpak or GSettings never blocks the bus. */
gboolean
bkt_daemon_dispatch (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *invocation,
          GVariant *options, Request *prepared)
{
  g_autoptr(Request) r = prepared ? prepared : g_new0 (Request, 1);
  g_autoptr(GError) error = NULL;

  call_begin (self);
  r->daemon = g_object_ref (self);
  r->kind = kind;
  /* The handler owns the invocation; it is consumed by the one reply. */
  r->invocation = invocation;

  if (!parse_options (r, options, &error) ||
      (request_info[kind].tx_kind != NULL && !(kind == REQ_CAPTURE && r->dry_run) &&
       !check_not_busy (self, &error)))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      call_end (self);
      return TRUE;
    }

  if (self->instance == BKT_INSTANCE_SYSTEM)
    {
      const char *target_details[] = { "org.bkt.target", r->target ? r->target : "manifests", NULL };
      /* Computed before the call: the argument list also steals @r. */
      const char * const *details = r->details ? (const char * const *) r->details : target_details;

      bkt_auth_check_async (self->auth, invocation, request_info[kind].action_id, details,
                            NULL, auth_done, g_steal_pointer (&r));
      return TRUE;
    }
  start_compute (g_steal_pointer (&r));
  return TRUE;
}

/* ---- method handlers -------------------------------------------------------- */

static gboolean
handle_status (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  return bkt_daemon_dispatch (self, REQ_STATUS, inv, options, NULL);
}

static gboolean
handle_plan (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  return bkt_daemon_dispatch (self, REQ_PLAN, inv, options, NULL);
}

static gboolean
handle_apply (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  return bkt_daemon_dispatch (self, REQ_APPLY, inv, options, NULL);
}

static gboolean
handle_capture (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  return bkt_daemon_dispatch (self, REQ_CAPTURE, inv, options, NULL);
}

static gboolean
handle_capture_plan (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  return bkt_daemon_dispatch (self, REQ_CAPTURE_PLAN, inv, options, NULL);
}

static gboolean
handle_change_common (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *inv,
                      const char *subsystem, const char *action, GVariant *arguments,
                      GVariant *options)
{
  Request *r;

  if (self->instance == BKT_INSTANCE_SYSTEM)
    {
      bkt_error_return (inv, g_error_new (BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                                          "%s is a session-instance method; use "
                                          "org.bkt.Daemon1.Admin on the system instance",
                                          request_info[kind].method));
      return TRUE;
    }
  r = g_new0 (Request, 1);
  r->subsystem = g_strdup (subsystem);
  r->action = g_strdup (action);
  r->arguments = g_variant_ref (arguments);
  return bkt_daemon_dispatch (self, kind, inv, options, r);
}

static gboolean
handle_change_plan (BktDBusManager *m, GDBusMethodInvocation *inv, const char *subsystem,
                    const char *action, GVariant *arguments, GVariant *options, BktDaemon *self)
{
  return handle_change_common (self, REQ_CHANGE_PLAN, inv, subsystem, action, arguments, options);
}

static gboolean
handle_change (BktDBusManager *m, GDBusMethodInvocation *inv, const char *subsystem,
               const char *action, GVariant *arguments, GVariant *options, BktDaemon *self)
{
  return handle_change_common (self, REQ_CHANGE, inv, subsystem, action, arguments, options);
}

static gboolean
session_only (BktDaemon *self, GDBusMethodInvocation *inv, RequestKind kind)
{
  if (self->instance == BKT_INSTANCE_SESSION)
    return TRUE;
  /* The system instance never sees a repo, a token or a journal. */
  bkt_error_return (inv, g_error_new (BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                                      "%s is a session-instance method", request_info[kind].method));
  return FALSE;
}

static gboolean
handle_local_list (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  if (!session_only (self, inv, REQ_LOCAL_LIST))
    return TRUE;
  return bkt_daemon_dispatch (self, REQ_LOCAL_LIST, inv, options, NULL);
}

static gboolean
handle_local_commit (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *ids,
                     GVariant *options, BktDaemon *self)
{
  Request *r;
  gsize n = 0;
  const gint64 *v;

  if (!session_only (self, inv, REQ_LOCAL_COMMIT))
    return TRUE;
  r = g_new0 (Request, 1);
  v = g_variant_get_fixed_array (ids, &n, sizeof (gint64));
  r->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  g_array_append_vals (r->ids, v, n);
  return bkt_daemon_dispatch (self, REQ_LOCAL_COMMIT, inv, options, r);
}

static gboolean
handle_pr_retry (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  if (!session_only (self, inv, REQ_PR_RETRY))
    return TRUE;
  return bkt_daemon_dispatch (self, REQ_PR_RETRY, inv, options, NULL);
}

/* ---- object ----------------------------------------------------------------- */

static void
bkt_daemon_dispose (GObject *object)
{
  BktDaemon *self = BKT_DAEMON (object);

  g_clear_handle_id (&self->idle_id, g_source_remove);
  if (self->manager != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->manager));
  if (self->admin != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->admin));
  g_clear_pointer (&self->transactions, g_hash_table_unref);
  self->active = NULL;
  g_clear_object (&self->manager);
  g_clear_object (&self->admin);
  g_clear_object (&self->auth);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (bkt_daemon_parent_class)->dispose (object);
}

static void
bkt_daemon_class_init (BktDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = bkt_daemon_dispose;

  signals[SIGNAL_IDLE] = g_signal_new ("idle", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
drop_transaction (gpointer p)
{
  BktTransaction *tx = p;

  g_signal_handlers_disconnect_matched (tx, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_tx_finished, NULL);
  g_signal_handlers_disconnect_matched (tx, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_tx_expired, NULL);
  g_object_run_dispose (G_OBJECT (tx));
  g_object_unref (tx);
}

static void
bkt_daemon_init (BktDaemon *self)
{
  self->transactions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, drop_transaction);
}

BktDaemon *
bkt_daemon_new (BktInstance instance, guint idle_timeout)
{
  BktDaemon *self = g_object_new (BKT_TYPE_DAEMON, NULL);

  self->instance = instance;
  self->idle_timeout = idle_timeout;
  self->manager = bkt_dbus_manager_skeleton_new ();
  bkt_dbus_manager_set_daemon_version (self->manager, PACKAGE_VERSION);
  bkt_dbus_manager_set_instance (self->manager, instance == BKT_INSTANCE_SYSTEM ? "system" : "session");
  g_signal_connect (self->manager, "handle-status", G_CALLBACK (handle_status), self);
  g_signal_connect (self->manager, "handle-plan", G_CALLBACK (handle_plan), self);
  g_signal_connect (self->manager, "handle-apply", G_CALLBACK (handle_apply), self);
  g_signal_connect (self->manager, "handle-capture", G_CALLBACK (handle_capture), self);
  g_signal_connect (self->manager, "handle-capture-plan", G_CALLBACK (handle_capture_plan), self);
  g_signal_connect (self->manager, "handle-change-plan", G_CALLBACK (handle_change_plan), self);
  g_signal_connect (self->manager, "handle-change", G_CALLBACK (handle_change), self);
  g_signal_connect (self->manager, "handle-local-list", G_CALLBACK (handle_local_list), self);
  g_signal_connect (self->manager, "handle-local-commit", G_CALLBACK (handle_local_commit), self);
  g_signal_connect (self->manager, "handle-pr-retry", G_CALLBACK (handle_pr_retry), self);

  if (instance == BKT_INSTANCE_SYSTEM)
    {
      self->auth = bkt_auth_new ();
      self->admin = bkt_dbus_admin_skeleton_new ();
      bkt_daemon_admin_connect (self->admin, self);
    }
  return self;
}

gboolean
bkt_daemon_export (BktDaemon *self, GDBusConnection *connection, GError **error)
{
  g_set_object (&self->connection, connection);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->manager),
                                         connection, BKT_OBJECT_PATH, error))
    return FALSE;
  if (self->admin != NULL &&
      !g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->admin),
                                         connection, BKT_OBJECT_PATH, error))
    return FALSE;
  idle_rearm (self);
  return TRUE;
}
