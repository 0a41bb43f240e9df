#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bkt fleet status benchmark (issue 17): N hosts (ssh aliases of one private
# sshd on 127.0.0.1 reaching the test world's real bktd) asked concurrently
# (the default) and one after the other (-j 1), and one `bkt -H HOST status`.
# A report, not a test.
#
# usage: tests/bench/fleet.sh [HOSTS] [RUNS] [BUILDDIR]   (as root; see docs/benchmarks.md)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
hosts=${1:-8}
runs=${2:-5}
export BKT_SOURCE_DIR=$srcdir
export BKT_BUILD_DIR=${3:-${BKT_BUILDDIR:-$srcdir/build}}
export BKT_TEST_QUIET=1
exec /usr/bin/python3 "$here/fleet.py" "$hosts" "$runs"
