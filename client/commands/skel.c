/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bkt-diff.h"
#include "bkt-error.h"
#include "commands.h"

/* `bkt skel`: the distribution's dotfiles (daemon/subsystems/skel).  list
 * and diff read the subsystem's Status (which file, which state, where
 * both copies are); diff compares the two copies here, as the user who
 * can read them; sync is an apply of skel alone; add a punned change. */

/* Files the diff reads: the daemon refuses bigger ones anyway. */
#define MAX_DIFF_FILE (1024 * 1024)

static void
skel_header (JsonObject *s)
{
  JsonNode *dirs = json_object_get_member (s, "dirs");

  g_print ("Home: %s\n", json_object_get_string_member_with_default (s, "home", "?"));
  for (guint i = 0; dirs != NULL && JSON_NODE_HOLDS_ARRAY (dirs) && i < json_array_get_length (json_node_get_array (dirs)); i++)
    g_print ("Skel: %s\n", json_array_get_string_element (json_node_get_array (dirs), i));
}

static void
skel_entry (JsonObject *status, JsonObject *o)
{
  const char *error = json_object_get_string_member_with_default (o, "error", NULL);

  g_print ("%-40s %-16s %s%s%s\n", json_object_get_string_member_with_default (o, "path", "?"),
           json_object_get_string_member_with_default (o, "state", "?"),
           json_object_get_string_member_with_default (o, "layer", "?"), error ? ": " : "", error ? error : "");
}

static int
skel_list (Ctx *ctx, int argc, char **argv)
{
  static const BktListView view = {
    .subsystem = "skel", .entries_member = "files", .name_width = 40,
    .untracked_hint = "", .print_header = skel_header, .print_entry = skel_entry,
  };
  return bkt_list_run (ctx, argc, argv, &view);
}

/* --force: the skel wins over files changed at home (--theirs); without
 * it they are kept and the rest is copied (--ours). */
static int
skel_sync (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.force,
      "Also replace files changed at home or never synced by bkt", NULL },
    { NULL }
  };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  ctx->opt.resolve = ctx->opt.force ? "theirs" : "ours";
  return run_apply (ctx, "skel");
}

/* @arg as a path relative to the home directory: "~/X", an absolute path
 * or one relative to the working directory, normalised without following
 * links (the daemon refuses links below $HOME); NULL when it leaves $HOME. */
static char *
home_relative (const char *arg)
{
  const char *home = g_get_home_dir ();
  g_autofree char *home_slash = g_str_has_suffix (home, "/") ? g_strdup (home) : g_strconcat (home, "/", NULL);
  g_autofree char *abs = NULL;

  if (g_str_has_prefix (arg, "~/"))
    abs = g_build_filename (home, arg + 2, NULL);
  else
    abs = g_canonicalize_filename (arg, NULL);
  {
    g_autofree char *clean = g_canonicalize_filename (abs, "/");
    if (!g_str_has_prefix (clean, home_slash) || clean[strlen (home_slash)] == '\0')
      return NULL;
    return g_strdup (clean + strlen (home_slash));
  }
}

static int
skel_add (Ctx *ctx, int argc, char **argv)
{
  g_autofree char *rel = NULL;
  GVariantBuilder b;
  int code;

  if (!parse_command_full (ctx, NULL, TRUE, &argc, &argv, 1, 1, &code))
    return code;
  rel = home_relative (argv[1]);
  if (rel == NULL)
    {
      g_printerr ("bkt: skel add: %s is not inside your home directory (%s): only your own dotfiles go into "
                  "the skel\n", argv[1], g_get_home_dir ());
      return EXIT_USAGE;
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "path", rel);
  return run_change (ctx, "skel", "add", g_variant_builder_end (&b));
}

/* One file's bytes, or "" when absent; FALSE when it cannot be read. */
static gboolean
read_side (const char *path, gboolean present, char **data, gsize *len, GError **error)
{
  GStatBuf st;

  *data = NULL;
  *len = 0;
  if (!present)
    return *data = g_strdup (""), TRUE;
  if (g_lstat (path, &st) == 0 && (!S_ISREG (st.st_mode) || st.st_size > MAX_DIFF_FILE))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s: not a regular file of at most %d bytes", path,
                        MAX_DIFF_FILE), FALSE;
  return g_file_get_contents (path, data, len, error);
}

/* The unified diff skel → home of one file (state as the daemon said). */
static char *
file_diff (JsonObject *f, GError **error)
{
  const char *source = json_object_get_string_member_with_default (f, "source", "");
  const char *home = json_object_get_string_member_with_default (f, "home", "");
  const char *rel = json_object_get_string_member_with_default (f, "path", "");
  /* "home_mode" is there exactly when the file is (a file deleted at
   * home after a sync is "changed-at-home" too). */
  gboolean at_home = json_object_has_member (f, "home_mode");
  g_autofree char *a = NULL, *b = NULL, *la = NULL, *lb = NULL, *out = NULL;
  const char *mode = json_object_get_string_member_with_default (f, "mode", NULL);
  const char *home_mode = json_object_get_string_member_with_default (f, "home_mode", NULL);
  gsize alen, blen;

  if (!read_side (source, TRUE, &a, &alen, error) || !read_side (home, at_home, &b, &blen, error))
    return NULL;
  la = g_strconcat ("skel/", rel, NULL);
  lb = at_home ? g_strconcat ("~/", rel, NULL) : g_strdup ("/dev/null");
  out = bkt_diff_unified (la, a, alen, lb, b, blen, 3);
  if (at_home && mode != NULL && home_mode != NULL && g_strcmp0 (mode, home_mode) != 0)
    {
      g_autofree char *with_mode = g_strdup_printf ("mode %s → %s: %s\n%s", mode, home_mode, rel, out);
      g_free (out);
      out = g_steal_pointer (&with_mode);
    }
  return g_steal_pointer (&out);
}

static gboolean
wanted (JsonObject *f, const char *rel, const char *arg)
{
  const char *path = json_object_get_string_member_with_default (f, "path", "");

  return arg == NULL || g_strcmp0 (path, rel) == 0 || g_strcmp0 (path, arg) == 0;
}

static int
skel_diff (Ctx *ctx, int argc, char **argv)
{
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) out = json_array_new ();
  g_autofree char *rel = NULL;
  JsonObject *s;
  JsonArray *files;
  guint matched = 0;
  int code;

  if (!parse_command (ctx, NULL, &argc, &argv, 0, 1, &code))
    return code;
  rel = argc > 1 ? home_relative (argv[1]) : NULL;
  s = bkt_cmd_subsystem_status (ctx, "skel", &all, &error);
  if (s == NULL)
    return fail (error);
  files = json_object_get_array_member (s, "files");
  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      JsonObject *f = json_array_get_object_element (files, i);
      const char *state = json_object_get_string_member_with_default (f, "state", "");
      JsonObject *o;
      g_autofree char *d = NULL;

      if (f == NULL || !wanted (f, rel, argc > 1 ? argv[1] : NULL))
        continue;
      matched++;
      o = json_object_new ();
      json_object_set_string_member (o, "path", json_object_get_string_member_with_default (f, "path", ""));
      json_object_set_string_member (o, "state", state);
      if (g_str_equal (state, "unreadable"))
        json_object_set_string_member (o, "error", json_object_get_string_member_with_default (f, "error", ""));
      else if (!g_str_equal (state, "in-sync"))
        {
          d = file_diff (f, &error);
          if (d == NULL)
            {
              json_object_unref (o);
              return fail (error);
            }
          json_object_set_string_member (o, "diff", d);
        }
      json_array_add_object_element (out, o);
    }
  if (argc > 1 && matched == 0)
    {
      g_printerr ("bkt: skel diff: %s is not a skel file (bkt skel list shows them)\n", argv[1]);
      return EXIT_FAILED;
    }
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) doc = json_object_new ();
      json_object_set_array_member (doc, "files", json_array_ref (out));
      bkt_render_print_object (doc);
      return EXIT_OK;
    }
  for (guint i = 0; i < json_array_get_length (out); i++)
    {
      JsonObject *o = json_array_get_object_element (out, i);
      const char *d = json_object_get_string_member_with_default (o, "diff", NULL);

      if (json_object_has_member (o, "error"))
        g_print ("%s: %s\n", json_object_get_string_member (o, "path"), json_object_get_string_member (o, "error"));
      else if (d != NULL)
        g_print ("%s", d);
    }
  return EXIT_OK;
}

const BktCommand bkt_skel_commands[] = {
  { "add", NULL, "copy FILE from your home into the skel, record it and propose it", "FILE", skel_add },
  { "diff", NULL, "unified diffs of the skel's files against your home's", "[FILE]", skel_diff },
  { "list", NULL, "the skel's files and their state at home", NULL, skel_list },
  { "sync", NULL, "copy the skel into your home, keeping files you changed (unless --force)", NULL, skel_sync },
  { NULL }
};
