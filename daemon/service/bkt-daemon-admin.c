/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-admin-ops.h"
#include "bkt-bootc.h"
#include "bkt-copr.h"
#include "bkt-daemon-private.h"
#include "bkt-error.h"
#include "bkt-packages.h"
#include "bkt-systemd.h"

/* The Admin interface of the system instance: single privileged
 * operations (system flatpaks, layered packages, COPR repo files, bootc,
 * systemd units).  Each handler checks its arguments before anything else
 * (polkit is not asked about bad input) and hands a Request to
 * bkt_daemon_dispatch(), which asks polkit and runs it. */

/* An Admin method's options: only those it documents, all booleans;
 * anything else (a Manager option too) is refused before polkit. */
typedef struct {
  const char *key;
  gboolean   *value;
  gboolean   *set;     /* may be NULL */
} BoolOption;

static gboolean
parse_bool_options (GVariant *options, const BoolOption *allowed, GError **error)
{
  for (gsize i = 0; i < g_variant_n_children (options); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (options, i);
      g_autoptr(GVariant) value = NULL;
      const BoolOption *opt = NULL;
      const char *key;

      g_variant_get (entry, "{&sv}", &key, &value);
      for (guint j = 0; allowed != NULL && allowed[j].key != NULL && opt == NULL; j++)
        if (g_str_equal (key, allowed[j].key) && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
          opt = &allowed[j];
      if (opt == NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "unknown option “%s” of type %s", key,
                            g_variant_get_type_string (value)), FALSE;
      *opt->value = g_variant_get_boolean (value);
      if (opt->set != NULL)
        *opt->set = TRUE;
    }
  return TRUE;
}

/* The names for a polkit prompt: all of them when few, else the first
 * ones and how many more (a prompt is read by a human). */
#define PROMPT_NAMES 12

static char *
names_summary (const char * const *names)
{
  guint n = g_strv_length ((char **) names);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < n && i < PROMPT_NAMES; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? " " : "", names[i]);
  if (n > PROMPT_NAMES)
    g_string_append_printf (text, " … and %u more (%u in all)", n - PROMPT_NAMES, n);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* What polkit's agent shows: org.bkt.target = @target (taken). */
static void
set_target (Request *r, char *target)
{
  g_autofree char *owned = target;
  const char *details[] = { "org.bkt.target", owned, NULL };

  r->admin.details = g_strdupv ((char **) details);
}

static gboolean
handle_admin_flatpak (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *inv,
                      const char *remote, const char *id, GVariant *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) none = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  gboolean force = FALSE;
  const BoolOption allowed[] = { { "force", &force, NULL }, { NULL } };
  GVariantBuilder args;
  Request *r;

  if (!parse_bool_options (options, allowed, &error) ||
      !bkt_daemon_check_name ("flatpak id", id, &error) ||
      (remote != NULL && !bkt_daemon_check_name ("remote name", remote, &error)))
    {
      bkt_error_return (inv, g_steal_pointer (&error));
      return TRUE;
    }

  r = bkt_daemon_request_new ();
  r->change.subsystem = g_strdup ("flatpak");
  r->change.action = g_strdup (kind == REQ_FLATPAK_INSTALL ? "add" : "remove");
  /* The agent names the app and where it comes from. */
  set_target (r, remote != NULL ? g_strdup_printf ("flatpak:%s from remote %s", id, remote)
                                : g_strdup_printf ("flatpak:%s", id));
  /* Only flatpak is read: an app install must not depend on rpm-ostree. */
  r->opt.only = g_strsplit ("flatpak", ",", -1);
  g_variant_builder_init (&args, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&args, "{sv}", "id", g_variant_new_string (id));
  g_variant_builder_add (&args, "{sv}", "scope", g_variant_new_string ("system"));
  if (remote != NULL)
    g_variant_builder_add (&args, "{sv}", "remote", g_variant_new_string (remote));
  /* "force" (skip the remote checks) is an install's option only: the
   * plan's "remove" takes no such argument and refuses unknown ones (the
   * client sends it to both; it is accepted and ignored there). */
  if (kind == REQ_FLATPAK_INSTALL)
    g_variant_builder_add (&args, "{sv}", "force", g_variant_new_boolean (force));
  r->change.arguments = g_variant_ref_sink (g_variant_builder_end (&args));
  /* Its own options are in the arguments: none of the Manager's apply. */
  return bkt_daemon_dispatch (self, kind, inv, none, r);
}

static gboolean
handle_flatpak_install (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char *remote,
                        const char *id, GVariant *options, BktDaemon *self)
{
  return handle_admin_flatpak (self, REQ_FLATPAK_INSTALL, inv, remote, id, options);
}

static gboolean
handle_flatpak_uninstall (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char *id,
                          GVariant *options, BktDaemon *self)
{
  return handle_admin_flatpak (self, REQ_FLATPAK_UNINSTALL, inv, NULL, id, options);
}

static gboolean
handle_admin_packages (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *inv,
                       const char * const *packages, GVariant *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) none = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  g_autofree char *joined = NULL;
  GVariantBuilder args;
  gboolean now = FALSE, force = FALSE;
  const BoolOption allowed[] = { { "now", &now, NULL },
                                 { kind == REQ_PACKAGES_INSTALL ? "force" : NULL, &force, NULL }, { NULL } };
  Request *r;

  /* Names and options checked before polkit and before any process. */
  if (parse_bool_options (options, allowed, &error))
    bkt_packages_check_names (packages, &error);
  if (error != NULL)
    {
      bkt_error_return (inv, g_steal_pointer (&error));
      return TRUE;
    }

  r = bkt_daemon_request_new ();
  r->change.subsystem = g_strdup ("dnf");
  r->change.action = g_strdup (kind == REQ_PACKAGES_INSTALL ? "add" : "remove");
  joined = names_summary (packages);
  set_target (r, g_strdup_printf ("packages: %s", joined));
  /* Only dnf is read: a package change has no business with flatpak. */
  r->opt.only = g_strsplit ("dnf", ",", -1);
  g_variant_builder_init (&args, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&args, "{sv}", "packages", g_variant_new_strv (packages, -1));
  g_variant_builder_add (&args, "{sv}", "now", g_variant_new_boolean (now));
  g_variant_builder_add (&args, "{sv}", "force", g_variant_new_boolean (force));
  r->change.arguments = g_variant_ref_sink (g_variant_builder_end (&args));
  return bkt_daemon_dispatch (self, kind, inv, none, r);
}

static gboolean
handle_packages_install (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char * const *packages,
                         GVariant *options, BktDaemon *self)
{
  return handle_admin_packages (self, REQ_PACKAGES_INSTALL, inv, packages, options);
}

static gboolean
handle_packages_uninstall (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char * const *packages,
                           GVariant *options, BktDaemon *self)
{
  return handle_admin_packages (self, REQ_PACKAGES_UNINSTALL, inv, packages, options);
}

/* COPR repo files: the name is checked here, before polkit is asked. */
static gboolean
handle_admin_copr (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *inv, const char *project,
                   GVariant *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) none = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  GVariantBuilder args;
  gboolean gpg_check = TRUE, gpg_set = FALSE;
  const BoolOption allowed[] = { { kind == REQ_COPR_REMOVE ? NULL : "gpg_check", &gpg_check, &gpg_set }, { NULL } };
  Request *r;

  if (bkt_copr_check_name (project, &error))
    parse_bool_options (options, allowed, &error);
  if (error != NULL)
    {
      bkt_error_return (inv, g_steal_pointer (&error));
      return TRUE;
    }

  r = bkt_daemon_request_new ();
  r->change.subsystem = g_strdup ("dnf");
  r->change.action = g_strdup (bkt_daemon_request_tx_kind (kind));
  set_target (r, g_strdup_printf ("copr:%s", project));
  r->opt.only = g_strsplit ("dnf", ",", -1);
  g_variant_builder_init (&args, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&args, "{sv}", "name", g_variant_new_string (project));
  if (gpg_set)
    g_variant_builder_add (&args, "{sv}", "gpg_check", g_variant_new_boolean (gpg_check));
  /* A repo without signature checks is root code from whoever controls
   * its server: its own action, which no shipped rule grants. */
  r->insecure = kind == REQ_COPR_ENABLE && !gpg_check;
  r->change.arguments = g_variant_ref_sink (g_variant_builder_end (&args));
  return bkt_daemon_dispatch (self, kind, inv, none, r);
}

static gboolean
handle_copr_enable (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char *project, GVariant *options,
                    BktDaemon *self)
{
  return handle_admin_copr (self, REQ_COPR_ENABLE, inv, project, options);
}

static gboolean
handle_copr_disable (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char *project, GVariant *options,
                     BktDaemon *self)
{
  return handle_admin_copr (self, REQ_COPR_DISABLE, inv, project, options);
}

static gboolean
handle_copr_remove (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char *project, GVariant *options,
                    BktDaemon *self)
{
  return handle_admin_copr (self, REQ_COPR_REMOVE, inv, project, options);
}

/* ---- admin: bootc and systemd ---------------------------------------------- */

static gboolean
empty_options (GVariant *options, GError **error)
{
  if (g_variant_n_children (options) == 0)
    return TRUE;
  return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                              "this method takes no options yet: pass {}"), FALSE;
}

/* Validated and planned before polkit: bad input is refused without
 * asking anyone, and what polkit's agent shows is what will run. */
static gboolean
dispatch_admin (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *inv, Request *r, GError *error)
{
  g_autoptr(GVariant) none = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));

  if (error != NULL)
    {
      bkt_daemon_request_free (r);
      bkt_error_return (inv, error);
      return TRUE;
    }
  return bkt_daemon_dispatch (self, kind, inv, none, r);
}

static gboolean
handle_bootc_status (BktDBusAdmin *a, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  Request *r = bkt_daemon_request_new ();
  GError *error = NULL;

  empty_options (options, &error);
  return dispatch_admin (self, REQ_BOOTC_STATUS, inv, r, error);
}

static gboolean
handle_bootc_change (BktDaemon *self, RequestKind kind, GDBusMethodInvocation *inv, const char *action,
                     const char *image, GVariant *options)
{
  Request *r = bkt_daemon_request_new ();
  GError *error = NULL;

  r->out.plan = bkt_admin_plan_bootc (action, image, options, &error);
  if (r->out.plan != NULL)
    {
      const char *details[] = { "org.bkt.image", image ? image : "(the booted image's stream)",
                                "org.bkt.target", bkt_operation_get_summary (bkt_plan_get_operation (r->out.plan, 0)),
                                NULL };
      r->admin.details = g_strdupv ((char **) details);
    }
  return dispatch_admin (self, kind, inv, r, error);
}

static gboolean
handle_bootc_upgrade (BktDBusAdmin *a, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  return handle_bootc_change (self, REQ_BOOTC_UPGRADE, inv, "upgrade", NULL, options);
}

static gboolean
handle_bootc_rollback (BktDBusAdmin *a, GDBusMethodInvocation *inv, GVariant *options, BktDaemon *self)
{
  return handle_bootc_change (self, REQ_BOOTC_ROLLBACK, inv, "rollback", NULL, options);
}

static gboolean
handle_bootc_switch (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char *image, GVariant *options,
                     BktDaemon *self)
{
  return handle_bootc_change (self, REQ_BOOTC_SWITCH, inv, "switch", image, options);
}

static gboolean
handle_systemctl_status (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char * const *units,
                         GVariant *options, BktDaemon *self)
{
  Request *r = bkt_daemon_request_new ();
  GError *error = NULL;

  if (empty_options (options, &error))
    r->admin.units = bkt_admin_normalize_units (units, &error);
  return dispatch_admin (self, REQ_SYSTEMCTL_STATUS, inv, r, error);
}

static gboolean
handle_systemctl_manage (BktDBusAdmin *a, GDBusMethodInvocation *inv, const char *verb,
                         const char * const *units, GVariant *options, BktDaemon *self)
{
  Request *r = bkt_daemon_request_new ();
  GError *error = NULL;

  r->out.plan = bkt_admin_plan_systemctl (verb, units, options, &error);
  if (r->out.plan != NULL)
    {
      g_autoptr(GString) names = g_string_new (NULL);
      const char *details[] = { "org.bkt.verb", verb, "org.bkt.unit", NULL, NULL };

      for (guint i = 0; i < bkt_plan_get_n_operations (r->out.plan); i++)
        {
          JsonObject *d = bkt_operation_get_details (bkt_plan_get_operation (r->out.plan, i));
          if (names->len > 0)
            g_string_append (names, ", ");
          g_string_append (names, json_object_get_string_member_with_default (d, "unit", "(manager)"));
        }
      details[3] = names->str;
      r->admin.details = g_strdupv ((char **) details);
    }
  return dispatch_admin (self, REQ_SYSTEMCTL_MANAGE, inv, r, error);
}

void
bkt_daemon_admin_connect (BktDBusAdmin *admin, BktDaemon *self)
{
  g_signal_connect (admin, "handle-flatpak-install", G_CALLBACK (handle_flatpak_install), self);
  g_signal_connect (admin, "handle-flatpak-uninstall", G_CALLBACK (handle_flatpak_uninstall), self);
  g_signal_connect (admin, "handle-packages-install", G_CALLBACK (handle_packages_install), self);
  g_signal_connect (admin, "handle-packages-uninstall", G_CALLBACK (handle_packages_uninstall), self);
  g_signal_connect (admin, "handle-copr-enable", G_CALLBACK (handle_copr_enable), self);
  g_signal_connect (admin, "handle-copr-disable", G_CALLBACK (handle_copr_disable), self);
  g_signal_connect (admin, "handle-copr-remove", G_CALLBACK (handle_copr_remove), self);
  g_signal_connect (admin, "handle-bootc-status", G_CALLBACK (handle_bootc_status), self);
  g_signal_connect (admin, "handle-bootc-upgrade", G_CALLBACK (handle_bootc_upgrade), self);
  g_signal_connect (admin, "handle-bootc-rollback", G_CALLBACK (handle_bootc_rollback), self);
  g_signal_connect (admin, "handle-bootc-switch", G_CALLBACK (handle_bootc_switch), self);
  g_signal_connect (admin, "handle-systemctl-status", G_CALLBACK (handle_systemctl_status), self);
  g_signal_connect (admin, "handle-systemctl-manage", G_CALLBACK (handle_systemctl_manage), self);
}
