#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt upstream benchmark (issue 7).  A report, not a test: prints the median
# wall time of `bkt upstream check` for N upstreams against a local
# GitHub-like server (the one of tests/integration/test_upstream.py) that
# answers each API request after DELAY ms, the way a distant API does:
# concurrent (the default: every request in flight at once on one
# SoupSession) against --sequential (one request after the other), and a
# second, cached check (ETag, 304 Not Modified) of each.
#
# usage: tests/bench/upstream.sh [--upstreams N] [--delay MS] [--runs R] [BUILDDIR]
#
# No root needed; everything (HOME, XDG dirs, the repo) is in a temporary
# directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
n=20 delay=100 runs=5 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --upstreams) n="${2:?}"; shift 2 ;;
    --delay) delay="${2:?}"; shift 2 ;;
    --runs) runs="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "upstream.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
for v in "$n" "$delay" "$runs"; do
  case "$v" in ''|*[!0-9]*|0) echo "upstream.sh: numbers must be positive" >&2; exit 2 ;; esac
done
export BKT_SOURCE_DIR="$srcdir" BKT_BUILD_DIR="$(cd "${builddir:-$srcdir/build}" && pwd)"
exec /usr/bin/python3 - "$n" "$delay" "$runs" <<'PY'
import json, os, shutil, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ['BKT_SOURCE_DIR'], 'tests', 'integration'))
from test_upstream import FakeGitHub, upstream, BKT

n, delay, runs = (int(a) for a in sys.argv[1:4])
tmp = tempfile.mkdtemp(prefix='bkt-bench-upstream-')
try:
    gh = FakeGitHub(delay=delay / 1000.0)
    ups = []
    for i in range(n):
        repo = 'bench/tool%d' % i
        for tag in ('v1.0.0', 'v1.0.1', 'v1.1.0', 'v2.0.0'):
            gh.release(repo, tag, [('tool-linux.tar.gz', tag.encode())])
        ups.append(upstream('tool%d' % i, repo, 'v1.0.0', 'minor'))
    repo = os.path.join(tmp, 'distro')
    os.makedirs(os.path.join(repo, 'manifests'))
    os.makedirs(os.path.join(repo, 'upstream'))
    with open(os.path.join(repo, 'upstream', 'manifest.json'), 'w') as f:
        json.dump({'upstreams': ups}, f, indent=2)
    subprocess.run(['git', 'init', '-q', repo], check=True)
    env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp + '/config', XDG_CACHE_HOME=tmp + '/cache',
               XDG_DATA_HOME=tmp + '/data', BKT_GITHUB_API=gh.api, BKT_REPO_JSON=tmp + '/none.json')
    env.pop('GITHUB_TOKEN', None)
    env.pop('GH_TOKEN', None)

    def timed(*extra, cached):
        times = []
        for _ in range(runs):
            if not cached:
                shutil.rmtree(tmp + '/cache', ignore_errors=True)
            t0 = time.monotonic()
            r = subprocess.run([BKT, 'upstream', 'check', '--json'] + list(extra), cwd=repo, env=env,
                               capture_output=True, text=True)
            times.append((time.monotonic() - t0) * 1000)
            if r.returncode != 0:
                sys.exit('bkt upstream check failed: ' + r.stderr)
            states = {u['state'] for u in json.loads(r.stdout)['upstreams']}
            assert states == {'update-available'}, states
        return statistics.median(times), min(times), max(times)

    print('bkt upstream check: %d upstreams, server delay %d ms per request, %d runs, median (min-max)'
          % (n, delay, runs))
    rows = []
    for label, extra in (('concurrent', ()), ('sequential', ('--sequential',))):
        gh.max_in_flight = 0
        cold = timed(*extra, cached=False)
        in_flight = gh.max_in_flight
        timed(*extra, cached=True)  # warm the cache
        warm = timed(*extra, cached=True)
        rows.append((label, cold, warm, in_flight))
    for label, cold, warm, in_flight in rows:
        print('  %-10s  cold %7.1f ms (%.1f-%.1f)   cached (304) %7.1f ms (%.1f-%.1f)   max in flight %d'
              % ((label,) + cold + warm + (in_flight,)))
    print('  speed-up (cold): %.1fx' % (rows[1][1][0] / rows[0][1][0]))
    gh.stop()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
PY
