/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Files of a skel tree and of the home directory, reached only below a
 * directory file descriptor, one path component at a time with
 * O_NOFOLLOW: a symbolic link anywhere under the root (a directory or the
 * file itself) is refused, so nothing is ever read or written outside it,
 * whatever the tree's author or another process put there.  The root
 * itself is opened normally ($HOME may be a link, /home → /var/home). */

#define BKT_SKEL_MAX_FILE_SIZE  (1024 * 1024)
#define BKT_SKEL_MAX_FILES      10000
#define BKT_SKEL_MAX_DEPTH      32
#define BKT_SKEL_MAX_PATH       1024

/* Why @rel cannot name a skel file (newly allocated), or NULL: it must be
 * relative, UTF-8, without "." or ".." components, empty components or
 * control characters, at most BKT_SKEL_MAX_PATH bytes. */
char    *bkt_skel_check_path (const char *rel);

/* Only permission bits survive (no setuid, setgid or sticky), and the
 * owner can always read the copy (bkt reads it back). */
guint    bkt_skel_clean_mode (guint mode);

/* The regular file @rel below @root_fd: its bytes and permission bits.
 * Absent (here or a missing directory on the way): TRUE with *exists
 * FALSE.  A symbolic link, a non-regular file or one larger than
 * BKT_SKEL_MAX_FILE_SIZE is an error naming @display. */
gboolean bkt_skel_read_at (int root_fd, const char *rel, const char *display, GBytes **contents,
                           guint *mode, gboolean *exists, GError **error);

/* Atomic replacement of @rel below @root_fd (missing directories created
 * 0700, never through a link): a temporary file in the same directory,
 * written, chmod'ed to bkt_skel_clean_mode (@mode), fsync'ed and renamed
 * over it.  A directory or link in its place is refused.  Refused under
 * bkt_fs_dry_run(). */
gboolean bkt_skel_write_at (int root_fd, const char *rel, const char *display, GBytes *contents,
                            guint mode, GError **error);

/* The same in two steps, so that a batch needs one syncfs() instead of
 * one fsync() per file: stage writes the temporary file (fsync'ed when
 * @durable), commit renames it over @rel.  Freeing a staged file that was
 * not committed removes the temporary file. */
typedef struct _BktSkelStaged BktSkelStaged;
BktSkelStaged *bkt_skel_stage_at (int root_fd, const char *rel, const char *display, GBytes *contents,
                                  guint mode, gboolean durable, GError **error);
gboolean       bkt_skel_staged_commit (BktSkelStaged *staged, GError **error);
void           bkt_skel_staged_free (BktSkelStaged *staged);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktSkelStaged, bkt_skel_staged_free)

/* Every regular file below @root (relative paths, sorted), walked
 * without following links; links and other non-regular entries go to
 * @warnings (char *) and are left out.  A missing @root is empty. */
GPtrArray *bkt_skel_list_tree (const char *root, GPtrArray *warnings, GError **error);

G_END_DECLS
