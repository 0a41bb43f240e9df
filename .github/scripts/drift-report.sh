#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# drift-report.sh BKT REPO ROOT OUTDIR: run `bkt drift check` on the
# distribution repo REPO against the system root ROOT (an unpacked base
# image; the manifests-vs-system part is skipped, there is no session), and
# write OUTDIR/drift.json and OUTDIR/drift.md (an issue body).  Exits with
# drift check's status: 0 none, 1 drift, 2 a check could not run.
set -uo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 BKT REPO ROOT OUTDIR" >&2
  exit 2
fi
bkt=$1 repo=$2 root=$3 out=$4
mkdir -p "$out"
"$bkt" drift check --json --skip-system --root "$root" --repo "$repo" > "$out/drift.json"
rc=$?
{
  echo "## Base image drift"
  echo
  case $rc in
    0) echo "No drift." ;;
    1) echo "The base image no longer provides what the distribution assumes." ;;
    *) echo "A check could not run (exit $rc)." ;;
  esac
  echo
  echo '```'
  "$bkt" drift check --skip-system --root "$root" --repo "$repo" 2>&1
  echo '```'
} > "$out/drift.md"
exit $rc
