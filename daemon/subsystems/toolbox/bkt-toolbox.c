/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-copr.h"
#include "bkt-error.h"
#include "bkt-packages.h"
#include "bkt-toolbox.h"

/* Manifest entries handled here:
 *
 *   toolbox-packages.json  {"packages": [NAME, ...], ...}  (bare strings,
 *                          read as {"name": NAME} by bkt-manifest)
 *
 * Targets are "package:NAME", as for the host's layered packages; the
 * subsystem name keeps them apart. */

#define SUBSYSTEM_NAME "toolbox"
#define MAX_NAME_LEN   64

struct _BktToolbox
{
  GObject parent_instance;
};

static void bkt_toolbox_subsystem_init (BktSubsystemInterface *iface);

/* GStrvBuilder is GLib 2.68; bkt supports 2.64. */
static void
strv_add (GPtrArray *a, const char *s)
{
  g_ptr_array_add (a, g_strdup (s));
}

static void
strv_addv (GPtrArray *a, const char * const *v)
{
  for (gsize i = 0; v != NULL && v[i] != NULL; i++)
    strv_add (a, v[i]);
}

static char **
strv_end (GPtrArray *a)
{
  g_ptr_array_add (a, NULL);
  return (char **) g_ptr_array_free (a, FALSE);
}

G_DEFINE_TYPE_WITH_CODE (BktToolbox, bkt_toolbox, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (BKT_TYPE_SUBSYSTEM, bkt_toolbox_subsystem_init))

static void
bkt_toolbox_class_init (BktToolboxClass *klass)
{
}

static void
bkt_toolbox_init (BktToolbox *self)
{
}

BktSubsystem *
bkt_toolbox_new (void)
{
  return BKT_SUBSYSTEM (g_object_new (BKT_TYPE_TOOLBOX, NULL));
}

/* ---- names and command lines -------------------------------------------------- */

char *
bkt_toolbox_check_name (const char *name)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0)
    return g_strdup ("is empty");
  if (len > MAX_NAME_LEN)
    return g_strdup_printf ("is longer than %d bytes", MAX_NAME_LEN);
  /* toolbox's own rule (and podman's): no leading '-', so the name is never
   * read as an option of toolbox, podman or sudo. */
  if (!g_ascii_isalnum (name[0]))
    return g_strdup ("must start with a letter or a digit");
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("_.-", name[i]) == NULL)
      return g_strdup ("may only contain letters, digits, “_”, “.” and “-”");
  return NULL;
}

char *
bkt_toolbox_file_value (const char *text, const char *key)
{
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);
  gsize klen = strlen (key);

  for (guint i = 0; lines[i] != NULL; i++)
    if (strncmp (lines[i], key, klen) == 0 && lines[i][klen] == '=')
      {
        g_autofree char *v = g_strstrip (g_strdup (lines[i] + klen + 1));
        char *unquoted = g_shell_unquote (v, NULL);
        return unquoted != NULL ? unquoted : g_steal_pointer (&v);
      }
  return NULL;
}

char *
bkt_toolbox_default_name (JsonObject *config, const char *os_release_text, GError **error)
{
  const char *configured = NULL;
  g_autofree char *id = NULL;
  g_autofree char *version = NULL;
  g_autofree char *name = NULL;
  g_autofree char *why = NULL;

  if (config != NULL && json_object_has_member (config, "dev_container"))
    {
      JsonNode *n = json_object_get_member (config, "dev_container");
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "config.json: \"dev_container\" must be a string"), NULL;
      configured = json_node_get_string (n);
      why = bkt_toolbox_check_name (configured);
      if (why != NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "config.json: \"dev_container\" %s", why), NULL;
      return g_strdup (configured);
    }
  /* What `toolbox create` without arguments names its container. */
  id = bkt_toolbox_file_value (os_release_text, "ID");
  version = bkt_toolbox_file_value (os_release_text, "VERSION_ID");
  if (id == NULL || version == NULL || (!g_str_equal (id, "fedora") && !g_str_equal (id, "rhel")))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "no default development toolbox on this system (os-release ID “%s”): name it with "
                        "--container NAME or \"dev_container\" in ~/.config/bkt/config.json",
                        id != NULL ? id : "?"), NULL;
  name = g_strdup_printf ("%s-toolbox-%s", id, version);
  why = bkt_toolbox_check_name (name);
  if (why != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "default toolbox name “%s” %s", name, why),
           NULL;
  return g_steal_pointer (&name);
}

char **
bkt_toolbox_wrap_argv (BktToolboxRoute route, const char *program, const char *name,
                       gboolean privileged, gboolean is_root, const char * const *cmd)
{
  GPtrArray *b = g_ptr_array_new_with_free_func (g_free);

  switch (route)
    {
    case BKT_TOOLBOX_ROUTE_DIRECT:
      if (privileged && !is_root)
        strv_add (b, "sudo");
      break;
    case BKT_TOOLBOX_ROUTE_TOOLBOX:
      /* toolbox runs the command as the host user, who has passwordless
       * sudo in a toolbox. */
      strv_add (b, program);
      strv_add (b, "run");
      strv_add (b, "-c");
      strv_add (b, name);
      if (privileged)
        strv_add (b, "sudo");
      break;
    case BKT_TOOLBOX_ROUTE_PODMAN:
      strv_addv (b, (const char *[]) { program, "exec", "--user", privileged ? "root" : g_get_user_name (), name,
                                       NULL });
      break;
    }
  strv_addv (b, cmd);
  return strv_end (b);
}

char **
bkt_toolbox_dnf_change_argv (BktToolboxRoute route, const char *program, const char *name,
                             gboolean is_root, const char *dnf, gboolean install, const char * const *names)
{
  GPtrArray *b = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) cmd = NULL;

  strv_addv (b, (const char *[]) { dnf, install ? "install" : "remove", "-y", "--", NULL });
  strv_addv (b, names);
  cmd = strv_end (b);
  return bkt_toolbox_wrap_argv (route, program, name, TRUE, is_root, (const char * const *) cmd);
}

/* ---- parsing -------------------------------------------------------------------- */

gboolean
bkt_toolbox_parse_list (const char *output, const char *name, char **out_image)
{
  g_auto(GStrv) lines = g_strsplit (output != NULL ? output : "", "\n", -1);

  if (out_image != NULL)
    *out_image = NULL;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) cols = NULL;
      guint n;

      if (g_str_has_prefix (lines[i], "CONTAINER ID") || g_str_has_prefix (lines[i], "IMAGE ID"))
        continue;
      cols = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      /* Drop the empty fields of runs of spaces. */
      n = 0;
      for (guint j = 0; cols[j] != NULL; j++)
        if (*cols[j] != '\0')
          {
            char *c = cols[j];
            cols[j] = cols[n];
            cols[n++] = c;
          }
      /* ID NAME CREATED… STATUS IMAGE: at least five columns. */
      if (n < 5 || !g_str_equal (cols[1], name))
        continue;
      if (out_image != NULL)
        *out_image = g_strdup (cols[n - 1]);
      return TRUE;
    }
  return FALSE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

char **
bkt_toolbox_parse_installed (const char *output)
{
  g_auto(GStrv) lines = g_strsplit (output != NULL ? output : "", "\n", -1);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) unique = g_ptr_array_new ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *l = g_strstrip (lines[i]);
      /* gpg-pubkey is rpm's pseudo-package for imported keys. */
      if (*l != '\0' && !g_str_equal (l, "gpg-pubkey"))
        g_ptr_array_add (names, g_strdup (l));
    }
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    if (i == 0 || strcmp (g_ptr_array_index (names, i), g_ptr_array_index (names, i - 1)) != 0)
      g_ptr_array_add (unique, g_strdup (g_ptr_array_index (names, i)));
  g_ptr_array_add (unique, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&unique), FALSE);
}

void
bkt_toolbox_diff (const char * const *wanted, const char * const *installed, const char * const *base,
                  char ***out_missing, char ***out_extra)
{
  g_autoptr(GHashTable) have = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) want = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *missing = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *extra = g_ptr_array_new_with_free_func (g_free);

  for (gsize i = 0; installed != NULL && installed[i] != NULL; i++)
    g_hash_table_add (have, (gpointer) installed[i]);
  for (gsize i = 0; wanted != NULL && wanted[i] != NULL; i++)
    {
      g_hash_table_add (want, (gpointer) wanted[i]);
      if (!g_hash_table_contains (have, wanted[i]))
        strv_add (missing, wanted[i]);
    }
  for (gsize i = 0; installed != NULL && installed[i] != NULL; i++)
    if (!g_hash_table_contains (want, installed[i]) && (base == NULL || !g_strv_contains (base, installed[i])))
      strv_add (extra, installed[i]);
  *out_missing = strv_end (missing);
  *out_extra = strv_end (extra);
}

/* ---- plans ---------------------------------------------------------------------- */

BktPlan *
bkt_toolbox_plan (const char *container, gboolean install, const char * const *names,
                  gboolean with_manifest_edits)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);

  for (gsize i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autoptr(JsonObject) details = json_object_new ();
      g_autofree char *target = g_strconcat ("package:", names[i], NULL);
      g_autofree char *summary = g_strdup_printf ("%s %s %s toolbox %s", install ? "Install" : "Remove", target,
                                                  install ? "into" : "from", container);

      json_object_set_string_member (details, "name", names[i]);
      json_object_set_string_member (details, "container", container);
      g_ptr_array_add (ops, bkt_operation_new (SUBSYSTEM_NAME, install ? "install" : "remove", target,
                                               BKT_SCOPE_USER, BKT_EFFECT_LIVE, summary, details));
    }
  for (gsize i = 0; with_manifest_edits && names != NULL && names[i] != NULL; i++)
    g_ptr_array_add (ops, install ? bkt_packages_record_op (SUBSYSTEM_NAME, BKT_MANIFEST_TOOLBOX_PACKAGES, names[i])
                                   : bkt_packages_forget_op (SUBSYSTEM_NAME, BKT_MANIFEST_TOOLBOX_PACKAGES, names[i]));
  return bkt_plan_new ("change", ops, NULL);
}

GPtrArray *
bkt_toolbox_manifest_names (BktManifestSet *manifests)
{
  JsonArray *entries = bkt_manifest_get_entries (bkt_manifest_set_get (manifests, BKT_MANIFEST_TOOLBOX_PACKAGES));
  GPtrArray *names = g_ptr_array_new ();

  for (guint i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *n = json_array_get_element (entries, i);
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        g_ptr_array_add (names, (gpointer) json_node_get_string (n));
    }
  return names;
}

/* ---- COPRs in the container ------------------------------------------------------ */

static gint
compare_copr_names (gconstpointer a, gconstpointer b)
{
  return strcmp (json_object_get_string_member (*(JsonObject * const *) a, "name"),
                 json_object_get_string_member (*(JsonObject * const *) b, "name"));
}

JsonArray *
bkt_toolbox_parse_coprs (const char *output)
{
  g_auto(GStrv) lines = g_strsplit (output != NULL ? output : "", "\n", -1);
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *out = json_array_new ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      const char *id = NULL, *status = NULL;
      g_autofree char *name = NULL;
      JsonObject *o;

      /* The first and the last word; the name between may hold spaces. */
      for (guint j = 0; words[j] != NULL; j++)
        if (words[j][0] != '\0')
          {
            if (id == NULL)
              id = words[j];
            status = words[j];
          }
      if (id == NULL || status == id || (!g_str_equal (status, "enabled") && !g_str_equal (status, "disabled")))
        continue;
      name = bkt_copr_name_from_repo_id (id);
      if (name == NULL || !g_str_has_prefix (id, "copr:"))
        continue;
      o = json_object_new ();
      json_object_set_string_member (o, "name", name);
      json_object_set_boolean_member (o, "enabled", g_str_equal (status, "enabled"));
      g_ptr_array_add (found, o);
    }
  g_ptr_array_sort (found, compare_copr_names);
  for (guint i = 0; i < found->len; i++)
    if (i == 0 || compare_copr_names (&found->pdata[i - 1], &found->pdata[i]) != 0)
      json_array_add_object_element (out, json_object_ref (g_ptr_array_index (found, i)));
  return out;
}

BktOperation *
bkt_toolbox_copr_op (const char *container, const char *name, gboolean enable)
{
  g_autoptr(JsonObject) details = json_object_new ();
  g_autofree char *target = g_strconcat ("copr:", name, NULL);
  g_autofree char *summary = g_strdup_printf ("%s COPR repo %s in toolbox %s (dnf copr %s)",
                                              enable ? "Enable" : "Disable", name, container,
                                              enable ? "enable" : "disable");

  json_object_set_string_member (details, "name", name);
  json_object_set_string_member (details, "container", container);
  json_object_set_boolean_member (details, "enabled", enable);
  return bkt_operation_new (SUBSYSTEM_NAME, enable ? "copr-enable" : "copr-disable", target, BKT_SCOPE_USER,
                            BKT_EFFECT_LIVE, summary, details);
}

BktOperation *
bkt_toolbox_copr_record_op (const char *name, gboolean enabled, gboolean gpg_check)
{
  g_autoptr(JsonObject) entry = json_object_new ();
  g_autofree char *target = g_strconcat ("copr:", name, NULL);
  g_autofree char *summary = g_strdup_printf ("Record %s in toolbox-packages.json copr_repos (enabled: %s)", target,
                                              enabled ? "true" : "false");

  /* The members and their order of system-packages.json's copr_repos. */
  json_object_set_string_member (entry, "name", name);
  json_object_set_boolean_member (entry, "enabled", enabled);
  json_object_set_boolean_member (entry, "gpg_check", gpg_check);
  return bkt_operation_new_record_in (SUBSYSTEM_NAME, BKT_MANIFEST_TOOLBOX_PACKAGES, BKT_MANIFEST_COPR_MEMBER,
                                      target, summary, entry);
}

/* ---- the subsystem: records only ------------------------------------------------ */

static const char *
bkt_toolbox_get_name (BktSubsystem *subsystem)
{
  return SUBSYSTEM_NAME;
}

/* The container is the client's to read (it runs on the user's terminal,
 * possibly inside the toolbox): nothing live here. */
static gboolean
bkt_toolbox_load_live (BktSubsystem *subsystem, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

/* `bkt dev update` is the toolbox's apply and runs in the client. */
static gboolean
bkt_toolbox_plan_nothing (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                          GPtrArray *warnings, GError **error)
{
  return TRUE;
}

/* `bkt dev copr enable|disable --pr`: {name s}; the record in
 * copr_repos, the manifest's gpg_check kept (the container's part is the
 * client's, done before Change). */
static gboolean
plan_copr_change (BktManifestSet *manifests, gboolean enable, GVariant *arguments, GPtrArray *ops,
                  GError **error)
{
  BktManifest *m = bkt_manifest_set_get (manifests, BKT_MANIFEST_TOOLBOX_PACKAGES);
  const char *name = NULL;
  JsonObject *declared;

  if (!g_variant_lookup (arguments, "name", "&s", &name))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "argument “name” (s) is required"), FALSE;
  if (!bkt_copr_check_name (name, error))
    return FALSE;
  declared = m != NULL ? bkt_manifest_lookup_in (m, BKT_MANIFEST_COPR_MEMBER, name) : NULL;
  g_ptr_array_add (ops, bkt_toolbox_copr_record_op (name, enable, declared == NULL ||
                   json_object_get_boolean_member_with_default (declared, "gpg_check", TRUE)));
  return TRUE;
}

static gboolean
bkt_toolbox_plan_change (BktSubsystem *subsystem, BktManifestSet *manifests, const char *action,
                         GVariant *arguments, GPtrArray *ops, GError **error)
{
  g_autofree const char **names = NULL;
  g_autoptr(GPtrArray) tracked = NULL;
  gboolean add;

  if (arguments == NULL || !g_variant_is_of_type (arguments, G_VARIANT_TYPE_VARDICT))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "arguments must be a dictionary (a{sv})"),
           FALSE;
  if (g_strcmp0 (action, "copr-enable") == 0 || g_strcmp0 (action, "copr-disable") == 0)
    return plan_copr_change (manifests, g_str_equal (action, "copr-enable"), arguments, ops, error);
  if (g_strcmp0 (action, "add") != 0 && g_strcmp0 (action, "remove") != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                        "subsystem toolbox has no such action (add, remove, copr-enable, copr-disable)"), FALSE;
  add = g_str_equal (action, "add");
  if (!g_variant_lookup (arguments, "packages", "^a&s", &names))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "argument “packages” (as) is required"),
           FALSE;
  if (!bkt_packages_check_names (names, error))
    return FALSE;
  tracked = bkt_toolbox_manifest_names (manifests);
  for (guint i = 0; names[i] != NULL; i++)
    {
      gboolean known = FALSE;

      for (guint j = 0; j < tracked->len && !known; j++)
        known = g_str_equal (g_ptr_array_index (tracked, j), names[i]);
      /* The live part (dnf in the container) is the client's, done before
       * Change: only the manifest edit is planned here. */
      if (add)
        g_ptr_array_add (ops, bkt_packages_record_op (SUBSYSTEM_NAME, BKT_MANIFEST_TOOLBOX_PACKAGES, names[i]));
      else if (known)
        g_ptr_array_add (ops, bkt_packages_forget_op (SUBSYSTEM_NAME, BKT_MANIFEST_TOOLBOX_PACKAGES, names[i]));
    }
  return TRUE;
}

static JsonObject *
bkt_toolbox_status (BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  g_autoptr(JsonObject) st = json_object_new ();
  g_autoptr(GPtrArray) names = bkt_toolbox_manifest_names (manifests);

  json_object_set_int_member (st, "tracked", names->len);
  json_object_set_array_member (st, "untracked", json_array_new ());
  return g_steal_pointer (&st);
}

static gboolean
bkt_toolbox_execute (BktSubsystem *subsystem, GPtrArray *ops, BktExecContext *ctx,
                     GCancellable *cancellable, GError **error)
{
  for (guint i = 0; i < ops->len; i++)
    {
      g_autoptr(GError) e = g_error_new (BKT_ERROR, BKT_ERROR_NOT_SUPPORTED,
                                         "toolbox: the container is changed by bkt dev, not by the daemon");
      bkt_exec_context_op_done (ctx, g_ptr_array_index (ops, i), e);
    }
  return TRUE;
}

static void
bkt_toolbox_subsystem_init (BktSubsystemInterface *iface)
{
  iface->get_name = bkt_toolbox_get_name;
  iface->load_live = bkt_toolbox_load_live;
  iface->plan_apply = bkt_toolbox_plan_nothing;
  iface->plan_capture = bkt_toolbox_plan_nothing;
  iface->plan_change = bkt_toolbox_plan_change;
  iface->status = bkt_toolbox_status;
  iface->execute = bkt_toolbox_execute;
}
