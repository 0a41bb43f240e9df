/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-flatpak-private.h"

/* The live state of one flatpak installation, read once per request with
 * libflatpak (remotes, installed apps), and the readers of manifest
 * entries and operation details that planning and execution share. */

void
bkt_flatpak_state_free (BktFlatpakState *state)
{
  g_clear_pointer (&state->remote_by_name, g_hash_table_unref);
  g_clear_pointer (&state->app_by_id, g_hash_table_unref);
  g_clear_pointer (&state->remotes, g_ptr_array_unref);
  g_clear_pointer (&state->installed, g_ptr_array_unref);
  g_clear_object (&state->installation);
  g_free (state);
}

FlatpakInstallation *
bkt_flatpak_open_installation (BktScope scope, GCancellable *cancellable, GError **error)
{
  FlatpakInstallation *installation = scope == BKT_SCOPE_SYSTEM
    ? flatpak_installation_new_system (cancellable, error)
    : flatpak_installation_new_user (cancellable, error);

  if (installation == NULL)
    g_prefix_error (error, "cannot open the %s flatpak installation: ", bkt_scope_to_string (scope));
  return installation;
}

/* Several branches or arches of one app may be installed; the id stands
 * for the default arch's current one, which is what `flatpak run ID` runs. */
static gboolean
installed_ref_is_better (FlatpakInstalledRef *candidate, FlatpakInstalledRef *current)
{
  const char *arch = flatpak_get_default_arch ();
  gboolean cand_arch = g_strcmp0 (flatpak_ref_get_arch (FLATPAK_REF (candidate)), arch) == 0;
  gboolean cur_arch = g_strcmp0 (flatpak_ref_get_arch (FLATPAK_REF (current)), arch) == 0;

  return cand_arch != cur_arch ? cand_arch
                               : flatpak_installed_ref_get_is_current (candidate) &&
                                 !flatpak_installed_ref_get_is_current (current);
}

BktFlatpakState *
bkt_flatpak_state_load (BktScope scope, GCancellable *cancellable, GError **error)
{
  g_autoptr(BktFlatpakState) state = g_new0 (BktFlatpakState, 1);
  g_autoptr(GError) local_error = NULL;
  const char *scope_name = bkt_scope_to_string (scope);
  gboolean unused;

  state->scope = scope;
  state->installation = bkt_flatpak_open_installation (scope, cancellable, &local_error);
  /* A system installation never used has no repo yet, which only root may
   * create: for anyone else it is simply empty, not an error. */
  unused = state->installation == NULL && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  if (state->installation == NULL && !unused)
    {
      bkt_error_normalize (&local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_clear_error (&local_error);
  state->remotes = unused ? g_ptr_array_new ()
                          : flatpak_installation_list_remotes (state->installation, cancellable, &local_error);
  if (state->remotes == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot list the %s flatpak remotes: %s",
                        scope_name, local_error->message), NULL;
  state->installed = unused ? g_ptr_array_new ()
                            : flatpak_installation_list_installed_refs_by_kind (state->installation,
                                                                                FLATPAK_REF_KIND_APP,
                                                                                cancellable, &local_error);
  if (state->installed == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot list the %s flatpak apps: %s",
                        scope_name, local_error->message), NULL;

  state->remote_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < state->remotes->len; i++)
    {
      FlatpakRemote *remote = g_ptr_array_index (state->remotes, i);
      g_hash_table_insert (state->remote_by_name, (gpointer) flatpak_remote_get_name (remote), remote);
    }
  state->app_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < state->installed->len; i++)
    {
      FlatpakInstalledRef *ref = g_ptr_array_index (state->installed, i);
      const char *id = flatpak_ref_get_name (FLATPAK_REF (ref));
      FlatpakInstalledRef *current = g_hash_table_lookup (state->app_by_id, id);

      if (current == NULL || installed_ref_is_better (ref, current))
        g_hash_table_insert (state->app_by_id, (gpointer) id, ref);
    }
  return g_steal_pointer (&state);
}

FlatpakInstalledRef *
bkt_flatpak_state_lookup_app (BktFlatpakState *state, const char *id)
{
  return state != NULL ? g_hash_table_lookup (state->app_by_id, id) : NULL;
}

/* @member of @entry if it holds a @type value, never worth a crash. */
JsonNode *
bkt_flatpak_entry_value (JsonObject *entry, const char *member, GType type)
{
  JsonNode *node = json_object_get_member (entry, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type ? node : NULL;
}

const char *
bkt_flatpak_entry_string (JsonObject *entry, const char *member, const char *fallback)
{
  JsonNode *node = bkt_flatpak_entry_value (entry, member, G_TYPE_STRING);
  return node != NULL ? json_node_get_string (node) : fallback;
}

gboolean
bkt_flatpak_entry_bool (JsonObject *entry, const char *member, gboolean fallback)
{
  JsonNode *node = bkt_flatpak_entry_value (entry, member, G_TYPE_BOOLEAN);
  return node != NULL ? json_node_get_boolean (node) : fallback;
}

/* "https://x/repo/" and "https://x/repo" are the same remote: flatpak does
 * not normalise, and a slash must not cause a modify on every apply. */
gboolean
bkt_flatpak_urls_equal (const char *a, const char *b)
{
  gsize la = a != NULL ? strlen (a) : 0;
  gsize lb = b != NULL ? strlen (b) : 0;

  while (la > 0 && a[la - 1] == '/')
    la--;
  while (lb > 0 && b[lb - 1] == '/')
    lb--;
  return la == lb && (la == 0 || strncmp (a, b, la) == 0);
}

/* The branch `flatpak install REMOTE ID` would pick: "stable" (flathub),
 * else "master" (most self-built repos), else the first by name. */
static gboolean
branch_is_better (const char *candidate, const char *current)
{
  static const char * const preferred[] = { "stable", "master" };

  if (current == NULL)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (preferred); i++)
    {
      if (g_strcmp0 (current, preferred[i]) == 0)
        return FALSE;
      if (g_strcmp0 (candidate, preferred[i]) == 0)
        return TRUE;
    }
  return g_strcmp0 (candidate, current) < 0;
}

/* One listing of @remote (a single summary fetch): id → full ref of the
 * preferred branch, app refs of the default arch only. */
GHashTable *
bkt_flatpak_list_remote_apps (FlatpakInstallation *installation, const char *remote, GCancellable *cancellable,
                  GError **error)
{
  g_autoptr(GHashTable) apps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) refs = flatpak_installation_list_remote_refs_sync_full (installation, remote,
                                                                               FLATPAK_QUERY_FLAGS_NONE,
                                                                               cancellable, error);

  for (guint i = 0; refs != NULL && i < refs->len; i++)
    {
      FlatpakRef *ref = g_ptr_array_index (refs, i);
      const char *current = g_hash_table_lookup (apps, flatpak_ref_get_name (ref));

      if (flatpak_ref_get_kind (ref) == FLATPAK_REF_KIND_APP &&
          g_strcmp0 (flatpak_ref_get_arch (ref), flatpak_get_default_arch ()) == 0 &&
          branch_is_better (flatpak_ref_get_branch (ref), current != NULL ? strrchr (current, '/') + 1 : NULL))
        g_hash_table_insert (apps, g_strdup (flatpak_ref_get_name (ref)), flatpak_ref_format_ref (ref));
    }
  return refs != NULL ? g_steal_pointer (&apps) : NULL;
}
