/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <flatpak.h>

#include "bkt-error.h"
#include "bkt-flatpak.h"

/* Manifest entries handled here:
 *
 *   flatpak-remotes.json  {"name", "url", "scope", "filtered"?, "gpg_verify"?}
 *   flatpak-apps.json     {"id", "remote", "scope"}
 *
 * "gpg_verify" (boolean, default true) is our extension to the original
 * format: a remote added from a bare URL has no GPG key, so a local or
 * self-hosted unsigned repository (tests, air-gapped mirrors) could not be
 * declared at all without it.  "filtered" is kept and passed along in
 * operation details but not acted upon: the filter file itself is the
 * distribution's business (e.g. Fedora's flathub filter), not the manifest's.
 *
 * Targets are "flatpak:ID" for apps and "flatpak-remote:NAME" for remotes. */

#define SUBSYSTEM_NAME    "flatpak"
#define DEFAULT_REMOTE    "flathub"
#define MAX_NAME_LENGTH   255
#define MAX_SUGGESTIONS   5
#define MAX_EDIT_DISTANCE 3

/* What one installation looked like when it was read: remotes and installed
 * apps, read once so that every plan and status of one request sees the
 * same state. */
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

static const BktScope all_scopes[] = { BKT_SCOPE_SYSTEM, BKT_SCOPE_USER };

/* ------------------------------------------------------------------------ */
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
  g_autoptr(GError) local_error = NULL;
  FlatpakInstallation *installation;

  if (scope == BKT_SCOPE_SYSTEM)
    installation = flatpak_installation_new_system (cancellable, &local_error);
  else
    installation = flatpak_installation_new_user (cancellable, &local_error);
  if (installation == NULL)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot open the %s flatpak installation: %s",
                   bkt_scope_to_string (scope), local_error->message);
      return NULL;
    }
  return installation;
}

/* Several branches or arches of one app may be installed; the id maps to
 * the one for the default arch, preferring the current branch, because that
 * is what `flatpak run ID` starts. */
static gboolean
installed_ref_is_better (FlatpakInstalledRef *candidate, FlatpakInstalledRef *current)
{
  const char *arch = flatpak_get_default_arch ();
  gboolean cand_arch = g_strcmp0 (flatpak_ref_get_arch (FLATPAK_REF (candidate)), arch) == 0;
  gboolean cur_arch = g_strcmp0 (flatpak_ref_get_arch (FLATPAK_REF (current)), arch) == 0;

  if (cand_arch != cur_arch)
    return cand_arch;
  return flatpak_installed_ref_get_is_current (candidate) && !flatpak_installed_ref_get_is_current (current);
}

static ScopeState *
scope_state_load (BktScope scope, GCancellable *cancellable, GError **error)
{
  g_autoptr(ScopeState) state = g_new0 (ScopeState, 1);
  g_autoptr(GError) local_error = NULL;

  state->scope = scope;
  state->installation = open_installation (scope, cancellable, error);
  if (state->installation == NULL)
    return NULL;

  state->remotes = flatpak_installation_list_remotes (state->installation, cancellable, &local_error);
  if (state->remotes == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot list the %s flatpak remotes: %s",
                        bkt_scope_to_string (scope), local_error->message), NULL;

  state->installed = flatpak_installation_list_installed_refs_by_kind (state->installation,
                                                                       FLATPAK_REF_KIND_APP,
                                                                       cancellable, &local_error);
  if (state->installed == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot list the %s flatpak apps: %s",
                        bkt_scope_to_string (scope), local_error->message), NULL;

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

/* Reads @scope's installation the first time it is needed.  Scopes this
 * object does not read (a change for the other scope) are opened on demand
 * too, still only once. */
static ScopeState *
get_scope (BktFlatpak *self, BktScope scope, GCancellable *cancellable, GError **error)
{
  if (self->scopes[scope] == NULL)
    self->scopes[scope] = scope_state_load (scope, cancellable, error);
  return self->scopes[scope];
}

static FlatpakInstalledRef *
scope_lookup_app (ScopeState *state, const char *id)
{
  return state != NULL ? g_hash_table_lookup (state->app_by_id, id) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static const char *
entry_string (JsonObject *entry, const char *member, const char *fallback)
{
  JsonNode *node = json_object_get_member (entry, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;
  return json_node_get_string (node);
}

static gboolean
entry_bool (JsonObject *entry, const char *member, gboolean fallback)
{
  JsonNode *node = json_object_get_member (entry, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

/* The manifest loader validates "scope"; a missing one means system, as in
 * the original tool. */
static gboolean
entry_scope (JsonObject *entry, BktScope *out)
{
  return bkt_scope_from_string (entry_string (entry, "scope", "system"), out);
}

static char *
app_target (const char *id)
{
  return g_strconcat ("flatpak:", id, NULL);
}

static char *
remote_target (const char *name)
{
  return g_strconcat ("flatpak-remote:", name, NULL);
}

/* "https://x/repo/" and "https://x/repo" are the same remote: flatpak itself
 * does not normalise, and a slash must not cause a modify on every apply. */
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

static void
append_sorted (GPtrArray *dest, GPtrArray *src)
{
  g_ptr_array_sort (src, compare_op_targets);
  for (guint i = 0; i < src->len; i++)
    g_ptr_array_add (dest, g_object_ref (g_ptr_array_index (src, i)));
}

/* ------------------------------------------------------------------------ */
/* Validation                                                                */

static gboolean
is_name_start_char (char c)
{
  return g_ascii_isalpha (c) || c == '_';
}

static gboolean
is_name_char (char c, gboolean allow_dash)
{
  return is_name_start_char (c) || g_ascii_isdigit (c) || (allow_dash && c == '-');
}

/* flatpak's rules for application ids (flatpak_is_valid_name() is not
 * public API): at most 255 characters, at least three dot-separated
 * segments, each starting with a letter or '_', then letters, digits and
 * '_'; '-' only in the last segment.  A leading '-' therefore never gets
 * through, so an id can never be mistaken for an option further down. */
static gboolean
validate_app_id (const char *id, GError **error)
{
  gsize len = id != NULL ? strlen (id) : 0;
  const char *last_dot;
  guint dots = 0;

  if (len == 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "a flatpak application id is required"), FALSE;
  if (len > MAX_NAME_LENGTH)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "invalid flatpak application id: longer than %d characters", MAX_NAME_LENGTH), FALSE;
  if (!g_utf8_validate (id, -1, NULL))
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "invalid flatpak application id: not UTF-8"), FALSE;

  last_dot = strrchr (id, '.');
  for (const char *s = id; *s != '\0'; s++)
    {
      gboolean segment_start = s == id || s[-1] == '.';
      gboolean in_last = last_dot == NULL || s > last_dot;

      if (*s == '.')
        {
          if (segment_start || s[1] == '\0')
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "invalid flatpak application id “%s”: empty segment", id), FALSE;
          dots++;
        }
      else if (segment_start ? !is_name_start_char (*s) : !is_name_char (*s, in_last))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "invalid flatpak application id “%s”: unexpected “%c”%s", id, *s,
                            segment_start ? " at the start of a segment" : ""), FALSE;
    }
  if (dots < 2)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "invalid flatpak application id “%s”: expected reverse-DNS such as org.example.App", id), FALSE;
  return TRUE;
}

/* OSTree remote names: no '/', no leading '-' or '.', a conservative
 * character set so the name is safe in a config group and a ref. */
static gboolean
validate_remote_name (const char *name, GError **error)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > MAX_NAME_LENGTH)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "invalid flatpak remote name: must be 1 to %d characters", MAX_NAME_LENGTH), FALSE;
  if (!g_ascii_isalnum (name[0]) && name[0] != '_')
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "invalid flatpak remote name “%s”: must start with a letter, digit or “_”",
                        g_utf8_validate (name, -1, NULL) ? name : "?"), FALSE;
  for (const char *s = name; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && *s != '_' && *s != '-' && *s != '.')
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "invalid flatpak remote name “%s”: unexpected character",
                          g_utf8_validate (name, -1, NULL) ? name : "?"), FALSE;
  return TRUE;
}

/* Case-insensitive Levenshtein distance, for "did you mean" only. */
static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *prev = g_new (guint, lb + 1);
  g_autofree guint *cur = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    prev[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      cur[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint cost = g_ascii_tolower (a[i - 1]) == g_ascii_tolower (b[j - 1]) ? 0 : 1;
          cur[j] = MIN (MIN (prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
        }
      memcpy (prev, cur, (lb + 1) * sizeof (guint));
    }
  return prev[lb];
}

static const char *
last_segment (const char *id)
{
  const char *dot = strrchr (id, '.');
  return dot != NULL ? dot + 1 : id;
}

typedef struct {
  const char *id;
  guint       score;
  guint       full_distance;
} Suggestion;

static gint
compare_suggestions (gconstpointer a, gconstpointer b)
{
  const Suggestion *sa = a, *sb = b;

  if (sa->score != sb->score)
    return sa->score < sb->score ? -1 : 1;
  if (sa->full_distance != sb->full_distance)
    return sa->full_distance < sb->full_distance ? -1 : 1;
  return strcmp (sa->id, sb->id);
}

/* Up to MAX_SUGGESTIONS ids from @available close to @id: the last segment
 * (the part people mistype) within MAX_EDIT_DISTANCE, or one last segment
 * contained in the other id.  Returns NULL when nothing is close. */
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
      const char *candidate = key;
      g_autofree char *cand_last = g_ascii_strdown (last_segment (candidate), -1);
      g_autofree char *cand_full = g_ascii_strdown (candidate, -1);
      guint d = edit_distance (want_last, cand_last);
      Suggestion s = { candidate, d, edit_distance (want_full, cand_full) };

      if (d > MAX_EDIT_DISTANCE)
        {
          /* Substrings catch "Boxes" for "org.gnome.Boxes" typed under the
           * wrong domain; too short a needle would match everything. */
          if ((strlen (want_last) >= 3 && strstr (cand_full, want_last) != NULL) ||
              (strlen (cand_last) >= 3 && strstr (want_full, cand_last) != NULL))
            s.score = MAX_EDIT_DISTANCE + 1;
          else
            continue;
        }
      g_array_append_val (found, s);
    }
  if (found->len == 0)
    return NULL;

  g_array_sort (found, compare_suggestions);
  out = g_string_new (NULL);
  for (guint i = 0; i < found->len && i < MAX_SUGGESTIONS; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? ", " : "", g_array_index (found, Suggestion, i).id);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                */

static BktOperation *
new_install_op (const char *id, const char *remote, BktScope scope, const char *ref)
{
  g_autofree char *target = app_target (id);
  g_autofree char *summary = g_strdup_printf ("Install %s (%s, %s)", target, remote,
                                              bkt_scope_to_string (scope));
  g_autoptr(JsonObject) details = json_object_new ();

  json_object_set_string_member (details, "id", id);
  json_object_set_string_member (details, "remote", remote);
  json_object_set_string_member (details, "scope", bkt_scope_to_string (scope));
  /* Known when `add` already looked the app up in the remote: saves the
   * executor a second look-up. */
  if (ref != NULL)
    json_object_set_string_member (details, "ref", ref);
  return bkt_operation_new (SUBSYSTEM_NAME, "install", target, scope, BKT_EFFECT_LIVE, summary, details);
}

static BktOperation *
new_uninstall_op (const char *id, BktScope scope, const char *ref)
{
  g_autofree char *target = app_target (id);
  g_autofree char *summary = g_strdup_printf ("Uninstall %s (%s)", target, bkt_scope_to_string (scope));
  g_autoptr(JsonObject) details = json_object_new ();

  json_object_set_string_member (details, "id", id);
  json_object_set_string_member (details, "scope", bkt_scope_to_string (scope));
  if (ref != NULL)
    json_object_set_string_member (details, "ref", ref);
  return bkt_operation_new (SUBSYSTEM_NAME, "uninstall", target, scope, BKT_EFFECT_LIVE, summary, details);
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
  FlatpakRemote *live;
  g_autofree char *target = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *live_url = NULL;
  g_autoptr(JsonObject) details = NULL;
  JsonNode *filtered;

  if (name == NULL || url == NULL)
    return NULL;

  live = g_hash_table_lookup (state->remote_by_name, name);
  if (live != NULL)
    {
      live_url = flatpak_remote_get_url (live);
      if (urls_equal (live_url, url))
        return NULL;
    }

  target = remote_target (name);
  details = json_object_new ();
  json_object_set_string_member (details, "remote", name);
  json_object_set_string_member (details, "url", url);
  json_object_set_string_member (details, "scope", bkt_scope_to_string (scope));
  filtered = json_object_get_member (entry, "filtered");
  if (filtered != NULL)
    json_object_set_member (details, "filtered", json_node_copy (filtered));

  if (live == NULL)
    {
      json_object_set_boolean_member (details, "gpg_verify", entry_bool (entry, "gpg_verify", TRUE));
      summary = g_strdup_printf ("Add flatpak remote %s (%s, %s)", name, url, bkt_scope_to_string (scope));
      return bkt_operation_new (SUBSYSTEM_NAME, "add-remote", target, scope, BKT_EFFECT_LIVE, summary, details);
    }

  /* Only an explicit gpg_verify is applied to an existing remote: turning
   * verification on for a remote whose key we do not have would break it. */
  if (json_object_has_member (entry, "gpg_verify"))
    json_object_set_boolean_member (details, "gpg_verify", entry_bool (entry, "gpg_verify", TRUE));
  json_object_set_string_member (details, "old_url", live_url != NULL ? live_url : "");
  summary = g_strdup_printf ("Change flatpak remote %s URL (%s → %s, %s)", name,
                             live_url != NULL ? live_url : "", url, bkt_scope_to_string (scope));
  return bkt_operation_new (SUBSYSTEM_NAME, "modify-remote", target, scope, BKT_EFFECT_LIVE, summary, details);
}

/* ------------------------------------------------------------------------ */
/* BktSubsystem: reading and planning                                        */

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

/* The state of @scope if this object reads it (after load_live), else NULL. */
static ScopeState *
read_scope (BktFlatpak *self, BktScope scope)
{
  return self->reads[scope] ? self->scopes[scope] : NULL;
}

static BktScope
other_scope (BktScope scope)
{
  return scope == BKT_SCOPE_SYSTEM ? BKT_SCOPE_USER : BKT_SCOPE_SYSTEM;
}

/* Calls @func for each well-formed entry of @kind whose scope this object
 * reads, with that scope's state; entries of other scopes belong to the
 * other instance. */
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

      if (key == NULL || !entry_scope (entry, &scope) || (state = read_scope (self, scope)) == NULL)
        continue;
      func (self, entry, key, scope, state, user_data);
    }
}

typedef struct {
  GPtrArray *remote_ops;
  GPtrArray *app_ops;
  GPtrArray *warnings;
} ApplyPlan;

static void
plan_apply_remote (BktFlatpak *self, JsonObject *entry, const char *name, BktScope scope,
                   ScopeState *state, gpointer user_data)
{
  ApplyPlan *plan = user_data;
  BktOperation *op = plan_remote (entry, scope, state);

  if (op != NULL)
    g_ptr_array_add (plan->remote_ops, op);
}

static void
plan_apply_app (BktFlatpak *self, JsonObject *entry, const char *id, BktScope scope,
                ScopeState *state, gpointer user_data)
{
  ApplyPlan *plan = user_data;
  BktScope other = other_scope (scope);

  /* Installed in the declared scope from another remote is still in sync:
   * switching origins behind the user's back would be surprising. */
  if (scope_lookup_app (state, id) != NULL)
    return;
  g_ptr_array_add (plan->app_ops, new_install_op (id, entry_string (entry, "remote", DEFAULT_REMOTE), scope, NULL));
  if (scope_lookup_app (read_scope (self, other), id) != NULL)
    g_ptr_array_add (plan->warnings,
                     g_strdup_printf ("flatpak:%s is installed in the %s installation but declared for the %s one: "
                                      "it will be installed there too", id, bkt_scope_to_string (other),
                                      bkt_scope_to_string (scope)));
}

static gboolean
bkt_flatpak_plan_apply (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                        GPtrArray *warnings, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);
  g_autoptr(GPtrArray) remote_ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) app_ops = g_ptr_array_new_with_free_func (g_object_unref);
  ApplyPlan plan = { remote_ops, app_ops, warnings };

  if (!bkt_flatpak_load_live (subsystem, NULL, error))
    return FALSE;
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_REMOTES, plan_apply_remote, &plan);
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_APPS, plan_apply_app, &plan);
  /* Remotes first: the apps may come from them. */
  append_sorted (ops, remote_ops);
  append_sorted (ops, app_ops);
  return TRUE;
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

/* Installed apps of read scopes whose id the manifest does not have at
 * all, as {"target","summary","id","origin","scope"}, sorted.  An id the
 * manifest declares for the other scope is not untracked: recording it
 * would overwrite that entry. */
static GPtrArray *
collect_untracked_apps (BktFlatpak *self, BktManifestSet *manifests)
{
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (gsize s = 0; s < G_N_ELEMENTS (all_scopes); s++)
    {
      ScopeState *state = read_scope (self, all_scopes[s]);
      const char *scope = bkt_scope_to_string (all_scopes[s]);
      GHashTableIter iter;
      gpointer key, value;

      if (state == NULL)
        continue;
      g_hash_table_iter_init (&iter, state->app_by_id);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          const char *origin = flatpak_installed_ref_get_origin (value);
          g_autofree char *target = app_target (key);
          g_autofree char *summary = NULL;
          JsonObject *o;

          if (bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_APPS, key) != NULL)
            continue;
          summary = g_strdup_printf ("Installed from %s (%s), not in the manifest", origin, scope);
          o = json_object_new ();
          json_object_set_string_member (o, "target", target);
          json_object_set_string_member (o, "summary", summary);
          json_object_set_string_member (o, "id", key);
          json_object_set_string_member (o, "origin", origin);
          json_object_set_string_member (o, "scope", scope);
          g_ptr_array_add (found, o);
        }
    }
  g_ptr_array_sort (found, compare_json_targets);
  return found;
}

/* Remotes worth recording: not disabled, and not one of the hidden
 * "noenumerate" remotes flatpak makes for .flatpakref installs unless an
 * installed app comes from it (the app's entry then needs it). */
static gboolean
remote_is_recordable (ScopeState *state, FlatpakRemote *remote)
{
  const char *name = flatpak_remote_get_name (remote);

  if (flatpak_remote_get_disabled (remote))
    return FALSE;
  if (!flatpak_remote_get_noenumerate (remote))
    return TRUE;
  for (guint i = 0; i < state->installed->len; i++)
    if (g_strcmp0 (flatpak_installed_ref_get_origin (g_ptr_array_index (state->installed, i)), name) == 0)
      return TRUE;
  return FALSE;
}

/* Live remotes of read scopes absent from the manifest, as
 * {"target","summary","name","url","scope","gpg_verify"}, sorted. */
static GPtrArray *
collect_untracked_remotes (BktFlatpak *self, BktManifestSet *manifests)
{
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (gsize s = 0; s < G_N_ELEMENTS (all_scopes); s++)
    {
      ScopeState *state = read_scope (self, all_scopes[s]);
      const char *scope = bkt_scope_to_string (all_scopes[s]);

      for (guint i = 0; state != NULL && i < state->remotes->len; i++)
        {
          FlatpakRemote *remote = g_ptr_array_index (state->remotes, i);
          const char *name = flatpak_remote_get_name (remote);
          g_autofree char *url = NULL;
          g_autofree char *target = NULL;
          g_autofree char *summary = NULL;
          JsonObject *o;

          if (bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_REMOTES, name) != NULL ||
              !remote_is_recordable (state, remote))
            continue;
          url = flatpak_remote_get_url (remote);
          target = remote_target (name);
          summary = g_strdup_printf ("Remote %s (%s), not in the manifest", url != NULL ? url : "", scope);
          o = json_object_new ();
          json_object_set_string_member (o, "target", target);
          json_object_set_string_member (o, "summary", summary);
          json_object_set_string_member (o, "name", name);
          json_object_set_string_member (o, "url", url != NULL ? url : "");
          json_object_set_string_member (o, "scope", scope);
          json_object_set_boolean_member (o, "gpg_verify", flatpak_remote_get_gpg_verify (remote));
          g_ptr_array_add (found, o);
        }
    }
  g_ptr_array_sort (found, compare_json_targets);
  return found;
}

static void
capture_warn_app (BktFlatpak *self, JsonObject *entry, const char *id, BktScope scope,
                  ScopeState *state, gpointer user_data)
{
  GPtrArray *warnings = user_data;
  BktScope other = other_scope (scope);

  if (scope_lookup_app (state, id) != NULL)
    return;
  if (scope_lookup_app (read_scope (self, other), id) != NULL)
    g_ptr_array_add (warnings,
                     g_strdup_printf ("flatpak:%s is declared for the %s installation but installed in the %s one; "
                                      "run `bkt apply` to install it where declared or "
                                      "`bkt flatpak add %s --scope %s` to declare it where it is",
                                      id, bkt_scope_to_string (scope), bkt_scope_to_string (other),
                                      id, bkt_scope_to_string (other)));
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
  g_autoptr(GPtrArray) remotes = NULL;
  g_autoptr(GPtrArray) apps = NULL;
  g_autoptr(GPtrArray) new_warnings = g_ptr_array_new_with_free_func (g_free);

  if (!bkt_flatpak_load_live (subsystem, NULL, error))
    return FALSE;
  remotes = collect_untracked_remotes (self, manifests);
  apps = collect_untracked_apps (self, manifests);

  for (guint i = 0; i < remotes->len; i++)
    {
      JsonObject *o = g_ptr_array_index (remotes, i);
      const char *target = json_object_get_string_member (o, "target");
      g_autofree char *summary = g_strdup_printf ("Record %s (%s, %s)", target,
                                                  json_object_get_string_member (o, "url"),
                                                  json_object_get_string_member (o, "scope"));
      g_autoptr(JsonObject) entry = json_object_new ();

      json_object_set_string_member (entry, "name", json_object_get_string_member (o, "name"));
      json_object_set_string_member (entry, "url", json_object_get_string_member (o, "url"));
      json_object_set_string_member (entry, "scope", json_object_get_string_member (o, "scope"));
      /* Written only when off, so ordinary entries keep the original
       * format exactly. */
      if (!json_object_get_boolean_member (o, "gpg_verify"))
        json_object_set_boolean_member (entry, "gpg_verify", FALSE);
      g_ptr_array_add (ops, bkt_operation_new_record (SUBSYSTEM_NAME, BKT_MANIFEST_FLATPAK_REMOTES,
                                                      target, summary, entry));
    }

  for (guint i = 0; i < apps->len; i++)
    {
      JsonObject *o = g_ptr_array_index (apps, i);
      BktScope scope = BKT_SCOPE_SYSTEM;

      bkt_scope_from_string (json_object_get_string_member (o, "scope"), &scope);
      g_ptr_array_add (ops, new_app_record_op (json_object_get_string_member (o, "id"),
                                               json_object_get_string_member (o, "origin"), scope));
    }

  /* What only the manifest has cannot be captured: say so. */
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_APPS, capture_warn_app, new_warnings);
  g_ptr_array_sort (new_warnings, compare_strings);
  for (guint i = 0; i < new_warnings->len; i++)
    g_ptr_array_add (warnings, g_strdup (g_ptr_array_index (new_warnings, i)));
  return TRUE;
}

typedef struct {
  gint64     tracked;
  gint64     in_sync;
  GPtrArray *drifted;   /* targets (char *) */
} StatusCount;

static void
status_count_app (BktFlatpak *self, JsonObject *entry, const char *id, BktScope scope,
                  ScopeState *state, gpointer user_data)
{
  StatusCount *count = user_data;

  count->tracked++;
  if (scope_lookup_app (state, id) != NULL)
    count->in_sync++;
  else
    g_ptr_array_add (count->drifted, app_target (id));
}

static void
status_count_remote (BktFlatpak *self, JsonObject *entry, const char *name, BktScope scope,
                     ScopeState *state, gpointer user_data)
{
  StatusCount *count = user_data;
  g_autoptr(BktOperation) op = plan_remote (entry, scope, state);

  count->tracked++;
  if (op == NULL)
    count->in_sync++;
  else
    g_ptr_array_add (count->drifted, remote_target (name));
}

static void
status_fill (JsonObject *o, StatusCount *count, GPtrArray *untracked, const char *drift_member)
{
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
}

/* {"tracked","in_sync","untracked":[apps],"missing":[targets],
 *  "remotes":{"tracked","in_sync","untracked":[remotes],"drifted":[targets]}}
 * Remotes are kept apart so that "untracked" is a list of apps only. */
static JsonObject *
bkt_flatpak_status (BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  BktFlatpak *self = BKT_FLATPAK (subsystem);
  g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) drifted = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) untracked = NULL;
  g_autoptr(GPtrArray) untracked_remotes = NULL;
  StatusCount apps = { 0, 0, missing };
  StatusCount remotes = { 0, 0, drifted };
  JsonObject *status, *remote_status;

  if (!bkt_flatpak_load_live (subsystem, NULL, error))
    return NULL;
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_APPS, status_count_app, &apps);
  foreach_read_entry (self, manifests, BKT_MANIFEST_FLATPAK_REMOTES, status_count_remote, &remotes);
  untracked = collect_untracked_apps (self, manifests);
  untracked_remotes = collect_untracked_remotes (self, manifests);

  status = json_object_new ();
  status_fill (status, &apps, untracked, "missing");
  remote_status = json_object_new ();
  status_fill (remote_status, &remotes, untracked_remotes, "drifted");
  json_object_set_object_member (status, "remotes", remote_status);
  return status;
}

/* ------------------------------------------------------------------------ */
/* plan_change                                                               */

/* Reads string/boolean members of the a{sv} arguments, rejecting wrong
 * types and unknown keys (a typo such as "scop" must not be ignored). */
static gboolean
check_arguments (GVariant *arguments, const char * const *allowed, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (arguments == NULL)
    return TRUE;
  if (!g_variant_is_of_type (arguments, G_VARIANT_TYPE_VARDICT))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "flatpak change arguments must be a{sv}, not %s",
                        g_variant_get_type_string (arguments)), FALSE;
  g_variant_iter_init (&iter, arguments);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    if (!g_strv_contains (allowed, key))
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "unknown flatpak argument “%s”", key), FALSE;
  return TRUE;
}

static gboolean
arg_string (GVariant *arguments, const char *key, const char *fallback, const char **out, GError **error)
{
  g_autoptr(GVariant) value = arguments != NULL ? g_variant_lookup_value (arguments, key, NULL) : NULL;

  if (value == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "flatpak argument “%s” must be a string", key), FALSE;
  /* The string lives as long as @arguments, which holds the value too. */
  *out = g_variant_get_string (value, NULL);
  return TRUE;
}

static gboolean
arg_bool (GVariant *arguments, const char *key, gboolean *out, GError **error)
{
  g_autoptr(GVariant) value = arguments != NULL ? g_variant_lookup_value (arguments, key, NULL) : NULL;

  *out = FALSE;
  if (value == NULL)
    return TRUE;
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "flatpak argument “%s” must be a boolean", key), FALSE;
  *out = g_variant_get_boolean (value);
  return TRUE;
}

static gboolean
arg_scope (GVariant *arguments, gboolean *given, BktScope *out, GError **error)
{
  const char *s;

  if (!arg_string (arguments, "scope", NULL, &s, error))
    return FALSE;
  *given = s != NULL;
  if (s == NULL)
    return TRUE;
  if (!bkt_scope_from_string (s, out))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "invalid flatpak scope “%s”: expected “system” or “user”",
                        g_utf8_validate (s, -1, NULL) ? s : "?"), FALSE;
  return TRUE;
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
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/* Picks the branch `flatpak install REMOTE ID` would: "stable" (flathub),
 * else "master" (most self-built repos), else the first one. */
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

/* One listing of @remote: id → full ref of the preferred branch, app refs
 * of the default arch only. */
static GHashTable *
list_remote_apps (FlatpakInstallation *installation, const char *remote, GCancellable *cancellable,
                  GError **error)
{
  g_autoptr(GPtrArray) refs = NULL;
  g_autoptr(GHashTable) branches = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) apps = NULL;
  const char *arch = flatpak_get_default_arch ();
  GHashTableIter iter;
  gpointer key, value;

  refs = flatpak_installation_list_remote_refs_sync_full (installation, remote, FLATPAK_QUERY_FLAGS_NONE,
                                                          cancellable, error);
  if (refs == NULL)
    return NULL;

  for (guint i = 0; i < refs->len; i++)
    {
      FlatpakRef *ref = g_ptr_array_index (refs, i);
      const char *name = flatpak_ref_get_name (ref);
      const char *branch = flatpak_ref_get_branch (ref);

      if (flatpak_ref_get_kind (ref) != FLATPAK_REF_KIND_APP ||
          g_strcmp0 (flatpak_ref_get_arch (ref), arch) != 0)
        continue;
      if (branch_is_better (branch, g_hash_table_lookup (branches, name)))
        g_hash_table_insert (branches, g_strdup (name), g_strdup (branch));
    }

  apps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, branches);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (apps, g_strdup (key), g_strdup_printf ("app/%s/%s/%s", (char *) key, arch, (char *) value));
  return g_steal_pointer (&apps);
}

static gboolean
plan_add (BktFlatpak *self, BktManifestSet *manifests, GVariant *arguments, GPtrArray *ops, GError **error)
{
  static const char * const allowed[] = { "id", "remote", "scope", "force", NULL };
  const char *id, *remote;
  BktScope scope = BKT_SCOPE_SYSTEM;
  gboolean scope_given, force;
  ScopeState *state;
  g_autofree char *ref = NULL;

  if (!check_arguments (arguments, allowed, error) ||
      !arg_string (arguments, "id", NULL, &id, error) ||
      !arg_string (arguments, "remote", DEFAULT_REMOTE, &remote, error) ||
      !arg_scope (arguments, &scope_given, &scope, error) ||
      !arg_bool (arguments, "force", &force, error))
    return FALSE;
  if (!validate_app_id (id, error) || !validate_remote_name (remote, error))
    return FALSE;

  state = get_scope (self, scope, NULL, error);
  if (state == NULL)
    return FALSE;

  if (!force)
    {
      g_autoptr(GHashTable) available = NULL;
      g_autoptr(GError) local_error = NULL;

      if (!g_hash_table_contains (state->remote_by_name, remote))
        {
          g_autofree char *names = configured_remotes (state);
          JsonObject *declared = bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_REMOTES, remote);

          return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                              "flatpak remote %s is not configured in the %s installation "
                              "(configured: %s)%s", remote, bkt_scope_to_string (scope),
                              *names != '\0' ? names : "none",
                              declared != NULL ? "; it is in the manifest: run `bkt apply` first or use --force" : ""),
                 FALSE;
        }

      /* One listing answers both "is it there?" and "what is close?". */
      available = list_remote_apps (state->installation, remote, NULL, &local_error);
      if (available == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot list flatpak remote %s: %s",
                            remote, local_error->message), FALSE;
      ref = g_strdup (g_hash_table_lookup (available, id));
      if (ref == NULL)
        {
          g_autofree char *suggestions = suggest_ids (id, available);

          if (suggestions != NULL)
            return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "flatpak %s not found in remote %s; did you mean: %s?", id, remote, suggestions),
                   FALSE;
          return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                              "flatpak %s not found in remote %s", id, remote), FALSE;
        }
    }

  if (scope_lookup_app (state, id) == NULL)
    g_ptr_array_add (ops, new_install_op (id, remote, scope, ref));
  g_ptr_array_add (ops, new_app_record_op (id, remote, scope));
  return TRUE;
}

static gboolean
plan_remove (BktFlatpak *self, BktManifestSet *manifests, GVariant *arguments, GPtrArray *ops, GError **error)
{
  static const char * const allowed[] = { "id", "scope", NULL };
  const char *id;
  BktScope scope = BKT_SCOPE_SYSTEM;
  gboolean scope_given;
  JsonObject *entry;
  FlatpakInstalledRef *installed = NULL;
  g_autofree char *target = NULL;

  if (!check_arguments (arguments, allowed, error) ||
      !arg_string (arguments, "id", NULL, &id, error) ||
      !arg_scope (arguments, &scope_given, &scope, error))
    return FALSE;
  if (!validate_app_id (id, error))
    return FALSE;

  entry = bkt_manifest_set_lookup (manifests, BKT_MANIFEST_FLATPAK_APPS, id);
  if (!scope_given && entry != NULL)
    scope_given = entry_scope (entry, &scope);
  if (!scope_given)
    {
      /* Not declared: wherever it is installed, if that is unambiguous. */
      ScopeState *sys = get_scope (self, BKT_SCOPE_SYSTEM, NULL, error);
      ScopeState *user = sys != NULL ? get_scope (self, BKT_SCOPE_USER, NULL, error) : NULL;
      gboolean in_sys, in_user;

      if (user == NULL)
        return FALSE;
      in_sys = scope_lookup_app (sys, id) != NULL;
      in_user = scope_lookup_app (user, id) != NULL;
      if (in_sys && in_user)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "flatpak %s is installed both system-wide and for the user; say which scope", id),
               FALSE;
      if (!in_sys && !in_user)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "flatpak %s is neither in the manifest nor installed", id), FALSE;
      scope = in_sys ? BKT_SCOPE_SYSTEM : BKT_SCOPE_USER;
    }

  {
    ScopeState *state = get_scope (self, scope, NULL, error);
    if (state == NULL)
      return FALSE;
    installed = scope_lookup_app (state, id);
  }
  if (installed == NULL && entry == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "flatpak %s is neither in the manifest nor installed (%s)", id,
                        bkt_scope_to_string (scope)), FALSE;

  if (installed != NULL)
    {
      g_autofree char *ref = flatpak_ref_format_ref (FLATPAK_REF (installed));
      g_ptr_array_add (ops, new_uninstall_op (id, scope, ref));
    }
  if (entry != NULL)
    {
      g_autofree char *summary = NULL;

      target = app_target (id);
      summary = g_strdup_printf ("Forget %s", target);
      g_ptr_array_add (ops, bkt_operation_new_forget (SUBSYSTEM_NAME, BKT_MANIFEST_FLATPAK_APPS,
                                                      target, summary, id));
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
  return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                      "subsystem flatpak has no action “%s”", action != NULL ? action : "(null)"), FALSE;
}

/* ------------------------------------------------------------------------ */
/* Execution                                                                 */

/* One scope's execution: the transaction's signals map flatpak's
 * operations back to ours through the full ref. */
typedef struct {
  BktExecContext      *ctx;
  FlatpakInstallation *installation;
  BktScope             scope;
  GHashTable          *by_ref;       /* full ref → BktOperation (borrowed) */
  GHashTable          *reported;     /* BktOperation set: one result each */
  GHashTable          *has_deps;     /* BktOperation set: a dependency ran first */
} ExecRun;

static void
exec_run_clear (ExecRun *run)
{
  g_clear_pointer (&run->by_ref, g_hash_table_unref);
  g_clear_pointer (&run->reported, g_hash_table_unref);
  g_clear_pointer (&run->has_deps, g_hash_table_unref);
  g_clear_object (&run->installation);
}

static void
report (ExecRun *run, BktOperation *op, const GError *error)
{
  if (!g_hash_table_add (run->reported, op))
    return;
  if (error == NULL)
    bkt_exec_context_progress (run->ctx, op, 1.0, NULL);
  bkt_exec_context_op_done (run->ctx, op, error);
}

static void
report_failure (ExecRun *run, BktOperation *op, BktError code, const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
report_failure (ExecRun *run, BktOperation *op, BktError code, const char *format, ...)
{
  g_autoptr(GError) error = NULL;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (BKT_ERROR, code, format, args);
  va_end (args);
  report (run, op, error);
}

/* Errors reach D-Bus callers: keep flatpak's message, in our domain. */
static void
report_gerror (ExecRun *run, BktOperation *op, const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  bkt_error_normalize (&copy);
  report (run, op, copy);
}

static gboolean
exec_remote (ExecRun *run, BktOperation *op, GCancellable *cancellable)
{
  const char *name = bkt_operation_get_detail_string (op, "remote");
  const char *url = bkt_operation_get_detail_string (op, "url");
  JsonObject *details = bkt_operation_get_details (op);
  g_autoptr(FlatpakRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (name == NULL || url == NULL)
    return report_failure (run, op, BKT_ERROR_INVALID_ARGUMENT, "operation lacks a remote name or URL"), FALSE;

  bkt_exec_context_progress (run->ctx, op, 0.0, NULL);
  /* Whatever the plan saw, act on what is there now: an add for a remote
   * that appeared meanwhile becomes a modify, and vice versa. */
  remote = flatpak_installation_get_remote_by_name (run->installation, name, cancellable, NULL);
  if (remote == NULL)
    {
      remote = flatpak_remote_new (name);
      flatpak_remote_set_url (remote, url);
      flatpak_remote_set_gpg_verify (remote, json_object_get_boolean_member_with_default (details, "gpg_verify", TRUE));
      ok = flatpak_installation_add_remote (run->installation, remote, FALSE, cancellable, &error);
    }
  else
    {
      flatpak_remote_set_url (remote, url);
      if (json_object_has_member (details, "gpg_verify"))
        flatpak_remote_set_gpg_verify (remote, json_object_get_boolean_member (details, "gpg_verify"));
      ok = flatpak_installation_modify_remote (run->installation, remote, cancellable, &error);
    }

  if (!ok)
    {
      g_prefix_error (&error, "cannot configure flatpak remote %s: ", name);
      report_gerror (run, op, error);
      return FALSE;
    }
  report (run, op, NULL);
  return TRUE;
}

/* The installed ref of @id in the execution's installation, read now. */
static char *
find_installed_ref (ExecRun *run, const char *id, GCancellable *cancellable)
{
  g_autoptr(GPtrArray) refs = flatpak_installation_list_installed_refs_by_kind (run->installation,
                                                                                FLATPAK_REF_KIND_APP,
                                                                                cancellable, NULL);
  FlatpakInstalledRef *best = NULL;

  for (guint i = 0; refs != NULL && i < refs->len; i++)
    {
      FlatpakInstalledRef *ref = g_ptr_array_index (refs, i);
      if (g_strcmp0 (flatpak_ref_get_name (FLATPAK_REF (ref)), id) == 0 &&
          (best == NULL || installed_ref_is_better (ref, best)))
        best = ref;
    }
  return best != NULL ? flatpak_ref_format_ref (FLATPAK_REF (best)) : NULL;
}

typedef struct {
  GHashTable *apps;   /* id → full ref, or NULL after an error */
  GError     *error;
} RemoteListing;

static void
remote_listing_free (RemoteListing *listing)
{
  g_clear_pointer (&listing->apps, g_hash_table_unref);
  g_clear_error (&listing->error);
  g_free (listing);
}

/* The full ref to install for @op, listing each remote at most once per
 * execution (@listings caches successes and failures alike). */
static char *
resolve_install_ref (ExecRun *run, BktOperation *op, GHashTable *listings, GCancellable *cancellable)
{
  const char *id = bkt_operation_get_detail_string (op, "id");
  const char *remote = bkt_operation_get_detail_string (op, "remote");
  const char *known = bkt_operation_get_detail_string (op, "ref");
  RemoteListing *listing;
  const char *ref;

  if (known != NULL)
    return g_strdup (known);

  listing = g_hash_table_lookup (listings, remote);
  if (listing == NULL)
    {
      listing = g_new0 (RemoteListing, 1);
      listing->apps = list_remote_apps (run->installation, remote, cancellable, &listing->error);
      g_hash_table_insert (listings, g_strdup (remote), listing);
    }
  if (listing->apps == NULL)
    {
      if (g_error_matches (listing->error, FLATPAK_ERROR, FLATPAK_ERROR_REMOTE_NOT_FOUND))
        report_failure (run, op, BKT_ERROR_NOT_FOUND, "flatpak remote %s is not configured in the %s installation",
                        remote, bkt_scope_to_string (run->scope));
      else
        report_failure (run, op, BKT_ERROR_FAILED, "cannot list flatpak remote %s: %s",
                        remote, listing->error->message);
      return NULL;
    }
  ref = g_hash_table_lookup (listing->apps, id);
  if (ref == NULL)
    {
      report_failure (run, op, BKT_ERROR_NOT_FOUND, "flatpak %s not found in remote %s", id, remote);
      return NULL;
    }
  return g_strdup (ref);
}

typedef struct {
  ExecRun      *run;
  BktOperation *op;       /* ours, or the app a dependency is for */
  char         *label;    /* dependency name, NULL for our own op */
  guint64       download_size;
} ProgressWatch;

static void
progress_watch_free (gpointer data, GClosure *closure)
{
  ProgressWatch *watch = data;

  g_clear_object (&watch->op);
  g_free (watch->label);
  g_free (watch);
}

static void
on_progress_changed (FlatpakTransactionProgress *progress, gpointer user_data)
{
  ProgressWatch *watch = user_data;
  double fraction = CLAMP (flatpak_transaction_progress_get_progress (progress), 0, 100) / 100.0;
  guint64 bytes = flatpak_transaction_progress_get_bytes_transferred (progress);
  g_autofree char *detail = NULL;

  if (watch->download_size > 0)
    {
      g_autofree char *done = g_format_size (MIN (bytes, watch->download_size));
      g_autofree char *total = g_format_size (watch->download_size);
      detail = g_strdup_printf ("%s%s%s / %s", watch->label != NULL ? watch->label : "",
                                watch->label != NULL ? ": " : "", done, total);
    }
  else if (watch->label != NULL)
    detail = g_strdup_printf ("%s: %s", watch->label, flatpak_transaction_progress_get_status (progress));
  else
    detail = g_strdup (flatpak_transaction_progress_get_status (progress));

  /* An app whose runtime is installed first gets two halves: the runtime
   * fills the first, the app itself the second, so its bar never goes
   * backwards. */
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

  watch->run = run;
  watch->op = g_object_ref (op);
  watch->label = g_strdup (label);
  watch->download_size = download_size;
  g_signal_connect_data (progress, "changed", G_CALLBACK (on_progress_changed), watch,
                         progress_watch_free, 0);
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
      const char *for_ref = flatpak_transaction_operation_get_ref (g_ptr_array_index (related, i));
      BktOperation *for_op = g_hash_table_lookup (run->by_ref, for_ref);

      if (for_op == NULL)
        continue;
      g_hash_table_add (run->has_deps, for_op);
      watch_progress (run, progress, for_op, ref, size);
      g_string_append_printf (needed_by, "%s%s", needed_by->len > 0 ? ", " : "", bkt_operation_get_target (for_op));
    }
  bkt_exec_context_message (run->ctx, "%s %s%s%s%s",
                            flatpak_transaction_operation_type_to_string (
                              flatpak_transaction_operation_get_operation_type (operation)),
                            ref, needed_by->len > 0 ? " (needed by " : "", needed_by->str,
                            needed_by->len > 0 ? ")" : "");
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

  /* Stopping everything is only right when the user asked for it. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;

  if (op == NULL)
    bkt_exec_context_message (run->ctx, "%s failed: %s", ref, error->message);
  else if (details & FLATPAK_TRANSACTION_ERROR_DETAILS_NON_FATAL)
    {
      /* e.g. an update that failed while the app stays installed: the op's
       * goal (installed) holds. */
      bkt_exec_context_message (run->ctx, "%s: %s", bkt_operation_get_target (op), error->message);
      report (run, op, NULL);
    }
  else
    report_gerror (run, op, error);
  return TRUE;
}

static gboolean
on_ready (FlatpakTransaction *transaction, gpointer user_data)
{
  return TRUE;
}

/* After the transaction: an op flatpak never reported on (merged, skipped
 * as a no-op, or the run stopped) gets its result from what is installed
 * now, so every op has exactly one. */
static void
settle_unreported (ExecRun *run, const GError *run_error, GCancellable *cancellable)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, run->by_ref);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      BktOperation *op = value;
      g_autofree char *installed = NULL;
      gboolean want_installed = g_strcmp0 (bkt_operation_get_action (op), "install") == 0;

      if (g_hash_table_contains (run->reported, op))
        continue;
      installed = find_installed_ref (run, bkt_operation_get_detail_string (op, "id"), cancellable);
      if ((installed != NULL) == want_installed)
        report (run, op, NULL);
      else if (run_error != NULL)
        report_gerror (run, op, run_error);
      else
        report_failure (run, op, BKT_ERROR_FAILED, "flatpak did not perform “%s”", bkt_operation_get_summary (op));
    }
}

/* Every op of @ops not reported yet is reported once, as cancelled.
 * Returns whether there was any. */
static gboolean
report_cancelled (ExecRun *run, GPtrArray *ops)
{
  gboolean any = FALSE;

  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);

      if (g_hash_table_contains (run->reported, op))
        continue;
      report_failure (run, op, BKT_ERROR_CANCELLED, "%s: cancelled", bkt_operation_get_target (op));
      any = TRUE;
    }
  return any;
}

/* Adds @op to @transaction; FALSE when it was settled on the spot (already
 * in the wanted state, or failed). */
static gboolean
add_app_op (ExecRun *run, FlatpakTransaction *transaction, BktOperation *op, GHashTable *listings,
            GCancellable *cancellable)
{
  const char *action = bkt_operation_get_action (op);
  const char *id = bkt_operation_get_detail_string (op, "id");
  g_autofree char *ref = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (id == NULL)
    return report_failure (run, op, BKT_ERROR_INVALID_ARGUMENT, "operation lacks an app id"), FALSE;

  if (g_strcmp0 (action, "install") == 0)
    {
      ref = resolve_install_ref (run, op, listings, cancellable);
      if (ref == NULL)
        return FALSE;
      ok = flatpak_transaction_add_install (transaction, bkt_operation_get_detail_string (op, "remote"),
                                            ref, NULL, &error);
      if (!ok && g_error_matches (error, FLATPAK_ERROR, FLATPAK_ERROR_ALREADY_INSTALLED))
        return report (run, op, NULL), FALSE;
    }
  else
    {
      ref = g_strdup (bkt_operation_get_detail_string (op, "ref"));
      if (ref == NULL)
        ref = find_installed_ref (run, id, cancellable);
      if (ref == NULL)
        return report (run, op, NULL), FALSE;   /* already gone */
      ok = flatpak_transaction_add_uninstall (transaction, ref, &error);
      if (!ok && g_error_matches (error, FLATPAK_ERROR, FLATPAK_ERROR_NOT_INSTALLED))
        return report (run, op, NULL), FALSE;
    }

  if (!ok)
    return report_gerror (run, op, error), FALSE;
  if (g_hash_table_contains (run->by_ref, ref))
    return report_failure (run, op, BKT_ERROR_INVALID_ARGUMENT, "%s appears twice in the plan", ref), FALSE;
  g_hash_table_insert (run->by_ref, g_steal_pointer (&ref), op);
  return TRUE;
}

/* Everything for one scope: remotes first (apps may come from them), then
 * one transaction for all installs and uninstalls.  Every op of @ops is
 * reported exactly once; returns FALSE if some were cancelled. */
static gboolean
execute_scope (BktScope scope, GPtrArray *ops, BktExecContext *ctx, GCancellable *cancellable)
{
  ExecRun run = { ctx, NULL, scope, NULL, NULL, NULL };
  g_autoptr(GPtrArray) app_ops = g_ptr_array_new ();
  g_autoptr(GHashTable) listings = NULL;
  g_autoptr(FlatpakTransaction) transaction = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean cancelled;
  guint n_added = 0;

  run.by_ref = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run.reported = g_hash_table_new (NULL, NULL);
  run.has_deps = g_hash_table_new (NULL, NULL);

  if (g_cancellable_is_cancelled (cancellable))
    goto out;

  /* A fresh installation object: this runs in a worker thread, and the
   * one read at planning time belongs to the caller's thread. */
  run.installation = open_installation (scope, cancellable, &local_error);
  if (run.installation == NULL)
    {
      for (guint i = 0; i < ops->len; i++)
        report (&run, g_ptr_array_index (ops, i), local_error);
      goto out;
    }

  for (guint i = 0; i < ops->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *action = bkt_operation_get_action (op);

      if (g_strcmp0 (action, "add-remote") == 0 || g_strcmp0 (action, "modify-remote") == 0)
        exec_remote (&run, op, cancellable);
      else if (g_strcmp0 (action, "install") == 0 || g_strcmp0 (action, "uninstall") == 0)
        g_ptr_array_add (app_ops, op);
      else
        report_failure (&run, op, BKT_ERROR_NOT_SUPPORTED, "flatpak cannot execute “%s”", action);
    }
  if (app_ops->len == 0 || g_cancellable_is_cancelled (cancellable))
    goto out;

  transaction = flatpak_transaction_new_for_installation (run.installation, cancellable, &local_error);
  if (transaction == NULL)
    {
      for (guint i = 0; i < app_ops->len; i++)
        report_gerror (&run, g_ptr_array_index (app_ops, i), local_error);
      goto out;
    }
  flatpak_transaction_add_default_dependency_sources (transaction);
  flatpak_transaction_set_no_interaction (transaction, TRUE);
  g_signal_connect (transaction, "new-operation", G_CALLBACK (on_new_operation), &run);
  g_signal_connect (transaction, "operation-done", G_CALLBACK (on_operation_done), &run);
  g_signal_connect (transaction, "operation-error", G_CALLBACK (on_operation_error), &run);
  g_signal_connect (transaction, "ready", G_CALLBACK (on_ready), &run);

  listings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) remote_listing_free);
  for (guint i = 0; i < app_ops->len && !g_cancellable_is_cancelled (cancellable); i++)
    if (add_app_op (&run, transaction, g_ptr_array_index (app_ops, i), listings, cancellable))
      n_added++;

  if (n_added > 0 && !flatpak_transaction_run (transaction, cancellable, &local_error))
    {
      /* Per-op errors went through operation-error already; the overall
       * "one or more operations failed" adds nothing for the user. */
      g_debug ("flatpak transaction (%s): %s", bkt_scope_to_string (scope), local_error->message);
    }
  if (!g_cancellable_is_cancelled (cancellable))
    settle_unreported (&run, local_error, cancellable);

  /* The handlers point at @run, which is about to go. */
  g_signal_handlers_disconnect_by_data (transaction, &run);

out:
  cancelled = report_cancelled (&run, ops);
  exec_run_clear (&run);
  return !cancelled;
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
        {
          BktOperation *op = g_ptr_array_index (ops, i);
          if (bkt_operation_get_scope (op) == all_scopes[s])
            g_ptr_array_add (scope_ops, op);
        }
      /* After a cancellation the next scope still reports its ops (as
       * cancelled) so that every op has a result. */
      if (scope_ops->len > 0 && !execute_scope (all_scopes[s], scope_ops, ctx, cancellable))
        complete = FALSE;
    }

  if (!complete)
    {
      if (!g_cancellable_set_error_if_cancelled (cancellable, error))
        g_set_error_literal (error, BKT_ERROR, BKT_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
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
}

BktSubsystem *
bkt_flatpak_new (gboolean read_user, gboolean read_system)
{
  BktFlatpak *self = g_object_new (BKT_TYPE_FLATPAK, NULL);

  self->reads[BKT_SCOPE_USER] = read_user;
  self->reads[BKT_SCOPE_SYSTEM] = read_system;
  return BKT_SUBSYSTEM (self);
}
