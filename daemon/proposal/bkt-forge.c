/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bkt-error.h"
#include "bkt-forge.h"
#include "bkt-json.h"
#include "bkt-keyring.h"

/* The host whose gh login applies to @api_url: api.github.com is
 * github.com's API; an Enterprise or Forgejo API lives on its own host. */
static char *
login_host (const char *api_url)
{
  g_autoptr(GUri) uri = g_uri_parse (api_url, G_URI_FLAGS_NONE, NULL);
  const char *host = uri ? g_uri_get_host (uri) : NULL;

  if (host == NULL)
    return NULL;
  if (g_str_equal (host, "api.github.com"))
    return g_strdup ("github.com");
  return g_strdup (host);
}

/* gh's hosts.yml is a two-level mapping:
 *   github.com:
 *       oauth_token: gho_xxx
 *       user: someone
 * Only that shape is read; anything else is no token. */
static char *
token_from_gh_hosts (const char *host)
{
  const char *dir = g_getenv ("GH_CONFIG_DIR");
  g_autofree char *path = dir ? g_build_filename (dir, "hosts.yml", NULL)
                              : g_build_filename (g_get_user_config_dir (), "gh", "hosts.yml", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean in_host = FALSE;
  char *token = NULL;

  if (host == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && token == NULL; i++)
    {
      char *line = lines[i];
      g_autofree char *stripped = g_strstrip (g_strdup (line));

      if (*stripped == '\0' || *stripped == '#')
        continue;
      if (!g_ascii_isspace (line[0]))
        {
          g_autofree char *key = g_strdup (stripped);
          gsize len = strlen (key);
          if (len > 0 && key[len - 1] == ':')
            key[len - 1] = '\0';
          g_strstrip (key);
          in_host = g_str_equal (key, host);
          continue;
        }
      if (in_host && g_str_has_prefix (stripped, "oauth_token:"))
        {
          char *v = g_strstrip (stripped + strlen ("oauth_token:"));
          gsize len = strlen (v);
          if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0])
            {
              v[len - 1] = '\0';
              v++;
            }
          if (*v != '\0')
            token = g_strdup (v);
        }
      explicit_bzero (stripped, strlen (stripped));
    }
  for (guint i = 0; lines[i] != NULL; i++)
    explicit_bzero (lines[i], strlen (lines[i]));
  explicit_bzero (text, strlen (text));
  return token;
}

char *
bkt_forge_find_token (const char *api_url, const char **source)
{
  static const char * const vars[] = { "GITHUB_TOKEN", "GH_TOKEN" };
  g_autofree char *host = NULL;
  char *token;

  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      const char *v = g_getenv (vars[i]);
      if (v != NULL && *v != '\0')
        {
          if (source)
            *source = vars[i];
          return g_strdup (v);
        }
    }
  host = login_host (api_url);
  token = token_from_gh_hosts (host);
  if (token != NULL)
    {
      if (source)
        *source = "gh hosts.yml";
      return token;
    }
  /* gh >= 2.24 keeps its token in the keyring, not in hosts.yml. */
  switch (bkt_keyring_gh_token (host, &token))
    {
    case BKT_KEYRING_FOUND:
      if (source)
        *source = "the keyring (Secret Service)";
      return token;
    case BKT_KEYRING_LOCKED:
      if (source)
        *source = BKT_FORGE_SOURCE_LOCKED_KEYRING;
      return NULL;
    case BKT_KEYRING_NONE:
    default:
      return NULL;
    }
}

/* The forge's own explanation: "message" and each errors[].message. */
char *
bkt_forge_reason (GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) out = g_string_new (NULL);
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  JsonNode *root;
  JsonObject *o;

  if (data == NULL || len == 0 || !json_parser_load_from_data (parser, data, len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return g_strdup ("no details");
  o = json_node_get_object (root);
  g_string_append (out, bkt_json_object_get_string (o, "message") ? bkt_json_object_get_string (o, "message") : "no details");
  if (json_object_has_member (o, "errors") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "errors")))
    {
      JsonArray *errs = json_object_get_array_member (o, "errors");
      for (guint i = 0; i < json_array_get_length (errs); i++)
        {
          JsonNode *e = json_array_get_element (errs, i);
          if (JSON_NODE_HOLDS_OBJECT (e))
            {
              JsonObject *eo = json_node_get_object (e);
              const char *m = bkt_json_object_get_string (eo, "message");
              const char *code = bkt_json_object_get_string (eo, "code");
              if (m != NULL || code != NULL)
                g_string_append_printf (out, "; %s", m ? m : code);
            }
        }
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* One REST request: @body (JSON, may be NULL) sent with the token and
 * GitHub's headers; the answer's body, its status in *@status.  NULL
 * (with @error) only when the forge could not be reached. */
static GBytes *
forge_send (const char *method, const char *url, const char *api_url, const char *token, GBytes *body,
            guint *status, GCancellable *cancellable, GError **error)
{
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *auth = NULL;
  GBytes *response;

  if (msg == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "the forge API URL “%s” is not a valid URL (\"api_url\" in config.json)", api_url), NULL;
  auth = g_strdup_printf ("Bearer %s", token);
  soup_message_headers_append (soup_message_get_request_headers (msg), "Authorization", auth);
  explicit_bzero (auth, strlen (auth));
  soup_message_headers_append (soup_message_get_request_headers (msg), "Accept", "application/vnd.github+json");
  soup_message_headers_append (soup_message_get_request_headers (msg), "X-GitHub-Api-Version", "2022-11-28");
  if (body != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/json", body);

  /* A session per request: PRs are rare, and a session owns no state worth
   * keeping (the token must not linger in a connection pool). */
  session = soup_session_new_with_options ("timeout", 60, "user-agent", "bkt/" PACKAGE_VERSION, NULL);
  response = soup_session_send_and_read (session, msg, cancellable, &local_error);
  if (response == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                        "cannot reach the forge at %s: %s", api_url, local_error->message), NULL;
  *status = soup_message_get_status (msg);
  return response;
}

/* The answer as a JSON object (a new reference), or NULL. */
JsonObject *
bkt_forge_answer_object (GBytes *response)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *data = response ? g_bytes_get_data (response, &len) : NULL;
  JsonNode *r;

  if (data == NULL || !json_parser_load_from_data (parser, data, len, NULL) ||
      (r = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (r))
    return NULL;
  return json_object_ref (json_node_get_object (r));
}

char *
bkt_forge_open_pull_request (const char *api_url, const char *owner, const char *name,
                             const char *token, const char *title, const char *head,
                             const char *base, const char *body, GCancellable *cancellable,
                             GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GBytes) request = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autofree char *url = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *text = NULL;
  gsize text_len = 0;
  guint status = 0;

  if (owner == NULL || name == NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "the forge repository is unknown.  Fix: set \"owner\" and \"name\" in "
                                "~/.config/bkt/config.json or the repo's repo.json"), NULL;
  url = g_strdup_printf ("%s/repos/%s/%s/pulls", api_url, owner, name);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, title);
  json_builder_set_member_name (b, "head");
  json_builder_add_string_value (b, head);
  json_builder_set_member_name (b, "base");
  json_builder_add_string_value (b, base);
  json_builder_set_member_name (b, "body");
  json_builder_add_string_value (b, body);
  json_builder_set_member_name (b, "maintainer_can_modify");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &text_len);
  request = g_bytes_new_take (g_steal_pointer (&text), text_len);

  response = forge_send ("POST", url, api_url, token, request, &status, cancellable, error);
  if (response == NULL)
    return NULL;
  if (status == 201 || status == 200)
    {
      g_autoptr(JsonObject) r = bkt_forge_answer_object (response);

      /* Hostile answers too: a member of the wrong type is no URL
       * (json-glib's typed getters would raise a critical). */
      if (bkt_json_object_get_string (r, "html_url") != NULL)
        return g_strdup (bkt_json_object_get_string (r, "html_url"));
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                          "the forge answered %u without the pull request's html_url", status), NULL;
    }

  reason = bkt_forge_reason (response);
  switch (status)
    {
    case 401:
      return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                          "the forge refused the token (401: %s).  Fix: renew it (gh auth login, or a new "
                          "GITHUB_TOKEN with pull-request write access), then bkt pr retry", reason), NULL;
    case 403:
      return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_AUTHORIZED,
                          "the token may not open pull requests on %s/%s (403: %s).  Fix: grant it "
                          "pull-request write access, then bkt pr retry", owner, name, reason), NULL;
    case 404:
      return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                          "the forge has no repository %s/%s at %s, or the token cannot see it (404: %s)",
                          owner, name, api_url, reason), NULL;
    case 422:
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "the forge did not accept the pull request (422: %s)", reason), NULL;
    default:
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                          "the forge failed (HTTP %u: %s); the change is kept, run bkt pr retry later",
                          status, reason), NULL;
    }
}

/* ---- forks ------------------------------------------------------------------------ */

/* GET /repos/OWNER/NAME: the repository object, NULL with *status when
 * the forge answered something else than 200. */
static JsonObject *
get_repo (const char *api_url, const char *owner, const char *name, const char *token, guint *status,
          GCancellable *cancellable, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s/repos/%s/%s", api_url, owner, name);
  g_autoptr(GBytes) response = forge_send ("GET", url, api_url, token, NULL, status, cancellable, error);
  JsonObject *o;

  if (response == NULL)
    return NULL;
  if (*status != 200)
    {
      g_autofree char *reason = bkt_forge_reason (response);
      return g_set_error (error, BKT_ERROR, *status == 404 ? BKT_ERROR_NOT_FOUND : BKT_ERROR_FAILED,
                          "the forge has no repository %s/%s at %s, or the token cannot see it (HTTP %u: %s)",
                          owner, name, api_url, *status, reason), NULL;
    }
  o = bkt_forge_answer_object (response);
  if (o == NULL)
    g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "the forge answered %s/%s without a repository object",
                 owner, name);
  return o;
}

static gboolean
can_push (JsonObject *repo)
{
  JsonNode *p = json_object_get_member (repo, "permissions");

  /* No "permissions" (an API that does not say, or no authentication):
   * push to origin as without forks; the push itself will tell. */
  if (p == NULL || !JSON_NODE_HOLDS_OBJECT (p))
    return TRUE;
  {
    JsonNode *push = json_object_get_member (json_node_get_object (p), "push");
    /* Absent or not a boolean (a hostile answer): assume we may push,
     * and let the push itself answer. */
    if (push == NULL || !JSON_NODE_HOLDS_VALUE (push) || json_node_get_value_type (push) != G_TYPE_BOOLEAN)
      return TRUE;
    return json_node_get_boolean (push);
  }
}

gboolean
bkt_forge_push_access (const char *api_url, const char *owner, const char *name, const char *token, gboolean *push,
                       gboolean *known, GCancellable *cancellable, GError **error)
{
  guint status = 0;
  g_autoptr(JsonObject) repo = get_repo (api_url, owner, name, token, &status, cancellable, error);
  JsonNode *p, *value;

  *push = *known = FALSE;
  if (repo == NULL)
    return FALSE;
  p = json_object_get_member (repo, "permissions");
  value = p != NULL && JSON_NODE_HOLDS_OBJECT (p) ? json_object_get_member (json_node_get_object (p), "push") : NULL;
  if (value != NULL && JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_BOOLEAN)
    {
      *push = json_node_get_boolean (value);
      *known = TRUE;
    }
  return TRUE;
}

static const char *
owner_login (JsonObject *repo)
{
  JsonNode *o = json_object_get_member (repo, "owner");

  return o != NULL && JSON_NODE_HOLDS_OBJECT (o)
         ? bkt_json_object_get_string (json_node_get_object (o), "login") : NULL;
}

gboolean
bkt_forge_push_target (const char *api_url, const char *owner, const char *name, const char *token,
                       const char *fork_mode, gboolean ssh, char **fork_owner, char **fork_url,
                       GCancellable *cancellable, GError **error)
{
  g_autoptr(JsonObject) fork = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autofree char *url = NULL;
  const char *login, *fork_name, *push_url;
  guint status = 0;
  gint64 deadline;
  gulong wait_ms = 250;

  *fork_owner = *fork_url = NULL;
  if (g_strcmp0 (fork_mode, "never") == 0 || owner == NULL || name == NULL)
    return TRUE;
  if (g_strcmp0 (fork_mode, "always") != 0)
    {
      g_autoptr(JsonObject) repo = get_repo (api_url, owner, name, token, &status, cancellable, error);

      if (repo == NULL)
        return FALSE;
      if (can_push (repo))
        return TRUE;
    }

  /* POST /repos/OWNER/NAME/forks: 202, the fork (an existing one too). */
  url = g_strdup_printf ("%s/repos/%s/%s/forks", api_url, owner, name);
  {
    g_autoptr(GBytes) empty = g_bytes_new_static ("{}", 2);
    response = forge_send ("POST", url, api_url, token, empty, &status, cancellable, error);
  }
  if (response == NULL)
    return FALSE;
  if (status != 202 && status != 200 && status != 201)
    {
      g_autofree char *reason = bkt_forge_reason (response);
      return g_set_error (error, BKT_ERROR, status == 403 || status == 401 ? BKT_ERROR_NOT_AUTHORIZED : BKT_ERROR_FAILED,
                          "the token's user cannot push to %s/%s and forking it failed (HTTP %u: %s).  "
                          "Fix: ask for write access, or allow forking; then bkt pr retry",
                          owner, name, status, reason), FALSE;
    }
  fork = bkt_forge_answer_object (response);
  login = fork ? owner_login (fork) : NULL;
  fork_name = fork ? bkt_json_object_get_string (fork, "name") : NULL;
  push_url = fork ? bkt_json_object_get_string (fork, ssh ? "ssh_url" : "clone_url") : NULL;
  if (login == NULL || fork_name == NULL || push_url == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                        "the forge answered the fork of %s/%s without its owner, name or %s",
                        owner, name, ssh ? "ssh_url" : "clone_url"), FALSE;

  /* Forking is asynchronous: the fork answers GET once it exists. */
  deadline = g_get_monotonic_time () + BKT_FORGE_FORK_WAIT_SECONDS * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(JsonObject) ready = NULL;

      status = 0;
      ready = get_repo (api_url, login, fork_name, token, &status, cancellable, &e);

      if (ready != NULL)
        break;
      if (status != 404 && status != 0)
        return g_propagate_error (error, g_steal_pointer (&e)), FALSE;
      if (status == 0 || g_get_monotonic_time () + (gint64) wait_ms * 1000 > deadline ||
          g_cancellable_is_cancelled (cancellable))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                            "the fork %s/%s did not appear within %d s (%s); the change is kept, run bkt pr "
                            "retry later", login, fork_name, BKT_FORGE_FORK_WAIT_SECONDS,
                            e ? e->message : "not found"), FALSE;
      g_usleep (wait_ms * 1000);
      wait_ms = MIN (wait_ms * 2, 2000);
    }
  *fork_owner = g_strdup (login);
  *fork_url = g_strdup (push_url);
  return TRUE;
}
