#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man pages: every page in docs/ renders with the real man (groff) at 80
columns without a single warning; after `meson install --destdir`, `man`
finds bkt(1), bktd(8) and bkt-manifests(5) by name in the installed tree;
bkt(1) names every command `bkt --help` lists (the command table), and
bkt-manifests(5) every manifest file bkt reads."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get('BKT_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BKT_BUILD_DIR', os.path.join(SRC, 'build'))
PAGES = sorted(glob.glob(os.path.join(SRC, 'docs', '*.[158]')))


def render(args, env_extra=None, words=False):
    """man's output; @words: without hyphenation or justification, to search it for words."""
    env = dict(os.environ, MANWIDTH='80', LC_ALL='C.UTF-8', MANPAGER='cat',
               PAGER='cat')
    env.update(env_extra or {})
    return subprocess.run(['man', '--warnings'] + (['--nh', '--nj'] if words else []) + args,
                          capture_output=True, text=True, env=env, timeout=60)


class ManPages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which('man') is None or shutil.which('groff') is None:
            raise unittest.SkipTest('needs man-db: man or groff is not installed')

    def test_every_page_renders_without_warnings(self):
        self.assertGreaterEqual(len(PAGES), 3, PAGES)
        for page in PAGES:
            p = render(['-l', page])
            self.assertEqual(p.returncode, 0, page + p.stderr)
            self.assertEqual(p.stderr.strip(), '', '%s: %s' % (os.path.basename(page), p.stderr))
            self.assertGreater(len(p.stdout.splitlines()), 20, page)

    def test_installed_pages_are_found_by_name(self):
        dest = tempfile.mkdtemp(prefix='bkt-man-')
        self.addCleanup(shutil.rmtree, dest, True)
        subprocess.run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--destdir', dest, '--quiet'],
                       check=True, capture_output=True)
        mandirs = glob.glob(os.path.join(dest, '**', 'share', 'man'), recursive=True)
        self.assertEqual(len(mandirs), 1, mandirs)
        for section, name in (('1', 'bkt'), ('8', 'bktd'), ('5', 'bkt-manifests')):
            p = render(['-M', mandirs[0], section, name])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(name.upper(), p.stdout.splitlines()[0])

    def test_bkt1_names_every_command(self):
        env = dict(os.environ, BKT_TOOL_PATH=os.path.join(BUILD, 'client', 'bkt-tool'))
        top = subprocess.run([os.path.join(BUILD, 'client', 'bkt'), '--help'], capture_output=True, text=True,
                             env=env).stdout
        commands = re.findall(r'^  ([a-z][a-z-]*)\b', top.split('Commands:', 1)[1], re.M)
        self.assertGreater(len(commands), 10, top)
        text = render(['-l', os.path.join(SRC, 'docs', 'bkt.1')], words=True).stdout
        synopsis = text.split('SYNOPSIS', 1)[1].split('DESCRIPTION', 1)[0]
        # "bkt [global-options] flatpak|fp add|…": the command, or one of its names, after bkt
        missing = [c for c in commands
                   if not re.search(r'\bbkt (\[global-options\] )?([a-z-]+\|)*%s\b' % re.escape(c), synopsis)]
        self.assertEqual(missing, [], 'bkt(1) SYNOPSIS lacks these commands of bkt --help')

    def test_manifests5_names_every_file(self):
        text = render(['-l', os.path.join(SRC, 'docs', 'bkt-manifests.5')], words=True).stdout
        bkt1 = render(['-l', os.path.join(SRC, 'docs', 'bkt.1')], words=True).stdout
        manifests = bkt1.split('\nMANIFESTS', 1)[1].split('\nGLOBAL OPTIONS', 1)[0]
        for f in ('flatpak-remotes.json', 'flatpak-apps.json', 'gsettings.json', 'gnome-extensions.json',
                  'host-shims.json', 'system-packages.json', 'toolbox-packages.json',
                  'base-image-assumptions.json'):
            self.assertIn(f, text)
            self.assertIn(f, manifests, 'bkt(1) MANIFESTS')


if __name__ == '__main__':
    result = unittest.main(exit=False, verbosity=2).result
    if result.testsRun and result.testsRun == len(result.skipped):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
