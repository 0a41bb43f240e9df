#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults: a daemon killed mid-apply, two applies at once.

kill -9 of bktd --session (and of bktd --system) during a slow apply (many
flatpak installs): the client reports it (exit 4 or 1 with a message), the
manifests are intact, and re-running apply converges.  Two concurrent
applies: one gets Busy (exit 6) or, with --wait, queues; never interleaved.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

N_APPS = 40
APPS = ['org.test.App%03d' % i for i in range(1, N_APPS + 1)]
EXIT_FAILED, EXIT_UNREACHABLE, EXIT_BUSY = 1, 4, 6


class Faults(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=N_APPS)

    def setUp(self):
        env = self.env
        # every test starts from nothing installed, the big manifest in the image copy, and no
        # state record (a fresh machine: the apps uninstalled here are not changes made by hand)
        for scope, who in (('user', ADMIN), ('system', 'root')):
            if env.installed_apps(scope, ADMIN if scope == 'user' else None):
                env.flatpak(who, scope, 'uninstall', '-y', '--noninteractive', '--all')
        env.clear_state_records(ADMIN)
        env.write_standard_manifests(apps=bktenv.test_apps(system=APPS[:N_APPS // 2], user=APPS[N_APPS // 2:]))
        for who, d in (('session', env.session_daemons.get(ADMIN)), ('system', env.system_daemon)):
            if d is None or not d.alive():
                if who == 'session' and not env.bus_owner_pid(ADMIN):
                    env.start_session_daemon(ADMIN)
                elif who == 'system' and not env.bus_owner_pid(None):
                    env.start_system_daemon()

    def spawn_bkt(self, *args):
        env = self.env
        p = subprocess.Popen([env.bkt] + list(args), env=env.user_env(ADMIN), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=env.home(ADMIN),
                             **env.user_kwargs(ADMIN))
        p.t0 = time.monotonic()
        return p

    def finish(self, p, timeout=600):
        out, err = p.communicate(timeout=timeout)
        p.elapsed = time.monotonic() - p.t0
        p.t_end = time.monotonic()
        print('[bkt %s] rc=%d after %.1fs\n  out| %s\n  err| %s' % (' '.join(p.args[1:]), p.returncode, p.elapsed,
                                                                  out.strip().replace('\n', '\n  out| '),
                                                                  err.strip().replace('\n', '\n  err| ')))
        return p.returncode, out, err

    def wait_installed(self, scope, user, count, timeout=120):
        """Wait until @count apps are installed in @scope (polling the installation dir)."""
        env = self.env
        base = env.user_flatpak_dir(user) if scope == 'user' else env.path('flatpak', 'system')
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            d = os.path.join(base, 'app')
            n = len([a for a in os.listdir(d) if a.startswith('org.test.App')]) if os.path.isdir(d) else 0
            if n >= count:
                return n
            time.sleep(0.02)
        self.fail('no %s install progress within %ds' % (scope, timeout))

    def kill_mid_apply(self, instance):
        env = self.env
        manifests_before = env.manifests_snapshot(env.image_manifests_dir, env.overlay_dir(ADMIN))
        p = self.spawn_bkt('apply')
        scope = 'user' if instance == 'session' else 'system'
        self.wait_installed(scope, ADMIN, 1)
        if instance == 'session':
            pid = env.kill_session_daemon(ADMIN, signal.SIGKILL)
        else:
            pid = env.bus_owner_pid(None)
            print('kill -9 bktd --system (pid %d)' % pid)
            os.kill(pid, signal.SIGKILL)
            bktenv.wait_pid_gone(pid, 10)
            try:
                env.system_daemon.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        rc, out, err = self.finish(p, timeout=120)
        self.assertIn(rc, (EXIT_FAILED, EXIT_UNREACHABLE), 'client exit code after the %s daemon was killed'
                      % instance)
        self.assertTrue(err.strip(), 'no message on stderr after the daemon died')
        self.assertNotIn('UnmappedGError', err)
        self.assertEqual(manifests_before,
                         env.manifests_snapshot(env.image_manifests_dir, env.overlay_dir(ADMIN)),
                         'manifests changed by an interrupted apply')
        # the killed instance's state record is absent or whole (atomic write at the end), never
        # half-written; state_record raises on a truncated file
        killed_record = env.state_record(scope, ADMIN)
        self.assertTrue(killed_record is None or killed_record.get('version') == 1, killed_record)
        installed_now = env.installed_apps(scope, ADMIN if scope == 'user' else None)
        print('after kill -9 of pid %d: %d of %d %s apps installed' % (pid, len(installed_now), N_APPS // 2, scope))
        # restart (as the bus would activate it) and re-run: converges
        if instance == 'session':
            env.start_session_daemon(ADMIN)
        else:
            env.start_system_daemon()
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 're-run of apply after the %s daemon was killed' % instance)
        self.assertEqual(env.installed_apps('system') & set(APPS), set(APPS[:N_APPS // 2]))
        self.assertEqual(env.installed_apps('user', ADMIN) & set(APPS), set(APPS[N_APPS // 2:]))
        self.assertInSync(self.status(ADMIN))
        # the re-run recorded every app of the killed scope as applied
        record = env.state_record(scope, ADMIN)
        half = APPS[N_APPS // 2:] if scope == 'user' else APPS[:N_APPS // 2]
        self.assertEqual([a for a in half if 'flatpak:' + a not in record['items']], [])

    def test_kill_session_daemon_mid_apply(self):
        # system part first: install it, so that the killed part is the user's
        self.kill_mid_apply('session')

    def test_kill_system_daemon_mid_apply(self):
        self.kill_mid_apply('system')

    def test_concurrent_applies_busy(self):
        a = self.spawn_bkt('apply', '--only', 'flatpak')
        self.wait_installed('system', ADMIN, 1)
        b = self.spawn_bkt('apply', '--only', 'flatpak')
        rb, outb, errb = self.finish(b)
        ra, outa, erra = self.finish(a)
        self.assertEqual(ra, 0, 'the first apply failed: %s' % erra)
        # B started while A's system transaction (20 installs) was running: Busy, no queueing without --wait
        self.assertEqual(rb, EXIT_BUSY, 'the concurrent apply: rc %d, expected 6 (busy)' % rb)
        self.assertTrue('busy' in errb.lower() or 'another transaction' in errb.lower(),
                        'the Busy message does not say so: %s' % errb)
        self.assertRegex(errb, r'/org/bkt/Daemon1/Transaction/\d+',
                         'the Busy message does not name the running transaction')
        self.assertLess(b.t_end, a.t_end, 'the refused apply waited for the running one')
        self.assertInSync(self.status(ADMIN), ('flatpak',))

    def test_concurrent_applies_wait(self):
        a = self.spawn_bkt('apply', '--json')
        self.wait_installed('system', ADMIN, 1)
        b = self.spawn_bkt('apply', '--wait', '--json')
        rb, outb, errb = self.finish(b)
        ra, outa, erra = self.finish(a)
        self.assertEqual(ra, 0, erra)
        self.assertEqual(rb, 0, 'apply --wait failed: %s' % errb)
        self.assertNotIn('GDBus.Error:', errb, 'raw D-Bus error name prefix in a user-facing message')
        ja, jb = json.loads(outa), json.loads(outb)
        ids_a = {r['id'] for r in ja['results']}
        ids_b = {r['id'] for r in jb['results']}
        self.assertFalse(ids_a & ids_b, 'both transactions executed the same operations: %s' % (ids_a & ids_b))
        self.assertGreaterEqual(b.t_end, a.t_end - 0.5, 'the waiting apply finished before the running one')
        self.assertInSync(self.status(ADMIN))

    def test_session_and_system_busy_over_dbus(self):
        """Busy names the running transaction (D-Bus level, system instance)."""
        env = self.env
        content = json.dumps({'flatpak-apps': {'apps': [{'id': a, 'remote': 'bkt-test', 'scope': 'system'}
                                                        for a in APPS]},
                              'flatpak-remotes': {'remotes': bktenv.test_remotes(env)}})
        arg = "{'manifest': <%s>}" % json.dumps(content)
        # a pending transaction held by a live caller: gdbus monitor keeps nothing, so use python
        script = r'''
import sys
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
v = conn.call_sync('org.bkt.Daemon1', '/org/bkt/Daemon1', 'org.bkt.Daemon1.Manager', 'Apply',
    GLib.Variant('(a{sv})', ({'manifest': GLib.Variant('s', sys.argv[2])},)), None, 0, 60000, None)
print(v.unpack()[0], flush=True)
sys.stdin.readline()
'''
        holder = subprocess.Popen([bktenv.SYSTEM_PYTHON, '-c', script, env.system_bus_address, content],
                                  env=env.user_env(ADMIN), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, **env.user_kwargs(ADMIN))
        try:
            path = holder.stdout.readline().strip()
            self.assertTrue(path.startswith('/org/bkt/Daemon1/Transaction/'), holder.stderr.read()
                            if holder.poll() is not None else path)
            p = env.gdbus_call(ADMIN, 'Apply', arg)
            self.assertErrorName(p, 'org.bkt.Error.Busy')
            self.assertIn(path, p.stderr, 'Busy does not name the running transaction %s' % path)
            # someone else may not start it
            p = env.gdbus_call(ADMIN, 'Start', path=path, interface=bktenv.TRANSACTION_IFACE)
            self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        # the creator left before starting: the transaction is cancelled and the instance is free again
        deadline = time.monotonic() + 10
        while True:
            p = env.gdbus_call(ADMIN, 'Plan', arg)
            # read as root: its creator is gone, and nobody else but root may read it
            q = env.get_property('root', 'State', interface=bktenv.TRANSACTION_IFACE, path=path)
            if 'cancelled' in q.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIn("'cancelled'", q.stdout, 'transaction of a vanished creator not cancelled: %s %s'
                      % (q.stdout, q.stderr))
        self.assertEqual(env.installed_apps('system') & set(APPS), set(), 'an unstarted transaction ran')


class NoSystemDaemon(EnvTestCase):
    """No bktd --system on the system bus (and no activation): user-scope work goes on, system-scope
    work is a friendly 'daemon unreachable' (exit 4) that says what to do."""
    ENV_KW = dict(polkit='real', users=(ADMIN,), system_daemon=False, system_activation=False)

    def test_missing_system_daemon(self):
        env = self.env
        env.write_standard_manifests()
        res = env.bkt_run(ADMIN, 'status')
        self.assertRc(res, 0, 'bkt status without a system daemon (the session instance reads both installations)')
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, EXIT_UNREACHABLE, 'bkt apply with system-scope work and no system daemon')
        self.assertIn('bktd', res[2], 'the message does not say which daemon is missing')
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))
        res = env.bkt_run(ADMIN, 'apply', '--only', 'gsettings')
        self.assertRc(res, 0, 'user-scope apply without a system daemon')
        self.assertEqual(env.gsettings(ADMIN, 'get', 'org.gnome.desktop.interface', 'clock-format'), "'12h'")


if __name__ == '__main__':
    bktenv.main()
