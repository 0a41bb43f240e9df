#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt reference benchmark (issue 2, "Benchmark").  A report, not a test:
# prints its figures with their targets and PASS/MISS, exits 0 even on a
# MISS and non-zero only when something failed to run.
#
# usage: tests/bench/run.sh [--runs N] [--loop-runs N] [--apps N] [--keys N]
#                           [--schemas N] [--repo-cache DIR] [--bkt-apply] [--keep]
#                           [BUILDDIR]
#
#   BUILDDIR          meson build directory with client/bkt and daemon/bktd
#                     (default: $BKT_BUILDDIR, else SRCDIR/build)
#   --runs N          timed runs of each bkt command (default 15)
#   --loop-runs N     timed runs of the per-item shell loop (default 3)
#   --apps N          flatpak apps in the reference load (default 50)
#   --keys N          gsettings keys in the reference load (default 500)
#   --schemas N       spread the keys over N schemas org.bkt.bench.s0… (default
#                     1: all keys in org.bkt.bench)
#   --repo-cache DIR  build/reuse the flatpak repo in DIR (it is kept);
#                     default: a fresh one in the temporary directory
#   --bkt-apply       bring the gsettings in step with `bkt apply` instead of
#                     writing the keyfile directly
#   --keep            keep the temporary directory (its path is printed)
#
# Everything runs in a throwaway environment under one temporary directory:
# HOME/XDG_* dirs, keyfile GSettings with a generated schema (org.bkt.bench,
# keys key-000… of types s/i/b/as, values that differ from the defaults), a
# throwaway flatpak user installation fed by tests/flatpak-repo.sh, a private
# session bus with a warm `bktd --session --idle-timeout 0`, and a private
# system-like bus so nothing on the host is touched.  See docs/benchmarks.md.
set -euo pipefail
if locale -a 2>/dev/null | grep -qix "c.utf-\?8"; then export LC_ALL=C.UTF-8; else export LC_ALL=C; fi  # "." decimals

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)

runs=15 loop_runs=3 n_apps=50 n_keys=500 n_schemas=1 repo_cache="" keep=0 bkt_apply=0 builddir="${BKT_BUILDDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    --loop-runs) loop_runs="${2:?}"; shift 2 ;;
    --apps) n_apps="${2:?}"; shift 2 ;;
    --keys) n_keys="${2:?}"; shift 2 ;;
    --schemas) n_schemas="${2:?}"; shift 2 ;;
    --repo-cache) repo_cache="${2:?}"; shift 2 ;;
    --keep) keep=1; shift ;;
    --bkt-apply) bkt_apply=1; shift ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) builddir="$1"; shift ;;
  esac
done
builddir="${builddir:-$srcdir/build}"
for v in "$runs" "$loop_runs" "$n_apps" "$n_keys" "$n_schemas"; do
  case "$v" in ''|*[!0-9]*|0) echo "run.sh: counts must be positive numbers" >&2; exit 2 ;; esac
done
[ "$n_keys" -le 10000 ] || { echo "run.sh: at most 10000 keys" >&2; exit 2; }
[ "$n_schemas" -le "$n_keys" ] || { echo "run.sh: more schemas than keys" >&2; exit 2; }

BKT="$builddir/client/bkt"
BKTD="$builddir/daemon/bktd"
for b in "$BKT" "$BKTD"; do
  [ -x "$b" ] || { echo "run.sh: $b not found (build first: meson setup BUILDDIR && ninja -C BUILDDIR)" >&2; exit 1; }
done
for t in dbus-daemon flatpak gsettings glib-compile-schemas gdbus bc /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "run.sh: $t is required" >&2; exit 1; }
done

# ---- throwaway environment, cleanup ------------------------------------------------

T=$(mktemp -d /tmp/bkt-bench.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    # not our children (dbus-daemon --fork): poll until gone
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$keep" = 1 ]; then
    echo "run.sh: kept $T" >&2
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "run.sh: $*" >&2; [ -s "$T/log" ] && tail -n 20 "$T/log" >&2; exit 1; }
step() { printf '» %s\n' "$*" >&2; }

export HOME="$T/home" XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data" XDG_CACHE_HOME="$T/cache"
export XDG_RUNTIME_DIR="$T/run" XDG_STATE_HOME="$T/state"
export BKT_SYSTEM_STATE_DIR="$T/system-state"   # never the host's state records
export FLATPAK_USER_DIR="$T/flatpak-user" FLATPAK_SYSTEM_DIR="$T/flatpak-system" FLATPAK_CONFIG_DIR="$T/flatpak-etc"
export GSETTINGS_BACKEND=keyfile GSETTINGS_SCHEMA_DIR="$T/schemas"
export BKT_IMAGE_MANIFESTS_DIR="$T/image-manifests" BKT_NO_PKTTYAGENT=1 BKT_IDLE_TIMEOUT=0
export BKTD_PATH="$BKTD"
unset DBUS_SESSION_BUS_ADDRESS G_MESSAGES_DEBUG
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR" \
         "$FLATPAK_USER_DIR" "$FLATPAK_SYSTEM_DIR" "$FLATPAK_CONFIG_DIR" "$GSETTINGS_SCHEMA_DIR" \
         "$BKT_IMAGE_MANIFESTS_DIR" "$T/manifests"
chmod 700 "$XDG_RUNTIME_DIR"
M="$T/manifests"
: > "$T/log"

# Private system-like bus: libflatpak may ask it about parental controls;
# the host's system bus (if any) is never used.
cat > "$T/system-bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/system_bus_socket</listen>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
start_bus() {  # start_bus VAR ARGS… : sets VAR to the address, records the pid
  local out addr pid
  out=$(dbus-daemon "${@:2}" --fork --print-address=1 --print-pid=1) || die "dbus-daemon $* failed"
  addr=$(sed -n 1p <<<"$out"); pid=$(sed -n 2p <<<"$out")
  [ -n "$addr" ] && [ -n "$pid" ] || die "dbus-daemon printed no address/pid"
  pids+=("$pid")
  printf -v "$1" '%s' "$addr"
}
start_bus DBUS_SYSTEM_BUS_ADDRESS --config-file="$T/system-bus.conf"
export DBUS_SYSTEM_BUS_ADDRESS

# ---- reference load: gsettings schema and manifest ---------------------------------

step "generating $n_keys gsettings keys in $n_schemas schema(s)"
key_type=(s i b as)
default_of() {  # default_of N TYPE
  case "$2" in s) printf "'default-%03d'" "$1" ;; i) printf '%d' "$1" ;; b) printf 'false' ;; as) printf '[]' ;; esac
}
value_of() {    # value_of N TYPE : the manifest value (differs from the default)
  case "$2" in s) printf "'bench-%03d'" "$1" ;; i) printf '%d' $(($1 + 1000)) ;; b) printf 'true' ;; as) printf "['bench', '%03d']" "$1" ;; esac
}
# key i: name key-NNN in schema key_schema[i] (consecutive blocks per schema)
per_schema=$(( (n_keys + n_schemas - 1) / n_schemas ))
schema_ids=() key_schema=()
for ((j = 0; j < n_schemas; j++)); do
  if [ "$n_schemas" = 1 ]; then schema_ids+=(org.bkt.bench); else schema_ids+=("org.bkt.bench.s$j"); fi
done
for ((i = 0; i < n_keys; i++)); do key_schema+=("${schema_ids[i / per_schema]}"); done
schema_path() { local p="${1//.//}"; echo "/$p/"; }   # org.bkt.bench.s0 → /org/bkt/bench/s0/
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo '<schemalist>'
  for id in "${schema_ids[@]}"; do
    printf '  <schema id="%s" path="%s">\n' "$id" "$(schema_path "$id")"
    for ((i = 0; i < n_keys; i++)); do
      [ "${key_schema[i]}" = "$id" ] || continue
      ty=${key_type[i % 4]}
      printf '    <key name="key-%03d" type="%s"><default>%s</default></key>\n' "$i" "$ty" "$(default_of "$i" "$ty")"
    done
    echo '  </schema>'
  done
  echo '</schemalist>'
} > "$GSETTINGS_SCHEMA_DIR/org.bkt.bench.gschema.xml"
glib-compile-schemas --strict "$GSETTINGS_SCHEMA_DIR" >>"$T/log" 2>&1 || die "glib-compile-schemas failed"

{
  echo '{'
  echo '  "settings": ['
  for ((i = 0; i < n_keys; i++)); do
    ty=${key_type[i % 4]}
    sep=','; [ "$i" -eq $((n_keys - 1)) ] && sep=''
    v=$(value_of "$i" "$ty")
    v=${v//\"/\\\"}
    printf '    {"schema": "%s", "key": "key-%03d", "value": "%s"}%s\n' "${key_schema[i]}" "$i" "$v" "$sep"
  done
  echo '  ]'
  echo '}'
} > "$M/gsettings.json"

# The live values, written as the keyfile backend stores them, before any
# bktd runs (a daemon watching the file would see all keys change at once).
if [ "$bkt_apply" = 0 ]; then
  mkdir -p "$XDG_CONFIG_HOME/glib-2.0/settings"
  {
    for id in "${schema_ids[@]}"; do
      p=$(schema_path "$id"); printf '[%s]\n' "${p:1:-1}"
      for ((i = 0; i < n_keys; i++)); do
        [ "${key_schema[i]}" = "$id" ] || continue
        printf 'key-%03d=%s\n' "$i" "$(value_of "$i" "${key_type[i % 4]}")"
      done
    done
  } > "$XDG_CONFIG_HOME/glib-2.0/settings/keyfile"
fi

# ---- reference load: flatpak repo, installation, manifests -------------------------

step "building the flatpak repo ($n_apps apps)"
repo_dir="${repo_cache:-$T/flatpak-repo}"
mkdir -p "$repo_dir"
grep -q -- '--apps' "$srcdir/tests/flatpak-repo.sh" || die "tests/flatpak-repo.sh has no --apps option"
t0=$EPOCHREALTIME
repo=$("$srcdir/tests/flatpak-repo.sh" --apps "$n_apps" "$repo_dir" 2>>"$T/log" | tail -n 1) \
  || die "tests/flatpak-repo.sh failed"
[ -d "$repo/objects" ] || die "no repository at '$repo'"
printf '  repo ready in %.1f s: %s\n' "$(echo "$EPOCHREALTIME - $t0" | bc)" "$repo" >&2

apps=()
for ((i = 1; i <= n_apps; i++)); do apps+=("$(printf 'org.test.App%03d' "$i")"); done

step "installing $n_apps apps into the throwaway user installation"
t0=$EPOCHREALTIME
flatpak --user remote-add --no-gpg-verify bench "file://$repo" >>"$T/log" 2>&1 || die "flatpak remote-add failed"
flatpak --user install -y --noninteractive bench "${apps[@]}" >>"$T/log" 2>&1 || die "flatpak install failed"
printf '  installed in %.1f s\n' "$(echo "$EPOCHREALTIME - $t0" | bc)" >&2

printf '{\n  "remotes": [\n    {"name": "bench", "url": "file://%s", "scope": "user", "gpg_verify": false}\n  ]\n}\n' \
  "$repo" > "$M/flatpak-remotes.json"
{
  echo '{'
  echo '  "apps": ['
  for ((i = 0; i < n_apps; i++)); do
    sep=','; [ "$i" -eq $((n_apps - 1)) ] && sep=''
    printf '    {"id": "%s", "remote": "bench", "scope": "user"}%s\n' "${apps[i]}" "$sep"
  done
  echo '  ]'
  echo '}'
} > "$M/flatpak-apps.json"

# ---- warm daemon on a private session bus ------------------------------------------

step "starting a private session bus and a warm bktd"
start_bus DBUS_SESSION_BUS_ADDRESS --session
export DBUS_SESSION_BUS_ADDRESS
"$BKTD" --session --idle-timeout 0 >>"$T/bktd.log" 2>&1 &
bktd_pid=$!
pids+=("$bktd_pid")
for _ in $(seq 100); do
  if gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
       --method org.freedesktop.DBus.NameHasOwner org.bkt.Daemon1 2>/dev/null | grep -q true; then
    break
  fi
  kill -0 "$bktd_pid" 2>/dev/null || { cat "$T/bktd.log" >&2; die "bktd exited at start-up"; }
  sleep 0.05
done
kill -0 "$bktd_pid" 2>/dev/null || die "bktd is not running"
proc_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
rss_start_kb=$(proc_kb "$bktd_pid" VmRSS)
anon_start_kb=$(proc_kb "$bktd_pid" RssAnon)

plan_count() {  # the operation count of `bkt apply --dry-run --json`
  "$BKT" --manifests "$M" apply --dry-run --json 2>>"$T/log" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
n = d.get("count")
if n is None:
    n = len(d.get("operations", []))
print(n)'
}

n=$(plan_count) || die "bkt apply --dry-run --json failed"
printf '  %s operation(s) pending\n' "$n" >&2
if [ "$bkt_apply" = 1 ]; then
  step "bringing the live state in step with the manifests (bkt apply)"
  t0=$EPOCHREALTIME
  "$BKT" --manifests "$M" apply >>"$T/log" 2>&1 || { tail -n 5 "$T/bktd.log" >&2; die "bkt apply failed"; }
  apply_ms=$(echo "($EPOCHREALTIME - $t0) * 1000" | bc)
  printf '  applied in %.0f ms\n' "$apply_ms" >&2
fi
n=$(plan_count) || die "bkt apply --dry-run --json failed"
[ "$n" = 0 ] || { "$BKT" --manifests "$M" apply --dry-run >&2 || true; die "not in sync after apply: $n operation(s) left"; }
"$BKT" --manifests "$M" status >>"$T/log" 2>&1 || die "bkt status failed"
# spot check: the live values really are the manifest's
[ "$(gsettings get "${key_schema[0]}" key-000)" = "'bench-000'" ] || die "gsettings: key-000 was not applied"
flatpak info --user "${apps[0]}" >/dev/null 2>&1 || die "flatpak: ${apps[0]} is not installed"

# ---- timing helpers ----------------------------------------------------------------

us_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# time_runs NAME N CMD… : runs CMD N times (output discarded), one µs figure per line in $T/NAME
time_runs() {
  local name="$1" n="$2" i s e; shift 2
  : > "$T/$name"
  for ((i = 0; i < n; i++)); do
    s=$(us_now)
    "$@" >/dev/null 2>>"$T/log" || die "run $((i + 1)) of $name failed: $*"
    e=$(us_now)
    echo $((e - s)) >> "$T/$name"
  done
}
# stat NAME median|p90|min|max : in ms, 1 decimal (nearest-rank percentiles)
stat() {
  sort -n "$T/$1" | awk -v what="$2" '{ v[NR] = $1 } END {
    if (what == "median") x = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    else if (what == "p90") { r = int(0.9 * NR); if (r < 0.9 * NR) r++; x = v[r] }
    else if (what == "min") x = v[1]
    else x = v[NR]
    printf "%.1f", x / 1000 }'
}

per_item_loop() {
  local k id
  for ((k = 0; k < n_keys; k++)); do
    printf -v key 'key-%03d' "$k"
    gsettings get "${key_schema[k]}" "$key" >/dev/null || return 1
  done
  for id in "${apps[@]}"; do
    flatpak info --user "$id" >/dev/null || return 1
  done
}
loop_gsettings() { local k; for ((k = 0; k < n_keys; k++)); do printf -v key 'key-%03d' "$k"; gsettings get "${key_schema[k]}" "$key" >/dev/null || return 1; done; }
loop_flatpak() { local id; for id in "${apps[@]}"; do flatpak info --user "$id" >/dev/null || return 1; done; }

# ---- the measurements --------------------------------------------------------------

step "warm daemon: $runs × bkt status, $runs × bkt apply --dry-run"
"$BKT" --manifests "$M" status >/dev/null 2>>"$T/log" || die "bkt status failed"           # warm-up
"$BKT" --manifests "$M" apply --dry-run >/dev/null 2>>"$T/log" || die "bkt apply --dry-run failed"
time_runs warm_status "$runs" "$BKT" --manifests "$M" status
time_runs warm_dryrun "$runs" "$BKT" --manifests "$M" apply --dry-run
time_runs warm_version "$runs" "$BKT" version
time_runs warm_status_gs "$runs" "$BKT" --manifests "$M" status --only gsettings
time_runs warm_status_fp "$runs" "$BKT" --manifests "$M" status --only flatpak

step "idle RSS of the warm bktd (after 2 s idle)"
sleep 2
kill -0 "$bktd_pid" 2>/dev/null || die "the warm bktd died"
rss_idle_kb=$(proc_kb "$bktd_pid" VmRSS)
hwm_kb=$(proc_kb "$bktd_pid" VmHWM)
anon_idle_kb=$(proc_kb "$bktd_pid" RssAnon) file_idle_kb=$(proc_kb "$bktd_pid" RssFile)
pss_idle_kb=$(awk '$1 == "Pss:" { print $2 }' "/proc/$bktd_pid/smaps_rollup" 2>/dev/null || echo 0)

step "cold (private bktd started by each bkt): $runs × status, $runs × apply --dry-run"
cold() { env -u DBUS_SESSION_BUS_ADDRESS "$@"; }
time_runs cold_status "$runs" cold "$BKT" --manifests "$M" status
time_runs cold_dryrun "$runs" cold "$BKT" --manifests "$M" apply --dry-run

step "per-item shell loop: $loop_runs × ($n_keys gsettings get + $n_apps flatpak info)"
time_runs loop "$loop_runs" per_item_loop
time_runs loop_gs 1 loop_gsettings
time_runs loop_fp 1 loop_flatpak

# ---- report ------------------------------------------------------------------------

ms_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
verdict() { if ms_le "$1" "$2"; then echo PASS; else echo MISS; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

ws=$(stat warm_status median) wd=$(stat warm_dryrun median) lp=$(stat loop median)
r_status=$(ratio "$lp" "$ws") r_dry=$(ratio "$lp" "$wd")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_idle_mib=$(mib "$rss_idle_kb")

echo
echo "bkt benchmark - $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s), $(uname -sr)"
echo "load: $n_apps flatpak apps (user installation, local repo), $n_keys gsettings keys in $n_schemas schema(s) (keyfile backend)"
echo "bkt: $BKT ($("$BKT" version 2>/dev/null | head -n 1 || echo '?'))"
echo
fmt='%-42s %10s %10s   %-12s %s\n'
printf "$fmt" "figure" "median" "p90" "target" "verdict"
printf "$fmt" "------" "------" "---" "------" "-------"
row() { printf "$fmt" "$1" "$(stat "$2" median) ms" "$(stat "$2" p90) ms" "$3" "$4"; }
row "bkt status, warm daemon ($runs runs)" warm_status "<= 50 ms" "$(verdict "$ws" 50)"
row "bkt apply --dry-run in sync, warm ($runs)" warm_dryrun "<= 100 ms" "$(verdict "$wd" 100)"
[ "$bkt_apply" = 1 ] && printf "$fmt" "bkt apply of $n_keys keys (1 run, warm)" "$(printf '%.1f' "$apply_ms") ms" "" "-" "info"
row "  status --only gsettings, warm" warm_status_gs "-" "info"
row "  status --only flatpak, warm" warm_status_fp "-" "info"
row "bkt version, warm (client+bus floor)" warm_version "-" "info"
row "bkt status, cold private bktd ($runs)" cold_status "-" "info"
row "bkt apply --dry-run, cold private bktd" cold_dryrun "-" "info"
printf "$fmt" "per-item shell loop ($loop_runs runs)" "$lp ms" "$(stat loop max) ms" "-" "(p90 column: max)"
printf "$fmt" "  of which $n_keys x gsettings get (1 run)" "$(stat loop_gs median) ms" "" "-" "info"
printf "$fmt" "  of which $n_apps x flatpak info (1 run)" "$(stat loop_fp median) ms" "" "-" "info"
printf "$fmt" "ratio loop / status" "${r_status}x" "" ">= 20x" "$(verdict 20 "$r_status")"
printf "$fmt" "ratio loop / apply --dry-run" "${r_dry}x" "" ">= 20x" "$(verdict 20 "$r_dry")"
printf "$fmt" "bktd idle RSS (VmRSS, 2 s after runs)" "$rss_idle_mib MiB" "" "<= 8 MiB" "$(verdict "$rss_idle_mib" 8)"
printf "$fmt" "  of which anonymous / file-backed" "$(mib "$anon_idle_kb") MiB" "$(mib "$file_idle_kb") MiB" "-" "info (RssAnon, RssFile)"
printf "$fmt" "  proportional (Pss)" "$(mib "$pss_idle_kb") MiB" "" "-" "info"
printf "$fmt" "bktd peak RSS (VmHWM)" "$(mib "$hwm_kb") MiB" "" "-" "info"
printf "$fmt" "bktd RSS right after start-up" "$(mib "$rss_start_kb") MiB" "" "-" "info (RssAnon $(mib "$anon_start_kb") MiB)"
echo
echo "raw runs (ms):"
for f in warm_status warm_dryrun cold_status cold_dryrun loop; do
  printf '  %-12s %s\n' "$f" "$(awk '{ printf "%.1f ", $1 / 1000 }' "$T/$f")"
done
