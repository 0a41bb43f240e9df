/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-subsystem.h"

G_BEGIN_DECLS

/* Layered RPM packages (manifests/system-packages.json) through
 * rpm-ostree's CLI.  System scope only: the session reads
 * `rpm-ostree status --json` (no privilege needed) to plan and show
 * status; bktd --system re-plans and runs the one batched
 * `rpm-ostree install|uninstall` after polkit (org.bkt.packages). */
#define BKT_TYPE_DNF (bkt_dnf_get_type ())
G_DECLARE_FINAL_TYPE (BktDnf, bkt_dnf, BKT, DNF, GObject)

BktSubsystem *bkt_dnf_new (void);

G_END_DECLS
