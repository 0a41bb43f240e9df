/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-daemon-private.h"
#include "bkt-profile.h"

/* Manager.Profile (session instance): this machine's state for every
 * subsystem the options select, and what the manifests declare of it
 * (bkt-profile.h), read-only.  The client adds the header (version, host,
 * time) and writes the file (bkt profile capture). */
gboolean
bkt_compute_profile (Request *r, GCancellable *c, GError **error)
{
  r->out.manifests = bkt_daemon_load_manifests (r, error);
  if (r->out.manifests == NULL)
    return FALSE;
  r->out.engine = bkt_engine_new (r->daemon->instance, (const char * const *) r->opt.only,
                                  (const char * const *) r->opt.exclude, error);
  if (r->out.engine == NULL)
    return FALSE;
  r->out.status = bkt_profile_collect (r->out.engine, r->out.manifests, c, error);
  if (r->out.status == NULL)
    return FALSE;
  json_object_set_int_member (r->out.status, "version", BKT_PROFILE_FORMAT_VERSION);
  json_object_set_string_member (r->out.status, "bktd", PACKAGE_VERSION);
  return TRUE;
}
