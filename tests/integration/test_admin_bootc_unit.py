#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt admin bootc where systemd runs the system: bktd --system runs bootc
upgrade/rollback/switch in a transient systemd service instead of as its own
child, so that bootc is outside bktd.service's sandbox (read-only /, few
capabilities) and outlives bktd.

The manager is the REAL one (`systemd --user` owning org.freedesktop.systemd1
on the private system bus, as in test_admin_systemd_real.py); its units run as
its unprivileged user, which the bootc double accepts as root here
(BKT_BOOTC_DOUBLE_ROOT_UID, set in the manager's environment by bktenv).

Every test of test_admin_bootc.AdminBootc runs again in this mode (progress
relayed from the unit's stdout, the stderr tail of a failing or killed bootc,
Ctrl-C stopping the unit, Busy, --wait, the client killed mid-upgrade), plus:
the double really ran in a unit (systemd's INVOCATION_ID, not bktd's child,
the manager's user), no unit is left behind (a failed one is reset), and an
upgrade goes on when bktd itself is killed.
"""

import os
import pwd
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import test_admin_bootc as base  # noqa: E402  (not "from … import": unittest would run AdminBootc twice)
from bktenv import ADMIN  # noqa: E402


class AdminBootcInUnit(base.AdminBootc):
    ENV_KW = dict(polkit='real', flatpak=False, bootc=True, systemd='real')

    def leftover_units(self):
        p = self.env.systemctl_user('list-units', '--all', '--plain', '--no-legend', 'bkt-bootc-*')
        self.assertEqual(p.returncode, 0, p.stderr)
        return [' '.join(line.split()[:4]) for line in p.stdout.splitlines() if line.strip()]

    def tearDown(self):
        # every run of every test, cancelled, failed or killed ones included, leaves no unit behind
        self.assertEqual(self.leftover_units(), [])
        super().tearDown()

    def starts(self, command):
        return [e for e in self.env.bootc_log() if e.get('event') == 'start' and e['argv'][:1] == [command]]

    def test_unit_upgrade_runs_in_transient_unit(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '-y')
        self.assertRc(res, 0, 'upgrade in a unit')
        self.assertIn('reboot to apply', res[1])
        (start,) = self.starts('upgrade')
        # same arguments as bktd's child would get
        self.assertEqual(start['argv'], ['upgrade', '--progress-fd', '3'])
        # run by systemd as a unit, as the manager's user; not bktd's child
        self.assertTrue(start['invocation_id'], start)
        self.assertEqual(start['uid'], pwd.getpwnam(bktenv.SYSTEMD_USER).pw_uid,
                         'not run by the (user) manager')
        self.assertNotEqual(start['ppid'], env.system_daemon.pid)
        # bootc status (read-only) is still bktd's child
        status = self.starts('status')
        self.assertTrue(status and all(e['invocation_id'] is None for e in status), status)
        self.assertEqual(self.leftover_units(), [])

    def test_unit_failed_is_reset(self):
        env = self.env
        env.set_bootc_mode('fail-pull')
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '-y')
        self.assertRc(res, 1)
        self.assertIn('exit status 1', res[2])
        self.assertIn('503 Service Unavailable', res[2])
        # the failed unit does not linger in `systemctl --failed`
        self.assertEqual(self.leftover_units(), [])

    def test_unit_outlives_bktd(self):
        """bktd --system killed mid-upgrade: bootc, in its own unit, finishes; the next call activates a
        new bktd, whose status shows the staged update."""
        env = self.env
        env.set_bootc_mode('', delay=0.3)
        p = self.spawn('admin', 'bootc', 'upgrade', '-y')
        self.wait_for(lambda: self.starts('upgrade'), 60, 'the double to start')
        os.kill(env.system_daemon.pid, signal.SIGKILL)
        p.communicate(timeout=60)
        self.assertNotEqual(p.returncode, 0, 'the client cannot have seen a result')
        self.wait_for(lambda: any(e.get('event') == 'exit' and e['argv'][:1] == ['upgrade']
                                  for e in env.bootc_log()), 120, 'the upgrade to finish without bktd')
        self.assertEqual([e['exit'] for e in env.bootc_log()
                          if e.get('event') == 'exit' and e['argv'][:1] == ['upgrade']], [0])
        env.set_bootc_mode('')
        env.start_system_daemon()
        rc, st, err = env.bkt_json(ADMIN, 'admin', 'bootc', 'status', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(st['staged']['version'], '41.20261120.0')
        self.assertEqual(self.leftover_units(), [])


if __name__ == '__main__':
    bktenv.main()
