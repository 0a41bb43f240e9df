#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Drift watcher benchmark (issue 17): the watcher's cost while idle (RSS,
# CPU time and context switches of bktd --session over an idle period, with
# the watcher off and on) and the time from a change made by hand to the
# DriftChanged signal (minus the debounce: the watcher's own work).  Real
# session bus, keyfile GSettings, a real flatpak user installation.  A
# report, not a test.  The issue asks for 10 idle minutes; the default here
# is 60 s (the figures are per minute: idle is idle).
#
# usage: tests/bench/watcher.sh [IDLE_SECONDS] [CHANGES] [BUILDDIR]   (as root)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
export BKT_SOURCE_DIR=$srcdir
export BKT_BUILD_DIR=${3:-${BKT_BUILDDIR:-$srcdir/build}}
export BKT_TEST_QUIET=1
exec /usr/bin/python3 "$here/watcher.py" "${1:-60}" "${2:-10}"
