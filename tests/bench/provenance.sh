#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Three-way sync benchmark (issue 13).  A report, not a test: the warm
# `bkt status` and `bkt apply --dry-run` medians of tests/bench/run.sh at the
# reference load (50 flatpak apps, 500 gsettings keys) and at 10x that
# (500 apps, 5,000 keys), for this build and, with --baseline, for a build
# without the state record, with the growth from one load to the other.
#
# usage: tests/bench/provenance.sh [--runs N] [--baseline BUILDDIR] [--scale N] [BUILDDIR]
#
#   --runs N            timed runs of each command (default 15)
#   --baseline BUILDDIR the build to compare with (e.g. a build of the commit
#                       before the state record)
#   --scale N           the big load is N x the reference (default 10)
#
# The state record exists in the runs (run.sh's bkt --manifests apply seeds
# it through status), so the figures include reading it and classifying
# every operation.  Apps are in the throwaway user installation (run.sh);
# nothing on the host is touched.
set -euo pipefail
if locale -a 2>/dev/null | grep -qix "c.utf-\?8"; then export LC_ALL=C.UTF-8; else export LC_ALL=C; fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=15 baseline="" scale=10 builddir="${BKT_BUILDDIR:-$srcdir/build}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --baseline) baseline="${2:?}"; shift 2 ;;
    --scale) scale="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "provenance.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
for v in "$runs" "$scale"; do
  case "$v" in ''|*[!0-9]*|0) echo "provenance.sh: counts must be positive numbers" >&2; exit 2 ;; esac
done

cache=$(mktemp -d /tmp/bkt-bench-prov.XXXXXX)
trap 'rm -rf "$cache"' EXIT

# one run.sh: "STATUS_MS DRYRUN_MS" (warm medians)
measure() {  # measure BUILDDIR APPS KEYS
  local out
  out=$("$here/run.sh" --runs "$runs" --loop-runs 1 --apps "$2" --keys "$3" --schemas 10 \
        --repo-cache "$cache/repo-$2" "$1") || { echo "run.sh failed for $1 ($2 apps, $3 keys)" >&2; exit 1; }
  awk '/^bkt status, warm daemon/ { s = $(NF-7) } /^bkt apply --dry-run in sync, warm/ { d = $(NF-7) }
       END { if (s == "" || d == "") exit 1; print s, d }' <<<"$out"
}

big_apps=$((50 * scale)) big_keys=$((500 * scale))
declare -A fig
for build in "$builddir" ${baseline:+"$baseline"}; do
  read -r fig[$build,s1] fig[$build,d1] < <(measure "$build" 50 500)
  read -r fig[$build,s2] fig[$build,d2] < <(measure "$build" "$big_apps" "$big_keys")
done

growth() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
echo
echo "three-way sync benchmark - $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s); warm medians of $runs runs"
fmt='%-34s %12s %14s %8s\n'
printf "$fmt" "build / command" "50 + 500" "$big_apps + $big_keys" "growth"
for build in "$builddir" ${baseline:+"$baseline"}; do
  name=$(basename "$(dirname "$build")")/$(basename "$build")
  printf "$fmt" "$name: status" "${fig[$build,s1]} ms" "${fig[$build,s2]} ms" "$(growth "${fig[$build,s1]}" "${fig[$build,s2]}")"
  printf "$fmt" "$name: apply --dry-run" "${fig[$build,d1]} ms" "${fig[$build,d2]} ms" "$(growth "${fig[$build,d1]}" "${fig[$build,d2]}")"
done
if [ -n "$baseline" ]; then
  pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.0f %%", (b - a) * 100 / a }'; }
  echo "vs baseline at the reference load: status $(pct "${fig[$baseline,s1]}" "${fig[$builddir,s1]}"),"\
       "apply --dry-run $(pct "${fig[$baseline,d1]}" "${fig[$builddir,d1]}") (target: within +10 %)"
fi
