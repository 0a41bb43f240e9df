#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A pull request names and edits exactly the item it is about (issue 12,
items 6 and 18).

Every kind of punned change (flatpak, gsetting, extension, shim, dnf;
the toolbox's `bkt dev dnf --pr` has its own flow, test_dev) x add/remove x the default mode (previewed with --dry-run: the PR
it would open, computed against the fetched default branch of a real git
remote) and --pr-only (really pushed to the bare remote and opened on the
forge stand-in): the title says "VERB NOUN ITEM", the branch is
bkt/NOUN-VERB-ITEM-..., the edits and the diff touch only the manifest of
the item's kind, and a removal of an item only the image layer has (the
repo lists it, this machine's overlay does not) is proposed against the
repo's file that holds it.  The draft changelog entry records the command
as anyone would type it: no --repo, -m or home paths."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
import test_dnf_layering  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
IFACE = 'org.gnome.desktop.interface'


class PrKinds(EnvTestCase):
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        # dnf: the real dnf against tests/rpm-repo.sh's repo, the rpm-ostree double (as
        # test_dnf_layering has them)
        cls.ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=1,
                          extra_env=test_dnf_layering._env_kw()['extra_env'])
        super().setUpClass()
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, SEED)
        except BaseException:
            cls.tearDownClass()
            raise
        w = cls.world
        # The repo lists what the removals take away: a user flatpak, a package of each
        # kind (the seed's lists are empty).
        for name, member, entry in (('flatpak-apps.json', 'apps',
                                     {'id': 'org.test.Second', 'remote': 'bkt-test', 'scope': 'user'}),
                                    ('system-packages.json', 'packages', 'bkt-htop')):
            path = os.path.join(w.checkout, 'manifests', name)
            with open(path) as fh:
                doc = json.load(fh)
            doc[member].append(entry)
            with open(path, 'w') as fh:
                json.dump(doc, fh, indent=2)
                fh.write('\n')
        bktenv.chown_tree(w.checkout, ADMIN)
        w.ugit('-C', w.checkout, 'commit', '-q', '-am', 'list what the removals take away')
        w.ugit('-C', w.checkout, 'push', '-q', 'origin', 'main')
        # The image layer (not the user's overlay) has the shim podman, the extension
        # caffeine, the app org.test.Second and the package bkt-htop (neither installed),
        # as the original distribution's image has its own.
        cls.env.write_manifests(cls.env.image_manifests_dir, shims=[{'name': 'podman'}],
                                extensions=['caffeine@patapon.info'], remotes=bktenv.test_remotes(cls.env),
                                apps=[{'id': 'org.test.Second', 'remote': 'bkt-test', 'scope': 'user'}])
        with open(os.path.join(cls.env.image_manifests_dir, 'system-packages.json'), 'w') as f:
            json.dump({'packages': ['bkt-htop'], 'groups': [], 'excluded': [], 'copr_repos': []}, f)
        bktenv.make_readable(cls.env.image_manifests_dir)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()
        test_dnf_layering._remove_dir()

    def setUp(self):
        self.forge.take()   # what an earlier test left

    def bktj(self, *args, **kw):
        return self.env.bkt_json(ADMIN, '--json', *args, **kw)

    # (argv, noun, verb, item, the repo file it edits)
    CASES = [
        (['flatpak', 'add', 'org.test.App001', '--remote', 'bkt-test', '--scope', 'user'],
         'flatpak', 'add', 'org.test.App001', 'flatpak-apps'),
        (['flatpak', 'remove', 'org.test.Second', '--scope', 'user'],
         'flatpak', 'remove', 'org.test.Second', 'flatpak-apps'),
        (['gsetting', 'set', IFACE, 'cursor-size', '40'],
         'gsetting', 'set', IFACE + ' cursor-size', 'gsettings'),
        (['gsetting', 'unset', IFACE, 'gtk-theme'],
         'gsetting', 'unset', IFACE + ' gtk-theme', 'gsettings'),
        (['shim', 'add', 'htop'], 'shim', 'add', 'htop', 'host-shims'),
        (['shim', 'remove', 'podman'], 'shim', 'remove', 'podman', 'host-shims'),
        (['ext', 'add', 'dash-to-panel@jderose9.github.com', '--force'],
         'extension', 'add', 'dash-to-panel@jderose9.github.com', 'gnome-extensions'),
        (['ext', 'remove', 'caffeine@patapon.info'],
         'extension', 'remove', 'caffeine@patapon.info', 'gnome-extensions'),
        (['dnf', 'install', 'bkt-fish'], 'dnf', 'add', 'bkt-fish', 'system-packages'),
        (['dnf', 'remove', 'bkt-htop'], 'dnf', 'remove', 'bkt-htop', 'system-packages'),
    ]

    def check_pr(self, case, pr, noun, verb, item, manifest):
        self.assertEqual(pr['title'], 'feat(manifests): %s %s %s' % (verb, noun, item), '%s: %s' % (case, pr))
        slug = item.replace(' ', '-')
        self.assertTrue(pr['branch'].startswith('bkt/%s-%s-' % (noun, verb)), '%s: %s' % (case, pr['branch']))
        self.assertNotIn('change', pr['branch'].split('-%s-' % verb, 1)[1][:len('change')], case)
        self.assertIn(slug.split('@')[0][:20], pr['branch'], case)
        files = [f for f in pr['files'] if not f.startswith('.changelog/')]
        self.assertEqual(files, ['manifests/%s.json' % manifest], '%s: %s' % (case, pr))

    def test_kinds_actions_modes(self):
        w = self.world
        seen = []
        for argv, noun, verb, item, manifest in self.CASES:
            # the default mode, previewed: the PR it would open
            case = '%s (default, --dry-run)' % ' '.join(argv)
            rc, plan, err = self.bktj(*argv, '--dry-run', '--repo', w.checkout)
            self.assertEqual(rc, 0, '%s: %s' % (case, err))
            self.assertEqual(plan['mode'], 'pr', case)
            pr = plan['pr']
            self.assertNotIn('error', pr, '%s: %s' % (case, pr))
            self.check_pr(case, pr, noun, verb, item, manifest)
            self.assertIn('+++ b/manifests/%s.json' % manifest, pr['diff'], case)
            self.assertEqual(pr['diff'].count('+++ b/manifests/'), 1, '%s:\n%s' % (case, pr['diff']))
            self.assertEqual(self.forge.take(), [], case)

            # --pr-only, for real: the branch on the remote edits only that file
            case = '%s (--pr-only)' % ' '.join(argv)
            before = w.bkt_branches(w.bare_file)
            rc, res, err = self.bktj(*argv, '--pr-only', '--repo', w.checkout)
            self.assertEqual(rc, 0, '%s: %s' % (case, err))
            pr = res['pr']
            self.assertEqual(pr['state'], 'opened', '%s: %s' % (case, pr))
            self.assertEqual(w.bkt_branches(w.bare_file) - before, {pr['branch']}, case)
            reqs = self.forge.take()
            self.assertEqual(len(reqs), 1, case)
            self.assertEqual(reqs[0]['body']['title'], 'feat(manifests): %s %s %s' % (verb, noun, item), case)
            names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', pr['branch']).split()
            drafts = [n for n in names if n.startswith('.changelog/pending/')]
            self.assertEqual([n for n in names if n not in drafts], ['manifests/%s.json' % manifest],
                             '%s: %s' % (case, names))
            diff = w.git(None, '--git-dir', w.bare_file, 'diff', '-U0', 'main', pr['branch'], '--',
                         'manifests/%s.json' % manifest)
            key = item.split(' ')[-1]
            changed = [l for l in diff.splitlines() if l[:1] in '+-' and l[:3] not in ('+++', '---')]
            self.assertTrue(any(key in l and l.startswith('+' if verb in ('add', 'set') else '-')
                                for l in changed), '%s:\n%s' % (case, diff))
            # the draft entry: the command as typed anywhere
            self.assertEqual(len(drafts), 1, case)
            entry = json.loads(w.show(w.bare_file, pr['branch'], drafts[0]))
            self.assertNotIn('--repo', entry['command'], case)
            self.assertNotIn(self.env.home(ADMIN), entry['command'], case)
            self.assertNotIn(w.checkout, json.dumps(entry), case)
            self.assertTrue(entry['command'].startswith('bkt ' + argv[0]), '%s: %s' % (case, entry))
            self.assertIn('--pr-only', entry['command'], case)
            seen.append(case)
        self.assertEqual(len(seen), len(self.CASES))

    def test_skel_add_proposes_the_file(self):
        """bkt skel add: the PR writes that one file under the repo's skel/, byte for byte."""
        w = self.world
        home = self.env.home(ADMIN)
        text = 'set bell-style none\n'
        self.env.run_as(ADMIN, ['sh', '-c', 'printf %s "$1" > "$0"', os.path.join(home, '.inputrc'), text])
        rc, plan, err = self.bktj('skel', 'add', '~/.inputrc', '--dry-run', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        pr = plan['pr']
        self.assertNotIn('error', pr, pr)
        self.assertEqual(pr['title'], 'feat(manifests): add skel .inputrc')
        self.assertEqual([f for f in pr['files'] if not f.startswith('.changelog/')], ['skel/.inputrc'])
        self.assertIn('+++ b/skel/.inputrc', pr['diff'])
        self.assertIn('+set bell-style none', pr['diff'])
        self.assertEqual(self.forge.take(), [])
        overlay = os.path.join(self.env.config_home(ADMIN), 'bkt', 'skel', '.inputrc')
        self.assertFalse(os.path.exists(overlay), '--dry-run recorded the file')

        before = w.bkt_branches(w.bare_file)
        rc, res, err = self.bktj('skel', 'add', '~/.inputrc', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['pr']['state'], 'opened', res['pr'])
        branch, = w.bkt_branches(w.bare_file) - before
        names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', branch).split()
        self.assertEqual([n for n in names if not n.startswith('.changelog/')], ['skel/.inputrc'])
        self.assertEqual(w.show(w.bare_file, branch, 'skel/.inputrc'), text)
        reqs = self.forge.take()
        self.assertEqual(reqs[0]['body']['title'], 'feat(manifests): add skel .inputrc')
        # acted locally too: recorded into the user's skel
        with open(overlay) as fh:
            self.assertEqual(fh.read(), text)

    def test_command_without_local_paths(self):
        """-m and a home path in an argument: neither lands in the public repo."""
        w = self.world
        overlay = self.env.overlay_dir(ADMIN)
        os.makedirs(overlay, exist_ok=True)
        with open(os.path.join(overlay, 'gsettings.json'), 'w') as fh:
            fh.write('{"settings": []}\n')
        bktenv.chown_tree(self.env.config_home(ADMIN), ADMIN)
        before = w.bkt_branches(w.bare_file)
        rc, res, err = self.bktj('--repo', w.checkout, 'gsetting', 'set', '--pr-only', '-m', overlay,
                                 IFACE, 'cursor-size', '41')
        self.assertEqual(rc, 0, err)
        branch, = w.bkt_branches(w.bare_file) - before
        names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', branch).split()
        draft, = [n for n in names if n.startswith('.changelog/pending/')]
        entry = json.loads(w.show(w.bare_file, branch, draft))
        self.assertEqual(entry['command'], 'bkt gsetting set --pr-only %s cursor-size 41' % IFACE)
        body = self.forge.take()[0]['body']['body']
        self.assertNotIn(self.env.home(ADMIN), body)
        self.assertIn('`bkt gsetting set --pr-only %s cursor-size 41`' % IFACE, body)


if __name__ == '__main__':
    bktenv.main()
