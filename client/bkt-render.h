/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-client.h"
#include "bkt-reply.h"

G_BEGIN_DECLS

/* Output: text for people (a progress bar on a TTY, plain lines
 * otherwise), JSON for programs (--json, nothing else on stdout). */
typedef struct {
  gboolean    json;
  gboolean    tty;
  BktReplyPlan *plan;      /* borrowed: the plan being executed (operation summaries) */
  gboolean    bar_shown;
  guint       n_ok;
  guint       n_failed;
} BktRenderer;

void bkt_render_init (BktRenderer *r, gboolean json);

/* Callbacks for bkt_client_follow(). */
extern const BktFollowCallbacks bkt_render_follow_callbacks;

void  bkt_render_print_json   (JsonNode *node);
void  bkt_render_print_object (JsonObject *object);
void  bkt_render_plan         (BktRenderer *r, JsonObject *plan);
void  bkt_render_status       (BktRenderer *r, JsonObject *status);
/* Clears a progress bar before other output. */
void  bkt_render_end_progress (BktRenderer *r);

G_END_DECLS
