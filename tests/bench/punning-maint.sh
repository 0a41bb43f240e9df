#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Punned repo-side changes benchmark (issue 7): `bkt base assume --pr` and
# `bkt upstream pin --pr` from start to PR opened, through the session
# daemon and through the private one bkt starts without a session bus,
# against local servers.  A report, not a test.
#
# usage: tests/bench/punning-maint.sh [RUNS] [BUILDDIR]     (as root; see docs/benchmarks.md)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=${1:-10}
export BKT_SOURCE_DIR=$srcdir
export BKT_BUILD_DIR=${2:-${BKT_BUILDDIR:-$srcdir/build}}
export BKT_TEST_QUIET=1
exec /usr/bin/python3 "$here/punning_maint.py" "$runs"
