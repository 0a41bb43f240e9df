/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the service's files only: bkt-daemon.c (the object, dispatch,
 * transactions, the Manager methods), bkt-daemon-admin.c (the Admin
 * methods of the system instance) and bkt-daemon-compute.c (the worker's
 * per-kind functions). */

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "bkt-auth.h"
#include "bkt-daemon.h"
#include "bkt-dbus-generated.h"
#include "bkt-engine.h"
#include "bkt-idle.h"
#include "bkt-manifest.h"
#include "bkt-plan.h"
#include "bkt-pr.h"
#include "bkt-transaction.h"
#include "bkt-watcher.h"

G_BEGIN_DECLS

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
  BktIdle         *idle;
  GHashTable      *calls_per_uid; /* uid → method calls in flight (system instance) */
  guint            trim_id;       /* malloc_trim() after a big request */
  BktWatcher      *watcher;       /* session instance only: the drift watcher */
};

/* Everything a client can ask.  Which interface a kind belongs to, what
 * polkit action it needs and which function computes it are in the
 * request table (bkt-daemon.c), not in the order of this enum. */
typedef enum {
  REQ_STATUS,
  REQ_PLAN,
  REQ_APPLY,
  REQ_CAPTURE_PLAN,
  REQ_CAPTURE,
  REQ_CHANGE_PLAN,
  REQ_CHANGE,
  REQ_REPO_CHANGE_PLAN,     /* ChangePlan of a repo-side tool (upstream, base) */
  REQ_REPO_CHANGE,          /* Change of a repo-side tool: proposed only */
  REQ_LOCAL_LIST,
  REQ_LOCAL_COMMIT,
  REQ_PR_RETRY,
  REQ_DOCTOR,               /* what bkt depends on, checked (bkt doctor) */
  REQ_PROFILE,              /* this machine's state, every subsystem (bkt profile) */
  REQ_EXPLAIN,
  REQ_FLATPAK_INSTALL,
  REQ_FLATPAK_UNINSTALL,
  REQ_PACKAGES_INSTALL,
  REQ_PACKAGES_UNINSTALL,
  REQ_COPR_ENABLE,
  REQ_COPR_DISABLE,
  REQ_COPR_REMOVE,
  REQ_BOOTC_STATUS,
  REQ_BOOTC_UPGRADE,
  REQ_BOOTC_ROLLBACK,
  REQ_BOOTC_SWITCH,
  REQ_SYSTEMCTL_STATUS,
  REQ_SYSTEMCTL_MANAGE,
  N_REQUEST_KINDS
} RequestKind;

typedef enum {
  REQUEST_FAMILY_MANAGER,   /* org.bkt.Daemon1.Manager: manifests, changes, the PR queue */
  REQUEST_FAMILY_ADMIN,     /* org.bkt.Daemon1.Admin: one privileged action (system only) */
} RequestFamily;

/* The Manager methods' a{sv} options (bkt_daemon_parse_options). */
typedef struct {
  GStrv     only;
  GStrv     exclude;
  char     *manifests_dir;     /* session: a directory instead of the layered set */
  char     *image_manifests_dir; /* session: another image layer, a staged image's (bkt upgrade) */
  char     *content;           /* system: the system-scope manifests, as JSON */
  gboolean  dry_run;
  gboolean  force;
  BktResolve resolve;          /* "resolve": theirs/ours (apply, capture) */
  GStrv     targets;           /* "targets": capture only these items */
  char     *item;              /* Explain: the item asked about */
  gboolean  prune;             /* "prune": Plan and Apply only */
  GStrv     select;            /* Capture: only these items */
  gboolean  all_untracked;     /* Capture: every untracked item too */
} RequestOptions;

/* A Change: one subsystem's typed edit (Manager Change*, and the Admin
 * flatpak/packages/COPR methods, which are system-scope changes). */
typedef struct {
  char     *subsystem;
  char     *action;
  GVariant *arguments;
} ChangeArgs;

/* Punning and the PR queue (session instance). */
typedef struct {
  gboolean       mode_set;    /* absent: act + record only, as before punning */
  BktChangeMode  mode;
  char          *repo_dir;
  char          *cwd;
  char          *command;
  gboolean       skip_preflight;
  GArray        *ids;         /* LocalCommit: gint64 */
} PunArgs;

/* What polkit's agent shows for an Admin action, and its validated input. */
typedef struct {
  GStrv   details;            /* key/value pairs for polkit */
  GStrv   units;              /* SystemctlStatus */
} AdminArgs;

/* What the worker computed. */
typedef struct {
  BktManifestSet *manifests;
  BktEngine      *engine;
  BktPlan        *plan;
  JsonObject     *status;     /* Status, Explain, BootcStatus, SystemctlStatus */
  JsonObject     *queue;      /* LocalList */
  JsonObject     *preview;    /* ChangePlan: the PR that would be opened */
  JsonObject     *preflight;
  gboolean        layers_packages; /* Apply: the loaded set declares packages or COPR repos */
  char           *packages_summary; /* … which, for polkit's prompt */
  char           *plan_prompt;     /* system Apply: what its plan does, for polkit's prompt */
} RequestResult;

/* One method call, from its arguments to its reply. */
typedef struct {
  BktDaemon             *daemon;
  RequestKind            kind;
  GDBusMethodInvocation *invocation;
  BktIdleLocker         *locker;       /* the daemon stays while the call is handled */
  guint                  uid;          /* the caller's (system instance), once looked up */
  gboolean               uid_counted;  /* counted in calls_per_uid */
  gboolean               computed;     /* the worker ran (a system Apply runs it before polkit) */
  gboolean               apply_authorized;    /* system Apply: org.bkt.apply asked, after planning */
  gboolean               packages_authorized; /* Apply with packages: org.bkt.packages asked too */
  gboolean               insecure_authorized; /* org.bkt.insecure-repo asked too */
  gboolean               prune_authorized; /* Apply with "prune": the removals' actions asked too */
  gboolean               insecure;    /* disables a repo's signature checks (CoprEnable gpg_check=false) */
  RequestOptions         opt;
  ChangeArgs             change;
  PunArgs                pun;
  AdminArgs              admin;
  RequestResult          out;
} Request;

/* Runs in a worker thread: fills @r->out or sets @error. */
typedef gboolean (*RequestComputeFunc) (Request *r, GCancellable *cancellable, GError **error);

/* What a transaction carries from its request to its execution. */
typedef struct {
  BktEngine       *engine;      /* NULL: nothing local to run (admin ops, repo changes) */
  BktManifestSet  *manifests;
  GDBusConnection *connection;
} TransactionWork;

void transaction_work_free (gpointer work);

/* One row per kind. */
typedef struct {
  const char         *method;     /* the D-Bus method (logs, errors) */
  RequestFamily       family;
  const char         *action_id;  /* polkit (system instance); NULL: session only */
  const char         *tx_kind;    /* NULL: replies with JSON, no transaction */
  RequestComputeFunc  compute;
  BktTransactionFunc  execute;    /* with @tx_kind: runs the plan (user_data: TransactionWork) */
} RequestInfo;

const RequestInfo *bkt_daemon_request_info (RequestKind kind);
Request *bkt_daemon_request_new  (void);
void     bkt_daemon_request_free (Request *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, bkt_daemon_request_free)
/* The kind of transaction @kind starts ("copr-enable"), NULL for a query. */
const char *bkt_daemon_request_tx_kind (RequestKind kind);
/* Validates the common options, asks polkit (system instance), runs the
 * worker and replies (or returns a transaction); takes @r (NULL: a new
 * one).  Always TRUE (the invocation is handled). */
gboolean bkt_daemon_dispatch     (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *invocation,
                                  GVariant *options, Request *r);
/* A name that goes into a plan: not empty, bounded, no control characters,
 * not starting with "-". */
gboolean bkt_daemon_check_name   (const char *what, const char *value, GError **error);
/* An item named by a caller (Explain, Capture's "select"): bounded UTF-8
 * text without control characters (bkt-daemon-options.c). */
gboolean bkt_daemon_check_item   (const char *item, GError **error);
/* @options into @r->opt (and the PR's options), or InvalidArgument. */
gboolean bkt_daemon_parse_options (Request *r, GVariant *options, GError **error);
/* Connects the Admin interface's method handlers (bkt-daemon-admin.c). */
void     bkt_daemon_admin_connect (BktDBusAdmin *admin, BktDaemon *self);

/* The worker's functions, one per kind (bkt-daemon-compute.c). */
gboolean bkt_compute_status         (Request *r, GCancellable *c, GError **error);
/* bkt-daemon-doctor.c, bkt-daemon-profile.c */
gboolean bkt_compute_doctor         (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_profile        (Request *r, GCancellable *c, GError **error);
/* The manifests the options name (the layered set, -m DIR; the system
 * instance: the content sent). */
BktManifestSet *bkt_daemon_load_manifests (Request *r, GError **error);
gboolean bkt_compute_explain        (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_apply_plan     (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_capture_plan   (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_change         (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_repo_change    (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_queue          (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_system_change  (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_bootc_status   (Request *r, GCancellable *c, GError **error);
gboolean bkt_compute_systemctl_status (Request *r, GCancellable *c, GError **error);
/* Admin bootc/systemctl changes: planned by the handler from the validated
 * arguments, nothing left to compute. */
gboolean bkt_compute_nothing        (Request *r, GCancellable *c, GError **error);
/* Transactions' bodies (bkt-daemon-compute.c): the engine's plan and the
 * PR work after it; a single admin operation. */
gboolean bkt_execute_engine   (BktTransaction *tx, BktExecContext *ctx, JsonObject *result,
                               GCancellable *cancellable, gpointer work, GError **error);
gboolean bkt_execute_admin_op (BktTransaction *tx, BktExecContext *ctx, JsonObject *result,
                               GCancellable *cancellable, gpointer work, GError **error);
/* The part of a session plan that only the system instance may do, as the
 * "system_request" member of @plan_json. */
void     bkt_daemon_add_system_request (Request *r, JsonObject *plan_json);

G_END_DECLS
