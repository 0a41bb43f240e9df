/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-daemon-private.h"
#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-packages.h"
#include "bkt-repo.h"

/* Manager.Doctor (session instance): what the session daemon can check of
 * what bkt depends on, as {"checks": [{"name", "ok", "detail", "fix"}]} —
 * the shape of the PR preflight, whose checks it includes.  The client
 * adds what only it can see (the daemons' versions, the polkit agent, the
 * toolbox it runs for bkt dev) and prints them (bkt doctor). */

/* Every declared app's remote is declared too: otherwise apply on a
 * machine that lacks the remote cannot install it. */
static void
check_flatpak_remotes (JsonArray *checks, BktManifestSet *set)
{
  BktManifest *apps = bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_APPS);
  BktManifest *remotes = bkt_manifest_set_get (set, BKT_MANIFEST_FLATPAK_REMOTES);
  JsonArray *entries = apps != NULL ? bkt_manifest_get_entries (apps) : NULL;
  g_autoptr(GString) missing = g_string_new (NULL);
  g_autoptr(GHashTable) named = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = 0;

  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *app = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *remote = app ? json_object_get_string_member_with_default (app, "remote", NULL) : NULL;

      if (remote == NULL || (remotes != NULL && bkt_manifest_lookup (remotes, remote) != NULL))
        continue;
      if (n++ < 10)
        g_string_append_printf (missing, "%s%s (remote “%s”)", n > 1 ? ", " : "",
                                json_object_get_string_member_with_default (app, "id", "?"), remote);
      g_hash_table_add (named, (gpointer) remote);
    }
  if (n == 0)
    {
      bkt_json_add_check (checks, "flatpak-remotes", TRUE, "every app's remote is declared", NULL);
      return;
    }
  if (n > 10)
    g_string_append_printf (missing, " and %u more", n - 10);
  {
    g_autofree char *detail = g_strdup_printf ("%u app(s) name a remote flatpak-remotes.json does not declare: %s",
                                               n, missing->str);
    bkt_json_add_check (checks, "flatpak-remotes", FALSE, detail,
                        "declare the remote in flatpak-remotes.json ({\"name\", \"url\", \"scope\"}; bkt capture "
                        "records the remotes configured here), or correct the app's \"remote\"");
  }
}

/* The entries Status could not check here ("unknown"): a GSettings schema
 * or key that is not installed, mostly. */
static void
check_unknown (JsonArray *checks, JsonObject *status)
{
  JsonObject *subsystems = json_object_get_object_member (status, "subsystems");
  JsonObject *gs = subsystems != NULL && json_object_has_member (subsystems, "gsettings")
                   ? json_object_get_object_member (subsystems, "gsettings") : NULL;
  JsonArray *unknown = gs != NULL && json_object_has_member (gs, "unknown")
                       ? json_object_get_array_member (gs, "unknown") : NULL;
  guint n = unknown != NULL ? json_array_get_length (unknown) : 0;
  g_autoptr(GString) detail = g_string_new (NULL);

  if (gs == NULL)
    return;
  for (guint i = 0; i < n && i < 10; i++)
    {
      JsonNode *e = json_array_get_element (unknown, i);
      const char *summary = JSON_NODE_HOLDS_OBJECT (e)
                            ? json_object_get_string_member_with_default (json_node_get_object (e), "summary", "?")
                            : "?";
      g_string_append_printf (detail, "%s%s", i > 0 ? "; " : "", summary);
    }
  if (n > 10)
    g_string_append_printf (detail, "; … and %u more", n - 10);
  bkt_json_add_check (checks, "gsettings", n == 0, n == 0 ? "every entry's schema and key exist" : detail->str,
                      "install the package that ships the schema (gsettings list-schemas shows what is installed), "
                      "or correct or remove the entry in gsettings.json");
}

/* The state records (user and system): readable, or missing (first run). */
static void
check_records (JsonArray *checks, JsonObject *status)
{
  JsonObject *records = json_object_has_member (status, "record") ? json_object_get_object_member (status, "record")
                                                                  : NULL;
  static const char * const scopes[] = { "user", "system" };

  for (guint i = 0; records != NULL && i < G_N_ELEMENTS (scopes); i++)
    {
      JsonObject *r = json_object_has_member (records, scopes[i]) ? json_object_get_object_member (records, scopes[i])
                                                                  : NULL;
      const char *health = r ? json_object_get_string_member_with_default (r, "health", "?") : NULL;
      const char *dir = r ? json_object_get_string_member_with_default (r, "path", "?") : NULL;
      g_autofree char *name = g_strdup_printf ("record-%s", scopes[i]);
      g_autofree char *detail = NULL, *fix = NULL, *path = NULL;

      if (r == NULL)
        continue;
      /* Status names the record's directory; the file in it is state.json
       * (bkt-state-record.h). */
      path = g_build_filename (dir, "state.json", NULL);
      detail = g_strdup_printf ("%s: %s (%" G_GINT64_FORMAT " items)", path, health,
                                json_object_get_int_member_with_default (r, "items", 0));
      fix = g_strdup_printf ("the record cannot be read, so bkt cannot tell which side changed: move %s "
                             "aside (bkt keeps it as %s.corrupt when it next writes one) and run bkt apply "
                             "or bkt capture", path, path);
      bkt_json_add_check (checks, name, !g_str_equal (health, "corrupt"), detail, fix);
    }
}

/* A program bkt runs: executable at @path. */
static void
check_program (JsonArray *checks, const char *name, const char *path, const char *needed_for)
{
  gboolean ok = path != NULL && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) &&
                !g_file_test (path, G_FILE_TEST_IS_DIR);
  g_autofree char *detail = ok ? g_strdup (path)
                               : g_strdup_printf ("%s is not installed (%s)", path != NULL ? path : name, needed_for);
  g_autofree char *fix = g_strdup_printf ("install %s (on a bootc/Fedora atomic image it is part of the base "
                                          "image; elsewhere bkt works without %s)", name, needed_for);

  bkt_json_add_check (checks, name, ok, detail, fix);
}

gboolean
bkt_compute_doctor (Request *r, GCancellable *c, GError **error)
{
  g_autoptr(JsonObject) out = json_object_new ();
  JsonArray *checks = json_array_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GError) repo_error = NULL;
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(JsonObject) preflight = NULL;
  JsonArray *pf_checks;

  json_object_set_array_member (out, "checks", checks);
  r->out.manifests = bkt_daemon_load_manifests (r, &local_error);
  if (r->out.manifests == NULL)
    bkt_json_add_check (checks, "manifests", FALSE, local_error->message,
                        "correct the file at the position named (docs/manifests.md describes each file)");
  else
    {
      g_autoptr(JsonObject) status = NULL;

      bkt_json_add_check (checks, "manifests", TRUE, "every manifest loads", NULL);
      check_flatpak_remotes (checks, r->out.manifests);
      r->out.engine = bkt_engine_new (r->daemon->instance, (const char * const *) r->opt.only,
                                      (const char * const *) r->opt.exclude, error);
      if (r->out.engine == NULL)
        return FALSE;
      status = bkt_engine_status (r->out.engine, r->out.manifests, c, &local_error);
      bkt_json_add_check (checks, "live-state", status != NULL,
                          status != NULL ? "the live state of every subsystem reads" : local_error->message,
                          "see the error; bkt status shows the same");
      if (status != NULL)
        {
          check_unknown (checks, status);
          check_records (checks, status);
        }
    }

  repo = bkt_repo_discover (r->pun.repo_dir, r->pun.cwd, &repo_error);
  preflight = bkt_pr_preflight (repo, repo_error, TRUE);
  pf_checks = json_object_get_array_member (preflight, "checks");
  for (guint i = 0; i < json_array_get_length (pf_checks); i++)
    json_array_add_element (checks, json_array_dup_element (pf_checks, i));

  check_program (checks, "rpm-ostree", bkt_packages_rpm_ostree (), "layered packages: bkt dnf");
  r->out.status = g_steal_pointer (&out);
  return TRUE;
}
