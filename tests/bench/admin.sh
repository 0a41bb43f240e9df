#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt admin benchmark (issue 4).  A report, not a test: prints the median
# wall time of `bkt admin bootc status` and `bkt admin systemctl status UNIT`
# against the test doubles (tests/doubles/bootc-double as bootc, dbusmock's systemd
# template as org.freedesktop.systemd1), with a warm bktd --system, the real
# polkitd and the shipped polkit files, as the non-wheel user.
#
# usage: tests/bench/admin.sh [--runs N] [BUILDDIR]     (root: test users, namespaces)
#
# The bootc figure includes starting the double, a python3 script (~20-30 ms
# of interpreter start-up); real bootc is a Rust binary but reads the
# ostree repository.  Everything runs in a throwaway bktenv world (see
# tests/integration/bktenv.py); nothing on the host is touched.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=15 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "admin.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "admin.sh: --runs must be a positive number" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "admin.sh: needs root (test users, mount namespaces)" >&2; exit 2; }
export BKT_SOURCE_DIR="$srcdir" BKT_BUILD_DIR="$(cd "${builddir:-$srcdir/build}" && pwd)" BKT_TEST_QUIET=1
exec /usr/bin/python3 - "$runs" <<'PY'
import os, statistics, sys, time
sys.path.insert(0, os.path.join(os.environ['BKT_SOURCE_DIR'], 'tests', 'integration'))
import bktenv
from bktenv import USER

runs = int(sys.argv[1])
env = bktenv.BktEnv(polkit='real', flatpak=False, users=(USER,), session_daemons=False, bootc=True,
                    systemd='mock', valgrind=False, name='bench-admin')
env.start()
try:
    env.systemd_mock('AddUnit', 'bkt-test.service', 'bkt test unit', 'false')
    results = []
    for label, args in (('bkt admin bootc status', ['admin', 'bootc', 'status']),
                        ('bkt admin systemctl status bkt-test', ['admin', 'systemctl', 'status', 'bkt-test'])):
        for _ in range(2):   # warm: daemon, polkit authority, page cache
            p = env.run_as(USER, [env.bkt] + args, quiet_ok=True)
            if p.returncode != 0:
                sys.exit('%s failed: %s' % (label, p.stderr))
        times = []
        for _ in range(runs):
            t0 = time.monotonic()
            p = env.run_as(USER, [env.bkt] + args, quiet_ok=True)
            times.append((time.monotonic() - t0) * 1000)
            if p.returncode != 0:
                sys.exit('%s failed: %s' % (label, p.stderr))
        results.append((label, statistics.median(times), min(times), max(times)))
    print('bkt admin benchmark: %d runs each, warm bktd --system, real polkitd, non-wheel user' % runs)
    for label, med, lo, hi in results:
        print('  %-40s median %6.1f ms   (min %.1f, max %.1f)' % (label, med, lo, hi))
finally:
    env.stop()
PY
