/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <flatpak.h>

#include "bkt-error.h"
#include "bkt-flatpak-private.h"
#include "bkt-text.h"

/* Manifest entries handled here:
 *
 *   flatpak-remotes.json  {"name", "url", "scope", "filtered"?, "gpg_verify"?}
 *   flatpak-apps.json     {"id", "remote", "scope"}
 *
 * "gpg_verify" (boolean, default true) is our extension to the original
 * format: a remote added from a bare URL has no GPG key, so without it an
 * unsigned repository (tests, offline mirrors) could not be declared.
 * "filtered" is passed along in operation details but not acted upon: the
 * filter file is the distribution's business, not the manifest's.
 *
 * Targets are "flatpak:ID" for apps and "flatpak-remote:NAME" for remotes.
 * Only libflatpak is used, never the flatpak CLI.  This file plans (apply,
 * capture, status, add/remove); bkt-flatpak-state.c reads installations,
 * bkt-flatpak-exec.c executes. */

#define SUBSYSTEM_NAME    "flatpak"
#define DEFAULT_REMOTE    "flathub"
#define MAX_NAME_LENGTH   255
#define MAX_SUGGESTIONS   5
#define MAX_EDIT_DISTANCE 3

struct _BktFlatpak
{
  GObject     parent_instance;
  gboolean    reads[2];   /* indexed by BktScope */
  BktFlatpakState *scopes[2];  /* NULL until read */
};

static void bkt_flatpak_subsystem_init (BktSubsystemInterface *iface);

G_DEFINE_TYPE_WITH_CODE (BktFlatpak, bkt_flatpak, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (BKT_TYPE_SUBSYSTEM, bkt_flatpak_subsystem_init))

/* System first: user installs may use system runtimes. */
static const BktScope all_scopes[] = { BKT_SCOPE_SYSTEM, BKT_SCOPE_USER };

/* Sets @error and returns FALSE, so that a validation failure is one line. */
static G_GNUC_PRINTF (3, 4) gboolean
fail (GError **error, BktError code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (BKT_ERROR, code, format, args);
  va_end (args);
  return FALSE;
}

/* @s for an error message, unless it is not text or too long to echo back
 * (arguments come from D-Bus callers). */
static const char *
printable (const char *s)
{
  return s != NULL && strlen (s) <= 64 && g_utf8_validate (s, -1, NULL) ? s : "…";
}

/* Live state (read by bkt-flatpak-state.c)                                  */

/* Reads @scope's installation the first time it is needed.  A scope this
 * object does not read (a change for the other scope) is opened on demand,
 * still only once. */
static BktFlatpakState *
get_scope (BktFlatpak *self, BktScope scope, GCancellable *cancellable, GError **error)
{
  if (self->scopes[scope] == NULL)
    self->scopes[scope] = bkt_flatpak_state_load (scope, cancellable, error);
  return self->scopes[scope];
}

/* The state of @scope if this object reads it (after load_live), else NULL. */
static BktFlatpakState *
read_scope (BktFlatpak *self, BktScope scope)
{
  return self->reads[scope] ? self->scopes[scope] : NULL;
}

static BktScope
other_scope (BktScope scope)
{
  return scope == BKT_SCOPE_SYSTEM ? BKT_SCOPE_USER : BKT_SCOPE_SYSTEM;
}

/* Helpers                                                                   */

/* The manifest loader validates "scope"; a missing one means system, as in
 * the original tool. */
static gboolean
entry_scope (JsonObject *entry, BktScope *out)
{
  return bkt_scope_from_string (bkt_flatpak_entry_string (entry, "scope", "system"), out);
}

#define app_target(id)      g_strconcat ("flatpak:", (id), NULL)
#define remote_target(name) g_strconcat ("flatpak-remote:", (name), NULL)

static gint
compare_op_targets (gconstpointer a, gconstpointer b)
{
  BktOperation *oa = *(BktOperation * const *) a;
  BktOperation *ob = *(BktOperation * const *) b;
  int r = g_strcmp0 (bkt_operation_get_target (oa), bkt_operation_get_target (ob));

  return r != 0 ? r : (int) bkt_operation_get_scope (oa) - (int) bkt_operation_get_scope (ob);
}

static gint
compare_json_targets (gconstpointer a, gconstpointer b)
{
  JsonObject *oa = *(JsonObject * const *) a;
  JsonObject *ob = *(JsonObject * const *) b;
  int r = g_strcmp0 (json_object_get_string_member (oa, "target"), json_object_get_string_member (ob, "target"));

  return r != 0 ? r : g_strcmp0 (json_object_get_string_member (oa, "scope"),
                                  json_object_get_string_member (ob, "scope"));
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Moves @src's elements to the end of @dest, sorted. */
static void
append_sorted (GPtrArray *dest, GPtrArray *src, GCompareFunc compare)
{
  g_autofree gpointer *items = NULL;
  gsize n = 0;

  g_ptr_array_sort (src, compare);
  items = g_ptr_array_steal (src, &n);
  for (gsize i = 0; i < n; i++)
    g_ptr_array_add (dest, items[i]);
}

/* Validation                                                                */

/* The one rule for application ids, shared with the manifest loader
 * (flatpak's own, see bkt_manifest_check_flatpak_app_id()): an id that
 * loads from a manifest is one the plan accepts, and the other way round. */
static gboolean
validate_app_id (const char *id, GError **error)
{
  g_autofree char *why = NULL;

  if (id == NULL)
    return fail (error, BKT_ERROR_INVALID_ARGUMENT, "invalid flatpak application id: none given");
  why = bkt_manifest_check_flatpak_app_id (id);
  if (why != NULL)
    return fail (error, BKT_ERROR_INVALID_ARGUMENT, "invalid flatpak application id “%s”: %s", printable (id), why);
  return TRUE;
}

/* OSTree remote names: no '/', no leading '-' or '.'; a conservative set
 * so the name is safe in a config group and in a ref. */
static gboolean
validate_remote_name (const char *name, GError **error)
{
  gsize len = name != NULL ? strlen (name) : 0;
  gboolean ok = len > 0 && len <= MAX_NAME_LENGTH;

  for (const char *s = name; ok && *s != '\0'; s++)
    ok = g_ascii_isalnum (*s) || *s == '_' || (s != name && (*s == '-' || *s == '.'));
  return ok || fail (error, BKT_ERROR_INVALID_ARGUMENT, "invalid flatpak remote name “%s”: 1 to %d letters, "
                     "digits, “_”, “-” and “.”, not starting with “-” or “.”",
                     printable (name), MAX_NAME_LENGTH);
}

static const char *
last_segment (const char *id)
{
  const char *dot = strrchr (id, '.');
  return dot != NULL ? dot + 1 : id;
}

typedef struct {
  const char *id;
  guint       score;   /* last-segment distance, then whole-id distance */
} Suggestion;

static gint
compare_suggestions (gconstpointer a, gconstpointer b)
{
  const Suggestion *sa = a, *sb = b;

  return sa->score != sb->score ? (sa->score < sb->score ? -1 : 1) : strcmp (sa->id, sb->id);
}

/* Up to MAX_SUGGESTIONS ids of @available close to @id: the last segment
 * (the part people mistype) within MAX_EDIT_DISTANCE, or one last segment
 * contained in the other id.  NULL when nothing is close. */
static char *
suggest_ids (const char *id, GHashTable *available)
{
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (Suggestion));
  g_autofree char *want_last = g_ascii_strdown (last_segment (id), -1);
  g_autofree char *want_full = g_ascii_strdown (id, -1);
  g_autoptr(GString) out = NULL;
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, available);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autofree char *cand_last = g_ascii_strdown (last_segment (key), -1);
      g_autofree char *cand_full = g_ascii_strdown (key, -1);
      /* Both sides are lower-cased already: case never counts. */
      guint d = bkt_text_edit_distance (want_last, cand_last, G_MAXUINT - 1, FALSE);
      guint d_full = bkt_text_edit_distance (want_full, cand_full, G_MAXUINT - 1, FALSE);
      Suggestion s = { key, MIN (d, MAX_EDIT_DISTANCE + 1) * 1024 + d_full };

      /* Substrings catch "Boxes" typed under the wrong domain; too short a
       * needle would match everything. */
      if (d <= MAX_EDIT_DISTANCE || (strlen (want_last) >= 3 && strstr (cand_full, want_last) != NULL) ||
          (strlen (cand_last) >= 3 && strstr (want_full, cand_last) != NULL))
        g_array_append_val (found, s);
    }
  g_array_sort (found, compare_suggestions);
  out = g_string_new (NULL);
  for (guint i = 0; i < found->len && i < MAX_SUGGESTIONS; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? ", " : "", g_array_index (found, Suggestion, i).id);
  return found->len > 0 ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

/* Operations                                                                */

/* "install" (@remote set) or "uninstall".  @ref, when known (`add` looked
 * the app up, `remove` saw it installed), saves the executor a look-up. */
static BktOperation *
new_app_op (const char *id, const char *remote, BktScope scope, const char *ref)
{
  g_autofree char *target = app_target (id);
  g_autofree char *summary = NULL;
  g_autoptr(JsonObject) details = json_object_new ();

  json_object_set_string_member (details, "id", id);
  if (remote != NULL)
    json_object_set_string_member (details, "remote", remote);
  json_object_set_string_member (details, "scope", bkt_scope_to_string (scope));
  if (ref != NULL)
    json_object_set_string_member (details, "ref", ref);
  summary = remote != NULL ? g_strdup_printf ("Install %s (%s, %s)", target, remote, bkt_scope_to_string (scope))
                           : g_strdup_printf ("Uninstall %s (%s)", target, bkt_scope_to_string (scope));
  return bkt_operation_new (SUBSYSTEM_NAME, remote != NULL ? "install" : "uninstall", target, scope,
                            BKT_EFFECT_LIVE, summary, details);
}

static BktOperation *
new_app_record_op (const char *id, const char *remote, BktScope scope)
{
  g_autofree char *target = app_target (id);
  g_autofree char *summary = g_strdup_printf ("Record %s (%s, %s)", target, remote, bkt_scope_to_string (scope));
  g_autoptr(JsonObject) entry = json_object_new ();

  json_object_set_string_member (entry, "id", id);
  json_object_set_string_member (entry, "remote", remote);
  json_object_set_string_member (entry, "scope", bkt_scope_to_string (scope));
  return bkt_operation_new_record (SUBSYSTEM_NAME, BKT_MANIFEST_FLATPAK_APPS, target, summary, entry);
}

/* add-remote / modify-remote for one manifest entry, or NULL when the live
 * remote already matches. */
static BktOperation *
plan_remote (JsonObject *entry, BktScope scope, BktFlatpakState *state)
{
  const char *name = bkt_flatpak_entry_string (entry, "name", NULL);
  const char *url = bkt_flatpak_entry_string (entry, "url", NULL);
  const char *scope_name = bkt_scope_to_string (scope);
  FlatpakRemote *live = name != NULL ? g_hash_table_lookup (state->remote_by_name, name) : NULL;
  g_autofree char *live_url = live != NULL ? flatpak_remote_get_url (live) : NULL;
  g_autofree char *target = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(JsonObject) details = NULL;
  JsonNode *filtered = json_object_get_member (entry, "filtered");

  if (name == NULL || url == NULL || (live != NULL && bkt_flatpak_urls_equal (live_url, url)))
    return NULL;

  target = remote_target (name);
  details = json_object_new ();
  json_object_set_string_member (details, "remote", name);
  json_object_set_string_member (details, "url", url);
  json_object_set_string_member (details, "scope", scope_name);
  if (filtered != NULL)
    json_object_set_member (details, "filtered", json_node_copy (filtered));

  /* Only an explicit gpg_verify is applied to an existing remote: turning
   * verification on for a remote whose key we do not have would break it. */
  if (live == NULL || json_object_has_member (entry, "gpg_verify"))
    json_object_set_boolean_member (details, "gpg_verify", bkt_flatpak_entry_bool (entry, "gpg_verify", TRUE));
  if (live != NULL)
    json_object_set_string_member (details, "old_url", live_url != NULL ? live_url : "");
  summary = live == NULL ? g_strdup_printf ("Add flatpak remote %s (%s, %s)", name, url, scope_name)
                         : g_strdup_printf ("Change flatpak remote %s URL (%s → %s, %s)", name,
                                            live_url != NULL ? live_url : "", url, scope_name);
  return bkt_operation_new (SUBSYSTEM_NAME, live == NULL ? "add-remote" : "modify-remote", target, scope,
                            BKT_EFFECT_LIVE, summary, details);
}

/* BktSubsystem: reading, planning, status                                   */

static const char *
bkt_flatpak_get_name (BktSubsystem *subsystem)
{
  return SUBSYSTEM_NAME;
}

static gboolean
bkt_flatpak_load_live (BktSubsystem *subsystem, GCancellable *cancellable, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);

  for (gsize i = 0; i < G_N_ELEMENTS (all_scopes); i++)
    if (self->reads[all_scopes[i]] && get_scope (self, all_scopes[i], cancellable, error) == NULL)
      return FALSE;
  return TRUE;
}

/* Calls @func for each well-formed entry of @kind whose scope this object
 * reads; entries of other scopes belong to the other instance. */
typedef void (*EntryFunc) (BktFlatpak *self, JsonObject *entry, const char *key, BktScope scope,
                           BktFlatpakState *state, gpointer user_data);

static void
foreach_read_entry (BktFlatpak *self, BktManifestSet *manifests, BktManifestKind kind,
                    EntryFunc func, gpointer user_data)
{
  BktManifest *manifest = bkt_manifest_set_get (manifests, kind);
  JsonArray *entries = manifest != NULL ? bkt_manifest_get_entries (manifest) : NULL;
  const char *key_member = kind == BKT_MANIFEST_FLATPAK_APPS ? "id" : "name";

  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *key = entry != NULL ? bkt_flatpak_entry_string (entry, key_member, NULL) : NULL;
      BktScope scope;
      BktFlatpakState *state;

      if (key != NULL && entry_scope (entry, &scope) && (state = read_scope (self, scope)) != NULL)
        func (self, entry, key, scope, state, user_data);
    }
}

typedef struct {
  BktManifestKind kind;
  GPtrArray      *remote_ops;
  GPtrArray      *app_ops;
  GPtrArray      *warnings;
  BktManifestSet *manifests;
} ApplyPlan;

static void
copy_member (JsonObject *from, const char *name, JsonNode *node, gpointer to)
{
  json_object_set_member (to, name, json_node_copy (node));
}

/* The manifest has one entry per remote name (usually system scope), but
 * flatpak installs from the installation's own remotes: a user-scope app
 * needs its remote in the user installation too.  Declared once, added
 * wherever an app needs it — and the operation says which app, since
 * nobody declared the remote in that scope. */
static void
plan_app_remote (ApplyPlan *plan, const char *name, BktScope scope, BktFlatpakState *state, const char *app_id)
{
  g_autofree char *target = remote_target (name);
  JsonObject *decl;
  BktScope declared;
  g_autoptr(BktOperation) op = NULL;
  g_autoptr(JsonObject) details = NULL;
  g_autofree char *summary = NULL;

  if (g_hash_table_contains (state->remote_by_name, name))
    return;
  decl = bkt_manifest_set_lookup (plan->manifests, BKT_MANIFEST_FLATPAK_REMOTES, name);
  if (decl == NULL || !entry_scope (decl, &declared) || declared == scope)
    return;
  for (guint i = 0; i < plan->remote_ops->len; i++)
    {
      BktOperation *o = g_ptr_array_index (plan->remote_ops, i);
      if (bkt_operation_get_scope (o) == scope && g_str_equal (bkt_operation_get_target (o), target))
        return;  /* the first app that needs it is named; enough to explain it */
    }
  op = plan_remote (decl, scope, state);
  if (op == NULL)
    return;
  /* The planned details are sealed: a copy with the reason. */
  details = json_object_new ();
  json_object_foreach_member (bkt_operation_get_details (op), copy_member, details);
  json_object_set_string_member (details, "needed_by", app_id);
  summary = g_strdup_printf ("%s: needed by flatpak:%s (declared %s-scope only)", bkt_operation_get_summary (op),
                             app_id, bkt_scope_to_string (declared));
  g_ptr_array_add (plan->remote_ops,
                   bkt_operation_new (SUBSYSTEM_NAME, bkt_operation_get_action (op), target, scope,
                                      BKT_EFFECT_LIVE, summary, details));
}

static void
plan_apply_entry (BktFlatpak *self, JsonObject *entry, const char *key, BktScope scope,
                  BktFlatpakState *state, gpointer user_data)
{
  ApplyPlan *plan = user_data;
  BktScope other = other_scope (scope);
  BktOperation *op = plan->kind == BKT_MANIFEST_FLATPAK_REMOTES ? plan_remote (entry, scope, state) : NULL;

  if (op != NULL)
    g_ptr_array_add (plan->remote_ops, op);
  /* Installed in the declared scope from another remote is still in sync:
   * switching origins behind the user's back would be surprising. */
  if (plan->kind != BKT_MANIFEST_FLATPAK_APPS || bkt_flatpak_state_lookup_app (state, key) != NULL)
    return;
  g_ptr_array_add (plan->app_ops, new_app_op (key, bkt_flatpak_entry_string (entry, "remote", DEFAULT_REMOTE), scope, NULL));
  plan_app_remote (plan, bkt_flatpak_entry_string (entry, "remote", DEFAULT_REMOTE), scope, state, key);
  if (bkt_flatpak_state_lookup_app (read_scope (self, other), key) != NULL)
    g_ptr_array_add (plan->warnings,
                     g_strdup_printf ("flatpak:%s is installed in the %s installation but declared for the %s one: "
                                      "it will be installed there too", key, bkt_scope_to_string (other),
                                      bkt_scope_to_string (scope)));
}

/* Three-way classification of apps: "installed" or absent on each side
 * (the origin does not count, as in plan_apply).  Remotes stay two-way. */
static void
item_declared_app (BktFlatpak *self, JsonObject *entry, const char *key, BktScope scope,
                   BktFlatpakState *state, gpointer user_data)
{
  GPtrArray *items = user_data;
  g_autofree char *target = app_target (key);

  g_ptr_array_add (items, bkt_item_new (target, scope, "installed",
                                        bkt_flatpak_state_lookup_app (state, key) != NULL ? "installed" : NULL,
                                        BKT_MANIFEST_FLATPAK_APPS, key));
}

static gboolean
bkt_flatpak_items (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *items, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);

  if (!bkt_flatpak_load_live (subsystem, NULL, error))
    return FALSE;
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_APPS, item_declared_app, items);
  for (gsize s = 0; s < G_N_ELEMENTS (all_scopes); s++)
    {
      BktFlatpakState *state = read_scope (self, all_scopes[s]);
      GHashTableIter iter;
      gpointer key;

      if (state == NULL)
        continue;
      g_hash_table_iter_init (&iter, state->app_by_id);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_APPS, key) == NULL)
          {
            g_autofree char *target = app_target (key);
            g_ptr_array_add (items, bkt_item_new (target, all_scopes[s], NULL, "installed", BKT_MANIFEST_FLATPAK_APPS, NULL));
          }
    }
  return TRUE;
}

/* apply --prune of an app bkt installed: its uninstall, in its scope. */
static BktOperation *
bkt_flatpak_plan_prune (BktSubsystem *subsystem, const char *target, BktScope scope, char **live)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);
  const char *id = g_str_has_prefix (target, "flatpak:") ? target + strlen ("flatpak:") : NULL;
  FlatpakInstalledRef *installed = id != NULL ? bkt_flatpak_state_lookup_app (read_scope (self, scope), id) : NULL;
  g_autofree char *ref = NULL;

  if (installed == NULL)
    return NULL;
  *live = g_strdup ("installed");
  ref = flatpak_ref_format_ref (FLATPAK_REF (installed));
  return new_app_op (id, NULL, scope, ref);
}

static gboolean
bkt_flatpak_plan_apply (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                        GPtrArray *warnings, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);
  g_autoptr(GPtrArray) remote_ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) app_ops = g_ptr_array_new_with_free_func (g_object_unref);
  ApplyPlan remotes = { BKT_MANIFEST_FLATPAK_REMOTES, remote_ops, app_ops, warnings, manifests };
  ApplyPlan apps = { BKT_MANIFEST_FLATPAK_APPS, remote_ops, app_ops, warnings, manifests };

  if (!bkt_flatpak_load_live (subsystem, NULL, error))
    return FALSE;
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_REMOTES, plan_apply_entry, &remotes);
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_APPS, plan_apply_entry, &apps);
  /* Remotes first: the apps may come from them. */
  append_sorted (ops, remote_ops, compare_op_targets);
  append_sorted (ops, app_ops, compare_op_targets);
  return TRUE;
}

/* Remotes worth recording: not disabled, and not one of the hidden
 * "noenumerate" remotes flatpak makes for .flatpakref installs unless an
 * installed app comes from it (the app's entry then needs it). */
static gboolean
remote_is_recordable (BktFlatpakState *state, FlatpakRemote *remote)
{
  if (flatpak_remote_get_disabled (remote) || !flatpak_remote_get_noenumerate (remote))
    return !flatpak_remote_get_disabled (remote);
  for (guint i = 0; i < state->installed->len; i++)
    if (g_strcmp0 (flatpak_installed_ref_get_origin (g_ptr_array_index (state->installed, i)),
                   flatpak_remote_get_name (remote)) == 0)
      return TRUE;
  return FALSE;
}

static JsonObject *
new_untracked (const char *target, const char *summary, const char *key_member, const char *key,
               const char *scope)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "target", target);
  json_object_set_string_member (o, "summary", summary);
  json_object_set_string_member (o, key_member, key);
  json_object_set_string_member (o, "scope", scope);
  return o;
}

/* Live remotes and installed apps of read scopes that the manifest lacks,
 * as status items into @apps ({"target","summary","id","origin","scope"})
 * and @remotes ({"target","summary","name","url","scope","gpg_verify"}),
 * and as the record operations capture plans into @records; each may be
 * NULL.  An app whose id is declared for the other scope is not untracked:
 * recording it would overwrite that entry.  For the same reason, what is in
 * both scopes is recorded once, for the system (read first). */
static void
collect_untracked (BktFlatpak *self, BktManifestSet *manifests, GPtrArray *apps, GPtrArray *remotes,
                   GPtrArray *records)
{
  g_autoptr(GHashTable) recorded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (gsize s = 0; s < G_N_ELEMENTS (all_scopes); s++)
    {
      BktFlatpakState *state = read_scope (self, all_scopes[s]);
      const char *scope = bkt_scope_to_string (all_scopes[s]);
      GHashTableIter iter;
      gpointer key, value;

      for (guint i = 0; state != NULL && i < state->remotes->len; i++)
        {
          FlatpakRemote *remote = g_ptr_array_index (state->remotes, i);
          const char *name = flatpak_remote_get_name (remote);
          g_autofree char *url = NULL;
          g_autofree char *target = NULL;
          g_autoptr(JsonObject) entry = json_object_new ();

          if (bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_REMOTES, name) != NULL ||
              !remote_is_recordable (state, remote))
            continue;
          url = flatpak_remote_get_url (remote);
          url = url != NULL ? url : g_strdup ("");
          target = remote_target (name);
          json_object_set_string_member (entry, "name", name);
          json_object_set_string_member (entry, "url", url);
          json_object_set_string_member (entry, "scope", scope);
          /* Written only when off, so ordinary entries keep the original
           * format exactly. */
          if (!flatpak_remote_get_gpg_verify (remote))
            json_object_set_boolean_member (entry, "gpg_verify", FALSE);
          if (records != NULL && g_hash_table_add (recorded, g_strdup (target)))
            {
              g_autofree char *summary = g_strdup_printf ("Record %s (%s, %s)", target, url, scope);
              g_ptr_array_add (records, bkt_operation_new_record (SUBSYSTEM_NAME, BKT_MANIFEST_FLATPAK_REMOTES,
                                                                  target, summary, entry));
            }
          if (remotes != NULL)
            {
              g_autofree char *summary = g_strdup_printf ("Remote %s (%s), not in the manifest", url, scope);
              JsonObject *o = new_untracked (target, summary, "name", name, scope);

              json_object_set_string_member (o, "url", url);
              json_object_set_boolean_member (o, "gpg_verify", flatpak_remote_get_gpg_verify (remote));
              g_ptr_array_add (remotes, o);
            }
        }

      if (state == NULL)
        continue;
      g_hash_table_iter_init (&iter, state->app_by_id);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          const char *origin = flatpak_installed_ref_get_origin (value);
          g_autofree char *target = app_target (key);
          g_autofree char *summary = g_strdup_printf ("Installed from %s (%s), not in the manifest", origin, scope);

          if (bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_APPS, key) != NULL)
            continue;
          if (records != NULL && g_hash_table_add (recorded, g_strdup (target)))
            g_ptr_array_add (records, new_app_record_op (key, origin, all_scopes[s]));
          if (apps != NULL)
            {
              JsonObject *o = new_untracked (target, summary, "id", key, scope);
              json_object_set_string_member (o, "origin", origin);
              g_ptr_array_add (apps, o);
            }
        }
    }
  if (apps != NULL)
    g_ptr_array_sort (apps, compare_json_targets);
  if (remotes != NULL)
    g_ptr_array_sort (remotes, compare_json_targets);
}

static void
capture_warn_app (BktFlatpak *self, JsonObject *entry, const char *id, BktScope scope,
                  BktFlatpakState *state, gpointer user_data)
{
  GPtrArray *warnings = user_data;
  const char *other = bkt_scope_to_string (other_scope (scope));

  if (bkt_flatpak_state_lookup_app (state, id) != NULL)
    return;
  if (bkt_flatpak_state_lookup_app (read_scope (self, other_scope (scope)), id) != NULL)
    g_ptr_array_add (warnings,
                     g_strdup_printf ("flatpak:%s is declared for the %s installation but installed in the %s one; "
                                      "run `bkt apply` to install it where declared or "
                                      "`bkt flatpak add %s --scope %s` to declare it where it is",
                                      id, bkt_scope_to_string (scope), other, id, other));
  else
    g_ptr_array_add (warnings,
                     g_strdup_printf ("flatpak:%s is in the manifest but not installed (removed by hand?); "
                                      "run `bkt apply` to reinstall or `bkt flatpak remove %s` to forget it",
                                      id, id));
}

static gboolean
bkt_flatpak_plan_capture (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                          GPtrArray *warnings, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) new_warnings = g_ptr_array_new_with_free_func (g_free);

  if (!bkt_flatpak_load_live (subsystem, NULL, error))
    return FALSE;
  /* Sorted by target, remotes ("flatpak-remote:") come before the apps
   * that may need them ("flatpak:"). */
  collect_untracked (self, manifests, NULL, NULL, records);
  append_sorted (ops, records, compare_op_targets);
  /* What only the manifest has cannot be captured: say so. */
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_APPS, capture_warn_app, new_warnings);
  append_sorted (warnings, new_warnings, compare_strings);
  return TRUE;
}

typedef struct {
  BktManifestKind kind;
  gint64          tracked;
  gint64          in_sync;
  GPtrArray      *drifted;   /* targets (char *) */
} StatusCount;

static void
status_count (BktFlatpak *self, JsonObject *entry, const char *key, BktScope scope,
              BktFlatpakState *state, gpointer user_data)
{
  StatusCount *count = user_data;
  gboolean apps = count->kind == BKT_MANIFEST_FLATPAK_APPS;
  g_autoptr(BktOperation) op = apps ? NULL : plan_remote (entry, scope, state);

  count->tracked++;
  if (apps ? bkt_flatpak_state_lookup_app (state, key) != NULL : op == NULL)
    count->in_sync++;
  else
    g_ptr_array_add (count->drifted, apps ? app_target (key) : remote_target (key));
}

static JsonObject *
status_object (StatusCount *count, GPtrArray *untracked, const char *drift_member)
{
  JsonObject *o = json_object_new ();
  JsonArray *array = json_array_new ();

  json_object_set_int_member (o, "tracked", count->tracked);
  json_object_set_int_member (o, "in_sync", count->in_sync);
  for (guint i = 0; i < untracked->len; i++)
    json_array_add_object_element (array, json_object_ref (g_ptr_array_index (untracked, i)));
  json_object_set_array_member (o, "untracked", array);
  g_ptr_array_sort (count->drifted, compare_strings);
  array = json_array_new ();
  for (guint i = 0; i < count->drifted->len; i++)
    json_array_add_string_element (array, g_ptr_array_index (count->drifted, i));
  json_object_set_array_member (o, drift_member, array);
  return o;
}

/* {"tracked","in_sync" (apps and remotes),"untracked":[apps],"missing":[targets],
 *  "remotes":{"tracked","in_sync","untracked":[remotes],"drifted":[targets]}}
 * Remotes are kept apart so that "untracked" lists apps only. */
static JsonObject *
bkt_flatpak_status (BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);
  g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) drifted = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) untracked = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GPtrArray) untracked_remotes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  StatusCount apps = { BKT_MANIFEST_FLATPAK_APPS, 0, 0, missing };
  StatusCount remotes = { BKT_MANIFEST_FLATPAK_REMOTES, 0, 0, drifted };
  JsonObject *status;

  if (!bkt_flatpak_load_live (subsystem, NULL, error))
    return NULL;
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_APPS, status_count, &apps);
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_REMOTES, status_count, &remotes);
  collect_untracked (self, manifests, untracked, untracked_remotes, NULL);

  status = status_object (&apps, untracked, "missing");
  json_object_set_object_member (status, "remotes", status_object (&remotes, untracked_remotes, "drifted"));
  /* The subsystem's counts cover every declared item, apps and remotes,
   * as its drift covers both: tracked = in sync + drifted + unknown. */
  json_object_set_int_member (status, "tracked", apps.tracked + remotes.tracked);
  json_object_set_int_member (status, "in_sync", apps.in_sync + remotes.in_sync);
  return status;
}

/* plan_change                                                               */

typedef struct {
  const char *key;
  const char *type;   /* "s" or "b" */
  gpointer    out;    /* const char ** or gboolean * */
} ArgSpec;

/* Fills @specs' outputs from the a{sv} @arguments, rejecting unknown keys
 * (a typo such as "scop" must not be ignored) and wrong types.  Strings
 * point into @arguments, which holds them as long as it lives. */
static gboolean
parse_arguments (GVariant *arguments, const ArgSpec *specs, gsize n_specs, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *next;

  if (arguments == NULL)
    return TRUE;
  if (!g_variant_is_of_type (arguments, G_VARIANT_TYPE_VARDICT))
    return fail (error, BKT_ERROR_INVALID_ARGUMENT, "flatpak change arguments must be a{sv}, not %s",
                 g_variant_get_type_string (arguments));
  g_variant_iter_init (&iter, arguments);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &next))
    {
      g_autoptr(GVariant) value = next;
      const ArgSpec *spec = NULL;

      for (gsize i = 0; i < n_specs && spec == NULL; i++)
        if (g_str_equal (specs[i].key, key))
          spec = &specs[i];
      if (spec == NULL)
        return fail (error, BKT_ERROR_INVALID_ARGUMENT, "unknown flatpak argument “%s”", printable (key));
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (spec->type)))
        return fail (error, BKT_ERROR_INVALID_ARGUMENT, "flatpak argument “%s” must be %s", spec->key,
                     g_str_equal (spec->type, "b") ? "a boolean" : "a string");
      if (g_str_equal (spec->type, "b"))
        *(gboolean *) spec->out = g_variant_get_boolean (value);
      else
        *(const char **) spec->out = g_variant_get_string (value, NULL);
    }
  return TRUE;
}

static gboolean
parse_scope (const char *s, BktScope *out, GError **error)
{
  if (s == NULL || bkt_scope_from_string (s, out))
    return TRUE;
  return fail (error, BKT_ERROR_INVALID_ARGUMENT, "invalid flatpak scope “%s”: expected “system” or “user”",
               printable (s));
}

static char *
configured_remotes (BktFlatpakState *state)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < state->remotes->len; i++)
    {
      FlatpakRemote *remote = g_ptr_array_index (state->remotes, i);
      if (!flatpak_remote_get_disabled (remote))
        g_string_append_printf (names, "%s%s", names->len > 0 ? ", " : "", flatpak_remote_get_name (remote));
    }
  if (names->len == 0)
    g_string_append (names, "none");
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static gboolean
plan_add (BktFlatpak *self, BktManifestSet *manifests, GVariant *arguments, GPtrArray *ops, GError **error)
{
  const char *id = NULL, *remote = DEFAULT_REMOTE, *scope_arg = NULL;
  gboolean force = FALSE;
  const ArgSpec specs[] = { { "id", "s", &id }, { "remote", "s", &remote }, { "scope", "s", &scope_arg },
                            { "force", "b", &force } };
  BktScope scope = BKT_SCOPE_SYSTEM;
  g_autoptr(GHashTable) available = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *suggestions = NULL;
  g_autofree char *names = NULL;
  const char *ref = NULL;
  BktFlatpakState *state;

  if (!parse_arguments (arguments, specs, G_N_ELEMENTS (specs), error) || !parse_scope (scope_arg, &scope, error) ||
      !validate_app_id (id, error) || !validate_remote_name (remote, error) ||
      (state = get_scope (self, scope, NULL, error)) == NULL)
    return FALSE;

  if (!force && !g_hash_table_contains (state->remote_by_name, remote))
    {
      names = configured_remotes (state);
      return fail (error, BKT_ERROR_NOT_FOUND, "flatpak remote %s is not configured in the %s installation "
                   "(configured: %s)%s", remote, bkt_scope_to_string (scope), names,
                   bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_REMOTES, remote) != NULL
                   ? "; it is in the manifest: run `bkt apply` first or use --force" : "");
    }
  if (!force)
    {
      /* One listing answers both "is it there?" and "what is close?". */
      available = bkt_flatpak_list_remote_apps (state->installation, remote, NULL, &local_error);
      if (available == NULL)
        return fail (error, BKT_ERROR_FAILED, "cannot list flatpak remote %s: %s", remote, local_error->message);
      ref = g_hash_table_lookup (available, id);
      if (ref == NULL && (suggestions = suggest_ids (id, available)) != NULL)
        return fail (error, BKT_ERROR_NOT_FOUND, "flatpak %s not found in remote %s; did you mean: %s?",
                     id, remote, suggestions);
      if (ref == NULL)
        return fail (error, BKT_ERROR_NOT_FOUND, "flatpak %s not found in remote %s", id, remote);
    }

  if (bkt_flatpak_state_lookup_app (state, id) == NULL)
    g_ptr_array_add (ops, new_app_op (id, remote, scope, ref));
  g_ptr_array_add (ops, new_app_record_op (id, remote, scope));
  return TRUE;
}

static gboolean
plan_remove (BktFlatpak *self, BktManifestSet *manifests, GVariant *arguments, GPtrArray *ops, GError **error)
{
  const char *id = NULL, *scope_arg = NULL;
  const ArgSpec specs[] = { { "id", "s", &id }, { "scope", "s", &scope_arg } };
  BktScope scope = BKT_SCOPE_SYSTEM;
  JsonObject *entry;
  FlatpakInstalledRef *installed;
  BktFlatpakState *state;

  if (!parse_arguments (arguments, specs, G_N_ELEMENTS (specs), error) || !parse_scope (scope_arg, &scope, error) ||
      !validate_app_id (id, error))
    return FALSE;

  /* The scope: as given, else as declared, else wherever it is installed
   * if that is unambiguous. */
  entry = bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_APPS, id);
  if (scope_arg == NULL && !(entry != NULL && entry_scope (entry, &scope)))
    {
      BktFlatpakState *sys = get_scope (self, BKT_SCOPE_SYSTEM, NULL, error);
      BktFlatpakState *user = sys != NULL ? get_scope (self, BKT_SCOPE_USER, NULL, error) : NULL;

      if (user == NULL)
        return FALSE;
      if (bkt_flatpak_state_lookup_app (sys, id) != NULL && bkt_flatpak_state_lookup_app (user, id) != NULL)
        return fail (error, BKT_ERROR_INVALID_ARGUMENT,
                     "flatpak %s is installed both system-wide and for the user; say which scope", id);
      scope = bkt_flatpak_state_lookup_app (user, id) != NULL ? BKT_SCOPE_USER : BKT_SCOPE_SYSTEM;
    }
  if ((state = get_scope (self, scope, NULL, error)) == NULL)
    return FALSE;
  installed = bkt_flatpak_state_lookup_app (state, id);
  if (installed == NULL && entry == NULL)
    return fail (error, BKT_ERROR_NOT_FOUND, "flatpak %s is neither in the manifest nor installed%s%s", id,
                 scope_arg != NULL ? " for scope " : "", scope_arg != NULL ? scope_arg : "");

  if (installed != NULL)
    {
      g_autofree char *ref = flatpak_ref_format_ref (FLATPAK_REF (installed));
      g_ptr_array_add (ops, new_app_op (id, NULL, scope, ref));
    }
  if (entry != NULL)
    {
      g_autofree char *target = app_target (id);
      g_autofree char *summary = g_strdup_printf ("Forget %s", target);
      g_ptr_array_add (ops, bkt_operation_new_forget (SUBSYSTEM_NAME, BKT_MANIFEST_FLATPAK_APPS, target, summary, id));
    }
  return TRUE;
}

static gboolean
bkt_flatpak_plan_change (BktSubsystem *subsystem, BktManifestSet *manifests, const char *action,
                         GVariant *arguments, GPtrArray *ops, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);

  if (g_strcmp0 (action, "add") == 0)
    return plan_add (self, manifests, arguments, ops, error);
  if (g_strcmp0 (action, "remove") == 0)
    return plan_remove (self, manifests, arguments, ops, error);
  return fail (error, BKT_ERROR_NOT_SUPPORTED, "subsystem flatpak has no action “%s”", printable (action));
}

static gboolean
bkt_flatpak_execute (BktSubsystem *subsystem, GPtrArray *ops, BktExecContext *ctx,
                     GCancellable *cancellable, GError **error)
{
  gboolean complete = TRUE;

  for (gsize s = 0; s < G_N_ELEMENTS (all_scopes); s++)
    {
      g_autoptr(GPtrArray) scope_ops = g_ptr_array_new ();

      for (guint i = 0; i < ops->len; i++)
        if (bkt_operation_get_scope (g_ptr_array_index (ops, i)) == all_scopes[s])
          g_ptr_array_add (scope_ops, g_ptr_array_index (ops, i));
      /* After a cancellation the next scope still reports its ops (as
       * cancelled), so every op has a result. */
      if (scope_ops->len > 0 && !bkt_flatpak_execute_scope (all_scopes[s], scope_ops, ctx, cancellable))
        complete = FALSE;
    }
  /* Only a cancellation stops an op without a result of its own. */
  if (!complete)
    g_cancellable_set_error_if_cancelled (cancellable, error);
  return complete;
}

/* GObject                                                                   */

static void
bkt_flatpak_finalize (GObject *object)
{
  BktFlatpak *self = BKT_FLATPAK (object);

  for (gsize i = 0; i < G_N_ELEMENTS (self->scopes); i++)
    g_clear_pointer (&self->scopes[i], bkt_flatpak_state_free);
  G_OBJECT_CLASS (bkt_flatpak_parent_class)->finalize (object);
}

static void
bkt_flatpak_class_init (BktFlatpakClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_flatpak_finalize;
}

static void
bkt_flatpak_init (BktFlatpak *self)
{
}

static void
bkt_flatpak_subsystem_init (BktSubsystemInterface *iface)
{
  iface->get_name = bkt_flatpak_get_name;
  iface->load_live = bkt_flatpak_load_live;
  iface->plan_apply = bkt_flatpak_plan_apply;
  iface->plan_capture = bkt_flatpak_plan_capture;
  iface->plan_change = bkt_flatpak_plan_change;
  iface->status = bkt_flatpak_status;
  iface->execute = bkt_flatpak_execute;
  iface->items = bkt_flatpak_items;
  iface->plan_prune = bkt_flatpak_plan_prune;
}

BktSubsystem *
bkt_flatpak_new (gboolean read_user, gboolean read_system)
{
  BktFlatpak *self = g_object_new (BKT_TYPE_FLATPAK, NULL);

  self->reads[BKT_SCOPE_USER] = read_user;
  self->reads[BKT_SCOPE_SYSTEM] = read_system;
  return BKT_SUBSYSTEM (self);
}
