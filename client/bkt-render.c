/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bkt-render.h"
#include "bkt-plan.h"
#include "bkt-text.h"

/* The progress line is redrawn in place with "\r": that only works while
 * it fits on one row (a wrapped line leaves its first rows behind at every
 * redraw), so it is cut to the terminal's width, read again after each
 * SIGWINCH. */
static volatile sig_atomic_t width_changed = 1;

static void
on_sigwinch (int sig)
{
  width_changed = 1;
}

static guint
terminal_width (void)
{
  static guint width = 80;
  struct winsize ws;

  if (width_changed)
    {
      width_changed = 0;
      if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        width = ws.ws_col;
    }
  return width;
}

/* @text cut to @cols columns (a wide character takes two), with "…" where
 * it was cut. */
static char *
fit_columns (const char *text, guint cols)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint used = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      guint w = (c == (gunichar) -1 || c == (gunichar) -2) ? 1 : g_unichar_iswide (c) ? 2 : 1;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        break;
      if (used + w > cols)
        {
          /* room for the ellipsis: drop characters until it fits */
          while (out->len > 0 && used + 1 > cols)
            {
              const char *last = g_utf8_find_prev_char (out->str, out->str + out->len);
              used -= g_unichar_iswide (g_utf8_get_char (last)) ? 2 : 1;
              g_string_truncate (out, last - out->str);
            }
          g_string_append (out, "…");
          break;
        }
      g_string_append_unichar (out, c);
      used += w;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

void
bkt_render_init (BktRenderer *r, gboolean json)
{
  memset (r, 0, sizeof *r);
  r->json = json;
  r->tty = isatty (STDOUT_FILENO) && g_getenv ("TERM") != NULL && g_strcmp0 (g_getenv ("TERM"), "dumb") != 0;
  if (r->tty)
    {
      struct sigaction sa = { 0 };

      sa.sa_handler = on_sigwinch;
      sa.sa_flags = SA_RESTART;
      sigemptyset (&sa.sa_mask);
      sigaction (SIGWINCH, &sa, NULL);
    }
}

void
bkt_render_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

void
bkt_render_print_object (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  bkt_render_print_json (node);
}

void
bkt_render_end_progress (BktRenderer *r)
{
  if (r->bar_shown)
    {
      g_print ("\r\033[K");
      fflush (stdout);
      r->bar_shown = FALSE;
    }
}

static const char *
op_summary (BktRenderer *r, const char *id)
{
  const BktReplyOp *op = bkt_reply_plan_find (r->plan, id);

  return op != NULL && op->summary != NULL ? op->summary : id;
}

static void
on_progress (gpointer user_data, guint percent, const char *operation, const char *detail)
{
  BktRenderer *r = user_data;
  guint width = terminal_width ();
  /* a narrower bar on a narrow terminal, so the operation stays readable */
  guint bar_width = width >= 120 ? 30 : width >= 70 ? 20 : 10;
  guint filled = MIN (percent, 100) * bar_width / 100;
  g_autofree char *bar = NULL;
  g_autofree char *line = NULL;
  g_autofree char *fitted = NULL;

  if (r->json || !r->tty)
    return;
  bar = g_strnfill (bar_width, ' ');
  memset (bar, '#', filled);
  line = g_strdup_printf ("[%s] %3u%% %s%s%s", bar, MIN (percent, 100), operation,
                          detail && *detail ? "  " : "", detail ? detail : "");
  /* one column short of the width: some terminals wrap on the last one */
  fitted = fit_columns (line, width > 1 ? width - 1 : 1);
  g_print ("\r\033[K%s", fitted);
  fflush (stdout);
  r->bar_shown = TRUE;
}

static void
on_operation (gpointer user_data, guint index, const char *id, gboolean success, const char *error)
{
  BktRenderer *r = user_data;

  if (success)
    r->n_ok++;
  else
    r->n_failed++;
  if (r->json)
    return;
  bkt_render_end_progress (r);
  if (success)
    g_print ("  ✓ %s\n", op_summary (r, id));
  else
    g_print ("  ✗ %s: %s\n", op_summary (r, id), error);
  /* A pipe would hold the line until exit: whoever reads it (a script, a
   * log) learns when the local action ended, not when the PR did. */
  fflush (stdout);
}

static void
on_message (gpointer user_data, const char *text)
{
  BktRenderer *r = user_data;

  if (r->json)
    return;
  bkt_render_end_progress (r);
  g_printerr ("%s\n", text);
}

const BktFollowCallbacks bkt_render_follow_callbacks = { on_progress, on_operation, on_message };

void
bkt_render_plan (BktRenderer *r, JsonObject *plan)
{
  g_autofree char *text = NULL;

  if (r->json)
    {
      bkt_render_print_object (plan);
      return;
    }
  text = bkt_plan_json_describe (plan);
  g_print ("%s", text);
}

static gint64
int_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_int (n) : 0;
}

static guint
array_len (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_array_get_length (json_node_get_array (n)) : 0;
}

static void
print_items (JsonObject *subsystems, const char *list, const char *field, const char *bullet)
{
  g_autoptr(GList) names = json_object_get_members (subsystems);

  /* json_object_get_members() keeps the daemon's (execution) order. */
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *s = json_object_get_object_member (subsystems, l->data);
      JsonArray *items;

      if (array_len (s, list) == 0)
        continue;
      items = json_object_get_array_member (s, list);
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonNode *item = json_array_get_element (items, i);
          const char *text = NULL;

          if (JSON_NODE_HOLDS_OBJECT (item))
            text = json_object_get_string_member_with_default (json_node_get_object (item), field,
                     json_object_get_string_member_with_default (json_node_get_object (item), "target", "?"));
          else if (JSON_NODE_HOLDS_VALUE (item))
            text = json_node_get_string (item);
          g_print ("  %s %s%s\n", bullet, text ? text : "?",
                   JSON_NODE_HOLDS_OBJECT (item) &&
                   json_object_get_boolean_member_with_default (json_node_get_object (item), "ignored", FALSE)
                   ? "  (ignored)" : "");
        }
    }
}

/* One line per drift item, with which side changed (the state record,
 * docs/manifests.md) and the command that resolves it. */
static void
print_drift (JsonObject *subsystems)
{
  g_autoptr(GList) names = json_object_get_members (subsystems);

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *s = json_object_get_object_member (subsystems, l->data);
      JsonArray *items = array_len (s, "drift") > 0 ? json_object_get_array_member (s, "drift") : NULL;

      for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
        {
          JsonNode *node = json_array_get_element (items, i);
          JsonObject *op = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
          JsonNode *sync_node = op != NULL ? json_object_get_member (op, "sync") : NULL;
          JsonObject *sync = sync_node != NULL && JSON_NODE_HOLDS_OBJECT (sync_node) ? json_node_get_object (sync_node) : NULL;
          const char *state = sync != NULL ? json_object_get_string_member_with_default (sync, "state", NULL) : NULL;
          const char *summary = op != NULL ? json_object_get_string_member_with_default (op, "summary", "?") : "?";
          const char *manifest = sync != NULL ? json_object_get_string_member_with_default (sync, "manifest", NULL) : NULL;
          const char *live = sync != NULL ? json_object_get_string_member_with_default (sync, "live", NULL) : NULL;

          if (op != NULL && json_object_get_boolean_member_with_default (op, "ignored", FALSE))
            g_print ("  · IGNORED     %s\n      changed on this machine, ignored (\"ignore\" in config.json)\n",
                     summary);
          else if (g_strcmp0 (state, "to-capture") == 0)
            g_print ("  ◂ TO CAPTURE  %s\n      changed on this machine (now %s): bkt capture\n", summary,
                     live ? live : "absent");
          else if (g_strcmp0 (state, "conflict") == 0)
            g_print ("  ✗ CONFLICT    %s\n      manifests: %s, this machine: %s: "
                     "bkt apply --theirs or bkt capture --ours\n",
                     summary, manifest ? manifest : "absent", live ? live : "absent");
          else if (g_strcmp0 (state, "never-synced") == 0)
            g_print ("  ▸ TO APPLY    %s  (never applied here: run bkt apply)\n", summary);
          else
            g_print ("  ▸ TO APPLY    %s  (bkt apply)\n", summary);
        }
    }
}

void
bkt_render_status (BktRenderer *r, JsonObject *status)
{
  JsonObject *subsystems;
  g_autoptr(GList) names = NULL;
  guint drift = 0, untracked = 0, unknown = 0;

  if (r->json)
    {
      bkt_render_print_object (status);
      return;
    }
  subsystems = json_object_get_object_member (status, "subsystems");
  /* Items, each in one state (TRACKED = IN SYNC + DRIFT + UNKNOWN); the
   * drift list below is the operations apply would perform. */
  /* The drift split by which side changed (the state record):
   * TO APPLY + TO CAPTURE + CONFLICT = the operations listed below. */
  g_print ("%-12s %8s %8s %6s %8s %10s %9s %10s %8s\n", "SUBSYSTEM", "TRACKED", "IN SYNC", "DRIFT", "UNKNOWN",
           "UNTRACKED", "TO APPLY", "TO CAPTURE", "CONFLICT");
  names = json_object_get_members (subsystems);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonObject *s = json_object_get_object_member (subsystems, name);
      JsonNode *sync_node = json_object_get_member (s, "sync");
      JsonObject *sync = sync_node != NULL && JSON_NODE_HOLDS_OBJECT (sync_node) ? json_node_get_object (sync_node) : NULL;
      guint d = array_len (s, "drift"), u = array_len (s, "untracked"), k = array_len (s, "unknown");

      drift += d;
      untracked += u;
      unknown += k;
      g_print ("%-12s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %6" G_GINT64_FORMAT " %8u %10u %9" G_GINT64_FORMAT
               " %10" G_GINT64_FORMAT " %8" G_GINT64_FORMAT "\n", name,
               int_member (s, "tracked"), int_member (s, "in_sync"),
               json_object_has_member (s, "drifted") ? int_member (s, "drifted") : (gint64) d, k, u,
               sync != NULL ? int_member (sync, "to_apply") : (gint64) d, int_member (sync, "to_capture"),
               int_member (sync, "conflict"));
    }
  if (unknown > 0)
    {
      g_print ("\nUnknown (cannot be checked on this machine; not in sync):\n");
      print_items (subsystems, "unknown", "summary", "?");
    }
  if (drift > 0)
    {
      g_print ("\nDrift (each with the command that resolves it):\n");
      print_drift (subsystems);
    }
  if (untracked > 0)
    {
      g_print ("\nUntracked (record them with `bkt capture --select ID[,ID…]` or `--all-untracked`):\n");
      print_items (subsystems, "untracked", "summary", "•");
    }
  if (array_len (status, "prune") > 0)
    {
      JsonArray *p = json_object_get_array_member (status, "prune");

      g_print ("\nInstalled or set by bkt, no longer in any manifest (`bkt apply --prune` removes them):\n");
      for (guint i = 0; i < json_array_get_length (p); i++)
        g_print ("  - %s\n", json_object_get_string_member_with_default (json_array_get_object_element (p, i),
                                                                        "summary", "?"));
    }
  /* Extensions that the running shell will not load. */
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *s = json_object_get_object_member (subsystems, l->data);

      if (array_len (s, "incompatible") > 0)
        {
          JsonArray *a = json_object_get_array_member (s, "incompatible");
          g_print ("\nIncompatible with GNOME Shell %s:\n",
                   json_object_get_string_member_with_default (s, "shell_version", "?"));
          for (guint i = 0; i < json_array_get_length (a); i++)
            g_print ("  ! %s\n", json_array_get_string_element (a, i));
        }
    }
  if (array_len (status, "warnings") > 0)
    {
      JsonArray *w = json_object_get_array_member (status, "warnings");
      g_autoptr(GPtrArray) lines = g_ptr_array_new ();
      g_autoptr(GPtrArray) grouped = NULL;

      /* one line per cause, as a plan's warnings (bkt_text_group_lines) */
      for (guint i = 0; i < json_array_get_length (w); i++)
        g_ptr_array_add (lines, (gpointer) json_array_get_string_element (w, i));
      g_ptr_array_add (lines, NULL);
      grouped = bkt_text_group_lines ((const char * const *) lines->pdata, BKT_PLAN_WARNING_NAMES);
      g_print ("\n");
      for (guint i = 0; i < grouped->len; i++)
        g_print ("warning: %s\n", (char *) grouped->pdata[i]);
    }
  if (drift == 0 && untracked == 0 && unknown == 0)
    g_print ("\nIn sync: the system matches the manifests.\n");
}
