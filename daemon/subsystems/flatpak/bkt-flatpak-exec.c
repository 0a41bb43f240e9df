/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>

#include "bkt-error.h"
#include "bkt-flatpak-private.h"

/* Execution of the flatpak operations of one scope: remotes with
 * libflatpak's remote API, apps in one FlatpakTransaction (progress per
 * operation, dependencies counted into the apps that need them), and each
 * success reported only after the installation was read back. */

/* One scope's execution (all owned by bkt_flatpak_execute_scope()).  The transaction's
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
    flatpak_remote_set_gpg_verify (remote, bkt_flatpak_entry_bool (details, "gpg_verify", TRUE));
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
  g_autoptr(BktFlatpakState) now = bkt_flatpak_state_load (run->scope, NULL, NULL);
  FlatpakInstalledRef *ref = id != NULL ? bkt_flatpak_state_lookup_app (now, id) : NULL;

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
      GHashTable *listed = bkt_flatpak_list_remote_apps (run->installation, remote, cancellable, &e);

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
  g_autoptr(BktFlatpakState) now = ops->len > 0 ? bkt_flatpak_state_load (run->scope, NULL, &read_error) : NULL;

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
          holds = r != NULL && bkt_flatpak_urls_equal (url, bkt_operation_get_detail_string (op, "url"));
        }
      else
        holds = (bkt_flatpak_state_lookup_app (now, bkt_operation_get_detail_string (op, "id")) != NULL) ==
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
gboolean
bkt_flatpak_execute_scope (BktScope scope, GPtrArray *ops, BktExecContext *ctx, GCancellable *cancellable)
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
    run.installation = installation = bkt_flatpak_open_installation (scope, cancellable, &local_error);
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
