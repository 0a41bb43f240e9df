/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-client.h"

G_BEGIN_DECLS

/* The "os" section of `bkt status`: the system instance's BootcStatus, or
 * why it is not available.  Never fails:
 *   {"available": b, "reason": s (when not available), "bootc": {…}}. */
JsonObject *bkt_os_section             (BktClient *client);
void        bkt_os_print_section       (JsonObject *os);
/* A BootcStatus document as text: booted, staged, rollback, what is next. */
void        bkt_os_print_bootc_status  (JsonObject *status);
/* The object member @member of @o, or NULL (either NULL, or not an object). */
JsonObject *bkt_os_member_object       (JsonObject *o, const char *member);

G_END_DECLS
