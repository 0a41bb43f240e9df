/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-plan.h"

G_BEGIN_DECLS

/* Punned repo-side changes: `bkt upstream update|pin|lock|add|remove --pr`
 * and `bkt base assume|unassume --pr` (docs/maintenance.md).  Nothing on
 * this machine changes: the change is the typed edit the client sends
 * (never a path or a file's content), proposed as a pull request that
 * edits the repo's own upstream/manifest.json or
 * manifests/base-image-assumptions.json (bkt-pr-files.c).  The plan is
 * one manifest-edit operation, which bkt_pr_plan_change() turns into the
 * PR's edit; its details' "pr" member words the PR's title and draft
 * changelog entry as the local command words its entry. */

/* "upstream" or "base". */
gboolean  bkt_pr_maint_is_subsystem (const char *subsystem);
/* The change plan of @action with @arguments (a{sv}):
 *   upstream update|pin|lock: name, from (the pinned version it replaces),
 *            pinned a{ss} {version, commit?, url?, sha256, pinned_at}
 *   upstream add: name, github, asset-pattern?, release-type?, policy?,
 *            description?, pinned
 *   upstream remove: name
 *   base assume: name, reason?;  base unassume: name
 * Everything is checked as the files' own entries are. */
BktPlan  *bkt_pr_maint_plan_change (const char *subsystem, const char *action, GVariant *arguments,
                                    GError **error);

G_END_DECLS
