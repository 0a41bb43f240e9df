/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-admin-ops.h"
#include "bkt-bootc.h"
#include "bkt-error.h"
#include "bkt-systemd.h"

/* ---- options ---------------------------------------------------------------- */

/* Reads the boolean @key of @options; refuses a wrong type. */
static gboolean
opt_bool (GVariant *options, const char *key, gboolean *out, GError **error)
{
  g_autoptr(GVariant) v = g_variant_lookup_value (options, key, NULL);

  *out = FALSE;
  if (v == NULL)
    return TRUE;
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "option “%s” must be a boolean, not %s", key, g_variant_get_type_string (v)), FALSE;
  *out = g_variant_get_boolean (v);
  return TRUE;
}

static gboolean
only_known_options (GVariant *options, const char * const *known, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      gboolean ok = g_strv_contains (known, key);
      g_variant_unref (value);
      if (!ok)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "unknown option “%.64s”", key), FALSE;
    }
  return TRUE;
}

/* ---- bootc -------------------------------------------------------------------- */

static BktPlan *
single_op_plan (BktOperation *op)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (ops, op);
  return bkt_plan_new ("admin", ops, NULL);
}

BktPlan *
bkt_admin_plan_bootc (const char *action, const char *image, GVariant *options, GError **error)
{
  g_autoptr(JsonObject) details = json_object_new ();
  g_autofree char *summary = NULL;
  const char *target = "bootc:host";
  BktEffect effect = BKT_EFFECT_REBOOT;
  gboolean check = FALSE, apply = FALSE;

  if (g_str_equal (action, "upgrade"))
    {
      const char * const known[] = { "check", "apply", NULL };
      if (!only_known_options (options, known, error) ||
          !opt_bool (options, "check", &check, error) || !opt_bool (options, "apply", &apply, error))
        return NULL;
      if (check && apply)
        return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                    "\"check\" and \"apply\" exclude each other"), NULL;
      json_object_set_boolean_member (details, "check", check);
      json_object_set_boolean_member (details, "apply", apply);
      if (check)
        {
          summary = g_strdup ("Check for an update of the OS image");
          effect = BKT_EFFECT_LIVE;
        }
      else
        summary = g_strdup_printf ("Download and stage the OS image update%s",
                                   apply ? ", then reboot into it" : "");
    }
  else if (g_str_equal (action, "rollback"))
    {
      const char * const known[] = { NULL };
      if (!only_known_options (options, known, error))
        return NULL;
      summary = g_strdup ("Queue the rollback deployment for the next boot");
    }
  else if (g_str_equal (action, "switch"))
    {
      const char * const known[] = { "transport", "apply", NULL };
      const char *transport = "registry";
      g_autoptr(GVariant) t = NULL;

      if (!only_known_options (options, known, error) || !opt_bool (options, "apply", &apply, error))
        return NULL;
      t = g_variant_lookup_value (options, "transport", NULL);
      if (t != NULL && !g_variant_is_of_type (t, G_VARIANT_TYPE_STRING))
        return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                    "option “transport” must be a string"), NULL;
      if (t != NULL)
        transport = g_variant_get_string (t, NULL);
      if (image == NULL || !bkt_bootc_check_image (image, error) ||
          !bkt_bootc_check_transport (transport, error))
        return NULL;
      json_object_set_string_member (details, "image", image);
      json_object_set_string_member (details, "transport", transport);
      json_object_set_boolean_member (details, "apply", apply);
      summary = g_strdup_printf ("Switch the OS to image %s (%s)%s", image, transport,
                                 apply ? ", then reboot into it" : "");
    }
  else
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unknown bootc action “%.32s”", action), NULL;

  return single_op_plan (bkt_operation_new ("bootc", action, target, BKT_SCOPE_SYSTEM, effect,
                                            summary, details));
}

typedef struct {
  BktExecContext *ctx;
  BktOperation   *op;
  double          last;
} ProgressRelay;

static void
relay_progress (gpointer user_data, double fraction, const char *detail)
{
  ProgressRelay *p = user_data;

  /* Events without a fraction (Start, unknown totals) keep the bar where
   * it is but still update the detail text. */
  if (fraction >= 0)
    p->last = fraction;
  bkt_exec_context_progress (p->ctx, p->op, p->last, detail);
}

static gboolean
execute_bootc (BktOperation *op, GDBusConnection *connection, BktExecContext *ctx, JsonObject *result,
               GCancellable *cancellable, GError **error)
{
  JsonObject *d = bkt_operation_get_details (op);
  const char *action = bkt_operation_get_action (op);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *output = NULL;
  ProgressRelay relay = { ctx, op, 0 };
  gboolean progress_fd = FALSE;
  gboolean ok;

  g_ptr_array_add (args, (char *) action);
  if (g_str_equal (action, "upgrade"))
    {
      if (json_object_get_boolean_member_with_default (d, "check", FALSE))
        g_ptr_array_add (args, (char *) "--check");
      else
        progress_fd = TRUE;
      if (json_object_get_boolean_member_with_default (d, "apply", FALSE))
        g_ptr_array_add (args, (char *) "--apply");
    }
  else if (g_str_equal (action, "switch"))
    {
      progress_fd = TRUE;
      g_ptr_array_add (args, (char *) "--transport");
      g_ptr_array_add (args, (char *) json_object_get_string_member (d, "transport"));
      if (json_object_get_boolean_member_with_default (d, "apply", FALSE))
        g_ptr_array_add (args, (char *) "--apply");
      /* Validated: never starts with "-", so it cannot be read as an
       * option. */
      g_ptr_array_add (args, (char *) json_object_get_string_member (d, "image"));
    }
  g_ptr_array_add (args, NULL);

  bkt_exec_context_progress (ctx, op, 0, NULL);
  ok = bkt_bootc_run (connection, (const char * const *) args->pdata, progress_fd, relay_progress, &relay, &output,
                      cancellable, error);
  bkt_exec_context_op_done (ctx, op, ok ? NULL : *error);
  if (!ok)
    return FALSE;
  json_object_set_string_member (result, "output", output ? output : "");
  {
    /* What the change led to, for the client's summary ("staged …,
     * reboot to apply").  Best effort: the change itself succeeded. */
    g_autoptr(GError) local = NULL;
    JsonObject *st = bkt_bootc_status (cancellable, &local);
    if (st != NULL)
      json_object_set_object_member (result, "status", st);
    else
      json_object_set_null_member (result, "status");
  }
  return TRUE;
}

/* ---- systemd ------------------------------------------------------------------ */

GStrv
bkt_admin_normalize_units (const char * const *units, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  guint n = units != NULL ? g_strv_length ((char **) units) : 0;

  if (n == 0 || n > BKT_ADMIN_MAX_UNITS)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "give 1 to %d unit names (got %u)", BKT_ADMIN_MAX_UNITS, n), NULL;
  for (guint i = 0; i < n; i++)
    {
      char *u = bkt_systemd_normalize_unit (units[i], error);
      if (u == NULL)
        return NULL;
      g_ptr_array_add (out, u);
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

BktPlan *
bkt_admin_plan_systemctl (const char *verb_name, const char * const *units, GVariant *options, GError **error)
{
  const char * const known[] = { "now", NULL };
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) names = NULL;
  BktSystemdVerb verb;
  gboolean now = FALSE;

  if (!bkt_systemd_verb_from_string (verb_name, &verb))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unknown systemctl verb “%.32s” (start, stop, restart, reload, enable, disable, "
                        "mask, unmask, daemon-reload)", verb_name), NULL;
  if (!only_known_options (options, known, error) || !opt_bool (options, "now", &now, error))
    return NULL;

  if (verb == BKT_SYSTEMD_DAEMON_RELOAD)
    {
      if (units != NULL && units[0] != NULL)
        return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                    "daemon-reload takes no unit names"), NULL;
      g_ptr_array_add (ops, bkt_operation_new ("systemd", "daemon-reload", "systemd:manager", BKT_SCOPE_SYSTEM,
                                               BKT_EFFECT_LIVE, "Reload the systemd manager configuration",
                                               NULL));
      return bkt_plan_new ("admin", ops, NULL);
    }

  names = bkt_admin_normalize_units (units, error);
  if (names == NULL)
    return NULL;
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(JsonObject) d = json_object_new ();
      g_autofree char *target = g_strdup_printf ("unit:%s", names[i]);
      g_autofree char *summary = NULL;
      const char *now_text = "";

      if (now && verb == BKT_SYSTEMD_ENABLE)
        now_text = " and start it";
      else if (now && (verb == BKT_SYSTEMD_DISABLE || verb == BKT_SYSTEMD_MASK))
        now_text = " and stop it";
      summary = g_strdup_printf ("%c%s unit %s%s", g_ascii_toupper (verb_name[0]), verb_name + 1,
                                 names[i], now_text);
      json_object_set_string_member (d, "unit", names[i]);
      json_object_set_boolean_member (d, "now", now);
      /* Enabling without --now changes what starts at boot, not now. */
      g_ptr_array_add (ops, bkt_operation_new ("systemd", verb_name, target, BKT_SCOPE_SYSTEM,
                                               (verb == BKT_SYSTEMD_ENABLE || verb == BKT_SYSTEMD_DISABLE ||
                                                verb == BKT_SYSTEMD_MASK || verb == BKT_SYSTEMD_UNMASK) && !now
                                                 ? BKT_EFFECT_REBOOT : BKT_EFFECT_LIVE,
                                               summary, d));
    }
  return bkt_plan_new ("admin", ops, NULL);
}

static gboolean
execute_systemd (BktPlan *plan, GDBusConnection *c, BktExecContext *ctx, GCancellable *cancellable,
                 GError **error)
{
  g_autoptr(GError) first = NULL;
  guint n = bkt_plan_get_n_operations (plan), n_failed = 0;

  /* Each unit on its own, like systemctl with several names: one failing
   * unit does not keep the others from being handled. */
  for (guint i = 0; i < n; i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      JsonObject *d = bkt_operation_get_details (op);
      g_autoptr(GError) local = NULL;
      BktSystemdVerb verb;

      if (g_cancellable_is_cancelled (cancellable))
        break;
      bkt_systemd_verb_from_string (bkt_operation_get_action (op), &verb);
      bkt_exec_context_progress (ctx, op, 0, NULL);
      if (!bkt_systemd_run (c, verb, json_object_get_string_member_with_default (d, "unit", ""),
                            json_object_get_boolean_member_with_default (d, "now", FALSE), cancellable, &local))
        {
          n_failed++;
          bkt_exec_context_op_done (ctx, op, local);
          if (first == NULL)
            first = g_steal_pointer (&local);
        }
      else
        bkt_exec_context_op_done (ctx, op, NULL);
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (first != NULL)
    {
      if (n > 1)
        g_prefix_error (&first, "%u of %u operations failed; first: ", n_failed, n);
      g_propagate_error (error, g_steal_pointer (&first));
      return FALSE;
    }
  return TRUE;
}

gboolean
bkt_admin_execute (BktPlan *plan, GDBusConnection *connection, BktExecContext *ctx, JsonObject *result,
                   GCancellable *cancellable, GError **error)
{
  BktOperation *op;

  g_return_val_if_fail (bkt_plan_get_n_operations (plan) > 0, FALSE);
  op = bkt_plan_get_operation (plan, 0);
  if (g_str_equal (bkt_operation_get_subsystem (op), "bootc"))
    return execute_bootc (op, connection, ctx, result, cancellable, error);
  return execute_systemd (plan, connection, ctx, cancellable, error);
}
