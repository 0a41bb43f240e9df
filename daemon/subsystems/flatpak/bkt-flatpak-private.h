/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <flatpak.h>
#include <json-glib/json-glib.h>

#include "bkt-exec-context.h"
#include "bkt-flatpak.h"

G_BEGIN_DECLS

/* What the flatpak subsystem's three files share: the live state of one
 * installation (bkt-flatpak-state.c), read by planning (bkt-flatpak.c) and
 * read back by execution (bkt-flatpak-exec.c) to verify what it did. */

/* One installation as read: remotes and installed apps, read once so that
 * every plan and status of one request sees the same state. */
typedef struct {
  BktScope             scope;
  FlatpakInstallation *installation;
  GPtrArray           *remotes;         /* FlatpakRemote */
  GHashTable          *remote_by_name;  /* name → FlatpakRemote (borrowed) */
  GPtrArray           *installed;       /* FlatpakInstalledRef, apps only */
  GHashTable          *app_by_id;       /* id → FlatpakInstalledRef (borrowed) */
} BktFlatpakState;

BktFlatpakState     *bkt_flatpak_state_load        (BktScope scope, GCancellable *cancellable, GError **error);
void                 bkt_flatpak_state_free        (BktFlatpakState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktFlatpakState, bkt_flatpak_state_free)
/* The installed app @id (the default arch's current branch); NULL-safe. */
FlatpakInstalledRef *bkt_flatpak_state_lookup_app  (BktFlatpakState *state, const char *id);
FlatpakInstallation *bkt_flatpak_open_installation (BktScope scope, GCancellable *cancellable, GError **error);
/* One listing of @remote: id → full ref of the branch `flatpak install` would pick. */
GHashTable          *bkt_flatpak_list_remote_apps  (FlatpakInstallation *installation, const char *remote,
                                                    GCancellable *cancellable, GError **error);

/* Members of a manifest entry or an operation's details, of the wanted
 * type or the fallback (details may come from a D-Bus caller). */
JsonNode   *bkt_flatpak_entry_value  (JsonObject *entry, const char *member, GType type);
const char *bkt_flatpak_entry_string (JsonObject *entry, const char *member, const char *fallback);
gboolean    bkt_flatpak_entry_bool   (JsonObject *entry, const char *member, gboolean fallback);
/* Equal up to trailing slashes. */
gboolean    bkt_flatpak_urls_equal   (const char *a, const char *b);

/* Executes @ops, all of @scope: every op gets exactly one result; FALSE if cancelled. */
gboolean    bkt_flatpak_execute_scope (BktScope scope, GPtrArray *ops, BktExecContext *ctx,
                                       GCancellable *cancellable);

G_END_DECLS
