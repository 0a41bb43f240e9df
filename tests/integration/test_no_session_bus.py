#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Without a session bus the client runs a private bktd --session over a
socket pair (BKTD_PATH), with the same engine: status, plan and apply work,
and the private daemon goes away with the client."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

NO_BUS = ('DBUS_SESSION_BUS_ADDRESS',)
# the desktop's GSettings backend, which writes through dconf-service on the session bus
DCONF = {'GSETTINGS_BACKEND': 'dconf'}


class NoSessionBus(EnvTestCase):
    # session buses exist (unused here) but no bktd --session runs on them
    ENV_KW = dict(polkit='real', users=(ADMIN,), session_daemons=False)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.write_standard_manifests()

    def private_bktd_pids(self):
        out = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % d, 'rb') as f:
                    cmd = f.read().split(b'\0')
            except OSError:
                continue
            # a bktd that is not the system instance (valgrind-wrapped too)
            if any(c.endswith(b'bktd') for c in cmd) and b'--system' not in cmd and self.env._has_marker(int(d)):
                out.append(int(d))
        return out

    def assertNoPrivateDaemon(self):
        """The private bktd goes away with its client (allow it a moment to notice)."""
        deadline = time.monotonic() + (30 if self.env.valgrind else 5)
        while self.private_bktd_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.private_bktd_pids(), [], 'the private bktd outlived the client')

    def test_1_status(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'status', unset=NO_BUS)
        self.assertRc(res, 0, 'bkt status without a session bus')
        self.assertIn('clock-format', res[1])
        rc, st, err = env.bkt_json(ADMIN, 'status', '--json', unset=NO_BUS)
        self.assertEqual(rc, 0, err)
        self.assertEqual(st['instance'], 'session')
        # nothing applied yet: the declared settings were checked and drift (not "not in sync"
        # because nothing was checked)
        gs = st['subsystems']['gsettings']
        self.assertGreater(gs['tracked'], 0, gs)
        self.assertIn('clock-format', json.dumps(gs['drift']))
        self.assertNoPrivateDaemon()
        self.assertIsNone(env.bus_owner_pid(ADMIN), 'something owns org.bkt.Daemon1 on the session bus')

    def test_2_dry_run(self):
        env = self.env
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--dry-run', '--json', unset=NO_BUS)
        self.assertEqual(rc, 0, err)
        self.assertGreater(plan['count'], 0)
        self.assertTrue(plan['system_request'])

    def test_3_apply(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'apply', unset=NO_BUS)
        self.assertRc(res, 0, 'bkt apply without a session bus')
        self.assertIn('org.test.Hello', env.installed_apps('system'))
        self.assertIn('org.test.Second', env.installed_apps('user', ADMIN))
        for s in bktenv.TEST_SETTINGS:
            self.assertEqual(env.gsettings(ADMIN, 'get', s['schema'], s['key']), s['value'])
        rc, st, err = env.bkt_json(ADMIN, 'status', '--json', unset=NO_BUS)
        self.assertEqual(rc, 0, err)
        self.assertInSync(st)
        self.assertNoPrivateDaemon()

    def test_4_gsetting_set_and_capture(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'gsetting', 'set', '--local', 'org.gnome.desktop.interface', 'cursor-size', '40',
                          unset=NO_BUS)
        self.assertRc(res, 0, 'bkt gsetting set without a session bus')
        self.assertEqual(env.gsettings(ADMIN, 'get', 'org.gnome.desktop.interface', 'cursor-size'), '40')
        self.assertIn('cursor-size', open(os.path.join(env.overlay_dir(ADMIN), 'gsettings.json')).read())

    def dconf_get(self, key):
        """The value in the user's dconf database (reading needs no bus: dconf mmaps the file)."""
        p = self.env.run_as(ADMIN, ['gsettings', 'get', 'org.gnome.desktop.interface', key],
                            env_extra=DCONF, unset=NO_BUS)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def test_6_dconf_persists(self):
        """With dconf (the real desktop backend) and no session bus, settings written by the private
        daemon were lost ("failed to commit changes to dconf") yet reported ✓: the private daemon now
        gets a private session bus for dconf's writer, and each write is read back."""
        env = self.env
        d = os.path.join(env.home(ADMIN), 'dconf-manifests')
        env.write_manifests(d, settings=[{'schema': 'org.gnome.desktop.interface', 'key': 'cursor-blink-time',
                                          'value': '1234'}], owner=ADMIN)
        self.assertNotEqual(self.dconf_get('cursor-blink-time'), '1234')
        res = env.bkt_run(ADMIN, '--manifests', d, 'apply', '--only', 'gsettings', unset=NO_BUS, env_extra=DCONF)
        self.assertRc(res, 0, 'apply through dconf without a session bus')
        self.assertNotIn('failed to commit changes to dconf', res[1] + res[2])
        self.assertEqual(self.dconf_get('cursor-blink-time'), '1234')
        rc, st, err = env.bkt_json(ADMIN, '--manifests', d, 'status', '--only', 'gsettings', '--json',
                                   unset=NO_BUS, env_extra=DCONF)
        self.assertEqual(rc, 0, err)
        self.assertEqual(st['subsystems']['gsettings']['in_sync'], 1, st)
        self.assertNoPrivateDaemon()

    def test_7_dconf_write_lost_is_not_done(self):
        """Where the write cannot persist (no dbus-run-session to give the private daemon a bus), the
        operation fails with the reason and the fix instead of ✓."""
        env = self.env
        d = os.path.join(env.home(ADMIN), 'dconf-lost')
        env.write_manifests(d, settings=[{'schema': 'org.gnome.desktop.interface', 'key': 'cursor-blink-time',
                                          'value': '777'}], owner=ADMIN)
        res = env.bkt_run(ADMIN, '--manifests', d, 'apply', '--only', 'gsettings', unset=NO_BUS,
                          env_extra=dict(DCONF, PATH='/nonexistent'))
        self.assertRc(res, 1, 'apply whose dconf write is lost')
        self.assertIn('org.gnome.desktop.interface cursor-blink-time was not kept', res[1] + res[2])
        self.assertIn('dbus-run-session', res[1] + res[2])
        self.assertNotIn('0 failed', res[1] + res[2])
        self.assertNotEqual(self.dconf_get('cursor-blink-time'), '777')

    def test_5_no_daemon_binary(self):
        """Neither a session bus nor a bktd to start: a friendly 'daemon unreachable' (4)."""
        env = self.env
        res = env.bkt_run(ADMIN, 'status', unset=NO_BUS,
                          env_extra={'BKTD_PATH': env.path('bin', 'no-such-bktd')})
        self.assertRc(res, 4, 'bkt status with no session bus and no bktd')
        self.assertTrue(res[2].strip(), 'no message')


if __name__ == '__main__':
    bktenv.main()
