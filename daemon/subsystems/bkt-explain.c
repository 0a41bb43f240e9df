/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-error.h"
#include "bkt-explain.h"
#include "bkt-subsystem-registry.h"

/* `bkt drift explain ITEM`: for one item, every layer's declaration with
 * file:line, the recorded base, the live value, the direction and the
 * command that resolves it — the classification apply and capture make
 * (bkt_state_record_classify), shown for one item instead of acted on. */

static const char *
subsystem_of_kind (BktManifestKind kind)
{
  guint n = 0;
  const BktSubsystemInfo *rows = bkt_subsystem_registry (&n);

  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < rows[i].n_manifests; k++)
      if (rows[i].manifests[k].kind == kind)
        return rows[i].name;
  return NULL;
}

/* The one command that settles @target in @state (empty: nothing to do).
 * Apply has no per-item selection: --only narrows it to the subsystem. */
static char *
resolving_command (BktSyncState state, const char *subsystem, const char *target)
{
  switch (state)
    {
    case BKT_SYNC_IN_SYNC:
      return g_strdup ("");
    case BKT_SYNC_TO_APPLY:
    case BKT_SYNC_NEVER_SYNCED:
      return g_strdup_printf ("bkt apply --only %s", subsystem);
    case BKT_SYNC_TO_CAPTURE:
    case BKT_SYNC_UNTRACKED:
      return g_strdup_printf ("bkt capture --only %s --select %s", subsystem, target);
    case BKT_SYNC_CONFLICT:
      return g_strdup_printf ("bkt apply --only %s --theirs (the manifests win) or "
                              "bkt capture --only %s --select %s --ours (this machine wins)",
                              subsystem, subsystem, target);
    case BKT_SYNC_TWO_WAY:
    default:
      return g_strdup_printf ("bkt apply --only %s (the manifests win) or "
                              "bkt capture --only %s --select %s (this machine wins)",
                              subsystem, subsystem, target);
    }
}

/* json-glib before 1.10 has no json_object_take_string_member(). */
static void
take_string (JsonObject *o, const char *member, char *value)
{
  json_object_set_string_member (o, member, value);
  g_free (value);
}

static void
set_string_or_null (JsonObject *o, const char *member, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, member, value);
  else
    json_object_set_null_member (o, member);
}

static JsonObject *
base_object (const BktRecordEntry *base)
{
  JsonObject *b = json_object_new ();

  set_string_or_null (b, "value", base->value);
  set_string_or_null (b, "layer", base->layer);
  set_string_or_null (b, "file", base->file);
  set_string_or_null (b, "command", base->command);
  set_string_or_null (b, "when", base->when);
  return b;
}

static JsonObject *
explain_item (BktSync *sync, BktManifestSet *manifests, const BktItem *item)
{
  JsonObject *o = json_object_new ();
  const char *subsystem = subsystem_of_kind (item->kind);
  BktStateRecord *record = bkt_sync_get_record (sync, item->scope);
  const BktRecordEntry *base = NULL;
  BktSyncState state = BKT_SYNC_TWO_WAY;
  g_autofree char *manifest = bkt_state_fingerprint (item->manifest);
  g_autofree char *live = bkt_state_fingerprint (item->live);

  if (record != NULL)
    state = bkt_state_record_classify (record, item->target, item->manifest, item->live, &base);
  json_object_set_string_member (o, "target", item->target);
  json_object_set_string_member (o, "subsystem", subsystem != NULL ? subsystem : "?");
  json_object_set_string_member (o, "scope", bkt_scope_to_string (item->scope));
  json_object_set_string_member (o, "manifest_kind", bkt_manifest_kind_file_name (item->kind));
  set_string_or_null (o, "key", item->key);
  json_object_set_array_member (o, "layers", item->key != NULL
                                ? bkt_manifest_set_layer_entries (manifests, item->kind, item->key)
                                : json_array_new ());
  set_string_or_null (o, "manifest", manifest);
  if (base != NULL)
    json_object_set_object_member (o, "base", base_object (base));
  else
    json_object_set_null_member (o, "base");
  set_string_or_null (o, "live", live);
  if (record != NULL)
    set_string_or_null (o, "record", bkt_state_record_get_path (record));
  else
    json_object_set_null_member (o, "record");
  json_object_set_string_member (o, "state", bkt_sync_state_to_string (state));
  json_object_set_string_member (o, "direction", bkt_sync_state_direction (state));
  take_string (o, "command", resolving_command (state, subsystem != NULL ? subsystem : "?",
                                                                    item->target));
  return o;
}

/* An entry the manifests declare that no subsystem classifies here (a
 * schema that is not installed, a remote, a package: two-way subsystems). */
static JsonObject *
explain_unclassified (BktManifestSet *manifests, BktManifestKind kind, const char *key)
{
  JsonObject *o = json_object_new ();
  const char *subsystem = subsystem_of_kind (kind);

  json_object_set_null_member (o, "target");
  json_object_set_string_member (o, "subsystem", subsystem != NULL ? subsystem : "?");
  json_object_set_null_member (o, "scope");
  json_object_set_string_member (o, "manifest_kind", bkt_manifest_kind_file_name (kind));
  json_object_set_string_member (o, "key", key);
  json_object_set_array_member (o, "layers", bkt_manifest_set_layer_entries (manifests, kind, key));
  json_object_set_null_member (o, "manifest");
  json_object_set_null_member (o, "base");
  json_object_set_null_member (o, "live");
  json_object_set_null_member (o, "record");
  json_object_set_string_member (o, "state", "unknown");
  json_object_set_string_member (o, "direction", "unknown");
  take_string (o, "command", g_strdup_printf ("bkt status --only %s", subsystem ? subsystem : "?"));
  json_object_set_string_member (o, "reason", "declared, but bkt cannot compare it with this machine "
                                 "(not installed here, or a subsystem without a state record): "
                                 "bkt status says why");
  return o;
}

JsonObject *
bkt_explain (BktSync *sync, BktManifestSet *manifests, const char *query, GError **error)
{
  g_autoptr(GPtrArray) found = bkt_sync_match (sync, query);
  g_autoptr(JsonObject) out = json_object_new ();
  JsonArray *items = json_array_new ();

  json_object_set_string_member (out, "query", query);
  json_object_set_array_member (out, "items", items);
  for (guint i = 0; i < found->len; i++)
    json_array_add_object_element (items, explain_item (sync, manifests, g_ptr_array_index (found, i)));
  for (guint k = 0; found->len == 0 && k < BKT_MANIFEST_N_KINDS; k++)
    if (bkt_manifest_lookup_node (bkt_manifest_set_get (manifests, k), query) != NULL)
      json_array_add_object_element (items, explain_unclassified (manifests, k, query));
  if (json_array_get_length (items) == 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "no item “%s” in the manifests or on this machine; name it as bkt status --json "
                        "does (gsetting:SCHEMA.KEY, flatpak:ID, extension:UUID, shim:NAME) or as the "
                        "manifests do (\"SCHEMA KEY\", an app id, an extension uuid, a shim name)", query), NULL;
  return g_steal_pointer (&out);
}
