/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "bkt-error.h"
#include "bkt-manifest.h"
#include "bkt-packages.h"
#include "bkt-spawn.h"
#include "bkt-text.h"

gboolean
bkt_packages_check_names (const char *const *names, GError **error)
{
  if (names == NULL || names[0] == NULL)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "no package names given");
      return FALSE;
    }
  for (gsize i = 0; names[i] != NULL; i++)
    {
      g_autofree char *why = bkt_manifest_check_package_name (names[i]);

      if (why != NULL)
        {
          /* A 300-character name is not worth echoing in full. */
          g_autofree char *shown = g_utf8_validate (names[i], -1, NULL) && strlen (names[i]) <= 64
                                   ? g_strdup (names[i]) : g_strdup_printf ("%.40s…", names[i]);
          g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "invalid package name “%s”: %s",
                       shown, why);
          return FALSE;
        }
    }
  return TRUE;
}

char *
bkt_packages_find_dnf (GError **error)
{
  const char *forced = g_getenv ("BKT_DNF");
  char *path;

  if (forced != NULL && *forced != '\0')
    return g_strdup (forced);
  path = g_find_program_in_path ("dnf5");
  if (path == NULL)
    path = g_find_program_in_path ("dnf");
  if (path == NULL)
    g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "neither dnf5 nor dnf is installed");
  return path;
}

char *
bkt_packages_dnf_logdir_option (void)
{
  const char *dirs = g_getenv ("LOGS_DIRECTORY");
  g_autofree char *first = NULL;

  if (dirs == NULL || *dirs != '/')
    return NULL;
  /* systemd separates several LogsDirectory= paths with ':'. */
  first = g_strndup (dirs, strcspn (dirs, ":"));
  return g_strdup_printf ("--setopt=logdir=%s", first);
}

/* g_ptr_array_sort() hands over pointers to the elements. */
static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Names printed one per line (dnf4 adds the newline to --qf, dnf5 does
 * not unless asked: "%{name}\n" works for both since dnf4 turns the
 * escaped newline into an empty line, which is skipped). */
static GHashTable *
parse_names (const char *out)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *l = g_strstrip (lines[i]);
      if (*l != '\0')
        g_hash_table_add (set, g_strdup (l));
    }
  return set;
}

/* @dnf: the program and any arguments that come before dnf's verb (a
 * route into a container: `toolbox run -c NAME dnf`). */
static void
add_prefix (GPtrArray *argv, const char * const *dnf)
{
  for (gsize i = 0; dnf[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) dnf[i]);
}

GHashTable *
bkt_packages_query_repos_argv (const char * const *dnf, const char *const *names, GCancellable *cancellable,
                               GError **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_ptr_array_unref);
  g_auto(GStrv) lines = NULL;
  g_autofree char *out = NULL;

  if (!bkt_packages_check_names (names, error))
    return NULL;
  add_prefix (argv, dnf);
  g_ptr_array_add (argv, (char *) "repoquery");
  g_ptr_array_add (argv, (char *) "--qf");
  /* The repo of each match too, in the same one query: which repos
   * provide a package decides whether an untracked COPR is needed. */
  g_ptr_array_add (argv, (char *) "%{name} %{repoid}\\n");
  /* Names are validated, so none can be an option; "--" says so to dnf
   * as well. */
  g_ptr_array_add (argv, (char *) "--");
  for (gsize i = 0; names[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) names[i]);
  g_ptr_array_add (argv, NULL);

  out = bkt_spawn_capture ((const char *const *) argv->pdata, cancellable, error);
  if (out == NULL)
    return NULL;
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *l = g_strstrip (lines[i]);
      char *sp = strchr (l, ' ');
      GPtrArray *repos;

      if (*l == '\0')
        continue;
      if (sp != NULL)
        *sp++ = '\0';
      repos = g_hash_table_lookup (found, l);
      if (repos == NULL)
        {
          repos = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (found, g_strdup (l), repos);
        }
      if (sp != NULL && *g_strstrip (sp) != '\0'
          && !g_ptr_array_find_with_equal_func (repos, sp, g_str_equal, NULL))
        g_ptr_array_add (repos, g_strdup (sp));
    }
  return g_steal_pointer (&found);
}

GHashTable *
bkt_packages_query_repos (const char *dnf, const char *const *names, GCancellable *cancellable, GError **error)
{
  const char *prefix[] = { dnf, NULL };

  return bkt_packages_query_repos_argv (prefix, names, cancellable, error);
}

char **
bkt_packages_find_missing_argv (const char * const *dnf, const char * const *names, GCancellable *cancellable,
                                GError **error)
{
  g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) found = bkt_packages_query_repos_argv (dnf, names, cancellable, error);

  if (found == NULL)
    return NULL;
  for (gsize i = 0; names[i] != NULL; i++)
    if (!g_hash_table_contains (found, names[i]))
      g_ptr_array_add (missing, g_strdup (names[i]));
  g_ptr_array_add (missing, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&missing), FALSE);
}

char **
bkt_packages_find_missing (const char *dnf, const char *const *names, GCancellable *cancellable,
                           GError **error)
{
  const char *prefix[] = { dnf, NULL };

  return bkt_packages_find_missing_argv (prefix, names, cancellable, error);
}

char **
bkt_packages_list_available_argv (const char * const *dnf, GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autoptr(GHashTable) set = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;

  add_prefix (argv, dnf);
  g_ptr_array_add (argv, (char *) "repoquery");
  g_ptr_array_add (argv, (char *) "--qf");
  g_ptr_array_add (argv, (char *) "%{name}\\n");
  g_ptr_array_add (argv, NULL);
  out = bkt_spawn_capture ((const char *const *) argv->pdata, cancellable, error);
  if (out == NULL)
    return NULL;
  set = parse_names (out);
  g_hash_table_iter_init (&it, set);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      g_ptr_array_add (names, key);
      g_hash_table_iter_steal (&it);
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

char **
bkt_packages_list_available (const char *dnf, GCancellable *cancellable, GError **error)
{
  const char *prefix[] = { dnf, NULL };

  return bkt_packages_list_available_argv (prefix, cancellable, error);
}

gboolean
bkt_packages_check_exist (const char * const *dnf, const char * const *names, guint max_suggestions,
                          GHashTable **found_out, GCancellable *cancellable, GError **error)
{
  g_autoptr(GHashTable) found = bkt_packages_query_repos_argv (dnf, names, cancellable, error);
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_auto(GStrv) available = NULL;
  g_autoptr(GString) msg = NULL;

  if (found == NULL)
    return FALSE;
  for (gsize i = 0; names[i] != NULL; i++)
    if (!g_hash_table_contains (found, names[i]))
      g_ptr_array_add (missing, (gpointer) names[i]);
  if (missing->len == 0)
    {
      if (found_out != NULL)
        *found_out = g_steal_pointer (&found);
      return TRUE;
    }

  /* Only after a miss: listing every package is the slow query. */
  available = bkt_packages_list_available_argv (dnf, cancellable, NULL);
  msg = g_string_new (NULL);
  for (guint i = 0; i < missing->len; i++)
    {
      const char *name = g_ptr_array_index (missing, i);
      g_auto(GStrv) close = available ? bkt_packages_suggest (name, (const char * const *) available,
                                                              max_suggestions)
                                      : NULL;
      if (msg->len > 0)
        g_string_append (msg, "; ");
      g_string_append_printf (msg, "no package “%s” in the enabled repositories", name);
      if (close != NULL && close[0] != NULL)
        {
          g_autofree char *list = g_strjoinv (", ", close);
          g_string_append_printf (msg, " (did you mean: %s?)", list);
        }
    }
  return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s", msg->str), FALSE;
}

typedef struct { const char *name; guint score; } Candidate;

static int
compare_candidates (gconstpointer pa, gconstpointer pb)
{
  const Candidate *a = pa, *b = pb;

  if (a->score != b->score)
    return a->score < b->score ? -1 : 1;
  return strcmp (a->name, b->name);
}

char **
bkt_packages_suggest (const char *name, const char *const *available, guint max)
{
  g_autoptr(GArray) c = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr(GPtrArray) out = g_ptr_array_new ();

  for (gsize i = 0; available != NULL && available[i] != NULL; i++)
    {
      const char *n = available[i];
      gsize ln = strlen (n), lname = strlen (name);
      guint d;

      if (strcmp (n, name) == 0)
        continue;
      /* Only worth computing for names of about the same length. */
      d = (ln > lname ? ln - lname : lname - ln) <= 2 ? bkt_text_edit_distance (name, n, G_MAXUINT - 1, FALSE) : G_MAXUINT;
      if (d <= 2)
        {
          Candidate cand = { n, d };
          g_array_append_val (c, cand);
        }
      else if (lname >= 3 && (strstr (n, name) != NULL || strstr (name, n) != NULL))
        {
          Candidate cand = { n, 3 + (guint) (ln > lname ? ln - lname : lname - ln) };
          g_array_append_val (c, cand);
        }
    }
  g_array_sort (c, compare_candidates);
  for (guint i = 0; i < c->len && i < max; i++)
    g_ptr_array_add (out, g_strdup (g_array_index (c, Candidate, i).name));
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

BktOperation *
bkt_packages_record_op (const char *subsystem, BktManifestKind kind, const char *name)
{
  g_autoptr(JsonObject) entry = json_object_new ();
  g_autofree char *target = g_strconcat ("package:", name, NULL);
  g_autofree char *summary = g_strdup_printf ("Record %s in %s", target, bkt_manifest_kind_file_name (kind));

  json_object_set_string_member (entry, "name", name);
  return bkt_operation_new_record (subsystem, kind, target, summary, entry);
}

BktOperation *
bkt_packages_forget_op (const char *subsystem, BktManifestKind kind, const char *name)
{
  g_autofree char *target = g_strconcat ("package:", name, NULL);
  g_autofree char *summary = g_strdup_printf ("Forget %s in %s", target, bkt_manifest_kind_file_name (kind));

  return bkt_operation_new_forget (subsystem, kind, target, summary, name);
}

const char *
bkt_packages_rpm_ostree (void)
{
  const char *forced = g_getenv ("BKT_RPM_OSTREE");

  return forced != NULL && *forced != '\0' ? forced : BKT_RPM_OSTREE;
}

char **
bkt_packages_rpm_ostree_argv (const char *rpm_ostree, gboolean install, const char *const *names,
                              gboolean apply_live)
{
  g_autoptr(GPtrArray) a = NULL;

  /* rpm-ostree uninstall has no --apply-live; the dnf subsystem refuses
   * live removals before they get here. */
  g_return_val_if_fail (install || !apply_live, NULL);
  a = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (a, g_strdup (rpm_ostree));
  g_ptr_array_add (a, g_strdup (install ? "install" : "uninstall"));
  /* Already layered (or already gone) is not an error: the manifest is
   * the goal, not the difference. */
  g_ptr_array_add (a, g_strdup ("--idempotent"));
  if (apply_live)
    g_ptr_array_add (a, g_strdup ("--apply-live"));
  g_ptr_array_add (a, g_strdup ("--"));
  for (gsize i = 0; names != NULL && names[i] != NULL; i++)
    g_ptr_array_add (a, g_strdup (names[i]));
  g_ptr_array_add (a, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&a), FALSE);
}

static char **
string_array (JsonObject *o, const char *member)
{
  JsonArray *a = json_object_has_member (o, member) && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, member))
                 ? json_object_get_array_member (o, member) : NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new ();

  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonNode *n = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        g_ptr_array_add (out, g_strdup (json_node_get_string (n)));
    }
  g_ptr_array_sort (out, compare_names);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

char **
bkt_packages_parse_status (const char *json, gssize length, char ***out_pending_packages, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonArray *deployments = NULL;
  JsonObject *booted = NULL, *staged = NULL;

  if (out_pending_packages != NULL)
    *out_pending_packages = NULL;
  if (!json_parser_load_from_data (parser, json, length, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root)
      && json_object_has_member (json_node_get_object (root), "deployments")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "deployments")))
    deployments = json_object_get_array_member (json_node_get_object (root), "deployments");
  for (guint i = 0; deployments != NULL && i < json_array_get_length (deployments); i++)
    {
      JsonNode *n = json_array_get_element (deployments, i);
      JsonObject *d = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;

      if (d == NULL)
        continue;
      if (booted == NULL && json_object_get_boolean_member_with_default (d, "booted", FALSE))
        booted = d;
      if (staged == NULL && json_object_get_boolean_member_with_default (d, "staged", FALSE))
        staged = d;
    }
  if (booted == NULL)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "rpm-ostree status reports no booted deployment");
      return NULL;
    }
  if (staged != NULL && out_pending_packages != NULL)
    *out_pending_packages = string_array (staged, "requested-packages");
  return string_array (booted, "requested-packages");
}
