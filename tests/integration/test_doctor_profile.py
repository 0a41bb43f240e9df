#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt doctor and bkt profile (issue 15, items 2 and 6), with real components.

Real polkitd, the real bktd --system and --session, real flatpak (a local
repo), keyfile GSettings, real git remotes and the forge stand-in (punenv),
the bootc, rpm-ostree and toolbox doubles of tests/doubles/.

doctor: a healthy machine is exit 0 with every check ✓; then one thing
broken at a time — the system daemon stopped, a manifest corrupted, a
gsettings key that does not exist, a flatpak app whose remote is not
declared, an unreadable state record — names that problem and its fix, exit
1, and the next case starts healthy again.

profile: capture writes one versioned document (atomically, -o FILE or
stdout) with every subsystem's items; diff against the manifests and
between two profiles names only here / only there / different; unowned asks
a real RPM database (rpm --root, packages built with rpmbuild) once for all
files and refuses a directory that does not exist."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
IFACE = 'org.gnome.desktop.interface'


def checks_by_name(report):
    return {c['name']: c for c in report['checks']}


class Doctor(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), bootc=True, system_activation=False,
                  extra_env={'BKT_RPM_OSTREE': bktenv.double('rpm-ostree-double'),
                             'BKT_TOOLBOX': bktenv.double('toolbox-double')})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, SEED)
        except BaseException:
            cls.tearDownClass()
            raise
        cls.env.write_standard_manifests()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()

    def doctor(self, *extra):
        rc, report, err = self.env.bkt_json(ADMIN, 'doctor', '--json', *extra, cwd=self.world.checkout)
        self.assertIn(rc, (0, 1), err)
        self.assertEqual(rc == 0, report['ok'], report)
        self.assertEqual(report['problems'], sum(1 for c in report['checks'] if not c['ok']))
        for c in report['checks']:
            if not c['ok']:
                self.assertTrue(c.get('fix'), 'a problem without its fix: %s' % c)
        return rc, checks_by_name(report)

    def assertHealthy(self):
        rc, checks = self.doctor()
        bad = {n: c for n, c in checks.items() if not c['ok']}
        self.assertEqual(bad, {}, 'the healthy machine has problems')
        self.assertEqual(rc, 0)
        return checks

    def assertOnlyProblem(self, name, *words):
        rc, checks = self.doctor()
        self.assertEqual(rc, 1)
        bad = sorted(n for n, c in checks.items() if not c['ok'])
        self.assertEqual(bad, [name], checks)
        text = checks[name]['detail'] + ' ' + checks[name]['fix']
        for w in words:
            self.assertIn(w, text, checks[name])
        # the human report says the same, with the fix
        rc2, out, _ = self.env.bkt_run(ADMIN, 'doctor', cwd=self.world.checkout)
        self.assertEqual(rc2, 1)
        self.assertIn('✗ ' + name, out)
        self.assertIn('  fix: ' + checks[name]['fix'], out)
        self.assertIn('1 problem(s) found.', out)
        return checks[name]

    def test_1_healthy(self):
        checks = self.assertHealthy()
        for name in ('system-daemon', 'session-daemon', 'bootc', 'polkit-agent', 'toolbox', 'manifests',
                     'flatpak-remotes', 'live-state', 'gsettings', 'repo', 'identity', 'token', 'remote',
                     'rpm-ostree'):
            self.assertIn(name, checks)
        version = subprocess.run([self.env.bkt, '--version'], capture_output=True, text=True).stdout.split()[1]
        self.assertEqual(checks['system-daemon']['detail'], 'bktd ' + version)
        self.assertTrue(checks['session-daemon']['detail'].startswith('bktd ' + version))
        rc, out, _ = self.env.bkt_run(ADMIN, 'doctor', cwd=self.world.checkout)
        self.assertEqual(rc, 0)
        self.assertIn('Everything bkt depends on is in place.', out)

    def test_2_system_daemon_stopped(self):
        env = self.env
        bktenv.kill_pid(env.system_daemon.pid, 'bktd-system')
        try:
            self.assertOnlyProblem('system-daemon', 'not running', 'systemctl start bktd.service')
        finally:
            env.start_system_daemon()
        self.assertHealthy()

    def test_3_corrupt_manifest(self):
        path = os.path.join(self.env.image_manifests_dir, 'gsettings.json')
        with open(path) as f:
            good = f.read()
        try:
            with open(path, 'w') as f:
                f.write('{"settings": [ {"schema": ')
            c = self.assertOnlyProblem('manifests', 'gsettings.json:1:', 'correct the file')
            self.assertRegex(c['detail'], r'gsettings\.json:\d+:\d+')
        finally:
            with open(path, 'w') as f:
                f.write(good)
        self.assertHealthy()

    def test_4_gsettings_key_missing(self):
        env = self.env
        settings = bktenv.TEST_SETTINGS + [{'schema': IFACE, 'key': 'no-such-key-at-all', 'value': "'x'"}]
        env.write_manifests(env.image_manifests_dir, settings=settings)
        try:
            self.assertOnlyProblem('gsettings', 'no-such-key-at-all', 'gsettings.json')
        finally:
            env.write_manifests(env.image_manifests_dir, settings=bktenv.TEST_SETTINGS)
        self.assertHealthy()

    def test_5_flatpak_remote_undeclared(self):
        env = self.env
        apps = bktenv.test_apps() + [{'id': 'org.test.Orphan', 'remote': 'nowhere', 'scope': 'system'}]
        env.write_manifests(env.image_manifests_dir, apps=apps)
        try:
            self.assertOnlyProblem('flatpak-remotes', 'org.test.Orphan', 'nowhere', 'flatpak-remotes.json')
        finally:
            env.write_manifests(env.image_manifests_dir, apps=bktenv.test_apps())
        self.assertHealthy()

    def test_6_record_unreadable(self):
        env = self.env
        path = env.state_record_path('user', ADMIN)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('{"version": 1, "items": ')
        bktenv.chown_tree(os.path.join(env.home(ADMIN), '.local'), ADMIN)
        try:
            self.assertOnlyProblem('record-user', 'corrupt', path, 'move')
        finally:
            os.unlink(path)
        self.assertHealthy()

    def test_7_no_report_is_its_own_exit_code(self):
        # stdout that cannot be written: doctor made no report, which is not "healthy" nor "problems"
        p = self.env.run_as(ADMIN, ['/bin/sh', '-c', 'exec "$0" doctor >/dev/full', self.env.bkt],
                            cwd=self.world.checkout)
        self.assertEqual(p.returncode, 9, p.stderr)
        self.assertIn('cannot write the report', p.stderr)


class Profile(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.write_standard_manifests()

    def test_capture_and_diff(self):
        env = self.env
        self.assertRc(env.bkt_run(ADMIN, 'apply'), 0, 'apply')
        out_dir = tempfile.mkdtemp(prefix='bkt-profile-', dir=env.home(ADMIN))
        bktenv.chown_tree(out_dir, ADMIN)
        first = os.path.join(out_dir, 'first.json')
        self.assertRc(env.bkt_run(ADMIN, 'profile', 'capture', '-o', first), 0, 'capture')
        # --dry-run: nothing written
        dry = os.path.join(out_dir, 'dry.json')
        rc, out, err = env.bkt_run(ADMIN, 'profile', 'capture', '-n', '-o', dry)
        self.assertEqual(rc, 0, err)
        self.assertIn('Would write', err)
        self.assertFalse(os.path.exists(dry))
        self.assertEqual(sorted(os.listdir(out_dir)), ['first.json'], 'a temporary file was left behind')
        with open(first) as f:
            doc = json.load(f)
        self.assertEqual(doc['format'], 'bkt-profile')
        self.assertEqual(doc['version'], 1)
        for k in ('bkt', 'bktd', 'captured', 'host', 'user'):
            self.assertIn(k, doc)
        subs = doc['subsystems']
        for name in ('flatpak', 'gsettings', 'shim', 'extension', 'dnf'):
            self.assertIn(name, subs)
        self.assertEqual(subs['gsettings']['gsetting:%s.clock-format@user' % IFACE], "'12h'")
        self.assertIn('flatpak:org.test.Hello@system', subs['flatpak'])
        # -o - is stdout, the same document
        rc, same, err = env.bkt_json(ADMIN, 'profile', 'capture', '-o', '-')
        self.assertEqual(rc, 0, err)
        self.assertEqual(same['subsystems'], subs)

        # in sync: no difference with the manifests, from the machine or from the file
        rc, d, err = env.bkt_json(ADMIN, 'profile', 'diff', '--json')
        self.assertEqual((rc, d['subsystems']), (0, {}), err)
        rc, d, err = env.bkt_json(ADMIN, 'profile', 'diff', first, '--json')
        self.assertEqual((rc, d['subsystems']), (0, {}), err)

        # a setting changed by hand, an app removed by hand: different, only there
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h')
        env.flatpak(ADMIN, 'user', 'uninstall', '-y', '--noninteractive', 'org.test.Second')
        rc, d, err = env.bkt_json(ADMIN, 'profile', 'diff', '--json')
        self.assertEqual(rc, 1, err)
        gs = d['subsystems']['gsettings']
        self.assertEqual(gs['different'], [{'item': 'gsetting:%s.clock-format@user' % IFACE,
                                            'here': "'24h'", 'there': "'12h'"}])
        self.assertIn('flatpak:org.test.Second@user', d['subsystems']['flatpak']['only_there'])
        rc, out, _ = env.bkt_run(ADMIN, 'profile', 'diff')
        self.assertEqual(rc, 1)
        self.assertIn("- only there: flatpak:org.test.Second@user", out)

        # two profiles: no daemon needed, the same differences seen from the files
        second = os.path.join(out_dir, 'second.json')
        self.assertRc(env.bkt_run(ADMIN, 'profile', 'capture', '-o', second), 0, 'capture 2')
        rc, d, err = env.bkt_json(ADMIN, 'profile', 'diff', first, second, '--json')
        self.assertEqual(rc, 1, err)
        self.assertEqual(d['subsystems']['gsettings']['different'][0]['here'], "'12h'")
        self.assertEqual(d['subsystems']['flatpak']['only_here'], ['flatpak:org.test.Second@user'])
        rc, d, err = env.bkt_json(ADMIN, 'profile', 'diff', second, second, '--json')
        self.assertEqual((rc, d['subsystems']), (0, {}))

        # bad files: clear errors, never "no differences"
        bad = os.path.join(out_dir, 'bad.json')
        with open(bad, 'w') as f:
            json.dump({'format': 'bkt-profile', 'version': 99, 'subsystems': {}}, f)
        rc, out, err = env.bkt_run(ADMIN, 'profile', 'diff', bad, second)
        self.assertNotEqual(rc, 0)
        self.assertIn('version 99', err)
        rc, out, err = env.bkt_run(ADMIN, 'profile', 'diff', os.path.join(out_dir, 'missing.json'), second)
        self.assertNotIn(rc, (0, 1))
        self.assertIn('missing.json', err)
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '12h')


class VersionSkew(unittest.TestCase):
    """An old daemon still running after bkt was updated: the session bus carries bkt's own
    dbusmock template (data/dbusmock/bkt.py, conformance-tested against the real bktd) announcing
    another DaemonVersion; doctor names the skew and the restart, exit 1."""

    def test_old_session_daemon_is_a_problem(self):
        try:
            import dbusmock  # noqa: F401
        except ImportError:
            self.skipTest('needs python3-dbusmock: apt-get install python3-dbusmock')
        tmp = tempfile.mkdtemp(prefix='bkt-skew-')
        self.addCleanup(shutil.rmtree, tmp, True)
        bus = subprocess.Popen(['dbus-daemon', '--session', '--nofork', '--print-address=1',
                                '--address=unix:dir=' + tmp], stdout=subprocess.PIPE, text=True)
        self.addCleanup(bus.wait, 10)
        self.addCleanup(bus.terminate)
        address = bus.stdout.readline().strip()
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, DBUS_SYSTEM_BUS_ADDRESS='unix:path=' + tmp + '/none',
                   BKT_NO_PKTTYAGENT='1')
        template = os.path.join(bktenv.SOURCE_DIR, 'data', 'dbusmock', 'bkt.py')
        mock = subprocess.Popen(['/usr/bin/python3', '-m', 'dbusmock', '--session', '-t', template,
                                 '-p', '{"version": "0.0.1-old"}'], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(mock.wait, 10)
        self.addCleanup(mock.terminate)
        subprocess.run(['gdbus', 'wait', '--session', '--timeout', '20', 'org.bkt.Daemon1'], env=env, check=True)
        p = subprocess.run([os.path.join(bktenv.BUILD_DIR, 'client', 'bkt'), 'doctor', '--json'], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        checks = checks_by_name(json.loads(p.stdout))
        skew = checks['session-daemon']
        self.assertFalse(skew['ok'])
        self.assertIn('bktd 0.0.1-old answers', skew['detail'])
        self.assertIn('version skew', skew['detail'])
        self.assertIn('restart', skew['fix'])
        # no system bus here: that is said too, with its fix
        self.assertFalse(checks['system-daemon']['ok'])
        self.assertIn('fix', checks['system-daemon'])


class Unowned(unittest.TestCase):
    """A small RPM database under a root (rpm --root), packages built with rpmbuild."""

    @classmethod
    def setUpClass(cls):
        for tool in ('rpm', 'rpmbuild'):
            if shutil.which(tool) is None:
                raise unittest.SkipTest('needs %s: apt-get install rpm' % tool)
        cls.dir = tempfile.mkdtemp(prefix='bkt-unowned-')
        cls.root = os.path.join(cls.dir, 'root')
        owned = ['/etc/app/owned.conf', '/usr/local/bin/owned-tool']
        spec = os.path.join(cls.dir, 'owned.spec')
        with open(spec, 'w') as f:
            f.write('Name: bkt-owned\nVersion: 1.0\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n'
                    '%%description\nt\n%%install\n%s\n%%files\n%s\n' % (
                        '\n'.join('mkdir -p %%{buildroot}%s && touch %%{buildroot}%s' % (os.path.dirname(p), p)
                                  for p in owned), '\n'.join(owned)))
        env = dict(os.environ, HOME=cls.dir)
        subprocess.run(['rpmbuild', '--quiet', '--define', '_topdir ' + os.path.join(cls.dir, 'rb'), '-bb', spec],
                       check=True, env=env, capture_output=True)
        rpms = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(cls.dir, 'rb', 'RPMS')) for f in fs]
        subprocess.run(['rpm', '--root', cls.root, '--initdb'], check=True, capture_output=True)
        subprocess.run(['rpm', '--root', cls.root, '-i', '--justdb', '--nodeps'] + rpms, check=True,
                       capture_output=True)
        cls.unowned = ['/etc/app/mine.conf', '/etc/hand made.conf', '/usr/local/bin/my-script']
        for p in owned + cls.unowned:
            os.makedirs(os.path.dirname(cls.root + p), exist_ok=True)
            with open(cls.root + p, 'w') as f:
                f.write('x\n')
        # what bkt wrote itself: a COPR repo file as bkt dnf copr names it
        cls.repos = os.path.join(cls.root, 'etc', 'yum.repos.d')
        os.makedirs(cls.repos)
        with open(os.path.join(cls.repos, '_copr:copr.fedorainfracloud.org:acme:tools.repo'), 'w') as f:
            f.write('[copr:copr.fedorainfracloud.org:acme:tools]\n')
        with open(os.path.join(cls.repos, 'other.repo'), 'w') as f:
            f.write('[other]\n')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def bkt(self, *args, env_extra=None):
        env = dict(os.environ, BKT_YUM_REPOS_DIR='/etc/yum.repos.d')
        env.update(env_extra or {})
        return subprocess.run([os.path.join(bktenv.BUILD_DIR, 'client', 'bkt')] + list(args), capture_output=True,
                              text=True, env=env, timeout=120)

    def test_lists_what_no_package_owns_with_one_rpm_call(self):
        p = self.bkt('profile', 'unowned', '--root', self.root, '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out['unowned'], sorted(self.unowned + ['/etc/yum.repos.d/other.repo']))
        self.assertEqual(out['skipped_bkt_managed'], 1)
        self.assertEqual(out['rpm_calls'], 1)
        self.assertEqual(out['files'], 7)
        # given directories only
        p = self.bkt('profile', 'unowned', '--root', self.root, '/usr/local')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), ['/usr/local/bin/my-script'])

    def test_rpm_runs_once_not_per_file(self):
        # a wrapper counts rpm's runs: one for all files
        log = os.path.join(self.dir, 'rpm-runs')
        wrapper = os.path.join(self.dir, 'rpm-counting')
        with open(wrapper, 'w') as f:
            f.write('#!/bin/sh\necho "$@" >> %s\nexec %s "$@"\n' % (log, shutil.which('rpm')))
        os.chmod(wrapper, 0o755)
        p = self.bkt('profile', 'unowned', '--root', self.root, env_extra={'BKT_RPM': wrapper})
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(log) as f:
            runs = f.read().splitlines()
        self.assertEqual(len([r for r in runs if ' -qf ' in r]), 1, runs)
        self.assertTrue(all(r.count('/etc/') + r.count('/usr/local/') <= 1 for r in runs if ' -qf ' not in r))

    def test_no_rpm_database_is_an_error(self):
        # a root whose RPM database is empty (Debian's /etc): no answer, not "all unowned"
        empty = os.path.join(self.dir, 'empty-root')
        os.makedirs(os.path.join(empty, 'etc'))
        with open(os.path.join(empty, 'etc', 'x.conf'), 'w') as f:
            f.write('x\n')
        p = self.bkt('profile', 'unowned', '--root', empty, '/etc')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('holds no package', p.stderr)
        self.assertEqual(p.stdout, '')

    def test_missing_directory_is_an_error(self):
        p = self.bkt('profile', 'unowned', '--root', self.root, '/nonexistent')
        self.assertEqual(p.returncode, 2)
        self.assertIn('no such directory', p.stderr)
        self.assertEqual(p.stdout, '')
        p = self.bkt('profile', 'unowned', '--root', os.path.join(self.dir, 'nope'))
        self.assertEqual(p.returncode, 2)


if __name__ == '__main__':
    result = unittest.main(exit=False, verbosity=2).result
    if result.testsRun and result.testsRun == len(result.skipped):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
