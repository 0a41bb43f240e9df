/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "bkt-gsettings.h"

G_BEGIN_DECLS

/* What the gsettings subsystem's three files share: bkt-gsettings.c plans
 * (apply, capture, status, prune, set/unset), bkt-gsettings-schema.c
 * resolves schemas, keys and values and confines GSettings to one thread,
 * bkt-gsettings-exec.c writes and reads back. */

#define SUBSYSTEM_NAME "gsettings"

/* Bounds on untrusted input (D-Bus callers, manifests).  Names are bounded
 * so that the edit-distance suggestions stay cheap; GSettings itself caps
 * key names far below this. */
#define MAX_NAME_LENGTH  1024
#define MAX_VALUE_LENGTH (64 * 1024)
#define MAX_SUGGESTIONS  5
#define MAX_DISTANCE     3
/* Values can be 64 KiB, but summaries and messages are lines for humans;
 * the details keep the full text. */
#define MAX_SHOWN        100

struct _BktGsettings
{
  GObject                parent_instance;
  /* The global default main context: GSettings is used only by its owner
   * (see bkt_gsettings_run_confined()), and so is everything below. */
  GMainContext          *context;
  gboolean               loaded;
  GSettingsSchemaSource *source;       /* NULL when no schema is installed at all */
  /* Plan-side caches: one GSettings per "schema[:path]" and each key read
   * at most once per object, so one plan sees one state however often a
   * key is looked at. */
  GHashTable            *settings;     /* combo → GSettings */
  GHashTable            *values;       /* "combo key" → GVariant */
  GHashTable            *user_values;  /* "combo key" → GVariant or NULL */
  /* Each manifest entry resolved once per object: the plan and the
   * three-way items of one request both resolve every entry (schema key,
   * the value parsed against its type). */
  GHashTable            *resolved;     /* "schema\npath\nkey\nvalue" → Resolved* */
};

/* One schema (+path) and, once resolved, one of its keys. */
typedef struct
{
  char               *schema_id;
  char               *path;      /* NULL unless the schema is relocatable */
  char               *key_name;  /* NULL for a whole schema */
  char               *combo;     /* "schema" or "schema:path": one GSettings object */
  char               *target;
  GSettingsSchema    *schema;
  GSettingsSchemaKey *key;
} Setting;

void bkt_gsettings_setting_clear (Setting *s);
void bkt_gsettings_setting_copy  (const Setting *from, Setting *to);
void bkt_gsettings_setting_free  (Setting *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Setting, bkt_gsettings_setting_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Setting, bkt_gsettings_setting_free)

/* The arguments of an entry point, for its confined body. */
typedef struct
{
  BktManifestSet  *manifests;
  const char      *action;
  GVariant        *arguments;
  GPtrArray       *ops;
  GPtrArray       *warnings;
  BktExecContext  *exec;
  GCancellable    *cancellable;
  JsonObject      *status;      /* out */
  GError         **error;
} Call;

/* The daemon calls subsystems from GTask worker threads, two requests (say
 * Status and Apply) may run at once, and GSettings is not made for that:
 * the keyfile backend has no locking at all, and its GFileMonitor reloads
 * the file in the main context that was current when the backend singleton
 * was created, so a worker reading or writing meanwhile corrupts the heap
 * ("double free", about one run in three).  Hence every use of GSettings,
 * and of our caches of it, happens in the owner of the global default main
 * context, one call at a time:
 *
 *  - if this thread can acquire it (nobody iterates it, as in the unit
 *    tests, or this is the main thread inside a dispatch), right here;
 *  - otherwise it is handed to the owner, and this thread blocks until it
 *    ran.  The main thread only dispatches and never waits for a worker,
 *    so that cannot deadlock.
 *
 * The context is pushed as thread default around the call so that the
 * GSettings objects (and the backend, created here at first use so that
 * its file monitor dispatches there) attach to it whatever the caller had
 * pushed.  Callbacks of the execution context may thus run in the main
 * thread: they only post events. */
typedef gboolean (*ConfinedFunc) (BktGsettings *self, gpointer data);
gboolean bkt_gsettings_run_confined (BktGsettings *self, ConfinedFunc func, gpointer data);

/* The schema source, looked up on first use. */
void     bkt_gsettings_ensure_loaded   (BktGsettings *self);
/* At most MAX_SHOWN characters, for summaries and messages. */
char    *bkt_gsettings_shorten         (const char *text);
char    *bkt_gsettings_make_combo      (const char *schema_id, const char *path);
char    *bkt_gsettings_make_target     (const char *schema_id, const char *path, const char *key_name);
/* Resolve @schema_id (+@path) into @s.  BKT_ERROR_NOT_FOUND when this
 * machine does not have the schema (with close names when @suggestions),
 * BKT_ERROR_INVALID_ARGUMENT when the path does not fit the schema. */
gboolean bkt_gsettings_resolve_schema  (BktGsettings *self, const char *schema_id, const char *path,
                                        gboolean suggestions, Setting *s, GError **error);
/* The same and the key, NOT_FOUND when the schema lacks it. */
gboolean bkt_gsettings_resolve_key     (BktGsettings *self, const char *schema_id, const char *path,
                                        const char *key_name, gboolean suggestions, Setting *s, GError **error);
/* The value @text means for the resolved key @s, checked against the
 * key's type, range and choices; BKT_ERROR_INVALID_ARGUMENT if it has none. */
GVariant *bkt_gsettings_parse_value    (Setting *s, const char *text, GError **error);

/* Execute's confined body (@data: a Call with ops, exec, cancellable, error). */
gboolean bkt_gsettings_execute_confined (BktGsettings *self, gpointer data);

G_END_DECLS
