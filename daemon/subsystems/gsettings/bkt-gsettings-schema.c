/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

/* Only for g_settings_backend_get_default(): see bkt_gsettings_run_confined(). */
#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>

#include "bkt-error.h"
#include "bkt-gsettings-private.h"
#include "bkt-text.h"

/* Schemas, keys and values: a Setting resolved against the installed
 * schemas (with "did you mean" for typos), a value parsed and checked
 * against its key's type and range, and the confinement of every use of
 * GSettings to the owner of the default main context. */

void
bkt_gsettings_setting_clear (Setting *s)
{
  g_clear_pointer (&s->schema_id, g_free);
  g_clear_pointer (&s->path, g_free);
  g_clear_pointer (&s->key_name, g_free);
  g_clear_pointer (&s->combo, g_free);
  g_clear_pointer (&s->target, g_free);
  g_clear_pointer (&s->key, g_settings_schema_key_unref);
  g_clear_pointer (&s->schema, g_settings_schema_unref);
}

void
bkt_gsettings_setting_copy (const Setting *from, Setting *to)
{
  to->schema_id = g_strdup (from->schema_id);
  to->path = g_strdup (from->path);
  to->key_name = g_strdup (from->key_name);
  to->combo = g_strdup (from->combo);
  to->target = g_strdup (from->target);
  to->schema = from->schema != NULL ? g_settings_schema_ref (from->schema) : NULL;
  to->key = from->key != NULL ? g_settings_schema_key_ref (from->key) : NULL;
}

void
bkt_gsettings_setting_free (Setting *s)
{
  bkt_gsettings_setting_clear (s);
  g_free (s);
}

/* ── confinement ───────────────────────────────────────────────────────── */

/* See bkt_gsettings_run_confined() in bkt-gsettings-private.h. */
typedef struct
{
  BktGsettings *self;
  ConfinedFunc  func;
  gpointer      data;
  gboolean      result;
  gboolean      done;
  GMutex        lock;
  GCond         cond;
} Confined;

static gboolean
confined_call (Confined *c)
{
  gboolean result;

  g_main_context_push_thread_default (c->self->context);
  /* GIO keeps the singleton: this only makes sure it exists. */
  g_object_unref (g_settings_backend_get_default ());
  result = c->func (c->self, c->data);
  g_main_context_pop_thread_default (c->self->context);
  return result;
}

static gboolean
confined_dispatch (gpointer user_data)
{
  Confined *c = user_data;
  gboolean result = confined_call (c);

  g_mutex_lock (&c->lock);
  c->result = result;
  c->done = TRUE;
  g_cond_signal (&c->cond);
  g_mutex_unlock (&c->lock);
  return G_SOURCE_REMOVE;
}

gboolean
bkt_gsettings_run_confined (BktGsettings *self, ConfinedFunc func, gpointer data)
{
  Confined c = { self, func, data, FALSE, FALSE };
  gboolean result;

  if (g_main_context_acquire (self->context))
    {
      result = confined_call (&c);
      g_main_context_release (self->context);
      return result;
    }
  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, confined_dispatch, &c, NULL);
  g_mutex_lock (&c.lock);
  while (!c.done)
    g_cond_wait (&c.cond, &c.lock);
  result = c.result;
  g_mutex_unlock (&c.lock);
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  return result;
}

void
bkt_gsettings_ensure_loaded (BktGsettings *self)
{
  GSettingsSchemaSource *source;

  if (self->loaded)
    return;
  /* The default source honours GSETTINGS_SCHEMA_DIR and XDG_DATA_DIRS; GLib
   * builds it once per process, so a long-running daemon sees schemas
   * installed after its start only after it idles out and restarts. */
  source = g_settings_schema_source_get_default ();
  self->source = source != NULL ? g_settings_schema_source_ref (source) : NULL;
  self->loaded = TRUE;
}

char *
bkt_gsettings_shorten (const char *text)
{
  if (g_utf8_strlen (text, -1) <= MAX_SHOWN)
    return g_strdup (text);
  return g_strdup_printf ("%.*s…", (int) (g_utf8_offset_to_pointer (text, MAX_SHOWN) - text), text);
}

char *
bkt_gsettings_make_combo (const char *schema_id, const char *path)
{
  return path != NULL ? g_strconcat (schema_id, ":", path, NULL) : g_strdup (schema_id);
}

char *
bkt_gsettings_make_target (const char *schema_id, const char *path, const char *key_name)
{
  g_autofree char *combo = bkt_gsettings_make_combo (schema_id, path);
  return g_strconcat ("gsetting:", combo, ".", key_name, NULL);
}

/* ── suggestions ───────────────────────────────────────────────────────── */

typedef struct
{
  guint       distance;
  const char *name;
} Candidate;

static gint
candidate_compare (gconstpointer a, gconstpointer b)
{
  const Candidate *ca = a, *cb = b;

  if (ca->distance != cb->distance)
    return ca->distance < cb->distance ? -1 : 1;
  return strcmp (ca->name, cb->name);
}

/* "; did you mean X?" for close names (a typo, or the start of a name), or
 * an empty string. */
static char *
suggest (const char *wanted, const char * const *names)
{
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr(GString) out = g_string_new (NULL);
  gsize wanted_len = strlen (wanted);
  /* Three edits turn any four-letter key into half the schema's others:
   * short names get fewer. */
  guint max = (guint) CLAMP (wanted_len / 3, 1, MAX_DISTANCE);

  for (gsize i = 0; names != NULL && names[i] != NULL; i++)
    {
      Candidate c = { bkt_text_edit_distance (wanted, names[i], max, FALSE), names[i] };

      /* Short prefixes would match everything and help nobody. */
      if (c.distance > max && wanted_len >= 3 && g_str_has_prefix (names[i], wanted))
        c.distance = MAX_DISTANCE + 1;
      else if (c.distance > max)
        continue;
      g_array_append_val (found, c);
    }
  if (found->len == 0)
    return g_strdup ("");
  g_array_sort (found, candidate_compare);
  g_string_append (out, found->len == 1 ? "; did you mean " : "; did you mean one of ");
  for (guint i = 0; i < found->len && i < MAX_SUGGESTIONS; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? ", " : "", g_array_index (found, Candidate, i).name);
  g_string_append_c (out, '?');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
suggest_schema (BktGsettings *self, const char *schema_id)
{
  g_auto(GStrv) fixed = NULL, relocatable = NULL;
  g_autoptr(GPtrArray) all = g_ptr_array_new ();

  if (self->source == NULL)
    return g_strdup ("");
  g_settings_schema_source_list_schemas (self->source, TRUE, &fixed, &relocatable);
  for (gsize i = 0; fixed[i] != NULL; i++)
    g_ptr_array_add (all, fixed[i]);
  for (gsize i = 0; relocatable[i] != NULL; i++)
    g_ptr_array_add (all, relocatable[i]);
  g_ptr_array_add (all, NULL);
  return suggest (schema_id, (const char * const *) all->pdata);
}

/* GSettings aborts on a malformed path, so check it before it gets there. */
static gboolean
path_is_valid (const char *path)
{
  return path[0] == '/' && g_str_has_suffix (path, "/") && strstr (path, "//") == NULL;
}

/* Resolve @schema_id (+@path) into @s.  BKT_ERROR_NOT_FOUND when this
 * machine does not have the schema (with close names when @suggestions),
 * BKT_ERROR_INVALID_ARGUMENT when the path does not fit the schema. */
gboolean
bkt_gsettings_resolve_schema (BktGsettings *self, const char *schema_id, const char *path,
                gboolean suggestions, Setting *s, GError **error)
{
  bkt_gsettings_ensure_loaded (self);
  s->schema_id = g_strdup (schema_id);
  s->path = g_strdup (path);
  s->combo = bkt_gsettings_make_combo (schema_id, path);
  s->schema = self->source != NULL ? g_settings_schema_source_lookup (self->source, schema_id, TRUE) : NULL;
  if (s->schema == NULL)
    {
      g_autofree char *hint = suggestions ? suggest_schema (self, schema_id) : g_strdup ("");
      return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                          "schema %s is not installed%s", schema_id, hint), FALSE;
    }
  if (path != NULL && !path_is_valid (path))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "path '%s' for %s is not valid: it must start and end with '/' "
                        "and must not contain '//'", path, schema_id), FALSE;
  if (g_settings_schema_get_path (s->schema) == NULL && path == NULL)
    {
      g_autofree char *example = g_strdelimit (g_strdup (schema_id), ".", '/');
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "schema %s is relocatable: a path is needed (e.g. /%s/)",
                          schema_id, example), FALSE;
    }
  if (g_settings_schema_get_path (s->schema) != NULL && path != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "schema %s has the fixed path %s: no path may be given",
                        schema_id, g_settings_schema_get_path (s->schema)), FALSE;
  return TRUE;
}

gboolean
bkt_gsettings_resolve_key (BktGsettings *self, const char *schema_id, const char *path, const char *key_name,
             gboolean suggestions, Setting *s, GError **error)
{
  if (!bkt_gsettings_resolve_schema (self, schema_id, path, suggestions, s, error))
    return FALSE;
  s->key_name = g_strdup (key_name);
  s->target = bkt_gsettings_make_target (schema_id, path, key_name);
  if (!g_settings_schema_has_key (s->schema, key_name))
    {
      g_auto(GStrv) keys = suggestions ? g_settings_schema_list_keys (s->schema) : NULL;
      g_autofree char *hint = suggestions ? suggest (key_name, (const char * const *) keys) : g_strdup ("");
      return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                          "schema %s has no key %s%s", schema_id, key_name, hint), FALSE;
    }
  s->key = g_settings_schema_get_key (s->schema, key_name);
  return TRUE;
}

static char *
describe_type (const GVariantType *type)
{
  static const struct { const char *type; const char *name; } names[] = {
    { "b", "boolean" }, { "y", "byte" }, { "n", "int16" }, { "q", "uint16" },
    { "i", "int32" }, { "u", "uint32" }, { "x", "int64" }, { "t", "uint64" },
    { "h", "handle" }, { "d", "double" }, { "s", "string" }, { "o", "object path" },
    { "g", "signature" }, { "as", "string array" },
  };
  g_autofree char *text = g_variant_type_dup_string (type);

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (text, names[i].type) == 0)
      return g_strdup (names[i].name);
  return g_strdup_printf ("value of type '%s'", text);
}

static gboolean
set_range_error (Setting *s, const char *text, GError **error)
{
  g_autoptr(GVariant) range = g_settings_schema_key_get_range (s->key);
  g_autoptr(GVariant) detail = NULL;
  g_autofree char *shown = bkt_gsettings_shorten (text);
  g_autoptr(GString) allowed = g_string_new (NULL);
  const char *kind = NULL;

  g_variant_get (range, "(&sv)", &kind, &detail);
  if ((strcmp (kind, "enum") == 0 || strcmp (kind, "flags") == 0) &&
      g_variant_is_of_type (detail, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_string_append (allowed, strcmp (kind, "enum") == 0 ? "allowed values are " : "allowed flags are ");
      for (gsize i = 0; i < g_variant_n_children (detail); i++)
        {
          g_autoptr(GVariant) choice = g_variant_get_child_value (detail, i);
          g_autofree char *printed = g_variant_print (choice, FALSE);
          g_string_append_printf (allowed, "%s%s", i > 0 ? ", " : "", printed);
        }
    }
  else if (strcmp (kind, "range") == 0 && g_variant_n_children (detail) == 2)
    {
      g_autoptr(GVariant) min = g_variant_get_child_value (detail, 0);
      g_autoptr(GVariant) max = g_variant_get_child_value (detail, 1);
      g_autofree char *min_text = g_variant_print (min, FALSE);
      g_autofree char *max_text = g_variant_print (max, FALSE);
      g_string_append_printf (allowed, "it must be between %s and %s", min_text, max_text);
    }
  else
    g_string_append (allowed, "the schema does not allow it");
  return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                      "value '%s' is out of range for %s %s: %s",
                      shown, s->schema_id, s->key_name, allowed->str), FALSE;
}

/* The value @text means for the resolved key @s, checked against the
 * key's type, range and choices; BKT_ERROR_INVALID_ARGUMENT if it has none. */
GVariant *
bkt_gsettings_parse_value (Setting *s, const char *text, GError **error)
{
  const GVariantType *type = g_settings_schema_key_get_value_type (s->key);
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GVariant) value = NULL;

  if (strlen (text) > MAX_VALUE_LENGTH)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "value for %s %s is longer than %d bytes",
                        s->schema_id, s->key_name, MAX_VALUE_LENGTH), NULL;
  value = g_variant_parse (type, text, NULL, NULL, &parse_error);
  /* As `gsettings set` does (and so manifests of the original tool, which
   * handed their values to it): a string without quotes is that string. */
  if (value == NULL && g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
    value = g_variant_ref_sink (g_variant_new_string (text));
  if (value == NULL)
    {
      g_autofree char *shown = bkt_gsettings_shorten (text);
      g_autofree char *type_name = describe_type (type);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "value '%s' is not a valid %s for %s %s: %s",
                          shown, type_name, s->schema_id, s->key_name, parse_error->message), NULL;
    }
  if (!g_settings_schema_key_range_check (s->key, value))
    return set_range_error (s, text, error), NULL;
  return g_steal_pointer (&value);
}
