#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The thin client's start-up (issue 11).  A report, not a test: the median
# and 90th percentile wall time of `bkt --version` and `bkt --help` next to
# `gdbus help` (the target: within 1.5× of it), side by side in one run,
# and the shared libraries each binary loads.  --before BKT also measures
# another bkt (e.g. main's build) in the same run.  No daemon is involved.
# Uses hyperfine when installed (apt-get install -y hyperfine), else a
# timed loop of fork+exec+wait (python3, the same for every command).
#
# usage: tests/bench/thin-client.sh [--runs N] [--before BKT] [BUILDDIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=200 builddir="${BKT_BUILDDIR:-}" before=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --before) before="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "thin-client.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "thin-client.sh: --runs must be a positive number" >&2; exit 2 ;; esac
bkt="$(cd "${builddir:-$srcdir/build}" && pwd)/client/bkt"
[ -x "$bkt" ] || { echo "thin-client.sh: $bkt is not built" >&2; exit 2; }
gdbus=$(command -v gdbus) || { echo "thin-client.sh: gdbus is not installed" >&2; exit 2; }

echo "shared libraries (ldd):"
for b in "$gdbus" "$bkt" ${before:+"$before"}; do
  printf '  %-60s %3d%s\n' "$b" "$(ldd "$b" | wc -l)" \
    "$(ldd "$b" | grep -oE 'lib(flatpak|git2|soup-3\.0|crypto)\.so' | sort -u | tr '\n' ' ' | sed 's/^./  heavy: &/')"
done
echo

if command -v hyperfine >/dev/null; then
  args=(-N --warmup 20 --runs "$runs" "$gdbus help" "$bkt --version" "$bkt --help")
  [ -n "$before" ] && args+=("$before --version" "$before --help")
  exec hyperfine "${args[@]}"
fi

exec /usr/bin/python3 - "$runs" "$gdbus" "$bkt" "$before" <<'PY'
import os, statistics, subprocess, sys, time

runs, gdbus, bkt, before = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cases = [('gdbus help', [gdbus, 'help']), ('bkt --version', [bkt, '--version']), ('bkt --help', [bkt, '--help'])]
if before:
    cases += [('before: bkt --version', [before, '--version']), ('before: bkt --help', [before, '--help'])]
times = {name: [] for name, _ in cases}
devnull = subprocess.DEVNULL
for i in range(runs + 20):                 # 20 warm-up rounds, interleaved: the same machine state for all
    for name, argv in cases:
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=devnull, stderr=devnull, check=False)
        if i >= 20:
            times[name].append((time.perf_counter() - t0) * 1000)
base = statistics.median(times['gdbus help'])
print('%-24s %10s %10s %8s' % ('command', 'median ms', 'p90 ms', 'vs gdbus'))
for name, _ in cases:
    t = sorted(times[name])
    med = statistics.median(t)
    print('%-24s %10.2f %10.2f %7.2fx' % (name, med, t[int(len(t) * 0.9) - 1], med / base))
print('\n(%d runs each, interleaved, after 20 warm-up rounds; target: bkt within 1.5x of gdbus help)' % runs)
PY
