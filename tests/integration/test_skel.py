#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt skel add|diff|list|sync: the distribution's dotfiles (issue 15 item 1).

The real session daemon and client, real polkitd, a skel tree beside the
image manifests (what /usr/share/bkt/skel is on a machine) and the test
user's real home:

* list/diff before anything was synced: every file "missing", a dotfile
  the user had before "differs" and is kept by sync (never synced by bkt);
* --dry-run changes nothing; sync copies with modes (setuid dropped), ✓
  only after read-back, writes the state record; status and apply include
  skel;
* a file changed at home since the sync is kept by `skel sync`, refused by
  `bkt apply` (exit 8), replaced by `skel sync --force`; capture records it
  into the user's skel overlay;
* add copies a home file into the writable skel layer; files outside $HOME,
  traversal, links (the file or a directory on the way) are refused with
  nothing changed; a link in the skel tree is left out; a home directory
  replaced by a link to elsewhere is never written through.
"""

import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

FILES = {
    '.bashrc': ('# distro bashrc\nalias ll="ls -l"\n', 0o644),
    '.config/app/app.conf': ('[main]\ntheme=dark\n', 0o444),
    'bin/tool': ('#!/bin/sh\necho tool\n', 0o4755),   # setuid in the skel: copied without it
    '.profile': ('# distro profile\n', 0o644),
}


def tree_snapshot(root):
    """{rel: (bytes, mode)} of every file and link under @root."""
    snap = {}
    for dirpath, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                snap[rel] = ('link', os.readlink(p))
            else:
                with open(p, 'rb') as f:
                    snap[rel] = (f.read(), stat.S_IMODE(os.lstat(p).st_mode))
    return snap


class Skel(EnvTestCase):
    ENV_KW = dict(polkit='real', flatpak=False, users=(ADMIN,))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.write_manifests(env.image_manifests_dir, settings=[])
        cls.skel = env.path('skel')   # beside image-manifests, as /usr/share/bkt/skel
        for rel, (text, mode) in FILES.items():
            cls.write_skel(rel, text, mode)
        # the user's own ~/.profile from before bkt
        cls.write_home('.profile', '# my own profile\n')
        bktenv.make_readable(cls.skel)
        for rel, (text, mode) in FILES.items():
            os.chmod(os.path.join(cls.skel, rel), mode)

    @classmethod
    def write_skel(cls, rel, text, mode=0o644):
        p = os.path.join(cls.skel, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text)
        os.chmod(p, mode)

    @classmethod
    def write_home(cls, rel, text):
        p = os.path.join(cls.env.home(ADMIN), rel)
        cls.env.run_as(ADMIN, ['mkdir', '-p', os.path.dirname(p)])
        cls.env.run_as(ADMIN, ['sh', '-c', 'printf %s "$1" > "$0"', p, text])
        return p

    def home_path(self, rel):
        return os.path.join(self.env.home(ADMIN), rel)

    def read_home(self, rel):
        with open(self.home_path(rel)) as f:
            return f.read()

    def skel_list(self):
        rc, st, err = self.env.bkt_json(ADMIN, 'skel', 'list', '--json')
        self.assertEqual(rc, 0, err)
        return {f['path']: f for f in st['files']}

    def test_1_list_and_diff_before_sync(self):
        files = self.skel_list()
        self.assertEqual(sorted(files), sorted(FILES))
        self.assertEqual(files['.bashrc']['state'], 'missing')
        self.assertEqual(files['.profile']['state'], 'differs')
        self.assertEqual(files['bin/tool']['mode'], '0755')
        self.assertEqual(files['.config/app/app.conf']['layer'], 'image')
        rc, d, err = self.env.bkt_json(ADMIN, 'skel', 'diff', '--json')
        self.assertEqual(rc, 0, err)
        by = {f['path']: f for f in d['files']}
        self.assertEqual(by['.profile']['diff'],
                         '--- skel/.profile\n+++ ~/.profile\n@@ -1 +1 @@\n-# distro profile\n+# my own profile\n')
        self.assertIn('+++ /dev/null', by['.bashrc']['diff'])
        rc, out, err = self.env.bkt_run(ADMIN, 'skel', 'diff', '~/.profile')
        self.assertEqual(rc, 0, err)
        self.assertIn('-# distro profile\n+# my own profile\n', out)
        self.assertNotIn('.bashrc', out)
        rc, out, err = self.env.bkt_run(ADMIN, 'skel', 'diff', '.nothing')
        self.assertEqual(rc, 1, err)

    def test_2_dry_run_changes_nothing(self):
        home = self.env.home(ADMIN)
        before = tree_snapshot(home)
        rc, plan, err = self.env.bkt_json(ADMIN, 'skel', 'sync', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        targets = sorted(op['target'] for op in plan['operations'])
        self.assertEqual(targets, ['skel:.bashrc', 'skel:.config/app/app.conf', 'skel:bin/tool'])
        self.assertTrue(any('.profile differs from the skel and bkt never synced it' in w
                            for w in plan['warnings']), plan['warnings'])
        self.assertEqual(before, tree_snapshot(home))

    def test_3_sync_copies_with_modes(self):
        res = self.env.bkt_run(ADMIN, 'skel', 'sync')
        self.assertRc(res, 0, 'skel sync')
        self.assertEqual(self.read_home('.bashrc'), FILES['.bashrc'][0])
        self.assertEqual(stat.S_IMODE(os.stat(self.home_path('bin/tool')).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(self.home_path('.config/app/app.conf')).st_mode), 0o444)
        self.assertEqual(os.stat(self.home_path('.bashrc')).st_uid, os.stat(self.env.home(ADMIN)).st_uid)
        self.assertEqual(self.read_home('.profile'), '# my own profile\n', 'a never-synced dotfile was replaced')
        files = self.skel_list()
        self.assertEqual(files['.bashrc']['state'], 'in-sync')
        self.assertEqual(files['.profile']['state'], 'differs')
        rec = self.env.state_record('user', ADMIN)
        self.assertIn('skel:.bashrc', rec['items'])
        self.assertEqual(rec['items']['skel:.bashrc']['command'], 'apply')
        st = self.status(ADMIN)
        self.assertIn('skel', st['subsystems'])
        self.assertEqual(st['subsystems']['skel']['tracked'], 4)
        self.assertEqual(st['subsystems']['skel']['in_sync'], 3)

    def test_4_changed_at_home_is_kept(self):
        env = self.env
        self.write_home('.bashrc', '# mine now\n')
        self.write_skel('.config/app/app.conf', '[main]\ntheme=light\n', 0o444)
        files = self.skel_list()
        self.assertEqual(files['.bashrc']['state'], 'changed-at-home')
        self.assertEqual(files['.config/app/app.conf']['state'], 'differs')
        st = self.status(ADMIN, '--only', 'skel')
        drift = {op['target']: op for op in st['subsystems']['skel']['drift']}
        self.assertEqual(drift['skel:.bashrc']['sync']['state'], 'to-capture')
        self.assertEqual(drift['skel:.config/app/app.conf']['sync']['state'], 'to-apply')
        # a plain apply refuses to revert it
        res = env.bkt_run(ADMIN, 'apply', '--only', 'skel')
        self.assertRc(res, 8, 'apply over a dotfile changed at home')
        self.assertEqual(self.read_home('.bashrc'), '# mine now\n')
        # skel sync copies the rest and keeps it
        res = env.bkt_run(ADMIN, 'skel', 'sync')
        self.assertRc(res, 0, 'skel sync with a file changed at home')
        self.assertEqual(self.read_home('.bashrc'), '# mine now\n')
        self.assertEqual(self.read_home('.config/app/app.conf'), '[main]\ntheme=light\n')
        # --force: the skel wins, the never-synced .profile too
        res = env.bkt_run(ADMIN, 'skel', 'sync', '--force')
        self.assertRc(res, 0, 'skel sync --force')
        self.assertEqual(self.read_home('.bashrc'), FILES['.bashrc'][0])
        self.assertEqual(self.read_home('.profile'), FILES['.profile'][0])
        self.assertTrue(all(f['state'] == 'in-sync' for f in self.skel_list().values()))
        # deleted at home after the sync: the user's change, kept by sync, restored by --force
        os.unlink(self.home_path('bin/tool'))
        self.assertEqual(self.skel_list()['bin/tool']['state'], 'changed-at-home')
        rc, d, err = env.bkt_json(ADMIN, 'skel', 'diff', '--json', 'bin/tool')
        self.assertEqual(rc, 0, err)
        self.assertIn('+++ /dev/null', d['files'][0]['diff'])
        res = env.bkt_run(ADMIN, 'skel', 'sync')
        self.assertRc(res, 0, 'skel sync after a deletion at home')
        self.assertFalse(os.path.exists(self.home_path('bin/tool')))
        res = env.bkt_run(ADMIN, 'skel', 'sync', '--force')
        self.assertRc(res, 0, 'skel sync --force after a deletion at home')
        self.assertEqual(self.read_home('bin/tool'), FILES['bin/tool'][0])

    def test_5_capture_records_into_the_overlay(self):
        self.write_home('.bashrc', '# captured\n')
        res = self.env.bkt_run(ADMIN, 'capture', '--only', 'skel')
        self.assertRc(res, 0, 'capture of skel')
        overlay = os.path.join(self.env.config_home(ADMIN), 'bkt', 'skel', '.bashrc')
        with open(overlay) as f:
            self.assertEqual(f.read(), '# captured\n')
        files = self.skel_list()
        self.assertEqual(files['.bashrc']['state'], 'in-sync')
        self.assertEqual(files['.bashrc']['layer'], 'user')
        # the image's file is untouched
        with open(os.path.join(self.skel, '.bashrc')) as f:
            self.assertEqual(f.read(), FILES['.bashrc'][0])

    def test_6_add(self):
        self.write_home('.gitconfig', '[user]\n\tname = Ada\n')
        os.chmod(self.home_path('.gitconfig'), 0o640)
        overlay_dir = os.path.join(self.env.config_home(ADMIN), 'bkt', 'skel')
        before = tree_snapshot(overlay_dir)
        res = self.env.bkt_run(ADMIN, 'skel', 'add', '--local', '--dry-run', self.home_path('.gitconfig'))
        self.assertRc(res, 0, 'skel add --local --dry-run')
        self.assertEqual(before, tree_snapshot(overlay_dir), '--dry-run changed the skel overlay')
        res = self.env.bkt_run(ADMIN, 'skel', 'add', '--local', self.home_path('.gitconfig'))
        self.assertRc(res, 0, 'skel add --local')
        overlay = os.path.join(self.env.config_home(ADMIN), 'bkt', 'skel', '.gitconfig')
        with open(overlay) as f:
            self.assertEqual(f.read(), '[user]\n\tname = Ada\n')
        self.assertEqual(stat.S_IMODE(os.stat(overlay).st_mode), 0o640)
        self.assertEqual(self.skel_list()['.gitconfig']['state'], 'in-sync')

    def test_7_add_refuses_what_leaves_home(self):
        env = self.env
        outside = env.path('outside')
        os.makedirs(outside, exist_ok=True)
        with open(os.path.join(outside, 'secret'), 'w') as f:
            f.write('secret\n')
        bktenv.make_readable(outside)
        env.run_as(ADMIN, ['ln', '-sfn', outside, self.home_path('linkdir')])
        env.run_as(ADMIN, ['ln', '-sf', os.path.join(outside, 'secret'), self.home_path('.linked')])
        overlay = os.path.join(env.config_home(ADMIN), 'bkt', 'skel')
        before = tree_snapshot(overlay)
        for arg, rc in (('/etc/hostname', 2), (self.home_path('../x'), 2), ('~/../../etc/passwd', 2),
                        (self.home_path('.linked'), None), (self.home_path('linkdir/secret'), None),
                        (self.home_path('.nope'), None)):
            res = env.bkt_run(ADMIN, 'skel', 'add', '--local', arg)
            if rc is not None:
                self.assertRc(res, rc, 'skel add %s' % arg)
            else:
                self.assertNotEqual(res[0], 0, 'skel add %s was accepted' % arg)
        self.assertEqual(before, tree_snapshot(overlay), 'a refused add changed the skel overlay')
        # the daemon checks the path itself (a client that does not)
        rc, out, err = env.bkt_run(ADMIN, 'skel', 'add', '--local', '--dry-run', self.home_path('.linked'))
        self.assertNotEqual(rc, 0)
        self.assertIn('refused', out + err)

    def test_8_links_are_never_followed(self):
        env = self.env
        outside = env.path('outside2')
        os.makedirs(outside, exist_ok=True)
        victim = os.path.join(outside, 'app.conf')
        with open(victim, 'w') as f:
            f.write('do not touch\n')
        os.chmod(victim, 0o666)
        bktenv.make_readable(outside)
        os.chmod(outside, 0o777)
        # a link in the skel tree is left out
        os.symlink('/etc/passwd', os.path.join(self.skel, '.evil'))
        # ~/.config/app replaced by a link to elsewhere; ~/.bashrc by a link to a file elsewhere
        env.run_as(ADMIN, ['rm', '-rf', self.home_path('.config/app')])
        env.run_as(ADMIN, ['ln', '-s', outside, self.home_path('.config/app')])
        env.run_as(ADMIN, ['rm', '-f', self.home_path('.bashrc')])
        env.run_as(ADMIN, ['ln', '-s', victim, self.home_path('.bashrc')])
        try:
            before_outside = tree_snapshot(outside)
            rc, plan, err = env.bkt_json(ADMIN, 'skel', 'sync', '--force', '--json')
            self.assertEqual(before_outside, tree_snapshot(outside), 'written through a link')
            self.assertFalse(os.path.exists(self.home_path('.evil')))
            files = self.skel_list()
            self.assertNotIn('.evil', files)
            self.assertEqual(files['.config/app/app.conf']['state'], 'unreadable')
            self.assertEqual(files['.bashrc']['state'], 'unreadable')
            rc, out, err = env.bkt_run(ADMIN, 'skel', 'list')
            self.assertIn('symbolic link', out + err)
        finally:
            os.unlink(os.path.join(self.skel, '.evil'))
            env.run_as(ADMIN, ['rm', '-f', self.home_path('.config/app'), self.home_path('.bashrc')])


if __name__ == '__main__':
    bktenv.main()
