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

const BktCommand bkt_drift_commands[] = {
  { "check", NULL, "base image assumptions, Containerfile managed sections and manifests vs this system, for CI; "
    "exit 0 no drift, 1 drift, 2 a check could not run", NULL, drift_check },
  { NULL }
};
