/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* `bkt apply --if-image-changed` (bkt-apply.service, bkt-apply-user.service):
 * apply the image's manifests once per image.  The digest is a SHA-256 over
 * the names and bytes of the *.json files of @dir in name order (an image
 * update that changes, adds or removes one changes it); the stamp holds the
 * digest of the last apply that fully succeeded, per scope:
 * /var/lib/bkt/image-applied-SCOPE for root ($BKT_SYSTEM_STATE_DIR
 * overrides), $XDG_STATE_HOME/bkt/image-applied-SCOPE for a user. */
char     *bkt_image_manifests_dir    (const char *manifests_opt);
char     *bkt_image_manifests_digest (const char *dir, GError **error);
char     *bkt_image_stamp_path       (const char *scope);
/* TRUE when the stamp at @path holds @digest. */
gboolean  bkt_image_stamp_matches    (const char *path, const char *digest);
gboolean  bkt_image_stamp_write      (const char *path, const char *digest, GError **error);

/* One desktop notification on the session bus (org.freedesktop.Notifications),
 * best effort: FALSE (and why in @error) when no server answered. */
gboolean  bkt_notify (const char *summary, const char *body, gboolean urgent, GError **error);

G_END_DECLS
