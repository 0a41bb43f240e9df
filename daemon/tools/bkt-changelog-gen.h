/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* `bkt changelog generate`: the changelog entries the manifest changes
 * between a git revision and the working tree imply (docs/maintenance.md).
 *
 * The files compared are manifests/{flatpak-remotes, flatpak-apps,
 * gsettings, gnome-extensions, host-shims, system-packages (with groups,
 * excluded and copr_repos), toolbox-packages, base-image-assumptions}.json
 * and upstream/manifest.json; the old version is read from git with
 * libgit2, both are parsed with the manifest loaders, so a malformed file
 * on either side is BKT_ERROR_INVALID_MANIFEST naming it (FILE:LINE:COLUMN;
 * the old side as "REV:PATH").
 *
 * Entries are worded as the punned changes word their drafts ("add flatpak
 * org.mozilla.firefox", "set gsetting org.gnome.desktop.interface
 * color-scheme", `bkt base assume`'s message ...), so an entry a punned PR
 * already carries (same category and message) is recognised and skipped.
 *
 * Returns {"base": "merge-base with origin/main (0123456789ab)",
 *          "entries": [{type, category, message, source}],
 *          "covered": N (changes a pending entry has already)}.
 * @ref: see bkt_git_read_files_at() (NULL: the merge-base). */
JsonObject *bkt_changelog_generate (const char *repo_dir, const char *ref, GError **error);

/* Write @result's entries as draft pending entries (through
 * bkt_changelog_add(), each file atomic); on a failure the ones written
 * are removed again.  Returns the paths written. */
GStrv       bkt_changelog_generate_write (const char *repo_dir, JsonObject *result, GError **error);

G_END_DECLS
