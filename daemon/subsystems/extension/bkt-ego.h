/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The extensions.gnome.org API, as GNOME Shell itself uses it:
 *
 *   GET BASE/extension-info/?uuid=UUID&shell_version=MAJOR
 *     200 {"uuid","name","pk","shell_version_map":{"45":{"pk","version"},...},
 *          "version","download_url":"/download-extension/UUID.shell-extension.zip?version_tag=N"}
 *         ("version" and "download_url" only when a version fits MAJOR)
 *     404 no such extension
 *   GET BASE + download_url → the zip
 *
 * BASE is $BKT_EXTENSIONS_URL, else https://extensions.gnome.org.
 * Errors: BKT_ERROR_NOT_FOUND (404), BKT_ERROR_NOT_SUPPORTED (no version
 * for this shell), BKT_ERROR_FAILED (other HTTP status, bad JSON); a
 * failure to reach the server at all is G_IO_ERROR_NETWORK_UNREACHABLE
 * (see bkt_ego_is_network_error()) so callers can treat it as "pending". */
typedef struct
{
  char *uuid;
  char *name;
  char *version;        /* NULL if no version fits */
  char *download_url;   /* absolute; NULL if no version fits */
  char *shell_versions; /* "44, 45" from shell_version_map, for messages */
} BktEgoInfo;

void        bkt_ego_info_free (BktEgoInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktEgoInfo, bkt_ego_info_free)

/* $BKT_EXTENSIONS_URL, else "extensions_url" in config.json, else
 * https://extensions.gnome.org; without trailing slashes.  @custom: TRUE
 * when it is not the default.  NULL when config.json is broken. */
char       *bkt_ego_base_url (gboolean *custom, GError **error);
/* @shell_major may be NULL (unknown): then the newest version is taken. */
/* The answer @body of @url (on @base) for @uuid as bkt_ego_lookup()
 * reads it (outside input; fuzzed by tests/fuzz/fuzz-api.c). */
BktEgoInfo *bkt_ego_parse_info (const char *base, const char *url, const char *uuid, const char *shell_major,
                                GBytes *body, GError **error);
BktEgoInfo *bkt_ego_lookup   (const char *uuid, const char *shell_major, GCancellable *cancellable, GError **error);
/* At most 64 MiB. */
GBytes     *bkt_ego_download (const char *url, GCancellable *cancellable, GError **error);
gboolean    bkt_ego_is_network_error (const GError *error);

G_END_DECLS
