#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Apply on boot, system scope: the command line of the shipped
bkt-apply.service (build/data/, its ExecStart as written, only the client's
path pointed at the build), run as root as the system manager would — no
session bus (the client starts its private session daemon) — against the
real bktd --system and polkitd: the image's system flatpak is installed, the
user-scope part is not touched (root has no desktop session), the stamp goes
to the system state directory, and a second boot with the same image does
nothing without contacting any daemon."""

import os
import re
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import EnvTestCase  # noqa: E402


class BootApply(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(bktenv.ADMIN,))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.write_standard_manifests()
        with open(os.path.join(bktenv.BUILD_DIR, 'data', 'bkt-apply.service')) as f:
            text = f.read()
        cls.argv = shlex.split(re.search(r'^ExecStart=(.*)$', text, re.M).group(1))
        cls.argv[0] = env.bkt
        cls.state = env.path('var-lib-bkt')   # StateDirectory=bkt

    def boot(self):
        env = self.env
        root_env = env.root_env()
        root_env.pop('DBUS_SESSION_BUS_ADDRESS', None)
        root_env['BKT_SYSTEM_STATE_DIR'] = self.state
        root_env['BKTD_PATH'] = os.path.join(bktenv.BUILD_DIR, 'daemon', 'bktd')   # the private session daemon
        return env.run_as('root', self.argv, env=root_env, timeout=600)

    def test_1_first_boot_applies_the_system_part(self):
        env = self.env
        self.assertEqual(self.argv[1:4], ['apply', '--scope', 'system'])
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))
        p = self.boot()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('org.test.Hello', env.installed_apps('system'))
        # root's own user-scope part is not applied: no user app for root, no settings written
        self.assertNotIn('org.test.Second', env.installed_apps('user', 'root'))
        self.assertIn('other scope left out', p.stdout + p.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.state, 'image-applied-system')))

    def test_2_same_image_next_boot_does_nothing(self):
        t0 = time.monotonic()
        p = self.boot()
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('were applied here already', p.stdout)
        print('second boot: %.1f ms' % (elapsed * 1000))

    def test_3_failed_apply_leaves_no_stamp(self):
        env = self.env
        os.unlink(os.path.join(self.state, 'image-applied-system'))
        # a new image whose app the remote does not have: the apply fails, so the next boot tries again
        env.write_manifests(env.image_manifests_dir,
                            apps=bktenv.test_apps(system=('org.test.Hello', 'org.test.NoSuchApp')))
        p = self.boot()
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state, 'image-applied-system')))


if __name__ == '__main__':
    bktenv.main()
