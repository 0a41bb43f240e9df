/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A minimal, defensive reader of the zip files extensions.gnome.org
 * serves (stored or deflated members, no encryption, no zip64), built on
 * GLib's raw-deflate GZlibDecompressor so that no archive library is
 * needed.  Extraction refuses rather than repairs: absolute names, ".."
 * or "." elements, backslashes, symbolic links, encrypted members,
 * duplicate names, CRC or size mismatches and more than BKT_ZIP_MAX_SIZE
 * bytes unpacked are all errors (BKT_ERROR_FAILED, "corrupt or unsafe
 * zip: ...").  On error @dest may hold part of the archive: callers
 * extract into a fresh temporary directory and discard it. */
#define BKT_ZIP_MAX_SIZE    (256u * 1024 * 1024)
#define BKT_ZIP_MAX_ENTRIES 20000u

/* @dest must be an existing directory. */
gboolean bkt_zip_extract (GBytes *zip, const char *dest, GError **error);

G_END_DECLS
