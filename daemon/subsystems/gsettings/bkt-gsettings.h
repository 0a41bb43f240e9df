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

/* One string-array key, for other subsystems (extensions keep their state
 * in org.gnome.shell enabled-extensions / disabled-extensions), with the
 * same confinement as everything here.  A schema that is not installed, or
 * that lacks @key or has it with another type, reads as *@found = FALSE;
 * writing it is BKT_ERROR_NOT_FOUND.  Writes are synced to the backend. */
gboolean bkt_gsettings_get_strv (const char *schema_id, const char *key, gboolean *found,
                                 GStrv *value, GError **error);
gboolean bkt_gsettings_set_strv (const char *schema_id, const char *key,
                                 const char * const *value, GError **error);

G_END_DECLS
