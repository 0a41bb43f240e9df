#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A forged systemd JobRemoved does not end bktd's wait for a bootc unit (issue 14, finding 6).

bktd --system runs `bootc upgrade` in a transient unit of the REAL systemd (`systemd --user` owning
org.freedesktop.systemd1 on the private system bus with the shipped bus policy, as in
test_admin_bootc_unit.py) and waits for the unit's start job to be removed.  While the upgrade runs
(the bootc double takes a few seconds), other processes hear systemd's JobNew for the unit and at
once send JobRemoved(…, "done") for that very job:

* bkt-admin (wheel, not root): addressed to org.bkt.Daemon1, to bktd's unique name, and broadcast —
  the bus policy denies the addressed ones, and bktd's match rule names systemd's unique name;
* bkt-user — the user the stand-in systemd runs as, whom the test bus lets signal bktd as root's
  systemd may — from a connection that is not systemd's: the bus lets it through, bktd must not
  take it for systemd's.

The client's `bkt admin bootc upgrade` must return only after the double has exited, with its
result; a wait ended early would report before the double's exit is in its log.

Checked both ways: with bktd's sender check and its match rule's sender removed, bkt-user's
forgery ends the wait early and this test fails; bkt-admin's alone still never reach bktd (the
bus policy's deny applies to the broadcast copy too, bktd owning the name).
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402

# Hears JobNew for bkt-bootc-* units and forges JobRemoved(id, job, unit, "done") for each, to
# org.bkt.Daemon1, to its unique name and broadcast; one JSON line per forgery.
FORGER = r'''
import json, sys, time
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(
    sys.argv[1], Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)
bktd = conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner',
                      GLib.Variant('(s)', ('org.bkt.Daemon1',)), None, 0, 10000, None).unpack()[0]
def on_job_new(c, sender, path, iface, name, params):
    jid, job, unit = params.unpack()
    if not unit.startswith('bkt-bootc-'):
        return
    for dest in ('org.bkt.Daemon1', bktd, None):
        conn.emit_signal(dest, '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'JobRemoved',
                         GLib.Variant('(uoss)', (jid, job, unit, 'done')))
    conn.flush_sync(None)
    print(json.dumps({'forged': unit, 'job': job, 'to': ['org.bkt.Daemon1', bktd, 'broadcast'],
                      'from': conn.get_unique_name()}), flush=True)
conn.signal_subscribe(None, 'org.freedesktop.systemd1.Manager', 'JobNew', '/org/freedesktop/systemd1', None, 0,
                      on_job_new)
print(json.dumps({'ready': True}), flush=True)
GLib.MainLoop().run()
'''


class ForgedJobRemoved(EnvTestCase):
    ENV_KW = dict(polkit='real', flatpak=False, bootc=True, systemd='real')

    def forger(self, user):
        env = self.env
        p = subprocess.Popen([bktenv.SYSTEM_PYTHON, '-c', FORGER, env.system_bus_address], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env.user_env(user, session_bus=False), cwd='/', **env.user_kwargs(user))
        self.addCleanup(self.stop, p)
        self.assertEqual(json.loads(p.stdout.readline()), {'ready': True}, p.stderr.read() if p.poll() else '')
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
        return p.communicate(timeout=30)

    def upgrade_exits(self):
        return [e for e in self.env.bootc_log() if e.get('event') == 'exit' and e['argv'][:1] == ['upgrade']]

    def test_forged_job_removed_does_not_end_the_wait(self):
        env = self.env
        env.set_bootc_mode('', delay=0.3)   # about 4 s of progress
        forgers = {ADMIN: self.forger(ADMIN), USER: self.forger(USER)}
        time.sleep(0.5)   # their match rules are in place
        client = subprocess.Popen([env.bkt, 'admin', 'bootc', 'upgrade', '-y'], env=env.user_env(ADMIN),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, cwd=env.home(ADMIN), **env.user_kwargs(ADMIN))
        out, err = client.communicate(timeout=300)
        # the moment the client has its answer, the double has already exited: the wait lasted
        exits = self.upgrade_exits()
        print(out, err)
        self.assertEqual(client.returncode, 0, err)
        self.assertEqual([e['exit'] for e in exits], [0], 'bktd reported the upgrade before bootc had finished')
        self.assertIn('reboot to apply', out)
        # the forgeries were really sent while bktd waited, by both users, for the unit's job
        for user, p in forgers.items():
            stdout, stderr = self.stop(p)
            forged = [json.loads(line) for line in stdout.splitlines() if line.startswith('{')]
            self.assertTrue(forged, '%s never saw the unit\'s JobNew: nothing was forged (%s)' % (user, stderr))
            self.assertTrue(forged[0]['forged'].startswith('bkt-bootc-'), forged)
        self.assertTrue(env.system_daemon.alive())


if __name__ == '__main__':
    bktenv.main()
