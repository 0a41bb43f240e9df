/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-dbus-generated.h"
#include "bkt-error.h"
#include "bkt-transaction.h"

typedef enum {
  STATE_PENDING,
  STATE_RUNNING,
  STATE_FINISHED,
  STATE_CANCELLED,
} State;

static const char * const state_names[] = { "pending", "running", "finished", "cancelled" };

struct _BktTransaction
{
  GObject             parent_instance;

  GDBusConnection    *connection;
  BktDBusTransaction *skeleton;
  GMainContext       *main_context;
  char               *path;
  char               *kind;
  char               *owner;
  guint               owner_uid;
  BktPlan            *plan;
  BktTransactionFunc  func;
  gpointer            user_data;
  GDestroyNotify      destroy;

  GCancellable       *cancellable;
  State               state;
  guint               owner_watch;
  guint               start_timeout_id;
  guint               retention_id;
  gboolean            exported;          /* in its connection's tree (below) */

  gpointer            held;          /* bkt_transaction_hold_while_active() */
  GDestroyNotify      held_destroy;

  /* Main thread only. */
  JsonArray          *op_results;
  guint               n_done;
  guint               last_percent;
  char               *last_operation;
};

enum { SIGNAL_FINISHED, SIGNAL_EXPIRED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (BktTransaction, bkt_transaction, G_TYPE_OBJECT)

#define TX_IFACE "org.bkt.Daemon1.Transaction"
#define TX_TREE  "/org/bkt/Daemon1/Transaction"

/* ---- the tree of transactions --------------------------------------------------
 *
 * Every transaction of a connection lives in ONE subtree at TX_TREE, not
 * as objects of its own, so that what a caller can learn by looking is
 * decided per caller: introspecting the tree lists only the caller's own
 * transactions, introspecting any node (existing or not, anyone's) gives
 * the same public interface, and a call on a node that is not the
 * caller's is refused in the same words whether it exists or not.  Main
 * thread only. */
typedef struct {
  GHashTable *by_node;      /* "N" → BktTransaction (not owned: it leaves the tree when disposed) */
  guint       subtree_id;
} TxTree;

static void on_method_call (GDBusConnection *connection, const char *sender, const char *path,
                            const char *iface, const char *method, GVariant *params,
                            GDBusMethodInvocation *invocation, gpointer user_data);

static const char *
node_of (const char *path)
{
  return g_str_has_prefix (path, TX_TREE "/") ? path + strlen (TX_TREE "/") : NULL;
}

static char **
tree_enumerate (GDBusConnection *connection, const char *sender, const char *object_path, gpointer user_data)
{
  TxTree *tree = user_data;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, tree->by_node);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_strcmp0 (bkt_transaction_get_owner (value), sender) == 0)
      g_ptr_array_add (names, g_strdup (key));
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static GDBusInterfaceInfo **
tree_introspect (GDBusConnection *connection, const char *sender, const char *object_path, const char *node,
                 gpointer user_data)
{
  GDBusInterfaceInfo **interfaces = g_new0 (GDBusInterfaceInfo *, 2);

  /* The tree itself has no interface; every node has the same one. */
  if (node != NULL)
    interfaces[0] = g_dbus_interface_info_ref (bkt_dbus_transaction_interface_info ());
  return interfaces;
}

static const GDBusInterfaceVTable *
tree_dispatch (GDBusConnection *connection, const char *sender, const char *object_path,
               const char *interface_name, const char *node, gpointer *out_user_data, gpointer user_data)
{
  /* get_property NULL: Get/GetAll/Set reach on_method_call, which checks
   * who asks before it answers. */
  static const GDBusInterfaceVTable vtable = { on_method_call, NULL, NULL, { 0 } };

  /* The tree, not the transaction: it may be gone by the time the call
   * is handled (GDBus schedules it); on_method_call looks it up. */
  *out_user_data = user_data;
  return &vtable;
}

static void
tree_free (gpointer data)
{
  TxTree *tree = data;

  g_hash_table_unref (tree->by_node);
  g_free (tree);
}

static TxTree *
tree_get (GDBusConnection *connection, GError **error)
{
  static const GDBusSubtreeVTable vtable = { tree_enumerate, tree_introspect, tree_dispatch, { 0 } };
  TxTree *tree = g_object_get_data (G_OBJECT (connection), "bkt-transaction-tree");

  if (tree != NULL)
    return tree;
  tree = g_new0 (TxTree, 1);
  tree->by_node = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  tree->subtree_id = g_dbus_connection_register_subtree (connection, TX_TREE, &vtable,
                                                         G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES,
                                                         tree, NULL, error);
  if (tree->subtree_id == 0)
    {
      tree_free (tree);
      return NULL;
    }
  /* Lives as long as the connection (the registration goes with it). */
  g_object_set_data_full (G_OBJECT (connection), "bkt-transaction-tree", tree, tree_free);
  return tree;
}

static void
unexport (BktTransaction *self)
{
  TxTree *tree = g_object_get_data (G_OBJECT (self->connection), "bkt-transaction-tree");

  if (self->exported && tree != NULL)
    g_hash_table_remove (tree->by_node, node_of (self->path));
  self->exported = FALSE;
}

/* Signals go to the creator only (unicast): what a transaction installs,
 * from where, and how it fails is its creator's business, not every
 * local user's.  On a peer-to-peer connection the one peer is the
 * creator. */
static void
emit (BktTransaction *self, const char *name, GVariant *params)
{
  g_autoptr(GVariant) sunk = g_variant_ref_sink (params);

  if (!self->exported)
    return;
  g_dbus_connection_emit_signal (self->connection, self->owner, self->path, TX_IFACE, name, sunk, NULL);
}

static void
release_held (BktTransaction *self)
{
  gpointer held = g_steal_pointer (&self->held);

  if (held != NULL && self->held_destroy != NULL)
    self->held_destroy (held);
}

void
bkt_transaction_hold_while_active (BktTransaction *self, gpointer data, GDestroyNotify destroy)
{
  g_return_if_fail (self->held == NULL);
  self->held = data;
  self->held_destroy = destroy;
}

static void
bkt_transaction_dispose (GObject *object)
{
  BktTransaction *self = BKT_TRANSACTION (object);

  release_held (self);
  g_clear_handle_id (&self->owner_watch, g_bus_unwatch_name);
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_clear_handle_id (&self->retention_id, g_source_remove);
  unexport (self);
  G_OBJECT_CLASS (bkt_transaction_parent_class)->dispose (object);
}

static void
bkt_transaction_finalize (GObject *object)
{
  BktTransaction *self = BKT_TRANSACTION (object);

  if (self->destroy != NULL)
    self->destroy (self->user_data);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->connection);
  g_clear_object (&self->plan);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->op_results, json_array_unref);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_free (self->path);
  g_free (self->kind);
  g_free (self->owner);
  g_free (self->last_operation);
  G_OBJECT_CLASS (bkt_transaction_parent_class)->finalize (object);
}

static void
bkt_transaction_class_init (BktTransactionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bkt_transaction_dispose;
  object_class->finalize = bkt_transaction_finalize;

  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_EXPIRED] = g_signal_new ("expired", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bkt_transaction_init (BktTransaction *self)
{
  self->cancellable = g_cancellable_new ();
  self->op_results = json_array_new ();
  self->main_context = g_main_context_ref_thread_default ();
  self->skeleton = bkt_dbus_transaction_skeleton_new ();
}

static void
set_state (BktTransaction *self, State state)
{
  self->state = state;
  bkt_dbus_transaction_set_state (self->skeleton, state_names[state]);
}

const char *bkt_transaction_get_path (BktTransaction *self) { return self->path; }
const char *bkt_transaction_get_kind (BktTransaction *self) { return self->kind; }
const char *bkt_transaction_get_owner (BktTransaction *self) { return self->owner; }
void bkt_transaction_set_owner_uid (BktTransaction *self, guint uid) { self->owner_uid = uid; }
guint bkt_transaction_get_owner_uid (BktTransaction *self) { return self->owner_uid; }
const char *bkt_transaction_get_state (BktTransaction *self) { return state_names[self->state]; }
BktPlan *bkt_transaction_get_plan (BktTransaction *self) { return self->plan; }

gboolean
bkt_transaction_is_active (BktTransaction *self)
{
  return self->state == STATE_PENDING || self->state == STATE_RUNNING;
}

static gboolean
on_retention_over (gpointer user_data)
{
  BktTransaction *self = user_data;

  self->retention_id = 0;
  unexport (self);
  g_signal_emit (self, signals[SIGNAL_EXPIRED], 0);
  return G_SOURCE_REMOVE;
}

static char *
node_to_text (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

/* Called once, on the main thread, whatever way the transaction ended. */
static void
finish (BktTransaction *self, State final_state, JsonObject *extra, const GError *error)
{
  g_autoptr(JsonObject) result = extra != NULL ? json_object_ref (extra) : json_object_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  GError *copy = error != NULL ? g_error_copy (error) : NULL;
  const char *error_name = "";

  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_clear_handle_id (&self->owner_watch, g_bus_unwatch_name);

  if (copy != NULL)
    {
      bkt_error_normalize (&copy);
      error_name = bkt_error_code_to_name (copy->code);
    }
  json_object_set_array_member (result, "operations", json_array_ref (self->op_results));
  json_node_set_object (node, result);
  text = node_to_text (node);

  set_state (self, final_state);
  bkt_dbus_transaction_set_success (self->skeleton, copy == NULL);
  bkt_dbus_transaction_set_error_name (self->skeleton, error_name);
  bkt_dbus_transaction_set_error_message (self->skeleton, copy ? copy->message : "");
  bkt_dbus_transaction_set_result (self->skeleton, text);
  if (copy == NULL)
    bkt_dbus_transaction_set_percent (self->skeleton, 100);
  /* The properties are final before Finished goes out (Get reads them
   * from the same store). */
  emit (self, "Finished", g_variant_new ("(bss)", copy == NULL, error_name, copy ? copy->message : ""));

  g_log_structured (G_LOG_DOMAIN, copy ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE,
                    "BKT_TRANSACTION", self->path,
                    "BKT_TRANSACTION_KIND", self->kind,
                    "MESSAGE", "transaction %s (%s) %s%s%s", self->path, self->kind,
                    copy ? "failed: " : "succeeded", copy ? copy->message : "", "");
  g_clear_error (&copy);

  self->retention_id = g_timeout_add_seconds (BKT_TRANSACTION_RETENTION_SECONDS,
                                              on_retention_over, self);
  release_held (self);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

/* ---- progress from the worker thread ------------------------------------ */

typedef enum { EVENT_PROGRESS, EVENT_OP_DONE, EVENT_MESSAGE } EventType;

typedef struct {
  BktTransaction *self;
  EventType       type;
  BktOperation   *op;
  double          fraction;
  char           *text;     /* detail, error message or message */
  gboolean        success;
} Event;

static void
event_free (Event *ev)
{
  g_object_unref (ev->self);
  g_clear_object (&ev->op);
  g_free (ev->text);
  g_free (ev);
}

static gint
plan_index (BktTransaction *self, BktOperation *op)
{
  for (guint i = 0; i < bkt_plan_get_n_operations (self->plan); i++)
    if (bkt_plan_get_operation (self->plan, i) == op)
      return (gint) i;
  return -1;
}

static gboolean
dispatch_event (gpointer user_data)
{
  Event *ev = user_data;
  BktTransaction *self = ev->self;
  guint n_ops = MAX (bkt_plan_get_n_operations (self->plan), 1);

  switch (ev->type)
    {
    case EVENT_PROGRESS:
      {
        guint percent = (guint) (100.0 * (self->n_done + ev->fraction) / n_ops);
        const char *summary = bkt_operation_get_summary (ev->op);

        percent = MIN (percent, 99);
        /* Flatpak reports progress many times a second; the bus only needs
         * to hear about visible changes. */
        if (percent == self->last_percent && g_strcmp0 (summary, self->last_operation) == 0 &&
            ev->text == NULL)
          break;
        self->last_percent = percent;
        g_free (self->last_operation);
        self->last_operation = g_strdup (summary);
        bkt_dbus_transaction_set_percent (self->skeleton, percent);
        bkt_dbus_transaction_set_current_operation (self->skeleton, summary);
        emit (self, "Progress", g_variant_new ("(uss)", percent, summary ? summary : "", ev->text ? ev->text : ""));
      }
      break;

    case EVENT_OP_DONE:
      {
        JsonObject *r = json_object_new ();
        gint index = plan_index (self, ev->op);

        self->n_done++;
        json_object_set_string_member (r, "id", bkt_operation_get_id (ev->op));
        json_object_set_string_member (r, "summary", bkt_operation_get_summary (ev->op));
        json_object_set_boolean_member (r, "success", ev->success);
        if (ev->success)
          json_object_set_null_member (r, "error");
        else
          json_object_set_string_member (r, "error", ev->text);
        json_array_add_object_element (self->op_results, r);
        emit (self, "OperationFinished",
              g_variant_new ("(usbs)", index < 0 ? G_MAXUINT32 : (guint) index, bkt_operation_get_id (ev->op),
                             ev->success, ev->success ? "" : ev->text));
        g_log_structured (G_LOG_DOMAIN, ev->success ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_WARNING,
                          "BKT_TRANSACTION", self->path,
                          "BKT_OPERATION", bkt_operation_get_id (ev->op),
                          "MESSAGE", "%s: %s%s%s", bkt_operation_get_summary (ev->op),
                          ev->success ? "done" : "failed: ", ev->success ? "" : ev->text, "");
      }
      break;

    case EVENT_MESSAGE:
      emit (self, "Message", g_variant_new ("(s)", ev->text ? ev->text : ""));
      break;
    }
  return G_SOURCE_REMOVE;
}

static void
post (Event *ev)
{
  g_main_context_invoke_full (ev->self->main_context, G_PRIORITY_DEFAULT,
                              dispatch_event, ev, (GDestroyNotify) event_free);
}

static void
ctx_progress (gpointer user_data, BktOperation *op, double fraction, const char *detail)
{
  Event *ev = g_new0 (Event, 1);

  ev->self = g_object_ref (user_data);
  ev->type = EVENT_PROGRESS;
  ev->op = g_object_ref (op);
  ev->fraction = fraction;
  ev->text = g_strdup (detail);
  post (ev);
}

static void
ctx_op_done (gpointer user_data, BktOperation *op, const GError *error)
{
  Event *ev = g_new0 (Event, 1);

  ev->self = g_object_ref (user_data);
  ev->type = EVENT_OP_DONE;
  ev->op = g_object_ref (op);
  ev->success = error == NULL;
  ev->text = error ? g_strdup (error->message) : NULL;
  post (ev);
}

static void
ctx_message (gpointer user_data, const char *text)
{
  Event *ev = g_new0 (Event, 1);

  ev->self = g_object_ref (user_data);
  ev->type = EVENT_MESSAGE;
  ev->text = g_strdup (text);
  post (ev);
}

static const BktExecCallbacks exec_callbacks = { ctx_progress, ctx_op_done, ctx_message };

/* ---- running ------------------------------------------------------------ */

static void
run_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  BktTransaction *self = source;
  JsonObject *extra = task_data;
  g_autoptr(BktExecContext) ctx = bkt_exec_context_new (&exec_callbacks, self);
  g_autoptr(GError) error = NULL;

  if (!self->func (self, ctx, extra, cancellable, self->user_data, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
finish_after_events (gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  BktTransaction *self = g_task_get_source_object (task);
  JsonObject *extra = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  g_task_propagate_boolean (task, &error);
  finish (self,
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
          g_error_matches (error, BKT_ERROR, BKT_ERROR_CANCELLED) ? STATE_CANCELLED : STATE_FINISHED,
          extra, error);
  return G_SOURCE_REMOVE;
}

static void
run_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  /* Events posted by the worker are queued at default priority; finishing
   * at a lower priority makes every OperationFinished go out before
   * Finished. */
  g_idle_add_full (G_PRIORITY_LOW, finish_after_events, g_object_ref (res), NULL);
}

/* ---- the D-Bus object: its creator's, and root's ------------------------- */

static void
handle_start (BktTransaction *self, GDBusMethodInvocation *invocation)
{
  g_autoptr(GTask) task = NULL;

  if (self->state != STATE_PENDING)
    {
      bkt_error_return (invocation, g_error_new (BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                                 "transaction %s is already %s", self->path,
                                                 state_names[self->state]));
      return;
    }

  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  set_state (self, STATE_RUNNING);
  g_dbus_method_invocation_return_value (invocation, NULL);

  task = g_task_new (self, self->cancellable, run_done, NULL);
  g_task_set_task_data (task, json_object_new (), (GDestroyNotify) json_object_unref);
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, run_in_thread);
}

void
bkt_transaction_cancel (BktTransaction *self)
{
  if (self->state == STATE_PENDING)
    {
      g_autoptr(GError) error = g_error_new (BKT_ERROR, BKT_ERROR_CANCELLED,
                                             "transaction %s was cancelled before it started",
                                             self->path);
      finish (self, STATE_CANCELLED, NULL, error);
    }
  else if (self->state == STATE_RUNNING)
    g_cancellable_cancel (self->cancellable);
}

/* Properties.Get/GetAll, answered from the (never exported) skeleton that
 * holds the values; all are read-only. */
static void
handle_properties (BktTransaction *self, GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *params = g_dbus_method_invocation_get_parameters (invocation);
  /* (a full reference already: g_variant_take_ref() inside) */
  g_autoptr(GVariant) all = g_dbus_interface_skeleton_get_properties (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  const char *iface = NULL, *name = NULL;
  g_autoptr(GVariant) value = NULL;

  g_variant_get_child (params, 0, "&s", &iface);
  if (g_str_equal (method, "GetAll") && g_str_equal (iface, TX_IFACE))
    {
      g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple (&all, 1));
      return;
    }
  if (g_str_equal (method, "Get") && g_str_equal (iface, TX_IFACE))
    {
      g_variant_get_child (params, 1, "&s", &name);
      value = g_variant_lookup_value (all, name, NULL);
      if (value != NULL)
        {
          g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
          return;
        }
    }
  bkt_error_return (invocation, g_error_new (BKT_ERROR, g_str_equal (method, "Set") ? BKT_ERROR_NOT_SUPPORTED
                                                                                    : BKT_ERROR_INVALID_ARGUMENT,
                                             "%s %s.%s: the properties of a transaction are read-only: "
                                             "Get or GetAll of %s", method, iface, name ? name : "", TX_IFACE));
}

/* The caller may: dispatch. */
static void
handle_allowed (BktTransaction *self, GDBusMethodInvocation *invocation)
{
  const char *iface = g_dbus_method_invocation_get_interface_name (invocation);
  const char *method = g_dbus_method_invocation_get_method_name (invocation);

  if (g_strcmp0 (iface, "org.freedesktop.DBus.Properties") == 0)
    handle_properties (self, invocation);
  else if (g_str_equal (method, "Start"))
    handle_start (self, invocation);
  else
    {
      bkt_transaction_cancel (self);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
}

/* The same words whether @path is someone else's transaction or none at
 * all: a refusal must not tell which transactions exist. */
static void
refuse (const char *path, GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);

  bkt_error_return (invocation, g_error_new (BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                                             g_str_equal (method, "Start")
                                               ? "only the creator of %s may start it"
                                               : g_str_equal (method, "Cancel")
                                                   ? "only the creator of %s (or root) may cancel it"
                                                   : "only the creator of %s (or root) may read it",
                                             path));
}

static BktTransaction *
tree_lookup (TxTree *tree, const char *path)
{
  const char *node = node_of (path);

  return node != NULL ? g_hash_table_lookup (tree->by_node, node) : NULL;
}

static void
on_caller_uid (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  TxTree *tree = g_object_get_data (G_OBJECT (invocation), "bkt-transaction-tree");
  const char *path = g_dbus_method_invocation_get_object_path (invocation);
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, NULL);
  BktTransaction *self;
  guint32 uid = (guint32) -1;

  if (reply != NULL)
    g_variant_get (reply, "(u)", &uid);
  /* Looked up again: it may have expired while the bus answered. */
  self = tree_lookup (tree, path);
  if (uid != 0)
    refuse (path, g_steal_pointer (&invocation));
  else if (self == NULL)
    g_dbus_method_invocation_return_error (g_steal_pointer (&invocation), G_DBUS_ERROR,
                                           G_DBUS_ERROR_UNKNOWN_OBJECT, "no transaction %s (it may have expired)",
                                           path);
  else
    handle_allowed (self, g_steal_pointer (&invocation));
}

/* Its creator may do anything with it; root may read and cancel it (an
 * administrator stopping a runaway change), not start it; anyone else
 * learns nothing, not even whether it exists (docs/architecture.md,
 * "Security model"). */
static void
on_method_call (GDBusConnection *connection, const char *sender, const char *path, const char *iface,
                const char *method, GVariant *params, GDBusMethodInvocation *invocation, gpointer user_data)
{
  TxTree *tree = user_data;
  BktTransaction *self = tree_lookup (tree, path);

  if (self != NULL && (self->owner == NULL || g_strcmp0 (sender, self->owner) == 0))
    handle_allowed (self, invocation);
  else if (g_str_equal (method, "Start") || sender == NULL)
    refuse (path, invocation);
  else
    {
      /* The tree lives as long as the connection, which the call holds. */
      g_object_set_data (G_OBJECT (invocation), "bkt-transaction-tree", tree);
      g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                              "GetConnectionUnixUser", g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(u)"),
                              G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_caller_uid, invocation);
    }
}

static gboolean
on_start_timeout (gpointer user_data)
{
  BktTransaction *self = user_data;
  g_autoptr(GError) error = NULL;

  self->start_timeout_id = 0;
  error = g_error_new (BKT_ERROR, BKT_ERROR_TIMED_OUT,
                       "transaction %s was not started within %d seconds",
                       self->path, BKT_TRANSACTION_START_TIMEOUT_SECONDS);
  finish (self, STATE_CANCELLED, NULL, error);
  return G_SOURCE_REMOVE;
}

static void
on_owner_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  BktTransaction *self = user_data;

  if (self->state == STATE_PENDING)
    {
      g_autoptr(GError) error = g_error_new (BKT_ERROR, BKT_ERROR_CANCELLED,
                                             "the creator of %s left before starting it",
                                             self->path);
      finish (self, STATE_CANCELLED, NULL, error);
    }
}

BktTransaction *
bkt_transaction_new (GDBusConnection   *connection,
                     const char        *kind,
                     const char        *owner,
                     BktPlan           *plan,
                     BktTransactionFunc func,
                     gpointer           user_data,
                     GDestroyNotify     destroy)
{
  static guint counter = 0;
  BktTransaction *self = g_object_new (BKT_TYPE_TRANSACTION, NULL);
  g_autoptr(JsonNode) plan_json = bkt_plan_to_json (plan);
  g_autofree char *plan_text = node_to_text (plan_json);

  self->connection = g_object_ref (connection);
  self->kind = g_strdup (kind);
  self->owner = g_strdup (owner);
  self->owner_uid = (guint) -1;
  self->plan = g_object_ref (plan);
  self->func = func;
  self->user_data = user_data;
  self->destroy = destroy;
  self->path = g_strdup_printf ("/org/bkt/Daemon1/Transaction/%u", ++counter);

  bkt_dbus_transaction_set_kind (self->skeleton, kind);
  bkt_dbus_transaction_set_plan (self->skeleton, plan_text);
  bkt_dbus_transaction_set_current_operation (self->skeleton, "");
  bkt_dbus_transaction_set_error_name (self->skeleton, "");
  bkt_dbus_transaction_set_error_message (self->skeleton, "");
  bkt_dbus_transaction_set_result (self->skeleton, "");
  set_state (self, STATE_PENDING);

  self->start_timeout_id = g_timeout_add_seconds (BKT_TRANSACTION_START_TIMEOUT_SECONDS,
                                                  on_start_timeout, self);
  if (owner != NULL)
    self->owner_watch = g_bus_watch_name_on_connection (connection, owner,
                                                        G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                        NULL, on_owner_vanished, self, NULL);
  return self;
}

gboolean
bkt_transaction_export (BktTransaction *self, GError **error)
{
  TxTree *tree = tree_get (self->connection, error);

  if (tree == NULL)
    return FALSE;
  g_hash_table_insert (tree->by_node, g_strdup (node_of (self->path)), self);
  self->exported = TRUE;
  return TRUE;
}
