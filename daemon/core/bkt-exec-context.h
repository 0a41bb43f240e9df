/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-operation.h"

G_BEGIN_DECLS

/* What an executing subsystem reports to: progress and one result per
 * operation.  Subsystems execute in a worker thread; the context's owner
 * (a transaction) marshals these to the main thread itself, so subsystems
 * call them freely from any thread. */
typedef struct _BktExecContext BktExecContext;

typedef struct {
  /* @fraction: progress of @op, 0..1. @detail may be NULL. */
  void (*progress)  (gpointer user_data, BktOperation *op, double fraction, const char *detail);
  /* @error NULL on success. */
  void (*op_done)   (gpointer user_data, BktOperation *op, const GError *error);
  void (*message)   (gpointer user_data, const char *text);
} BktExecCallbacks;

BktExecContext *bkt_exec_context_new   (const BktExecCallbacks *callbacks, gpointer user_data);
void            bkt_exec_context_free  (BktExecContext *ctx);

void bkt_exec_context_progress (BktExecContext *ctx, BktOperation *op, double fraction, const char *detail);
void bkt_exec_context_op_done  (BktExecContext *ctx, BktOperation *op, const GError *error);
void bkt_exec_context_message  (BktExecContext *ctx, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* How many operations reported failure so far. */
guint bkt_exec_context_get_n_failed (BktExecContext *ctx);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BktExecContext, bkt_exec_context_free)

G_END_DECLS
