#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# changelog-required.sh BASE HEAD: exit 1 if the commits BASE..HEAD change
# manifests/ but add or modify no entry under .changelog/pending/ (a
# distribution repo's PR check; docs/maintenance.md).  Run in the repo.
# A punned change's PR carries a draft entry already; hand-made manifest
# changes need `bkt changelog generate --write` or `bkt changelog add`.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BASE HEAD" >&2
  exit 2
fi
changed=$(git diff --name-only --diff-filter=ACMR "$1...$2")
if ! grep -q '^manifests/' <<<"$changed"; then
  echo "no manifest changes: no changelog entry needed"
  exit 0
fi
if grep -q '^\.changelog/pending/' <<<"$changed"; then
  echo "manifest changes carry a changelog entry"
  exit 0
fi
echo "::error::this change edits manifests/ but adds no .changelog/pending/ entry: run bkt changelog generate --base $1 --write (drafts for every manifest change) or bkt changelog add TYPE CATEGORY MESSAGE" >&2
exit 1
