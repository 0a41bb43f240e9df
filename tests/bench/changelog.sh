#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt changelog benchmark (issue 7).  A report, not a test: prints the
# median wall time of
#   * `bkt changelog generate --json` on a repo whose branch changes many
#     manifest items (N flatpak apps, N gsettings, N/2 packages, N/4
#     extensions and shims, added, removed and changed, over real git history;
#     half of the flatpak changes covered by pending entries),
#   * `bkt changelog generate --write` once (the drafts written),
#   * `bkt changelog motd` with something new (V image versions, the seen
#     record one behind) and with nothing new (the login path),
# with no daemon and no session bus, as CI and a login shell run them.
#
# usage: tests/bench/changelog.sh [--runs N] [--items N] [--versions V] [BUILDDIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=15 items=500 versions=200 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --items) items="${2:?}"; shift 2 ;;
    --versions) versions="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "changelog.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
for n in "$runs" "$items" "$versions"; do
  case "$n" in ''|*[!0-9]*|0) echo "changelog.sh: --runs, --items and --versions must be positive numbers" >&2; exit 2 ;; esac
done
bkt="$(cd "${builddir:-$srcdir/build}" && pwd)/client/bkt"
[ -x "$bkt" ] || { echo "changelog.sh: $bkt is not built" >&2; exit 2; }
exec python3 - "$bkt" "$runs" "$items" "$versions" <<'PY'
import json, os, shutil, statistics, subprocess, sys, tempfile, time

bkt, runs, items, versions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
tmp = tempfile.mkdtemp(prefix='bkt-bench-changelog-')
repo = os.path.join(tmp, 'repo')
env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=os.path.join(tmp, 'config'), XDG_STATE_HOME=os.path.join(tmp, 'state'),
           BKT_REPO_JSON=os.path.join(tmp, 'none.json'), BKT_IMAGE_CHANGELOG_DIR=os.path.join(tmp, 'image'),
           DBUS_SESSION_BUS_ADDRESS='unix:path=' + os.path.join(tmp, 'no-bus'), LC_ALL='C.UTF-8')
env.pop('BKT_NOW', None)


def git(*args):
    subprocess.run(['git', '-C', repo, '-c', 'user.name=B', '-c', 'user.email=b@example.org'] + list(args),
                   check=True, capture_output=True)


def write(rel, doc):
    p = os.path.join(repo, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'w') as f:
        json.dump(doc, f, indent=2)


def manifests(gen):
    """Generation 0 and 1 differ in a third of every list: removed, changed, added."""
    def ids(n, prefix):
        lo = (n // 3) * gen
        return ['%s%05d' % (prefix, i) for i in range(lo, lo + n)]
    write('manifests/flatpak-apps.json', {'apps': [
        {'id': a, 'remote': 'flathub', 'scope': 'system' if gen == 0 or i % 2 else 'user'}
        for i, a in enumerate(ids(items, 'org.bench.App'))]})
    write('manifests/gsettings.json', {'settings': [
        {'schema': 'org.bench', 'key': k, 'value': "'v%d'" % (gen if i % 2 else 0)}
        for i, k in enumerate(ids(items, 'key-'))]})
    write('manifests/system-packages.json', {'packages': ids(items // 2, 'pkg-'), 'groups': [], 'excluded': [],
                                             'copr_repos': []})
    write('manifests/gnome-extensions.json', {'extensions': ['%s@bench' % e for e in ids(items // 4, 'ext')]})
    write('manifests/host-shims.json', {'shims': [{'name': s} for s in ids(items // 4, 'shim')]})


def timed(args, n):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        r = subprocess.run([bkt] + args, cwd=repo, env=env, capture_output=True, text=True)
        times.append(time.monotonic() - t0)
        if r.returncode != 0:
            sys.exit('bkt %s failed: %s' % (' '.join(args), r.stderr))
    return statistics.median(times) * 1000, r


try:
    os.makedirs(repo)
    manifests(0)
    git('init', '-q', '-b', 'main')
    git('add', '.')
    git('commit', '-q', '-m', 'generation 0')
    git('checkout', '-q', '-b', 'topic')
    manifests(1)
    git('commit', '-q', '-am', 'generation 1')
    # half of the new flatpaks are covered by entries punned PRs carried
    for i in range(0, items // 3, 2):
        subprocess.run([bkt, 'changelog', 'add', 'added', 'flatpak', 'add flatpak org.bench.App%05d' % (items + i),
                        '--draft'], cwd=repo, env=env, check=True, capture_output=True)
    ms, r = timed(['changelog', 'generate', '--json'], runs)
    out = json.loads(r.stdout)
    print('generate: %d entries (%d covered) from manifests of %d items: median %.1f ms over %d runs'
          % (len(out['entries']), out['covered'], 3 * items, ms, runs))
    ms, r = timed(['changelog', 'generate', '--write', '--json'], 1)
    print('generate --write: %d draft entries written in %.1f ms' % (len(json.loads(r.stdout)['written']), ms))
    ms, r = timed(['changelog', 'generate', '--json'], runs)
    print('generate after --write: %d new entries: median %.1f ms' % (len(json.loads(r.stdout)['entries']), ms))

    vdir = os.path.join(tmp, 'image', 'versions')
    os.makedirs(vdir)
    for v in range(versions):
        name = '2026.%02d.%02d.%d' % (1 + v // 28 % 12, 1 + v % 28, 1 + v // 336)
        with open(os.path.join(vdir, name + '.json'), 'w') as f:
            json.dump({'version': name, 'date': '2026-01-01', 'entries': [
                {'timestamp': '2026-01-01T00:00:00Z', 'type': 'added', 'category': 'flatpak',
                 'message': 'Entry %d of %s' % (e, name)} for e in range(20)], 'manual_steps': ['Step']}, f)
    names = sorted(n[:-5] for n in os.listdir(vdir))
    names.sort(key=lambda n: [int(x) for x in n.split('.')])
    seen = os.path.join(tmp, 'state', 'bkt', 'motd-seen')
    os.makedirs(os.path.dirname(seen))
    new_times = []
    for _ in range(runs):
        with open(seen, 'w') as f:
            f.write(names[-2] + '\n')
        t0 = time.monotonic()
        subprocess.run([bkt, 'changelog', 'motd'], env=env, check=True, capture_output=True)
        new_times.append(time.monotonic() - t0)
    print('motd, one new version of %d shipped (20 entries each): median %.1f ms'
          % (versions, statistics.median(new_times) * 1000))
    ms, r = timed(['changelog', 'motd'], runs)
    assert r.stdout == '', r.stdout
    print('motd, nothing new (every later login): median %.1f ms' % ms)
finally:
    shutil.rmtree(tmp, True)
PY
