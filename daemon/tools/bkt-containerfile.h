/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Managed sections of the distribution's Containerfile.
 *
 * A section is the lines strictly between a begin marker
 *     # === NAME (managed by bkt) ===
 * and its end marker
 *     # === END NAME ===
 * (NAME: A-Z, 0-9, '_'; leading and trailing blanks and a CR before the
 * newline are tolerated on marker lines).  bkt owns the lines in between;
 * the markers themselves and everything outside sections stay byte for
 * byte as they are.  Sections may not nest, a NAME may appear only once,
 * and every begin needs its end: anything else is
 * BKT_ERROR_INVALID_ARGUMENT "FILE:LINE: what" so that a human can fix
 * the file (we never guess where a section was meant to end). */

/* The section names bkt generates. */
#define BKT_CONTAINERFILE_SYSTEM_PACKAGES "SYSTEM_PACKAGES"
#define BKT_CONTAINERFILE_COPR_REPOS      "COPR_REPOS"
#define BKT_CONTAINERFILE_HOST_SHIMS      "HOST_SHIMS"
/* ARG lines of the upstream pins (upstream/manifest.json, bkt-upstream.h) */
#define BKT_CONTAINERFILE_UPSTREAM_PINS   "UPSTREAM_PINS"
/* bkt itself in the image: the repo's manifests baked in as the image
 * copy, its repo.json, and the apply-on-boot / at-login units enabled
 * (docs/image.md). */
#define BKT_CONTAINERFILE_BKT             "BKT"

typedef struct {
  char  *name;
  guint  begin_line;   /* 1-based line of the begin marker */
  guint  end_line;     /* 1-based line of the end marker */
  char  *body;         /* the lines in between, as they are */
} BktContainerfileSection;

/* The sections of @data, in file order (element-type BktContainerfileSection,
 * freed with the array), or NULL with @error set. */
GPtrArray *bkt_containerfile_parse (const char *display_name, const char *data, gsize length,
                                    GError **error);

/* @data with the body of each section named in @bodies (name → body, the
 * body being whole lines each ending in '\n', or "") replaced; sections
 * not in @bodies and sections in @bodies but not in the file are left
 * alone (the file decides which sections it has).  A body that is the
 * same as the file's leaves the output identical to @data.  Sets
 * @out_changed (optional) to the names of the sections whose body
 * differed, in file order (NULL-terminated; g_strfreev). */
char *bkt_containerfile_regenerate (const char *display_name, const char *data, gsize length,
                                    GHashTable *bodies, char ***out_changed, gsize *out_length,
                                    GError **error);

/* Section bodies.  Each is one RUN instruction (or a comment saying there
 * is nothing to do), one item per line with " \" continuations, items
 * sorted in byte order and deduplicated, no heredocs so that any
 * Containerfile syntax version and buildah/podman/docker accept it.
 * Items are expected to be validated names (bkt_manifest_check_*); they
 * are written unquoted. */
char *bkt_containerfile_render_packages (const char *const *packages, const char *const *groups);
/* COPR projects "OWNER/PROJECT" to enable in the image; those of
 * @no_gpgcheck (a subset) get gpgcheck=0 in the repo file dnf saved. */
char *bkt_containerfile_render_copr     (const char *const *projects, const char *const *no_gpgcheck);
/* Shims: @names[i] runs the host's @hosts[i] through flatpak-spawn. */
char *bkt_containerfile_render_shims    (const char *const *names, const char *const *hosts);

/* The BKT section's body: COPY of @manifest_files (names in manifests/)
 * into the image copy, of repo.json when @repo_json, of the skel/ tree
 * (bkt skel) when @skel, and the units. */
char *bkt_containerfile_render_bkt (const char *const *manifest_files, gboolean repo_json, gboolean skel);

G_END_DECLS

G_BEGIN_DECLS

/* The bodies of SYSTEM_PACKAGES, COPR_REPOS and HOST_SHIMS generated from
 * @manifest_dir (the distribution repo's manifests/: system-packages.json
 * packages, groups and enabled copr_repos; host-shims.json), for
 * bkt_containerfile_regenerate().  Missing files are empty manifests; an
 * invalid one (or an invalid copr_repos entry) is an error. */
GHashTable *bkt_containerfile_bodies_from_manifests (const char *manifest_dir, GError **error);

/* @data (a Containerfile) with its SYSTEM_PACKAGES section (with
 * @with_packages) and its COPR_REPOS section (with @with_coprs)
 * regenerated from @packages_json, the text of a system-packages.json
 * (packages, groups, enabled copr_repos; the shim section is left alone).
 * For the PR of a `bkt dnf install/remove` or `bkt dnf copr …`, which
 * edit the repo's manifest in memory: each regenerates the section its
 * edit concerns, so that a PR does not carry another section's drift.
 * @out_changed: whether a section's body differed. */
char *bkt_containerfile_regenerate_packages (const char *display_name, const char *data, gsize length,
                                             const char *packages_json, gsize packages_length,
                                             gboolean with_packages, gboolean with_coprs, gboolean *out_changed, gsize *out_length, GError **error);

/* Regenerate the file at @path in place (atomically, only if it changed).
 * @check: change nothing, but fail with BKT_ERROR_FAILED naming the
 * sections that are out of date.  @out_changed as for regenerate().  A
 * file with none of the sections bkt generates is BKT_ERROR_NOT_FOUND
 * (saying how to add one): nothing would be compared. */
gboolean bkt_containerfile_sync_file (const char *path, const char *manifest_dir, gboolean check,
                                      char ***out_changed, GError **error);

G_END_DECLS
