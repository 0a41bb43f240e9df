/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-cmd.h"

/* `bkt flatpak|gsetting|extension|shim list`: one flow for every
 * subsystem — parse, ask the session daemon for that subsystem's Status,
 * --json as it came, else one line per tracked entry (the subsystem's
 * columns), one per untracked item with the command that records it, and
 * the subsystem's footer. */

gboolean
bkt_list_matches (JsonArray *items, const char *member, JsonObject *entry, const char *const *keys)
{
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonNode *n = json_array_get_element (items, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      gboolean all = TRUE;

      if (o != NULL && member != NULL)
        o = json_object_has_member (o, member) ? json_object_get_object_member (o, member) : NULL;
      if (o == NULL)
        continue;
      for (guint k = 0; keys[k] != NULL && all; k++)
        all = json_object_has_member (o, keys[k]) &&
              g_strcmp0 (json_object_get_string_member_with_default (o, keys[k], NULL),
                         json_object_get_string_member_with_default (entry, keys[k], "")) == 0;
      if (all)
        return TRUE;
    }
  return FALSE;
}

static JsonArray *
array_member (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

int
bkt_list_run (Ctx *ctx, int argc, char **argv, const BktListView *view)
{
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;
  JsonArray *entries, *untracked;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  s = bkt_cmd_subsystem_status (ctx, view->subsystem, &all, &error);
  if (s == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      bkt_render_print_object (s);
      return EXIT_OK;
    }
  if (view->print_header != NULL)
    view->print_header (s);
  entries = array_member (s, view->entries_member != NULL ? view->entries_member : "entries");
  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *n = json_array_get_element (entries, i);
      if (JSON_NODE_HOLDS_OBJECT (n))
        view->print_entry (s, json_node_get_object (n));
    }
  untracked = array_member (s, "untracked");
  for (guint i = 0; untracked != NULL && i < json_array_get_length (untracked); i++)
    {
      JsonNode *n = json_array_get_element (untracked, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      const char *what = o != NULL ? json_object_get_string_member_with_default (
                                       o, "summary", json_object_get_string_member_with_default (o, "target", "?"))
                                   : "?";
      g_print ("%-*s (%s)\n", view->name_width, what, view->untracked_hint);
    }
  if (view->print_footer != NULL)
    view->print_footer (s, untracked != NULL ? json_array_get_length (untracked) : 0);
  return EXIT_OK;
}
