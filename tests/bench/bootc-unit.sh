#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What running bootc in a transient systemd unit costs (issue 4).  A report,
# not a test: the median wall time of `bkt admin bootc upgrade -y` and
# `bkt admin bootc rollback -y` as the wheel user, with bootc run
#   * as bktd --system's child (no systemd manager on the bus), and
#   * in a transient service of the REAL systemd manager (`systemd --user`
#     owning org.freedesktop.systemd1 on the private system bus, as in
#     test_admin_bootc_unit), memfd streams polled every 100 ms.
# bootc is tests/doubles/bootc-double (python3, ~20-30 ms of start-up per run).
#
# usage: tests/bench/bootc-unit.sh [--runs N] [BUILDDIR]   (root: test users, namespaces, cgroups)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=10 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "bootc-unit.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "bootc-unit.sh: --runs must be a positive number" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "bootc-unit.sh: needs root (test users, mount namespaces)" >&2; exit 2; }
export BKT_SOURCE_DIR="$srcdir" BKT_BUILD_DIR="$(cd "${builddir:-$srcdir/build}" && pwd)" BKT_TEST_QUIET=1
exec /usr/bin/python3 - "$runs" <<'PY'
import os, statistics, sys, time
sys.path.insert(0, os.path.join(os.environ['BKT_SOURCE_DIR'], 'tests', 'integration'))
import bktenv
from bktenv import ADMIN

runs = int(sys.argv[1])


def measure(env, args):
    times = []
    for i in range(runs + 2):          # two warm-up runs
        env.reset_bootc()
        env.set_bootc_mode('')
        t0 = time.monotonic()
        p = env.run_as(ADMIN, [env.bkt] + args, quiet_ok=True)
        dt = (time.monotonic() - t0) * 1000
        if p.returncode != 0:
            sys.exit('bkt %s failed: %s' % (' '.join(args), p.stderr))
        if i >= 2:
            times.append(dt)
    return statistics.median(times), min(times), max(times)


rows = []
for mode, systemd in (('child of bktd', None), ('transient unit', 'real')):
    if systemd == 'real':
        why = bktenv.real_systemd_unavailable()
        if why:
            print('transient unit: not measured (%s)' % why)
            continue
    env = bktenv.BktEnv(polkit='real', flatpak=False, bootc=True, systemd=systemd, valgrind=False,
                        name='bench-bootc-unit')
    env.start()
    try:
        for label, args in (('upgrade -y', ['admin', 'bootc', 'upgrade', '-y']),
                            ('rollback -y', ['admin', 'bootc', 'rollback', '-y'])):
            rows.append((mode, label) + measure(env, args))
    finally:
        env.stop()
print('bkt admin bootc, %d runs each, warm bktd --system, real polkitd, wheel user' % runs)
for mode, label, med, lo, hi in rows:
    print('  %-16s %-12s median %6.1f ms   (min %.1f, max %.1f)' % (mode, label, med, lo, hi))
PY
