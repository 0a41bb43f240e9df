#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fast polkit paths with dbusmock's polkitd template, and no polkitd at all.

The daemon authorises asynchronously: a slow polkitd must not stall other
callers, a hung one must give a clear error in bounded time, a missing one
is org.bkt.Error.AuthorityUnavailable at once.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402

# system-scope content that needs no work: an empty apps list
EMPTY_CONTENT = json.dumps({'flatpak-apps': {'apps': []}})
APPLY_ARG = "{'manifest': <%s>}" % json.dumps(EMPTY_CONTENT)
# bound for "a hung polkitd gives a clear error": the daemon's own timeout is
# 25 s (BKT_AUTH_TIMEOUT_SECONDS); allow valgrind's slowness on top
HANG_BOUND = 60


class MockPolkit(EnvTestCase):
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        # rpm-ostree is the double (with htop in its repo), so that an authorised PackagesInstall
        # gets as far as its transaction: authorisation is judged by what happens, not by an error
        # name that is absent
        cls.rpm_ostree_dir = tempfile.mkdtemp(prefix='bkt-polkit-rpm-ostree-', dir='/tmp')
        with open(os.path.join(cls.rpm_ostree_dir, 'state.json'), 'w') as f:
            json.dump({'booted': [], 'staged': None, 'available': ['htop']}, f)
        cls.ENV_KW = dict(polkit='mock', users=(USER,), session_daemons=False,
                          extra_env={'BKT_RPM_OSTREE': bktenv.double('rpm-ostree-double'),
                                     'RPM_OSTREE_DOUBLE_STATE': os.path.join(cls.rpm_ostree_dir, 'state.json'),
                                     'RPM_OSTREE_DOUBLE_LOG': os.path.join(cls.rpm_ostree_dir, 'log')})
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.rpm_ostree_dir, ignore_errors=True)

    def setUp(self):
        env = self.env
        env.mock_polkit('SimulateHang', 'false')
        env.mock_polkit('ReleaseHangingCalls')
        env.mock_polkit('SetDelay', '0.0')
        env.mock_polkit('AllowUnknown', 'false')
        env.mock_polkit('SetAllowed', '@as []')

    def version_fast(self, limit=3.0):
        p = self.env.get_property(USER, 'DaemonVersion', timeout=int(limit) + 2)
        self.assertEqual(p.returncode, 0, 'DaemonVersion not readable: %s' % p.stderr)
        self.assertLess(p.elapsed, limit + (5 if self.env.valgrind else 0),
                        'DaemonVersion took %.1fs while polkit was slow' % p.elapsed)
        return p

    def test_not_authorized(self):
        env = self.env
        for method, arg in (('Apply', APPLY_ARG), ('Status', '{}'), ('Plan', APPLY_ARG),
                            ('Capture', '{}')):
            p = env.gdbus_call(USER, method, arg, timeout=30)
            self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        p = env.gdbus_call(USER, 'FlatpakInstall', 'bkt-test', 'org.test.Hello', '{}',
                           interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        # only the allowed action passes
        env.mock_polkit('SetAllowed', "['org.bkt.status']")
        p = env.gdbus_call(USER, 'Status', '{}')
        self.assertEqual(p.returncode, 0, p.stderr)
        p = env.gdbus_call(USER, 'Apply', APPLY_ARG)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        # root is not special to the daemon either: polkit decides
        p = env.gdbus_call('root', 'Apply', APPLY_ARG)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')

    def test_authorized_apply(self):
        env = self.env
        env.mock_polkit('AllowUnknown', 'true')
        p = env.gdbus_call(USER, 'Apply', APPLY_ARG)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('/org/bkt/Daemon1/Transaction/', p.stdout)

    def test_apply_with_packages_needs_packages_action(self):
        """Layering is org.bkt.packages whichever method asks: Apply content that declares
        system-packages needs it besides org.bkt.apply."""
        env = self.env
        arg = "{'manifest': <%s>}" % json.dumps(json.dumps({'system-packages': {'packages': ['htop']}}))
        env.mock_polkit('SetAllowed', "['org.bkt.apply']")
        p = env.gdbus_call(USER, 'Apply', arg)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        # content without packages needs org.bkt.apply only
        p = env.gdbus_call(USER, 'Apply', APPLY_ARG)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = env.gdbus_call(USER, 'PackagesInstall', "['htop']", "{'force': <true>}", interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        env.mock_polkit('SetAllowed', "['org.bkt.packages']")
        p = env.gdbus_call(USER, 'Apply', arg)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        # org.bkt.packages alone is enough for PackagesInstall: it returns its transaction
        p = env.gdbus_call(USER, 'PackagesInstall', "['htop']", "{'force': <true>}", interface=bktenv.ADMIN_IFACE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('/org/bkt/Daemon1/Transaction/', p.stdout)
        # its caller (gdbus) is gone: the daemon cancels it and is free for the next call
        path = p.stdout.split("'")[1]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # (read as root: another process of the same user is not its creator)
            q = env.get_property('root', 'State', interface=bktenv.TRANSACTION_IFACE, path=path)
            if "'cancelled'" in q.stdout:
                break
            time.sleep(0.2)
        self.assertIn("'cancelled'", q.stdout, q.stderr)
        env.mock_polkit('SetAllowed', "['org.bkt.apply', 'org.bkt.packages']")
        p = env.gdbus_call(USER, 'Apply', arg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('/org/bkt/Daemon1/Transaction/', p.stdout)

    def test_delay_daemon_stays_responsive(self):
        env = self.env
        env.mock_polkit('AllowUnknown', 'true')
        delay = 8
        env.mock_polkit('SetDelay', '%d.0' % delay)
        t0 = time.monotonic()
        apply_proc = subprocess.Popen(
            ['gdbus', 'call', '--system', '--timeout', '120', '--dest', bktenv.BUS_NAME, '--object-path',
             bktenv.OBJ_PATH, '--method', bktenv.MANAGER_IFACE + '.Apply', APPLY_ARG],
            env=env.user_env(USER), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            **env.user_kwargs(USER))
        time.sleep(1.0)
        answered = 0
        while apply_proc.poll() is None and time.monotonic() - t0 < delay - 1:
            self.version_fast()
            p = env.gdbus_call(USER, 'org.freedesktop.DBus.Introspectable.Introspect', timeout=5)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('org.bkt.Daemon1.Manager', p.stdout)
            answered += 1
            time.sleep(0.5)
        out, err = apply_proc.communicate(timeout=150)
        elapsed = time.monotonic() - t0
        print('Apply with a %ds polkit delay returned after %.1fs; %d other calls answered meanwhile'
              % (delay, elapsed, answered))
        self.assertGreater(answered, 0, 'the Apply returned before the polkit delay: %s %s' % (out, err))
        self.assertEqual(apply_proc.returncode, 0, 'delayed but allowed Apply failed: %s' % err)
        self.assertIn('/org/bkt/Daemon1/Transaction/', out)
        self.assertGreaterEqual(elapsed, delay - 0.5)

    def test_hang_bounded(self):
        env = self.env
        env.mock_polkit('AllowUnknown', 'true')
        env.mock_polkit('SimulateHang', 'true')
        t0 = time.monotonic()
        apply_proc = subprocess.Popen(
            ['gdbus', 'call', '--system', '--timeout', '300', '--dest', bktenv.BUS_NAME, '--object-path',
             bktenv.OBJ_PATH, '--method', bktenv.MANAGER_IFACE + '.Apply', APPLY_ARG],
            env=env.user_env(USER), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            **env.user_kwargs(USER))
        time.sleep(1.0)
        # while polkit hangs, the daemon answers
        self.version_fast()
        try:
            out, err = apply_proc.communicate(timeout=HANG_BOUND + 10)
        except subprocess.TimeoutExpired:
            apply_proc.kill()
            apply_proc.communicate()
            self.fail('Apply still waiting %ds after polkitd hung: the daemon hangs with it' % (HANG_BOUND + 10))
        elapsed = time.monotonic() - t0
        print('Apply with a hung polkitd ended after %.1fs: rc=%d %s %s' % (elapsed, apply_proc.returncode,
                                                                            out.strip(), err.strip()))
        self.assertNotEqual(apply_proc.returncode, 0, 'Apply succeeded although polkit never answered: %s' % out)
        self.assertTrue('org.bkt.Error.TimedOut' in err or 'org.bkt.Error.AuthorityUnavailable' in err,
                        'unclear error for a hung polkitd: %s' % err)
        self.assertLessEqual(elapsed, HANG_BOUND)
        self.version_fast()


class NoPolkit(EnvTestCase):
    ENV_KW = dict(polkit='none', users=(USER, ADMIN), session_daemons=False)

    def test_authority_unavailable(self):
        env = self.env
        for method, arg in (('Apply', APPLY_ARG), ('Status', '{}')):
            p = env.gdbus_call(USER, method, arg, timeout=60)
            self.assertErrorName(p, 'org.bkt.Error.AuthorityUnavailable')
            self.assertLess(p.elapsed, 10 if not env.valgrind else 30,
                            '%s took %.1fs to notice that polkitd is missing' % (method, p.elapsed))
        # the daemon is still there
        p = env.get_property(USER, 'DaemonVersion')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(env.system_daemon.alive())


if __name__ == '__main__':
    bktenv.main()
