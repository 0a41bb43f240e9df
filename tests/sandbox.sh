#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The README's first command: bkt's main job in a sandbox.  Installs the
# dependencies (the same list as .ci/run), builds into build/, then runs
# `bkt apply` and `bkt status` on the bundled example manifests inside a
# throwaway world (tests/sandbox.py).  Run as root on Debian 12.
#
# Environment: SANDBOX_SKIP_DEPS=1 skips the package installation.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

if [ "${SANDBOX_SKIP_DEPS:-0}" != 1 ]; then
  CI_DEPS_ONLY=1 bash .ci/run
fi
if [ -f build/build.ninja ]; then
  meson setup --reconfigure build >/dev/null
else
  meson setup build >/dev/null
fi
meson compile -C build >/dev/null
exec /usr/bin/python3 tests/sandbox.py --build-dir build "$@"
