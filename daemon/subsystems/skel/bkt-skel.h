/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* The distribution's dotfiles: the regular files of the skel trees that sit
 * beside each manifest layer (the image's /usr/share/bkt/skel, the user's
 * $XDG_CONFIG_HOME/bkt/skel, or DIR/../skel for -m DIR: a repo's skel/
 * beside its manifests/), copied into $HOME at the same relative paths.
 * See daemon/subsystems/skel/README.md. */
#define BKT_TYPE_SKEL (bkt_skel_get_type ())
G_DECLARE_FINAL_TYPE (BktSkel, bkt_skel, BKT, SKEL, GObject)

BktSubsystem *bkt_skel_new (void);

/* The skel directory beside a manifest layer's directory (NULL → NULL). */
char *bkt_skel_dir_beside (const char *manifests_dir);

G_END_DECLS
