/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-state-record.h"

#define RECORD_FILE "state.json"

struct _BktStateRecord
{
  GObject          parent_instance;
  BktScope         scope;
  BktRecordHealth  health;
  char            *dir;       /* NULL: in memory only */
  char            *warning;
  GHashTable      *items;     /* target → BktRecordEntry* */
};

G_DEFINE_TYPE (BktStateRecord, bkt_state_record, G_TYPE_OBJECT)

static const char * const state_names[] = {
  "in-sync", "to-apply", "to-capture", "conflict", "never-synced", "untracked", "two-way",
};
static const char * const state_directions[] = {
  "none", "apply", "capture", "conflict", "apply", "capture", "two-way",
};

const char *
bkt_sync_state_to_string (BktSyncState state)
{
  g_return_val_if_fail (state <= BKT_SYNC_TWO_WAY, "two-way");
  return state_names[state];
}

const char *
bkt_sync_state_direction (BktSyncState state)
{
  g_return_val_if_fail (state <= BKT_SYNC_TWO_WAY, "two-way");
  return state_directions[state];
}

/* Entries are never changed once made (set() replaces one), so records
 * share them: a reference-counted box, atomic because the cache below
 * hands them to requests in several worker threads. */
static BktRecordEntry *
entry_new (void)
{
  return g_atomic_rc_box_new0 (BktRecordEntry);
}

static void
entry_clear (BktRecordEntry *e)
{
  g_free (e->value);
  g_free (e->layer);
  g_free (e->file);
  g_free (e->command);
  g_free (e->when);
}

static void
entry_free (BktRecordEntry *e)
{
  g_atomic_rc_box_release_full (e, (GDestroyNotify) entry_clear);
}

static void
bkt_state_record_finalize (GObject *object)
{
  BktStateRecord *self = BKT_STATE_RECORD (object);

  g_free (self->dir);
  g_free (self->warning);
  g_hash_table_unref (self->items);
  G_OBJECT_CLASS (bkt_state_record_parent_class)->finalize (object);
}

static void
bkt_state_record_class_init (BktStateRecordClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_state_record_finalize;
}

static void
bkt_state_record_init (BktStateRecord *self)
{
  self->items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
}

char *
bkt_state_record_default_dir (BktScope scope)
{
  const char *env;

  if (scope == BKT_SCOPE_SYSTEM)
    {
      env = g_getenv ("BKT_SYSTEM_STATE_DIR");
      return g_strdup (env != NULL && g_path_is_absolute (env) ? env : "/var/lib/bkt");
    }
  /* Read each time (GLib caches its answer): a test sets it per case. */
  env = g_getenv ("XDG_STATE_HOME");
  if (env != NULL && g_path_is_absolute (env))
    return g_build_filename (env, "bkt", NULL);
  return g_build_filename (g_get_user_state_dir (), "bkt", NULL);
}

char *
bkt_state_fingerprint (const char *value)
{
  g_autofree char *sum = NULL;

  if (value == NULL)
    return NULL;
  if (strlen (value) <= BKT_STATE_VALUE_MAX || g_str_has_prefix (value, "sha256:"))
    return g_strdup (value);
  sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, value, -1);
  return g_strconcat ("sha256:", sum, NULL);
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

/* One item of the file; FALSE if it is not the shape save() writes. */
static gboolean
parse_item (BktStateRecord *self, const char *target, JsonNode *node)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *value;
  BktRecordEntry *e;

  if (o == NULL || !json_object_has_member (o, "value"))
    return FALSE;
  value = json_object_get_member (o, "value");
  if (!JSON_NODE_HOLDS_NULL (value) && member_string (o, "value") == NULL)
    return FALSE;
  e = entry_new ();
  e->value = g_strdup (member_string (o, "value"));
  e->layer = g_strdup (member_string (o, "layer"));
  e->file = g_strdup (member_string (o, "file"));
  e->command = g_strdup (member_string (o, "command"));
  e->when = g_strdup (member_string (o, "when"));
  g_hash_table_replace (self->items, g_strdup (target), e);
  return TRUE;
}

/* The file's content into self->items; FALSE with a reason otherwise
 * (the items read so far are dropped by the caller). */
static gboolean
parse_record (BktStateRecord *self, const char *data, gsize len, char **reason)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  JsonObject *root = NULL, *items;
  JsonNode *version, *root_node;
  g_autoptr(GList) members = NULL;

  if (!json_parser_load_from_data (parser, data, len, &error))
    return *reason = g_strdup_printf ("not JSON (%s)", error->message), FALSE;
  root_node = json_parser_get_root (parser);
  if (root_node != NULL && JSON_NODE_HOLDS_OBJECT (root_node))
    root = json_node_get_object (root_node);
  if (root == NULL)
    return *reason = g_strdup ("not a JSON object"), FALSE;
  version = json_object_get_member (root, "version");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version) || json_node_get_value_type (version) != G_TYPE_INT64 ||
      json_node_get_int (version) != BKT_STATE_RECORD_VERSION)
    return *reason = g_strdup_printf ("\"version\" is not %d", BKT_STATE_RECORD_VERSION), FALSE;
  if (!json_object_has_member (root, "items") || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "items")))
    return *reason = g_strdup ("no \"items\" object"), FALSE;
  items = json_object_get_object_member (root, "items");
  if (json_object_get_size (items) > BKT_STATE_RECORD_MAX_ITEMS)
    return *reason = g_strdup_printf ("more than %d items", BKT_STATE_RECORD_MAX_ITEMS), FALSE;
  members = json_object_get_members (items);
  for (GList *l = members; l != NULL; l = l->next)
    if (!parse_item (self, l->data, json_object_get_member (items, l->data)))
      return *reason = g_strdup_printf ("item “%s” has no string or null \"value\"", (char *) l->data), FALSE;
  return TRUE;
}

/* ---- the parsed-record cache ------------------------------------------------
 *
 * Every request of a warm session daemon reads the record (status, plans,
 * explain), and parsing its JSON with json-glib was about half of the CPU
 * time of a `bkt status --only shim` at the reference load (550 entries;
 * docs/benchmarks.md, "Three-way sync").  So the entries of the last parse
 * of each file are kept, keyed by the file's identity: bkt writes the
 * record by rename (a new inode), and any other write changes its size,
 * mtime or ctime, so a stale copy is never used.  Each load gets its own
 * table (callers change their record before writing it) of the shared,
 * never-changed entries. */

typedef struct {
  dev_t       dev;
  ino_t       ino;
  off_t       size;
  gint64      mtime_ns;
  gint64      ctime_ns;
  GHashTable *items;   /* target → BktRecordEntry*, never handed out */
} CachedRecord;

#define RECORD_CACHE_MAX 8   /* user + system, and a few test homes */

G_LOCK_DEFINE_STATIC (record_cache);
static GHashTable *record_cache;  /* path → CachedRecord* */

static void
cached_record_free (CachedRecord *c)
{
  g_hash_table_unref (c->items);
  g_free (c);
}

static gboolean
cached_record_matches (const CachedRecord *c, const GStatBuf *st)
{
  return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
         c->mtime_ns == (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec &&
         c->ctime_ns == (gint64) st->st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_ctim.tv_nsec;
}

/* A new table of the same (shared) entries. */
static void
copy_items (GHashTable *from, GHashTable *to)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, from);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (to, g_strdup (key), g_atomic_rc_box_acquire (value));
}

/* The cached entries of @path into @items, if the file is still the one
 * they were parsed from. */
static gboolean
cache_lookup (const char *path, const GStatBuf *st, GHashTable *items)
{
  CachedRecord *c;
  gboolean hit = FALSE;

  G_LOCK (record_cache);
  c = record_cache != NULL ? g_hash_table_lookup (record_cache, path) : NULL;
  if (c != NULL && cached_record_matches (c, st))
    {
      copy_items (c->items, items);
      hit = TRUE;
    }
  G_UNLOCK (record_cache);
  return hit;
}

static void
cache_store (const char *path, const GStatBuf *st, GHashTable *items)
{
  CachedRecord *c = g_new0 (CachedRecord, 1);

  c->dev = st->st_dev;
  c->ino = st->st_ino;
  c->size = st->st_size;
  c->mtime_ns = (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec;
  c->ctime_ns = (gint64) st->st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_ctim.tv_nsec;
  c->items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  copy_items (items, c->items);
  G_LOCK (record_cache);
  if (record_cache == NULL)
    record_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cached_record_free);
  if (g_hash_table_size (record_cache) >= RECORD_CACHE_MAX && !g_hash_table_contains (record_cache, path))
    g_hash_table_remove_all (record_cache);
  g_hash_table_replace (record_cache, g_strdup (path), c);
  G_UNLOCK (record_cache);
}

BktStateRecord *
bkt_state_record_new_empty (BktScope scope)
{
  BktStateRecord *self = g_object_new (BKT_TYPE_STATE_RECORD, NULL);

  self->scope = scope;
  self->health = BKT_RECORD_MISSING;
  return self;
}

BktStateRecord *
bkt_state_record_load (BktScope scope, const char *dir)
{
  g_autoptr(BktStateRecord) self = bkt_state_record_new_empty (scope);
  g_autofree char *path = g_build_filename (dir, RECORD_FILE, NULL);
  g_autofree char *data = NULL;
  g_autofree char *reason = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;
  gsize len = 0;

  self->dir = g_strdup (dir);
  if (g_stat (path, &st) != 0 && errno == ENOENT)
    return g_steal_pointer (&self);  /* MISSING: the first run here */

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    reason = g_strdup ("not a regular file");
  else if (st.st_size > BKT_STATE_RECORD_MAX_BYTES)
    reason = g_strdup_printf ("larger than %d bytes", BKT_STATE_RECORD_MAX_BYTES);
  else if (cache_lookup (path, &st, self->items))
    {
      self->health = BKT_RECORD_OK;
      return g_steal_pointer (&self);
    }
  else if (!g_file_get_contents (path, &data, &len, &error))
    reason = g_strdup (error->message);
  else if (parse_record (self, data, len, &reason))
    {
      /* The stat before the read: a write in between leaves a key that
       * no longer matches, never a stale copy under a current key. */
      cache_store (path, &st, self->items);
      self->health = BKT_RECORD_OK;
      return g_steal_pointer (&self);
    }

  g_hash_table_remove_all (self->items);
  self->health = BKT_RECORD_CORRUPT;
  self->warning = g_strdup_printf ("the %s state record %s cannot be used (%s): without it bkt cannot tell "
                                   "which side changed, so it compares the manifests and the machine only "
                                   "(two-way); the file is kept as %s.corrupt when bkt next writes the record",
                                   bkt_scope_to_string (scope), path, reason, path);
  return g_steal_pointer (&self);
}

BktScope
bkt_state_record_get_scope (BktStateRecord *self)
{
  return self->scope;
}

BktRecordHealth
bkt_state_record_get_health (BktStateRecord *self)
{
  return self->health;
}

const char *
bkt_state_record_get_warning (BktStateRecord *self)
{
  return self->warning;
}

const char *
bkt_state_record_get_path (BktStateRecord *self)
{
  return self->dir;
}

guint
bkt_state_record_get_n_items (BktStateRecord *self)
{
  return g_hash_table_size (self->items);
}

const BktRecordEntry *
bkt_state_record_lookup (BktStateRecord *self, const char *target)
{
  return g_hash_table_lookup (self->items, target);
}

static char *
now_iso8601 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

void
bkt_state_record_set (BktStateRecord *self, const char *target, const char *value,
                      const char *layer, const char *file, const char *command)
{
  BktRecordEntry *e = entry_new ();

  e->value = bkt_state_fingerprint (value);
  e->layer = g_strdup (layer);
  e->file = g_strdup (file);
  e->command = g_strdup (command);
  e->when = now_iso8601 ();
  g_hash_table_replace (self->items, g_strdup (target), e);
}

void
bkt_state_record_remove (BktStateRecord *self, const char *target)
{
  g_hash_table_remove (self->items, target);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

GPtrArray *
bkt_state_record_get_targets (BktStateRecord *self)
{
  GPtrArray *targets = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  if (self->health != BKT_RECORD_CORRUPT)
    {
      g_hash_table_iter_init (&iter, self->items);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (targets, key);
    }
  g_ptr_array_sort (targets, compare_strings);
  return targets;
}

gboolean
bkt_record_entry_is_bkts (const BktRecordEntry *e)
{
  static const char * const acts[] = { "apply", "capture", "change", "local-commit", NULL };

  return e != NULL && e->command != NULL && g_strv_contains (acts, e->command);
}

static void
set_optional (JsonBuilder *b, const char *name, const char *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

/* Sorted by target, so that two saves of the same record are the same bytes. */
static char *
record_to_data (BktStateRecord *self, gsize *len)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree gpointer *keys = NULL;
  guint n = 0;

  keys = g_hash_table_get_keys_as_array (self->items, &n);
  qsort (keys, n, sizeof (gpointer), compare_strings);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, BKT_STATE_RECORD_VERSION);
  json_builder_set_member_name (b, "scope");
  json_builder_add_string_value (b, bkt_scope_to_string (self->scope));
  json_builder_set_member_name (b, "items");
  json_builder_begin_object (b);
  for (guint i = 0; i < n; i++)
    {
      BktRecordEntry *e = g_hash_table_lookup (self->items, keys[i]);

      json_builder_set_member_name (b, keys[i]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "value");
      if (e->value != NULL)
        json_builder_add_string_value (b, e->value);
      else
        json_builder_add_null_value (b);
      set_optional (b, "layer", e->layer);
      set_optional (b, "file", e->file);
      set_optional (b, "command", e->command);
      set_optional (b, "when", e->when);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, len);
}

gboolean
bkt_state_record_save (BktStateRecord *self, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  if (self->dir == NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED,
                                "this state record has no directory"), FALSE;
  if (g_hash_table_size (self->items) > BKT_STATE_RECORD_MAX_ITEMS)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "the state record would hold more than %d items",
                        BKT_STATE_RECORD_MAX_ITEMS), FALSE;
  if (!bkt_fs_mkdir_p (self->dir, 0755, error))
    return FALSE;
  path = g_build_filename (self->dir, RECORD_FILE, NULL);
  if (self->health == BKT_RECORD_CORRUPT)
    {
      g_autofree char *aside = g_strconcat (path, ".corrupt", NULL);

      /* The unreadable record may still mean something to its owner. */
      if (g_rename (path, aside) != 0 && errno != ENOENT)
        return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                            "cannot keep the unreadable state record as %s: %s", aside, g_strerror (errno)), FALSE;
    }
  data = record_to_data (self, &len);
  if (!bkt_write_file_atomic (path, data, len, 0644, error))
    return FALSE;
  self->health = BKT_RECORD_OK;
  g_clear_pointer (&self->warning, g_free);
  return TRUE;
}

BktSyncState
bkt_state_record_classify (BktStateRecord *self, const char *target,
                           const char *manifest, const char *live,
                           const BktRecordEntry **out_base)
{
  g_autofree char *m = bkt_state_fingerprint (manifest);
  g_autofree char *l = bkt_state_fingerprint (live);
  const BktRecordEntry *base = self->health == BKT_RECORD_CORRUPT ? NULL : bkt_state_record_lookup (self, target);
  gboolean m_is_base, l_is_base;

  if (out_base != NULL)
    *out_base = base;
  if (g_strcmp0 (m, l) == 0)
    return BKT_SYNC_IN_SYNC;
  if (self->health == BKT_RECORD_CORRUPT)
    return BKT_SYNC_TWO_WAY;
  if (base == NULL)
    return m != NULL ? BKT_SYNC_NEVER_SYNCED : BKT_SYNC_UNTRACKED;
  m_is_base = g_strcmp0 (m, base->value) == 0;
  l_is_base = g_strcmp0 (l, base->value) == 0;
  if (l_is_base)
    return BKT_SYNC_TO_APPLY;
  if (m_is_base)
    return BKT_SYNC_TO_CAPTURE;
  return BKT_SYNC_CONFLICT;
}
