#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt fleet status benchmark (issue 17): HOSTS machines — ssh aliases host01… of one private sshd on
127.0.0.1 whose logins reach this test world's real bktd (tests/integration/fleet_ssh.py) — asked by
`bkt fleet status` concurrently (default) and one after the other (-j 1); and one `bkt -H host01
status --json` for the cost of a single machine (two ssh logins: session and system bus).  Every run's
rows are checked (each host reachable, no error): a run that did not ask is not timed.  A report, not a
test.  Needs root (test user, private buses, sshd), like the integration tests."""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import bktenv  # noqa: E402
import fleet_ssh  # noqa: E402
from bktenv import ADMIN  # noqa: E402


def timed(env, sshd, args):
    e = env.user_env(ADMIN)
    e.update(sshd.client_env())
    t0 = time.monotonic()
    p = subprocess.run([env.bkt] + args, capture_output=True, text=True, env=e, stdin=subprocess.DEVNULL,
                       cwd=env.home(ADMIN), **env.user_kwargs(ADMIN))
    return time.monotonic() - t0, p


def check_rows(p, n):
    doc = json.loads(p.stdout)
    bad = [r for r in doc['hosts'] if not r.get('reachable') or 'error' in r]
    if p.returncode != 0 or len(doc['hosts']) != n or bad:
        raise RuntimeError('fleet status failed (rc=%d): %s %s' % (p.returncode, bad, p.stderr))
    return [r['elapsed_ms'] for r in doc['hosts']]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if os.geteuid() != 0:
        print('fleet benchmark: needs root (test user, private buses, sshd); skipped')
        return 0
    why = fleet_ssh.FleetSshd.unavailable()
    if why:
        print('fleet benchmark: skipped: ' + why)
        return 0
    env = bktenv.BktEnv(polkit='real', bootc=True, users=(ADMIN,), flatpak=True, name='bench-fleet')
    env.start()
    sshd = None
    try:
        here = {'system_bus': env.system_bus_address, 'runtime_dir': env.path('run', ADMIN)}
        sshd = fleet_ssh.FleetSshd(env, ADMIN, {'laptop': here})
        hosts = ['host%02d' % (i + 1) for i in range(n)]
        shared = ['cm-' + h for h in hosts]
        sshd.write_client_config(dict((h, 'laptop') for h in hosts), dict((h, 'laptop') for h in shared))
        timed(env, sshd, ['fleet', 'status', '--json'] + hosts)   # warm the daemons
        timed(env, sshd, ['fleet', 'status', '--json'] + shared)  # and the shared connections
        single, seq, conc, per_host, cm_single, cm_conc = [], [], [], [], [], []
        for _ in range(runs):
            t, p = timed(env, sshd, ['-H', 'host01', 'status', '--json'])
            if p.returncode not in (0, 1) or 'subsystems' not in json.loads(p.stdout):
                raise RuntimeError('bkt -H host01 status failed: %s' % p.stderr)
            single.append(t)
            t, p = timed(env, sshd, ['fleet', 'status', '--json', '-j', '1'] + hosts)
            check_rows(p, n)
            seq.append(t)
            t, p = timed(env, sshd, ['fleet', 'status', '--json'] + hosts)
            per_host += check_rows(p, n)
            conc.append(t)
            # ~/.ssh/config with ControlMaster: bkt runs plain ssh, the logins reuse one connection
            t, p = timed(env, sshd, ['-H', shared[0], 'status', '--json'])
            if p.returncode not in (0, 1):
                raise RuntimeError('bkt -H %s status failed: %s' % (shared[0], p.stderr))
            cm_single.append(t)
            t, p = timed(env, sshd, ['fleet', 'status', '--json'] + shared)
            check_rows(p, n)
            cm_conc.append(t)
        print('fleet status benchmark: %d hosts (ssh aliases of 127.0.0.1), %d runs, %d CPUs'
              % (n, runs, os.cpu_count()))
        print('  %-40s median %6.2f s  (min %.2f, max %.2f)' % ('bkt -H host01 status --json', statistics.median(single),
                                                               min(single), max(single)))
        print('  %-40s median %6.2f s  (min %.2f, max %.2f)' % ('fleet status -j 1 (one after the other)',
                                                               statistics.median(seq), min(seq), max(seq)))
        print('  %-40s median %6.2f s  (min %.2f, max %.2f)' % ('fleet status (concurrent)', statistics.median(conc),
                                                               min(conc), max(conc)))
        print('  %-40s median %6.2f s  (min %.2f, max %.2f)' % ('ControlMaster: bkt -H cm-host01 status',
                                                               statistics.median(cm_single), min(cm_single),
                                                               max(cm_single)))
        print('  %-40s median %6.2f s  (min %.2f, max %.2f)' % ('ControlMaster: fleet status (concurrent)',
                                                               statistics.median(cm_conc), min(cm_conc), max(cm_conc)))
        print('  speed-up %.1fx; per host while concurrent: median %d ms' % (
            statistics.median(seq) / statistics.median(conc), statistics.median(per_host)))
    finally:
        if sshd:
            sshd.stop()
        env.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
