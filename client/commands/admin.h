/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-client.h"

G_BEGIN_DECLS

/* The "os" section of `bkt status`: the system instance's BootcStatus, or
 * why it is not available.  Never fails:
 *   {"available": b, "reason": s (when not available), "bootc": {…}}. */
JsonObject *bkt_admin_os_section (BktClient *client);
void        bkt_admin_print_os_section (JsonObject *os);

/* A mutating command's clear yes: @confirm (--confirm/-y), or "yes" typed
 * on a terminal.  FALSE with *@code set (2 without a terminal, 130 when
 * declined) after saying why. */
gboolean    bkt_admin_confirm (gboolean confirm, const char *what, int *code);

G_END_DECLS
