/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* RPM package helpers for `bkt dnf install/remove/sync/capture`: the
 * checks made before any process starts, the one batched existence query,
 * typo suggestions, and rpm-ostree's command lines and status.
 *
 * Not yet wired to a subsystem: the building blocks, tested on their own
 * (tests/unit/core/test-packages.c) against the real dnf and tests/doubles/rpm-ostree-double. */

/* Every name must pass bkt_manifest_check_package_name(), and there must
 * be at least one: BKT_ERROR_INVALID_ARGUMENT naming the first bad one.
 * Called before any process is started, so that "-rf" or "htop; rm -rf /"
 * never reach dnf or rpm-ostree. */
gboolean bkt_packages_check_names (const char *const *names, GError **error);

/* The dnf to ask: $BKT_DNF, else dnf5, else dnf from PATH.
 * BKT_ERROR_NOT_FOUND if there is none. */
/* "--setopt=logdir=DIR" for the host's dnf when the unit gave us a
 * LogsDirectory= ($LOGS_DIRECTORY: /var/log is read-only under
 * ProtectSystem=strict and dnf refuses to run without its log files);
 * NULL otherwise. */
char    *bkt_packages_dnf_logdir_option (void);
char    *bkt_packages_find_dnf (GError **error);

/* ONE `DNF repoquery --qf "%{name} %{repoid}" -- NAME…` for all of
 * @names (validated first): name → GPtrArray of the ids of the repos that
 * have it (char *), for the names dnf knows.  NULL with @error if dnf
 * fails. */
GHashTable *bkt_packages_query_repos (const char *dnf, const char *const *names,
                                      GCancellable *cancellable, GError **error);
/* The same query: the names dnf does not know, in the order given
 * (possibly empty; NULL-terminated, g_strfreev). */
char   **bkt_packages_find_missing (const char *dnf, const char *const *names,
                                    GCancellable *cancellable, GError **error);
/* Every package name the enabled repos have (one repoquery; for
 * suggestions, only asked for after a miss). */
char   **bkt_packages_list_available (const char *dnf, GCancellable *cancellable, GError **error);
/* The same with @dnf the argv prefix that runs dnf (NULL-terminated; e.g.
 * {"toolbox", "run", "-c", NAME, "dnf"}: the repos of a container). */
char   **bkt_packages_find_missing_argv (const char * const *dnf, const char *const *names,
                                         GCancellable *cancellable, GError **error);
char   **bkt_packages_list_available_argv (const char * const *dnf, GCancellable *cancellable, GError **error);
GHashTable *bkt_packages_query_repos_argv (const char * const *dnf, const char *const *names,
                                           GCancellable *cancellable, GError **error);
/* The check `install` makes: ONE query_repos; after a miss, ONE listing
 * for suggestions and BKT_ERROR_NOT_FOUND naming every unknown package
 * ("no package “X” in the enabled repositories (did you mean: Y?)").
 * @found_out (may be NULL): when all exist, the query's name → repo ids. */
gboolean bkt_packages_check_exist (const char * const *dnf, const char * const *names, guint max_suggestions,
                                   GHashTable **found_out, GCancellable *cancellable, GError **error);
/* Up to @max names of @available close to @name (edit distance ≤ 2, or
 * one contains the other), closest first; NULL-terminated. */
char   **bkt_packages_suggest (const char *name, const char *const *available, guint max);

/* The manifest edits of a package change, shared by the dnf
 * (system-packages.json) and toolbox (toolbox-packages.json) subsystems:
 * "Record package:NAME in FILE" ({"name": NAME}, stored as the bare
 * string) and "Forget package:NAME in FILE". */
BktOperation *bkt_packages_record_op (const char *subsystem, BktManifestKind kind, const char *name);
BktOperation *bkt_packages_forget_op (const char *subsystem, BktManifestKind kind, const char *name);

/* The rpm-ostree to run: $BKT_RPM_OSTREE, else the build's (meson option
 * rpm_ostree). */
const char *bkt_packages_rpm_ostree (void);
/* argv of ONE batched change: `RPM_OSTREE install|uninstall --idempotent
 * [--apply-live] -- NAME…` (@names validated by the caller); @apply_live
 * only with @install: rpm-ostree's uninstall has no --apply-live. */
char   **bkt_packages_rpm_ostree_argv (const char *rpm_ostree, gboolean install,
                                       const char *const *names, gboolean apply_live);

/* From `rpm-ostree status --json`: the booted deployment's
 * "requested-packages" (sorted; what the user layered), and whether a
 * staged (pending) deployment exists, whose packages apply at the next
 * boot (set @out_pending_packages to its requested-packages then, else
 * NULL).  BKT_ERROR_FAILED if the document has no booted deployment. */
char   **bkt_packages_parse_status (const char *json, gssize length, char ***out_pending_packages,
                                    GError **error);

G_END_DECLS
