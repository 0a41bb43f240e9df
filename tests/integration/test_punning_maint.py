#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Punned repo-side changes (issue 7): `bkt upstream update|pin|add|remove|lock
--pr` and `bkt base assume|unassume --pr` propose their change as a pull
request through the session daemon instead of editing the checkout.

Real git (a bare remote over file://, checked with the git CLI), the forge
API test server of punenv.py, the GitHub-releases test server of
test_upstream.py (real asset bytes, real sha256), the real bktd and bkt.
Each PR's diff is exactly the entry's lines, the Containerfile's
UPSTREAM_PINS lines of that upstream, and one draft changelog entry worded
as the local command words it; the checkout never changes; a change the
default branch already has opens nothing; --dry-run writes nothing;
preflight, the retry queue and the private daemon (no session bus) work as
for the other subsystems."""

import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402
from test_upstream import FakeGitHub  # noqa: E402

SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
NO_BUS = ('DBUS_SESSION_BUS_ADDRESS',)
LAZYGIT = 'jesseduffield/lazygit'
FZF = 'junegunn/fzf'
JQ_TARBALL = b'tarball jqlang/jq jq-1.7.1'   # FakeGitHub's source tarball: jq has no asset_pattern


def sha(data):
    return hashlib.sha256(data).hexdigest()


def asset(version):
    return 'lazygit_%s_Linux_x86_64.tar.gz' % version.lstrip('v')


class PunningMaint(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, SEED)
            cls.gh = FakeGitHub(delay=0)
        except BaseException:
            cls.tearDownClass()
            raise
        gh, w = cls.gh, cls.world
        cls.bytes = {}
        for v in ('v0.57.0', 'v0.58.0', 'v1.0.0'):
            cls.bytes[v] = ('lazygit %s binary\n' % v).encode() * 100
            gh.release(LAZYGIT, v, [(asset(v), cls.bytes[v])])
        gh.release(FZF, '0.50.0', [('fzf-0.50.0-linux_amd64.tar.gz', b'fzf 0.50.0')])
        gh.release(FZF, '0.51.0', [('fzf-0.51.0-linux_amd64.tar.gz', b'fzf 0.51.0')])
        gh.release('jqlang/jq', 'jq-1.7.1', [('jq-linux-amd64', b'jq 1.7.1')])
        gh.release('sharkdp/bat', 'v0.24.0', [('bat-v0.24.0-x86_64-unknown-linux-gnu.tar.gz', b'bat')])
        old_url = '%s/download/%s/v0.57.0/%s' % (gh.base, LAZYGIT, asset('v0.57.0'))
        fzf_url = '%s/download/%s/0.50.0/fzf-0.50.0-linux_amd64.tar.gz' % (gh.base, FZF)
        # The repo's own file: hand-written, one upstream expanded and one on few lines.
        manifest = '''{
  "$schema": "../schemas/upstream-manifest.schema.json",
  "upstreams": [
    {
      "name": "fzf",
      "source": { "type": "github", "repo": "%s", "asset_pattern": "fzf-*-linux_amd64.tar.gz" },
      "policy": "minor",
      "pinned": { "version": "0.50.0", "url": "%s", "sha256": "%s", "pinned_at": "2025-01-01T00:00:00Z" }
    },
    {
      "name": "jq",
      "source": { "type": "github", "repo": "jqlang/jq" },
      "pinned": {
        "version": "jq-1.7.1",
        "sha256": "%s",
        "pinned_at": "2025-01-01T00:00:00Z"
      }
    },
    {
      "name": "lazygit",
      "description": "Simple terminal UI for git commands",
      "source": {
        "type": "github",
        "repo": "%s",
        "asset_pattern": "lazygit_*_Linux_x86_64.tar.gz"
      },
      "policy": "minor",
      "pinned": {
        "version": "v0.57.0",
        "url": "%s",
        "sha256": "%s",
        "pinned_at": "2025-01-01T00:00:00Z"
      },
      "install": { "type": "binary", "install_path": "/usr/local/bin/lazygit" }
    }
  ]
}
''' % (FZF, fzf_url, sha(b'fzf 0.50.0'), '0' * 64, LAZYGIT, old_url, sha(cls.bytes['v0.57.0']))
        os.makedirs(os.path.join(w.checkout, 'upstream'), exist_ok=True)
        with open(os.path.join(w.checkout, 'upstream', 'manifest.json'), 'w') as fh:
            fh.write(manifest)
        with open(os.path.join(w.checkout, 'Containerfile'), 'w') as fh:
            fh.write('FROM ghcr.io/ublue-os/bazzite-gnome:stable\n'
                     '# === UPSTREAM_PINS (managed by bkt) ===\n'
                     '# === END UPSTREAM_PINS ===\n'
                     'RUN curl -fsSL "$UPSTREAM_LAZYGIT_URL" -o /tmp/lazygit.tar.gz\n')
        bktenv.chown_tree(w.checkout, ADMIN)
        rc, out, err = cls.env.bkt_run(ADMIN, 'upstream', 'generate', '--repo', w.checkout)
        assert rc == 0, err
        w.ugit('-C', w.checkout, 'add', 'upstream/manifest.json', 'Containerfile')
        w.ugit('-C', w.checkout, 'commit', '-q', '-m', 'upstream pins')
        w.ugit('-C', w.checkout, 'push', '-q', 'origin', 'main')
        # and some unsaved work the PRs must not touch
        with open(os.path.join(w.checkout, 'notes.txt'), 'w') as fh:
            fh.write('untracked\n')
        bktenv.chown_tree(w.checkout, ADMIN)
        cls.checkout_state = w.snapshot(w.checkout)

    @classmethod
    def tearDownClass(cls):
        for s in ('forge', 'gh'):
            if getattr(cls, s, None):
                getattr(cls, s).stop()
        super().tearDownClass()

    def assertCheckoutUntouched(self):
        self.assertEqual(self.world.snapshot(self.world.checkout), self.checkout_state, 'the checkout changed')

    # ------------------------------------------------------------- helpers
    def bkt(self, *args, **kw):
        kw.setdefault('env_extra', {})['BKT_GITHUB_API'] = self.gh.api
        return self.env.bkt_run(ADMIN, *args, **kw)

    def bktj(self, *args, **kw):
        kw.setdefault('env_extra', {})['BKT_GITHUB_API'] = self.gh.api
        return self.env.bkt_json(ADMIN, '--json', *args, **kw)

    def journal(self):
        rc, j, err = self.bktj('local', 'list')
        self.assertEqual(rc, 0, err)
        return j['entries']

    def branches(self):
        return self.world.bkt_branches(self.world.bare_file)

    def new_branch(self, before, prefix):
        new = self.branches() - before
        self.assertEqual(len(new), 1, 'expected one new branch: %s' % new)
        b = new.pop()
        self.assertTrue(re.match(r'^bkt/%s-\d{9,}$' % re.escape(prefix), b), b)
        return b

    def git(self, *args):
        return self.world.git(None, '--git-dir', self.world.bare_file, *args)

    def pr_files(self, branch, category, type_, message, command_start):
        """The branch's changed files besides its one draft entry, which is checked."""
        names = self.git('diff', '--name-only', 'main', branch).split()
        drafts = [n for n in names if n.startswith('.changelog/pending/')]
        self.assertEqual(len(drafts), 1, names)
        self.assertRegex(drafts[0], r'^\.changelog/pending/\d{8}T\d{6}Z-%s\.json$' % category)
        entry = json.loads(self.world.show(self.world.bare_file, branch, drafts[0]))
        self.assertIs(entry['draft'], True, entry)
        self.assertEqual((entry['category'], entry['type'], entry['message']), (category, type_, message), entry)
        # the command as typed ("bkt --json upstream …" is the same command)
        self.assertTrue(entry['command'].startswith('bkt '), entry)
        self.assertIn(command_start[len('bkt '):], entry['command'])
        parent = self.git('rev-parse', branch + '^').strip()
        self.assertEqual(parent, self.git('rev-parse', 'main').strip(), 'not branched from the default branch')
        return sorted(n for n in names if n not in drafts)

    def changed_lines(self, branch, path):
        diff = self.git('diff', '-U0', 'main', branch, '--', path)
        plus = [l[1:] for l in diff.splitlines() if l.startswith('+') and not l.startswith('+++')]
        minus = [l[1:] for l in diff.splitlines() if l.startswith('-') and not l.startswith('---')]
        return plus, minus

    def check_request(self, title, branch, command_words):
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1, reqs)
        body = reqs[0]['body']
        self.assertEqual(reqs[0]['path'], '/repos/%s/distro/pulls' % punenv.OWNER)
        self.assertEqual((body['title'], body['head'], body['base']), (title, branch, 'main'))
        for word in command_words:
            self.assertIn(word, body['body'])
        msg = self.git('log', '-1', '--format=%s', branch).strip()
        self.assertEqual(msg, title, 'the commit message is the conventional title')

    # --------------------------------------------------------------- tests
    def test_01_dry_run_changes_nothing(self):
        w = self.world
        before = self.branches()
        rc, out, err = self.bkt('upstream', 'update', 'lazygit', '--pr', '--dry-run', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertIn('Pull request that would be opened against acme/distro', out)
        self.assertIn('feat(upstream): update lazygit to v0.58.0', out)
        self.assertIn('+++ b/upstream/manifest.json', out)
        self.assertIn('+++ b/Containerfile', out)
        self.assertIn('+ARG UPSTREAM_LAZYGIT_VERSION=v0.58.0', out)
        self.assertRegex(out, r'  Changelog: \.changelog/pending/\S+-upstream\.json \(draft\)')
        rc, out, err = self.bkt('base', 'assume', 'skopeo', '--reason', 'image copies', '--pr', '--dry-run',
                                '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertIn('feat(base): assume skopeo', out)
        self.assertIn('+++ b/manifests/base-image-assumptions.json', out)
        rc, plan, err = self.bktj('base', 'unassume', 'flatpak', '--pr', '--dry-run', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertEqual(plan['mode'], 'pr-only')
        self.assertTrue(plan['preflight']['ok'], plan['preflight'])
        self.assertIn('-      "name": "flatpak",', plan['pr']['diff'])
        self.assertEqual(len(plan['pr']['changelog']), 1, plan['pr'])
        self.assertEqual(self.branches(), before)
        self.assertEqual(self.forge.take(), [])
        self.assertEqual(self.journal(), [])
        self.assertCheckoutUntouched()

    def test_02_upstream_update_pr(self):
        w = self.world
        before = self.branches()
        rc, res, err = self.bktj('upstream', 'update', 'lazygit', '--pr', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['pr']['state'], 'opened', res)
        branch = self.new_branch(before, 'upstream-update-lazygit')
        self.check_request('feat(upstream): update lazygit to v0.58.0', branch,
                           ('upstream update lazygit --pr', 'upstream/manifest.json'))
        files = self.pr_files(branch, 'upstream', 'changed', 'Update lazygit from v0.57.0 to v0.58.0',
                              'bkt upstream update lazygit')
        self.assertEqual(files, ['Containerfile', 'upstream/manifest.json'])
        plus, minus = self.changed_lines(branch, 'upstream/manifest.json')
        # exactly the pin's lines: version, url, sha256, pinned_at of lazygit
        for lines in (plus, minus):
            self.assertEqual(sorted(re.match(r'\s+"(\w+)"', l).group(1) for l in lines),
                             ['pinned_at', 'sha256', 'url', 'version'], (plus, minus))
        self.assertIn('        "version": "v0.58.0",', plus)
        self.assertIn('        "sha256": "%s",' % sha(self.bytes['v0.58.0']), plus)
        new = json.loads(w.show(w.bare_file, branch, 'upstream/manifest.json'))
        lazygit = [u for u in new['upstreams'] if u['name'] == 'lazygit'][0]
        self.assertEqual(lazygit['pinned']['url'],
                         '%s/download/%s/v0.58.0/%s' % (self.gh.base, LAZYGIT, asset('v0.58.0')))
        plus, minus = self.changed_lines(branch, 'Containerfile')
        self.assertEqual(len(plus), 3, plus)
        self.assertEqual(len(minus), 3, minus)
        for l in plus + minus:
            self.assertTrue(l.startswith('ARG UPSTREAM_LAZYGIT_'), l)
        self.assertCheckoutUntouched()
        self.assertEqual(self.journal(), [])
        type(self).update_branch = branch

    def test_03_already_on_the_default_branch(self):
        """The default branch has the change (the PR was merged): nothing is proposed."""
        w = self.world
        w.ugit('--git-dir', w.bare_file, 'update-ref', 'refs/heads/main', 'refs/heads/' + self.update_branch)
        before = self.branches()
        rc, res, err = self.bktj('upstream', 'update', 'lazygit', '--pr', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['pr']['state'], 'unchanged', res)
        rc, out, err = self.bkt('base', 'assume', 'flatpak', '--pr', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertIn('the repo already has this change', out)
        rc, out, err = self.bkt('base', 'unassume', 'not-assumed', '--pr', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertIn('the repo already has this change', out)
        self.assertEqual(self.branches(), before)
        self.assertEqual(self.forge.take(), [])
        self.assertEqual(self.journal(), [])
        self.assertCheckoutUntouched()

    def test_04_base_assume_and_unassume(self):
        w = self.world
        before = self.branches()
        rc, out, err = self.bkt('base', 'assume', 'skopeo', '--reason', 'Copies images', '--pr', '--repo',
                                w.checkout)
        self.assertEqual(rc, 0, err)
        branch = self.new_branch(before, 'base-assume-skopeo')
        self.check_request('feat(base): assume skopeo', branch, ('bkt base assume skopeo',))
        files = self.pr_files(branch, 'base', 'added', 'Assume the base image provides skopeo: Copies images',
                              'bkt base assume skopeo')
        self.assertEqual(files, ['manifests/base-image-assumptions.json'])
        plus, minus = self.changed_lines(branch, 'manifests/base-image-assumptions.json')
        self.assertEqual(minus, [])
        self.assertEqual([l.strip() for l in plus],
                         ['{', '"name": "skopeo",', '"reason": "Copies images"', '},'])

        before = self.branches()
        rc, out, err = self.bkt('base', 'unassume', 'gnome-shell', '--pr', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        branch = self.new_branch(before, 'base-unassume-gnome-shell')
        self.check_request('feat(base): unassume gnome-shell', branch, ('bkt base unassume gnome-shell',))
        self.pr_files(branch, 'base', 'removed', 'No longer assume the base image provides gnome-shell',
                      'bkt base unassume gnome-shell')
        plus, minus = self.changed_lines(branch, 'manifests/base-image-assumptions.json')
        self.assertEqual(plus, [])
        self.assertEqual([l.strip() for l in minus],
                         ['{', '"name": "gnome-shell",', '"reason": "Required for extension management"', '},'])
        self.assertCheckoutUntouched()

    def test_05_upstream_remove_and_add(self):
        w = self.world
        before = self.branches()
        rc, out, err = self.bkt('upstream', 'remove', 'fzf', '--pr', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        branch = self.new_branch(before, 'upstream-remove-fzf')
        self.check_request('feat(upstream): remove fzf', branch, ('bkt upstream remove fzf --pr',))
        self.assertEqual(self.pr_files(branch, 'upstream', 'removed', 'Remove upstream fzf', 'bkt upstream remove'),
                         ['Containerfile', 'upstream/manifest.json'])
        plus, minus = self.changed_lines(branch, 'upstream/manifest.json')
        self.assertEqual(plus, [])
        self.assertEqual(len(minus), 6, minus)
        self.assertTrue(any('"name": "fzf"' in l for l in minus), minus)
        plus, minus = self.changed_lines(branch, 'Containerfile')
        self.assertEqual(plus, [])
        self.assertTrue(minus and all(l.startswith('ARG UPSTREAM_FZF_') for l in minus), minus)

        before = self.branches()
        rc, out, err = self.bkt('upstream', 'add', 'bat', '--github', 'sharkdp/bat', '--asset-pattern',
                                'bat-*-x86_64-unknown-linux-gnu.tar.gz', '--policy', 'patch', '--pr',
                                '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        branch = self.new_branch(before, 'upstream-add-bat')
        self.check_request('feat(upstream): add bat at v0.24.0', branch, ('bkt upstream add bat',))
        self.pr_files(branch, 'upstream', 'added', 'Add upstream bat (sharkdp/bat) at v0.24.0', 'bkt upstream add')
        new = json.loads(w.show(w.bare_file, branch, 'upstream/manifest.json'))
        bat = [u for u in new['upstreams'] if u['name'] == 'bat']
        self.assertEqual(len(bat), 1, new)
        self.assertEqual(bat[0]['source'], {'type': 'github', 'repo': 'sharkdp/bat',
                                            'asset_pattern': 'bat-*-x86_64-unknown-linux-gnu.tar.gz'})
        self.assertEqual((bat[0]['policy'], bat[0]['pinned']['sha256']), ('patch', sha(b'bat')))
        plus, minus = self.changed_lines(branch, 'upstream/manifest.json')
        self.assertEqual(minus, [])
        self.assertIn('"name": "bat",', ''.join(plus))
        self.assertFalse([l for l in plus if 'fzf' in l or 'lazygit' in l], plus)
        self.assertCheckoutUntouched()

    def test_06_preflight_without_token(self):
        w = self.world
        hidden = w.hosts + '.hidden'
        before = self.branches()
        os.rename(w.hosts, hidden)
        try:
            for args in (('base', 'assume', 'skopeo'), ('upstream', 'pin', 'lazygit', 'v1.0.0')):
                rc, out, err = self.bkt(*args, '--pr', '--repo', w.checkout)
                self.assertEqual(rc, 1, out)
                self.assertIn('the pull request could not be opened, so nothing was done', err)
                self.assertIn('token', err)
                self.assertIn('Fix:', err)
        finally:
            os.rename(hidden, w.hosts)
        self.assertEqual(self.branches(), before)
        self.assertEqual(self.forge.take(), [])
        self.assertEqual(self.journal(), [])
        self.assertCheckoutUntouched()

    def test_07_forge_error_then_retry(self):
        w = self.world
        before = self.branches()
        self.forge.fail_next(502)
        rc, out, err = self.bkt('upstream', 'pin', 'lazygit', 'v1.0.0', '--pr', '--repo', w.checkout)
        self.assertNotEqual(rc, 0, out)
        self.assertIn('bkt pr retry', out + err)
        branch = self.new_branch(before, 'upstream-pin-lazygit')
        failed = [e for e in self.journal() if e['state'] == 'failed']
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(failed[0]['branch'], branch)
        self.assertEqual(len(self.forge.take()), 1)
        rc, res, err = self.bktj('pr', 'retry', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        self.assertEqual(res['pr']['state'], 'opened', res)
        # the same branch, the same words: only the request is repeated
        self.check_request('feat(upstream): pin lazygit to v1.0.0', branch, ('bkt upstream pin lazygit v1.0.0',))
        self.pr_files(branch, 'upstream', 'changed', 'Pin lazygit to v1.0.0 (was v0.57.0)', 'bkt upstream pin')
        self.assertEqual(self.branches() - before, {branch})
        self.assertEqual(self.journal(), [])
        self.assertCheckoutUntouched()

    def test_08_private_daemon_without_session_bus(self):
        """CI containers: no session bus; the client's private bktd opens the PR."""
        w = self.world
        before = self.branches()
        rc, out, err = self.bkt('base', 'unassume', 'polkit', '--pr', '--repo', w.checkout, unset=NO_BUS)
        self.assertEqual(rc, 0, err)
        branch = self.new_branch(before, 'base-unassume-polkit')
        self.check_request('feat(base): unassume polkit', branch, ('bkt base unassume polkit',))
        self.assertCheckoutUntouched()

    def test_09_bad_input(self):
        w = self.world
        before = self.branches()
        for args, word in ((('base', 'assume', '--pr', '--repo', w.checkout, '--', '--force'), '--force'),
                           (('base', 'assume', '--pr', '--repo', w.checkout, '../x'), '../x'),
                           (('upstream', 'update', '--pr', '--repo', w.checkout, '--', '../x'), '../x'),
                           (('upstream', 'check', '--pr', '--repo', w.checkout), '--pr'),
                           (('base', 'list', '--pr', '--repo', w.checkout), '--pr'),
                           (('base', 'assume', 'x', '--pr', '--file', '/tmp/a.json'), 'another file'),
                           (('upstream', 'remove', 'fzf', '--pr', '--file', '/tmp/m.json'), '--file')):
            rc, out, err = self.bkt(*args)
            self.assertNotEqual(rc, 0, 'bkt %s' % ' '.join(args))
            self.assertIn(word, err)
        # Over D-Bus: a repo-side change is proposed only; any other mode (or none) is refused.
        for opts in ("{'mode': <'pr'>}", "{'mode': <'local'>}", '@a{sv} {}'):
            p = self.env.gdbus_call(ADMIN, 'ChangePlan', "'base'", "'assume'", "{'name': <'skopeo'>}", opts,
                                    bus='session')
            self.assertNotEqual(p.returncode, 0, opts)
            self.assertIn('org.bkt.Error.InvalidArgument', p.stderr)
            self.assertIn('proposed as a pull request only', p.stderr)
        self.assertEqual(self.branches(), before)
        self.assertEqual(self.forge.take(), [])
        self.assertEqual(self.journal(), [])
        self.assertCheckoutUntouched()

    def test_10_all_lock_and_a_moved_pin(self):
        """The default branch pins lazygit at v1.0.0 now (test_07's PR merged) while the checkout
        still has v0.57.0: an update (to v0.58.0) would move it back, so it is refused and nothing
        is queued; `update --all` still opens fzf's PR; `lock` proposes jq's checksum only."""
        w = self.world
        pin_branch = [b for b in self.branches() if b.startswith('bkt/upstream-pin-lazygit-')][0]
        w.ugit('--git-dir', w.bare_file, 'update-ref', 'refs/heads/main', 'refs/heads/' + pin_branch)
        before = self.branches()
        rc, out, err = self.bkt('upstream', 'update', 'lazygit', '--pr', '--repo', w.checkout)
        self.assertNotEqual(rc, 0, out)
        self.assertIn('pins lazygit at v1.0.0, not at v0.57.0 as this checkout does', err)
        self.assertIn('git pull', err)
        self.assertEqual(self.branches(), before)
        self.assertEqual(self.forge.take(), [])
        self.assertEqual(self.journal(), [], 'a change no retry can fix was queued')

        rc, out, err = self.bkt('upstream', 'update', '--all', '--pr', '--repo', w.checkout)
        self.assertNotEqual(rc, 0, 'the lazygit part failed')
        branch = self.new_branch(before, 'upstream-update-fzf')
        self.check_request('feat(upstream): update fzf to 0.51.0', branch, ('bkt upstream update --all --pr',))
        self.assertEqual(self.pr_files(branch, 'upstream', 'changed', 'Update fzf from 0.50.0 to 0.51.0',
                                       'bkt upstream update --all'), ['Containerfile', 'upstream/manifest.json'])
        self.assertEqual(self.journal(), [])

        before = self.branches()
        rc, out, err = self.bkt('upstream', 'lock', '--pr', '--repo', w.checkout)
        self.assertEqual(rc, 0, err)
        branch = self.new_branch(before, 'upstream-lock-jq')
        self.check_request('feat(upstream): lock jq jq-1.7.1', branch, ('bkt upstream lock --pr',))
        self.pr_files(branch, 'upstream', 'changed', 'Change upstream jq', 'bkt upstream lock')
        plus, minus = self.changed_lines(branch, 'upstream/manifest.json')
        self.assertEqual(len(plus), 1, plus)
        self.assertEqual(plus[0].replace(sha(JQ_TARBALL), '0' * 64), minus[0])
        plus, minus = self.changed_lines(branch, 'Containerfile')
        self.assertEqual((plus, minus), (['ARG UPSTREAM_JQ_SHA256=' + sha(JQ_TARBALL)],
                                         ['ARG UPSTREAM_JQ_SHA256=' + '0' * 64]))
        self.assertCheckoutUntouched()


if __name__ == '__main__':
    bktenv.main()
