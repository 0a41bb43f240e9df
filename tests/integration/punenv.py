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


FORK_OWNER = 'ada'


class Forge:
    """GitHub's POST /repos/{owner}/{repo}/pulls: 201 with html_url/number, or a queued error
    (401 Bad credentials, 422 Validation Failed, 5xx) as GitHub documents them.  Also
    GET /repos/{owner}/{repo} (the repository with the token user's "permissions": push as set
    in self.push, default true) and POST /repos/{owner}/{repo}/forks (202 with the fork, owned by
    FORK_OWNER; self.on_fork(owner, repo) makes the real bare repo and returns its clone URL; the
    fork answers GET with 404 self.fork_delay times first, as GitHub forks asynchronously)."""

    def __init__(self):
        self.requests = []
        self.gets = []
        self.responses = []     # (status, body) used once each, then 201s
        self.push = {}          # repo name -> may the token's user push
        self.forks = {}         # (owner, name) -> [GETs still answered 404, clone_url]
        self.on_fork = None
        self.fork_delay = 2
        self.lock = threading.Lock()
        forge = self

        def repo_json(owner, name, push, clone_url):
            return {'name': name, 'full_name': '%s/%s' % (owner, name), 'owner': {'login': owner},
                    'fork': owner == FORK_OWNER, 'clone_url': clone_url,
                    'ssh_url': 'git@forge.example:%s/%s.git' % (owner, name),
                    'permissions': {'admin': False, 'maintain': False, 'push': push, 'triage': push,
                                    'pull': True}}

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json; charset=utf-8')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parts = self.path.strip('/').split('/')
                with forge.lock:
                    forge.gets.append({'path': self.path, 'headers': dict(self.headers.items())})
                    if len(parts) != 3 or parts[0] != 'repos':
                        status, obj = 404, {'message': 'Not Found'}
                    elif (parts[1], parts[2]) in forge.forks:
                        fork = forge.forks[(parts[1], parts[2])]
                        if fork[0] > 0:
                            fork[0] -= 1
                            status, obj = 404, {'message': 'Not Found'}
                        else:
                            status, obj = 200, repo_json(parts[1], parts[2], True, fork[1])
                    elif parts[1] == OWNER:
                        status, obj = 200, repo_json(OWNER, parts[2], forge.push.get(parts[2], True),
                                                     'https://forge.example/%s/%s.git' % (OWNER, parts[2]))
                    else:
                        status, obj = 404, {'message': 'Not Found'}
                self.reply(status, obj)

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                parts = self.path.strip('/').split('/')
                if len(parts) == 4 and parts[0] == 'repos' and parts[3] == 'forks':
                    with forge.lock:
                        forge.requests.append({'path': self.path, 'headers': dict(self.headers.items()),
                                               'body': body})
                        key = (FORK_OWNER, parts[2])
                        if key not in forge.forks:
                            forge.forks[key] = [forge.fork_delay, forge.on_fork(parts[1], parts[2])]
                        clone_url = forge.forks[key][1]
                    self.reply(202, repo_json(FORK_OWNER, parts[2], True, clone_url))
                    return
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

    def take_gets(self):
        with self.lock:
            r, self.gets = self.gets, []
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

    def snapshot(self, path):
        """What a checkout is (HEAD, its branch, status, index, every file outside .git), to show
        that proposing a change left it alone."""
        files = {}
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if d != '.git']
            for f in filenames:
                with open(os.path.join(dirpath, f), 'rb') as fh:
                    files[os.path.relpath(os.path.join(dirpath, f), path)] = fh.read()
        return {'head': self.ugit('-C', path, 'rev-parse', 'HEAD'),
                'symbolic': self.ugit('-C', path, 'symbolic-ref', 'HEAD'),
                'status': self.ugit('-C', path, 'status', '--porcelain'),
                'index': self.ugit('-C', path, 'diff', '--cached'),
                'files': files}

    def branches(self, bare):
        return set(self.git(None, '--git-dir', bare, 'for-each-ref', '--format=%(refname:short)',
                            'refs/heads').split())

    def bkt_branches(self, bare):
        return {b for b in self.branches(bare) if b.startswith('bkt/')}

    def show(self, bare, rev, path):
        return self.git(None, '--git-dir', bare, 'show', '%s:%s' % (rev, path))

    def stop(self):
        pass


# Run as the user with /usr/bin/python3: stores an item the way gh >= 2.24 does through
# zalando/go-keyring (attributes service=gh:HOST, username=USER; "" for the active account)
# in the default collection, over a "plain" Secret Service session; or locks the collection.
_SECRET_TOOL = r"""
import sys
from gi.repository import Gio, GLib
bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
def call(path, iface, method, params, reply):
    return bus.call_sync('org.freedesktop.secrets', path, iface, method, params,
                         GLib.VariantType(reply), Gio.DBusCallFlags.NONE, 5000, None).unpack()
default = '/org/freedesktop/secrets/aliases/default'
if sys.argv[1] == 'store':
    service, username = sys.argv[2], sys.argv[3]
    secret = sys.stdin.read().encode()
    _, session = call('/org/freedesktop/secrets', 'org.freedesktop.Secret.Service', 'OpenSession',
                      GLib.Variant('(sv)', ('plain', GLib.Variant('s', ''))), '(vo)')
    props = {'org.freedesktop.Secret.Item.Label': GLib.Variant('s', 'gh:%s %s' % (service, username)),
             'org.freedesktop.Secret.Item.Attributes': GLib.Variant('a{ss}', {'service': service,
                                                                               'username': username})}
    item, prompt = call(default, 'org.freedesktop.Secret.Collection', 'CreateItem',
                        GLib.Variant('(a{sv}(oayays)b)', (props, (session, b'', secret, 'text/plain'), True)),
                        '(oo)')
    assert prompt == '/', prompt
    print(item)
elif sys.argv[1] in ('lock', 'unlock'):
    done, prompt = call('/org/freedesktop/secrets', 'org.freedesktop.Secret.Service',
                        sys.argv[1].capitalize(), GLib.Variant('(ao)', ([default],)), '(aoo)')
    print(done, prompt)
"""


class Keyring:
    """gnome-keyring-daemon (secrets component only) as @user on their private session bus, with a
    fresh login keyring in their (test) HOME unlocked by a password on stdin: a real Secret Service."""

    EXE = '/usr/bin/gnome-keyring-daemon'

    @staticmethod
    def unavailable():
        if not os.access(Keyring.EXE, os.X_OK):
            return '%s missing (gnome-keyring)' % Keyring.EXE
        return None

    def __init__(self, env, user):
        self.env, self.user = env, user
        self.log = os.path.join(env.path('logs'), 'gnome-keyring-%s.log' % user)
        uenv = env.session_env(user)
        out = open(self.log, 'w')
        self.popen = subprocess.Popen([self.EXE, '--foreground', '--unlock', '--components=secrets'],
                                      stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=uenv,
                                      cwd=uenv['HOME'], start_new_session=True, **env.user_kwargs(user))
        out.close()
        self.popen.stdin.write(b'bkt-test-keyring-password')
        self.popen.stdin.close()
        self.proc = bktenv.Daemon('gnome-keyring-' + user, self.popen.pid, self.log, self.popen, user=user)
        env.procs.append(self.proc)
        env._wait_name('org.freedesktop.secrets', uenv, 20, bus='--session', proc=self.proc, user=user)

    def tool(self, *args, input=None):
        bktenv.log('[%s] secret service: %s' % (self.user, ' '.join(args)))
        p = self.env.run_as(self.user, ['/usr/bin/python3', '-c', _SECRET_TOOL] + list(args), input=input,
                            quiet_ok=True)
        if p.returncode != 0:
            raise AssertionError('secret tool %s: %s' % (args, p.stderr))
        return p.stdout

    def store(self, service, username, secret):
        return self.tool('store', service, username, input=secret)

    def lock(self):
        return self.tool('lock')

    def stop(self):
        if self.popen.poll() is None:
            bktenv.kill_pid(self.popen.pid, 'gnome-keyring-daemon')
            self.popen.wait(timeout=10)


class SshRemote:
    """A bare clone of @world's remote served over SSH on 127.0.0.1 by a private sshd
    (run as root, its own host key, config, pid file and authorized_keys in the test's
    temp dir, UsePAM no, StrictModes no) plus an ssh-agent run as @user holding the
    user's key.  The test user logs in as itself: its shell is set to /bin/sh and its
    password field to '*' (an unlocked account without a password: sshd refuses a
    locked '!' account when PAM is off) for the duration, and restored by stop().
    The host key goes into the user's ~/.ssh/known_hosts only when asked
    (trust_host_key), so a test can first see an unknown host refused."""

    SSHD = '/usr/sbin/sshd'

    @staticmethod
    def unavailable():
        for exe in (SshRemote.SSHD, '/usr/bin/ssh-keygen', '/usr/bin/ssh-agent', '/usr/bin/ssh-add',
                    '/usr/bin/ssh'):
            if not os.access(exe, os.X_OK):
                return '%s missing (openssh-server, openssh-client)' % exe
        return None

    def __init__(self, env, user, world):
        self.env, self.user, self.world = env, user, world
        self.sshd = self.agent_pid = None
        self.saved_account = None
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        env, user, world = self.env, self.user, self.world
        self.dir = env.path('ssh')
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        pw = pwd.getpwnam(user)
        # the bare repo, owned by the user it is pushed as
        self.bare = os.path.join(world.remotes, OWNER, 'distro-ssh.git')
        world.git(None, 'clone', '-q', '--bare', '--single-branch', '-b', 'main', world.bare_http, self.bare)
        bktenv.chown_tree(self.bare, user)
        # host key and sshd config
        self.host_key = os.path.join(self.dir, 'ssh_host_ed25519_key')
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bkt-test-host', '-f',
                        self.host_key], check=True, capture_output=True)
        # the user's key (in their home) and authorized_keys
        sshdir = os.path.join(env.home(user), '.ssh')
        world.write_user_file(os.path.join(sshdir, 'placeholder'), '')
        os.chmod(sshdir, 0o700)
        self.user_key = os.path.join(sshdir, 'id_ed25519')
        env.run_as(user, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bkt-test-user', '-f',
                          self.user_key], quiet_ok=False)
        self.authorized = os.path.join(self.dir, 'authorized_keys')
        shutil.copy(self.user_key + '.pub', self.authorized)
        os.chmod(self.authorized, 0o644)
        self.known_hosts = os.path.join(sshdir, 'known_hosts')
        self.port = free_port()
        self.config = os.path.join(self.dir, 'sshd_config')
        with open(self.config, 'w') as fh:
            fh.write('ListenAddress 127.0.0.1\n'
                     'HostKey %s\n'
                     'PidFile %s\n'
                     'AuthorizedKeysFile %s\n'
                     'AllowUsers %s\n'
                     'StrictModes no\nUsePAM no\nPasswordAuthentication no\n'
                     'KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n'
                     'PermitRootLogin no\nUseDNS no\nLogLevel VERBOSE\n'
                     % (self.host_key, os.path.join(self.dir, 'sshd.pid'), self.authorized, user))
        # the account: a shell git-upload-pack/git-receive-pack can run under, not locked
        self.saved_account = (pw.pw_shell, self._shadow_password(user))
        bktenv.run(['usermod', '-s', '/bin/sh', '-p', '*', user])
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)   # sshd's privilege separation directory
        self.log = os.path.join(env.path('logs'), 'sshd.log')
        self.sshd = subprocess.Popen([self.SSHD, '-D', '-e', '-f', self.config, '-p', str(self.port)],
                                     stdout=open(self.log, 'w'), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        env.procs.append(bktenv.Daemon('sshd', self.sshd.pid, log_path=self.log, popen=self.sshd))
        wait_port(self.port)
        # ssh-agent as the user, on a socket in the temp dir
        agent_dir = os.path.join(self.dir, 'agent')
        os.makedirs(agent_dir)
        bktenv.chown_tree(agent_dir, user)
        self.agent_sock = os.path.join(agent_dir, 'agent.sock')
        p = env.run_as(user, ['ssh-agent', '-s', '-a', self.agent_sock])
        if p.returncode != 0:
            raise bktenv.EnvError('ssh-agent: %s' % p.stderr)
        m = [l for l in p.stdout.split(';') if 'SSH_AGENT_PID=' in l]
        self.agent_pid = int(m[0].split('=')[1])
        env.procs.append(bktenv.Daemon('ssh-agent', self.agent_pid, user=user))
        p = env.run_as(user, ['ssh-add', self.user_key], env_extra={'SSH_AUTH_SOCK': self.agent_sock})
        if p.returncode != 0:
            raise bktenv.EnvError('ssh-add: %s' % p.stderr)
        self.url = 'ssh://%s@127.0.0.1:%d%s' % (user, self.port, self.bare)

    @staticmethod
    def _shadow_password(user):
        with open('/etc/shadow') as fh:
            for line in fh:
                f = line.split(':')
                if f[0] == user:
                    return f[1]
        return '!'

    def host_key_line(self):
        with open(self.host_key + '.pub') as fh:
            kind, key = fh.read().split()[:2]
        return '[127.0.0.1]:%d %s %s\n' % (self.port, kind, key)

    def trust_host_key(self):
        self.world.write_user_file(self.known_hosts, self.host_key_line())

    def ssh_command(self):
        """GIT_SSH_COMMAND for the git CLI as the user: the agent, the known_hosts file, no prompts."""
        return 'ssh -o BatchMode=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=no' \
            % self.known_hosts

    def stop(self):
        if self.agent_pid:
            bktenv.kill_pid(self.agent_pid, 'ssh-agent')
            self.agent_pid = None
        if self.sshd:
            bktenv.kill_pid(self.sshd.pid, 'sshd')
            self.sshd.wait(timeout=10)
            self.sshd = None
        if self.saved_account:
            shell, password = self.saved_account
            bktenv.run(['usermod', '-s', shell, '-p', password, self.user])
            self.saved_account = None
