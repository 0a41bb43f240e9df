#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt admin bootc through bktd --system, with the real polkitd and the shipped
policy/rules, and the bootc test double (tests/doubles/bootc-double) as bootc.

* wheel user: status, upgrade (with progress relayed from --progress-fd),
  rollback without a password; switch refused without interaction (the rules
  ask even wheel to authenticate);
* non-wheel user: status works; upgrade/rollback/switch refused with exit 3 /
  org.bkt.Error.NotAuthorized and the double's log proves nothing ran;
* confirmation: no TTY and no --confirm → exit 2, nothing ran;
* bad input (shell metacharacters, 10 MB reference, leading "-", unknown
  transport) → InvalidArgument before polkit, nothing ran;
* faults: the double dies mid-upgrade → the transaction fails with its
  stderr tail; the client killed mid-upgrade → the upgrade finishes and
  status shows it staged; a second upgrade while one runs → Busy naming it;
* `bkt status` has the os section.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402

EXIT_USAGE, EXIT_NOT_AUTHORIZED, EXIT_INVALID, EXIT_BUSY = 2, 3, 5, 6

# a 10 MB argument does not fit on a command line (128 KiB per argument): call with GDBus from python
BIG_CALL = r'''
import sys
from gi.repository import Gio, GLib
addr, method, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = Gio.DBusConnection.new_for_address_sync(
    addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)
big = 'quay.io/' + 'x' * size
if method == 'BootcSwitch':
    params = GLib.Variant('(sa{sv})', (big, {}))
elif method == 'SystemctlManage':
    params = GLib.Variant('(sasa{sv})', ('start', [big], {}))
else:
    params = GLib.Variant('(asa{sv})', ([big], {}))
try:
    conn.call_sync('org.bkt.Daemon1', '/org/bkt/Daemon1', 'org.bkt.Daemon1.Admin', method, params, None,
                   Gio.DBusCallFlags.NONE, 120000, None)
    print('OK')
except GLib.Error as e:
    print('ERROR', Gio.DBusError.get_remote_error(e), e.message[:300])
'''


class AdminBootc(EnvTestCase):
    ENV_KW = dict(polkit='real', flatpak=False, bootc=True)

    def setUp(self):
        self.env.reset_bootc()
        self.env.set_bootc_mode('')
        if not self.env.system_daemon.alive():
            self.env.start_system_daemon()

    def changes(self):
        """Invocations of the double other than status."""
        return [a for a in self.env.bootc_runs() if a[:1] != ['status']]

    def test_status_both_users(self):
        env = self.env
        for user in (ADMIN, USER):
            rc, st, err = env.bkt_json(user, 'admin', 'bootc', 'status', '--json')
            self.assertEqual(rc, 0, err)
            self.assertEqual(st['booted']['image'], 'quay.io/fedora/fedora-bootc:41')
            self.assertEqual(st['booted']['version'], '41.20261101.0')
            self.assertTrue(st['booted']['digest'].startswith('sha256:'))
            self.assertIsNone(st['staged'])
            self.assertEqual(st['rollback']['version'], '41.20261025.0')
            self.assertFalse(st['reboot_required'])
            res = env.bkt_run(user, 'admin', 'bootc', 'status')
            self.assertRc(res, 0)
            self.assertIn('41.20261101.0', res[1])
        self.assertEqual(env.bootc_runs('status')[0], ['status', '--json', '--format-version', '1'])

    def test_upgrade_wheel_without_password(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '--confirm')
        self.assertRc(res, 0, 'wheel upgrade')
        self.assertIn('reboot to apply', res[1])
        self.assertEqual(self.changes(), [['upgrade', '--progress-fd', '3']])
        rc, st, err = env.bkt_json(USER, 'admin', 'bootc', 'status', '--json')
        self.assertEqual(st['staged']['version'], '41.20261120.0')
        self.assertTrue(st['reboot_required'])
        # bkt status: the os section says so
        rc, full, err = env.bkt_json(ADMIN, 'status', '--json')
        self.assertEqual(rc, 0, err)
        self.assertTrue(full['os']['available'], full['os'])
        self.assertEqual(full['os']['bootc']['staged']['version'], '41.20261120.0')
        res = env.bkt_run(ADMIN, 'status')
        self.assertRc(res, 0)
        self.assertIn('OS image (bootc)', res[1])
        self.assertIn('reboot to apply the staged update', res[1])

    def test_upgrade_progress_json(self):
        """The progress-fd stream reaches the transaction: watch its signals with gdbus monitor."""
        env = self.env
        # the signals go to their creator only: root's monitor sees them
        mon = self.env.transaction_monitor()
        try:
            time.sleep(0.5)
            rc, out, err = env.bkt_json(ADMIN, 'admin', 'bootc', 'upgrade', '-y', '--json')
            self.assertEqual(rc, 0, err)
            self.assertTrue(out['success'])
            self.assertIn('Queued for next boot', out['result']['output'])
            self.assertEqual(out['result']['status']['staged']['version'], '41.20261120.0')
            time.sleep(0.5)
        finally:
            mon.terminate()
            text = '\n'.join(bktenv.monitor_signal_lines(mon.communicate(timeout=10)[0]))
        progress = [line for line in text.splitlines() if '.Progress (' in line]
        self.assertTrue(any('Pulling image' in p and 'layer' in p and 'MB' in p for p in progress),
                        'no byte/layer progress relayed: %s' % progress[:5])
        self.assertTrue(any('step' in p for p in progress), 'no step progress relayed')

    def test_check_changes_nothing(self):
        env = self.env
        res = env.bkt_run(USER, 'admin', 'bootc', 'upgrade', '--check')
        self.assertRc(res, EXIT_NOT_AUTHORIZED, 'non-wheel check')
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '--check')
        self.assertRc(res, 0, 'wheel check')
        self.assertIn('Update available', res[1])
        self.assertEqual(self.changes(), [['upgrade', '--check']])
        self.assertIsNone(env.bootc_state()['staged'])

    def test_rollback_wheel(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'rollback', '-y')
        self.assertRc(res, 0)
        self.assertEqual(self.changes(), [['rollback']])
        rc, st, err = env.bkt_json(ADMIN, 'admin', 'bootc', 'status', '--json')
        self.assertTrue(st['rollback_queued'])
        self.assertTrue(st['reboot_required'])
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'status')
        self.assertIn('reboot to boot the rollback image', res[1])

    def test_switch_needs_authentication_even_for_wheel(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'switch', 'quay.io/example/os:42', '-y')
        self.assertRc(res, EXIT_NOT_AUTHORIZED, 'wheel switch without an agent')
        self.assertIn('authentication is required', res[2])
        self.assertEqual(self.changes(), [])
        # root (polkit always authorises uid 0) can, which proves the request itself is fine
        p = env.gdbus_call('root', 'BootcSwitch', 'quay.io/example/os:42', "{'transport': <'registry'>}",
                           interface=bktenv.ADMIN_IFACE)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_non_wheel_refused_nothing_runs(self):
        env = self.env
        for args in (['upgrade', '-y'], ['rollback', '-y'], ['switch', 'quay.io/example/os:42', '-y'],
                     ['upgrade', '--apply', '-y']):
            res = env.bkt_run(USER, 'admin', 'bootc', *args)
            self.assertRc(res, EXIT_NOT_AUTHORIZED, 'non-wheel bootc %s' % args[0])
            self.assertIn('not authorized', res[2].lower())
        for method, params in (('BootcUpgrade', ['{}']), ('BootcRollback', ['{}']),
                               ('BootcSwitch', ['quay.io/x/y:1', '{}'])):
            p = env.gdbus_call(USER, method, *params, interface=bktenv.ADMIN_IFACE)
            self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        self.assertEqual(self.changes(), [], 'the double ran despite the refusal')
        self.assertIsNone(env.bootc_state()['staged'] if os.path.exists(
            os.path.join(env.bootc_dir, 'state.json')) else None)

    def test_confirmation_required(self):
        env = self.env
        for args in (['upgrade'], ['rollback'], ['switch', 'quay.io/example/os:42']):
            res = env.bkt_run(ADMIN, 'admin', 'bootc', *args)
            self.assertRc(res, EXIT_USAGE, 'bootc %s without --confirm and without a TTY' % args[0])
            self.assertIn('--confirm', res[2])
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '--dry-run')
        self.assertRc(res, 0)
        self.assertEqual(self.changes(), [])

    def test_bad_input(self):
        env = self.env
        bad = ['img;rm -rf /', '$(reboot)', 'a b', '-x', '--help', '', 'quay.io/x\n/y', 'a|b', 'x' * 1025]
        for image in bad:
            p = env.gdbus_call(ADMIN, 'BootcSwitch', json.dumps(image), '{}', interface=bktenv.ADMIN_IFACE)
            self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        for user in (ADMIN, USER):
            p = env.run_as(user, [bktenv.SYSTEM_PYTHON, '-c', BIG_CALL, env.system_bus_address, 'BootcSwitch',
                                  str(10 * 1024 * 1024)], timeout=300)
            self.assertIn('ERROR org.bkt.Error.LimitExceeded', p.stdout, '10 MB image reference: %s %s'
                          % (p.stdout, p.stderr[-500:]))
        p = env.gdbus_call(ADMIN, 'BootcSwitch', 'quay.io/x/y:1', "{'transport': <'ftp'>}",
                           interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'BootcUpgrade', "{'check': <true>, 'apply': <true>}", interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'BootcUpgrade', "{'bogus': <1>}", interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'BootcUpgrade', "{'check': <'yes'>}", interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'switch', 'img;rm -rf /', '-y')
        self.assertRc(res, EXIT_INVALID)
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'switch', '--transport', 'nope', 'quay.io/x/y:1', '-y')
        self.assertRc(res, EXIT_INVALID)
        self.assertEqual(self.changes(), [])
        self.assertTrue(env.system_daemon.alive())

    def test_double_dies_mid_upgrade(self):
        env = self.env
        env.set_bootc_mode('die-mid-upgrade')
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '-y')
        self.assertRc(res, 1, 'upgrade whose bootc dies')
        self.assertIn('killed by signal 9', res[2])
        self.assertIn('connection reset by peer', res[2], 'stderr tail missing')
        rc, st, err = env.bkt_json(ADMIN, 'admin', 'bootc', 'status', '--json')
        self.assertIsNone(st['staged'])
        # the instance is usable again
        env.set_bootc_mode('fail-pull')
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '-y')
        self.assertRc(res, 1)
        self.assertIn('exit status 1', res[2])
        self.assertIn('503 Service Unavailable', res[2])
        env.set_bootc_mode('')
        self.assertRc(env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '-y'), 0)

    def test_ctrl_c_cancels_upgrade(self):
        """Ctrl-C in bkt cancels the transaction: bootc gets SIGTERM, nothing is staged, exit 130."""
        env = self.env
        env.set_bootc_mode('', delay=0.5)
        p = self.spawn('admin', 'bootc', 'upgrade', '-y')
        self.wait_for(lambda: self.changes(), 60, 'the double to start')
        starts = [e for e in env.bootc_log() if e.get('event') == 'start' and e['argv'][:1] == ['upgrade']]
        self.assertEqual(len(starts), 1, starts)
        time.sleep(0.5)
        os.kill(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn('cancel', err.lower())
        # bkt's exit proves nothing about bootc (an upgrade left running looks the same right after it):
        # the bootc process must be gone, and gone without finishing (it logs its exit when it finishes)
        self.assertTrue(bktenv.wait_pid_gone(starts[0]['pid'], 10),
                        'bootc upgrade (pid %d) still runs after Ctrl-C' % starts[0]['pid'])
        exits = [e for e in env.bootc_log() if e.get('event') == 'exit' and e['argv'][:1] == ['upgrade']]
        self.assertEqual(exits, [], 'bootc was not stopped: it finished: %s' % exits)
        env.set_bootc_mode('')
        rc, st, err = env.bkt_json(ADMIN, 'admin', 'bootc', 'status', '--json')
        self.assertIsNone(st['staged'])

    def test_toolbox_falls_back_to_host(self):
        """In a toolbox whose system bus does not reach bktd, bkt admin re-runs itself with
        flatpak-spawn --host (a fake one here, which runs the command with the real bus)."""
        env = self.env
        import pwd
        import shlex
        d = env.path('toolbox')
        os.makedirs(d, exist_ok=True)
        fake = os.path.join(d, 'flatpak-spawn')
        with open(fake, 'w') as f:
            f.write('#!/bin/sh\n# fake flatpak-spawn: records its arguments, runs the command "on the host"\n'
                    'printf "%%s\\n" "$@" > %s/spawn-args\n'
                    '[ "$1" = --host ] && [ "$2" = bkt ] || exit 99\n'
                    'shift 2\n'
                    'DBUS_SYSTEM_BUS_ADDRESS=%s exec %s "$@"\n' % (d, env.system_bus_address, env.bkt))
        os.chmod(fake, 0o755)
        os.chmod(d, 0o777)
        pw = pwd.getpwnam(ADMIN)
        uenv = env.user_env(ADMIN)
        uenv['PATH'] = d + ':' + uenv['PATH']
        uenv['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=' + os.path.join(d, 'no-such-bus')
        inner = ' '.join(shlex.quote(x) for x in
                         ['setpriv', '--reuid=%d' % pw.pw_uid, '--regid=%d' % pw.pw_gid, '--init-groups',
                          'env', '-i'] + ['%s=%s' % kv for kv in uenv.items()] +
                         [env.bkt, 'admin', 'bootc', 'status', '--json'])
        # a private mount namespace with its own /run, marked as a toolbox
        script = 'mount -t tmpfs tmpfs /run && touch /run/.toolboxenv && cd / && exec ' + inner
        p = env.run_as('root', ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('flatpak-spawn --host', p.stderr)
        self.assertEqual(json.loads(p.stdout)['booted']['version'], '41.20261101.0')
        with open(os.path.join(d, 'spawn-args')) as f:
            self.assertEqual(f.read().split('\n')[:6], ['--host', 'bkt', 'admin', 'bootc', 'status', '--json'])
        # BKT_NO_HOST_FALLBACK: the plain "not reachable" error
        inner2 = inner.replace("env -i", "env -i BKT_NO_HOST_FALLBACK=1")
        p = env.run_as('root', ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
                                'mount -t tmpfs tmpfs /run && touch /run/.toolboxenv && cd / && exec ' + inner2])
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertNotIn('flatpak-spawn', p.stderr)

    def spawn(self, *args):
        env = self.env
        return subprocess.Popen([env.bkt] + list(args), env=env.user_env(ADMIN), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=env.home(ADMIN),
                                **env.user_kwargs(ADMIN))

    def wait_for(self, cond, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.1)
        self.fail('timed out waiting for ' + what)

    def test_client_killed_mid_upgrade_busy_then_finishes(self):
        env = self.env
        env.set_bootc_mode('', delay=0.3)   # about 4 s of progress
        p = self.spawn('admin', 'bootc', 'upgrade', '-y')
        self.wait_for(lambda: self.changes(), 60, 'the double to start')
        # a second caller is Busy, naming the running transaction
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'rollback', '-y')
        self.assertRc(res, EXIT_BUSY, 'second bootc transaction')
        self.assertIn('/org/bkt/Daemon1/Transaction/', res[2])
        self.assertIn('bootc-upgrade', res[2])
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
        # the upgrade goes on without its client and ends staged
        self.wait_for(lambda: any(e.get('event') == 'exit' and e['argv'][:1] == ['upgrade']
                                  for e in env.bootc_log()), 120, 'the upgrade to finish')
        self.assertEqual([e['exit'] for e in env.bootc_log() if e.get('event') == 'exit'
                          and e['argv'][:1] == ['upgrade']], [0])
        env.set_bootc_mode('')
        rc, st, err = env.bkt_json(ADMIN, 'admin', 'bootc', 'status', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(st['staged']['version'], '41.20261120.0')
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'status')
        self.assertIn('reboot to apply', res[1])
        # --wait queues behind a running one
        env.reset_bootc()
        env.set_bootc_mode('', delay=0.1)
        p = self.spawn('admin', 'bootc', 'upgrade', '-y')
        self.wait_for(lambda: self.changes(), 60, 'the double to start')
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'rollback', '-y', '--wait')
        self.assertRc(res, 0, 'rollback --wait')
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual([a[0] for a in self.changes()], ['upgrade', 'rollback'])


class AdminBootcMissing(EnvTestCase):
    """No bootc on the system: status says so, bkt status goes on."""
    ENV_KW = dict(polkit='real', flatpak=False, users=(ADMIN,))

    def test_not_a_bootc_system(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'admin', 'bootc', 'status')
        self.assertRc(res, 1)
        self.assertIn('bootc is not installed', res[2])
        rc, st, err = env.bkt_json(ADMIN, 'status', '--json')
        self.assertEqual(rc, 0, err)
        self.assertFalse(st['os']['available'])
        self.assertIn('not installed', st['os']['reason'])


if __name__ == '__main__':
    bktenv.main()
