/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Versions of upstream releases and what an upstream's policy lets
 * `bkt upstream update` move to (docs/maintenance.md, "Upstream pins").
 *
 * A version is semver when, after an optional leading "v" or "V", it is
 * MAJOR.MINOR.PATCH with an optional -PRERELEASE and +BUILD, numbers
 * without leading zeros (semver.org 2.0.0).  Anything else (2024.01.05,
 * 2024-11-18, r123, 1.2) is compared segment-wise: runs of digits as
 * numbers (of any length, no overflow), runs of letters as text, a number
 * newer than text, more segments newer than fewer; separators . - _ +
 * only separate.  So no version is ever refused for its shape. */

typedef enum {
  BKT_UPSTREAM_POLICY_PIN,    /* never moved by update (the default) */
  BKT_UPSTREAM_POLICY_PATCH,  /* same MAJOR.MINOR */
  BKT_UPSTREAM_POLICY_MINOR,  /* same MAJOR */
  BKT_UPSTREAM_POLICY_MAJOR,  /* any newer version */
} BktUpstreamPolicy;

gboolean    bkt_upstream_policy_from_string (const char *text, BktUpstreamPolicy *out);
const char *bkt_upstream_policy_to_string   (BktUpstreamPolicy policy);

typedef struct {
  gboolean semver;
  guint64  major, minor, patch;
  char    *pre;      /* after '-', or NULL */
  char    *build;    /* after '+', or NULL (ignored in comparisons) */
} BktSemver;

/* Parse @text as semver into @out (cleared with bkt_semver_clear); FALSE
 * (and @out->semver FALSE) when it is not semver. */
gboolean bkt_semver_parse (const char *text, BktSemver *out);
void     bkt_semver_clear (BktSemver *v);

/* <0, 0, >0 as @a is older than, the same as or newer than @b: semver
 * precedence when both are semver (1.2.3-rc1 < 1.2.3, build metadata
 * ignored, "v1.2.3" == "1.2.3"), else the segment-wise order. */
int      bkt_version_compare (const char *a, const char *b);

/* TRUE if @version is a semver pre-release (1.2.3-rc1). */
gboolean bkt_version_is_prerelease (const char *version);

/* Whether @policy lets an upstream pinned at @pinned move to @candidate:
 * @candidate must be newer; pre-releases (semver ones, or
 * @candidate_prerelease as the forge marks them) only when @pinned is one
 * itself or @allow_pre; pin never; patch the same MAJOR.MINOR and minor
 * the same MAJOR when both are semver; a non-semver version on either
 * side moves only with major (nothing to tell a patch from a major). */
gboolean bkt_upstream_policy_allows (BktUpstreamPolicy policy, const char *pinned, const char *candidate,
                                     gboolean candidate_prerelease, gboolean allow_pre);

G_END_DECLS
