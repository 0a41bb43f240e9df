#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt COPR benchmark (issue 5).  A report, not a test: prints the median wall
# time of `bkt dnf copr list` and of `bkt dnf sync` for N COPR projects in
# copr_repos — in sync (nothing to write), and with every repo file missing
# (bktd --system writes N files in one transaction) — with warm daemons, the
# real polkitd and the shipped polkit files, as the wheel user.
#
# usage: tests/bench/copr.sh [--runs N] [--repos N] [BUILDDIR]   (root: test users, namespaces)
#
# rpm-ostree is tests/doubles/rpm-ostree-double (a python3 script: ~20-30 ms of
# interpreter start-up per `status --json`, which every plan runs once);
# no packages are declared, so sync layers nothing.  The repo directory is
# a throwaway one ($BKT_YUM_REPOS_DIR); nothing on the host is touched.
set -euo pipefail
if locale -a 2>/dev/null | grep -qix "c.utf-\?8"; then export LC_ALL=C.UTF-8; else export LC_ALL=C; fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=11 repos=50 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --repos) repos="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "copr.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
for v in "$runs" "$repos"; do
  case "$v" in ''|*[!0-9]*|0) echo "copr.sh: --runs and --repos must be positive numbers" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "copr.sh: needs root (test users, mount namespaces)" >&2; exit 2; }
export BKT_SOURCE_DIR="$srcdir" BKT_BUILD_DIR="$(cd "${builddir:-$srcdir/build}" && pwd)" BKT_TEST_QUIET=1
exec /usr/bin/python3 - "$runs" "$repos" <<'PY'
import json, os, shutil, statistics, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ['BKT_SOURCE_DIR'], 'tests', 'integration'))
import bktenv
from bktenv import ADMIN

runs, n = int(sys.argv[1]), int(sys.argv[2])
tmp = tempfile.mkdtemp(prefix='bkt-bench-copr-', dir='/tmp')
os.chmod(tmp, 0o1777)
repos_dir = os.path.join(tmp, 'yum.repos.d')
os.makedirs(repos_dir)
os.chmod(repos_dir, 0o755)
state = os.path.join(tmp, 'state.json')
with open(state, 'w') as f:
    json.dump({'booted': [], 'staged': None, 'available': None}, f)
os.chmod(state, 0o666)
env = bktenv.BktEnv(polkit='real', flatpak=False, users=(ADMIN,), valgrind=False, name='bench-copr',
                    extra_env={'BKT_RPM_OSTREE': os.path.join(os.environ['BKT_SOURCE_DIR'], 'tests', 'doubles', 'rpm-ostree-double'),
                               'BKT_YUM_REPOS_DIR': repos_dir, 'RPM_OSTREE_DOUBLE_STATE': state,
                               'RPM_OSTREE_DOUBLE_LOG': os.path.join(tmp, 'rpm-ostree.log')})
env.start()


def timed(label, args, before=None):
    times = []
    for i in range(runs + 2):
        if before:
            before()
        t0 = time.monotonic()
        p = env.run_as(ADMIN, [env.bkt] + args, quiet_ok=True)
        dt = (time.monotonic() - t0) * 1000
        if p.returncode != 0:
            sys.exit('%s failed: %s' % (label, p.stderr))
        if i >= 2:   # the first two warm the daemons, polkit and the page cache
            times.append(dt)
    return label, statistics.median(times), min(times), max(times)


def drop_all():
    for f in os.listdir(repos_dir):
        os.unlink(os.path.join(repos_dir, f))


try:
    udir = env.overlay_dir(ADMIN)
    os.makedirs(udir, exist_ok=True)
    with open(os.path.join(udir, 'system-packages.json'), 'w') as f:
        json.dump({'packages': [], 'copr_repos': [{'name': 'owner%03d/project' % i, 'enabled': i % 5 != 0,
                                                   'gpg_check': True} for i in range(n)]}, f, indent=2)
    bktenv.chown_tree(env.config_home(ADMIN), ADMIN)
    results = [timed('bkt dnf sync (%d repo files missing)' % n, ['dnf', 'sync'], before=drop_all)]
    if len(os.listdir(repos_dir)) != n:
        sys.exit('sync wrote %d repo files, expected %d' % (len(os.listdir(repos_dir)), n))
    results.append(timed('bkt dnf sync (in sync)', ['dnf', 'sync']))
    results.append(timed('bkt dnf copr list', ['dnf', 'copr', 'list']))
    print('bkt COPR benchmark: %d runs each, %d COPR projects, warm daemons, real polkitd, wheel user'
          % (runs, n))
    for label, med, lo, hi in results:
        print('  %-44s median %6.1f ms   (min %.1f, max %.1f)' % (label, med, lo, hi))
finally:
    env.stop()
    shutil.rmtree(tmp, True)
PY
