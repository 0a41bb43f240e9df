/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "bkt-base.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-json.h"
#include "bkt-schema.h"

/* Package names go into rpm's argv: one starting with "-" would be an
 * option, so only what rpm names are made of (the file's rule). */
static gboolean
package_name_ok (const char *s)
{
  g_autofree char *why = bkt_string_rule_check (&bkt_rule_base_package, s);

  return why == NULL;
}

static int
compare_strv (const void *a, const void *b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* The file's shape (types, names, paths) is the one `bkt schema generate`
 * writes as base-image-assumptions.schema.json (bkt-manifest-shapes.c). */
static BktJsonDoc *
load_doc_data (const char *display, const char *data, gsize length, GError **error)
{
  return bkt_schema_load_data (bkt_schema_kind_lookup ("base-image-assumptions"), display, data, length,
                               1024 * 1024, error);
}

static BktJsonDoc *
load_doc (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autofree char *display = g_path_get_basename (path);
  gsize length;
  GStatBuf st;

  if (g_stat (path, &st) == 0 && st.st_size > 1024 * 1024)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s:1:1: too large", display);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;
  return load_doc_data (display, data, length, error);
}

JsonObject *
bkt_base_load_data (const char *display, const char *data, gsize length, GError **error)
{
  g_autoptr(BktJsonDoc) doc = load_doc_data (display, data, length, error);

  return doc != NULL ? json_object_ref (json_node_get_object (bkt_json_doc_get_root (doc))) : NULL;
}

char *
bkt_base_change_message (const char *what, const char *name, const char *reason, gboolean remove)
{
  g_autofree char *thing = what != NULL ? g_strdup_printf ("%s %s", what, name) : g_strdup (name);

  if (remove)
    return g_strdup_printf ("No longer assume the base image provides %s", thing);
  if (reason != NULL)
    return g_strdup_printf ("Assume the base image provides %s: %s", thing, reason);
  return g_strdup_printf ("Assume the base image provides %s", thing);
}

JsonObject *
bkt_base_load (const char *path, GError **error)
{
  g_autoptr(BktJsonDoc) doc = load_doc (path, error);

  return doc != NULL ? json_object_ref (json_node_get_object (bkt_json_doc_get_root (doc))) : NULL;
}

static JsonObject *
result_new (JsonArray **present, JsonArray **missing)
{
  JsonObject *o = json_object_new ();

  *present = json_array_new ();
  *missing = json_array_new ();
  json_object_set_array_member (o, "present", *present);
  json_object_set_array_member (o, "missing", *missing);
  return o;
}

/* The number of packages rpm knows under @root (rpm -qa), or -1 when rpm
 * cannot be run.  0 means a database with no record at all: a host that
 * does not install its packages with rpm (Debian, Arch...), where "not
 * installed" says nothing about what is there. */
static gint
count_rpm_records (const char *root)
{
  const char *rpm = g_getenv ("BKT_RPM");
  const char *argv[] = { rpm != NULL && *rpm != '\0' ? rpm : "rpm", "-qa", "--qf", "x\n", NULL, NULL, NULL };
  g_autofree char *out = NULL;
  int status;

  if (root != NULL && !g_str_equal (root, "/"))
    argv[4] = "--root", argv[5] = root;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                     &out, NULL, &status, NULL) || !g_spawn_check_wait_status (status, NULL))
    return -1;
  return (gint) strlen (out) / 2;
}

/* Every package of @packages into @unknown, with the reason in @section. */
static void
all_unknown (JsonArray *packages, JsonObject *section, const char *reason)
{
  JsonArray *unknown = json_array_new ();

  for (guint i = 0; i < json_array_get_length (packages); i++)
    json_array_add_string_element (unknown,
                                   json_object_get_string_member (json_array_get_object_element (packages, i), "name"));
  json_object_set_array_member (section, "unknown", unknown);
  json_object_set_string_member (section, "unknown_reason", reason);
}

static gboolean
verify_packages (JsonArray *packages, const char *root, JsonObject *section, JsonArray *present, JsonArray *missing,
                 GError **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  const char *rpm = g_getenv ("BKT_RPM");
  int status;

  if (json_array_get_length (packages) == 0)
    return TRUE;
  /* One rpm run for every package: rpm opens its database once, and a
   * base image has dozens of assumptions. */
  g_ptr_array_add (argv, (char *) (rpm != NULL && *rpm != '\0' ? rpm : "rpm"));
  g_ptr_array_add (argv, "-q");
  g_ptr_array_add (argv, "--qf");
  g_ptr_array_add (argv, "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n");
  if (root != NULL && !g_str_equal (root, "/"))
    {
      g_ptr_array_add (argv, "--root");
      g_ptr_array_add (argv, (char *) root);
    }
  g_ptr_array_add (argv, "--");
  for (guint i = 0; i < json_array_get_length (packages); i++)
    g_ptr_array_add (argv, (char *) json_object_get_string_member (json_array_get_object_element (packages, i), "name"));
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, error))
    {
      /* no rpm here at all: nothing can be said about packages */
      if (g_error_matches (*error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT))
        {
          g_clear_error (error);
          all_unknown (packages, section, "rpm is not installed on this host, so no package could be looked up");
          return TRUE;
        }
      g_prefix_error (error, "cannot query the RPM database: ");
      return FALSE;
    }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *sp = strchr (lines[i], ' ');
      /* "package X is not installed" lines have no version to take */
      if (sp != NULL && !g_str_has_prefix (lines[i], "package "))
        g_hash_table_replace (found, g_strndup (lines[i], sp - lines[i]), g_strdup (sp + 1));
    }
  /* rpm exits with the number of packages it did not find; anything else
   * (no database, bad root) is a failure to check, not drift. */
  if (!g_spawn_check_wait_status (status, NULL) && g_hash_table_size (found) + (guint) (WIFEXITED (status) ? WEXITSTATUS (status) : 0)
                                                     != json_array_get_length (packages))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "rpm -q failed: %s", g_strstrip (err));
      return FALSE;
    }
  /* none found: an empty database is no answer, not "all missing" */
  if (g_hash_table_size (found) == 0 && count_rpm_records (root) == 0)
    {
      all_unknown (packages, section,
                   "the RPM database has no record of any package (rpm -qa lists nothing): this host does not "
                   "install its packages with rpm, so whether they are installed is unknown; run bkt base verify "
                   "on the image (or with --root on its file system)");
      return TRUE;
    }
  for (guint i = 0; i < json_array_get_length (packages); i++)
    {
      const char *name = json_object_get_string_member (json_array_get_object_element (packages, i), "name");
      const char *evr = g_hash_table_lookup (found, name);
      if (evr != NULL)
        {
          g_autofree char *s = g_strdup_printf ("%s %s", name, evr);
          json_array_add_string_element (present, s);
        }
      else
        json_array_add_string_element (missing, name);
    }
  return TRUE;
}

static gboolean
exists_under (const char *root, const char *path)
{
  g_autofree char *full = g_build_filename (root != NULL ? root : "/", path, NULL);
  GStatBuf st;

  /* lstat: a symbolic link (e.g. /usr/bin/x → alternatives) is there */
  return g_lstat (full, &st) == 0;
}

JsonObject *
bkt_base_verify (JsonObject *assumptions, const char *root, GError **error)
{
  g_autoptr(JsonObject) report = json_object_new ();
  JsonArray *present, *missing;
  JsonObject *section;
  gboolean ok;

  section = result_new (&present, &missing);
  json_object_set_object_member (report, "packages", section);
  if (!verify_packages (json_object_get_array_member (assumptions, "packages"), root, section, present, missing,
                        error))
    return NULL;
  /* unknown packages: not verified, so not ok; "unverified" tells it from drift */
  ok = json_array_get_length (missing) == 0 && !json_object_has_member (section, "unknown");
  json_object_set_boolean_member (report, "unverified", json_object_has_member (section, "unknown"));

  section = result_new (&present, &missing);
  json_object_set_object_member (report, "services", section);
  if (json_object_has_member (assumptions, "services"))
    {
      JsonArray *a = json_object_get_array_member (assumptions, "services");
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          const char *unit = json_array_get_string_element (a, i);
          g_autofree char *lib = g_build_filename ("/usr/lib/systemd/system", unit, NULL);
          g_autofree char *etc = g_build_filename ("/etc/systemd/system", unit, NULL);
          json_array_add_string_element (exists_under (root, lib) || exists_under (root, etc) ? present : missing, unit);
        }
    }
  ok = ok && json_array_get_length (missing) == 0;

  section = result_new (&present, &missing);
  json_object_set_object_member (report, "paths", section);
  if (json_object_has_member (assumptions, "paths"))
    {
      JsonArray *a = json_object_get_array_member (assumptions, "paths");
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          const char *p = json_array_get_string_element (a, i);
          json_array_add_string_element (exists_under (root, p) ? present : missing, p);
        }
    }
  ok = ok && json_array_get_length (missing) == 0;
  json_object_set_boolean_member (report, "ok", ok);
  return g_steal_pointer (&report);
}

JsonObject *
bkt_base_snapshot (JsonObject *assumptions, const char *root, GError **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GHashTable) reasons = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(JsonObject) report = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  g_auto(GStrv) names = NULL;
  const char *rpm = g_getenv ("BKT_RPM");
  JsonArray *packages;
  int status;

  g_ptr_array_add (argv, (char *) (rpm != NULL && *rpm != '\0' ? rpm : "rpm"));
  g_ptr_array_add (argv, "-qa");
  g_ptr_array_add (argv, "--qf");
  g_ptr_array_add (argv, "%{NAME}\\n");
  if (root != NULL && !g_str_equal (root, "/"))
    {
      g_ptr_array_add (argv, "--root");
      g_ptr_array_add (argv, (char *) root);
    }
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &stdout_text,
                     &stderr_text, &status, error))
    return g_prefix_error (error, "cannot query the RPM database: "), NULL;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "rpm -qa failed: %s", g_strstrip (stderr_text));
      return NULL;
    }
  if (assumptions != NULL)
    {
      JsonArray *a = json_object_get_array_member (assumptions, "packages");
      json_object_set_member (out, "base_image", json_node_copy (json_object_get_member (assumptions, "base_image")));
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonObject *p = json_array_get_object_element (a, i);
          g_hash_table_insert (reasons, (char *) json_object_get_string_member (p, "name"),
                               (char *) json_object_get_string_member_with_default (p, "reason", ""));
        }
    }
  else
    {
      JsonObject *b = json_object_new ();
      json_object_set_string_member (b, "source", "");
      json_object_set_object_member (out, "base_image", b);
    }
  /* after base_image, as in the original's file */
  packages = json_array_new ();
  json_object_set_array_member (out, "packages", packages);
  names = g_strsplit (stdout_text, "\n", -1);
  qsort (names, g_strv_length (names), sizeof (char *), compare_strv);
  for (guint i = 0; names[i] != NULL; i++)
    {
      JsonObject *p;
      if (names[i][0] == '\0' || !package_name_ok (names[i]) || (i > 0 && g_str_equal (names[i], names[i - 1])))
        continue;
      p = json_object_new ();
      json_object_set_string_member (p, "name", names[i]);
      json_object_set_string_member (p, "reason", g_hash_table_lookup (reasons, names[i]) ?: "");
      json_array_add_object_element (packages, p);
    }
  if (assumptions != NULL)
    {
      g_autoptr(JsonObject) only_files = json_object_new ();
      json_object_set_array_member (only_files, "packages", json_array_new ());
      if (json_object_has_member (assumptions, "services"))
        json_object_set_member (only_files, "services", json_node_copy (json_object_get_member (assumptions, "services")));
      if (json_object_has_member (assumptions, "paths"))
        json_object_set_member (only_files, "paths", json_node_copy (json_object_get_member (assumptions, "paths")));
      report = bkt_base_verify (only_files, root, error);
      if (report == NULL)
        return NULL;
      json_object_set_member (out, "services", json_node_copy (json_object_get_member (
                                json_object_get_object_member (report, "services"), "present")));
      json_object_set_member (out, "paths", json_node_copy (json_object_get_member (
                                json_object_get_object_member (report, "paths"), "present")));
    }
  return g_steal_pointer (&out);
}

/* The file with @root's values, laid out as @doc was.  Package entries are
 * written all expanded when the file had them so (the original's are,
 * one member per line) and matched by nothing else: the writer matches
 * array elements by position, which an insertion shifts. */
static char *
assumptions_to_text (BktJsonDoc *doc, JsonNode *root, gsize *length)
{
  g_autoptr(GString) out = g_string_new ("{\n");
  JsonObject *o = json_node_get_object (root);
  JsonObject *shape = json_node_get_object (bkt_json_doc_get_root (doc));
  JsonArray *old = json_object_get_array_member (shape, "packages");
  g_autoptr(GList) members = json_object_get_members (o);
  gsize data_len;
  const char *data = bkt_json_doc_get_data (doc, &data_len);
  gboolean expanded = json_array_get_length (old) == 0;

  for (guint i = 0; i < json_array_get_length (old); i++)
    {
      const BktJsonSpan *span = bkt_json_doc_get_span (doc, json_array_get_element (old, i));
      if (span != NULL && memchr (data + span->offset, '\n', span->end - span->offset) != NULL)
        expanded = TRUE;
    }
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *k = l->data;
      JsonNode *v = json_object_get_member (o, k);

      g_string_append (out, "  ");
      bkt_json_append_string (out, k);
      g_string_append (out, ": ");
      if (g_str_equal (k, "packages"))
        {
          JsonArray *a = json_node_get_array (v);
          g_string_append (out, json_array_get_length (a) == 0 ? "[" : "[\n");
          for (guint i = 0; i < json_array_get_length (a); i++)
            {
              BktJsonLayout layout = { .indent = "    ", .column = 4, .trailing = 1, .expand = expanded };
              g_string_append (out, "    ");
              bkt_json_append_pretty (out, json_array_get_element (a, i), &layout);
              g_string_append (out, i + 1 < json_array_get_length (a) ? ",\n" : "\n  ");
            }
          g_string_append (out, "]");
        }
      else
        {
          BktJsonLayout layout = { .indent = "  ", .column = 4 + bkt_json_text_width (k, -1) + 2,
                                   .trailing = l->next != NULL, .shape_doc = doc,
                                   .shape = json_object_get_member (shape, k) };
          bkt_json_append_pretty (out, v, &layout);
        }
      g_string_append (out, l->next != NULL ? ",\n" : "\n");
    }
  g_string_append (out, "}\n");
  *length = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* @doc with the package @name assumed (with @reason) or, with @remove, no
 * longer assumed; the new text, or NULL with @error.  @strict: assuming
 * what is assumed or unassuming what is not is an error; else that is no
 * change (the same text), and assuming an assumed package with another
 * reason gives it that reason in its place. */
static char *
edit_package (BktJsonDoc *doc, const char *name, const char *reason, gboolean remove, gboolean strict,
              gsize *length, GError **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonArray) out = json_array_new ();
  JsonArray *packages;
  gboolean there = FALSE;
  gboolean added = FALSE;
  gboolean changed = FALSE;

  if (!package_name_ok (name))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not a package name: “%s”", name), NULL;
  root = json_node_copy (bkt_json_doc_get_root (doc));
  packages = json_object_get_array_member (json_node_get_object (root), "packages");
  /* Known first: a file whose list is not sorted has it anywhere. */
  for (guint i = 0; i < json_array_get_length (packages) && !there; i++)
    there = g_str_equal (json_object_get_string_member (json_array_get_object_element (packages, i), "name"), name);
  for (guint i = 0; i < json_array_get_length (packages); i++)
    {
      JsonObject *p = json_array_get_object_element (packages, i);
      const char *n = json_object_get_string_member (p, "name");

      if (g_str_equal (n, name))
        {
          if (remove)
            {
              changed = TRUE;
              continue;
            }
          if (!strict && reason != NULL && g_strcmp0 (bkt_json_object_get_string (p, "reason"), reason) != 0)
            {
              g_autoptr(JsonObject) np = bkt_json_object_deep_copy (p);

              json_object_set_string_member (np, "reason", reason);
              json_array_add_object_element (out, g_steal_pointer (&np));
              changed = TRUE;
              continue;
            }
        }
      /* keep the list sorted by name, as the original's snapshot wrote it */
      if (!remove && !there && !added && strcmp (n, name) > 0)
        {
          JsonObject *np = json_object_new ();
          json_object_set_string_member (np, "name", name);
          json_object_set_string_member (np, "reason", reason != NULL ? reason : "");
          json_array_add_object_element (out, np);
          added = changed = TRUE;
        }
      json_array_add_object_element (out, json_object_ref (p));
    }
  if (strict && there != remove)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        remove ? "%s is not assumed" : "%s is assumed already", name), NULL;
  if (!remove && !there && !added)
    {
      JsonObject *np = json_object_new ();
      json_object_set_string_member (np, "name", name);
      json_object_set_string_member (np, "reason", reason != NULL ? reason : "");
      json_array_add_object_element (out, np);
      changed = TRUE;
    }
  if (!changed)
    {
      gsize len = 0;
      const char *data = bkt_json_doc_get_data (doc, &len);

      *length = len;
      return g_strndup (data, len);
    }
  {
    /* A new top-level object: json_node_copy() shares the doc's, and the
     * doc is the layout shape that must keep its own members. */
    g_autoptr(JsonObject) top = json_object_new ();
    JsonObject *old = json_node_get_object (root);
    g_autoptr(GList) names = json_object_get_members (old);

    for (GList *l = names; l != NULL; l = l->next)
      if (g_str_equal (l->data, "packages"))
        json_object_set_array_member (top, "packages", json_array_ref (out));
      else
        json_object_set_member (top, l->data, json_node_copy (json_object_get_member (old, l->data)));
    json_node_unref (root);
    root = json_node_init_object (json_node_alloc (), top);
  }
  return assumptions_to_text (doc, root, length);
}

gboolean
bkt_base_set_package (const char *path, const char *name, const char *reason, gboolean remove, GError **error)
{
  g_autoptr(BktJsonDoc) doc = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  if (!package_name_ok (name))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not a package name: “%s”", name), FALSE;
  doc = load_doc (path, error);
  if (doc == NULL)
    return FALSE;
  text = edit_package (doc, name, reason, remove, TRUE, &len, error);
  /* --dry-run: the edit is checked (assumed already, not assumed...) and not written */
  return text != NULL && (bkt_fs_dry_run () || bkt_write_file_atomic (path, text, len, 0644, error));
}

char *
bkt_base_edit_data (const char *display, const char *data, gsize length, const char *name, const char *reason,
                    gboolean remove, gsize *out_length, GError **error)
{
  g_autoptr(BktJsonDoc) doc = load_doc_data (display, data, length, error);

  if (doc == NULL)
    return NULL;
  return edit_package (doc, name, reason, remove, FALSE, out_length, error);
}

gboolean
bkt_base_package_name_ok (const char *name)
{
  return package_name_ok (name);
}
