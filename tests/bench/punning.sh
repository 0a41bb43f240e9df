#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Command punning benchmark (issue 3, "Benchmark"): time from command start
# to local action done and to PR opened, against local servers (smart-HTTP
# git remote and a forge test server on 127.0.0.1).  A report, not a test.
#
# usage: tests/bench/punning.sh [RUNS] [BUILDDIR]     (as root; see docs/benchmarks.md)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
runs=${1:-10}
export BKT_SOURCE_DIR=$srcdir
export BKT_BUILD_DIR=${2:-${BKT_BUILDDIR:-$srcdir/build}}
export BKT_TEST_QUIET=1
exec /usr/bin/python3 "$here/punning.py" "$runs"
