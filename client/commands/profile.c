/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "commands.h"

/* bkt profile capture|diff: this machine's state of every subsystem as one
 * JSON document (the session daemon's Manager.Profile, with a header),
 * and its differences with the manifests or with another profile.
 * docs/profile.md describes the format; unowned is profile-unowned.c. */

#define PROFILE_FORMAT "bkt-profile"
#define PROFILE_VERSION 1
#define PROFILE_MAX_BYTES (64 * 1024 * 1024)

static char *opt_output;

static JsonObject *
ask_profile (Ctx *ctx, GError **error)
{
  return bkt_client_call_json (ctx->client, BKT_TARGET_SESSION, "Profile",
                               g_variant_new ("(@a{sv})", session_options (ctx, NULL)), error);
}

static char *
to_text (JsonObject *o)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_node_set_object (node, o);
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

/* The document: a header, then the live side of the daemon's reply. */
static JsonObject *
profile_document (JsonObject *reply)
{
  JsonObject *doc = json_object_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = g_date_time_format_iso8601 (now);

  json_object_set_string_member (doc, "format", PROFILE_FORMAT);
  json_object_set_int_member (doc, "version", PROFILE_VERSION);
  json_object_set_string_member (doc, "bkt", PACKAGE_VERSION);
  json_object_set_string_member (doc, "bktd", json_object_get_string_member_with_default (reply, "bktd", "?"));
  json_object_set_string_member (doc, "captured", when);
  json_object_set_string_member (doc, "host", g_get_host_name ());
  json_object_set_string_member (doc, "user", g_get_user_name ());
  json_object_set_object_member (doc, "subsystems",
                                 json_object_ref (json_object_get_object_member (reply, "subsystems")));
  return doc;
}

static int
run_profile_capture (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Write the profile to FILE (- : standard output)", "FILE" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonObject) doc = NULL;
  g_autofree char *text = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  reply = ask_profile (ctx, &error);
  if (reply == NULL)
    return fail (error);
  if (!json_object_has_member (reply, "subsystems"))
    return g_printerr ("bkt: profile capture: the session daemon's reply has no subsystems\n"), EXIT_FAILED;
  doc = profile_document (reply);
  text = to_text (doc);
  if (opt_output == NULL || g_str_equal (opt_output, "-"))
    {
      g_print ("%s\n", text);
      return fflush (stdout) == 0 ? EXIT_OK : EXIT_FAILED;
    }
  if (ctx->opt.dry_run)
    {
      /* --dry-run changes nothing anywhere: the file is not written. */
      g_printerr ("Would write %s (%u subsystem(s)); --dry-run: nothing written\n", opt_output,
                  json_object_get_size (json_object_get_object_member (doc, "subsystems")));
      return EXIT_OK;
    }
  {
    g_autofree char *with_nl = g_strconcat (text, "\n", NULL);
    if (!bkt_write_file_atomic (opt_output, with_nl, strlen (with_nl), 0644, &error))
      return fail (error);
  }
  if (!ctx->opt.json)
    g_printerr ("Wrote %s\n", opt_output);
  return EXIT_OK;
}

/* ---- diff ------------------------------------------------------------------------- */

/* The "subsystems" of a profile file: a bounded, versioned document whose
 * subsystems map item keys to string values. */
static JsonObject *
load_profile (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;
  JsonObject *o, *subsystems;
  g_autoptr(GList) names = NULL;

  if (!g_file_get_contents (path, &data, &len, &local))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s", local->message), NULL;
  if (len > PROFILE_MAX_BYTES)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: more than %d MiB: not a profile", path,
                        PROFILE_MAX_BYTES >> 20), NULL;
  if (!json_parser_load_from_data (parser, data, len, &local))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: %s", path, local->message), NULL;
  root = json_parser_get_root (parser);
  o = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (o == NULL || g_strcmp0 (json_object_get_string_member_with_default (o, "format", NULL), PROFILE_FORMAT) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s: not a bkt profile (no \"format\": \"%s\")", path, PROFILE_FORMAT), NULL;
  if (json_object_get_int_member_with_default (o, "version", 0) != PROFILE_VERSION)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s: profile format version %" G_GINT64_FORMAT ", this bkt reads version %d", path,
                        json_object_get_int_member_with_default (o, "version", 0), PROFILE_VERSION), NULL;
  subsystems = json_object_has_member (o, "subsystems") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "subsystems"))
               ? json_object_get_object_member (o, "subsystems") : NULL;
  if (subsystems == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: no \"subsystems\" object", path), NULL;
  names = json_object_get_members (subsystems);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *n = json_object_get_member (subsystems, l->data);
      g_autoptr(GList) keys = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (n))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: subsystem “%.64s” is not an object",
                            path, (const char *) l->data), NULL;
      keys = json_object_get_members (json_node_get_object (n));
      for (GList *k = keys; k != NULL; k = k->next)
        if (json_node_get_value_type (json_object_get_member (json_node_get_object (n), k->data)) != G_TYPE_STRING)
          return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                              "%s: the value of “%.128s” in “%.64s” is not a string", path, (const char *) k->data,
                              (const char *) l->data), NULL;
    }
  return json_object_ref (subsystems);
}

static int
compare_keys (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* One subsystem's differences: {"only_here": [...], "only_there": [...],
 * "different": [{"item", "here", "there"}]}; NULL when there are none. */
static JsonObject *
diff_subsystem (JsonObject *here, JsonObject *there)
{
  g_autoptr(GList) keys_here = here ? json_object_get_members (here) : NULL;
  g_autoptr(GList) keys_there = there ? json_object_get_members (there) : NULL;
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *only_here = json_array_new (), *only_there = json_array_new (), *different = json_array_new ();
  JsonObject *out = json_object_new ();

  for (GList *l = keys_here; l != NULL; l = l->next)
    if (g_hash_table_add (seen, l->data))
      g_ptr_array_add (all, l->data);
  for (GList *l = keys_there; l != NULL; l = l->next)
    if (g_hash_table_add (seen, l->data))
      g_ptr_array_add (all, l->data);
  g_ptr_array_sort (all, compare_keys);
  for (guint i = 0; i < all->len; i++)
    {
      const char *key = all->pdata[i];
      const char *a = here && json_object_has_member (here, key) ? json_object_get_string_member (here, key) : NULL;
      const char *b = there && json_object_has_member (there, key) ? json_object_get_string_member (there, key) : NULL;

      if (b == NULL)
        json_array_add_string_element (only_here, key);
      else if (a == NULL)
        json_array_add_string_element (only_there, key);
      else if (!g_str_equal (a, b))
        {
          JsonObject *d = json_object_new ();
          json_object_set_string_member (d, "item", key);
          json_object_set_string_member (d, "here", a);
          json_object_set_string_member (d, "there", b);
          json_array_add_object_element (different, d);
        }
    }
  json_object_set_array_member (out, "only_here", only_here);
  json_object_set_array_member (out, "only_there", only_there);
  json_object_set_array_member (out, "different", different);
  if (json_array_get_length (only_here) + json_array_get_length (only_there) + json_array_get_length (different) == 0)
    return json_object_unref (out), NULL;
  return out;
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* Every subsystem of either side; @only_here_subsystems: compare only
 * those @here has (a profile against the manifests: what it captured). */
static JsonObject *
diff_profiles (JsonObject *here, JsonObject *there, gboolean only_here_subsystems)
{
  g_autoptr(GList) names = json_object_get_members (here);
  g_autoptr(GList) names_there = only_here_subsystems ? NULL : json_object_get_members (there);
  JsonObject *out = json_object_new ();

  names = g_list_concat (names, g_steal_pointer (&names_there));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *d;
      if (json_object_has_member (out, l->data))
        continue;
      d = diff_subsystem (member_object (here, l->data), member_object (there, l->data));
      if (d != NULL)
        json_object_set_object_member (out, l->data, d);
    }
  return out;
}

static void
print_list (JsonObject *d, const char *member, const char *label)
{
  JsonArray *a = json_object_get_array_member (d, member);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *n = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_OBJECT (n))
        {
          JsonObject *o = json_node_get_object (n);
          g_print ("  ~ %s\n      %s: %s\n      %s: %s\n", json_object_get_string_member (o, "item"),
                   "here", json_object_get_string_member (o, "here"),
                   "there", json_object_get_string_member (o, "there"));
        }
      else
        g_print ("  %s %s\n", label, json_node_get_string (n));
    }
}

static void
print_diff (JsonObject *diff, const char *here_name, const char *there_name)
{
  g_autoptr(GList) names = json_object_get_members (diff);

  g_print ("here: %s\nthere: %s\n", here_name, there_name);
  if (names == NULL)
    g_print ("No differences.\n");
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *d = json_object_get_object_member (diff, l->data);
      g_print ("%s:\n", (const char *) l->data);
      print_list (d, "only_here", "+ only here:");
      print_list (d, "only_there", "- only there:");
      print_list (d, "different", NULL);
    }
}

static int
run_profile_diff (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "only", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.only, "Only these subsystems (comma-separated)", "LIST" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING, &ctx->opt.exclude, "Leave out these subsystems", "LIST" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) here = NULL, there = NULL, reply = NULL, diff = NULL;
  const char *here_name, *there_name;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 2, &code))
    return code;
  if (argc == 3)
    {
      /* two files: no daemon involved */
      here = load_profile (argv[1], &error);
      there = here != NULL ? load_profile (argv[2], &error) : NULL;
      here_name = argv[1], there_name = argv[2];
    }
  else
    {
      reply = ask_profile (ctx, &error);
      if (reply != NULL && argc == 2)
        here = load_profile (argv[1], &error);
      else if (reply != NULL)
        here = json_object_ref (member_object (reply, "subsystems"));
      if (here != NULL)
        there = json_object_ref (member_object (reply, "manifests"));
      here_name = argc == 2 ? argv[1] : "this machine";
      there_name = "the manifests";
    }
  if (here == NULL || there == NULL)
    return fail (error);
  diff = diff_profiles (here, there, argc == 2);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_string_member (o, "here", here_name);
      json_object_set_string_member (o, "there", there_name);
      json_object_set_object_member (o, "subsystems", json_object_ref (diff));
      bkt_render_print_object (o);
    }
  else
    print_diff (diff, here_name, there_name);
  return json_object_get_size (diff) == 0 ? EXIT_OK : EXIT_FAILED;
}

const BktCommand bkt_profile_commands[] = {
  { "capture", NULL, "write this machine's state of every subsystem as one JSON document", NULL, run_profile_capture },
  { "diff", NULL, "compare this machine or a profile with the manifests, or two profiles", "[FILE [FILE2]]",
    run_profile_diff },
  { "unowned", NULL, "files under /etc and /usr/local (or DIR…) that no RPM package owns", "[DIR…]",
    bkt_cmd_profile_unowned },
  { NULL }
};
