#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What bkt prints is what happened, on the original distribution's real
manifests (tests/data/original), as a new user without a session bus or a
system daemon runs it (issue 12, items 2, 22, 23, 24): the client starts its
private bktd --session from the build tree, the system bus is not there,
flatpak's installations and GSettings (keyfile) live in the test's temp dir.

  * a mistyped, non-directory or empty -m is an error naming the path
    (exit 5), never an empty manifest set that plans removals;
  * apply with a system part and no system daemon says before acting which
    part needs bktd, how to start it and how to apply the rest, and does
    nothing; read-only commands do not talk of "system-scope changes";
  * capture --dry-run prints one warning line per cause, with the count;
  * drift check prints one line per item, grouped per subsystem, and a
    summary line saying which check found what."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

SRC = os.environ.get('BKT_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BKT_BUILD_DIR', os.path.join(SRC, 'build'))
BKT = os.path.join(BUILD, 'client', 'bkt')
ORIGINAL = os.path.join(SRC, 'tests', 'data', 'original')
EXIT_UNREACHABLE, EXIT_INVALID = 4, 5


class Reports(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='bkt-reports-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        home = os.path.join(self.tmp, 'home')
        os.makedirs(home)
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, '.config'),
                        XDG_DATA_HOME=os.path.join(home, '.local', 'share'),
                        XDG_CACHE_HOME=os.path.join(home, '.cache'),
                        XDG_STATE_HOME=os.path.join(home, '.local', 'state'),
                        BKT_REPO_JSON=os.path.join(self.tmp, 'no-repo.json'), LC_ALL='C.UTF-8',
                        BKTD_PATH=os.path.join(BUILD, 'daemon', 'bktd'),
                        DBUS_SYSTEM_BUS_ADDRESS='unix:path=' + os.path.join(self.tmp, 'no-system-bus'),
                        FLATPAK_SYSTEM_DIR=os.path.join(self.tmp, 'flatpak-system'),
                        FLATPAK_USER_DIR=os.path.join(home, '.local', 'share', 'flatpak'),
                        FLATPAK_CONFIG_DIR=os.path.join(self.tmp, 'flatpak-config'),
                        BKT_IMAGE_MANIFESTS_DIR=os.path.join(self.tmp, 'image-manifests'),
                        GSETTINGS_BACKEND='keyfile', NO_COLOR='1')
        # no session bus: the client runs its own private bktd --session
        for k in ('DBUS_SESSION_BUS_ADDRESS', 'BKT_NOW', 'BKT_RPM'):
            self.env.pop(k, None)
        self.manifests = os.path.join(self.tmp, 'manifests')
        os.makedirs(self.manifests)
        for f in os.listdir(ORIGINAL):
            if f != 'upstream-manifest.json':
                shutil.copy(os.path.join(ORIGINAL, f), self.manifests)

    def bkt(self, *args, cwd=None):
        return subprocess.run([BKT] + list(args), cwd=cwd or self.tmp, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300)

    def home_state(self):
        out = {}
        for d, _, files in os.walk(self.env['HOME']):
            for n in files:
                p = os.path.join(d, n)
                # libflatpak initialises the user installation (repo/config, .changed) when the
                # plan reads it; what is installed there is compared by the absence of results
                if '/.cache/' in p or '/.local/share/flatpak/' in p:
                    continue
                with open(p, 'rb') as fh:
                    out[os.path.relpath(p, self.env['HOME'])] = hashlib.sha256(fh.read()).hexdigest()
        return out

    # ---------------------------------------------------------------- item 2
    def test_manifests_path_must_hold_manifests(self):
        empty = os.path.join(self.tmp, 'empty')
        os.makedirs(empty)
        afile = os.path.join(self.manifests, 'host-shims.json')
        typo = os.path.join(self.tmp, 'manfiests')
        for path, why in ((typo, 'does not exist'), (afile, 'is not a directory'), (empty, 'holds no manifest')):
            for args in (['apply', '--dry-run'], ['status'], ['capture', '--dry-run'], ['shim', 'list']):
                r = self.bkt(*args, '-m', path)
                self.assertEqual(r.returncode, EXIT_INVALID, '%s -m %s: %s%s' % (args, path, r.stdout, r.stderr))
                self.assertIn('manifests directory %s %s' % (path, why), r.stderr)
                self.assertNotIn('Remove', r.stdout)

    # ---------------------------------------------------------------- item 22
    def test_apply_without_system_daemon_says_so_first(self):
        before = self.home_state()
        r = self.bkt('apply', '-m', self.manifests, '--only', 'flatpak,gsettings')
        self.assertEqual(r.returncode, EXIT_UNREACHABLE, r.stdout + r.stderr)
        self.assertIn('bkt: nothing was done: the system part of this plan', r.stderr)
        self.assertIn('of flatpak) needs the system daemon bktd', r.stderr)
        self.assertIn('Start it: sudo systemctl start bktd.service', r.stderr)
        self.assertIn('Or apply only the user part now: bkt apply --scope user (or leave these subsystems out: '
                      '--exclude flatpak)', r.stderr)
        # nothing ran: no operation result, no user-scope change
        self.assertNotIn('✓', r.stdout)
        self.assertNotIn('operation(s) done', r.stdout)
        self.assertEqual(self.home_state(), before)
        # read-only: no talk of changes
        r = self.bkt('admin', 'bootc', 'status')
        self.assertEqual(r.returncode, EXIT_UNREACHABLE, r.stdout + r.stderr)
        self.assertNotIn('system-scope changes', r.stderr)
        self.assertIn('cannot reach the system bus', r.stderr)

    # ---------------------------------------------------------------- item 23
    def test_capture_warnings_one_line_per_cause(self):
        r = self.bkt('capture', '--dry-run', '-m', self.manifests)
        self.assertEqual(r.returncode, 0, r.stderr)
        warnings = [l for l in r.stdout.splitlines() if l.startswith('warning: ')]
        shims = [l for l in warnings if 'is in the manifest but not in /' in l]
        self.assertEqual(len(shims), 1, '\n'.join(warnings))
        self.assertTrue(shims[0].startswith('warning: 7× shim <name> is in the manifest'), shims[0])
        self.assertIn('`bkt shim sync` creates it', shims[0])
        self.assertIn('— <name>: bootc, flatpak, journalctl, podman, rpm-ostree, systemctl, ujust', shims[0])
        apps = [l for l in warnings if 'is in the manifest but not installed' in l]
        self.assertEqual(len(apps), 1, '\n'.join(warnings))
        self.assertRegex(apps[0], r'^warning: \d+× flatpak:<name> is in the manifest but not installed')
        self.assertRegex(apps[0], r' and \d+ more$')
        # every warning line is its own cause
        self.assertLessEqual(len(warnings), 5, '\n'.join(warnings))

    # ---------------------------------------------------------------- item 24
    def test_drift_one_line_per_item(self):
        repo = os.path.join(self.tmp, 'distro')
        shutil.copytree(self.manifests, os.path.join(repo, 'manifests'))
        subprocess.run(['git', 'init', '-q', '-b', 'main', repo], check=True)
        r = self.bkt('drift', 'check', '--repo', repo)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertLess(max(len(l) for l in lines), 300, r.stdout)
        self.assertNotIn('; ', r.stdout)
        system = [l for l in lines if l.startswith('system ')]
        self.assertEqual(len(system), 1)
        self.assertRegex(system[0], r'^system +drift +\d+ item\(s\) differ \(.*shim 7.*\)$')
        self.assertIn('  shim (7):', lines)
        self.assertIn('    ▸ Create shim:podman (runs the host\'s podman)', lines)
        items = [l for l in lines if l.startswith('    ▸ ')]
        n = int(system[0].split('drift', 1)[1].split()[0])
        self.assertEqual(len(items), n)
        self.assertTrue(lines[-1].startswith('DRIFT (exit 1): '), lines[-1])
        self.assertIn('system drift', lines[-1])
        out = json.loads(self.bkt('drift', 'check', '--repo', repo, '--json').stdout)
        self.assertEqual(len(out['system']['items']['shim']), 7)
        self.assertEqual(sum(len(v) for v in out['system']['items'].values()), n)


if __name__ == '__main__':
    unittest.main(verbosity=2)
