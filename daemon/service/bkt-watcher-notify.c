/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>

#include "bkt-config.h"
#include "bkt-json.h"
#include "bkt-watcher-notify.h"

#define NOTIFICATIONS_NAME  "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH  "/org/freedesktop/Notifications"
#define NOTIFICATIONS_IFACE "org.freedesktop.Notifications"
/* The notification server answers at once or not at all. */
#define CALL_TIMEOUT_MS 5000
/* Items named in a notification's body. */
#define SHOWN_ITEMS 5
#define REVIEW_ITEMS 20

struct _BktWatchNotifier
{
  GDBusConnection *connection;
  GCancellable    *cancellable;
  GDestroyNotify   settled;
  gpointer         settled_data;
  guint            action_sub;
  guint32          id;             /* the notification shown, 0: none */
  GStrv            shown;          /* its items */
  int              has_actions;    /* -1: not asked yet */
  gboolean         proposing;      /* a bkt capture --pr runs */
};

/* Async replies may come after the notifier is gone: they hold a ref. */
static BktWatchNotifier *
notifier_ref (BktWatchNotifier *self)
{
  return g_rc_box_acquire (self);
}

static void
notifier_clear (gpointer p)
{
  BktWatchNotifier *self = p;

  g_clear_object (&self->cancellable);
  g_clear_object (&self->connection);
  g_strfreev (self->shown);
}

static void
notifier_unref (BktWatchNotifier *self)
{
  g_rc_box_release_full (self, notifier_clear);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktWatchNotifier, notifier_unref)

static gboolean
alive (BktWatchNotifier *self)
{
  return !g_cancellable_is_cancelled (self->cancellable);
}

/* ---- Notify ---------------------------------------------------------------------------- */

static void
on_notified (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(BktWatchNotifier) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    {
      if (alive (self))
        g_message ("watcher: no desktop notification: %s", error->message);
      return;
    }
  if (alive (self))
    g_variant_get (reply, "(u)", &self->id);
}

/* Shows (replacing ours) @summary/@body; @with_actions: Review, Propose,
 * Ignore where the server has actions. */
static void
notify (BktWatchNotifier *self, const char *summary, const char *body, gboolean with_actions, gboolean keep_id)
{
  GVariantBuilder actions, hints;

  g_variant_builder_init (&actions, G_VARIANT_TYPE ("as"));
  if (with_actions && self->has_actions > 0)
    {
      const char *const pairs[] = { "default", "Review", "review", "Review", "propose", "Propose",
                                    "ignore", "Ignore" };
      for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
        g_variant_builder_add (&actions, "s", pairs[i]);
    }
  g_variant_builder_init (&hints, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&hints, "{sv}", "category", g_variant_new_string ("x-bkt.drift"));
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (1));
  g_dbus_connection_call (self->connection, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_IFACE, "Notify",
                          g_variant_new ("(susssasa{sv}i)", "bkt", keep_id ? self->id : 0, "", summary, body,
                                         &actions, &hints, -1),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MS,
                          self->cancellable, on_notified, notifier_ref (self));
}

static char *
items_text (const char *const *items, guint max)
{
  g_autoptr(GString) s = g_string_new (NULL);
  guint n = g_strv_length ((char **) items);

  for (guint i = 0; i < n && i < max; i++)
    g_string_append_printf (s, "%s%s", i > 0 ? "\n" : "", items[i]);
  if (n > max)
    g_string_append_printf (s, "\n… and %u more", n - max);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
show_items (BktWatchNotifier *self)
{
  guint n = g_strv_length (self->shown);
  g_autofree char *summary = g_strdup_printf ("%u change%s made on this machine", n, n == 1 ? "" : "s");
  g_autofree char *list = items_text ((const char *const *) self->shown, SHOWN_ITEMS);
  g_autofree char *body = g_strdup_printf ("%s\n\n%s", list,
                                           self->has_actions > 0
                                           ? "Propose them to your distribution as one pull request, or ignore them."
                                           : "bkt capture --pr proposes them as one pull request.");
  notify (self, summary, body, TRUE, TRUE);
}

static void
on_capabilities (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(BktWatchNotifier) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_autofree const char **caps = NULL;

  if (!alive (self))
    return;
  if (reply != NULL)
    g_variant_get (reply, "(^a&s)", &caps);
  self->has_actions = caps != NULL && g_strv_contains (caps, "actions");
  if (reply == NULL)
    g_message ("watcher: no notification server (%s)", error->message);
  else if (self->shown != NULL && self->shown[0] != NULL)
    show_items (self);
}

void
bkt_watch_notifier_show (BktWatchNotifier *self, const char *const *here)
{
  if (here[0] == NULL)
    {
      /* Nothing waits any more (captured, applied, ignored). */
      if (self->id != 0 && self->shown != NULL)
        g_dbus_connection_call (self->connection, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_IFACE,
                                "CloseNotification", g_variant_new ("(u)", self->id), NULL,
                                G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MS, NULL, NULL, NULL);
      self->id = 0;
      g_clear_pointer (&self->shown, g_strfreev);
      return;
    }
  if (self->shown != NULL && g_strv_equal ((const char *const *) self->shown, here))
    return;
  g_strfreev (self->shown);
  self->shown = g_strdupv ((char **) here);
  /* Whether the server has actions decides what the notification says. */
  if (self->has_actions < 0)
    g_dbus_connection_call (self->connection, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_IFACE,
                            "GetCapabilities", NULL, G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                            CALL_TIMEOUT_MS, self->cancellable, on_capabilities, notifier_ref (self));
  else
    show_items (self);
}

/* g_ptr_array_sort passes pointers to the elements. */
static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* ---- the actions ----------------------------------------------------------------------- */

gboolean
bkt_watch_ignore (const char *const *targets, GError **error)
{
  g_autoptr(JsonObject) config = bkt_config_load (error);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonArray) out = json_array_new ();
  g_autoptr(JsonNode) node = NULL;
  JsonNode *n;

  if (config == NULL)
    return FALSE;
  n = json_object_get_member (config, "ignore");
  for (guint i = 0; n != NULL && JSON_NODE_HOLDS_ARRAY (n) && i < json_array_get_length (json_node_get_array (n)); i++)
    {
      JsonNode *e = json_array_get_element (json_node_get_array (n), i);
      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        g_ptr_array_add (all, g_strdup (json_node_get_string (e)));
    }
  for (guint i = 0; targets[i] != NULL; i++)
    if (!g_ptr_array_find_with_equal_func (all, targets[i], g_str_equal, NULL))
      g_ptr_array_add (all, g_strdup (targets[i]));
  g_ptr_array_sort (all, compare_strings);
  for (guint i = 0; i < all->len; i++)
    json_array_add_string_element (out, g_ptr_array_index (all, i));
  node = json_node_init_array (json_node_alloc (), out);
  return bkt_config_set_member ("ignore", node, error);
}

static char *
client_path (void)
{
  const char *env = g_getenv ("BKT_CLIENT_PATH");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (BKT_BINDIR, "bkt", NULL);
}

/* The PR's URL from `bkt --json capture --pr`'s output, or NULL. */
static char *
pr_url (const char *out)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *o, *pr;

  if (out == NULL || !json_parser_load_from_data (parser, out, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  o = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  pr = o != NULL && json_object_has_member (o, "pr") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "pr"))
       ? json_object_get_object_member (o, "pr") : NULL;
  return pr != NULL ? g_strdup (bkt_json_object_get_string (pr, "url")) : NULL;
}

static void
on_proposed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(BktWatchNotifier) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL, *url = NULL;
  gboolean ok = g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, &err, &error) &&
                g_subprocess_get_successful (G_SUBPROCESS (source));

  self->proposing = FALSE;
  if (!alive (self))
    return;
  if (ok)
    {
      url = pr_url (out);
      g_message ("watcher: proposed %u item(s): %s", g_strv_length (self->shown), url ? url : "(no URL)");
      notify (self, "Your changes were proposed", url ? url : "The pull request was opened.", FALSE, TRUE);
    }
  else
    {
      const char *why = error != NULL ? error->message : err != NULL && *err != '\0' ? err : "bkt capture --pr failed";
      g_message ("watcher: the proposal failed: %s", why);
      notify (self, "Your changes could not be proposed", why, FALSE, TRUE);
    }
  /* The outcome stays on screen: a later "nothing waits" must not close it. */
  self->id = 0;
  if (self->settled != NULL)
    self->settled (self->settled_data);
}

static void
propose (BktWatchNotifier *self)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;

  if (self->proposing || self->shown == NULL)
    return;
  g_ptr_array_add (argv, client_path ());
  g_ptr_array_add (argv, g_strdup ("--json"));
  g_ptr_array_add (argv, g_strdup ("capture"));
  g_ptr_array_add (argv, g_strdup ("--pr"));
  for (guint i = 0; self->shown[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup_printf ("--item=%s", self->shown[i]));
  g_ptr_array_add (argv, NULL);
  /* The client reaches this daemon on the bus that activated it. */
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL && g_getenv ("DBUS_STARTER_ADDRESS") != NULL)
    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", g_getenv ("DBUS_STARTER_ADDRESS"), TRUE);
  /* The repo is found as for the user's own commands, from the home. */
  g_subprocess_launcher_set_cwd (launcher, g_get_home_dir ());
  child = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  if (child == NULL)
    {
      notify (self, "Your changes could not be proposed", error->message, FALSE, TRUE);
      return;
    }
  self->proposing = TRUE;
  g_message ("watcher: proposing %u item(s) (bkt capture --pr)", g_strv_length (self->shown));
  g_subprocess_communicate_utf8_async (child, NULL, self->cancellable, on_proposed, notifier_ref (self));
}

static void
on_action (GDBusConnection *connection, const char *sender, const char *path, const char *iface,
           const char *signal, GVariant *params, gpointer data)
{
  BktWatchNotifier *self = data;
  guint32 id;
  const char *key;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(us)")))
    return;
  g_variant_get (params, "(u&s)", &id, &key);
  if (id == 0 || id != self->id || self->shown == NULL)
    return;
  g_message ("watcher: action “%s” on notification %u", key, id);
  if (g_str_equal (key, "propose"))
    propose (self);
  else if (g_str_equal (key, "ignore"))
    {
      g_autoptr(GError) error = NULL;
      if (!bkt_watch_ignore ((const char *const *) self->shown, &error))
        notify (self, "The changes could not be ignored", error->message, FALSE, TRUE);
      self->id = 0;
      if (self->settled != NULL)
        self->settled (self->settled_data);
    }
  else if (g_str_equal (key, "review") || g_str_equal (key, "default"))
    {
      guint n = g_strv_length (self->shown);
      g_autofree char *summary = g_strdup_printf ("%u change%s made on this machine", n, n == 1 ? "" : "s");
      g_autofree char *list = items_text ((const char *const *) self->shown, REVIEW_ITEMS);
      g_autofree char *body = g_strdup_printf ("%s\n\nbkt status shows each with its value in the manifests; "
                                               "bkt capture --pr proposes them.", list);
      notify (self, summary, body, TRUE, TRUE);
    }
}

BktWatchNotifier *
bkt_watch_notifier_new (GDBusConnection *connection, GDestroyNotify settled, gpointer data)
{
  BktWatchNotifier *self = g_rc_box_new0 (BktWatchNotifier);

  self->connection = g_object_ref (connection);
  self->cancellable = g_cancellable_new ();
  self->settled = settled;
  self->settled_data = data;
  self->has_actions = -1;
  /* Only what the notification server's owner sends (the bus resolves the
   * well-known name in the match rule). */
  self->action_sub = g_dbus_connection_signal_subscribe (connection, NOTIFICATIONS_NAME, NOTIFICATIONS_IFACE,
                                                         "ActionInvoked", NOTIFICATIONS_PATH, NULL,
                                                         G_DBUS_SIGNAL_FLAGS_NONE, on_action, notifier_ref (self),
                                                         (GDestroyNotify) notifier_unref);
  return self;
}

void
bkt_watch_notifier_free (BktWatchNotifier *self)
{
  g_cancellable_cancel (self->cancellable);
  g_dbus_connection_signal_unsubscribe (self->connection, self->action_sub);
  self->settled = NULL;
  notifier_unref (self);
}
