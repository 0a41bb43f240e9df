#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The commands bktd --system runs work under the filesystem settings of its unit.

There is no system manager in CI (no `systemd-run -p …`), so this applies what data/bktd.service.in
says to bubblewrap, read from the file itself (a change to the unit changes the test):

  ProtectSystem=strict    / read-only (bwrap --ro-bind / /), /dev (PrivateDevices=) and /proc fresh;
  ProtectHome=tmpfs       /home, /root, /run/user empty and read-only;
  PrivateTmp=yes          /tmp and /var/tmp private;
  ReadWritePaths=, CacheDirectory=, LogsDirectory=
                          writable — each bound to a stand-in directory of the test, never the
                          machine's own (a path missing on this machine is made on a read-only tmpfs
                          over its nearest existing parent, whose other contents no command here uses);
  CapabilityBoundingSet=  the capabilities kept; $CACHE_DIRECTORY/$LOGS_DIRECTORY set as systemd does.

Commands, as root like bktd:
  * the real dnf's repoquery with bktd's own argv (PackagesInstall without "force"), against a local
    repo (tests/rpm-repo.sh): works with the unit's settings, and fails ("Read-only file system")
    once CacheDirectory=/LogsDirectory= are taken out — the regression this guards;
  * the real flatpak (the same libflatpak bktd calls in process) adding a remote, installing and
    uninstalling an app of tests/flatpak-repo.sh in a system installation at /var/lib/flatpak,
    export triggers in nested bubblewrap included.
rpm-ostree (a D-Bus client of rpm-ostreed) and bootc (status only; changes run in a transient unit
of their own) are not on Debian; their doubles would prove nothing about the real programs' writes.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402

UNIT = os.path.join(bktenv.SOURCE_DIR, 'data', 'bktd.service.in')
WRITABLE = ('ReadWritePaths', 'CacheDirectory', 'LogsDirectory', 'StateDirectory', 'RuntimeDirectory')
BASES = {'CacheDirectory': '/var/cache', 'LogsDirectory': '/var/log', 'StateDirectory': '/var/lib',
         'RuntimeDirectory': '/run'}


def unit_settings(path=UNIT):
    """{key: [values]} of the [Service] section (repeated keys accumulate, as systemd's lists do)."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('['):
                section = line
                continue
            if section == '[Service]' and '=' in line:
                k, v = line.split('=', 1)
                out.setdefault(k, []).extend(v.split())
    return out


def writable_paths(settings):
    """[(path, must_exist)] the unit makes writable; @yum_repos_dir@ and co. as configured by meson."""
    paths = []
    for key in WRITABLE:
        for v in settings.get(key, []):
            if key == 'ReadWritePaths':
                optional = v.startswith('-')
                v = v.lstrip('-')
                if v.startswith('@'):
                    v = '/etc/yum.repos.d'   # the default of -Dyum_repos_dir
                paths.append((v, not optional))
            else:
                paths.append((os.path.join(BASES[key], v), False))
    return paths


class Sandbox:
    """bwrap argv applying @settings' filesystem and capability settings; stand-ins under @root."""

    def __init__(self, settings, root, visible=()):
        self.settings, self.root = settings, root
        self.standins = {}
        self.argv = ['bwrap', '--die-with-parent']
        s = settings
        if s.get('ProtectSystem') != ['strict']:
            raise AssertionError('the unit no longer says ProtectSystem=strict: %s' % s.get('ProtectSystem'))
        self.argv += ['--ro-bind', '/', '/', '--proc', '/proc']
        if s.get('PrivateDevices') == ['yes']:
            self.argv += ['--dev', '/dev']
        if s.get('PrivateTmp') == ['yes']:
            self.argv += ['--tmpfs', '/tmp', '--tmpfs', '/var/tmp']
        if s.get('ProtectHome') == ['tmpfs']:
            for d in ('/home', '/root', '/run/user'):
                if os.path.isdir(d):
                    self.argv += ['--tmpfs', d, '--remount-ro', d]
        for d in visible:   # the test's own inputs (under /tmp, hidden by PrivateTmp otherwise)
            self.argv += ['--ro-bind', d, d]
        # Missing paths get a read-only tmpfs over their nearest existing parent, laid down before any
        # bind (a later tmpfs would hide the binds under it).
        paths, remount = [], []
        for path, must_exist in writable_paths(s):
            if not os.path.exists(path):
                if must_exist:
                    raise AssertionError('%s (ReadWritePaths without "-") is missing on this machine' % path)
                if not path.startswith(tuple(BASES.values())) and path != '/var/lib/flatpak':
                    continue   # "-": systemd skips a missing one too
                parent = os.path.dirname(path)
                while not os.path.exists(parent):
                    parent = os.path.dirname(parent)
                if parent not in remount:
                    self.argv += ['--tmpfs', parent]
                    remount.append(parent)
            paths.append(path)
        for path in paths:
            standin = os.path.join(root, 'rw' + path.replace('/', '_'))
            os.makedirs(standin, exist_ok=True)
            self.standins[path] = standin
            self.argv += ['--dir', path, '--bind', standin, path]
        for parent in remount:
            self.argv += ['--remount-ro', parent]
        caps = s.get('CapabilityBoundingSet')
        if caps is not None:
            self.argv += ['--cap-drop', 'ALL']
            for c in caps:
                self.argv += ['--cap-add', c]
        for key, var in (('CacheDirectory', 'CACHE_DIRECTORY'), ('LogsDirectory', 'LOGS_DIRECTORY')):
            if s.get(key):
                self.argv += ['--setenv', var, ':'.join(os.path.join(BASES[key], v) for v in s[key])]

    def run(self, argv, env=None, timeout=300):
        p = subprocess.run(self.argv + ['--'] + list(argv), capture_output=True, text=True, timeout=timeout,
                           env=env or {'PATH': bktenv.BASE_PATH, 'LANG': 'C.UTF-8', 'HOME': '/root'},
                           stdin=subprocess.DEVNULL)
        bktenv.log('[sandbox] %s -> rc=%d\n%s%s' % (' '.join(argv), p.returncode, p.stdout[-2000:],
                                                    p.stderr[-2000:]))
        return p


def dnf_argv(sandbox, repo_dir):
    """bktd's argv (bkt-dnf.c check_exist: the host dnf, its log option, repoquery) plus what picks
    the test's local repo instead of the machine's (and a release, which Debian cannot detect)."""
    logs = [v for v in sandbox.argv[sandbox.argv.index('LOGS_DIRECTORY') + 1:][:1]] \
        if 'LOGS_DIRECTORY' in sandbox.argv else []
    logdir = ['--setopt=logdir=' + logs[0].split(':')[0]] if logs else []
    local = ['--setopt=reposdir=' + os.path.join(repo_dir, 'repos.d'), '--releasever=39',
             '--repofrompath=local,' + os.path.join(repo_dir, 'repo'), '--repo=local']
    return ['dnf'] + logdir + local + ['repoquery', '--qf', '%{name} %{repoid}\\n', '--', 'bkt-hello']


class UnitSandbox(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise bktenv.skip_without('root', 'bktd --system runs as root')
        for t in ('bwrap', 'dnf', 'flatpak'):
            if shutil.which(t) is None:
                raise bktenv.skip_without(t, 'not installed')
        cls.T = tempfile.mkdtemp(prefix='bkt-unit-sandbox.', dir='/tmp')
        os.chmod(cls.T, 0o755)
        cls.settings = unit_settings()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.T, ignore_errors=True)

    def test_1_dnf_repoquery(self):
        repo = os.path.join(self.T, 'rpm')
        p = subprocess.run(['bash', os.path.join(bktenv.SOURCE_DIR, 'tests', 'rpm-repo.sh'), repo],
                           capture_output=True, text=True)
        if p.returncode == 77:
            raise bktenv.skip_without(p.stderr.strip().replace('no ', '', 1), 'rpm-repo.sh builds the local RPM repo')
        self.assertEqual(p.returncode, 0, p.stderr)
        sb = Sandbox(self.settings, os.path.join(self.T, 'unit'), visible=(repo,))
        p = sb.run(dnf_argv(sb, repo))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('bkt-hello local', p.stdout)
        self.assertTrue(os.listdir(sb.standins['/var/cache/dnf']), 'dnf cached nothing: did it run?')
        # Without the unit's cache and log directories, the same command fails: what PackagesInstall
        # did before bktd.service had them.
        bare = {k: v for k, v in self.settings.items() if k not in ('CacheDirectory', 'LogsDirectory')}
        sb = Sandbox(bare, os.path.join(self.T, 'bare'), visible=(repo,))
        p = sb.run(dnf_argv(sb, repo))
        self.assertNotEqual(p.returncode, 0, 'dnf ran without a writable cache and log: the check proves nothing')
        self.assertIn('Read-only file system', p.stdout + p.stderr)

    def test_2_flatpak_system_installation(self):
        repo = os.path.join(self.T, 'flatpak')
        p = subprocess.run(['bash', os.path.join(bktenv.SOURCE_DIR, 'tests', 'flatpak-repo.sh'), repo],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        sb = Sandbox(self.settings, os.path.join(self.T, 'unit-fp'), visible=(repo,))
        self.assertIn('/var/lib/flatpak', sb.standins)
        env = {'PATH': bktenv.BASE_PATH, 'LANG': 'C.UTF-8', 'HOME': '/root',
               'FLATPAK_SYSTEM_DIR': '/var/lib/flatpak', 'FLATPAK_CONFIG_DIR': '/etc/flatpak'}
        for argv in (['flatpak', '--system', 'remote-add', '--no-gpg-verify', 'bkt-test', 'file://%s/repo' % repo],
                     ['flatpak', '--system', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.Hello'],
                     ['flatpak', '--system', 'uninstall', '-y', '--noninteractive', 'org.test.Hello']):
            p = sb.run(argv, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn('Read-only file system', p.stderr)
        self.assertTrue(os.path.isdir(os.path.join(sb.standins['/var/lib/flatpak'], 'repo')))


if __name__ == '__main__':
    bktenv.main()
