/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-changelog.h"
#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-pr-capture.h"
#include "bkt-pr-files.h"
#include "bkt-pr-item.h"

/* The longest list of items the draft entry's message spells out. */
#define MAX_DRAFT_ITEMS 20

void
bkt_pr_commit_free (BktPrCommit *commit)
{
  if (commit == NULL)
    return;
  g_clear_pointer (&commit->files, g_hash_table_unref);
  g_free (commit->message);
  g_free (commit);
}

/* "flatpak:org.gnome.Boxes" → "org.gnome.Boxes" */
static const char *
target_name (const char *target)
{
  const char *colon = strchr (target, ':');

  return colon != NULL ? colon + 1 : target;
}

/* What a record or forget means for the person: the verbs of the
 * subsystem's own commands. */
static const char *
verb (const char *subsystem, const char *action, JsonObject *details)
{
  gboolean record = g_str_equal (action, "record");
  JsonNode *entry = json_object_get_member (details, "entry");

  if (g_strcmp0 (subsystem, "gsettings") == 0)
    return record ? "set" : "unset";
  if (g_strcmp0 (subsystem, "extension") == 0 && record && entry != NULL && JSON_NODE_HOLDS_OBJECT (entry))
    return json_object_get_boolean_member_with_default (json_node_get_object (entry), "enabled", TRUE)
           ? "enable" : "disable";
  return record ? "add" : "remove";
}

static JsonObject *
edit_of (BktOperation *op)
{
  JsonObject *d = bkt_operation_get_details (op);
  JsonObject *e = json_object_new ();
  JsonNode *entry = json_object_get_member (d, "entry");

  json_object_set_string_member (e, "manifest", bkt_json_object_get_string (d, "manifest"));
  json_object_set_string_member (e, "action", bkt_operation_get_action (op));
  if (entry != NULL && JSON_NODE_HOLDS_OBJECT (entry))
    json_object_set_member (e, "entry", json_node_copy (entry));
  if (bkt_json_object_get_string (d, "key") != NULL)
    json_object_set_string_member (e, "key", bkt_json_object_get_string (d, "key"));
  if (bkt_json_object_get_string (d, "member") != NULL)
    json_object_set_string_member (e, "member", bkt_json_object_get_string (d, "member"));
  json_object_set_string_member (e, "subsystem", bkt_operation_get_subsystem (op));
  return e;
}

gboolean
bkt_pr_capture_collect (BktPlan *capture, const char *command, JsonArray *items, JsonArray *edits,
                        GError **error)
{
  g_autofree char *public_command = bkt_pr_item_public_command (command);

  for (guint i = 0; i < bkt_plan_get_n_operations (capture); i++)
    {
      BktOperation *op = bkt_plan_get_operation (capture, i);
      const char *subsystem = bkt_operation_get_subsystem (op);
      const char *name = target_name (bkt_operation_get_target (op));
      g_autoptr(JsonArray) one = json_array_new ();
      JsonObject *item;

      if (bkt_operation_get_effect (op) != BKT_EFFECT_MANIFEST)
        continue;
      json_array_add_object_element (one, edit_of (op));
      /* The same check as every punned change: an edit goes to its own
       * subsystem's file only. */
      if (!bkt_pr_item_check_edits (subsystem, one, error))
        return FALSE;
      json_array_add_element (edits, json_array_dup_element (one, 0));

      item = json_object_new ();
      json_object_set_string_member (item, "subsystem", subsystem);
      json_object_set_string_member (item, "action", bkt_operation_get_action (op));
      json_object_set_string_member (item, "name", name);
      {
        g_autofree char *describe = g_strdup_printf ("%s %s %s",
                                                     verb (subsystem, bkt_operation_get_action (op),
                                                           bkt_operation_get_details (op)),
                                                     bkt_pr_item_noun (subsystem), name);
        json_object_set_string_member (item, "describe", describe);
      }
      json_object_set_string_member (item, "summary", bkt_operation_get_summary (op));
      if (public_command != NULL)
        json_object_set_string_member (item, "command", public_command);
      json_object_set_boolean_member (item, "captured", TRUE);
      json_array_add_object_element (items, item);
    }
  if (json_array_get_length (items) == 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "nothing was changed on this machine since bkt last synced it: "
                                "there is nothing to capture or propose"), FALSE;
  return TRUE;
}

gboolean
bkt_pr_capture_is_capture (JsonArray *items)
{
  return items != NULL && json_array_get_length (items) > 0 &&
         json_object_get_boolean_member_with_default (json_array_get_object_element (items, 0), "captured", FALSE);
}

GBytes *
bkt_pr_capture_draft_entry (JsonArray *items, char **rel_path, GError **error)
{
  guint n = json_array_get_length (items);
  g_autoptr(GString) message = g_string_new (NULL);
  JsonObject *first = json_array_get_object_element (items, 0);

  g_string_printf (message, "Captured %u change%s made on a machine: ", n, n == 1 ? "" : "s");
  for (guint i = 0; i < n && i < MAX_DRAFT_ITEMS; i++)
    g_string_append_printf (message, "%s%s", i > 0 ? "; " : "",
                            bkt_json_object_get_string (json_array_get_object_element (items, i), "describe"));
  if (n > MAX_DRAFT_ITEMS)
    g_string_append_printf (message, "; and %u more", n - MAX_DRAFT_ITEMS);
  return bkt_changelog_draft_entry_full ("other", "capture", NULL, "changed", message->str,
                                         bkt_json_object_get_string (first, "command"), 0, rel_path, error);
}

/* The edits of @subsystem, in order. */
static JsonArray *
edits_of (JsonArray *edits, const char *subsystem)
{
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < json_array_get_length (edits); i++)
    {
      JsonObject *e = json_array_get_object_element (edits, i);
      if (g_strcmp0 (bkt_json_object_get_string (e, "subsystem"), subsystem) == 0)
        json_array_add_element (out, json_array_dup_element (edits, i));
    }
  return out;
}

/* "feat(flatpak): add flatpak a, add flatpak b" with the items as body. */
static char *
commit_message (JsonArray *items, const char *subsystem, const char *pr_title)
{
  g_autoptr(GString) title = g_string_new (NULL);
  g_autoptr(GString) body = g_string_new (NULL);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      if (g_strcmp0 (bkt_json_object_get_string (item, "subsystem"), subsystem) != 0)
        continue;
      g_string_append_printf (body, "- %s\n", bkt_json_object_get_string (item, "describe"));
      if (n++ < 3)
        g_string_append_printf (title, "%s%s", n > 1 ? ", " : "", bkt_json_object_get_string (item, "describe"));
    }
  if (n > 3)
    g_string_append (title, ", …");
  return g_strdup_printf ("feat(%s): %s\n\nCaptured on this machine (%s):\n%s", bkt_pr_item_noun (subsystem),
                          title->str, pr_title, body->str);
}

GPtrArray *
bkt_pr_capture_commits (BktGit *git, JsonObject *details, char **diff_out, GError **error)
{
  JsonArray *items = json_object_get_array_member (details, "items");
  JsonArray *edits = json_object_get_array_member (details, "edits");
  g_autoptr(GPtrArray) commits = g_ptr_array_new_with_free_func ((GDestroyNotify) bkt_pr_commit_free);
  g_autoptr(GPtrArray) seen = g_ptr_array_new ();
  g_autoptr(GString) diff = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      const char *subsystem = bkt_json_object_get_string (json_array_get_object_element (items, i), "subsystem");
      g_autoptr(JsonArray) mine = NULL;
      g_autoptr(BktPrCommit) commit = NULL;
      g_autofree char *part = NULL;

      if (subsystem == NULL || g_ptr_array_find_with_equal_func (seen, subsystem, g_str_equal, NULL))
        continue;
      g_ptr_array_add (seen, (gpointer) subsystem);
      mine = edits_of (edits, subsystem);
      commit = g_new0 (BktPrCommit, 1);
      /* Each subsystem edits its own files, so each commit's files are
       * read from the default branch without seeing the others'. */
      commit->files = bkt_pr_edited_contents (git, mine, &part, error);
      if (commit->files == NULL)
        return NULL;
      if (g_hash_table_size (commit->files) == 0)
        continue;
      g_string_append (diff, part);
      commit->message = commit_message (items, subsystem, bkt_json_object_get_string (details, "title"));
      g_ptr_array_add (commits, g_steal_pointer (&commit));
    }
  if (commits->len > 0)
    {
      BktPrCommit *last = g_ptr_array_index (commits, commits->len - 1);
      g_autofree char *path = NULL;
      GBytes *entry = bkt_pr_capture_draft_entry (items, &path, error);

      if (entry == NULL)
        return NULL;
      g_hash_table_insert (last->files, g_steal_pointer (&path), entry);
    }
  if (diff_out != NULL)
    *diff_out = g_string_free (g_steal_pointer (&diff), FALSE);
  return g_steal_pointer (&commits);
}
