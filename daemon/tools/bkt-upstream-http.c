/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "bkt-config.h"
#include "bkt-error.h"
#include "bkt-forge.h"
#include "bkt-fsutil.h"
#include "bkt-upstream.h"

/* The GitHub releases/tags API for `bkt upstream check` and the asset
 * downloads of update, pin, lock and verify.
 *
 * check asks for every upstream at once: one SoupSession, one request per
 * upstream, all in flight together on one main context, so N upstreams
 * cost about one round trip, not N.  Answers are cached with their ETag
 * and asked again with If-None-Match: a 304 reuses the cached body and,
 * on GitHub, does not count against the rate limit.  An exhausted rate
 * limit (403/429 with X-RateLimit-Remaining: 0, or Retry-After) is
 * reported with its reset time and never retried — retrying only burns
 * more of the limit; 5xx and network errors are retried a bounded number
 * of times.  One upstream's failure is its own: the others are still
 * answered. */

#define DEFAULT_GITHUB_API "https://api.github.com"

BktUpstreamHttp *
bkt_upstream_http_new_from_env (GError **error)
{
  BktUpstreamHttp *self;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *api_url = bkt_config_setting ("BKT_GITHUB_API", "github_api_url", FALSE, &local_error);

  if (local_error != NULL)
    return g_propagate_error (error, g_steal_pointer (&local_error)), NULL;
  self = g_new0 (BktUpstreamHttp, 1);
  self->api_url = api_url != NULL ? g_steal_pointer (&api_url) : g_strdup (DEFAULT_GITHUB_API);
  while (g_str_has_suffix (self->api_url, "/"))
    self->api_url[strlen (self->api_url) - 1] = '\0';
  self->token = bkt_forge_find_token (self->api_url, NULL);
  self->cache_dir = g_build_filename (g_get_user_cache_dir (), "bkt", "upstream", NULL);
  self->attempts = 3;
  self->retry_delay_ms = 500;
  return self;
}

void
bkt_upstream_http_free (BktUpstreamHttp *self)
{
  if (self == NULL)
    return;
  g_free (self->api_url);
  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_free (self->token);
  g_free (self->cache_dir);
  g_free (self);
}

/* The token goes to the API's own host only: an asset may live anywhere. */
static void
add_headers (BktUpstreamHttp *http, SoupMessage *msg, gboolean api)
{
  SoupMessageHeaders *h = soup_message_get_request_headers (msg);
  g_autoptr(GUri) api_uri = g_uri_parse (http->api_url, G_URI_FLAGS_NONE, NULL);
  GUri *uri = soup_message_get_uri (msg);

  if (api)
    {
      soup_message_headers_append (h, "Accept", "application/vnd.github+json");
      soup_message_headers_append (h, "X-GitHub-Api-Version", "2022-11-28");
    }
  if (http->token != NULL && api_uri != NULL && g_strcmp0 (g_uri_get_host (api_uri), g_uri_get_host (uri)) == 0
      && g_uri_get_port (api_uri) == g_uri_get_port (uri))
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", http->token);
      soup_message_headers_append (h, "Authorization", auth);
      explicit_bzero (auth, strlen (auth));
    }
}

static SoupSession *
new_session (void)
{
  /* Enough connections for every upstream at once (libsoup's default is
   * two per host). */
  return soup_session_new_with_options ("timeout", 60, "user-agent", "bkt/" PACKAGE_VERSION,
                                        "max-conns", 64, "max-conns-per-host", 32, NULL);
}

/* A clear message for a 403/429 that is the rate limit, or NULL. */
static char *
rate_limit_message (SoupMessage *msg)
{
  SoupMessageHeaders *h = soup_message_get_response_headers (msg);
  const char *remaining = soup_message_headers_get_one (h, "X-RateLimit-Remaining");
  const char *reset = soup_message_headers_get_one (h, "X-RateLimit-Reset");
  const char *retry_after = soup_message_headers_get_one (h, "Retry-After");
  guint status = soup_message_get_status (msg);

  if (retry_after != NULL)
    return g_strdup_printf ("GitHub API rate limit (HTTP %u): retry after %s seconds; not retried", status,
                            retry_after);
  if (g_strcmp0 (remaining, "0") == 0)
    {
      gint64 when = reset != NULL ? g_ascii_strtoll (reset, NULL, 10) : 0;
      g_autoptr(GDateTime) t = when > 0 ? g_date_time_new_from_unix_utc (when) : NULL;
      g_autofree char *at = t != NULL ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S UTC") : g_strdup ("an unknown time");
      gint64 in = when > 0 ? when - g_get_real_time () / G_USEC_PER_SEC : 0;

      return g_strdup_printf ("GitHub API rate limit exhausted (HTTP %u): it resets at %s (in %" G_GINT64_FORMAT
                              " s); not retried.  A token (GITHUB_TOKEN or GH_TOKEN) raises the limit",
                              status, at, in > 0 ? in : 0);
    }
  return NULL;
}

char *
bkt_upstream_api_reason (GBytes *body)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  gsize len = 0;
  const char *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  JsonNode *root;

  if (data != NULL && json_parser_load_from_data (p, data, (gssize) len, NULL)
      && (root = json_parser_get_root (p)) != NULL && JSON_NODE_HOLDS_OBJECT (root)
      && bkt_json_object_get_string (json_node_get_object (root), "message") != NULL)
    return g_strdup (bkt_json_object_get_string (json_node_get_object (root), "message"));
  return g_strdup ("no message");
}

/* A boolean member of a hostile answer: @fallback unless it is one
 * (json-glib's typed getter raises a critical on another type). */
static gboolean
member_bool (JsonObject *o, const char *member, gboolean fallback)
{
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (n);
}

static gboolean
is_hex40 (const char *s)
{
  if (s == NULL || strlen (s) != 40)
    return FALSE;
  for (guint i = 0; i < 40; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* GitHub's releases or tags list (or, @single, one release) as our
 * versions list. */
JsonObject *
bkt_upstream_parse_versions (GBytes *body, gboolean tags, gboolean single, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  JsonNode *root;
  g_autoptr(JsonArray) one = json_array_new ();
  JsonArray *in, *out;
  JsonObject *result;

  if (data == NULL || !json_parser_load_from_data (p, data, (gssize) len, error))
    return g_prefix_error (error, "the API's answer is not JSON: "), NULL;
  root = json_parser_get_root (p);
  if (single && root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    json_array_add_element (one, json_node_ref (root));
  else if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, "the API's answer is not a list"), NULL;
  in = single ? one : json_node_get_array (root);
  out = json_array_new ();
  for (guint i = 0; i < json_array_get_length (in); i++)
    {
      JsonNode *en = json_array_get_element (in, i);
      JsonObject *e = JSON_NODE_HOLDS_OBJECT (en) ? json_node_get_object (en) : NULL;
      const char *version = bkt_json_object_get_string (e, tags ? "name" : "tag_name");
      JsonObject *v;
      JsonArray *assets = json_array_new ();

      if (version == NULL || (!tags && member_bool (e, "draft", FALSE)))
        {
          json_array_unref (assets);
          continue;
        }
      v = json_object_new ();
      json_object_set_string_member (v, "version", version);
      json_object_set_boolean_member (v, "prerelease",
                                      !tags && member_bool (e, "prerelease", FALSE));
      if (tags)
        {
          JsonNode *c = json_object_get_member (e, "commit");
          const char *sha = c != NULL && JSON_NODE_HOLDS_OBJECT (c)
                            ? bkt_json_object_get_string (json_node_get_object (c), "sha") : NULL;
          if (is_hex40 (sha))
            json_object_set_string_member (v, "commit", sha);
        }
      else if (is_hex40 (bkt_json_object_get_string (e, "target_commitish")))
        /* target_commitish is usually a branch: a commit only when it is one */
        json_object_set_string_member (v, "commit", bkt_json_object_get_string (e, "target_commitish"));
      if (bkt_json_object_get_string (e, "tarball_url") != NULL)
        json_object_set_string_member (v, "tarball_url", bkt_json_object_get_string (e, "tarball_url"));
      if (!tags && json_object_has_member (e, "assets") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (e, "assets")))
        {
          JsonArray *a = json_object_get_array_member (e, "assets");
          for (guint k = 0; k < json_array_get_length (a); k++)
            {
              JsonNode *an = json_array_get_element (a, k);
              JsonObject *ao = JSON_NODE_HOLDS_OBJECT (an) ? json_node_get_object (an) : NULL;
              const char *n = bkt_json_object_get_string (ao, "name");
              const char *u = bkt_json_object_get_string (ao, "browser_download_url");
              if (n != NULL && u != NULL)
                {
                  JsonObject *x = json_object_new ();
                  json_object_set_string_member (x, "name", n);
                  json_object_set_string_member (x, "url", u);
                  json_array_add_object_element (assets, x);
                }
            }
        }
      json_object_set_array_member (v, "assets", assets);
      json_array_add_object_element (out, v);
    }
  result = json_object_new ();
  json_object_set_array_member (result, "versions", out);
  return result;
}

/* ---- the concurrent fetch ----------------------------------------------------------- */

typedef struct Fetch Fetch;

typedef struct {
  Fetch       *fetch;
  char        *name;
  char        *url;
  gboolean     tags;
  char        *cache_path;
  char        *cached_etag;
  GBytes      *cached_body;
  guint        attempt;
  SoupMessage *msg;
} Request;

struct Fetch {
  BktUpstreamHttp *http;
  SoupSession     *session;
  GMainContext    *context;
  GPtrArray       *queue;     /* Requests not started yet */
  guint            running;   /* started or waiting to retry */
  gboolean         rate_limited;
  char            *rate_limit_message;
  JsonObject      *results;
};

static void
request_free (Request *r)
{
  g_free (r->name);
  g_free (r->url);
  g_free (r->cache_path);
  g_free (r->cached_etag);
  g_clear_pointer (&r->cached_body, g_bytes_unref);
  g_clear_object (&r->msg);
  g_free (r);
}

static void request_start (Request *r);
static void finish_error (Request *r, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
finish (Request *r, JsonObject *result)
{
  Fetch *f = r->fetch;

  json_object_set_object_member (f->results, r->name, result);
  f->running--;
  request_free (r);
  /* Sequential mode starts the next one now; none after the rate limit
   * ran out. */
  if (f->queue->len > 0 && f->http->sequential)
    {
      Request *next = g_ptr_array_steal_index (f->queue, 0);
      f->running++;
      if (f->rate_limited)
        finish_error (next, "not asked: %s", f->rate_limit_message);
      else
        request_start (next);
    }
}

static void
finish_error (Request *r, const char *format, ...)
{
  JsonObject *o = json_object_new ();
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  json_object_set_string_member (o, "error", msg);
  finish (r, o);
}

/* No HTTP answer at all: the network, not the server, said no. */
static G_GNUC_PRINTF (2, 3) void
finish_network_error (Request *r, const char *format, ...)
{
  JsonObject *o = json_object_new ();
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  json_object_set_string_member (o, "error", msg);
  json_object_set_boolean_member (o, "network", TRUE);
  finish (r, o);
}

static gboolean
retry_cb (gpointer data)
{
  Request *r = data;

  if (r->fetch->rate_limited)
    finish_error (r, "not retried: %s", r->fetch->rate_limit_message);
  else
    request_start (r);
  return G_SOURCE_REMOVE;
}

static gboolean
maybe_retry (Request *r)
{
  g_autoptr(GSource) timer = NULL;

  if (r->attempt >= r->fetch->http->attempts || r->fetch->rate_limited)
    return FALSE;
  timer = g_timeout_source_new (r->fetch->http->retry_delay_ms * r->attempt);
  g_source_set_callback (timer, retry_cb, r, NULL);
  g_source_attach (timer, r->fetch->context);
  return TRUE;
}

static void
store_cache (Request *r, const char *etag, GBytes *body)
{
  g_autoptr(JsonObject) o = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autofree char *body_text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_autofree char *dir = g_path_get_dirname (r->cache_path);

  if (etag == NULL || !g_utf8_validate (body_text, -1, NULL))
    return;
  json_object_set_string_member (o, "url", r->url);
  json_object_set_string_member (o, "etag", etag);
  json_object_set_string_member (o, "body", body_text);
  node = json_node_init_object (json_node_alloc (), o);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, &len);
  /* A cache that cannot be written only costs a full answer next time;
   * atomic but not durable: no fsync for a cache. */
  if (!bkt_fs_dry_run () && g_mkdir_with_parents (dir, 0700) == 0)
    g_file_set_contents_full (r->cache_path, text, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL);
}

static void
load_cache (Request *r)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  JsonNode *root;
  JsonObject *o;

  if (r->cache_path == NULL || !json_parser_load_from_file (p, r->cache_path, NULL)
      || (root = json_parser_get_root (p)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  o = json_node_get_object (root);
  if (g_strcmp0 (bkt_json_object_get_string (o, "url"), r->url) != 0 || bkt_json_object_get_string (o, "etag") == NULL
      || bkt_json_object_get_string (o, "body") == NULL)
    return;
  r->cached_etag = g_strdup (bkt_json_object_get_string (o, "etag"));
  r->cached_body = g_bytes_new (bkt_json_object_get_string (o, "body"), strlen (bkt_json_object_get_string (o, "body")));
}

static void
on_response (GObject *source, GAsyncResult *res, gpointer data)
{
  Request *r = data;
  Fetch *f = r->fetch;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);
  guint status;
  g_autofree char *limit = NULL;
  g_autofree char *reason = NULL;

  if (body == NULL)
    {
      if (!maybe_retry (r))
        finish_network_error (r, "cannot reach %s: %s (%u attempts)", f->http->api_url, error->message, r->attempt);
      return;
    }
  status = soup_message_get_status (r->msg);
  if (status == 200 || status == 304)
    {
      GBytes *use = status == 200 ? body : r->cached_body;
      JsonObject *result;

      if (use == NULL)
        {
          finish_error (r, "the API answered 304 Not Modified to a request without a cached answer");
          return;
        }
      result = bkt_upstream_parse_versions (use, r->tags, FALSE, &error);
      if (result == NULL)
        {
          finish_error (r, "%s", error->message);
          return;
        }
      if (status == 200)
        store_cache (r, soup_message_headers_get_one (soup_message_get_response_headers (r->msg), "ETag"), body);
      json_object_set_boolean_member (result, "cached", status == 304);
      finish (r, result);
      return;
    }
  if ((status == 403 || status == 429) && (limit = rate_limit_message (r->msg)) != NULL)
    {
      f->rate_limited = TRUE;
      if (f->rate_limit_message == NULL)
        f->rate_limit_message = g_strdup (limit);
      finish_error (r, "%s", limit);
      return;
    }
  if (status >= 500 && maybe_retry (r))
    return;
  reason = bkt_upstream_api_reason (body);
  switch (status)
    {
    case 401:
      finish_error (r, "the API refused the token (401: %s): renew GITHUB_TOKEN/GH_TOKEN or unset it", reason);
      break;
    case 404:
      finish_error (r, "no such repository at %s, or the token cannot see it (404: %s)", f->http->api_url, reason);
      break;
    default:
      if (status >= 500)
        finish_error (r, "the API failed (HTTP %u: %s) after %u attempts", status, reason, r->attempt);
      else
        finish_error (r, "the API failed (HTTP %u: %s)", status, reason);
    }
}

static void
request_start (Request *r)
{
  g_clear_object (&r->msg);
  r->attempt++;
  r->msg = soup_message_new ("GET", r->url);
  if (r->msg == NULL)
    {
      finish_error (r, "not a valid API URL: %s (BKT_GITHUB_API or \"github_api_url\" in config.json)", r->url);
      return;
    }
  add_headers (r->fetch->http, r->msg, TRUE);
  if (r->cached_etag != NULL)
    soup_message_headers_append (soup_message_get_request_headers (r->msg), "If-None-Match", r->cached_etag);
  soup_session_send_and_read_async (r->fetch->session, r->msg, G_PRIORITY_DEFAULT, NULL, on_response, r);
}

JsonObject *
bkt_upstream_fetch (BktUpstreamHttp *http, JsonArray *upstreams)
{
  Fetch f = { 0 };
  g_autoptr(GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  f.http = http;
  f.context = context;
  f.session = new_session ();
  f.queue = g_ptr_array_new ();
  f.results = json_object_new ();
  for (guint i = 0; i < json_array_get_length (upstreams); i++)
    {
      JsonObject *u = json_array_get_object_element (upstreams, i);
      Request *r;
      g_autofree char *key = NULL;

      if (!g_str_equal (bkt_upstream_get_type (u), "github"))
        continue;
      r = g_new0 (Request, 1);
      r->fetch = &f;
      r->name = g_strdup (json_object_get_string_member (u, "name"));
      r->tags = bkt_upstream_uses_tags (u);
      r->url = g_strdup_printf ("%s/repos/%s/%s?per_page=100", http->api_url,
                                json_object_get_string_member (json_object_get_object_member (u, "source"), "repo"),
                                r->tags ? "tags" : "releases");
      if (http->cache_dir != NULL)
        {
          key = g_compute_checksum_for_string (G_CHECKSUM_SHA256, r->url, -1);
          r->cache_path = g_strdup_printf ("%s/%s.json", http->cache_dir, key);
          load_cache (r);
        }
      g_ptr_array_add (f.queue, r);
    }
  /* All at once (or, sequentially, one and the rest as each finishes). */
  while (f.queue->len > 0 && (!http->sequential || f.running == 0))
    {
      Request *r = g_ptr_array_steal_index (f.queue, 0);
      f.running++;
      request_start (r);
    }
  while (f.running > 0)
    g_main_context_iteration (context, TRUE);
  g_ptr_array_unref (f.queue);
  g_object_unref (f.session);
  /* let the session's last callbacks run on this context */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_free (f.rate_limit_message);
  return f.results;
}

JsonObject *
bkt_upstream_fetch_version (BktUpstreamHttp *http, JsonObject *upstream, const char *version, GError **error)
{
  const char *repo = json_object_get_string_member (json_object_get_object_member (upstream, "source"), "repo");
  g_autofree char *tag = g_uri_escape_string (version, NULL, FALSE);
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonObject) found = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GError) local_error = NULL;
  guint status;

  if (bkt_upstream_uses_tags (upstream))
    {
      /* GitHub serves any tag's tarball; the commit is not known here. */
      JsonObject *v = json_object_new ();

      json_object_set_string_member (v, "version", version);
      json_object_set_boolean_member (v, "prerelease", FALSE);
      url = g_strdup_printf ("%s/repos/%s/tarball/%s", http->api_url, repo, tag);
      json_object_set_string_member (v, "tarball_url", url);
      json_object_set_array_member (v, "assets", json_array_new ());
      return v;
    }
  url = g_strdup_printf ("%s/repos/%s/releases/tags/%s", http->api_url, repo, tag);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not a valid API URL: %s", url), NULL;
  add_headers (http, msg, TRUE);
  session = new_session ();
  body = soup_session_send_and_read (session, msg, NULL, &local_error);
  if (body == NULL)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, "cannot reach %s: %s",
                        http->api_url, local_error->message), NULL;
  status = soup_message_get_status (msg);
  if (status == 404)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s has no release %s", repo, version), NULL;
  if (status != 200)
    {
      g_autofree char *limit = rate_limit_message (msg);
      g_autofree char *reason = bkt_upstream_api_reason (body);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s", limit != NULL ? limit : reason), NULL;
    }
  found = bkt_upstream_parse_versions (body, FALSE, TRUE, error);
  if (found == NULL)
    return NULL;
  if (json_array_get_length (json_object_get_array_member (found, "versions")) != 1)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s has no release %s", repo, version), NULL;
  return json_object_ref (json_array_get_object_element (json_object_get_array_member (found, "versions"), 0));
}

/* ---- downloads -------------------------------------------------------------------- */

/* Downloads run like the API requests: all at once on one session and one
 * main context, each streamed through its own SHA-256 in 64 KiB reads, so
 * verify of N pins takes about as long as the largest one. */

typedef struct Downloads Downloads;

typedef struct {
  Downloads    *all;
  guint         index;
  char         *url;
  guint         attempt;
  SoupMessage  *msg;
  GInputStream *in;
  GChecksum    *sum;
  guchar        buf[65536];
} Download;

struct Downloads {
  BktUpstreamHttp *http;
  SoupSession     *session;
  GMainContext    *context;
  guint            running;
  GPtrArray       *sha;     /* per URL, or NULL */
  GPtrArray       *error;   /* per URL, or NULL */
  GArray          *network; /* per URL: failed without an HTTP answer */
};

static void download_start (Download *d);

static void
download_done (Download *d, char *sha, char *error, gboolean network)
{
  g_ptr_array_index (d->all->sha, d->index) = sha;
  g_ptr_array_index (d->all->error, d->index) = error;
  g_array_index (d->all->network, gboolean, d->index) = network;
  d->all->running--;
  g_free (d->url);
  g_clear_object (&d->msg);
  g_clear_object (&d->in);
  g_checksum_free (d->sum);
  g_free (d);
}

static gboolean
download_retry_cb (gpointer data)
{
  download_start (data);
  return G_SOURCE_REMOVE;
}

/* 5xx and network errors: again after a while, a bounded number of times. */
static void
download_failed (Download *d, guint status, const char *why)
{
  g_autoptr(GSource) timer = NULL;

  if (d->attempt >= d->all->http->attempts || (status != 0 && status < 500))
    {
      download_done (d, NULL, status != 0 && status < 500
                                ? g_strdup_printf ("cannot download %s: %s", d->url, why)
                                : g_strdup_printf ("cannot download %s: %s (%u attempts)", d->url, why, d->attempt),
                     status == 0);
      return;
    }
  g_clear_object (&d->in);
  timer = g_timeout_source_new (d->all->http->retry_delay_ms * d->attempt);
  g_source_set_callback (timer, download_retry_cb, d, NULL);
  g_source_attach (timer, d->all->context);
}

static void
on_read (GObject *source, GAsyncResult *res, gpointer data)
{
  Download *d = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  if (n < 0)
    download_failed (d, 0, error->message);
  else if (n == 0)
    download_done (d, g_strdup (g_checksum_get_string (d->sum)), NULL, FALSE);
  else
    {
      g_checksum_update (d->sum, d->buf, (gsize) n);
      g_input_stream_read_async (d->in, d->buf, sizeof d->buf, G_PRIORITY_DEFAULT, NULL, on_read, d);
    }
}

static void
on_sent (GObject *source, GAsyncResult *res, gpointer data)
{
  Download *d = data;
  g_autoptr(GError) error = NULL;
  guint status;

  d->in = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (d->in == NULL)
    {
      download_failed (d, 0, error->message);
      return;
    }
  status = soup_message_get_status (d->msg);
  if (status != 200)
    {
      g_autofree char *limit = rate_limit_message (d->msg);
      g_autofree char *why = limit != NULL ? g_steal_pointer (&limit)
                                           : g_strdup_printf ("HTTP %u %s", status,
                                                              soup_status_get_phrase (status) != NULL
                                                                ? soup_status_get_phrase (status) : "");
      download_failed (d, status, why);
      return;
    }
  g_input_stream_read_async (d->in, d->buf, sizeof d->buf, G_PRIORITY_DEFAULT, NULL, on_read, d);
}

static void
download_start (Download *d)
{
  d->attempt++;
  g_checksum_reset (d->sum);
  g_clear_object (&d->msg);
  d->msg = soup_message_new ("GET", d->url);
  if (d->msg == NULL)
    {
      download_done (d, NULL, g_strdup_printf ("not a valid URL: %s", d->url), FALSE);
      return;
    }
  add_headers (d->all->http, d->msg, FALSE);
  soup_session_send_async (d->all->session, d->msg, G_PRIORITY_DEFAULT, NULL, on_sent, d);
}

gboolean
bkt_upstream_download_many (BktUpstreamHttp *http, const char *const *urls, GPtrArray **out_sha256,
                            GPtrArray **out_errors, GArray **out_network)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint n = urls != NULL ? g_strv_length ((char **) urls) : 0;
  Downloads all = { http, NULL, context, 0, g_ptr_array_new_with_free_func (g_free),
                    g_ptr_array_new_with_free_func (g_free), g_array_sized_new (FALSE, TRUE, sizeof (gboolean), n) };
  gboolean ok = TRUE;

  g_ptr_array_set_size (all.sha, n);
  g_ptr_array_set_size (all.error, n);
  g_array_set_size (all.network, n);
  g_main_context_push_thread_default (context);
  all.session = new_session ();
  for (guint i = 0; i < n; i++)
    {
      Download *d = g_new0 (Download, 1);

      d->all = &all;
      d->index = i;
      d->url = g_strdup (urls[i]);
      d->sum = g_checksum_new (G_CHECKSUM_SHA256);
      all.running++;
      download_start (d);
    }
  while (all.running > 0)
    g_main_context_iteration (context, TRUE);
  g_object_unref (all.session);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  for (guint i = 0; i < n; i++)
    ok &= g_ptr_array_index (all.error, i) == NULL;
  *out_sha256 = all.sha;
  *out_errors = all.error;
  if (out_network != NULL)
    *out_network = all.network;
  else
    g_array_unref (all.network);
  return ok;
}

char *
bkt_upstream_download_sha256 (BktUpstreamHttp *http, const char *url, GError **error)
{
  const char *urls[] = { url, NULL };
  g_autoptr(GPtrArray) sha = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GArray) network = NULL;

  if (!bkt_upstream_download_many (http, urls, &sha, &errors, &network))
    return g_set_error_literal (error, g_array_index (network, gboolean, 0) ? G_IO_ERROR : BKT_ERROR,
                                g_array_index (network, gboolean, 0) ? G_IO_ERROR_NETWORK_UNREACHABLE
                                                                     : BKT_ERROR_FAILED,
                                g_ptr_array_index (errors, 0)), NULL;
  return g_steal_pointer (&g_ptr_array_index (sha, 0));
}
