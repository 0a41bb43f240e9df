#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt skel benchmark (issue 15).  A report, not a test: a skel tree of N
# files (default 500, 1-4 KiB each, in 25 directories) beside the image
# manifests, the real session daemon (warm) and client, the test user's
# real home; prints the median wall time of
#   bkt skel list               (nothing at home yet)
#   bkt skel sync               (N files created; home and state record emptied before each run)
#   bkt skel sync               (in sync: nothing to do)
#   bkt skel diff               (every file changed at home by one line)
#
# usage: tests/bench/skel-sync.sh [--runs N] [--files N] [BUILDDIR]     (root: test users)
#
# Everything runs in a throwaway bktenv world (tests/integration/bktenv.py);
# nothing on the host is touched.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=9 files=500 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --files) files="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "skel-sync.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
for v in "$runs" "$files"; do
  case "$v" in ''|*[!0-9]*|0) echo "skel-sync.sh: counts must be positive numbers" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "skel-sync.sh: needs root (test users)" >&2; exit 2; }
export BKT_SOURCE_DIR="$srcdir" BKT_BUILD_DIR="$(cd "${builddir:-$srcdir/build}" && pwd)" BKT_TEST_QUIET=1
exec /usr/bin/python3 - "$runs" "$files" <<'PY'
import os, shutil, statistics, sys, time
sys.path.insert(0, os.path.join(os.environ['BKT_SOURCE_DIR'], 'tests', 'integration'))
import bktenv
from bktenv import ADMIN

runs, n_files = int(sys.argv[1]), int(sys.argv[2])
env = bktenv.BktEnv(polkit='real', flatpak=False, users=(ADMIN,), valgrind=False, name='bench-skel')
env.start()
try:
    env.write_manifests(env.image_manifests_dir, settings=[])
    skel = env.path('skel')
    rels = []
    for i in range(n_files):
        rel = '.config/bench%02d/file%04d.conf' % (i % 25, i)
        p = os.path.join(skel, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(''.join('key%d = value %d %d\n' % (k, i, k) for k in range(40 + (i % 4) * 30)))
        rels.append(rel)
    bktenv.make_readable(skel)
    home = env.home(ADMIN)
    record = env.state_record_path('user', ADMIN)

    def bkt(*args):
        t = time.monotonic()
        p = env.run_as(ADMIN, [env.bkt] + list(args), quiet_ok=True)
        elapsed = (time.monotonic() - t) * 1000
        if p.returncode != 0:
            sys.exit('bkt %s failed (%d): %s' % (' '.join(args), p.returncode, p.stderr[-2000:]))
        return elapsed, p.stdout

    def clean_home():
        shutil.rmtree(os.path.join(home, '.config'), ignore_errors=True)
        if os.path.exists(record):
            os.unlink(record)

    results = []
    for label, prepare, args in (
            ('bkt skel list (%d missing)' % n_files, clean_home, ['skel', 'list']),
            ('bkt skel sync (%d created)' % n_files, clean_home, ['skel', 'sync']),
            ('bkt skel sync (%d in sync)' % n_files, None, ['skel', 'sync']),
            ('bkt skel diff (%d changed)' % n_files, None, ['skel', 'diff'])):
        if label.startswith('bkt skel diff'):
            for rel in rels:
                with open(os.path.join(home, rel), 'a') as f:
                    f.write('# changed here\n')
        times = []
        for r in range(runs + 1):
            if prepare:
                prepare()
            ms, out = bkt(*args)
            if r > 0:   # the first run warms the daemon and the page cache
                times.append(ms)
        if label.startswith('bkt skel sync (%d created' % n_files):
            missing = [r for r in rels if not os.path.exists(os.path.join(home, r))]
            assert not missing, missing[:3]
        if label.startswith('bkt skel diff'):
            assert out.count('+# changed here') == n_files, out[-500:]
        results.append((label, statistics.median(times), min(times), max(times)))
    print('\nbkt skel benchmark - %s, %d CPU(s), %d runs each (warm daemon)'
          % (time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), os.cpu_count(), runs))
    for label, med, lo, hi in results:
        print('%-34s median %7.1f ms  (min %.1f, max %.1f)' % (label, med, lo, hi))
finally:
    env.stop()
PY
