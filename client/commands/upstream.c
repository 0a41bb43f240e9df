/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "bkt-changelog.h"
#include "commands.h"
#include "bkt-containerfile.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-json.h"
#include "bkt-upstream.h"

/* `bkt upstream`: the distribution's pinned upstream releases
 * (upstream/manifest.json, docs/maintenance.md).  Like `bkt changelog`
 * it runs in the client, without the daemon: CI runs `bkt upstream
 * verify` in containers with no session bus. */

typedef struct {
  Ctx                 *ctx;
  char                *repo;
  BktUpstreamManifest *manifest;
  BktUpstreamHttp     *http;
  gboolean             all;
  gboolean             pre;
} Up;

static void
up_clear (Up *up)
{
  g_free (up->repo);
  g_clear_object (&up->manifest);
  g_clear_pointer (&up->http, bkt_upstream_http_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Up, up_clear)

/* Progress and results of the changing commands: on stderr with --json,
 * where stdout carries the --pr result's JSON. */
static void G_GNUC_PRINTF (2, 3)
say (Up *up, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list ap;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (up->ctx->opt.json)
    g_printerr ("%s", text);
  else
    g_print ("%s", text);
}

static gboolean
check_name_arg (const char *name, GError **error)
{
  g_autofree char *why = bkt_upstream_check_name (name);

  if (why != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not an upstream name: “%s” %s", name, why),
           FALSE;
  return TRUE;
}

static JsonObject *
lookup (Up *up, const char *name, GError **error)
{
  JsonObject *o;

  if (!check_name_arg (name, error))
    return NULL;
  o = bkt_upstream_manifest_lookup (up->manifest, name);
  if (o == NULL)
    g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "no upstream named “%s” in %s", name, BKT_UPSTREAM_FILE);
  return o;
}

static const char *
pin_of (JsonObject *u, const char *member)
{
  return bkt_json_object_get_string (json_object_get_object_member (u, "pinned"), member);
}

/* The upstreams a command acts on: NAME, or every one with --all (or
 * when @default_all and no NAME). */
static JsonArray *
targets (Up *up, const char *name, gboolean default_all, GError **error)
{
  JsonArray *all = bkt_upstream_manifest_get_upstreams (up->manifest);
  JsonArray *out;
  JsonObject *o;

  if (name == NULL && !up->all && !default_all)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "name an upstream or pass --all"),
           NULL;
  if (name != NULL && up->all)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "a NAME or --all, not both"), NULL;
  if (name == NULL)
    return json_array_ref (all);
  o = lookup (up, name, error);
  if (o == NULL)
    return NULL;
  out = json_array_new ();
  json_array_add_object_element (out, json_object_ref (o));
  return out;
}

/* Write the manifest, then one changelog entry per change; if an entry
 * cannot be written, the manifest is put back: they change together. */
static gboolean
save_with_entries (Up *up, GPtrArray *messages, const char *type, GError **error)
{
  g_autoptr(GBytes) old = NULL;
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (g_free);

  if (!bkt_upstream_manifest_save (up->manifest, &old, error))
    return FALSE;
  for (guint i = 0; i < messages->len; i++)
    {
      g_autoptr(JsonObject) e = json_object_new ();
      char *path;

      json_object_set_string_member (e, "type", type);
      json_object_set_string_member (e, "category", "upstream");
      json_object_set_string_member (e, "message", messages->pdata[i]);
      json_object_set_string_member (e, "command", up->ctx->command_line);
      path = bkt_changelog_add (up->repo, e, error);
      if (path == NULL)
        {
          g_autoptr(GError) restore_error = NULL;
          const char *p = bkt_upstream_manifest_get_path (up->manifest);
          gboolean ok = old != NULL ? bkt_write_file_atomic (p, g_bytes_get_data (old, NULL), g_bytes_get_size (old),
                                                             0644, &restore_error)
                                    : g_remove (p) == 0;
          if (!ok)
            g_printerr ("bkt: could not restore %s: %s\n", p,
                        restore_error != NULL ? restore_error->message : g_strerror (errno));
          for (guint k = 0; k < written->len; k++)
            g_remove (written->pdata[k]);
          return FALSE;
        }
      g_ptr_array_add (written, path);
    }
  for (guint i = 0; i < written->len; i++)
    say (up, "Changelog entry %s\n", (char *) written->pdata[i]);
  return TRUE;
}

/* --pr: the change as a pull request against the distribution repo,
 * through the session daemon (docs/punning.md).  What is sent is the
 * typed edit — the upstream's name, the pin this command computed (and
 * for add its source), the version it replaces — never the file: the
 * session daemon applies it to the repo's own upstream/manifest.json as
 * the default branch has it.  The checkout is left as it is. */
static int
propose (Up *up, const char *action, JsonObject *u, const char *from)
{
  GVariantBuilder b;
  JsonObject *pin = json_object_get_object_member (u, "pinned");
  JsonObject *src = json_object_get_object_member (u, "source");
  static const char *const pin_members[] = { "version", "commit", "url", "sha256", "pinned_at", NULL };

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  add_string (&b, "name", json_object_get_string_member (u, "name"));
  add_string (&b, "from", from);
  if (!g_str_equal (action, "remove") && pin != NULL)
    {
      GVariantBuilder p;

      g_variant_builder_init (&p, G_VARIANT_TYPE ("a{ss}"));
      for (guint i = 0; pin_members[i] != NULL; i++)
        if (bkt_json_object_get_string (pin, pin_members[i]) != NULL)
          g_variant_builder_add (&p, "{ss}", pin_members[i], bkt_json_object_get_string (pin, pin_members[i]));
      g_variant_builder_add (&b, "{sv}", "pinned", g_variant_builder_end (&p));
    }
  if (g_str_equal (action, "add"))
    {
      add_string (&b, "github", bkt_json_object_get_string (src, "repo"));
      add_string (&b, "asset-pattern", bkt_json_object_get_string (src, "asset_pattern"));
      add_string (&b, "release-type", bkt_json_object_get_string (src, "release_type"));
      add_string (&b, "policy", bkt_json_object_get_string (u, "policy"));
      add_string (&b, "description", bkt_json_object_get_string (u, "description"));
    }
  return run_change (up->ctx, "upstream", action, g_variant_builder_end (&b));
}

/* The worse of two exit codes. */
static int
worse (int a, int b)
{
  return a != EXIT_OK ? a : b;
}

/* @fetched's answer for the upstream @name, or NULL if it was not asked. */
static JsonObject *
fetched_for (JsonObject *fetched, const char *name)
{
  return fetched != NULL && json_object_has_member (fetched, name) ? json_object_get_object_member (fetched, name)
                                                                   : NULL;
}

/* ---- list, info ------------------------------------------------------------------- */

static int
cmd_list (Up *up)
{
  JsonArray *a = bkt_upstream_manifest_get_upstreams (up->manifest);

  if (up->ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_array_member (o, "upstreams", bkt_json_array_deep_copy (a));
      bkt_render_print_object (o);
      return EXIT_OK;
    }
  if (json_array_get_length (a) == 0)
    g_print ("No upstreams in %s.\n", BKT_UPSTREAM_FILE);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *u = json_array_get_object_element (a, i);
      JsonObject *src = json_object_get_object_member (u, "source");
      const char *sha = pin_of (u, "sha256");

      g_print ("%-24s %-12s %-6s %-40s%s\n", json_object_get_string_member (u, "name"), pin_of (u, "version"),
               bkt_upstream_policy_to_string (bkt_upstream_get_policy (u)),
               g_str_equal (bkt_upstream_get_type (u), "github") ? json_object_get_string_member (src, "repo")
                                                                 : json_object_get_string_member (src, "url"),
               g_str_equal (sha, BKT_UPSTREAM_ZERO_SHA256) ? "  (not locked)" : "");
    }
  return EXIT_OK;
}

static int
cmd_info (Up *up, const char *name)
{
  g_autoptr(GError) error = NULL;
  JsonObject *u = lookup (up, name, &error);
  JsonObject *src;
  JsonObject *pin;

  if (u == NULL)
    return fail (error);
  if (up->ctx->opt.json)
    {
      bkt_render_print_object (u);
      return EXIT_OK;
    }
  src = json_object_get_object_member (u, "source");
  pin = json_object_get_object_member (u, "pinned");
  g_print ("name: %s\n", name);
  if (json_object_has_member (u, "description"))
    g_print ("description: %s\n", json_object_get_string_member (u, "description"));
  if (g_str_equal (bkt_upstream_get_type (u), "github"))
    g_print ("source: github %s (%s%s%s)\n", json_object_get_string_member (src, "repo"),
             bkt_upstream_uses_tags (u) ? "tags" : "releases",
             json_object_has_member (src, "asset_pattern") ? ", asset " : "",
             json_object_has_member (src, "asset_pattern") ? json_object_get_string_member (src, "asset_pattern") : "");
  else
    g_print ("source: url %s\n", json_object_get_string_member (src, "url"));
  g_print ("policy: %s%s\n", bkt_upstream_policy_to_string (bkt_upstream_get_policy (u)),
           json_object_has_member (u, "policy") ? "" : " (default)");
  g_print ("pinned: %s at %s\n", json_object_get_string_member (pin, "version"),
           json_object_get_string_member (pin, "pinned_at"));
  if (json_object_has_member (pin, "commit"))
    g_print ("commit: %s\n", json_object_get_string_member (pin, "commit"));
  if (json_object_has_member (pin, "url"))
    g_print ("url: %s\n", json_object_get_string_member (pin, "url"));
  g_print ("sha256: %s%s\n", json_object_get_string_member (pin, "sha256"),
           g_str_equal (json_object_get_string_member (pin, "sha256"), BKT_UPSTREAM_ZERO_SHA256)
             ? " (not locked: bkt upstream lock)" : "");
  return EXIT_OK;
}

/* ---- check ------------------------------------------------------------------------ */

static int
cmd_check (Up *up, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) list = targets (up, name, TRUE, &error);
  g_autoptr(JsonObject) fetched = NULL;
  g_autoptr(JsonArray) report = json_array_new ();
  gboolean errors = FALSE;

  if (list == NULL)
    return fail (error);
  fetched = bkt_upstream_fetch (up->http, list);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *u = json_array_get_object_element (list, i);
      const char *n = json_object_get_string_member (u, "name");
      JsonObject *f = fetched_for (fetched, n);
      JsonObject *r = bkt_upstream_evaluate (u, f, up->pre);

      errors |= g_str_equal (json_object_get_string_member (r, "state"), "error");
      json_array_add_object_element (report, r);
    }
  if (up->ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_array_member (o, "upstreams", json_array_ref (report));
      bkt_render_print_object (o);
    }
  else
    {
      g_print ("%-24s %-14s %-14s %-14s %-7s %s\n", "NAME", "PINNED", "LATEST", "ALLOWED", "POLICY", "STATE");
      for (guint i = 0; i < json_array_get_length (report); i++)
        {
          JsonObject *r = json_array_get_object_element (report, i);
          const char *detail = bkt_json_object_get_string (r, "detail");

          g_print ("%-24s %-14s %-14s %-14s %-7s %s%s%s\n", json_object_get_string_member (r, "name"),
                   json_object_get_string_member (r, "pinned"),
                   json_object_get_string_member_with_default (r, "latest", "-"),
                   json_object_get_string_member_with_default (r, "allowed", "-"),
                   json_object_get_string_member (r, "policy"), json_object_get_string_member (r, "state"),
                   detail != NULL ? ": " : "", detail != NULL ? detail : "");
        }
    }
  return errors ? EXIT_FAILED : EXIT_OK;
}

/* ---- update, pin, lock, verify ------------------------------------------------------ */

/* The download URL of @u at @version: source.url for url upstreams, the
 * pin's url when it is that version's, else the release's asset. */
static char *
resolve_url (BktUpstreamHttp *http, JsonObject *u, const char *version, JsonObject *fetched,
             JsonObject **out_release, GError **error)
{
  const char *name = json_object_get_string_member (u, "name");
  JsonObject *f;
  JsonObject *rel;

  if (out_release != NULL)
    *out_release = NULL;
  if (g_str_equal (bkt_upstream_get_type (u), "url"))
    return g_strdup (json_object_get_string_member (json_object_get_object_member (u, "source"), "url"));
  f = fetched_for (fetched, name);
  /* The pin's own URL when the API was not asked about this upstream. */
  if (f == NULL && pin_of (u, "url") != NULL && g_strcmp0 (pin_of (u, "version"), version) == 0)
    return g_strdup (pin_of (u, "url"));
  if (f == NULL || json_object_has_member (f, "error"))
    return g_set_error (error,
                        f != NULL && json_object_get_boolean_member_with_default (f, "network", FALSE)
                          ? G_IO_ERROR : BKT_ERROR,
                        f != NULL && json_object_get_boolean_member_with_default (f, "network", FALSE)
                          ? G_IO_ERROR_NETWORK_UNREACHABLE : BKT_ERROR_FAILED, "%s: %s", name,
                        f != NULL ? json_object_get_string_member (f, "error") : "not fetched"), NULL;
  rel = bkt_upstream_find_version (f, version);
  if (rel == NULL)
    {
      /* Older than the first page of the list: asked for by its tag. */
      rel = bkt_upstream_fetch_version (http, u, version, error);
      if (rel == NULL)
        return g_prefix_error (error, "%s: ", name), NULL;
      json_array_add_object_element (json_object_get_array_member (f, "versions"), rel);
    }
  if (out_release != NULL)
    *out_release = rel;
  return bkt_upstream_asset_url (u, rel, error);
}

/* Move @u to @version: download, sha256, new pin. */
static gboolean
repin (Up *up, JsonObject *u, const char *version, JsonObject *fetched, GDateTime *now, GError **error)
{
  JsonObject *rel = NULL;
  g_autofree char *url = resolve_url (up->http, u, version, fetched, &rel, error);
  g_autofree char *sha = NULL;
  const char *v = rel != NULL ? json_object_get_string_member (rel, "version") : version;

  if (url == NULL)
    return FALSE;
  say (up, "Downloading %s %s: %s\n", json_object_get_string_member (u, "name"), v, url);
  sha = bkt_upstream_download_sha256 (up->http, url, error);
  if (sha == NULL)
    return FALSE;
  bkt_upstream_set_pin (u, v, rel != NULL ? bkt_json_object_get_string (rel, "commit") : NULL,
                        g_str_equal (bkt_upstream_get_type (u), "url") ? NULL : url, sha, now);
  return TRUE;
}

static int
cmd_update (Up *up, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) list = targets (up, name, FALSE, &error);
  g_autoptr(JsonObject) fetched = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDateTime) now = NULL;
  gboolean errors = FALSE;
  const char *type = NULL;
  int code = EXIT_OK;
  guint proposed = 0;

  if (list == NULL || (now = bkt_changelog_now (&error)) == NULL)
    return fail (error);
  fetched = bkt_upstream_fetch (up->http, list);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *u = json_array_get_object_element (list, i);
      const char *n = json_object_get_string_member (u, "name");
      JsonObject *f = fetched_for (fetched, n);
      g_autoptr(JsonObject) r = bkt_upstream_evaluate (u, f, up->pre);
      const char *state = json_object_get_string_member (r, "state");
      g_autofree char *old = g_strdup (pin_of (u, "version"));
      const char *to = bkt_json_object_get_string (r, "allowed");

      if (g_str_equal (state, "error"))
        {
          g_printerr ("bkt: %s: %s\n", n, json_object_get_string_member (r, "detail"));
          errors = TRUE;
          continue;
        }
      if (to == NULL)
        {
          say (up, "%s: %s (%s)%s%s\n", n, g_str_equal (state, "not-checked") ? "not checked: source type url" : old,
                   json_object_get_string_member (r, "policy"),
                   g_str_equal (state, "outside-policy") ? ", newer outside the policy: " : "",
                   g_str_equal (state, "outside-policy") ? json_object_get_string_member (r, "latest") : "");
          continue;
        }
      if (up->ctx->opt.dry_run && !up->ctx->opt.pr_only)
        {
          g_autofree char *url = resolve_url (up->http, u, to, fetched, NULL, &error);
          if (url == NULL)
            {
              g_printerr ("bkt: %s\n", error->message);
              g_clear_error (&error);
              errors = TRUE;
              continue;
            }
          say (up, "%s: would update %s → %s (%s)\n", n, old, to, url);
          continue;
        }
      if (!repin (up, u, to, fetched, now, &error))
        {
          g_printerr ("bkt: %s\n", error->message);
          g_clear_error (&error);
          errors = TRUE;
          continue;
        }
      say (up, "%s: %s → %s (sha256 %s)\n", n, old, to, pin_of (u, "sha256"));
      if (up->ctx->opt.pr_only)
        {
          code = worse (code, propose (up, "update", u, old));
          proposed++;
          continue;
        }
      g_ptr_array_add (messages, bkt_upstream_change_message ("update", n, old, to, NULL, &type));
    }
  /* What could be updated is written even when another upstream failed:
   * each pin is right on its own; the exit status says something failed. */
  if (messages->len > 0 && !save_with_entries (up, messages, type, &error))
    return fail (error);
  if (messages->len == 0 && proposed == 0 && (!up->ctx->opt.dry_run || up->ctx->opt.pr_only) && !errors)
    say (up, "Nothing to update.\n");
  return errors ? EXIT_FAILED : code;
}

static int
cmd_pin (Up *up, const char *name, const char *version)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) list = targets (up, name, FALSE, &error);
  g_autoptr(JsonObject) fetched = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *old = NULL;
  const char *type = NULL;
  JsonObject *u;

  if (list == NULL || (now = bkt_changelog_now (&error)) == NULL)
    return fail (error);
  if (!bkt_upstream_version_ok (version))
    {
      g_printerr ("bkt: not a version a pin can hold: “%s” (letters, digits and . _ + ~ -, starting with a letter or digit)\n", version);
      return EXIT_USAGE;
    }
  u = json_array_get_object_element (list, 0);
  old = g_strdup (pin_of (u, "version"));
  if (up->ctx->opt.dry_run && !up->ctx->opt.pr_only)
    {
      say (up, "%s: would pin %s → %s\n", name, old, version);
      return EXIT_OK;
    }
  fetched = bkt_upstream_fetch (up->http, list);
  if (!repin (up, u, version, fetched, now, &error))
    return fail (error);
  say (up, "%s: %s → %s (sha256 %s)\n", name, old, pin_of (u, "version"), pin_of (u, "sha256"));
  if (up->ctx->opt.pr_only)
    return propose (up, "pin", u, old);
  g_ptr_array_add (messages, bkt_upstream_change_message ("pin", name, old, pin_of (u, "version"), NULL, &type));
  if (!save_with_entries (up, messages, type, &error))
    return fail (error);
  return EXIT_OK;
}

/* Upstreams whose download URL is not in the pin need the API. */
static JsonObject *
fetch_unpinned_urls (Up *up, JsonArray *list)
{
  g_autoptr(JsonArray) need = json_array_new ();

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *u = json_array_get_object_element (list, i);
      if (g_str_equal (bkt_upstream_get_type (u), "github") && pin_of (u, "url") == NULL)
        json_array_add_object_element (need, json_object_ref (u));
    }
  return json_array_get_length (need) > 0 ? bkt_upstream_fetch (up->http, need) : NULL;
}

/* The download URL of each of @list's pins (NULL where it cannot be
 * found, with the reason in @errors), all downloaded at once: sha256 or
 * error per upstream, in @list's order. */
static void
download_pins (Up *up, JsonArray *list, GPtrArray **out_urls, GPtrArray **out_sha, GPtrArray **out_errors,
               GArray **out_network)
{
  g_autoptr(JsonObject) fetched = fetch_unpinned_urls (up, list);
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) todo = g_ptr_array_new ();
  g_autoptr(GPtrArray) sha = NULL, errors = NULL;
  g_autoptr(GArray) network = NULL;
  g_autoptr(GArray) pin_network = NULL;
  guint n = json_array_get_length (list);

  *out_sha = g_ptr_array_new_with_free_func (g_free);
  *out_errors = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_set_size (*out_sha, n);
  g_ptr_array_set_size (*out_errors, n);
  pin_network = g_array_sized_new (FALSE, TRUE, sizeof (gboolean), n);
  g_array_set_size (pin_network, n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *u = json_array_get_object_element (list, i);
      g_autoptr(GError) error = NULL;
      char *url = resolve_url (up->http, u, pin_of (u, "version"), fetched, NULL, &error);

      g_ptr_array_add (urls, url);
      if (url == NULL)
        {
          g_ptr_array_index (*out_errors, i) = g_strdup (error->message);
          g_array_index (pin_network, gboolean, i) = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
        }
      else
        g_ptr_array_add (todo, url);
    }
  g_ptr_array_add (todo, NULL);
  bkt_upstream_download_many (up->http, (const char *const *) todo->pdata, &sha, &errors, &network);
  for (guint i = 0, k = 0; i < n; i++)
    if (g_ptr_array_index (urls, i) != NULL)
      {
        g_ptr_array_index (*out_sha, i) = g_steal_pointer (&g_ptr_array_index (sha, k));
        g_ptr_array_index (*out_errors, i) = g_steal_pointer (&g_ptr_array_index (errors, k));
        g_array_index (pin_network, gboolean, i) = g_array_index (network, gboolean, k);
        k++;
      }
  if (out_urls != NULL)
    *out_urls = g_steal_pointer (&urls);
  if (out_network != NULL)
    *out_network = g_steal_pointer (&pin_network);
}

static int
cmd_lock (Up *up, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) all = targets (up, name, TRUE, &error);
  g_autoptr(JsonArray) list = json_array_new ();
  g_autoptr(GPtrArray) sha = NULL, errors = NULL;
  gboolean failed = FALSE;
  guint locked = 0;
  int code = EXIT_OK;

  if (all == NULL)
    return fail (error);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *u = json_array_get_object_element (all, i);
      if (g_str_equal (pin_of (u, "sha256"), BKT_UPSTREAM_ZERO_SHA256))
        json_array_add_object_element (list, json_object_ref (u));
    }
  if (json_array_get_length (list) == 0)
    {
      say (up, "Every pin has its checksum.\n");
      return EXIT_OK;
    }
  if (up->ctx->opt.dry_run && !up->ctx->opt.pr_only)
    {
      for (guint i = 0; i < json_array_get_length (list); i++)
        say (up, "%s %s: would lock\n", json_object_get_string_member (json_array_get_object_element (list, i), "name"),
                 pin_of (json_array_get_object_element (list, i), "version"));
      return EXIT_OK;
    }
  download_pins (up, list, NULL, &sha, &errors, NULL);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *u = json_array_get_object_element (list, i);
      const char *s = g_ptr_array_index (sha, i);

      if (s == NULL)
        {
          g_printerr ("bkt: %s\n", (char *) g_ptr_array_index (errors, i));
          failed = TRUE;
          continue;
        }
      /* Only the checksum: the pin itself (version, when) does not move. */
      json_object_set_string_member (json_object_get_object_member (u, "pinned"), "sha256", s);
      say (up, "%s %s: sha256 %s\n", json_object_get_string_member (u, "name"), pin_of (u, "version"), s);
      locked++;
      if (up->ctx->opt.pr_only)
        code = worse (code, propose (up, "lock", u, pin_of (u, "version")));
    }
  if (locked > 0 && !up->ctx->opt.pr_only && !bkt_upstream_manifest_save (up->manifest, NULL, &error))
    return fail (error);
  return failed ? EXIT_FAILED : code;
}

static int
cmd_verify (Up *up, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) list = targets (up, name, TRUE, &error);
  g_autoptr(JsonArray) locked = json_array_new ();
  g_autoptr(JsonArray) report = json_array_new ();
  g_autoptr(GPtrArray) urls = NULL, sha = NULL, errors = NULL;
  g_autoptr(GArray) network = NULL;
  guint bad = 0, unverified = 0;

  if (list == NULL)
    return fail (error);
  /* Nothing to download for a pin without a checksum. */
  for (guint i = 0; i < json_array_get_length (list); i++)
    if (!g_str_equal (pin_of (json_array_get_object_element (list, i), "sha256"), BKT_UPSTREAM_ZERO_SHA256))
      json_array_add_object_element (locked, json_object_ref (json_array_get_object_element (list, i)));
  download_pins (up, locked, &urls, &sha, &errors, &network);
  for (guint i = 0, k = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *u = json_array_get_object_element (list, i);
      const char *n = json_object_get_string_member (u, "name");
      const char *want = pin_of (u, "sha256");
      JsonObject *r = json_object_new ();
      const char *url = NULL, *got = NULL, *why = NULL;
      const char *state;

      if (g_str_equal (want, BKT_UPSTREAM_ZERO_SHA256))
        state = "not-locked";
      else
        {
          url = g_ptr_array_index (urls, k);
          got = g_ptr_array_index (sha, k);
          why = g_ptr_array_index (errors, k);
          /* bytes that never arrived prove nothing either way: not a
           * failed verification, and not a pass */
          state = got != NULL ? (g_str_equal (got, want) ? "ok" : "mismatch")
                  : g_array_index (network, gboolean, k) ? "not-verified" : "error";
          k++;
        }
      json_object_set_string_member (r, "name", n);
      json_object_set_string_member (r, "version", pin_of (u, "version"));
      json_object_set_string_member (r, "expected", want);
      if (url != NULL)
        json_object_set_string_member (r, "url", url);
      if (got != NULL)
        json_object_set_string_member (r, "actual", got);
      if (why != NULL)
        json_object_set_string_member (r, "detail", why);
      json_object_set_string_member (r, "state", state);
      json_array_add_object_element (report, r);
      if (g_str_equal (state, "ok"))
        continue;
      if (g_str_equal (state, "not-verified"))
        {
          unverified++;
          g_printerr ("bkt: %s %s not verified (network): %s\n", n, pin_of (u, "version"), why);
          continue;
        }
      bad++;
      /* Loudly, on stderr, whatever the output format: CI logs. */
      if (g_str_equal (state, "mismatch"))
        g_printerr ("bkt: CHECKSUM MISMATCH: %s %s from %s: expected sha256 %s, got %s\n", n, pin_of (u, "version"),
                    url, want, got);
      else if (g_str_equal (state, "not-locked"))
        g_printerr ("bkt: %s %s has no checksum (all zeros): run bkt upstream lock\n", n, pin_of (u, "version"));
      else
        g_printerr ("bkt: %s %s could not be verified: %s\n", n, pin_of (u, "version"), why);
    }
  if (up->ctx->opt.json)
    {
      g_autoptr(JsonObject) o = json_object_new ();
      json_object_set_array_member (o, "upstreams", json_array_ref (report));
      json_object_set_boolean_member (o, "ok", bad == 0 && unverified == 0);
      json_object_set_int_member (o, "failed", bad);
      json_object_set_int_member (o, "not_verified", unverified);
      bkt_render_print_object (o);
    }
  else
    {
      for (guint i = 0; i < json_array_get_length (report); i++)
        {
          JsonObject *r = json_array_get_object_element (report, i);
          g_print ("%-24s %-14s %s\n", json_object_get_string_member (r, "name"),
                   json_object_get_string_member (r, "version"), json_object_get_string_member (r, "state"));
        }
      if (bad > 0)
        g_print ("%u of %u pins FAILED verification.\n", bad, json_array_get_length (report));
      if (unverified > 0)
        g_print ("%u of %u pins not verified: their bytes could not be downloaded (network); "
                 "nothing was compared. Run again with network access.\n", unverified, json_array_get_length (report));
      if (bad == 0 && unverified == 0)
        g_print ("All %u pins verified.\n", json_array_get_length (report));
    }
  /* a mismatch (or a pin that cannot be checked at all) is the loud one */
  return bad > 0 ? EXIT_FAILED : unverified > 0 ? EXIT_UNVERIFIED : EXIT_OK;
}

/* ---- add, remove, generate ---------------------------------------------------------- */

static int
cmd_add (Up *up, const char *name, const char *github, const char *pattern, const char *policy, gboolean tag,
         const char *version, const char *description)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;
  g_autoptr(JsonObject) u = NULL;
  g_autoptr(JsonArray) list = json_array_new ();
  g_autoptr(JsonObject) fetched = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);
  const char *to = version;
  g_autofree char *chosen = NULL;
  const char *type = NULL;
  BktUpstreamPolicy p;

  if (!check_name_arg (name, &error))
    return fail (error);
  if (github == NULL)
    {
      g_printerr ("bkt: upstream add needs --github OWNER/REPO\n");
      return EXIT_USAGE;
    }
  if ((why = bkt_upstream_check_repo (github)) != NULL)
    {
      g_printerr ("bkt: --github “%s” %s\n", github, why);
      return EXIT_USAGE;
    }
  if (policy != NULL && !bkt_upstream_policy_from_string (policy, &p))
    {
      g_printerr ("bkt: unknown policy “%s” (expected pin, patch, minor or major)\n", policy);
      return EXIT_USAGE;
    }
  u = bkt_upstream_new_entry (name, description, github, pattern, tag, policy);
  if (bkt_upstream_manifest_lookup (up->manifest, name) != NULL)
    {
      g_set_error (&error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "upstream %s exists already", name);
      return fail (error);
    }
  now = bkt_changelog_now (&error);
  if (now == NULL)
    return fail (error);
  /* A placeholder pin to evaluate against: the newest stable release (or
   * --version) becomes the real one. */
  bkt_upstream_set_pin (u, "0", NULL, NULL, BKT_UPSTREAM_ZERO_SHA256, now);
  json_array_add_object_element (list, json_object_ref (u));
  fetched = bkt_upstream_fetch (up->http, list);
  if (to == NULL)
    {
      g_autoptr(JsonObject) r = bkt_upstream_evaluate (u, json_object_get_object_member (fetched, name), up->pre);
      if (g_str_equal (json_object_get_string_member (r, "state"), "error"))
        {
          g_printerr ("bkt: %s: %s\n", name, json_object_get_string_member (r, "detail"));
          return EXIT_FAILED;
        }
      to = bkt_json_object_get_string (r, "latest");
      if (to == NULL)
        {
          g_printerr ("bkt: %s has no %s to pin: pass --version\n", github, tag ? "tags" : "releases");
          return EXIT_FAILED;
        }
      chosen = g_strdup (to);
      to = chosen;
    }
  if (up->ctx->opt.dry_run && !up->ctx->opt.pr_only)
    {
      say (up, "would add %s (%s) pinned at %s\n", name, github, to);
      return EXIT_OK;
    }
  if (!repin (up, u, to, fetched, now, &error))
    return fail (error);
  if (up->ctx->opt.pr_only)
    return propose (up, "add", u, NULL);
  if (!bkt_upstream_manifest_add (up->manifest, g_steal_pointer (&u), &error))
    return fail (error);
  g_ptr_array_add (messages, bkt_upstream_change_message ("add", name, NULL,
                                                          pin_of (bkt_upstream_manifest_lookup (up->manifest, name),
                                                                  "version"),
                                                          github, &type));
  if (!save_with_entries (up, messages, type, &error))
    return fail (error);
  say (up, "Added %s at %s\n", name, pin_of (bkt_upstream_manifest_lookup (up->manifest, name), "version"));
  return EXIT_OK;
}

static int
cmd_remove (Up *up, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);
  const char *type = NULL;
  JsonObject *u = lookup (up, name, &error);

  if (u == NULL)
    return fail (error);
  if (up->ctx->opt.pr_only)
    return propose (up, "remove", u, NULL);
  if (up->ctx->opt.dry_run)
    {
      say (up, "would remove %s\n", name);
      return EXIT_OK;
    }
  if (!bkt_upstream_manifest_remove (up->manifest, name, &error))
    return fail (error);
  g_ptr_array_add (messages, bkt_upstream_change_message ("remove", name, NULL, NULL, NULL, &type));
  if (!save_with_entries (up, messages, type, &error))
    return fail (error);
  say (up, "Removed %s\n", name);
  return EXIT_OK;
}

static int
cmd_generate (Up *up, gboolean check)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (up->repo, "Containerfile", NULL);
  g_autoptr(GHashTable) bodies = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_auto(GStrv) changed = NULL;
  g_autoptr(GPtrArray) sections = NULL;
  g_autofree char *data = NULL;
  g_autofree char *out = NULL;
  gsize len = 0, out_len = 0;
  gboolean has = FALSE;

  if (!g_file_get_contents (path, &data, &len, &error))
    return fail (error);
  sections = bkt_containerfile_parse (path, data, len, &error);
  if (sections == NULL)
    return fail (error);
  for (guint i = 0; i < sections->len; i++)
    has |= g_str_equal (((BktContainerfileSection *) sections->pdata[i])->name, BKT_CONTAINERFILE_UPSTREAM_PINS);
  if (!has)
    {
      g_printerr ("bkt: %s has no UPSTREAM_PINS section: add the lines\n"
                  "  # === " BKT_CONTAINERFILE_UPSTREAM_PINS " (managed by bkt) ===\n"
                  "  # === END " BKT_CONTAINERFILE_UPSTREAM_PINS " ===\n"
                  "where the pins' ARG lines belong (before the RUN steps that download them)\n", path);
      return EXIT_FAILED;
    }
  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_UPSTREAM_PINS, bkt_upstream_render_pins (up->manifest));
  out = bkt_containerfile_regenerate (path, data, len, bodies, &changed, &out_len, &error);
  if (out == NULL)
    return fail (error);
  if (changed[0] == NULL)
    {
      g_print ("Containerfile: UPSTREAM_PINS up to date\n");
      return EXIT_OK;
    }
  if (check)
    {
      g_print ("Containerfile: UPSTREAM_PINS out of date (run bkt upstream generate)\n");
      return EXIT_FAILED;
    }
  if (up->ctx->opt.dry_run)
    {
      g_print ("Containerfile: would regenerate UPSTREAM_PINS (--dry-run: nothing written)\n");
      return EXIT_OK;
    }
  {
    GStatBuf st;
    /* Keep the file's mode: it is the repo's, tracked by git. */
    int mode = g_stat (path, &st) == 0 ? (int) (st.st_mode & 07777) : 0644;

    if (!bkt_write_file_atomic (path, out, out_len, mode, &error))
      return fail (error);
  }
  g_print ("Containerfile: UPSTREAM_PINS regenerated\n");
  return EXIT_OK;
}

static int
upstream_run (Ctx *ctx, int argc, char **argv)
{
  const char *sub = ctx->command->name;
  g_auto(Up) up = { ctx };
  g_autofree char *github = NULL, *pattern = NULL, *policy = NULL, *version = NULL, *description = NULL;
  g_autofree char *file_opt = NULL;
  gboolean tag = FALSE, sequential = FALSE, check = FALSE;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file_opt, "The upstream manifest (default: the repo's)", "PATH" },
    { "all", 0, 0, G_OPTION_ARG_NONE, &up.all, "check, update, lock, verify: every upstream (without NAME, check, lock and verify take all anyway)", NULL },
    { "pre", 0, 0, G_OPTION_ARG_NONE, &up.pre, "check, update, add: take pre-releases too", NULL },
    { "github", 0, 0, G_OPTION_ARG_STRING, &github, "add: the GitHub repository", "OWNER/REPO" },
    { "asset-pattern", 0, 0, G_OPTION_ARG_STRING, &pattern, "add: the release asset to download (glob)", "GLOB" },
    { "policy", 0, 0, G_OPTION_ARG_STRING, &policy, "add: pin, patch, minor or major (default pin)", "POLICY" },
    { "tag", 0, 0, G_OPTION_ARG_NONE, &tag, "add: follow tags, not releases (downloads the tarball)", NULL },
    { "version", 0, 0, G_OPTION_ARG_STRING, &version, "add: the version to pin (default the newest)", "V" },
    { "description", 0, 0, G_OPTION_ARG_STRING, &description, "add: what it is", "TEXT" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &check, "generate: exit 1 if the section is out of date", NULL },
    { "pr", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.pr_only,
      "update, pin, add, remove, lock: propose the change as a pull request (the checkout is not edited)", NULL },
    { "skip-preflight", 0, 0, G_OPTION_ARG_NONE, &ctx->opt.skip_preflight,
      "update, pin, add, remove, lock: with --pr, go ahead when a check fails (the PR then waits in the queue)", NULL },
    { "sequential", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &sequential, "check: one request at a time", NULL },
    { NULL }
  };
  g_autofree char *file = NULL;
  g_autoptr(GError) error = NULL;
  guint min = 0, max = 0;
  int code;

  if (g_str_equal (sub, "info") || g_str_equal (sub, "add") || g_str_equal (sub, "remove"))
    min = max = 1;
  else if (g_str_equal (sub, "pin"))
    min = max = 2;
  else if (!g_str_equal (sub, "list") && !g_str_equal (sub, "generate"))
    max = 1;
  if (!parse_command (ctx, entries, &argc, &argv, min, max, &code))
    return code;
  if (ctx->opt.pr_only && !g_strv_contains ((const char *const[]) { "update", "pin", "add", "remove", "lock", NULL },
                                            sub))
    {
      g_printerr ("bkt: --pr proposes a change: upstream update, pin, add, remove and lock take it, not %s\n", sub);
      return EXIT_USAGE;
    }
  if (ctx->opt.pr_only && file_opt != NULL)
    {
      g_printerr ("bkt: --pr proposes a change to the repo's own " BKT_UPSTREAM_FILE ", not to --file's\n");
      return EXIT_USAGE;
    }
  /* Names become file names and ARG names, and never options. */
  if (argc > 1 && !check_name_arg (argv[1], &error))
    return fail (error);
  up.repo = bkt_cmd_repo_path (ctx, &error);
  if (up.repo == NULL)
    return fail (error);
  file = file_opt != NULL ? g_canonicalize_filename (file_opt, NULL) : g_build_filename (up.repo, BKT_UPSTREAM_FILE, NULL);
  up.manifest = bkt_upstream_manifest_load (file, file_opt != NULL ? file_opt : BKT_UPSTREAM_FILE,
                                            g_str_equal (sub, "add"), &error);
  if (up.manifest == NULL)
    return fail (error);
  up.http = bkt_upstream_http_new_from_env (&error);
  if (up.http == NULL)
    return fail (error);
  up.http->sequential = sequential;

  if (g_str_equal (sub, "list"))
    return cmd_list (&up);
  if (g_str_equal (sub, "info"))
    return cmd_info (&up, argv[1]);
  if (g_str_equal (sub, "check"))
    return cmd_check (&up, argc > 1 ? argv[1] : NULL);
  if (g_str_equal (sub, "update"))
    return cmd_update (&up, argc > 1 ? argv[1] : NULL);
  if (g_str_equal (sub, "pin"))
    return cmd_pin (&up, argv[1], argv[2]);
  if (g_str_equal (sub, "add"))
    return cmd_add (&up, argv[1], github, pattern, policy, tag, version, description);
  if (g_str_equal (sub, "remove"))
    return cmd_remove (&up, argv[1]);
  if (g_str_equal (sub, "lock"))
    return cmd_lock (&up, argc > 1 ? argv[1] : NULL);
  if (g_str_equal (sub, "verify"))
    return cmd_verify (&up, argc > 1 ? argv[1] : NULL);
  return cmd_generate (&up, check);
}

/* update, pin, add, remove and lock take --pr: propose the change as a
 * pull request (docs/maintenance.md). */
const BktCommand bkt_upstream_commands[] = {
  { "list", NULL, "the pinned upstreams", NULL, upstream_run },
  { "info", NULL, "one upstream's source, policy and pin", "NAME", upstream_run },
  { "check", NULL, "newest releases, and what the policies allow", "[NAME]", upstream_run },
  { "update", NULL, "move pins as far as the policy allows (--all: every upstream)", "[NAME]", upstream_run },
  { "pin", NULL, "pin a version explicitly", "NAME VERSION", upstream_run },
  { "add", NULL, "track an upstream (--github OWNER/REPO [--asset-pattern GLOB] [--policy P] [--tag])", "NAME",
    upstream_run },
  { "remove", NULL, "stop tracking an upstream", "NAME", upstream_run },
  { "lock", NULL, "fill in missing (all-zero) checksums", "[NAME]", upstream_run },
  { "verify", NULL, "download every pin and check its sha256 (CI)", "[NAME]", upstream_run },
  { "generate", NULL, "the Containerfile's UPSTREAM_PINS section (--check: exit 1 if out of date)", NULL,
    upstream_run },
  { NULL }
};
