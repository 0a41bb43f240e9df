/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-engine.h"
#include "bkt-manifest.h"

G_BEGIN_DECLS

/* Which instances create a subsystem (bit per BktInstance). */
typedef enum {
  BKT_INSTANCES_SESSION = 1 << BKT_INSTANCE_SESSION,
  BKT_INSTANCES_SYSTEM  = 1 << BKT_INSTANCE_SYSTEM,
  BKT_INSTANCES_BOTH    = BKT_INSTANCES_SESSION | BKT_INSTANCES_SYSTEM,
} BktInstances;

/* Scopes a subsystem's operations can have (bit per BktScope). */
typedef enum {
  BKT_SCOPES_USER   = 1 << BKT_SCOPE_USER,
  BKT_SCOPES_SYSTEM = 1 << BKT_SCOPE_SYSTEM,
} BktScopes;

/* A manifest kind a subsystem owns; @status_member names the member of
 * the subsystem's status that lists the kind's entries (NULL: the
 * subsystem lists them itself). */
typedef struct {
  BktManifestKind kind;
  const char     *status_member;
} BktSubsystemManifest;

#define BKT_SUBSYSTEM_MAX_MANIFESTS 2

/* One row per subsystem: everything the engine, option parsing, status
 * and documentation need to know about it.  Adding a subsystem is one
 * folder (daemon/subsystems/NAME/) and one row (bkt-subsystem-registry.c). */
typedef struct {
  const char          *name;          /* as in operations, status and the API */
  const char * const  *aliases;       /* also accepted from users (--only gsetting) */
  BktInstances         instances;     /* which instances create it */
  BktScopes            scopes;        /* scopes of its operations */
  gboolean             on_request_only; /* only when a request names it */
  guint                n_manifests;   /* the manifest kinds it owns */
  BktSubsystemManifest manifests[BKT_SUBSYSTEM_MAX_MANIFESTS];
  /* The check of the field that names an entry of manifests[0] (app id,
   * schema, uuid…): the same function the manifest loader applies to that
   * field, so a name the plan refuses never loads.  NULL: no single field. */
  char              *(*check_entry_name) (const char *value);
  BktSubsystem      *(*create)           (BktInstance instance);
} BktSubsystemInfo;

/* The table, in execution order (see bkt-subsystem-registry.c for why
 * this order), and its length. */
const BktSubsystemInfo *bkt_subsystem_registry (guint *n_rows);
/* The row of @name_or_alias, or NULL. */
const BktSubsystemInfo *bkt_subsystem_registry_lookup (const char *name_or_alias);
/* Replaces every alias in @names by its canonical name, in place; FALSE
 * with BKT_ERROR_INVALID_ARGUMENT naming the known ones if a name is
 * unknown.  @names may be NULL. */
gboolean bkt_subsystem_registry_canonicalize (char **names, GError **error);
/* "shim, gsettings, …" (canonical names in order), newly allocated. */
char *bkt_subsystem_registry_describe (void);

G_END_DECLS
