/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Atomic replacement of @path: a temporary file beside it (same file
 * system), written, chmod'ed to @mode, fsync'ed and renamed over @path, so
 * readers see the old or the new file, never half of one. */
gboolean bkt_write_file_atomic (const char *path, const char *data, gsize length,
                                int mode, GError **error);
/* Remove @path and, for a directory, everything under it, never following
 * symbolic links (a link is removed, not what it points to).  A missing
 * @path is not an error. */
gboolean bkt_rm_rf (const char *path, GError **error);

G_END_DECLS
