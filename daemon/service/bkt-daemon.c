/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#include "bkt-daemon.h"
#include "bkt-config.h"
#include "bkt-daemon-private.h"
#include "bkt-dbus-generated.h"
#include "bkt-error.h"
#include "bkt-limits.h"
#include "bkt-pr-maint.h"

#define BKT_OBJECT_PATH "/org/bkt/Daemon1"
/* A request whose content was bigger than this gives its memory back. */
#define BKT_TRIM_AFTER_BYTES (64 * 1024)

enum { SIGNAL_IDLE, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (BktDaemon, bkt_daemon, G_TYPE_OBJECT)

#define MANAGER REQUEST_FAMILY_MANAGER
#define ADMIN   REQUEST_FAMILY_ADMIN

/* Per kind: its method, its interface, its polkit action, its transaction,
 * the worker function that computes it and the one that executes its
 * transaction. */
static const RequestInfo request_info[N_REQUEST_KINDS] = {
  [REQ_STATUS]            = { "Status",      MANAGER, "org.bkt.status",  NULL,      bkt_compute_status, NULL },
  [REQ_PLAN]              = { "Plan",        MANAGER, "org.bkt.plan",    NULL,      bkt_compute_apply_plan, NULL },
  [REQ_APPLY]             = { "Apply",       MANAGER, "org.bkt.apply",   "apply",   bkt_compute_apply_plan,
                              bkt_execute_engine },
  [REQ_CAPTURE_PLAN]      = { "CapturePlan", MANAGER, "org.bkt.capture", NULL,      bkt_compute_capture_plan, NULL },
  [REQ_CAPTURE]           = { "Capture",     MANAGER, "org.bkt.capture", "capture", bkt_compute_capture_plan,
                              bkt_execute_engine },
  [REQ_CHANGE_PLAN]       = { "ChangePlan",  MANAGER, NULL,              NULL,      bkt_compute_change, NULL },
  [REQ_CHANGE]            = { "Change",      MANAGER, NULL,              "change",  bkt_compute_change,
                              bkt_execute_engine },
  [REQ_REPO_CHANGE_PLAN]  = { "ChangePlan",  MANAGER, NULL,              NULL,      bkt_compute_repo_change, NULL },
  [REQ_REPO_CHANGE]       = { "Change",      MANAGER, NULL,              "change",  bkt_compute_repo_change,
                              bkt_execute_engine },
  [REQ_LOCAL_LIST]        = { "LocalList",   MANAGER, NULL,              NULL,      bkt_compute_queue, NULL },
  [REQ_LOCAL_COMMIT]      = { "LocalCommit", MANAGER, NULL,              "local-commit", bkt_compute_queue,
                              bkt_execute_engine },
  [REQ_PR_RETRY]          = { "PrRetry",     MANAGER, NULL,              "pr-retry", bkt_compute_queue,
                              bkt_execute_engine },
  [REQ_DOCTOR]            = { "Doctor",      MANAGER, NULL,              NULL,      bkt_compute_doctor, NULL },
  [REQ_PROFILE]           = { "Profile",     MANAGER, NULL,              NULL,      bkt_compute_profile, NULL },
  [REQ_EXPLAIN]           = { "Explain",     MANAGER, NULL,              NULL,      bkt_compute_explain, NULL },
  [REQ_FLATPAK_INSTALL]   = { "FlatpakInstall",   ADMIN, "org.bkt.flatpak",  "flatpak-install",
                              bkt_compute_system_change, bkt_execute_engine },
  [REQ_FLATPAK_UNINSTALL] = { "FlatpakUninstall", ADMIN, "org.bkt.flatpak",  "flatpak-uninstall",
                              bkt_compute_system_change, bkt_execute_engine },
  [REQ_PACKAGES_INSTALL]  = { "PackagesInstall",  ADMIN, "org.bkt.packages", "packages-install",
                              bkt_compute_system_change, bkt_execute_engine },
  [REQ_PACKAGES_UNINSTALL] = { "PackagesUninstall", ADMIN, "org.bkt.packages", "packages-uninstall",
                               bkt_compute_system_change, bkt_execute_engine },
  [REQ_COPR_ENABLE]       = { "CoprEnable",  ADMIN, "org.bkt.packages", "copr-enable",  bkt_compute_system_change,
                              bkt_execute_engine },
  [REQ_COPR_DISABLE]      = { "CoprDisable", ADMIN, "org.bkt.packages", "copr-disable", bkt_compute_system_change,
                              bkt_execute_engine },
  [REQ_COPR_REMOVE]       = { "CoprRemove",  ADMIN, "org.bkt.packages", "copr-remove",  bkt_compute_system_change,
                              bkt_execute_engine },
  [REQ_BOOTC_STATUS]      = { "BootcStatus",   ADMIN, "org.bkt.admin.bootc.status",   NULL,
                              bkt_compute_bootc_status, NULL },
  [REQ_BOOTC_UPGRADE]     = { "BootcUpgrade",  ADMIN, "org.bkt.admin.bootc.upgrade",  "bootc-upgrade",
                              bkt_compute_nothing, bkt_execute_admin_op },
  [REQ_BOOTC_ROLLBACK]    = { "BootcRollback", ADMIN, "org.bkt.admin.bootc.rollback", "bootc-rollback",
                              bkt_compute_nothing, bkt_execute_admin_op },
  [REQ_BOOTC_SWITCH]      = { "BootcSwitch",   ADMIN, "org.bkt.admin.bootc.switch",   "bootc-switch",
                              bkt_compute_nothing, bkt_execute_admin_op },
  [REQ_SYSTEMCTL_STATUS]  = { "SystemctlStatus", ADMIN, "org.bkt.admin.systemctl.status", NULL,
                              bkt_compute_systemctl_status, NULL },
  [REQ_SYSTEMCTL_MANAGE]  = { "SystemctlManage", ADMIN, "org.bkt.admin.systemctl.manage", "systemctl",
                              bkt_compute_nothing, bkt_execute_admin_op },
};

const RequestInfo *
bkt_daemon_request_info (RequestKind kind)
{
  g_return_val_if_fail (kind < N_REQUEST_KINDS, NULL);
  return &request_info[kind];
}

const char *
bkt_daemon_request_tx_kind (RequestKind kind)
{
  return request_info[kind].tx_kind;
}

Request *
bkt_daemon_request_new (void)
{
  return g_new0 (Request, 1);
}

static void release_call_slot (Request *r);
static void schedule_trim (BktDaemon *self);

void
bkt_daemon_request_free (Request *r)
{
  release_call_slot (r);
  if (r->opt.content != NULL && strlen (r->opt.content) > BKT_TRIM_AFTER_BYTES)
    schedule_trim (r->daemon);
  g_clear_object (&r->daemon);
  g_clear_object (&r->invocation);
  g_clear_pointer (&r->locker, bkt_idle_locker_free);
  g_strfreev (r->opt.only);
  g_strfreev (r->opt.exclude);
  g_strfreev (r->opt.targets);
  g_free (r->opt.manifests_dir);
  g_free (r->opt.image_manifests_dir);
  g_free (r->opt.content);
  g_free (r->opt.item);
  g_strfreev (r->opt.select);
  g_free (r->change.subsystem);
  g_free (r->change.action);
  g_clear_pointer (&r->change.arguments, g_variant_unref);
  g_free (r->pun.repo_dir);
  g_free (r->pun.cwd);
  g_free (r->pun.command);
  g_clear_pointer (&r->pun.ids, g_array_unref);
  g_strfreev (r->admin.details);
  g_strfreev (r->admin.units);
  g_clear_object (&r->out.manifests);
  g_clear_object (&r->out.engine);
  g_clear_object (&r->out.plan);
  g_clear_pointer (&r->out.status, json_object_unref);
  g_clear_pointer (&r->out.queue, json_object_unref);
  g_clear_pointer (&r->out.preview, json_object_unref);
  g_clear_pointer (&r->out.preflight, json_object_unref);
  g_free (r->out.packages_summary);
  g_free (r->out.plan_prompt);
  g_free (r);
}

/* ---- transactions ----------------------------------------------------------- */

static void
on_tx_finished (BktTransaction *tx, BktDaemon *self)
{
  if (self->active == tx)
    self->active = NULL;
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

/* Whether @r's transaction changes anything, and so takes the one slot.
 * A capture on the system instance computes only (root writes no file):
 * any local user may ask for one, so it must never make the daemon Busy
 * for everyone else (docs/architecture.md, "Security model"). */
static gboolean
is_mutating (Request *r)
{
  if (request_info[r->kind].tx_kind == NULL)
    return FALSE;
  if (r->kind == REQ_CAPTURE)
    return !r->opt.dry_run && r->daemon->instance == BKT_INSTANCE_SESSION;
  return TRUE;
}

/* Pending or running transactions of bus name @owner (NULL: any) and of
 * @uid ((guint) -1: any). */
static guint
count_active_of (BktDaemon *self, const char *owner, guint uid)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->transactions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (bkt_transaction_is_active (value) &&
        (owner == NULL || g_strcmp0 (bkt_transaction_get_owner (value), owner) == 0) &&
        (uid == (guint) -1 || bkt_transaction_get_owner_uid (value) == uid))
      n++;
  return n;
}

/* A mutating transaction needs the slot; one that computes only must stay
 * within its caller's share. */
static gboolean
check_can_create (Request *r, GError **error)
{
  const char *sender = g_dbus_method_invocation_get_sender (r->invocation);

  if (is_mutating (r))
    return check_not_busy (r->daemon, error);
  if (sender != NULL && count_active_of (r->daemon, sender, (guint) -1) >= BKT_LIMIT_PENDING_PER_CALLER)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_LIMIT_EXCEEDED,
                        "limit “pending transactions per caller” (%d) reached: start or cancel "
                        "your pending transactions first", BKT_LIMIT_PENDING_PER_CALLER), FALSE;
  if (r->uid_counted && count_active_of (r->daemon, NULL, r->uid) >= BKT_LIMIT_PENDING_PER_UID)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_LIMIT_EXCEEDED,
                        "limit “pending transactions per user” (%d) reached: start or cancel "
                        "your pending transactions first", BKT_LIMIT_PENDING_PER_UID), FALSE;
  return TRUE;
}

static void
create_transaction (Request *r)
{
  BktDaemon *self = r->daemon;
  const RequestInfo *info = &request_info[r->kind];
  g_autoptr(GError) error = NULL;
  g_autoptr(BktTransaction) tx = NULL;
  TransactionWork *work;

  /* Checked again: another request may have won while we planned. */
  if (!check_can_create (r, &error))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      return;
    }

  work = g_new0 (TransactionWork, 1);
  work->engine = r->out.engine ? g_object_ref (r->out.engine) : NULL;
  work->manifests = r->out.manifests ? g_object_ref (r->out.manifests) : NULL;
  work->connection = g_object_ref (self->connection);
  tx = bkt_transaction_new (self->connection, info->tx_kind,
                            g_dbus_method_invocation_get_sender (r->invocation),
                            r->out.plan, info->execute, work, transaction_work_free);
  if (!bkt_transaction_export (tx, &error))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      return;
    }
  if (r->uid_counted)
    bkt_transaction_set_owner_uid (tx, r->uid);
  g_signal_connect (tx, "finished", G_CALLBACK (on_tx_finished), self);
  g_signal_connect (tx, "expired", G_CALLBACK (on_tx_expired), self);
  g_hash_table_insert (self->transactions, g_strdup (bkt_transaction_get_path (tx)), g_object_ref (tx));
  if (is_mutating (r))
    self->active = tx;
  /* Pending or running, the transaction keeps the daemon. */
  bkt_transaction_hold_while_active (tx, bkt_idle_locker_new (self->idle, bkt_transaction_get_path (tx)),
                                     (GDestroyNotify) bkt_idle_locker_free);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "BKT_TRANSACTION", bkt_transaction_get_path (tx),
                    "MESSAGE", "%s: %s (%u operations) for %s",
                    bkt_transaction_get_path (tx), info->tx_kind,
                    bkt_plan_get_n_operations (r->out.plan),
                    g_dbus_method_invocation_get_sender (r->invocation)
                      ? g_dbus_method_invocation_get_sender (r->invocation) : "peer");
  g_dbus_method_invocation_return_value (g_steal_pointer (&r->invocation),
                                         g_variant_new ("(o)", bkt_transaction_get_path (tx)));
}

/* ---- replies ---------------------------------------------------------------- */

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

/* Whether @r is answered with a new transaction rather than JSON. */
static gboolean
starts_transaction (Request *r)
{
  return request_info[r->kind].tx_kind != NULL && !(r->kind == REQ_CAPTURE && r->opt.dry_run);
}

static void
reply_plan (Request *r)
{
  g_autoptr(JsonNode) node = bkt_plan_to_json (r->out.plan);
  JsonObject *o = json_node_get_object (node);
  g_autofree char *text = NULL;

  bkt_daemon_add_system_request (r, o);
  if (r->pun.mode_set)
    {
      json_object_set_string_member (o, "mode", bkt_change_mode_to_string (r->pun.mode));
      if (r->out.preview != NULL)
        json_object_set_object_member (o, "pr", json_object_ref (r->out.preview));
      if (r->out.preflight != NULL)
        json_object_set_object_member (o, "preflight", json_object_ref (r->out.preflight));
    }
  text = node_to_string (node);
  g_dbus_method_invocation_return_value (g_steal_pointer (&r->invocation), g_variant_new ("(s)", text));
}

static void
reply_object (Request *r, JsonObject *object)
{
  g_autofree char *text = object_to_string (object);

  g_dbus_method_invocation_return_value (g_steal_pointer (&r->invocation), g_variant_new ("(s)", text));
}

/* ---- the worker --------------------------------------------------------------- */

static void
compute_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *c)
{
  Request *r = task_data;
  g_autoptr(GError) error = NULL;

  if (!request_info[r->kind].compute (r, c, &error))
    {
      if (error == NULL)
        error = g_error_new (BKT_ERROR, BKT_ERROR_FAILED, "%s computed nothing", request_info[r->kind].method);
      g_task_return_error (task, g_steal_pointer (&error));
    }
  else
    g_task_return_boolean (task, TRUE);
}

static void     auth_done             (GObject *source, GAsyncResult *res, gpointer user_data);
static const char *next_extra_action (Request *r);
static gboolean    prune_list        (Request *r, const char *subsystem, GString *text);
static void        ask_extra_action  (Request *r);

/* The answer to a computed and authorised request. */
static void
reply_computed (Request *r)
{
  if (r->out.queue != NULL)
    reply_object (r, r->out.queue);
  else if (r->out.status != NULL)
    reply_object (r, r->out.status);
  else if (starts_transaction (r))
    create_transaction (r);
  else
    reply_plan (r);
}

static void
compute_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  /* The request (and its idle locker) ends here unless polkit is asked
   * once more. */
  g_autoptr(Request) r = user_data;
  g_autoptr(GError) error = NULL;

  r->computed = TRUE;
  if (!g_task_propagate_boolean (G_TASK (res), &error))
    bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
  else if (next_extra_action (r) != NULL)
    ask_extra_action (g_steal_pointer (&r));
  else
    reply_computed (r);
}

static void
start_compute (Request *r)
{
  GTask *task = g_task_new (r->daemon, NULL, compute_done, r);

  /* Not owned by the task: compute_done takes @r. */
  g_task_set_task_data (task, r, NULL);
  g_task_run_in_thread (task, compute_in_thread);
  g_object_unref (task);
}

/* ---- dispatch ------------------------------------------------------------------ */

static void
auth_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(Request) r = user_data;
  g_autoptr(GError) error = NULL;

  if (!bkt_auth_check_finish (BKT_AUTH (source), res, &error))
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                        "MESSAGE", "refused %s for %s: %s", request_info[r->kind].method,
                        g_dbus_method_invocation_get_sender (r->invocation), error->message);
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      return;
    }
  if (next_extra_action (r) != NULL)
    ask_extra_action (g_steal_pointer (&r));
  else if (r->computed)
    reply_computed (r);
  else
    start_compute (g_steal_pointer (&r));
}

/* A system Apply is computed before polkit is asked, so that its prompt
 * names what the plan will do (org.bkt.apply is then the first "extra"
 * action); everything else is authorised before the worker runs. */
static gboolean
plans_before_polkit (Request *r)
{
  return r->daemon->instance == BKT_INSTANCE_SYSTEM && r->kind == REQ_APPLY;
}

/* The actions a request needs once computed, one at a time: a system
 * Apply's own (its prompt from the plan); layering packages is
 * org.bkt.packages whichever method asks for it (an Apply whose loaded
 * manifests declare packages or COPR repos), and a source without
 * signature checks is org.bkt.insecure-repo (CoprEnable with
 * gpg_check=false; an Apply whose loaded manifests enable such a repo,
 * asked even when the repo file is already there since every Apply
 * re-asserts it).  Apply's are known once the worker has loaded the
 * content, with the loader's bounds; the plan it made runs only after all
 * of them are granted. */
static const char *
next_extra_action (Request *r)
{
  if (r->daemon->instance != BKT_INSTANCE_SYSTEM)
    return NULL;
  if (plans_before_polkit (r) && !r->apply_authorized)
    return request_info[REQ_APPLY].action_id;
  if (r->kind == REQ_APPLY && r->out.layers_packages && !r->packages_authorized)
    return "org.bkt.packages";
  if (r->insecure && !r->insecure_authorized)
    return "org.bkt.insecure-repo";
  /* apply --prune removes what FlatpakUninstall and PackagesUninstall
   * remove: their actions, known once the plan is (computing it changes
   * nothing), asked before the transaction exists. */
  if (r->kind == REQ_APPLY && r->out.plan != NULL && !r->prune_authorized && prune_list (r, "flatpak", NULL))
    return "org.bkt.flatpak";
  if (r->kind == REQ_APPLY && r->out.plan != NULL && !r->packages_authorized && prune_list (r, "dnf", NULL))
    return "org.bkt.packages";
  return NULL;
}

/* Whether @r's plan prunes anything of @subsystem; the targets, for
 * polkit's prompt, into @text. */
static gboolean
prune_list (Request *r, const char *subsystem, GString *text)
{
  guint n = 0;

  for (guint i = 0; i < bkt_plan_get_n_operations (r->out.plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (r->out.plan, i);

      if (!bkt_sync_is_prune (op) || !g_str_equal (bkt_operation_get_subsystem (op), subsystem))
        continue;
      if (text != NULL && n < 12)
        g_string_append_printf (text, "%s%s", n == 0 ? "remove what bkt installed and no manifest declares: " : " ",
                                bkt_operation_get_target (op));
      n++;
    }
  if (text != NULL && n > 12)
    g_string_append_printf (text, " … (%u in all)", n);
  return n > 0;
}

static void
ask_extra_action (Request *r)
{
  const char *action = next_extra_action (r);
  const char *project = NULL;
  g_autofree char *what = NULL;
  const char *details[] = { "org.bkt.target", NULL, NULL };
  /* Taken before the call: the argument list also steals @r. */
  GDBusMethodInvocation *invocation = r->invocation;

  if (g_str_equal (action, request_info[REQ_APPLY].action_id))
    {
      r->apply_authorized = TRUE;
      what = g_strdup (r->out.plan_prompt ? r->out.plan_prompt : "manifests");
    }
  else if (g_str_equal (action, "org.bkt.flatpak"))
    {
      g_autoptr(GString) text = g_string_new (NULL);

      prune_list (r, "flatpak", text);
      r->prune_authorized = TRUE;
      what = g_string_free (g_steal_pointer (&text), FALSE);
    }
  else if (g_str_equal (action, "org.bkt.packages"))
    {
      /* One prompt for both: the packages layered and those pruned. */
      g_autoptr(GString) text = g_string_new (NULL);
      g_autoptr(GString) pruned = g_string_new (NULL);

      r->packages_authorized = TRUE;
      if (r->out.layers_packages)
        g_string_append (text, r->out.packages_summary ? r->out.packages_summary : "system-packages");
      if (r->out.plan != NULL && prune_list (r, "dnf", pruned))
        g_string_append_printf (text, "%s%s", text->len > 0 ? "; " : "", pruned->str);
      if (text->len == 0)
        g_string_append (text, "system-packages");
      what = g_string_free (g_steal_pointer (&text), FALSE);
    }
  else
    {
      r->insecure_authorized = TRUE;
      if (r->change.arguments != NULL)
        g_variant_lookup (r->change.arguments, "name", "&s", &project);
      what = g_strdup_printf ("%s with gpg_check=false: its packages are not signature-checked",
                              r->kind == REQ_APPLY || project == NULL ? "COPR repos of the manifests" : project);
    }
  details[1] = what;
  bkt_auth_check_async (r->daemon->auth, invocation, action, details, NULL, auth_done, r);
}

/* ---- limits (system instance) ----------------------------------------------- */

static gboolean
on_trim (gpointer user_data)
{
  BktDaemon *self = user_data;

  self->trim_id = 0;
#ifdef HAVE_MALLOC_TRIM
  /* The worker threads' arenas keep freed memory; a big request must not
   * leave root's daemon hundreds of MiB larger. */
  g_debug ("returning freed memory to the system: %s", malloc_trim (0) ? "some" : "none");
#endif
  return G_SOURCE_REMOVE;
}

static void
schedule_trim (BktDaemon *self)
{
  if (self != NULL && self->trim_id == 0)
    /* A second later: GDBus frees the message after its reply went out. */
    self->trim_id = g_timeout_add_seconds (1, on_trim, self);
}

static gboolean
schedule_trim_on_main (gpointer user_data)
{
  schedule_trim (user_data);
  return G_SOURCE_REMOVE;
}

/* Every array, string and value count of a call, before its handler runs
 * (so before polkit and before any parsing of its arguments).  GDBus runs
 * this in a thread of its own, and the refusal consumes its reference to
 * @invocation (with the message: a refused 1,000,000-name call is
 * ~160 MiB of GVariants). */
static gboolean
on_authorize_method (GDBusInterfaceSkeleton *skeleton, GDBusMethodInvocation *invocation, BktDaemon *self)
{
  g_autoptr(GError) error = NULL;

  if (bkt_limits_check_parameters (g_dbus_method_invocation_get_parameters (invocation), &error))
    return TRUE;
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "MESSAGE", "refused %s for %s: %s", g_dbus_method_invocation_get_method_name (invocation),
                    g_dbus_method_invocation_get_sender (invocation), error->message);
  bkt_error_return (invocation, g_steal_pointer (&error));
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, schedule_trim_on_main, g_object_ref (self), g_object_unref);
  return FALSE;
}

static void
release_call_slot (Request *r)
{
  guint n;

  if (!r->uid_counted)
    return;
  r->uid_counted = FALSE;
  n = GPOINTER_TO_UINT (g_hash_table_lookup (r->daemon->calls_per_uid, GUINT_TO_POINTER (r->uid)));
  if (n <= 1)
    g_hash_table_remove (r->daemon->calls_per_uid, GUINT_TO_POINTER (r->uid));
  else
    g_hash_table_insert (r->daemon->calls_per_uid, GUINT_TO_POINTER (r->uid), GUINT_TO_POINTER (n - 1));
}

/* One of the caller's calls in flight, or LimitExceeded. */
static gboolean
take_call_slot (Request *r, GError **error)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (r->daemon->calls_per_uid, GUINT_TO_POINTER (r->uid)));

  if (n >= BKT_LIMIT_CALLS_PER_UID)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_LIMIT_EXCEEDED,
                        "limit “method calls in flight per user” (%d) reached: wait for your "
                        "earlier calls to return", BKT_LIMIT_CALLS_PER_UID), FALSE;
  g_hash_table_insert (r->daemon->calls_per_uid, GUINT_TO_POINTER (r->uid), GUINT_TO_POINTER (n + 1));
  r->uid_counted = TRUE;
  return TRUE;
}

/* What a Manager method that changes nothing does, for a prompt a site's
 * rules may ask for (the shipped policy allows these to everyone). */
static const char *
read_only_target (Request *r)
{
  switch (r->kind)
    {
    case REQ_STATUS:
      return "read only: compare the system with the manifests sent";
    case REQ_PLAN:
      return "read only: list what applying the manifests sent would change";
    default:
      return "read only: read the system state to record it in manifests";
    }
}

static void
ask_polkit (Request *r)
{
  const char *target_details[] = { "org.bkt.target", read_only_target (r), NULL };
  const char * const *details = r->admin.details ? (const char * const *) r->admin.details : target_details;
  /* Taken before the call: the argument list also steals @r. */
  GDBusMethodInvocation *invocation = r->invocation;

  bkt_auth_check_async (r->daemon->auth, invocation, request_info[r->kind].action_id, details,
                        NULL, auth_done, r);
}

static void
on_caller_uid (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(Request) r = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      bkt_error_return (g_steal_pointer (&r->invocation),
                        g_error_new (BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED, "cannot identify the caller: %s",
                                     error->message));
      return;
    }
  g_variant_get (reply, "(u)", &r->uid);
  if (!take_call_slot (r, &error))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      return;
    }
  if (plans_before_polkit (r))
    start_compute (g_steal_pointer (&r));
  else
    ask_polkit (g_steal_pointer (&r));
}

/* The caller's uid from the bus (its limits are per user, whatever the
 * number of connections), then polkit. */
static void
identify_caller (Request *r)
{
  g_dbus_connection_call (r->daemon->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixUser",
                          g_variant_new ("(s)", g_dbus_method_invocation_get_sender (r->invocation)),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_caller_uid, r);
}

/* Every request enters here: options, Busy, limits and polkit (system),
 * then work in a thread so that reading flatpak or GSettings never blocks
 * the bus. */
gboolean
bkt_daemon_dispatch (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *invocation,
                     GVariant *options, Request *prepared)
{
  g_autoptr(Request) r = prepared ? prepared : bkt_daemon_request_new ();
  g_autoptr(GError) error = NULL;

  r->daemon = g_object_ref (self);
  r->kind = kind;
  /* The daemon stays until the reply, whichever way it goes. */
  r->locker = bkt_idle_locker_new (self->idle, request_info[kind].method);
  /* The handler owns the invocation; it is consumed by the one reply. */
  r->invocation = invocation;

  if (!bkt_daemon_parse_options (r, options, &error) || (is_mutating (r) && !check_not_busy (self, &error)))
    {
      bkt_error_return (g_steal_pointer (&r->invocation), g_steal_pointer (&error));
      return TRUE;
    }

  if (self->instance == BKT_INSTANCE_SYSTEM)
    {
      identify_caller (g_steal_pointer (&r));
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
transaction_running (gpointer data)
{
  BktDaemon *self = data;

  return self->active != NULL;
}

/* The watcher is the user's own session instance's: no polkit, no
 * worker (it only keeps a setting and starts monitors), so not through
 * bkt_daemon_dispatch; the system instance refuses it. */
static gboolean
handle_set_watching (BktDBusManager *m, GDBusMethodInvocation *inv, gboolean enabled, BktDaemon *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) value = json_node_new (JSON_NODE_VALUE);

  if (self->watcher == NULL)
    {
      g_dbus_method_invocation_return_error_literal (inv, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                                                     "the drift watcher is the session instance's (bkt watch)");
      return TRUE;
    }
  json_node_set_boolean (value, enabled);
  if (!bkt_config_set_member ("watch", value, &error))
    {
      g_dbus_method_invocation_return_gerror (inv, error);
      return TRUE;
    }
  if (enabled)
    bkt_watcher_start (self->watcher, g_dbus_method_invocation_get_connection (inv), NULL);
  else
    bkt_watcher_stop (self->watcher);
  bkt_dbus_manager_complete_set_watching (m, inv);
  return TRUE;
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
  /* The repo-side tools (upstream, base) are no subsystem of the engine:
   * their changes are their own kind, proposed only. */
  if (bkt_pr_maint_is_subsystem (subsystem))
    kind = kind == REQ_CHANGE ? REQ_REPO_CHANGE : REQ_REPO_CHANGE_PLAN;
  r = bkt_daemon_request_new ();
  r->change.subsystem = g_strdup (subsystem);
  r->change.action = g_strdup (action);
  r->change.arguments = g_variant_ref (arguments);
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
handle_doctor (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  if (!session_only (self, inv, REQ_DOCTOR))
    return TRUE;
  return bkt_daemon_dispatch (self, REQ_DOCTOR, inv, options, NULL);
}

static gboolean
handle_profile (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  if (!session_only (self, inv, REQ_PROFILE))
    return TRUE;
  return bkt_daemon_dispatch (self, REQ_PROFILE, inv, options, NULL);
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
  r = bkt_daemon_request_new ();
  v = g_variant_get_fixed_array (ids, &n, sizeof (gint64));
  r->pun.ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  g_array_append_vals (r->pun.ids, v, n);
  return bkt_daemon_dispatch (self, REQ_LOCAL_COMMIT, inv, options, r);
}

static gboolean
handle_pr_retry (BktDBusManager *m, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  if (!session_only (self, inv, REQ_PR_RETRY))
    return TRUE;
  return bkt_daemon_dispatch (self, REQ_PR_RETRY, inv, options, NULL);
}

static gboolean
handle_explain (BktDBusManager *m, GDBusMethodInvocation *inv, const char *item, GVariant *options,
                BktDaemon *self)
{
  g_autoptr(GError) error = NULL;
  Request *r;

  /* The user's manifests and record are the session's to read. */
  if (!session_only (self, inv, REQ_EXPLAIN))
    return TRUE;
  if (!bkt_daemon_check_item (item, &error))
    {
      bkt_error_return (inv, g_steal_pointer (&error));
      return TRUE;
    }
  r = bkt_daemon_request_new ();
  r->opt.item = g_strdup (item);
  return bkt_daemon_dispatch (self, REQ_EXPLAIN, inv, options, r);
}

/* ---- object ----------------------------------------------------------------- */

static void
bkt_daemon_dispose (GObject *object)
{
  BktDaemon *self = BKT_DAEMON (object);

  if (self->manager != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->manager));
  if (self->admin != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->admin));
  if (self->watcher != NULL)
    bkt_watcher_stop (self->watcher);
  g_clear_object (&self->watcher);
  g_clear_pointer (&self->transactions, g_hash_table_unref);
  g_clear_handle_id (&self->trim_id, g_source_remove);
  self->active = NULL;
  if (self->idle != NULL)
    g_signal_handlers_disconnect_by_data (self->idle, self);
  g_clear_object (&self->idle);
  g_clear_object (&self->manager);
  g_clear_object (&self->admin);
  g_clear_object (&self->auth);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (bkt_daemon_parent_class)->dispose (object);
}

static void
bkt_daemon_finalize (GObject *object)
{
  BktDaemon *self = BKT_DAEMON (object);

  g_hash_table_unref (self->calls_per_uid);
  G_OBJECT_CLASS (bkt_daemon_parent_class)->finalize (object);
}

static void
bkt_daemon_class_init (BktDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = bkt_daemon_dispose;
  G_OBJECT_CLASS (klass)->finalize = bkt_daemon_finalize;

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
  self->calls_per_uid = g_hash_table_new (g_direct_hash, g_direct_equal);
}

static void
on_idle (BktDaemon *self)
{
  g_signal_emit (self, signals[SIGNAL_IDLE], 0);
}

/* The idle exit must not drop a call.  dbus-daemon routes a call to
 * org.bkt.Daemon1 to whoever owns the name when it reads it: between the
 * timer running out and the bus processing our ReleaseName, a client's call
 * still comes here, and a daemon that just left would never answer it
 * ("disconnected without replying" instead of an activation of a new bktd).
 * So: give the name up, and wait for a round trip to the bus, which handles
 * one connection's messages in order (ReleaseName, whether GLib sends it
 * synchronously or not, is done when GetId answers).  Every call routed here
 * before that came in on the socket ahead of GetId's reply, so the idle's
 * connection filter has counted it; bkt_idle_drain() then emits "idle"
 * again only when each was answered and no transaction holds the daemon.
 * Calls addressed to our unique name are still answered; new ones to the
 * name start a new bktd. */
void
bkt_daemon_release_name (BktDaemon *self, guint owner_id)
{
  g_autoptr(GVariant) id = NULL;
  g_autoptr(GError) error = NULL;

  g_bus_unown_name (owner_id);
  if (self->connection != NULL && !g_dbus_connection_is_closed (self->connection))
    {
      id = g_dbus_connection_call_sync (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "GetId", NULL, G_VARIANT_TYPE ("(s)"),
                                        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      if (id == NULL)
        g_warning ("releasing the bus name: no answer from the bus: %s", error->message);
    }
  bkt_idle_drain (self->idle);
}

BktDaemon *
bkt_daemon_new (BktInstance instance, guint idle_timeout)
{
  BktDaemon *self = g_object_new (BKT_TYPE_DAEMON, NULL);

  self->instance = instance;
  self->idle = bkt_idle_new (idle_timeout);
  g_signal_connect_swapped (self->idle, "timeout", G_CALLBACK (on_idle), self);
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
  g_signal_connect (self->manager, "handle-doctor", G_CALLBACK (handle_doctor), self);
  g_signal_connect (self->manager, "handle-profile", G_CALLBACK (handle_profile), self);
  g_signal_connect (self->manager, "handle-local-commit", G_CALLBACK (handle_local_commit), self);
  g_signal_connect (self->manager, "handle-pr-retry", G_CALLBACK (handle_pr_retry), self);
  g_signal_connect (self->manager, "handle-explain", G_CALLBACK (handle_explain), self);

  g_signal_connect (self->manager, "handle-set-watching", G_CALLBACK (handle_set_watching), self);
  if (instance == BKT_INSTANCE_SESSION)
    self->watcher = bkt_watcher_new (self->manager, self->idle, transaction_running, self);

  if (instance == BKT_INSTANCE_SYSTEM)
    {
      self->auth = bkt_auth_new ();
      self->admin = bkt_dbus_admin_skeleton_new ();
      bkt_daemon_admin_connect (self->admin, self);
      /* Any local user reaches the system instance: bounded input. */
      g_signal_connect (self->manager, "g-authorize-method", G_CALLBACK (on_authorize_method), self);
      g_signal_connect (self->admin, "g-authorize-method", G_CALLBACK (on_authorize_method), self);
    }
  return self;
}

gboolean
bkt_daemon_export (BktDaemon *self, GDBusConnection *connection, GError **error)
{
  g_set_object (&self->connection, connection);
  bkt_idle_watch_calls (self->idle, connection);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->manager),
                                         connection, BKT_OBJECT_PATH, error))
    return FALSE;
  if (self->admin != NULL &&
      !g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->admin),
                                         connection, BKT_OBJECT_PATH, error))
    return FALSE;
  /* "watch": true in config.json: the watcher runs from the start (the
   * bkt-watch.service user unit starts the daemon at login for it). */
  if (self->watcher != NULL)
    {
      g_autoptr(GError) watch_error = NULL;
      if (bkt_watcher_configured (&watch_error))
        bkt_watcher_start (self->watcher, connection, NULL);
      else if (watch_error != NULL)
        g_warning ("the drift watcher does not run: %s", watch_error->message);
    }
  bkt_idle_start (self->idle);
  return TRUE;
}
