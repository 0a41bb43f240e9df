#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The dbusmock template of bkt (data/dbusmock/bkt.py) answers like the real daemon.

One probe (probe() below, run as a child process on a given session bus)
makes the same calls against the real `bktd --session` (bktenv: real
GSettings, real flatpak, a wheel user) and against the mock on a private bus
of its own, and records what came back: introspection, property types, the
JSON members of Status/Plan/CapturePlan/ChangePlan replies, error names, a
transaction's property values and signal sequence, and its Result.  The test
compares the two records: the mock may know less (fewer subsystem extras),
never something of another shape.  Both are also checked against the
interface XML in dbus/.

It also runs the gdbus/busctl examples of docs/dbus-api.md ("For desktop
integrations") against the mock, so the documented commands work."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TEMPLATE = os.path.join(os.environ.get('BKT_SOURCE_DIR', os.path.join(HERE, '..', '..')),
                        'data', 'dbusmock', 'bkt.py')
DBUS_DIR = os.path.join(os.path.dirname(TEMPLATE), '..', '..', 'dbus')


# ------------------------------------------------------------------ the probe
def probe():
    from gi.repository import Gio, GLib
    bus = Gio.bus_get_sync(Gio.BusType.SESSION)
    name, path = 'org.bkt.Daemon1', '/org/bkt/Daemon1'
    rec = {}

    def call(obj, iface, method, sig, args, reply=None):
        try:
            v = bus.call_sync(name, obj, iface, method, GLib.Variant(sig, args) if sig else None,
                              GLib.VariantType(reply) if reply else None, 0, 60000, None)
            return v.unpack(), None
        except GLib.Error as e:
            return None, Gio.DBusError.get_remote_error(e)

    def introspect(obj):
        xml, _ = call(obj, 'org.freedesktop.DBus.Introspectable', 'Introspect', None, None, '(s)')
        node = Gio.DBusNodeInfo.new_for_xml(xml[0])
        out = {}
        for iface in node.interfaces:
            if not iface.name.startswith('org.bkt.'):
                continue
            out[iface.name] = {
                'methods': {m.name: [''.join(a.signature for a in m.in_args),
                                     ''.join(a.signature for a in m.out_args)] for m in iface.methods},
                'signals': {s.name: ''.join(a.signature for a in s.args) for s in iface.signals},
                'properties': {p.name: p.signature for p in iface.properties},
            }
        return out

    M = 'org.bkt.Daemon1.Manager'
    rec['introspection'] = introspect(path)
    props, err = call(path, 'org.freedesktop.DBus.Properties', 'GetAll', '(s)', (M,))
    rec['manager_properties'] = {k: type(v).__name__ for k, v in props[0].items()}
    rec['instance'] = props[0]['Instance']
    for method in ('Status', 'Plan', 'CapturePlan'):
        out, err = call(path, M, method, '(a{sv})', ({},))
        rec[method] = {'error': err, 'json': json.loads(out[0]) if out else None}
    out, err = call(path, M, 'Status', '(a{sv})', ({'only': GLib.Variant('as', ['no-such-subsystem'])},))
    rec['unknown_subsystem_error'] = err
    out, err = call(path, M, 'ChangePlan', '(ssa{sv}a{sv})',
                    ('gsettings', 'set', {'schema': GLib.Variant('s', 'org.gnome.desktop.interface'),
                                          'key': GLib.Variant('s', 'clock-format'),
                                          'value': GLib.Variant('s', "'24h'")}, {}))
    rec['ChangePlan'] = {'error': err, 'json': json.loads(out[0]) if out else None}
    out, err = call(path, M, 'ChangePlan', '(ssa{sv}a{sv})', ('no-such-subsystem', 'add', {}, {}))
    rec['change_unknown_error'] = err

    # One transaction, from creation to its end, with every signal.
    loop = GLib.MainLoop()
    signals = []
    (tx,), err = call(path, M, 'Apply', '(a{sv})', ({'only': GLib.Variant('as', ['gsettings'])},))
    rec['transaction_path_ok'] = bool(re.fullmatch(r'/org/bkt/Daemon1/Transaction/\d+', tx))

    def on_signal(conn, sender, obj, iface, sig, params):
        signals.append([sig, params.unpack()])
        if sig == 'Finished':
            loop.quit()
    bus.signal_subscribe(name, 'org.bkt.Daemon1.Transaction', None, tx, None, 0, on_signal)
    T = 'org.bkt.Daemon1.Transaction'
    rec['transaction_introspection'] = introspect(tx)
    props, _ = call(tx, 'org.freedesktop.DBus.Properties', 'GetAll', '(s)', (T,))
    pending = props[0]
    rec['pending'] = {k: (type(v).__name__, v if k in ('Kind', 'State', 'Percent', 'Success', 'ErrorName',
                                                       'Result') else None) for k, v in pending.items()}
    rec['pending_plan'] = json.loads(pending['Plan'])
    _, rec['second_apply_error'] = call(path, M, 'Apply', '(a{sv})', ({},))
    _, rec['start_error'] = call(tx, T, 'Start', None, None)
    GLib.timeout_add_seconds(60, loop.quit)
    loop.run()
    _, rec['start_again_error'] = call(tx, T, 'Start', None, None)
    props, _ = call(tx, 'org.freedesktop.DBus.Properties', 'GetAll', '(s)', (T,))
    done = props[0]
    rec['finished'] = {k: (type(v).__name__, v if k in ('Kind', 'State', 'Percent', 'Success', 'ErrorName')
                           else None) for k, v in done.items()}
    rec['result'] = json.loads(done['Result'])
    # The signal sequence, with repeated Progress signals folded into one.
    seq = []
    for sig, _args in signals:
        if not (seq and seq[-1] == sig == 'Progress'):
            seq.append(sig)
    rec['signal_sequence'] = seq
    rec['operation_finished'] = [args for sig, args in signals if sig == 'OperationFinished']
    rec['finished_signal'] = [args for sig, args in signals if sig == 'Finished']
    out, _ = call(path, M, 'Status', '(a{sv})', ({'only': GLib.Variant('as', ['gsettings'])},))
    rec['gsettings_after'] = json.loads(out[0])['subsystems']['gsettings']
    print(json.dumps(rec))


# ------------------------------------------------------------------ comparing
def _kind(v):
    return 'null' if v is None else type(v).__name__


def _counterpart(m, real):
    """The element of @real to compare @m with: the same subsystem and action for operations, the
    same subsystem for status rows, else the first one; None when @real has none of that kind."""
    if isinstance(m, dict):
        for keys in (('subsystem', 'action'), ('subsystem',)):
            if all(k in m for k in keys):
                same = [r for r in real if isinstance(r, dict) and all(r.get(k) == m[k] for k in keys)]
                return same[0] if same else None   # the most specific key decides
    return real[0]


def assert_shape_within(test, mock, real, where):
    """@mock's JSON shape is part of @real's: every member the mock has, the real one has, with the
    same shape; list elements compare with their counterpart of the same kind."""
    if isinstance(mock, dict):
        test.assertIsInstance(real, dict, where)
        for k, v in mock.items():
            test.assertIn(k, real, '%s: the mock has member "%s", the real daemon does not' % (where, k))
            assert_shape_within(test, v, real[k], '%s.%s' % (where, k))
    elif isinstance(mock, list):
        test.assertIsInstance(real, list, where)
        for m in mock if real else []:
            r = _counterpart(m, real)
            if r is not None:
                assert_shape_within(test, m, r, where + '[]')
    elif mock is not None and real is not None:
        test.assertEqual(_kind(mock), _kind(real), where)


def xml_interfaces():
    from gi.repository import Gio
    out = {}
    for f in sorted(os.listdir(DBUS_DIR)):
        if f.endswith('.xml'):
            with open(os.path.join(DBUS_DIR, f)) as fh:
                node = Gio.DBusNodeInfo.new_for_xml(fh.read())
            for iface in node.interfaces:
                out[iface.name] = {
                    'methods': {m.name: [''.join(a.signature for a in m.in_args),
                                         ''.join(a.signature for a in m.out_args)] for m in iface.methods},
                    'signals': {s.name: ''.join(a.signature for a in s.args) for s in iface.signals},
                    'properties': {p.name: p.signature for p in iface.properties},
                }
    return out


class MockBus:
    """A private session bus with the bkt mock template on it (as root: no user needed)."""

    def __init__(self, tmp):
        self.bus = subprocess.Popen(['dbus-daemon', '--session', '--nofork', '--print-address=1',
                                     '--address=unix:dir=' + tmp], stdout=subprocess.PIPE, text=True)
        self.address = self.bus.stdout.readline().strip()
        self.env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        self.log = open(os.path.join(tmp, 'mock.log'), 'w')
        self.mock = subprocess.Popen(['/usr/bin/python3', '-m', 'dbusmock', '--session', '-t', TEMPLATE],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        subprocess.run(['gdbus', 'wait', '--session', '--timeout', '20', 'org.bkt.Daemon1'], env=self.env,
                       check=True)

    def stop(self):
        for p in (self.mock, self.bus):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
        self.log.close()


class Conformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import bktenv
        cls.tmp = tempfile.mkdtemp(prefix='bkt-mock-')
        os.chmod(cls.tmp, 0o755)
        # The mock.
        mock = MockBus(cls.tmp)
        try:
            p = subprocess.run(['/usr/bin/python3', __file__, '--probe'], env=mock.env, capture_output=True,
                               text=True, timeout=120)
            if p.returncode != 0:
                raise AssertionError('probe of the mock failed:\n' + p.stderr)
            cls.mock = json.loads(p.stdout)
            cls.mock_bus = mock
        except BaseException:
            mock.stop()
            raise
        # The real session daemon, same calls (the probe run by the test user from a copy it can
        # read: the checkout may be in a 0700 home).  A failure here must not leave the mock's bus
        # running (tearDownClass does not run after a failed setUpClass).
        try:
            env = bktenv.BktEnv(polkit='real', users=(bktenv.ADMIN,), system_daemon=False)
            env.start()
            try:
                env.write_standard_manifests()
                script = bktenv.install().readable_copy(os.path.abspath(__file__))
                p = env.run_as(bktenv.ADMIN, ['/usr/bin/python3', script, '--probe'],
                               env=env.session_env(bktenv.ADMIN), timeout=180)
                if p.returncode != 0:
                    raise AssertionError('probe of the real daemon failed:\n' + p.stderr)
                cls.real = json.loads(p.stdout)
            finally:
                env.stop()
        except BaseException:
            cls.mock_bus.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, 'mock_bus'):
            cls.mock_bus.stop()

    def test_interfaces_match_the_xml(self):
        xml = xml_interfaces()
        for who, rec in (('mock', self.mock), ('real', self.real)):
            self.assertEqual(rec['introspection']['org.bkt.Daemon1.Manager'], xml['org.bkt.Daemon1.Manager'], who)
            self.assertEqual(rec['transaction_introspection']['org.bkt.Daemon1.Transaction'],
                             xml['org.bkt.Daemon1.Transaction'], who)
        self.assertEqual(self.mock['manager_properties'], self.real['manager_properties'])
        self.assertEqual(self.mock['instance'], self.real['instance'])

    def test_read_replies_have_the_real_shape(self):
        for method in ('Status', 'Plan', 'CapturePlan', 'ChangePlan'):
            self.assertIsNone(self.real[method]['error'], method)
            self.assertIsNone(self.mock[method]['error'], method)
            m, r = self.mock[method]['json'], self.real[method]['json']
            self.assertEqual(sorted(m), sorted(r), '%s: top-level members differ' % method)
            assert_shape_within(self, m, r, method)
        # The same subsystems, in the same order, with the common members.
        self.assertEqual(list(self.mock['Status']['json']['subsystems']),
                         list(self.real['Status']['json']['subsystems']))
        for ops in (self.mock['Plan']['json']['operations'], self.real['Plan']['json']['operations']):
            self.assertTrue(ops, 'a plan with no operation checks nothing')
            for op in ops:
                common = ['action', 'details', 'effect', 'id', 'scope', 'subsystem', 'summary', 'target']
                # classified operations (three-way sync) carry which side changed
                synced = sorted(common + ['base', 'direction', 'sync'])
                self.assertIn(sorted(op), (common, synced), op)

    def test_errors_have_the_same_names(self):
        for key in ('unknown_subsystem_error', 'change_unknown_error', 'second_apply_error', 'start_error',
                    'start_again_error'):
            self.assertEqual(self.mock[key], self.real[key], key)
        self.assertEqual(self.real['unknown_subsystem_error'], 'org.bkt.Error.InvalidArgument')
        self.assertEqual(self.real['second_apply_error'], 'org.bkt.Error.Busy')
        self.assertIsNone(self.real['start_error'])
        self.assertEqual(self.real['start_again_error'], 'org.bkt.Error.InvalidArgument')

    def test_transaction_lifecycle_is_the_same(self):
        for who, rec in (('mock', self.mock), ('real', self.real)):
            self.assertTrue(rec['transaction_path_ok'], who)
            self.assertEqual(rec['pending']['State'][1], 'pending', who)
            self.assertEqual(rec['finished']['State'][1], 'finished', who)
            self.assertEqual(rec['finished']['Success'][1], True, who)
            self.assertEqual(rec['finished']['Percent'][1], 100, who)
            self.assertEqual(rec['finished_signal'], [[True, '', '']], who)
            n = len(rec['pending_plan']['operations'])
            self.assertGreater(n, 0, who + ': the transaction had nothing to do')
            self.assertEqual([a[0] for a in rec['operation_finished']], list(range(n)), who)
            self.assertTrue(all(a[2] for a in rec['operation_finished']), who)
            self.assertEqual(rec['signal_sequence'][-1], 'Finished', who)
            self.assertEqual(rec['signal_sequence'][0], 'Progress', who)
            self.assertEqual(len(rec['result']['operations']), n, who)
            # What Status says afterwards is what happened.
            self.assertEqual(rec['gsettings_after']['drift'], [], who)
        self.assertEqual({k: v[0] for k, v in self.mock['pending'].items()},
                         {k: v[0] for k, v in self.real['pending'].items()})
        self.assertEqual(self.mock['pending']['Kind'], self.real['pending']['Kind'])
        self.assertEqual(sorted(set(self.mock['signal_sequence'])), sorted(set(self.real['signal_sequence'])))
        assert_shape_within(self, self.mock['result'], self.real['result'], 'Result')
        assert_shape_within(self, self.mock['pending_plan'], self.real['pending_plan'], 'Plan')

    def test_documented_examples_run(self):
        """Every command in docs/dbus-api.md's 'For desktop integrations' blocks runs against the mock."""
        doc = os.path.join(DBUS_DIR, '..', 'docs', 'dbus-api.md')
        with open(doc) as f:
            text = f.read()
        section = text.split('## For desktop integrations', 1)
        self.assertEqual(len(section), 2, 'docs/dbus-api.md has no "For desktop integrations" section')
        blocks = re.findall(r'```sh\n(.*?)```', section[1].split('\n## ', 1)[0], re.S)
        commands = [line for b in blocks for line in b.splitlines()
                    if line.strip() and not line.lstrip().startswith('#') and
                    line.split()[0] in ('gdbus', 'busctl')]
        self.assertGreaterEqual(len(commands), 4)
        for cmd in commands:
            # (the system instance's examples: test_dbus_api_examples.py, with both instances)
            if ' monitor ' in cmd or ' --system ' in cmd:
                continue
            p = subprocess.run(cmd, shell=True, env=self.mock_bus.env, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 0, '%s\n%s%s' % (cmd, p.stdout, p.stderr))


if __name__ == '__main__':
    if sys.argv[1:] == ['--probe']:
        probe()
        sys.exit(0)
    result = unittest.main(exit=False, verbosity=2).result
    if result.testsRun and result.testsRun == len(result.skipped):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
