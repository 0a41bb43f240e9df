/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-exec-context.h"
#include "bkt-plan.h"

G_BEGIN_DECLS

/* Privileged single operations of org.bkt.Daemon1.Admin beyond flatpak:
 * bootc (subsystem "bootc") and systemd units (subsystem "systemd").
 *
 * Requests are validated and turned into a plan of typed operations here,
 * before polkit is asked; the transaction then executes exactly that plan
 * (bkt_admin_execute()), reading every value from the operations' sealed
 * details.  Nothing of the caller's reaches bootc or systemd otherwise. */

/* Most units one SystemctlManage/SystemctlStatus call accepts. */
#define BKT_ADMIN_MAX_UNITS 64

/* @action: "upgrade", "rollback" or "switch" (@image set).  @options:
 * upgrade {"check": b, "apply": b}, switch {"transport": s, "apply": b},
 * rollback {}.  Unknown options are refused. */
BktPlan *bkt_admin_plan_bootc (const char *action,
                               const char *image,
                               GVariant   *options,
                               GError    **error);

/* Normalized unit names (see bkt_systemd_normalize_unit()), 1 to
 * BKT_ADMIN_MAX_UNITS of them. */
GStrv    bkt_admin_normalize_units (const char * const *units, GError **error);

/* @verb: start, stop, restart, reload, enable, disable, mask, unmask (one
 * operation per unit) or daemon-reload (no units).  @options: {"now": b}. */
BktPlan *bkt_admin_plan_systemctl (const char         *verb,
                                   const char * const *units,
                                   GVariant           *options,
                                   GError            **error);

/* Executes a plan built above.  @connection: the system bus (systemd).
 * Adds "output" (bootc's stdout) and "status" (bootc status after the
 * change, when readable) to @result for bootc plans. */
gboolean bkt_admin_execute (BktPlan         *plan,
                            GDBusConnection *connection,
                            BktExecContext  *ctx,
                            JsonObject      *result,
                            GCancellable    *cancellable,
                            GError         **error);

G_END_DECLS
