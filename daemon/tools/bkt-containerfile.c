/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "bkt-containerfile.h"
#include "bkt-copr.h"
#include "bkt-upstream.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-manifest.h"

static void
section_free (gpointer p)
{
  BktContainerfileSection *s = p;

  if (s == NULL)
    return;
  g_free (s->name);
  g_free (s->body);
  g_free (s);
}

/* A marker line, stripped of leading/trailing blanks and CR. */
static char *
marker_text (const char *line, gsize len)
{
  while (len > 0 && (line[0] == ' ' || line[0] == '\t'))
    line++, len--;
  while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
    len--;
  return g_strndup (line, len);
}

static gboolean
valid_name (const char *s, gsize len)
{
  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isupper (s[i]) || g_ascii_isdigit (s[i]) || s[i] == '_'))
      return FALSE;
  return TRUE;
}

typedef enum { LINE_PLAIN, LINE_BEGIN, LINE_END } LineKind;

/* Classifies a line; a line that starts like a marker ("# ===") but is not
 * a well-formed one is reported rather than silently treated as text: a
 * typo in a marker would otherwise leave a section unclosed or, worse,
 * make bkt rewrite the wrong lines. */
static LineKind
classify (const char *line, gsize len, char **out_name, gboolean *out_malformed)
{
  g_autofree char *t = marker_text (line, len);
  static const char begin_suffix[] = " (managed by bkt) ===";
  gsize tl = strlen (t);

  *out_malformed = FALSE;
  *out_name = NULL;
  if (!g_str_has_prefix (t, "# === "))
    return LINE_PLAIN;
  if (g_str_has_prefix (t, "# === END ") && g_str_has_suffix (t, " ===") && tl > 14)
    {
      const char *n = t + 10;
      gsize nl = tl - 14;
      if (valid_name (n, nl))
        {
          *out_name = g_strndup (n, nl);
          return LINE_END;
        }
    }
  if (g_str_has_suffix (t, begin_suffix) && tl > 6 + strlen (begin_suffix))
    {
      const char *n = t + 6;
      gsize nl = tl - 6 - strlen (begin_suffix);
      if (valid_name (n, nl))
        {
          *out_name = g_strndup (n, nl);
          return LINE_BEGIN;
        }
    }
  /* "# === something ===" that mentions bkt is a damaged marker; other
   * banner comments in that style are the author's own. */
  if (strstr (t, "managed by bkt") != NULL || g_str_has_prefix (t, "# === END "))
    *out_malformed = TRUE;
  return LINE_PLAIN;
}

/* Parses @data into sections; with @out_offsets also the byte offsets of
 * each body (start, end) for regeneration. */
static GPtrArray *
parse (const char *display_name, const char *data, gsize length, GArray *out_offsets, GError **error)
{
  g_autoptr(GPtrArray) sections = g_ptr_array_new_with_free_func (section_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  BktContainerfileSection *open = NULL;
  gsize body_start = 0;
  guint line_no = 0;
  gsize pos = 0;

  if (display_name == NULL)
    display_name = "Containerfile";

  while (pos < length)
    {
      const char *nl = memchr (data + pos, '\n', length - pos);
      gsize end = nl != NULL ? (gsize) (nl - data) + 1 : length;
      g_autofree char *name = NULL;
      gboolean malformed;
      LineKind kind;

      line_no++;
      kind = classify (data + pos, end - pos - (nl != NULL ? 1 : 0), &name, &malformed);
      if (malformed)
        {
          g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                       "%s:%u: malformed bkt marker (expected \"# === NAME (managed by bkt) ===\" "
                       "or \"# === END NAME ===\", NAME in A-Z, 0-9, _)", display_name, line_no);
          section_free (open);
          return NULL;
        }
      if (kind == LINE_BEGIN)
        {
          if (open != NULL)
            {
              g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                           "%s:%u: section %s begins inside section %s (opened on line %u); "
                           "sections cannot nest", display_name, line_no, name, open->name,
                           open->begin_line);
              section_free (open);
              return NULL;
            }
          if (g_hash_table_contains (seen, name))
            {
              g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                           "%s:%u: section %s appears a second time (first on line %u)",
                           display_name, line_no, name,
                           GPOINTER_TO_UINT (g_hash_table_lookup (seen, name)));
              return NULL;
            }
          g_hash_table_insert (seen, g_strdup (name), GUINT_TO_POINTER (line_no));
          open = g_new0 (BktContainerfileSection, 1);
          open->name = g_steal_pointer (&name);
          open->begin_line = line_no;
          body_start = end;
        }
      else if (kind == LINE_END)
        {
          if (open == NULL || strcmp (open->name, name) != 0)
            {
              if (open == NULL)
                g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                             "%s:%u: END %s without its begin marker", display_name, line_no, name);
              else
                g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                             "%s:%u: END %s inside section %s (opened on line %u)",
                             display_name, line_no, name, open->name, open->begin_line);
              section_free (open);
              return NULL;
            }
          open->end_line = line_no;
          open->body = g_strndup (data + body_start, pos - body_start);
          if (out_offsets != NULL)
            {
              gsize range[2] = { body_start, pos };
              g_array_append_vals (out_offsets, range, 2);
            }
          g_ptr_array_add (sections, open);
          open = NULL;
        }
      pos = end;
    }

  if (open != NULL)
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                   "%s:%u: section %s is never closed (expected \"# === END %s ===\")",
                   display_name, open->begin_line, open->name, open->name);
      section_free (open);
      return NULL;
    }
  return g_steal_pointer (&sections);
}

GPtrArray *
bkt_containerfile_parse (const char *display_name, const char *data, gsize length, GError **error)
{
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  return parse (display_name, data, length, NULL, error);
}

char *
bkt_containerfile_regenerate (const char *display_name, const char *data, gsize length,
                              GHashTable *bodies, char ***out_changed, gsize *out_length,
                              GError **error)
{
  g_autoptr(GArray) offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GPtrArray) sections = NULL;
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) out = g_string_sized_new (length + 256);
  gsize copied = 0;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (bodies != NULL, NULL);

  sections = parse (display_name, data, length, offsets, error);
  if (sections == NULL)
    return NULL;

  for (guint i = 0; i < sections->len; i++)
    {
      BktContainerfileSection *s = g_ptr_array_index (sections, i);
      const char *given = g_hash_table_lookup (bodies, s->name);
      gsize start = g_array_index (offsets, gsize, 2 * i);
      gsize stop = g_array_index (offsets, gsize, 2 * i + 1);
      g_autofree char *crlf = NULL;
      const char *body = given;

      if (given == NULL)
        continue;
      /* A file written with CRLF line ends (its begin marker says so) gets
       * CRLF bodies: one line-end style per file. */
      if (start >= 2 && data[start - 2] == '\r' && strchr (given, '\r') == NULL)
        {
          g_auto(GStrv) lines = g_strsplit (given, "\n", -1);
          body = crlf = g_strjoinv ("\r\n", lines);
        }
      g_string_append_len (out, data + copied, (gssize) (start - copied));
      g_string_append (out, body);
      copied = stop;
      if (strcmp (body, s->body) != 0)
        g_ptr_array_add (changed, g_strdup (s->name));
    }
  g_string_append_len (out, data + copied, (gssize) (length - copied));

  if (out_changed != NULL)
    {
      /* An empty array may have no storage at all: always hand back a vector. */
      g_ptr_array_add (changed, NULL);
      *out_changed = (char **) g_ptr_array_free (g_steal_pointer (&changed), FALSE);
    }
  if (out_length != NULL)
    *out_length = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ── rendering ─────────────────────────────────────────────────────────── */

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Sorted, deduplicated copy (the strings are borrowed). */
static GPtrArray *
sorted_unique (const char *const *items)
{
  GPtrArray *a = g_ptr_array_new ();

  for (gsize i = 0; items != NULL && items[i] != NULL; i++)
    if (items[i][0] != '\0')
      g_ptr_array_add (a, (gpointer) items[i]);
  g_ptr_array_sort (a, compare_strings);
  for (guint i = 1; i < a->len;)
    {
      if (strcmp (g_ptr_array_index (a, i - 1), g_ptr_array_index (a, i)) == 0)
        g_ptr_array_remove_index (a, i);
      else
        i++;
    }
  return a;
}

/* "RUN COMMAND \" then one item per line, then "&& dnf clean all" so the
 * layer carries no package metadata. */
static void
append_install (GString *out, const char *command, GPtrArray *items)
{
  g_string_append_printf (out, "RUN %s \\\n", command);
  for (guint i = 0; i < items->len; i++)
    g_string_append_printf (out, "        %s \\\n", (const char *) g_ptr_array_index (items, i));
  g_string_append (out, "    && dnf clean all\n");
}

char *
bkt_containerfile_render_packages (const char *const *packages, const char *const *groups)
{
  g_autoptr(GPtrArray) p = sorted_unique (packages);
  g_autoptr(GPtrArray) g = sorted_unique (groups);
  GString *out = g_string_new (NULL);

  if (p->len == 0 && g->len == 0)
    g_string_append (out, "# No packages in manifests/system-packages.json.\n");
  if (g->len > 0)
    append_install (out, "dnf group install -y", g);
  if (p->len > 0)
    append_install (out, "dnf install -y", p);
  return g_string_free (out, FALSE);
}

char *
bkt_containerfile_render_copr (const char *const *projects, const char *const *no_gpgcheck)
{
  g_autoptr(GPtrArray) p = sorted_unique (projects);
  g_autoptr(GPtrArray) n = sorted_unique (no_gpgcheck);
  GString *out = g_string_new (NULL);

  if (p->len == 0)
    {
      g_string_append (out, "# No COPR repositories in manifests/system-packages.json.\n");
      return g_string_free (out, FALSE);
    }
  /* dnf5 has "copr" in dnf5-plugins, dnf4 in dnf-plugins-core: install
   * whichever provides it first so the block works on either. */
  g_string_append (out, "RUN dnf install -y 'dnf-command(copr)' \\\n");
  for (guint i = 0; i < p->len; i++)
    g_string_append_printf (out, "    && dnf copr enable -y %s \\\n", (const char *) g_ptr_array_index (p, i));
  /* "gpg_check": false as on the host: the file dnf saved has COPR's
   * gpgcheck=1 (the same file name with dnf4's and dnf5's plugin). */
  for (guint i = 0; i < n->len; i++)
    {
      g_autofree char *file = bkt_copr_file_name (g_ptr_array_index (n, i));
      g_string_append_printf (out, "    && sed -i 's/^gpgcheck=1$/gpgcheck=0/' '/etc/yum.repos.d/%s' \\\n", file);
    }
  g_string_append (out, "    && dnf clean all\n");
  return g_string_free (out, FALSE);
}

typedef struct { const char *name; const char *host; } Shim;

static int
compare_shims (gconstpointer a, gconstpointer b)
{
  return strcmp (((const Shim *) a)->name, ((const Shim *) b)->name);
}

char *
bkt_containerfile_render_shims (const char *const *names, const char *const *hosts)
{
  g_autoptr(GArray) shims = g_array_new (FALSE, FALSE, sizeof (Shim));
  GString *out = g_string_new (NULL);

  for (gsize i = 0; names != NULL && names[i] != NULL; i++)
    {
      Shim s = { names[i], hosts != NULL && hosts[i] != NULL && hosts[i][0] != '\0' ? hosts[i] : names[i] };
      g_array_append_val (shims, s);
    }
  g_array_sort (shims, compare_shims);
  if (shims->len == 0)
    {
      g_string_append (out, "# No shims in manifests/host-shims.json.\n");
      return g_string_free (out, FALSE);
    }
  /* The same script the shim subsystem writes for a toolbox
   * (bkt_shims_render()), minus its ownership marker: in the image the
   * file is the image's.  printf rather than a heredoc: see the header. */
  g_string_append (out, "RUN mkdir -p /usr/local/bin \\\n");
  for (guint i = 0; i < shims->len; i++)
    {
      const Shim *s = &g_array_index (shims, Shim, i);
      if (i > 0 && strcmp (s->name, g_array_index (shims, Shim, i - 1).name) == 0)
        continue;
      g_string_append_printf (out,
                              "    && printf '#!/bin/sh\\nexec flatpak-spawn --host %%s \"$@\"\\n' '%s' > /usr/local/bin/%s \\\n"
                              "    && chmod 0755 /usr/local/bin/%s \\\n",
                              s->host, s->name, s->name);
    }
  /* The last command ends the instruction: no continuation after it. */
  g_string_truncate (out, out->len - 3);
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

/* ── from the manifests ────────────────────────────────────────────────── */

/* A string array member of the manifest's top level, or an empty vector. */
static GStrv
string_list (JsonObject *root, const char *member, const char *origin, GError **error)
{
  JsonNode *node = root != NULL ? json_object_get_member (root, member) : NULL;
  g_autoptr(GPtrArray) b = g_ptr_array_new_with_free_func (g_free);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          const char *s = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                          ? json_node_get_string (e) : NULL;
          g_autofree char *why = s != NULL ? bkt_manifest_check_package_name (s) : g_strdup ("must be a string");

          if (why != NULL)
            {
              g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s: \"%s\"[%u] %s",
                           origin, member, i, why);
              return NULL;
            }
          g_ptr_array_add (b, g_strdup (s));
        }
    }
  g_ptr_array_add (b, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&b), FALSE);
}

/* Enabled COPR projects of copr_repos [{name, enabled, gpg_check}];
 * absent "enabled" means enabled, as the original tool read it.  Those of
 * them with "gpg_check": false in @out_no_gpgcheck. */
static GStrv
enabled_coprs (JsonObject *root, const char *origin, GStrv *out_no_gpgcheck, GError **error)
{
  JsonNode *node = root != NULL ? json_object_get_member (root, "copr_repos") : NULL;
  g_autoptr(GPtrArray) b = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) n = g_ptr_array_new_with_free_func (g_free);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
          const char *name = o != NULL ? json_object_get_string_member_with_default (o, "name", NULL) : NULL;
          g_autofree char *why = name != NULL ? bkt_manifest_check_copr_name (name)
                                              : g_strdup ("must be an object with a \"name\"");

          if (why != NULL)
            {
              g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s: copr_repos[%u] %s",
                           origin, i, why);
              return NULL;
            }
          if (!json_object_get_boolean_member_with_default (o, "enabled", TRUE))
            continue;
          g_ptr_array_add (b, g_strdup (name));
          if (!json_object_get_boolean_member_with_default (o, "gpg_check", TRUE))
            g_ptr_array_add (n, g_strdup (name));
        }
    }
  g_ptr_array_add (n, NULL);
  *out_no_gpgcheck = (GStrv) g_ptr_array_free (g_steal_pointer (&n), FALSE);
  g_ptr_array_add (b, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&b), FALSE);
}

/* The BKT section: COPY of the manifest files the repo has (only the kinds
 * bkt reads, so a stray file in manifests/ is not baked into every image),
 * its repo.json when there is one, and the units that apply them.  The
 * paths are the image's, where the RPM installs bkt (prefix /usr), not
 * this build's prefix. */
#define IMAGE_PKGDATADIR "/usr/share/bkt"

char *
bkt_containerfile_render_bkt (const char *const *manifest_files, gboolean repo_json, gboolean skel)
{
  GString *out = g_string_new (NULL);

  if (manifest_files != NULL && manifest_files[0] != NULL)
    {
      g_string_append (out, "COPY");
      for (guint i = 0; manifest_files[i] != NULL; i++)
        g_string_append_printf (out, " manifests/%s", manifest_files[i]);
      g_string_append (out, " " IMAGE_PKGDATADIR "/manifests/\n");
    }
  if (repo_json)
    g_string_append (out, "COPY repo.json " IMAGE_PKGDATADIR "/repo.json\n");
  /* The dotfiles beside the manifests (bkt skel), as a tree. */
  if (skel)
    g_string_append (out, "COPY skel/ " IMAGE_PKGDATADIR "/skel/\n");
  g_string_append (out, "RUN systemctl enable bkt-apply.service bkt-apply.timer && \\\n"
                        "    systemctl --global enable bkt-apply-user.service bkt-apply-user.timer\n");
  return g_string_free (out, FALSE);
}

static char *
bkt_body_from_repo (const char *manifest_dir)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new ();
  g_autofree char *repo = g_path_get_dirname (manifest_dir);
  g_autofree char *repo_json = g_build_filename (repo, "repo.json", NULL);
  g_autofree char *skel = g_build_filename (repo, "skel", NULL);

  for (int k = 0; k < BKT_MANIFEST_N_KINDS; k++)
    {
      const char *name = bkt_manifest_kind_file_name ((BktManifestKind) k);
      g_autofree char *path = g_build_filename (manifest_dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (files, (gpointer) name);
    }
  g_ptr_array_add (files, NULL);
  return bkt_containerfile_render_bkt ((const char *const *) files->pdata,
                                       g_file_test (repo_json, G_FILE_TEST_IS_REGULAR),
                                       g_file_test (skel, G_FILE_TEST_IS_DIR));
}

GHashTable *
bkt_containerfile_bodies_from_manifests (const char *manifest_dir, GError **error)
{
  g_autofree char *pkg_path = g_build_filename (manifest_dir, "system-packages.json", NULL);
  g_autofree char *shim_path = g_build_filename (manifest_dir, "host-shims.json", NULL);
  g_autoptr(BktManifest) pkgs = bkt_manifest_load_file (BKT_MANIFEST_SYSTEM_PACKAGES, pkg_path, error);
  g_autoptr(BktManifest) shims = NULL;
  g_autoptr(GHashTable) bodies = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_auto(GStrv) packages = NULL, groups = NULL, coprs = NULL, no_gpg = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) hosts = g_ptr_array_new ();
  JsonObject *root = NULL;
  JsonArray *entries;

  if (pkgs == NULL)
    return NULL;
  shims = bkt_manifest_load_file (BKT_MANIFEST_HOST_SHIMS, shim_path, error);
  if (shims == NULL)
    return NULL;
  if (bkt_manifest_get_doc (pkgs) != NULL)
    {
      JsonNode *r = bkt_json_doc_get_root (bkt_manifest_get_doc (pkgs));
      root = r != NULL && JSON_NODE_HOLDS_OBJECT (r) ? json_node_get_object (r) : NULL;
    }
  packages = string_list (root, "packages", pkg_path, error);
  if (packages == NULL)
    return NULL;
  groups = string_list (root, "groups", pkg_path, error);
  if (groups == NULL)
    return NULL;
  coprs = enabled_coprs (root, pkg_path, &no_gpg, error);
  if (coprs == NULL)
    return NULL;

  entries = bkt_manifest_get_entries (shims);
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *o = json_array_get_object_element (entries, i);
      g_ptr_array_add (names, (gpointer) json_object_get_string_member (o, "name"));
      g_ptr_array_add (hosts, (gpointer) json_object_get_string_member_with_default (o, "host", ""));
    }

  g_ptr_array_add (names, NULL);
  g_ptr_array_add (hosts, NULL);
  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_SYSTEM_PACKAGES,
                       bkt_containerfile_render_packages ((const char *const *) packages,
                                                          (const char *const *) groups));
  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_COPR_REPOS,
                       bkt_containerfile_render_copr ((const char *const *) coprs, (const char *const *) no_gpg));
  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_HOST_SHIMS,
                       bkt_containerfile_render_shims ((const char *const *) names->pdata,
                                                       (const char *const *) hosts->pdata));
  {
    /* The upstream pins live beside manifests/, in upstream/manifest.json
     * (the original's layout); no file is no pins. */
    g_autofree char *repo = g_path_get_dirname (manifest_dir);
    g_autofree char *up_path = g_build_filename (repo, BKT_UPSTREAM_FILE, NULL);
    g_autoptr(BktUpstreamManifest) up = bkt_upstream_manifest_load (up_path, up_path, TRUE, error);

    if (up == NULL)
      return NULL;
    g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_UPSTREAM_PINS, bkt_upstream_render_pins (up));
  }
  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_BKT, bkt_body_from_repo (manifest_dir));
  return g_steal_pointer (&bodies);
}

char *
bkt_containerfile_regenerate_packages (const char *display_name, const char *data, gsize length,
                                       const char *packages_json, gsize packages_length, gboolean with_packages,
                                       gboolean with_coprs, gboolean *out_changed, gsize *out_length,
                                       GError **error)
{
  g_autoptr(BktManifest) pkgs = NULL;
  g_autoptr(GHashTable) bodies = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_auto(GStrv) packages = NULL, groups = NULL, coprs = NULL, no_gpg = NULL, changed = NULL;
  JsonObject *root = NULL;
  char *out;

  pkgs = bkt_manifest_load_data (BKT_MANIFEST_SYSTEM_PACKAGES, "manifests/system-packages.json",
                                 packages_json, (gssize) packages_length, error);
  if (pkgs == NULL)
    return NULL;
  if (bkt_manifest_get_doc (pkgs) != NULL)
    {
      JsonNode *r = bkt_json_doc_get_root (bkt_manifest_get_doc (pkgs));
      root = r != NULL && JSON_NODE_HOLDS_OBJECT (r) ? json_node_get_object (r) : NULL;
    }
  packages = string_list (root, "packages", "manifests/system-packages.json", error);
  if (packages == NULL)
    return NULL;
  groups = string_list (root, "groups", "manifests/system-packages.json", error);
  if (groups == NULL)
    return NULL;
  coprs = enabled_coprs (root, "manifests/system-packages.json", &no_gpg, error);
  if (coprs == NULL)
    return NULL;
  if (with_packages)
    g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_SYSTEM_PACKAGES,
                         bkt_containerfile_render_packages ((const char *const *) packages,
                                                            (const char *const *) groups));
  if (with_coprs)
    g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_COPR_REPOS,
                         bkt_containerfile_render_copr ((const char *const *) coprs,
                                                        (const char *const *) no_gpg));
  out = bkt_containerfile_regenerate (display_name, data, length, bodies, &changed, out_length, error);
  if (out != NULL && out_changed != NULL)
    *out_changed = changed[0] != NULL;
  return out;
}

/* A file without any section of @bodies would be "up to date" without a
 * single line compared: say so, and how to add one, instead. */
static gboolean
has_managed_section (const char *path, const char *data, gsize len, GHashTable *bodies, GError **error)
{
  g_autoptr(GPtrArray) sections = bkt_containerfile_parse (path, data, len, error);

  if (sections == NULL)
    return FALSE;
  for (guint i = 0; i < sections->len; i++)
    if (g_hash_table_contains (bodies, ((BktContainerfileSection *) sections->pdata[i])->name))
      return TRUE;
  g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
               "%s has no section managed by bkt, so nothing was checked or written; "
               "add one where its RUN line belongs, as the pair of marker lines\n"
               "  # === SYSTEM_PACKAGES (managed by bkt) ===\n"
               "  # === END SYSTEM_PACKAGES ===\n"
               "(likewise COPR_REPOS and HOST_SHIMS), then run `bkt containerfile sync`", path);
  return FALSE;
}

gboolean
bkt_containerfile_sync_file (const char *path, const char *manifest_dir, gboolean check,
                             char ***out_changed, GError **error)
{
  g_autoptr(GHashTable) bodies = NULL;
  g_autofree char *data = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) changed = NULL;
  g_autofree char *display = g_path_get_basename (path);
  gsize len = 0, out_len = 0;

  if (!g_file_get_contents (path, &data, &len, error))
    return FALSE;
  bodies = bkt_containerfile_bodies_from_manifests (manifest_dir, error);
  if (bodies == NULL || !has_managed_section (path, data, len, bodies, error))
    return FALSE;
  out = bkt_containerfile_regenerate (path, data, len, bodies, &changed, &out_len, error);
  if (out == NULL)
    return FALSE;
  if (changed[0] != NULL)
    {
      if (check)
        {
          g_autofree char *list = g_strjoinv (", ", changed);
          g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                       "%s is out of date with the manifests (%s): run `bkt containerfile sync`",
                       display, list);
          if (out_changed != NULL)
            *out_changed = g_steal_pointer (&changed);
          return FALSE;
        }
      GStatBuf st;
      /* Keep the file's mode: it is the repo's, tracked by git. */
      int mode = g_stat (path, &st) == 0 ? (int) (st.st_mode & 07777) : 0644;

      if (!bkt_write_file_atomic (path, out, out_len, mode, error))
        return FALSE;
    }
  if (out_changed != NULL)
    *out_changed = g_steal_pointer (&changed);
  return TRUE;
}
