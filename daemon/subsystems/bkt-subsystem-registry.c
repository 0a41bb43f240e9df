/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-subsystem-registry.h"
#include "bkt-dnf.h"
#include "bkt-extensions.h"
#include "bkt-flatpak.h"
#include "bkt-gsettings.h"
#include "bkt-shims.h"
#include "bkt-skel.h"
#include "bkt-toolbox.h"

/* Constructors by instance.  The session reads the system flatpak
 * installation too (reading needs no privilege) so that one plan and one
 * status cover both scopes; the system instance reads only its own. */
static BktSubsystem *
create_flatpak (BktInstance instance)
{
  return bkt_flatpak_new (instance == BKT_INSTANCE_SESSION, TRUE);
}

static BktSubsystem *create_shim (BktInstance instance) { return bkt_shims_new (); }
static BktSubsystem *create_skel (BktInstance instance) { return bkt_skel_new (); }
static BktSubsystem *create_gsettings (BktInstance instance) { return bkt_gsettings_new (); }
static BktSubsystem *create_extension (BktInstance instance) { return bkt_extensions_new (); }
static BktSubsystem *create_dnf (BktInstance instance) { return bkt_dnf_new (); }
static BktSubsystem *create_toolbox (BktInstance instance) { return bkt_toolbox_new (); }

/* Execution order matters: shims first (cheap, and what a toolbox session
 * started meanwhile finds), settings before extensions (an extension reads
 * its settings when enabled) and before apps (an app's first start may
 * read them).  Layered packages last but for the toolbox: the slowest,
 * and they only take effect at the next boot, so nothing else waits for
 * them.
 *
 * Instances: everything in the user's home and session (shims, settings,
 * extensions, the toolbox's records) exists in the session instance only —
 * root's settings are nobody's desktop.  Flatpak and dnf exist in both:
 * the session reads the system state to plan and show status, the system
 * instance executes the system-scope operations. */
static const BktSubsystemInfo registry[] = {
  { .name = "shim", .aliases = (const char * const[]) { "shims", NULL },
    .instances = BKT_INSTANCES_SESSION, .scopes = BKT_SCOPES_USER,
    .n_manifests = 1, .manifests = { { BKT_MANIFEST_HOST_SHIMS, "entries" } },
    .check_entry_name = bkt_manifest_check_shim_name, .create = create_shim },
  /* Dotfiles: files, not manifest entries (no kind, no entry name);
   * cheap and independent, like shims. */
  { .name = "skel", .aliases = (const char * const[]) { "dotfiles", NULL },
    .instances = BKT_INSTANCES_SESSION, .scopes = BKT_SCOPES_USER,
    .n_manifests = 0, .create = create_skel },
  { .name = "gsettings", .aliases = (const char * const[]) { "gsetting", "gs", NULL },
    .instances = BKT_INSTANCES_SESSION, .scopes = BKT_SCOPES_USER,
    .n_manifests = 1, .manifests = { { BKT_MANIFEST_GSETTINGS, "entries" } },
    .check_entry_name = bkt_manifest_check_schema_id, .create = create_gsettings },
  /* Its status lists entries itself, as objects (the file may hold bare
   * uuid strings). */
  { .name = "extension", .aliases = (const char * const[]) { "extensions", "ext", NULL },
    .instances = BKT_INSTANCES_SESSION, .scopes = BKT_SCOPES_USER,
    .n_manifests = 1, .manifests = { { BKT_MANIFEST_GNOME_EXTENSIONS, NULL } },
    .check_entry_name = bkt_manifest_check_extension_uuid, .create = create_extension },
  { .name = "flatpak", .aliases = (const char * const[]) { "flatpaks", "fp", NULL },
    .instances = BKT_INSTANCES_BOTH, .scopes = BKT_SCOPES_USER | BKT_SCOPES_SYSTEM,
    .n_manifests = 2, .manifests = { { BKT_MANIFEST_FLATPAK_APPS, "entries" },
                                     { BKT_MANIFEST_FLATPAK_REMOTES, "remotes" } },
    .check_entry_name = bkt_manifest_check_flatpak_app_id, .create = create_flatpak },
  /* The COPR repos are a secondary list of system-packages.json. */
  { .name = "dnf", .aliases = (const char * const[]) { "packages", NULL },
    .instances = BKT_INSTANCES_BOTH, .scopes = BKT_SCOPES_SYSTEM,
    .n_manifests = 1, .manifests = { { BKT_MANIFEST_SYSTEM_PACKAGES, NULL } },
    .check_entry_name = bkt_manifest_check_package_name, .create = create_dnf },
  /* The development toolbox is the user's container, updated by `bkt dev
   * update`: only records of the user's manifests (bkt dev … --pr), not
   * part of the host's apply, capture and status unless named. */
  { .name = "toolbox", .aliases = (const char * const[]) { "dev", NULL },
    .instances = BKT_INSTANCES_SESSION, .scopes = BKT_SCOPES_USER, .on_request_only = TRUE,
    .n_manifests = 1, .manifests = { { BKT_MANIFEST_TOOLBOX_PACKAGES, NULL } },
    .check_entry_name = bkt_manifest_check_package_name, .create = create_toolbox },
};

const BktSubsystemInfo *
bkt_subsystem_registry (guint *n_rows)
{
  *n_rows = G_N_ELEMENTS (registry);
  return registry;
}

const BktSubsystemInfo *
bkt_subsystem_registry_lookup (const char *name_or_alias)
{
  for (guint i = 0; i < G_N_ELEMENTS (registry); i++)
    if (g_strcmp0 (registry[i].name, name_or_alias) == 0 ||
        (name_or_alias != NULL && g_strv_contains (registry[i].aliases, name_or_alias)))
      return &registry[i];
  return NULL;
}

char *
bkt_subsystem_registry_describe (void)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (registry); i++)
    g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", registry[i].name);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
bkt_subsystem_registry_canonicalize (char **names, GError **error)
{
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      const BktSubsystemInfo *row = bkt_subsystem_registry_lookup (names[i]);

      if (row == NULL)
        {
          g_autofree char *known = bkt_subsystem_registry_describe ();
          /* Bounded: the name comes from a bus peer. */
          return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "unknown subsystem “%s” (known: %s)",
                              strlen (names[i]) <= 64 && g_utf8_validate (names[i], -1, NULL) ? names[i] : "…",
                              known), FALSE;
        }
      if (!g_str_equal (names[i], row->name))
        {
          g_free (names[i]);
          names[i] = g_strdup (row->name);
        }
    }
  return TRUE;
}
