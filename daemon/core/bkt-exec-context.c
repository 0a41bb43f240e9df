/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>

#include "bkt-exec-context.h"

struct _BktExecContext
{
  BktExecCallbacks callbacks;
  gpointer         user_data;
  /* Subsystems may report from worker threads. */
  gint             n_failed;
};

BktExecContext *
bkt_exec_context_new (const BktExecCallbacks *callbacks, gpointer user_data)
{
  BktExecContext *ctx = g_new0 (BktExecContext, 1);

  if (callbacks != NULL)
    ctx->callbacks = *callbacks;
  ctx->user_data = user_data;
  return ctx;
}

void
bkt_exec_context_free (BktExecContext *ctx)
{
  g_free (ctx);
}

void
bkt_exec_context_progress (BktExecContext *ctx, BktOperation *op, double fraction, const char *detail)
{
  if (ctx->callbacks.progress != NULL)
    ctx->callbacks.progress (ctx->user_data, op, CLAMP (fraction, 0.0, 1.0), detail);
}

void
bkt_exec_context_op_done (BktExecContext *ctx, BktOperation *op, const GError *error)
{
  if (error != NULL)
    g_atomic_int_inc (&ctx->n_failed);
  if (ctx->callbacks.op_done != NULL)
    ctx->callbacks.op_done (ctx->user_data, op, error);
}

void
bkt_exec_context_message (BktExecContext *ctx, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (ctx->callbacks.message != NULL)
    ctx->callbacks.message (ctx->user_data, text);
}

guint
bkt_exec_context_get_n_failed (BktExecContext *ctx)
{
  return (guint) g_atomic_int_get (&ctx->n_failed);
}
