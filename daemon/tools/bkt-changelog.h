/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The distribution repo's changelog (docs/maintenance.md).
 *
 * Pending entries are one file each under REPO/.changelog/pending/: JSON
 * (NAME.json) or the original's YAML (NAME.yaml / NAME.yml, a flat mapping
 * of scalars plus a "manual_steps" block list).  A release gathers them
 * into REPO/.changelog/versions/VERSION.json and a section of CHANGELOG.md
 * after the "<!-- changelog entries start -->" marker, then removes them.
 *
 * Entries are handled as JsonObjects with the canonical members
 * timestamp, type, category, message, command?, pr?, draft, manual_steps?
 * plus "file" (the pending file's name) once loaded.
 *
 * Errors: BKT_ERROR_INVALID_MANIFEST "FILE:LINE: what" for bad entries,
 * BKT_ERROR_INVALID_ARGUMENT for bad arguments, BKT_ERROR_FAILED for a
 * release refused (drafts, nothing pending).  Nothing is written when an
 * error is returned. */

#define BKT_CHANGELOG_MARKER "<!-- changelog entries start -->"
/* A pending entry or a version file larger than this is refused unread. */
#define BKT_CHANGELOG_MAX_FILE (64 * 1024)

/* Parse one entry from @data; @filename is used in messages only.
 * @is_yaml selects the YAML reader.  Returns the canonical entry. */
JsonObject *bkt_changelog_parse_entry (const char *filename, const char *data, gsize length,
                                       gboolean is_yaml, GError **error);
/* Every pending entry of @repo_dir, sorted by file name (oldest first,
 * as names start with a timestamp).  The first bad file is the error. */
GPtrArray  *bkt_changelog_load_pending (const char *repo_dir, GError **error);

/* Write a new pending entry (JSON) for @entry's members; sets "timestamp"
 * from bkt_changelog_now() when missing.  Returns the file's path.
 * Under --dry-run (bkt_fs_dry_run()) the writers of this file check
 * everything and return what they would have written or removed, and
 * write nothing. */
char       *bkt_changelog_add (const char *repo_dir, JsonObject *entry, GError **error);

/* "now" in UTC: $BKT_NOW (ISO 8601, e.g. 2026-01-05T10:00:00Z or a bare
 * date) when set, so tests can release on chosen days. */
GDateTime  *bkt_changelog_now (GError **error);

/* Released versions, oldest first (numeric YYYY.MM.DD.N order). */
GStrv       bkt_changelog_list_versions (const char *repo_dir, GError **error);
/* TRUE if @version is YYYY.MM.DD.N (a safe file name by construction). */
gboolean    bkt_changelog_version_is_valid (const char *version);
/* The next version for @now: YYYY.MM.DD.(1 + highest N of that day). */
char       *bkt_changelog_next_version (const char *repo_dir, GDateTime *now, GError **error);
/* A released version's document ({version, date, entries, manual_steps}). */
JsonObject *bkt_changelog_load_version (const char *repo_dir, const char *version, GError **error);
/* The same for the version files of any directory (the image's copy,
 * /usr/share/bkt/changelog/versions); @display_dir names it in errors. */
GStrv       bkt_changelog_list_versions_in (const char *dir, GError **error);
JsonObject *bkt_changelog_load_version_in  (const char *dir, const char *display_dir,
                                            const char *version, GError **error);
/* <0, 0, >0 as YYYY.MM.DD.N @a is older, the same, newer than @b (both valid). */
gint        bkt_changelog_compare_versions (const char *a, const char *b);
/* The CHANGELOG.md section for a version document. */
char       *bkt_changelog_render_section (JsonObject *version_doc);
/* A terminal's view of a version: "VERSION (DATE)", one line per entry
 * ("  TYPE  CATEGORY: MESSAGE", when @entries_too) and its manual steps. */
char       *bkt_changelog_render_short   (JsonObject *version_doc, gboolean entries_too);

/* Release the pending entries as @version (NULL: the next one).  Refuses
 * while any entry is a draft, when nothing is pending, and when @version
 * exists.  Returns the version released. */
char       *bkt_changelog_release (const char *repo_dir, const char *version, GError **error);
/* The repo's CHANGELOG.md; a missing one is BKT_ERROR_NOT_FOUND saying
 * how it comes to be (release, or the marker line). */
char       *bkt_changelog_read_markdown (const char *repo_dir, GError **error);
/* Remove every pending entry; returns how many. */
guint       bkt_changelog_clear (const char *repo_dir, GError **error);

/* The draft entry a punned change carries in its pull request (one per
 * proposed item: @subsystem "flatpak", "gsettings", ...; @action "add",
 * "set", "remove", ...; @name what changed; @command as typed or NULL).
 * Returns the file's contents and, in @rel_path, its path in the repo
 * (.changelog/pending/STAMP-CATEGORY[-INDEX].json).  Drafts block a
 * release until a maintainer has reviewed the wording. */
GBytes     *bkt_changelog_draft_entry (const char *subsystem, const char *action, const char *name,
                                       const char *command, guint index, char **rel_path, GError **error);
/* The same with the entry's @type and @message given (NULL: derived as
 * above): a repo-side change (bkt upstream, bkt base) words its draft as
 * its local command words its entry. */
GBytes     *bkt_changelog_draft_entry_full (const char *subsystem, const char *action, const char *name,
                                            const char *type, const char *message, const char *command,
                                            guint index, char **rel_path, GError **error);

G_END_DECLS
