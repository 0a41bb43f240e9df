/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <flatpak.h>

#include "bkt-error.h"
#include "bkt-flatpak.h"
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
 * Only libflatpak is used, never the flatpak CLI. */

#define SUBSYSTEM_NAME    "flatpak"
#define DEFAULT_REMOTE    "flathub"
#define MAX_NAME_LENGTH   255
#define MAX_SUGGESTIONS   5
#define MAX_EDIT_DISTANCE 3

/* One installation as read: remotes and installed apps, read once so that
 * every plan and status of one request sees the same state. */
typedef struct {
  BktScope             scope;
  FlatpakInstallation *installation;
  GPtrArray           *remotes;         /* FlatpakRemote */
  GHashTable          *remote_by_name;  /* name → FlatpakRemote (borrowed) */
  GPtrArray           *installed;       /* FlatpakInstalledRef, apps only */
  GHashTable          *app_by_id;       /* id → FlatpakInstalledRef (borrowed) */
} ScopeState;

struct _BktFlatpak
{
  GObject     parent_instance;
  gboolean    reads[2];   /* indexed by BktScope */
  ScopeState *scopes[2];  /* NULL until read */
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

/* Live state                                                                */

static void
scope_state_free (ScopeState *state)
{
  g_clear_pointer (&state->remote_by_name, g_hash_table_unref);
  g_clear_pointer (&state->app_by_id, g_hash_table_unref);
  g_clear_pointer (&state->remotes, g_ptr_array_unref);
  g_clear_pointer (&state->installed, g_ptr_array_unref);
  g_clear_object (&state->installation);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScopeState, scope_state_free)

static FlatpakInstallation *
open_installation (BktScope scope, GCancellable *cancellable, GError **error)
{
  FlatpakInstallation *installation = scope == BKT_SCOPE_SYSTEM
    ? flatpak_installation_new_system (cancellable, error)
    : flatpak_installation_new_user (cancellable, error);

  if (installation == NULL)
    g_prefix_error (error, "cannot open the %s flatpak installation: ", bkt_scope_to_string (scope));
  return installation;
}

/* Several branches or arches of one app may be installed; the id stands
 * for the default arch's current one, which is what `flatpak run ID` runs. */
static gboolean
installed_ref_is_better (FlatpakInstalledRef *candidate, FlatpakInstalledRef *current)
{
  const char *arch = flatpak_get_default_arch ();
  gboolean cand_arch = g_strcmp0 (flatpak_ref_get_arch (FLATPAK_REF (candidate)), arch) == 0;
  gboolean cur_arch = g_strcmp0 (flatpak_ref_get_arch (FLATPAK_REF (current)), arch) == 0;

  return cand_arch != cur_arch ? cand_arch
                               : flatpak_installed_ref_get_is_current (candidate) &&
                                 !flatpak_installed_ref_get_is_current (current);
}

static ScopeState *
scope_state_load (BktScope scope, GCancellable *cancellable, GError **error)
{
  g_autoptr(ScopeState) state = g_new0 (ScopeState, 1);
  g_autoptr(GError) local_error = NULL;
  const char *scope_name = bkt_scope_to_string (scope);
  gboolean unused;

  state->scope = scope;
  state->installation = open_installation (scope, cancellable, &local_error);
  /* A system installation never used has no repo yet, which only root may
   * create: for anyone else it is simply empty, not an error. */
  unused = state->installation == NULL && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  if (state->installation == NULL && !unused)
    {
      bkt_error_normalize (&local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_clear_error (&local_error);
  state->remotes = unused ? g_ptr_array_new ()
                          : flatpak_installation_list_remotes (state->installation, cancellable, &local_error);
  if (state->remotes == NULL)
    return fail (error, BKT_ERROR_FAILED, "cannot list the %s flatpak remotes: %s",
                 scope_name, local_error->message), NULL;
  state->installed = unused ? g_ptr_array_new ()
                            : flatpak_installation_list_installed_refs_by_kind (state->installation,
                                                                                FLATPAK_REF_KIND_APP,
                                                                                cancellable, &local_error);
  if (state->installed == NULL)
    return fail (error, BKT_ERROR_FAILED, "cannot list the %s flatpak apps: %s",
                 scope_name, local_error->message), NULL;

  state->remote_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < state->remotes->len; i++)
    {
      FlatpakRemote *remote = g_ptr_array_index (state->remotes, i);
      g_hash_table_insert (state->remote_by_name, (gpointer) flatpak_remote_get_name (remote), remote);
    }
  state->app_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < state->installed->len; i++)
    {
      FlatpakInstalledRef *ref = g_ptr_array_index (state->installed, i);
      const char *id = flatpak_ref_get_name (FLATPAK_REF (ref));
      FlatpakInstalledRef *current = g_hash_table_lookup (state->app_by_id, id);

      if (current == NULL || installed_ref_is_better (ref, current))
        g_hash_table_insert (state->app_by_id, (gpointer) id, ref);
    }
  return g_steal_pointer (&state);
}

/* Reads @scope's installation the first time it is needed.  A scope this
 * object does not read (a change for the other scope) is opened on demand,
 * still only once. */
static ScopeState *
get_scope (BktFlatpak *self, BktScope scope, GCancellable *cancellable, GError **error)
{
  if (self->scopes[scope] == NULL)
    self->scopes[scope] = scope_state_load (scope, cancellable, error);
  return self->scopes[scope];
}

/* The state of @scope if this object reads it (after load_live), else NULL. */
static ScopeState *
read_scope (BktFlatpak *self, BktScope scope)
{
  return self->reads[scope] ? self->scopes[scope] : NULL;
}

static FlatpakInstalledRef *
scope_lookup_app (ScopeState *state, const char *id)
{
  return state != NULL ? g_hash_table_lookup (state->app_by_id, id) : NULL;
}

static BktScope
other_scope (BktScope scope)
{
  return scope == BKT_SCOPE_SYSTEM ? BKT_SCOPE_USER : BKT_SCOPE_SYSTEM;
}

/* Helpers                                                                   */

/* @member of @entry if it holds a @type value, never worth a crash. */
static JsonNode *
entry_value (JsonObject *entry, const char *member, GType type)
{
  JsonNode *node = json_object_get_member (entry, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type ? node : NULL;
}

static const char *
entry_string (JsonObject *entry, const char *member, const char *fallback)
{
  JsonNode *node = entry_value (entry, member, G_TYPE_STRING);
  return node != NULL ? json_node_get_string (node) : fallback;
}

static gboolean
entry_bool (JsonObject *entry, const char *member, gboolean fallback)
{
  JsonNode *node = entry_value (entry, member, G_TYPE_BOOLEAN);
  return node != NULL ? json_node_get_boolean (node) : fallback;
}

/* The manifest loader validates "scope"; a missing one means system, as in
 * the original tool. */
static gboolean
entry_scope (JsonObject *entry, BktScope *out)
{
  return bkt_scope_from_string (entry_string (entry, "scope", "system"), out);
}

#define app_target(id)      g_strconcat ("flatpak:", (id), NULL)
#define remote_target(name) g_strconcat ("flatpak-remote:", (name), NULL)

/* "https://x/repo/" and "https://x/repo" are the same remote: flatpak does
 * not normalise, and a slash must not cause a modify on every apply. */
static gboolean
urls_equal (const char *a, const char *b)
{
  gsize la = a != NULL ? strlen (a) : 0;
  gsize lb = b != NULL ? strlen (b) : 0;

  while (la > 0 && a[la - 1] == '/')
    la--;
  while (lb > 0 && b[lb - 1] == '/')
    lb--;
  return la == lb && (la == 0 || strncmp (a, b, la) == 0);
}

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
plan_remote (JsonObject *entry, BktScope scope, ScopeState *state)
{
  const char *name = entry_string (entry, "name", NULL);
  const char *url = entry_string (entry, "url", NULL);
  const char *scope_name = bkt_scope_to_string (scope);
  FlatpakRemote *live = name != NULL ? g_hash_table_lookup (state->remote_by_name, name) : NULL;
  g_autofree char *live_url = live != NULL ? flatpak_remote_get_url (live) : NULL;
  g_autofree char *target = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(JsonObject) details = NULL;
  JsonNode *filtered = json_object_get_member (entry, "filtered");

  if (name == NULL || url == NULL || (live != NULL && urls_equal (live_url, url)))
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
    json_object_set_boolean_member (details, "gpg_verify", entry_bool (entry, "gpg_verify", TRUE));
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
                           ScopeState *state, gpointer user_data);

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
      const char *key = entry != NULL ? entry_string (entry, key_member, NULL) : NULL;
      BktScope scope;
      ScopeState *state;

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
plan_app_remote (ApplyPlan *plan, const char *name, BktScope scope, ScopeState *state, const char *app_id)
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
                  ScopeState *state, gpointer user_data)
{
  ApplyPlan *plan = user_data;
  BktScope other = other_scope (scope);
  BktOperation *op = plan->kind == BKT_MANIFEST_FLATPAK_REMOTES ? plan_remote (entry, scope, state) : NULL;

  if (op != NULL)
    g_ptr_array_add (plan->remote_ops, op);
  /* Installed in the declared scope from another remote is still in sync:
   * switching origins behind the user's back would be surprising. */
  if (plan->kind != BKT_MANIFEST_FLATPAK_APPS || scope_lookup_app (state, key) != NULL)
    return;
  g_ptr_array_add (plan->app_ops, new_app_op (key, entry_string (entry, "remote", DEFAULT_REMOTE), scope, NULL));
  plan_app_remote (plan, entry_string (entry, "remote", DEFAULT_REMOTE), scope, state, key);
  if (scope_lookup_app (read_scope (self, other), key) != NULL)
    g_ptr_array_add (plan->warnings,
                     g_strdup_printf ("flatpak:%s is installed in the %s installation but declared for the %s one: "
                                      "it will be installed there too", key, bkt_scope_to_string (other),
                                      bkt_scope_to_string (scope)));
}

/* Three-way classification of apps: "installed" or absent on each side
 * (the origin does not count, as in plan_apply).  Remotes stay two-way. */
static void
item_declared_app (BktFlatpak *self, JsonObject *entry, const char *key, BktScope scope,
                   ScopeState *state, gpointer user_data)
{
  GPtrArray *items = user_data;
  g_autofree char *target = app_target (key);

  g_ptr_array_add (items, bkt_item_new (target, scope, "installed",
                                        scope_lookup_app (state, key) != NULL ? "installed" : NULL,
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
      ScopeState *state = read_scope (self, all_scopes[s]);
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
  FlatpakInstalledRef *installed = id != NULL ? scope_lookup_app (read_scope (self, scope), id) : NULL;
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
remote_is_recordable (ScopeState *state, FlatpakRemote *remote)
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
      ScopeState *state = read_scope (self, all_scopes[s]);
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
                  ScopeState *state, gpointer user_data)
{
  GPtrArray *warnings = user_data;
  const char *other = bkt_scope_to_string (other_scope (scope));

  if (scope_lookup_app (state, id) != NULL)
    return;
  if (scope_lookup_app (read_scope (self, other_scope (scope)), id) != NULL)
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
              ScopeState *state, gpointer user_data)
{
  StatusCount *count = user_data;
  gboolean apps = count->kind == BKT_MANIFEST_FLATPAK_APPS;
  g_autoptr(BktOperation) op = apps ? NULL : plan_remote (entry, scope, state);

  count->tracked++;
  if (apps ? scope_lookup_app (state, key) != NULL : op == NULL)
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
configured_remotes (ScopeState *state)
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

/* The branch `flatpak install REMOTE ID` would pick: "stable" (flathub),
 * else "master" (most self-built repos), else the first by name. */
static gboolean
branch_is_better (const char *candidate, const char *current)
{
  static const char * const preferred[] = { "stable", "master" };

  if (current == NULL)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (preferred); i++)
    {
      if (g_strcmp0 (current, preferred[i]) == 0)
        return FALSE;
      if (g_strcmp0 (candidate, preferred[i]) == 0)
        return TRUE;
    }
  return g_strcmp0 (candidate, current) < 0;
}

/* One listing of @remote (a single summary fetch): id → full ref of the
 * preferred branch, app refs of the default arch only. */
static GHashTable *
list_remote_apps (FlatpakInstallation *installation, const char *remote, GCancellable *cancellable,
                  GError **error)
{
  g_autoptr(GHashTable) apps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) refs = flatpak_installation_list_remote_refs_sync_full (installation, remote,
                                                                               FLATPAK_QUERY_FLAGS_NONE,
                                                                               cancellable, error);

  for (guint i = 0; refs != NULL && i < refs->len; i++)
    {
      FlatpakRef *ref = g_ptr_array_index (refs, i);
      const char *current = g_hash_table_lookup (apps, flatpak_ref_get_name (ref));

      if (flatpak_ref_get_kind (ref) == FLATPAK_REF_KIND_APP &&
          g_strcmp0 (flatpak_ref_get_arch (ref), flatpak_get_default_arch ()) == 0 &&
          branch_is_better (flatpak_ref_get_branch (ref), current != NULL ? strrchr (current, '/') + 1 : NULL))
        g_hash_table_insert (apps, g_strdup (flatpak_ref_get_name (ref)), flatpak_ref_format_ref (ref));
    }
  return refs != NULL ? g_steal_pointer (&apps) : NULL;
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
  ScopeState *state;

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
      available = list_remote_apps (state->installation, remote, NULL, &local_error);
      if (available == NULL)
        return fail (error, BKT_ERROR_FAILED, "cannot list flatpak remote %s: %s", remote, local_error->message);
      ref = g_hash_table_lookup (available, id);
      if (ref == NULL && (suggestions = suggest_ids (id, available)) != NULL)
        return fail (error, BKT_ERROR_NOT_FOUND, "flatpak %s not found in remote %s; did you mean: %s?",
                     id, remote, suggestions);
      if (ref == NULL)
        return fail (error, BKT_ERROR_NOT_FOUND, "flatpak %s not found in remote %s", id, remote);
    }

  if (scope_lookup_app (state, id) == NULL)
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
  ScopeState *state;

  if (!parse_arguments (arguments, specs, G_N_ELEMENTS (specs), error) || !parse_scope (scope_arg, &scope, error) ||
      !validate_app_id (id, error))
    return FALSE;

  /* The scope: as given, else as declared, else wherever it is installed
   * if that is unambiguous. */
  entry = bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_APPS, id);
  if (scope_arg == NULL && !(entry != NULL && entry_scope (entry, &scope)))
    {
      ScopeState *sys = get_scope (self, BKT_SCOPE_SYSTEM, NULL, error);
      ScopeState *user = sys != NULL ? get_scope (self, BKT_SCOPE_USER, NULL, error) : NULL;

      if (user == NULL)
        return FALSE;
      if (scope_lookup_app (sys, id) != NULL && scope_lookup_app (user, id) != NULL)
        return fail (error, BKT_ERROR_INVALID_ARGUMENT,
                     "flatpak %s is installed both system-wide and for the user; say which scope", id);
      scope = scope_lookup_app (user, id) != NULL ? BKT_SCOPE_USER : BKT_SCOPE_SYSTEM;
    }
  if ((state = get_scope (self, scope, NULL, error)) == NULL)
    return FALSE;
  installed = scope_lookup_app (state, id);
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

/* Execution                                                                 */

/* One scope's execution (all owned by execute_scope()).  The transaction's
 * signals map flatpak's operations back to ours through the full ref. */
typedef struct {
  BktExecContext      *ctx;
  FlatpakInstallation *installation;
  BktScope             scope;
  GHashTable          *by_ref;          /* full ref → BktOperation */
  GHashTable          *reported;        /* BktOperation set: one result each */
  GHashTable          *has_deps;        /* BktOperation set: a dependency ran first */
  GHashTable          *listings;        /* remote → (id → full ref) */
  GHashTable          *listing_errors;  /* remote → GError */
  GPtrArray           *to_verify;       /* BktOperation: done per flatpak, ✓ once read back */
} ExecRun;

/* Reports @op once; later reports of the same op are dropped.  Errors
 * reach D-Bus callers: flatpak's and GIO's are mapped to ours, message
 * kept.  A success is only noted: verify_done() reports it after reading
 * the installation back. */
static void
report (ExecRun *run, BktOperation *op, const GError *error)
{
  g_autoptr(GError) copy = error != NULL ? g_error_copy (error) : NULL;

  if (!g_hash_table_add (run->reported, op))
    return;
  if (error == NULL && run->to_verify != NULL)
    {
      g_ptr_array_add (run->to_verify, op);
      return;
    }
  bkt_error_normalize (&copy);
  if (copy == NULL)
    bkt_exec_context_progress (run->ctx, op, 1.0, NULL);
  bkt_exec_context_op_done (run->ctx, op, copy);
}

static G_GNUC_PRINTF (4, 5) void
report_failure (ExecRun *run, BktOperation *op, BktError code, const char *format, ...)
{
  g_autoptr(GError) error = NULL;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (BKT_ERROR, code, format, args);
  va_end (args);
  report (run, op, error);
}

static void
exec_remote (ExecRun *run, BktOperation *op, GCancellable *cancellable)
{
  const char *name = bkt_operation_get_detail_string (op, "remote");
  const char *url = bkt_operation_get_detail_string (op, "url");
  JsonObject *details = bkt_operation_get_details (op);
  g_autoptr(FlatpakRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exists, ok;

  if (name == NULL || url == NULL)
    {
      report_failure (run, op, BKT_ERROR_INVALID_ARGUMENT, "operation lacks a remote name or URL");
      return;
    }

  bkt_exec_context_progress (run->ctx, op, 0.0, NULL);
  /* Act on what is there now, whatever the plan saw: an add for a remote
   * that appeared meanwhile becomes a modify, and vice versa. */
  remote = flatpak_installation_get_remote_by_name (run->installation, name, cancellable, NULL);
  exists = remote != NULL;
  if (!exists)
    remote = flatpak_remote_new (name);
  flatpak_remote_set_url (remote, url);
  if (!exists || json_object_has_member (details, "gpg_verify"))
    flatpak_remote_set_gpg_verify (remote, entry_bool (details, "gpg_verify", TRUE));
  ok = exists ? flatpak_installation_modify_remote (run->installation, remote, cancellable, &error)
              : flatpak_installation_add_remote (run->installation, remote, FALSE, cancellable, &error);
  if (!ok)
    g_prefix_error (&error, "cannot configure flatpak remote %s: ", name);
  report (run, op, error);
}

/* The installed ref of @id, read now (not as planned). */
static char *
find_installed_ref (ExecRun *run, const char *id)
{
  g_autoptr(ScopeState) now = scope_state_load (run->scope, NULL, NULL);
  FlatpakInstalledRef *ref = id != NULL ? scope_lookup_app (now, id) : NULL;

  return ref != NULL ? flatpak_ref_format_ref (FLATPAK_REF (ref)) : NULL;
}

/* The full ref to install for @op, listing each remote at most once per
 * execution (failures are cached too).  NULL once @op is reported failed. */
static char *
resolve_install_ref (ExecRun *run, BktOperation *op, const char *id, const char *remote,
                     GCancellable *cancellable)
{
  const char *ref = bkt_operation_get_detail_string (op, "ref");
  GHashTable *apps;
  GError *listing_error;

  if (ref != NULL)
    return g_strdup (ref);
  if (!g_hash_table_contains (run->listings, remote) && !g_hash_table_contains (run->listing_errors, remote))
    {
      GError *e = NULL;
      GHashTable *listed = list_remote_apps (run->installation, remote, cancellable, &e);

      g_hash_table_insert (listed != NULL ? run->listings : run->listing_errors, g_strdup (remote),
                           listed != NULL ? (gpointer) listed : (gpointer) e);
    }
  apps = g_hash_table_lookup (run->listings, remote);
  listing_error = g_hash_table_lookup (run->listing_errors, remote);
  if (g_error_matches (listing_error, FLATPAK_ERROR, FLATPAK_ERROR_REMOTE_NOT_FOUND))
    report_failure (run, op, BKT_ERROR_NOT_FOUND, "flatpak remote %s is not configured in the %s installation",
                    remote, bkt_scope_to_string (run->scope));
  else if (listing_error != NULL)
    report_failure (run, op, BKT_ERROR_FAILED, "cannot list flatpak remote %s: %s", remote, listing_error->message);
  else if ((ref = g_hash_table_lookup (apps, id)) == NULL)
    report_failure (run, op, BKT_ERROR_NOT_FOUND, "flatpak %s not found in remote %s", id, remote);
  return g_strdup (ref);
}

/* Borrowed pointers: the ops outlive the execution, the ref string its
 * transaction operation, which outlives its progress object. */
typedef struct {
  ExecRun      *run;
  BktOperation *op;       /* ours, or the app a dependency is for */
  const char   *label;    /* the dependency's ref; NULL for our own op */
  guint64       download_size;
} ProgressWatch;

static void
on_progress_changed (FlatpakTransactionProgress *progress, gpointer user_data)
{
  ProgressWatch *watch = user_data;
  double fraction = CLAMP (flatpak_transaction_progress_get_progress (progress), 0, 100) / 100.0;
  guint64 bytes = flatpak_transaction_progress_get_bytes_transferred (progress);
  g_autofree char *size = NULL;
  g_autofree char *detail = NULL;

  /* A size only when it says something: "3.1 MB of 12.0 MB" while the
   * total is known and larger, "3.1 MB" without one, nothing before the
   * first byte (a local repo reports a download size of 0 or 1). */
  if (bytes > 0 && watch->download_size > bytes)
    {
      g_autofree char *done = g_format_size (bytes);
      g_autofree char *total = g_format_size (watch->download_size);
      size = g_strdup_printf ("%s of %s", done, total);
    }
  else if (bytes > 0)
    size = g_format_size (bytes);
  if (watch->label != NULL || size != NULL)
    detail = g_strdup_printf ("%s%s%s", watch->label != NULL ? watch->label : "",
                              watch->label != NULL && size != NULL ? ": " : "", size != NULL ? size : "");

  /* An app whose runtime comes first gets two halves: the runtime fills
   * the first, the app the second, so its bar never goes backwards. */
  if (watch->label != NULL)
    fraction *= 0.5;
  else if (g_hash_table_contains (watch->run->has_deps, watch->op))
    fraction = 0.5 + fraction * 0.5;
  bkt_exec_context_progress (watch->run->ctx, watch->op, fraction, detail);
}

static void
watch_progress (ExecRun *run, FlatpakTransactionProgress *progress, BktOperation *op,
                const char *label, guint64 download_size)
{
  ProgressWatch *watch = g_new0 (ProgressWatch, 1);

  *watch = (ProgressWatch) { run, op, label, download_size };
  g_signal_connect_data (progress, "changed", G_CALLBACK (on_progress_changed), watch,
                         (GClosureNotify) (void (*) (void)) g_free, 0);
}

static void
on_new_operation (FlatpakTransaction *transaction, FlatpakTransactionOperation *operation,
                  FlatpakTransactionProgress *progress, gpointer user_data)
{
  ExecRun *run = user_data;
  const char *ref = flatpak_transaction_operation_get_ref (operation);
  guint64 size = flatpak_transaction_operation_get_download_size (operation);
  BktOperation *op = g_hash_table_lookup (run->by_ref, ref);
  GPtrArray *related;   /* owned by the transaction */
  g_autoptr(GString) needed_by = NULL;
  guint named = 0;   /* apps the dependency is for */

  if (op != NULL)
    {
      bkt_exec_context_progress (run->ctx, op, g_hash_table_contains (run->has_deps, op) ? 0.5 : 0.0, NULL);
      watch_progress (run, progress, op, NULL, size);
      return;
    }

  /* A runtime or extension flatpak added: not one of ours, but its
   * download is part of the apps that need it. */
  related = flatpak_transaction_operation_get_related_to_ops (operation);
  needed_by = g_string_new (NULL);
  for (guint i = 0; related != NULL && i < related->len; i++)
    {
      BktOperation *for_op = g_hash_table_lookup (run->by_ref,
                                                  flatpak_transaction_operation_get_ref (g_ptr_array_index (related, i)));
      if (for_op == NULL)
        continue;
      g_hash_table_add (run->has_deps, for_op);
      watch_progress (run, progress, for_op, ref, size);
      /* a runtime shared by many apps: name a few, count the rest */
      if (named++ < 3)
        g_string_append_printf (needed_by, "%s%s", needed_by->len > 0 ? ", " : " (needed by ",
                                bkt_operation_get_target (for_op));
    }
  if (named > 3)
    g_string_append_printf (needed_by, " and %u more", named - 3);
  bkt_exec_context_message (run->ctx, "%s %s%s%s", flatpak_transaction_operation_type_to_string (
                              flatpak_transaction_operation_get_operation_type (operation)),
                            ref, needed_by->str, needed_by->len > 0 ? ")" : "");
}

static void
on_operation_done (FlatpakTransaction *transaction, FlatpakTransactionOperation *operation,
                   const char *commit, FlatpakTransactionResult result, gpointer user_data)
{
  ExecRun *run = user_data;
  BktOperation *op = g_hash_table_lookup (run->by_ref, flatpak_transaction_operation_get_ref (operation));

  if (op != NULL)
    report (run, op, NULL);
}

static gboolean
on_operation_error (FlatpakTransaction *transaction, FlatpakTransactionOperation *operation,
                    const GError *error, FlatpakTransactionErrorDetails details, gpointer user_data)
{
  ExecRun *run = user_data;
  const char *ref = flatpak_transaction_operation_get_ref (operation);
  BktOperation *op = g_hash_table_lookup (run->by_ref, ref);

  /* Stopping the others is only right when the user asked for it.  An op
   * skipped because its runtime failed gets its own error next. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  if (op == NULL)
    bkt_exec_context_message (run->ctx, "%s failed: %s", ref, error->message);
  else if (details & FLATPAK_TRANSACTION_ERROR_DETAILS_NON_FATAL)
    {
      /* e.g. an update that failed while the app stays installed: the
       * op's goal (installed) holds. */
      bkt_exec_context_message (run->ctx, "%s: %s", bkt_operation_get_target (op), error->message);
      report (run, op, NULL);
    }
  else
    report (run, op, error);
  return TRUE;
}

static gboolean
on_ready (FlatpakTransaction *transaction, gpointer user_data)
{
  return TRUE;
}

/* Adds @op to @transaction; FALSE when it was settled on the spot
 * (already in the wanted state, or failed). */
static gboolean
add_app_op (ExecRun *run, FlatpakTransaction *transaction, BktOperation *op, GCancellable *cancellable)
{
  const char *id = bkt_operation_get_detail_string (op, "id");
  const char *remote = bkt_operation_get_detail_string (op, "remote");
  gboolean install = g_str_equal (bkt_operation_get_action (op), "install");
  g_autofree char *ref = NULL;
  g_autoptr(GError) error = NULL;

  if (id == NULL || (install && remote == NULL))
    return report_failure (run, op, BKT_ERROR_INVALID_ARGUMENT, "operation lacks an app id or remote"), FALSE;

  if (install)
    ref = resolve_install_ref (run, op, id, remote, cancellable);
  else if ((ref = g_strdup (bkt_operation_get_detail_string (op, "ref"))) == NULL &&
           (ref = find_installed_ref (run, id)) == NULL)
    report (run, op, NULL);   /* already gone */
  if (ref == NULL)
    return FALSE;

  if (install ? !flatpak_transaction_add_install (transaction, remote, ref, NULL, &error)
              : !flatpak_transaction_add_uninstall (transaction, ref, &error))
    {
      /* Already in the wanted state: that is success, not an error. */
      if (g_error_matches (error, FLATPAK_ERROR, install ? FLATPAK_ERROR_ALREADY_INSTALLED
                                                         : FLATPAK_ERROR_NOT_INSTALLED))
        g_clear_error (&error);
      report (run, op, error);
      return FALSE;
    }
  g_hash_table_insert (run->by_ref, g_steal_pointer (&ref), op);
  return TRUE;
}

/* One transaction for @app_ops; FALSE with @error when flatpak gave up
 * (per-op errors are reported as they happen). */
static gboolean
run_transaction (ExecRun *run, GPtrArray *app_ops, GCancellable *cancellable, GError **error)
{
  g_autoptr(FlatpakTransaction) transaction = flatpak_transaction_new_for_installation (run->installation,
                                                                                       cancellable, error);
  gboolean ok = TRUE;
  guint n_added = 0;

  if (transaction == NULL)
    return FALSE;
  g_hash_table_remove_all (run->by_ref);
  flatpak_transaction_add_default_dependency_sources (transaction);
  flatpak_transaction_set_no_interaction (transaction, TRUE);
  g_signal_connect (transaction, "new-operation", G_CALLBACK (on_new_operation), run);
  g_signal_connect (transaction, "operation-done", G_CALLBACK (on_operation_done), run);
  g_signal_connect (transaction, "operation-error", G_CALLBACK (on_operation_error), run);
  g_signal_connect (transaction, "ready", G_CALLBACK (on_ready), run);
  for (guint i = 0; i < app_ops->len && !g_cancellable_is_cancelled (cancellable); i++)
    if (add_app_op (run, transaction, g_ptr_array_index (app_ops, i), cancellable))
      n_added++;
  if (n_added > 0)
    ok = flatpak_transaction_run (transaction, cancellable, error);
  /* The handlers point at @run, which may go before the transaction. */
  g_signal_handlers_disconnect_by_data (transaction, run);
  return ok;
}

/* ✓ only after the effect is verified: one fresh read of the installation
 * for the whole batch, then each operation flatpak called done is checked
 * against it (the app installed or gone, the remote there with its URL). */
static void
verify_done (ExecRun *run)
{
  g_autoptr(GPtrArray) ops = g_steal_pointer (&run->to_verify);
  g_autoptr(GError) read_error = NULL;
  g_autoptr(ScopeState) now = ops->len > 0 ? scope_state_load (run->scope, NULL, &read_error) : NULL;

  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *action = bkt_operation_get_action (op);
      const char *remote = bkt_operation_get_detail_string (op, "remote");
      g_autoptr(GError) error = NULL;
      gboolean holds;

      if (now == NULL)
        {
          error = g_error_new (BKT_ERROR, BKT_ERROR_FAILED, "%s: done, but the %s installation cannot be read back: %s",
                               bkt_operation_get_target (op), bkt_scope_to_string (run->scope), read_error->message);
          bkt_exec_context_op_done (run->ctx, op, error);
          continue;
        }
      if (g_str_has_suffix (action, "remote"))
        {
          FlatpakRemote *r = remote != NULL ? g_hash_table_lookup (now->remote_by_name, remote) : NULL;
          g_autofree char *url = r != NULL ? flatpak_remote_get_url (r) : NULL;
          holds = r != NULL && urls_equal (url, bkt_operation_get_detail_string (op, "url"));
        }
      else
        holds = (scope_lookup_app (now, bkt_operation_get_detail_string (op, "id")) != NULL) ==
                g_str_equal (action, "install");
      if (!holds)
        error = g_error_new (BKT_ERROR, BKT_ERROR_FAILED, "flatpak reported “%s” done, but the %s installation "
                             "does not show it", bkt_operation_get_summary (op), bkt_scope_to_string (run->scope));
      else
        bkt_exec_context_progress (run->ctx, op, 1.0, NULL);
      bkt_exec_context_op_done (run->ctx, op, error);
    }
}

/* Everything for one scope: remotes first (apps may come from them), then
 * one transaction for all installs and uninstalls.  Every op of @ops is
 * reported exactly once; FALSE if cancelled. */
static gboolean
execute_scope (BktScope scope, GPtrArray *ops, BktExecContext *ctx, GCancellable *cancellable)
{
  g_autoptr(GHashTable) by_ref = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) reported = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) has_deps = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) listings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) g_hash_table_unref);
  g_autoptr(GHashTable) listing_errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                                (GDestroyNotify) g_error_free);
  g_autoptr(FlatpakInstallation) installation = NULL;
  g_autoptr(GPtrArray) app_ops = g_ptr_array_new ();
  g_autoptr(GError) local_error = NULL;
  ExecRun run = { ctx, NULL, scope, by_ref, reported, has_deps, listings, listing_errors,
                  g_ptr_array_new () };

  /* A fresh installation object: this runs in a worker thread, and the
   * one read at planning time belongs to the caller's thread. */
  if (!g_cancellable_is_cancelled (cancellable))
    run.installation = installation = open_installation (scope, cancellable, &local_error);
  for (guint i = 0; run.installation != NULL && i < ops->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *action = bkt_operation_get_action (op);

      if (g_str_equal (action, "add-remote") || g_str_equal (action, "modify-remote"))
        exec_remote (&run, op, cancellable);
      else if (g_str_equal (action, "install") || g_str_equal (action, "uninstall"))
        g_ptr_array_add (app_ops, op);
      else
        report_failure (&run, op, BKT_ERROR_NOT_SUPPORTED, "flatpak cannot execute “%s”", action);
    }

  if (app_ops->len > 0 && !g_cancellable_is_cancelled (cancellable) &&
      !run_transaction (&run, app_ops, cancellable, &local_error) && app_ops->len > 1)
    {
      /* One bad app (e.g. its runtime is nowhere to be found) fails the
       * whole transaction before anything runs: retry the others one by
       * one, so that each gets its own result. */
      g_debug ("flatpak transaction (%s): %s; retrying one by one", bkt_scope_to_string (scope),
               local_error->message);
      for (guint i = 0; i < app_ops->len && !g_cancellable_is_cancelled (cancellable); i++)
        {
          g_autoptr(GPtrArray) one = g_ptr_array_new ();
          g_autoptr(GError) op_error = NULL;

          g_ptr_array_add (one, g_ptr_array_index (app_ops, i));
          if (!g_hash_table_contains (run.reported, one->pdata[0]) &&
              !run_transaction (&run, one, cancellable, &op_error))
            report (&run, one->pdata[0], op_error);
        }
    }

  /* Whatever flatpak never reported on (merged, a no-op, or the run
   * stopped) gets its result from what is installed now; the rest was
   * cancelled or could not be set up (@local_error). */
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *action = bkt_operation_get_action (op);
      gboolean app_op = run.installation != NULL && g_str_has_suffix (action, "install");  /* or uninstall */
      g_autofree char *installed = NULL;

      if (g_hash_table_contains (run.reported, op))
        continue;
      if (app_op)
        installed = find_installed_ref (&run, bkt_operation_get_detail_string (op, "id"));
      if (app_op && (installed != NULL) == g_str_equal (action, "install"))
        report (&run, op, NULL);
      else if (g_cancellable_is_cancelled (cancellable))
        report_failure (&run, op, BKT_ERROR_CANCELLED, "%s: cancelled", bkt_operation_get_target (op));
      else if (local_error != NULL)
        report (&run, op, local_error);
      else
        report_failure (&run, op, BKT_ERROR_FAILED, "flatpak did not perform “%s”", bkt_operation_get_summary (op));
    }
  verify_done (&run);
  return !g_cancellable_is_cancelled (cancellable);
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
      if (scope_ops->len > 0 && !execute_scope (all_scopes[s], scope_ops, ctx, cancellable))
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
    g_clear_pointer (&self->scopes[i], scope_state_free);
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
