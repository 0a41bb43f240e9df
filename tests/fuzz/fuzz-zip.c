/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Extension archives as downloaded from extensions.gnome.org (or a server
 * posing as it): bkt_zip_extract() into a fresh directory on tmpfs.  What
 * it must never do, checked after every run whatever it returned:
 *   - create anything outside the destination (zip-slip "../", absolute
 *     names): the parent holds nothing but the destination;
 *   - create a symbolic link, a device or a FIFO: only files and
 *     directories, files without setuid/setgid bits;
 *   - unpack more than BKT_ZIP_MAX_SIZE bytes (zip bombs).
 * CRC and size lies must be errors, which the unit tests pin down; here
 * they must not crash or leak. */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkt-zip.h"
#include "fuzz-common.h"

static char *base;   /* fuzz-zip.XXXXXX on /dev/shm (or $TMPDIR) */
static char *dest;   /* base/dest */
static guint64 unpacked;

static int
check_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (flag == FTW_SL || flag == FTW_SLN || !(S_ISREG (st->st_mode) || S_ISDIR (st->st_mode)))
    {
      fprintf (stderr, "fuzz-zip: %s is neither a file nor a directory\n", path);
      abort ();
    }
  if (st->st_mode & (S_ISUID | S_ISGID))
    {
      fprintf (stderr, "fuzz-zip: %s has a setuid/setgid bit\n", path);
      abort ();
    }
  if (S_ISREG (st->st_mode))
    unpacked += (guint64) st->st_size;
  return 0;
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (ftw->level > 0)
    remove (path);
  return 0;
}

static gboolean
dir_is_empty (const char *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);

  return d != NULL && g_dir_read_name (d) == NULL;
}

static void
cleanup (void)
{
  g_rmdir (dest);
  g_rmdir (base);
}

static void
setup (void)
{
  const char *tmp = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir ();

  base = g_build_filename (tmp, "fuzz-zip.XXXXXX", NULL);
  if (g_mkdtemp (base) == NULL)
    abort ();
  dest = g_build_filename (base, "dest", NULL);
  atexit (cleanup);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) zip = g_bytes_new_static (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  fuzz_init ();
  if (base == NULL)
    setup ();
  if (g_mkdir (dest, 0700) != 0)
    abort ();
  (void) bkt_zip_extract (zip, dest, &error);

  /* Walked only when something was extracted (most inputs stop at the
   * headers): the walk is most of a run's cost. */
  unpacked = 0;
  if (!dir_is_empty (dest) && nftw (dest, check_entry, 16, FTW_PHYS) != 0)
    abort ();
  if (unpacked > BKT_ZIP_MAX_SIZE)
    abort ();
  dir = g_dir_open (base, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (!g_str_equal (name, "dest"))
      {
        fprintf (stderr, "fuzz-zip: %s/%s was created outside the destination\n", base, name);
        abort ();
      }
  if (!dir_is_empty (dest))
    nftw (dest, remove_entry, 16, FTW_PHYS | FTW_DEPTH);
  if (g_rmdir (dest) != 0)
    abort ();
  return 0;
}
