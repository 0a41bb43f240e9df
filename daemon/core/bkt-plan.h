/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-operation.h"

G_BEGIN_DECLS

/* How many items a grouped warning names (the rest are counted). */
#define BKT_PLAN_WARNING_NAMES 8

/* An immutable, ordered list of operations plus warnings.  The same plan is
 * shown by --dry-run and executed by a transaction: there is no other
 * dry-run path. */
#define BKT_TYPE_PLAN (bkt_plan_get_type ())
G_DECLARE_FINAL_TYPE (BktPlan, bkt_plan, BKT, PLAN, GObject)

/* @kind: "apply", "capture" or "change".  @operations (of BktOperation) and
 * @warnings are copied. */
BktPlan *bkt_plan_new (const char         *kind,
                       GPtrArray          *operations,
                       const char * const *warnings);

const char    *bkt_plan_get_kind            (BktPlan *self);
guint          bkt_plan_get_n_operations    (BktPlan *self);
BktOperation  *bkt_plan_get_operation       (BktPlan *self, guint index);
const char * const *bkt_plan_get_warnings   (BktPlan *self);
gboolean       bkt_plan_is_empty            (BktPlan *self);

/* New plans holding only part of this one. */
BktPlan *bkt_plan_filter_scope (BktPlan *self, BktScope scope);
BktPlan *bkt_plan_filter_subsystem (BktPlan *self, const char *subsystem);

/* {"kind","operations":[op...],"warnings":[s...],"count":N} */
JsonNode *bkt_plan_to_json  (BktPlan *self);
/* Text as the client prints it (see bkt_plan_json_describe()). */
char     *bkt_plan_describe (BktPlan *self);

/* Text for a plan in its JSON form: a header per subsystem, one
 * "  ▸ SUMMARY [effect]" line per operation, then "N operation(s) to
 * perform" or "Nothing to do: the system matches the manifests.".
 * Shared by the client, which only ever sees JSON. */
char     *bkt_plan_json_describe (JsonObject *plan);

G_END_DECLS
