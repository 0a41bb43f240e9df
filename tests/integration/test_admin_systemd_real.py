#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt admin systemctl against the REAL systemd manager, through bktd --system,
with the real polkitd and the shipped policy/rules.

The manager is `systemd --user` run by the harness (bktenv.py, systemd='real')
as the unprivileged test user bkt-user, in a private mount namespace and a
delegated cgroup, owning org.freedesktop.systemd1 on the private system bus;
its units bkt-test.service (/bin/sleep 300, WantedBy=default.target) and
bkt-broken.service (oneshot /bin/false) are in bkt-user's
~/.config/systemd/user.  Every state change bkt reports is checked against
the manager itself (a direct Properties.Get over the bus).

test_admin_systemctl.py covers the same commands against dbusmock's systemd
template (and what a mock can do that the real manager cannot: calls made or
not made, masks, bad names).  A host without the cgroup hierarchies or mount
namespaces the recipe needs SKIPs this file with the reason (exit 77).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402

EXIT_FAILED, EXIT_NOT_AUTHORIZED, EXIT_INVALID = 1, 3, 5
UNIT = 'org.freedesktop.systemd1.Unit'
SERVICE = 'org.freedesktop.systemd1.Service'


class AdminSystemdReal(EnvTestCase):
    ENV_KW = dict(polkit='real', flatpak=False, systemd='real')

    def unit(self, name, user=ADMIN):
        rc, st, err = self.env.bkt_json(user, 'admin', 'systemctl', 'status', name, '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(st['units']), 1, st)
        return st['units'][0]

    def sd(self, unit, prop, iface=UNIT):
        return self.env.systemd_property(unit, prop, iface)

    def systemctl(self, *args, user=ADMIN):
        return self.env.bkt_run(user, 'admin', 'systemctl', *args)

    def assertState(self, unit, active, file_state=None):
        """bkt's status and the manager itself agree on @unit's state."""
        u = self.unit(unit)
        self.assertEqual(u['active_state'], active, u)
        self.assertEqual(self.sd(unit, 'ActiveState'), active)
        if file_state is not None:
            self.assertEqual(u['unit_file_state'], file_state, u)
            self.assertEqual(self.sd(unit, 'UnitFileState'), file_state)
        return u

    def test_0_completion_lists_units(self):
        """`bkt admin systemctl VERB <TAB>` (bkt __complete) names the manager's units: loaded ones
        for start, unit files for enable, each read with one call."""
        for verb, unit in (('start', 'dbus.service'), ('enable', 'dbus.service')):
            # as root: the private bus lets only root call the test manager (an unprivileged
            # user's completion asks the real system bus, which lets everyone list units)
            rc, out, err = self.env.bkt_run('root', '__complete', 'admin', 'systemctl', verb, 'dbus', echo=False)
            self.assertEqual(rc, 0, err)
            self.assertIn(unit, out.split(), '%s: %s %s' % (verb, out, err))
            self.assertNotIn('CRITICAL', err)

    def test_1_status(self):
        for user in (ADMIN, USER):
            u = self.unit('bkt-test', user=user)
            self.assertEqual(u['unit'], 'bkt-test.service')
            self.assertEqual((u['load_state'], u['active_state'], u['sub_state']), ('loaded', 'inactive', 'dead'))
            self.assertEqual(u['description'], 'bkt test unit')
            self.assertEqual(u['unit_file_state'], 'disabled')
        self.assertEqual(self.sd('bkt-test.service', 'Description'), 'bkt test unit')
        res = self.systemctl('status', 'bkt-test')
        self.assertRc(res, 0, 'status')
        self.assertIn('bkt-test.service', res[1])
        self.assertIn('bkt test unit', res[1])

    def test_2_start_restart_stop(self):
        res = self.systemctl('start', 'bkt-test', '-y')
        self.assertRc(res, 0, 'start')
        self.assertIn('✓ Start unit bkt-test.service', res[1])
        u = self.assertState('bkt-test.service', 'active')
        self.assertEqual(u['sub_state'], 'running')
        self.assertIsNone(u['failure'])
        pid = self.sd('bkt-test.service', 'MainPID', SERVICE)
        self.assertGreater(pid, 0)
        res = self.systemctl('restart', 'bkt-test', '-y')
        self.assertRc(res, 0, 'restart')
        self.assertIn('✓ Restart unit bkt-test.service', res[1])
        self.assertState('bkt-test.service', 'active')
        pid2 = self.sd('bkt-test.service', 'MainPID', SERVICE)
        self.assertGreater(pid2, 0)
        self.assertNotEqual(pid2, pid, 'restart did not start a new process')
        res = self.systemctl('stop', 'bkt-test', '-y')
        self.assertRc(res, 0, 'stop')
        self.assertIn('✓ Stop unit bkt-test.service', res[1])
        self.assertState('bkt-test.service', 'inactive')
        self.assertEqual(self.sd('bkt-test.service', 'MainPID', SERVICE), 0)

    def test_3_enable_disable(self):
        env = self.env
        link = os.path.join(env.systemd_unit_dir(), 'default.target.wants', 'bkt-test.service')
        self.assertRc(self.systemctl('enable', 'bkt-test', '-y'), 0, 'enable')
        self.assertState('bkt-test.service', 'inactive', 'enabled')
        self.assertTrue(os.path.islink(link), 'enable did not create %s' % link)
        self.assertRc(self.systemctl('disable', 'bkt-test', '-y'), 0, 'disable')
        self.assertState('bkt-test.service', 'inactive', 'disabled')
        self.assertFalse(os.path.lexists(link), 'disable left %s' % link)
        # --now: enable also starts, disable also stops
        self.assertRc(self.systemctl('enable', 'bkt-test', '--now', '-y'), 0, 'enable --now')
        self.assertState('bkt-test.service', 'active', 'enabled')
        self.assertRc(self.systemctl('disable', 'bkt-test', '--now', '-y'), 0, 'disable --now')
        self.assertState('bkt-test.service', 'inactive', 'disabled')

    def test_4_failing_unit(self):
        env = self.env
        rc, out, err = env.bkt_json(ADMIN, 'admin', 'systemctl', 'start', 'bkt-broken', '-y', '--json')
        self.assertEqual(rc, EXIT_FAILED, err)
        self.assertFalse(out['success'], out)
        self.assertIn('result “failed”', out['error'])
        self.assertIn('exit-code (status 1)', out['error'])
        self.assertEqual(self.sd('bkt-broken.service', 'ActiveState'), 'failed')
        self.assertEqual(self.sd('bkt-broken.service', 'Result', SERVICE), 'exit-code')
        u = self.unit('bkt-broken', user=USER)
        self.assertEqual((u['active_state'], u['result'], u['exec_main_status']), ('failed', 'exit-code', 1))
        self.assertEqual(u['failure'], 'exit-code (status 1)')
        res = self.systemctl('status', 'bkt-broken')
        self.assertIn('Failure: exit-code (status 1)', res[1])

    def test_5_no_such_unit(self):
        # systemd's NoSuchUnit → org.bkt.Error.NotFound → exit 5 (dbus/bkt-error.c)
        res = self.systemctl('start', 'bkt-nonexistent', '-y')
        self.assertRc(res, EXIT_INVALID, 'start of a unit that does not exist')
        self.assertIn('bkt-nonexistent.service', res[2])
        self.assertIn('not found', res[2])
        u = self.unit('bkt-nonexistent')
        self.assertEqual((u['load_state'], u['active_state']), ('not-found', 'inactive'))
        self.assertEqual(self.sd('bkt-nonexistent.service', 'LoadState'), 'not-found')

    def test_6_non_wheel_refused(self):
        env = self.env
        for args in (['start', 'bkt-test'], ['enable', 'bkt-test'], ['restart', 'bkt-test'],
                     ['daemon-reload']):
            res = env.bkt_run(USER, 'admin', 'systemctl', *args, '-y')
            self.assertRc(res, EXIT_NOT_AUTHORIZED, 'non-wheel systemctl %s' % args[0])
        p = env.gdbus_call(USER, 'SystemctlManage', 'start', "['bkt-test.service']", '{}',
                           interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        # the unit is unchanged
        self.assertState('bkt-test.service', 'inactive', 'disabled')
        self.assertTrue(env.system_daemon.alive())


if __name__ == '__main__':
    bktenv.main()
