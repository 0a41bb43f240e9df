/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-git.h"

G_BEGIN_DECLS

/* The repo files a pull request edits (used by bkt-pr.c only).
 *
 * An edit is {"manifest", "action": "record"|"forget", "entry"?, "key"?,
 * "member"?}: "manifest" names the document — a manifest kind
 * ("flatpak-apps", ..., see bkt_manifest_kind_name()) under manifests/,
 * or one of the repo-side documents of docs/maintenance.md: "upstream"
 * (upstream/manifest.json, entries of "upstreams" keyed by "name") and
 * "base-image-assumptions" (manifests/base-image-assumptions.json,
 * entries of "packages" keyed by "name").  Each document is read from
 * the fetched default branch and edited with its own format-preserving
 * writer. */

/* A file of the repo's skel/ tree (bkt skel add): {"manifest": "skel",
 * "action": "record", "path": REL, "content": BASE64} writes skel/REL
 * with those bytes (REL checked like every skel path, at most
 * BKT_SKEL_MAX_FILE_SIZE bytes). */
#define BKT_PR_SKEL_DOC "skel"

/* An edit that no longer fits the default branch (the checkout it was
 * made from is behind: the pin has moved, the upstream is gone).  No
 * retry can fix it, so such a change is not queued.  Never crosses
 * D-Bus as such (bkt-pr.c reports it as org.bkt.Error.InvalidArgument). */
#define BKT_PR_STALE_ERROR (bkt_pr_stale_error_quark ())
GQuark      bkt_pr_stale_error_quark (void);

/* The repo paths @edits touch, in a fixed order. */
JsonArray  *bkt_pr_edited_files (JsonArray *edits);
/* Every edited file: path → new content (GBytes), and the whole diff in
 * @diff_out.  Files the edits leave as they are (the repo already says
 * so) are left out; the Containerfile's managed section of what changed
 * (SYSTEM_PACKAGES, COPR_REPOS, UPSTREAM_PINS) is regenerated when the
 * file has it. */
GHashTable *bkt_pr_edited_contents (BktGit *git, JsonArray *edits, char **diff_out, GError **error);

G_END_DECLS
