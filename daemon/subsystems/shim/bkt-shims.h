/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* Host shims for toolboxes: one small executable per host-shims.json entry
 * in the shim directory ($BKT_SHIM_DIR, else ~/.local/toolbox/shims) that
 * runs the host's command through `flatpak-spawn --host`.  Only files
 * carrying BKT_SHIM_MARKER on their second line are ever changed or
 * removed; anything else in the directory is the user's. */
#define BKT_TYPE_SHIMS (bkt_shims_get_type ())
G_DECLARE_FINAL_TYPE (BktShims, bkt_shims, BKT, SHIMS, GObject)

#define BKT_SHIM_MARKER "# bkt-shim v1"

BktSubsystem *bkt_shims_new (void);
/* The directory shims live in: $BKT_SHIM_DIR, else "shim_dir" in
 * config.json, else ~/.local/toolbox/shims.  It must be absolute.  NULL
 * with an error when config.json is broken or the setting is relative. */
char         *bkt_shims_get_dir (GError **error);
/* The exact bytes of the shim for @name running host command @host. */
char         *bkt_shims_render (const char *name, const char *host);

G_END_DECLS
