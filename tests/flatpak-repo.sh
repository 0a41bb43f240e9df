#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build a tiny local, unsigned flatpak repository for tests and benchmarks:
#
#   DIR/repo  runtime/org.test.Platform/ARCH/master
#             app/org.test.Hello/ARCH/master
#             app/org.test.Second/ARCH/stable   (a non-"master" branch on purpose:
#                                                 installers must resolve branches)
#             app/org.test.NoRuntime/ARCH/master (needs org.test.Nowhere, which no repo
#                                                 has: it can never be installed)
#             app/org.test.AppNNN/ARCH/master   (NNN = 001..N with --apps N)
#
# usage: flatpak-repo.sh [--apps N] DIR
#
# Idempotent and cheap to re-run: refs already in DIR/repo are not rebuilt
# and the summary is only regenerated when something was added, so a test
# suite can call it from every test program.  Declare the repo with
# `flatpak remote-add --no-gpg-verify NAME file://DIR/repo` (or a
# flatpak-remotes.json entry with "gpg_verify": false).
#
# Based on /work/shared/test-env/flatpak-test-repo.sh: `flatpak build-init`
# needs an SDK, which a test machine does not have, so the runtime's
# metadata and files/ are written by hand from host binaries.
set -euo pipefail

n_apps=0
while [ $# -gt 0 ]; do
  case "$1" in
    --apps) n_apps="${2:?--apps needs a number}"; shift 2 ;;
    --apps=*) n_apps="${1#--apps=}"; shift ;;
    -h|--help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
    -*) echo "flatpak-repo.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
dir="${1:?usage: flatpak-repo.sh [--apps N] DIR}"
case "$n_apps" in ''|*[!0-9]*) echo "flatpak-repo.sh: --apps wants a number" >&2; exit 2 ;; esac

command -v flatpak >/dev/null || { echo "flatpak-repo.sh: flatpak is not installed" >&2; exit 77; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
repo="$dir/repo"
arch=$(flatpak --default-arch)
work=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
changed=0

# Build exports write into $HOME (flatpak's cache); keep the caller's clean.
export HOME="$work/home"
mkdir -p "$HOME"

has_ref() { [ -e "$repo/refs/heads/$1" ]; }

export_quiet() {
  local log="$work/export.log"
  if ! flatpak build-export --no-update-summary --disable-sandbox "$@" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  changed=1
}

if ! has_ref "runtime/org.test.Platform/$arch/master"; then
  rt="$work/rt"
  mkdir -p "$rt/files" "$rt/usr/bin" "$rt/usr/lib"
  ln -s ../lib "$rt/usr/lib64"
  printf '[Runtime]\nname=org.test.Platform\n' > "$rt/metadata"
  for b in bash ls cat echo; do
    p=$(type -P "$b")
    cp "$p" "$rt/usr/bin/"
    for l in $(ldd "$p" | sed 's/.* => //' | awk '{print $1}' | grep '^/'); do
      cp -n "$l" "$rt/usr/lib/"
    done
  done
  ln -s bash "$rt/usr/bin/sh"
  export_quiet --runtime "$repo" "$rt" master
fi

# One app: metadata written directly (what `flatpak build-finish
# --command=...` would produce) to save a process per app.
build_app() {
  local id="$1" branch="$2" runtime="${3:-org.test.Platform}" app="$work/app-$1"
  has_ref "app/$id/$arch/$branch" && return 0
  # "export/" marks the build as finalized for build-export.
  mkdir -p "$app/files/bin" "$app/export"
  printf '[Application]\nname=%s\nruntime=%s/%s/master\nsdk=%s/%s/master\ncommand=hello.sh\n' \
    "$id" "$runtime" "$arch" "$runtime" "$arch" > "$app/metadata"
  printf '#!/bin/sh\necho "Hello world, from %s"\n' "$id" > "$app/files/bin/hello.sh"
  chmod +x "$app/files/bin/hello.sh"
  export_quiet "$repo" "$app" "$branch"
  rm -rf "$app"
}

build_app org.test.Hello master
build_app org.test.Second stable
build_app org.test.NoRuntime master org.test.Nowhere
for i in $(seq 1 "$n_apps"); do
  build_app "$(printf 'org.test.App%03d' "$i")" master
done

if [ "$changed" = 1 ] || [ ! -e "$repo/summary" ]; then
  log="$work/update.log"
  if ! flatpak build-update-repo "$repo" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
fi
echo "$repo"
