/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-repo.h"

G_BEGIN_DECLS

/* The git side of a PR, with libgit2 only (no git or gh processes).
 *
 * The user's checkout is used as an object store and a remote, never as a
 * working tree: commits are built from blobs and trees of the fetched
 * default branch, so the working tree, the index and HEAD are never
 * touched, however dirty they are.  Errors are BKT_ERROR_* with what to
 * do about them. */
#define BKT_TYPE_GIT (bkt_git_get_type ())
G_DECLARE_FINAL_TYPE (BktGit, bkt_git, BKT, GIT, GObject)

/* Opens @repo's checkout, or clones (bare) the managed one if it is
 * missing and @may_clone; completes @repo from the origin remote.
 * @token (may be NULL; the forge's, bkt_repo_get_api_url (@repo)) is
 * offered as x-access-token:TOKEN only to that forge's git host
 * (bkt_git_token_is_for); SSH remotes use the ssh-agent. */
BktGit     *bkt_git_open (BktRepo *repo, const char *token, gboolean may_clone, GError **error);

/* Update refs/remotes/origin/DEFAULT from the remote. */
gboolean    bkt_git_fetch (BktGit *self, GError **error);
/* Connect to origin and list its refs (the preflight's reachability). */
gboolean    bkt_git_check_remote (BktGit *self, GError **error);
/* "Name <email>" from the repo's, global or system git config. */
char       *bkt_git_get_identity (BktGit *self, GError **error);
/* The same without a repo (global and system config): for a managed clone
 * that is not cloned yet. */
char       *bkt_git_default_identity (GError **error);
/* Connect to @url and list its refs, without a repo; @token only if
 * @url is the git host of the forge at @api_url. */
gboolean    bkt_git_check_url (const char *url, const char *token, const char *api_url, GError **error);
/* Whether the forge token of @api_url may be sent to the git server at
 * @url: same scheme, host (api.github.com → github.com) and port. */
gboolean    bkt_git_token_is_for (const char *url, const char *api_url);

/* @path ("manifests/gsettings.json") as it is in the default branch
 * (origin's if fetched, else local); NULL with *exists = FALSE if the
 * branch does not have it. */
GBytes     *bkt_git_read_file (BktGit *self, const char *path, gboolean *exists, GError **error);

/* Files of the checkout at @repo_path as they are in revision @ref (git
 * rev-parse syntax; one starting with "-" is refused), or with @ref NULL
 * in the merge-base of HEAD with the default branch (origin/HEAD's target,
 * else origin/main, origin/master, main, master), else in HEAD.  Returns
 * path → GBytes for those of @paths the commit has (a missing one is not
 * in the table); @described (may be NULL): e.g. "merge-base with
 * origin/main (0123456789ab)".  Local only: nothing is fetched. */
GHashTable *bkt_git_read_files_at (const char *repo_path, const char *ref, const char *const *paths,
                                   char **described, GError **error);

/* Push to @url (a fork of origin) instead of origin; NULL: origin. */
gboolean    bkt_git_set_push_url (BktGit *self, const char *url, GError **error);

/* Commit @files (path → GBytes) onto the default branch as branch
 * @branch (or @branch-N if the repo or the remote has that branch
 * already: the name used is in @branch_out), authored by the configured identity, and push
 * it to origin (or the push URL).  Returns the commit id. */
char       *bkt_git_commit_and_push (BktGit *self, const char *branch, GHashTable *files,
                                     const char *message, char **branch_out, GError **error);

/* The same with @n commits on the branch, one on the other: commit i
 * carries @files[i] with message @messages[i] (capture --pr: one commit
 * per subsystem).  Returns the last commit's id. */
char       *bkt_git_commit_series_and_push (BktGit *self, const char *branch, GHashTable *const *files,
                                            const char *const *messages, guint n, char **branch_out,
                                            GError **error);

/* `git diff` of one file: "diff --git a/PATH b/PATH ..." (empty if equal). */
char       *bkt_git_unified_diff (const char *path, GBytes *before, GBytes *after);

/* A branch name: bkt/SUBSYSTEM-ACTION-NAME-UNIXTIME with anything outside
 * [A-Za-z0-9._-] replaced and NAME cut so the whole is at most 100 bytes. */
char       *bkt_git_branch_name (const char *subsystem, const char *action, const char *name, gint64 unix_time);

G_END_DECLS
