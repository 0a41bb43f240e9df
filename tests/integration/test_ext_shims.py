#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shims and GNOME Shell extensions together with gsettings and flatpak:
one plan in the order shim → gsettings → extension → flatpak, --only and
--exclude with each, apply, status in sync, changes by hand, capture, and
the `bkt extension` / `bkt shim` commands.

Extensions come from an extensions.gnome.org stand-in (http.server on
127.0.0.1, the site's JSON shapes, real zip files); no GNOME Shell runs, so
the enabled state goes through the org.gnome.shell keys (keyfile backend,
the installed org.gnome.shell schema, else the minimal one of
tests/data/shell-schemas), and test_7 puts a dbusmock stand-in of
org.gnome.Shell on the bus for the live path.  test_ext_real_shell runs the
real GNOME Shell (headless) against bkt extension enable/disable/list/capture.
"""

import http.server
import io
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import urllib.parse
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

SUBSYSTEMS = ('shim', 'gsettings', 'extension', 'flatpak')
# requests naming it get no answer (the connection is dropped)
UNREACHABLE = 'offline@bkt.test'
KNOWN = {'good@bkt.test': ['45', '46'], 'quiet@bkt.test': ['46'], 'second@bkt.test': ['46']}


def extension_zip(uuid):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('metadata.json', json.dumps({'uuid': uuid, 'name': uuid, 'shell-version': ['46']}))
        z.writestr('extension.js', 'export default class E { enable() {} disable() {} }\n')
    return buf.getvalue()


class EgoHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        bktenv.log('ego: ' + fmt % args)

    def _send(self, code, body, ctype):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if UNREACHABLE in urllib.parse.unquote(self.path):
            # a server that cannot be reached for this one: the connection drops, no answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if url.path == '/extension-info/':
            uuid = q.get('uuid', [''])[0]
            shell = q.get('shell_version', [None])[0]
            if uuid not in KNOWN:
                return self._send(404, b'{"detail": "Not found."}', 'application/json')
            info = {'uuid': uuid, 'name': uuid, 'pk': 7,
                    'shell_version_map': {v: {'pk': 70 + i, 'version': i + 1} for i, v in enumerate(KNOWN[uuid])}}
            if shell in KNOWN[uuid]:
                info['version'] = 1
                info['download_url'] = '/download-extension/%s.shell-extension.zip?version_tag=70' % uuid
            return self._send(200, json.dumps(info).encode(), 'application/json')
        prefix, suffix = '/download-extension/', '.shell-extension.zip'
        if url.path.startswith(prefix) and url.path.endswith(suffix):
            uuid = url.path[len(prefix):-len(suffix)]
            if uuid in KNOWN:
                return self._send(200, extension_zip(uuid), 'application/zip')
        self._send(404, b'not found', 'text/plain')


class ExtShims(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,))

    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), EgoHandler)
        cls.server_thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.server_thread.start()
        url = 'http://127.0.0.1:%d' % cls.server.server_address[1]
        cls.ENV_KW = dict(ExtShims.ENV_KW, extra_env={'BKT_EXTENSIONS_URL': url, 'BKT_SHELL_VERSION': '46.2'})
        try:
            super().setUpClass()
        except BaseException:
            cls.server.shutdown()
            raise
        env = cls.env
        env.write_standard_manifests(extensions=['good@bkt.test', {'uuid': 'quiet@bkt.test', 'enabled': False}],
                                     shims=[{'name': 'podman'}, {'name': 'sc', 'host': 'systemctl'}])

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.server.shutdown()
            cls.server.server_close()

    # paths of ADMIN's live state
    def shim(self, name):
        return os.path.join(self.env.home(ADMIN), '.local', 'toolbox', 'shims', name)

    def ext_dir(self, uuid=''):
        return os.path.join(self.env.home(ADMIN), '.local', 'share', 'gnome-shell', 'extensions', uuid)

    def keys(self):
        out = {}
        for key in ('enabled-extensions', 'disabled-extensions'):
            text = self.env.gsettings(ADMIN, 'get', 'org.gnome.shell', key)
            out[key] = [] if text in ('@as []', '[]') else [s.strip().strip("'") for s in text.strip('[]').split(',')]
        return out

    def plan(self, *args):
        rc, plan, err = self.env.bkt_json(ADMIN, 'apply', '--dry-run', '--json', *args)
        self.assertEqual(rc, 0, err)
        return plan

    def test_1_one_plan_in_order(self):
        plan = self.plan()
        subs = [op['subsystem'] for op in plan['operations']]
        firsts = [subs.index(s) for s in SUBSYSTEMS if s in subs]
        self.assertEqual(len(firsts), len(SUBSYSTEMS), 'not every subsystem has work: %s' % subs)
        self.assertEqual(firsts, sorted(firsts), 'subsystems out of order: %s' % subs)
        # the order holds throughout, not only for the first operation of each
        ranks = [SUBSYSTEMS.index(s) for s in subs]
        self.assertEqual(ranks, sorted(ranks), subs)
        targets = [op['target'] for op in plan['operations']]
        for t in ('shim:podman', 'shim:sc', 'extension:good@bkt.test', 'extension:quiet@bkt.test'):
            self.assertIn(t, targets)

    def test_2_only_exclude(self):
        every = set(op['subsystem'] for op in self.plan()['operations'])
        for name in SUBSYSTEMS:
            only = set(op['subsystem'] for op in self.plan('--only', name)['operations'])
            self.assertEqual(only, {name}, '--only %s' % name)
            excluded = set(op['subsystem'] for op in self.plan('--exclude', name)['operations'])
            self.assertEqual(excluded, every - {name}, '--exclude %s' % name)
            rc, st, err = self.env.bkt_json(ADMIN, 'status', '--json', '--only', name)
            self.assertEqual(rc, 0, err)
            self.assertEqual(set(st['subsystems']), {name})
        # Names as users type them (the registry's aliases) select the same
        # subsystem; anything else is refused with the known names.
        for alias, name in (('shims', 'shim'), ('ext', 'extension'), ('extensions', 'extension'),
                            ('gsetting', 'gsettings'), ('gs', 'gsettings')):
            rc, st, err = self.env.bkt_json(ADMIN, 'status', '--json', '--only', alias)
            self.assertEqual(rc, 0, err)
            self.assertEqual(set(st['subsystems']), {name}, alias)
        self.assertEqual(self.plan('--only', 'ext')['operations'], self.plan('--only', 'extension')['operations'])
        rc, out, err = self.env.bkt_run(ADMIN, 'apply', '--dry-run', '--only', 'shimz')
        self.assertEqual(rc, 5, err)
        self.assertIn('unknown subsystem “shimz” (known: shim, skel, gsettings, extension, flatpak, dnf, toolbox)', err)

    def test_3_apply(self):
        env = self.env
        rc, res, err = env.bkt_json(ADMIN, 'apply', '--json')
        self.assertEqual(rc, 0, err)
        self.assertTrue(res['success'], res)
        self.assertTrue(all(r['success'] for r in res['results']), res['results'])
        for name in ('podman', 'sc'):
            st = os.stat(self.shim(name))
            self.assertTrue(st.st_mode & stat.S_IXUSR, name)
        with open(self.shim('sc')) as f:
            self.assertIn("exec flatpak-spawn --host 'systemctl' \"$@\"", f.read())
        for uuid in ('good@bkt.test', 'quiet@bkt.test'):
            self.assertTrue(os.path.isfile(os.path.join(self.ext_dir(uuid), 'extension.js')), uuid)
        self.assertEqual([n for n in os.listdir(self.ext_dir()) if n.startswith('.')], [])
        keys = self.keys()
        self.assertIn('good@bkt.test', keys['enabled-extensions'])
        self.assertNotIn('quiet@bkt.test', keys['enabled-extensions'])
        self.assertIn('org.test.Hello', env.installed_apps('system'))

    def test_4_status_in_sync(self):
        st = self.status(ADMIN)
        self.assertInSync(st, SUBSYSTEMS)
        ext = st['subsystems']['extension']
        self.assertEqual((ext['installed'], ext['enabled'], ext['not_installed']), (2, 1, 0), ext)
        self.assertEqual(ext['shell_version'], '46.2')
        # (the image's own extensions, e.g. on Fedora, may be enabled by default: only ours are checked)
        self.assertNotIn('good@bkt.test', ext['incompatible'])
        self.assertNotIn('quiet@bkt.test', ext['incompatible'])
        rc, out, err = self.env.bkt_run(ADMIN, 'status')
        self.assertEqual(rc, 0, err)
        for name in SUBSYSTEMS:
            self.assertIn(name, out)

    def test_5_by_hand_then_capture(self):
        env = self.env
        # an extension installed and enabled by hand, quiet switched on, good switched off; a bkt shim
        # the manifests do not know and a foreign file in the shim directory
        extra = self.ext_dir('extra@bkt.test')
        env.run_as(ADMIN, ['mkdir', '-p', extra])
        env.run_as(ADMIN, ['sh', '-c', 'printf \'{"uuid": "extra@bkt.test", "shell-version": ["44"]}\' > "$0"',
                           os.path.join(extra, 'metadata.json')])
        env.gsettings(ADMIN, 'set', 'org.gnome.shell', 'enabled-extensions', "['quiet@bkt.test', 'extra@bkt.test']")
        with open(self.shim('podman')) as f:
            orphan = f.read().replace('podman', 'bootc')
        env.run_as(ADMIN, ['sh', '-c', 'cat > "$0" && chmod 755 "$0"', self.shim('bootc')], input=orphan)
        env.run_as(ADMIN, ['sh', '-c', 'echo mine > "$0"', self.shim('mine')])

        st = self.status(ADMIN)
        ext = st['subsystems']['extension']
        self.assertIn('extension:extra@bkt.test', [u['target'] for u in ext['untracked']])
        self.assertIn('extra@bkt.test', ext['incompatible'])
        self.assertEqual(len(ext['drift']), 2, ext['drift'])
        # a bkt shim the manifests do not list and bkt did not write here (a copy) is untracked, in
        # one state: no apply removes it (not even --prune), capture records it when picked
        self.assertEqual([u['target'] for u in st['subsystems']['shim']['untracked']], ['shim:bootc'])
        self.assertEqual(st['subsystems']['shim']['drift'], [])
        self.assertNotIn('shim:bootc', [op['target'] for op in st['prune']])

        # the extension and the shim nobody declared are untracked: recorded only when picked
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertFalse({'extension:extra@bkt.test', 'shim:bootc'} & set(op['target'] for op in plan['operations']),
                         plan['operations'])
        rc, res, err = env.bkt_json(ADMIN, 'capture', '--json', '--all-untracked')
        self.assertEqual(rc, 0, err)
        self.assertTrue(res['success'], res)
        with open(os.path.join(env.overlay_dir(ADMIN), 'gnome-extensions.json')) as f:
            saved = json.load(f)['extensions']
        self.assertIn('extra@bkt.test', saved)
        self.assertIn({'uuid': 'good@bkt.test', 'enabled': False}, saved)
        self.assertTrue({'uuid': 'quiet@bkt.test'} in saved or 'quiet@bkt.test' in saved, saved)
        with open(os.path.join(env.overlay_dir(ADMIN), 'host-shims.json')) as f:
            self.assertEqual(json.load(f)['shims'], [{'name': 'bootc'}])
        st = self.status(ADMIN)
        self.assertInSync(st, SUBSYSTEMS)
        with open(self.shim('mine')) as f:
            self.assertEqual(f.read(), 'mine\n')

    def test_6_commands(self):
        env = self.env
        rc, out, err = env.bkt_run(ADMIN, 'shim', 'add', '--local', 'jc', '--host', 'journalctl')
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.exists(self.shim('jc')))
        rc, out, err = env.bkt_run(ADMIN, 'shim', 'list')
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'jc\s+→ host journalctl\s+installed')
        for bad in ('../x', 'a/b', '..'):
            rc, out, err = env.bkt_run(ADMIN, 'shim', 'add', '--local', '--', bad)
            self.assertEqual(rc, 5, err)
        rc, out, err = env.bkt_run(ADMIN, 'shim', 'add', '--local', 'mine')
        self.assertEqual(rc, 5, err)
        self.assertIn('is not a bkt shim', err)
        rc, out, err = env.bkt_run(ADMIN, 'shim', 'remove', '--local', 'jc')
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(self.shim('jc')))

        rc, out, err = env.bkt_run(ADMIN, 'ext', 'add', '--local', 'second@bkt.test')
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isdir(self.ext_dir('second@bkt.test')))
        self.assertIn('second@bkt.test', self.keys()['enabled-extensions'])
        rc, out, err = env.bkt_run(ADMIN, 'extension', 'disable', '--local', 'second@bkt.test')
        self.assertEqual(rc, 0, err)
        self.assertNotIn('second@bkt.test', self.keys()['enabled-extensions'])
        rc, out, err = env.bkt_run(ADMIN, 'extension', 'list')
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'second@bkt.test\s+disabled\s+installed')
        self.assertIn('GNOME Shell 46.2 (not running)', out)
        rc, out, err = env.bkt_run(ADMIN, 'extension', 'remove', '--local', 'second@bkt.test')
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.exists(self.ext_dir('second@bkt.test')))
        rc, out, err = env.bkt_run(ADMIN, 'extension', 'add', '--local', 'nope@bkt.test')
        self.assertNotEqual(rc, 0)
        self.assertIn('no extension “nope@bkt.test”', err)
        with open(os.path.join(env.overlay_dir(ADMIN), 'gnome-extensions.json')) as f:
            self.assertNotIn('second@bkt.test', f.read())

    def shell_mock(self, method, *args):
        """A control method of the mock shell (dbusmock's org.freedesktop.DBus.Mock)."""
        p = self.env.run_as(ADMIN, ['gdbus', 'call', '--session', '--dest', 'org.gnome.Shell',
                                    '--object-path', '/org/gnome/Shell',
                                    '--method', 'org.freedesktop.DBus.Mock.' + method] + list(args))
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_8_unreachable_download_is_not_done(self):
        """An extension that could not be downloaded is a failed operation (it was reported ✓ after
        "pending: cannot reach …"), the others still run, and the exit status says it failed."""
        env = self.env
        d = os.path.join(env.home(ADMIN), 'unreachable')
        env.write_manifests(d, extensions=[UNREACHABLE, 'second@bkt.test'], owner=ADMIN)
        rc, res, err = env.bkt_json(ADMIN, '--manifests', d, 'apply', '--only', 'extension', '--json')
        self.assertEqual(rc, 1, err)
        self.assertFalse(res['success'], res)
        by_id = {r['id']: r for r in res['results']}
        failed = by_id['extension:install:extension:%s@user' % UNREACHABLE]
        self.assertFalse(failed['success'], failed)
        self.assertIn('not installed: cannot reach', failed['error'])
        self.assertTrue(by_id['extension:install:extension:second@bkt.test@user']['success'], res)
        self.assertFalse(os.path.exists(self.ext_dir(UNREACHABLE)))
        rc, out, err = env.bkt_run(ADMIN, '--manifests', d, 'apply', '--only', 'extension')
        self.assertEqual(rc, 1, out + err)
        self.assertNotIn('0 failed', out + err)
        self.assertNotIn('✓ Install extension:' + UNREACHABLE, out + err)
        self.assertIn(UNREACHABLE, out + err)
        # still drift: not installed is not in sync
        st = self.status(ADMIN, '--manifests', d, '--only', 'extension')
        self.assertIn('extension:' + UNREACHABLE, [op['target'] for op in st['subsystems']['extension']['drift']])

    def test_7_running_shell(self):
        """With org.gnome.Shell on the session bus (a dbusmock stand-in: no real GNOME Shell here),
        enabling and disabling go through org.gnome.Shell.Extensions and take effect live."""
        env = self.env
        logf = env.path('logs', 'dbusmock-shell.log')
        with open(logf, 'w') as out:
            popen = subprocess.Popen([bktenv.SYSTEM_PYTHON, '-m', 'dbusmock', '--session', 'org.gnome.Shell',
                                      '/org/gnome/Shell', 'org.gnome.Shell'],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env.session_env(ADMIN), start_new_session=True, **env.user_kwargs(ADMIN))
        d = bktenv.Daemon('dbusmock-shell', popen.pid, logf, popen, user=ADMIN)
        env.procs.append(d)
        try:
            env._wait_name('org.gnome.Shell', env.session_env(ADMIN), 20, bus='--session', proc=d, user=ADMIN)
            self.shell_mock('AddProperty', 'org.gnome.Shell', 'ShellVersion', "<'46.0'>")
            # like the real shell, the stand-in keeps enabled-extensions itself (and never touches
            # disabled-extensions, which is how we tell its work from bkt's own key writing)
            for method, op in (('EnableExtension', 'v.append(str(args[0]))'),
                               ('DisableExtension', 'v.remove(str(args[0])) if str(args[0]) in v else None')):
                code = ("import subprocess, ast; "
                        "get = subprocess.run(['gsettings', 'get', 'org.gnome.shell', 'enabled-extensions'], "
                        "capture_output=True, text=True).stdout; "
                        "v = ast.literal_eval(get.replace('@as ', '')); %s; "
                        "subprocess.run(['gsettings', 'set', 'org.gnome.shell', 'enabled-extensions', str(v)]); "
                        "ret = True" % op)
                self.shell_mock('AddMethod', 'org.gnome.Shell.Extensions', method, 's', 'b', '"%s"' % code)

            rc, st, err = env.bkt_json(ADMIN, 'extension', 'list', '--json')
            self.assertEqual(rc, 0, err)
            self.assertTrue(st['shell_running'], st)
            rc, plan, err = env.bkt_json(ADMIN, 'extension', 'enable', '--local', 'good@bkt.test', '--dry-run', '--json')
            self.assertEqual(rc, 0, err)
            self.assertEqual([op['effect'] for op in plan['operations'] if op['subsystem'] != 'pr'], ['live', 'manifest'])
            self.assertNotIn('good@bkt.test', self.keys()['disabled-extensions'])
            rc, out, err = env.bkt_run(ADMIN, 'extension', 'enable', '--local', 'good@bkt.test')
            self.assertEqual(rc, 0, err)
            self.assertIn('good@bkt.test', self.keys()['enabled-extensions'])
            rc, out, err = env.bkt_run(ADMIN, 'extension', 'disable', '--local', 'good@bkt.test')
            self.assertEqual(rc, 0, err)
            calls = self.shell_mock('GetCalls')
            self.assertIn("'EnableExtension', [<'good@bkt.test'>]", calls)
            self.assertIn("'DisableExtension', [<'good@bkt.test'>]", calls)
            # the shell's API did it: bkt wrote no key of its own
            self.assertNotIn('good@bkt.test', self.keys()['enabled-extensions'])
            self.assertNotIn('good@bkt.test', self.keys()['disabled-extensions'])
            # a shell that refuses is a failed operation, and nothing is recorded
            self.shell_mock('AddMethod', 'org.gnome.Shell.Extensions', 'EnableExtension', 's', 'b', 'ret = False')
            rc, out, err = env.bkt_run(ADMIN, 'extension', 'enable', '--local', 'good@bkt.test')
            self.assertEqual(rc, 1, err)
            self.assertIn('GNOME Shell refused to EnableExtension good@bkt.test', out + err)
            with open(os.path.join(env.overlay_dir(ADMIN), 'gnome-extensions.json')) as f:
                self.assertIn({'uuid': 'good@bkt.test', 'enabled': False}, json.load(f)['extensions'])
        finally:
            bktenv.kill_pid(popen.pid, 'dbusmock-shell')
            popen.wait(timeout=10)


if __name__ == '__main__':
    bktenv.main()
