/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The forge's REST API, with libsoup: GitHub's "create a pull request"
 * (POST {api}/repos/{owner}/{repo}/pulls), which GitHub Enterprise
 * ({host}/api/v3) and Forgejo/Gitea ({host}/api/v1) also speak. */

/* The token for @api_url: $GITHUB_TOKEN, $GH_TOKEN, else gh's hosts file
 * ($GH_CONFIG_DIR or $XDG_CONFIG_HOME/gh, hosts.yml, the oauth_token of the
 * API's host), else gh's item in the Secret Service keyring (service
 * "gh:HOST", bkt-keyring.h).  NULL if none.  @source (may be NULL) says
 * where it was found, for messages: never the token itself; with NULL
 * returned it is BKT_FORGE_SOURCE_LOCKED_KEYRING when the keyring has the
 * token but is locked (bkt never unlocks it: that would prompt). */
#define BKT_FORGE_SOURCE_LOCKED_KEYRING "locked keyring"
char *bkt_forge_find_token (const char *api_url, const char **source);

/* Open a pull request; returns its html_url.  HTTP errors become
 * BKT_ERROR_NOT_AUTHORIZED (401/403), BKT_ERROR_NOT_FOUND (404),
 * BKT_ERROR_INVALID_ARGUMENT (422, with the forge's own reasons) or
 * BKT_ERROR_FAILED (5xx, network), each saying what to do. */
char *bkt_forge_open_pull_request (const char   *api_url,
                                   const char   *owner,
                                   const char   *name,
                                   const char   *token,
                                   const char   *title,
                                   const char   *head,
                                   const char   *base,
                                   const char   *body,
                                   GCancellable *cancellable,
                                   GError      **error);

/* How long a new fork may take to appear (forking is asynchronous). */
#define BKT_FORGE_FORK_WAIT_SECONDS 60

/* Where a proposal for @owner/@name is pushed.  @fork_mode "never", or
 * "auto" when the token's user may push there (GET /repos/{o}/{r} →
 * permissions.push): origin, *@fork_owner = *@fork_url = NULL.  Else
 * ("always", or "auto" without push access) the user's fork, created with
 * POST /repos/{o}/{r}/forks and waited for: its owner (the PR's head is
 * "OWNER:BRANCH") and the URL to push to (ssh_url if @ssh, else
 * clone_url). */
gboolean bkt_forge_push_target (const char   *api_url,
                                const char   *owner,
                                const char   *name,
                                const char   *token,
                                const char   *fork_mode,
                                gboolean      ssh,
                                char        **fork_owner,
                                char        **fork_url,
                                GCancellable *cancellable,
                                GError      **error);

/* Whether @token's user may push to @owner/@name, read (GET
 * /repos/{o}/{r} → permissions.push) without writing anything: TRUE or
 * FALSE in *@push when the forge says, else FALSE with @error (no
 * repository, no answer) or TRUE with *@known FALSE (the forge does not
 * say, e.g. without a token). */
gboolean bkt_forge_push_access (const char   *api_url,
                                const char   *owner,
                                const char   *name,
                                const char   *token,
                                gboolean     *push,
                                gboolean     *known,
                                GCancellable *cancellable,
                                GError      **error);

/* Parsers of the forge's answers (outside input; fuzzed by
 * tests/fuzz/fuzz-api.c).  The "message" and "errors" of an error answer
 * as one line, "no details" when it has none; the JSON object of an
 * answer, NULL when it is not one. */
char       *bkt_forge_reason        (GBytes *body);
JsonObject *bkt_forge_answer_object (GBytes *response);

G_END_DECLS
