#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# build-bkt.sh SRC: install bkt's build dependencies (Fedora) and build the
# client in SRC/build; the reusable distro-* workflows run it in a Fedora
# container.  Only the client is needed: the repo-side commands run without
# a daemon or a session bus, in bkt-tool, which build/client/bkt runs from
# beside itself.
set -euo pipefail
src=$1
dnf install -y --setopt=install_weak_deps=False git rpm \
  $(cat "$src/docs/fedora-build-deps.txt")
meson setup "$src/build" "$src" -Dman=false
ninja -C "$src/build" client/bkt client/bkt-tool
