/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-json.h"
#include "bkt-semver.h"

G_BEGIN_DECLS

/* Upstream pins (docs/maintenance.md): REPO/upstream/manifest.json in the
 * original's format,
 *
 *   { "$schema"?, "upstreams": [ { "name", "description"?,
 *       "source": { "type": "github", "repo": "OWNER/REPO", "asset_pattern"?,
 *                   "release_type"?: "release"|"tag" } | { "type": "url", "url" },
 *       "pinned": { "version", "commit"?, "url"?, "sha256", "pinned_at" },
 *       "policy"?: "pin"|"patch"|"minor"|"major", "install"?: {...} } ] }
 *
 * Members bkt does not know are kept as they are.  Errors are
 * BKT_ERROR_INVALID_MANIFEST "FILE:LINE:COLUMN: what". */

#define BKT_UPSTREAM_FILE "upstream/manifest.json"
#define BKT_UPSTREAM_ZERO_SHA256 "0000000000000000000000000000000000000000000000000000000000000000"

#define BKT_TYPE_UPSTREAM_MANIFEST (bkt_upstream_manifest_get_type ())
G_DECLARE_FINAL_TYPE (BktUpstreamManifest, bkt_upstream_manifest, BKT, UPSTREAM_MANIFEST, GObject)

/* Load and check @path (@display names it in messages).  With @missing_ok
 * a missing file is an empty manifest (saved as a new file). */
BktUpstreamManifest *bkt_upstream_manifest_load (const char *path, const char *display, gboolean missing_ok,
                                                 GError **error);
/* The same from the file's bytes (@data NULL: a missing file, an empty
 * manifest): the repo's file as a branch has it.  Saving it needs a path:
 * use to_data(). */
BktUpstreamManifest *bkt_upstream_manifest_load_data (const char *display, const char *data, gsize length,
                                                      GError **error);
/* The upstreams, in file order; edit them in place and save. */
JsonArray  *bkt_upstream_manifest_get_upstreams (BktUpstreamManifest *self);
JsonObject *bkt_upstream_manifest_lookup        (BktUpstreamManifest *self, const char *name);
/* Add @upstream (taken) / remove the one named @name. */
gboolean    bkt_upstream_manifest_add    (BktUpstreamManifest *self, JsonObject *upstream, GError **error);
gboolean    bkt_upstream_manifest_remove (BktUpstreamManifest *self, const char *name, GError **error);
/* One edit as pull requests carry it (bkt-pr-files.c): @action "record"
 * sets @entry's members on the upstream of the same name ("pinned" as
 * bkt_upstream_set_pin_at() does, keeping the pin's unknown members) or
 * adds a copy of it; anything else removes the upstream @key.  FALSE when
 * there was nothing to remove. */
gboolean    bkt_upstream_manifest_apply_edit (BktUpstreamManifest *self, const char *action, JsonObject *entry,
                                              const char *key);
/* The file's new bytes: the file as loaded with only the changed
 * upstreams' bytes rewritten (bkt-manifest-writer.c), checked again. */
char       *bkt_upstream_manifest_to_data (BktUpstreamManifest *self, gsize *length, GError **error);
/* Write it atomically (nothing written on error); the bytes it had before
 * in @old_data (optional), to put back if a later step fails. */
gboolean    bkt_upstream_manifest_save (BktUpstreamManifest *self, GBytes **old_data, GError **error);
const char *bkt_upstream_manifest_get_path (BktUpstreamManifest *self);

/* NULL if @name may name an upstream, else why not (newly allocated): it
 * becomes a file name and a Containerfile ARG, so 1-64 of letters,
 * digits, '.', '_', '-', starting with a letter or digit, no "..". */
char *bkt_upstream_check_name (const char *name);
/* The same for "OWNER/REPO". */
char *bkt_upstream_check_repo (const char *repo);

/* TRUE if a pin can hold @version: 1-128 letters, digits and . _ + ~ -,
 * the first a letter or digit (it goes into URLs and Containerfile ARG
 * lines). */
gboolean bkt_upstream_version_ok (const char *version);

BktUpstreamPolicy bkt_upstream_get_policy (JsonObject *upstream);
/* "github" or "url" */
const char *bkt_upstream_get_type (JsonObject *upstream);
gboolean    bkt_upstream_uses_tags (JsonObject *upstream);

/* Replace @upstream's pin (members kept in the file's order; "commit" and
 * "url" set or removed).  @now for pinned_at. */
void bkt_upstream_set_pin (JsonObject *upstream, const char *version, const char *commit, const char *url,
                           const char *sha256, GDateTime *now);
/* The same with @pinned_at as written (ISO 8601). */
void bkt_upstream_set_pin_at (JsonObject *upstream, const char *version, const char *commit, const char *url,
                              const char *sha256, const char *pinned_at);
/* A new upstream (without its pin) as `bkt upstream add` writes it:
 * name, description?, source {type github, repo, asset_pattern?,
 * release_type? "tag"}, policy?. */
JsonObject *bkt_upstream_new_entry (const char *name, const char *description, const char *github,
                                    const char *asset_pattern, gboolean tag, const char *policy);
/* Check an upstream as a change carries it (a whole upstream, or
 * {"name", "pinned"}) as the file's are checked. */
gboolean bkt_upstream_check_change (JsonObject *entry, GError **error);
/* The changelog message (and entry type, static) of an upstream change:
 * @action update, pin, add, remove or lock; the local commands and their
 * pull requests' draft entries word it the same. */
char *bkt_upstream_change_message (const char *action, const char *name, const char *from, const char *to,
                                   const char *github, const char **type);

/* ---- the GitHub API (bkt-upstream-http.c) ---------------------------------------- */

typedef struct {
  char  *api_url;    /* without a trailing '/' */
  char  *token;      /* or NULL; sent to the API's host only, never printed */
  char  *cache_dir;  /* ETag cache, or NULL for none */
  guint  attempts;   /* per request, for 5xx and network errors */
  guint  retry_delay_ms;
  gboolean sequential; /* one request at a time (for the benchmark) */
} BktUpstreamHttp;

/* From the environment: $BKT_GITHUB_API, else "github_api_url" in
 * $XDG_CONFIG_HOME/bkt/config.json, else https://api.github.com; the
 * token as bkt_forge_find_token() finds it; the cache under
 * $XDG_CACHE_HOME/bkt/upstream.  NULL when config.json is broken. */
BktUpstreamHttp *bkt_upstream_http_new_from_env (GError **error);
void             bkt_upstream_http_free (BktUpstreamHttp *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktUpstreamHttp, bkt_upstream_http_free)

/* The releases (or tags) of every github upstream of @upstreams, all
 * requested at once on one session.  Returns name → object:
 *   { "versions": [ { "version", "prerelease", "commit"?, "tarball_url"?,
 *                     "assets": [ { "name", "url" } ] } ], "cached": bool }
 * newest first, drafts left out; or { "error": "message" } for an upstream
 * whose request failed (the others are still answered). */
JsonObject *bkt_upstream_fetch (BktUpstreamHttp *http, JsonArray *upstreams);

/* One version of @upstream, for a version older than the list that
 * bkt_upstream_fetch() reads (one page of 100): GET
 * {api}/repos/OWNER/REPO/releases/tags/VERSION, or for tags the tag's
 * tarball.  An element like those of the fetched "versions". */
JsonObject *bkt_upstream_fetch_version (BktUpstreamHttp *http, JsonObject *upstream, const char *version,
                                        GError **error);

/* Download @url and return its sha256 (hex), streamed. */
char *bkt_upstream_download_sha256 (BktUpstreamHttp *http, const char *url, GError **error);
/* The same for every URL of @urls at once: @out_sha256 and @out_errors
 * hold, per URL, its sha256 or why it failed (the other one NULL);
 * @out_network (optional, gboolean per URL) whether it failed without any
 * HTTP answer (a network failure, not the server's).  FALSE if any failed.
 * A network failure of bkt_upstream_download_sha256() and of
 * bkt_upstream_fetch_version() is G_IO_ERROR_NETWORK_UNREACHABLE; a fetch
 * result that had no answer has "network": true beside its "error". */
gboolean bkt_upstream_download_many (BktUpstreamHttp *http, const char *const *urls, GPtrArray **out_sha256,
                                     GPtrArray **out_errors, GArray **out_network);

/* Parsers of GitHub's answers (outside input; fuzzed by tests/fuzz/fuzz-api.c):
 * the releases (@tags: tags) list, or with @single one release, as the
 * "versions" object bkt_upstream_fetch() returns; an error answer's
 * "message". */
JsonObject *bkt_upstream_parse_versions (GBytes *body, gboolean tags, gboolean single, GError **error);
char       *bkt_upstream_api_reason     (GBytes *body);

/* ---- decisions -------------------------------------------------------------------- */

/* What check reports for one upstream given its fetch result (NULL for
 * url upstreams): { "name", "policy", "pinned", "latest"?, "allowed"?,
 * "state": "up-to-date"|"update-available"|"outside-policy"|"not-checked"|"error",
 * "detail"? }.  "allowed" is the newest version the policy allows. */
JsonObject *bkt_upstream_evaluate (JsonObject *upstream, JsonObject *fetched, gboolean allow_pre);
/* The entry of @fetched's versions for @version (with or without "v"). */
JsonObject *bkt_upstream_find_version (JsonObject *fetched, const char *version);
/* The download URL of @release for @upstream: the asset matching
 * asset_pattern (exactly one), else the tarball. */
char *bkt_upstream_asset_url (JsonObject *upstream, JsonObject *release, GError **error);

/* The UPSTREAM_PINS section body: ARG lines a Containerfile's RUN steps
 * read (UPSTREAM_<NAME>_VERSION, _SHA256, _URL, _COMMIT). */
char *bkt_upstream_render_pins (BktUpstreamManifest *self);

G_END_DECLS
