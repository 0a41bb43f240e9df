/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-changelog.h"
#include "bkt-error.h"
#include "bkt-fsutil.h"
#include "bkt-image.h"
#include "bkt-json.h"
#include "bkt-packages.h"
#include "bkt-spawn.h"
#include "commands.h"

/* `bkt upgrade [--check|--apply]`: what the next boot brings, in four
 * sections, each from one query of its source (docs/image.md):
 *
 *   image      the staged image (BootcStatus), or with --check the
 *              available one (BootcUpgrade {check}: bootc needs root);
 *   packages   `rpm-ostree db diff --format=json`: booted → pending
 *              deployment, base and layered (an unprivileged read of the
 *              ostree repo), run in a thread while the daemon plans;
 *   changelog  the staged image's version files after the booted image's
 *              release, read from the staged deployment's tree;
 *   manifests  the session daemon's Plan with the staged image's manifests
 *              as the image layer, against the Plan of the booted one:
 *              what `bkt apply` does after the boot, and what is new.
 *
 * A section whose source fails says why ("available": false, "failed":
 * true, "reason"); it is never silently empty. */

#define ADMIN_IFACE "org.bkt.Daemon1.Admin"

typedef struct {
  Ctx        *ctx;
  gboolean    check;
  gboolean    apply;
  gboolean    confirm;
} Upgrade;

/* ---- small helpers ----------------------------------------------------------------- */

static JsonObject *
member_obj (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonObject *
unavailable (gboolean failed, const char *reason)
{
  JsonObject *s = json_object_new ();

  json_object_set_boolean_member (s, "available", FALSE);
  json_object_set_boolean_member (s, "failed", failed);
  json_object_set_string_member (s, "reason", reason);
  return s;
}

static gboolean
section_ok (JsonObject *s)
{
  return json_object_get_boolean_member_with_default (s, "available", FALSE);
}

static JsonObject *
parse_object (const char *text, const char *what, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &local) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s printed no JSON object%s%s", what,
                        local ? ": " : "", local ? local->message : ""), NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* ---- image: bootc ------------------------------------------------------------------------ */

/* BootcUpgrade {check} as a transaction; its Result's "status" is the
 * BootcStatus after the check (cached_update: the available image). */
static JsonObject *
bootc_check (Upgrade *u, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(JsonObject) result = NULL;
  GVariantBuilder b;
  BktRenderer render;
  const char *path;
  JsonObject *st;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "check", g_variant_new_boolean (TRUE));
  reply = bkt_client_call (u->ctx->client, BKT_TARGET_SYSTEM, ADMIN_IFACE, "BootcUpgrade",
                           g_variant_new ("(a{sv})", &b), G_VARIANT_TYPE ("(o)"), error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&o)", &path);
  bkt_render_init (&render, TRUE);   /* quiet: a check has no progress worth a bar */
  if (!bkt_client_follow (u->ctx->client, BKT_TARGET_SYSTEM, path, &bkt_render_follow_callbacks, &render,
                          &result, error))
    return NULL;
  st = member_obj (result, "status");
  if (st == NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED,
                                "bootc upgrade --check ran, but bootc status failed after it"), NULL;
  return json_object_ref (st);
}

static JsonObject *
bootc_status (Upgrade *u, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  const char *text;

  reply = bkt_client_call (u->ctx->client, BKT_TARGET_SYSTEM, ADMIN_IFACE, "BootcStatus",
                           g_variant_new ("(a{sv})", NULL), G_VARIANT_TYPE ("(s)"), error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&s)", &text);
  return parse_object (text, "bktd's BootcStatus", error);
}

static JsonObject *
image_entry (JsonObject *e)
{
  JsonObject *o = json_object_new ();
  const char * const names[] = { "image", "transport", "version", "digest", "timestamp", NULL };

  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *v = bkt_json_object_get_string (e, names[i]);
      if (v != NULL)
        json_object_set_string_member (o, names[i], v);
      else
        json_object_set_null_member (o, names[i]);
    }
  return o;
}

/* {"available", "state": staged|available|none, "booted", "next", "newer_available"} */
static JsonObject *
image_section (JsonObject *st, gboolean checked)
{
  JsonObject *s = json_object_new ();
  JsonObject *booted = member_obj (st, "booted");
  JsonObject *staged = member_obj (st, "staged");
  JsonObject *cached = member_obj (st, "cached_update");
  const char *state = staged != NULL ? "staged" : cached != NULL && checked ? "available" : "none";

  json_object_set_boolean_member (s, "available", TRUE);
  json_object_set_boolean_member (s, "checked", checked);
  json_object_set_string_member (s, "state", state);
  if (booted != NULL)
    json_object_set_object_member (s, "booted", image_entry (booted));
  else
    json_object_set_null_member (s, "booted");
  if (staged != NULL)
    json_object_set_object_member (s, "next", image_entry (staged));
  else if (cached != NULL && checked)
    json_object_set_object_member (s, "next", image_entry (cached));
  else
    json_object_set_null_member (s, "next");
  /* --check found something newer than what is staged already */
  if (staged != NULL && checked && cached != NULL &&
      g_strcmp0 (bkt_json_object_get_string (cached, "digest"), bkt_json_object_get_string (staged, "digest")) != 0)
    json_object_set_object_member (s, "newer_available", image_entry (cached));
  return s;
}

/* ---- the staged deployment's tree ---------------------------------------------------------- */

static gboolean
is_plain_name (const char *s, gboolean hex)
{
  if (s == NULL || *s == '\0' || strlen (s) > 128 || g_str_equal (s, ".") || g_str_equal (s, ".."))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (hex ? !g_ascii_isxdigit (*p) : !(g_ascii_isalnum (*p) || strchr ("._-", *p)))
      return FALSE;
  return TRUE;
}

/* /ostree/deploy/STATEROOT/deploy/CHECKSUM.SERIAL ($BKT_OSTREE_DEPLOY_DIR
 * replaces /ostree/deploy), from bootc's ostree data of the staged entry;
 * the values are checked, so no path leaves the deploy directory. */
static char *
staged_tree (JsonObject *staged, GError **error)
{
  JsonObject *o = member_obj (staged, "ostree");
  const char *env = g_getenv ("BKT_OSTREE_DEPLOY_DIR");
  const char *stateroot = o ? bkt_json_object_get_string (o, "stateroot") : NULL;
  const char *checksum = o ? bkt_json_object_get_string (o, "checksum") : NULL;
  JsonNode *serial = o ? json_object_get_member (o, "deploy_serial") : NULL;
  g_autofree char *leaf = NULL;
  char *dir;

  if (!is_plain_name (stateroot, FALSE) || !is_plain_name (checksum, TRUE) || serial == NULL ||
      !JSON_NODE_HOLDS_VALUE (serial) || json_node_get_value_type (serial) != G_TYPE_INT64 ||
      json_node_get_int (serial) < 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED,
                                "bootc status names no valid ostree deployment for the staged image"), NULL;
  leaf = g_strdup_printf ("%s.%" G_GINT64_FORMAT, checksum, json_node_get_int (serial));
  dir = g_build_filename (env != NULL && *env != '\0' ? env : "/ostree/deploy", stateroot, "deploy", leaf, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "the staged deployment is not at %s", dir);
      g_free (dir);
      return NULL;
    }
  return dir;
}

/* The staged image's copy of what the booted image has at @path. */
static char *
in_tree (const char *tree, const char *path)
{
  return g_build_filename (tree, path, NULL);
}

/* ---- packages: rpm-ostree db diff ------------------------------------------------------------ */

/* The one rpm-ostree query, in a thread of its own: it starts with the
 * bootc query (reading two rpmdbs out of the ostree repo takes the real
 * one seconds) and is stopped if bootc says nothing is staged. */
typedef struct {
  GThread      *thread;
  GCancellable *cancel;
  gboolean      missing;   /* no rpm-ostree to run */
  char         *out;
  GError       *error;
} DiffRun;

static gpointer
run_db_diff (gpointer data)
{
  DiffRun *d = data;
  const char *argv[] = { bkt_packages_rpm_ostree (), "db", "diff", "--format=json", NULL };

  d->out = bkt_spawn_capture (argv, d->cancel, &d->error);
  return NULL;
}

static void
diff_start (DiffRun *d)
{
  if (d->thread != NULL || d->out != NULL || d->error != NULL)
    return;
  d->missing = !g_file_test (bkt_packages_rpm_ostree (), G_FILE_TEST_IS_EXECUTABLE);
  if (d->missing)
    return;
  d->cancel = g_cancellable_new ();
  d->thread = g_thread_new ("rpm-ostree", run_db_diff, d);
}

static void
diff_join (DiffRun *d)
{
  if (d->thread != NULL)
    g_thread_join (g_steal_pointer (&d->thread));
}

/* Stops a diff still running, and forgets its outcome (a later report
 * starts a new one). */
static void
diff_clear (DiffRun *d)
{
  if (d->thread != NULL)
    g_cancellable_cancel (d->cancel);
  diff_join (d);
  g_clear_object (&d->cancel);
  g_clear_pointer (&d->out, g_free);
  g_clear_error (&d->error);
  d->missing = FALSE;
}

static JsonObject *
pkg_row (JsonArray *nevra)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "name", json_array_get_string_element (nevra, 0));
  json_object_set_string_member (o, "evr", json_array_get_string_element (nevra, 1));
  json_object_set_string_member (o, "arch", json_array_get_string_element (nevra, 2));
  return o;
}

static gboolean
is_nevra (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  JsonArray *a = n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;

  if (a == NULL || json_array_get_length (a) != 3)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    if (json_node_get_value_type (json_array_get_element (a, i)) != G_TYPE_STRING)
      return FALSE;
  return TRUE;
}

/* pkgdiff [[NAME, TYPE, {PreviousPackage, NewPackage}]…] → grouped lists
 * with counts.  TYPE: 0 added, 1 removed, 2 upgraded, 3 downgraded. */
static gboolean
group_pkgdiff (JsonObject *s, JsonArray *pkgdiff, GError **error)
{
  const char * const groups[] = { "added", "removed", "upgraded", "downgraded" };
  JsonArray *lists[4];
  JsonObject *counts = json_object_new ();

  for (guint g = 0; g < 4; g++)
    lists[g] = json_array_new ();
  for (guint i = 0; i < json_array_get_length (pkgdiff); i++)
    {
      JsonNode *n = json_array_get_element (pkgdiff, i);
      JsonArray *row = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
      JsonObject *pkgs = row != NULL && json_array_get_length (row) == 3 ? json_array_get_object_element (row, 2) : NULL;
      JsonNode *t = row != NULL && json_array_get_length (row) == 3 ? json_array_get_element (row, 1) : NULL;
      gint64 type = t != NULL && JSON_NODE_HOLDS_VALUE (t) && json_node_get_value_type (t) == G_TYPE_INT64
                    ? json_node_get_int (t) : -1;
      gboolean prev = is_nevra (pkgs, "PreviousPackage"), next = is_nevra (pkgs, "NewPackage");
      JsonObject *o;

      if (type < 0 || type > 3 || (type != 0 && !prev) || (type != 1 && !next))
        {
          for (guint g = 0; g < 4; g++)
            json_array_unref (lists[g]);
          json_object_unref (counts);
          return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                              "rpm-ostree db diff: entry %u of \"pkgdiff\" is not [NAME, TYPE, {…}]", i + 1), FALSE;
        }
      o = pkg_row (json_object_get_array_member (pkgs, type == 1 ? "PreviousPackage" : "NewPackage"));
      if (type >= 2)
        {
          json_object_set_string_member (o, "from", json_array_get_string_element (json_object_get_array_member (pkgs, "PreviousPackage"), 1));
          json_object_set_string_member (o, "to", json_object_get_string_member (o, "evr"));
          json_object_remove_member (o, "evr");
        }
      json_array_add_object_element (lists[type], o);
    }
  for (guint g = 0; g < 4; g++)
    {
      json_object_set_int_member (counts, groups[g], json_array_get_length (lists[g]));
      json_object_set_array_member (s, groups[g], lists[g]);
    }
  json_object_set_int_member (counts, "total", json_array_get_length (pkgdiff));
  json_object_set_object_member (s, "counts", counts);
  return TRUE;
}

static JsonObject *
packages_section (DiffRun *d, JsonObject *booted, JsonObject *staged)
{
  g_autoptr(JsonObject) doc = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;
  const char *from, *to, *want_from, *want_to;
  JsonNode *pkgdiff, *adv;

  if (d->missing)
    {
      g_autofree char *why = g_strdup_printf ("rpm-ostree is not installed (%s)", bkt_packages_rpm_ostree ());
      return unavailable (TRUE, why);
    }
  diff_join (d);
  if (d->out == NULL)
    return unavailable (TRUE, d->error->message);
  doc = parse_object (d->out, "rpm-ostree db diff", &error);
  if (doc == NULL)
    return unavailable (TRUE, error->message);
  from = bkt_json_object_get_string (doc, "ostree-commit-from");
  to = bkt_json_object_get_string (doc, "ostree-commit-to");
  pkgdiff = json_object_get_member (doc, "pkgdiff");
  if (from == NULL || to == NULL || pkgdiff == NULL || !JSON_NODE_HOLDS_ARRAY (pkgdiff))
    return unavailable (TRUE, "rpm-ostree db diff printed no ostree-commit-from/-to and pkgdiff");
  /* Without a pending deployment rpm-ostree diffs rollback → booted: make
   * sure these are the deployments bootc calls booted and staged. */
  want_from = bkt_json_object_get_string (member_obj (booted, "ostree"), "checksum");
  want_to = bkt_json_object_get_string (member_obj (staged, "ostree"), "checksum");
  if ((want_from != NULL && g_strcmp0 (from, want_from) != 0) || (want_to != NULL && g_strcmp0 (to, want_to) != 0))
    {
      g_autofree char *why = g_strdup_printf ("rpm-ostree compared commit %.12s → %.12s, not the booted → staged "
                                              "deployments bootc reports (%.12s → %.12s)",
                                              from, to, want_from ? want_from : "?", want_to ? want_to : "?");
      return unavailable (TRUE, why);
    }
  s = json_object_new ();
  json_object_set_boolean_member (s, "available", TRUE);
  json_object_set_string_member (s, "from_commit", from);
  json_object_set_string_member (s, "to_commit", to);
  if (!group_pkgdiff (s, json_node_get_array (pkgdiff), &error))
    {
      json_object_unref (s);
      return unavailable (TRUE, error->message);
    }
  adv = json_object_get_member (doc, "advisories");
  if (adv != NULL && JSON_NODE_HOLDS_ARRAY (adv))
    json_object_set_array_member (s, "advisories", json_array_ref (json_node_get_array (adv)));
  else
    json_object_set_array_member (s, "advisories", json_array_new ());
  return s;
}

/* ---- changelog: the staged image's version files ----------------------------------------------- */

/* The release an image is: bootc's version when the image ships that
 * version's file (as `bkt status` decides), else its newest file. */
static const char *
release_of (GStrv names, const char *bootc_version)
{
  guint n = names != NULL ? g_strv_length (names) : 0;

  if (bootc_version != NULL && names != NULL && g_strv_contains ((const char * const *) names, bootc_version))
    return bootc_version;
  return n > 0 ? names[n - 1] : NULL;
}

static JsonObject *
changelog_section (const char *tree, JsonObject *booted, JsonObject *staged)
{
  g_autofree char *booted_dir = bkt_image_changelog_versions_dir ();
  g_autofree char *staged_dir = in_tree (tree, booted_dir);
  g_auto(GStrv) booted_names = bkt_changelog_list_versions_in (booted_dir, NULL);
  g_auto(GStrv) names = NULL;
  g_autoptr(GError) error = NULL;
  const char *from, *to;
  JsonObject *s;
  JsonArray *releases, *steps, *warnings;
  guint n_entries = 0;

  names = bkt_changelog_list_versions_in (staged_dir, &error);
  if (names == NULL)   /* a missing directory is an empty list: this is unreadable */
    return unavailable (TRUE, error->message);
  if (names[0] == NULL)
    {
      g_autofree char *why = g_strdup_printf ("the staged image ships no changelog (%s)", staged_dir);
      return unavailable (FALSE, why);
    }
  from = release_of (booted_names, bkt_json_object_get_string (booted, "version"));
  to = release_of (names, bkt_json_object_get_string (staged, "version"));
  s = json_object_new ();
  releases = json_array_new ();
  steps = json_array_new ();
  warnings = json_array_new ();
  json_object_set_boolean_member (s, "available", TRUE);
  json_object_set_string_member (s, "dir", staged_dir);
  if (from != NULL)
    json_object_set_string_member (s, "booted_release", from);
  else
    json_object_set_null_member (s, "booted_release");
  json_object_set_string_member (s, "staged_release", to);
  /* Newest first, as CHANGELOG.md reads; without a booted release only
   * the staged one (not the distribution's whole history). */
  for (guint i = g_strv_length (names); i-- > 0;)
    {
      g_autoptr(GError) local = NULL;
      JsonObject *doc;
      JsonNode *ms;

      if (bkt_changelog_compare_versions (names[i], to) > 0)
        continue;
      if (from != NULL ? bkt_changelog_compare_versions (names[i], from) <= 0 : !g_str_equal (names[i], to))
        continue;
      doc = bkt_changelog_load_version_in (staged_dir, staged_dir, names[i], &local);
      if (doc == NULL)
        {
          json_array_add_string_element (warnings, local->message);
          continue;
        }
      json_object_set_string_member (doc, "version", names[i]);
      if (json_object_has_member (doc, "entries") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (doc, "entries")))
        n_entries += json_array_get_length (json_object_get_array_member (doc, "entries"));
      ms = json_object_get_member (doc, "manual_steps");
      if (ms != NULL && JSON_NODE_HOLDS_ARRAY (ms) && json_array_get_length (json_node_get_array (ms)) > 0)
        {
          JsonObject *p = json_object_new ();
          json_object_set_string_member (p, "version", names[i]);
          json_object_set_array_member (p, "manual_steps", json_array_ref (json_node_get_array (ms)));
          json_array_add_object_element (steps, p);
        }
      json_array_add_object_element (releases, doc);
    }
  {
    JsonObject *counts = json_object_new ();
    json_object_set_int_member (counts, "releases", json_array_get_length (releases));
    json_object_set_int_member (counts, "entries", n_entries);
    json_object_set_int_member (counts, "with_manual_steps", json_array_get_length (steps));
    json_object_set_object_member (s, "counts", counts);
  }
  json_object_set_array_member (s, "releases", releases);
  json_object_set_array_member (s, "manual_steps", steps);
  json_object_set_array_member (s, "warnings", warnings);
  return s;
}

/* ---- manifests: the session's plans ----------------------------------------------------------- */

static JsonObject *
plan_with_image (Upgrade *u, const char *image_dir, GError **error)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (image_dir != NULL)
    g_variant_builder_add (&b, "{sv}", "image-manifests-dir", g_variant_new_string (image_dir));
  return bkt_client_call_json (u->ctx->client, BKT_TARGET_SESSION, "Plan", g_variant_new ("(a{sv})", &b), error);
}

static char *
op_key (JsonObject *op)
{
  return g_strdup_printf ("%s\n%s", json_object_get_string_member_with_default (op, "id", ""),
                          json_object_get_string_member_with_default (op, "summary", ""));
}

static JsonObject *
manifests_section (Upgrade *u, const char *tree)
{
  g_autofree char *booted_dir = bkt_image_manifests_dir (NULL);
  g_autofree char *staged_dir = in_tree (tree, booted_dir);
  g_autoptr(JsonObject) next = NULL;
  g_autoptr(JsonObject) now = NULL;
  g_autoptr(GHashTable) pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *s, *counts, *by_subsystem;
  JsonArray *ops, *out;
  JsonNode *warnings;
  guint n_new = 0;

  if (u->ctx->opt.manifests != NULL)
    return unavailable (FALSE, "-m DIR replaces the image's manifests: the image does not change what bkt applies");
  if (!g_file_test (staged_dir, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *why = g_strdup_printf ("the staged image has no bkt manifests (%s)", staged_dir);
      return unavailable (FALSE, why);
    }
  next = plan_with_image (u, staged_dir, &error);
  if (next != NULL)
    now = plan_with_image (u, NULL, &error);
  if (next == NULL || now == NULL)
    return unavailable (TRUE, error->message);
  ops = json_object_get_array_member (now, "operations");
  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    g_hash_table_add (pending, op_key (json_array_get_object_element (ops, i)));

  s = json_object_new ();
  out = json_array_new ();
  counts = json_object_new ();
  by_subsystem = json_object_new ();
  json_object_set_boolean_member (s, "available", TRUE);
  json_object_set_string_member (s, "dir", staged_dir);
  ops = json_object_get_array_member (next, "operations");
  for (guint i = 0; ops != NULL && i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_object_ref (json_array_get_object_element (ops, i));
      g_autofree char *key = op_key (op);
      const char *sub = json_object_get_string_member_with_default (op, "subsystem", "?");
      gboolean is_new = !g_hash_table_contains (pending, key);

      /* new: the staged image's manifests bring it; otherwise `bkt apply`
       * would do it today already (drift) */
      json_object_set_boolean_member (op, "new", is_new);
      n_new += is_new;
      json_object_set_int_member (by_subsystem, sub, json_object_get_int_member_with_default (by_subsystem, sub, 0) + 1);
      json_array_add_object_element (out, op);
    }
  json_object_set_int_member (counts, "total", json_array_get_length (out));
  json_object_set_int_member (counts, "new", n_new);
  json_object_set_int_member (counts, "pending", json_array_get_length (out) - n_new);
  json_object_set_object_member (counts, "by_subsystem", by_subsystem);
  json_object_set_object_member (s, "counts", counts);
  json_object_set_array_member (s, "operations", out);
  warnings = json_object_get_member (next, "warnings");
  json_object_set_array_member (s, "warnings", warnings != NULL && JSON_NODE_HOLDS_ARRAY (warnings)
                                                 ? json_array_ref (json_node_get_array (warnings)) : json_array_new ());
  return s;
}

/* ---- the report ---------------------------------------------------------------------------------- */

static const char *
not_staged_reason (JsonObject *image)
{
  if (g_strcmp0 (bkt_json_object_get_string (image, "state"), "available") == 0)
    return "the available image is not downloaded yet: `bkt upgrade --apply` stages it";
  return "no image is staged";
}

/* The four sections for the bootc status @st; @checked: it comes from
 * `bootc upgrade --check`.  @diff: the rpm-ostree query, started already
 * or not (then started here when something is staged); cleared. */
static JsonObject *
build_report (Upgrade *u, JsonObject *st, gboolean checked, DiffRun *diff)
{
  JsonObject *doc = json_object_new ();
  JsonObject *image = image_section (st, checked);
  JsonObject *booted = member_obj (st, "booted");
  JsonObject *staged = member_obj (st, "staged");
  g_autofree char *tree = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_object_member (doc, "image", image);
  /* the sections' order in --json, whichever source answers first */
  json_object_set_null_member (doc, "packages");
  json_object_set_null_member (doc, "changelog");
  json_object_set_null_member (doc, "manifests");
  if (staged == NULL)
    {
      const char *why = not_staged_reason (image);
      diff_clear (diff);
      json_object_set_object_member (doc, "packages", unavailable (FALSE, why));
      json_object_set_object_member (doc, "changelog", unavailable (FALSE, why));
      json_object_set_object_member (doc, "manifests", unavailable (FALSE, why));
      return doc;
    }
  diff_start (diff);
  tree = staged_tree (staged, &error);
  if (tree == NULL)
    {
      json_object_set_object_member (doc, "changelog", unavailable (TRUE, error->message));
      json_object_set_object_member (doc, "manifests", unavailable (TRUE, error->message));
    }
  else
    {
      /* while rpm-ostree reads: the files, then the daemon's two plans */
      json_object_set_object_member (doc, "changelog", changelog_section (tree, booted, staged));
      json_object_set_object_member (doc, "manifests", manifests_section (u, tree));
    }
  json_object_set_object_member (doc, "packages", packages_section (diff, booted, staged));
  diff_clear (diff);
  return doc;
}

/* ---- text ------------------------------------------------------------------------------------------ */

static const char *
str_or (JsonObject *o, const char *member, const char *fallback)
{
  const char *v = o != NULL ? bkt_json_object_get_string (o, member) : NULL;
  return v != NULL ? v : fallback;
}

static void
print_unavailable (const char *title, JsonObject *s)
{
  g_print ("\n%s: %s%s\n", title, json_object_get_boolean_member_with_default (s, "failed", FALSE) ? "failed: " : "",
           str_or (s, "reason", "not available"));
}

static void
print_image (JsonObject *image)
{
  JsonObject *booted = member_obj (image, "booted");
  JsonObject *next = member_obj (image, "next");
  JsonObject *newer = member_obj (image, "newer_available");
  const char * const rows[][2] = { { "version", "version" }, { "digest", "digest" }, { "built", "timestamp" } };
  const char *state = str_or (image, "state", "none");

  if (bkt_json_object_get_string (image, "check_error") != NULL)
    g_print ("Check for a newer image: failed: %s\n\n", bkt_json_object_get_string (image, "check_error"));
  if (next == NULL)
    {
      if (json_object_get_boolean_member_with_default (image, "checked", FALSE))
        g_print ("No update available: the booted image%s%s%s is the newest.\n",
                 booted ? " (version " : "", booted ? str_or (booted, "version", "?") : "", booted ? ")" : "");
      else
        g_print ("No update is staged: the next boot starts the booted image%s%s%s again.\n"
                 "`bkt upgrade --check` asks the registry for a newer one.\n",
                 booted ? " (version " : "", booted ? str_or (booted, "version", "?") : "", booted ? ")" : "");
      return;
    }
  g_print ("%s %s\n", g_str_equal (state, "staged") ? "Next boot: staged image" : "Available (not downloaded):",
           str_or (next, "image", "(unknown image)"));
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      /* a digest's first 12 hex digits tell images apart; --json has all */
      int w = g_str_equal (rows[i][0], "digest") ? (int) strlen ("sha256:") + 12 : G_MAXINT;
      g_print ("  %-8s %.*s → %.*s\n", rows[i][0], w, str_or (booted, rows[i][1], "?"), w,
               str_or (next, rows[i][1], "?"));
    }
  if (newer != NULL)
    g_print ("  newer    %s (%s) is available: `bkt upgrade --apply` stages it instead\n",
             str_or (newer, "version", "?"), str_or (newer, "digest", "?"));
}

static guint
count (JsonObject *s, const char *name)
{
  return (guint) json_object_get_int_member_with_default (member_obj (s, "counts"), name, 0);
}

static void
print_packages (JsonObject *s)
{
  const char * const groups[][2] = { { "upgraded", "Upgraded" }, { "downgraded", "Downgraded" },
                                     { "removed", "Removed" }, { "added", "Added" } };
  gsize width = 0;

  if (!section_ok (s))
    {
      print_unavailable ("Packages", s);
      return;
    }
  g_print ("\nPackages (rpm-ostree): %u change%s", count (s, "total"), count (s, "total") == 1 ? "" : "s");
  for (guint g = 0, first = 1; g < G_N_ELEMENTS (groups); g++)
    if (count (s, groups[g][0]) > 0)
      {
        g_print ("%s%u %s", first ? " — " : ", ", count (s, groups[g][0]), groups[g][0]);
        first = 0;
      }
  g_print ("\n");
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      JsonArray *a = json_object_get_array_member (s, groups[g][0]);
      for (guint i = 0; i < json_array_get_length (a); i++)
        width = MAX (width, strlen (json_object_get_string_member (json_array_get_object_element (a, i), "name")));
    }
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      JsonArray *a = json_object_get_array_member (s, groups[g][0]);

      if (json_array_get_length (a) == 0)
        continue;
      g_print ("  %s (%u):\n", groups[g][1], json_array_get_length (a));
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonObject *p = json_array_get_object_element (a, i);
          if (json_object_has_member (p, "from"))
            g_print ("    %-*s %s → %s\n", (int) width, json_object_get_string_member (p, "name"),
                     json_object_get_string_member (p, "from"), json_object_get_string_member (p, "to"));
          else
            g_print ("    %-*s %s\n", (int) width, json_object_get_string_member (p, "name"),
                     json_object_get_string_member (p, "evr"));
        }
    }
  if (json_array_get_length (json_object_get_array_member (s, "advisories")) > 0)
    g_print ("  %u advisor%s (rpm-ostree db diff --advisories)\n",
             json_array_get_length (json_object_get_array_member (s, "advisories")),
             json_array_get_length (json_object_get_array_member (s, "advisories")) == 1 ? "y" : "ies");
}

static void
print_changelog (JsonObject *s)
{
  JsonArray *releases, *warnings;

  if (!section_ok (s))
    {
      print_unavailable ("Changelog", s);
      return;
    }
  releases = json_object_get_array_member (s, "releases");
  warnings = json_object_get_array_member (s, "warnings");
  g_print ("\nChangelog: %u release%s", count (s, "releases"), count (s, "releases") == 1 ? "" : "s");
  if (bkt_json_object_get_string (s, "booted_release") != NULL)
    g_print (" after %s", bkt_json_object_get_string (s, "booted_release"));
  if (count (s, "with_manual_steps") > 0)
    g_print (", %u with manual steps", count (s, "with_manual_steps"));
  g_print ("\n");
  for (guint i = 0; i < json_array_get_length (releases); i++)
    {
      g_autofree char *text = bkt_changelog_render_short (json_array_get_object_element (releases, i), TRUE);
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

      for (guint l = 0; lines[l] != NULL && *lines[l] != '\0'; l++)
        g_print ("  %s\n", lines[l]);
    }
  for (guint i = 0; i < json_array_get_length (warnings); i++)
    g_print ("  warning: %s\n", json_array_get_string_element (warnings, i));
}

static void
print_manifests (JsonObject *s)
{
  JsonArray *ops, *warnings;
  const char *last = NULL;

  if (!section_ok (s))
    {
      print_unavailable ("Manifests", s);
      return;
    }
  ops = json_object_get_array_member (s, "operations");
  warnings = json_object_get_array_member (s, "warnings");
  if (count (s, "total") == 0)
    g_print ("\nManifests: nothing to apply after the boot\n");
  else
    g_print ("\nManifests: `bkt apply` after the boot makes %u change%s (%u new with this image, %u pending now)\n",
             count (s, "total"), count (s, "total") == 1 ? "" : "s", count (s, "new"), count (s, "pending"));
  for (guint i = 0; i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      const char *sub = str_or (op, "subsystem", "?");

      if (g_strcmp0 (sub, last) != 0)
        g_print ("  %s (%u):\n", sub, (guint) json_object_get_int_member_with_default (
                   member_obj (member_obj (s, "counts"), "by_subsystem"), sub, 0));
      last = sub;
      g_print ("    ▸ %s [%s]%s\n", str_or (op, "summary", "?"), str_or (op, "effect", "?"),
               json_object_get_boolean_member_with_default (op, "new", FALSE) ? "" : " (pending now)");
    }
  for (guint i = 0; i < json_array_get_length (warnings); i++)
    g_print ("  warning: %s\n", json_array_get_string_element (warnings, i));
}

static void
print_report (JsonObject *doc)
{
  JsonObject *image = member_obj (doc, "image");

  if (!section_ok (image))
    return;
  print_image (image);
  if (member_obj (image, "next") == NULL)
    return;
  print_packages (member_obj (doc, "packages"));
  print_changelog (member_obj (doc, "changelog"));
  print_manifests (member_obj (doc, "manifests"));
  if (g_strcmp0 (bkt_json_object_get_string (image, "state"), "staged") == 0)
    g_print ("\nReboot to start it (systemctl reboot).\n");
}

/* ---- --apply: bootc upgrade ------------------------------------------------------------------------ */

/* BootcUpgrade, followed with a progress bar: what `bkt admin bootc
 * upgrade` does.  The new status (Result "status") in @st. */
static gboolean
run_upgrade (Upgrade *u, JsonObject *out, JsonObject **st, GError **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(JsonObject) result = NULL;
  BktRenderer render;
  const char *path, *output;
  gboolean ok;

  reply = bkt_client_call (u->ctx->client, BKT_TARGET_SYSTEM, ADMIN_IFACE, "BootcUpgrade",
                           g_variant_new ("(a{sv})", NULL), G_VARIANT_TYPE ("(o)"), error);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(&o)", &path);
  json_object_set_string_member (out, "transaction", path);
  bkt_render_init (&render, u->ctx->opt.json);
  ok = bkt_client_follow (u->ctx->client, BKT_TARGET_SYSTEM, path, &bkt_render_follow_callbacks, &render,
                          &result, error);
  bkt_render_end_progress (&render);
  json_object_set_boolean_member (out, "success", ok);
  output = result != NULL ? bkt_json_object_get_string (result, "output") : NULL;
  if (output != NULL)
    json_object_set_string_member (out, "output", output);
  if (!ok)
    return FALSE;
  if (!u->ctx->opt.json && output != NULL && *output != '\0')
    g_print ("%s%s", output, g_str_has_suffix (output, "\n") ? "" : "\n");
  if (member_obj (result, "status") != NULL)
    *st = json_object_ref (member_obj (result, "status"));
  return TRUE;
}

static const char *
next_digest (JsonObject *doc)
{
  return bkt_json_object_get_string (member_obj (member_obj (doc, "image"), "next"), "digest");
}

static int
apply (Upgrade *u, JsonObject **doc)
{
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(GError) error = NULL;
  const char *what = "download and stage the OS image update (it applies at the next boot)";
  int code = EXIT_OK;

  if (bkt_fs_dry_run ())
    {
      if (!u->ctx->opt.json)
        g_print ("\nWould %s.\n", what);
      json_object_set_boolean_member (out, "dry_run", TRUE);
      json_object_set_object_member (*doc, "upgrade", g_steal_pointer (&out));
      return EXIT_OK;
    }
  if (!u->ctx->opt.json)
    g_print ("\n");
  fflush (stdout);
  if (!bkt_cmd_confirm (u->confirm, what, &code))
    return code;
  if (!run_upgrade (u, out, &st, &error))
    {
      json_object_set_string_member (out, "error", error->message);
      json_object_set_object_member (*doc, "upgrade", g_steal_pointer (&out));
      if (u->ctx->opt.json)
        bkt_render_print_object (*doc);
      return fail (error);
    }
  /* Something new is staged: the whole report again, for it. */
  if (st != NULL && member_obj (st, "staged") != NULL &&
      g_strcmp0 (bkt_json_object_get_string (member_obj (st, "staged"), "digest"), next_digest (*doc)) != 0)
    {
      DiffRun diff = { 0 };

      json_object_unref (*doc);
      *doc = build_report (u, st, FALSE, &diff);
      if (!u->ctx->opt.json)
        {
          g_print ("\n");
          print_report (*doc);
        }
    }
  json_object_set_object_member (*doc, "upgrade", g_steal_pointer (&out));
  return EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------------------------ */

int
bkt_cmd_upgrade (Ctx *ctx, int argc, char **argv)
{
  Upgrade u = { ctx };
  const GOptionEntry entries[] = {
    { "check", 0, 0, G_OPTION_ARG_NONE, &u.check, "Ask the registry for a newer image (bootc upgrade --check)", NULL },
    { "apply", 0, 0, G_OPTION_ARG_NONE, &u.apply, "Then download and stage it (bkt admin bootc upgrade)", NULL },
    { "confirm", 'y', 0, G_OPTION_ARG_NONE, &u.confirm, "With --apply: do it without asking", NULL },
    { NULL }
  };
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(JsonObject) doc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) check_error = NULL;
  DiffRun diff = { 0 };
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  if (u.apply && ctx->opt.json && !u.confirm)
    {
      g_printerr ("bkt: upgrade: --apply with --json needs --confirm (-y): no question on a JSON stream\n");
      return EXIT_USAGE;
    }
  diff_start (&diff);
  if (u.check)
    {
      /* A check that fails (no network, not authorised) is the image
       * section's news: what is staged is still worth showing. */
      st = bootc_check (&u, &check_error);
      if (st == NULL)
        g_dbus_error_strip_remote_error (check_error);
    }
  if (st == NULL)
    st = bootc_status (&u, &error);
  if (st == NULL)
    {
      diff_clear (&diff);
      if (ctx->opt.json)
        {
          g_autoptr(JsonObject) o = json_object_new ();
          json_object_set_object_member (o, "image", unavailable (TRUE, error->message));
          bkt_render_print_object (o);
        }
      return fail (error);
    }
  doc = build_report (&u, st, u.check && check_error == NULL, &diff);
  if (check_error != NULL)
    json_object_set_string_member (member_obj (doc, "image"), "check_error", check_error->message);
  if (!ctx->opt.json)
    print_report (doc);
  /* no staging after a failed check: it would fail the same way */
  code = u.apply && check_error == NULL ? apply (&u, &doc) : EXIT_OK;
  if (ctx->opt.json && code == EXIT_OK)
    bkt_render_print_object (doc);
  if (check_error != NULL && code == EXIT_OK)
    {
      g_printerr ("bkt: upgrade: the check for a newer image failed: %s\n", check_error->message);
      return bkt_error_exit_code (check_error);
    }
  return code;
}
