/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-idle.h"

/* The method calls that reached the connection and are not answered yet.
 * Kept by a connection filter, which GDBus runs in its worker thread for
 * every message in and out: a call is counted when it arrives, before GDBus
 * schedules it (and, on the system instance, before the bounds check that
 * runs in a thread of its own), and uncounted when its reply or error goes
 * out.  So "no call in flight" is exact, whichever hops a call takes before
 * its handler takes a BktIdleLocker.  Shared with the filter, hence
 * reference-counted: GDBus may still run a removed filter once. */
typedef struct {
  gatomicrefcount ref;
  GMutex          lock;
  GHashTable     *calls;     /* "SENDER SERIAL" of each call awaiting a reply */
  GWeakRef        idle;
  GMainContext   *context;
} CallTracker;

struct _BktIdle
{
  GObject          parent_instance;
  guint            timeout;
  guint            timer_id;
  guint            n_locks;
  gboolean         started;
  gboolean         draining;   /* the bus name is gone: leave as soon as nothing holds us */
  CallTracker     *tracker;
  GDBusConnection *connection;
  guint            filter_id;
};

struct _BktIdleLocker
{
  BktIdle *idle;
  char    *reason;
};

enum { SIGNAL_TIMEOUT, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (BktIdle, bkt_idle, G_TYPE_OBJECT)

static void rearm (BktIdle *self);

static CallTracker *
tracker_ref (CallTracker *t)
{
  g_atomic_ref_count_inc (&t->ref);
  return t;
}

static void
tracker_unref (gpointer data)
{
  CallTracker *t = data;

  if (!g_atomic_ref_count_dec (&t->ref))
    return;
  g_hash_table_unref (t->calls);
  g_weak_ref_clear (&t->idle);
  g_main_context_unref (t->context);
  g_mutex_clear (&t->lock);
  g_free (t);
}

static guint
tracker_n_calls (CallTracker *t)
{
  guint n;

  if (t == NULL)
    return 0;
  g_mutex_lock (&t->lock);
  n = g_hash_table_size (t->calls);
  g_mutex_unlock (&t->lock);
  return n;
}

/* Main context: the count went from 0 to 1 or back. */
static gboolean
on_calls_changed (gpointer data)
{
  CallTracker *t = data;
  g_autoptr(BktIdle) idle = g_weak_ref_get (&t->idle);

  if (idle != NULL)
    rearm (idle);
  return G_SOURCE_REMOVE;
}

/* GDBus's worker thread. */
static GDBusMessage *
on_message (GDBusConnection *connection, GDBusMessage *message, gboolean incoming, gpointer data)
{
  CallTracker *t = data;
  GDBusMessageType type = g_dbus_message_get_message_type (message);
  g_autofree char *key = NULL;
  gboolean changed = FALSE;

  /* A call without a reply expected gets none: nothing to wait for. */
  if (incoming && type == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
      (g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED) == 0)
    key = g_strdup_printf ("%s %u", g_dbus_message_get_sender (message) ?: "",
                           g_dbus_message_get_serial (message));
  else if (!incoming && (type == G_DBUS_MESSAGE_TYPE_METHOD_RETURN || type == G_DBUS_MESSAGE_TYPE_ERROR))
    key = g_strdup_printf ("%s %u", g_dbus_message_get_destination (message) ?: "",
                           g_dbus_message_get_reply_serial (message));
  if (key == NULL)
    return message;

  g_mutex_lock (&t->lock);
  if (incoming)
    changed = g_hash_table_add (t->calls, g_steal_pointer (&key)) && g_hash_table_size (t->calls) == 1;
  else
    changed = g_hash_table_remove (t->calls, key) && g_hash_table_size (t->calls) == 0;
  g_mutex_unlock (&t->lock);
  if (changed)
    g_main_context_invoke_full (t->context, G_PRIORITY_DEFAULT, on_calls_changed, tracker_ref (t),
                                tracker_unref);
  return message;
}

static void
bkt_idle_dispose (GObject *object)
{
  BktIdle *self = BKT_IDLE (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->filter_id != 0)
    {
      g_dbus_connection_remove_filter (self->connection, self->filter_id);
      self->filter_id = 0;
    }
  g_clear_object (&self->connection);
  if (self->tracker != NULL)
    {
      g_weak_ref_set (&self->tracker->idle, NULL);
      g_clear_pointer (&self->tracker, tracker_unref);
    }
  G_OBJECT_CLASS (bkt_idle_parent_class)->dispose (object);
}

static void
bkt_idle_class_init (BktIdleClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = bkt_idle_dispose;
  signals[SIGNAL_TIMEOUT] = g_signal_new ("timeout", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bkt_idle_init (BktIdle *self)
{
}

BktIdle *
bkt_idle_new (guint timeout_seconds)
{
  BktIdle *self = g_object_new (BKT_TYPE_IDLE, NULL);

  self->timeout = timeout_seconds;
  return self;
}

void
bkt_idle_watch_calls (BktIdle *self, GDBusConnection *connection)
{
  CallTracker *t;

  g_return_if_fail (self->tracker == NULL);
  t = g_new0 (CallTracker, 1);
  g_atomic_ref_count_init (&t->ref);
  g_mutex_init (&t->lock);
  t->calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_weak_ref_init (&t->idle, self);
  t->context = g_main_context_ref_thread_default ();
  self->tracker = t;
  self->connection = g_object_ref (connection);
  self->filter_id = g_dbus_connection_add_filter (connection, on_message, tracker_ref (t), tracker_unref);
}

static gboolean
busy (BktIdle *self)
{
  return self->n_locks > 0 || tracker_n_calls (self->tracker) > 0;
}

static gboolean
on_timer (gpointer user_data)
{
  BktIdle *self = user_data;

  self->timer_id = 0;
  /* A call counted by the filter whose on_calls_changed has not run yet. */
  if (busy (self))
    return G_SOURCE_REMOVE;
  if (self->draining)
    g_message ("the last call of this instance is answered, exiting");
  else
    g_message ("no clients for %u seconds, releasing the bus name", self->timeout);
  g_signal_emit (self, signals[SIGNAL_TIMEOUT], 0);
  return G_SOURCE_REMOVE;
}

/* The timer counts from the moment the last lock went away and the last
 * call was answered.  Draining, there is nothing to wait for: fire once
 * the main context has nothing more urgent to do. */
static void
rearm (BktIdle *self)
{
  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (!self->started || busy (self))
    return;
  if (self->draining)
    self->timer_id = g_idle_add_full (G_PRIORITY_LOW, on_timer, self, NULL);
  else if (self->timeout > 0)
    self->timer_id = g_timeout_add_seconds (self->timeout, on_timer, self);
}

void
bkt_idle_start (BktIdle *self)
{
  self->started = TRUE;
  rearm (self);
}

void
bkt_idle_drain (BktIdle *self)
{
  self->draining = TRUE;
  self->started = TRUE;
  rearm (self);
}

guint
bkt_idle_get_n_locks (BktIdle *self)
{
  return self->n_locks;
}

guint
bkt_idle_get_n_calls (BktIdle *self)
{
  return tracker_n_calls (self->tracker);
}

BktIdleLocker *
bkt_idle_locker_new (BktIdle *idle, const char *reason)
{
  BktIdleLocker *locker = g_new0 (BktIdleLocker, 1);

  locker->idle = g_object_ref (idle);
  locker->reason = g_strdup (reason);
  idle->n_locks++;
  g_debug ("idle: held by %s (%u)", reason, idle->n_locks);
  rearm (idle);
  return locker;
}

void
bkt_idle_locker_free (BktIdleLocker *locker)
{
  BktIdle *idle;

  if (locker == NULL)
    return;
  idle = locker->idle;
  g_assert (idle->n_locks > 0);
  idle->n_locks--;
  g_debug ("idle: released by %s (%u)", locker->reason, idle->n_locks);
  rearm (idle);
  g_object_unref (idle);
  g_free (locker->reason);
  g_free (locker);
}
