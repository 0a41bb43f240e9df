/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-engine.h"

G_BEGIN_DECLS

/* A profile: this machine's state, every subsystem the engine selected,
 * as comparable items (bkt profile; docs/profile.md).
 *
 *   {"subsystems": {NAME: {"TARGET@SCOPE": VALUE, …}},
 *    "manifests":  {NAME: {"TARGET@SCOPE": VALUE, …}}}
 *
 * "subsystems" is the live side, "manifests" what @manifests declare, with
 * the same keys and values where they agree.  A VALUE is the fingerprint
 * the three-way sync compares (bkt-state-record.h: a printed GVariant, a
 * flatpak's origin, a file's checksum…); a subsystem that does not
 * classify items (dnf, toolbox) gives "present" for each item its capture
 * would record into empty manifests, and declares the items its manifests
 * list that are live or that apply would install. */
#define BKT_PROFILE_FORMAT_VERSION 1

JsonObject *bkt_profile_collect (BktEngine *engine, BktManifestSet *manifests, GCancellable *c, GError **error);

G_END_DECLS
