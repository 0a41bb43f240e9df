/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-idle.h"

struct _BktIdle
{
  GObject  parent_instance;
  guint    timeout;
  guint    timer_id;
  guint    n_locks;
  gboolean started;
};

struct _BktIdleLocker
{
  BktIdle *idle;
  char    *reason;
};

enum { SIGNAL_TIMEOUT, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (BktIdle, bkt_idle, G_TYPE_OBJECT)

static void
bkt_idle_dispose (GObject *object)
{
  BktIdle *self = BKT_IDLE (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
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

static gboolean
on_timer (gpointer user_data)
{
  BktIdle *self = user_data;

  self->timer_id = 0;
  g_message ("no clients for %u seconds, exiting", self->timeout);
  g_signal_emit (self, signals[SIGNAL_TIMEOUT], 0);
  return G_SOURCE_REMOVE;
}

/* The timer counts from the moment the last lock went away. */
static void
rearm (BktIdle *self)
{
  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->started && self->timeout > 0 && self->n_locks == 0)
    self->timer_id = g_timeout_add_seconds (self->timeout, on_timer, self);
}

void
bkt_idle_start (BktIdle *self)
{
  self->started = TRUE;
  rearm (self);
}

guint
bkt_idle_get_n_locks (BktIdle *self)
{
  return self->n_locks;
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
