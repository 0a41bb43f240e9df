#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""First login: the shipped user unit bkt-apply-user.service, run by the REAL
`systemd --user` manager (bktenv systemd='real'), applies the image's
user-scope manifests for a fresh user once — their flatpak app, their
settings — with one desktop notification (dbusmock's notification_daemon on
the user's session bus), and a second login does nothing in < 50 ms (the
stamp of --if-image-changed: no daemon, no notification).  A new image
(manifests changed) applies again.  The system-scope part is left to
bkt-apply.service: the system flatpak is not installed by the user unit.

The unit is the configured file of the build (build/data/), with only the
client's path and the image directory of its condition pointed at this test's
world; its other lines are the shipped ones."""

import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import USER, EnvTestCase  # noqa: E402

UNIT = 'bkt-apply-user.service'
TIMER = 'bkt-apply-user.timer'


class FirstLogin(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(bktenv.ADMIN, USER), systemd='real')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.write_standard_manifests()
        # The shipped unit, pointed at this world.
        with open(os.path.join(bktenv.BUILD_DIR, 'data', UNIT)) as f:
            text = f.read()
        m = re.search(r'^ExecStart=(\S+)', text, re.M)
        text = text.replace(m.group(1), env.bkt)
        text = re.sub(r'^ConditionPathIsDirectory=.*$', 'ConditionPathIsDirectory=' + env.image_manifests_dir,
                      text, flags=re.M)
        cls.unit_path = os.path.join(env.systemd_unit_dir(), UNIT)
        with open(cls.unit_path, 'w') as f:
            f.write(text)
        os.chmod(cls.unit_path, 0o644)
        # ... and its timer, as shipped.
        timer = os.path.join(env.systemd_unit_dir(), TIMER)
        shutil.copy(os.path.join(bktenv.SOURCE_DIR, 'data', TIMER), timer)
        os.chmod(timer, 0o644)
        # The manager starts the unit with the user's session environment
        # (their session bus, GSettings keyfile, flatpak installation).
        uenv = env.session_env(USER)
        p = env.systemctl_user('set-environment', *('%s=%s' % kv for kv in sorted(uenv.items())))
        assert p.returncode == 0, p.stderr
        p = env.systemctl_user('daemon-reload')
        assert p.returncode == 0, p.stderr
        # Enabled, as the package's user preset does, the timer running: it
        # references the service, which keeps the manager from unloading it
        # (and its timestamps) as soon as it ends.  It first fires minutes
        # after startup, long after this test.
        p = env.systemctl_user('enable', '--now', UNIT.replace('.service', '.timer'))
        assert p.returncode == 0, p.stderr
        p = env.systemctl_user('enable', UNIT)
        assert p.returncode == 0, p.stderr
        # A notification server on the user's session bus, logging calls.
        cls.notify_log = os.path.join(env.home(USER), 'notifications.log')   # the server runs as the user
        cls.notifyd = subprocess.Popen(
            ['/usr/bin/python3', '-m', 'dbusmock', '--session', '-t', 'notification_daemon', '-l', cls.notify_log],
            env=uenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **env.user_kwargs(USER))
        p = env.run_as(USER, ['gdbus', 'wait', '--session', '--timeout', '20', 'org.freedesktop.Notifications'])
        assert p.returncode == 0, 'the notification server did not start: ' + p.stderr

    @classmethod
    def tearDownClass(cls):
        cls.notifyd.terminate()
        cls.notifyd.wait(timeout=10)
        super().tearDownClass()

    def notifications(self):
        try:
            with open(self.notify_log) as f:
                return [line for line in f if ' Notify ' in line or line.split()[1:2] == ['Notify']]
        except FileNotFoundError:
            return []

    def login(self):
        """One login: the manager starts the unit; returns (result, runtime in seconds)."""
        env = self.env
        p = env.systemctl_user('start', UNIT, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        props = {}
        # The unit's whole activation, as the manager clocks it: from leaving
        # "inactive" (the start job) to entering it again (the client exited).
        out = env.systemctl_user('show', UNIT, '-p', 'Result', '-p', 'InactiveExitTimestampMonotonic',
                                 '-p', 'InactiveEnterTimestampMonotonic').stdout
        for line in out.splitlines():
            k, _, v = line.partition('=')
            props[k] = v
        start, end = int(props['InactiveExitTimestampMonotonic']), int(props['InactiveEnterTimestampMonotonic'])
        # the manager's own clock of the client's run: both set, in order (a 0 would make any bound pass)
        self.assertGreater(start, 0, out + env.systemctl_user('status', UNIT).stdout)
        self.assertGreater(end, start, out)
        return props, (end - start) / 1e6

    def journal(self):
        return self.env.systemd_proc.log_text()

    def test_1_first_login_applies_once(self):
        env = self.env
        self.assertNotIn('org.test.Second', env.installed_apps('user', USER))
        props, runtime = self.login()
        self.assertEqual(props['Result'], 'success', self.journal())
        # The user-scope part: their app and their settings ...
        self.assertIn('org.test.Second', env.installed_apps('user', USER))
        self.assertEqual(env.gsettings(USER, 'get', 'org.gnome.desktop.interface', 'color-scheme'),
                         "'prefer-dark'")
        # ... not the system's (bkt-apply.service's part).
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))
        stamp = os.path.join(env.home(USER), '.local', 'state', 'bkt', 'image-applied-user')
        self.assertTrue(os.path.exists(stamp), 'no stamp after a successful first login')
        self.assertEqual(len(self.notifications()), 1, self.notifications())
        print('first login: %.0f ms' % (runtime * 1000))

    def test_2_second_login_does_nothing_fast(self):
        before = len(self.notifications())
        stamp = os.path.join(self.env.home(USER), '.local', 'state', 'bkt', 'image-applied-user')
        before_stamp = os.stat(stamp).st_mtime_ns
        props, runtime = self.login()
        self.assertEqual(props['Result'], 'success')
        # nothing applied: the stamp of the last apply is the one of the first login
        self.assertEqual(os.stat(stamp).st_mtime_ns, before_stamp)
        print('second login: %.1f ms' % (runtime * 1000))
        self.assertLess(runtime, 0.050, 'a login with nothing new took %.1f ms' % (runtime * 1000))
        self.assertEqual(len(self.notifications()), before, 'a login with nothing new notified')

    def test_3_new_image_applies_again(self):
        env = self.env
        # The image changes a setting; the user had changed another by hand.
        env.gsettings(USER, 'set', 'org.gnome.desktop.interface', 'clock-format', "'24h'")
        settings = [dict(s) for s in bktenv.TEST_SETTINGS]
        settings[1]['value'] = "'default'"
        env.write_manifests(env.image_manifests_dir, settings=settings)
        props, _ = self.login()
        self.assertEqual(props['Result'], 'success', self.journal())
        self.assertEqual(env.gsettings(USER, 'get', 'org.gnome.desktop.interface', 'color-scheme'), "'default'")
        # the change by hand is kept (--ours: the state record knows bkt applied '12h' at the first login)
        self.assertEqual(env.gsettings(USER, 'get', 'org.gnome.desktop.interface', 'clock-format'), "'24h'")
        self.assertEqual(len(self.notifications()), 2)


if __name__ == '__main__':
    bktenv.main()
