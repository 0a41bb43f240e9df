/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Every error that crosses the bus is one of these, with a registered name
 * org.bkt.Error.<Name>.  Code that returns errors from other domains to a
 * D-Bus caller must go through bkt_error_to_dbus() first, so that no
 * org.gtk.GDBus.UnmappedGError ever reaches a client. */
typedef enum {
  BKT_ERROR_FAILED,                 /* org.bkt.Error.Failed */
  BKT_ERROR_NOT_AUTHORIZED,         /* org.bkt.Error.NotAuthorized */
  BKT_ERROR_BUSY,                   /* org.bkt.Error.Busy */
  BKT_ERROR_INVALID_MANIFEST,       /* org.bkt.Error.InvalidManifest */
  BKT_ERROR_INVALID_ARGUMENT,       /* org.bkt.Error.InvalidArgument */
  BKT_ERROR_NOT_FOUND,              /* org.bkt.Error.NotFound */
  BKT_ERROR_CANCELLED,              /* org.bkt.Error.Cancelled */
  BKT_ERROR_AUTHORITY_UNAVAILABLE,  /* org.bkt.Error.AuthorityUnavailable */
  BKT_ERROR_NOT_SUPPORTED,          /* org.bkt.Error.NotSupported */
  BKT_ERROR_TIMED_OUT,              /* org.bkt.Error.TimedOut */
  BKT_ERROR_LIMIT_EXCEEDED,         /* org.bkt.Error.LimitExceeded: the message names the limit */
  BKT_ERROR_CONFLICT,               /* org.bkt.Error.Conflict */
} BktError;

#define BKT_ERROR (bkt_error_quark ())
GQuark bkt_error_quark (void);

/* The D-Bus name of @code, e.g. "org.bkt.Error.Busy". */
const char *bkt_error_code_to_name (BktError code);

/* Map any GError to a BKT_ERROR in place (G_IO_ERROR_CANCELLED → Cancelled,
 * G_IO_ERROR_NOT_FOUND → NotFound, anything unknown → Failed, message kept). */
void bkt_error_normalize (GError **error);

/* Return @error to @invocation with a registered name; takes ownership. */
void bkt_error_return (GDBusMethodInvocation *invocation, GError *error);

/* Exit code for the client for a (remote) error. See bkt(1). */
int bkt_error_exit_code (const GError *error);

G_END_DECLS
