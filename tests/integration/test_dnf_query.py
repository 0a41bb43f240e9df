#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Client-side commands that need no daemon: `bkt containerfile sync|check`
on a distribution repo, and `bkt dnf QUERY` passed through to dnf — with a
recording stand-in (exact argv, toolbox route through flatpak-spawn) and
with the real dnf against a local RPM repo built here (rpmbuild +
createrepo_c), skipped when those are not installed.
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
FIXTURE = os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in')
EXIT_FAILED, EXIT_USAGE, EXIT_INVALID = 1, 2, 5

RECORDER = '''#!/bin/sh
# Records its argv, one argument per line (NUL-free test arguments).
for a in "$0" "$@"; do printf '%s\\n' "$a"; done > "$RECORD"
exit 0
'''

SPEC = '''Name: {name}
Version: 1.0
Release: 1
Summary: {summary}
License: MIT
BuildArch: noarch
%description
{summary}
%files
'''


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='bkt-dnf-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        home = os.path.join(self.tmp, 'home')
        os.makedirs(home)
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, '.config'),
                        XDG_DATA_HOME=os.path.join(home, '.local', 'share'),
                        BKT_CONTEXT_ROOT=os.path.join(self.tmp, 'ctx'),
                        BKT_REPO_JSON=os.path.join(self.tmp, 'no-repo.json'), LC_ALL='C.UTF-8')
        self.env.pop('container', None)
        self.env.pop('BKT_DNF', None)

    def bkt(self, *args, cwd=None, env=None):
        return subprocess.run([BKT] + list(args), cwd=cwd or self.tmp, env=env or self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


class ContainerfileTest(Base):
    def make_repo(self, packages, coprs=(), shims=()):
        repo = os.path.join(self.tmp, 'distro')
        os.makedirs(os.path.join(repo, 'manifests'))
        subprocess.run(['git', 'init', '-q', repo], check=True)
        shutil.copy(FIXTURE, os.path.join(repo, 'Containerfile'))
        with open(os.path.join(repo, 'manifests', 'system-packages.json'), 'w') as f:
            json.dump({'packages': list(packages), 'groups': [], 'excluded': [],
                       'copr_repos': [dict(name=c, enabled=True, gpg_check=True) for c in coprs]}, f)
        with open(os.path.join(repo, 'manifests', 'host-shims.json'), 'w') as f:
            json.dump({'shims': [{'name': s} for s in shims]}, f)
        return repo

    def read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def test_check_sync_check(self):
        repo = self.make_repo(['zsh', 'htop', 'fish'], coprs=['atim/starship'], shims=['podman'])
        cf = os.path.join(repo, 'Containerfile')
        before = self.read(cf)

        r = self.bkt('containerfile', 'check', cwd=repo)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)
        self.assertIn('out of date', r.stderr)
        self.assertIn('SYSTEM_PACKAGES', r.stderr)
        self.assertEqual(self.read(cf), before, 'check must not write')

        r = self.bkt('containerfile', 'sync', '--json', cwd=repo)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)['changed'], ['COPR_REPOS', 'SYSTEM_PACKAGES', 'HOST_SHIMS'])
        after = self.read(cf).decode()
        self.assertIn('RUN dnf install -y \\\n        fish \\\n        htop \\\n        zsh \\\n'
                      '    && dnf clean all\n# === END SYSTEM_PACKAGES ===\n', after)
        self.assertIn('dnf copr enable -y atim/starship', after)
        self.assertIn('/usr/local/bin/podman', after)
        self.assertNotIn('old/stale', after)
        # Outside the sections, byte for byte: the same lines, minus the bodies.
        self.assertTrue(after.startswith(before.decode().split('# === COPR_REPOS')[0]))
        self.assertTrue(after.endswith(before.decode().split('# === END HOST_SHIMS ===\n')[1]))

        r = self.bkt('containerfile', 'check', cwd=repo)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.bkt('containerfile', 'sync', cwd=repo)
        self.assertIn('up to date', r.stdout)
        self.assertEqual(self.read(cf).decode(), after)

    def test_repo_and_file_options(self):
        repo = self.make_repo(['zsh'])
        # --repo from elsewhere
        r = self.bkt('containerfile', 'check', '--repo', repo)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)
        # --file without any repo: the manifests beside the file
        lone = os.path.join(self.tmp, 'lone')
        shutil.copytree(os.path.join(repo, 'manifests'), os.path.join(lone, 'manifests'))
        shutil.copy(FIXTURE, os.path.join(lone, 'Custom.containerfile'))
        r = self.bkt('containerfile', 'sync', '--file', os.path.join(lone, 'Custom.containerfile'), cwd='/')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('        zsh \\\n', self.read(os.path.join(lone, 'Custom.containerfile')).decode())
        # no repo and no --file
        r = self.bkt('containerfile', 'check', cwd='/')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('no distribution repo', r.stderr)

    def test_malformed_markers_refused(self):
        repo = self.make_repo(['zsh'])
        cf = os.path.join(repo, 'Containerfile')
        with open(cf, 'a') as f:
            f.write('# === EXTRA (managed by bkt) ===\nRUN true\n')
        before = self.read(cf)
        line = before.decode().count('\n') - 1
        for cmd in ('check', 'sync'):
            r = self.bkt('containerfile', cmd, cwd=repo)
            self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
            self.assertIn('Containerfile:%d: section EXTRA is never closed' % line, r.stderr)
            self.assertEqual(self.read(cf), before)

    def test_invalid_manifest_refused(self):
        repo = self.make_repo(['zsh'])
        with open(os.path.join(repo, 'manifests', 'system-packages.json'), 'w') as f:
            f.write('{"packages": ["htop; rm -rf /"]}\n')
        before = self.read(os.path.join(repo, 'Containerfile'))
        r = self.bkt('containerfile', 'sync', cwd=repo)
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
        self.assertIn('invalid package name', r.stderr)
        self.assertEqual(self.read(os.path.join(repo, 'Containerfile')), before)


class DnfPassThroughTest(Base):
    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.tmp, 'bin')
        os.makedirs(self.bin)
        self.record = os.path.join(self.tmp, 'record')
        for name in ('dnf-standin', 'flatpak-spawn'):
            p = os.path.join(self.bin, name)
            with open(p, 'w') as f:
                f.write(RECORDER)
            os.chmod(p, 0o755)
        self.env.update(RECORD=self.record, PATH=self.bin + ':' + self.env['PATH'])

    def recorded(self):
        with open(self.record) as f:
            return f.read().splitlines()

    def test_arguments_unchanged(self):
        env = dict(self.env, BKT_DNF=os.path.join(self.bin, 'dnf-standin'))
        for verb in ('search', 'info', 'provides', 'list', 'repoquery'):
            # Options after the verb are dnf's (bkt parses none of them);
            # global options before `dnf` are bkt's and do not reach dnf.
            r = self.bkt('--json', 'dnf', verb, '--json', '-y', 'two words', "htop; rm -rf /", '--', '-x',
                         env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.recorded(), [env['BKT_DNF'], verb, '--json', '-y', 'two words',
                                               'htop; rm -rf /', '--', '-x'])

    def test_unknown_verb_runs_nothing(self):
        env = dict(self.env, BKT_DNF=os.path.join(self.bin, 'dnf-standin'))
        for verb in ('upgrade', '--setopt=x', 'update', 'erase'):
            r = self.bkt('dnf', verb, 'htop', env=env)
            self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
            self.assertFalse(os.path.exists(self.record))
            self.assertIn('unknown dnf command', r.stderr)
        # install/remove go to the daemons (tests/integration/test_dnf_layering.py), never to the
        # host's dnf directly; a bad name is refused by the client before anything.
        r = self.bkt('dnf', 'install', '-rf', env=env)
        self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
        self.assertFalse(os.path.exists(self.record))

    def test_toolbox_goes_to_the_host(self):
        os.makedirs(os.path.join(self.tmp, 'ctx', 'run'))
        open(os.path.join(self.tmp, 'ctx', 'run', '.toolboxenv'), 'w').close()
        r = self.bkt('dnf', 'search', 'a b', '-q')
        self.assertEqual(r.returncode, 0, r.stderr)
        rec = self.recorded()
        self.assertEqual(rec[0], os.path.join(self.bin, 'flatpak-spawn'))
        self.assertEqual(rec[1:4], ['--host', 'sh', '-c'])
        self.assertIn('exec dnf5 "$@"', rec[4])
        self.assertEqual(rec[5:], ['dnf', 'search', 'a b', '-q'])


class DnfDiffTest(Base):
    """`bkt dnf diff` against tests/doubles/rpm-ostree-double's status --json."""

    def setUp(self):
        super().setUp()
        self.manifests = os.path.join(self.tmp, 'manifests')
        os.makedirs(self.manifests)
        with open(os.path.join(self.manifests, 'system-packages.json'), 'w') as f:
            json.dump({'packages': ['htop', 'zsh', 'fish'], 'copr_repos': []}, f)
        self.state = os.path.join(self.tmp, 'rpm-ostree.json')
        self.log = os.path.join(self.tmp, 'rpm-ostree.log')
        self.env.update(BKT_RPM_OSTREE=bktenv.double('rpm-ostree-double'),
                        RPM_OSTREE_DOUBLE_STATE=self.state, RPM_OSTREE_DOUBLE_LOG=self.log)

    def set_state(self, booted, staged=None):
        with open(self.state, 'w') as f:
            json.dump({'booted': booted, 'staged': staged}, f)

    def diff(self):
        r = self.bkt('dnf', 'diff', '--json', '-m', self.manifests)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_diff(self):
        self.set_state(['htop', 'vim-enhanced'])
        d = self.diff()
        self.assertEqual(d['missing'], ['fish', 'zsh'])
        self.assertEqual(d['untracked'], ['vim-enhanced'])
        self.assertFalse(d['reboot_required'])
        with open(self.log) as f:
            self.assertEqual([json.loads(line) for line in f], [['status', '--json']])

        # Staged: judged by what the next boot has, with what is pending.
        self.set_state(['htop', 'vim-enhanced'], staged=['fish', 'htop', 'zsh'])
        d = self.diff()
        self.assertEqual(d['missing'], [])
        self.assertEqual(d['untracked'], [])
        self.assertEqual(d['pending_install'], ['fish', 'zsh'])
        self.assertEqual(d['pending_removal'], ['vim-enhanced'])
        self.assertTrue(d['reboot_required'])
        r = self.bkt('dnf', 'diff', '-m', self.manifests)
        self.assertIn('match the manifest (after a reboot)', r.stdout)
        self.assertIn('Removed at the next boot', r.stdout)

    def test_rpm_ostree_failure(self):
        env = dict(self.env, BKT_RPM_OSTREE='/bin/false')
        r = self.bkt('dnf', 'diff', '-m', self.manifests, env=env)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)
        self.assertIn('rpm-ostree status failed', r.stderr)


@bktenv.requires('dnf', 'rpmbuild', 'createrepo_c')
class RealDnfTest(Base):
    """The real dnf 4 against a local repo: what the user sees is dnf's own."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix='bkt-rpmrepo-')
        top = os.path.join(cls.root, 'rpmbuild')
        repo = os.path.join(cls.root, 'repo')
        os.makedirs(os.path.join(top, 'SPECS'))
        os.makedirs(repo)
        env = dict(os.environ, HOME=cls.root)
        for name, summary in (('bkt-hello', 'Greets the tests'), ('bkt-htop', 'Process viewer stand-in')):
            spec = os.path.join(top, 'SPECS', name + '.spec')
            with open(spec, 'w') as f:
                f.write(SPEC.format(name=name, summary=summary))
            subprocess.run(['rpmbuild', '--define', '_topdir ' + top, '-bb', spec], env=env, check=True,
                           capture_output=True)
        for dirpath, _, files in os.walk(os.path.join(top, 'RPMS')):
            for f in files:
                shutil.copy(os.path.join(dirpath, f), repo)
        subprocess.run(['createrepo_c', '-q', repo], check=True)
        os.makedirs(os.path.join(cls.root, 'repos.d'))
        os.makedirs(os.path.join(cls.root, 'installroot'))
        # The wrapper stands for the host's configuration: dnf's own
        # options pointing at the local repo, then bkt's argv unchanged.
        cls.dnf = os.path.join(cls.root, 'dnf-local')
        with open(cls.dnf, 'w') as f:
            f.write('#!/bin/sh\nverb="$1"; shift\n'
                    'exec dnf -q --setopt=reposdir=%s/repos.d --releasever=39 --installroot=%s/installroot '
                    '--repofrompath=local,%s --repo=local --nogpgcheck --setopt=cachedir=%s/cache '
                    '"$verb" "$@"\n' % (cls.root, cls.root, repo, cls.root))
        os.chmod(cls.dnf, 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, True)

    def test_queries(self):
        env = dict(self.env, BKT_DNF=self.dnf)
        r = self.bkt('dnf', 'repoquery', '--qf', '%{name}', 'bkt-*', env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.split()), ['bkt-hello', 'bkt-htop'])
        r = self.bkt('dnf', 'info', 'bkt-hello', env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('Greets the tests', r.stdout)
        r = self.bkt('dnf', 'search', 'viewer', env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('bkt-htop', r.stdout)

    def test_missing_package_is_dnfs_error(self):
        env = dict(self.env, BKT_DNF=self.dnf)
        r = self.bkt('dnf', 'info', 'no-such-package', env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('No matching Packages', r.stderr + r.stdout)


if __name__ == '__main__':
    bktenv.main(needs_root=False)
