/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"

static gboolean
fail_errno (GError **error, const char *what, const char *path, int saved_errno)
{
  g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "Cannot %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean fs_dry_run;

void
bkt_fs_set_dry_run (gboolean dry_run)
{
  fs_dry_run = dry_run;
}

gboolean
bkt_fs_dry_run (void)
{
  return fs_dry_run;
}

/* FALSE (with the error) when the dry-run guard is set. */
static gboolean
guard (const char *what, const char *path, GError **error)
{
  if (!fs_dry_run)
    return TRUE;
  g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
               "--dry-run: refusing to %s %s (nothing was changed)", what, path);
  return FALSE;
}

gboolean
bkt_fs_mkdir_p (const char *path, int mode, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (!guard ("create", path, error))
    return FALSE;
  if (g_mkdir_with_parents (path, mode) != 0)
    return fail_errno (error, "create", path, errno);
  return TRUE;
}

gboolean
bkt_fs_unlink (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    return TRUE;
  if (!guard ("remove", path, error))
    return FALSE;
  if (g_unlink (path) < 0 && errno != ENOENT)
    return fail_errno (error, "remove", path, errno);
  return TRUE;
}

gboolean
bkt_write_file_atomic (const char *path, const char *data, gsize length, int mode, GError **error)
{
  g_autofree char *tmp = NULL;
  int fd;
  int saved;

  if (!guard ("write", path, error))
    return FALSE;
  tmp = g_strdup_printf ("%s.bkt-XXXXXX", path);
  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail_errno (error, "create a temporary file for", path, errno);
  while (length > 0)
    {
      gssize n = write (fd, data, length);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      data += n;
      length -= (gsize) n;
    }
  /* fchmod, not the create mode: that one is filtered by the umask. */
  if (fchmod (fd, (mode_t) mode) < 0 || fsync (fd) < 0)
    goto fail;
  if (close (fd) < 0)
    {
      fd = -1;
      goto fail;
    }
  fd = -1;
  if (g_rename (tmp, path) < 0)
    goto fail;
  return TRUE;

fail:
  saved = errno;
  if (fd >= 0)
    (void) close (fd);
  (void) g_unlink (tmp);
  return fail_errno (error, "write", path, saved);
}

gboolean
bkt_rm_rf (const char *path, GError **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) < 0)
    return errno == ENOENT ? TRUE : fail_errno (error, "inspect", path, errno);
  if (!guard ("remove", path, error))
    return FALSE;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, error);
      const char *name;

      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          if (!bkt_rm_rf (child, error))
            return FALSE;
        }
      if (g_rmdir (path) < 0)
        return fail_errno (error, "remove", path, errno);
      return TRUE;
    }
  if (g_unlink (path) < 0 && errno != ENOENT)
    return fail_errno (error, "remove", path, errno);
  return TRUE;
}
