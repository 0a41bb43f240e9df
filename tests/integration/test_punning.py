#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Command punning (issue 3): every mutating command acts, records, and opens
a pull request against the distribution repo.

Real git (bare remotes over file:// and smart HTTP on 127.0.0.1, checked with
the git CLI), a forge API test server speaking GitHub's create-PR shapes
(201, 401, 422, 5xx), real GSettings and flatpak, real polkitd, the real bktd
and bkt.  Modes x commands x contexts, conflicting flags, preflight, the
local journal and retry, and the token's absence from logs and D-Bus
traffic."""

import difflib
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
BRANCH_RE = re.compile(r'^bkt/[A-Za-z0-9._-]+-\d{9,}$')


class Punning(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=1)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, SEED)
        except BaseException:
            cls.tearDownClass()
            raise
        w = cls.world
        # The user's checkout is dirty: a staged change, an unstaged one, an untracked file.
        with open(os.path.join(w.checkout, 'README.md'), 'a') as fh:
            fh.write('staged line\n')
        w.ugit('-C', w.checkout, 'add', 'README.md')
        with open(os.path.join(w.checkout, 'manifests', 'gsettings.json'), 'a') as fh:
            fh.write('\n// my unsaved work\n')
        with open(os.path.join(w.checkout, 'notes.txt'), 'w') as fh:
            fh.write('untracked\n')
        bktenv.chown_tree(w.checkout, ADMIN)
        cls.checkout_state = cls.snapshot_checkout(w.checkout)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()

    @classmethod
    def snapshot_checkout(cls, path):
        return cls.world.snapshot(path)

    def assertCheckoutUntouched(self):
        now = self.snapshot_checkout(self.world.checkout)
        for k in ('head', 'symbolic', 'status', 'index'):
            self.assertEqual(now[k], self.checkout_state[k], 'the user checkout changed (%s)' % k)
        self.assertEqual(now['files'], self.checkout_state['files'], 'the working tree changed')

    # ------------------------------------------------------------- helpers
    def bkt(self, *args, **kw):
        return self.env.bkt_run(ADMIN, *args, **kw)

    def bktj(self, *args, **kw):
        return self.env.bkt_json(ADMIN, '--json', *args, **kw)

    def gs(self, key):
        return self.env.gsettings(ADMIN, 'get', IFACE, key)

    def overlay(self, name):
        p = os.path.join(self.env.overlay_dir(ADMIN), name)
        if not os.path.exists(p):
            return None
        with open(p) as fh:
            return fh.read()

    def journal(self):
        rc, j, err = self.bktj('local', 'list')
        self.assertEqual(rc, 0, err)
        return j['entries']

    def branch_diff(self, bare, branch):
        """(names of changed files, diff text) of @branch against main in @bare."""
        w = self.world
        names = w.git(None, '--git-dir', bare, 'diff', '--name-only', 'main', branch).split()
        # Every punned change carries a draft changelog entry (docs/maintenance.md).
        drafts = [n for n in names if n.startswith('.changelog/pending/')]
        self.assertTrue(drafts, 'no changelog entry in %s: %s' % (branch, names))
        for d in drafts:
            entry = json.loads(w.show(bare, branch, d))
            self.assertIs(entry['draft'], True, entry)
            self.assertIn(entry['type'], ('added', 'changed', 'removed'), entry)
            self.assertIn(entry['category'], ('flatpak', 'gsetting', 'extension', 'shim', 'dnf'), entry)
            self.assertTrue(entry['command'].startswith('bkt'), entry)
        names = [n for n in names if n not in drafts]
        return names, w.git(None, '--git-dir', bare, 'diff', '-U0', 'main', branch, '--', 'manifests')

    def assertOnlyEntryLines(self, diff, added_words, removed_words=()):
        """The diff adds the lines of one entry (and a comma on its neighbour) and removes
        nothing else."""
        plus = [l[1:] for l in diff.splitlines() if l.startswith('+') and not l.startswith('+++')]
        minus = [l[1:] for l in diff.splitlines() if l.startswith('-') and not l.startswith('---')]
        for word in added_words:
            self.assertTrue(any(word in l for l in plus), '%s not added:\n%s' % (word, diff))
        for l in minus:
            # a line only loses/gains its trailing comma, or belongs to the removed entry
            ok = (l + ',') in plus or l.rstrip(',') in plus or any(word in l for word in removed_words) \
                or l.strip() in ('{', '}', '},')
            self.assertTrue(ok, 'unexpected removed line %r in:\n%s' % (l, diff))
        for l in plus:
            ok = any(word in l for word in added_words) or (l.rstrip(',') in minus) or (l + ',') in minus \
                or l.rstrip(',') + ',' in [m + ',' for m in minus] or l.strip() in ('{', '}', '},') \
                or any(k in l for k in ('"schema"', '"key"', '"value"', '"remote"', '"scope"', '"id"'))
            self.assertTrue(ok, 'unexpected added line %r in:\n%s' % (l, diff))

    def check_pr_request(self, req, branch, title, repo='distro', command_words=()):
        self.assertEqual(req['path'], '/repos/%s/%s/pulls' % (punenv.OWNER, repo))
        self.assertEqual(req['headers'].get('Authorization'), 'Bearer ' + punenv.TOKEN)
        body = req['body']
        self.assertEqual(body['head'], branch)
        self.assertEqual(body['base'], 'main')
        self.assertEqual(body['title'], title)
        for w in command_words:
            self.assertIn(w, body['body'])

    def check_commit(self, bare, branch):
        w = self.world
        author = w.git(None, '--git-dir', bare, 'log', '-1', '--format=%an <%ae>', branch).strip()
        self.assertEqual(author, '%s <%s>' % (punenv.GIT_NAME, punenv.GIT_EMAIL))
        parent = w.git(None, '--git-dir', bare, 'rev-parse', branch + '^').strip()
        self.assertEqual(parent, w.git(None, '--git-dir', bare, 'rev-parse', 'main').strip(),
                         'the branch does not start from the default branch')
        return w.git(None, '--git-dir', bare, 'log', '-1', '--format=%s', branch).strip()

    # --------------------------------------------------------------- tests
    def test_01_conflicting_flags(self):
        for args in (['gsetting', 'set', '--local', '--pr-only', IFACE, 'cursor-size', '30'],
                     ['--local', '--pr-only', 'flatpak', 'add', 'org.test.App001'],
                     ['flatpak', 'remove', '--local', '--pr-only', 'org.test.App001'],
                     ['gsetting', 'unset', '--pr-only', '--local', IFACE, 'cursor-size'],
                     ['gsetting', 'set', '--context', 'moon', IFACE, 'cursor-size', '30'],
                     ['gsetting', 'set', '--context', 'image', '--local', IFACE, 'cursor-size', '30']):
            rc, out, err = self.bkt(*args)
            self.assertEqual(rc, 2, 'bkt %s: expected a usage error' % ' '.join(args))
        self.assertEqual(self.forge.take(), [])

    def test_02_dry_run(self):
        w = self.world
        before = w.bkt_branches(w.bare_file)
        keyfile = self.env.read_keyfile(ADMIN)
        rc, out, err = self.bkt('gsetting', 'set', '--dry-run', '--repo', w.checkout, IFACE, 'cursor-size', '32')
        self.assertEqual(rc, 0, err)
        self.assertIn('Set gsetting:%s.cursor-size' % IFACE, out)
        self.assertIn('Pull request that would be opened against acme/distro', out)
        self.assertIn('feat(manifests): set gsetting %s cursor-size' % IFACE, out)
        self.assertIn('+++ b/manifests/gsettings.json', out)
        self.assertRegex(out, r'\n\+\s+"key": "cursor-size"|\n\+.*"cursor-size"')
        self.assertRegex(out, r'  Changelog: \.changelog/pending/\S+-gsetting\.json \(draft\)')
        rc, plan, err = self.bktj('gsetting', 'set', '--dry-run', '--repo', w.checkout, IFACE, 'cursor-size', '32')
        self.assertEqual(rc, 0, err)
        self.assertEqual(plan['mode'], 'pr')
        self.assertTrue(plan['preflight']['ok'], plan['preflight'])
        self.assertIn('cursor-size', plan['pr']['diff'])
        # the draft changelog entry the PR would carry
        self.assertEqual(len(plan['pr']['changelog']), 1, plan['pr'])
        self.assertRegex(plan['pr']['changelog'][0], r'^\.changelog/pending/\d{8}T\d{6}Z-gsetting\.json$')
        self.assertEqual([op['subsystem'] for op in plan['operations']][-2:], ['pr', 'pr'])
        # nothing changed anywhere
        self.assertEqual(self.env.read_keyfile(ADMIN), keyfile)
        self.assertIsNone(self.overlay('gsettings.json'))
        self.assertEqual(w.bkt_branches(w.bare_file), before)
        self.assertEqual(self.forge.take(), [])
        self.assertCheckoutUntouched()

    def test_03_default_gsetting_from_cwd(self):
        """Default mode, repo found by walking up from the working directory (a subdirectory
        of the dirty checkout), over file://."""
        w = self.world
        before = w.bkt_branches(w.bare_file)
        rc, res, err = self.bktj('gsetting', 'set', IFACE, 'cursor-size', '32',
                                 cwd=os.path.join(w.checkout, 'manifests'))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.gs('cursor-size'), '32')
        self.assertIn('cursor-size', self.overlay('gsettings.json'))
        self.assertEqual(res['local'], 'done')
        self.assertEqual(res['manifest']['overlay'], 'done')
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        self.assertTrue(pr['url'].startswith('https://forge.example/acme/distro/pull/'))
        new = w.bkt_branches(w.bare_file) - before
        self.assertEqual(new, {pr['branch']})
        self.assertRegex(pr['branch'], BRANCH_RE)
        self.assertTrue(pr['branch'].startswith('bkt/gsetting-set-org.gnome.desktop.interface-cursor-size-'),
                        pr['branch'])
        names, diff = self.branch_diff(w.bare_file, pr['branch'])
        self.assertEqual(names, ['manifests/gsettings.json'])
        self.assertOnlyEntryLines(diff, ['cursor-size', '"32"', '"schema": "%s"' % IFACE])
        title = 'feat(manifests): set gsetting %s cursor-size' % IFACE
        self.assertEqual(self.check_commit(w.bare_file, pr['branch']), title)
        self.assertIn('+++ b/manifests/gsettings.json', res['manifest']['diff'])
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1)
        # the command as anyone would type it: not this run's --json (issue 12, item 18)
        self.check_pr_request(reqs[0], pr['branch'], title,
                              command_words=('`bkt gsetting set %s cursor-size 32`' % IFACE,))
        self.assertCheckoutUntouched()
        # the reference file survives byte for byte apart from the entry
        new_text = w.show(w.bare_file, pr['branch'], 'manifests/gsettings.json')
        with open(os.path.join(SEED, 'gsettings.json')) as fh:
            orig = fh.read()
        self.assertTrue(new_text.startswith(orig[:orig.rindex('    }')]),
                        'the lines before the new entry changed')

    def test_04_flatpak_add_and_remove_over_http(self):
        w = self.world
        rc, res, err = self.bktj('flatpak', 'add', 'org.test.App001', '--remote', 'bkt-test', '--scope', 'user',
                                 '--repo', w.checkout_http)
        self.assertEqual(rc, 0, err)
        self.assertIn('org.test.App001', self.env.installed_apps('user', ADMIN))
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        self.assertIn(pr['branch'], w.branches(w.bare_http))
        self.assertTrue(pr['branch'].startswith('bkt/flatpak-add-org.test.App001-'))
        names, diff = self.branch_diff(w.bare_http, pr['branch'])
        self.assertEqual(names, ['manifests/flatpak-apps.json'])
        self.assertOnlyEntryLines(diff, ['org.test.App001'])
        self.assertEqual(len([l for l in diff.splitlines() if l.startswith('+') and not l.startswith('+++')]), 1,
                         'one-line entries stay one line:\n' + diff)
        title = 'feat(manifests): add flatpak org.test.App001'
        self.assertEqual(self.check_commit(w.bare_http, pr['branch']), title)
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1)
        self.check_pr_request(reqs[0], pr['branch'], title, repo='distro-http',
                              command_words=('flatpak add org.test.App001',))
        # The branch holds the seed file with exactly one line more.
        new_text = w.show(w.bare_http, pr['branch'], 'manifests/flatpak-apps.json').splitlines()
        with open(os.path.join(SEED, 'flatpak-apps.json')) as fh:
            orig = fh.read().splitlines()
        self.assertEqual([l for l in new_text if 'org.test.App001' not in l], orig)

        # remove: uninstall + PR dropping that line (the PR branches from the repo's main,
        # which does not have App001: the repo's own entry for xemu goes in a second step)
        rc, res, err = self.bktj('flatpak', 'remove', 'org.test.App001', '--scope', 'user',
                                 '--repo', w.checkout_http)
        self.assertEqual(rc, 0, err)
        self.assertNotIn('org.test.App001', self.env.installed_apps('user', ADMIN))
        self.assertEqual(res['pr']['state'], 'unchanged', res['pr'])
        self.assertEqual(self.forge.take(), [])

    def test_05_unset_removes_repo_entry(self):
        """gsetting unset of a key only the repo lists: the PR removes exactly that entry."""
        w = self.world
        rc, res, err = self.bktj('gsetting', 'unset', IFACE, 'gtk-theme', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        names, diff = self.branch_diff(w.bare_file, pr['branch'])
        self.assertEqual(names, ['manifests/gsettings.json'])
        minus = [l for l in diff.splitlines() if l.startswith('-') and not l.startswith('---')]
        self.assertTrue(any('gtk-theme' in l for l in minus), diff)
        self.assertFalse(any('icon-theme' in l or 'cursor-theme' in l for l in minus), diff)
        reqs = self.forge.take()
        self.check_pr_request(reqs[0], pr['branch'], 'feat(manifests): unset gsetting %s gtk-theme' % IFACE)

    def test_06_pr_only(self):
        w = self.world
        keyfile = self.env.read_keyfile(ADMIN)
        overlay = self.overlay('gsettings.json')
        rc, res, err = self.bktj('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-blink-time', '900')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.env.read_keyfile(ADMIN), keyfile, 'pr-only changed a setting')
        self.assertEqual(self.overlay('gsettings.json'), overlay, 'pr-only recorded locally')
        self.assertEqual(res['local'], 'none')
        self.assertEqual(res['pr']['state'], 'opened')
        names, diff = self.branch_diff(w.bare_file, res['pr']['branch'])
        self.assertOnlyEntryLines(diff, ['cursor-blink-time', '900'])
        self.assertEqual(len(self.forge.take()), 1)
        # flatpak add --pr-only installs nothing
        rc, res, err = self.bktj('flatpak', 'add', '--pr-only', 'org.test.App001', '--remote', 'bkt-test',
                                 '--scope', 'user', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertNotIn('org.test.App001', self.env.installed_apps('user', ADMIN))
        self.assertEqual(res['pr']['state'], 'opened')
        self.assertEqual(len(self.forge.take()), 1)
        self.assertCheckoutUntouched()

    def test_07_local_journal_and_commit(self):
        w = self.world
        before = w.bkt_branches(w.bare_file)
        rc, res, err = self.bktj('gsetting', 'set', '--local', IFACE, 'text-scaling-factor', '1.25')
        self.assertEqual(rc, 0, err)
        self.assertIsNone(res['pr'])
        first = res['journal']['id']
        rc, out, err = self.bkt('gsetting', 'set', '--local', IFACE, 'enable-animations', 'false')
        self.assertEqual(rc, 0, err)
        self.assertIn('local change #', out)
        self.assertEqual(self.gs('text-scaling-factor'), '1.25')
        self.assertEqual(self.gs('enable-animations'), 'false')
        self.assertEqual(self.forge.take(), [])
        self.assertEqual(w.bkt_branches(w.bare_file), before)
        local = [e for e in self.journal() if e['state'] == 'local']
        self.assertEqual(len(local), 2, local)
        rc, out, err = self.bkt('local', 'list')
        self.assertIn('text-scaling-factor', out)
        self.assertIn('enable-animations', out)

        rc, res, err = self.bktj('local', 'commit', '--select', '%d,%d' % (first, first + 1), '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        names, diff = self.branch_diff(w.bare_file, pr['branch'])
        self.assertEqual(names, ['manifests/gsettings.json'])
        self.assertOnlyEntryLines(diff, ['text-scaling-factor', 'enable-animations', '1.25', 'false'])
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1)
        self.assertTrue(reqs[0]['body']['title'].startswith('feat(manifests): 2 changes ('), reqs[0]['body'])
        self.assertIn('text-scaling-factor', reqs[0]['body']['body'])
        self.assertIn('enable-animations', reqs[0]['body']['body'])
        self.assertEqual([e for e in self.journal() if e['state'] == 'local'], [])
        rc, out, err = self.bkt('local', 'commit')
        self.assertEqual(rc, 5, 'nothing left to commit')

    def test_08_forge_errors_then_retry(self):
        w = self.world
        for status, words in ((401, ('401', 'Bad credentials')), (422, ('422', 'already exists')),
                              (502, ('HTTP 502',))):
            self.forge.fail_next(status)
            rc, out, err = self.bkt('gsetting', 'set', '--repo', w.checkout, IFACE, 'cursor-size', str(status % 60))
            self.assertNotEqual(rc, 0, 'a %d was not reported' % status)
            for word in words:
                self.assertIn(word, err + out)
            self.assertIn('bkt pr retry', err + out)
            self.assertEqual(self.gs('cursor-size'), str(status % 60), 'the local action did not happen')
            self.assertNotIn(punenv.TOKEN, out + err)
        failed = [e for e in self.journal() if e['state'] == 'failed']
        self.assertEqual(len(failed), 3, failed)
        branches = {e['branch'] for e in failed}
        self.assertTrue(branches <= w.bkt_branches(w.bare_file), 'the pushed branches are on the remote')
        self.forge.take()
        rc, res, err = self.bktj('pr', 'retry', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(p['state'] for p in res.get('prs', [res['pr']])), ['opened'] * 3)
        reqs = self.forge.take()
        self.assertEqual({r['body']['head'] for r in reqs}, branches, 'retry pushes no new branch')
        self.assertEqual([e for e in self.journal() if e['state'] == 'failed'], [])
        rc, out, err = self.bkt('pr', 'retry')
        self.assertEqual(rc, 0)
        self.assertIn('Nothing to retry', out)

    def test_09_preflight(self):
        w = self.world
        hidden = w.hosts + '.hidden'
        os.rename(w.hosts, hidden)
        try:
            rc, out, err = self.bkt('gsetting', 'set', '--repo', w.checkout, IFACE, 'cursor-size', '50')
            self.assertEqual(rc, 1)
            self.assertIn('token', err)
            self.assertIn('Fix:', err)
            self.assertNotEqual(self.gs('cursor-size'), '50', 'the local action ran despite the preflight')
            # --local needs no PR
            rc, res, err = self.bktj('gsetting', 'set', '--local', IFACE, 'cursor-size', '50')
            self.assertEqual(rc, 0, err)
            # --skip-preflight acts; the PR fails and is queued
            rc, out, err = self.bkt('gsetting', 'set', '--skip-preflight', '--repo', w.checkout, IFACE,
                                    'cursor-size', '51')
            self.assertNotEqual(rc, 0, 'no token: the PR fails')
            self.assertEqual(self.gs('cursor-size'), '51')
            self.assertIn('bkt pr retry', err)
        finally:
            os.rename(hidden, w.hosts)
        rc, res, err = self.bktj('pr', 'retry', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.forge.take()
        # no git identity
        gc = os.path.join(self.env.home(ADMIN), '.gitconfig')
        os.rename(gc, gc + '.hidden')
        try:
            rc, out, err = self.bkt('gsetting', 'set', '--repo', w.checkout, IFACE, 'cursor-size', '52')
            self.assertEqual(rc, 1)
            self.assertIn('user.email', err)
        finally:
            os.rename(gc + '.hidden', gc)
        # no repo at all (no --repo, HOME is not a checkout, no repo.json)
        rc, out, err = self.bkt('gsetting', 'set', IFACE, 'cursor-size', '53',
                                env_extra={'BKT_REPO_JSON': '/nonexistent/repo.json'})
        self.assertEqual(rc, 1)
        self.assertIn('--repo DIR', err)
        for j in self.journal():
            self.assertNotEqual(j.get('command', '').find('cursor-size 53'), 0)

    def test_10_contexts(self):
        w = self.world
        root = self.env.path('ctx')
        for marker in ('toolbox/run/.toolboxenv', 'container/run/.containerenv'):
            os.makedirs(os.path.dirname(os.path.join(root, marker)), exist_ok=True)
            open(os.path.join(root, marker), 'w').close()
        os.chmod(root, 0o755)
        # image (explicit): record + PR, no live action
        keyfile = self.env.read_keyfile(ADMIN)
        rc, res, err = self.bktj('--context', 'image', 'gsetting', 'set', '--repo', w.checkout, IFACE,
                                 'cursor-blink', 'false')
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['mode'], 'image')
        self.assertEqual(self.env.read_keyfile(ADMIN), keyfile)
        self.assertIn('cursor-blink', self.overlay('gsettings.json'))
        self.assertEqual(res['pr']['state'], 'opened')
        # another container (detected): image
        rc, res, err = self.bktj('gsetting', 'set', '--repo', w.checkout, IFACE, 'cursor-blink-timeout', '7',
                                 env_extra={'BKT_CONTEXT_ROOT': os.path.join(root, 'container')})
        self.assertEqual(rc, 0, err)
        self.assertEqual((res['context'], res['mode']), ('image', 'image'))
        self.assertEqual(self.env.read_keyfile(ADMIN), keyfile)
        # toolbox (detected): acts through the session bus (the host's bktd)
        rc, res, err = self.bktj('gsetting', 'set', '--repo', w.checkout, IFACE, 'cursor-size', '33',
                                 env_extra={'BKT_CONTEXT_ROOT': os.path.join(root, 'toolbox')})
        self.assertEqual(rc, 0, err)
        self.assertEqual((res['context'], res['mode'], res['local']), ('dev', 'pr', 'done'))
        self.assertEqual(self.gs('cursor-size'), '33')
        # toolbox without a session bus: next steps, nothing done
        rc, out, err = self.bkt('gsetting', 'set', '--repo', w.checkout, IFACE, 'cursor-size', '34',
                                env_extra={'BKT_CONTEXT_ROOT': os.path.join(root, 'toolbox')},
                                unset=('DBUS_SESSION_BUS_ADDRESS',))
        self.assertEqual(rc, 4)
        self.assertIn('Next steps', err)
        self.assertEqual(self.gs('cursor-size'), '33')
        # --local in a toolbox: act + record, no PR
        rc, res, err = self.bktj('--context', 'dev', 'gsetting', 'set', '--local', IFACE, 'cursor-size', '35')
        self.assertEqual(rc, 0, err)
        self.assertIsNone(res['pr'])
        self.forge.take()
        # flatpak in the image context: recorded and proposed, not installed
        rc, res, err = self.bktj('--context', 'image', 'flatpak', 'add', 'org.test.Hello', '--remote',
                                 'bkt-test', '--scope', 'user', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertNotIn('org.test.Hello', self.env.installed_apps('user', ADMIN))
        self.assertIn('org.test.Hello', self.overlay('flatpak-apps.json'))
        self.assertEqual((res['local'], res['pr']['state']), ('none', 'opened'))
        names, diff = self.branch_diff(w.bare_file, res['pr']['branch'])
        self.assertEqual(names, ['manifests/flatpak-apps.json'])
        # and its removal in the image context: forgotten and proposed, nothing uninstalled
        rc, res, err = self.bktj('--context', 'image', 'flatpak', 'remove', 'org.test.Hello', '--scope', 'user',
                                 '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertNotIn('org.test.Hello', self.overlay('flatpak-apps.json'))
        self.assertEqual(res['pr']['state'], 'unchanged')   # the repo's main never had it
        # flatpak in a toolbox: installed on the host through the session bus, proposed
        rc, res, err = self.bktj('flatpak', 'add', 'org.test.Hello', '--remote', 'bkt-test', '--scope', 'user',
                                 '--repo', w.checkout, env_extra={'BKT_CONTEXT_ROOT': os.path.join(root, 'toolbox')})
        self.assertEqual(rc, 0, err)
        self.assertEqual((res['context'], res['local'], res['pr']['state']), ('dev', 'done', 'opened'))
        self.assertIn('org.test.Hello', self.env.installed_apps('user', ADMIN))
        rc, res, err = self.bktj('flatpak', 'remove', '--pr-only', 'org.test.Hello', '--scope', 'user',
                                 '--repo', w.checkout, env_extra={'BKT_CONTEXT_ROOT': os.path.join(root, 'toolbox')})
        self.assertEqual(rc, 0, err)
        self.assertIn('org.test.Hello', self.env.installed_apps('user', ADMIN))
        rc, res, err = self.bktj('flatpak', 'remove', '--local', 'org.test.Hello', '--scope', 'user',
                                 env_extra={'BKT_CONTEXT_ROOT': os.path.join(root, 'toolbox')})
        self.assertEqual(rc, 0, err)
        self.assertNotIn('org.test.Hello', self.env.installed_apps('user', ADMIN))
        self.forge.take()

    def test_11_secrets_absent(self):
        """The token appears in no log, no client output and no D-Bus message (dbus-monitor on
        both private buses during a PR), and the system instance never gets a repo option."""
        env, w = self.env, self.world
        mon_session = subprocess.Popen(['dbus-monitor', '--address', env.session_bus[ADMIN]],
                                       stdout=open(env.path('logs', 'monitor-session.txt'), 'w'),
                                       stderr=subprocess.STDOUT, env=env.user_env(ADMIN),
                                       **env.user_kwargs(ADMIN))
        mon_system = subprocess.Popen(['dbus-monitor', '--system'],
                                      stdout=open(env.path('logs', 'monitor-system.txt'), 'w'),
                                      stderr=subprocess.STDOUT, env=env.root_env())
        try:
            import time
            time.sleep(0.5)
            rc, out, err = self.bkt('flatpak', 'add', 'org.test.App001', '--remote', 'bkt-test',
                                    '--scope', 'system', '--repo', w.checkout, '-v')
            self.assertEqual(rc, 0, err)
            self.assertIn('https://forge.example/', out)
            rc2, out2, err2 = self.bkt('pr', 'retry')
            time.sleep(0.5)
        finally:
            for m in (mon_session, mon_system):
                m.terminate()
                m.wait(10)
        requests = self.forge.take()
        self.assertGreaterEqual(len(requests), 1)
        texts = {}
        for f in os.listdir(env.path('logs')):
            with open(env.path('logs', f), errors='replace') as fh:
                texts[f] = fh.read()
        self.assertIn('FlatpakInstall', texts['monitor-system.txt'], 'the monitor saw nothing')
        self.assertIn('ChangePlan', texts['monitor-session.txt'], 'the monitor saw nothing')
        texts['bkt output'] = out + err + out2 + err2
        # what went to the forge: the token only in the Authorization header, never in a body or path
        for i, r in enumerate(requests):
            texts['forge request %d %s (body)' % (i, r['path'])] = r['path'] + json.dumps(r['body'])
            self.assertIn(punenv.TOKEN, r['headers'].get('Authorization', ''), 'the PR was not authenticated')
        texts.update(self.whole_tree_texts(env.T, except_files={w.hosts}))
        self.assertGreater(len(texts), 100, 'the scan read almost nothing: %s' % sorted(texts)[:20])
        # the pushed branch's objects were read (the commit that adds the app)
        self.assertIn('org.test.App001', texts.get('git objects of %s' % w.bare_file, ''), sorted(texts)[:50])
        for name, text in texts.items():
            self.assertNotIn(punenv.TOKEN, text, 'the token leaked into %s' % name)
            self.assertNotIn(punenv.TOKEN[4:20], text, 'part of the token leaked into %s' % name)
        self.assertNotIn('repo-dir', texts['monitor-system.txt'], 'the system instance saw repo options')

    @staticmethod
    def whole_tree_texts(root, except_files=()):
        """{name: text} of every regular file under @root but @except_files (where the token is
        meant to be), and of every git repository's objects (compressed on disk: read with
        git cat-file), the pushed commits, trees and blobs included."""
        texts = {}
        for d, dirs, files in os.walk(root):
            for f in files:
                p = os.path.join(d, f)
                if p in except_files or not os.path.isfile(p) or os.path.islink(p):
                    continue
                with open(p, 'rb') as fh:
                    texts[p] = fh.read().decode('utf-8', 'replace')
            if os.path.isfile(os.path.join(d, 'HEAD')) and os.path.isdir(os.path.join(d, 'objects')):
                r = subprocess.run(['git', '--git-dir', d, 'cat-file', '--batch-all-objects', '--batch'],
                                   capture_output=True, check=True)
                texts['git objects of %s' % d] = r.stdout.decode('utf-8', 'replace')
        return texts

    def assertOnlyChange(self, before, after, kind):
        """@after is @before with one entry inserted ('insert'), replaced ('replace') or deleted
        ('delete'): every other line byte for byte, at most a comma added to or dropped from the
        neighbouring line."""
        a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
        ops = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != 'equal']
        comma = 0
        for tag, i1, i2, j1, j2 in ops:
            if tag == kind:
                continue
            # the neighbour of an added/removed last entry gains/loses its comma
            if tag == 'replace' and i2 - i1 == 1 and j2 - j1 == 1 and \
                    a[i1].rstrip('\n').rstrip(',') == b[j1].rstrip('\n').rstrip(','):
                comma += 1
                continue
            if tag == 'replace' and kind in ('insert', 'delete'):
                # "}" → "}," plus the inserted lines, seen as one replace
                old, new = a[i1:i2], b[j1:j2]
                if kind == 'insert' and len(old) == 1 and new[0].rstrip('\n') == old[0].rstrip('\n') + ',':
                    continue
                if kind == 'delete' and len(new) == 1 and old[0].rstrip('\n') == new[0].rstrip('\n') + ',':
                    continue
            self.fail('unexpected %s of lines %d-%d:\n%s\n→\n%s' % (tag, i1, i2, ''.join(a[i1:i2]),
                                                                 ''.join(b[j1:j2])))
        self.assertLessEqual(comma, 1)
        self.assertTrue(ops, 'nothing changed')

    def test_12_custom_file_round_trip(self):
        """A repo file with unknown fields, its own order and layout: only the change differs."""
        w = self.world
        custom = ('{\n'
                  '    "x-maintainer": "ops@acme.example",\n'
                  '    "settings": [\n'
                  '        { "schema": "%s", "key": "icon-theme", "value": "\'Adwaita\'", "x-note": "keep me" },\n'
                  '        {\n'
                  '            "x-owner": "desk team",\n'
                  '            "key": "clock-format",\n'
                  '            "schema": "%s",\n'
                  '            "value": "\'24h\'"\n'
                  '        },\n'
                  '        { "schema": "%s", "key": "font-name", "value": "\'Cantarell 11\'" }\n'
                  '    ],\n'
                  '    "x-trailer": [1, 2, 3]\n'
                  '}\n') % (IFACE, IFACE, IFACE)
        seed = self.env.path('git', 'custom-seed')
        os.makedirs(os.path.join(seed, 'manifests'))
        with open(os.path.join(seed, 'manifests', 'gsettings.json'), 'w') as fh:
            fh.write(custom)
        w.git(None, 'init', '-q', '-b', 'main', seed)
        w.git(None, '-C', seed, 'add', '.')
        w.git(None, '-C', seed, '-c', 'user.name=Seed', '-c', 'user.email=seed@example.com', 'commit', '-q', '-m', 's')
        bare = os.path.join(w.remotes, punenv.OWNER, 'custom.git')
        w.git(None, 'clone', '-q', '--bare', seed, bare)
        bktenv.chown_tree(bare, ADMIN)
        checkout = os.path.join(self.env.home(ADMIN), 'custom')
        w.ugit('clone', '-q', 'file://' + bare, checkout)

        cases = (
            (['gsetting', 'set', IFACE, 'cursor-size', '77'], 'insert', 'cursor-size'),
            (['gsetting', 'set', '--pr-only', IFACE, 'clock-format', "'12h'"], 'replace', '12h'),
            (['gsetting', 'set', '--pr-only', IFACE, 'icon-theme', "'HighContrast'"], 'replace', 'keep me'),
            (['gsetting', 'unset', '--pr-only', IFACE, 'font-name'], 'delete', None),
        )
        for args, kind, word in cases:
            rc, res, err = self.bktj(*(args + ['--repo', checkout]))
            self.assertEqual(rc, 0, err)
            branch = res['pr']['branch']
            after = w.show(bare, branch, 'manifests/gsettings.json')
            self.assertOnlyChange(custom, after, kind)
            if word:
                self.assertIn(word, after)
            self.assertIn('"x-maintainer": "ops@acme.example"', after)
            self.assertIn('"x-trailer": [1, 2, 3]', after)
        self.forge.take()

    def test_13_modes_matrix(self):
        """The modes on the commands not covered above: unset and remove with --local and
        --pr-only, flatpak add --local."""
        w = self.world
        earlier = {e['id'] for e in self.journal()}
        # gsetting unset --local: reset now, journaled, no PR
        self.env.gsettings(ADMIN, 'set', IFACE, 'cursor-size', '40')
        rc, res, err = self.bktj('gsetting', 'unset', '--local', IFACE, 'cursor-size')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.gs('cursor-size'), '24')
        self.assertIsNone(res['pr'])
        self.assertIn('journal', res)
        # gsetting unset --pr-only: the repo's entry goes, nothing here changes
        self.env.gsettings(ADMIN, 'set', IFACE, 'icon-theme', "'Adwaita'")
        rc, res, err = self.bktj('gsetting', 'unset', '--pr-only', '--repo', w.checkout, IFACE, 'icon-theme')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.gs('icon-theme'), "'Adwaita'")
        self.assertEqual(res['pr']['state'], 'opened')
        names, diff = self.branch_diff(w.bare_file, res['pr']['branch'])
        self.assertIn('-      "key": "icon-theme",', diff)
        # flatpak add --local (user): installed, journaled, no PR
        rc, res, err = self.bktj('flatpak', 'add', '--local', 'org.test.Second', '--remote', 'bkt-test',
                                 '--scope', 'user')
        self.assertEqual(rc, 0, err)
        self.assertIn('org.test.Second', self.env.installed_apps('user', ADMIN))
        self.assertIsNone(res['pr'])
        # flatpak remove --pr-only: still installed, PR (the repo lacks it: unchanged)
        rc, res, err = self.bktj('flatpak', 'remove', '--pr-only', '--scope', 'user', '--repo', w.checkout,
                                 'org.test.Second')
        self.assertEqual(rc, 0, err)
        self.assertIn('org.test.Second', self.env.installed_apps('user', ADMIN))
        self.assertEqual(res['pr']['state'], 'unchanged')
        # flatpak remove --local: uninstalled, journaled, no PR
        rc, res, err = self.bktj('flatpak', 'remove', '--local', '--scope', 'user', 'org.test.Second')
        self.assertEqual(rc, 0, err)
        self.assertNotIn('org.test.Second', self.env.installed_apps('user', ADMIN))
        self.assertIsNone(res['pr'])
        entries = [e for e in self.journal() if e['state'] == 'local' and e['id'] not in earlier]
        self.assertEqual({(e['subsystem'], e['action']) for e in entries},
                         {('gsettings', 'unset'), ('flatpak', 'add'), ('flatpak', 'remove')})
        # and one PR for all three (add + remove of Second cancel out in the repo)
        rc, out, err = self.bkt('local', 'commit', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertIn('▸ Commit manifests/', out)
        self.assertIn('✓ Open pull request “feat(manifests): ', out)
        # (set then unset, add then remove: the repo may already say all of it)
        self.assertRegex(out, r'PR:        (https://forge.example/acme/distro/pull/\d+|none needed)')
        self.assertIn('against acme/distro', out)
        self.assertEqual([e for e in self.journal() if e['state'] == 'local'], [])
        self.forge.take()

    def test_14_managed_clone(self):
        """No checkout anywhere: the managed clone of the URL in repo.json (read by a private
        bktd started by bkt, which inherits BKT_REPO_JSON), cloned bare on first use."""
        w, env = self.world, self.env
        decl = env.path('repo.json')
        with open(decl, 'w') as fh:
            json.dump({'owner': 'acme', 'name': 'distro', 'url': w.file_url, 'default_branch': 'main'}, fh)
        os.chmod(decl, 0o644)
        source = os.path.join(env.home(ADMIN), '.local', 'share', 'bkt', 'source')
        self.assertFalse(os.path.exists(source))
        rc, res, err = self.bktj('gsetting', 'set', IFACE, 'cursor-size', '66',
                                 env_extra={'BKT_REPO_JSON': decl}, unset=('DBUS_SESSION_BUS_ADDRESS',))
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['pr']['state'], 'opened', res['pr'])
        self.assertEqual(res['pr']['repo']['source'], 'managed')
        self.assertEqual(res['pr']['repo']['path'], source)
        self.assertTrue(os.path.isfile(os.path.join(source, 'HEAD')), 'the managed clone is bare')
        self.assertIn(res['pr']['branch'], w.branches(w.bare_file))
        reqs = self.forge.take()
        self.check_pr_request(reqs[0], res['pr']['branch'], 'feat(manifests): set gsetting %s cursor-size' % IFACE)


    def test_15_ssh_push(self):
        """origin over ssh:// (a private sshd on 127.0.0.1): the daemon pushes with the key in
        the user's ssh-agent (SSH_AUTH_SOCK) and libgit2 checks the host key against
        ~/.ssh/known_hosts: refused while the host is unknown, pushed once it is known."""
        why = punenv.SshRemote.unavailable()
        if why:
            raise bktenv.skip_without('openssh-server', why)
        w, env = self.world, self.env
        ssh = punenv.SshRemote(env, ADMIN, w)
        try:
            checkout = os.path.join(env.home(ADMIN), 'distro-ssh')
            w.ugit('clone', '-q', 'file://' + ssh.bare, checkout)
            w.ugit('-C', checkout, 'remote', 'set-url', 'origin', ssh.url)
            agent = {'SSH_AUTH_SOCK': ssh.agent_sock}
            # bkt starts its own bktd (no session bus), which inherits SSH_AUTH_SOCK
            run = dict(env_extra=agent, unset=('DBUS_SESSION_BUS_ADDRESS',))
            args = ('gsetting', 'set', '--pr-only', '--repo', checkout, IFACE, 'cursor-size', '48')
            # unknown host key: no push, no PR
            self.forge.take()
            # (the preflight reaches the remote first and stops before anything is done)
            rc, out, err = self.bkt(*args, **run)
            self.assertEqual(rc, 1, out + err)
            self.assertIn('invalid or unknown remote ssh hostkey', err)
            self.assertIn('nothing was done', err)
            self.assertEqual(w.bkt_branches(ssh.bare), set(), 'pushed to an unknown host')
            self.assertEqual(self.forge.take(), [])
            # a known_hosts entry for another key is no better
            other = os.path.join(ssh.dir, 'other_key')
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other], check=True,
                           capture_output=True)
            with open(other + '.pub') as fh:
                w.write_user_file(ssh.known_hosts, '[127.0.0.1]:%d %s\n' % (ssh.port, ' '.join(fh.read().split()[:2])))
            rc, out, err = self.bkt(*args, **run)
            self.assertEqual(rc, 1, out + err)
            self.assertIn('hostkey', err)
            self.assertEqual(w.bkt_branches(ssh.bare), set(), 'pushed to a host with a different key')
            self.assertEqual(self.forge.take(), [])
            # known host: pushed over ssh, PR opened
            ssh.trust_host_key()
            rc, res, err = self.bktj(*args, **run)
            self.assertEqual(rc, 0, err + '\n' + open(ssh.log).read()[-3000:])
            pr = res['pr']
            self.assertEqual(pr['state'], 'opened', pr)
            self.assertTrue(pr['url'].startswith('https://forge.example/acme/distro-ssh/pull/'), pr)
            self.assertEqual(w.bkt_branches(ssh.bare), {pr['branch']})
            # the git CLI sees the branch over ssh too
            p = env.run_as(ADMIN, ['git', 'ls-remote', '--heads', ssh.url],
                           env_extra=dict(agent, GIT_SSH_COMMAND=ssh.ssh_command()), quiet_ok=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('refs/heads/' + pr['branch'], p.stdout)
            names, diff = self.branch_diff(ssh.bare, pr['branch'])
            self.assertEqual(names, ['manifests/gsettings.json'])
            self.assertOnlyEntryLines(diff, ['cursor-size', '"48"', '"schema": "%s"' % IFACE])
            title = 'feat(manifests): set gsetting %s cursor-size' % IFACE
            self.assertEqual(self.check_commit(ssh.bare, pr['branch']), title)
            reqs = self.forge.take()
            self.assertEqual(len(reqs), 1)
            self.check_pr_request(reqs[0], pr['branch'], title, repo='distro-ssh')
            with open(ssh.log) as fh:
                self.assertRegex(fh.read(), r'Accepted publickey for %s from 127\.0\.0\.1' % ADMIN)
            # the session daemon on the user's bus, its SSH_AUTH_SOCK from its own environment
            # (the client does not pass its own)
            d = env.session_daemons[ADMIN]
            bktenv.kill_pid(d.pid, d.name, 60 if env.valgrind else 10)
            env.extra_env['SSH_AUTH_SOCK'] = ssh.agent_sock
            env.start_session_daemon(ADMIN)
            before = w.bkt_branches(ssh.bare)
            rc, res, err = self.bktj('flatpak', 'add', '--pr-only', 'org.test.App001', '--remote', 'bkt-test',
                                     '--scope', 'user', '--repo', checkout, unset=('SSH_AUTH_SOCK',))
            self.assertEqual(rc, 0, err)
            pr = res['pr']
            self.assertEqual(pr['state'], 'opened', pr)
            self.assertEqual(w.bkt_branches(ssh.bare) - before, {pr['branch']})
            names, diff = self.branch_diff(ssh.bare, pr['branch'])
            self.assertEqual(names, ['manifests/flatpak-apps.json'])
            self.assertOnlyEntryLines(diff, ['org.test.App001', 'bkt-test'])
            reqs = self.forge.take()
            self.assertEqual(len(reqs), 1)
            self.check_pr_request(reqs[0], pr['branch'], 'feat(manifests): add flatpak org.test.App001',
                                  repo='distro-ssh')
        finally:
            ssh.stop()
            if env.extra_env.pop('SSH_AUTH_SOCK', None):
                # the next tests get a session daemon without the (now gone) agent
                d = env.session_daemons[ADMIN]
                bktenv.kill_pid(d.pid, d.name, 60 if env.valgrind else 10)
                env.start_session_daemon(ADMIN)


    # ------------------------------------------------- mode x command x context
    def overlay_json(self, name):
        text = self.overlay(name)
        return json.loads(text) if text else {}

    def edit_overlay(self, name, listkey, drop, add=None):
        """Rewrite the user's overlay @name without the entries @drop matches (plus @add)."""
        d = self.overlay_json(name)
        items = [e for e in d.get(listkey, []) if not drop(e)]
        if add is not None:
            items.append(add)
        d[listkey] = items
        self.world.write_user_file(os.path.join(self.env.overlay_dir(ADMIN), name), json.dumps(d, indent=2) + '\n')

    def overlay_entries(self, name, listkey, match):
        return [e for e in self.overlay_json(name).get(listkey, []) if match(e)]

    def test_16_mode_command_context_matrix(self):
        """Every punned command without a separate harness (gsetting set/unset, flatpak
        add/remove, shim add/remove) in every mode (default, --local, --pr-only) and every
        context (host; dev = a toolbox, detected by run/.toolboxenv; image = another container,
        detected by run/.containerenv): the local effect, the user overlay, and the PR branch
        with exactly the intended lines and its draft changelog entry.  --local in the image
        context is a usage error that changes nothing."""
        w, env = self.world, self.env
        root = env.path('ctx')
        for marker in ('toolbox/run/.toolboxenv', 'container/run/.containerenv'):
            os.makedirs(os.path.dirname(os.path.join(root, marker)), exist_ok=True)
            open(os.path.join(root, marker), 'w').close()
        os.chmod(root, 0o755)
        contexts = {'host': None, 'dev': os.path.join(root, 'toolbox'), 'image': os.path.join(root, 'container')}
        # The repo lists org.test.Second (installable from bkt-test), so removing it proposes a change.
        work = os.path.join(env.home(ADMIN), 'matrix-work')
        w.ugit('clone', '-q', w.file_url, work)
        path = os.path.join(work, 'manifests', 'flatpak-apps.json')
        with open(path) as fh:
            text = fh.read()
        text = text.replace('  "apps": [\n', '  "apps": [\n    { "id": "org.test.Second", "remote": "bkt-test", "scope": "user" },\n', 1)
        with open(path, 'w') as fh:
            fh.write(text)
        w.ugit('-C', work, 'commit', '-q', '-am', 'list org.test.Second')
        w.ugit('-C', work, 'push', '-q', 'origin', 'main')
        shims = os.path.join(env.home(ADMIN), '.local', 'toolbox', 'shims')
        env.gsettings(ADMIN, 'reset', IFACE, 'icon-theme')
        icon_default = self.gs('icon-theme')
        GS, FP, SH = 'gsettings.json', 'flatpak-apps.json', 'host-shims.json'

        def gs_match(key):
            return lambda e: e.get('schema') == IFACE and e.get('key') == key

        def app_match(app):
            return lambda e: e.get('id') == app

        def shim_match(name):
            return lambda e: e.get('name') == name

        def installed(app):
            return app in env.installed_apps('user', ADMIN)

        # each: (name, argv, prepare(), local effect seen?, recorded in the overlay?, PR diff check)
        def gset():
            def prepare():
                env.gsettings(ADMIN, 'reset', IFACE, 'cursor-size')
                self.edit_overlay(GS, 'settings', gs_match('cursor-size'))
            value = str(60 + len(done))
            return (['gsetting', 'set', IFACE, 'cursor-size', value], prepare,
                    lambda: self.gs('cursor-size') == value,
                    lambda: [e.get('value') for e in self.overlay_entries(GS, 'settings', gs_match('cursor-size'))]
                    == [value],
                    ('manifests/gsettings.json', ['"key": "cursor-size"', '"value": "%s"' % value], []))

        def gunset():
            def prepare():
                env.gsettings(ADMIN, 'set', IFACE, 'icon-theme', "'Foo'")
                self.edit_overlay(GS, 'settings', gs_match('icon-theme'),
                                  {'schema': IFACE, 'key': 'icon-theme', 'value': "'Foo'"})
            return (['gsetting', 'unset', IFACE, 'icon-theme'], prepare,
                    lambda: self.gs('icon-theme') == icon_default,
                    lambda: not self.overlay_entries(GS, 'settings', gs_match('icon-theme')),
                    ('manifests/gsettings.json', [], ['"key": "icon-theme"']))

        def fadd():
            app = 'org.test.App001'

            def prepare():
                if installed(app):
                    env.flatpak(ADMIN, 'user', 'uninstall', '-y', '--noninteractive', app)
                self.edit_overlay(FP, 'apps', app_match(app))
            return (['flatpak', 'add', app, '--remote', 'bkt-test', '--scope', 'user'], prepare,
                    lambda: installed(app),
                    lambda: len(self.overlay_entries(FP, 'apps', app_match(app))) == 1,
                    ('manifests/flatpak-apps.json', ['"%s"' % app], []))

        def fremove():
            app = 'org.test.Second'

            def prepare():
                if not installed(app):
                    env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', app)
                self.edit_overlay(FP, 'apps', app_match(app), {'id': app, 'remote': 'bkt-test', 'scope': 'user'})
            return (['flatpak', 'remove', app, '--scope', 'user'], prepare,
                    lambda: not installed(app),
                    lambda: not self.overlay_entries(FP, 'apps', app_match(app)),
                    ('manifests/flatpak-apps.json', [], ['"%s"' % app]))

        def shadd():
            name = 'mxshim'

            def prepare():
                if os.path.lexists(os.path.join(shims, name)):
                    os.unlink(os.path.join(shims, name))
                self.edit_overlay(SH, 'shims', shim_match(name))
            return (['shim', 'add', name], prepare,
                    lambda: os.path.exists(os.path.join(shims, name)),
                    lambda: len(self.overlay_entries(SH, 'shims', shim_match(name))) == 1,
                    ('manifests/host-shims.json', ['"name": "%s"' % name], []))

        def shremove():
            name = 'podman'

            def prepare():
                if not os.path.exists(os.path.join(shims, name)):
                    rc, out, err = self.bkt('shim', 'add', '--local', name)
                    self.assertEqual(rc, 0, err)
                self.edit_overlay(SH, 'shims', shim_match(name), {'name': name})
            return (['shim', 'remove', name], prepare,
                    lambda: not os.path.exists(os.path.join(shims, name)),
                    lambda: not self.overlay_entries(SH, 'shims', shim_match(name)),
                    ('manifests/host-shims.json', [], ['"name": "%s"' % name]))

        done = []
        for ctx, ctx_root in contexts.items():
            for cmd in (gset, gunset, fadd, fremove, shadd, shremove):
                for mode in ('default', 'local', 'pr-only'):
                    argv, prepare, effect, recorded, (file, added, removed) = cmd()
                    case = '%s %s %s' % (ctx, ' '.join(argv[:2]), mode)
                    done.append(case)
                    prepare()
                    args = list(argv)
                    if mode != 'default':
                        args.insert(2, '--' + mode)
                    if mode != 'local':
                        args += ['--repo', w.checkout]
                    extra = {'BKT_CONTEXT_ROOT': ctx_root} if ctx_root else {}
                    before = w.bkt_branches(w.bare_file)
                    effect0, recorded0 = effect(), recorded()
                    self.assertFalse(effect0 or recorded0, '%s: the precondition already holds' % case)
                    if ctx == 'image' and mode == 'local':
                        rc, out, err = self.bkt(*args, env_extra=extra)
                        self.assertEqual(rc, 2, '%s: %s%s' % (case, out, err))
                        self.assertFalse(effect() or recorded(), case)
                        self.assertEqual(w.bkt_branches(w.bare_file), before, case)
                        self.assertEqual(self.forge.take(), [], case)
                        continue
                    rc, res, err = self.bktj(*args, env_extra=extra)
                    self.assertEqual(rc, 0, '%s: %s' % (case, err))
                    self.assertEqual(res['context'], ctx, case)
                    acts = ctx != 'image' and mode != 'pr-only'
                    records = mode != 'pr-only'
                    self.assertEqual(res['local'], 'done' if acts else 'none', case)
                    self.assertEqual(effect(), acts, '%s: local effect' % case)
                    self.assertEqual(recorded(), records, '%s: user overlay' % case)
                    new = w.bkt_branches(w.bare_file) - before
                    reqs = self.forge.take()
                    if mode == 'local':
                        self.assertIsNone(res['pr'], case)
                        self.assertEqual(new, set(), case)
                        self.assertEqual(reqs, [], case)
                        self.assertIn('id', res['journal'], case)
                        continue
                    pr = res['pr']
                    self.assertEqual(pr['state'], 'opened', '%s: %s' % (case, pr))
                    self.assertEqual(new, {pr['branch']}, case)
                    self.assertEqual(len(reqs), 1, case)
                    self.assertEqual(reqs[0]['body']['head'], pr['branch'], case)
                    names, diff = self.branch_diff(w.bare_file, pr['branch'])
                    self.assertEqual(names, [file], case)
                    plus = [l[1:].strip() for l in diff.splitlines() if l.startswith('+') and not l.startswith('+++')]
                    minus = [l[1:].strip() for l in diff.splitlines() if l.startswith('-') and not l.startswith('---')]
                    for word in added:
                        self.assertTrue(any(word in l for l in plus), '%s: %s not added:\n%s' % (case, word, diff))
                    for word in removed:
                        self.assertTrue(any(word in l for l in minus), '%s: %s not removed:\n%s' % (case, word, diff))
                    if added:
                        self.assertOnlyEntryLines(diff, added)
                    else:
                        # a removal: only the entry's lines go (and a neighbour's comma)
                        for l in plus:
                            self.assertTrue(l.rstrip(',') in [m.rstrip(',') for m in minus], '%s: %r added:\n%s'
                                            % (case, l, diff))
                        entry_lines = [m for m in minus if m.rstrip(',') not in [p.rstrip(',') for p in plus]]
                        self.assertTrue(all(any(k in m for k in (removed[0], '"schema"', '"value"', '"remote"',
                                                                  '"scope"', '"comment"', '{', '}'))
                                            for m in entry_lines), '%s:\n%s' % (case, diff))
        self.assertEqual(len(done), 54)

    def test_17_same_change_two_clones_same_second(self):
        """The same change proposed from two clones within the same second: the branch name
        (bkt/...-UNIXTIME) is taken on the remote but not in the second clone, which sees the
        remote's refs and pushes NAME-2; both PRs open, nothing is queued, neither branch
        replaces the other.  "The same second" without depending on the speed of the machine
        (ASan, valgrind): the first clone's proposal is real, and its name is then also taken
        on the remote (git push from the first clone) for every second the second clone's
        proposal can land in."""
        w = self.world
        clones = []
        for name in ('twin-a', 'twin-b'):
            path = os.path.join(self.env.home(ADMIN), name)
            w.ugit('clone', '-q', w.file_url, path)
            clones.append(path)
        self.forge.take()
        failed0 = len([e for e in self.journal() if e.get('state') == 'failed'])
        before = w.bkt_branches(w.bare_file)
        rc, res, err = self.bktj('gsetting', 'set', '--pr-only', IFACE, 'cursor-blink-time', '1200',
                                 '--repo', clones[0])
        self.assertEqual(rc, 0, err)
        a = res['pr']['branch']
        self.assertRegex(a, BRANCH_RE)
        stem, stamp = a.rsplit('-', 1)
        commit_a = w.git(None, '--git-dir', w.bare_file, 'rev-parse', a).strip()
        now = int(time.time())
        taken = ['%s-%d' % (stem, t) for t in range(int(stamp), now + 600) if '%s-%d' % (stem, t) != a]
        w.ugit('-C', clones[0], 'push', '-q', 'origin', *['%s:refs/heads/%s' % (a, t) for t in taken])
        taken_set = set(taken) | {a}
        rc, res, err = self.bktj('gsetting', 'set', '--pr-only', IFACE, 'cursor-blink-time', '1200',
                                 '--repo', clones[1])
        self.assertEqual(rc, 0, err)
        b = res['pr']['branch']
        self.assertEqual(res['pr']['state'], 'opened', res['pr'])
        self.assertTrue(b.endswith('-2') and b[:-2] in taken_set, '%s: the remote name was not seen' % b)
        self.assertEqual(w.bkt_branches(w.bare_file) - before - set(taken), {a, b})
        reqs = self.forge.take()
        self.assertEqual([r['body']['head'] for r in reqs], [a, b])
        self.assertEqual(len([e for e in self.journal() if e.get('state') == 'failed']), failed0)
        # neither replaced the other: each branch holds the commit made in its own clone
        self.assertEqual(w.git(None, '--git-dir', w.bare_file, 'rev-parse', a).strip(), commit_a)
        self.assertEqual(w.git(None, '--git-dir', w.bare_file, 'rev-parse', b).strip(),
                         w.ugit('-C', clones[1], 'rev-parse', b).strip())
        # (the two commits may be the same object: the same change in the same second, and the
        # recorded command no longer names the clone's path, so only the per-clone checks above
        # tell the branches apart)
        # the second clone has no local ref of the first's names: only the remote told it
        self.assertEqual(w.ugit('-C', clones[1], 'for-each-ref', 'refs/heads/' + b[:-2]).strip(), '')

    def test_18_preflight_local_commit_and_retry(self):
        """bkt local commit and bkt pr retry run the same preflight as a change: a missing
        token, a missing identity or an unreachable remote stops them with the fix before
        anything is pushed or taken off the queue; --skip-preflight goes ahead."""
        w, env = self.world, self.env
        self.forge.take()
        before = w.bkt_branches(w.bare_file)
        rc, res, err = self.bktj('gsetting', 'set', '--local', IFACE, 'cursor-blink-timeout', '7')
        self.assertEqual(rc, 0, err)
        jid = res['journal']['id']

        def local_ids():
            return [e['id'] for e in self.journal() if e['state'] == 'local']

        def failed_ids():
            return [e['id'] for e in self.journal() if e['state'] == 'failed']

        failed0 = failed_ids()
        # an unreachable remote: a checkout whose origin nothing listens on
        dead = os.path.join(env.home(ADMIN), 'dead-remote')
        w.ugit('clone', '-q', w.file_url, dead)
        w.ugit('-C', dead, 'remote', 'set-url', 'origin', 'http://127.0.0.1:%d/acme/distro.git' % punenv.free_port())
        rc, out, err = self.bkt('local', 'commit', '--repo', dead)
        self.assertEqual(rc, 1, out + err)
        self.assertIn('✗ remote:', err)
        self.assertIn('Fix: check the network', err)
        self.assertIn(jid, local_ids())
        hidden = w.hosts + '.hidden'
        os.rename(w.hosts, hidden)
        try:
            rc, out, err = self.bkt('local', 'commit', '--repo', w.checkout)
            self.assertEqual(rc, 1, out + err)
            self.assertIn('✗ token:', err)
            self.assertIn('Fix: gh auth login', err)
            self.assertIn('--skip-preflight', err)
            self.assertIn(jid, local_ids(), 'the entry left the journal')
            self.assertEqual(w.bkt_branches(w.bare_file), before, 'pushed despite the preflight')
            self.assertEqual(self.forge.take(), [])
            # --skip-preflight: pushed, the request fails (no token) and is queued
            rc, out, err = self.bkt('local', 'commit', '--skip-preflight', '--repo', w.checkout)
            self.assertNotEqual(rc, 0)
            self.assertIn('bkt pr retry', err)
            self.assertNotIn(jid, local_ids())
            queued = [i for i in failed_ids() if i not in failed0]
            self.assertEqual(len(queued), 1, self.journal())
            self.assertEqual(len(w.bkt_branches(w.bare_file) - before), 1)
            # pr retry: the same preflight
            rc, out, err = self.bkt('pr', 'retry', '--repo', w.checkout)
            self.assertEqual(rc, 1, out + err)
            self.assertIn('✗ token:', err)
            self.assertEqual(self.forge.take(), [])
            self.assertIn(queued[0], failed_ids())
        finally:
            os.rename(hidden, w.hosts)
        gc = os.path.join(env.home(ADMIN), '.gitconfig')
        os.rename(gc, gc + '.hidden')
        try:
            rc, out, err = self.bkt('pr', 'retry', '--repo', w.checkout)
            self.assertEqual(rc, 1, out + err)
            self.assertIn('✗ identity:', err)
            self.assertIn('Fix: git config --global user.name', err)
            self.assertEqual(self.forge.take(), [])
        finally:
            os.rename(gc + '.hidden', gc)
        rc, res, err = self.bktj('pr', 'retry', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertEqual({p['state'] for p in res['prs']}, {'opened'})
        self.assertEqual(failed_ids(), [])
        self.forge.take()

    def test_19_keyring_token(self):
        """gh >= 2.24 keeps its token in the keyring: with no GITHUB_TOKEN/GH_TOKEN and no token in
        hosts.yml, the session daemon reads it from a real Secret Service (gnome-keyring on the
        user's session bus) by gh's attributes (service gh:HOST of the API base), opens the PR with
        it and never logs it; a locked keyring stops the preflight with the fix."""
        why = punenv.Keyring.unavailable()
        if why:
            raise bktenv.skip_without('gnome-keyring', why)
        w, env = self.world, self.env
        keyring = punenv.Keyring(env, ADMIN)
        hidden = w.hosts + '.hidden'
        os.rename(w.hosts, hidden)
        try:
            self.forge.take()
            # another host's token and another service's item must not be taken
            keyring.store('gh:github.com', '', 'ghp_notThisHostsToken')
            keyring.store('other-app', '', 'not-a-gh-token')
            rc, out, err = self.bkt('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '41')
            self.assertEqual(rc, 1, out + err)
            self.assertIn('✗ token:', err)
            keyring.store('gh:127.0.0.1', '', punenv.TOKEN)
            rc, res, err = self.bktj('gsetting', 'set', '--pr-only', '--dry-run', '--repo', w.checkout, IFACE,
                                     'cursor-size', '41')
            self.assertEqual(rc, 0, err)
            token_check = [c for c in res['preflight']['checks'] if c['name'] == 'token'][0]
            self.assertTrue(token_check['ok'], token_check)
            self.assertIn('keyring', token_check['detail'])
            rc, res, err = self.bktj('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '41')
            self.assertEqual(rc, 0, err)
            self.assertEqual(res['pr']['state'], 'opened', res['pr'])
            reqs = self.forge.take()
            self.assertEqual(len(reqs), 1)
            self.check_pr_request(reqs[0], res['pr']['branch'], 'feat(manifests): set gsetting %s cursor-size' % IFACE)
            self.assertNotIn(punenv.TOKEN, out + err + json.dumps(res))
            for name in os.listdir(env.path('logs')):
                if name.startswith('bktd'):
                    self.assertNotIn(punenv.TOKEN, env.daemon_log(name[:-4]), name)
            # locked: found but not readable; bkt does not unlock (that would prompt)
            keyring.lock()
            rc, out, err = self.bkt('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '42')
            self.assertEqual(rc, 1, out + err)
            self.assertIn('✗ token: gh\'s token is in the keyring, which is locked', err)
            self.assertIn('Fix: unlock the login keyring', err)
            self.assertEqual(self.forge.take(), [])
        finally:
            os.rename(hidden, w.hosts)
            keyring.stop()

    def test_20_fork_workflow(self):
        """The token's user cannot push to the distribution repo (GET /repos/acme/distro says
        permissions.push false): bkt forks it (POST .../forks), waits until the fork answers, pushes
        the branch to the fork (a real bare repo served over smart HTTP) and opens the PR with head
        "OWNER:BRANCH"; a failed PR request keeps that head for bkt pr retry.  "fork": "never"
        pushes to origin without asking; a wrong value is a clear error."""
        w, env = self.world, self.env
        config = os.path.join(env.config_home(ADMIN), 'bkt', 'config.json')

        def make_fork(owner, name):
            bare = os.path.join(w.remotes, punenv.FORK_OWNER, name + '.git')
            os.makedirs(os.path.dirname(bare), exist_ok=True)
            bktenv.chown_tree(os.path.dirname(bare), ADMIN)
            # cloned as its owner (git refuses another user's repo); served by the smart HTTP server
            w.ugit('clone', '-q', '--bare', os.path.join(w.remotes, owner, name + '.git'), bare)
            return 'http://127.0.0.1:%d/%s/%s.git' % (w.http_port, punenv.FORK_OWNER, name)

        fork_bare = os.path.join(w.remotes, punenv.FORK_OWNER, 'distro.git')
        self.forge.on_fork = make_fork
        self.forge.push['distro'] = False
        self.forge.take()
        self.forge.take_gets()
        upstream0 = w.bkt_branches(w.bare_file)
        try:
            rc, res, err = self.bktj('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '45')
            self.assertEqual(rc, 0, err)
            pr = res['pr']
            self.assertEqual(pr['state'], 'opened', pr)
            branch = pr['branch']
            self.assertEqual(pr['head'], '%s:%s' % (punenv.FORK_OWNER, branch))
            reqs = self.forge.take()
            self.assertEqual([r['path'] for r in reqs], ['/repos/acme/distro/forks', '/repos/acme/distro/pulls'])
            self.check_pr_request(reqs[1], '%s:%s' % (punenv.FORK_OWNER, branch),
                                  'feat(manifests): set gsetting %s cursor-size' % IFACE)
            gets = [g['path'] for g in self.forge.take_gets()]
            self.assertEqual(gets[0], '/repos/acme/distro')
            # waited for the fork: two 404s, then 200
            self.assertEqual(gets[1:], ['/repos/%s/distro' % punenv.FORK_OWNER] * 3)
            self.assertEqual(w.bkt_branches(w.bare_file), upstream0, 'pushed to the upstream repo')
            self.assertIn(branch, w.bkt_branches(fork_bare))
            names, diff = self.branch_diff(fork_bare, branch)
            self.assertEqual(names, ['manifests/gsettings.json'])
            self.assertOnlyEntryLines(diff, ['"key": "cursor-size"', '"value": "45"'])
            self.check_commit(fork_bare, branch)

            # the fork exists: used again; a failed request keeps the fork's head for the retry
            self.forge.fail_next(502)
            rc, out, err = self.bkt('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '46')
            self.assertNotEqual(rc, 0)
            self.assertIn('bkt pr retry', err)
            failed = [e for e in self.journal() if e['state'] == 'failed']
            self.assertEqual(len(failed), 1, failed)
            self.assertEqual(failed[0]['head_owner'], punenv.FORK_OWNER)
            self.assertIn(failed[0]['branch'], w.bkt_branches(fork_bare))
            self.forge.take()
            rc, res, err = self.bktj('pr', 'retry', '--repo', w.checkout)
            self.assertEqual(rc, 0, err)
            reqs = self.forge.take()
            self.assertEqual([r['body']['head'] for r in reqs], ['%s:%s' % (punenv.FORK_OWNER, failed[0]['branch'])])

            # "fork": "never": straight to origin, no question asked
            w.write_user_file(config, json.dumps({'api_url': self.forge.url, 'fork': 'never'}) + '\n')
            self.forge.take_gets()
            rc, res, err = self.bktj('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '47')
            self.assertEqual(rc, 0, err)
            self.assertEqual(res['pr']['head'], res['pr']['branch'])
            self.assertIn(res['pr']['branch'], w.bkt_branches(w.bare_file))
            self.assertEqual([r['path'] for r in self.forge.take()], ['/repos/acme/distro/pulls'])
            self.assertEqual(self.forge.take_gets(), [])

            # "fork": "always": the fork even with push access, without asking
            self.forge.push.pop('distro', None)
            w.write_user_file(config, json.dumps({'api_url': self.forge.url, 'fork': 'always'}) + '\n')
            rc, res, err = self.bktj('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '49')
            self.assertEqual(rc, 0, err)
            self.assertEqual(res['pr']['head'], '%s:%s' % (punenv.FORK_OWNER, res['pr']['branch']))
            self.assertIn(res['pr']['branch'], w.bkt_branches(fork_bare))
            self.assertNotIn(res['pr']['branch'], w.bkt_branches(w.bare_file))
            self.assertEqual([r['path'] for r in self.forge.take()],
                             ['/repos/acme/distro/forks', '/repos/acme/distro/pulls'])
            self.assertNotIn('/repos/acme/distro', [g['path'] for g in self.forge.take_gets()])

            w.write_user_file(config, json.dumps({'api_url': self.forge.url, 'fork': 'sometimes'}) + '\n')
            rc, out, err = self.bkt('gsetting', 'set', '--pr-only', '--repo', w.checkout, IFACE, 'cursor-size', '48')
            self.assertNotEqual(rc, 0)
            self.assertIn('"fork" in %s is “sometimes”' % config, err)
            self.assertIn('Fix: correct ~/.config/bkt/config.json', err)
            self.assertEqual(self.forge.take(), [])
        finally:
            self.forge.push.pop('distro', None)
            w.write_user_file(config, json.dumps({'api_url': self.forge.url}) + '\n')


if __name__ == '__main__':
    bktenv.main()
