#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The drift watcher of bktd --session (issue 17).

A real session bus, real GSettings (keyfile backend), a real flatpak user
installation fed by a local repo, an extension installed and enabled by hand
(its files and the org.gnome.shell keys), dbusmock's notification_daemon
template as the notification server (with actions), real git remotes and the
forge API stand-in of punenv.py, the real daemons and client.

* `bkt watch enable` starts it and keeps "watch" in config.json; the daemon
  does not exit when idle while it watches (idle timeout 4 s here).
* A key changed, an app installed and an extension enabled by hand, in one
  burst: ONE DriftChanged after the debounce, naming exactly those three;
  ONE notification with Review/Propose/Ignore.
* "Propose" (ActionInvoked emitted by the server): ONE pull request on the
  real remote with exactly those three items, one commit per subsystem.
* "Ignore": the item goes to "ignore" in config.json and the watcher counts
  it as ignored, not as waiting.
* `bkt watch disable`: the watcher stops and the daemon may exit again.
"""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
EXT = 'byhand@bkt.test'
TARGETS = ['extension:' + EXT, 'flatpak:org.test.App001', 'gsetting:%s.clock-format' % IFACE]
DEBOUNCE_MS = 3000
IDLE = 4


class Watcher(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=2, idle_timeout=IDLE)

    @classmethod
    def setUpClass(cls):
        cls.ENV_KW = dict(Watcher.ENV_KW, extra_env={'BKT_WATCH_DEBOUNCE_MS': str(DEBOUNCE_MS),
                                                      'BKT_CLIENT_PATH': bktenv.install().bkt})
        super().setUpClass()
        env = cls.env
        cls.procs = []
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(env, ADMIN, cls.forge, SEED)
            env.write_standard_manifests()
            # the notified proposal finds the repo as the user's commands do: config.json
            cls.config_path = os.path.join(env.config_home(ADMIN), 'bkt', 'config.json')
            cls.world.write_user_file(cls.config_path, json.dumps({'api_url': cls.forge.url,
                                                                   'repo': cls.world.checkout}) + '\n')
            uenv = env.session_env(ADMIN)
            cls.notify_log = os.path.join(env.home(ADMIN), 'notifications.log')
            cls.notifyd = subprocess.Popen(
                ['/usr/bin/python3', '-m', 'dbusmock', '--session', '-t', 'notification_daemon',
                 '-p', '{"capabilities": "body actions"}', '-l', cls.notify_log],
                env=uenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **env.user_kwargs(ADMIN))
            cls.procs.append(cls.notifyd)
            p = env.run_as(ADMIN, ['gdbus', 'wait', '--session', '--timeout', '20', 'org.freedesktop.Notifications'])
            assert p.returncode == 0, 'the notification server did not start: ' + p.stderr
            cls.signal_log = os.path.join(env.home(ADMIN), 'drift-signals.log')
            cls.monitor = subprocess.Popen(
                ['dbus-monitor', '--session',
                 "type='signal',interface='org.bkt.Daemon1.Manager',member='DriftChanged'"],
                env=uenv, stdout=open(cls.signal_log, 'w'), stderr=subprocess.DEVNULL, **env.user_kwargs(ADMIN))
            cls.procs.append(cls.monitor)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in getattr(cls, 'procs', []):
            p.terminate()
            p.wait(timeout=10)
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()

    # ------------------------------------------------------------- helpers
    def bkt(self, *args):
        return self.env.bkt_run(ADMIN, *args)

    def watch_status(self):
        rc, st, err = self.env.bkt_json(ADMIN, '--json', 'watch', 'status')
        self.assertEqual(rc, 0, err)
        return st

    def signals(self):
        """[(time read, [targets changed here])] of the DriftChanged seen so far."""
        with open(self.signal_log) as f:
            text = f.read()
        out = []
        for block in text.split('signal time=')[1:]:
            if 'member=DriftChanged' not in block:
                continue
            out.append(re.findall(r'string "([a-z]+:[^"]+)"', block))
        return out

    def notifications(self):
        """The Notify calls logged by the server: [(replaces id, summary, body, actions)]."""
        try:
            with open(self.notify_log) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        out = []
        # one call per record; a body spans lines
        for m in re.finditer(r'^\d+\.\d+ Notify "bkt" (\d+) "" "([^"]*)" "(.*?)" \[(.*?)\]', text, re.M | re.S):
            out.append((int(m.group(1)), m.group(2), m.group(3), re.findall(r'"([^"]+)"', m.group(4))))
        self.assertEqual(len(out), text.count(' Notify '), text)
        return out

    def emit_action(self, nid, key):
        p = self.env.run_as(ADMIN, ['gdbus', 'call', '--session', '--dest', 'org.freedesktop.Notifications',
                                    '--object-path', '/org/freedesktop/Notifications', '--method',
                                    'org.freedesktop.DBus.Mock.EmitSignal', 'org.freedesktop.Notifications',
                                    'ActionInvoked', 'us', '[<uint32 %d>, <%r>]' % (nid, key)])
        self.assertEqual(p.returncode, 0, p.stderr)

    def wait_for(self, what, pred, timeout=60):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        self.fail('timed out waiting for ' + what)

    def daemon_pid(self):
        return self.env.bus_owner_pid(ADMIN)

    # ------------------------------------------------------------- tests
    def test_1_enable_burst_notify_propose(self):
        env, w = self.env, self.world
        self.assertRc(self.bkt('apply'), 0, 'first apply')
        self.assertFalse(self.watch_status()['watching'], 'the watcher runs before it was enabled')
        self.assertRc(self.bkt('watch', 'enable'), 0, 'bkt watch enable')
        with open(self.config_path) as f:
            config = json.load(f)
        self.assertIs(config['watch'], True)
        self.assertEqual(config['repo'], w.checkout, 'enabling the watcher lost the other settings')
        st = self.watch_status()
        self.assertTrue(st['watching'])
        # the first evaluation (everything in sync), then quiet: no notification for nothing
        self.wait_for('the first DriftChanged', lambda: len(self.signals()) >= 1)
        time.sleep(DEBOUNCE_MS / 1000 + 1)
        first = self.signals()
        self.assertEqual(first[-1], [], first)
        self.assertEqual(self.notifications(), [])
        # watching keeps the daemon: more than the idle timeout without any call
        pid = self.daemon_pid()
        time.sleep(IDLE + 2)
        self.assertEqual(self.daemon_pid(), pid, 'the session daemon exited while watching')

        # one burst of changes by hand
        n_before = len(self.signals())
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h')
        env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App001')
        d = os.path.join(env.home(ADMIN), '.local', 'share', 'gnome-shell', 'extensions', EXT)
        env.run_as(ADMIN, ['mkdir', '-p', d])
        env.run_as(ADMIN, ['sh', '-c', 'printf \'{"uuid": "%s", "shell-version": ["46"]}\' > "$1"' % EXT,
                           'sh', os.path.join(d, 'metadata.json')])
        env.gsettings(ADMIN, 'set', 'org.gnome.shell', 'enabled-extensions', "['%s']" % EXT)
        t_last = time.monotonic()
        self.wait_for('DriftChanged after the burst', lambda: len(self.signals()) > n_before)
        latency = time.monotonic() - t_last
        time.sleep(2 * DEBOUNCE_MS / 1000 + 1)
        after = self.signals()[n_before:]
        self.assertEqual(len(after), 1, 'a burst must be one DriftChanged: %s' % after)
        self.assertEqual(sorted(after[0]), TARGETS)
        print('change → DriftChanged: %.2f s (debounce %.1f s)' % (latency, DEBOUNCE_MS / 1000))
        st = self.watch_status()
        self.assertEqual(st['drift']['capture'], 3, st)

        # one notification, with the actions
        notes = self.notifications()
        self.assertEqual(len(notes), 1, notes)
        replaces, summary, body, actions = notes[0]
        self.assertEqual(replaces, 0)
        self.assertIn('3 changes', summary)
        for t in TARGETS:
            self.assertIn(t, body)
        self.assertEqual(actions[2::2], ['review', 'propose', 'ignore'])

        # "Propose": exactly those three as ONE pull request
        branches = w.bkt_branches(w.bare_file)
        self.emit_action(1, 'propose')
        reqs = self.wait_for('the pull request', self.forge.take, timeout=120)
        self.assertEqual(len(reqs), 1, reqs)
        new = w.bkt_branches(w.bare_file) - branches
        self.assertEqual(len(new), 1, new)
        branch = new.pop()
        self.assertEqual(reqs[0]['body']['head'], branch)
        commits = w.git(None, '--git-dir', w.bare_file, 'rev-list', 'main..' + branch).split()
        self.assertEqual(len(commits), 3, commits)
        names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', branch).split()
        self.assertEqual(sorted(n for n in names if n.startswith('manifests/')),
                         ['manifests/flatpak-apps.json', 'manifests/gnome-extensions.json',
                          'manifests/gsettings.json'])
        diff = w.git(None, '--git-dir', w.bare_file, 'diff', 'main', branch, '--', 'manifests')
        for word in ('24h', 'org.test.App001', EXT):
            self.assertIn(word, diff)
        # the outcome is notified, and the machine is in sync again
        self.wait_for('the outcome notification', lambda: len(self.notifications()) >= 2)
        self.assertIn('proposed', self.notifications()[1][1])
        self.wait_for('the drift after the proposal', lambda: self.watch_status()['drift'].get('capture') == 0)
        self.assertEqual(self.forge.take(), [])

    def test_2_ignore(self):
        env = self.env
        n_notes = len(self.notifications())
        env.gsettings(ADMIN, 'set', IFACE, 'color-scheme', 'default')
        target = 'gsetting:%s.color-scheme' % IFACE
        self.wait_for('the notification', lambda: len(self.notifications()) > n_notes)
        replaces, summary, body, actions = self.notifications()[-1]
        self.assertIn(target, body)
        # a new notification (the last one was the outcome's): the server's next id
        self.assertEqual(replaces, 0)
        nid = sum(1 for n in self.notifications() if n[0] == 0)
        self.emit_action(nid, 'ignore')
        self.wait_for('the ignored count', lambda: self.watch_status()['drift'].get('ignored') == 1)
        with open(self.config_path) as f:
            config = json.load(f)
        self.assertEqual(config['ignore'], [target])
        self.assertEqual(self.watch_status()['drift']['capture'], 0)
        self.assertEqual(self.signals()[-1], [], 'an ignored item is still reported as waiting')
        # bkt status says so too (one verdict: bkt_watcher_mark_ignored)
        st = self.status(ADMIN)
        self.assertEqual(st['ignored'], [target])
        op = [o for o in st['subsystems']['gsettings']['drift'] if o['target'] == target]
        self.assertTrue(op and op[0].get('ignored') is True, st['subsystems']['gsettings']['drift'])
        res = self.bkt('status')
        self.assertIn('IGNORED', res[1])
        self.assertEqual(self.forge.take(), [])

    def test_3_disable(self):
        self.assertRc(self.bkt('watch', 'disable'), 0, 'bkt watch disable')
        with open(self.config_path) as f:
            self.assertIs(json.load(f)['watch'], False)
        pid = self.daemon_pid()
        self.wait_for('the idle exit', lambda: self.daemon_pid() != pid, timeout=IDLE + 20)
        self.assertFalse(self.watch_status()['watching'])


if __name__ == '__main__':
    bktenv.main()
