/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Where the distribution repo is, and what the forge calls it.
 *
 * Discovery order (docs/punning.md): the "repo-dir" option (bkt --repo
 * DIR), "repo" in $XDG_CONFIG_HOME/bkt/config.json, the client's working
 * directory and its parents (a checkout with manifests/), else the managed
 * clone $XDG_DATA_HOME/bkt/source of the URL the image declares in
 * repo.json.  Discovery reads files only; git work is BktGit's. */
#define BKT_TYPE_REPO (bkt_repo_get_type ())
G_DECLARE_FINAL_TYPE (BktRepo, bkt_repo, BKT, REPO, GObject)

/* @repo_dir, @cwd: absolute paths or NULL.  BKT_ERROR_NOT_FOUND, with the
 * ways to fix it, when there is no repo at all. */
BktRepo    *bkt_repo_discover        (const char *repo_dir, const char *cwd, GError **error);
/* Round trip through a plan operation's details. */
BktRepo    *bkt_repo_new_from_json   (JsonObject *object, GError **error);
JsonObject *bkt_repo_to_json         (BktRepo *self);

const char *bkt_repo_get_path           (BktRepo *self);
/* "option", "config", "cwd" or "managed" */
const char *bkt_repo_get_source         (BktRepo *self);
gboolean    bkt_repo_is_managed         (BktRepo *self);
/* NULL until known (repo.json, config.json or the origin remote). */
const char *bkt_repo_get_url            (BktRepo *self);
const char *bkt_repo_get_owner          (BktRepo *self);
const char *bkt_repo_get_name           (BktRepo *self);
const char *bkt_repo_get_default_branch (BktRepo *self);
/* REST API base, e.g. https://api.github.com (no trailing slash). */
const char *bkt_repo_get_api_url        (BktRepo *self);
/* "fork" in config.json: "auto" (fork when the token's user cannot push
 * to the repo; the default), "always" or "never". */
const char *bkt_repo_get_fork           (BktRepo *self);

/* Fill what discovery could not know from the origin remote's URL and
 * its HEAD; values already set are kept. */
void        bkt_repo_complete (BktRepo *self, const char *origin_url, const char *remote_head);

G_END_DECLS
