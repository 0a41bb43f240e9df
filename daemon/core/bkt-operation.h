/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  BKT_SCOPE_USER,
  BKT_SCOPE_SYSTEM,
} BktScope;

/* When an operation's effect is visible to the user. */
typedef enum {
  BKT_EFFECT_LIVE,        /* immediately */
  BKT_EFFECT_NEXT_LOGIN,  /* e.g. a setting read only at session start */
  BKT_EFFECT_REBOOT,      /* e.g. a layered package */
  BKT_EFFECT_MANIFEST,    /* changes a manifest file, not the system */
} BktEffect;

const char *bkt_scope_to_string   (BktScope scope);   /* "user", "system" */
gboolean    bkt_scope_from_string (const char *s, BktScope *out);
const char *bkt_effect_to_string  (BktEffect effect); /* "live", "next-login", "reboot", "manifest" */

/* One typed, immutable step of a plan.
 *
 * @subsystem: "flatpak", "gsettings", ...
 * @action: verb understood by that subsystem's executor, e.g. "install",
 *   "uninstall", "add-remote", "set", "reset"; manifest edits made by
 *   capture/change use "record" and "forget" (executed by the engine).
 * @target: "flatpak:org.gnome.Boxes", "gsetting:org.gnome.desktop.interface.clock-format", ...
 * @summary: one human line, e.g. "Install flatpak:org.gnome.Boxes (flathub, system)".
 * @details: everything the executor needs (sealed, never modified again). */
#define BKT_TYPE_OPERATION (bkt_operation_get_type ())
G_DECLARE_FINAL_TYPE (BktOperation, bkt_operation, BKT, OPERATION, GObject)

BktOperation *bkt_operation_new (const char *subsystem,
                                 const char *action,
                                 const char *target,
                                 BktScope    scope,
                                 BktEffect   effect,
                                 const char *summary,
                                 JsonObject *details);

/* "subsystem:action:target@scope", unique within a plan. */
const char *bkt_operation_get_id        (BktOperation *self);
const char *bkt_operation_get_subsystem (BktOperation *self);
const char *bkt_operation_get_action    (BktOperation *self);
const char *bkt_operation_get_target    (BktOperation *self);
BktScope    bkt_operation_get_scope     (BktOperation *self);
BktEffect   bkt_operation_get_effect    (BktOperation *self);
const char *bkt_operation_get_summary   (BktOperation *self);
/* Never NULL (an empty object when created without details). */
JsonObject *bkt_operation_get_details   (BktOperation *self);
/* Convenience: string member of details or NULL. */
const char *bkt_operation_get_detail_string (BktOperation *self, const char *member);

/* Three-way classification (bkt-state-record.h), set once by the engine
 * before the plan is built: {"state", "direction", "base": {"value",
 * "layer", "file", "command", "when"} | null, "manifest", "live"}. */
void        bkt_operation_set_sync       (BktOperation *self, JsonObject *sync);
JsonObject *bkt_operation_get_sync       (BktOperation *self);  /* NULL: not classified */
const char *bkt_operation_get_sync_state (BktOperation *self);  /* "to-apply", … or NULL */

/* {"id","subsystem","action","target","scope","effect","summary","details"}
 * plus, when classified, "direction", "base" (the record's entry or null)
 * and "sync" (as set above). */
JsonNode   *bkt_operation_to_json (BktOperation *self);

G_END_DECLS
