/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The user's settings: $XDG_CONFIG_HOME/bkt/config.json, an optional JSON
 * object (keys in docs/environment.md).  Read each time it is asked for:
 * it is tiny, and the session daemon lives long enough for the user to
 * edit it between two commands. */

/* A small JSON object file (config.json, repo.json): NULL without error
 * when it does not exist; BKT_ERROR_INVALID_ARGUMENT naming the file when
 * it exists but is broken (silently ignoring it would put things
 * elsewhere). */
JsonObject *bkt_config_load_file (const char *path, GError **error);

/* The path of config.json. */
char *bkt_config_path (void);

/* The parsed object; an empty one when the file does not exist.  A file
 * that exists but is broken is BKT_ERROR_INVALID_ARGUMENT with its path:
 * silently ignoring the user's settings would put things elsewhere. */
JsonObject *bkt_config_load (GError **error);

/* A string setting: $@env when set and not empty (tests, one-off runs),
 * else @key of config.json when it is a string, else NULL (use the
 * default).  "~/" at the start of a value from config.json is the home
 * directory when @is_path.  A key of another type is an error. */
char *bkt_config_setting (const char *env, const char *key, gboolean is_path, GError **error);

/* Sets @key of config.json to @value (copied), keeping every other member
 * (their formatting is not kept: the file is written anew, atomically,
 * mode 0600).  A broken file is an error and is left as it is. */
gboolean bkt_config_set_member (const char *key, JsonNode *value, GError **error);

G_END_DECLS
