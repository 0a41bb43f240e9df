/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The process-wide --dry-run guard.  Once set (the client sets it when a
 * command is parsed with -n/--dry-run), every write through this file —
 * bkt_write_file_atomic, bkt_rm_rf, bkt_fs_unlink, bkt_fs_mkdir_p — is
 * refused with an error naming the path instead of touching the disk: a
 * command that forgot to stop before writing fails loudly rather than
 * changing a file it promised to leave alone.  Commands still check
 * bkt_fs_dry_run() themselves to say what they would do. */
void     bkt_fs_set_dry_run (gboolean dry_run);
gboolean bkt_fs_dry_run (void);
/* g_mkdir_with_parents / g_unlink behind the guard (a missing @path is
 * not an error for bkt_fs_unlink). */
gboolean bkt_fs_mkdir_p (const char *path, int mode, GError **error);
gboolean bkt_fs_unlink (const char *path, GError **error);

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
