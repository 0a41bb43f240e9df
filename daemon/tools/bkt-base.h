/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What a distribution assumes its base image provides
 * (manifests/base-image-assumptions.json, the original's format):
 *
 *   { "base_image": { "source", "last_verified_digest"?, "last_verified_at"? },
 *     "packages": [ { "name", "reason" } ], "services"?: [unit], "paths"?: [path] }
 *
 * Errors are BKT_ERROR_INVALID_MANIFEST "FILE:LINE:COLUMN: what". */

#define BKT_BASE_FILE "base-image-assumptions.json"

/* Load and check @path; returns the root object. */
JsonObject *bkt_base_load (const char *path, GError **error);

/* The same for a document read elsewhere (git history); @display names it. */
JsonObject *bkt_base_load_data (const char *display, const char *data, gsize length, GError **error);
/* The changelog message of assuming (or with @remove no longer assuming)
 * @name, a package (@what NULL), "service" or "path": `bkt base assume`
 * writes it and `bkt changelog generate` recognises it. */
char       *bkt_base_change_message (const char *what, const char *name, const char *reason, gboolean remove);

/* Check @assumptions against the system under @root ("/" or NULL for this
 * one): packages with one `rpm -q` for all of them ($BKT_RPM names the rpm
 * to run), services as unit files under ROOT/{usr/lib,etc}/systemd/system,
 * paths as existing under ROOT.  Returns the report
 *   { "ok": bool, "unverified": bool, "packages": {"present": [..], "missing": [..]},
 *     "services": {...}, "paths": {...} }
 * or NULL when the check itself failed.  Where rpm is not installed or its
 * database holds no record at all (a host that does not use rpm), the
 * packages are neither present nor missing: "packages" gets "unknown"
 * (every name) and "unknown_reason", and "unverified" is TRUE ("ok" FALSE). */
JsonObject *bkt_base_verify (JsonObject *assumptions, const char *root, GError **error);

/* A new assumptions document from the system under @root: every installed
 * package (one `rpm -qa`), sorted, with the reasons @assumptions (may be
 * NULL) gives; its base_image, and its services and paths that are
 * present.  For review: a snapshot is a starting point to filter, so it
 * is printed, never written over the file. */
JsonObject *bkt_base_snapshot (JsonObject *assumptions, const char *root, GError **error);

/* Add (or, with @reason NULL and @remove, drop) a package assumption in
 * the file at @path, keeping the list sorted by name; writes the file
 * atomically.  Adding a package that is there, or removing one that is
 * not, is BKT_ERROR_INVALID_ARGUMENT and writes nothing; so does
 * --dry-run (bkt_fs_dry_run()) once the edit is checked. */
gboolean    bkt_base_set_package (const char *path, const char *name, const char *reason,
                                  gboolean remove, GError **error);

/* The same on a document's bytes (the repo's file as a branch has it),
 * for a pull request: assuming an assumed package (with its reason, or
 * none given) or unassuming one that is not assumed is no change (the
 * same bytes); another reason replaces the entry's.  The new text. */
char       *bkt_base_edit_data (const char *display, const char *data, gsize length, const char *name,
                                const char *reason, gboolean remove, gsize *out_length, GError **error);
/* The names assumptions accept (RPM names; never an option). */
gboolean    bkt_base_package_name_ok (const char *name);

G_END_DECLS
