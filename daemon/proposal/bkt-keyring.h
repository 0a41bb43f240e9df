/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  BKT_KEYRING_FOUND,
  BKT_KEYRING_NONE,      /* no Secret Service running, or no such item */
  BKT_KEYRING_LOCKED,    /* the item exists but its collection is locked */
} BktKeyringResult;

/* gh's token for @host ("github.com") from the Secret Service
 * (org.freedesktop.secrets on the session bus), where gh ≥ 2.24 keeps it
 * through zalando/go-keyring: attributes {"service": "gh:HOST",
 * "username": USER}, the active account's with an empty username.  Only a
 * running service is asked (never started), every call is bounded by a
 * timeout, and nothing is unlocked: a locked item is BKT_KEYRING_LOCKED,
 * for the preflight to say so.  *@token is set only when FOUND. */
BktKeyringResult bkt_keyring_gh_token (const char *host, char **token);

G_END_DECLS
