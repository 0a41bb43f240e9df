#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt in a user's image: the example Containerfile (docs/examples/Containerfile)
and its managed BKT section, and the units that apply the image's manifests
(data/bkt-apply*.service.in, the presets).

The real client on a distribution repo made of this repository's example
distribution (manifests/) and a repo.json, no session bus and no daemon (a
CI container): `bkt containerfile check` accepts the example as it is in
docs/, every file it copies exists in the repo, and the section follows the
repo (no repo.json → no COPY of it; a new manifest kind → copied too; a
skel/ tree → copied to /usr/share/bkt/skel/)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get('BKT_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BKT_BUILD_DIR', os.path.join(SRC, 'build'))
BKT = os.path.join(BUILD, 'client', 'bkt')
EXAMPLE = os.path.join(SRC, 'docs', 'examples', 'Containerfile')


def section(text, name='BKT'):
    m = re.search(r'# === %s \(managed by bkt\) ===\n(.*?)# === END %s ===' % (name, name), text, re.S)
    return m.group(1) if m else None


class ImageContainerfile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='bkt-image-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        home = os.path.join(self.tmp, 'home')
        os.makedirs(home)
        self.env = {'PATH': '/usr/bin:/bin', 'HOME': home, 'LC_ALL': 'C.UTF-8',
                    'XDG_CONFIG_HOME': os.path.join(home, '.config'),
                    'XDG_DATA_HOME': os.path.join(home, '.local', 'share'),
                    'BKT_REPO_JSON': os.path.join(self.tmp, 'no-repo.json'),
                    'BKT_TOOL_PATH': os.path.join(BUILD, 'client', 'bkt-tool'),
                    'DBUS_SESSION_BUS_ADDRESS': 'unix:path=' + os.path.join(self.tmp, 'no-bus')}
        self.repo = os.path.join(self.tmp, 'distro')
        shutil.copytree(os.path.join(SRC, 'manifests'), os.path.join(self.repo, 'manifests'),
                        ignore=shutil.ignore_patterns('meson.build'))
        with open(os.path.join(self.repo, 'repo.json'), 'w') as f:
            json.dump({'owner': 'example', 'name': 'distro', 'url': 'https://github.com/example/distro',
                       'default_branch': 'main'}, f)
        shutil.copy(EXAMPLE, os.path.join(self.repo, 'Containerfile'))
        subprocess.run(['git', 'init', '-q', '-b', 'main', self.repo], check=True)

    def bkt(self, *args):
        return subprocess.run([BKT] + list(args) + ['--repo', self.repo], cwd=self.repo, env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)

    def read(self):
        with open(os.path.join(self.repo, 'Containerfile')) as f:
            return f.read()

    def test_example_is_up_to_date_and_copies_what_exists(self):
        r = self.bkt('containerfile', 'check')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        body = section(self.read())
        self.assertIsNotNone(body)
        copied = []
        for line in body.splitlines():
            if line.startswith('COPY '):
                words = line.split()[1:]
                copied += words[:-1]
                self.assertTrue(words[-1].startswith('/usr/share/bkt/'), line)
        self.assertIn('repo.json', copied)
        self.assertEqual(sorted(c for c in copied if c.startswith('manifests/')),
                         sorted('manifests/' + f for f in os.listdir(os.path.join(self.repo, 'manifests'))))
        for c in copied:
            self.assertTrue(os.path.isfile(os.path.join(self.repo, c)), c)
        self.assertIn('systemctl enable bkt-apply.service bkt-apply.timer', body)
        self.assertIn('systemctl --global enable bkt-apply-user.service bkt-apply-user.timer', body)

    def test_section_follows_the_repo(self):
        os.unlink(os.path.join(self.repo, 'repo.json'))
        with open(os.path.join(self.repo, 'manifests', 'system-packages.json'), 'w') as f:
            f.write('{"packages": ["htop"]}\n')
        r = self.bkt('containerfile', 'check')
        self.assertNotEqual(r.returncode, 0, 'a stale BKT section passed the check:\n' + r.stdout + r.stderr)
        self.assertIn('BKT', r.stdout + r.stderr)
        r = self.bkt('containerfile', 'sync')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        body = section(self.read())
        self.assertNotIn('repo.json', body)
        self.assertIn('manifests/system-packages.json', body)
        # Outside the section nothing moved.
        with open(EXAMPLE) as f:
            example = f.read()
        self.assertEqual(self.read().split('# === BKT')[0], example.split('# === BKT')[0])
        self.assertEqual(self.bkt('containerfile', 'check').returncode, 0)

    def test_skel_tree_is_copied(self):
        """A repo with a skel/ directory (bkt skel): the section copies it to /usr/share/bkt/skel/."""
        self.assertNotIn('skel', section(self.read()))
        os.makedirs(os.path.join(self.repo, 'skel', '.config'))
        with open(os.path.join(self.repo, 'skel', '.config', 'x.conf'), 'w') as f:
            f.write('x\n')
        r = self.bkt('containerfile', 'check')
        self.assertNotEqual(r.returncode, 0, 'the section does not copy skel/ yet:\n' + r.stdout + r.stderr)
        r = self.bkt('containerfile', 'sync')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('COPY skel/ /usr/share/bkt/skel/\n', section(self.read()))


class Units(unittest.TestCase):
    """The configured units name the installed client with the options it has."""

    def unit(self, name):
        with open(os.path.join(BUILD, 'data', name)) as f:
            return f.read()

    def test_units_run_bkt_apply_with_existing_options(self):
        help_text = subprocess.run([BKT, 'apply', '--help'], capture_output=True, text=True).stdout
        for name, scope in (('bkt-apply.service', 'system'), ('bkt-apply-user.service', 'user')):
            text = self.unit(name)
            m = re.search(r'^ExecStart=(\S+) (.*)$', text, re.M)
            self.assertIsNotNone(m, name)
            self.assertTrue(m.group(1).endswith('/bin/bkt'), m.group(1))
            args = m.group(2).split()
            self.assertEqual(args[:3], ['apply', '--scope', scope])
            for opt in args[1:]:
                if opt.startswith('--'):
                    self.assertIn(opt, help_text, '%s uses %s, which bkt apply does not take' % (name, opt))

    def test_watch_unit_runs_an_existing_command(self):
        # bkt-watch.service (enabled by the user preset) only asks the watcher's state: a command
        # that exists and changes nothing, so the watcher stays off unless the user enabled it.
        m = re.search(r'^ExecStart=(\S+) (.*)$', self.unit('bkt-watch.service'), re.M)
        self.assertIsNotNone(m)
        self.assertTrue(m.group(1).endswith('/bin/bkt'), m.group(1))
        self.assertEqual(m.group(2).split(), ['watch', 'status'])
        r = subprocess.run([BKT, 'watch', 'status', '--help'], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_presets_enable_exactly_the_apply_units(self):
        for preset, units in (('90-bkt.preset', {'bkt-apply.service', 'bkt-apply.timer'}),
                              ('90-bkt-user.preset', {'bkt-apply-user.service', 'bkt-apply-user.timer',
                                                      'bkt-watch.service'})):
            with open(os.path.join(SRC, 'data', preset)) as f:
                lines = [l.split() for l in f if l.strip() and not l.startswith('#')]
            self.assertEqual({l[1] for l in lines if l[0] == 'enable'}, units)


if __name__ == '__main__':
    result = unittest.main(exit=False, verbosity=2).result
    if result.testsRun and result.testsRun == len(result.skipped):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
