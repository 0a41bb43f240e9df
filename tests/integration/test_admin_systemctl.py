#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt admin systemctl through bktd --system, with the real polkitd and the shipped
policy/rules, and dbusmock's systemd template extended with the methods bktd uses
(tests/doubles/bkt-systemd-mock.py) as org.freedesktop.systemd1 on the
private system bus.

start/stop/restart/reload/enable/disable/mask/unmask with jobs awaited through
JobRemoved, --now, daemon-reload, NoSuchUnit, a failing unit's result; status
for both users; non-wheel refused with nothing called; unit name validation
before polkit with nothing called.

The same commands against the REAL systemd manager (`systemd --user` run by
the harness as an unprivileged user in a private mount namespace and a
delegated cgroup, systemd='real') are in test_admin_systemd_real.py, which
skips on hosts without the cgroup hierarchies it needs; this file keeps what
only a mock can show: which manager methods were called (or, after a refusal
or a bad name, not called), masks, and the exact D-Bus contract bktd relies on.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402

from test_admin_bootc import BIG_CALL  # noqa: E402

EXIT_USAGE, EXIT_NOT_AUTHORIZED, EXIT_INVALID = 2, 3, 5
MANAGE = ('StartUnit', 'StopUnit', 'RestartUnit', 'ReloadUnit', 'EnableUnitFiles', 'DisableUnitFiles',
          'MaskUnitFiles', 'UnmaskUnitFiles', 'Reload')


class AdminSystemctl(EnvTestCase):
    ENV_KW = dict(polkit='real', flatpak=False, systemd='mock')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.systemd_mock('AddUnit', 'bkt-test.service', 'bkt test unit', 'false')
        env.systemd_mock('AddUnit', 'bkt-broken.service', 'a unit that fails', 'true')
        env.systemd_mock('AddUnit', 'bkt-test.timer', 'bkt test timer', 'false')

    def setUp(self):
        self.env.systemd_mock('ClearManagerCalls')

    def unit(self, name, user=ADMIN):
        rc, st, err = self.env.bkt_json(user, 'admin', 'systemctl', 'status', name, '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(st['units']), 1, st)
        return st['units'][0]

    def manage_calls(self):
        return [c for c in self.env.systemd_calls() if c in MANAGE]

    def test_1_start_stop_restart_reload(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'admin', 'systemctl', 'start', 'bkt-test', '-y')
        self.assertRc(res, 0, 'start (a bare name means .service)')
        self.assertIn('✓ Start unit bkt-test.service', res[1])
        u = self.unit('bkt-test')
        self.assertEqual((u['unit'], u['active_state'], u['sub_state'], u['load_state']),
                         ('bkt-test.service', 'active', 'running', 'loaded'))
        self.assertEqual(u['description'], 'bkt test unit')
        self.assertIsNone(u['failure'])
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'reload', 'bkt-test.service', '-y'), 0, 'reload')
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'restart', 'bkt-test', '-y'), 0, 'restart')
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'stop', 'bkt-test', '-y'), 0, 'stop')
        self.assertEqual(self.unit('bkt-test')['active_state'], 'inactive')
        self.assertEqual(self.manage_calls(), ['StartUnit', 'ReloadUnit', 'RestartUnit', 'StopUnit'])
        self.assertIn('Subscribe', env.systemd_calls())

    def test_2_enable_disable_mask_unmask(self):
        env = self.env
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'enable', 'bkt-test', '--now', '-y'), 0)
        u = self.unit('bkt-test')
        self.assertEqual((u['unit_file_state'], u['active_state']), ('enabled', 'active'))
        self.assertEqual(self.manage_calls(), ['EnableUnitFiles', 'Reload', 'StartUnit'])
        env.systemd_mock('ClearManagerCalls')
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'disable', 'bkt-test', '--now', '-y'), 0)
        u = self.unit('bkt-test')
        self.assertEqual((u['unit_file_state'], u['active_state']), ('disabled', 'inactive'))
        self.assertEqual(self.manage_calls(), ['DisableUnitFiles', 'Reload', 'StopUnit'])
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'mask', 'bkt-test.timer', '-y'), 0)
        self.assertEqual(self.unit('bkt-test.timer')['unit_file_state'], 'masked')
        res = env.bkt_run(ADMIN, 'admin', 'systemctl', 'start', 'bkt-test.timer', '-y')
        self.assertRc(res, 1, 'starting a masked unit')
        self.assertIn('masked', res[2])
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'unmask', 'bkt-test.timer', '-y'), 0)
        self.assertEqual(self.unit('bkt-test.timer')['unit_file_state'], 'disabled')
        env.systemd_mock('ClearManagerCalls')
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'systemctl', 'daemon-reload', '-y'), 0)
        self.assertEqual(self.manage_calls(), ['Reload'])

    def test_3_failing_unit_and_no_such_unit(self):
        env = self.env
        rc, out, err = env.bkt_json(ADMIN, 'admin', 'systemctl', 'start', 'bkt-broken', '-y', '--json')
        self.assertEqual(rc, 1, err)
        self.assertFalse(out['success'])
        self.assertIn('result “failed”', out['error'])
        self.assertIn('exit-code (status 1)', out['error'])
        u = self.unit('bkt-broken', user=USER)
        self.assertEqual((u['active_state'], u['result'], u['exec_main_status']), ('failed', 'exit-code', 1))
        self.assertEqual(u['failure'], 'exit-code (status 1)')
        res = env.bkt_run(ADMIN, 'admin', 'systemctl', 'status', 'bkt-broken')
        self.assertIn('Failure: exit-code (status 1)', res[1])
        # NoSuchUnit → NotFound (exit 1 from the transaction: the operation failed)
        res = env.bkt_run(ADMIN, 'admin', 'systemctl', 'start', 'nonexistent', '-y')
        self.assertRc(res, (1, 5), 'start of a unit that does not exist')
        self.assertIn('nonexistent.service', res[2])
        self.assertIn('not found', res[2])
        u = self.unit('nonexistent')
        self.assertEqual(u['load_state'], 'not-found')
        # several units: each handled, the failure reported
        res = env.bkt_run(ADMIN, 'admin', 'systemctl', 'restart', 'bkt-test', 'bkt-broken', '-y')
        self.assertRc(res, 1)
        self.assertIn('1 of 2 operations failed', res[2])
        self.assertIn('✓ Restart unit bkt-test.service', res[1])
        self.assertEqual(self.unit('bkt-test')['active_state'], 'active')

    def test_4_non_wheel_refused(self):
        env = self.env
        for args in (['start', 'bkt-test'], ['stop', 'bkt-test'], ['enable', 'bkt-test'], ['mask', 'bkt-test'],
                     ['daemon-reload']):
            res = env.bkt_run(USER, 'admin', 'systemctl', *args, '-y')
            self.assertRc(res, EXIT_NOT_AUTHORIZED, 'non-wheel systemctl %s' % args[0])
        p = env.gdbus_call(USER, 'SystemctlManage', 'start', "['bkt-test.service']", '{}',
                           interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        self.assertEqual(self.manage_calls(), [], 'systemd was called despite the refusal')
        # status is for everyone
        self.assertEqual(self.unit('bkt-test', user=USER)['load_state'], 'loaded')

    def test_5_bad_unit_names(self):
        env = self.env
        for name in ('../etc/passwd.service', '-x.service', '', 'a/b', 'foo bar', 'foo;reboot', '.service',
                     'x' * 300, '$(id)'):
            p = env.gdbus_call(ADMIN, 'SystemctlManage', 'start', json.dumps([name]), '{}',
                               interface=bktenv.ADMIN_IFACE)
            self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
            p = env.gdbus_call(USER, 'SystemctlStatus', json.dumps([name]), '{}', interface=bktenv.ADMIN_IFACE)
            self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        for args in (['start', '-y', '../etc/passwd.service'], ['stop', '-y', '--', '-x.service'],
                     ['enable', '-y', '']):
            res = env.bkt_run(ADMIN, 'admin', 'systemctl', *args)
            self.assertRc(res, EXIT_INVALID, 'systemctl %s' % args)
        p = env.gdbus_call(ADMIN, 'SystemctlManage', 'start', '@as []', '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'SystemctlManage', 'shutdown', "['bkt-test']", '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'SystemctlManage', 'daemon-reload', "['bkt-test']", '{}',
                           interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        for method in ('SystemctlManage', 'SystemctlStatus'):
            p = env.run_as(ADMIN, [bktenv.SYSTEM_PYTHON, '-c', BIG_CALL, env.system_bus_address, method,
                                   str(10 * 1024 * 1024)], timeout=300)
            self.assertIn('ERROR org.bkt.Error.LimitExceeded', p.stdout, '10 MB unit name: %s %s'
                          % (p.stdout, p.stderr[-500:]))
        self.assertEqual(self.manage_calls(), [], 'systemd was called for a bad name')
        # confirmation
        res = env.bkt_run(ADMIN, 'admin', 'systemctl', 'start', 'bkt-test')
        self.assertRc(res, EXIT_USAGE, 'start without --confirm and without a TTY')
        self.assertEqual(self.manage_calls(), [])
        self.assertTrue(env.system_daemon.alive())


if __name__ == '__main__':
    bktenv.main()
