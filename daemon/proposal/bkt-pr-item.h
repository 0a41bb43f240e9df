/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The noun a change of @subsystem is titled with ("gsetting" for
 * gsettings); @subsystem itself for the repo-side ones. */
const char *bkt_pr_item_noun (const char *subsystem);
/* The item a change names, from the ChangePlan argument its subsystem
 * names it by ("htop", "schema key", the packages in order); NULL when
 * the arguments name none. */
char       *bkt_pr_item_name (const char *subsystem, GVariant *arguments);
/* FALSE (with @error) when an edit of @edits is of another manifest than
 * the one of @subsystem's kind. */
gboolean    bkt_pr_item_check_edits (const char *subsystem, JsonArray *edits, GError **error);
/* Append to @edits the forget of @name (dnf, toolbox: of each package) in
 * the manifest of @subsystem's kind: the removal of an item this machine's
 * overlay does not record (the image layer's) edits the repo's file all the
 * same. */
void        bkt_pr_item_forget_edits (const char *subsystem, const char *name, GVariant *arguments,
                                      JsonArray *edits);
/* @typed as anyone would type it, for the PR body and the draft changelog
 * entry: without --repo, -m/--manifests, -n, --json, --wait, -v,
 * --skip-preflight, the home as "~". */
char       *bkt_pr_item_public_command (const char *typed);

G_END_DECLS
