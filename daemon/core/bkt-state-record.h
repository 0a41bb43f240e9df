/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-operation.h"

G_BEGIN_DECLS

/* The state record: per item of one scope, the value bkt last synced —
 * applied from the manifests or recorded into them — so that a difference
 * between the manifests and the machine has a direction.  With base = the
 * record's value:
 *
 *   manifest == live                  in sync
 *   live == base, manifest != base    changed in the manifests  → apply
 *   manifest == base, live != base    changed on this machine   → capture
 *   both != base                      conflict (both values shown)
 *   no base, declared                 never synced here         → apply (never a capture)
 *   no base, not declared             untracked (on the machine only)
 *
 * A value is a fingerprint the subsystem gives (a printed GVariant, a
 * flatpak's origin, a file's checksum…); NULL means "absent" (not
 * installed, not declared).  The user's record is
 * $XDG_STATE_HOME/bkt/state.json, written by the session instance; the
 * system's /var/lib/bkt/state.json (BKT_SYSTEM_STATE_DIR), written only by
 * bktd --system.  A record that is missing is an empty base (the first run:
 * what is in sync is seeded when bkt next acts); one that cannot be read is
 * "two-way": no direction, today's behaviour, a warning — and it is kept
 * aside, never overwritten. */

typedef enum {
  BKT_SYNC_IN_SYNC,
  BKT_SYNC_TO_APPLY,      /* changed in the manifests */
  BKT_SYNC_TO_CAPTURE,    /* changed on this machine */
  BKT_SYNC_CONFLICT,      /* changed on both sides */
  BKT_SYNC_NEVER_SYNCED,  /* declared, never applied here */
  BKT_SYNC_UNTRACKED,     /* on the machine only, not installed by bkt */
  BKT_SYNC_TWO_WAY,       /* no usable record: no direction known */
} BktSyncState;

/* "in-sync", "to-apply", "to-capture", "conflict", "never-synced",
 * "untracked", "two-way" */
const char *bkt_sync_state_to_string (BktSyncState state);
/* Which command resolves it: "none", "apply", "capture", "conflict",
 * "two-way" (never-synced → "apply", untracked → "capture"). */
const char *bkt_sync_state_direction (BktSyncState state);

typedef enum {
  BKT_RECORD_OK,       /* read (possibly empty) */
  BKT_RECORD_MISSING,  /* no file yet: first run on this machine */
  BKT_RECORD_CORRUPT,  /* unreadable, wrong version, too big: two-way */
} BktRecordHealth;

#define BKT_STATE_RECORD_VERSION 1
/* Bounds: a bigger file is refused as corrupt, values longer than
 * BKT_STATE_VALUE_MAX are kept as their SHA-256 ("sha256:HEX"). */
#define BKT_STATE_RECORD_MAX_BYTES (32 * 1024 * 1024)
#define BKT_STATE_RECORD_MAX_ITEMS 200000
#define BKT_STATE_VALUE_MAX 1024

typedef struct {
  char *value;    /* fingerprint; NULL = absent on both sides */
  char *layer;    /* "image", "user" or NULL */
  char *file;     /* manifest file the value came from, or NULL */
  char *command;  /* "apply", "capture", "change", "local-commit", "seed" */
  char *when;     /* ISO 8601, UTC */
} BktRecordEntry;

#define BKT_TYPE_STATE_RECORD (bkt_state_record_get_type ())
G_DECLARE_FINAL_TYPE (BktStateRecord, bkt_state_record, BKT, STATE_RECORD, GObject)

/* The directory of @scope's record: BKT_SYSTEM_STATE_DIR or /var/lib/bkt
 * (system), $XDG_STATE_HOME/bkt (user). */
char *bkt_state_record_default_dir (BktScope scope);

/* Reads DIR/state.json; never fails (see BktRecordHealth).  A warning for
 * the user is in get_warning() when the record is not OK. */
BktStateRecord *bkt_state_record_load (BktScope scope, const char *dir);
BktStateRecord *bkt_state_record_new_empty (BktScope scope);

BktScope        bkt_state_record_get_scope   (BktStateRecord *self);
BktRecordHealth bkt_state_record_get_health  (BktStateRecord *self);
const char     *bkt_state_record_get_warning (BktStateRecord *self);
const char     *bkt_state_record_get_path    (BktStateRecord *self);
guint           bkt_state_record_get_n_items (BktStateRecord *self);

/* The entry of @target or NULL (no base). */
const BktRecordEntry *bkt_state_record_lookup (BktStateRecord *self, const char *target);
/* Sets @target's base; @value is fingerprinted (see BKT_STATE_VALUE_MAX). */
void bkt_state_record_set    (BktStateRecord *self, const char *target, const char *value,
                              const char *layer, const char *file, const char *command);
void bkt_state_record_remove (BktStateRecord *self, const char *target);
/* Every target with an entry, sorted (the strings are the record's). */
GPtrArray *bkt_state_record_get_targets (BktStateRecord *self);

/* Whether bkt itself put @e's value on the machine or into the manifests
 * (apply, capture, a change, local commit) — not a "seed", which only
 * saw the machine and the manifests agree (the value may have been
 * installed by hand or by another tool).  What `apply --prune` may undo. */
gboolean bkt_record_entry_is_bkts (const BktRecordEntry *e);

/* Atomic write of DIR/state.json (mode 0644, the directory made 0755).
 * A corrupt file read earlier is first renamed to state.json.corrupt, so
 * nothing the user had is lost. */
gboolean bkt_state_record_save (BktStateRecord *self, GError **error);

/* The fingerprint kept for @value (itself, or "sha256:HEX" when long). */
char *bkt_state_fingerprint (const char *value);

/* Classifies an item from its manifest and live values (NULL = absent)
 * against the record; @out_base gets the base entry or NULL. */
BktSyncState bkt_state_record_classify (BktStateRecord *self, const char *target,
                                        const char *manifest, const char *live,
                                        const BktRecordEntry **out_base);

G_END_DECLS
