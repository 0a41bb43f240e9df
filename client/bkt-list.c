/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-cmd.h"

/* `bkt flatpak|gsetting|extension|shim list`: one flow for every
 * subsystem — parse, ask the session daemon for that subsystem's Status,
 * --json as it came (plus the subsystem's "prune"), else one line per
 * tracked entry (the subsystem's columns), one per untracked item with the
 * command that records it, one per item bkt put there that no manifest
 * has any more, and the subsystem's footer. */

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

/* An untracked item or a prune candidate: its ID (what --select takes),
 * with the item's own summary when that says more (a value, a remote) and
 * its scope when not the user's own. */
static char *
item_text (JsonObject *o, gboolean with_summary)
{
  const char *target, *summary, *scope, *name;
  GString *out;

  if (o == NULL)
    return g_strdup ("?");
  target = json_object_get_string_member_with_default (o, "target", "?");
  summary = with_summary ? json_object_get_string_member_with_default (o, "summary", NULL) : NULL;
  scope = json_object_get_string_member_with_default (o, "scope", "user");
  name = strchr (target, ':') != NULL ? strchr (target, ':') + 1 : target;
  /* The summary may already be "ID = value"; one that does not name the item is added to it. */
  out = g_string_new (summary != NULL && strstr (summary, name) != NULL ? summary : target);
  if (summary != NULL && strstr (summary, name) == NULL)
    g_string_append_printf (out, ": %s", summary);
  else if (!g_str_equal (scope, "user") && strstr (out->str, scope) == NULL)
    g_string_append_printf (out, " (%s)", scope);
  return g_string_free (out, FALSE);
}

int
bkt_list_run (Ctx *ctx, int argc, char **argv, const BktListView *view)
{
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;
  JsonArray *entries, *untracked, *prune, *all_prune;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 0, &code))
    return code;
  s = bkt_cmd_subsystem_status (ctx, view->subsystem, &all, &error);
  if (s == NULL)
    return fail (error);
  /* Status lists them once for all subsystems, and not as untracked: left
   * out here, a shim file bkt wrote would be on disk and in no list. */
  prune = json_array_new ();
  all_prune = array_member (all, "prune");
  for (guint i = 0; all_prune != NULL && i < json_array_get_length (all_prune); i++)
    {
      JsonNode *n = json_array_get_element (all_prune, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;

      if (o != NULL && g_strcmp0 (json_object_get_string_member_with_default (o, "subsystem", NULL),
                                  view->subsystem) == 0)
        json_array_add_element (prune, json_node_copy (n));
    }
  json_object_set_array_member (s, "prune", prune);
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
      g_autofree char *what = item_text (JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL, TRUE);

      g_print ("%-*s (%s)\n", view->name_width, what, view->untracked_hint);
    }
  for (guint i = 0; i < json_array_get_length (prune); i++)
    {
      g_autofree char *what = item_text (json_array_get_object_element (prune, i), FALSE);

      g_print ("%-*s (put here by bkt, in no manifest any more: `bkt apply --prune --only %s` removes it)\n",
               view->name_width, what, view->subsystem);
    }
  if (view->print_footer != NULL)
    view->print_footer (s, untracked != NULL ? json_array_get_length (untracked) : 0);
  return EXIT_OK;
}
