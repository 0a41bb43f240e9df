#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`bkt dev`: the development toolbox and manifests/toolbox-packages.json.

toolbox is not packaged on Debian: tests/doubles/toolbox-double stands for it (the
real CLI's arguments, `list` output and errors), mapping each container to
an install root in which the REAL dnf (against the local RPM repo built by
tests/rpm-repo.sh) and the REAL rpm run.  Its log of invocations proves
batching ("one dnf call") and that bad input starts no process.  The
"inside a toolbox" path uses the context detector's test root
(BKT_CONTEXT_ROOT/run/.toolboxenv) and BKT_DNF/BKT_RPM wrappers around the
real dnf and rpm on the same root.  `--pr` runs against the real session
daemon, a git remote and the forge test server of punenv.py.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bktenv  # noqa: E402

SRC = bktenv.SOURCE_DIR
BKT = bktenv.install().bkt
DOUBLE = bktenv.double('toolbox-double')
REFERENCE = os.path.join(SRC, 'tests', 'data', 'original')
EXIT_FAILED, EXIT_USAGE, EXIT_INVALID = 1, 2, 5
NAME = 'devbox'
IMAGE = 'registry.fedoraproject.org/fedora-toolbox:39'
# The projects the double's COPR hub has.
COPR_HUB = ('bkt/tools', '@devs/nightly', 'bkt/extra')

_REPO = None


def rpm_repo():
    """One local RPM repo for the module (rpmbuild is slow): three packages of rpm-repo.sh and
    two more, readable by everyone (the --pr test runs as a test user)."""
    global _REPO
    if _REPO is None:
        d = tempfile.mkdtemp(prefix='bkt-dev-rpm-', dir='/tmp')
        os.chmod(d, 0o755)
        p = subprocess.run(['bash', os.path.join(SRC, 'tests', 'rpm-repo.sh'), d], capture_output=True, text=True,
                           env=dict(os.environ, RPM_REPO_EXTRA='bkt-vim bkt-git'))
        if p.returncode == 77:
            raise bktenv.skip_without(p.stderr.strip().replace('no ', '', 1), 'rpm-repo.sh builds the local RPM repo')
        if p.returncode != 0:
            raise RuntimeError('rpm-repo.sh failed: %s' % p.stderr)
        subprocess.run(['chmod', '-R', 'a+rX', d], check=True)
        _REPO = d
    return _REPO


def tearDownModule():
    if _REPO is not None:
        shutil.rmtree(_REPO, True)


def setUpModule():
    if shutil.which('unshare') is None:
        raise bktenv.skip_without('unshare', 'util-linux; the toolbox double needs it for rootless sudo')
    rpm_repo()


class Dev(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='bkt-dev-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        home = os.path.join(self.tmp, 'home')
        self.config = os.path.join(home, '.config')
        self.overlay = os.path.join(self.config, 'bkt', 'manifests')
        self.image = os.path.join(self.tmp, 'image-manifests')
        self.dbl = os.path.join(self.tmp, 'toolbox')
        self.ctx = os.path.join(self.tmp, 'ctx')
        os.makedirs(os.path.join(self.config, 'bkt'))
        os.makedirs(self.ctx)
        shutil.copytree(REFERENCE, self.image)
        self.write_config({'dev_container': NAME})
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=self.config,
                        XDG_DATA_HOME=os.path.join(home, '.local', 'share'),
                        BKT_CONTEXT_ROOT=self.ctx, BKT_IMAGE_MANIFESTS_DIR=self.image,
                        BKT_REPO_JSON=os.path.join(self.tmp, 'no-repo.json'), LC_ALL='C.UTF-8',
                        BKT_TOOLBOX=DOUBLE, TOOLBOX_DOUBLE_DIR=self.dbl,
                        TOOLBOX_DOUBLE_REPO=os.path.join(rpm_repo(), 'repo'), TOOLBOX_DOUBLE_BASE='bkt-hello',
                        TOOLBOX_DOUBLE_COPR=','.join(COPR_HUB))
        for k in ('container', 'BKT_DNF', 'BKT_RPM', 'DBUS_SESSION_BUS_ADDRESS'):
            self.env.pop(k, None)

    # helpers ---------------------------------------------------------------
    def write_config(self, obj):
        with open(os.path.join(self.config, 'bkt', 'config.json'), 'w') as f:
            json.dump(obj, f)

    SANITIZER_MARKERS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
                         'GLib-CRITICAL', 'GLib-GIO-CRITICAL', 'GLib-GObject-CRITICAL')

    def bkt(self, *args, env=None, stdin=subprocess.DEVNULL):
        """The client; under valgrind with BKT_VALGRIND=1 (its report fails the test), and any
        sanitizer report or GLib critical on its stderr fails the test too."""
        prefix = []
        vlog = os.path.join(self.tmp, 'valgrind.%p.log')
        if os.environ.get('BKT_VALGRIND') == '1':
            prefix = ['valgrind', '--quiet', '--error-exitcode=97', '--leak-check=full',
                      '--errors-for-leak-kinds=definite', '--show-leak-kinds=definite', '--num-callers=30',
                      '--suppressions=' + os.path.join(SRC, 'tests', 'valgrind.supp'), '--log-file=' + vlog]
        p = subprocess.run(prefix + [BKT] + list(args), cwd=self.tmp, env=env or self.env, stdin=stdin,
                           capture_output=True, text=True, timeout=600)
        for m in self.SANITIZER_MARKERS:
            self.assertNotIn(m, p.stderr, 'bkt %s:\n%s' % (' '.join(args), p.stderr))
        for f in os.listdir(self.tmp):
            if f.startswith('valgrind.') and f.endswith('.log'):
                with open(os.path.join(self.tmp, f)) as fh:
                    # "--PID-- WARNING: unhandled syscall 434" (pidfd_open, which GSubprocess tries) is
                    # valgrind's own limitation, not a report
                    report = ''.join(l for l in fh if not l.startswith('--'))
                os.unlink(os.path.join(self.tmp, f))
                self.assertEqual(report.strip(), '', 'valgrind, bkt %s:\n%s' % (' '.join(args), report))
        return p

    def bktj(self, *args, **kw):
        p = self.bkt('--json', *args, **kw)
        try:
            return p.returncode, json.loads(p.stdout), p.stderr
        except ValueError:
            raise AssertionError('no JSON from bkt %s (rc=%d):\n%s\n%s' % (args, p.returncode, p.stdout, p.stderr))

    def toolbox(self, *args):
        return subprocess.run([DOUBLE] + list(args), env=self.env, capture_output=True, text=True, timeout=300)

    def log(self):
        try:
            with open(os.path.join(self.dbl, 'log')) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def clear_log(self):
        if os.path.exists(os.path.join(self.dbl, 'log')):
            os.unlink(os.path.join(self.dbl, 'log'))

    def root(self, name=NAME):
        return os.path.join(self.dbl, 'roots', name)

    def installed(self, name=NAME):
        out = subprocess.run(['rpm', '--root', self.root(name), '--dbpath', '/usr/lib/sysimage/rpm',
                              '-qa', '--qf', '%{NAME}\n'], check=True,
                             capture_output=True, text=True).stdout
        return sorted(set(out.split()))

    def dnf_changes(self):
        """The container-changing dnf calls in the double's log."""
        return [a for a in self.log() if a[:1] == ['run'] and 'dnf' in a and
                ('install' in a or 'remove' in a) and 'repoquery' not in a]

    def read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def set_toolbox_manifest(self, packages):
        os.makedirs(self.overlay, exist_ok=True)
        with open(os.path.join(self.overlay, 'toolbox-packages.json'), 'w') as f:
            json.dump({'packages': packages, 'groups': [], 'excluded': [], 'copr_repos': []}, f)

    def overlay_packages(self, kind='toolbox'):
        p = os.path.join(self.overlay, '%s-packages.json' % kind)
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)['packages']

    def create(self):
        p = self.bkt('dev', 'update', '--rebuild', '-y')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.clear_log()

    # tests -----------------------------------------------------------------
    def test_install_records_toolbox_only(self):
        self.create()
        system_image = self.read(os.path.join(self.image, 'system-packages.json'))
        rc, res, err = self.bktj('dev', 'dnf', 'install', 'bkt-fish', 'bkt-htop')
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['container'], NAME)
        self.assertEqual(res['route'], 'toolbox')
        self.assertIsNone(res['pr'])
        # recorded in toolbox-packages.json only; system-packages.json untouched everywhere
        self.assertEqual(self.overlay_packages(), ['bkt-fish', 'bkt-htop'])
        self.assertIsNone(self.overlay_packages('system'))
        self.assertEqual(self.read(os.path.join(self.image, 'system-packages.json')), system_image)
        # really installed in the container's root
        self.assertEqual(self.installed(), ['bkt-fish', 'bkt-hello', 'bkt-htop'])
        # one batched existence query, one batched install, exact argv
        log = self.log()
        repoqueries = [a for a in log if 'repoquery' in a]
        self.assertEqual(repoqueries, [['run', '-c', NAME, 'dnf', 'repoquery', '--qf', '%{name} %{repoid}\\n', '--',
                                        'bkt-fish', 'bkt-htop']])
        self.assertEqual(self.dnf_changes(), [['run', '-c', NAME, 'sudo', 'dnf', 'install', '-y', '--',
                                               'bkt-fish', 'bkt-htop']])
        # and then only the read-back that records what the container has (the toolbox's state record)
        self.assertEqual(log[2:], [['list', '--containers'], ['run', '-c', NAME, 'rpm', '-qa', '--qf', '%{NAME}\\n']])

        # remove: one call, forgotten
        self.clear_log()
        p = self.bkt('dev', 'dnf', 'remove', 'bkt-htop')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('PR:        none', p.stdout)
        self.assertEqual(self.overlay_packages(), ['bkt-fish'])
        self.assertEqual(self.installed(), ['bkt-fish', 'bkt-hello'])
        self.assertEqual(self.log()[0], ['run', '-c', NAME, 'sudo', 'dnf', 'remove', '-y', '--', 'bkt-htop'])
        self.assertEqual(self.dnf_changes(), self.log()[:1])

    def state_record(self):
        p = os.path.join(self.env['HOME'], '.local', 'state', 'bkt', 'dev', NAME, 'state.json')
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)

    def test_diff_and_capture_three_way(self):
        """The toolbox's packages three ways (issue 13 items 2 and 4, issue 15 item 7): the manifest, the
        container (real dnf and rpm in the double's root) and the record of what bkt last synced."""
        self.set_toolbox_manifest(['bkt-fish'])
        self.create()
        self.assertEqual(self.installed(), ['bkt-fish', 'bkt-hello'])
        rec = self.state_record()
        self.assertIsNotNone(rec, 'bkt dev update wrote no state record')
        self.assertEqual(rec['items']['package:bkt-fish']['value'], 'installed')
        self.assertEqual(rec['items']['package:bkt-fish']['command'], 'dev-update')
        self.assertNotIn('package:bkt-hello', rec['items'], 'the image\'s package is not bkt\'s')
        rc, d, err = self.bktj('dev', 'diff')
        self.assertEqual(rc, 0, err)
        self.assertEqual((d['packages'], d['in_sync'], d['image_known']), ([], 1, True))

        # by hand in the container: one installed, the recorded one removed; the manifest gains one
        for args in (('install', 'bkt-htop'), ('remove', 'bkt-fish')):
            p = self.toolbox('run', '-c', NAME, 'sudo', 'dnf', args[0], '-y', args[1])
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.installed(), ['bkt-hello', 'bkt-htop'])
        self.set_toolbox_manifest(['bkt-fish', 'bkt-vim'])
        rc, d, err = self.bktj('dev', 'diff')
        self.assertEqual(rc, 0, err)
        by = {p['name']: p for p in d['packages']}
        self.assertEqual(sorted(by), ['bkt-fish', 'bkt-htop', 'bkt-vim'])
        self.assertEqual((by['bkt-fish']['label'], by['bkt-fish']['declared'], by['bkt-fish']['installed'],
                          by['bkt-fish']['base']['installed']), ('TO CAPTURE', True, False, True))
        self.assertEqual(by['bkt-fish']['next'], 'bkt dev capture --select bkt-fish')
        self.assertEqual((by['bkt-htop']['label'], by['bkt-htop']['base']), ('UNTRACKED', None))
        self.assertEqual((by['bkt-vim']['label'], by['bkt-vim']['next']), ('NEVER SYNCED', 'bkt dev update'))
        p = self.bkt('dev', 'diff')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r'TO CAPTURE +bkt-fish +in the manifest, removed from the toolbox by hand')
        self.assertRegex(p.stdout, r'UNTRACKED +bkt-htop +installed in the toolbox by hand')
        self.assertIn('0 package(s) in sync, 3 differ.', p.stdout)

        # capture: what changed here since the base; the untracked one only when picked
        before = self.read(os.path.join(self.overlay, 'toolbox-packages.json'))
        rc, plan, err = self.bktj('dev', 'capture', '--dry-run')
        self.assertEqual(rc, 0, err)
        self.assertEqual([(o['action'], o['target']) for o in plan['operations']], [('forget', 'package:bkt-fish')])
        self.assertTrue(any('bkt-htop' in w and '--select' in w for w in plan['warnings']), plan['warnings'])
        p = self.bkt('dev', 'capture', '--select', 'bkt-nope')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        self.assertIn('no package “bkt-nope”', p.stderr)
        self.assertEqual(self.read(os.path.join(self.overlay, 'toolbox-packages.json')), before)
        p = self.bkt('dev', 'capture')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.overlay_packages(), ['bkt-vim'])
        rc, res, err = self.bktj('dev', 'capture', '--select', 'package:bkt-htop')
        self.assertEqual(rc, 0, err)
        self.assertEqual((res['recorded'], res['forgotten']), (['bkt-htop'], []))
        self.assertEqual(self.overlay_packages(), ['bkt-htop', 'bkt-vim'])
        rec = self.state_record()['items']
        self.assertEqual(rec['package:bkt-htop']['command'], 'dev-capture')
        self.assertNotIn('package:bkt-fish', rec)
        # what is left is the manifest's new package: bkt dev update installs it, and all agree
        rc, d, err = self.bktj('dev', 'diff')
        self.assertEqual([(p['name'], p['state']) for p in d['packages']], [('bkt-vim', 'never-synced')])
        p = self.bkt('dev', 'update')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.installed(), ['bkt-hello', 'bkt-htop', 'bkt-vim'])
        rc, d, err = self.bktj('dev', 'diff')
        self.assertEqual((d['packages'], d['in_sync']), ([], 2))
        self.assertEqual(self.state_record()['items']['package:bkt-vim']['command'], 'dev-update')

    def test_reference_manifest_format_kept(self):
        """The original distribution's toolbox-packages.json loads unchanged and is edited in place."""
        self.create()
        m = os.path.join(self.tmp, 'm')
        shutil.copytree(REFERENCE, m)
        ref = self.read(os.path.join(REFERENCE, 'toolbox-packages.json')).decode()
        system = self.read(os.path.join(m, 'system-packages.json'))
        p = self.bkt('dev', 'dnf', 'install', '-m', m, 'bkt-fish')
        self.assertEqual(p.returncode, 0, p.stderr)
        after = self.read(os.path.join(m, 'toolbox-packages.json')).decode()
        self.assertEqual(after, ref.replace('"packages": [],', '"packages": [\n    "bkt-fish"\n  ],'))
        self.assertEqual(self.read(os.path.join(m, 'system-packages.json')), system)
        p = self.bkt('dev', 'dnf', 'remove', '-m', m, 'bkt-fish')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.read(os.path.join(m, 'toolbox-packages.json')).decode(), ref)

    def test_typo_suggestion(self):
        self.create()
        p = self.bkt('dev', 'dnf', 'install', 'bkt-fsh', 'bkt-htop')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        self.assertIn('no package “bkt-fsh”', p.stderr)
        self.assertIn('did you mean: bkt-fish', p.stderr)
        self.assertNotIn('bkt-htop”', p.stderr)
        self.assertEqual(self.dnf_changes(), [])
        self.assertIsNone(self.overlay_packages())
        # the check: one batched query, then one listing for the suggestions
        self.assertEqual([a[4] for a in self.log()], ['repoquery', 'repoquery'])
        # --force skips the check; dnf itself then fails and nothing is recorded
        self.clear_log()
        p = self.bkt('dev', 'dnf', 'install', '--force', 'bkt-fsh')
        self.assertEqual(p.returncode, EXIT_FAILED, p.stderr)
        self.assertIn('Nothing was recorded', p.stderr)
        self.assertEqual(len(self.dnf_changes()), 1)
        self.assertIsNone(self.overlay_packages())

    def test_bad_names_refused_before_any_process(self):
        bad = (['--', '-rf'], ['htop; rm -rf /'], [''], ['a' * 300], ['bkt-fish', 'bkt-fish'], ['../x'])
        for names in bad:
            for verb in ('install', 'remove'):
                p = self.bkt('dev', 'dnf', verb, *names)
                self.assertEqual(p.returncode, EXIT_INVALID, (names, p.stderr))
                self.assertTrue('invalid package name' in p.stderr or 'given twice' in p.stderr, p.stderr)
                self.assertLess(len(p.stderr), 300, 'a 300-character name is not echoed in full')
        # an option-looking name without "--" is an unknown option: a usage error
        p = self.bkt('dev', 'dnf', 'install', '-rf')
        self.assertEqual(p.returncode, EXIT_USAGE, p.stderr)
        # no names at all
        p = self.bkt('dev', 'dnf', 'install')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        # bad container names, from the option and from config.json
        for c in ('-x', 'a;b', 'a/b', '', 'x' * 65):
            p = self.bkt('dev', 'dnf', 'install', '--container', c, 'bkt-fish')
            self.assertEqual(p.returncode, EXIT_INVALID, (c, p.stderr))
            self.assertIn('invalid toolbox name', p.stderr)
        self.write_config({'dev_container': '--rm'})
        p = self.bkt('dev', 'status')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        self.assertIn('dev_container', p.stderr)
        self.assertEqual(self.log(), [], 'a process was started')
        self.assertFalse(os.path.exists(self.overlay))

    def test_status_missing_extra_and_update_delta(self):
        # a toolbox made by bkt from a manifest with bkt-fish
        self.set_toolbox_manifest(['bkt-fish'])
        self.create()
        self.assertEqual(self.installed(), ['bkt-fish', 'bkt-hello'])
        # the manifest gains bkt-htop; bkt-vim is installed by hand
        self.set_toolbox_manifest(['bkt-fish', 'bkt-htop'])
        p = self.toolbox('run', '-c', NAME, 'sudo', 'dnf', '-q', '-y', 'install', 'bkt-vim')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.clear_log()
        rc, st, err = self.bktj('dev', 'status')
        self.assertEqual(rc, 0, err)
        self.assertEqual((st['container'], st['exists'], st['image']), (NAME, True, IMAGE))
        self.assertEqual(st['missing'], ['bkt-htop'])
        self.assertEqual(st['extra'], ['bkt-vim'], 'bkt-hello is the image\'s')
        self.assertTrue(st['base_known'])
        # one list, one rpm -qa
        self.assertEqual(self.log(), [['list', '--containers'],
                                      ['run', '-c', NAME, 'rpm', '-qa', '--qf', '%{NAME}\\n']])
        p = self.bkt('dev', 'status')
        self.assertIn('bkt-htop', p.stdout.split('Missing')[1].split('Installed')[0])
        self.assertIn('bkt-vim', p.stdout.split('not in the manifest')[1])

        # update: only the delta, in one call; the hand-installed package stays
        self.clear_log()
        rc, res, err = self.bktj('dev', 'update')
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['installed'], ['bkt-htop'])
        self.assertEqual(self.dnf_changes(), [['run', '-c', NAME, 'sudo', 'dnf', 'install', '-y', '--', 'bkt-htop']])
        self.assertEqual(self.installed(), ['bkt-fish', 'bkt-hello', 'bkt-htop', 'bkt-vim'])
        self.clear_log()
        p = self.bkt('dev', 'update')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('has every package', p.stdout)
        self.assertEqual(self.dnf_changes(), [])
        # --dry-run: the plan, no change
        self.set_toolbox_manifest(['bkt-fish', 'bkt-htop', 'bkt-git'])
        p = self.bkt('dev', 'update', '--dry-run')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Would run: %s run -c %s sudo dnf install -y -- bkt-git' % (DOUBLE, NAME), p.stdout)
        self.assertEqual(self.dnf_changes(), [])
        self.assertNotIn('bkt-git', self.installed())

    def test_status_without_container_or_base(self):
        self.set_toolbox_manifest(['bkt-fish'])
        rc, st, err = self.bktj('dev', 'status')
        self.assertEqual(rc, 0, err)
        self.assertEqual((st['exists'], st['missing'], st['extra'], st['image']), (False, ['bkt-fish'], None, None))
        p = self.bkt('dev', 'update')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        self.assertIn('--rebuild creates it', p.stderr)
        # a toolbox created by hand: its image's packages are unknown, so "extra" is too
        self.assertEqual(self.toolbox('create', NAME).returncode, 0)
        rc, st, err = self.bktj('dev', 'status')
        self.assertEqual((st['exists'], st['missing'], st['extra'], st['base_known']), (True, ['bkt-fish'], None, False))

    def test_rebuild_needs_confirmation(self):
        self.set_toolbox_manifest(['bkt-fish'])
        self.create()
        self.toolbox('run', '-c', NAME, 'sudo', 'dnf', '-q', '-y', 'install', 'bkt-vim')
        self.clear_log()
        p = self.bkt('dev', 'update', '--rebuild')
        self.assertEqual(p.returncode, EXIT_USAGE, p.stderr)
        self.assertIn('without confirmation', p.stderr)
        self.assertEqual([a for a in self.log() if a[0] in ('rm', 'create')], [])
        self.assertIn('bkt-vim', self.installed())
        p = self.bkt('dev', 'update', '--rebuild', '--dry-run')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Would remove toolbox', p.stdout)
        self.assertEqual([a for a in self.log() if a[0] in ('rm', 'create')], [])
        # confirmed: removed, created from the same image, everything installed in one call
        self.set_toolbox_manifest(['bkt-fish', 'bkt-htop'])
        self.clear_log()
        p = self.bkt('dev', 'update', '--rebuild', '--confirm')
        self.assertEqual(p.returncode, 0, p.stderr)
        log = self.log()
        self.assertIn(['rm', '--force', NAME], log)
        self.assertIn(['--assumeyes', 'create', '--image', IMAGE, NAME], log)
        self.assertEqual(self.dnf_changes(), [['run', '-c', NAME, 'sudo', 'dnf', 'install', '-y', '--',
                                               'bkt-fish', 'bkt-htop']])
        self.assertEqual(self.installed(), ['bkt-fish', 'bkt-hello', 'bkt-htop'])

    def test_host_level_subcommands_refused(self):
        for sub, instead in (('flatpak', 'bkt flatpak'), ('extension', 'bkt extension'),
                             ('gsetting', 'bkt gsetting'), ('shim', 'bkt shim'), ('fp', 'bkt flatpak')):
            p = self.bkt('dev', sub, 'add', 'org.gnome.Boxes')
            self.assertEqual(p.returncode, EXIT_USAGE, p.stderr)
            self.assertIn('host-level', p.stderr)
            self.assertIn('Run %s' % instead, p.stderr)
        p = self.bkt('dev', 'frobnicate')
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertEqual(self.log(), [])

    def test_queries_and_enter(self):
        self.create()
        p = self.bkt('dev', 'dnf', 'search', 'bkt-fi')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('bkt-fish', p.stdout)
        # dnf's arguments as typed, --container before the verb
        p = self.bkt('dev', 'dnf', '--container', NAME, 'list', '--installed')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('bkt-hello', p.stdout)
        self.assertEqual(self.log(), [['run', '-c', NAME, 'dnf', 'search', 'bkt-fi'],
                                      ['run', '-c', NAME, 'dnf', 'list', '--installed']])
        p = self.bkt('dev', 'dnf', 'search', 'x', '--container', 'other')
        self.assertEqual(self.log()[-1], ['run', '-c', NAME, 'dnf', 'search', 'x', '--container', 'other'])
        # a toolbox that does not exist: toolbox's own error
        p = self.bkt('dev', 'dnf', '-c', 'nope', 'info', 'bkt-fish')
        self.assertEqual(p.returncode, 1)
        self.assertIn('container nope not found', p.stderr)
        # upgrade: dnf's own arguments, with sudo, nothing recorded
        p = self.bkt('dev', 'dnf', 'upgrade', '-y')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.log()[-1], ['run', '-c', NAME, 'sudo', 'dnf', 'upgrade', '-y'])
        self.assertFalse(os.path.exists(self.overlay))
        # other dnf commands are refused before anything runs
        n = len(self.log())
        p = self.bkt('dev', 'dnf', 'autoremove')
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertEqual(len(self.log()), n)
        # --container before install too (and a container named like a verb)
        p = self.bkt('dev', 'dnf', '-c', 'install', 'install', 'bkt-fish')
        self.assertEqual(p.returncode, EXIT_FAILED, p.stderr)
        self.assertIn('container install not found', p.stderr)
        self.assertEqual(self.log()[-1][:3], ['run', '-c', 'install'])
        p = self.bkt('dev', 'enter')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.log()[-1], ['enter', NAME])

    def test_default_container_name(self):
        self.write_config({})
        os.makedirs(os.path.join(self.ctx, 'etc'))
        with open(os.path.join(self.ctx, 'etc', 'os-release'), 'w') as f:
            f.write('NAME="Fedora Linux"\nID=fedora\nVERSION_ID=41\n')
        rc, st, err = self.bktj('dev', 'status')
        self.assertEqual(rc, 0, err)
        self.assertEqual(st['container'], 'fedora-toolbox-41')
        rc, st, err = self.bktj('dev', 'status', '--container', 'other')
        self.assertEqual(st['container'], 'other')
        with open(os.path.join(self.ctx, 'etc', 'os-release'), 'w') as f:
            f.write('ID=debian\nVERSION_ID="12"\n')
        p = self.bkt('dev', 'status')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        self.assertIn('--container NAME', p.stderr)

    def test_inside_toolbox_runs_dnf_directly(self):
        self.create()
        os.makedirs(os.path.join(self.ctx, 'run'))
        open(os.path.join(self.ctx, 'run', '.toolboxenv'), 'w').close()
        with open(os.path.join(self.ctx, 'run', '.containerenv'), 'w') as f:
            f.write('engine="podman-4.9.4"\nname="%s"\nid="0123"\nimage="%s"\nrootless=1\n' % (NAME, IMAGE))
        # Inside, bkt's dnf and rpm are the container's own: wrappers around the real ones on its root
        # that log their argv.  As root (the tests), no sudo.
        wlog = os.path.join(self.tmp, 'inside.log')
        repo = os.path.join(rpm_repo(), 'repo')
        dnf = os.path.join(self.tmp, 'dnf')
        with open(dnf, 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "dnf $*" >> %s\nexport HOME=%s\n'
                    'exec dnf --setopt=reposdir=%s --releasever=39 --installroot=%s --repofrompath=local,%s '
                    '--repo=local --nogpgcheck --setopt=cachedir=%s "$@"\n'
                    % (wlog, os.path.join(self.dbl, 'home'), os.path.join(self.tmp, 'r.d'), self.root(), repo,
                       os.path.join(self.tmp, 'c')))
        rpm = os.path.join(self.tmp, 'rpm')
        with open(rpm, 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "rpm $*" >> %s\nexec rpm --root %s --dbpath /usr/lib/sysimage/rpm "$@"\n'
                    % (wlog, self.root()))
        os.chmod(dnf, 0o755)
        os.chmod(rpm, 0o755)
        env = dict(self.env, BKT_DNF=dnf, BKT_RPM=rpm, BKT_TOOLBOX='/nonexistent/toolbox')
        # no dev_container: the toolbox bkt runs in is the target
        self.write_config({})
        rc, res, err = self.bktj('dev', 'dnf', 'install', 'bkt-fish', env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual((res['container'], res['route']), (NAME, 'direct'))
        self.assertEqual(res['argv'], [dnf, 'install', '-y', '--', 'bkt-fish'])
        self.assertEqual(self.installed(), ['bkt-fish', 'bkt-hello'])
        self.assertEqual(self.overlay_packages(), ['bkt-fish'])
        self.assertEqual(self.log(), [], 'the toolbox CLI was used from inside')
        with open(wlog) as f:
            calls = f.read().splitlines()
        self.assertEqual(calls, ['dnf repoquery --qf %{name} %{repoid}\\n -- bkt-fish', 'dnf install -y -- bkt-fish',
                                 'rpm -qa --qf %{NAME}\\n'])
        rc, st, err = self.bktj('dev', 'status', env=env)
        self.assertEqual((st['exists'], st['image'], st['missing']), (True, IMAGE, []))
        p = self.bkt('dev', 'status', '--container', 'other', env=env)
        self.assertEqual(p.returncode, EXIT_INVALID)
        self.assertIn('inside toolbox “%s”' % NAME, p.stderr)
        p = self.bkt('dev', 'update', '--rebuild', '-y', env=env)
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertEqual(self.log(), [])

    # ---- COPRs in the toolbox (issue 15 item 7) ---------------------------------------------------
    def copr_file(self, owner, project, name=NAME):
        return os.path.join(self.root(name), 'etc', 'yum.repos.d',
                            '_copr:copr.fedorainfracloud.org:%s:%s.repo' % (owner, project))

    def overlay_coprs(self):
        p = os.path.join(self.overlay, 'toolbox-packages.json')
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f).get('copr_repos')

    def set_toolbox_coprs(self, packages, coprs):
        os.makedirs(self.overlay, exist_ok=True)
        with open(os.path.join(self.overlay, 'toolbox-packages.json'), 'w') as f:
            json.dump({'packages': packages, 'copr_repos': coprs}, f)

    def copr_writes(self):
        return [a for a in self.log() if 'copr' in a]

    def test_copr_enable_disable_read_back_and_recorded(self):
        self.create()
        rc, res, err = self.bktj('dev', 'copr', 'list')
        self.assertEqual((rc, res), (0, {'container': NAME, 'coprs': []}), err)
        self.clear_log()
        system_image = self.read(os.path.join(self.image, 'system-packages.json'))
        rc, res, err = self.bktj('dev', 'copr', 'enable', 'bkt/tools')
        self.assertEqual(rc, 0, err)
        self.assertEqual((res['container'], res['route'], res['enabled'], res['pr']), (NAME, 'toolbox', True, None))
        # the toolbox's own dnf copr (with sudo), between two reads of its repos: the second is the proof
        self.assertEqual(self.log(), [['list', '--containers'], ['run', '-c', NAME, 'dnf', 'repolist', '--all'],
                                      ['run', '-c', NAME, 'sudo', 'dnf', '-y', 'copr', 'enable', 'bkt/tools'],
                                      ['run', '-c', NAME, 'dnf', 'repolist', '--all']])
        with open(self.copr_file('bkt', 'tools')) as f:
            text = f.read()
        self.assertIn('[copr:copr.fedorainfracloud.org:bkt:tools]\n', text)
        self.assertIn('\nenabled=1\n', text)
        # recorded in the user's toolbox-packages.json, never in system-packages.json
        self.assertEqual(self.overlay_coprs(), [{'name': 'bkt/tools', 'enabled': True, 'gpg_check': True}])
        self.assertIsNone(self.overlay_packages('system'))
        self.assertEqual(self.read(os.path.join(self.image, 'system-packages.json')), system_image)

        # a group project: its file and repo id say group_NAME, bkt says @NAME
        p = self.bkt('dev', 'copr', 'enable', '@devs/nightly')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('devbox has COPR @devs/nightly enabled', p.stdout)
        self.assertTrue(os.path.exists(self.copr_file('group_devs', 'nightly')))
        rc, res, err = self.bktj('dev', 'copr', 'list')
        self.assertEqual([(c['name'], c['toolbox'], c['state']) for c in res['coprs']],
                         [('@devs/nightly', {'enabled': True}, 'in-sync'), ('bkt/tools', {'enabled': True}, 'in-sync')])

        # disable: the file stays with enabled=0 (as dnf copr disable leaves it), the record says false
        self.clear_log()
        p = self.bkt('dev', 'copr', 'disable', 'bkt/tools')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.copr_writes(), [['run', '-c', NAME, 'sudo', 'dnf', '-y', 'copr', 'disable', 'bkt/tools']])
        with open(self.copr_file('bkt', 'tools')) as f:
            self.assertIn('\nenabled=0\n', f.read())
        self.assertEqual(self.overlay_coprs(), [{'name': '@devs/nightly', 'enabled': True, 'gpg_check': True},
                                                {'name': 'bkt/tools', 'enabled': False, 'gpg_check': True}])
        p = self.bkt('dev', 'copr', 'list')
        self.assertRegex(p.stdout, r'bkt/tools +disabled +disabled +in sync')
        # again: nothing to run, nothing to write
        before = self.read(os.path.join(self.overlay, 'toolbox-packages.json'))
        self.clear_log()
        p = self.bkt('dev', 'copr', 'disable', 'bkt/tools')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.copr_writes(), [])
        self.assertEqual(self.read(os.path.join(self.overlay, 'toolbox-packages.json')), before)

        # a project the hub does not have: dnf's error, nothing recorded
        p = self.bkt('dev', 'copr', 'enable', 'bkt/nope')
        self.assertEqual(p.returncode, EXIT_FAILED, p.stderr)
        self.assertIn('Project bkt/nope does not exist', p.stderr)
        self.assertIn('Nothing was recorded', p.stderr)
        self.assertEqual(self.read(os.path.join(self.overlay, 'toolbox-packages.json')), before)
        # disabling what neither side has
        p = self.bkt('dev', 'copr', 'disable', 'bkt/extra')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        self.assertIn('neither in toolbox-packages.json nor in toolbox', p.stderr)
        # a toolbox that does not exist
        p = self.bkt('dev', 'copr', 'enable', 'bkt/tools', '--container', 'nobox')
        self.assertEqual(p.returncode, EXIT_INVALID, p.stderr)
        self.assertIn('does not exist', p.stderr)

    def test_copr_bad_names_and_dry_run_change_nothing(self):
        self.create()
        bad = (['--', '-x/y'], ['bkt/-y'], ['a/b;c'], ['tools'], ['a/b/c'], ['../x'], ['a/..'], ['@/x'],
               ['a' * 300 + '/b'], [''], ['x/y\nz'])
        for args in bad:
            for verb in ('enable', 'disable'):
                p = self.bkt('dev', 'copr', verb, *args)
                self.assertEqual(p.returncode, EXIT_INVALID, (args, p.stderr))
                self.assertIn('invalid COPR project', p.stderr)
                self.assertLess(len(p.stderr), 300, 'a 300-character name is not echoed in full')
        # an option-looking name without "--": a usage error
        p = self.bkt('dev', 'copr', 'enable', '-x/y')
        self.assertEqual(p.returncode, EXIT_USAGE, p.stderr)
        self.assertEqual(self.log(), [], 'a process was started for a bad name')
        self.assertFalse(os.path.exists(self.overlay))

        p = self.bkt('dev', 'copr', 'enable', '--dry-run', 'bkt/tools')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Enable COPR repo bkt/tools in toolbox %s' % NAME, p.stdout)
        self.assertIn('Record copr:bkt/tools in toolbox-packages.json', p.stdout)
        self.assertIn('Would run: %s run -c %s sudo dnf -y copr enable bkt/tools' % (DOUBLE, NAME), p.stdout)
        rc, plan, err = self.bktj('dev', 'copr', 'enable', '-n', 'bkt/tools')
        self.assertEqual(rc, 0, err)
        self.assertEqual([(o['action'], o['target']) for o in plan['operations']],
                         [('copr-enable', 'copr:bkt/tools'), ('record', 'copr:bkt/tools')])
        self.assertEqual(plan['argv'], [[DOUBLE, 'run', '-c', NAME, 'sudo', 'dnf', '-y', 'copr', 'enable', 'bkt/tools']])
        # reads only: no dnf copr ran, no file in the container, no manifest
        self.assertEqual(self.copr_writes(), [])
        self.assertFalse(os.path.exists(self.copr_file('bkt', 'tools')))
        self.assertFalse(os.path.exists(self.overlay))

    def test_copr_not_recorded_unless_read_back(self):
        """Inside the toolbox (dnf direct): a dnf whose copr command exits 0 without enabling anything
        must not make bkt record the project."""
        self.create()
        os.makedirs(os.path.join(self.ctx, 'run'))
        open(os.path.join(self.ctx, 'run', '.toolboxenv'), 'w').close()
        with open(os.path.join(self.ctx, 'run', '.containerenv'), 'w') as f:
            f.write('name="%s"\nimage="%s"\n' % (NAME, IMAGE))
        wlog = os.path.join(self.tmp, 'inside.log')
        dnf = os.path.join(self.tmp, 'dnf')
        with open(dnf, 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "dnf $*" >> %s\n'
                    'case " $* " in *" copr "*) echo "Repository successfully enabled."; exit 0;; esac\n'
                    'exec %s run -c %s dnf "$@"\n' % (wlog, DOUBLE, NAME))
        os.chmod(dnf, 0o755)
        env = dict(self.env, BKT_DNF=dnf, BKT_TOOLBOX='/nonexistent/toolbox')
        p = self.bkt('dev', 'copr', 'enable', 'bkt/tools', env=env)
        self.assertEqual(p.returncode, EXIT_FAILED, p.stderr)
        self.assertIn('does not list it', p.stderr)
        self.assertIn('Nothing was recorded', p.stderr)
        self.assertIsNone(self.overlay_coprs())
        with open(wlog) as f:
            self.assertEqual(f.read().splitlines(), ['dnf repolist --all', 'dnf -y copr enable bkt/tools',
                                                     'dnf repolist --all'])

    def test_update_applies_copr_repos_first_and_diff_shows_them(self):
        self.create()
        # by hand in the toolbox: one project the manifest will want disabled, one it never declares
        for project in ('@devs/nightly', 'bkt/extra'):
            p = self.toolbox('run', '-c', NAME, 'sudo', 'dnf', '-y', 'copr', 'enable', project)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.set_toolbox_coprs(['bkt-fish'], [{'name': 'bkt/tools', 'gpg_check': False},
                                              {'name': '@devs/nightly', 'enabled': False}])
        rc, d, err = self.bktj('dev', 'diff')
        self.assertEqual(rc, 0, err)
        self.assertEqual([(c['name'], c['state'], c['enabled'], c['next']) for c in d['coprs']],
                         [('@devs/nightly', 'differs', True, 'bkt dev update'),
                          ('bkt/extra', 'untracked', True,
                           'bkt dev copr enable bkt/extra (records it) or bkt dev copr disable bkt/extra'),
                          ('bkt/tools', 'missing', False, 'bkt dev update')])
        p = self.bkt('dev', 'diff')
        self.assertRegex(p.stdout, r'NOT ENABLED +copr:bkt/tools +in the manifest, not enabled in the toolbox')
        self.assertRegex(p.stdout, r'UNTRACKED +copr:bkt/extra +enabled in the toolbox, in no manifest')
        self.assertIn('3 COPR repo(s) differ.', p.stdout)

        # --dry-run: the plan and the commands, nothing run
        self.clear_log()
        p = self.bkt('dev', 'update', '--dry-run')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Would run: %s run -c %s sudo dnf -y copr enable bkt/tools' % (DOUBLE, NAME), p.stdout)
        self.assertIn('Would run: %s run -c %s sudo dnf -y copr disable @devs/nightly' % (DOUBLE, NAME), p.stdout)
        self.assertEqual(self.copr_writes(), [])
        self.assertEqual(self.dnf_changes(), [])
        self.assertFalse(os.path.exists(self.copr_file('bkt', 'tools')))
        # what bkt dev does not apply is said, not silently dropped
        self.assertIn('copr:bkt/tools has "gpg_check": false, which bkt dev does not apply', p.stderr)

        # update: the COPRs, checked, then the packages; the undeclared project is left alone
        self.clear_log()
        rc, res, err = self.bktj('dev', 'update')
        self.assertEqual(rc, 0, err)
        changes = [a for a in self.log() if ('copr' in a or 'install' in a) and 'repoquery' not in a]
        # (the COPRs in the manifest's order, both before the one install)
        self.assertEqual(sorted(changes[:2]), [['run', '-c', NAME, 'sudo', 'dnf', '-y', 'copr', 'disable', '@devs/nightly'],
                                               ['run', '-c', NAME, 'sudo', 'dnf', '-y', 'copr', 'enable', 'bkt/tools']])
        self.assertEqual(changes[2:], [['run', '-c', NAME, 'sudo', 'dnf', 'install', '-y', '--', 'bkt-fish']])
        # read back after the COPR calls, before the install
        copr_at = self.log().index(changes[1])
        self.assertEqual(self.log()[copr_at + 1], ['run', '-c', NAME, 'dnf', 'repolist', '--all'])
        self.assertEqual(len(res['copr_argv']), 2)
        with open(self.copr_file('group_devs', 'nightly')) as f:
            self.assertIn('\nenabled=0\n', f.read())
        with open(self.copr_file('bkt', 'extra')) as f:
            self.assertIn('\nenabled=1\n', f.read())
        self.assertIn('bkt-fish', self.installed())
        rc, d, err = self.bktj('dev', 'diff')
        self.assertEqual([(c['name'], c['state']) for c in d['coprs']], [('bkt/extra', 'untracked')])
        self.assertEqual(d['packages'], [])

        # a rebuilt toolbox gets the manifest's COPRs again
        self.clear_log()
        p = self.bkt('dev', 'update', '--rebuild', '-y')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.copr_writes(), [['run', '-c', NAME, 'sudo', 'dnf', '-y', 'copr', 'enable', 'bkt/tools']])
        self.assertTrue(os.path.exists(self.copr_file('bkt', 'tools')))
        self.assertFalse(os.path.exists(self.copr_file('bkt', 'extra')))

    def test_dry_run_changes_nothing(self):
        self.create()
        p = self.bkt('dev', 'dnf', 'install', '--dry-run', 'bkt-fish')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('Record package:bkt-fish in toolbox-packages.json', p.stdout)
        self.assertIn('Would run: %s run -c %s sudo dnf install -y -- bkt-fish' % (DOUBLE, NAME), p.stdout)
        self.assertEqual(self.dnf_changes(), [])
        self.assertIsNone(self.overlay_packages())
        self.assertEqual(self.installed(), ['bkt-hello'])


# ---- --pr: the real session daemon, a git remote, the forge test server -------------------------

import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

_PR_DIR = None


def _pr_dir():
    global _PR_DIR
    if _PR_DIR is None:
        _PR_DIR = tempfile.mkdtemp(prefix='bkt-dev-pr-', dir='/tmp')
        os.chmod(_PR_DIR, 0o1777)
    return _PR_DIR


class DevPr(EnvTestCase):
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        d = _pr_dir()
        cls.ENV_KW = dict(polkit='real', users=(ADMIN,), flatpak=False,
                          extra_env={'BKT_TOOLBOX': DOUBLE, 'TOOLBOX_DOUBLE_DIR': os.path.join(d, 'toolbox'),
                                     'TOOLBOX_DOUBLE_REPO': os.path.join(rpm_repo(), 'repo'),
                                     'TOOLBOX_DOUBLE_BASE': 'bkt-hello', 'TOOLBOX_DOUBLE_COPR': ','.join(COPR_HUB)})
        super().setUpClass()
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, REFERENCE)
            cls.world.write_user_file(os.path.join(cls.env.config_home(ADMIN), 'bkt', 'config.json'),
                                      json.dumps({'api_url': cls.forge.url, 'dev_container': NAME}) + '\n')
            # The double's rootless sudo is a user namespace, as in a rootless toolbox.
            p = cls.env.run_as(ADMIN, ['unshare', '--map-root-user', 'true'])
            if p.returncode != 0:
                raise bktenv.skip_without('user-namespaces', 'unshare -r: %s: the toolbox double cannot give '
                                          'the test user a root' % p.stderr.strip())
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()
        global _PR_DIR
        if _PR_DIR is not None:
            shutil.rmtree(_PR_DIR, True)
            _PR_DIR = None

    def test_pr(self):
        w = self.world
        p = self.env.run_as(ADMIN, [DOUBLE, 'create', NAME])
        self.assertEqual(p.returncode, 0, p.stderr)
        before = w.bkt_branches(w.bare_file)
        rc, res, err = self.env.bkt_json(ADMIN, '--json', 'dev', 'dnf', 'install', '--pr', 'bkt-fish',
                                         '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        root = os.path.join(_pr_dir(), 'toolbox', 'roots', NAME)
        out = subprocess.run(['rpm', '--root', root, '--dbpath', '/usr/lib/sysimage/rpm', '-qa', '--qf', '%{NAME}\n'],
                             capture_output=True, text=True)
        self.assertIn('bkt-fish', out.stdout.split())
        # one plan: the client's dnf first, then the session's record and PR
        ops = [(o['subsystem'], o['action']) for o in res['plan']['operations']]
        self.assertEqual(ops, [('toolbox', 'install'), ('toolbox', 'record'), ('pr', 'commit-push'), ('pr', 'open-pr')])
        self.assertTrue(all(r['success'] for r in res['results']), res['results'])
        self.assertEqual((res['local'], res['manifest']['overlay']), ('done', 'done'))
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        self.assertTrue(pr['branch'].startswith('bkt/toolbox-add-bkt-fish-'), pr['branch'])
        self.assertEqual(w.bkt_branches(w.bare_file) - before, {pr['branch']})
        names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', pr['branch']).split()
        self.assertEqual([n for n in names if not n.startswith('.changelog/')], ['manifests/toolbox-packages.json'])
        diff = w.git(None, '--git-dir', w.bare_file, 'diff', 'main', pr['branch'], '--',
                     'manifests/toolbox-packages.json')
        self.assertIn('+    "bkt-fish"', diff)
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]['body']['title'], 'feat(manifests): add toolbox bkt-fish')
        # recorded in the user's toolbox manifest, never the system one
        with open(os.path.join(self.env.overlay_dir(ADMIN), 'toolbox-packages.json')) as f:
            self.assertEqual(json.load(f)['packages'], ['bkt-fish'])
        self.assertFalse(os.path.exists(os.path.join(self.env.overlay_dir(ADMIN), 'system-packages.json')))

        # --dry-run: the plan and the PR it would open, nothing run or written
        log = os.path.join(_pr_dir(), 'toolbox', 'log')
        with open(log) as f:
            n = len(f.read().splitlines())
        rc, out, err = self.env.bkt_run(ADMIN, 'dev', 'dnf', 'install', '--pr', '--dry-run', 'bkt-htop',
                                        '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertIn('Install package:bkt-htop into toolbox %s' % NAME, out)
        self.assertIn('Would run: %s run -c %s sudo dnf install -y -- bkt-htop' % (DOUBLE, NAME), out)
        self.assertIn('Title:  feat(manifests): add toolbox bkt-htop', out)
        with open(log) as f:
            calls = [json.loads(line) for line in f.read().splitlines()[n:]]
        self.assertEqual([c for c in calls if 'install' in c], [], calls)
        self.assertEqual(self.forge.take(), [])

        # a failing preflight (no repo anywhere) stops before dnf runs
        log = os.path.join(_pr_dir(), 'toolbox', 'log')
        with open(log) as f:
            n = len(f.read().splitlines())
        rc, out, err = self.env.bkt_run(ADMIN, 'dev', 'dnf', 'install', '--pr', 'bkt-htop', '--repo', '/nonexistent')
        self.assertNotEqual(rc, 0, out)
        with open(log) as f:
            calls = [json.loads(line) for line in f.read().splitlines()[n:]]
        self.assertEqual([c for c in calls if 'install' in c], [], calls)


    def test_copr_pr(self):
        """bkt dev copr enable --pr: dnf copr in the toolbox (ours, after the preflight), the record in
        copr_repos and the pull request (the session daemon's)."""
        w = self.world
        box = 'coprbox'   # test_pr creates the configured one
        p = self.env.run_as(ADMIN, [DOUBLE, 'create', box])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.forge.take()
        rc, res, err = self.env.bkt_json(ADMIN, '--json', 'dev', 'copr', 'enable', '--pr', 'bkt/tools',
                                         '--container', box, '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        repo_file = os.path.join(_pr_dir(), 'toolbox', 'roots', box, 'etc', 'yum.repos.d',
                                 '_copr:copr.fedorainfracloud.org:bkt:tools.repo')
        self.assertTrue(os.path.exists(repo_file))
        ops = [(o['subsystem'], o['action']) for o in res['plan']['operations']]
        self.assertEqual(ops, [('toolbox', 'copr-enable'), ('toolbox', 'record'), ('pr', 'commit-push'),
                               ('pr', 'open-pr')])
        self.assertTrue(all(r['success'] for r in res['results']), res['results'])
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', pr['branch']).split()
        self.assertEqual([n for n in names if not n.startswith('.changelog/')], ['manifests/toolbox-packages.json'])
        diff = w.git(None, '--git-dir', w.bare_file, 'diff', 'main', pr['branch'], '--',
                     'manifests/toolbox-packages.json')
        self.assertIn('"name": "bkt/tools"', diff)
        reqs = self.forge.take()
        self.assertEqual([r['body']['title'] for r in reqs], ['feat(manifests): copr-enable toolbox bkt/tools'])
        with open(os.path.join(self.env.overlay_dir(ADMIN), 'toolbox-packages.json')) as f:
            self.assertEqual(json.load(f)['copr_repos'], [{'name': 'bkt/tools', 'enabled': True, 'gpg_check': True}])

        # a failing preflight (no repo) stops before dnf copr runs
        log = os.path.join(_pr_dir(), 'toolbox', 'log')
        with open(log) as f:
            n = len(f.read().splitlines())
        rc, out, err = self.env.bkt_run(ADMIN, 'dev', 'copr', 'enable', '--pr', '@devs/nightly', '-c', box,
                                        '--repo', '/nonexistent')
        self.assertNotEqual(rc, 0, out)
        with open(log) as f:
            calls = [json.loads(line) for line in f.read().splitlines()[n:]]
        self.assertEqual([c for c in calls if 'copr' in c], [], calls)
        self.assertFalse(os.path.exists(repo_file.replace('bkt:tools', 'group_devs:nightly')))


if __name__ == '__main__':
    bktenv.main()
