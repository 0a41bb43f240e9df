#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bad input gets a clear error, a distinct exit code, and changes nothing.

Malformed JSON (file:line:column), wrong types, unknown schema/key,
out-of-range and wrong-type values, invalid flatpak refs, an id starting
with "-", and a 10 MB string over D-Bus to the system Manager.
"""

import json
import re
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
EXIT_USAGE, EXIT_INVALID = 2, 5

BIG_CALL = r'''
import sys
from gi.repository import Gio, GLib
addr, method, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = Gio.DBusConnection.new_for_address_sync(
    addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)
big = '{"flatpak-apps": {"apps": [], "x": "' + 'x' * size + '"}}'
try:
    conn.call_sync('org.bkt.Daemon1', '/org/bkt/Daemon1', 'org.bkt.Daemon1.Manager', method,
                   GLib.Variant('(a{sv})', ({'manifest': GLib.Variant('s', big)},)), None,
                   Gio.DBusCallFlags.NONE, 120000, None)
    print('OK')
except GLib.Error as e:
    print('ERROR', Gio.DBusError.get_remote_error(e), e.message[:300])
'''


def json_glib_position(text):
    """line:column that json-glib (the daemon's parser) reports for @text."""
    import gi
    gi.require_version('Json', '1.0')
    from gi.repository import Json, GLib
    try:
        Json.Parser().load_from_data(text, -1)
    except GLib.Error as e:
        import re
        m = re.search(r'<data>:(\d+):(\d+)', e.message)
        return '%s:%s' % m.groups()
    raise AssertionError('json-glib accepts %r' % text)


class BadInput(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=1)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.write_standard_manifests()
        rc, out, err = env.bkt_run(ADMIN, 'apply')
        if rc != 0:
            raise AssertionError('baseline apply failed (rc=%d): %s' % (rc, err))

    def snapshot(self):
        env = self.env
        return {'system_apps': env.installed_apps('system'),
                'system_remotes': env.remotes('system'),
                'user_apps': env.installed_apps('user', ADMIN),
                'keyfile': env.read_keyfile(ADMIN),
                'manifests': env.manifests_snapshot(env.overlay_dir(ADMIN), env.image_manifests_dir)}

    def assertUnchanged(self, before, what):
        after = self.snapshot()
        for k in before:
            self.assertEqual(before[k], after[k], '%s changed %s' % (what, k))

    def manifest_dir(self, name, files):
        """A --manifests DIR owned by the user with @files {name: text}."""
        d = os.path.join(self.env.home(ADMIN), 'bad', name)
        os.makedirs(d, exist_ok=True)
        for fname, text in files.items():
            with open(os.path.join(d, fname), 'w') as f:
                f.write(text)
        bktenv.chown_tree(os.path.join(self.env.home(ADMIN), 'bad'), ADMIN)
        return d

    # -------------------------------------------------------------- manifests
    def test_malformed_json_position(self):
        env = self.env
        bad = ('{\n  "settings": [\n    {"schema": "org.gnome.desktop.interface" "key": "clock-format",'
               ' "value": "\'24h\'"}\n  ]\n}\n')
        # the offending token "key" starts at line 3, column 46 (json-glib itself would say 3:44,
        # the end of the token before it); either is an exact position
        positions = ('3:46', json_glib_position(bad))
        # a valid file beside it that would install something: must not run either
        apps = json.dumps({'apps': [{'id': 'org.test.App001', 'remote': 'bkt-test', 'scope': 'system'}]})
        d = self.manifest_dir('malformed', {'gsettings.json': bad, 'flatpak-apps.json': apps})
        before = self.snapshot()
        for cmd in (['apply'], ['apply', '--dry-run'], ['status'], ['capture'], ['apply', '--json']):
            res = env.bkt_run(ADMIN, '--manifests', d, *cmd)
            self.assertRc(res, EXIT_INVALID, 'bkt --manifests DIR %s on malformed JSON' % ' '.join(cmd))
            where = [os.path.join(d, 'gsettings.json') + ':' + pos for pos in positions]
            self.assertTrue(any(w in res[2] for w in where), 'stderr does not name %s' % ' or '.join(where))
        self.assertUnchanged(before, 'a malformed manifest')
        self.assertEqual(env.manifests_snapshot(d), {os.path.join(d, 'gsettings.json'): bad.encode(),
                                                     os.path.join(d, 'flatpak-apps.json'): apps.encode()})

    def test_malformed_overlay(self):
        """The same through the normal layering: a broken user overlay file."""
        env = self.env
        path = os.path.join(env.overlay_dir(ADMIN), 'flatpak-apps.json')
        bad = '{\n  "apps": [\n    {"id": "org.test.App001", "remote": "bkt-test", "scope": "user"},\n  ]\n}\n'
        # the "]" after a trailing comma: line 4, column 3 (or json-glib's own report)
        positions = ('4:3', json_glib_position(bad))
        with open(path, 'w') as f:
            f.write(bad)
        bktenv.chown_tree(env.overlay_dir(ADMIN), ADMIN)
        try:
            before = self.snapshot()
            res = env.bkt_run(ADMIN, 'apply')
            self.assertRc(res, EXIT_INVALID, 'bkt apply with a malformed overlay')
            self.assertTrue(any('%s:%s' % (path, pos) in res[2] for pos in positions),
                            'stderr does not name %s:%s' % (path, ' or '.join(positions)))
            res = env.bkt_run(ADMIN, 'capture')
            self.assertRc(res, EXIT_INVALID, 'bkt capture with a malformed overlay')
            self.assertUnchanged(before, 'a malformed overlay')
            self.assertNotIn('org.test.App001', env.installed_apps('user', ADMIN))
        finally:
            os.unlink(path)

    def test_wrong_types(self):
        env = self.env
        cases = {
            'value-number': {'gsettings.json': json.dumps(
                {'settings': [{'schema': IFACE, 'key': 'clock-format', 'value': 12}]}, indent=2)},
            'settings-object': {'gsettings.json': '{"settings": {"schema": "x"}}\n'},
            'missing-key': {'gsettings.json': json.dumps(
                {'settings': [{'schema': IFACE, 'value': "'12h'"}]})},
            'apps-string': {'flatpak-apps.json': '{"apps": "org.test.Hello"}\n'},
            'bad-scope': {'flatpak-apps.json': json.dumps(
                {'apps': [{'id': 'org.test.App001', 'remote': 'bkt-test', 'scope': 'galaxy'}]})},
            'id-number': {'flatpak-apps.json': json.dumps(
                {'apps': [{'id': 7, 'remote': 'bkt-test', 'scope': 'user'}]})},
            'remote-url-bool': {'flatpak-remotes.json': json.dumps(
                {'remotes': [{'name': 'x', 'url': True, 'scope': 'system'}]})},
            'top-array': {'gsettings.json': '[]\n'},
            # GVariant type mismatch: clock-format is an enum ("s"), 42 is an int32
            'gvariant-type': {'gsettings.json': json.dumps(
                {'settings': [{'schema': IFACE, 'key': 'clock-format', 'value': '42'}]})},
            'gvariant-syntax': {'gsettings.json': json.dumps(
                {'settings': [{'schema': IFACE, 'key': 'clock-format', 'value': "'12h"}]})},
            'bad-choice': {'gsettings.json': json.dumps(
                {'settings': [{'schema': IFACE, 'key': 'clock-format', 'value': "'13h'"}]})},
            'out-of-range': {'gsettings.json': json.dumps(
                {'settings': [{'schema': IFACE, 'key': 'text-scaling-factor', 'value': '9.0'}]})},
        }
        before = self.snapshot()
        for name, files in cases.items():
            d = self.manifest_dir(name, files)
            with self.subTest(case=name):
                res = env.bkt_run(ADMIN, '--manifests', d, 'apply')
                self.assertRc(res, EXIT_INVALID, 'manifest case %s' % name)
                fname = list(files)[0]
                if name not in ('gvariant-type', 'gvariant-syntax', 'out-of-range', 'bad-choice'):
                    self.assertIn(fname, res[2], 'the error does not name the file')
        self.assertUnchanged(before, 'manifests with wrong types')

    def test_manifest_unknown_schema_and_key(self):
        for schema, key in (('org.bkt.no.such.schema', 'k'), (IFACE, 'no-such-key')):
            with self.subTest(schema=schema, key=key):
                self.check_manifest_unknown(schema, key)

    def check_manifest_unknown(self, schema, key):
        """A schema or key that is not installed (an app or extension not yet there, another schema
        version) is skipped with a warning naming it, or refused; never set, never an unclear error."""
        env = self.env
        d = self.manifest_dir('unknown-' + key, {'gsettings.json': json.dumps(
            {'settings': [{'schema': schema, 'key': key, 'value': '1'},
                          {'schema': IFACE, 'key': 'cursor-size', 'value': '64'}]})})
        before = self.snapshot()
        res = env.bkt_run(ADMIN, '--manifests', d, 'apply', '--dry-run')
        self.assertRc(res, (0, EXIT_INVALID), 'manifest with a schema/key that is not installed')
        self.assertIn('%s %s' % (schema, key), res[1] + res[2], 'no warning naming %s %s' % (schema, key))
        self.assertUnchanged(before, 'a dry run')
        dry_run_rc = res[0]
        # never "Nothing to do" nor "in sync": the entry is its own state, and status says so
        only = self.manifest_dir('only-unknown-' + key, {'gsettings.json': json.dumps(
            {'settings': [{'schema': schema, 'key': key, 'value': '1'}]})})
        res = env.bkt_run(ADMIN, '--manifests', only, 'apply', '--dry-run')
        self.assertNotIn('Nothing to do', res[1])
        self.assertIn('the system does not fully match the manifests', res[1])
        res = env.bkt_run(ADMIN, '--manifests', d, 'status', '--only', 'gsettings')
        self.assertRc(res, 1, 'status with a schema/key that is not installed')
        self.assertNotIn('In sync', res[1])
        self.assertIn('Unknown (cannot be checked on this machine; not in sync):', res[1])
        # TRACKED IN-SYNC DRIFT UNKNOWN UNTRACKED, then TO APPLY TO CAPTURE CONFLICT: the one drifted
        # cursor-size is to apply (never synced) or, after the previous subtest applied it and reset it
        # by hand, to capture
        self.assertRegex(res[1], r'gsettings\s+2\s+0\s+1\s+1\s+\d+\s+(1\s+0|0\s+1)\s+0\n')
        rc, st, err = env.bkt_json(ADMIN, '--manifests', d, 'status', '--only', 'gsetting', '--json')
        self.assertEqual(rc, 1, err)
        gs = st['subsystems']['gsettings']
        self.assertEqual((gs['tracked'], gs['in_sync'], gs['drifted'], len(gs['unknown'])), (2, 0, 1, 1), gs)
        self.assertEqual(st['unknown'], 1)
        self.assertFalse(bktenv.synced(gs))
        res = env.bkt_run(ADMIN, '--manifests', d, 'gsetting', 'list')
        self.assertRc(res, 0, 'gsetting list')
        self.assertRegex(res[1], r'%s\s+%s\s+1\s+unknown schema/key' % (re.escape(schema), re.escape(key)))
        if dry_run_rc == 0:
            # --theirs: the previous subtest's reset of cursor-size by hand is a change on this
            # machine since bkt applied 64 (the state record), which a plain apply would not revert
            res = env.bkt_run(ADMIN, '--manifests', d, 'apply', '--theirs')
            self.assertRc(res, 0, 'apply with a skipped schema')
            self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'cursor-size'), '64')
            self.assertNotIn('\n%s=' % key, env.read_keyfile(ADMIN))
            env.gsettings(ADMIN, 'reset', IFACE, 'cursor-size')

    # -------------------------------------------------------------- bkt gsetting set
    def test_gsetting_set_invalid(self):
        env = self.env
        before = self.snapshot()
        cases = [
            (['org.bkt.no.such.schema', 'key', "'x'"], 'schema'),
            ([IFACE, 'no-such-key', "'x'"], 'key'),
            ([IFACE, 'text-scaling-factor', '9.0'], 'range'),
            ([IFACE, 'clock-format', "'13h'"], 'choice'),
            ([IFACE, 'clock-format', '42'], 'type'),
            ([IFACE, 'cursor-size', "'big'"], 'type'),
            ([IFACE, 'clock-format', "'12h"], 'syntax'),
        ]
        for args, what in cases:
            with self.subTest(args=args):
                res = env.bkt_run(ADMIN, 'gsetting', 'set', *args)
                self.assertRc(res, EXIT_INVALID, 'bkt gsetting set %s (%s)' % (' '.join(args), what))
                self.assertTrue(res[2].strip(), 'no error message')
                res = env.bkt_run(ADMIN, 'gsetting', 'set', '--dry-run', *args)
                self.assertRc(res, EXIT_INVALID, 'bkt gsetting set --dry-run %s' % ' '.join(args))
        res = env.bkt_run(ADMIN, 'gsetting', 'unset', 'org.bkt.no.such.schema', 'key')
        self.assertRc(res, EXIT_INVALID, 'gsetting unset of an unknown schema')
        res = env.bkt_run(ADMIN, 'gsetting', 'set', IFACE)
        self.assertRc(res, EXIT_USAGE, 'gsetting set with missing arguments')
        self.assertUnchanged(before, 'invalid gsetting set')

    def test_gsetting_set_valid_control(self):
        """The control case: a valid set works and is recorded (so the refusals above mean something)."""
        env = self.env
        res = env.bkt_run(ADMIN, 'gsetting', 'set', '--local', IFACE, 'cursor-size', '32', '--comment', 'bigger')
        self.assertRc(res, 0, 'valid gsetting set')
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'cursor-size'), '32')
        with open(os.path.join(env.overlay_dir(ADMIN), 'gsettings.json')) as f:
            doc = json.load(f)
        entry = [s for s in doc['settings'] if s['key'] == 'cursor-size']
        self.assertEqual(entry and entry[0].get('value'), '32', doc)
        self.assertEqual(entry[0].get('comment'), 'bigger')
        res = env.bkt_run(ADMIN, 'gsetting', 'unset', '--local', IFACE, 'cursor-size')
        self.assertRc(res, 0, 'gsetting unset')

    # -------------------------------------------------------------- bkt flatpak add
    def test_flatpak_add_invalid(self):
        env = self.env
        before = self.snapshot()
        res = env.bkt_run(ADMIN, 'flatpak', 'add', 'org.test.Helo', '--remote', 'bkt-test', '--scope', 'user')
        self.assertRc(res, EXIT_INVALID, 'flatpak add of a typo')
        self.assertIn('org.test.Hello', res[2], 'no close-match suggestion for org.test.Helo')
        for ref in ('org.test.Nope', 'org/test/Hello', 'org.test.Hello;rm -rf /', 'app/org.test.Hello/x86_64/',
                    '..', 'org.test.Hello\nfoo', ''):
            with self.subTest(ref=ref):
                res = env.bkt_run(ADMIN, 'flatpak', 'add', ref, '--remote', 'bkt-test', '--scope', 'user')
                self.assertRc(res, (EXIT_INVALID, EXIT_USAGE), 'flatpak add %r' % ref)
        res = env.bkt_run(ADMIN, 'flatpak', 'add', 'org.test.App001', '--remote', 'no-such-remote',
                          '--scope', 'user')
        self.assertRc(res, EXIT_INVALID, 'flatpak add from an unknown remote')
        res = env.bkt_run(ADMIN, 'flatpak', 'add', 'org.test.App001', '--remote', 'bkt-test', '--scope', 'moon')
        self.assertRc(res, (EXIT_INVALID, EXIT_USAGE), 'flatpak add --scope moon')
        res = env.bkt_run(ADMIN, 'flatpak', 'remove', 'org.test.NotInstalled')
        self.assertRc(res, EXIT_INVALID, 'flatpak remove of an unknown app')
        self.assertUnchanged(before, 'invalid flatpak add')

    def test_dash_id(self):
        env = self.env
        before = self.snapshot()
        for args, named in ((['flatpak', 'add', '--', '-foo'], '“-foo”'),
                            (['flatpak', 'add', '--', '--help'], '“--help”'),
                            (['flatpak', 'add', '--remote', 'bkt-test', '--scope', 'system', '--', '-foo'], '“-foo”'),
                            (['flatpak', 'add', '--force', '--remote', 'bkt-test', '--', '-foo'], '“-foo”'),
                            (['flatpak', 'remove', '--', '-foo'], '“-foo”'),
                            (['gsetting', 'set', '--', '-org.gnome', 'key', '1'], "'-org.gnome'")):
            with self.subTest(args=args):
                res = env.bkt_run(ADMIN, *args)
                # refused as the invalid value it is (not a usage error, not any failure), naming it
                self.assertRc(res, EXIT_INVALID, 'bkt %s' % ' '.join(args))
                self.assertIn(named, res[2])
        # straight to the system instance: validated there too
        p = env.gdbus_call(ADMIN, 'FlatpakInstall', 'bkt-test', '-foo', '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'FlatpakInstall', '--upgrade', 'org.test.App001', '{}',
                           interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        self.assertIn('remote name “--upgrade”', p.stderr)
        p = env.gdbus_call(ADMIN, 'FlatpakUninstall', '-foo', '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        content = json.dumps({'flatpak-apps': {'apps': [{'id': '-foo', 'remote': 'bkt-test', 'scope': 'system'}]}})
        p = env.gdbus_call(ADMIN, 'Apply', "{'manifest': <%s>}" % json.dumps(content))
        self.assertErrorName(p, 'org.bkt.Error.InvalidManifest')
        self.assertIn('-foo', p.stderr)
        self.assertUnchanged(before, 'ids starting with -')

    # -------------------------------------------------------------- D-Bus size limits
    def test_ten_mb_string(self):
        env = self.env
        before = self.snapshot()
        pid = env.system_daemon.pid
        for method in ('Apply', 'Plan'):
            for user in (ADMIN, 'root'):
                p = env.run_as(user, [bktenv.SYSTEM_PYTHON, '-c', BIG_CALL, env.system_bus_address, method,
                                      str(10 * 1024 * 1024)], timeout=300)
                print('10 MB %s as %s: %s %s (%.1fs)' % (method, user, p.stdout.strip(), p.stderr.strip()[-500:],
                                                        p.elapsed))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn('ERROR org.bkt.Error.LimitExceeded', p.stdout,
                              '10 MB "manifest" to %s as %s' % (method, user))
        # just over the documented 1 MiB limit, too (docs/dbus-api.md, "Limits")
        p = env.run_as(ADMIN, [bktenv.SYSTEM_PYTHON, '-c', BIG_CALL, env.system_bus_address, 'Apply',
                               str(1024 * 1024 + 1)], timeout=300)
        self.assertIn('ERROR org.bkt.Error.LimitExceeded', p.stdout)
        self.assertTrue(env.system_daemon.alive(), 'bktd --system died')
        self.assertEqual(env.system_daemon.pid, pid)
        p = env.get_property(ADMIN, 'DaemonVersion')
        self.assertEqual(p.returncode, 0, p.stderr)
        p = env.gdbus_call(ADMIN, 'Status', '{}')
        self.assertEqual(p.returncode, 0, 'Status after the 10 MB calls: %s' % p.stderr)
        self.assertUnchanged(before, '10 MB over D-Bus')

    def test_unknown_options_and_subsystems(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'apply', '--only', 'nosuchsubsystem')
        self.assertRc(res, EXIT_INVALID, 'apply --only nosuchsubsystem')
        self.assertIn('“nosuchsubsystem”', res[2])
        res = env.bkt_run(ADMIN, 'apply', '--frobnicate')
        self.assertRc(res, EXIT_USAGE, 'unknown option')
        res = env.bkt_run(ADMIN, 'frobnicate')
        self.assertRc(res, EXIT_USAGE, 'unknown command')
        p = env.gdbus_call(ADMIN, 'Status', "{'only': <['nosuch']>}")
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'Status', "{'only': <42>}")
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'Apply', "{'manifest': <'not json'>}")
        self.assertErrorName(p, 'org.bkt.Error.InvalidManifest')
        self.assertIn('<request>:1:1:', p.stderr)
        # a user-scope entry sent to the system instance is refused
        content = json.dumps({'flatpak-apps': {'apps': [{'id': 'org.test.App001', 'remote': 'bkt-test',
                                                         'scope': 'user'}]}})
        p = env.gdbus_call(ADMIN, 'Apply', "{'manifest': <%s>}" % json.dumps(content))
        self.assertErrorName(p, 'org.bkt.Error.InvalidManifest')
        self.assertIn('the system instance only handles system scope', p.stderr)
        # "manifests-dir" is for the session instance only: never read by root
        p = env.gdbus_call(ADMIN, 'Plan', "{'manifests-dir': <'/root'>}")
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        self.assertIn('the system instance never reads a path', p.stderr)


if __name__ == '__main__':
    bktenv.main()
