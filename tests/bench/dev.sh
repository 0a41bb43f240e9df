#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt dev benchmark (issue 5, "bkt dev").  A report, not a test: prints the
# wall time of `bkt dev status` and `bkt dev update` with N packages in
# toolbox-packages.json, and of installing the N packages in ONE batched dnf
# call (what bkt dev update does) against one dnf call per package (a shell
# loop over `toolbox run sudo dnf install`).
#
# usage: tests/bench/dev.sh [--packages N] [--runs N] [--keep] [BUILDDIR]
#
#   --packages N   packages in the manifest and the local repo (default 30)
#   --runs N       timed runs of `bkt dev status` (default 5)
#   --keep         keep the temporary directory (its path is printed)
#
# toolbox is tests/doubles/toolbox-double (a python3 script: ~20-30 ms of start-up
# per call) running the REAL dnf with --installroot against a local RPM repo
# built by tests/rpm-repo.sh (N small noarch packages), so the figures are
# dnf's own costs (metadata load, transaction) plus the double's start-up.
# Nothing on the host is touched; it needs dnf, rpm, rpmbuild, createrepo_c
# and unshare.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
n=30 runs=5 keep=0 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --packages) n="${2:?}"; shift 2 ;;
    --runs) runs="${2:?}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "dev.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
for v in "$n" "$runs"; do
  case "$v" in ''|*[!0-9]*|0) echo "dev.sh: --packages and --runs take a positive number" >&2; exit 2 ;; esac
done
bkt="$(cd "${builddir:-$srcdir/build}" && pwd)/client/bkt"
[ -x "$bkt" ] || { echo "dev.sh: no $bkt (build first)" >&2; exit 2; }
t=$(mktemp -d /tmp/bkt-bench-dev-XXXXXX)
[ "$keep" = 1 ] && echo "temporary directory: $t" || trap 'rm -rf "$t"' EXIT

names=()
for i in $(seq -w 1 "$n"); do names+=("bkt-bench$i"); done
RPM_REPO_EXTRA="${names[*]}" bash "$srcdir/tests/rpm-repo.sh" "$t/rpm"

export HOME="$t/home" XDG_CONFIG_HOME="$t/home/.config" XDG_DATA_HOME="$t/home/.local/share"
export BKT_CONTEXT_ROOT="$t/ctx" BKT_IMAGE_MANIFESTS_DIR="$t/image" BKT_REPO_JSON="$t/none.json"
export BKT_TOOLBOX="$srcdir/tests/doubles/toolbox-double" TOOLBOX_DOUBLE_REPO="$t/rpm/repo" TOOLBOX_DOUBLE_BASE=bkt-hello
unset container BKT_DNF BKT_RPM DBUS_SESSION_BUS_ADDRESS || true
mkdir -p "$XDG_CONFIG_HOME/bkt/manifests" "$BKT_CONTEXT_ROOT" "$BKT_IMAGE_MANIFESTS_DIR"
echo '{"dev_container": "bench"}' > "$XDG_CONFIG_HOME/bkt/config.json"
printf '{"packages": [%s]}\n' "$(printf '"%s",' "${names[@]}" | sed 's/,$//')" \
  > "$XDG_CONFIG_HOME/bkt/manifests/toolbox-packages.json"

ms() { echo $(( ($2 - $1) / 1000000 )); }
now() { date +%s%N; }

# 1. batched: bkt dev update --rebuild (rm, create, ONE dnf install of all N)
export TOOLBOX_DOUBLE_DIR="$t/batched"
"$bkt" dev update --rebuild -y >/dev/null 2>&1   # warm: dnf's metadata cache of this world
rm -f "$TOOLBOX_DOUBLE_DIR/log"
t0=$(now); "$bkt" dev update --rebuild -y >/dev/null 2>"$t/err" || { cat "$t/err"; exit 1; }; t1=$(now)
batched_rebuild=$(ms "$t0" "$t1")
calls_batched=$(grep -c '"install"' "$TOOLBOX_DOUBLE_DIR/log")

# 2. per package: the same container state reached with one call each
export TOOLBOX_DOUBLE_DIR="$t/loop"
"$BKT_TOOLBOX" create bench >/dev/null
"$BKT_TOOLBOX" run -c bench sudo dnf -q -y install -- bkt-fish >/dev/null 2>&1   # warm the cache
t0=$(now)
for p in "${names[@]}"; do "$BKT_TOOLBOX" run -c bench sudo dnf -q -y install -- "$p" >/dev/null 2>&1; done
t1=$(now)
loop=$(ms "$t0" "$t1")

# 3. status (one toolbox list, one rpm -qa) and update with nothing to do
export TOOLBOX_DOUBLE_DIR="$t/batched"
st=()
for _ in $(seq "$runs"); do
  t0=$(now); "$bkt" dev status --json >/dev/null; t1=$(now); st+=("$(ms "$t0" "$t1")")
done
status_med=$(printf '%s\n' "${st[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
t0=$(now); "$bkt" dev update >/dev/null; t1=$(now)
noop=$(ms "$t0" "$t1")

# 4. update installing the delta: drop 5 packages by hand, update puts them back in one call
drop=("${names[@]:0:5}")
"$BKT_TOOLBOX" run -c bench sudo dnf -q -y remove -- "${drop[@]}" >/dev/null 2>&1
t0=$(now); "$bkt" dev update >/dev/null 2>&1; t1=$(now)
delta=$(ms "$t0" "$t1")

echo "bkt dev benchmark: $n packages in toolbox-packages.json (tests/doubles/toolbox-double + real dnf, local repo)"
printf '  %-58s %6d ms\n' "bkt dev update --rebuild (rm, create, ONE dnf install)" "$batched_rebuild"
printf '  %-58s %6d ms   (%d dnf calls)\n' "per package: toolbox run sudo dnf install PKG, x$n" "$loop" "$n"
printf '  %-58s %6d ms   (median of %d; toolbox list + rpm -qa)\n' "bkt dev status" "$status_med" "$runs"
printf '  %-58s %6d ms\n' "bkt dev update, nothing missing" "$noop"
printf '  %-58s %6d ms\n' "bkt dev update, 5 missing (ONE dnf install)" "$delta"
printf '  dnf install calls made by the batched rebuild: %d\n' "$calls_batched"
