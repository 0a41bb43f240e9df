#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""-n/--dry-run changes nothing, for every command (issue 12, item 1).

Every bkt command and subcommand that can change something, run with -n
before the command or --dry-run after it, in a world where each of them has
something to do: a distribution repo (a real bare git remote, the user's
checkout with an out-of-date Containerfile, pending changelog entries and
upstream pins), the forge stand-in, a --local change in the journal and a
failed pull request queued, the real daemons, polkitd, flatpak, GSettings,
the bootc double and the systemd mock.  Before and after each command: every
file of the user's home (their overlay, settings, journal, shims, caches),
the image manifests, the checkout and every ref of the remotes, the
installed flatpaks, the forge's requests, the bootc double's invocations,
the systemd mock's calls and every method call to org.bkt.Daemon1 on both
buses (dbus-monitor): only the read methods (Plan, ChangePlan, CapturePlan,
Status, LocalList, property reads, BootcStatus, SystemctlStatus) may be
called, and nothing else may differ."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
IFACE = 'org.gnome.desktop.interface'
READ_METHODS = {'Plan', 'ChangePlan', 'CapturePlan', 'Status', 'LocalList', 'Get', 'GetAll', 'Introspect',
                'BootcStatus', 'SystemctlStatus'}
CALL_RE = re.compile(r'^method call .*interface=([\w.]+); member=(\w+)')


class DryRun(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=1, bootc=True, systemd='mock')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, SEED)
            cls.prepare_repo()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()

    @classmethod
    def prepare_repo(cls):
        """Give every repo tool something to do, committed and pushed."""
        w, env = cls.world, cls.env
        co = w.checkout
        shutil.copy(os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'containerfile', 'Containerfile.in'),
                    os.path.join(co, 'Containerfile'))
        with open(os.path.join(co, 'Containerfile'), 'a') as fh:
            fh.write('# === UPSTREAM_PINS (managed by bkt) ===\n# === END UPSTREAM_PINS ===\n')
        with open(os.path.join(co, 'CHANGELOG.md'), 'w') as fh:
            fh.write('# Changelog\n\n<!-- changelog entries start -->\n')
        os.makedirs(os.path.join(co, '.changelog', 'pending'))
        with open(os.path.join(co, '.changelog', 'pending', '20260101T000000Z-flatpak.json'), 'w') as fh:
            fh.write('{"type": "added", "category": "flatpak", "message": "add flatpak org.test.Hello", '
                     '"timestamp": "2026-01-01T00:00:00Z", "draft": false}\n')
        os.makedirs(os.path.join(co, 'upstream'))
        shutil.copy(os.path.join(SEED, 'upstream-manifest.json'), os.path.join(co, 'upstream', 'manifest.json'))
        bktenv.chown_tree(co, ADMIN)
        w.ugit('-C', co, 'add', '.')
        w.ugit('-C', co, 'commit', '-q', '-m', 'repo tools have work to do')
        w.ugit('-C', co, 'push', '-q', 'origin', 'main')
        # The image has apps (applied: installed), a shim and an extension to remove.
        env.write_standard_manifests(shims=[{'name': 'podman'}], extensions=['caffeine@patapon.info'])
        p = env.bkt_run(ADMIN, 'apply', '--only', 'flatpak,shim')
        assert p[0] == 0, p
        assert 'org.test.Hello' in env.installed_apps('system'), env.installed_apps('system')
        # A --local change in the journal (bkt local commit proposes it) and a failed PR
        # (bkt pr retry retries it).
        p = env.bkt_run(ADMIN, 'gsetting', 'set', '--local', IFACE, 'cursor-size', '30')
        assert p[0] == 0, p
        cls.forge.fail_next(500)
        p = env.bkt_run(ADMIN, 'gsetting', 'set', '--repo', co, IFACE, 'cursor-size', '31')
        assert p[0] == 1 and 'kept as #' in p[1], p
        cls.forge.take()
        env.systemd_mock('AddUnit', 'bkt-test.service', 'bkt test unit', 'false')
        # A skel file to sync (beside the image manifests) and a dotfile to add.
        os.makedirs(env.path('skel', '.config'), exist_ok=True)
        with open(env.path('skel', '.config', 'dry.conf'), 'w') as fh:
            fh.write('from the skel\n')
        bktenv.make_readable(env.path('skel'))
        env.run_as(ADMIN, ['sh', '-c', 'echo mine > "$0"', os.path.join(env.home(ADMIN), '.dryrc')])

    # ------------------------------------------------------------------ snapshots
    @staticmethod
    def tree(root, skip=()):
        out = {}
        for d, dirs, files in os.walk(root):
            rel = os.path.relpath(d, root)
            dirs[:] = [x for x in dirs if os.path.normpath(os.path.join(rel, x)) not in skip]
            for n in dirs + files:
                p = os.path.join(d, n)
                st = os.lstat(p)
                if os.path.islink(p):
                    val = 'link:' + os.readlink(p)
                elif os.path.isfile(p):
                    with open(p, 'rb') as fh:
                        val = hashlib.sha256(fh.read()).hexdigest()
                else:
                    val = 'dir'
                if os.path.relpath(p, root) not in skip:
                    out[os.path.relpath(p, root)] = (val, st.st_mode)
        return out

    def snapshot(self):
        env, w = self.env, self.world
        home = env.home(ADMIN)
        refs = {}
        for bare in (w.bare_file, w.bare_http):
            refs[bare] = w.git(None, '--git-dir', bare, 'for-each-ref', '--format=%(objectname) %(refname)')
        refs['checkout'] = w.ugit('-C', w.checkout, 'for-each-ref', '--format=%(objectname) %(refname)')
        return {
            # the user installation is compared by what is installed (libflatpak may touch
            # its own lock and summary cache files on a read)
            # and ~/.rpmdb is where Debian's rpm macros put a non-root user's database:
            # dnf's read-only query (package validation) creates it, with or without -n
            'home': self.tree(home, skip={'.local/share/flatpak', '.rpmdb'}),
            'image': self.tree(env.image_manifests_dir),
            'refs': refs,
            'checkout': w.snapshot(w.checkout),
            'flatpak': (env.installed_apps('system'), env.installed_apps('user', ADMIN),
                        env.remotes('system'), env.remotes('user', ADMIN)),
            'bootc': env.bootc_runs(),
            # the manager's changing methods (StartUnit, RestartUnit...), not its reads
            'systemd': [c for c in env.systemd_calls() if not c.startswith(('Get', 'List'))],
        }

    def start_monitors(self):
        env = self.env
        self.mon_files = [env.path('logs', 'dry-monitor-session.txt'), env.path('logs', 'dry-monitor-system.txt')]
        self.mons = [
            subprocess.Popen(['dbus-monitor', '--address', env.session_bus[ADMIN],
                              "type='method_call',interface='org.bkt.Daemon1.Manager'",
                              "type='method_call',interface='org.bkt.Daemon1.Admin'",
                              "type='method_call',interface='org.bkt.Daemon1.Transaction'"],
                             stdout=open(self.mon_files[0], 'w'), stderr=subprocess.STDOUT,
                             env=env.user_env(ADMIN), **env.user_kwargs(ADMIN)),
            subprocess.Popen(['dbus-monitor', '--system',
                              "type='method_call',interface='org.bkt.Daemon1.Manager'",
                              "type='method_call',interface='org.bkt.Daemon1.Admin'",
                              "type='method_call',interface='org.bkt.Daemon1.Transaction'"],
                             stdout=open(self.mon_files[1], 'w'), stderr=subprocess.STDOUT, env=env.root_env()),
        ]
        time.sleep(0.5)

    def stop_monitors(self):
        time.sleep(0.3)
        for m in self.mons:
            bktenv.kill_pid(m.pid, 'dbus-monitor')
            m.wait(timeout=10)

    def bus_calls(self):
        calls = []
        for f in self.mon_files:
            with open(f) as fh:
                for line in fh:
                    m = CALL_RE.match(line)
                    if m:
                        calls.append((m.group(1), m.group(2)))
        return calls

    # ------------------------------------------------------------------ the test
    def commands(self):
        co = self.world.checkout
        R = ['--repo', co]
        return [
            ['apply'], ['capture'],
            ['flatpak', 'add', 'org.test.App001', '--remote', 'bkt-test', '--scope', 'user'] + R,
            ['flatpak', 'remove', 'org.test.Hello', '--scope', 'system'] + R,
            ['flatpak', 'add', 'org.test.App001', '--remote', 'bkt-test', '--scope', 'user', '--pr-only'] + R,
            ['flatpak', 'add', 'org.test.App001', '--remote', 'bkt-test', '--scope', 'user', '--local'],
            ['flatpak', 'sync'], ['flatpak', 'capture'],
            ['gsetting', 'set', IFACE, 'cursor-size', '33'] + R,
            ['gsetting', 'unset', IFACE, 'cursor-size'] + R,
            ['gsetting', 'apply'], ['gsetting', 'capture', IFACE],
            ['ext', 'add', 'caffeine@patapon.info', '--force'] + R,
            ['ext', 'remove', 'caffeine@patapon.info'] + R,
            ['ext', 'enable', 'caffeine@patapon.info'] + R,
            ['ext', 'disable', 'caffeine@patapon.info'] + R,
            ['ext', 'sync'], ['ext', 'capture'],
            ['shim', 'add', 'htop'] + R, ['shim', 'remove', 'podman'] + R, ['shim', 'sync'],
            ['skel', 'sync'], ['skel', 'sync', '--force'], ['skel', 'add', '~/.dryrc'] + R,
            ['skel', 'add', '~/.dryrc', '--local'],
            ['dnf', 'install', 'zsh'] + R, ['dnf', 'remove', 'zsh'] + R,
            ['dev', 'dnf', 'install', 'ripgrep', '--pr'] + R, ['dev', 'update'],
            ['containerfile', 'sync'] + R,
            ['changelog', 'add', 'added', 'flatpak', 'add flatpak org.test.Second'] + R,
            ['changelog', 'release'] + R, ['changelog', 'clear', '--confirm'] + R,
            ['changelog', 'generate', '--write'] + R, ['changelog', 'motd'],
            ['base', 'assume', 'zsh', '--reason', 'shell'] + R, ['base', 'unassume', 'flatpak'] + R,
            ['base', 'assume', 'zsh', '--reason', 'shell', '--pr'] + R,
            ['upstream', 'update', '--all'] + R, ['upstream', 'pin', 'getnf', 'v0.1'] + R,
            ['upstream', 'remove', 'getnf'] + R, ['upstream', 'lock'] + R, ['upstream', 'generate'] + R,
            ['upstream', 'remove', 'getnf', '--pr'] + R,
            ['local', 'commit'] + R, ['pr', 'retry'] + R,
            ['admin', 'bootc', 'upgrade', '--confirm'], ['admin', 'bootc', 'switch', 'quay.io/x/y:1', '--confirm'],
            ['admin', 'bootc', 'rollback', '--confirm'],
            ['admin', 'systemctl', 'restart', 'bkt-test.service', '--confirm'],
        ]

    def test_every_command(self):
        env = self.env
        ran = []
        for i, argv in enumerate(self.commands()):
            # both spellings: -n before the command, --dry-run after it
            args = ['-n'] + argv if i % 2 == 0 else argv + ['--dry-run']
            case = 'bkt ' + ' '.join(args)
            before = self.snapshot()
            self.forge.take()
            self.start_monitors()
            try:
                rc, out, err = env.bkt_run(ADMIN, *args, cwd=self.world.checkout, echo=False)
            finally:
                self.stop_monitors()
            self.assertNotIn('refusing to', err, '%s: a write reached the --dry-run guard:\n%s' % (case, err))
            after = self.snapshot()
            for k in before:
                self.assertEqual(after[k], before[k], '%s (rc=%d) changed %s\nstdout:\n%s\nstderr:\n%s'
                                 % (case, rc, k, out[-3000:], err[-3000:]))
            self.assertEqual(self.forge.take(), [], case)
            writes = [c for c in self.bus_calls() if c[1] not in READ_METHODS]
            self.assertEqual(writes, [], '%s called %s' % (case, writes))
            ran.append((case, rc))
        print('\n'.join('%3d  %s' % (rc, c) for c, rc in ran))
        self.assertEqual(len(ran), len(self.commands()))

    def test_containerfile_sync_says_would(self):
        """The reported case: the file is out of date, -n says what it would regenerate."""
        w = self.world
        path = os.path.join(w.checkout, 'Containerfile')
        with open(path, 'rb') as fh:
            before = fh.read()
        for args in (['-n', 'containerfile', 'sync'], ['containerfile', 'sync', '--dry-run']):
            rc, out, err = self.env.bkt_run(ADMIN, *args, '--repo', w.checkout)
            self.assertEqual(rc, 0, err)
            self.assertIn('would regenerate', out)
            self.assertNotIn(': regenerated', out)
            with open(path, 'rb') as fh:
                self.assertEqual(fh.read(), before)


if __name__ == '__main__':
    bktenv.main()
