/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-manifest.h"
#include "bkt-pr-files.h"
#include "bkt-pr-item.h"
#include "bkt-pr-maint.h"

/* What a punned change is about: the item it names, the noun of its
 * kind, the one manifest it may edit, and the command as the public repo
 * gets it.  Kept in one table so that no kind falls back to another's
 * file or to a placeholder name (issue 12). */

/* ---- the subsystems a change can name ------------------------------------------- */

/* What a change of each live subsystem is called, the manifest it edits
 * and the argument that names its item: one table, so that a PR never
 * falls back to another kind's file or to a placeholder name. */
typedef struct {
  const char      *subsystem;
  const char      *noun;        /* in titles, branch names: "add shim htop" */
  BktManifestKind  kind;
  int              also;        /* a second manifest it may edit, or -1 */
  const char      *name_arg;    /* the ChangePlan argument naming the item */
} ChangeKind;

static const ChangeKind change_kinds[] = {
  /* an app's remote may be recorded with it */
  { "flatpak",   "flatpak",   BKT_MANIFEST_FLATPAK_APPS,     BKT_MANIFEST_FLATPAK_REMOTES, "id" },
  { "gsettings", "gsetting",  BKT_MANIFEST_GSETTINGS,        -1, "key" },
  { "extension", "extension", BKT_MANIFEST_GNOME_EXTENSIONS, -1, "uuid" },
  { "shim",      "shim",      BKT_MANIFEST_HOST_SHIMS,       -1, "name" },
  { "dnf",       "dnf",       BKT_MANIFEST_SYSTEM_PACKAGES,  -1, "packages" },
  { "toolbox",   "toolbox",   BKT_MANIFEST_TOOLBOX_PACKAGES, -1, "packages" },
  /* files under skel/, not a manifest (bkt-pr-files.h: "skel" edits) */
  { "skel",      "skel",      BKT_MANIFEST_N_KINDS,          -1, "path" },
};

static const ChangeKind *
change_kind (const char *subsystem)
{
  for (guint i = 0; i < G_N_ELEMENTS (change_kinds); i++)
    if (g_strcmp0 (subsystem, change_kinds[i].subsystem) == 0)
      return &change_kinds[i];
  return NULL;
}

const char *
bkt_pr_item_noun (const char *subsystem)
{
  const ChangeKind *k = change_kind (subsystem);

  return k != NULL ? k->noun : subsystem;
}

/* The item a change names, from the argument its subsystem names it by
 * (change_kinds); NULL when the arguments do not name one. */
char *
bkt_pr_item_name (const char *subsystem, GVariant *arguments)
{
  const ChangeKind *k = change_kind (subsystem);
  const char *name = NULL, *schema = NULL, *path = NULL;

  if (bkt_pr_maint_is_subsystem (subsystem) && g_variant_lookup (arguments, "name", "&s", &name))
    return g_strdup (name);
  if (k == NULL)
    return NULL;
  /* dnf and toolbox changes name their packages, in the order given
   * (COPR changes their project). */
  if (g_str_equal (k->name_arg, "packages"))
    {
      g_autofree const char **packages = NULL;

      if (g_variant_lookup (arguments, "name", "&s", &name))
        return g_strdup (name);
      if (g_variant_lookup (arguments, "packages", "^a&s", &packages) && packages[0] != NULL)
        return g_strjoinv (" ", (char **) packages);
      return NULL;
    }
  g_variant_lookup (arguments, k->name_arg, "&s", &name);
  if (k->kind == BKT_MANIFEST_GSETTINGS)
    {
      /* a key of a schema, or the whole schema (gsetting capture SCHEMA) */
      if (!g_variant_lookup (arguments, "schema", "&s", &schema))
        return NULL;
      g_variant_lookup (arguments, "path", "&s", &path);
      return g_strdup_printf ("%s%s%s%s%s", schema, path ? ":" : "", path ? path : "",
                              name ? " " : "", name ? name : "");
    }
  return name != NULL && *name != '\0' ? g_strdup (name) : NULL;
}

gboolean
bkt_pr_item_check_edits (const char *subsystem, JsonArray *edits, GError **error)
{
  const ChangeKind *k = change_kind (subsystem);

  for (guint i = 0; k != NULL && i < json_array_get_length (edits); i++)
    {
      const char *m = bkt_json_object_get_string (json_array_get_object_element (edits, i), "manifest");

      if (k->kind == BKT_MANIFEST_N_KINDS)
        {
          if (g_strcmp0 (m, BKT_PR_SKEL_DOC) != 0)
            return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                                "a %s change would edit %s, not skel/: refusing to propose it", k->noun,
                                m ? m : "(none)"), FALSE;
          continue;
        }
      if (g_strcmp0 (m, bkt_manifest_kind_name (k->kind)) != 0
          && (k->also < 0 || g_strcmp0 (m, bkt_manifest_kind_name ((BktManifestKind) k->also)) != 0))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                            "a %s change would edit %s, not %s: refusing to propose it", k->noun,
                            m ? m : "(none)", bkt_manifest_kind_name (k->kind)), FALSE;
    }
  return TRUE;
}

static JsonObject *
forget_edit (BktManifestKind kind, const char *key)
{
  JsonObject *e = json_object_new ();

  json_object_set_string_member (e, "manifest", bkt_manifest_kind_name (kind));
  json_object_set_string_member (e, "action", "forget");
  json_object_set_string_member (e, "key", key);
  return e;
}

/* The command as anyone would type it, for the PR body and the draft
 * changelog entry, which land in a public repo: without the options that
 * only say where this machine keeps things (--repo, -m/--manifests) or
 * how this run went (-n, --json, --wait, -v, --skip-preflight), and with
 * the user's home as "~".  A line that does not parse is kept, with the
 * home replaced all the same. */
char *
bkt_pr_item_public_command (const char *typed)
{
  static const char * const with_value[] = { "--repo", "-m", "--manifests", NULL };
  static const char * const run_only[] = { "-n", "--dry-run", "--json", "--wait", "-v", "--verbose",
                                           "--skip-preflight", NULL };
  const char *home = g_get_home_dir ();
  g_autofree char *home_slash = g_strconcat (home, "/", NULL);
  g_auto(GStrv) argv = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  if (typed == NULL)
    return NULL;
  if (!g_shell_parse_argv (typed, NULL, &argv, NULL))
    {
      g_auto(GStrv) parts = g_strsplit (typed, home_slash, -1);
      return g_strjoinv ("~/", parts);
    }
  for (guint i = 0; argv[i] != NULL; i++)
    {
      const char *a = argv[i];
      g_autofree char *shown = NULL;

      if (g_str_equal (a, "--"))
        {
          /* after it, arguments only */
          for (; argv[i] != NULL; i++)
            {
              g_autofree char *q = strpbrk (argv[i], " \t'\"$`\\") ? g_shell_quote (argv[i]) : g_strdup (argv[i]);
              g_string_append_printf (out, "%s%s", out->len ? " " : "", q);
            }
          break;
        }
      if (g_strv_contains (with_value, a))
        {
          i += argv[i + 1] != NULL;
          continue;
        }
      if (g_strv_contains (run_only, a) || g_str_has_prefix (a, "--repo=")
          || g_str_has_prefix (a, "--manifests=") || (g_str_has_prefix (a, "-m") && a[2] != '\0'))
        continue;
      shown = g_str_has_prefix (a, home_slash) ? g_strconcat ("~/", a + strlen (home_slash), NULL) : g_strdup (a);
      if (strpbrk (shown, " \t'\"$`\\") != NULL)
        {
          g_autofree char *q = g_shell_quote (shown);
          g_free (shown);
          shown = g_steal_pointer (&q);
        }
      g_string_append_printf (out, "%s%s", out->len ? " " : "", shown);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

void
bkt_pr_item_forget_edits (const char *subsystem, const char *name, GVariant *arguments, JsonArray *edits)
{
  const ChangeKind *kind = change_kind (subsystem);
  g_autofree const char **packages = NULL;

  if (kind == NULL || kind->kind == BKT_MANIFEST_N_KINDS)
    return;
  /* dnf and toolbox: one forget per package; the others by the name
   * bkt_pr_item_name() gives (gsettings: "schema key", as its entries are keyed) */
  if (g_str_equal (kind->name_arg, "packages") && g_variant_lookup (arguments, "packages", "^a&s", &packages))
    for (guint i = 0; packages[i] != NULL; i++)
      json_array_add_object_element (edits, forget_edit (kind->kind, packages[i]));
  else
    json_array_add_object_element (edits, forget_edit (kind->kind, name));
}
