#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Punned repo-side changes benchmark (issue 7): wall time of `bkt base assume
PKG --pr` and `bkt upstream pin NAME V --pr` (download and sha256 of a 1 MiB
asset included) until the pull request is opened, with the session daemon on
the session bus and with the private daemon bkt starts when there is none
(CI containers), against a bare git remote on file://, the forge test server
of tests/integration/punenv.py and the GitHub-like server of
test_upstream.py, all on 127.0.0.1.  A report, not a test: exits 0 unless
something failed to run.  Needs root (test user, private buses)."""

import hashlib
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN  # noqa: E402
from test_upstream import FakeGitHub  # noqa: E402

REPO = 'example/tool'


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if os.geteuid() != 0:
        print('punning-maint benchmark: needs root (test user, private buses); skipped')
        return 0
    env = bktenv.BktEnv(polkit='real', users=(ADMIN,), flatpak=False, name='bench-punning-maint')
    env.start()
    forge = punenv.Forge()
    gh = FakeGitHub(delay=0)
    try:
        world = punenv.GitWorld(env, ADMIN, forge, os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original'))
        co = world.checkout
        versions = ['v1.%d.0' % i for i in range(2 * runs + 1)]
        for v in versions:
            gh.release(REPO, v, [('tool.tar.gz', (v * 200000).encode()[:1 << 20])])
        first = (versions[0] * 200000).encode()[:1 << 20]
        os.makedirs(os.path.join(co, 'upstream'), exist_ok=True)
        with open(os.path.join(co, 'upstream', 'manifest.json'), 'w') as fh:
            fh.write('{\n  "upstreams": [\n    { "name": "tool", "source": { "type": "github", "repo": "%s", '
                     '"asset_pattern": "tool.tar.gz" },\n      "pinned": { "version": "v1.0.0", "sha256": "%s", '
                     '"pinned_at": "2025-01-01T00:00:00Z" } }\n  ]\n}\n' % (REPO, hashlib.sha256(first).hexdigest()))
        bktenv.chown_tree(co, ADMIN)
        world.ugit('-C', co, 'add', 'upstream/manifest.json')
        world.ugit('-C', co, 'commit', '-q', '-m', 'pins')
        world.ugit('-C', co, 'push', '-q', 'origin', 'main')
        extra = {'BKT_GITHUB_API': gh.api}
        rows = []

        def timed(args, unset=()):
            t0 = time.monotonic()
            rc, out, err = env.bkt_run(ADMIN, *args, env_extra=extra, unset=unset, echo=False)
            if rc != 0 or 'PR:        https://' not in out:
                raise RuntimeError('bkt %s failed (%d): %s\n%s' % (' '.join(args), rc, err, out))
            return time.monotonic() - t0

        for label, unset in (('session daemon', ()), ('private daemon (no session bus)', ('DBUS_SESSION_BUS_ADDRESS',))):
            base, pin = [], []
            for i in range(runs):
                base.append(timed(['base', 'assume', 'bench-pkg-%s-%d' % (len(unset), i), '--pr', '--repo', co],
                                  unset))
                v = versions[1 + i + (runs if unset else 0)]
                pin.append(timed(['upstream', 'pin', 'tool', v, '--pr', '--repo', co], unset))
            rows.append(('base assume --pr, %s' % label, base))
            rows.append(('upstream pin --pr (1 MiB download), %s' % label, pin))
        med = statistics.median
        print('\npunned repo-side changes, %d runs each, start → PR opened, median (min–max), 127.0.0.1 servers:'
              % runs)
        for label, xs in rows:
            print('  %-68s %7.1f ms  (%.1f–%.1f)' % (label, med(xs) * 1000, min(xs) * 1000, max(xs) * 1000))
    finally:
        gh.stop()
        forge.stop()
        env.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
