/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE 1  /* syncfs() */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bkt-error.h"
#include "bkt-skel-fs.h"
#include "bkt-skel.h"
#include "bkt-state-record.h"

#define SUBSYSTEM_NAME "skel"

/* One file of the merged skel trees and its counterpart in $HOME. */
typedef struct
{
  char     *rel;
  char     *root;         /* the skel tree it comes from */
  const char *layer;      /* "image", "user" or "manifests-dir" */
  char     *fingerprint;  /* "SHA256 MODE" of the skel file */
  guint     mode;         /* cleaned permission bits */
  char     *home_fingerprint;  /* NULL: absent at home */
  char     *home_error;        /* the home file could not be read safely */
} SkelFile;

static void
skel_file_free (SkelFile *f)
{
  g_free (f->rel);
  g_free (f->root);
  g_free (f->fingerprint);
  g_free (f->home_fingerprint);
  g_free (f->home_error);
  g_free (f);
}

struct _BktSkel
{
  GObject         parent_instance;
  char           *home;
  int             home_fd;
  char           *home_error; /* the home directory could not be opened */
  BktStateRecord *record;     /* the user's: which side changed a file */
  gboolean        overwrite;  /* replace files bkt never synced (--force) */
  char           *scanned;    /* the roots the files were read from */
  char           *write_root; /* where capture and add record: the writable layer's skel */
  GPtrArray      *roots;      /* of char *, lower layer first */
  GPtrArray      *files;      /* of SkelFile, sorted by rel */
  GHashTable     *by_rel;     /* rel → SkelFile */
  GPtrArray      *warnings;   /* from the scan, given to every plan */
};

static void bkt_skel_subsystem_init (BktSubsystemInterface *iface);

G_DEFINE_TYPE_WITH_CODE (BktSkel, bkt_skel, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (BKT_TYPE_SUBSYSTEM, bkt_skel_subsystem_init))

static void
bkt_skel_finalize (GObject *object)
{
  BktSkel *self = BKT_SKEL (object);

  if (self->home_fd >= 0)
    close (self->home_fd);
  g_free (self->home);
  g_free (self->home_error);
  g_clear_object (&self->record);
  g_free (self->scanned);
  g_free (self->write_root);
  g_ptr_array_unref (self->roots);
  g_hash_table_unref (self->by_rel);
  g_ptr_array_unref (self->files);
  g_ptr_array_unref (self->warnings);
  G_OBJECT_CLASS (bkt_skel_parent_class)->finalize (object);
}

static void
bkt_skel_class_init (BktSkelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_skel_finalize;
}

static void
bkt_skel_init (BktSkel *self)
{
  self->home_fd = -1;
  self->roots = g_ptr_array_new_with_free_func (g_free);
  self->files = g_ptr_array_new_with_free_func ((GDestroyNotify) skel_file_free);
  self->by_rel = g_hash_table_new (g_str_hash, g_str_equal);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
}

BktSubsystem *
bkt_skel_new (void)
{
  return BKT_SUBSYSTEM (g_object_new (BKT_TYPE_SKEL, NULL));
}

char *
bkt_skel_dir_beside (const char *manifests_dir)
{
  g_autofree char *parent = NULL;

  if (manifests_dir == NULL)
    return NULL;
  parent = g_path_get_dirname (manifests_dir);
  return g_build_filename (parent, "skel", NULL);
}

static char *
fingerprint (GBytes *contents, guint mode)
{
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, contents);

  return g_strdup_printf ("%s %04o", sum, bkt_skel_clean_mode (mode));
}

static char *
home_display (BktSkel *self, const char *rel)
{
  return g_build_filename (self->home, rel, NULL);
}

/* ── live state ────────────────────────────────────────────────────────── */

/* The home directory itself may be a link (/home → /var/home): opened
 * normally; nothing below it is ever reached through one. */
static gboolean
bkt_skel_load_live (BktSubsystem *subsystem, GCancellable *cancellable, GError **error)
{
  BktSkel *self = BKT_SKEL (subsystem);
  g_autofree char *record_dir = bkt_state_record_default_dir (BKT_SCOPE_USER);

  g_clear_pointer (&self->home, g_free);
  self->home = g_strdup (g_get_home_dir ());
  if (self->home_fd >= 0)
    close (self->home_fd);
  self->home_fd = open (self->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* No home (a service user, a sandbox): nothing to copy, and the other
   * subsystems go on; the plan says why. */
  g_clear_pointer (&self->home_error, g_free);
  if (self->home_fd < 0)
    self->home_error = g_strdup_printf ("skel: cannot open the home directory %s: %s", self->home,
                                        g_strerror (errno));
  g_clear_object (&self->record);
  self->record = bkt_state_record_load (BKT_SCOPE_USER, record_dir);
  g_clear_pointer (&self->scanned, g_free);
  return TRUE;
}

/* The home side of @f, read again. */
static void
read_home (BktSkel *self, SkelFile *f)
{
  g_autofree char *display = home_display (self, f->rel);
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exists;
  guint mode = 0;

  g_clear_pointer (&f->home_fingerprint, g_free);
  g_clear_pointer (&f->home_error, g_free);
  if (!bkt_skel_read_at (self->home_fd, f->rel, display, &contents, &mode, &exists, &error))
    f->home_error = g_strdup (error->message);
  else if (exists)
    f->home_fingerprint = fingerprint (contents, mode);
}

/* Reads one skel tree; files of a later (upper) tree replace the lower's. */
static gboolean
scan_root (BktSkel *self, const char *root, const char *layer, GError **error)
{
  g_autoptr(GPtrArray) rels = bkt_skel_list_tree (root, self->warnings, error);
  int root_fd;

  if (rels == NULL)
    return FALSE;
  if (rels->len == 0)
    return TRUE;
  root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot open %s: %s", root, g_strerror (errno)), FALSE;
  for (guint i = 0; i < rels->len; i++)
    {
      const char *rel = g_ptr_array_index (rels, i);
      g_autofree char *display = g_build_filename (root, rel, NULL);
      g_autoptr(GBytes) contents = NULL;
      g_autoptr(GError) local_error = NULL;
      SkelFile *f, *old;
      gboolean exists;
      guint mode = 0;

      if (!bkt_skel_read_at (root_fd, rel, display, &contents, &mode, &exists, &local_error) || !exists)
        {
          g_ptr_array_add (self->warnings, g_strdup_printf ("skel: %s left out: %s", display,
                                                            local_error ? local_error->message : "gone"));
          continue;
        }
      f = g_new0 (SkelFile, 1);
      f->rel = g_strdup (rel);
      f->root = g_strdup (root);
      f->layer = layer;
      f->mode = bkt_skel_clean_mode (mode);
      f->fingerprint = fingerprint (contents, mode);
      old = g_hash_table_lookup (self->by_rel, rel);
      if (old != NULL)
        {
          /* Out of the table first: its key is the old file's own string. */
          g_hash_table_remove (self->by_rel, rel);
          g_ptr_array_remove (self->files, old);  /* frees it */
        }
      g_hash_table_insert (self->by_rel, f->rel, f);
      g_ptr_array_add (self->files, f);
    }
  close (root_fd);
  return TRUE;
}

static gint
compare_files (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(SkelFile * const *) a)->rel, (*(SkelFile * const *) b)->rel);
}

/* The skel trees of @manifests' layers and their files, read once per
 * set of roots (every callback of one request sees the same state). */
static gboolean
ensure_scanned (BktSkel *self, BktManifestSet *manifests, GError **error)
{
  const char *image_dir = bkt_manifest_set_get_image_dir (manifests);
  const char *write_dir = bkt_manifest_set_get_write_dir (manifests);
  g_autofree char *lower = bkt_skel_dir_beside (image_dir);
  g_autofree char *upper = bkt_skel_dir_beside (write_dir);
  g_autofree char *key = g_strdup_printf ("%s\n%s", lower ? lower : "", upper ? upper : "");
  const char *upper_layer = image_dir != NULL ? "user" : "manifests-dir";

  if (self->home == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "skel: the live state was not read"), FALSE;
  if (g_strcmp0 (self->scanned, key) == 0)
    return TRUE;
  g_ptr_array_set_size (self->files, 0);
  g_hash_table_remove_all (self->by_rel);
  g_ptr_array_set_size (self->warnings, 0);
  g_ptr_array_set_size (self->roots, 0);
  g_clear_pointer (&self->write_root, g_free);
  if (self->home_fd < 0)
    {
      g_ptr_array_add (self->warnings, g_strdup (self->home_error));
      self->scanned = g_steal_pointer (&key);
      return TRUE;
    }
  if (lower != NULL)
    {
      g_ptr_array_add (self->roots, g_strdup (lower));
      if (!scan_root (self, lower, "image", error))
        return FALSE;
    }
  if (upper != NULL)
    {
      g_ptr_array_add (self->roots, g_strdup (upper));
      self->write_root = g_strdup (upper);
      if (!scan_root (self, upper, upper_layer, error))
        return FALSE;
    }
  g_ptr_array_sort (self->files, compare_files);
  for (guint i = 0; i < self->files->len; i++)
    read_home (self, g_ptr_array_index (self->files, i));
  self->scanned = g_steal_pointer (&key);
  return TRUE;
}

static void
add_scan_warnings (BktSkel *self, GPtrArray *warnings)
{
  for (guint i = 0; warnings != NULL && i < self->warnings->len; i++)
    g_ptr_array_add (warnings, g_strdup (g_ptr_array_index (self->warnings, i)));
}

static char *
make_target (const char *rel)
{
  return g_strconcat ("skel:", rel, NULL);
}

/* The record's verdict for @f (as bkt-sync.c would classify it). */
static BktSyncState
classify (BktSkel *self, SkelFile *f)
{
  g_autofree char *target = make_target (f->rel);

  if (bkt_state_record_get_health (self->record) == BKT_RECORD_CORRUPT)
    return g_strcmp0 (f->fingerprint, f->home_fingerprint) == 0 ? BKT_SYNC_IN_SYNC : BKT_SYNC_TWO_WAY;
  return bkt_state_record_classify (self->record, target, f->fingerprint, f->home_fingerprint, NULL);
}

/* "in-sync", "missing" (at home), "differs" (the skel changed, or bkt
 * never synced this file), "changed-at-home" (edited or deleted since bkt
 * synced it), "conflict", "unreadable". */
static const char *
file_state (BktSkel *self, SkelFile *f)
{
  BktSyncState state;

  if (f->home_error != NULL)
    return "unreadable";
  state = classify (self, f);
  /* Deleted at home after bkt synced it: a change of the user's, which
   * sync keeps (--force restores it). */
  if (f->home_fingerprint == NULL)
    return state == BKT_SYNC_TO_CAPTURE || state == BKT_SYNC_CONFLICT ? "changed-at-home" : "missing";
  switch (state)
    {
    case BKT_SYNC_IN_SYNC: return "in-sync";
    case BKT_SYNC_TO_CAPTURE: return "changed-at-home";
    case BKT_SYNC_CONFLICT: return "conflict";
    default: return "differs";
    }
}

/* ── planning ──────────────────────────────────────────────────────────── */

static BktOperation *
copy_op (BktSkel *self, SkelFile *f)
{
  g_autofree char *target = make_target (f->rel);
  g_autofree char *home = home_display (self, f->rel);
  g_autofree char *summary = NULL;
  g_autoptr(JsonObject) details = json_object_new ();
  const char *action = f->home_fingerprint == NULL ? "create" : "update";

  summary = g_strdup_printf ("%s %s from the skel (%s, mode %04o)", f->home_fingerprint == NULL ? "Create" : "Replace",
                             home, f->layer, f->mode);
  json_object_set_string_member (details, "path", f->rel);
  json_object_set_string_member (details, "source", f->root);
  json_object_set_string_member (details, "fingerprint", f->fingerprint);
  if (f->home_fingerprint != NULL)
    json_object_set_string_member (details, "home_fingerprint", f->home_fingerprint);
  return bkt_operation_new (SUBSYSTEM_NAME, action, target, BKT_SCOPE_USER, BKT_EFFECT_LIVE, summary, details);
}

static gboolean
bkt_skel_plan_apply (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                     GPtrArray *warnings, GError **error)
{
  BktSkel *self = BKT_SKEL (subsystem);

  if (!ensure_scanned (self, manifests, error))
    return FALSE;
  add_scan_warnings (self, warnings);
  for (guint i = 0; i < self->files->len; i++)
    {
      SkelFile *f = g_ptr_array_index (self->files, i);
      BktSyncState state;

      if (f->home_error != NULL)
        {
          g_ptr_array_add (warnings, g_strdup_printf ("skel: %s", f->home_error));
          continue;
        }
      if (g_strcmp0 (f->fingerprint, f->home_fingerprint) == 0)
        continue;
      /* A dotfile the user had before bkt ever synced it is theirs: kept
       * unless the request says the manifests win.  (Changed since the
       * last sync: the engine's three-way rules decide.) */
      state = classify (self, f);
      if (f->home_fingerprint != NULL && !self->overwrite &&
          (state == BKT_SYNC_NEVER_SYNCED || state == BKT_SYNC_TWO_WAY))
        {
          g_ptr_array_add (warnings, g_strdup_printf ("skel: %s/%s differs from the skel and bkt never synced it: "
                                                      "kept (bkt skel diff %s shows how; bkt skel sync --force "
                                                      "replaces it)", self->home, f->rel, f->rel));
          continue;
        }
      g_ptr_array_add (ops, copy_op (self, f));
    }
  return TRUE;
}

static gboolean
bkt_skel_items (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *items, GError **error)
{
  BktSkel *self = BKT_SKEL (subsystem);

  if (!ensure_scanned (self, manifests, error))
    return FALSE;
  for (guint i = 0; i < self->files->len; i++)
    {
      SkelFile *f = g_ptr_array_index (self->files, i);
      g_autofree char *target = make_target (f->rel);

      /* No manifest kind declares a skel file: kind and key say nothing
       * (key NULL), the record keeps the fingerprints only. */
      g_ptr_array_add (items, bkt_item_new (target, BKT_SCOPE_USER, f->fingerprint, f->home_fingerprint,
                                            BKT_MANIFEST_HOST_SHIMS, NULL));
    }
  return TRUE;
}

/* Copy ~/REL into the writable layer's skel tree. */
static BktOperation *
record_op (BktSkel *self, const char *rel, const char *home_fingerprint, JsonObject *pr_edit)
{
  g_autofree char *target = make_target (rel);
  g_autofree char *home = home_display (self, rel);
  g_autofree char *summary = g_strdup_printf ("Record %s into the skel (%s)", home, self->write_root);
  g_autoptr(JsonObject) details = json_object_new ();

  json_object_set_string_member (details, "path", rel);
  json_object_set_string_member (details, "home_fingerprint", home_fingerprint);
  if (pr_edit != NULL)
    json_object_set_object_member (details, "pr_edit", pr_edit);
  return bkt_operation_new (SUBSYSTEM_NAME, "record", target, BKT_SCOPE_USER, BKT_EFFECT_LIVE, summary, details);
}

/* Home files that differ from the skel are recorded into the writable
 * layer; the engine's three-way rules leave out those that only the skel
 * changed (or that bkt never synced here). */
static gboolean
bkt_skel_plan_capture (BktSubsystem *subsystem, BktManifestSet *manifests, GPtrArray *ops,
                       GPtrArray *warnings, GError **error)
{
  BktSkel *self = BKT_SKEL (subsystem);

  if (!ensure_scanned (self, manifests, error))
    return FALSE;
  add_scan_warnings (self, warnings);
  for (guint i = 0; i < self->files->len; i++)
    {
      SkelFile *f = g_ptr_array_index (self->files, i);

      if (f->home_error != NULL || f->home_fingerprint == NULL || g_strcmp0 (f->fingerprint, f->home_fingerprint) == 0)
        continue;
      if (self->write_root == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "skel: nowhere to record"), FALSE;
      g_ptr_array_add (ops, record_op (self, f->rel, f->home_fingerprint, NULL));
    }
  return TRUE;
}

/* ── changes: bkt skel add PATH ────────────────────────────────────────── */

static gboolean
bkt_skel_plan_change (BktSubsystem *subsystem, BktManifestSet *manifests, const char *action,
                      GVariant *arguments, GPtrArray *ops, GError **error)
{
  BktSkel *self = BKT_SKEL (subsystem);
  const char *rel = NULL;
  g_autofree char *why = NULL, *display = NULL;
  g_autoptr(GBytes) contents = NULL;
  gboolean exists;
  guint mode = 0;

  if (g_strcmp0 (action, "add") != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "subsystem skel has no such action (add)"), FALSE;
  if (arguments == NULL || !g_variant_is_of_type (arguments, G_VARIANT_TYPE_VARDICT) ||
      !g_variant_lookup (arguments, "path", "&s", &rel))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "skel add needs the argument “path” (a path relative to the home directory)"), FALSE;
  why = bkt_skel_check_path (rel);
  if (why != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "invalid skel path%s%s%s: %s",
                        strlen (rel) <= 255 ? " “" : "", strlen (rel) <= 255 ? rel : "", strlen (rel) <= 255 ? "”" : "",
                        why), FALSE;
  if (!ensure_scanned (self, manifests, error))
    return FALSE;
  if (self->home_fd < 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, self->home_error), FALSE;
  if (self->write_root == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "skel: nowhere to record"), FALSE;
  display = home_display (self, rel);
  if (!bkt_skel_read_at (self->home_fd, rel, display, &contents, &mode, &exists, error))
    return FALSE;
  if (!exists)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s does not exist", display), FALSE;
  {
    g_autofree char *fp = fingerprint (contents, mode);
    g_autofree char *b64 = g_base64_encode (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents));
    JsonObject *edit = json_object_new ();

    /* What the pull request writes to the repo's skel/ (bkt-pr-files.h). */
    json_object_set_string_member (edit, "manifest", "skel");
    json_object_set_string_member (edit, "action", "record");
    json_object_set_string_member (edit, "path", rel);
    json_object_set_string_member (edit, "content", b64);
    g_ptr_array_add (ops, record_op (self, rel, fp, edit));
  }
  return TRUE;
}

/* ── status ────────────────────────────────────────────────────────────── */

/* {"tracked","in_sync","untracked":[],"home","dirs":[...],"files":[{"path",
 * "state","layer","source","home","mode","home_mode"?,"error"?}]} */
static JsonObject *
bkt_skel_status (BktSubsystem *subsystem, BktManifestSet *manifests, GError **error)
{
  BktSkel *self = BKT_SKEL (subsystem);
  g_autoptr(JsonObject) status = json_object_new ();
  JsonArray *files = json_array_new ();
  JsonArray *dirs = json_array_new ();
  guint n_in_sync = 0;

  if (!ensure_scanned (self, manifests, error))
    {
      json_array_unref (files);
      json_array_unref (dirs);
      return NULL;
    }
  for (guint i = 0; i < self->roots->len; i++)
    json_array_add_string_element (dirs, g_ptr_array_index (self->roots, i));
  for (guint i = 0; i < self->files->len; i++)
    {
      SkelFile *f = g_ptr_array_index (self->files, i);
      JsonObject *o = json_object_new ();
      const char *state = file_state (self, f);
      g_autofree char *source = g_build_filename (f->root, f->rel, NULL);
      g_autofree char *home = home_display (self, f->rel);
      g_autofree char *mode = g_strdup_printf ("%04o", f->mode);

      n_in_sync += g_str_equal (state, "in-sync");
      json_object_set_string_member (o, "path", f->rel);
      json_object_set_string_member (o, "state", state);
      json_object_set_string_member (o, "layer", f->layer);
      json_object_set_string_member (o, "source", source);
      json_object_set_string_member (o, "home", home);
      json_object_set_string_member (o, "mode", mode);
      if (f->home_fingerprint != NULL)
        json_object_set_string_member (o, "home_mode", strrchr (f->home_fingerprint, ' ') + 1);
      if (f->home_error != NULL)
        json_object_set_string_member (o, "error", f->home_error);
      json_array_add_object_element (files, o);
    }
  json_object_set_int_member (status, "tracked", self->files->len);
  json_object_set_int_member (status, "in_sync", n_in_sync);
  json_object_set_array_member (status, "untracked", json_array_new ());
  json_object_set_string_member (status, "home", self->home);
  json_object_set_array_member (status, "dirs", dirs);
  json_object_set_array_member (status, "files", files);
  return g_steal_pointer (&status);
}

/* ── execution ─────────────────────────────────────────────────────────── */

/* The file an operation names, checked again: the plan crossed the bus as
 * JSON, so its path is validated and must be one this scan found. */
static gboolean
op_path (BktOperation *op, const char **rel, GError **error)
{
  g_autofree char *why = NULL;

  *rel = bkt_operation_get_detail_string (op, "path");
  why = bkt_skel_check_path (*rel);
  if (why != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "skel operation: invalid path: %s", why), FALSE;
  return TRUE;
}

/* Stages the skel file's copy in $HOME after checking that neither side
 * moved since the plan (the file at home is not one the user just
 * changed); the batch syncs once and renames (bkt_skel_execute). */
static BktSkelStaged *
stage_copy (BktSkel *self, BktOperation *op, GError **error)
{
  const char *rel;
  SkelFile *f;
  g_autofree char *source = NULL, *display = NULL, *fp = NULL;
  g_autoptr(GBytes) contents = NULL;
  gboolean exists;
  guint mode = 0;
  int root_fd;

  if (!op_path (op, &rel, error))
    return NULL;
  f = g_hash_table_lookup (self->by_rel, rel);
  if (f == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND, "%s is not a skel file", rel), NULL;
  source = g_build_filename (f->root, rel, NULL);
  display = home_display (self, rel);
  root_fd = open (f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot open %s: %s", f->root, g_strerror (errno)), NULL;
  exists = FALSE;
  if (!bkt_skel_read_at (root_fd, rel, source, &contents, &mode, &exists, error))
    {
      close (root_fd);
      return NULL;
    }
  close (root_fd);
  fp = exists ? fingerprint (contents, mode) : NULL;
  if (g_strcmp0 (fp, bkt_operation_get_detail_string (op, "fingerprint")) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s changed since the plan was made: not copied", source),
           NULL;
  read_home (self, f);
  if (f->home_error != NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED, f->home_error), NULL;
  if (g_strcmp0 (f->home_fingerprint, bkt_operation_get_detail_string (op, "home_fingerprint")) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s changed since the plan was made: left alone", display),
           NULL;
  return bkt_skel_stage_at (self->home_fd, rel, display, contents, mode, FALSE, error);
}

/* Copies ~/REL into the writable layer's skel tree, as it was planned. */
static gboolean
execute_record (BktSkel *self, BktOperation *op, GError **error)
{
  const char *rel;
  g_autofree char *display = NULL, *dest = NULL, *fp = NULL;
  g_autoptr(GBytes) contents = NULL;
  gboolean exists;
  guint mode = 0;
  int root_fd;

  if (!op_path (op, &rel, error))
    return FALSE;
  if (self->write_root == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "skel: nowhere to record"), FALSE;
  display = home_display (self, rel);
  if (!bkt_skel_read_at (self->home_fd, rel, display, &contents, &mode, &exists, error))
    return FALSE;
  fp = exists ? fingerprint (contents, mode) : NULL;
  if (g_strcmp0 (fp, bkt_operation_get_detail_string (op, "home_fingerprint")) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s changed since the plan was made: not recorded",
                        display), FALSE;
  if (g_mkdir_with_parents (self->write_root, 0700) < 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot create %s: %s", self->write_root,
                        g_strerror (errno)), FALSE;
  root_fd = open (self->write_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot open %s: %s", self->write_root,
                        g_strerror (errno)), FALSE;
  dest = g_build_filename (self->write_root, rel, NULL);
  exists = bkt_skel_write_at (root_fd, rel, dest, contents, mode, error);
  close (root_fd);
  return exists;
}

/* ✓ only once the file reads back with the fingerprint it was meant to
 * have: at home after a copy, in the skel tree after a record. */
static gboolean
verify (BktSkel *self, BktOperation *op, GError **error)
{
  gboolean record = g_str_equal (bkt_operation_get_action (op), "record");
  const char *rel = bkt_operation_get_detail_string (op, "path");
  const char *want = bkt_operation_get_detail_string (op, record ? "home_fingerprint" : "fingerprint");
  const char *root = record ? self->write_root : self->home;
  g_autofree char *display = g_build_filename (root, rel, NULL);
  g_autofree char *got = NULL;
  g_autoptr(GBytes) contents = NULL;
  gboolean exists = FALSE;
  guint mode = 0;
  int fd = record ? open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup (self->home_fd);

  if (fd < 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot open %s to read it back", root), FALSE;
  if (!bkt_skel_read_at (fd, rel, display, &contents, &mode, &exists, error))
    {
      close (fd);
      return FALSE;
    }
  close (fd);
  got = exists ? fingerprint (contents, mode) : NULL;
  if (g_strcmp0 (got, want) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "%s does not read back as written", display), FALSE;
  return TRUE;
}

/* Stage every copy, one syncfs() for all (one fsync per file was 85 % of
 * a 500-file sync: docs/benchmarks.md), then rename each and read it back:
 * a crash leaves every file old or new, never empty. */
static void
execute_copies (BktSkel *self, GPtrArray *ops, BktExecContext *ctx, GCancellable *cancellable, guint *copied)
{
  g_autoptr(GPtrArray) staged = g_ptr_array_new_with_free_func ((GDestroyNotify) bkt_skel_staged_free);
  g_autoptr(GPtrArray) staged_ops = g_ptr_array_new ();
  g_autoptr(GError) sync_error = NULL;

  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      g_autoptr(GError) op_error = NULL;
      BktSkelStaged *s = NULL;

      if (!g_cancellable_set_error_if_cancelled (cancellable, &op_error))
        s = stage_copy (self, op, &op_error);
      if (s == NULL)
        {
          bkt_exec_context_op_done (ctx, op, op_error);
          continue;
        }
      g_ptr_array_add (staged, s);
      g_ptr_array_add (staged_ops, op);
    }
  if (staged->len > 0 && syncfs (self->home_fd) < 0)
    g_set_error (&sync_error, BKT_ERROR, BKT_ERROR_FAILED, "cannot sync the home directory's file system: %s",
                 g_strerror (errno));
  for (guint i = 0; i < staged->len; i++)
    {
      BktOperation *op = g_ptr_array_index (staged_ops, i);
      g_autoptr(GError) op_error = sync_error != NULL ? g_error_copy (sync_error) : NULL;

      if (op_error == NULL && bkt_skel_staged_commit (g_ptr_array_index (staged, i), &op_error) &&
          verify (self, op, &op_error))
        (*copied)++;
      bkt_exec_context_op_done (ctx, op, op_error);
    }
}

static gboolean
bkt_skel_execute (BktSubsystem *subsystem, GPtrArray *ops, BktExecContext *ctx, GCancellable *cancellable,
                  GError **error)
{
  BktSkel *self = BKT_SKEL (subsystem);
  g_autoptr(GPtrArray) copies = g_ptr_array_new ();
  guint copied = 0, recorded = 0;

  if (self->home_fd < 0 || self->scanned == NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "skel: executing without a plan"), FALSE;
  for (guint i = 0; i < ops->len; i++)
    {
      BktOperation *op = g_ptr_array_index (ops, i);
      const char *action = bkt_operation_get_action (op);
      g_autoptr(GError) op_error = NULL;

      if (g_str_equal (action, "create") || g_str_equal (action, "update"))
        {
          g_ptr_array_add (copies, op);
          continue;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, &op_error))
        ;
      else if (!g_str_equal (action, "record"))
        g_set_error (&op_error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED, "skel cannot execute “%s”", action);
      else if (execute_record (self, op, &op_error) && verify (self, op, &op_error))
        recorded++;
      bkt_exec_context_op_done (ctx, op, op_error);
    }
  execute_copies (self, copies, ctx, cancellable, &copied);
  bkt_exec_context_message (ctx, "skel: %u file(s) copied into %s, %u recorded", copied, self->home, recorded);
  return TRUE;
}

static void
bkt_skel_set_overwrite (BktSubsystem *subsystem, gboolean overwrite)
{
  BKT_SKEL (subsystem)->overwrite = overwrite;
}

static const char *
bkt_skel_get_name (BktSubsystem *subsystem)
{
  return SUBSYSTEM_NAME;
}

static void
bkt_skel_subsystem_init (BktSubsystemInterface *iface)
{
  iface->get_name = bkt_skel_get_name;
  iface->load_live = bkt_skel_load_live;
  iface->plan_apply = bkt_skel_plan_apply;
  iface->plan_capture = bkt_skel_plan_capture;
  iface->plan_change = bkt_skel_plan_change;
  iface->status = bkt_skel_status;
  iface->execute = bkt_skel_execute;
  iface->items = bkt_skel_items;
  iface->set_overwrite = bkt_skel_set_overwrite;
}
