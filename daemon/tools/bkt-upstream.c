/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-manifest-private.h"
#include "bkt-schema.h"
#include "bkt-upstream.h"

/* The upstream pins manifest.  The file is the distribution's, written by
 * hand and by the original tool: it is read with positions (errors say
 * FILE:LINE:COLUMN) and edited in place in the parsed tree, so the
 * manifest writer can copy every upstream that did not change byte for
 * byte and an update is a diff of the pin's lines only. */

/* A file this large is not an upstream list: refused unread. */
#define MAX_FILE (4 * 1024 * 1024)

struct _BktUpstreamManifest
{
  GObject     parent_instance;
  char       *path;
  char       *display;
  BktJsonDoc *doc;      /* NULL for a new file */
  JsonNode   *root;     /* the doc's root, edited in place */
  JsonArray  *upstreams;
};

G_DEFINE_FINAL_TYPE (BktUpstreamManifest, bkt_upstream_manifest, G_TYPE_OBJECT)

static void
bkt_upstream_manifest_finalize (GObject *object)
{
  BktUpstreamManifest *self = BKT_UPSTREAM_MANIFEST (object);

  g_free (self->path);
  g_free (self->display);
  g_clear_object (&self->doc);
  g_clear_pointer (&self->root, json_node_unref);
  G_OBJECT_CLASS (bkt_upstream_manifest_parent_class)->finalize (object);
}

static void
bkt_upstream_manifest_class_init (BktUpstreamManifestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_upstream_manifest_finalize;
}

static void
bkt_upstream_manifest_init (BktUpstreamManifest *self)
{
}

/* ---- names and values ------------------------------------------------------------- */

/* The file's shape and every value's rule are the ones `bkt schema
 * generate` writes as upstream-manifest.schema.json (bkt-manifest-shapes.c). */
char *
bkt_upstream_check_name (const char *name)
{
  return bkt_string_rule_check (&bkt_rule_upstream_name, name);
}

char *
bkt_upstream_check_repo (const char *repo)
{
  return bkt_string_rule_check (&bkt_rule_github_repo, repo);
}

gboolean
bkt_upstream_version_ok (const char *version)
{
  g_autofree char *why = bkt_string_rule_check (&bkt_rule_upstream_version, version);

  return why == NULL;
}

static const BktShape *
file_shape (void)
{
  return bkt_schema_kind_lookup ("upstream-manifest")->shape;
}

static gboolean
check_upstream (BktJsonDoc *doc, JsonNode *node, GError **error)
{
  return bkt_shape_check_element (bkt_shape_find_member (file_shape (), "upstreams")->shape->items, "upstreams",
                                  doc, node, error);
}

gboolean
bkt_upstream_check_change (JsonObject *entry, GError **error)
{
  g_autoptr(JsonObject) copy = bkt_json_object_deep_copy (entry);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(BktJsonDoc) doc = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  /* A new pin alone is checked as an upstream with a placeholder source:
   * the source is the one the repo's file has. */
  if (!json_object_has_member (copy, "source"))
    {
      JsonObject *src = json_object_new ();
      json_object_set_string_member (src, "type", "url");
      json_object_set_string_member (src, "url", "https://localhost/");
      json_object_set_object_member (copy, "source", src);
    }
  node = json_node_init_object (json_node_alloc (), copy);
  text = bkt_json_to_document (node, &len);
  doc = bkt_json_doc_parse ("the upstream change", text, (gssize) len, error);
  return doc != NULL && check_upstream (doc, bkt_json_doc_get_root (doc), error);
}

static gboolean
check_root (BktJsonDoc *doc, JsonNode *root, GError **error)
{
  return bkt_schema_check_document (bkt_schema_kind_lookup ("upstream-manifest"), doc, root, error);
}

/* @data (the file's bytes, or NULL for a missing file: an empty manifest)
 * checked and parsed. */
static BktUpstreamManifest *
manifest_from_data (const char *path, const char *display, const char *data, gsize length, GError **error)
{
  g_autoptr(BktUpstreamManifest) self = g_object_new (BKT_TYPE_UPSTREAM_MANIFEST, NULL);

  self->path = g_strdup (path);
  self->display = g_strdup (display != NULL ? display : path);
  if (data == NULL)
    {
      g_autoptr(JsonObject) top = json_object_new ();

      json_object_set_array_member (top, "upstreams", json_array_new ());
      self->root = json_node_init_object (json_node_alloc (), top);
      self->upstreams = json_object_get_array_member (json_node_get_object (self->root), "upstreams");
      return g_steal_pointer (&self);
    }
  if (length > MAX_FILE)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s:1: larger than 4 MiB, not read",
                        self->display), NULL;
  self->doc = bkt_json_doc_parse (self->display, data, (gssize) length, error);
  if (self->doc == NULL)
    return NULL;
  if (!check_root (self->doc, bkt_json_doc_get_root (self->doc), error))
    return NULL;
  self->root = json_node_ref (bkt_json_doc_get_root (self->doc));
  self->upstreams = json_object_get_array_member (json_node_get_object (self->root), "upstreams");
  return g_steal_pointer (&self);
}

BktUpstreamManifest *
bkt_upstream_manifest_load (const char *path, const char *display, gboolean missing_ok, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;
  GStatBuf st;

  if (g_lstat (path, &st) != 0 && errno == ENOENT)
    {
      if (!missing_ok)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "%s: no such file (bkt upstream add creates it)", display != NULL ? display : path), NULL;
      return manifest_from_data (path, display, NULL, 0, error);
    }
  if (g_lstat (path, &st) == 0 && (!S_ISREG (st.st_mode) || st.st_size > MAX_FILE))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s:1: %s", display != NULL ? display : path,
                        S_ISREG (st.st_mode) ? "larger than 4 MiB, not read" : "not a regular file"), NULL;
  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;
  return manifest_from_data (path, display, data, length, error);
}

BktUpstreamManifest *
bkt_upstream_manifest_load_data (const char *display, const char *data, gsize length, GError **error)
{
  return manifest_from_data (NULL, display, data, length, error);
}

JsonArray *
bkt_upstream_manifest_get_upstreams (BktUpstreamManifest *self)
{
  return self->upstreams;
}

const char *
bkt_upstream_manifest_get_path (BktUpstreamManifest *self)
{
  return self->path;
}

JsonObject *
bkt_upstream_manifest_lookup (BktUpstreamManifest *self, const char *name)
{
  for (guint i = 0; i < json_array_get_length (self->upstreams); i++)
    {
      JsonObject *o = json_array_get_object_element (self->upstreams, i);
      if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0)
        return o;
    }
  return NULL;
}

gboolean
bkt_upstream_manifest_add (BktUpstreamManifest *self, JsonObject *upstream, GError **error)
{
  const char *name = bkt_json_object_get_string (upstream, "name");

  if (bkt_upstream_manifest_lookup (self, name) != NULL)
    {
      json_object_unref (upstream);
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "upstream %s exists already", name), FALSE;
    }
  json_array_add_object_element (self->upstreams, upstream);
  return TRUE;
}

gboolean
bkt_upstream_manifest_remove (BktUpstreamManifest *self, const char *name, GError **error)
{
  for (guint i = 0; i < json_array_get_length (self->upstreams); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (self->upstreams, i), "name"),
                   name) == 0)
      {
        json_array_remove_element (self->upstreams, i);
        return TRUE;
      }
  return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "no upstream named “%s” in %s", name, self->display),
         FALSE;
}

char *
bkt_upstream_manifest_to_data (BktUpstreamManifest *self, gsize *length, GError **error)
{
  BktManifestView view = { 0 };
  g_autofree char *data = NULL;

  /* The pins are a list keyed by "name", like copr_repos: the writer's
   * secondary-list mode (the kind is only a placeholder). */
  if (self->doc != NULL)
    {
      view.filename = bkt_json_doc_get_filename (self->doc);
      view.data = bkt_json_doc_get_data (self->doc, &view.length);
      view.root = self->root;
      view.list = "upstreams";
      view.entries = self->upstreams;
      data = bkt_manifest_view_to_data_preserving (&view, length);
    }
  g_autoptr(BktJsonDoc) check = NULL;

  if (data == NULL)
    data = bkt_json_to_document (self->root, length);
  /* What is written must load: the edits went through the same checks. */
  check = bkt_json_doc_parse (self->display, data, (gssize) *length, error);
  if (check == NULL || !check_root (check, bkt_json_doc_get_root (check), error))
    return NULL;
  return g_steal_pointer (&data);
}

gboolean
bkt_upstream_manifest_save (BktUpstreamManifest *self, GBytes **old_data, GError **error)
{
  gsize len = 0;
  g_autofree char *data = bkt_upstream_manifest_to_data (self, &len, error);
  g_autofree char *dir = g_path_get_dirname (self->path);

  if (data == NULL)
    return FALSE;
  if (old_data != NULL)
    {
      gsize old_len = 0;
      const char *old = self->doc != NULL ? bkt_json_doc_get_data (self->doc, &old_len) : NULL;
      *old_data = old != NULL ? g_bytes_new (old, old_len) : NULL;
    }
  if (!bkt_fs_mkdir_p (dir, 0755, error))
    return FALSE;
  return bkt_write_file_atomic (self->path, data, len, 0644, error);
}

BktUpstreamPolicy
bkt_upstream_get_policy (JsonObject *upstream)
{
  BktUpstreamPolicy p = BKT_UPSTREAM_POLICY_PIN;

  bkt_upstream_policy_from_string (bkt_json_object_get_string (upstream, "policy"), &p);
  return p;
}

const char *
bkt_upstream_get_type (JsonObject *upstream)
{
  return bkt_json_object_get_string (json_object_get_object_member (upstream, "source"), "type");
}

gboolean
bkt_upstream_uses_tags (JsonObject *upstream)
{
  return g_strcmp0 (bkt_json_object_get_string (json_object_get_object_member (upstream, "source"), "release_type"),
                    "tag") == 0;
}

void
bkt_upstream_set_pin (JsonObject *upstream, const char *version, const char *commit, const char *url,
                      const char *sha256, GDateTime *now)
{
  g_autofree char *at = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");

  bkt_upstream_set_pin_at (upstream, version, commit, url, sha256, at);
}

void
bkt_upstream_set_pin_at (JsonObject *upstream, const char *version, const char *commit, const char *url,
                         const char *sha256, const char *pinned_at)
{
  static const char *const known[] = { "version", "commit", "url", "sha256", "pinned_at", NULL };
  JsonObject *old = json_object_has_member (upstream, "pinned") ? json_object_get_object_member (upstream, "pinned")
                                                                 : NULL;
  JsonObject *pin = json_object_new ();
  g_autoptr(GList) members = old != NULL ? json_object_get_members (old) : NULL;

  /* The original's order; members bkt does not know stay, after them. */
  json_object_set_string_member (pin, "version", version);
  if (commit != NULL)
    json_object_set_string_member (pin, "commit", commit);
  if (url != NULL)
    json_object_set_string_member (pin, "url", url);
  json_object_set_string_member (pin, "sha256", sha256);
  json_object_set_string_member (pin, "pinned_at", pinned_at);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (known, l->data))
      json_object_set_member (pin, l->data, json_node_copy (json_object_get_member (old, l->data)));
  json_object_set_object_member (upstream, "pinned", pin);
}

JsonObject *
bkt_upstream_new_entry (const char *name, const char *description, const char *github, const char *asset_pattern,
                        gboolean tag, const char *policy)
{
  JsonObject *u = json_object_new ();
  JsonObject *src = json_object_new ();

  json_object_set_string_member (u, "name", name);
  if (description != NULL)
    json_object_set_string_member (u, "description", description);
  json_object_set_object_member (u, "source", src);
  json_object_set_string_member (src, "type", "github");
  json_object_set_string_member (src, "repo", github != NULL ? github : "");
  if (asset_pattern != NULL)
    json_object_set_string_member (src, "asset_pattern", asset_pattern);
  if (tag)
    json_object_set_string_member (src, "release_type", "tag");
  if (policy != NULL)
    json_object_set_string_member (u, "policy", policy);
  return u;
}

char *
bkt_upstream_change_message (const char *action, const char *name, const char *from, const char *to,
                             const char *github, const char **type)
{
  *type = "changed";
  if (g_strcmp0 (action, "update") == 0)
    return g_strdup_printf ("Update %s from %s to %s", name, from, to);
  if (g_strcmp0 (action, "pin") == 0)
    return g_strdup_printf ("Pin %s to %s (was %s)", name, to, from);
  if (g_strcmp0 (action, "add") == 0)
    {
      *type = "added";
      return g_strdup_printf ("Add upstream %s (%s) at %s", name, github, to);
    }
  if (g_strcmp0 (action, "remove") == 0)
    {
      *type = "removed";
      return g_strdup_printf ("Remove upstream %s", name);
    }
  /* lock: the words `bkt changelog generate` uses for a pin whose version
   * did not move, so that this entry covers it. */
  return g_strdup_printf ("Change upstream %s", name);
}

/* Do @a and @b pin the same download (pinned_at aside)? */
static gboolean
same_pin (JsonObject *a, JsonObject *b)
{
  static const char *const members[] = { "version", "commit", "url", "sha256" };

  if (a == NULL || b == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    if (g_strcmp0 (bkt_json_object_get_string (a, members[i]), bkt_json_object_get_string (b, members[i])) != 0)
      return FALSE;
  return TRUE;
}

gboolean
bkt_upstream_manifest_apply_edit (BktUpstreamManifest *self, const char *action, JsonObject *entry,
                                  const char *key)
{
  const char *name = entry != NULL ? bkt_json_object_get_string (entry, "name") : key;
  JsonObject *old = name != NULL ? bkt_upstream_manifest_lookup (self, name) : NULL;

  if (g_strcmp0 (action, "record") != 0)
    return name != NULL && bkt_upstream_manifest_remove (self, name, NULL);
  if (entry == NULL || name == NULL)
    return FALSE;
  if (old == NULL)
    {
      json_array_add_object_element (self->upstreams, bkt_json_object_deep_copy (entry));
      return TRUE;
    }
  {
    g_autoptr(GList) members = json_object_get_members (entry);

    for (GList *l = members; l != NULL; l = l->next)
      {
        JsonNode *n = json_object_get_member (entry, l->data);

        /* A pin keeps the members bkt does not know, as set_pin does. */
        if (g_str_equal (l->data, "pinned") && JSON_NODE_HOLDS_OBJECT (n))
          {
            JsonObject *p = json_node_get_object (n);

            /* The same pin made again: it was pinned when the branch says. */
            if (same_pin (json_object_get_object_member (old, "pinned"), p))
              continue;
            bkt_upstream_set_pin_at (old, bkt_json_object_get_string (p, "version"),
                                     bkt_json_object_get_string (p, "commit"), bkt_json_object_get_string (p, "url"),
                                     bkt_json_object_get_string (p, "sha256"),
                                     bkt_json_object_get_string (p, "pinned_at"));
          }
        else
          json_object_set_member (old, l->data, bkt_json_node_deep_copy (n));
      }
  }
  return TRUE;
}

/* ---- decisions -------------------------------------------------------------------- */

JsonObject *
bkt_upstream_find_version (JsonObject *fetched, const char *version)
{
  JsonArray *a = fetched != NULL && json_object_has_member (fetched, "versions")
                 ? json_object_get_array_member (fetched, "versions") : NULL;

  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonObject *v = json_array_get_object_element (a, i);
      if (g_str_equal (json_object_get_string_member (v, "version"), version))
        return v;
    }
  /* "1.2.3" for a tag "v1.2.3" and the other way round */
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonObject *v = json_array_get_object_element (a, i);
      const char *s = json_object_get_string_member (v, "version");
      if ((s[0] == 'v' && g_str_equal (s + 1, version)) || (version[0] == 'v' && g_str_equal (version + 1, s)))
        return v;
    }
  return NULL;
}

JsonObject *
bkt_upstream_evaluate (JsonObject *upstream, JsonObject *fetched, gboolean allow_pre)
{
  JsonObject *r = json_object_new ();
  BktUpstreamPolicy policy = bkt_upstream_get_policy (upstream);
  const char *pinned = json_object_get_string_member (json_object_get_object_member (upstream, "pinned"), "version");
  gboolean pre_ok = allow_pre || bkt_version_is_prerelease (pinned);
  const char *latest = NULL, *allowed = NULL;
  JsonArray *a;

  json_object_set_string_member (r, "name", json_object_get_string_member (upstream, "name"));
  json_object_set_string_member (r, "policy", bkt_upstream_policy_to_string (policy));
  json_object_set_string_member (r, "pinned", pinned);
  if (g_str_equal (bkt_upstream_get_type (upstream), "url"))
    {
      json_object_set_string_member (r, "state", "not-checked");
      json_object_set_string_member (r, "detail", "source type url: no releases to check");
      return r;
    }
  if (fetched == NULL || json_object_has_member (fetched, "error"))
    {
      json_object_set_string_member (r, "state", "error");
      json_object_set_string_member (r, "detail", fetched != NULL ? json_object_get_string_member (fetched, "error")
                                                                  : "not fetched");
      return r;
    }
  /* The newest by version order, not by the API's order: tags come
   * sorted as text. */
  a = json_object_get_array_member (fetched, "versions");
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *v = json_array_get_object_element (a, i);
      const char *s = json_object_get_string_member (v, "version");
      gboolean pre = json_object_get_boolean_member (v, "prerelease");

      /* A tag the pin could not hold (spaces, '/') is not a candidate. */
      if (((pre || bkt_version_is_prerelease (s)) && !pre_ok) || !bkt_upstream_version_ok (s))
        continue;
      if (latest == NULL || bkt_version_compare (s, latest) > 0)
        latest = s;
      if (bkt_upstream_policy_allows (policy, pinned, s, pre, allow_pre)
          && (allowed == NULL || bkt_version_compare (s, allowed) > 0))
        allowed = s;
    }
  if (latest != NULL)
    json_object_set_string_member (r, "latest", latest);
  if (allowed != NULL)
    json_object_set_string_member (r, "allowed", allowed);
  if (json_object_get_boolean_member_with_default (fetched, "cached", FALSE))
    json_object_set_boolean_member (r, "cached", TRUE);
  json_object_set_string_member (r, "state",
                                 allowed != NULL ? "update-available"
                                 : latest != NULL && bkt_version_compare (latest, pinned) > 0 ? "outside-policy"
                                 : "up-to-date");
  return r;
}

char *
bkt_upstream_asset_url (JsonObject *upstream, JsonObject *release, GError **error)
{
  const char *pattern = bkt_json_object_get_string (json_object_get_object_member (upstream, "source"),
                                                    "asset_pattern");
  const char *version = json_object_get_string_member (release, "version");
  JsonArray *assets = json_object_get_array_member (release, "assets");
  g_autoptr(GPatternSpec) spec = NULL;
  g_autoptr(GString) names = g_string_new (NULL);
  const char *found = NULL;
  guint matches = 0;

  if (pattern == NULL || bkt_upstream_uses_tags (upstream))
    {
      const char *t = bkt_json_object_get_string (release, "tarball_url");
      if (t == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s %s has no source tarball",
                            json_object_get_string_member (upstream, "name"), version), NULL;
      return g_strdup (t);
    }
  spec = g_pattern_spec_new (pattern);
  for (guint i = 0; i < json_array_get_length (assets); i++)
    {
      JsonObject *as = json_array_get_object_element (assets, i);
      const char *n = json_object_get_string_member (as, "name");
      g_string_append_printf (names, "%s%s", names->len > 0 ? ", " : "", n);
      if (g_pattern_spec_match_string (spec, n))
        {
          matches++;
          found = json_object_get_string_member (as, "url");
        }
    }
  if (matches != 1)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s %s: %s assets match “%s” (assets: %s)",
                        json_object_get_string_member (upstream, "name"), version, matches == 0 ? "no" : "several",
                        pattern, names->len > 0 ? names->str : "none"), NULL;
  return g_strdup (found);
}

char *
bkt_upstream_render_pins (BktUpstreamManifest *self)
{
  GString *out = g_string_new (NULL);
  guint n = json_array_get_length (self->upstreams);

  if (n == 0)
    g_string_append (out, "# No upstreams in upstream/manifest.json.\n");
  for (guint i = 0; i < n; i++)
    {
      JsonObject *o = json_array_get_object_element (self->upstreams, i);
      JsonObject *pin = json_object_get_object_member (o, "pinned");
      g_autofree char *arg = bkt_schema_upstream_arg_name (json_object_get_string_member (o, "name"));
      static const char *const members[] = { "version", "sha256", "url", "commit" };
      static const char *const suffixes[] = { "VERSION", "SHA256", "URL", "COMMIT" };

      /* Values were checked at load: no spaces, quotes or '$', so no
       * quoting is needed. */
      for (guint k = 0; k < G_N_ELEMENTS (members); k++)
        if (json_object_has_member (pin, members[k]))
          g_string_append_printf (out, "ARG UPSTREAM_%s_%s=%s\n", arg, suffixes[k],
                                  json_object_get_string_member (pin, members[k]));
    }
  return g_string_free (out, FALSE);
}
