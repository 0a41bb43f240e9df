/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the punning parts that need no daemon: branch names, the
 * forge repository from a remote URL, the token lookup, and the forge
 * client against a SoupServer speaking GitHub's create-PR shapes. */
#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "bkt-error.h"
#include "bkt-forge.h"
#include "bkt-git.h"
#include "bkt-pr-queue.h"
#include "bkt-repo.h"
#include "bkt-test.h"

static void
test_branch_names (void)
{
  g_autofree char *a = bkt_git_branch_name ("flatpak", "add", "org.gnome.Boxes", 1764115200);
  g_autofree char *b = bkt_git_branch_name ("gsetting", "set", "org.gnome.desktop.interface clock-format", 1);
  g_autofree char *c = bkt_git_branch_name ("flatpak", "add", "..evil~^:name@{x}\\", 2);
  g_autoptr(GString) longname = g_string_new (NULL);
  g_autofree char *d = NULL;

  g_assert_cmpstr (a, ==, "bkt/flatpak-add-org.gnome.Boxes-1764115200");
  g_assert_cmpstr (b, ==, "bkt/gsetting-set-org.gnome.desktop.interface-clock-format-1");
  /* git's forbidden sequences are gone and the name does not start with "." */
  g_assert_null (strstr (c, ".."));
  g_assert_null (strstr (c, "@{"));
  g_assert_null (strpbrk (c + 4, "~^:\\ "));
  g_assert_true (g_str_has_prefix (c, "bkt/flatpak-add-"));
  g_assert_true (g_str_has_suffix (c, "-2"));
  for (guint i = 0; i < 300; i++)
    g_string_append_c (longname, 'x');
  d = bkt_git_branch_name ("flatpak", "add", longname->str, 1764115200);
  g_assert_cmpuint (strlen (d), <=, 100);
  g_assert_true (g_str_has_suffix (d, "-1764115200"));
}

static BktRepo *
repo_with (const char *json)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_autoptr(GError) error = NULL;
  BktRepo *r;

  g_assert_true (json_parser_load_from_data (p, json, -1, &error));
  r = bkt_repo_new_from_json (json_node_get_object (json_parser_get_root (p)), &error);
  g_assert_no_error (error);
  return r;
}

static void
test_repo_from_url (void)
{
  static const struct { const char *url, *owner, *name; } cases[] = {
    { "https://github.com/acme/distro.git", "acme", "distro" },
    { "https://github.com/acme/distro", "acme", "distro" },
    { "git@github.com:acme/distro.git", "acme", "distro" },
    { "ssh://git@example.com:2222/acme/distro.git/", "acme", "distro" },
    { "file:///srv/git/acme/distro.git", "acme", "distro" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(BktRepo) r = repo_with ("{\"path\": \"/x\", \"source\": \"option\", \"api_url\": \"https://api.github.com\"}");
      bkt_repo_complete (r, cases[i].url, "trunk");
      g_assert_cmpstr (bkt_repo_get_owner (r), ==, cases[i].owner);
      g_assert_cmpstr (bkt_repo_get_name (r), ==, cases[i].name);
      g_assert_cmpstr (bkt_repo_get_default_branch (r), ==, "trunk");
    }
  {
    /* What repo.json says wins over the URL. */
    g_autoptr(BktRepo) r = repo_with ("{\"path\": \"/x\", \"source\": \"cwd\", \"api_url\": \"https://api.github.com\","
                                      " \"owner\": \"wycats\", \"name\": \"bootc\", \"default_branch\": \"main\"}");
    bkt_repo_complete (r, "https://github.com/fork/other.git", "dev");
    g_assert_cmpstr (bkt_repo_get_owner (r), ==, "wycats");
    g_assert_cmpstr (bkt_repo_get_name (r), ==, "bootc");
    g_assert_cmpstr (bkt_repo_get_default_branch (r), ==, "main");
  }
}

static void
test_token_lookup (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("pr");
  const char *dir = tmp->path;
  g_autofree char *hosts = g_build_filename (dir, "hosts.yml", NULL);
  const char *source = NULL;
  char *t;

  g_unsetenv ("GITHUB_TOKEN");
  g_unsetenv ("GH_TOKEN");
  g_setenv ("GH_CONFIG_DIR", dir, TRUE);
  bkt_test_write_file (hosts,
                       "github.com:\n"
                       "    user: someone\n"
                       "    oauth_token: gho_github\n"
                       "ghe.example.com:\n"
                       "    oauth_token: \"gho_enterprise\"\n");
  t = bkt_forge_find_token ("https://api.github.com", &source);
  g_assert_cmpstr (t, ==, "gho_github");
  g_assert_cmpstr (source, ==, "gh hosts.yml");
  g_free (t);
  t = bkt_forge_find_token ("https://ghe.example.com/api/v3", NULL);
  g_assert_cmpstr (t, ==, "gho_enterprise");
  g_free (t);
  t = bkt_forge_find_token ("https://codeberg.org/api/v1", NULL);
  g_assert_null (t);
  g_setenv ("GH_TOKEN", "from_gh_env", TRUE);
  t = bkt_forge_find_token ("https://api.github.com", &source);
  g_assert_cmpstr (t, ==, "from_gh_env");
  g_assert_cmpstr (source, ==, "GH_TOKEN");
  g_free (t);
  g_setenv ("GITHUB_TOKEN", "from_github_env", TRUE);
  t = bkt_forge_find_token ("https://api.github.com", NULL);
  g_assert_cmpstr (t, ==, "from_github_env");
  g_free (t);
  g_unsetenv ("GITHUB_TOKEN");
  g_unsetenv ("GH_TOKEN");
  g_unsetenv ("GH_CONFIG_DIR");
}

/* ---- the forge client against a SoupServer ----------------------------------------- */

typedef struct {
  guint       status;       /* what the next request gets */
  char       *last_body;
  char       *last_auth;
  char       *last_path;
} Forge;

static void
forge_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  Forge *f = user_data;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  const char *reply;

  g_free (f->last_body);
  g_free (f->last_auth);
  g_free (f->last_path);
  f->last_body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  f->last_auth = g_strdup (soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                         "Authorization"));
  f->last_path = g_strdup (path);
  switch (f->status)
    {
    case 201: reply = "{\"number\": 7, \"html_url\": \"https://github.com/acme/distro/pull/7\"}"; break;
    case 401: reply = "{\"message\": \"Bad credentials\", \"documentation_url\": \"https://docs.github.com/rest\"}"; break;
    case 403: reply = "{\"message\": \"Resource not accessible by integration\"}"; break;
    case 404: reply = "{\"message\": \"Not Found\"}"; break;
    case 422: reply = "{\"message\": \"Validation Failed\", \"errors\": [{\"resource\": \"PullRequest\", "
                      "\"code\": \"custom\", \"message\": \"A pull request already exists for acme:bkt/x.\"}]}"; break;
    default:  reply = "{\"message\": \"Server Error\"}"; break;
    }
  soup_server_message_set_status (msg, f->status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, reply, strlen (reply));
}

typedef struct {
  const char *api;
  char       *url;
  GError     *error;
  gboolean    done;
} Call;

static gpointer
call_thread (gpointer data)
{
  Call *c = data;

  c->url = bkt_forge_open_pull_request (c->api, "acme", "distro", "s3cret", "feat(manifests): add flatpak x",
                                        "bkt/flatpak-add-x-1", "main", "body text", NULL, &c->error);
  g_atomic_int_set (&c->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

/* The forge call is synchronous (bktd makes it in a worker thread): run it
 * in a thread while this one serves. */
static void
forge_call (const char *api, char **url, GError **error)
{
  Call c = { api, NULL, NULL, FALSE };
  GThread *t = g_thread_new ("forge-call", call_thread, &c);

  /* done is set by the other thread: wake the context now and then. */
  while (!g_atomic_int_get (&c.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (t);
  *url = c.url;
  if (c.error != NULL)
    g_propagate_error (error, c.error);
}

static void
test_forge (void)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *api = NULL;
  GSList *uris;
  Forge f = { 201, NULL, NULL, NULL };
  static const struct { guint status; int code; const char *words; } errors[] = {
    { 401, BKT_ERROR_NOT_AUTHORIZED, "Bad credentials" },
    { 403, BKT_ERROR_NOT_AUTHORIZED, "pull-request write access" },
    { 404, BKT_ERROR_NOT_FOUND, "acme/distro" },
    { 422, BKT_ERROR_INVALID_ARGUMENT, "A pull request already exists" },
    { 500, BKT_ERROR_FAILED, "HTTP 500" },
    { 503, BKT_ERROR_FAILED, "bkt pr retry" },
  };

  soup_server_add_handler (server, "/", forge_handler, &f, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  api = g_strdup_printf ("http://127.0.0.1:%d/api/v3", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  {
    g_autofree char *url = NULL;
    g_autoptr(JsonParser) p = json_parser_new ();
    JsonObject *o;

    forge_call (api, &url, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (url, ==, "https://github.com/acme/distro/pull/7");
    g_assert_cmpstr (f.last_path, ==, "/api/v3/repos/acme/distro/pulls");
    g_assert_cmpstr (f.last_auth, ==, "Bearer s3cret");
    g_assert_true (json_parser_load_from_data (p, f.last_body, -1, NULL));
    o = json_node_get_object (json_parser_get_root (p));
    g_assert_cmpstr (json_object_get_string_member (o, "title"), ==, "feat(manifests): add flatpak x");
    g_assert_cmpstr (json_object_get_string_member (o, "head"), ==, "bkt/flatpak-add-x-1");
    g_assert_cmpstr (json_object_get_string_member (o, "base"), ==, "main");
    g_assert_cmpstr (json_object_get_string_member (o, "body"), ==, "body text");
  }
  for (guint i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      g_autofree char *url = NULL;
      g_autoptr(GError) e = NULL;

      f.status = errors[i].status;
      forge_call (api, &url, &e);
      g_assert_null (url);
      g_assert_error (e, BKT_ERROR, errors[i].code);
      g_assert_nonnull (strstr (e->message, errors[i].words));
      g_assert_null (strstr (e->message, "s3cret"));
    }
  {
    /* Nobody listening: a clear "cannot reach". */
    g_autofree char *url = NULL;
    g_autoptr(GError) e = NULL;
    forge_call ("http://127.0.0.1:1", &url, &e);
    g_assert_error (e, BKT_ERROR, BKT_ERROR_FAILED);
    g_assert_nonnull (strstr (e->message, "cannot reach the forge"));
  }
  /* The server's side of each connection ends in this main context: let
   * it (libsoup 3.2 still keeps its sockets: see tests/lsan.supp). */
  soup_server_disconnect (server);
  g_clear_object (&server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_free (f.last_body);
  g_free (f.last_auth);
  g_free (f.last_path);
}

static void
test_queue (void)
{
  g_autoptr(BktTestDir) tmp = bkt_test_dir_new ("queue");
  const char *dir = tmp->path;
  g_autofree char *path = g_build_filename (dir, "sub", "pr-queue.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BktPrQueue) q = bkt_pr_queue_load (path, &error);
  g_autoptr(BktPrQueue) again = NULL;
  g_autoptr(JsonObject) e = json_object_new ();
  g_autoptr(GPtrArray) local = NULL;
  gint64 ids[2];

  g_assert_no_error (error);
  json_object_set_string_member (e, "state", "local");
  ids[0] = bkt_pr_queue_add (q, e, &error);
  json_object_set_string_member (e, "state", "failed");
  ids[1] = bkt_pr_queue_add (q, e, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ids[0], ==, 1);
  g_assert_cmpint (ids[1], ==, 2);
  /* persisted: a fresh load sees both */
  again = bkt_pr_queue_load (path, &error);
  g_assert_no_error (error);
  local = bkt_pr_queue_list (again, "local");
  g_assert_cmpuint (local->len, ==, 1);
  g_assert_nonnull (bkt_pr_queue_lookup (again, 2));
  g_assert_true (bkt_pr_queue_remove (again, ids, 1, &error));
  g_assert_null (bkt_pr_queue_lookup (again, 1));
  /* ids are never reused */
  g_assert_cmpint (bkt_pr_queue_add (again, e, &error), ==, 3);
  g_clear_object (&again);
  bkt_test_write_file (path, "[not a queue");
  again = bkt_pr_queue_load (path, &error);
  g_assert_null (again);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/pr/branch-names", test_branch_names);
  g_test_add_func ("/pr/repo-from-url", test_repo_from_url);
  g_test_add_func ("/pr/token-lookup", test_token_lookup);
  g_test_add_func ("/pr/forge", test_forge);
  g_test_add_func ("/pr/queue", test_queue);
  return g_test_run ();
}
