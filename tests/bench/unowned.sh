#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt profile unowned benchmark (issue 15).  A report, not a test: builds a
# throwaway root with a real RPM database (rpmbuild + rpm --root --justdb)
# whose packages (--packages, default 50) own half of N files (default 5000) under /etc and
# /usr/local, then times, median of N runs, `bkt profile unowned --root`
# (ONE batched `rpm -qf` for all files) against what a per-file loop costs
# (one `rpm -qf FILE` per file, as a naive implementation would run it; on
# --sample files, scaled to N).  Nothing on the host is touched.
#
# usage: tests/bench/unowned.sh [--runs N] [--files N] [--sample N] [--packages N] [BUILDDIR]
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=5 files=5000 sample=200 packages=50 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --files) files="${2:?}"; shift 2 ;;
    --sample) sample="${2:?}"; shift 2 ;;
    --packages) packages="${2:?}"; shift 2 ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "unowned.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
for v in "$runs" "$files" "$sample" "$packages"; do
  case "$v" in ''|*[!0-9]*|0) echo "unowned.sh: --runs, --files, --sample and --packages must be positive numbers" >&2; exit 2 ;; esac
done
for t in rpm rpmbuild; do
  command -v "$t" >/dev/null || { echo "unowned.sh: needs $t (apt-get install rpm)" >&2; exit 77; }
done
bkt="$(cd "${builddir:-$srcdir/build}" && pwd)/client/bkt"
[ -x "$bkt" ] || { echo "unowned.sh: no $bkt: build first" >&2; exit 2; }
dir=$(mktemp -d /tmp/bkt-bench-unowned.XXXXXX)
trap 'rm -rf "$dir"' EXIT
root=$dir/root
mkdir -p "$dir/rb/SPECS" "$root"

# half the files in /etc/bench/, half in /usr/local/share/bench/; the even ones owned, by
# --packages packages (default 50: real packages own tens to hundreds of files each; rpm -qf
# loads the owning package's header once per file, so the size of the owners matters)
half=$((files / 2))
for p in $(seq 0 $((packages - 1))); do
  {
    printf 'Name: bench-owned-%d\nVersion: 1\nRelease: 1\nSummary: b\nLicense: MIT\nBuildArch: noarch\n' "$p"
    printf '%%description\nb\n%%install\nmkdir -p %%{buildroot}/etc/bench %%{buildroot}/usr/local/share/bench\n'
    printf 'cd %%{buildroot}/etc/bench && for i in $(seq %d %d %d); do touch f$i.conf; done\n' $((2 * p)) $((2 * packages)) $((half - 1))
    printf 'cd %%{buildroot}/usr/local/share/bench && for i in $(seq %d %d %d); do touch f$i; done\n' $((2 * p)) $((2 * packages)) $((files - half - 1))
    printf '%%files\n/etc/bench/*\n/usr/local/share/bench/*\n'
  } > "$dir/rb/SPECS/bench-$p.spec"
  HOME=$dir rpmbuild --quiet --define "_topdir $dir/rb" -bb "$dir/rb/SPECS/bench-$p.spec" >/dev/null
done
rpm --root "$root" --initdb
rpm --root "$root" -i --justdb --nodeps "$dir"/rb/RPMS/noarch/*.rpm 2>/dev/null
mkdir -p "$root/etc/bench" "$root/usr/local/share/bench"
(cd "$root/etc/bench" && for i in $(seq 0 $((half - 1))); do : > "f$i.conf"; done)
(cd "$root/usr/local/share/bench" && for i in $(seq 0 $((files - half - 1))); do : > "f$i"; done)

now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# batched: bkt itself
times=()
for _ in $(seq "$runs"); do
  t0=$(now); "$bkt" profile unowned --root "$root" --json > "$dir/out.json"; t1=$(now)
  times+=($(( (t1 - t0) / 1000000 )))
done
batched=$(printf '%s\n' "${times[@]}" | median)
n_unowned=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["unowned"]), d["files"], d["rpm_calls"])' "$dir/out.json")

# per file: one rpm -qf per file, on a sample, scaled
list=$(cd "$root" && find etc/bench usr/local/share/bench -type f | sed -n "1,${sample}p" | sed 's#^#/#')
t0=$(now)
for f in $list; do rpm --root "$root" -qf "$f" >/dev/null 2>&1 || true; done
t1=$(now)
per_file_sample=$(( (t1 - t0) / 1000000 ))
per_file=$(( per_file_sample * files / sample ))

# for comparison: the whole database's file list once (what bkt does not do: see docs/benchmarks.md)
times=()
for _ in $(seq "$runs"); do
  t0=$(now); rpm --root "$root" -qa --qf '[%{FILENAMES}\n]' > /dev/null; t1=$(now)
  times+=($(( (t1 - t0) / 1000000 )))
done
listing=$(printf '%s\n' "${times[@]}" | median)

read -r got total calls <<< "$n_unowned"
echo "files: $total (unowned found: $got, owned by $packages packages; rpm calls: $calls), runs: $runs"
echo "bkt profile unowned (one batched rpm -qf):   ${batched} ms (median)"
echo "one rpm -qf per file:                        ${per_file} ms (${per_file_sample} ms for $sample files, scaled to $files)"
echo "rpm -qa --qf '[%{FILENAMES}\\n]' (every owned path): ${listing} ms (median)"
echo "speed-up: $(( per_file / (batched > 0 ? batched : 1) ))x"
