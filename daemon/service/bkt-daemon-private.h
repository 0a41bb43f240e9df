/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by bkt-daemon.c (the object, requests, the worker, transactions,
 * the Manager methods) and bkt-daemon-admin.c (the Admin methods of the
 * system instance) only. */

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "bkt-daemon.h"
#include "bkt-dbus-generated.h"
#include "bkt-engine.h"
#include "bkt-manifest.h"
#include "bkt-plan.h"
#include "bkt-pr.h"

G_BEGIN_DECLS

typedef enum {
  REQ_STATUS,
  REQ_PLAN,
  REQ_APPLY,
  REQ_CAPTURE_PLAN,
  REQ_CAPTURE,
  REQ_CHANGE_PLAN,
  REQ_CHANGE,
  REQ_FLATPAK_INSTALL,
  REQ_FLATPAK_UNINSTALL,
  REQ_PACKAGES_INSTALL,
  REQ_PACKAGES_UNINSTALL,
  REQ_COPR_ENABLE,
  REQ_COPR_DISABLE,
  REQ_COPR_REMOVE,
  REQ_LOCAL_LIST,
  REQ_LOCAL_COMMIT,
  REQ_PR_RETRY,
  REQ_BOOTC_STATUS,
  REQ_BOOTC_UPGRADE,
  REQ_BOOTC_ROLLBACK,
  REQ_BOOTC_SWITCH,
  REQ_SYSTEMCTL_STATUS,
  REQ_SYSTEMCTL_MANAGE,
} RequestKind;

/* Admin requests beyond flatpak: no manifests, a plan built from the
 * validated arguments (bkt-admin-ops.c). */
#define IS_ADMIN_REQUEST(kind) ((kind) >= REQ_BOOTC_STATUS)

/* One method call, from its arguments to its reply. */
typedef struct {
  BktDaemon             *daemon;
  RequestKind            kind;
  GDBusMethodInvocation *invocation;
  /* options */
  GStrv                  only;
  GStrv                  exclude;
  char                  *manifests_dir;
  char                  *image_manifests_dir;  /* another image layer: a staged image's (bkt upgrade) */
  char                  *content;
  gboolean               dry_run;
  gboolean               force;
  /* change */
  char                  *subsystem;
  char                  *action;
  GVariant              *arguments;
  char                  *target;      /* for polkit details */
  /* punning (session instance) */
  gboolean               mode_set;    /* absent: act + record only, as before punning */
  BktChangeMode          mode;
  char                  *repo_dir;
  char                  *cwd;
  char                  *command;
  gboolean               skip_preflight;
  GArray                *ids;         /* LocalCommit: gint64 */
  JsonObject            *preview;     /* ChangePlan: the PR that would be opened */
  JsonObject            *preflight;
  JsonObject            *queue;       /* LocalList */
  GStrv                  details;     /* polkit details (admin), instead of target */
  GStrv                  units;       /* SystemctlStatus */
  gboolean               packages_authorized; /* Apply with packages: org.bkt.packages asked too */
  gboolean               insecure_authorized; /* org.bkt.insecure-repo asked too */
  gboolean               insecure;    /* disables a repo's signature checks (CoprEnable gpg_check=false) */
  /* results of the worker */
  BktManifestSet        *manifests;
  BktEngine             *engine;
  BktPlan               *plan;
  JsonObject            *status;
} Request;

void     bkt_daemon_request_free (Request *r);
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
/* Connects the Admin interface's method handlers (bkt-daemon-admin.c). */
void     bkt_daemon_admin_connect (BktDBusAdmin *admin, BktDaemon *self);

G_END_DECLS
