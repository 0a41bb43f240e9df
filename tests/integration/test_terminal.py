#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The progress display in a real terminal (tmux, 80 and 200 columns).

`bkt apply` installing 20 system flatpaks (real flatpak, local repo, real
bktd --system and polkitd) runs in a tmux pane; what the pane shows
afterwards is what the user saw.  The progress line is redrawn in place, so
no row of a progress bar may be left behind (a line wider than the terminal
wraps, and "\\r" cannot return over the wrap: each redraw then left its first
row behind), every app gets exactly one ✓ line, and the runtime all of them
need is announced once, naming a few apps and counting the rest."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

N_APPS = 20
APPS = ['org.test.App%03d' % i for i in range(1, N_APPS + 1)]
BAR_ROW = re.compile(r'^\[[# ]+\]\s+\d+%')


class Terminal(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=N_APPS)

    @classmethod
    def setUpClass(cls):
        if shutil.which('tmux') is None:
            raise bktenv.skip_without('tmux', 'not installed')
        super().setUpClass()
        env = cls.env
        env.write_manifests(env.image_manifests_dir, remotes=bktenv.test_remotes(env),
                            apps=bktenv.test_apps(system=APPS, user=()))
        # the tmux server runs as the wheel user in their login session
        # (user_kwargs), so the pane's bkt is a local active caller for polkit
        cls.sock = os.path.join(env.home(ADMIN), 'tmux.sock')

    @classmethod
    def tearDownClass(cls):
        cls.tmux('kill-server', check=False)
        super().tearDownClass()

    @classmethod
    def tmux(cls, *args, check=True):
        env = cls.env
        uenv = env.session_env(ADMIN)
        uenv['TERM'] = 'tmux-256color'
        return subprocess.run(['tmux', '-S', cls.sock] + list(args), capture_output=True, text=True, env=uenv,
                              check=check, cwd=env.home(ADMIN), **env.user_kwargs(ADMIN))

    def run_in_pane(self, cols, *args):
        """bkt ARGS as the wheel user in a COLS-wide tmux pane; returns its rows once it has exited."""
        env = self.env
        cmd = '%s %s; echo "EXIT=$?"; sleep 600' % (shlex.quote(env.bkt), ' '.join(shlex.quote(a) for a in args))
        name = 'w%d' % cols
        self.tmux('new-session', '-d', '-s', name, '-x', str(cols), '-y', '60', 'bash', '--norc', '-c', cmd)
        self.tmux('set-option', '-t', name, 'history-limit', '5000')
        end = time.monotonic() + 600
        while True:
            rows = self.tmux('capture-pane', '-p', '-t', name, '-S', '-5000').stdout.splitlines()
            if any(r.startswith('EXIT=') for r in rows):
                # and the same with wrapped lines joined, for what the lines say
                joined = self.tmux('capture-pane', '-p', '-J', '-t', name, '-S', '-5000').stdout.splitlines()
                break
            self.assertLess(time.monotonic(), end, '\n'.join(rows[-30:]))
            time.sleep(0.5)
        self.tmux('kill-session', '-t', name, check=False)
        return rows, joined

    def check_pane(self, panes, cols):
        rows, joined = panes
        text = '\n'.join(rows)
        print('--- %d columns ---\n%s' % (cols, text))
        self.assertIn('EXIT=0', text)
        self.assertEqual([r for r in rows if BAR_ROW.match(r)], [], 'progress rows left behind')
        for app in APPS:
            done = [r for r in joined if '✓' in r and 'flatpak:%s ' % app in r]
            self.assertEqual(len(done), 1, '%s: %s' % (app, done))
        shared = [r for r in joined if 'needed by' in r and 'runtime' in r]
        self.assertEqual(len(shared), 1, shared)
        self.assertEqual(shared[0].count('flatpak:'), 3, shared[0])
        self.assertIn('and %d more' % (N_APPS - 3), shared[0])

    def test_80_then_200_columns(self):
        env = self.env
        rows = self.run_in_pane(80, 'apply')
        self.check_pane(rows, 80)
        self.assertEqual(set(APPS) - env.installed_apps('system'), set())
        # removed by hand: bkt sees it changed on this machine; --theirs puts the manifests' apps back
        env.flatpak('root', 'system', 'uninstall', '-y', '--noninteractive', '--all')
        rows = self.run_in_pane(200, 'apply', '--theirs')
        self.check_pane(rows, 200)


if __name__ == '__main__':
    bktenv.main()
