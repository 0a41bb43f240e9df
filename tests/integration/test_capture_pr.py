#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`bkt capture --pr` (issue 17): what was changed on this machine since bkt
last synced it, captured AND proposed as ONE pull request: one branch, one
commit per subsystem, one draft changelog entry listing every item, after
the same preflight and edit checks as every punned change.

Real GSettings (keyfile), real flatpak (a user installation fed by a local
repo), an extension installed and enabled by hand (its files and the
org.gnome.shell keys), real git remotes (bare, file://) and the forge API
stand-in of punenv.py, the real daemons and client.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
EXT = 'byhand@bkt.test'
TARGETS = {'gsetting:%s.clock-format' % IFACE, 'flatpak:org.test.App001', 'extension:' + EXT}


def changes_by_hand(env):
    """A key changed, an app installed, an extension enabled: as a person would, without bkt."""
    env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h')
    env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App001')
    d = os.path.join(env.home(ADMIN), '.local', 'share', 'gnome-shell', 'extensions', EXT)
    env.run_as(ADMIN, ['mkdir', '-p', d])
    env.run_as(ADMIN, ['sh', '-c', 'printf \'{"uuid": "%s", "shell-version": ["46"]}\' > "$1"' % EXT,
                       'sh', os.path.join(d, 'metadata.json')])
    env.gsettings(ADMIN, 'set', 'org.gnome.shell', 'enabled-extensions', "['%s']" % EXT)


class CapturePr(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=2)

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

    def bkt(self, *args):
        return self.env.bkt_run(ADMIN, *args)

    def overlay_files(self):
        return self.env.manifests_snapshot(self.env.overlay_dir(ADMIN))

    def test_1_capture_pr(self):
        env, w = self.env, self.world
        self.assertRc(self.bkt('apply'), 0, 'first apply')
        self.assertEqual(self.forge.take(), [])
        changes_by_hand(env)
        st = self.status(ADMIN)
        here = {op['target'] for sub in st['subsystems'].values() for op in sub.get('drift', [])
                if op.get('direction') == 'capture'}
        here |= {u['target'] for sub in st['subsystems'].values() for u in sub.get('untracked', [])}
        self.assertTrue(TARGETS <= here, here)

        # --dry-run: the PR it would open, and nothing anywhere changes
        overlay = self.overlay_files()
        record = env.state_record('user', ADMIN)
        branches = w.bkt_branches(w.bare_file)
        # without --all-untracked the two untracked items are left out, named in a warning
        res = self.bkt('capture', '--pr', '--repo', w.checkout, '--dry-run')
        self.assertRc(res, 0, 'capture --pr --dry-run')
        self.assertIn('bkt/capture-here-1-changes-', res[1])
        self.assertIn('2 untracked item(s) left out', res[1] + res[2])
        res = self.bkt('capture', '--pr', '--all-untracked', '--repo', w.checkout, '--dry-run')
        self.assertRc(res, 0, 'capture --pr --all-untracked --dry-run')
        self.assertIn('3 changes', res[1])
        self.assertIn('bkt/capture-here-3-changes-', res[1])
        self.assertEqual(self.overlay_files(), overlay)
        self.assertEqual(env.state_record('user', ADMIN), record)
        self.assertEqual(w.bkt_branches(w.bare_file), branches)
        self.assertEqual(self.forge.take(), [])

        # --item names what is not changed here: an error, nothing done
        res = self.bkt('capture', '--pr', '--repo', w.checkout, '--item', 'flatpak:org.test.Second')
        self.assertNotEqual(res[0], 0, 'capture --pr of an item in sync')
        self.assertIn('nothing to capture', res[2])
        self.assertEqual(self.overlay_files(), overlay)
        self.assertEqual(w.bkt_branches(w.bare_file), branches)
        self.assertEqual(self.forge.take(), [])

        # the capture and ONE pull request
        rc, out, err = env.bkt_json(ADMIN, '--json', 'capture', '--pr', '--all-untracked', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        new = w.bkt_branches(w.bare_file) - branches
        self.assertEqual(len(new), 1, new)
        branch = new.pop()
        self.assertTrue(branch.startswith('bkt/capture-here-3-changes-'), branch)
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1, reqs)
        body = reqs[0]['body']
        self.assertEqual(body['head'], branch)
        self.assertTrue(body['title'].startswith('feat(manifests): 3 changes ('), body['title'])
        for word in ('clock-format', 'org.test.App001', EXT):
            self.assertIn(word, body['body'])

        # one commit per subsystem, each touching its own file only; the draft entry once
        commits = w.git(None, '--git-dir', w.bare_file, 'rev-list', '--reverse', 'main..' + branch).split()
        self.assertEqual(len(commits), 3, commits)
        touched = []
        for c in commits:
            names = w.git(None, '--git-dir', w.bare_file, 'diff-tree', '--no-commit-id', '--name-only', '-r',
                          c).split()
            touched.append(names)
            author = w.git(None, '--git-dir', w.bare_file, 'log', '-1', '--format=%an <%ae>', c).strip()
            self.assertEqual(author, '%s <%s>' % (punenv.GIT_NAME, punenv.GIT_EMAIL))
        manifests = sorted(n for names in touched for n in names if n.startswith('manifests/'))
        self.assertEqual(manifests, ['manifests/flatpak-apps.json', 'manifests/gnome-extensions.json',
                                     'manifests/gsettings.json'])
        for names in touched:
            self.assertEqual(len([n for n in names if n.startswith('manifests/')]), 1, touched)
        drafts = [n for names in touched for n in names if n.startswith('.changelog/pending/')]
        self.assertEqual(len(drafts), 1, touched)
        entry = json.loads(w.show(w.bare_file, branch, drafts[0]))
        self.assertIs(entry['draft'], True)
        for word in ('clock-format', 'org.test.App001', EXT):
            self.assertIn(word, entry['message'])
        diff = w.git(None, '--git-dir', w.bare_file, 'diff', 'main', branch, '--', 'manifests')
        self.assertIn('24h', diff)
        self.assertIn('org.test.App001', diff)
        self.assertIn(EXT, diff)
        # nothing else of the machine went into it (org.test.Second is in sync)
        self.assertNotIn('org.test.Second', diff)
        subjects = w.git(None, '--git-dir', w.bare_file, 'log', '--format=%s', 'main..' + branch).splitlines()
        self.assertEqual(sorted(s.split(':')[0] for s in subjects),
                         ['feat(extension)', 'feat(flatpak)', 'feat(gsetting)'])

        # captured here too: the overlay and the record, so the machine is in sync again
        st = self.status(ADMIN)
        self.assertInSync(st, ('flatpak', 'gsettings'))
        self.assertEqual(env.state_record('user', ADMIN)['items']['gsetting:%s.clock-format' % IFACE]['value'],
                         "'24h'")
        # and a second capture --pr has nothing to propose
        res = self.bkt('capture', '--pr', '--repo', w.checkout)
        self.assertNotEqual(res[0], 0)
        self.assertIn('nothing to capture', res[2])
        self.assertEqual(self.forge.take(), [])


if __name__ == '__main__':
    bktenv.main()
