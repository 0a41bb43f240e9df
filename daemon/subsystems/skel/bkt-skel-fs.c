/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-skel-fs.h"

char *
bkt_skel_check_path (const char *rel)
{
  g_auto(GStrv) parts = NULL;

  if (rel == NULL || *rel == '\0')
    return g_strdup ("an empty path");
  if (strlen (rel) > BKT_SKEL_MAX_PATH)
    return g_strdup_printf ("longer than %d bytes", BKT_SKEL_MAX_PATH);
  if (!g_utf8_validate (rel, -1, NULL))
    return g_strdup ("not UTF-8");
  if (*rel == '/')
    return g_strdup ("an absolute path (skel paths are relative to the home directory)");
  for (const char *p = rel; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return g_strdup ("a control character");
  parts = g_strsplit (rel, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (*parts[i] == '\0')
        return g_strdup ("an empty path component");
      if (g_str_equal (parts[i], "..") || g_str_equal (parts[i], "."))
        return g_strdup_printf ("a “%s” component (path traversal)", parts[i]);
      if (strlen (parts[i]) > 255)
        return g_strdup ("a component longer than 255 bytes");
    }
  return NULL;
}

guint
bkt_skel_clean_mode (guint mode)
{
  return (mode & 0777) | 0400;
}

static gboolean
fail_errno (GError **error, const char *what, const char *display, int saved)
{
  if (saved == ELOOP || saved == ENOTDIR)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s: a symbolic link or a file stands where a directory or file belongs: refused",
                        display), FALSE;
  return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot %s %s: %s", what, display,
                      g_strerror (saved)), FALSE;
}

/* The directory of @rel's last component, opened component by component
 * below @root_fd without following links; created when @create.  -1 with
 * *missing when a component is absent and !@create. */
static int
open_parent (int root_fd, const char *rel, gboolean create, const char *display, const char **leaf,
             gboolean *missing, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (rel, "/", -1);
  guint n = g_strv_length (parts);
  int fd = dup (root_fd);

  *missing = FALSE;
  *leaf = strrchr (rel, '/') != NULL ? strrchr (rel, '/') + 1 : rel;
  if (fd < 0)
    return fail_errno (error, "open", display, errno), -1;
  for (guint i = 0; i + 1 < n; i++)
    {
      int next = openat (fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

      if (next < 0 && errno == ENOENT && create)
        {
          if (bkt_fs_dry_run ())
            {
              close (fd);
              return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                                  "dry run: refusing to create a directory for %s", display), -1;
            }
          if (mkdirat (fd, parts[i], 0700) < 0 && errno != EEXIST)
            {
              int saved = errno;
              close (fd);
              return fail_errno (error, "create a directory for", display, saved), -1;
            }
          next = openat (fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
      if (next < 0)
        {
          int saved = errno;

          close (fd);
          if (saved == ENOENT)
            return *missing = TRUE, -1;
          return fail_errno (error, "open the directory of", display, saved), -1;
        }
      close (fd);
      fd = next;
    }
  return fd;
}

static GBytes *
read_fd (int fd, gsize size, const char *display, GError **error)
{
  g_autofree char *buf = g_malloc (size + 1);
  gsize got = 0;

  while (got <= size)
    {
      gssize r = read (fd, buf + got, size + 1 - got);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return fail_errno (error, "read", display, errno), NULL;
      if (r == 0)
        break;
      got += (gsize) r;
    }
  /* It grew while being read: no half-read file is ever copied. */
  if (got > size)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s changed while being read", display), NULL;
  return g_bytes_new_take (g_steal_pointer (&buf), got);
}

gboolean
bkt_skel_read_at (int root_fd, const char *rel, const char *display, GBytes **contents, guint *mode,
                  gboolean *exists, GError **error)
{
  const char *leaf;
  gboolean missing;
  int dir, fd;
  struct stat st;

  *exists = FALSE;
  *contents = NULL;
  dir = open_parent (root_fd, rel, FALSE, display, &leaf, &missing, error);
  if (dir < 0)
    return missing;
  /* O_NONBLOCK: a FIFO planted there must not hang the daemon. */
  fd = openat (dir, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close (dir);
  if (fd < 0)
    return errno == ENOENT ? TRUE : fail_errno (error, "open", display, errno);
  if (fstat (fd, &st) < 0)
    {
      int saved = errno;
      close (fd);
      return fail_errno (error, "inspect", display, saved);
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s is not a regular file: refused",
                          display), FALSE;
    }
  if (st.st_size > BKT_SKEL_MAX_FILE_SIZE)
    {
      close (fd);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_LIMIT_EXCEEDED, "%s is larger than %d bytes: refused",
                          display, BKT_SKEL_MAX_FILE_SIZE), FALSE;
    }
  *contents = read_fd (fd, (gsize) st.st_size, display, error);
  close (fd);
  if (*contents == NULL)
    return FALSE;
  *mode = st.st_mode & 07777;
  *exists = TRUE;
  return TRUE;
}

static gboolean
write_all (int fd, const char *data, gsize length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      length -= (gsize) n;
    }
  return TRUE;
}

struct _BktSkelStaged
{
  int   dir;
  char *tmp;      /* NULL once renamed */
  char *leaf;
  char *display;
};

void
bkt_skel_staged_free (BktSkelStaged *s)
{
  if (s->tmp != NULL)
    (void) unlinkat (s->dir, s->tmp, 0);
  close (s->dir);
  g_free (s->tmp);
  g_free (s->leaf);
  g_free (s->display);
  g_free (s);
}

BktSkelStaged *
bkt_skel_stage_at (int root_fd, const char *rel, const char *display, GBytes *contents, guint mode,
                   gboolean durable, GError **error)
{
  g_autoptr(BktSkelStaged) s = NULL;
  const char *leaf;
  gboolean missing;
  struct stat st;
  gsize len = 0;
  const char *data = g_bytes_get_data (contents, &len);
  int dir, fd = -1, saved;

  if (bkt_fs_dry_run ())
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "dry run: refusing to write %s", display), NULL;
  dir = open_parent (root_fd, rel, TRUE, display, &leaf, &missing, error);
  if (dir < 0)
    return NULL;
  s = g_new0 (BktSkelStaged, 1);
  s->dir = dir;
  s->leaf = g_strdup (leaf);
  s->display = g_strdup (display);
  if (fstatat (dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG (st.st_mode))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s is a symbolic link or not a regular file: refused", display), NULL;
  for (guint attempt = 0; fd < 0 && attempt < 16; attempt++)
    {
      g_free (s->tmp);
      s->tmp = g_strdup_printf (".%s.bkt-%08x", leaf, g_random_int ());
      fd = openat (dir, s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      saved = errno;
      g_clear_pointer (&s->tmp, g_free);
      return fail_errno (error, "create a temporary file for", display, saved), NULL;
    }
  /* fchmod, not the create mode: that one is filtered by the umask. */
  if (!write_all (fd, data, len) || fchmod (fd, bkt_skel_clean_mode (mode)) < 0 || (durable && fsync (fd) < 0))
    {
      saved = errno;
      close (fd);
      return fail_errno (error, "write", display, saved), NULL;
    }
  if (close (fd) < 0)
    return fail_errno (error, "write", display, errno), NULL;
  return g_steal_pointer (&s);
}

gboolean
bkt_skel_staged_commit (BktSkelStaged *s, GError **error)
{
  if (renameat (s->dir, s->tmp, s->dir, s->leaf) < 0)
    return fail_errno (error, "write", s->display, errno);
  g_clear_pointer (&s->tmp, g_free);
  return TRUE;
}

gboolean
bkt_skel_write_at (int root_fd, const char *rel, const char *display, GBytes *contents, guint mode,
                   GError **error)
{
  g_autoptr(BktSkelStaged) s = bkt_skel_stage_at (root_fd, rel, display, contents, mode, TRUE, error);

  return s != NULL && bkt_skel_staged_commit (s, error);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Walks @fd (consumed) whose path below the root is @prefix. */
static gboolean
walk (int fd, const char *root, const char *prefix, guint depth, GPtrArray *out, GPtrArray *warnings,
      GError **error)
{
  DIR *d = fdopendir (fd);
  struct dirent *e;
  gboolean ok = TRUE;

  if (d == NULL)
    {
      close (fd);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot read %s/%s: %s", root, prefix,
                          g_strerror (errno)), FALSE;
    }
  while (ok && (e = readdir (d)) != NULL)
    {
      g_autofree char *rel = NULL;
      g_autofree char *why = NULL;
      struct stat st;

      if (g_str_equal (e->d_name, ".") || g_str_equal (e->d_name, ".."))
        continue;
      rel = *prefix != '\0' ? g_strconcat (prefix, "/", e->d_name, NULL) : g_strdup (e->d_name);
      why = bkt_skel_check_path (rel);
      if (why == NULL && fstatat (dirfd (d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        why = g_strdup (g_strerror (errno));
      if (why != NULL)
        {
          g_ptr_array_add (warnings, g_strdup_printf ("skel: %s/%s left out: %s", root, rel, why));
          continue;
        }
      if (S_ISDIR (st.st_mode) && depth < BKT_SKEL_MAX_DEPTH)
        {
          int sub = openat (dirfd (d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

          if (sub < 0)
            g_ptr_array_add (warnings, g_strdup_printf ("skel: %s/%s left out: %s", root, rel, g_strerror (errno)));
          else
            ok = walk (sub, root, rel, depth + 1, out, warnings, error);
        }
      else if (S_ISREG (st.st_mode))
        {
          if (out->len >= BKT_SKEL_MAX_FILES)
            ok = (g_set_error (error, BKT_ERROR, BKT_ERROR_LIMIT_EXCEEDED, "%s holds more than %d files",
                               root, BKT_SKEL_MAX_FILES), FALSE);
          else
            g_ptr_array_add (out, g_steal_pointer (&rel));
        }
      else
        g_ptr_array_add (warnings, g_strdup_printf ("skel: %s/%s left out: %s", root, rel,
                                                    S_ISLNK (st.st_mode) ? "a symbolic link (skel ships regular files only)"
                                                    : S_ISDIR (st.st_mode) ? "nested too deep"
                                                    : "not a regular file"));
    }
  closedir (d);
  return ok;
}

GPtrArray *
bkt_skel_list_tree (const char *root, GPtrArray *warnings, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      if (errno == ENOENT)
        return g_steal_pointer (&out);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot open %s: %s", root, g_strerror (errno)), NULL;
    }
  if (!walk (fd, root, "", 0, out, warnings, error))
    return NULL;
  g_ptr_array_sort (out, compare_strings);
  return g_steal_pointer (&out);
}
