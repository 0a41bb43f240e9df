/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u

static guint16
rd16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
rd32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static gboolean
corrupt (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
corrupt (GError **error, const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "corrupt or unsafe zip: %s", msg);
  return FALSE;
}

/* CRC-32 (IEEE, as zip uses); GLib has none and zlib is not a direct
 * dependency. */
static guint32
crc32_update (guint32 crc, const guint8 *data, gsize len)
{
  static guint32 table[256];
  static gsize init = 0;

  if (g_once_init_enter (&init))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;
          for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
          table[i] = c;
        }
      g_once_init_leave (&init, 1);
    }
  crc = ~crc;
  for (gsize i = 0; i < len; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* A member name is one relative path of plain elements: nothing a
 * careless join could turn into a path outside @dest. */
static gboolean
check_name (const char *raw, gsize len, GError **error)
{
  g_auto(GStrv) parts = NULL;
  g_autofree char *name = NULL;
  gsize n;

  if (len == 0 || len > 1024 || memchr (raw, '\0', len) != NULL)
    return corrupt (error, "a member has an empty, overlong or binary name");
  /* The name is not NUL-terminated in the archive. */
  name = g_strndup (raw, len);
  if (name[0] == '/' || strchr (name, '\\') != NULL || strchr (name, ':') != NULL)
    return corrupt (error, "member “%s” has an absolute or non-portable name", name);
  parts = g_strsplit (name, "/", -1);
  n = g_strv_length (parts);
  for (gsize i = 0; i < n; i++)
    {
      /* A trailing '/' (a directory member) leaves one empty element. */
      if (parts[i][0] == '\0' && i + 1 == n && i > 0)
        continue;
      if (parts[i][0] == '\0' || g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
        return corrupt (error, "member “%s” has an empty, '.' or '..' element", name);
    }
  return TRUE;
}

/* mkdir -p below @dest for the directories of @rel (and @rel itself when
 * @is_dir).  @dest is a fresh directory we made and nothing we create is
 * a link, so plain paths cannot be redirected. */
static gboolean
make_dirs (const char *dest, const char *rel, gboolean is_dir, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (rel, "/", -1);
  g_autoptr(GString) path = g_string_new (dest);
  guint n = g_strv_length (parts);

  for (guint i = 0; i < n; i++)
    {
      GStatBuf st;

      if (!is_dir && i + 1 == n)
        break;
      if (parts[i][0] == '\0')
        continue;
      g_string_append_c (path, '/');
      g_string_append (path, parts[i]);
      if (g_mkdir (path->str, 0755) == 0)
        continue;
      if (errno != EEXIST || g_lstat (path->str, &st) < 0 || !S_ISDIR (st.st_mode))
        return corrupt (error, "cannot create directory for “%s”", rel);
    }
  return TRUE;
}

static GBytes *
inflate_raw (const guint8 *in, gsize in_len, gsize out_len, GError **error)
{
  g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  /* One spare byte: a stream that produces more than announced is
   * caught, not truncated. */
  g_autofree guint8 *out = g_malloc (out_len + 1);
  gsize done_in = 0, done_out = 0;

  for (;;)
    {
      gsize r = 0, w = 0;
      g_autoptr(GError) local_error = NULL;
      GConverterResult res = g_converter_convert (G_CONVERTER (z), in + done_in, in_len - done_in,
                                                  out + done_out, out_len + 1 - done_out,
                                                  G_CONVERTER_INPUT_AT_END, &r, &w, &local_error);
      if (res == G_CONVERTER_ERROR)
        return corrupt (error, "bad deflate data (%s)", local_error->message), NULL;
      done_in += r;
      done_out += w;
      if (done_out > out_len)
        return corrupt (error, "a member is larger than its header says"), NULL;
      if (res == G_CONVERTER_FINISHED)
        break;
      if (r == 0 && w == 0)
        return corrupt (error, "truncated deflate data"), NULL;
    }
  if (done_out != out_len)
    return corrupt (error, "a member is smaller than its header says"), NULL;
  return g_bytes_new_take (g_steal_pointer (&out), out_len);
}

gboolean
bkt_zip_extract (GBytes *zip, const char *dest, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (zip, &size);
  const guint8 *end = NULL;
  guint32 n_entries, cd_size, cd_offset;
  guint64 total = 0;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gsize pos;

  if (size < 22)
    return corrupt (error, "too short to be a zip file (%" G_GSIZE_FORMAT " bytes)", size);
  /* The end record is in the last 22 + 65535 (comment) bytes. */
  for (gsize i = size - 22 + 1; i-- > 0 && size - i <= 22 + 65535;)
    if (rd32 (data + i) == SIG_END)
      {
        end = data + i;
        break;
      }
  if (end == NULL)
    return corrupt (error, "no end of central directory record (not a zip file?)");
  n_entries = rd16 (end + 10);
  cd_size = rd32 (end + 12);
  cd_offset = rd32 (end + 16);
  if (rd16 (end + 4) != 0 || rd16 (end + 6) != 0 || rd16 (end + 8) != n_entries)
    return corrupt (error, "multi-disk archives are not supported");
  if (n_entries > BKT_ZIP_MAX_ENTRIES)
    return corrupt (error, "more than %u members", BKT_ZIP_MAX_ENTRIES);
  if ((guint64) cd_offset + cd_size > (gsize) (end - data))
    return corrupt (error, "central directory out of bounds");

  pos = cd_offset;
  for (guint32 e = 0; e < n_entries; e++)
    {
      const guint8 *c = data + pos;
      guint16 flags, method, name_len, extra_len, comment_len;
      guint32 crc, csize, usize, ext_attr, local;
      const guint8 *l;
      const guint8 *payload;
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;
      g_autoptr(GBytes) contents = NULL;
      gboolean is_dir;
      gsize len;
      int fd;

      if (pos + 46 > cd_offset + (gsize) cd_size || rd32 (c) != SIG_CENTRAL)
        return corrupt (error, "bad central directory entry %u", e);
      flags = rd16 (c + 8);
      method = rd16 (c + 10);
      crc = rd32 (c + 16);
      csize = rd32 (c + 20);
      usize = rd32 (c + 24);
      name_len = rd16 (c + 28);
      extra_len = rd16 (c + 30);
      comment_len = rd16 (c + 32);
      ext_attr = rd32 (c + 38);
      local = rd32 (c + 42);
      if (pos + 46 + name_len + extra_len + comment_len > cd_offset + (gsize) cd_size)
        return corrupt (error, "central directory entry %u out of bounds", e);
      if (!check_name ((const char *) c + 46, name_len, error))
        return FALSE;
      name = g_strndup ((const char *) c + 46, name_len);
      pos += 46 + name_len + extra_len + comment_len;

      if (flags & 1)
        return corrupt (error, "member “%s” is encrypted", name);
      if (csize == 0xffffffffu || usize == 0xffffffffu || local == 0xffffffffu)
        return corrupt (error, "zip64 archives are not supported");
      /* Unix "made by" (high byte 3): the high half of the external
       * attributes is the st_mode.  A link could point anywhere. */
      if ((rd16 (c + 4) >> 8) == 3 && (((ext_attr >> 16) & S_IFMT) == S_IFLNK))
        return corrupt (error, "member “%s” is a symbolic link", name);
      if (!g_hash_table_add (seen, g_strdup (name)))
        return corrupt (error, "member “%s” appears twice", name);
      total += usize;
      if (total > BKT_ZIP_MAX_SIZE)
        return corrupt (error, "unpacks to more than %u bytes", BKT_ZIP_MAX_SIZE);

      if ((guint64) local + 30 > size || rd32 (data + local) != SIG_LOCAL)
        return corrupt (error, "bad local header for “%s”", name);
      l = data + local;
      payload = l + 30 + rd16 (l + 26) + rd16 (l + 28);
      if (payload < l || (guint64) (payload - data) + csize > size)
        return corrupt (error, "data of “%s” out of bounds", name);

      is_dir = g_str_has_suffix (name, "/");
      if (!make_dirs (dest, name, is_dir, error))
        return FALSE;
      if (is_dir)
        continue;

      if (method == 0)
        {
          if (csize != usize)
            return corrupt (error, "stored member “%s” has two sizes", name);
          contents = g_bytes_new (payload, usize);
        }
      else if (method == 8)
        {
          contents = inflate_raw (payload, csize, usize, error);
          if (contents == NULL)
            return FALSE;
        }
      else
        return corrupt (error, "member “%s” uses compression method %u", name, method);
      if (crc32_update (0, g_bytes_get_data (contents, NULL), g_bytes_get_size (contents)) != crc)
        return corrupt (error, "CRC mismatch in “%s”", name);

      path = g_build_filename (dest, name, NULL);
      /* O_EXCL|O_NOFOLLOW: never write through anything already there. */
      fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0)
        return corrupt (error, "cannot create “%s”: %s", name, g_strerror (errno));
      {
        const guint8 *p = g_bytes_get_data (contents, &len);
        while (len > 0)
          {
            gssize w = write (fd, p, len);
            if (w < 0 && errno == EINTR)
              continue;
            if (w < 0)
              {
                int saved = errno;
                (void) close (fd);
                return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot write %s: %s", path,
                                    g_strerror (saved)), FALSE;
              }
            p += w;
            len -= (gsize) w;
          }
      }
      if (close (fd) < 0)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot write %s: %s", path, g_strerror (errno)),
               FALSE;
    }
  return TRUE;
}
