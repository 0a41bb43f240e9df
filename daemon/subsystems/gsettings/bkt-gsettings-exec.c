/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

/* Only for g_settings_backend_get_default(): see backend_hint(). */
#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>

#include "bkt-error.h"
#include "bkt-gsettings-private.h"

/* Writing: the operations of a plan staged per schema in delay-apply
 * GSettings, applied, synced and read back through fresh GSettings before
 * any is reported done; and the string-array get/set the extension
 * subsystem uses for org.gnome.shell's lists. */

/* GSettings aborts (g_assert (l < 256) in gsettings.c) when one change
 * notification names 256 or more keys of one GSettings object, and an
 * applied change set is one notification to every GSettings watching that
 * path.  Execute therefore applies at most this many keys at a time. */
#define MAX_KEYS_PER_APPLY 255

/* The GSettings used for writing work in delay-apply mode: each schema's
 * changes reach the backend as one change set (one keyfile rewrite or
 * dconf change instead of one per key; a daemon killed halfway leaves a
 * schema of up to MAX_KEYS_PER_APPLY changed keys either untouched or
 * done).  Everything that can make a change fail (schema, type, range,
 * lock) is checked per operation before staging. */
typedef struct
{
  GSettings *settings;
  guint      n_staged;  /* since the last g_settings_apply() */
} Writer;

static void
writer_free (Writer *w)
{
  g_object_unref (w->settings);
  g_free (w);
}

static Writer *
writer_for (GHashTable *writers, Setting *s)
{
  Writer *w = g_hash_table_lookup (writers, s->combo);

  if (w == NULL)
    {
      w = g_new0 (Writer, 1);
      w->settings = g_settings_new_full (s->schema, NULL, s->path);
      g_settings_delay (w->settings);
      g_hash_table_insert (writers, g_strdup (s->combo), w);
    }
  return w;
}

static gboolean
stage_one (GSettings *settings, Setting *s, BktOperation *op, GError **error)
{
  const char *action = bkt_operation_get_action (op);

  if (!g_settings_is_writable (settings, s->key_name))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                        "%s %s is locked by the system administrator", s->schema_id, s->key_name), FALSE;
  if (g_strcmp0 (action, "set") == 0)
    {
      const char *text = bkt_operation_get_detail_string (op, "value");
      g_autoptr(GVariant) value = NULL;

      if (text == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                            "operation %s lacks a value", bkt_operation_get_id (op)), FALSE;
      if ((value = bkt_gsettings_parse_value (s, text, error)) == NULL)
        return FALSE;
      if (!g_settings_set_value (settings, s->key_name, value))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                            "could not set %s %s", s->schema_id, s->key_name), FALSE;
      return TRUE;
    }
  if (g_strcmp0 (action, "reset") == 0)
    {
      g_settings_reset (settings, s->key_name);
      return TRUE;
    }
  return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                      "gsettings cannot execute “%s”", action), FALSE;
}

static gboolean
execute_one (BktGsettings *self, GHashTable *writers, BktOperation *op, GError **error)
{
  const char *schema_id = bkt_operation_get_detail_string (op, "schema");
  const char *key_name = bkt_operation_get_detail_string (op, "key");
  g_auto(Setting) s = { 0 };
  Writer *w;

  if (schema_id == NULL || key_name == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                        "operation %s lacks a schema or key", bkt_operation_get_id (op)), FALSE;
  /* Re-validate: the plan may be older than the installed schemas. */
  if (!bkt_gsettings_resolve_key (self, schema_id, bkt_operation_get_detail_string (op, "path"), key_name, FALSE, &s, error))
    return FALSE;
  w = writer_for (writers, &s);
  if (!stage_one (w->settings, &s, op, error))
    return FALSE;
  /* Counting operations, not distinct keys, errs on the safe side. */
  if (++w->n_staged == MAX_KEYS_PER_APPLY)
    {
      g_settings_apply (w->settings);
      w->n_staged = 0;
    }
  return TRUE;
}

/* Why a write may not have been kept, and the fix. */
static const char *
backend_hint (void)
{
  GSettingsBackend *backend = g_settings_backend_get_default ();
  gboolean dconf = g_strcmp0 (G_OBJECT_TYPE_NAME (backend), "DConfSettingsBackend") == 0;

  g_object_unref (backend);
  return dconf ? ": dconf writes through its service on the session bus; without a session bus, "
                 "run `dbus-run-session -- bkt …` or from a desktop session" : "";
}

/* ✓ only after the effect is verified: once the backend has taken the
 * batch (g_settings_sync()), each written key is read back through a fresh
 * GSettings (not the caches of the plan, not the delayed writer).  A
 * backend that dropped the write — dconf without a session bus, which
 * only warns — reads back the old value. */
static gboolean
verify_one (BktGsettings *self, GHashTable *readers, BktOperation *op, GError **error)
{
  g_auto(Setting) s = { 0 };
  g_autoptr(GVariant) want = NULL;
  g_autoptr(GVariant) got = NULL;
  g_autofree char *shown = NULL;
  gboolean reset = g_strcmp0 (bkt_operation_get_action (op), "reset") == 0;
  GSettings *reader;

  if (!bkt_gsettings_resolve_key (self, bkt_operation_get_detail_string (op, "schema"), bkt_operation_get_detail_string (op, "path"),
                    bkt_operation_get_detail_string (op, "key"), FALSE, &s, error))
    return FALSE;
  reader = g_hash_table_lookup (readers, s.combo);
  if (reader == NULL)
    {
      reader = g_settings_new_full (s.schema, NULL, s.path);
      g_hash_table_insert (readers, g_strdup (s.combo), reader);
    }
  if (reset)
    got = g_settings_get_user_value (reader, s.key_name);
  else
    {
      if ((want = bkt_gsettings_parse_value (&s, bkt_operation_get_detail_string (op, "value"), error)) == NULL)
        return FALSE;
      got = g_settings_get_value (reader, s.key_name);
    }
  if (reset ? got == NULL : g_variant_equal (got, want))
    return TRUE;
  shown = got != NULL ? g_variant_print (got, TRUE) : g_strdup ("(unset)");
  return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                      "%s %s was not kept: it reads back as %s%s", s.schema_id, s.key_name, shown,
                      backend_hint ()), FALSE;
}

gboolean
bkt_gsettings_execute_confined (BktGsettings *self, gpointer data)
{
  Call *call = data;
  g_autoptr(GHashTable) writers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) writer_free);
  g_autoptr(GHashTable) readers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  g_autoptr(GPtrArray) staged = g_ptr_array_new ();
  g_autoptr(GError) cancel_error = NULL;
  GHashTableIter iter;
  gpointer w;

  for (guint i = 0; i < call->ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (call->ops, i);
      g_autoptr(GError) op_error = NULL;

      /* Every operation gets a result, including the ones a cancellation
       * kept from running. */
      if (cancel_error == NULL && g_cancellable_is_cancelled (call->cancellable))
        g_set_error (&cancel_error, BKT_ERROR, BKT_ERROR_CANCELLED, "cancelled");
      if (cancel_error != NULL)
        {
          bkt_exec_context_op_done (call->exec, op, cancel_error);
          continue;
        }
      bkt_exec_context_progress (call->exec, op, 0.0, bkt_operation_get_summary (op));
      if (execute_one (self, writers, op, &op_error))
        g_ptr_array_add (staged, op);
      else
        bkt_exec_context_op_done (call->exec, op, op_error);
      bkt_exec_context_progress (call->exec, op, 1.0, NULL);
    }

  /* What was staged before a cancellation is written too: those
   * operations ran, only the later ones were kept from running. */
  g_hash_table_iter_init (&iter, writers);
  while (g_hash_table_iter_next (&iter, NULL, &w))
    g_settings_apply (((Writer *) w)->settings);
  /* Writes may be queued in the backend: wait until it has them, then
   * read back (one fresh GSettings per schema for the whole batch). */
  g_settings_sync ();
  for (guint i = 0; i < staged->len; i++)
    {
      BktOperation *op = g_ptr_array_index (staged, i);
      g_autoptr(GError) op_error = NULL;

      verify_one (self, readers, op, &op_error);
      bkt_exec_context_op_done (call->exec, op, op_error);
    }

  if (cancel_error != NULL)
    {
      g_propagate_error (call->error, g_steal_pointer (&cancel_error));
      return FALSE;
    }
  return TRUE;
}

/* ── string arrays for other subsystems ────────────────────────────────── */

typedef struct
{
  const char         *schema_id;
  const char         *key;
  const char * const *value;  /* in: set */
  gboolean            found;  /* out: get */
  GStrv               result; /* out: get */
  GError            **error;
} StrvCall;

static GSettingsSchema *
strv_schema (BktGsettings *self, const char *schema_id, const char *key)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsSchemaKey) k = NULL;

  bkt_gsettings_ensure_loaded (self);
  if (self->source == NULL)
    return NULL;
  schema = g_settings_schema_source_lookup (self->source, schema_id, TRUE);
  if (schema == NULL || !g_settings_schema_has_key (schema, key))
    return NULL;
  k = g_settings_schema_get_key (schema, key);
  if (!g_variant_type_equal (g_settings_schema_key_get_value_type (k), G_VARIANT_TYPE_STRING_ARRAY))
    return NULL;
  return g_steal_pointer (&schema);
}

static gboolean
get_strv_confined (BktGsettings *self, gpointer data)
{
  StrvCall *call = data;
  g_autoptr(GSettingsSchema) schema = strv_schema (self, call->schema_id, call->key);
  g_autoptr(GSettings) settings = NULL;

  call->found = schema != NULL;
  if (schema == NULL)
    return TRUE;
  settings = g_settings_new_full (schema, NULL, NULL);
  call->result = g_settings_get_strv (settings, call->key);
  return TRUE;
}

static gboolean
set_strv_confined (BktGsettings *self, gpointer data)
{
  StrvCall *call = data;
  g_autoptr(GSettingsSchema) schema = strv_schema (self, call->schema_id, call->key);
  g_autoptr(GSettings) settings = NULL;

  if (schema == NULL)
    return g_set_error (call->error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "GSettings schema %s with a key %s (as) "
                        "is not installed", call->schema_id, call->key), FALSE;
  settings = g_settings_new_full (schema, NULL, NULL);
  if (!g_settings_is_writable (settings, call->key))
    return g_set_error (call->error, BKT_ERROR, BKT_ERROR_FAILED, "%s %s is locked by the system administrator",
                        call->schema_id, call->key), FALSE;
  if (!g_settings_set_strv (settings, call->key, call->value))
    return g_set_error (call->error, BKT_ERROR, BKT_ERROR_FAILED, "could not set %s %s",
                        call->schema_id, call->key), FALSE;
  g_settings_sync ();
  return TRUE;
}

gboolean
bkt_gsettings_get_strv (const char *schema_id, const char *key, gboolean *found, GStrv *value, GError **error)
{
  g_autoptr(BktGsettings) self = g_object_new (BKT_TYPE_GSETTINGS, NULL);
  StrvCall call = { .schema_id = schema_id, .key = key, .error = error };

  bkt_gsettings_run_confined (self, get_strv_confined, &call);
  *found = call.found;
  *value = call.result != NULL ? call.result : g_new0 (char *, 1);
  return TRUE;
}

gboolean
bkt_gsettings_set_strv (const char *schema_id, const char *key, const char * const *value, GError **error)
{
  g_autoptr(BktGsettings) self = g_object_new (BKT_TYPE_GSETTINGS, NULL);
  StrvCall call = { .schema_id = schema_id, .key = key, .value = value, .error = error };

  return bkt_gsettings_run_confined (self, set_strv_confined, &call);
}
