#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Command punning benchmark (issue 3): time from `bkt gsetting set` start to
the local action done and to the pull request opened, against local servers
(a bare git remote over smart HTTP on 127.0.0.1 and the forge test server of
tests/integration/punenv.py), with the real bktd and GSettings (keyfile).

Shows that the local action is not delayed by the PR work: "local done" in
the default mode is compared with the whole of the same command with
--local (no PR work at all).  A report, not a test: exits 0 unless something
failed to run.  Needs root (test user, private buses), like the integration
tests."""

import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN  # noqa: E402

IFACE = 'org.gnome.desktop.interface'


def timed(env, args, marks, cwd):
    """Run bkt as ADMIN; seconds from start to the first output line containing each mark,
    and to exit."""
    e = env.user_env(ADMIN)
    t0 = time.monotonic()
    p = subprocess.Popen([env.bkt] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e,
                         cwd=cwd, stdin=subprocess.DEVNULL, **env.user_kwargs(ADMIN))
    seen = {}
    lines = []
    for line in p.stdout:
        lines.append(line)
        now = time.monotonic() - t0
        for m in marks:
            if m not in seen and m in line:
                seen[m] = now
    err = p.stderr.read()
    rc = p.wait()
    total = time.monotonic() - t0
    if rc != 0 or len(seen) != len(marks):
        raise RuntimeError('bkt %s failed (%d): %s\n%s' % (' '.join(args), rc, err, ''.join(lines)))
    return seen, total


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if os.geteuid() != 0:
        print('punning benchmark: needs root (test user, private buses); skipped')
        return 0
    env = bktenv.BktEnv(polkit='real', users=(ADMIN,), flatpak=False, name='bench-punning')
    env.start()
    forge = punenv.Forge()
    try:
        world = punenv.GitWorld(env, ADMIN, forge, os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original'))
        repo = world.checkout_http
        local_done, pr_done, local_only = [], [], []
        for i in range(runs):
            value = str(100 + 2 * i)   # always a change: the live operation runs
            seen, total = timed(env, ['gsetting', 'set', '--repo', repo, IFACE, 'cursor-size', value],
                                ('✓ Set gsetting', '✓ Open pull request'), world.checkout_http)
            local_done.append(seen['✓ Set gsetting'])
            pr_done.append(seen['✓ Open pull request'])
            seen, total = timed(env, ['gsetting', 'set', '--local', IFACE, 'cursor-size', str(int(value) + 1)],
                                ('✓ Set gsetting',), world.checkout_http)
            local_only.append(seen['✓ Set gsetting'])
        # gh >= 2.24's place for the token: the Secret Service (a real gnome-keyring-daemon on the
        # test user's session bus), hosts.yml out of the way
        kr_local, kr_pr = [], []
        why = punenv.Keyring.unavailable()
        if why is None:
            keyring = punenv.Keyring(env, ADMIN)
            keyring.store('gh:127.0.0.1', '', punenv.TOKEN)
            os.rename(world.hosts, world.hosts + '.hidden')
            try:
                for i in range(runs):
                    value = str(300 + i)
                    seen, total = timed(env, ['gsetting', 'set', '--repo', repo, IFACE, 'cursor-size', value],
                                        ('✓ Set gsetting', '✓ Open pull request'), world.checkout_http)
                    kr_local.append(seen['✓ Set gsetting'])
                    kr_pr.append(seen['✓ Open pull request'])
            finally:
                os.rename(world.hosts + '.hidden', world.hosts)
                keyring.stop()
        med = statistics.median
        print('\ncommand punning, %d runs each, median (min–max), against 127.0.0.1 servers:' % runs)
        rows = [('default mode: start → local action done', local_done),
                ('default mode: start → PR opened       ', pr_done),
                ('--local:      start → local action done', local_only)]
        if kr_local:
            rows += [('token from the keyring: → local done  ', kr_local),
                     ('token from the keyring: → PR opened   ', kr_pr)]
        for label, xs in rows:
            print('  %s  %7.1f ms  (%.1f–%.1f)' % (label, med(xs) * 1000, min(xs) * 1000, max(xs) * 1000))
        if kr_local:
            print('  token from the keyring instead of hosts.yml: %+.1f ms to local done (two lookups before '
                  'acting, ChangePlan and Change: search, open session, get secret, close each)'
                  % ((med(kr_local) - med(local_done)) * 1000))
        else:
            print('  (no keyring figures: %s)' % why)
        delay = (med(local_done) - med(local_only)) * 1000
        print('  local action delayed by the PR work: %+.1f ms (default vs --local; the PR work itself takes '
              '%.1f ms after it)' % (delay, (med(pr_done) - med(local_done)) * 1000))
        print('  (the default mode also runs the preflight before acting: repo, identity, token and a '
              'connect to the remote)')
    finally:
        forge.stop()
        env.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
