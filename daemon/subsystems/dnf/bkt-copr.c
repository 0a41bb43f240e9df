/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "bkt-copr.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-manifest.h"

#define ID_PREFIX   "copr:" BKT_COPR_HUB ":"
#define FILE_PREFIX "_copr:" BKT_COPR_HUB ":"
#define DOWNLOAD    "https://download." BKT_COPR_HUB "/results/"

const char *
bkt_copr_repos_dir (void)
{
  const char *forced = g_getenv ("BKT_YUM_REPOS_DIR");

  return forced != NULL && *forced != '\0' ? forced : BKT_YUM_REPOS_DIR;
}

gboolean
bkt_copr_check_name (const char *name, GError **error)
{
  g_autofree char *why = name != NULL ? bkt_manifest_check_copr_name (name) : g_strdup ("is missing");

  if (why == NULL)
    return TRUE;
  {
    /* A 300-character name is not worth echoing in full. */
    g_autofree char *shown = name != NULL && g_utf8_validate (name, -1, NULL) && strlen (name) <= 64
                             ? g_strdup (name) : g_strdup_printf ("%.40s…", name ? name : "");
    g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "invalid COPR project “%s”: %s", shown, why);
  }
  return FALSE;
}

/* "OWNER:PROJECT" with a group "@g" as "group_g", as dnf's copr plugin
 * names repos and their files. */
static char *
id_tail (const char *name)
{
  const char *slash = strchr (name, '/');
  g_autofree char *owner = g_strndup (name, (gsize) (slash - name));

  if (owner[0] == '@')
    return g_strdup_printf ("group_%s:%s", owner + 1, slash + 1);
  return g_strdup_printf ("%s:%s", owner, slash + 1);
}

char *
bkt_copr_repo_id (const char *name)
{
  g_autofree char *t = id_tail (name);
  return g_strconcat (ID_PREFIX, t, NULL);
}

char *
bkt_copr_file_name (const char *name)
{
  g_autofree char *t = id_tail (name);
  return g_strconcat (FILE_PREFIX, t, ".repo", NULL);
}

char *
bkt_copr_repo_file (const char *name, gboolean enabled, gboolean gpg_check)
{
  const char *slash = strchr (name, '/');
  g_autofree char *owner = g_strndup (name, (gsize) (slash - name));
  g_autofree char *id = bkt_copr_repo_id (name);

  /* The template COPR's frontend serves (…/repo/fedora-$releasever/dnf.repo),
   * which `dnf copr enable` saves as it is; disable flips "enabled". */
  return g_strdup_printf ("[%s]\n"
                          "name=Copr repo for %s owned by %s\n"
                          "baseurl=" DOWNLOAD "%s/fedora-$releasever-$basearch/\n"
                          "type=rpm-md\n"
                          "skip_if_unavailable=True\n"
                          "gpgcheck=%d\n"
                          "gpgkey=" DOWNLOAD "%s/pubkey.gpg\n"
                          "repo_gpgcheck=0\n"
                          "enabled=%d\n"
                          "enabled_metadata=1\n",
                          id, slash + 1, owner, name, gpg_check ? 1 : 0, name, enabled ? 1 : 0);
}

char *
bkt_copr_name_from_repo_id (const char *repo_id)
{
  const char *rest;
  const char *colon;
  g_autofree char *owner = NULL;
  g_autofree char *name = NULL;

  if (g_str_has_prefix (repo_id, ID_PREFIX))
    rest = repo_id + strlen (ID_PREFIX);
  else if (g_str_has_prefix (repo_id, FILE_PREFIX) && g_str_has_suffix (repo_id, ".repo"))
    rest = repo_id + strlen (FILE_PREFIX);
  else
    return NULL;
  colon = strchr (rest, ':');
  if (colon == NULL)
    return NULL;
  owner = g_strndup (rest, (gsize) (colon - rest));
  name = g_str_has_prefix (owner, "group_") ? g_strdup_printf ("@%s/%s", owner + 6, colon + 1)
                                            : g_strdup_printf ("%s/%s", owner, colon + 1);
  if (g_str_has_prefix (repo_id, "_"))
    name[strlen (name) - strlen (".repo")] = '\0';
  if (!bkt_copr_check_name (name, NULL))
    return NULL;
  return g_steal_pointer (&name);
}

/* dnf's boolean spellings (libdnf ConfigParser): 1/yes/true/on. */
static gboolean
repo_bool (GKeyFile *kf, const char *group, const char *key, gboolean dflt)
{
  g_autofree char *v = g_key_file_get_value (kf, group, key, NULL);

  if (v == NULL)
    return dflt;
  g_strstrip (v);
  return g_ascii_strcasecmp (v, "1") == 0 || g_ascii_strcasecmp (v, "yes") == 0
         || g_ascii_strcasecmp (v, "true") == 0 || g_ascii_strcasecmp (v, "on") == 0;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gint
compare_objects (gconstpointer a, gconstpointer b)
{
  return strcmp (json_object_get_string_member (*(JsonObject *const *) a, "name"),
                 json_object_get_string_member (*(JsonObject *const *) b, "name"));
}

JsonArray *
bkt_copr_scan (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  JsonArray *out = json_array_new ();
  const char *entry;

  if (d == NULL)
    return out;
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (entry, FILE_PREFIX) && g_str_has_suffix (entry, ".repo"))
      g_ptr_array_add (files, g_strdup (entry));
  for (guint i = 0; i < files->len; i++)
    {
      const char *file = g_ptr_array_index (files, i);
      g_autofree char *name = bkt_copr_name_from_repo_id (file);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_autofree char *id = NULL;
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      JsonObject *o;

      if (name == NULL || !g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
        continue;
      id = bkt_copr_repo_id (name);
      if (!g_key_file_has_group (kf, id))
        continue;
      o = json_object_new ();
      json_object_set_string_member (o, "name", name);
      /* dnf's defaults: a repo is enabled and (Fedora's dnf.conf) checked
       * unless its file says otherwise. */
      json_object_set_boolean_member (o, "enabled", repo_bool (kf, id, "enabled", TRUE));
      json_object_set_boolean_member (o, "gpg_check", repo_bool (kf, id, "gpgcheck", TRUE));
      g_ptr_array_add (found, o);
    }
  /* By project name, as everything else lists them ("@g/…" first). */
  g_ptr_array_sort (found, compare_objects);
  for (guint i = 0; i < found->len; i++)
    json_array_add_object_element (out, g_ptr_array_index (found, i));
  return out;
}

/* DIR/FILE of @name, checked again: the callers run as root. */
static char *
repo_path (const char *dir, const char *name, GError **error)
{
  g_autofree char *file = NULL;

  if (!bkt_copr_check_name (name, error))
    return NULL;
  file = bkt_copr_file_name (name);
  return g_build_filename (dir, file, NULL);
}

gboolean
bkt_copr_write (const char *dir, const char *name, gboolean enabled, gboolean gpg_check, GError **error)
{
  g_autofree char *path = repo_path (dir, name, error);
  g_autofree char *content = NULL;

  if (path == NULL)
    return FALSE;
  content = bkt_copr_repo_file (name, enabled, gpg_check);
  return bkt_write_file_atomic (path, content, strlen (content), 0644, error);
}

gboolean
bkt_copr_remove (const char *dir, const char *name, GError **error)
{
  g_autofree char *path = repo_path (dir, name, error);

  if (path == NULL)
    return FALSE;
  if (g_unlink (path) < 0 && errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "Cannot remove %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* The dnf subsystem's COPR part                                              */

#define SUBSYSTEM "dnf"

static JsonObject *
find_by_name (JsonArray *a, const char *name)
{
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (o != NULL && g_strcmp0 (json_object_get_string_member_with_default (o, "name", NULL), name) == 0)
        return o;
    }
  return NULL;
}

static gboolean
flag (JsonObject *o, const char *member)
{
  return json_object_get_boolean_member_with_default (o, member, TRUE);
}

JsonArray *
bkt_copr_manifest_entries (BktManifest *m)
{
  JsonArray *list = m != NULL ? bkt_manifest_get_list (m, BKT_MANIFEST_COPR_MEMBER) : NULL;
  JsonArray *out = json_array_new ();

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      const char *name = e != NULL ? json_object_get_string_member_with_default (e, "name", NULL) : NULL;
      JsonObject *o;

      /* The loader checked; kept so that no name from a file can reach a
       * path unchecked. */
      if (name == NULL || !bkt_copr_check_name (name, NULL))
        continue;
      o = json_object_new ();
      json_object_set_string_member (o, "name", name);
      json_object_set_boolean_member (o, "enabled", flag (e, "enabled"));
      json_object_set_boolean_member (o, "gpg_check", flag (e, "gpg_check"));
      json_array_add_object_element (out, o);
    }
  return out;
}

static BktOperation *
new_repo_op (const char *action, const char *name, gboolean enabled, gboolean gpg_check)
{
  g_autoptr(JsonObject) details = json_object_new ();
  g_autofree char *target = g_strconcat ("copr:", name, NULL);
  g_autofree char *file = bkt_copr_file_name (name);
  g_autofree char *summary = NULL;

  json_object_set_string_member (details, "name", name);
  json_object_set_boolean_member (details, "enabled", enabled);
  json_object_set_boolean_member (details, "gpg_check", gpg_check);
  if (g_str_equal (action, "copr-remove"))
    summary = g_strdup_printf ("Remove COPR repo %s (%s)", name, file);
  else
    summary = g_strdup_printf ("%s COPR repo %s (%s, gpgcheck=%d)", enabled ? "Enable" : "Disable", name, file,
                               gpg_check ? 1 : 0);
  return bkt_operation_new (SUBSYSTEM, action, target, BKT_SCOPE_SYSTEM, BKT_EFFECT_LIVE, summary, details);
}

static BktOperation *
new_record_op (const char *name, gboolean enabled, gboolean gpg_check)
{
  g_autoptr(JsonObject) entry = json_object_new ();
  g_autofree char *target = g_strconcat ("copr:", name, NULL);
  g_autofree char *summary = g_strdup_printf ("Record %s in copr_repos (enabled: %s, gpg_check: %s)", target,
                                              enabled ? "true" : "false", gpg_check ? "true" : "false");

  /* The original tool's member order. */
  json_object_set_string_member (entry, "name", name);
  json_object_set_boolean_member (entry, "enabled", enabled);
  json_object_set_boolean_member (entry, "gpg_check", gpg_check);
  return bkt_operation_new_record_in (SUBSYSTEM, BKT_MANIFEST_SYSTEM_PACKAGES, BKT_MANIFEST_COPR_MEMBER,
                                      target, summary, entry);
}

static gboolean
same_state (JsonObject *live, gboolean enabled, gboolean gpg_check)
{
  return live != NULL && flag (live, "enabled") == enabled && flag (live, "gpg_check") == gpg_check;
}

void
bkt_copr_plan_apply (JsonArray *live, BktManifest *m, GPtrArray *ops)
{
  g_autoptr(JsonArray) wanted = bkt_copr_manifest_entries (m);

  /* Files the manifest does not list are left alone (capture records
   * them): apply never removes what it did not declare. */
  for (guint i = 0; i < json_array_get_length (wanted); i++)
    {
      JsonObject *w = json_array_get_object_element (wanted, i);
      const char *name = json_object_get_string_member (w, "name");
      gboolean enabled = flag (w, "enabled"), gpg_check = flag (w, "gpg_check");

      if (!same_state (find_by_name (live, name), enabled, gpg_check))
        g_ptr_array_add (ops, new_repo_op (enabled ? "copr-enable" : "copr-disable", name, enabled, gpg_check));
    }
}

void
bkt_copr_plan_capture (JsonArray *live, BktManifest *m, GPtrArray *ops)
{
  g_autoptr(JsonArray) wanted = bkt_copr_manifest_entries (m);

  for (guint i = 0; live != NULL && i < json_array_get_length (live); i++)
    {
      JsonObject *l = json_array_get_object_element (live, i);
      const char *name = json_object_get_string_member (l, "name");

      if (find_by_name (wanted, name) == NULL)
        g_ptr_array_add (ops, new_record_op (name, flag (l, "enabled"), flag (l, "gpg_check")));
    }
}

gboolean
bkt_copr_plan_change (JsonArray *live, BktManifest *m, const char *action, GVariant *arguments,
                      GPtrArray *ops, GError **error)
{
  g_autoptr(JsonArray) wanted = bkt_copr_manifest_entries (m);
  g_autoptr(GVariant) gpg = NULL;
  const char *name = NULL;
  JsonObject *w, *l;
  gboolean gpg_check;

  if (!g_variant_lookup (arguments, "name", "&s", &name))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "argument “name” (s) is required"), FALSE;
  if (!bkt_copr_check_name (name, error))
    return FALSE;
  gpg = g_variant_lookup_value (arguments, "gpg_check", NULL);
  if (gpg != NULL && (!g_variant_is_of_type (gpg, G_VARIANT_TYPE_BOOLEAN) || g_str_equal (action, "copr-remove")))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "argument “gpg_check” must be a boolean, for copr-enable and copr-disable only"), FALSE;
  w = find_by_name (wanted, name);
  l = find_by_name (live, name);
  /* The manifest's choice stands unless the caller makes one. */
  gpg_check = gpg != NULL ? g_variant_get_boolean (gpg) : w != NULL ? flag (w, "gpg_check")
                                                        : l != NULL ? flag (l, "gpg_check") : TRUE;

  if (g_str_equal (action, "copr-enable"))
    {
      if (!same_state (l, TRUE, gpg_check))
        g_ptr_array_add (ops, new_repo_op (action, name, TRUE, gpg_check));
      g_ptr_array_add (ops, new_record_op (name, TRUE, gpg_check));
      return TRUE;
    }
  if (w == NULL && l == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "COPR project “%s” is neither in the manifest nor in %s", name, bkt_copr_repos_dir ()),
           FALSE;
  if (g_str_equal (action, "copr-disable"))
    {
      /* Like `dnf copr disable`: the file stays, with enabled=0. */
      if (l != NULL && flag (l, "enabled"))
        g_ptr_array_add (ops, new_repo_op (action, name, FALSE, gpg_check));
      g_ptr_array_add (ops, new_record_op (name, FALSE, gpg_check));
      return TRUE;
    }
  /* copr-remove (the caller checked the action) */
  if (l != NULL)
    g_ptr_array_add (ops, new_repo_op (action, name, FALSE, gpg_check));
  {
    g_autofree char *target = g_strconcat ("copr:", name, NULL);
    g_autofree char *summary = g_strdup_printf ("Forget %s in copr_repos", target);
    g_ptr_array_add (ops, bkt_operation_new_forget_in (SUBSYSTEM, BKT_MANIFEST_SYSTEM_PACKAGES,
                                                       BKT_MANIFEST_COPR_MEMBER, target, summary, name));
  }
  return TRUE;
}

gboolean
bkt_copr_is_copr_op (BktOperation *op)
{
  return g_str_has_prefix (bkt_operation_get_action (op), "copr-");
}

void
bkt_copr_execute (BktOperation *op, BktExecContext *ctx)
{
  JsonObject *d = bkt_operation_get_details (op);
  const char *name = json_object_get_string_member_with_default (d, "name", NULL);
  const char *action = bkt_operation_get_action (op);
  g_autoptr(GError) error = NULL;

  bkt_exec_context_progress (ctx, op, 0.0, NULL);
  if (g_str_equal (action, "copr-remove"))
    bkt_copr_remove (bkt_copr_repos_dir (), name, &error);
  else if (g_str_equal (action, "copr-enable") || g_str_equal (action, "copr-disable"))
    bkt_copr_write (bkt_copr_repos_dir (), name, g_str_equal (action, "copr-enable"),
                    json_object_get_boolean_member_with_default (d, "gpg_check", TRUE), &error);
  else
    error = g_error_new (BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "dnf: unknown action “%s”", action);
  if (error == NULL)
    bkt_exec_context_progress (ctx, op, 1.0, NULL);
  bkt_exec_context_op_done (ctx, op, error);
}

static JsonNode *
state_node (JsonObject *o)
{
  JsonNode *n;
  JsonObject *s;

  if (o == NULL)
    return json_node_new (JSON_NODE_NULL);
  s = json_object_new ();
  json_object_set_boolean_member (s, "enabled", flag (o, "enabled"));
  json_object_set_boolean_member (s, "gpg_check", flag (o, "gpg_check"));
  n = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (n, s);
  return n;
}

JsonArray *
bkt_copr_status (JsonArray *live, BktManifest *m)
{
  g_autoptr(JsonArray) wanted = bkt_copr_manifest_entries (m);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < json_array_get_length (wanted); i++)
    g_ptr_array_add (names, (gpointer) json_object_get_string_member (json_array_get_object_element (wanted, i), "name"));
  for (guint i = 0; live != NULL && i < json_array_get_length (live); i++)
    {
      const char *name = json_object_get_string_member (json_array_get_object_element (live, i), "name");
      if (find_by_name (wanted, name) == NULL)
        g_ptr_array_add (names, (gpointer) name);
    }
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      JsonObject *w = find_by_name (wanted, name), *l = find_by_name (live, name);
      JsonObject *o = json_object_new ();
      const char *state = w == NULL ? "untracked"
                          : l == NULL ? "missing"
                          : same_state (l, flag (w, "enabled"), flag (w, "gpg_check")) ? "in-sync" : "differs";

      json_object_set_string_member (o, "name", name);
      json_object_set_member (o, "manifest", state_node (w));
      json_object_set_member (o, "system", state_node (l));
      json_object_set_string_member (o, "state", state);
      json_array_add_object_element (out, o);
    }
  return out;
}
