/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-json.h"

G_BEGIN_DECLS

/* What any local user may make the system instance hold or do, checked
 * before polkit and before any parsing work; each refusal is
 * org.bkt.Error.LimitExceeded naming the limit.  The values are an order
 * of magnitude above real use (a distribution's system-scope manifests are
 * a few KiB with some hundred entries), documented in docs/dbus-api.md
 * ("Limits"). */
#define BKT_LIMIT_CONTENT_BYTES       (1024 * 1024)   /* the "manifest" option */
#define BKT_LIMIT_CONTENT_NODES       20000           /* JSON values in it */
#define BKT_LIMIT_CONTENT_DEPTH       BKT_JSON_MAX_DEPTH
#define BKT_LIMIT_ARRAY_LENGTH        1000            /* elements of one array argument */
#define BKT_LIMIT_STRING_BYTES        4096            /* one string argument (but "manifest") */
#define BKT_LIMIT_ARGUMENT_VALUES     10000           /* values in one call's arguments */
#define BKT_LIMIT_CALLS_PER_UID       8               /* method calls in flight per user */
#define BKT_LIMIT_PENDING_PER_CALLER  2               /* pending/running transactions per bus name */
#define BKT_LIMIT_PENDING_PER_UID     4               /* … and per user */

/* Size, nesting depth and number of values of JSON @text, by one scan of
 * its bytes (no parser, no allocation): content past a limit never
 * reaches one.  Not a validation: what passes may still be malformed. */
gboolean bkt_limits_check_content    (const char *text, gsize len, GError **error);

/* Every array, string and the number of values in a method call's
 * @parameters; the string of a "manifest" option is left to
 * bkt_limits_check_content(). */
gboolean bkt_limits_check_parameters (GVariant *parameters, GError **error);

G_END_DECLS
