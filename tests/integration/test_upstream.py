#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`bkt upstream` against a GitHub-like API written here (http.server in a
thread) that speaks the releases and tags JSON shapes and serves real asset
bytes: the semver policy table through `check`, update writing the right
pin, sha256 and changelog entry and changing only the pin's lines, verify
catching a checksum mismatch (exit 1), lock filling zero checksums, the
rate limit (403 + X-RateLimit-Remaining: 0) and 5xx handled with clear
messages, every upstream fetched concurrently in one run, ETag 304 reuse on
a second check, the Containerfile's UPSTREAM_PINS section, and bad input
(malformed manifest, traversal and option-like names) writing nothing.
Client only: no session bus, no daemon, as in CI.  BKT_VALGRIND=1 runs bkt
under valgrind memcheck.
"""

import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402

SRC = bktenv.SOURCE_DIR
BKT = bktenv.install().bkt
ORIGINAL = os.path.join(SRC, 'tests', 'data', 'original', 'upstream-manifest.json')
EXIT_UNVERIFIED = 7
EXIT_FAILED, EXIT_USAGE, EXIT_INVALID = 1, 2, 5
TOKEN = 'ghp_secret-test-token-123'
NOW = '2026-01-05T10:00:00Z'


def git(repo, *args):
    return subprocess.run(['git', '-C', repo, '-c', 'user.name=T', '-c', 'user.email=t@example.org'] + list(args),
                          check=True, capture_output=True, text=True).stdout


class FakeGitHub:
    """Releases (or tags) per OWNER/REPO, asset bytes, faults per repo, and
    what was asked: requests per path, 304s, the most requests in flight at
    once, the Authorization headers seen."""

    def __init__(self, delay=0.3):
        self.repos = {}       # 'o/r' -> {'releases': [...]} or {'tags': [...]}
        self.assets = {}      # path -> bytes
        self.faults = {}      # 'o/r' -> ('ratelimit'|'5xx'|'5xx-once', ...)
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.hits = {}
        self.not_modified = 0
        self.auth = set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            # headers and body are two writes: without this, Nagle and the
            # client's delayed ACK add 40 ms to every answer with a body
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def send(self, code, body=b'', headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with server.lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                    if self.headers.get('Authorization'):
                        server.auth.add(self.headers['Authorization'])
                try:
                    self.route()
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def route(self):
                path = self.path.split('?')[0]
                m = re.match(r'^/api/repos/([^/]+/[^/]+)/(releases|tags)$', path)
                if m:
                    time.sleep(server.delay)  # so that overlapping requests overlap
                    repo = m.group(1)
                    fault = server.faults.get(repo)
                    if fault == 'ratelimit':
                        reset = int(time.time()) + 1800
                        return self.send(403, b'{"message": "API rate limit exceeded"}',
                                         [('X-RateLimit-Remaining', '0'), ('X-RateLimit-Reset', str(reset)),
                                          ('Content-Type', 'application/json')])
                    if fault == 'retry-after':
                        return self.send(429, b'{"message": "secondary rate limit"}', [('Retry-After', '60')])
                    if fault == '5xx' or (fault == '5xx-once' and server.hits[self.path] == 1):
                        return self.send(502, b'{"message": "Bad gateway"}')
                    if repo not in server.repos or m.group(2) not in server.repos[repo]:
                        return self.send(404, b'{"message": "Not Found"}')
                    body = json.dumps(server.repos[repo][m.group(2)]).encode()
                    etag = '"%s"' % hashlib.sha1(body).hexdigest()
                    if self.headers.get('If-None-Match') == etag:
                        with server.lock:
                            server.not_modified += 1
                        return self.send(304, b'', [('ETag', etag)])
                    return self.send(200, body, [('ETag', etag), ('Content-Type', 'application/json')])
                m = re.match(r'^/api/repos/([^/]+/[^/]+)/releases/tags/([^/]+)$', path)
                if m:
                    repo = server.repos.get(m.group(1), {})
                    for rel in repo.get('releases', []) + repo.get('older', []):
                        if rel['tag_name'] == m.group(2):
                            return self.send(200, json.dumps(rel).encode(), [('Content-Type', 'application/json')])
                    return self.send(404, b'{"message": "Not Found"}')
                if path in server.assets:
                    time.sleep(server.delay / 3)
                    with server.lock:
                        fail = server.faults.get(path, 0)  # a number of 503s still to answer
                        server.faults[path] = max(0, fail - 1)
                    if fail:
                        return self.send(503, b'busy')
                    return self.send(200, server.assets[path], [('Content-Type', 'application/octet-stream')])
                return self.send(404, b'{"message": "Not Found"}')

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops concurrent SYNs: 1 s retransmits

        self.httpd = Server(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.base = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.api = self.base + '/api'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def release(self, repo, tag, assets=(), prerelease=False, draft=False, commitish='main', older=False):
        """A release with assets (name -> bytes), GitHub's shape; @older: past the
        first page of the list, found only by its tag."""
        rel = {'tag_name': tag, 'name': tag, 'draft': draft, 'prerelease': prerelease,
               'target_commitish': commitish,
               'tarball_url': '%s/api/repos/%s/tarball/%s' % (self.base, repo, tag),
               'zipball_url': '%s/api/repos/%s/zipball/%s' % (self.base, repo, tag),
               'assets': []}
        for name, data in assets:
            p = '/download/%s/%s/%s' % (repo, tag, name)
            self.assets[p] = data
            rel['assets'].append({'name': name, 'size': len(data), 'browser_download_url': self.base + p})
        self.assets['/api/repos/%s/tarball/%s' % (repo, tag)] = ('tarball %s %s' % (repo, tag)).encode()
        self.repos.setdefault(repo, {}).setdefault('older' if older else 'releases', []).append(rel)
        return rel

    def tag(self, repo, name, sha):
        t = {'name': name, 'commit': {'sha': sha, 'url': '%s/api/repos/%s/commits/%s' % (self.base, repo, sha)},
             'tarball_url': '%s/api/repos/%s/tarball/%s' % (self.base, repo, name),
             'zipball_url': '%s/api/repos/%s/zipball/%s' % (self.base, repo, name), 'node_id': 'x'}
        self.assets['/api/repos/%s/tarball/%s' % (repo, name)] = ('tarball %s %s' % (repo, name)).encode()
        self.repos.setdefault(repo, {}).setdefault('tags', []).append(t)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def upstream(name, repo, version, policy=None, pattern=None, tag=False, sha256='0' * 64):
    u = {'name': name, 'source': {'type': 'github', 'repo': repo}}
    if pattern:
        u['source']['asset_pattern'] = pattern
    if tag:
        u['source']['release_type'] = 'tag'
    u['pinned'] = {'version': version, 'sha256': sha256, 'pinned_at': '2025-01-01T00:00:00Z'}
    if policy:
        u['policy'] = policy
    return u


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='bkt-upstream-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        home = os.path.join(self.tmp, 'home')
        os.makedirs(home)
        self.gh = FakeGitHub()
        self.addCleanup(self.gh.stop)
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, '.config'),
                        XDG_DATA_HOME=os.path.join(home, '.local', 'share'),
                        XDG_CACHE_HOME=os.path.join(home, '.cache'),
                        BKT_REPO_JSON=os.path.join(self.tmp, 'no-repo.json'), LC_ALL='C.UTF-8',
                        BKT_GITHUB_API=self.gh.api, GITHUB_TOKEN=TOKEN, BKT_NOW=NOW,
                        G_DEBUG='fatal-criticals')
        for k in ('DBUS_SESSION_BUS_ADDRESS', 'DBUS_SYSTEM_BUS_ADDRESS', 'GH_TOKEN', 'GH_CONFIG_DIR'):
            self.env.pop(k, None)
        self.env['DBUS_SESSION_BUS_ADDRESS'] = 'unix:path=' + os.path.join(self.tmp, 'no-bus')
        self.repo = os.path.join(self.tmp, 'distro')
        os.makedirs(os.path.join(self.repo, 'manifests'))
        os.makedirs(os.path.join(self.repo, 'upstream'))
        with open(os.path.join(self.repo, 'CHANGELOG.md'), 'w') as f:
            f.write('# Changelog\n\n<!-- changelog entries start -->\n')
        self.manifest = os.path.join(self.repo, 'upstream', 'manifest.json')

    def commit(self):
        if not os.path.isdir(os.path.join(self.repo, '.git')):
            git(self.repo, 'init', '-q', '-b', 'main')
        git(self.repo, 'add', '-A')
        git(self.repo, 'commit', '-q', '-m', 'fixture')

    def write_manifest(self, upstreams):
        with open(self.manifest, 'w') as f:
            json.dump({'$schema': '../schemas/upstream-manifest.schema.json', 'upstreams': upstreams}, f, indent=2)
            f.write('\n')
        self.commit()

    def bkt(self, *args, env=None):
        cmd = [BKT] + list(args)
        env = dict(env or {})
        if os.environ.get('BKT_VALGRIND') == '1':
            env['G_SLICE'] = 'always-malloc'  # slices would hide leaked objects
            # --trace-children: bkt execs bkt-tool, which runs the upstream commands
            cmd = ['valgrind', '--quiet', '--trace-children=yes', '--error-exitcode=99', '--leak-check=full',
                   '--errors-for-leak-kinds=definite',
                   '--suppressions=' + os.path.join(SRC, 'tests', 'valgrind.supp')] + cmd
        r = subprocess.run(cmd, cwd=self.repo, env=dict(self.env, **env), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=300)
        self.assertNotEqual(r.returncode, 99, r.stderr)
        # the token is never printed; no GLib/json-glib warnings either
        self.assertNotIn(TOKEN, r.stdout + r.stderr)
        self.assertNotRegex(r.stderr, r'-(CRITICAL|WARNING) \*\*')
        return r

    def ok(self, *args, **kw):
        r = self.bkt(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def load(self):
        with open(self.manifest) as f:
            return {u['name']: u for u in json.load(f)['upstreams']}

    def snapshot(self):
        out = {}
        for d, _, files in os.walk(self.repo):
            if '.git' in d.split(os.sep):
                continue
            for n in files:
                with open(os.path.join(d, n), 'rb') as f:
                    out[os.path.relpath(os.path.join(d, n), self.repo)] = f.read()
        return out

    def pending(self):
        d = os.path.join(self.repo, '.changelog', 'pending')
        out = []
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n)) as f:
                out.append(json.load(f))
        return out


class CheckTest(Base):
    def fixture(self):
        gh = self.gh
        for tag, pre in (('v1.2.3', False), ('v1.2.4', False), ('v1.2.5-rc1', True), ('v1.3.0', False),
                         ('v2.0.0', False)):
            gh.release('acme/tool', tag, [('tool-%s-linux.tar.gz' % tag, b'tool ' + tag.encode())], prerelease=pre)
        for tag, pre in (('1.2.3-rc1', True), ('1.2.3-rc2', True), ('1.2.3', False)):
            gh.release('acme/beta', tag, prerelease=pre)
        for tag in ('2024.01.05', '2024.02.01'):
            gh.release('acme/cal', tag)
        gh.release('acme/cal', '2024.03.01-draft', draft=True)
        gh.release('acme/cal', 'release/2099.01.01')  # a tag no pin can hold: ignored
        for name in ('2024-11-18', '2025-01-02', '2024-06-30'):
            gh.tag('acme/icons', name, hashlib.sha1(name.encode()).hexdigest())
        ups = [upstream('pa', 'acme/tool', 'v1.2.3', 'patch'),
               upstream('mi', 'acme/tool', 'v1.2.3', 'minor'),
               upstream('ma', 'acme/tool', 'v1.2.3', 'major'),
               upstream('pn', 'acme/tool', 'v1.2.3', 'pin'),
               upstream('df', 'acme/tool', 'v1.2.3'),
               upstream('beta', 'acme/beta', '1.2.3-rc1', 'patch'),
               upstream('cal-minor', 'acme/cal', '2024.01.05', 'minor'),
               upstream('cal-major', 'acme/cal', '2024.01.05', 'major'),
               upstream('icons', 'acme/icons', '2024-11-18', 'major', tag=True),
               {'name': 'plain', 'source': {'type': 'url', 'url': gh.base + '/download/plain.bin'},
                'pinned': {'version': '1', 'sha256': '0' * 64, 'pinned_at': '2025-01-01T00:00:00Z'}}]
        self.write_manifest(ups)

    def check(self, *args):
        r = self.bkt('upstream', 'check', '--json', *args)
        return r, {u['name']: u for u in json.loads(r.stdout)['upstreams']}

    def test_policy_table(self):
        self.fixture()
        r, out = self.check()
        self.assertEqual(r.returncode, 0, r.stderr)
        want = {  # name: (latest, allowed, state)
            'pa': ('v2.0.0', 'v1.2.4', 'update-available'),
            'mi': ('v2.0.0', 'v1.3.0', 'update-available'),
            'ma': ('v2.0.0', 'v2.0.0', 'update-available'),
            'pn': ('v2.0.0', None, 'outside-policy'),
            'df': ('v2.0.0', None, 'outside-policy'),      # no policy: pin
            'beta': ('1.2.3', '1.2.3', 'update-available'),  # pinned pre-release: pre-releases count
            'cal-minor': ('2024.02.01', None, 'outside-policy'),  # not semver: only major moves
            'cal-major': ('2024.02.01', '2024.02.01', 'update-available'),
            'icons': ('2025-01-02', '2025-01-02', 'update-available'),
        }
        for name, (latest, allowed, state) in want.items():
            self.assertEqual((out[name].get('latest'), out[name].get('allowed'), out[name]['state']),
                             (latest, allowed, state), name)
        self.assertEqual(out['df']['policy'], 'pin')
        self.assertEqual(out['plain']['state'], 'not-checked')
        # --pre: a pre-release the policy allows is taken
        r, out = self.check('--pre', 'pa')
        self.assertEqual(out['pa']['allowed'], 'v1.2.5-rc1')
        # the table
        r = self.ok('upstream', 'check')
        self.assertRegex(r.stdout, r'pa\s+v1\.2\.3\s+v2\.0\.0\s+v1\.2\.4\s+patch\s+update-available')
        self.assertIn('not-checked: source type url', r.stdout)

    def test_concurrent_and_etag(self):
        self.fixture()
        t0 = time.monotonic()
        r, out = self.check()
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        # one request per github upstream, all in flight together
        api_hits = {p: n for p, n in self.gh.hits.items() if p.startswith('/api/')}
        self.assertEqual(sum(api_hits.values()), 9, api_hits)
        self.assertGreaterEqual(self.gh.max_in_flight, 5, 'requests were not concurrent')
        if os.environ.get('BKT_VALGRIND') != '1':
            self.assertLess(elapsed, 9 * self.gh.delay, 'as slow as one request after the other')
        self.assertEqual(self.gh.auth, {'Bearer ' + TOKEN})
        # again: If-None-Match, 304 everywhere, the same answer from the cache
        r2, out2 = self.check()
        self.assertEqual(self.gh.not_modified, 9)
        for name in out:
            out2[name].pop('cached', None)
            out[name].pop('cached', None)
        self.assertEqual(out, out2)
        cache = os.path.join(self.env['XDG_CACHE_HOME'], 'bkt', 'upstream')
        self.assertEqual(len(os.listdir(cache)), 4)  # one per API URL (4 repos)
        # the sequential mode (the benchmark's baseline) asks the same
        r3, out3 = self.check('--sequential')
        self.assertEqual(r3.returncode, 0, r3.stderr)

    def test_api_from_config_json(self):
        self.fixture()
        cfg = os.path.join(self.env['XDG_CONFIG_HOME'], 'bkt')
        os.makedirs(cfg)
        with open(os.path.join(cfg, 'config.json'), 'w') as f:
            json.dump({'github_api_url': self.gh.api + '/'}, f)
        r = self.bkt('upstream', 'check', 'pa', '--json', env={'BKT_GITHUB_API': ''})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)['upstreams'][0]['allowed'], 'v1.2.4')
        # the environment wins over config.json
        r = self.bkt('upstream', 'check', 'pa', env={'BKT_GITHUB_API': 'http://127.0.0.1:9/nowhere'})
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('cannot reach http://127.0.0.1:9/nowhere', r.stdout)

    def test_rate_limit(self):
        self.fixture()
        self.gh.faults['acme/cal'] = 'ratelimit'
        r, out = self.check()
        self.assertEqual(r.returncode, EXIT_FAILED)
        for name in ('cal-minor', 'cal-major'):
            self.assertEqual(out[name]['state'], 'error')
            self.assertIn('rate limit exhausted', out[name]['detail'])
            self.assertRegex(out[name]['detail'], r'resets at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC')
        # not retried: one request each
        self.assertEqual(self.gh.hits['/api/repos/acme/cal/releases?per_page=100'], 2)
        # the others are still answered
        self.assertEqual(out['pa']['state'], 'update-available')
        # a secondary limit: 429 + Retry-After, said so, not retried either
        self.gh.faults['acme/beta'] = 'retry-after'
        r, out = self.check()
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertEqual(out['beta']['detail'], 'GitHub API rate limit (HTTP 429): retry after 60 seconds; not retried')
        self.assertEqual(self.gh.hits['/api/repos/acme/beta/releases?per_page=100'], 2)  # once per check

    def test_5xx(self):
        self.fixture()
        self.gh.faults['acme/cal'] = '5xx'
        self.gh.faults['acme/beta'] = '5xx-once'
        ups = [u for u in self.load().values() if u['name'] != 'cal-major']
        self.write_manifest(ups)
        r, out = self.check()
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertEqual(out['cal-minor']['state'], 'error')
        self.assertIn('HTTP 502', out['cal-minor']['detail'])
        self.assertIn('after 3 attempts', out['cal-minor']['detail'])
        self.assertEqual(self.gh.hits['/api/repos/acme/cal/releases?per_page=100'], 3)  # bounded
        self.assertEqual(out['beta']['state'], 'update-available')  # retried once, then fine
        self.assertEqual(out['pa']['state'], 'update-available')
        r = self.bkt('upstream', 'check')
        self.assertRegex(r.stdout, r'cal-minor .*error: the API failed \(HTTP 502: Bad gateway\) after 3 attempts')


class NewManifestTest(Base):
    def test_add_creates_the_manifest(self):
        self.commit()
        self.gh.tag('acme/tagged', 'v3.0.0', 'c' * 40)
        self.gh.tag('acme/tagged', 'v3.1.0-rc1', 'd' * 40)
        r = self.bkt('upstream', 'list')
        self.assertEqual(r.returncode, EXIT_INVALID)
        self.assertIn('upstream/manifest.json: no such file (bkt upstream add creates it)', r.stderr)
        self.ok('upstream', 'add', 'tagged', '--github', 'acme/tagged', '--tag', '--policy', 'major')
        with open(self.manifest) as f:
            doc = json.load(f)
        self.assertEqual(doc['upstreams'], [{
            'name': 'tagged', 'source': {'type': 'github', 'repo': 'acme/tagged', 'release_type': 'tag'},
            'policy': 'major',
            'pinned': {'version': 'v3.0.0', 'commit': 'c' * 40,
                       'url': self.gh.api + '/repos/acme/tagged/tarball/v3.0.0',
                       'sha256': sha(b'tarball acme/tagged v3.0.0'), 'pinned_at': NOW}}])
        self.ok('upstream', 'verify')
        # a pre-release tag (semver) is not taken without --pre
        r = self.ok('upstream', 'update', 'tagged')
        self.assertIn('tagged: v3.0.0 (major)', r.stdout)
        self.ok('upstream', 'update', 'tagged', '--pre')
        self.assertEqual(self.load()['tagged']['pinned']['version'], 'v3.1.0-rc1')


class ReferenceTest(Base):
    """The original's manifest, unchanged, against releases of its upstreams."""

    def fixture(self, policy_for=None):
        gh = self.gh
        self.assets = {}
        for tag in ('v2.0.6', 'v2.0.7', 'v2.0.8', 'v2.1.0'):
            data = ('bibata %s' % tag).encode() * 1000
            gh.release('ful1e5/Bibata_Cursor', tag, [('Bibata-Modern-Ice.tar.xz', data),
                                                     ('Bibata-Modern-Classic.tar.xz', b'other')],
                       commitish='a' * 40)
            self.assets[('bibata', tag)] = data
        gh.release('getnf/getnf', 'v0.3.0')
        for tag in ('v0.57.0', 'v0.58.0'):
            gh.release('jesseduffield/lazygit', tag, [('lazygit_%s_Linux_x86_64.tar.gz' % tag[1:], b'lg ' + tag.encode()),
                                                      ('lazygit_%s_Darwin_x86_64.tar.gz' % tag[1:], b'mac')])
        gh.release('starship/starship', 'v1.24.1', [('starship-x86_64-unknown-linux-gnu.tar.gz', b'starship')])
        gh.tag('rvaiya/keyd', 'v2.6.0', 'b' * 40)
        gh.tag('vinceliuice/WhiteSur-icon-theme', '2024-11-18', 'bab5833b5cae200bccb786a2d3d6afa2201e7806')
        with open(ORIGINAL) as f:
            text = f.read()
        if policy_for:
            # the one line a maintainer adds to opt in to updates
            text = text.replace('"name": "%s",\n' % policy_for,
                                '"name": "%s",\n      "policy": "patch",\n' % policy_for, 1)
        with open(self.manifest, 'w') as f:
            f.write(text)
        with open(os.path.join(self.repo, 'Containerfile'), 'w') as f:
            f.write('FROM ghcr.io/ublue-os/bazzite-gnome:stable\n'
                    '# === UPSTREAM_PINS (managed by bkt) ===\n'
                    '# === END UPSTREAM_PINS ===\n'
                    'RUN curl -fsSL "$UPSTREAM_BIBATA_CURSOR_URL" -o /tmp/b.tar.xz'
                    ' && echo "$UPSTREAM_BIBATA_CURSOR_SHA256  /tmp/b.tar.xz" | sha256sum -c\n')
        self.commit()

    def test_list_info_unchanged(self):
        self.fixture()
        before = self.snapshot()
        r = self.ok('upstream', 'list')
        self.assertRegex(r.stdout, r'keyd\s+v2\.6\.0\s+pin\s+rvaiya/keyd\s+\(not locked\)')
        r = self.ok('upstream', 'info', 'getnf')
        self.assertIn('commit: d58e0e7748783eb84dda959e1fd81bdee6481543', r.stdout)
        self.assertIn('policy: pin (default)', r.stdout)
        self.ok('upstream', 'update', '--all')  # every policy is the default: nothing moves
        self.assertEqual(self.snapshot(), before)

    def test_update_writes_pin_and_entry(self):
        self.fixture(policy_for='bibata-cursor')
        before = self.snapshot()
        r = self.ok('upstream', 'update', 'bibata-cursor', '--dry-run')
        self.assertIn('would update v2.0.7 → v2.0.8', r.stdout)
        self.assertEqual(self.snapshot(), before)
        r = self.ok('upstream', 'update', '--all')
        self.assertIn('bibata-cursor: v2.0.7 → v2.0.8', r.stdout)
        pin = self.load()['bibata-cursor']['pinned']
        url = self.gh.base + '/download/ful1e5/Bibata_Cursor/v2.0.8/Bibata-Modern-Ice.tar.xz'
        self.assertEqual(pin, {'version': 'v2.0.8', 'commit': 'a' * 40, 'url': url,
                               'sha256': sha(self.assets[('bibata', 'v2.0.8')]), 'pinned_at': NOW})
        # only the pin's lines changed
        diff = git(self.repo, 'diff', '-U0', '--', 'upstream/manifest.json')
        changed = [l for l in diff.splitlines() if l[:1] in '+-' and not l.startswith(('+++', '---'))]
        self.assertEqual(len(changed), 8, diff)  # 3 old lines, 5 new (version, commit, url, sha256, pinned_at)
        for line in changed:
            self.assertRegex(line, r'^[+-]        "(version|commit|url|sha256|pinned_at)": ', diff)
        # the changelog entry, from the changelog engine
        entries = self.pending()
        self.assertEqual(len(entries), 1)
        e = entries[0]
        self.assertEqual((e['type'], e['category']), ('changed', 'upstream'))
        self.assertEqual(e['message'], 'Update bibata-cursor from v2.0.7 to v2.0.8')
        self.assertIn('upstream update --all', e['command'])
        self.ok('changelog', 'validate')
        # again: nothing to do, nothing written
        after = self.snapshot()
        r = self.ok('upstream', 'update', 'bibata-cursor')
        self.assertEqual(self.snapshot(), after)
        # the Containerfile reads the new pin once generated
        r = self.bkt('upstream', 'generate', '--check')
        self.assertEqual(r.returncode, EXIT_FAILED)
        # -n: says it would regenerate, writes nothing, exit 0
        before = self.snapshot()
        r = self.ok('-n', 'upstream', 'generate')
        self.assertIn('would regenerate UPSTREAM_PINS (--dry-run: nothing written)', r.stdout)
        self.assertEqual(self.snapshot(), before)
        self.ok('upstream', 'generate')
        with open(os.path.join(self.repo, 'Containerfile')) as f:
            cf = f.read()
        self.assertIn('ARG UPSTREAM_BIBATA_CURSOR_VERSION=v2.0.8\n', cf)
        self.assertIn('ARG UPSTREAM_BIBATA_CURSOR_URL=%s\n' % url, cf)
        self.assertIn('ARG UPSTREAM_BIBATA_CURSOR_SHA256=%s\n' % pin['sha256'], cf)
        self.assertIn('ARG UPSTREAM_KEYD_VERSION=v2.6.0\n', cf)
        self.ok('upstream', 'generate', '--check')
        self.ok('containerfile', 'check')  # the same section, through `bkt containerfile`

    def test_pin_lock_verify(self):
        self.fixture()
        # the original's real checksums do not match this server's bytes,
        # and four pins have none
        r = self.bkt('upstream', 'verify')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('CHECKSUM MISMATCH: bibata-cursor v2.0.7', r.stderr)
        self.assertIn('CHECKSUM MISMATCH: getnf v0.3.0', r.stderr)
        for name in ('keyd', 'lazygit', 'starship', 'whitesur-icons'):
            self.assertIn('%s ' % name, r.stderr)
            self.assertIn('no checksum (all zeros): run bkt upstream lock', r.stderr)
        self.assertIn('6 of 6 pins FAILED verification', r.stdout)
        # lock fills the zeros and changes nothing else
        self.ok('upstream', 'lock')
        pins = {n: u['pinned'] for n, u in self.load().items()}
        self.assertEqual(pins['keyd']['sha256'], sha(b'tarball rvaiya/keyd v2.6.0'))
        self.assertEqual(pins['lazygit']['sha256'], sha(b'lg v0.57.0'))
        self.assertEqual(pins['lazygit']['pinned_at'], '2024-12-28T15:17:00Z')
        self.assertEqual(pins['bibata-cursor']['sha256'],
                         '7d3495864e5bbef02f5e77de760b2905903b63c71495a78ef6306d19a3b556d8')
        diff = git(self.repo, 'diff', '-U0', '--', 'upstream/manifest.json')
        self.assertEqual(len([l for l in diff.splitlines() if l.startswith('+ ')]), 4, diff)
        # re-pin the two whose checksums are not this server's
        self.ok('upstream', 'pin', 'bibata-cursor', 'v2.0.7')
        self.ok('upstream', 'pin', 'getnf', '0.3.0')  # with or without the v
        self.assertEqual(self.load()['getnf']['pinned']['version'], 'v0.3.0')
        self.assertEqual(len(self.pending()), 2)
        # every pin downloaded at once; a 503 is retried
        self.gh.max_in_flight = 0
        self.gh.faults['/download/starship/starship/v1.24.1/starship-x86_64-unknown-linux-gnu.tar.gz'] = 1
        r = self.ok('upstream', 'verify', '--json')
        self.assertTrue(json.loads(r.stdout)['ok'])
        self.assertGreaterEqual(self.gh.max_in_flight, 4, 'downloads were not concurrent')
        self.assertEqual(self.gh.hits['/download/starship/starship/v1.24.1/starship-x86_64-unknown-linux-gnu.tar.gz'],
                         3)  # lock, then verify's 503 and its retry
        # a download that is gone is that pin's error, not retried
        del self.gh.assets['/api/repos/rvaiya/keyd/tarball/v2.6.0']
        r = self.bkt('upstream', 'verify')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('keyd v2.6.0 could not be verified: cannot download %s/api/repos/rvaiya/keyd/tarball/v2.6.0: '
                      'HTTP 404 Not Found' % self.gh.base, r.stderr)
        self.assertEqual(self.gh.hits['/api/repos/rvaiya/keyd/tarball/v2.6.0'], 3)  # lock, verify, this one
        self.gh.assets['/api/repos/rvaiya/keyd/tarball/v2.6.0'] = b'tarball rvaiya/keyd v2.6.0'
        # an asset changed behind its pin: verify fails loudly, names it
        path = '/download/ful1e5/Bibata_Cursor/v2.0.7/Bibata-Modern-Ice.tar.xz'
        self.gh.assets[path] = b'tampered'
        r = self.bkt('upstream', 'verify')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('CHECKSUM MISMATCH: bibata-cursor v2.0.7 from %s%s: expected sha256 %s, got %s'
                      % (self.gh.base, path, sha(self.assets[('bibata', 'v2.0.7')]), sha(b'tampered')), r.stderr)
        self.assertIn('1 of 6 pins FAILED', r.stdout)
        self.gh.assets[path] = self.assets[('bibata', 'v2.0.7')]
        # offline (the API unreachable, nothing listens): not a failed verification but
        # "not verified (network)", its own exit status; nothing claims a mismatch
        r = self.bkt('upstream', 'verify', env={'BKT_GITHUB_API': 'http://127.0.0.1:9/nowhere'})
        self.assertEqual(r.returncode, EXIT_UNVERIFIED, r.stdout + r.stderr)
        self.assertNotIn('FAILED', r.stdout)
        self.assertNotIn('MISMATCH', r.stderr)
        self.assertRegex(r.stderr, r'bkt: keyd v2\.6\.0 not verified \(network\): keyd: cannot reach http://127\.0\.0\.1:9/nowhere')
        self.assertRegex(r.stdout, r'\d of 6 pins not verified: their bytes could not be downloaded \(network\)')
        out = json.loads(self.bkt('upstream', 'verify', '--json',
                                  env={'BKT_GITHUB_API': 'http://127.0.0.1:9/nowhere'}).stdout)
        self.assertFalse(out['ok'])
        self.assertEqual(out['failed'], 0)
        self.assertGreater(out['not_verified'], 0)
        self.assertIn('not-verified', [u['state'] for u in out['upstreams']])
        # a mismatch while others are offline: the mismatch decides (exit 1)
        self.gh.assets[path] = b'tampered'
        r = self.bkt('upstream', 'verify')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.gh.assets[path] = self.assets[('bibata', 'v2.0.7')]

    def test_pin_older_than_the_list(self):
        self.fixture()
        self.gh.release('ful1e5/Bibata_Cursor', 'v1.0.0', [('Bibata-Modern-Ice.tar.xz', b'old bibata')], older=True)
        self.ok('upstream', 'pin', 'bibata-cursor', 'v1.0.0')
        pin = self.load()['bibata-cursor']['pinned']
        self.assertEqual((pin['version'], pin['sha256']), ('v1.0.0', sha(b'old bibata')))
        self.assertEqual(self.gh.hits['/api/repos/ful1e5/Bibata_Cursor/releases/tags/v1.0.0'], 1)
        before = self.snapshot()
        r = self.bkt('upstream', 'pin', 'bibata-cursor', 'v9.9.9')
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
        self.assertIn('bibata-cursor: ful1e5/Bibata_Cursor has no release v9.9.9', r.stderr)
        hits = dict(self.gh.hits)
        for bad in ('1.0/../x', '1.0 $(id)', '-x'):
            r = self.bkt('upstream', 'pin', 'bibata-cursor', '--', bad)
            self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
            self.assertIn('not a version a pin can hold', r.stderr)
        self.assertEqual(self.gh.hits, hits)
        self.assertEqual(self.snapshot(), before)

    def test_workflow_command(self):
        import yaml
        with open(os.path.join(SRC, '.github', 'workflows', 'distro-upstream-verify.yml')) as f:
            doc = yaml.safe_load(f)
        self.assertIn('workflow_call', doc[True] if True in doc else doc['on'])
        script = [s['run'] for j in doc['jobs'].values() for s in j['steps'] if 'run' in s][0]
        self.assertIn('bkt/build/client/bkt upstream verify --repo distro', script)
        self.assertIn('bkt/build/client/bkt upstream generate --check --repo distro', script)
        self.fixture()
        self.ok('upstream', 'lock')
        self.ok('upstream', 'pin', 'bibata-cursor', 'v2.0.7')
        self.ok('upstream', 'pin', 'getnf', 'v0.3.0')
        self.ok('upstream', 'generate')
        # the workflow's commands, from the directory holding distro/
        for cmd in (['upstream', 'verify', '--repo', 'distro'], ['upstream', 'generate', '--check', '--repo', 'distro']):
            r = subprocess.run([BKT] + cmd, cwd=self.tmp, env=self.env, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.gh.assets['/api/repos/rvaiya/keyd/tarball/v2.6.0'] = b'moved tag'
        r = subprocess.run([BKT, 'upstream', 'verify', '--repo', 'distro'], cwd=self.tmp, env=self.env,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('CHECKSUM MISMATCH: keyd', r.stderr)

    def test_add_remove(self):
        self.fixture()
        self.gh.release('acme/newtool', 'v0.9.0', [('newtool-linux', b'nt 0.9')])
        self.gh.release('acme/newtool', 'v1.0.0', [('newtool-linux', b'nt 1.0')])
        self.gh.release('acme/newtool', 'v1.1.0-beta', [('newtool-linux', b'nt 1.1b')], prerelease=True)
        self.ok('upstream', 'add', 'newtool', '--github', 'acme/newtool', '--asset-pattern', 'newtool-*',
                '--policy', 'minor', '--description', 'A new tool')
        u = self.load()['newtool']
        self.assertEqual(u['policy'], 'minor')
        self.assertEqual(u['source'], {'type': 'github', 'repo': 'acme/newtool', 'asset_pattern': 'newtool-*'})
        self.assertEqual(u['pinned']['version'], 'v1.0.0')
        self.assertEqual(u['pinned']['sha256'], sha(b'nt 1.0'))
        with open(self.manifest) as f:
            names = [x['name'] for x in json.load(f)['upstreams']]
        self.assertEqual(names, sorted(names))  # the list was sorted: it stays so
        diff = git(self.repo, 'diff', '--numstat', '--', 'upstream/manifest.json')
        added, removed = diff.split()[:2]
        self.assertGreater(int(added), 10, diff)  # the new entry's lines...
        self.assertEqual(removed, '0', diff)      # ...and nothing else touched
        self.assertEqual([e['type'] for e in self.pending()], ['added'])
        self.ok('upstream', 'remove', 'newtool')
        with open(self.manifest) as f, open(ORIGINAL) as g:
            self.assertEqual(f.read(), g.read())  # byte for byte the original again
        self.assertEqual(sorted(e['message'] for e in self.pending()),
                         ['Add upstream newtool (acme/newtool) at v1.0.0', 'Remove upstream newtool'])


class BadInputTest(Base):
    def setUp(self):
        super().setUp()
        shutil.copy(ORIGINAL, self.manifest)
        self.commit()

    def refused(self, args, code, message):
        before = self.snapshot()
        hits = dict(self.gh.hits)
        r = self.bkt(*args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertIn(message, r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.gh.hits, hits, 'a refused command asked the server')

    def test_names(self):
        self.refused(['upstream', 'info', '../etc'], EXIT_INVALID, 'not an upstream name: “../etc”')
        self.refused(['upstream', 'pin', '--', '--foo', '1.0'], EXIT_INVALID, 'not an upstream name: “--foo”')
        self.refused(['upstream', 'remove', 'a/b'], EXIT_INVALID, 'not an upstream name: “a/b”')
        self.refused(['upstream', 'update', '--', '-x'], EXIT_INVALID, 'not an upstream name: “-x”')
        self.refused(['upstream', 'add', '../evil', '--github', 'a/b'], EXIT_INVALID, 'not an upstream name')
        self.refused(['upstream', 'add', 'ok', '--github', '../x'], EXIT_USAGE, '--github “../x” must be OWNER/REPO')
        self.refused(['upstream', 'add', 'ok', '--github', 'a/b', '--policy', 'latest'], EXIT_USAGE,
                     'unknown policy “latest”')
        self.refused(['upstream', 'add', 'getnf', '--github', 'a/b'], EXIT_INVALID, 'upstream getnf exists already')
        self.refused(['upstream', 'info', 'nope'], EXIT_INVALID, 'no upstream named “nope”')
        self.refused(['upstream', 'update'], EXIT_INVALID, 'name an upstream or pass --all')

    def test_malformed_manifest(self):
        with open(self.manifest) as f:
            text = f.read()
        for bad, where in ((text.replace('"pinned_at": "2024-12-29T14:08:00Z"', '"pinned_at": 5'), ':35:22:'),
                           (text.replace('"release_type": "tag"', '"release_type": "tags"', 1), ':44:25:'),
                           (text.replace('"name": "getnf"', '"name": "../getnf"'), ':24:15:'),
                           (text[:200], ':8:'),
                           (text.replace('"keyd",', '"keyd"'), ':40:')):
            with open(self.manifest, 'w') as f:
                f.write(bad)
            self.commit()
            for args in (['upstream', 'list'], ['upstream', 'update', '--all'], ['upstream', 'lock'],
                         ['upstream', 'verify'], ['containerfile', 'sync']):
                before = self.snapshot()
                r = self.bkt(*args)
                self.assertIn(r.returncode, (EXIT_INVALID,) if args[0] == 'upstream' else (EXIT_INVALID, 1), r.stderr)
                if args[0] == 'upstream':
                    self.assertIn('upstream/manifest.json' + where, r.stderr)
                self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.gh.hits, {})


if __name__ == '__main__':
    if not os.path.exists(BKT):
        print('SKIP: %s not built' % BKT)
        raise SystemExit(77)
    bktenv.main(needs_root=False)
