/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-capture-select.h"
#include "bkt-error.h"

gboolean
bkt_sync_query_names_target (const char *query, const char *target)
{
  const char *colon = strchr (target, ':');
  const char *bare = colon != NULL ? colon + 1 : target;
  const char *space = strchr (query, ' ');
  gsize len = strlen (query);

  if (g_str_equal (target, query) || g_str_equal (bare, query))
    return TRUE;
  /* "SCHEMA KEY" names "gsetting:SCHEMA.KEY". */
  return space != NULL && strchr (space + 1, ' ') == NULL && strlen (bare) == len &&
         strncmp (bare, query, space - query) == 0 && bare[space - query] == '.' &&
         strcmp (bare + (space - query) + 1, space + 1) == 0;
}

static const char *
selected_by (const char * const *select, const char *target)
{
  for (guint i = 0; select[i] != NULL; i++)
    if (bkt_sync_query_names_target (select[i], target))
      return select[i];
  return NULL;
}

/* Each selected name either picked an operation, names an item capture
 * leaves out (a warning), or names nothing (an error). */
static gboolean
check_selection (BktSync *sync, const char * const *select, GHashTable *used, GPtrArray *warnings,
                 GError **error)
{
  g_autoptr(GPtrArray) nothing = g_ptr_array_new ();

  for (guint i = 0; select[i] != NULL; i++)
    {
      g_autoptr(GPtrArray) items = NULL;

      if (g_hash_table_contains (used, select[i]))
        continue;
      items = bkt_sync_match (sync, select[i]);
      if (items->len == 0)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "--select: no item “%s” on this machine or in the manifests (bkt drift status "
                            "lists them)", select[i]), FALSE;
      g_ptr_array_add (nothing, (gpointer) select[i]);
    }
  bkt_sync_warn_targets (warnings, nothing, "selected item(s) with nothing to capture",
                         "they are in sync, never applied here or changed in the manifests (bkt drift explain "
                         "ITEM says which)");
  return TRUE;
}

gboolean
bkt_capture_select (BktSync *sync, GPtrArray *ops, GPtrArray *warnings, const char * const *select,
                    gboolean all_untracked, GError **error)
{
  gboolean picking = select != NULL && select[0] != NULL;
  g_autoptr(GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) left_out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < ops->len;)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *target = bkt_operation_get_target (op);
      gboolean keep;

      if (picking)
        {
          const char *name = selected_by (select, target);

          keep = name != NULL;
          if (keep)
            g_hash_table_add (used, (gpointer) name);
        }
      else
        {
          keep = all_untracked || g_strcmp0 (bkt_operation_get_sync_state (op), "untracked") != 0;
          if (!keep)
            g_ptr_array_add (left_out, g_strdup (target));
        }
      if (keep)
        i++;
      else
        g_ptr_array_remove_index (ops, i);
    }
  bkt_sync_warn_targets (warnings, left_out,
                         "untracked item(s) left out (capture records only what changed here since bkt last "
                         "synced it)",
                         "pick them with bkt capture --select ID[,ID…] or take them all with --all-untracked");
  return !picking || check_selection (sync, select, used, warnings, error);
}
