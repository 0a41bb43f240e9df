/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-json.h"
#include "bkt-schema.h"
#include "bkt-error.h"
#include "bkt-config.h"
#include "bkt-repo.h"

#define DEFAULT_API_URL "https://api.github.com"

struct _BktRepo
{
  GObject   parent_instance;
  char     *path;
  char     *source;
  char     *url;
  char     *owner;
  char     *name;
  char     *default_branch;
  char     *api_url;
  char     *fork;     /* "auto", "always" or "never" */
};

G_DEFINE_TYPE (BktRepo, bkt_repo, G_TYPE_OBJECT)

static void
bkt_repo_finalize (GObject *object)
{
  BktRepo *self = BKT_REPO (object);

  g_free (self->path);
  g_free (self->source);
  g_free (self->url);
  g_free (self->owner);
  g_free (self->name);
  g_free (self->default_branch);
  g_free (self->api_url);
  g_free (self->fork);
  G_OBJECT_CLASS (bkt_repo_parent_class)->finalize (object);
}

static void
bkt_repo_class_init (BktRepoClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_repo_finalize;
}

static void
bkt_repo_init (BktRepo *self)
{
}

static void
set_if_unset (char **field, const char *value)
{
  if (*field == NULL && value != NULL && *value != '\0')
    *field = g_strdup (value);
}

static void
take_repo_json (BktRepo *self, JsonObject *o)
{
  set_if_unset (&self->url, bkt_json_object_get_string (o, "url"));
  set_if_unset (&self->owner, bkt_json_object_get_string (o, "owner"));
  set_if_unset (&self->name, bkt_json_object_get_string (o, "name"));
  set_if_unset (&self->default_branch, bkt_json_object_get_string (o, "default_branch"));
}

static gboolean
is_checkout (const char *dir)
{
  g_autofree char *manifests = g_build_filename (dir, "manifests", NULL);
  g_autofree char *dotgit = g_build_filename (dir, ".git", NULL);

  /* .git may be a file (a worktree or submodule). */
  return g_file_test (manifests, G_FILE_TEST_IS_DIR) && g_file_test (dotgit, G_FILE_TEST_EXISTS);
}

static char *
expand_home (const char *path)
{
  if (g_str_has_prefix (path, "~/"))
    return g_build_filename (g_get_home_dir (), path + 2, NULL);
  return g_strdup (path);
}

/* The image's declaration of its own source.  Inside a toolbox the host's
 * /usr is at /run/host/usr (a private bktd may run there). */
static char *
find_repo_json (void)
{
  const char *env = g_getenv ("BKT_REPO_JSON");
  g_autofree char *image = g_build_filename (BKT_PKGDATADIR, "repo.json", NULL);
  g_autofree char *host = g_build_filename ("/run/host", BKT_PKGDATADIR, "repo.json", NULL);

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (g_file_test ("/run/.toolboxenv", G_FILE_TEST_EXISTS) && g_file_test (host, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&host);
  return g_steal_pointer (&image);
}

/* repo.json checked against its shape (bkt-manifest-shapes.c, the
 * repo.schema.json `bkt schema generate` writes); NULL without an error
 * when there is no such file. */
static JsonObject *
load_repo_json (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(BktJsonDoc) doc = NULL;

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: %s", path, local_error->message), NULL;
    }
  doc = bkt_schema_load_data (bkt_schema_kind_lookup ("repo"), path, data, length, 64 * 1024, error);
  if (doc == NULL)
    return NULL;
  return json_object_ref (json_node_get_object (bkt_json_doc_get_root (doc)));
}

static gboolean
valid_fork (const char *fork)
{
  return g_strcmp0 (fork, "auto") == 0 || g_strcmp0 (fork, "always") == 0 || g_strcmp0 (fork, "never") == 0;
}

BktRepo *
bkt_repo_discover (const char *repo_dir, const char *cwd, GError **error)
{
  g_autoptr(BktRepo) self = g_object_new (BKT_TYPE_REPO, NULL);
  g_autofree char *config_path = bkt_config_path ();
  g_autoptr(JsonObject) config = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *configured;

  config = bkt_config_load (error);
  if (config == NULL)
    return NULL;
  configured = bkt_json_object_get_string (config, "repo");

  if (repo_dir != NULL)
    {
      if (!is_checkout (repo_dir))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "--repo %s is not a git checkout with a manifests/ directory", repo_dir), NULL;
      self->path = g_strdup (repo_dir);
      self->source = g_strdup ("option");
    }
  else if (configured != NULL)
    {
      g_autofree char *p = expand_home (configured);
      if (!is_checkout (p))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "\"repo\" in %s (%s) is not a git checkout with a manifests/ directory; "
                            "fix the path or remove the setting", config_path, p), NULL;
      self->path = g_steal_pointer (&p);
      self->source = g_strdup ("config");
    }
  else if (cwd != NULL)
    {
      g_autofree char *dir = g_canonicalize_filename (cwd, NULL);

      for (;;)
        {
          g_autofree char *parent = NULL;

          if (is_checkout (dir))
            {
              self->path = g_steal_pointer (&dir);
              self->source = g_strdup ("cwd");
              break;
            }
          parent = g_path_get_dirname (dir);
          if (g_str_equal (parent, dir))
            break;
          g_free (dir);
          dir = g_steal_pointer (&parent);
        }
    }

  if (self->path == NULL)
    {
      g_autofree char *repo_json_path = find_repo_json ();
      g_autoptr(JsonObject) decl = load_repo_json (repo_json_path, &local_error);

      if (local_error != NULL)
        return g_propagate_error (error, g_steal_pointer (&local_error)), NULL;
      if (bkt_json_object_get_string (decl, "url") == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "no distribution repo found.  Fix: run bkt inside a checkout of it, pass "
                            "--repo DIR, set \"repo\" in %s, or declare the repo's \"url\" in %s",
                            config_path, repo_json_path), NULL;
      take_repo_json (self, decl);
      self->path = g_build_filename (g_get_user_data_dir (), "bkt", "source", NULL);
      self->source = g_strdup ("managed");
    }
  else
    {
      /* A checkout may carry its own repo.json (the original tool's
       * distributions do): it names the forge repo better than a remote
       * URL can. */
      g_autofree char *own = g_build_filename (self->path, "repo.json", NULL);
      g_autoptr(JsonObject) decl = load_repo_json (own, &local_error);

      if (local_error != NULL)
        return g_propagate_error (error, g_steal_pointer (&local_error)), NULL;
      take_repo_json (self, decl);
    }

  /* config.json may name the forge repo for any source. */
  set_if_unset (&self->owner, bkt_json_object_get_string (config, "owner"));
  set_if_unset (&self->name, bkt_json_object_get_string (config, "name"));
  set_if_unset (&self->api_url, bkt_json_object_get_string (config, "api_url"));
  if (self->api_url == NULL)
    self->api_url = g_strdup (DEFAULT_API_URL);
  while (g_str_has_suffix (self->api_url, "/"))
    self->api_url[strlen (self->api_url) - 1] = '\0';
  set_if_unset (&self->fork, bkt_json_object_get_string (config, "fork"));
  if (self->fork == NULL)
    self->fork = g_strdup ("auto");
  if (!valid_fork (self->fork))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "\"fork\" in %s is “%s”; it takes \"auto\", \"always\" or \"never\"",
                        config_path, self->fork), NULL;
  return g_steal_pointer (&self);
}

BktRepo *
bkt_repo_new_from_json (JsonObject *o, GError **error)
{
  g_autoptr(BktRepo) self = g_object_new (BKT_TYPE_REPO, NULL);

  self->path = g_strdup (bkt_json_object_get_string (o, "path"));
  self->source = g_strdup (bkt_json_object_get_string (o, "source"));
  self->api_url = g_strdup (bkt_json_object_get_string (o, "api_url"));
  if (self->path == NULL || self->source == NULL || self->api_url == NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "incomplete repo description"), NULL;
  take_repo_json (self, o);
  /* Entries queued before "fork" existed: the default. */
  self->fork = g_strdup (valid_fork (bkt_json_object_get_string (o, "fork")) ? bkt_json_object_get_string (o, "fork")
                                                                             : "auto");
  return g_steal_pointer (&self);
}

JsonObject *
bkt_repo_to_json (BktRepo *self)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "path", self->path);
  json_object_set_string_member (o, "source", self->source);
  json_object_set_string_member (o, "api_url", self->api_url);
#define OPT(m, v) if ((v) != NULL) json_object_set_string_member (o, m, v); else json_object_set_null_member (o, m)
  OPT ("url", self->url);
  OPT ("owner", self->owner);
  OPT ("name", self->name);
  OPT ("default_branch", self->default_branch);
  OPT ("fork", self->fork);
#undef OPT
  return o;
}

const char *bkt_repo_get_path (BktRepo *self) { return self->path; }
const char *bkt_repo_get_source (BktRepo *self) { return self->source; }
gboolean bkt_repo_is_managed (BktRepo *self) { return g_strcmp0 (self->source, "managed") == 0; }
const char *bkt_repo_get_url (BktRepo *self) { return self->url; }
const char *bkt_repo_get_owner (BktRepo *self) { return self->owner; }
const char *bkt_repo_get_name (BktRepo *self) { return self->name; }
const char *bkt_repo_get_api_url (BktRepo *self) { return self->api_url; }
const char *bkt_repo_get_fork (BktRepo *self) { return self->fork; }

const char *
bkt_repo_get_default_branch (BktRepo *self)
{
  return self->default_branch != NULL ? self->default_branch : "main";
}

void
bkt_repo_complete (BktRepo *self, const char *origin_url, const char *remote_head)
{
  set_if_unset (&self->url, origin_url);
  set_if_unset (&self->default_branch, remote_head);

  /* owner/name are the URL's last two path components, whatever the
   * scheme: https://host/OWNER/NAME(.git), git@host:OWNER/NAME.git. */
  if ((self->owner == NULL || self->name == NULL) && origin_url != NULL)
    {
      g_autofree char *u = g_strdup (origin_url);
      g_auto(GStrv) parts = NULL;
      guint n;

      g_strdelimit (u, ":", '/');
      while (g_str_has_suffix (u, "/"))
        u[strlen (u) - 1] = '\0';
      if (g_str_has_suffix (u, ".git"))
        u[strlen (u) - 4] = '\0';
      parts = g_strsplit (u, "/", -1);
      n = g_strv_length (parts);
      if (n >= 2 && *parts[n - 1] != '\0' && *parts[n - 2] != '\0')
        {
          set_if_unset (&self->owner, parts[n - 2]);
          set_if_unset (&self->name, parts[n - 1]);
        }
    }
}
