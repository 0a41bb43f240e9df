/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-daemon.h"

/* bktd: everything is in the service library (daemon/service), which the
 * unit tests link too. */
int
main (int argc, char **argv)
{
  return bkt_daemon_main (argc, argv);
}
