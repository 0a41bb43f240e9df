/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* GSettings through the GSettings API in-process (no gsettings spawns).
 * Schemas come from the default GSettingsSchemaSource, so
 * GSETTINGS_SCHEMA_DIR and GSETTINGS_BACKEND are honoured. */
#define BKT_TYPE_GSETTINGS (bkt_gsettings_get_type ())
G_DECLARE_FINAL_TYPE (BktGsettings, bkt_gsettings, BKT, GSETTINGS, GObject)

BktSubsystem *bkt_gsettings_new (void);

G_END_DECLS
