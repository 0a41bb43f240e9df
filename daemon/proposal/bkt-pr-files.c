/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-base.h"
#include "bkt-containerfile.h"
#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-manifest.h"
#include "bkt-pr-files.h"
#include "bkt-skel-fs.h"
#include "bkt-upstream.h"

/* The repo's files, edited for a pull request: read from the fetched
 * default branch, each edited with the writer of its format, which keeps
 * every byte the edits do not concern (docs/punning.md). */

G_DEFINE_QUARK (bkt-pr-stale-error-quark, bkt_pr_stale_error)

/* The documents a PR may edit besides the manifest kinds: the repo-side
 * ones of docs/maintenance.md.  Their edits' "manifest". */
#define DOC_UPSTREAM "upstream"
#define DOC_BASE     "base-image-assumptions"
#define BASE_PATH    "manifests/" BKT_BASE_FILE

typedef GBytes *(*ApplyFunc) (const char *doc, const char *path, GBytes *before, gboolean exists,
                              JsonArray *edits, GError **error);

typedef struct {
  char      *name;   /* the edits' "manifest" */
  char      *path;   /* in the repo */
  ApplyFunc  apply;
} Document;

static gboolean
edit_is_for (JsonObject *e, const char *doc)
{
  return g_strcmp0 (bkt_json_object_get_string (e, "manifest"), doc) == 0;
}

/* A manifest kind: the manifest writer. */
static GBytes *
apply_manifest (const char *doc, const char *path, GBytes *before, gboolean exists, JsonArray *edits,
                GError **error)
{
  g_autoptr(BktManifest) m = NULL;
  BktManifestKind kind;
  gsize len = 0;
  char *data;

  if (!bkt_manifest_kind_from_name (doc, &kind))
    g_assert_not_reached ();
  if (exists)
    {
      const char *raw = g_bytes_get_data (before, &len);
      m = bkt_manifest_load_data (kind, path, raw ? raw : "", (gssize) len, error);
      if (m == NULL)
        return NULL;
    }
  else
    m = bkt_manifest_new_empty (kind);

  for (guint i = 0; i < json_array_get_length (edits); i++)
    {
      JsonObject *e = json_array_get_object_element (edits, i);

      if (!edit_is_for (e, doc))
        continue;
      bkt_manifest_apply_edit (m, bkt_json_object_get_string (e, "action"), bkt_json_object_get_string (e, "member"),
                               json_object_has_member (e, "entry") ? json_object_get_object_member (e, "entry") : NULL,
                               bkt_json_object_get_string (e, "key"));
    }
  bkt_manifest_sort (m);
  data = bkt_manifest_to_data (m, &len);
  return g_bytes_new_take (data, len);
}

/* upstream/manifest.json: the upstream manifest's writer (the manifest
 * writer's secondary-list mode), checked again as the local commands
 * check what they write.  A branch without the file gets one from an add. */
static GBytes *
apply_upstream (const char *doc, const char *path, GBytes *before, gboolean exists, JsonArray *edits,
                GError **error)
{
  g_autoptr(BktUpstreamManifest) m = NULL;
  gsize len = 0;
  const char *raw = exists ? g_bytes_get_data (before, &len) : NULL;
  char *data;

  m = bkt_upstream_manifest_load_data (path, exists ? (raw ? raw : "") : NULL, len, error);
  if (m == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (edits); i++)
    {
      JsonObject *e = json_array_get_object_element (edits, i);
      JsonObject *entry = json_object_has_member (e, "entry") ? json_object_get_object_member (e, "entry") : NULL;
      const char *name = entry != NULL ? bkt_json_object_get_string (entry, "name") : bkt_json_object_get_string (e, "key");
      const char *from = bkt_json_object_get_string (e, "from");
      JsonObject *there = NULL;

      if (!edit_is_for (e, doc))
        continue;
      there = name != NULL ? bkt_upstream_manifest_lookup (m, name) : NULL;
      /* A new pin for an upstream the branch no longer has is no add. */
      if (entry != NULL && there == NULL && !json_object_has_member (entry, "source"))
        return g_set_error (error, BKT_PR_STALE_ERROR, 0,
                            "%s on the default branch has no upstream “%s” (removed since this checkout was "
                            "updated?): update the checkout, then run the command again", path, name), NULL;
      /* An update moves the pin from the version the checkout has: a branch
       * that has moved it elsewhere since (not to this very version) would
       * be moved back. */
      if (from != NULL && there != NULL && entry != NULL)
        {
          const char *branch_v = bkt_json_object_get_string (json_object_get_object_member (there, "pinned"), "version");
          const char *new_v = bkt_json_object_get_string (json_object_get_object_member (entry, "pinned"), "version");

          if (g_strcmp0 (branch_v, from) != 0 && g_strcmp0 (branch_v, new_v) != 0)
            return g_set_error (error, BKT_PR_STALE_ERROR, 0,
                                "%s on the default branch pins %s at %s, not at %s as this checkout does: update "
                                "the checkout (git pull), then run the command again", path, name, branch_v, from),
                   NULL;
        }
      bkt_upstream_manifest_apply_edit (m, bkt_json_object_get_string (e, "action"), entry,
                                        bkt_json_object_get_string (e, "key"));
    }
  data = bkt_upstream_manifest_to_data (m, &len, error);
  if (data == NULL)
    return NULL;
  if (exists && len == g_bytes_get_size (before) && memcmp (data, raw, len) == 0)
    {
      g_free (data);
      return g_bytes_ref (before);
    }
  return g_bytes_new_take (data, len);
}

/* manifests/base-image-assumptions.json: bkt base's writer, an edit at a
 * time.  The file is the distribution's to start (bkt base snapshot). */
static GBytes *
apply_base (const char *doc, const char *path, GBytes *before, gboolean exists, JsonArray *edits,
            GError **error)
{
  g_autoptr(GBytes) cur = NULL;

  if (!exists)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "%s: the default branch has no such file (bkt base snapshot prints one to start from)",
                        path), NULL;
  cur = g_bytes_ref (before);
  for (guint i = 0; i < json_array_get_length (edits); i++)
    {
      JsonObject *e = json_array_get_object_element (edits, i);
      gboolean remove = g_strcmp0 (bkt_json_object_get_string (e, "action"), "record") != 0;
      JsonObject *entry = json_object_has_member (e, "entry") ? json_object_get_object_member (e, "entry") : NULL;
      const char *name = remove ? bkt_json_object_get_string (e, "key") : bkt_json_object_get_string (entry, "name");
      gsize len = 0, out_len = 0;
      const char *raw;
      char *out;

      if (!edit_is_for (e, doc))
        continue;
      if (name == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: an edit without a name", path), NULL;
      raw = g_bytes_get_data (cur, &len);
      out = bkt_base_edit_data (path, raw ? raw : "", len, name,
                                remove ? NULL : bkt_json_object_get_string (entry, "reason"), remove, &out_len, error);
      if (out == NULL)
        return NULL;
      g_bytes_unref (cur);
      cur = g_bytes_new_take (out, out_len);
    }
  return g_steal_pointer (&cur);
}

/* Every document a PR may edit, in the order their files are listed. */
static GPtrArray *
documents (void)
{
  GPtrArray *docs = g_ptr_array_new ();
  static Document extra[] = {
    { (char *) DOC_BASE, (char *) BASE_PATH, apply_base },
    { (char *) DOC_UPSTREAM, (char *) BKT_UPSTREAM_FILE, apply_upstream },
  };
  static Document kinds[BKT_MANIFEST_N_KINDS];
  static gsize initialised;

  if (g_once_init_enter (&initialised))
    {
      for (guint k = 0; k < BKT_MANIFEST_N_KINDS; k++)
        {
          kinds[k].name = (char *) bkt_manifest_kind_name (k);
          kinds[k].path = g_strconcat ("manifests/", bkt_manifest_kind_file_name (k), NULL);
          kinds[k].apply = apply_manifest;
        }
      g_once_init_leave (&initialised, 1);
    }
  for (guint k = 0; k < BKT_MANIFEST_N_KINDS; k++)
    g_ptr_array_add (docs, &kinds[k]);
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    g_ptr_array_add (docs, &extra[i]);
  return docs;
}

static gboolean
edits_touch (JsonArray *edits, const char *doc)
{
  for (guint i = 0; i < json_array_get_length (edits); i++)
    if (edit_is_for (json_array_get_object_element (edits, i), doc))
      return TRUE;
  return FALSE;
}

/* "skel/REL" of a skel edit, or NULL (with @error) when REL is not a
 * skel path. */
static char *
skel_edit_path (JsonObject *e, GError **error)
{
  const char *rel = bkt_json_object_get_string (e, "path");
  g_autofree char *why = bkt_skel_check_path (rel);

  if (why != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "a skel edit with an invalid path: %s", why),
           NULL;
  return g_strconcat ("skel/", rel, NULL);
}

/* The skel files of @edits: each one's bytes replace the branch's. */
static gboolean
add_skel_files (BktGit *git, GHashTable *files, JsonArray *edits, GString *diff, GError **error)
{
  for (guint i = 0; i < json_array_get_length (edits); i++)
    {
      JsonObject *e = json_array_get_object_element (edits, i);
      g_autofree char *path = NULL, *d = NULL;
      g_autofree guchar *raw = NULL;
      g_autoptr(GBytes) before = NULL;
      g_autoptr(GBytes) after = NULL;
      const char *b64 = bkt_json_object_get_string (e, "content");
      gboolean exists = FALSE;
      gsize len = 0;

      if (!edit_is_for (e, BKT_PR_SKEL_DOC))
        continue;
      path = skel_edit_path (e, error);
      if (path == NULL)
        return FALSE;
      if (b64 == NULL || strlen (b64) > (BKT_SKEL_MAX_FILE_SIZE / 3 + 1) * 4)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: no content, or too big", path), FALSE;
      raw = g_base64_decode (b64, &len);
      after = g_bytes_new_take (g_steal_pointer (&raw), len);
      before = bkt_git_read_file (git, path, &exists, error);
      if (before == NULL)
        return FALSE;
      if (exists && g_bytes_equal (before, after))
        continue;
      d = bkt_git_unified_diff (path, exists ? before : NULL, after);
      g_string_append (diff, d);
      g_hash_table_insert (files, g_steal_pointer (&path), g_steal_pointer (&after));
    }
  return TRUE;
}

JsonArray *
bkt_pr_edited_files (JsonArray *edits)
{
  g_autoptr(GPtrArray) docs = documents ();
  JsonArray *files = json_array_new ();

  for (guint i = 0; i < docs->len; i++)
    {
      Document *d = g_ptr_array_index (docs, i);
      if (edits_touch (edits, d->name))
        json_array_add_string_element (files, d->path);
    }
  for (guint i = 0; i < json_array_get_length (edits); i++)
    {
      JsonObject *e = json_array_get_object_element (edits, i);
      g_autofree char *path = edit_is_for (e, BKT_PR_SKEL_DOC) ? skel_edit_path (e, NULL) : NULL;

      if (path != NULL)
        json_array_add_string_element (files, path);
    }
  return files;
}

/* The Containerfile's sections the PR's edits concern, regenerated from
 * the edited documents, so that the image built from the merged PR has
 * what the manifests say: SYSTEM_PACKAGES and COPR_REPOS from
 * system-packages.json, UPSTREAM_PINS from upstream/manifest.json, each
 * only when its edits are in the PR (a PR should not carry an unrelated
 * section's drift: `bkt containerfile sync` fixes that).  A Containerfile
 * without the section is left alone; a malformed one fails the PR (with
 * its line), which stays queued for `bkt pr retry` once it is fixed. */
static gboolean
add_containerfile (BktGit *git, GHashTable *files, JsonArray *edits, GString *diff, GError **error)
{
  GBytes *packages = g_hash_table_lookup (files, "manifests/system-packages.json");
  GBytes *upstream = g_hash_table_lookup (files, BKT_UPSTREAM_FILE);
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autofree char *d = NULL;
  gboolean exists = FALSE, changed = FALSE, with_packages = FALSE, with_coprs = FALSE;
  const char *cf;
  gsize cf_len = 0, out_len = 0;
  char *out;

  if (packages == NULL && upstream == NULL)
    return TRUE;
  for (guint i = 0; i < json_array_get_length (edits); i++)
    {
      JsonObject *e = json_array_get_object_element (edits, i);

      if (!edit_is_for (e, bkt_manifest_kind_name (BKT_MANIFEST_SYSTEM_PACKAGES)))
        continue;
      if (g_strcmp0 (bkt_json_object_get_string (e, "member"), BKT_MANIFEST_COPR_MEMBER) == 0)
        with_coprs = TRUE;
      else
        with_packages = TRUE;
    }
  before = bkt_git_read_file (git, "Containerfile", &exists, error);
  if (before == NULL)
    return FALSE;
  if (!exists)
    return TRUE;
  cf = g_bytes_get_data (before, &cf_len);
  after = g_bytes_ref (before);
  if (packages != NULL)
    {
      gsize pk_len = 0;
      const char *pk = g_bytes_get_data (packages, &pk_len);

      out = bkt_containerfile_regenerate_packages ("Containerfile", cf ? cf : "", cf_len, pk ? pk : "", pk_len,
                                                   with_packages, with_coprs, &changed, &out_len, error);
      if (out == NULL)
        return FALSE;
      g_bytes_unref (after);
      after = g_bytes_new_take (out, out_len);
    }
  if (upstream != NULL)
    {
      g_autoptr(GHashTable) bodies = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
      g_autoptr(BktUpstreamManifest) m = NULL;
      g_auto(GStrv) names = NULL;
      gsize up_len = 0, a_len = 0;
      const char *up = g_bytes_get_data (upstream, &up_len);
      const char *a;

      m = bkt_upstream_manifest_load_data (BKT_UPSTREAM_FILE, up ? up : "", up_len, error);
      if (m == NULL)
        return FALSE;
      g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_UPSTREAM_PINS, bkt_upstream_render_pins (m));
      a = g_bytes_get_data (after, &a_len);
      out = bkt_containerfile_regenerate ("Containerfile", a ? a : "", a_len, bodies, &names, &out_len, error);
      if (out == NULL)
        return FALSE;
      changed |= names[0] != NULL;
      g_bytes_unref (after);
      after = g_bytes_new_take (out, out_len);
    }
  if (!changed)
    return TRUE;
  d = bkt_git_unified_diff ("Containerfile", before, after);
  g_string_append (diff, d);
  g_hash_table_insert (files, g_strdup ("Containerfile"), g_steal_pointer (&after));
  return TRUE;
}

GHashTable *
bkt_pr_edited_contents (BktGit *git, JsonArray *edits, char **diff_out, GError **error)
{
  g_autoptr(GHashTable) files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) g_bytes_unref);
  g_autoptr(GString) diff = g_string_new (NULL);
  g_autoptr(GPtrArray) docs = documents ();

  for (guint i = 0; i < docs->len; i++)
    {
      Document *doc = g_ptr_array_index (docs, i);
      g_autoptr(GBytes) before = NULL;
      g_autoptr(GBytes) after = NULL;
      g_autofree char *d = NULL;
      gboolean exists = FALSE;

      if (!edits_touch (edits, doc->name))
        continue;
      before = bkt_git_read_file (git, doc->path, &exists, error);
      if (before == NULL)
        return NULL;
      after = doc->apply (doc->name, doc->path, before, exists, edits, error);
      if (after == NULL)
        return NULL;
      if (exists && g_bytes_equal (before, after))
        continue;
      d = bkt_git_unified_diff (doc->path, before, after);
      g_string_append (diff, d);
      g_hash_table_insert (files, g_strdup (doc->path), g_steal_pointer (&after));
    }
  if (!add_containerfile (git, files, edits, diff, error) || !add_skel_files (git, files, edits, diff, error))
    return NULL;
  *diff_out = g_string_free (g_steal_pointer (&diff), FALSE);
  return g_steal_pointer (&files);
}
