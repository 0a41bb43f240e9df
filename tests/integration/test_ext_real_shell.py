#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""GNOME Shell extensions against the REAL GNOME Shell (issue 6): gnome-shell --headless --wayland
--no-x11 --virtual-monitor as the test user bkt-admin on their private session bus (bktenv
gnome_shell=True), with two test extensions (GNOME 43 style extension.js) in their
~/.local/share/gnome-shell/extensions before the shell starts.

`bkt extension enable/disable` go through org.gnome.Shell.Extensions and the shell reports the new
state (GetExtensionInfo, the org.gnome.shell enabled-extensions key it keeps itself); `bkt extension
list --json` sees the running shell and its version; `bkt capture` records an extension enabled by
hand through the shell's own EnableExtension; status counts.

Hosts where gnome-shell is missing or cannot start (no EGL, ...) skip with the reason (exit 77).
test_ext_shims covers the rest without a shell (extensions.gnome.org stand-in, a dbusmock shell).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

ONE, TWO = 'one@bkt.test', 'two@bkt.test'
# GNOME Shell's ExtensionState
ENABLED, DISABLED, INITIALIZED = 1, 2, 6


class ExtRealShell(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), flatpak=False, gnome_shell=True, shell_extensions=(ONE, TWO))

    def shell(self, method, *args):
        p = self.env.run_as(ADMIN, ['gdbus', 'call', '--session', '--dest', 'org.gnome.Shell',
                                    '--object-path', '/org/gnome/Shell',
                                    '--method', 'org.gnome.Shell.Extensions.' + method] + list(args))
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def state(self, uuid):
        out = self.shell('GetExtensionInfo', uuid)
        # ({'uuid': <'one@bkt.test'>, ..., 'state': <1.0>, ...},)
        i = out.index("'state': <")
        return int(float(out[i + len("'state': <"):].split('>')[0]))

    def wait_state(self, uuid, want, timeout=10):
        end = time.monotonic() + timeout
        while True:
            got = self.state(uuid)
            if got == want or time.monotonic() > end:
                return got
            time.sleep(0.1)

    def enabled_key(self):
        text = self.env.gsettings(ADMIN, 'get', 'org.gnome.shell', 'enabled-extensions')
        return [] if text in ('@as []', '[]') else [s.strip().strip("'") for s in text.strip('[]').split(',')]

    def ext_status(self):
        rc, st, err = self.env.bkt_json(ADMIN, 'extension', 'list', '--json')
        self.assertEqual(rc, 0, err)
        return st

    def test_1_shell_running(self):
        out = self.shell('ListExtensions')
        self.assertIn(ONE, out)
        self.assertIn(TWO, out)
        self.assertNotEqual(self.state(ONE), ENABLED)
        st = self.ext_status()
        self.assertTrue(st['shell_running'], st)
        self.assertEqual(st['shell_version'], self.env.gnome_shell_version)
        self.assertEqual(st['tracked'], 0, st)
        rc, out, err = self.env.bkt_run(ADMIN, 'extension', 'list')
        self.assertEqual(rc, 0, err)
        self.assertIn('GNOME Shell %s (running)' % self.env.gnome_shell_version, out)

    def test_2_enable_disable(self):
        env = self.env
        rc, plan, err = env.bkt_json(ADMIN, 'extension', 'enable', '--local', ONE, '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([op['effect'] for op in plan['operations'] if op['subsystem'] != 'pr'], ['live', 'manifest'])
        rc, out, err = env.bkt_run(ADMIN, 'extension', 'enable', '--local', ONE)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.wait_state(ONE, ENABLED), ENABLED)
        self.assertIn(ONE, self.enabled_key())
        self.assertIn('bkt-test: enable ' + ONE, env.gnome_shell.log_text())
        st = self.ext_status()
        self.assertEqual((st['tracked'], st['installed'], st['enabled'], st['not_installed']), (1, 1, 1, 0), st)
        self.assertEqual(st['entries'][0]['state'], 'enabled', st)
        self.assertTrue(st['entries'][0]['compatible'], st)
        with open(os.path.join(env.overlay_dir(ADMIN), 'gnome-extensions.json')) as f:
            self.assertIn(ONE, json.load(f)['extensions'])

        rc, out, err = env.bkt_run(ADMIN, 'extension', 'disable', '--local', ONE)
        self.assertEqual(rc, 0, err)
        self.assertIn(self.wait_state(ONE, DISABLED), (DISABLED, INITIALIZED))
        self.assertNotIn(ONE, self.enabled_key())
        self.assertIn('bkt-test: disable ' + ONE, env.gnome_shell.log_text())
        st = self.ext_status()
        self.assertEqual((st['tracked'], st['installed'], st['enabled']), (1, 1, 0), st)
        with open(os.path.join(env.overlay_dir(ADMIN), 'gnome-extensions.json')) as f:
            self.assertIn({'uuid': ONE, 'enabled': False}, json.load(f)['extensions'])
        rc, out, err = env.bkt_run(ADMIN, 'extension', 'list')
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'one@bkt.test\s+disabled\s+installed')

    def test_3_enabled_by_hand_then_capture(self):
        env = self.env
        self.assertIn('true', self.shell('EnableExtension', TWO))
        self.assertEqual(self.wait_state(TWO, ENABLED), ENABLED)
        self.assertIn(TWO, self.enabled_key())
        st = self.ext_status()
        self.assertIn('extension:' + TWO, [u['target'] for u in st['untracked']], st)
        rc, st, err = env.bkt_json(ADMIN, 'status', '--json', '--only', 'extension')
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(st['subsystems']['extension']['untracked']), 1, st)

        # enabled by hand, never declared: untracked, recorded because it is picked
        rc, res, err = env.bkt_json(ADMIN, 'capture', '--json', '--select', 'extension:' + TWO)
        self.assertEqual(rc, 0, err)
        self.assertTrue(res['success'], res)
        with open(os.path.join(env.overlay_dir(ADMIN), 'gnome-extensions.json')) as f:
            saved = json.load(f)['extensions']
        self.assertTrue(TWO in saved or {'uuid': TWO} in saved, saved)
        self.assertIn({'uuid': ONE, 'enabled': False}, saved)
        st = self.ext_status()
        self.assertEqual(st['untracked'], [], st)
        self.assertEqual((st['tracked'], st['installed'], st['enabled'], st['in_sync']), (2, 2, 1, 2), st)
        # the shell still has it on: capture only recorded
        self.assertEqual(self.state(TWO), ENABLED)


if __name__ == '__main__':
    bktenv.main()
