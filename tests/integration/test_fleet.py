#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt -H HOST and bkt fleet status over real ssh (tests/integration/fleet_ssh.py: a private sshd on
127.0.0.1 whose logins reach this test world's private buses) to the real bktd, the real polkitd with
the shipped rules, GSettings and the bootc double:

* the client reaches HOST only through `ssh -T -- HOST systemd-stdio-bridge [--user]`: its own
  environment names no bus and no bktd it could start, yet status, apply, admin bootc and upgrade
  --check answer as they do locally (and apply's change lands in the user's settings);
* polkit on HOST decides as it does for any ssh login: the wheel user over ssh is refused the
  bootc upgrade without an agent (exit 3, nothing staged); on a terminal, bkt -H runs pkttyagent on
  HOST (ssh -t) and HOST's prompt is answered here (a wrong password: refused, nothing run); root is
  authorised and stages it;
* unreachable host, unknown host key, changed host key: refused with ssh's reason, exit 4, no login;
  a login without a session bus there: exit 4, saying so;
  a HOST starting with "-" is refused before ssh runs (no option injection);
* a machine whose bktd is another version (python-dbusmock with data/dbusmock/bkt.py): a warning on
  bkt -H, the skew in fleet status's row;
* bkt fleet status: one row per host (from the arguments or config.json's "hosts"), --json.
"""

import json
import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import fleet_ssh  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

CLOCK = {'schema': 'org.gnome.desktop.interface', 'key': 'clock-format'}
OLD_VERSION = '0.0.1'
BOOTED = '41.20261101.0'
STAGED = '41.20261120.0'


class Fleet(EnvTestCase):
    ENV_KW = dict(polkit='real', bootc=True, users=(ADMIN,))

    @classmethod
    def setUpClass(cls):
        why = fleet_ssh.FleetSshd.unavailable()
        if why:
            raise bktenv.skip_without('sshd', why)
        super().setUpClass()
        env = cls.env
        try:
            here = {'system_bus': env.system_bus_address, 'runtime_dir': env.path('run', ADMIN)}
            oldbox = fleet_ssh.start_mock_machine(env, ADMIN, 'oldbox', OLD_VERSION)
            # a machine where the user has no session bus (not logged in there, no lingering)
            nobus = {'system_bus': env.system_bus_address, 'runtime_dir': env.path('machines', 'nobus')}
            os.makedirs(nobus['runtime_dir'])
            cls.sshd = fleet_ssh.FleetSshd(env, ADMIN, {'laptop': here, 'oldbox': oldbox, 'nobus': nobus},
                                           root_login=True)
            # root@laptop: the same machine, logged in as root (polkit authorises uid 0 itself)
            with open(os.path.join(cls.sshd.sshdir, 'config'), 'a') as fh:
                fh.write('Host rootbox\n  HostName 127.0.0.1\n  Port %d\n  User root\n' % cls.sshd.ports['laptop'])
        except BaseException:
            env.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'sshd', None):
            cls.sshd.stop()
        super().tearDownClass()

    def setUp(self):
        self.env.reset_bootc()
        self.env.set_bootc_mode('')

    def remote(self, *args, **kw):
        """bkt as ADMIN with no bus of its own: DBUS_* point nowhere, and the private-daemon fallback
        cannot start a bktd.  Whatever answers came over ssh."""
        extra = {'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/nonexistent/system_bus_socket',
                 'BKTD_PATH': '/bin/false'}
        extra.update(self.sshd.client_env())
        extra.update(kw.pop('env_extra', {}))
        return self.env.bkt_run(ADMIN, *args, env_extra=extra, unset=('DBUS_SESSION_BUS_ADDRESS',), **kw)

    def remote_json(self, *args):
        rc, out, err = self.remote(*args)
        try:
            return rc, json.loads(out), err
        except ValueError:
            self.fail('bkt %s printed no JSON (rc=%d): %s %s' % (' '.join(args), rc, out, err))

    def staged(self):
        """The bootc double's staged deployment; None before it ever ran, or with nothing staged."""
        try:
            return self.env.bootc_state().get('staged')
        except FileNotFoundError:
            return None

    def logins(self):
        with open(self.sshd.log) as fh:
            return fh.read().count('Accepted publickey')

    def test_status_as_locally(self):
        rc, local, err = self.env.bkt_json(ADMIN, 'status', '--json')
        self.assertIn(rc, (0, 1), err)
        before = self.logins()
        rc2, remote, err2 = self.remote_json('-H', 'laptop', 'status', '--json')
        self.assertEqual(rc2, rc, err2)
        self.assertNotIn('version skew', err2)
        # two logins: the session bus (--user) and the system bus (the os section)
        self.assertEqual(self.logins() - before, 2)
        self.assertEqual(remote['subsystems'], local['subsystems'])
        self.assertEqual(remote['os']['bootc']['booted']['version'], BOOTED)
        # without -H the same environment reaches nothing: the answers above came over ssh
        rc3, out3, err3 = self.remote('status')
        self.assertEqual(rc3, 4, out3 + err3)
        # the version over ssh is the daemon's
        rc4, out4, err4 = self.remote('-H', 'laptop', 'version')
        self.assertEqual(rc4, 0, err4)
        self.assertIn('bktd ', out4)
        self.assertNotIn('private instance', out4)

    def test_apply_changes_the_remote_session(self):
        env = self.env
        env.write_manifests(env.image_manifests_dir, settings=[dict(CLOCK, value="'12h'")])
        try:
            rc, out, err = self.remote('-H', 'laptop', 'apply', '--only', 'gsettings')
            self.assertEqual(rc, 0, out + err)
            self.assertIn("clock-format='12h'", env.read_keyfile(ADMIN).replace(' ', ''))
            st = self.status(ADMIN, '--only', 'gsettings')
            self.assertEqual(st['subsystems']['gsettings']['drift'], [], st)
        finally:
            env.write_standard_manifests()
            env.gsettings(ADMIN, 'reset', CLOCK['schema'], CLOCK['key'], check=False)

    def test_polkit_decides_on_the_remote(self):
        # the wheel user over ssh: not the active local session, no agent there -> refused, nothing run
        rc, out, err = self.remote('-H', 'laptop', 'admin', 'bootc', 'upgrade', '-y')
        self.assertEqual(rc, 3, out + err)
        self.assertIsNone(self.staged())
        self.assertEqual(self.env.bootc_runs('upgrade'), [])
        # root is authorised by polkit: upgrade --check, then the upgrade, staged on that machine
        rc, out, err = self.remote('-H', 'rootbox', 'upgrade', '--check')
        self.assertEqual(rc, 0, out + err)
        self.assertIn(STAGED, out)
        self.assertIsNone(self.staged())
        rc, out, err = self.remote('-H', 'rootbox', 'admin', 'bootc', 'upgrade', '-y')
        self.assertEqual(rc, 0, out + err)
        self.assertIsNotNone(self.staged())
        self.assertEqual(len(self.env.bootc_runs('upgrade')), 2)   # --check, then the upgrade
        rc, doc, err = self.remote_json('fleet', 'status', '--json', 'laptop')
        self.assertEqual(rc, 0, err)
        row = doc['hosts'][0]
        self.assertEqual((row['image'], row['staged']), (BOOTED, STAGED), row)

    def test_agent_on_the_remote_terminal(self):
        """On a terminal, bkt -H runs pkttyagent on HOST (ssh -t) for the bridge's process: HOST's polkit
        asks there, the prompt shows here, the answer typed here goes there; a wrong password is refused
        (exit 3) and nothing is run."""
        env = self.env
        e = env.user_env(ADMIN)
        e.update(self.sshd.client_env())
        e.pop('BKT_NO_PKTTYAGENT', None)
        e.pop('DBUS_SESSION_BUS_ADDRESS', None)
        e['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=/nonexistent/system_bus_socket'
        e['TERM'] = 'dumb'
        master, slave = pty.openpty()
        kw = env.user_kwargs(ADMIN)
        p = subprocess.Popen([env.bkt, '-H', 'laptop', 'admin', 'bootc', 'upgrade', '-y'], stdin=slave, stdout=slave,
                             stderr=slave, env=e, cwd=env.home(ADMIN), start_new_session=True, **kw)
        os.close(slave)
        seen = b''

        def read_until(marker, timeout=60):
            nonlocal seen
            end = time.monotonic() + timeout
            while marker not in seen and time.monotonic() < end:
                r, _, _ = select.select([master], [], [], 0.2)
                if r:
                    try:
                        seen += os.read(master, 4096)
                    except OSError:
                        break
            return marker in seen
        try:
            prompted = read_until(b'AUTHENTICATING FOR org.bkt.admin.bootc.upgrade')
            self.assertTrue(prompted, 'no polkit prompt from HOST: %r' % seen)
            self.assertTrue(read_until(b'Password: '), seen)
            os.write(master, b'not-the-password\r')
            end = time.monotonic() + 120
            while p.poll() is None and time.monotonic() < end:
                read_until(b'\0', timeout=0.5)
            read_until(b'\0', timeout=0.5)
            rc = p.poll()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
        text = seen.decode(errors='replace')
        self.assertEqual(rc, 3, text)
        self.assertIn('not authorised', text.lower().replace('authorized', 'authorised'))
        self.assertIsNone(self.staged())
        self.assertEqual(self.env.bootc_runs('upgrade'), [])

    def test_refusals(self):
        before = self.logins()
        cases = [('gone', 'Connection refused'),
                 ('stranger', 'host key is not in known_hosts'),
                 ('imposter', 'does not match the one recorded')]
        for host, reason in cases:
            rc, out, err = self.remote('-H', host, 'status')
            self.assertEqual(rc, 4, '%s: %s %s' % (host, out, err))
            self.assertIn(reason, err, host)
        self.assertEqual(self.logins(), before, 'a refused host got a login')
        rc, out, err = self.remote('-H', 'nobus', 'status')
        self.assertEqual(rc, 4, out + err)
        self.assertIn('nobus has no session bus for this user', err)
        # no option injection: refused before ssh runs
        marker = self.env.path('injected')
        for args in (('-H', '-oProxyCommand=touch %s' % marker), ('--host=-F/dev/null',), ('-H', 'a b')):
            rc, out, err = self.remote(*args, 'status')
            self.assertEqual(rc, 2, err)
            self.assertIn('is not a host name for ssh', err)
        self.assertFalse(os.path.exists(marker))
        # commands that act on this machine are not sent anywhere
        rc, out, err = self.remote('-H', 'laptop', 'changelog', 'list')
        self.assertEqual(rc, 2, err)
        self.assertIn('runs here, not through bktd', err)

    def test_version_skew(self):
        rc, out, err = self.remote('-H', 'oldbox', 'version')
        self.assertEqual(rc, 0, err)
        self.assertIn('bktd %s' % OLD_VERSION, out)
        self.assertIn('oldbox runs bktd %s' % OLD_VERSION, err)
        self.assertIn('version skew', err)

    def test_fleet_status(self):
        rc, doc, err = self.remote_json('fleet', 'status', '--json', 'laptop', 'oldbox', 'gone', 'stranger')
        self.assertEqual(rc, 1, err)   # some rows have errors
        self.assertNotIn('warning', err)   # the skew is in its row
        rows = {r['host']: r for r in doc['hosts']}
        self.assertEqual([r['host'] for r in doc['hosts']], ['laptop', 'oldbox', 'gone', 'stranger'])
        lap = rows['laptop']
        self.assertTrue(lap['reachable'])
        self.assertFalse(lap['version_skew'])
        self.assertNotIn('error', lap)
        self.assertEqual(lap['bktd'], doc['bkt'])
        self.assertEqual(lap['image'], BOOTED)
        self.assertNotIn('staged', lap)
        # the drift counts are the local status's, summed
        st = self.status(ADMIN)
        want = [sum(s.get('sync', {}).get(k, 0) for s in st['subsystems'].values())
                for k in ('to_apply', 'to_capture', 'conflict')]
        self.assertEqual([lap['to_apply'], lap['to_capture'], lap['conflict']], want)
        old = rows['oldbox']
        self.assertTrue(old['version_skew'])
        self.assertEqual(old['bktd'], OLD_VERSION)
        self.assertIn('version skew: bktd %s' % OLD_VERSION, old['error'])
        self.assertIn('to_apply', old)   # asked anyway: the mock's Status has its drift
        self.assertFalse(rows['gone']['reachable'])
        self.assertIn('Connection refused', rows['gone']['error'])
        self.assertIn('not in known_hosts', rows['stranger']['error'])

    def test_fleet_hosts_from_config(self):
        env = self.env
        cfg = os.path.join(env.config_home(ADMIN), 'bkt', 'config.json')
        os.makedirs(os.path.dirname(cfg), exist_ok=True)
        try:
            with open(cfg, 'w') as fh:
                json.dump({'hosts': ['laptop', 'oldbox']}, fh)
            bktenv.chown_tree(os.path.dirname(cfg), ADMIN)
            rc, out, err = self.remote('fleet', 'status')
            self.assertEqual(rc, 1, err)   # oldbox's skew
            lines = out.splitlines()
            self.assertTrue(lines[0].startswith('HOST'), out)
            for col in ('BKTD', 'IMAGE', 'STAGED', 'TO APPLY', 'TO CAPTURE', 'CONFLICT', 'ERROR'):
                self.assertIn(col, lines[0])
            self.assertEqual([line.split()[0] for line in lines[1:]], ['laptop', 'oldbox'])
            self.assertIn(BOOTED, lines[1])
            self.assertIn('version skew', lines[2])
            with open(cfg, 'w') as fh:
                json.dump({'hosts': 'laptop'}, fh)
            rc, out, err = self.remote('fleet', 'status')
            self.assertEqual(rc, 5, err)
            self.assertIn('"hosts" must be an array', err)
        finally:
            os.unlink(cfg)


if __name__ == '__main__':
    bktenv.main()
