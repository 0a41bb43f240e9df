/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bkt-base.h"
#include "commands.h"
#include "bkt-containerfile.h"
#include "bkt-error.h"
#include "bkt-repo.h"

/* `bkt drift check`: one answer for CI and for a weekly job, from three
 * sources: the base image assumptions, the Containerfile's managed
 * sections, and (when a session engine can be reached) the manifests
 * against this system.  Exit 0 no drift, 1 drift, 2 a check could not run
 * — distinct from 1 so that a broken check never passes for drift or
 * the other way round. */

enum { DRIFT_NONE = 0, DRIFT_FOUND = 1, DRIFT_ERROR = 2 };

static JsonObject *
section_new (const char *state, const char *detail)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "state", state);
  if (detail != NULL)
    json_object_set_string_member (o, "detail", detail);
  return o;
}

static JsonObject *
check_base (const char *file, const char *root, int *code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) a = NULL;
  g_autoptr(JsonObject) report = NULL;
  JsonObject *s;

  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    return section_new ("skipped", "no base-image-assumptions.json");
  a = bkt_base_load (file, &error);
  if (a != NULL)
    report = bkt_base_verify (a, root, &error);
  if (report == NULL)
    {
      *code = DRIFT_ERROR;
      return section_new ("error", error->message);
    }
  if (!json_object_get_boolean_member (report, "ok"))
    {
      g_autoptr(GString) missing = g_string_new (NULL);
      const char *kinds[] = { "packages", "services", "paths" };

      for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
        {
          JsonArray *m = json_object_get_array_member (json_object_get_object_member (report, kinds[k]), "missing");
          for (guint i = 0; i < json_array_get_length (m); i++)
            g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", json_array_get_string_element (m, i));
        }
      if (missing->len > 0)
        {
          s = section_new ("drift", missing->str);
          *code = MAX (*code, DRIFT_FOUND);
        }
      else
        {
          /* nothing missing, but the packages could not be looked up */
          s = section_new ("unverified", json_object_get_string_member (
                             json_object_get_object_member (report, "packages"), "unknown_reason"));
          *code = DRIFT_ERROR;
        }
    }
  else
    s = section_new ("ok", NULL);
  json_object_set_object_member (s, "report", g_steal_pointer (&report));
  return s;
}

static JsonObject *
check_containerfile (const char *file, const char *manifests, int *code)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) changed = NULL;

  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    return section_new ("skipped", "no Containerfile");
  if (bkt_containerfile_sync_file (file, manifests, TRUE, &changed, &error))
    return section_new ("ok", NULL);
  /* `check` fails naming the stale sections: that is drift, not an error */
  if (changed != NULL && changed[0] != NULL)
    {
      g_autofree char *list = g_strjoinv (", ", changed);
      *code = MAX (*code, DRIFT_FOUND);
      return section_new ("drift", list);
    }
  /* no managed section: nothing to compare, and the message says how to add one */
  if (g_error_matches (error, BKT_ERROR, BKT_ERROR_NOT_FOUND))
    return section_new ("skipped", error->message);
  *code = DRIFT_ERROR;
  return section_new ("error", error->message);
}

static JsonObject *
check_system (Ctx *ctx, int *code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(JsonObject) items = json_object_new ();
  g_autoptr(GString) counts = g_string_new (NULL);
  JsonObject *subsystems;
  g_autoptr(GList) names = NULL;
  JsonObject *s;
  guint total = 0;

  status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                 g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  /* A CI container has no engine to ask: the other checks still count. */
  if (status == NULL)
    return section_new ("skipped", error->message);
  subsystems = json_object_get_object_member (status, "subsystems");
  names = subsystems != NULL ? json_object_get_members (subsystems) : NULL;
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *sub = json_object_get_object_member (subsystems, l->data);
      JsonArray *d = sub != NULL && json_object_has_member (sub, "drift") ? json_object_get_array_member (sub, "drift") : NULL;
      /* An entry that cannot be checked here (its schema is not installed…) is not "no drift". */
      JsonArray *u = sub != NULL && json_object_has_member (sub, "unknown") ? json_object_get_array_member (sub, "unknown") : NULL;
      JsonArray *list;

      if ((d == NULL || json_array_get_length (d) == 0) && (u == NULL || json_array_get_length (u) == 0))
        continue;
      /* one entry per item, per subsystem: read one line each, not joined */
      list = json_array_new ();
      for (guint i = 0; d != NULL && i < json_array_get_length (d); i++)
        {
          JsonNode *n = json_array_get_element (d, i);
          const char *what = JSON_NODE_HOLDS_OBJECT (n)
            ? json_object_get_string_member_with_default (json_node_get_object (n), "summary", "?")
            : JSON_NODE_HOLDS_VALUE (n) ? json_node_get_string (n) : "?";
          json_array_add_string_element (list, what ? what : "?");
        }
      for (guint i = 0; u != NULL && i < json_array_get_length (u); i++)
        {
          JsonNode *n = json_array_get_element (u, i);
          const char *what = JSON_NODE_HOLDS_OBJECT (n)
            ? json_object_get_string_member_with_default (json_node_get_object (n), "summary", "?") : "?";
          g_autofree char *line = g_strdup_printf ("cannot be checked: %s", what ? what : "?");
          json_array_add_string_element (list, line);
        }
      total += json_array_get_length (list);
      g_string_append_printf (counts, "%s%s %u", counts->len ? ", " : "", (char *) l->data,
                              json_array_get_length (list));
      json_object_set_array_member (items, l->data, list);
    }
  if (total > 0)
    {
      g_autofree char *detail = g_strdup_printf ("%u item(s) differ (%s)", total, counts->str);
      *code = MAX (*code, DRIFT_FOUND);
      s = section_new ("drift", detail);
      json_object_set_object_member (s, "items", g_steal_pointer (&items));
    }
  else
    s = section_new ("ok", NULL);
  return s;
}

static int
drift_check (Ctx *ctx, int argc, char **argv)
{
  g_autofree char *root = NULL;
  gboolean skip_system = FALSE;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root, "The system root for the base assumptions (default /)", "DIR" },
    { "skip-system", 0, 0, G_OPTION_ARG_NONE, &skip_system, "Do not compare the manifests with this system", NULL },
    { NULL }
  };
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *repo_dir = NULL;
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *manifests = NULL;
  g_autofree char *base_file = NULL;
  g_autofree char *containerfile = NULL;
  int code = DRIFT_NONE;
  int pcode;
  const char *order[] = { "base", "containerfile", "system" };

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &pcode))
    return pcode;
  repo_dir = ctx->opt.repo != NULL ? g_canonicalize_filename (ctx->opt.repo, NULL) : NULL;
  repo = bkt_repo_discover (repo_dir, cwd, &error);
  if (repo == NULL)
    {
      g_printerr ("bkt: %s\n", error->message);
      return DRIFT_ERROR;
    }
  manifests = ctx->opt.manifests != NULL ? g_canonicalize_filename (ctx->opt.manifests, NULL)
                                         : g_build_filename (bkt_repo_get_path (repo), "manifests", NULL);
  /* The desired state is the repo's manifests (what the next image
   * ships), not this machine's layering: the question is whether the
   * repo and the system agree. */
  if (ctx->opt.manifests == NULL)
    ctx->opt.manifests = g_strdup (manifests);
  base_file = g_build_filename (bkt_repo_get_path (repo), "manifests", BKT_BASE_FILE, NULL);
  containerfile = g_build_filename (bkt_repo_get_path (repo), "Containerfile", NULL);

  json_object_set_object_member (out, "base", check_base (base_file, root, &code));
  json_object_set_object_member (out, "containerfile", check_containerfile (containerfile, manifests, &code));
  json_object_set_object_member (out, "system", skip_system ? section_new ("skipped", "--skip-system")
                                                            : check_system (ctx, &code));
  json_object_set_string_member (out, "result", code == DRIFT_NONE ? "none" : code == DRIFT_FOUND ? "drift" : "error");
  if (ctx->opt.json)
    bkt_render_print_object (out);
  else
    {
      g_autoptr(GString) which = g_string_new (NULL);

      for (guint i = 0; i < G_N_ELEMENTS (order); i++)
        {
          JsonObject *s = json_object_get_object_member (out, order[i]);
          const char *state = json_object_get_string_member (s, "state");
          const char *detail = json_object_get_string_member_with_default (s, "detail", NULL);
          JsonObject *items = json_object_has_member (s, "items") ? json_object_get_object_member (s, "items") : NULL;
          g_autoptr(GList) subs = items != NULL ? json_object_get_members (items) : NULL;

          g_print ("%-14s %-8s%s%s\n", order[i], state, detail ? " " : "", detail ? detail : "");
          for (GList *l = subs; l != NULL; l = l->next)
            {
              JsonArray *a = json_object_get_array_member (items, l->data);
              g_print ("  %s (%u):\n", (char *) l->data, json_array_get_length (a));
              for (guint k = 0; k < json_array_get_length (a); k++)
                g_print ("    ▸ %s\n", json_array_get_string_element (a, k));
            }
          if (!g_str_equal (state, "ok") && !g_str_equal (state, "skipped"))
            g_string_append_printf (which, "%s%s %s", which->len ? ", " : "", order[i], state);
        }
      /* the summary says what the answer rests on */
      if (code == DRIFT_NONE)
        g_print ("No drift: every check that ran agrees.\n");
      else if (code == DRIFT_FOUND)
        g_print ("DRIFT (exit 1): %s.\n", which->str);
      else
        g_print ("A check could not run (exit 2): %s.\n", which->str);
    }
  return code;
}


/* ---- drift status: which side changed, per subsystem and item ------------------- */

/* The label of a sync state (bkt-state-record.h) as the columns name it. */
static const char *
state_label (const char *state)
{
  static const struct { const char *state, *label; } labels[] = {
    { "to-apply", "TO APPLY" }, { "never-synced", "NEVER SYNCED" }, { "to-capture", "TO CAPTURE" },
    { "conflict", "CONFLICT" }, { "untracked", "UNTRACKED" }, { "in-sync", "IN SYNC" },
  };

  for (guint i = 0; state != NULL && i < G_N_ELEMENTS (labels); i++)
    if (g_str_equal (labels[i].state, state))
      return labels[i].label;
  return "NO RECORD";  /* two-way: a subsystem without items, or an unreadable record */
}

static const char *
member_or_null (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

static JsonObject *
object_member (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
array_member (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

/* @to.@name = a copy of @from.@member, or null when @from or the member
 * is missing (json_node_copy (NULL) would abort). */
static void
copy_value (JsonObject *to, const char *name, JsonObject *from, const char *member)
{
  JsonNode *v = from != NULL ? json_object_get_member (from, member) : NULL;

  if (v != NULL)
    json_object_set_member (to, name, json_node_copy (v));
  else
    json_object_set_null_member (to, name);
}

static void
count_state (JsonObject *counts, const char *state)
{
  const char *member = g_strcmp0 (state, "to-apply") == 0 ? "to_apply"
                       : g_strcmp0 (state, "never-synced") == 0 ? "never_synced"
                       : g_strcmp0 (state, "to-capture") == 0 ? "to_capture"
                       : g_strcmp0 (state, "conflict") == 0 ? "conflict"
                       : g_strcmp0 (state, "untracked") == 0 ? "untracked" : "no_record";

  json_object_set_int_member (counts, member, json_object_get_int_member_with_default (counts, member, 0) + 1);
}

/* The command that settles one item, as `bkt drift explain` gives it. */
static char *
next_command (const char *state, const char *subsystem, const char *target)
{
  if (g_strcmp0 (state, "to-capture") == 0 || g_strcmp0 (state, "untracked") == 0)
    return g_strdup_printf ("bkt capture --only %s --select %s", subsystem, target);
  if (g_strcmp0 (state, "conflict") == 0)
    return g_strdup_printf ("bkt apply --only %s --theirs, or bkt capture --only %s --select %s --ours",
                            subsystem, subsystem, target);
  if (g_strcmp0 (state, "to-apply") == 0 || g_strcmp0 (state, "never-synced") == 0)
    return g_strdup_printf ("bkt apply --only %s", subsystem);
  return g_strdup_printf ("bkt apply --only %s, or bkt capture --only %s --select %s", subsystem, subsystem, target);
}

/* One item of a drift operation (its "sync" as bkt-sync.c annotates it). */
static JsonObject *
drift_item (const char *subsystem, JsonObject *op)
{
  JsonObject *sync = object_member (op, "sync");
  JsonObject *base = object_member (sync, "base");
  const char *state = member_or_null (sync, "state");
  const char *target = member_or_null (op, "target");
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "target", target != NULL ? target : "?");
  json_object_set_string_member (o, "state", state != NULL ? state : "two-way");
  json_object_set_string_member (o, "label", state_label (state));
  json_object_set_string_member (o, "direction", member_or_null (sync, "direction") != NULL
                                                 ? member_or_null (sync, "direction") : "two-way");
  json_object_set_string_member (o, "summary", member_or_null (op, "summary") ? member_or_null (op, "summary") : "");
  copy_value (o, "manifest", sync, "manifest");
  copy_value (o, "live", sync, "live");
  copy_value (o, "base", base, "value");
  {
    g_autofree char *next = next_command (state, subsystem, target);
    json_object_set_string_member (o, "next", next);
  }
  return o;
}

/* Status's per-subsystem drift and untracked lists as one list of items
 * per subsystem, each with its direction; counts per state. */
static JsonObject *
drift_subsystem (const char *name, JsonObject *st)
{
  JsonObject *out = json_object_new ();
  JsonObject *counts = json_object_new ();
  JsonArray *items = json_array_new ();
  JsonArray *drift = array_member (st, "drift");
  JsonArray *untracked = array_member (st, "untracked");
  const char *members[] = { "to_apply", "never_synced", "to_capture", "conflict", "untracked", "no_record" };

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    json_object_set_int_member (counts, members[i], 0);
  for (guint i = 0; drift != NULL && i < json_array_get_length (drift); i++)
    {
      JsonObject *op = json_array_get_object_element (drift, i);
      JsonObject *item;

      if (op == NULL)
        continue;
      item = drift_item (name, op);
      count_state (counts, json_object_get_string_member (item, "state"));
      json_array_add_object_element (items, item);
    }
  for (guint i = 0; untracked != NULL && i < json_array_get_length (untracked); i++)
    {
      JsonObject *u = json_array_get_object_element (untracked, i);
      const char *target = member_or_null (u, "target");
      g_autofree char *next = NULL;
      JsonObject *item;

      if (target == NULL)
        continue;
      next = next_command ("untracked", name, target);
      item = json_object_new ();
      json_object_set_string_member (item, "target", target);
      json_object_set_string_member (item, "state", "untracked");
      json_object_set_string_member (item, "label", "UNTRACKED");
      json_object_set_string_member (item, "direction", "capture");
      json_object_set_string_member (item, "summary", member_or_null (u, "summary") ? member_or_null (u, "summary")
                                                                                    : target);
      json_object_set_null_member (item, "manifest");
      json_object_set_null_member (item, "base");
      json_object_set_null_member (item, "live");
      json_object_set_string_member (item, "next", next);
      count_state (counts, "untracked");
      json_array_add_object_element (items, item);
    }
  json_object_set_object_member (out, "counts", counts);
  json_object_set_array_member (out, "items", items);
  return out;
}

/* "manifests: 'a', base: 'b', here: 'c'" (an absent value is left out). */
static void
print_values (JsonObject *item)
{
  const char *members[] = { "manifest", "base", "live" };
  const char *names[] = { "manifests", "base", "here" };
  gboolean first = TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      const char *v = member_or_null (item, members[i]);

      if (v == NULL)
        continue;
      g_print ("%s%s: %s", first ? " " : ", ", names[i], v);
      first = FALSE;
    }
}

static void
print_drift_status (JsonObject *out)
{
  JsonObject *subsystems = json_object_get_object_member (out, "subsystems");
  g_autoptr(GList) names = json_object_get_members (subsystems);
  JsonArray *warnings = array_member (out, "warnings");
  guint total = 0;

  g_print ("%-12s %9s %13s %11s %9s %10s %10s\n", "SUBSYSTEM", "TO APPLY", "NEVER SYNCED", "TO CAPTURE",
           "CONFLICT", "UNTRACKED", "NO RECORD");
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *c = object_member (json_object_get_object_member (subsystems, l->data), "counts");

      g_print ("%-12s %9" G_GINT64_FORMAT " %13" G_GINT64_FORMAT " %11" G_GINT64_FORMAT " %9" G_GINT64_FORMAT
               " %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT "\n", (char *) l->data,
               json_object_get_int_member (c, "to_apply"), json_object_get_int_member (c, "never_synced"),
               json_object_get_int_member (c, "to_capture"), json_object_get_int_member (c, "conflict"),
               json_object_get_int_member (c, "untracked"), json_object_get_int_member (c, "no_record"));
    }
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonArray *items = array_member (json_object_get_object_member (subsystems, l->data), "items");

      if (items == NULL || json_array_get_length (items) == 0)
        continue;
      g_print ("\n%s:\n", (char *) l->data);
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonObject *item = json_array_get_object_element (items, i);

          g_print ("  %-13s %s\n   ", json_object_get_string_member (item, "label"),
                   json_object_get_string_member (item, "target"));
          print_values (item);
          g_print ("\n    → %s\n", json_object_get_string_member (item, "next"));
          total++;
        }
    }
  for (guint i = 0; warnings != NULL && i < json_array_get_length (warnings); i++)
    g_print ("\nwarning: %s", json_array_get_string_element (warnings, i));
  if (warnings != NULL && json_array_get_length (warnings) > 0)
    g_print ("\n");
  if (total == 0)
    g_print ("\nIn sync: no item differs between the manifests and this machine.\n");
  else
    g_print ("\n%u item(s) differ; bkt drift explain ITEM shows one in full.\n", total);
}

static int
drift_status (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "only", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  JsonObject *subsystems = json_object_new ();
  JsonObject *all;
  g_autoptr(GList) names = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  status = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Status",
                                 g_variant_new ("(@a{sv})", session_options (ctx, NULL)), &error);
  if (status == NULL)
    return fail (error);
  all = object_member (status, "subsystems");
  names = all != NULL ? json_object_get_members (all) : NULL;
  for (GList *l = names; l != NULL; l = l->next)
    json_object_set_object_member (subsystems, l->data,
                                   drift_subsystem (l->data, json_object_get_object_member (all, l->data)));
  json_object_set_object_member (out, "subsystems", subsystems);
  /* What the daemon already sums and advises, passed along as it is. */
  if (object_member (status, "record") != NULL)
    json_object_set_object_member (out, "record", json_object_ref (object_member (status, "record")));
  if (array_member (status, "next_actions") != NULL)
    json_object_set_array_member (out, "next_actions", json_array_ref (array_member (status, "next_actions")));
  json_object_set_array_member (out, "warnings", array_member (status, "warnings") != NULL
                                ? json_array_ref (array_member (status, "warnings")) : json_array_new ());
  if (ctx->opt.json)
    bkt_render_print_object (out);
  else
    print_drift_status (out);
  return EXIT_OK;
}

/* ---- drift explain: one item in full -------------------------------------------- */

static const char *
state_sentence (const char *state)
{
  static const struct { const char *state, *text; } texts[] = {
    { "in-sync", "in sync: the manifests and this machine agree" },
    { "to-apply", "changed in the manifests since bkt last synced it: TO APPLY" },
    { "never-synced", "declared, never applied here: TO APPLY" },
    { "to-capture", "changed on this machine since bkt last synced it: TO CAPTURE" },
    { "conflict", "changed on both sides since bkt last synced it: CONFLICT" },
    { "untracked", "on this machine only, in no manifest, not installed by bkt: UNTRACKED" },
    { "two-way", "no usable state record: bkt cannot tell which side changed" },
    { "unknown", "declared, but not comparable with this machine" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    if (g_strcmp0 (texts[i].state, state) == 0)
      return texts[i].text;
  return state;
}

static void
print_layers (JsonArray *layers)
{
  g_print ("  declared in:\n");
  if (layers == NULL || json_array_get_length (layers) == 0)
    g_print ("    no manifest layer\n");
  for (guint i = 0; layers != NULL && i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      const char *file = member_or_null (layer, "file");
      JsonNode *entry = json_object_get_member (layer, "entry");

      if (!json_object_get_boolean_member_with_default (layer, "declared", FALSE))
        {
          g_print ("    %-13s %s  (not declared)\n", json_object_get_string_member (layer, "layer"), file ? file : "-");
          continue;
        }
      {
        g_autoptr(JsonGenerator) gen = json_generator_new ();
        g_autofree char *text = NULL;

        json_generator_set_root (gen, entry);
        text = json_generator_to_data (gen, NULL);
        if (json_object_has_member (layer, "line"))
          g_print ("    %-13s %s:%" G_GINT64_FORMAT "  %s%s\n", json_object_get_string_member (layer, "layer"),
                   file ? file : "-", json_object_get_int_member (layer, "line"), text,
                   json_object_get_boolean_member_with_default (layer, "in_effect", FALSE) ? "  ← in effect" : "");
        else
          g_print ("    %-13s %s  %s%s\n", json_object_get_string_member (layer, "layer"), file ? file : "-", text,
                   json_object_get_boolean_member_with_default (layer, "in_effect", FALSE) ? "  ← in effect" : "");
      }
    }
}

static void
print_explained (JsonObject *item)
{
  JsonObject *base = object_member (item, "base");
  const char *target = member_or_null (item, "target");
  const char *command = member_or_null (item, "command");

  g_print ("%s  (%s, %s scope)\n", target ? target : member_or_null (item, "key"),
           json_object_get_string_member (item, "subsystem"),
           member_or_null (item, "scope") ? member_or_null (item, "scope") : "no");
  print_layers (array_member (item, "layers"));
  g_print ("  manifests:    %s\n", member_or_null (item, "manifest") ? member_or_null (item, "manifest") : "absent");
  if (base != NULL)
    g_print ("  base:         %s  (recorded by %s, %s; from %s %s)\n",
             member_or_null (base, "value") ? member_or_null (base, "value") : "absent",
             member_or_null (base, "command") ? member_or_null (base, "command") : "?",
             member_or_null (base, "when") ? member_or_null (base, "when") : "?",
             member_or_null (base, "layer") ? member_or_null (base, "layer") : "?",
             member_or_null (base, "file") ? member_or_null (base, "file") : "?");
  else
    g_print ("  base:         none (bkt never synced it here)\n");
  g_print ("  this machine: %s\n", member_or_null (item, "live") ? member_or_null (item, "live") : "absent");
  g_print ("  state:        %s\n", state_sentence (member_or_null (item, "state")));
  if (member_or_null (item, "reason") != NULL)
    g_print ("                %s\n", member_or_null (item, "reason"));
  g_print ("  resolve:      %s\n", command != NULL && *command != '\0' ? command : "nothing to do");
}

static int
drift_explain (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "only", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  g_autofree char *item = NULL;
  JsonArray *items, *warnings;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 1, -1, &code))
    return code;
  /* "org.gnome.desktop.interface cursor-theme" may come as two words. */
  item = g_strjoinv (" ", argv + 1);
  out = bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Explain",
                              g_variant_new ("(s@a{sv})", item, session_options (ctx, NULL)), &error);
  if (out == NULL)
    return fail (error);
  if (ctx->opt.json)
    {
      bkt_render_print_object (out);
      return EXIT_OK;
    }
  items = array_member (out, "items");
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      if (i > 0)
        g_print ("\n");
      print_explained (json_array_get_object_element (items, i));
    }
  warnings = array_member (out, "warnings");
  for (guint i = 0; warnings != NULL && i < json_array_get_length (warnings); i++)
    g_print ("warning: %s\n", json_array_get_string_element (warnings, i));
  return EXIT_OK;
}

const BktCommand bkt_drift_commands[] = {
  { "check", NULL, "base image assumptions, Containerfile managed sections and manifests vs this system, for CI; "
    "exit 0 no drift, 1 drift, 2 a check could not run", NULL, drift_check },
  { "status", NULL, "which side changed, per subsystem and item: TO APPLY, NEVER SYNCED, TO CAPTURE, CONFLICT, "
    "UNTRACKED, each with the command that settles it", NULL, drift_status },
  { "explain", NULL, "one item in full: each manifest layer's declaration with file:line, the recorded base, "
    "the live value, the direction and the command that resolves it", "ITEM", drift_explain },
  { NULL }
};
