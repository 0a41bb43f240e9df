/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-gsettings-private.h"

/* The gsettings subsystem: GSettings keys of the user's session against
 * gsettings.json.  This file plans (apply, capture, status, the three-way
 * items, prune, set/unset/capture changes) with caches that let one
 * request read each key once; the schema file resolves and confines, the
 * exec file writes and verifies. */

static void bkt_gsettings_subsystem_init (BktSubsystemInterface *iface);

G_DEFINE_TYPE_WITH_CODE (BktGsettings, bkt_gsettings, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (BKT_TYPE_SUBSYSTEM, bkt_gsettings_subsystem_init))

typedef struct
{
  Setting   setting;
  GVariant *value;
} Resolved;

static void resolved_free (Resolved *r);

/* The hash holds NULL for "no user value": g_variant_unref() would
 * complain about it. */
static void
variant_unref0 (gpointer v)
{
  if (v != NULL)
    g_variant_unref (v);
}

/* The last reference may go in any thread; the GSettings objects must go
 * in the owner of the context, as they were made. */
static gboolean
clear_caches (BktGsettings *self, gpointer data)
{
  g_hash_table_remove_all (self->values);
  g_hash_table_remove_all (self->user_values);
  g_hash_table_remove_all (self->settings);
  return TRUE;
}

static void
bkt_gsettings_finalize (GObject *object)
{
  BktGsettings *self = BKT_GSETTINGS (object);

  if (g_hash_table_size (self->settings) > 0)
    bkt_gsettings_run_confined (self, clear_caches, NULL);
  g_clear_pointer (&self->values, g_hash_table_unref);
  g_clear_pointer (&self->user_values, g_hash_table_unref);
  g_clear_pointer (&self->resolved, g_hash_table_unref);
  g_clear_pointer (&self->settings, g_hash_table_unref);
  g_clear_pointer (&self->source, g_settings_schema_source_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (bkt_gsettings_parent_class)->finalize (object);
}

static void
bkt_gsettings_class_init (BktGsettingsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_gsettings_finalize;
}

static void
bkt_gsettings_init (BktGsettings *self)
{
  self->context = g_main_context_ref (g_main_context_default ());
  self->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, variant_unref0);
  self->user_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, variant_unref0);
  self->resolved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) resolved_free);
}

BktSubsystem *
bkt_gsettings_new (void)
{
  return BKT_SUBSYSTEM (g_object_new (BKT_TYPE_GSETTINGS, NULL));
}

/* ── small helpers ─────────────────────────────────────────────────────── */

static char *
print_short (GVariant *value)
{
  g_autofree char *text = g_variant_print (value, TRUE);
  return bkt_gsettings_shorten (text);
}

static const char *
entry_string (JsonObject *entry, const char *member)
{
  JsonNode *node = json_object_get_member (entry, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* The manifest's identity of a setting, computed by the manifest code
 * itself so lookups can never disagree with how entries are merged. */
static char *
make_entry_key (const char *schema_id, const char *path, const char *key_name)
{
  /* bkt_manifest_entry_key() of {"schema", "key", "path"?}, without
   * building that object: this runs for every key of every tracked schema
   * (the capture and untracked scans), where the object cost 7,000
   * instructions a key.  The gsettings tests of untracked keys fail if
   * the two ever disagree. */
  return path != NULL ? g_strdup_printf ("%s:%s %s", schema_id, path, key_name)
                      : g_strdup_printf ("%s %s", schema_id, key_name);
}

static JsonArray *
manifest_entries (BktManifestSet *manifests, BktManifest **out_manifest)
{
  BktManifest *manifest = manifests != NULL ? bkt_manifest_set_get (manifests, BKT_MANIFEST_GSETTINGS) : NULL;

  if (out_manifest != NULL)
    *out_manifest = manifest;
  return manifest != NULL ? bkt_manifest_get_entries (manifest) : NULL;
}

static JsonObject *
entry_at (JsonArray *entries, guint i)
{
  JsonNode *node = json_array_get_element (entries, i);
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Entry key → entry (borrowed from @entries).  Status and capture look up
 * every key of every tracked schema: one pass here keeps that linear. */
static GHashTable *
index_entries (JsonArray *entries)
{
  GHashTable *index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = entry_at (entries, i);
      char *key = entry != NULL ? bkt_manifest_entry_key (BKT_MANIFEST_GSETTINGS, entry) : NULL;

      if (key != NULL)
        g_hash_table_replace (index, key, entry);
    }
  return index;
}

static void
append_ops (GPtrArray *ops, GPtrArray *new_ops)
{
  for (guint i = 0; i < new_ops->len; i++)
    g_ptr_array_add (ops, g_object_ref (g_ptr_array_index (new_ops, i)));
}

/* A manifest entry resolved and its value parsed.  NOT_FOUND: the machine
 * lacks the schema or key; anything else: the entry itself is wrong. */
static GVariant *
resolve_entry (BktGsettings *self, JsonObject *entry, Setting *s, GError **error)
{
  const char *schema_id = entry_string (entry, "schema");
  const char *key_name = entry_string (entry, "key");
  const char *text = entry_string (entry, "value");

  if (schema_id == NULL || key_name == NULL || text == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "entry needs the string members schema, key and value"), NULL;
  if (!bkt_gsettings_resolve_key (self, schema_id, entry_string (entry, "path"), key_name, FALSE, s, error))
    return NULL;
  return bkt_gsettings_parse_value (s, text, error);
}

static void
resolved_free (Resolved *r)
{
  bkt_gsettings_setting_clear (&r->setting);
  g_variant_unref (r->value);
  g_free (r);
}

/* resolve_entry, remembered for this object's life (the schemas it reads
 * do not change under it).  Failures are not kept: they are rare and
 * carry their error. */
static GVariant *
resolve_entry_once (BktGsettings *self, JsonObject *entry, Setting *s, GError **error)
{
  const char *path = entry_string (entry, "path");
  g_autofree char *id = g_strdup_printf ("%s\n%s\n%s\n%s", entry_string (entry, "schema") ?: "", path ?: "",
                                         entry_string (entry, "key") ?: "", entry_string (entry, "value") ?: "");
  Resolved *r = g_hash_table_lookup (self->resolved, id);
  GVariant *value;

  if (r != NULL)
    {
      bkt_gsettings_setting_copy (&r->setting, s);
      return g_variant_ref (r->value);
    }
  value = resolve_entry (self, entry, s, error);
  if (value == NULL)
    return NULL;
  r = g_new0 (Resolved, 1);
  bkt_gsettings_setting_copy (s, &r->setting);
  r->value = g_variant_ref (value);
  g_hash_table_insert (self->resolved, g_steal_pointer (&id), r);
  return value;
}

static char *
entry_target (JsonObject *entry)
{
  const char *schema_id = entry_string (entry, "schema");
  const char *key_name = entry_string (entry, "key");

  return bkt_gsettings_make_target (schema_id != NULL ? schema_id : "?", entry_string (entry, "path"),
                      key_name != NULL ? key_name : "?");
}

/* ── live state (plan side) ────────────────────────────────────────────── */

static GSettings *
plan_settings (BktGsettings *self, Setting *s)
{
  GSettings *settings = g_hash_table_lookup (self->settings, s->combo);

  if (settings == NULL)
    {
      settings = g_settings_new_full (s->schema, NULL, s->path);
      g_hash_table_insert (self->settings, g_strdup (s->combo), settings);
    }
  return settings;
}

static GVariant *
live_value (BktGsettings *self, Setting *s)
{
  g_autofree char *id = g_strconcat (s->combo, " ", s->key_name, NULL);
  GVariant *value = g_hash_table_lookup (self->values, id);

  if (value == NULL)
    {
      value = g_settings_get_value (plan_settings (self, s), s->key_name);
      g_hash_table_insert (self->values, g_steal_pointer (&id), value);
    }
  return value;
}

/* NULL when the key is at its default. */
static GVariant *
user_value (BktGsettings *self, Setting *s)
{
  g_autofree char *id = g_strconcat (s->combo, " ", s->key_name, NULL);
  gpointer value = NULL;

  if (!g_hash_table_lookup_extended (self->user_values, id, NULL, &value))
    {
      value = g_settings_get_user_value (plan_settings (self, s), s->key_name);
      g_hash_table_insert (self->user_values, g_steal_pointer (&id), value);
    }
  return value;
}

/* ── operations ────────────────────────────────────────────────────────── */

static JsonObject *
setting_details (Setting *s)
{
  JsonObject *details = json_object_new ();

  json_object_set_string_member (details, "schema", s->schema_id);
  json_object_set_string_member (details, "key", s->key_name);
  if (s->path != NULL)
    json_object_set_string_member (details, "path", s->path);
  return details;
}

static BktOperation *
set_op_new (Setting *s, GVariant *value, GVariant *live)
{
  g_autoptr(JsonObject) details = setting_details (s);
  g_autofree char *value_text = g_variant_print (value, TRUE);
  g_autofree char *live_text = g_variant_print (live, TRUE);
  g_autofree char *value_shown = bkt_gsettings_shorten (value_text);
  g_autofree char *live_shown = bkt_gsettings_shorten (live_text);
  g_autofree char *summary = g_strdup_printf ("Set %s (%s → %s)", s->target, live_shown, value_shown);

  json_object_set_string_member (details, "value", value_text);
  json_object_set_string_member (details, "previous", live_text);
  return bkt_operation_new (SUBSYSTEM_NAME, "set", s->target, BKT_SCOPE_USER, BKT_EFFECT_LIVE,
                            summary, details);
}

static BktOperation *
record_op_new (Setting *s, GVariant *value, const char *comment, const char *summary)
{
  g_autoptr(JsonObject) entry = json_object_new ();
  g_autofree char *value_text = g_variant_print (value, TRUE);

  json_object_set_string_member (entry, "schema", s->schema_id);
  json_object_set_string_member (entry, "key", s->key_name);
  json_object_set_string_member (entry, "value", value_text);
  if (comment != NULL)
    json_object_set_string_member (entry, "comment", comment);
  if (s->path != NULL)
    json_object_set_string_member (entry, "path", s->path);
  return bkt_operation_new_record (SUBSYSTEM_NAME, BKT_MANIFEST_GSETTINGS, s->target, summary, entry);
}

/* ── subsystem: name, load, apply ──────────────────────────────────────── */

static const char *
bkt_gsettings_get_name (BktSubsystem *subsystem)
{
  return SUBSYSTEM_NAME;
}

static gboolean
load_live_confined (BktGsettings *self, gpointer data)
{
  bkt_gsettings_ensure_loaded (self);
  return TRUE;
}

/* Nothing to preload: values are read lazily, once each (see the caches),
 * because a manifest names a few keys among thousands installed. */
static gboolean
bkt_gsettings_load_live (BktSubsystem *subsystem, GCancellable *cancellable, GError **error)
{
  return bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), load_live_confined, NULL);
}

/* "ORIGIN: SCHEMA KEY: what is wrong", without saying SCHEMA KEY twice. */
static gboolean
set_manifest_error (JsonObject *entry, const char *origin, const GError *local_error, GError **error)
{
  const char *message = local_error != NULL ? local_error->message : "entry is not an object";
  const char *schema_id = entry != NULL ? entry_string (entry, "schema") : NULL;
  const char *key_name = entry != NULL ? entry_string (entry, "key") : NULL;
  g_autofree char *name = schema_id != NULL && key_name != NULL
                          ? g_strdup_printf ("%s %s", schema_id, key_name) : NULL;

  if (name == NULL || strstr (message, name) != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s: %s", origin, message), FALSE;
  return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s: %s: %s", origin, name, message), FALSE;
}

static gboolean
plan_apply_confined (BktGsettings *self, gpointer data)
{
  Call *call = data;
  BktManifest *manifest = NULL;
  JsonArray *entries = manifest_entries (call->manifests, &manifest);
  g_autoptr(GPtrArray) new_ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) new_warnings = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = entry_at (entries, i);
      g_auto(Setting) s = { 0 };
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GVariant) value = NULL;
      GVariant *live;

      value = entry != NULL ? resolve_entry_once (self, entry, &s, &local_error) : NULL;
      if (value == NULL)
        {
          const char *file = bkt_manifest_kind_file_name (BKT_MANIFEST_GSETTINGS);
          const char *origin = manifest != NULL ? bkt_manifest_get_origin (manifest) : NULL;

          /* The distribution's manifest names schemas and keys that a given
           * machine may not have (another desktop, an older GNOME): the rest
           * must still apply.  A wrong value is the manifest's fault. */
          if (local_error != NULL && g_error_matches (local_error, BKT_ERROR, BKT_ERROR_NOT_FOUND))
            {
              g_ptr_array_add (new_warnings, g_strdup_printf ("gsetting %s %s: %s; skipped",
                                                              entry_string (entry, "schema"),
                                                              entry_string (entry, "key"),
                                                              local_error->message));
              continue;
            }
          if (origin == NULL || !g_str_has_suffix (origin, file))
            origin = file;
          return set_manifest_error (entry, origin, local_error, call->error);
        }
      live = live_value (self, &s);
      if (!g_variant_equal (live, value))
        g_ptr_array_add (new_ops, set_op_new (&s, value, live));
    }
  /* All or nothing: a failed plan leaves @ops as it was. */
  append_ops (call->ops, new_ops);
  for (guint i = 0; call->warnings != NULL && i < new_warnings->len; i++)
    g_ptr_array_add (call->warnings, g_strdup (g_ptr_array_index (new_warnings, i)));
  return TRUE;
}

static gboolean
bkt_gsettings_plan_apply (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                          GPtrArray *warnings, GError **error)
{
  Call call = { .manifests = manifests, .ops = ops, .warnings = warnings, .error = error };

  return bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), plan_apply_confined, &call);
}

/* ── capture ───────────────────────────────────────────────────────────── */

static gint
strv_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static char **
sorted_keys (GSettingsSchema *schema)
{
  char **keys = g_settings_schema_list_keys (schema);

  qsort (keys, g_strv_length (keys), sizeof (char *), strv_compare);
  return keys;
}

/* Record ops for one schema (+path): keys the user changed that the
 * manifests lack, and manifest entries whose live value moved on. */
static void
capture_schema (BktGsettings *self, GHashTable *index, Setting *combo, GPtrArray *ops)
{
  g_auto(GStrv) keys = sorted_keys (combo->schema);

  for (gsize i = 0; keys[i] != NULL; i++)
    {
      g_auto(Setting) s = { 0 };
      g_autofree char *entry_key = make_entry_key (combo->schema_id, combo->path, keys[i]);
      JsonObject *entry = g_hash_table_lookup (index, entry_key);
      GVariant *live;

      if (!bkt_gsettings_resolve_key (self, combo->schema_id, combo->path, keys[i], FALSE, &s, NULL))
        continue;  /* cannot happen: the key comes from the schema */
      live = live_value (self, &s);
      if (entry != NULL)
        {
          const char *text = entry_string (entry, "value");
          g_autoptr(GVariant) wanted = text != NULL ? bkt_gsettings_parse_value (&s, text, NULL) : NULL;
          g_autofree char *old_shown = NULL, *new_shown = NULL, *summary = NULL;

          /* An entry that is not a valid value is rewritten too: the live
           * value is what capture records. */
          if (wanted != NULL && g_variant_equal (wanted, live))
            continue;
          old_shown = wanted != NULL ? print_short (wanted) : bkt_gsettings_shorten (text != NULL ? text : "(none)");
          new_shown = print_short (live);
          summary = g_strdup_printf ("Update %s: %s → %s", s.target, old_shown, new_shown);
          /* The upsert would keep the comment anyway; saying so makes the
           * record self-contained in the plan. */
          g_ptr_array_add (ops, record_op_new (&s, live, entry_string (entry, "comment"), summary));
        }
      else if (user_value (self, &s) != NULL)
        {
          g_autofree char *shown = print_short (live);
          g_autofree char *summary = g_strdup_printf ("Record %s = %s", s.target, shown);
          g_ptr_array_add (ops, record_op_new (&s, live, NULL, summary));
        }
    }
}

/* The schemas (+paths) the manifests track (of Setting, without key), in
 * manifest order.  Entries this machine cannot resolve are left out, with a
 * warning "…; VERB" in @warnings if not NULL. */
static GPtrArray *
tracked_schemas (BktGsettings *self, JsonArray *entries, GPtrArray *warnings, const char *verb)
{
  g_autoptr(GPtrArray) combos = g_ptr_array_new_with_free_func ((GDestroyNotify) bkt_gsettings_setting_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = entry_at (entries, i);
      g_autoptr(Setting) combo = g_new0 (Setting, 1);
      g_auto(Setting) s = { 0 };
      g_autoptr(GError) local_error = NULL;
      const char *schema_id = entry != NULL ? entry_string (entry, "schema") : NULL;
      const char *key_name = entry != NULL ? entry_string (entry, "key") : NULL;
      const char *path = entry != NULL ? entry_string (entry, "path") : NULL;

      if (schema_id == NULL || key_name == NULL)
        g_set_error (&local_error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "entry %u has no schema or key", i + 1);
      /* Only whether the key exists (no GSettingsSchemaKey: building one
       * for each of 500 keys twice per status was ~10 % of it). */
      else if (bkt_gsettings_resolve_schema (self, schema_id, path, FALSE, &s, &local_error) &&
               !g_settings_schema_has_key (s.schema, key_name))
        g_set_error (&local_error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "schema %s has no key %s", schema_id, key_name);
      if (local_error != NULL)
        {
          if (warnings != NULL)
            g_ptr_array_add (warnings, g_strdup_printf ("gsetting %s %s: %s; %s",
                                                        schema_id != NULL ? schema_id : "?",
                                                        key_name != NULL ? key_name : "?",
                                                        local_error->message, verb));
          continue;
        }
      if (g_hash_table_contains (seen, s.combo))
        continue;
      bkt_gsettings_resolve_schema (self, schema_id, path, FALSE, combo, NULL);
      g_hash_table_add (seen, combo->combo);
      g_ptr_array_add (combos, g_steal_pointer (&combo));
    }
  return g_steal_pointer (&combos);
}

/* Capture limits itself to the schemas the manifests already track:
 * capturing every changed key of every installed schema would record window
 * sizes, recently used files and other state nobody means to manage.
 * `bkt gsetting capture SCHEMA` (the "capture" change) widens it to one more
 * schema on request. */
static gboolean
plan_capture_confined (BktGsettings *self, gpointer data)
{
  Call *call = data;
  JsonArray *entries = manifest_entries (call->manifests, NULL);
  g_autoptr(GHashTable) index = index_entries (entries);
  g_autoptr(GPtrArray) combos = tracked_schemas (self, entries, call->warnings, "not captured");

  for (guint i = 0; i < combos->len; i++)
    capture_schema (self, index, g_ptr_array_index (combos, i), call->ops);
  return TRUE;
}

static gboolean
bkt_gsettings_plan_capture (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                            GPtrArray *warnings, GError **error)
{
  Call call = { .manifests = manifests, .ops = ops, .warnings = warnings, .error = error };

  return bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), plan_capture_confined, &call);
}

/* ── status ────────────────────────────────────────────────────────────── */

static gboolean
status_confined (BktGsettings *self, gpointer data)
{
  Call *call = data;
  JsonArray *entries = manifest_entries (call->manifests, NULL);
  g_autoptr(JsonObject) status = json_object_new ();
  g_autoptr(JsonArray) unknown = json_array_new ();
  g_autoptr(JsonArray) untracked = json_array_new ();
  g_autoptr(GPtrArray) combos = tracked_schemas (self, entries, NULL, NULL);
  g_autoptr(GHashTable) index = index_entries (entries);
  guint tracked = entries != NULL ? json_array_get_length (entries) : 0;
  guint in_sync = 0;

  for (guint i = 0; i < tracked; i++)
    {
      JsonObject *entry = entry_at (entries, i);
      g_auto(Setting) s = { 0 };
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GVariant) value = entry != NULL ? resolve_entry_once (self, entry, &s, &local_error) : NULL;

      if (value == NULL)
        {
          JsonObject *item = json_object_new ();

          /* Status only reads: an entry that cannot be checked here (its
           * schema or key is not installed) is its own state, "unknown",
           * never counted in sync; the report goes on. */
          g_autofree char *target = entry != NULL ? entry_target (entry) : g_strdup ("?");
          g_autofree char *summary = NULL;

          summary = g_strdup_printf ("%s: %s", target, local_error != NULL ? local_error->message : "not an object");
          json_object_set_string_member (item, "target", target);
          json_object_set_string_member (item, "summary", summary);
          json_object_set_string_member (item, "reason", local_error != NULL ? local_error->message : "not an object");
          if (entry != NULL && entry_string (entry, "schema") != NULL && entry_string (entry, "key") != NULL)
            {
              json_object_set_string_member (item, "schema", entry_string (entry, "schema"));
              json_object_set_string_member (item, "key", entry_string (entry, "key"));
            }
          json_array_add_object_element (unknown, item);
        }
      else if (g_variant_equal (live_value (self, &s), value))
        in_sync++;
    }

  for (guint c = 0; c < combos->len; c++)
    {
      Setting *combo = g_ptr_array_index (combos, c);
      g_auto(GStrv) keys = sorted_keys (combo->schema);

      for (gsize i = 0; keys[i] != NULL; i++)
        {
          g_auto(Setting) s = { 0 };
          g_autofree char *entry_key = make_entry_key (combo->schema_id, combo->path, keys[i]);
          GVariant *user;

          if (g_hash_table_contains (index, entry_key) ||
              !bkt_gsettings_resolve_key (self, combo->schema_id, combo->path, keys[i], FALSE, &s, NULL))
            continue;
          user = user_value (self, &s);
          if (user != NULL)
            {
              JsonObject *item = json_object_new ();
              g_autofree char *text = g_variant_print (live_value (self, &s), TRUE);
              g_autofree char *shown = bkt_gsettings_shorten (text);
              g_autofree char *summary = g_strdup_printf ("%s = %s", s.target, shown);

              json_object_set_string_member (item, "target", s.target);
              json_object_set_string_member (item, "summary", summary);
              json_object_set_string_member (item, "value", text);
              json_array_add_object_element (untracked, item);
            }
        }
    }

  json_object_set_int_member (status, "tracked", tracked);
  json_object_set_int_member (status, "in_sync", in_sync);
  json_object_set_array_member (status, "unknown", g_steal_pointer (&unknown));
  json_object_set_array_member (status, "untracked", g_steal_pointer (&untracked));
  call->status = g_steal_pointer (&status);
  return TRUE;
}

static JsonObject *
bkt_gsettings_status (BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  Call call = { .manifests = manifests, .error = error };

  bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), status_confined, &call);
  return call.status;
}

/* ── items (three-way classification) ──────────────────────────────── */

/* Declared keys with both printed values, and the keys of tracked schemas
 * the user set that no entry declares (what capture would record). */
static gboolean
items_confined (BktGsettings *self, gpointer data)
{
  Call *call = data;
  JsonArray *entries = manifest_entries (call->manifests, NULL);
  g_autoptr(GHashTable) index = index_entries (entries);
  g_autoptr(GPtrArray) combos = tracked_schemas (self, entries, NULL, NULL);

  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = entry_at (entries, i);
      g_auto(Setting) s = { 0 };
      g_autoptr(GVariant) value = entry != NULL ? resolve_entry_once (self, entry, &s, NULL) : NULL;
      g_autofree char *m = NULL, *l = NULL, *key = NULL;

      if (value == NULL)
        continue;  /* unknown here: status says so, nothing to classify */
      m = g_variant_print (value, TRUE);
      l = g_variant_print (live_value (self, &s), TRUE);
      key = bkt_manifest_entry_key (BKT_MANIFEST_GSETTINGS, entry);
      g_ptr_array_add (call->ops, bkt_item_new (s.target, BKT_SCOPE_USER, m, l, BKT_MANIFEST_GSETTINGS, key));
    }
  for (guint c = 0; c < combos->len; c++)
    {
      Setting *combo = g_ptr_array_index (combos, c);
      g_auto(GStrv) keys = sorted_keys (combo->schema);

      for (gsize i = 0; keys[i] != NULL; i++)
        {
          g_auto(Setting) s = { 0 };
          g_autofree char *entry_key = make_entry_key (combo->schema_id, combo->path, keys[i]);
          g_autofree char *l = NULL;

          if (g_hash_table_contains (index, entry_key) ||
              !bkt_gsettings_resolve_key (self, combo->schema_id, combo->path, keys[i], FALSE, &s, NULL) ||
              user_value (self, &s) == NULL)
            continue;
          l = g_variant_print (live_value (self, &s), TRUE);
          g_ptr_array_add (call->ops, bkt_item_new (s.target, BKT_SCOPE_USER, NULL, l, BKT_MANIFEST_GSETTINGS, NULL));
        }
    }
  return TRUE;
}

static gboolean
bkt_gsettings_items (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *items, GError **error)
{
  Call call = { .manifests = manifests, .ops = items, .error = error };

  return bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), items_confined, &call);
}

/* "reset" of @s to its default; @user is the value set now. */
static BktOperation *
reset_op_new (BktGsettings *self, Setting *s, GVariant *user)
{
  g_autoptr(JsonObject) details = setting_details (s);
  g_autoptr(GVariant) def = g_settings_get_default_value (plan_settings (self, s), s->key_name);
  g_autofree char *previous = g_variant_print (user, TRUE);
  g_autofree char *def_text = def != NULL ? g_variant_print (def, TRUE) : g_strdup ("none");
  g_autofree char *def_shown = bkt_gsettings_shorten (def_text);
  g_autofree char *summary = g_strdup_printf ("Reset %s to its default (%s)", s->target, def_shown);

  json_object_set_string_member (details, "previous", previous);
  json_object_set_string_member (details, "default", def_text);
  return bkt_operation_new (SUBSYSTEM_NAME, "reset", s->target, BKT_SCOPE_USER, BKT_EFFECT_LIVE, summary, details);
}

/* ── prune ─────────────────────────────────────────────────────────────── */

typedef struct
{
  const char    *target;
  char         **live;
  BktOperation  *op;    /* out */
} PruneCall;

/* "gsetting:SCHEMA[:PATH].KEY" (bkt_gsettings_make_target) back into its parts: a key
 * name has no '.', a schema id no ':'. */
static gboolean
parse_target (const char *target, char **schema_id, char **path, char **key_name)
{
  const char *combo = g_str_has_prefix (target, "gsetting:") ? target + strlen ("gsetting:") : NULL;
  const char *dot = combo != NULL ? strrchr (combo, '.') : NULL;
  const char *colon;

  if (dot == NULL || dot == combo || dot[1] == '\0')
    return FALSE;
  colon = memchr (combo, ':', dot - combo);
  *schema_id = g_strndup (combo, (colon != NULL ? colon : dot) - combo);
  *path = colon != NULL ? g_strndup (colon + 1, dot - colon - 1) : NULL;
  *key_name = g_strdup (dot + 1);
  return TRUE;
}

static gboolean
prune_confined (BktGsettings *self, gpointer data)
{
  PruneCall *call = data;
  g_autofree char *schema_id = NULL, *path = NULL, *key_name = NULL;
  g_auto(Setting) s = { 0 };
  GVariant *user;

  if (!parse_target (call->target, &schema_id, &path, &key_name) ||
      !bkt_gsettings_resolve_key (self, schema_id, path, key_name, FALSE, &s, NULL))
    return TRUE;
  /* Only a value set here can be bkt's; a default is nothing to undo. */
  user = user_value (self, &s);
  if (user == NULL)
    return TRUE;
  *call->live = g_variant_print (live_value (self, &s), TRUE);
  call->op = reset_op_new (self, &s, user);
  return TRUE;
}

/* apply --prune of a key bkt set: reset to its default. */
static BktOperation *
bkt_gsettings_plan_prune (BktSubsystem *subsystem, const char *target, BktScope scope, char **live)
{
  PruneCall call = { target, live, NULL };

  if (scope != BKT_SCOPE_USER || !g_str_has_prefix (target, "gsetting:"))
    return NULL;
  bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), prune_confined, &call);
  return call.op;
}

/* ── change ────────────────────────────────────────────────────────────── */

/* A string argument, copied (the caller's variant may be gone by the time
 * we use it).  Missing and @required, or not a string: INVALID_ARGUMENT. */
static gboolean
string_arg (GVariant *arguments, const char *name, gboolean required, char **out, GError **error)
{
  g_autoptr(GVariant) value = arguments != NULL ? g_variant_lookup_value (arguments, name, NULL) : NULL;

  *out = NULL;
  if (value == NULL)
    {
      if (required)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "missing argument “%s”", name), FALSE;
      return TRUE;
    }
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "argument “%s” must be a string, not %s", name, g_variant_get_type_string (value)), FALSE;
  *out = g_variant_dup_string (value, NULL);
  return TRUE;
}

/* Names travel to GSettings, messages and the manifest; one starting with
 * '-' is a command-line option slipped into an argument. */
static gboolean
check_name (const char *what, const char *name, GError **error)
{
  if (name == NULL)
    return TRUE;
  if (name[0] == '\0')
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s must not be empty", what), FALSE;
  /* Checked first so that no message below quotes megabytes back. */
  if (strlen (name) > MAX_NAME_LENGTH)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s is longer than %d bytes", what, MAX_NAME_LENGTH), FALSE;
  if (name[0] == '-')
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s '%s' must not start with '-'", what, name), FALSE;
  return TRUE;
}

static gboolean
change_set (BktGsettings *self, BktManifestSet *manifests, GVariant *arguments, GPtrArray *ops, GError **error)
{
  g_autofree char *schema_id = NULL, *key_name = NULL, *text = NULL, *comment = NULL, *path = NULL;
  g_auto(Setting) s = { 0 };
  g_autoptr(GVariant) value = NULL;
  g_autofree char *shown = NULL, *summary = NULL;
  GVariant *live;

  if (!string_arg (arguments, "schema", TRUE, &schema_id, error) ||
      !string_arg (arguments, "key", TRUE, &key_name, error) ||
      !string_arg (arguments, "value", TRUE, &text, error) ||
      !string_arg (arguments, "comment", FALSE, &comment, error) ||
      !string_arg (arguments, "path", FALSE, &path, error) ||
      !check_name ("schema", schema_id, error) ||
      !check_name ("key", key_name, error) ||
      !check_name ("path", path, error))
    return FALSE;
  if (strlen (text) > MAX_VALUE_LENGTH || (comment != NULL && strlen (comment) > MAX_VALUE_LENGTH))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s is longer than %d bytes", strlen (text) > MAX_VALUE_LENGTH ? "value" : "comment",
                        MAX_VALUE_LENGTH), FALSE;
  if (!bkt_gsettings_resolve_key (self, schema_id, path, key_name, TRUE, &s, error) ||
      (value = bkt_gsettings_parse_value (&s, text, error)) == NULL)
    return FALSE;

  live = live_value (self, &s);
  if (!g_variant_equal (live, value))
    g_ptr_array_add (ops, set_op_new (&s, value, live));
  shown = print_short (value);
  summary = g_strdup_printf ("Record %s = %s", s.target, shown);
  g_ptr_array_add (ops, record_op_new (&s, value, comment, summary));
  return TRUE;
}

static gboolean
change_unset (BktGsettings *self, BktManifestSet *manifests, GVariant *arguments, GPtrArray *ops, GError **error)
{
  g_autofree char *schema_id = NULL, *key_name = NULL, *path = NULL;
  g_autofree char *entry_key = NULL;
  g_auto(Setting) s = { 0 };
  g_autoptr(GError) local_error = NULL;
  JsonObject *entry;

  if (!string_arg (arguments, "schema", TRUE, &schema_id, error) ||
      !string_arg (arguments, "key", TRUE, &key_name, error) ||
      !string_arg (arguments, "path", FALSE, &path, error) ||
      !check_name ("schema", schema_id, error) ||
      !check_name ("key", key_name, error) ||
      !check_name ("path", path, error))
    return FALSE;

  entry_key = make_entry_key (schema_id, path, key_name);
  entry = manifests != NULL ? bkt_manifest_set_lookup (manifests, BKT_MANIFEST_GSETTINGS, entry_key) : NULL;
  if (bkt_gsettings_resolve_key (self, schema_id, path, key_name, TRUE, &s, &local_error))
    {
      GVariant *user = user_value (self, &s);

      if (user != NULL)
        g_ptr_array_add (ops, reset_op_new (self, &s, user));
    }
  else if (entry == NULL || !g_error_matches (local_error, BKT_ERROR, BKT_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* Otherwise the machine lacks the schema or key: forgetting the entry is
   * exactly how a user cleans that up. */

  if (entry != NULL)
    {
      g_autofree char *target = bkt_gsettings_make_target (schema_id, path, key_name);
      g_autofree char *summary = g_strdup_printf ("Forget %s", target);

      g_ptr_array_add (ops, bkt_operation_new_forget (SUBSYSTEM_NAME, BKT_MANIFEST_GSETTINGS,
                                                      target, summary, entry_key));
    }
  return TRUE;
}

static gboolean
change_capture (BktGsettings *self, BktManifestSet *manifests, GVariant *arguments, GPtrArray *ops, GError **error)
{
  g_autofree char *schema_id = NULL, *path = NULL;
  g_auto(Setting) combo = { 0 };
  g_autoptr(GHashTable) index = NULL;

  if (!string_arg (arguments, "schema", TRUE, &schema_id, error) ||
      !string_arg (arguments, "path", FALSE, &path, error) ||
      !check_name ("schema", schema_id, error) ||
      !check_name ("path", path, error) ||
      !bkt_gsettings_resolve_schema (self, schema_id, path, TRUE, &combo, error))
    return FALSE;
  index = index_entries (manifest_entries (manifests, NULL));
  capture_schema (self, index, &combo, ops);
  return TRUE;
}

static gboolean
plan_change_confined (BktGsettings *self, gpointer data)
{
  Call *call = data;
  g_autoptr(GPtrArray) new_ops = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean ok;

  if (g_strcmp0 (call->action, "set") == 0)
    ok = change_set (self, call->manifests, call->arguments, new_ops, call->error);
  else if (g_strcmp0 (call->action, "unset") == 0)
    ok = change_unset (self, call->manifests, call->arguments, new_ops, call->error);
  else
    ok = change_capture (self, call->manifests, call->arguments, new_ops, call->error);
  if (ok)
    append_ops (call->ops, new_ops);
  return ok;
}

static gboolean
bkt_gsettings_plan_change (BktSubsystem *subsystem, BktManifestSet *manifests, const char *action,
                           GVariant *arguments, GPtrArray *ops, GError **error)
{
  Call call = { .manifests = manifests, .action = action, .arguments = arguments, .ops = ops, .error = error };

  if (arguments != NULL && !g_variant_is_of_type (arguments, G_VARIANT_TYPE_VARDICT))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "arguments must be a dictionary (a{sv}), not %s",
                        g_variant_get_type_string (arguments)), FALSE;
  if (g_strcmp0 (action, "set") != 0 && g_strcmp0 (action, "unset") != 0 && g_strcmp0 (action, "capture") != 0)
    {
      g_autofree char *shown = bkt_gsettings_shorten (action != NULL ? action : "");
      return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                          "subsystem gsettings has no action “%s” (set, unset, capture)", shown), FALSE;
    }
  return bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), plan_change_confined, &call);
}

/* ── execute ───────────────────────────────────────────────────────────── */

/* The whole batch runs in the owner of the main context (bkt_gsettings_run_confined()),
 * which is busy meanwhile: a cancellation requested over D-Bus then is
 * seen after it, by the engine's check before its next step.  It takes
 * milliseconds (75 ms for 500 keys in the benchmark): the operations are
 * in-memory edits, the writes one per schema and MAX_KEYS_PER_APPLY keys. */
static gboolean
bkt_gsettings_execute (BktSubsystem *subsystem, GPtrArray *ops, BktExecContext *ctx,
                       GCancellable *cancellable, GError **error)
{
  Call call = { .ops = ops, .exec = ctx, .cancellable = cancellable, .error = error };

  return bkt_gsettings_run_confined (BKT_GSETTINGS (subsystem), bkt_gsettings_execute_confined, &call);
}

static void
bkt_gsettings_subsystem_init (BktSubsystemInterface *iface)
{
  iface->get_name = bkt_gsettings_get_name;
  iface->load_live = bkt_gsettings_load_live;
  iface->plan_apply = bkt_gsettings_plan_apply;
  iface->plan_capture = bkt_gsettings_plan_capture;
  iface->plan_change = bkt_gsettings_plan_change;
  iface->status = bkt_gsettings_status;
  iface->execute = bkt_gsettings_execute;
  iface->items = bkt_gsettings_items;
  iface->plan_prune = bkt_gsettings_plan_prune;
}
