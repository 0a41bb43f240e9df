/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* Flatpak remotes and apps through libflatpak.  @read_user / @read_system
 * say which installations are read (flatpak_installation_new_user /
 * _new_system, which honour FLATPAK_USER_DIR, FLATPAK_SYSTEM_DIR and
 * FLATPAK_CONFIG_DIR).  The session instance reads both (to plan and show
 * status) but executes only user-scope operations; the engine filters. */
#define BKT_TYPE_FLATPAK (bkt_flatpak_get_type ())
G_DECLARE_FINAL_TYPE (BktFlatpak, bkt_flatpak, BKT, FLATPAK, GObject)

BktSubsystem *bkt_flatpak_new (gboolean read_user, gboolean read_system);

G_END_DECLS
