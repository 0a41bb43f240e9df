/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* GNOME Shell extensions (gnome-extensions.json).  Installed means a
 * directory with a metadata.json under $XDG_DATA_HOME/gnome-shell/extensions
 * (the user's, which bkt installs into and removes from) or under
 * $XDG_DATA_DIRS/gnome-shell/extensions (the image's, never touched);
 * enabled means listed in org.gnome.shell enabled-extensions.  When GNOME
 * Shell runs (org.gnome.Shell on the session bus) changes go through its
 * org.gnome.Shell.Extensions API so they take effect live; otherwise the
 * GSettings keys are written and the shell picks them up at next login.
 * Downloads come from extensions.gnome.org (see bkt-ego.h). */
#define BKT_TYPE_EXTENSIONS (bkt_extensions_get_type ())
G_DECLARE_FINAL_TYPE (BktExtensions, bkt_extensions, BKT, EXTENSIONS, GObject)

BktSubsystem *bkt_extensions_new (void);

/* Download, verify and install @uuid into @user_dir/UUID atomically
 * (extracted into a temporary directory beside it, then renamed).  On any
 * error nothing is left behind and an existing installation is kept. */
gboolean bkt_extensions_install_from_ego (const char *user_dir, const char *uuid, const char *shell_major,
                                          GCancellable *cancellable, GError **error);

G_END_DECLS
