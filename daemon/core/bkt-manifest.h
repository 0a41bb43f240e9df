/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-json.h"

G_BEGIN_DECLS

typedef enum {
  BKT_MANIFEST_FLATPAK_REMOTES,   /* flatpak-remotes.json {"remotes":[{name,url,scope,filtered?}]} */
  BKT_MANIFEST_FLATPAK_APPS,      /* flatpak-apps.json {"apps":[{id,remote,scope}]} */
  BKT_MANIFEST_GSETTINGS,         /* gsettings.json {"settings":[{schema,key,value,comment?,path?}]} */
  /* gnome-extensions.json {"extensions":[uuid | {uuid,enabled?}]}: the only
   * kind whose entries may be bare strings (the original tool's form). */
  BKT_MANIFEST_GNOME_EXTENSIONS,
  BKT_MANIFEST_HOST_SHIMS,        /* host-shims.json {"shims":[{name,host?}]} */
  /* system-packages.json / toolbox-packages.json {"packages":[name],
   * "groups"?, "excluded"?, "copr_repos"?:[{name,enabled,gpg_check}]}:
   * the original tool's format; entries are always bare package names
   * (read as {"name": NAME}); the other members are kept as they are. */
  BKT_MANIFEST_SYSTEM_PACKAGES,
  BKT_MANIFEST_TOOLBOX_PACKAGES,
  BKT_MANIFEST_N_KINDS
} BktManifestKind;

/* "flatpak-remotes.json", ... */
const char *bkt_manifest_kind_file_name   (BktManifestKind kind);
/* "flatpak-remotes", ... (file name without .json; used as content keys) */
const char *bkt_manifest_kind_name        (BktManifestKind kind);
/* "remotes", "apps", "settings" */
const char *bkt_manifest_kind_list_member (BktManifestKind kind);
gboolean    bkt_manifest_kind_from_name   (const char *name, BktManifestKind *out_kind);

/* The identity of an entry: flatpak app → id, remote → name,
 * gsetting → "schema key" or "schema:path key" when a path is set,
 * extension → uuid, shim → name. */
char *bkt_manifest_entry_key (BktManifestKind kind, JsonObject *entry);
/* The same for an element of a manifest's list as it is stored: an object,
 * or for gnome-extensions a bare uuid string.  NULL for anything else. */
char *bkt_manifest_node_key  (BktManifestKind kind, JsonNode *node);
/* An element of the list as an object (new reference): a bare extension
 * uuid "U" reads as {"uuid": "U"}; NULL if @node is neither. */
JsonObject *bkt_manifest_node_to_object (BktManifestKind kind, JsonNode *node);

/* Name checks shared with the subsystems (NULL if fine, else the reason,
 * newly allocated).  Extension uuids and shim names become directory and
 * file names: no '/', no "..", no leading '-' or '.'. */
char *bkt_manifest_check_extension_uuid (const char *uuid);
char *bkt_manifest_check_shim_name      (const char *name);
/* A shim's host command: a name like a shim's or an absolute path of the
 * same characters. */
char *bkt_manifest_check_shim_host      (const char *host);
/* An RPM package name as bkt accepts it from users and manifests: 1-255
 * of letters, digits, '.', '_', '-', '+', not starting with '-' or '.'
 * (so that no tool reads it as an option) — what Fedora's names use. */
char *bkt_manifest_check_package_name   (const char *name);
/* A COPR project "OWNER/PROJECT" as COPR names them: OWNER a user or
 * "@group", each part 1-100 of letters, digits, '.', '_', '-', not
 * starting with '-' or '.', no "..", exactly one '/' (each becomes part
 * of a repo file name under /etc/yum.repos.d and of URLs). */
char *bkt_manifest_check_copr_name      (const char *name);
/* A flatpak application id exactly as flatpak_is_valid_name() accepts it
 * (see the rule in bkt-manifest-names.c): the one check of flatpak-apps.json
 * ids, used by the loader and by the flatpak subsystem's plan. */
char *bkt_manifest_check_flatpak_app_id (const char *id);
/* A GSettings schema id as gsettings.json may name it: letters, digits,
 * '.' and '-', not starting with '-'. */
char *bkt_manifest_check_schema_id      (const char *value);

/* One manifest file, validated.  Unknown members (at the top level and in
 * entries, e.g. "$schema") are kept and written back. */
#define BKT_TYPE_MANIFEST (bkt_manifest_get_type ())
G_DECLARE_FINAL_TYPE (BktManifest, bkt_manifest, BKT, MANIFEST, GObject)

BktManifest *bkt_manifest_new_empty (BktManifestKind kind);
/* A missing file is an empty manifest; anything else wrong is
 * BKT_ERROR_INVALID_MANIFEST naming the file, line and column. */
BktManifest *bkt_manifest_load_file (BktManifestKind kind, const char *path, GError **error);
BktManifest *bkt_manifest_load_data (BktManifestKind kind, const char *display_name,
                                     const char *data, gssize length, GError **error);
/* Validate @node, a manifest document somewhere inside @doc (e.g. one
 * member of a larger request), reporting positions in @doc.  The manifest
 * shares @node's tree rather than copying it. */
BktManifest *bkt_manifest_load_node (BktManifestKind kind, BktJsonDoc *doc,
                                     JsonNode *node, GError **error);
/* A deep copy: editing one never changes the other. */
BktManifest *bkt_manifest_copy      (BktManifest *self);

BktManifestKind bkt_manifest_get_kind    (BktManifest *self);
const char     *bkt_manifest_get_origin  (BktManifest *self); /* path or display name */
/* The document the manifest was loaded from, to report an entry's position
 * with bkt_json_doc_error_at(); NULL for empty manifests and copies.
 * Reflects the file as loaded, not later edits. */
BktJsonDoc     *bkt_manifest_get_doc     (BktManifest *self);
/* The list member's entries, each a JsonObject (gnome-extensions: or a
 * string; see bkt_manifest_node_key()).  To change them, use upsert/remove;
 * a caller that adds, removes or reorders elements itself is followed by the
 * lookups, one that changes an element's key in place is not. */
JsonArray      *bkt_manifest_get_entries (BktManifest *self);
guint           bkt_manifest_get_n_entries (BktManifest *self);
/* NULL if absent or stored as a bare string (use lookup_node). */
JsonObject     *bkt_manifest_lookup      (BktManifest *self, const char *key);
JsonNode       *bkt_manifest_lookup_node (BktManifest *self, const char *key);

/* Insert or replace the entry with the same key.  A replaced entry keeps
 * its unknown members unless @entry sets them.  gnome-extensions: a new
 * entry that says no more than {"uuid"} (or "enabled": true) is stored as
 * the bare string, and an entry stored as a string stays one while that
 * holds, so files keep the form their author chose. */
void     bkt_manifest_upsert (BktManifest *self, JsonObject *entry);
gboolean bkt_manifest_remove (BktManifest *self, const char *key);
/* Sort entries by key, in byte order (merged views and new files are
 * sorted).  On a manifest loaded from a file this orders the in-memory
 * view only: the file's own order of its entries is its author's and
 * bkt_manifest_to_data() keeps it, unsorted as it may be; only entries the
 * file does not have yet get a sorted position (see below). */
void     bkt_manifest_sort   (BktManifest *self);

/* Secondary lists: a top-level array member other than the kind's list
 * whose entries are objects keyed by their "name" — the package
 * manifests' copr_repos [{name, enabled, gpg_check}].  Edited in place
 * (bkt_manifest_to_data() keeps the file's layout for both lists). */
#define BKT_MANIFEST_COPR_MEMBER "copr_repos"
/* NULL if the manifest has no such member. */
JsonArray  *bkt_manifest_get_list   (BktManifest *self, const char *member);
JsonObject *bkt_manifest_lookup_in  (BktManifest *self, const char *member, const char *name);
/* Insert, or set @entry's members on the entry of the same name (the
 * others are kept); the member is created if missing. */
void        bkt_manifest_upsert_in  (BktManifest *self, const char *member, JsonObject *entry);
gboolean    bkt_manifest_remove_in  (BktManifest *self, const char *member, const char *name);
/* One manifest edit as operations and PR journals carry it: @action
 * "record" upserts (a copy of) @entry, anything else removes @key; in
 * @member's secondary list if @member is not NULL, else in the kind's. */
void        bkt_manifest_apply_edit (BktManifest *self, const char *action, const char *member,
                                     JsonObject *entry, const char *key);

/* The manifest as a file.
 *
 * Loaded from a file (load_file/load_data; not copies, merged views or
 * load_node() on part of a document): the file's bytes, with only the
 * entries that differ from the file rewritten, whatever formatting the
 * rest of the file has.  Unchanged, the output is byte for byte the
 * input.  A changed entry is rewritten in its place and indentation,
 * on one line if it was on one line and still fits in 80 columns, else
 * expanded; a removed entry goes with its line and its comma (the
 * previous entry's comma, for the last one); a new entry goes, laid out
 * like its neighbours, at its sorted position if the file's entries are
 * sorted by key (byte order, or ignoring ASCII case as the original tool
 * wrote them), else after the last one.  If the file had no list member
 * and entries were added, or its top-level members changed, the whole
 * file is written anew as below.
 *
 * Otherwise: written anew as prettier lays out JSON (see
 * bkt_json_to_document()): 2-space indent, `"key": value`, each entry on
 * one line if it fits in 80 columns else one member per line, members in
 * their order, final newline. */
char    *bkt_manifest_to_data (BktManifest *self, gsize *length);
/* Atomic: write PATH.XXXXXX in the same directory, fsync, rename; the
 * parent directory is created (0700) if missing. */
gboolean bkt_manifest_save    (BktManifest *self, const char *path, GError **error);

/* The layered set of manifests one plan works from. */
#define BKT_TYPE_MANIFEST_SET (bkt_manifest_set_get_type ())
G_DECLARE_FINAL_TYPE (BktManifestSet, bkt_manifest_set, BKT, MANIFEST_SET, GObject)

/* Image copy (@image_dir, e.g. /usr/share/bkt/manifests) merged with the
 * user overlay (@user_dir, $XDG_CONFIG_HOME/bkt/manifests): entries merged
 * by key, the user's entry wins, result sorted by key.  Either dir may be
 * missing.  Writes (capture, change) go to @user_dir. */
BktManifestSet *bkt_manifest_set_load_layered (const char *image_dir, const char *user_dir, GError **error);
/* Exactly one directory (bkt --manifests DIR); writes go there too.  A
 * @dir that does not exist, is not a directory or holds none of the
 * manifest files is BKT_ERROR_NOT_FOUND naming it (never read as empty). */
BktManifestSet *bkt_manifest_set_load_dir     (const char *dir, GError **error);
/* The same set read again from its directories (after edits: the merged
 * view is not updated by save_writable); a content set is returned as is. */
BktManifestSet *bkt_manifest_set_reload       (BktManifestSet *self, GError **error);
/* Content sent to the system instance: a JSON object whose members are
 * kind names ("flatpak-remotes", "flatpak-apps", "system-packages") holding
 * a manifest file's document.  Only system-scope entries are accepted
 * (packages have no scope: they are system-wide); at most 4 MiB. */
BktManifestSet *bkt_manifest_set_new_from_content (const char *json, GError **error);
/* The system-scope part (system remotes and apps, layered packages) as
 * such content. */
char           *bkt_manifest_set_to_system_content (BktManifestSet *self);

BktManifest *bkt_manifest_set_get       (BktManifestSet *self, BktManifestKind kind);
JsonObject  *bkt_manifest_set_lookup    (BktManifestSet *self, BktManifestKind kind, const char *key);
/* Where changes are recorded; NULL for content sets. */
const char  *bkt_manifest_set_get_write_dir (BktManifestSet *self);
/* The image layer's directory of a layered set, else NULL. */
const char  *bkt_manifest_set_get_image_dir (BktManifestSet *self);
/* The file (path) of the layer that declares @key of @kind, NULL when no
 * layer does; @layer gets "image", "user", "manifests-dir" (-m DIR) or
 * NULL (content).  For the state record's provenance. */
char        *bkt_manifest_set_declaring_file (BktManifestSet *self, BktManifestKind kind, const char *key,
                                              const char **layer);
/* Every layer's declaration of @key of @kind, lowest first:
 * [{"layer": "image"|"user"|"manifests-dir"|"content", "file": PATH|null,
 *   "declared": b, "line": N (when declared in a file), "entry": JSON (when
 *   declared), "in_effect": b (the declaring layer that wins)}].
 * For `bkt drift explain`. */
JsonArray   *bkt_manifest_set_layer_entries (BktManifestSet *self, BktManifestKind kind, const char *key);
/* The layer name of the writable layer: "user", "manifests-dir" or NULL. */
const char  *bkt_manifest_set_declaring_layer_name (BktManifestSet *self);
/* The raw file of @kind in the write dir (not merged, not sorted), to be
 * edited and handed back to bkt_manifest_set_save_writable(), which
 * replaces write_dir/FILE atomically.  BKT_ERROR_NOT_SUPPORTED for content
 * sets, which have nowhere to write. */
BktManifest *bkt_manifest_set_load_writable (BktManifestSet *self, BktManifestKind kind, GError **error);
gboolean     bkt_manifest_set_save_writable (BktManifestSet *self, BktManifest *m, GError **error);

G_END_DECLS
