#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`bkt repo info|path`: the distribution repo bkt uses, found each way bkt_repo_discover() finds it
(--repo, "repo" in config.json, the working directory, the managed clone of repo.json's URL), with
what real git says of the checkout (origin, default branch) and what the forge stand-in
(punenv.Forge, GitHub's GET /repos/{o}/{r} with "permissions") says of push access, asked
without writing anything (no POST, the remote's refs unchanged); the journal's counts; `repo path`
for scripts, and a clear error (non-zero exit) when there is no repo."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import punenv  # noqa: E402

SRC = os.environ.get('BKT_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BKT_BUILD_DIR', os.path.join(SRC, 'build'))
BKT = os.path.join(BUILD, 'client', 'bkt')


def git(*args, cwd=None):
    env = {'PATH': os.environ['PATH'], 'HOME': '/nonexistent', 'GIT_CONFIG_NOSYSTEM': '1', 'LANG': 'C.UTF-8'}
    subprocess.run(['git', '-c', 'user.name=Seed', '-c', 'user.email=seed@example.com'] + list(args), cwd=cwd,
                   env=env, check=True, capture_output=True)


class Repo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which('git') is None:
            raise unittest.SkipTest('needs git: not installed')
        cls.root = tempfile.mkdtemp(prefix='bkt-repo-')
        cls.forge = punenv.Forge()
        # a real bare remote acme/distro.git with a default branch "trunk", and a checkout of it
        seed = os.path.join(cls.root, 'seed')
        os.makedirs(os.path.join(seed, 'manifests'))
        with open(os.path.join(seed, 'manifests', 'flatpak-apps.json'), 'w') as f:
            f.write('{ "apps": [] }\n')
        git('init', '-q', '-b', 'trunk', seed)
        git('-C', seed, 'add', '.')
        git('-C', seed, 'commit', '-q', '-m', 'seed')
        cls.bare = os.path.join(cls.root, 'remotes', 'acme', 'distro.git')
        git('clone', '-q', '--bare', seed, cls.bare)
        cls.checkout = os.path.join(cls.root, 'home', 'distro')
        git('clone', '-q', 'file://' + cls.bare, cls.checkout)

    @classmethod
    def tearDownClass(cls):
        cls.forge.stop()
        shutil.rmtree(cls.root, True)

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix='home.', dir=self.root)
        self.forge.take_gets()
        self.forge.take()
        self.forge.push.clear()

    def config(self, **members):
        os.makedirs(os.path.join(self.home, 'config', 'bkt'), exist_ok=True)
        with open(os.path.join(self.home, 'config', 'bkt', 'config.json'), 'w') as f:
            json.dump(dict(api_url=self.forge.url, **members), f)

    def bkt(self, *args, cwd=None, token=True, repo_json=None):
        env = {'PATH': os.environ['PATH'], 'HOME': self.home, 'LANG': 'C.UTF-8',
               'XDG_CONFIG_HOME': os.path.join(self.home, 'config'),
               'XDG_DATA_HOME': os.path.join(self.home, 'data'),
               'BKT_TOOL_PATH': os.environ.get('BKT_TOOL_PATH', os.path.join(BUILD, 'client', 'bkt-tool')),
               'BKT_REPO_JSON': repo_json or os.path.join(self.home, 'no-repo.json')}
        if token:
            env['GITHUB_TOKEN'] = punenv.TOKEN
        # the sanitizer pass of .ci/run: its options and the library leak suppressions
        for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'G_SLICE'):
            if k in os.environ:
                env[k] = os.environ[k]
        return subprocess.run([BKT] + list(args), cwd=cwd or self.home, env=env, capture_output=True, text=True,
                              timeout=60)

    def info(self, *args, **kw):
        p = self.bkt('repo', 'info', '--json', *args, **kw)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def refs(self):
        return subprocess.run(['git', '--git-dir', self.bare, 'for-each-ref'], capture_output=True, text=True,
                              check=True).stdout

    def test_found_in_the_working_directory_with_what_git_says(self):
        self.config()
        info = self.info(cwd=os.path.join(self.checkout, 'manifests'))
        self.assertEqual(info['path'], self.checkout)
        self.assertEqual(info['source'], 'cwd')
        self.assertTrue(info['checkout'])
        self.assertEqual(info['url'], 'file://' + self.bare)
        self.assertEqual((info['owner'], info['name']), ('acme', 'distro'))
        self.assertEqual(info['default_branch'], 'trunk')
        # a file:// remote: push access is the file system's (root may write it)
        self.assertEqual(info['push'], {'known': True, 'allowed': True,
                                        'detail': '%s is writable by this user' % self.bare})
        self.assertEqual((info['local_changes'], info['failed_prs']), (0, 0))
        self.assertEqual(self.forge.take_gets(), [])

    def test_push_access_is_asked_of_the_forge_without_writing(self):
        # an https remote the forge names; repo.json in the checkout says who it is on the forge
        clone = os.path.join(self.home, 'https-clone')
        git('clone', '-q', 'file://' + self.bare, clone)
        git('-C', clone, 'remote', 'set-url', 'origin', 'https://forge.example/acme/distro.git')
        with open(os.path.join(clone, 'repo.json'), 'w') as f:
            json.dump({'owner': 'acme', 'name': 'distro', 'url': 'https://forge.example/acme/distro.git',
                       'default_branch': 'trunk'}, f)
        self.config()
        before = self.refs()
        for allowed in (True, False):
            self.forge.push['distro'] = allowed
            info = self.info('--repo', clone)
            self.assertEqual(info['source'], 'option')
            self.assertEqual(info['push']['known'], True, info['push'])
            self.assertEqual(info['push']['allowed'], allowed)
            gets = self.forge.take_gets()
            self.assertEqual([g['path'] for g in gets], ['/repos/acme/distro'])
            self.assertIn(punenv.TOKEN, gets[0]['headers'].get('Authorization', ''))
        self.assertEqual(self.forge.take(), [], 'repo info sent something to the forge')
        self.assertEqual(self.refs(), before)
        text = self.bkt('repo', 'info', '--repo', clone)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn('Push access:    no (the forge says so for the token from', text.stdout)
        self.assertNotIn(punenv.TOKEN, text.stdout + text.stderr)
        self.forge.take_gets()
        # without a token, or offline, it is unknown and the forge is not asked
        info = self.info('--repo', clone, token=False)
        self.assertEqual(info['push']['known'], False)
        self.assertIn('no forge token', info['push']['detail'])
        info = self.info('--repo', clone, '--offline')
        self.assertEqual(info['push'], {'known': False, 'allowed': None, 'detail': 'not asked (--offline)'})
        self.assertEqual(self.forge.take_gets(), [])

    def test_found_through_config_json(self):
        self.config(repo=self.checkout)
        info = self.info()
        self.assertEqual((info['path'], info['source']), (self.checkout, 'config'))
        self.assertIn('config.json', info['found_by'])

    def test_managed_clone_of_repo_json(self):
        self.config()
        repo_json = os.path.join(self.home, 'repo.json')
        with open(repo_json, 'w') as f:
            json.dump({'owner': 'acme', 'name': 'distro', 'url': 'file://' + self.bare}, f)
        info = self.info(repo_json=repo_json)
        self.assertEqual(info['source'], 'managed')
        self.assertEqual(info['path'], os.path.join(self.home, 'data', 'bkt', 'source'))
        self.assertFalse(info['checkout'])
        self.assertFalse(os.path.exists(info['path']), 'looking cloned the repo')
        # repo.json is checked against its schema: a bad one is a clear error
        with open(repo_json, 'w') as f:
            f.write('{ "url": "file:///x", "owner": "-x" }\n')
        p = self.bkt('repo', 'info', repo_json=repo_json)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('repo.json:1:32: invalid "owner" "-x": must be 1 to 100', p.stderr)

    def test_journal_counts(self):
        self.config()
        queue = os.path.join(self.home, 'data', 'bkt', 'pr-queue.json')
        os.makedirs(os.path.dirname(queue))
        entry = {'summary': 's', 'command': 'bkt flatpak add org.a.B --local', 'subsystem': 'flatpak',
                 'action': 'add', 'name': 'org.a.B', 'created': 1, 'edits': []}
        with open(queue, 'w') as f:
            json.dump({'next_id': 4, 'entries': [dict(entry, id=1, state='local'), dict(entry, id=2, state='local'),
                                                 dict(entry, id=3, state='failed', error='push failed')]}, f)
        info = self.info(cwd=self.checkout)
        self.assertEqual((info['local_changes'], info['failed_prs'], info['queue']), (2, 1, queue))
        text = self.bkt('repo', 'info', cwd=self.checkout).stdout
        self.assertIn('Local changes:  2 (bkt local list', text)
        self.assertIn('Failed PRs:     1 (bkt pr retry)', text)

    def test_path_for_scripts_and_the_error_without_a_repo(self):
        self.config()
        p = self.bkt('repo', 'path', cwd=os.path.join(self.checkout, 'manifests'))
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, self.checkout + '\n', ''))
        for sub in ('path', 'info'):
            p = self.bkt('repo', sub, cwd='/')
            self.assertEqual(p.returncode, 5, p.stderr)
            self.assertEqual(p.stdout, '')
            self.assertIn('no distribution repo found.  Fix:', p.stderr)
        p = self.bkt('repo', 'path', '--repo', self.home)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('is not a git checkout with a manifests/ directory', p.stderr)


if __name__ == '__main__':
    unittest.main()
