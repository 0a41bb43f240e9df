#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt upgrade benchmark (issue 16).  A report, not a test: the median wall
# time of `bkt upgrade --json` with a staged image (the world of
# tests/integration/test_upgrade.py: real bktd --system and --session, real
# polkitd, flatpak and GSettings; the bootc and rpm-ostree doubles), next to
# each of its sources asked alone: `bkt admin bootc status`, `rpm-ostree db
# diff --format=json` (the double) and the session's Plan (`bkt apply
# --dry-run`, one of the two upgrade asks for).  --delay S makes the
# double's db diff take S seconds, as the real one reading two rpmdbs does:
# the upgrade then costs about max(diff, plans) + bootc, not the sum.
#
# usage: tests/bench/upgrade.sh [--runs N] [--delay S] [BUILDDIR]   (root: test users, namespaces)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=15 delay=0 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --delay) delay="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "upgrade.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "upgrade.sh: --runs must be a positive number" >&2; exit 2 ;; esac
case "$delay" in ''|*[!0-9.]*) echo "upgrade.sh: --delay must be a number of seconds" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "upgrade.sh: needs root (test users, mount namespaces)" >&2; exit 2; }
export BKT_SOURCE_DIR="$srcdir" BKT_BUILD_DIR="$(cd "${builddir:-$srcdir/build}" && pwd)" BKT_TEST_QUIET=1
exec /usr/bin/python3 - "$runs" "$delay" <<'PY'
import json, os, statistics, sys, time
sys.path.insert(0, os.path.join(os.environ['BKT_SOURCE_DIR'], 'tests', 'integration'))
import bktenv
import test_upgrade as tu
from bktenv import ADMIN

runs, delay = int(sys.argv[1]), sys.argv[2]
env = bktenv.BktEnv(polkit='real', users=(ADMIN,), bootc=True, valgrind=False, name='bench-upgrade')
env.start()
try:
    deploy, changelog, state = env.path('ostree-deploy'), env.path('image-changelog'), env.path('rpm-ostree.json')
    tu.write_booted_image(env, changelog)
    p = env.run_as(ADMIN, [env.bkt, 'admin', 'bootc', 'upgrade', '-y'], quiet_ok=True)
    if p.returncode != 0:
        sys.exit('bkt admin bootc upgrade failed: %s' % p.stderr)
    st = env.bootc_state()
    tu.write_staged_tree(env, deploy, changelog, st['staged']['ostree']['checksum'])
    tu.write_rpm_ostree_state(state, {'booted': st['booted']['ostree']['checksum'],
                                      'staged': st['staged']['ostree']['checksum']})
    bktenv.make_readable(env.T)
    extra = {'BKT_RPM_OSTREE': tu.DOUBLE, 'RPM_OSTREE_DOUBLE_STATE': state, 'RPM_OSTREE_DOUBLE_DELAY': delay,
             'BKT_OSTREE_DEPLOY_DIR': deploy, 'BKT_IMAGE_CHANGELOG_DIR': changelog}
    cases = (('bkt upgrade --json', [env.bkt, 'upgrade', '--json']),
             ('bkt upgrade (text)', [env.bkt, 'upgrade']),
             ('  source: bkt admin bootc status', [env.bkt, 'admin', 'bootc', 'status']),
             ('  source: rpm-ostree db diff --format=json', [tu.DOUBLE, 'db', 'diff', '--format=json']),
             ('  source: bkt apply --dry-run (one Plan)', [env.bkt, 'apply', '--dry-run']))
    results = []
    for label, argv in cases:
        for _ in range(2):   # warm: daemons, polkit authority, page cache
            p = env.run_as(ADMIN, argv, env_extra=extra, quiet_ok=True)
            if p.returncode != 0:
                sys.exit('%s failed: %s' % (label, p.stderr))
        if label == 'bkt upgrade --json':
            doc = json.loads(p.stdout)
            assert doc['packages']['available'] and doc['manifests']['available'], doc
        times = []
        for _ in range(runs):
            t0 = time.monotonic()
            p = env.run_as(ADMIN, argv, env_extra=extra, quiet_ok=True)
            times.append((time.monotonic() - t0) * 1000)
            if p.returncode != 0:
                sys.exit('%s failed: %s' % (label, p.stderr))
        results.append((label, statistics.median(times), min(times), max(times)))
    print('bkt upgrade benchmark: %d runs each, staged image, warm daemons, db diff delay %s s' % (runs, delay))
    for label, med, lo, hi in results:
        print('  %-44s median %7.1f ms   (min %.1f, max %.1f)' % (label, med, lo, hi))
finally:
    env.stop()
PY
