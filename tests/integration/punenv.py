# SPDX-License-Identifier: LGPL-2.1-or-later
"""Local servers for command punning (issue 3): git remotes over file:// and
smart HTTP (tests/integration/git_smart_http.py) and a forge API test server
speaking GitHub's "create a pull request" shapes.  Used by test_punning.py and
tests/bench/punning.py.  Everything listens on 127.0.0.1 only."""

import http.server
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bktenv  # noqa: E402

TOKEN = 'ghp_bktTestToken0123456789SECRETxyz'
OWNER = 'acme'
GIT_NAME = 'Ada Admin'
GIT_EMAIL = 'ada@example.com'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise bktenv.EnvError('nothing listens on 127.0.0.1:%d' % port)


class Forge:
    """GitHub's POST /repos/{owner}/{repo}/pulls: 201 with html_url/number, or a queued error
    (401 Bad credentials, 422 Validation Failed, 5xx) as GitHub documents them."""

    def __init__(self):
        self.requests = []
        self.responses = []     # (status, body) used once each, then 201s
        self.lock = threading.Lock()
        forge = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with forge.lock:
                    forge.requests.append({'path': self.path, 'headers': dict(self.headers.items()),
                                           'body': body})
                    n = len(forge.requests)
                    status, reply = forge.responses.pop(0) if forge.responses else (201, None)
                if status == 201:
                    parts = self.path.strip('/').split('/')
                    reply = {'number': n, 'state': 'open',
                             'html_url': 'https://forge.example/%s/%s/pull/%d' % (parts[1], parts[2], n),
                             'head': {'ref': body.get('head') if body else None},
                             'base': {'ref': body.get('base') if body else None}}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json; charset=utf-8')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, status):
        bodies = {
            401: {'message': 'Bad credentials', 'documentation_url': 'https://docs.github.com/rest'},
            403: {'message': 'Resource not accessible by integration'},
            404: {'message': 'Not Found'},
            422: {'message': 'Validation Failed', 'errors': [
                {'resource': 'PullRequest', 'code': 'custom', 'message': 'A pull request already exists'}]},
        }
        with self.lock:
            self.responses.append((status, bodies.get(status, {'message': 'Server Error'})))

    def take(self):
        with self.lock:
            r, self.requests = self.requests, []
        return r

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class GitWorld:
    """A seeded distribution repo as bare remotes (file:// owned by @user, HTTP served by
    git http-backend as root), checkouts of both in @user's home, the user's git identity,
    gh hosts.yml with TOKEN and config.json pointing at the forge."""

    def __init__(self, env, user, forge, seed_dir):
        self.env, self.user, self.forge = env, user, forge
        self.root = env.path('git')
        self.remotes = os.path.join(self.root, 'remotes')
        os.makedirs(os.path.join(self.remotes, OWNER))
        work = os.path.join(self.root, 'seed')
        os.makedirs(os.path.join(work, 'manifests'))
        for f in sorted(os.listdir(seed_dir)):
            shutil.copy(os.path.join(seed_dir, f), os.path.join(work, 'manifests', f))
        with open(os.path.join(work, 'README.md'), 'w') as fh:
            fh.write('# a distribution\n')
        self.git(None, 'init', '-q', '-b', 'main', work)
        self.git(None, '-C', work, 'add', '.')
        self.git(None, '-C', work, '-c', 'user.name=Seed', '-c', 'user.email=seed@example.com',
                 'commit', '-q', '-m', 'seed')
        self.bare_file = os.path.join(self.remotes, OWNER, 'distro.git')
        self.bare_http = os.path.join(self.remotes, OWNER, 'distro-http.git')
        for b in (self.bare_file, self.bare_http):
            self.git(None, 'clone', '-q', '--bare', work, b)
        bktenv.chown_tree(self.bare_file, user)
        os.chmod(self.root, 0o755)
        os.chmod(self.remotes, 0o755)

        self.http_port = free_port()
        self.http = subprocess.Popen(['/usr/bin/python3', os.path.join(HERE, 'git_smart_http.py'),
                                      str(self.http_port), self.remotes],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        env.procs.append(bktenv.Daemon('git-smart-http', self.http.pid, popen=self.http))
        wait_port(self.http_port)
        self.http_url = 'http://127.0.0.1:%d/%s/distro-http.git' % (self.http_port, OWNER)
        self.file_url = 'file://' + self.bare_file

        home = env.home(user)
        self.write_user_file(os.path.join(home, '.gitconfig'),
                             '[user]\n\tname = %s\n\temail = %s\n' % (GIT_NAME, GIT_EMAIL))
        self.hosts = os.path.join(env.config_home(user), 'gh', 'hosts.yml')
        self.write_user_file(self.hosts, '127.0.0.1:\n    oauth_token: %s\n    user: %s\n    '
                                         'git_protocol: https\n' % (TOKEN, user))
        self.write_user_file(os.path.join(env.config_home(user), 'bkt', 'config.json'),
                             json.dumps({'api_url': forge.url}) + '\n')
        self.checkout = os.path.join(home, 'distro')
        self.checkout_http = os.path.join(home, 'distro-http')
        self.ugit('clone', '-q', self.file_url, self.checkout)
        self.ugit('clone', '-q', self.http_url, self.checkout_http)

    def write_user_file(self, path, text):
        home = self.env.home(self.user)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as fh:
            fh.write(text)
        pw = pwd.getpwnam(self.user)
        p = home
        for part in os.path.relpath(path, home).split(os.sep):
            p = os.path.join(p, part)
            os.chown(p, pw.pw_uid, pw.pw_gid)

    def git(self, cwd, *args):
        env = {'PATH': bktenv.BASE_PATH, 'HOME': self.root, 'GIT_CONFIG_NOSYSTEM': '1', 'LANG': 'C.UTF-8',
               'GIT_CONFIG_COUNT': '1', 'GIT_CONFIG_KEY_0': 'safe.directory', 'GIT_CONFIG_VALUE_0': '*'}
        p = subprocess.run(['git'] + list(args), cwd=cwd, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError('git %s failed: %s' % (' '.join(args), p.stderr))
        return p.stdout

    def ugit(self, *args, check=True):
        """git as the user, in their environment."""
        p = self.env.run_as(self.user, ['git'] + list(args), quiet_ok=True)
        if check and p.returncode != 0:
            raise AssertionError('git %s failed: %s' % (' '.join(args), p.stderr))
        return p.stdout

    def branches(self, bare):
        return set(self.git(None, '--git-dir', bare, 'for-each-ref', '--format=%(refname:short)',
                            'refs/heads').split())

    def bkt_branches(self, bare):
        return {b for b in self.branches(bare) if b.startswith('bkt/')}

    def show(self, bare, rev, path):
        return self.git(None, '--git-dir', bare, 'show', '%s:%s' % (rev, path))

    def stop(self):
        pass
