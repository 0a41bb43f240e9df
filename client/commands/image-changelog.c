/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bkt-changelog.h"
#include "commands.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-json.h"

/* The image's changelog: `bkt changelog motd` and the changelog section
 * of `bkt status` (docs/maintenance.md).  Both read the version files
 * the image ships (BKT_PKGDATADIR/changelog/versions, copied there by the
 * distribution's Containerfile), so they need neither the repo nor a
 * daemon. */

/* ---- the image's changelog ------------------------------------------------------------- */

char *
bkt_image_changelog_versions_dir (void)
{
  const char *env = g_getenv ("BKT_IMAGE_CHANGELOG_DIR");

  return g_build_filename (env != NULL && *env != '\0' ? env : BKT_PKGDATADIR "/changelog", "versions", NULL);
}

static char *
seen_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "bkt", "motd-seen", NULL);
}

/* The version the user last saw (motd) or acknowledged; NULL if none or
 * if the file says something else than a version (a warning, then as if
 * there were none: the worst case is showing news twice). */
static char *
read_seen (GPtrArray *warnings)
{
  g_autofree char *path = seen_path ();
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &text, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_ptr_array_add (warnings, g_strdup_printf ("%s: %s", path, error->message));
      return NULL;
    }
  g_strstrip (text);
  if (!bkt_changelog_version_is_valid (text))
    {
      g_ptr_array_add (warnings, g_strdup_printf ("%s:1: not a version (YYYY.MM.DD.N), ignored", path));
      return NULL;
    }
  return g_steal_pointer (&text);
}

static gboolean
write_seen (const char *version, GError **error)
{
  g_autofree char *path = seen_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = g_strdup_printf ("%s\n", version);

  if (!bkt_fs_mkdir_p (dir, 0700, error))
    return FALSE;
  return bkt_write_file_atomic (path, text, strlen (text), 0644, error);
}

/* The image's versions, oldest first; a version whose file is malformed
 * is left out with its error in @warnings, so one bad file hides only
 * itself. */
static GPtrArray *
load_image_versions (const char *dir, GPtrArray *warnings, GError **error)
{
  g_auto(GStrv) names = bkt_changelog_list_versions_in (dir, error);
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  if (names == NULL)
    return NULL;
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;
      JsonObject *doc = bkt_changelog_load_version_in (dir, dir, names[i], &local_error);

      if (doc == NULL)
        {
          g_ptr_array_add (warnings, g_strdup (local_error->message));
          continue;
        }
      /* the file's name is the version, whatever it says inside */
      json_object_set_string_member (doc, "version", names[i]);
      g_ptr_array_add (docs, doc);
    }
  return g_steal_pointer (&docs);
}

static const char *
doc_version (JsonObject *doc)
{
  return json_object_get_string_member (doc, "version");
}

static JsonArray *
strings_array (GPtrArray *strings)
{
  JsonArray *a = json_array_new ();

  for (guint i = 0; i < strings->len; i++)
    json_array_add_string_element (a, strings->pdata[i]);
  return a;
}

static JsonObject *
find_os_booted (JsonObject *os)
{
  JsonNode *n = os != NULL ? json_object_get_member (os, "bootc") : NULL;
  JsonObject *bootc = n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;

  n = bootc != NULL ? json_object_get_member (bootc, "booted") : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

JsonObject *
bkt_image_changelog_section (JsonObject *os)
{
  JsonObject *section = json_object_new ();
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) docs = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = bkt_image_changelog_versions_dir ();
  g_autofree char *seen = NULL;
  JsonObject *booted = find_os_booted (os);
  const char *booted_version = booted != NULL ? bkt_json_object_get_string (booted, "version") : NULL;
  JsonObject *running = NULL;
  JsonArray *pending;

  json_object_set_string_member (section, "dir", dir);
  docs = load_image_versions (dir, warnings, &error);
  if (docs == NULL)
    {
      json_object_set_boolean_member (section, "available", FALSE);
      json_object_set_string_member (section, "reason", error->message);
      return section;
    }
  seen = read_seen (warnings);
  /* The booted image's version (its OCI version label, through bootc)
   * when the image ships that version's file; else the newest file, which
   * is the image's own release. */
  for (guint i = 0; booted_version != NULL && i < docs->len; i++)
    if (g_str_equal (doc_version (docs->pdata[i]), booted_version))
      running = docs->pdata[i];
  if (running != NULL)
    json_object_set_string_member (section, "source", "bootc");
  else if (docs->len > 0)
    {
      running = docs->pdata[docs->len - 1];
      json_object_set_string_member (section, "source", "newest");
    }
  if (booted_version != NULL)
    json_object_set_string_member (section, "booted_version", booted_version);
  if (seen != NULL)
    json_object_set_string_member (section, "acknowledged", seen);
  json_object_set_boolean_member (section, "available", running != NULL);
  if (running == NULL)
    json_object_set_string_member (section, "reason", "the image ships no changelog versions");
  else
    {
      json_object_set_string_member (section, "version", doc_version (running));
      json_object_set_object_member (section, "release", json_object_ref (running));
    }
  /* Manual steps of the versions after the acknowledged one, up to the
   * running one (without a record: the running one's, shown above). */
  pending = json_array_new ();
  for (guint i = 0; running != NULL && seen != NULL && i < docs->len; i++)
    {
      JsonObject *d = docs->pdata[i];
      JsonArray *steps = json_object_has_member (d, "manual_steps") ? json_object_get_array_member (d, "manual_steps") : NULL;

      if (bkt_changelog_compare_versions (doc_version (d), seen) <= 0
          || bkt_changelog_compare_versions (doc_version (d), doc_version (running)) >= 0
          || steps == NULL || json_array_get_length (steps) == 0)
        continue;
      {
        JsonObject *p = json_object_new ();
        json_object_set_string_member (p, "version", doc_version (d));
        json_object_set_array_member (p, "manual_steps", json_array_ref (steps));
        json_array_add_object_element (pending, p);
      }
    }
  json_object_set_array_member (section, "pending_manual_steps", pending);
  json_object_set_array_member (section, "warnings", strings_array (warnings));
  return section;
}

void
bkt_image_changelog_print (JsonObject *section)
{
  JsonArray *pending = json_object_get_array_member (section, "pending_manual_steps");
  JsonArray *warnings = json_object_get_array_member (section, "warnings");

  gboolean available = json_object_get_boolean_member_with_default (section, "available", FALSE);

  /* An image without a changelog (not a distribution's, or one that does
   * not ship it) is no news: nothing in the text, the reason in JSON. */
  if (!available && (warnings == NULL || json_array_get_length (warnings) == 0))
    return;
  g_print ("\nImage changelog:\n");
  if (!available)
    g_print ("  %s\n", bkt_json_object_get_string (section, "reason"));
  else
    {
      g_autofree char *text = bkt_changelog_render_short (json_object_get_object_member (section, "release"), TRUE);
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

      for (guint i = 0; lines[i] != NULL && *lines[i] != '\0'; i++)
        g_print ("  %s%s\n", lines[i], i == 0 && g_strcmp0 (bkt_json_object_get_string (section, "source"), "bootc") == 0
                                        ? " (booted)" : "");
    }
  for (guint i = 0; pending != NULL && i < json_array_get_length (pending); i++)
    {
      JsonObject *p = json_array_get_object_element (pending, i);
      JsonArray *steps = json_object_get_array_member (p, "manual_steps");

      g_print ("  Manual steps from %s:\n", json_object_get_string_member (p, "version"));
      for (guint j = 0; j < json_array_get_length (steps); j++)
        g_print ("    - %s\n", json_array_get_string_element (steps, j));
    }
  for (guint i = 0; warnings != NULL && i < json_array_get_length (warnings); i++)
    g_print ("  warning: %s\n", json_array_get_string_element (warnings, i));
}

/* ---- motd ------------------------------------------------------------------------------------ */

int
bkt_cmd_changelog_motd (Ctx *ctx, int argc, char **argv)
{
  gboolean all = FALSE, login = FALSE;
  const GOptionEntry entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, "Print even if seen already", NULL },
    { "login", 0, 0, G_OPTION_ARG_NONE, &login, "As the login snippet: print nothing when nothing is new", NULL },
    { NULL }
  };
  int code;
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = bkt_image_changelog_versions_dir ();
  g_autofree char *seen = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(JsonArray) shown = json_array_new ();
  guint n, first;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  /* Every login runs this: only the versions to show are read (status
   * reads and checks them all). */
  names = bkt_changelog_list_versions_in (dir, &error);
  if (names == NULL)
    return fail (error);
  seen = read_seen (warnings);
  n = g_strv_length (names);
  /* The versions after the one recorded (without a record, the running
   * one only); --all: the newest again when nothing is new.  Newest
   * first, as CHANGELOG.md reads. */
  first = seen == NULL ? n - 1 : n;
  for (guint i = 0; seen != NULL && i < n; i++)
    if (bkt_changelog_compare_versions (names[i], seen) > 0)
      {
        first = i;
        break;
      }
  if (first == n && all)
    first = n - 1;
  for (guint i = n; n > 0 && i-- > first;)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(JsonObject) doc = bkt_changelog_load_version_in (dir, dir, names[i], &local_error);
      g_autofree char *text = NULL;

      if (doc == NULL)
        {
          g_ptr_array_add (warnings, g_strdup (local_error->message));
          continue;
        }
      json_object_set_string_member (doc, "version", names[i]);
      text = bkt_changelog_render_short (doc, TRUE);
      g_string_append_printf (out, "\n%s", text);
      json_array_add_object_element (shown, json_object_ref (doc));
    }
  for (guint i = 0; i < warnings->len; i++)
    g_printerr ("bkt: %s\n", (char *) warnings->pdata[i]);
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_array_member (o, "versions", g_steal_pointer (&shown));
      json_object_set_array_member (o, "warnings", strings_array (warnings));
      bkt_render_print_object (o);
    }
  else if (out->len > 0)
    {
      g_print ("What's new in this image (bkt changelog show VERSION for details):\n%s\n", out->str);
      fflush (stdout);
    }
  /* Nothing to show: said, except by the login snippet (--login), which
   * must stay quiet on every login after the first. */
  else if (!login && n == 0)
    g_print ("This image ships no changelog (%s has no versions).\n", dir);
  else if (!login)
    g_print ("Nothing new in this image since %s (bkt changelog motd --all shows it again).\n",
             seen != NULL ? seen : names[n - 1]);
  /* Recorded after printing, so a failed print shows it again next time. */
  if (n > 0 && g_strcmp0 (seen, names[n - 1]) != 0 && !bkt_fs_dry_run () && !write_seen (names[n - 1], &error))
    return fail (error);
  return warnings->len > 0 ? EXIT_FAILED : EXIT_OK;
}
