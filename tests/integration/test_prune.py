#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`bkt apply --prune` (issue 13, item 5): remove from the machine what bkt
itself installed or set and no manifest declares any more — never what was
installed or set by hand or by another tool.

Real flatpak (system + user installations fed by a local repo, the system
part through the real bktd --system and real polkitd), real GSettings
(keyfile backend), extensions from an extensions.gnome.org stand-in, toolbox
shims in the user's shim directory, the real daemons and client.  The state record decides what is bkt's: an entry
written by apply/capture/a change, not a "seed" (in sync when bkt first
looked: maybe set by hand).
"""

import http.server
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase, TEST_SETTINGS, test_apps, test_remotes  # noqa: E402
from test_ext_shims import EgoHandler  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
WM = 'org.gnome.desktop.wm.preferences'
EXTENSIONS = ['good@bkt.test', 'second@bkt.test']
# set by hand before bkt ever ran, declared with the same value: a "seed", not bkt's
SEEDED = {'schema': IFACE, 'key': 'enable-animations', 'value': 'false'}

# shims bkt writes on the first apply; 'kept' stays declared, the others are dropped
SHIMS = [{'name': 'kept'}, {'name': 'gone', 'host': 'systemctl'}, {'name': 'edited'}]

# what the manifests drop after the first apply, and what --prune must remove
DROPPED = {'flatpak:org.test.App001', 'flatpak:org.test.App002', 'extension:second@bkt.test',
           'gsetting:%s.color-scheme' % IFACE, 'shim:gone'}


def manifests(env, apps, settings, extensions, shims):
    env.write_manifests(env.image_manifests_dir, remotes=test_remotes(env), apps=apps, settings=settings,
                        extensions=extensions, shims=shims)


class Prune(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=3)

    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), EgoHandler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        url = 'http://127.0.0.1:%d' % cls.server.server_address[1]
        cls.ENV_KW = dict(Prune.ENV_KW, extra_env={'BKT_EXTENSIONS_URL': url, 'BKT_SHELL_VERSION': '46.2'})
        try:
            super().setUpClass()
        except BaseException:
            cls.server.shutdown()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.server.shutdown()
            cls.server.server_close()

    def ext_dir(self, uuid):
        return os.path.join(self.env.home(ADMIN), '.local', 'share', 'gnome-shell', 'extensions', uuid)

    def shim(self, name):
        return os.path.join(self.env.home(ADMIN), '.local', 'toolbox', 'shims', name)

    def shims(self):
        """The shim directory: name → bytes."""
        out = {}
        for name in sorted(os.listdir(self.shim(''))):
            with open(self.shim(name), 'rb') as f:
                out[name] = f.read()
        return out

    def machine(self):
        """What prune may touch, to prove a dry run changed nothing."""
        env = self.env
        return (env.installed_apps('system'), env.installed_apps('user', ADMIN),
                sorted(os.listdir(os.path.dirname(self.ext_dir('x')))), env.read_keyfile(ADMIN), self.shims())

    def pruned(self, plan):
        return {op['target']: op for op in plan['operations'] if op.get('sync', {}).get('prune')}

    def test_1_prune(self):
        env = self.env
        full_apps = test_apps(system=('org.test.Hello', 'org.test.App001'),
                              user=('org.test.Second', 'org.test.App002'))
        env.gsettings(ADMIN, 'set', IFACE, 'enable-animations', 'false')
        manifests(env, full_apps, TEST_SETTINGS + [SEEDED], EXTENSIONS, SHIMS)
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 'first apply')
        rec = env.state_record('user', ADMIN)['items']
        self.assertEqual(rec['gsetting:%s.enable-animations' % IFACE]['command'], 'seed')
        self.assertEqual(rec['extension:second@bkt.test']['command'], 'apply')
        self.assertEqual(rec['shim:gone']['command'], 'apply')
        self.assertEqual(env.state_record('system')['items']['flatpak:org.test.App001']['command'], 'apply')

        # by hand: an app (user), a setting no manifest declares, a shim no manifest declares (a
        # copy of one of bkt's, marker and all: bkt did not write it here) and a file of the user's
        env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App003')
        env.gsettings(ADMIN, 'set', IFACE, 'cursor-size', '48')
        with open(self.shim('kept')) as f:
            copy = f.read().replace('kept', 'byhand')
        env.run_as(ADMIN, ['sh', '-c', 'cat > "$0" && chmod 755 "$0"', self.shim('byhand')], input=copy)
        env.run_as(ADMIN, ['sh', '-c', 'echo mine > "$0"', self.shim('mine')])
        # the manifests drop two apps, an extension, a setting bkt set, the seeded setting, a
        # setting bkt set that was then changed by hand, a shim bkt wrote and one it wrote that
        # was then edited by hand
        kept_settings = [s for s in TEST_SETTINGS if s['key'] not in ('color-scheme', 'button-layout')]
        manifests(env, test_apps(), kept_settings, EXTENSIONS[:1], SHIMS[:1])
        env.gsettings(ADMIN, 'set', WM, 'button-layout', 'close:')
        env.run_as(ADMIN, ['sh', '-c', 'echo "# my tweak" >> "$0"', self.shim('edited')])
        shims_before = self.shims()

        # plain apply removes nothing
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.pruned(plan), {})
        self.assertFalse(DROPPED & {op['target'] for op in plan['operations']}, plan['operations'])

        # capture does not write back what the manifests dropped, and says what removes it
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertFalse(DROPPED & {op['target'] for op in plan['operations']}, plan['operations'])
        self.assertTrue(any('shim:gone' in w and 'bkt apply --prune' in w for w in plan['warnings']),
                        plan['warnings'])

        # --dry-run lists exactly what bkt installed and the manifests dropped, and changes nothing
        before = self.machine()
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--prune', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        ops = self.pruned(plan)
        self.assertEqual(set(ops), DROPPED, plan['operations'])
        self.assertEqual(len(plan['operations']), len(DROPPED), plan['operations'])
        for target, op in ops.items():
            self.assertEqual(op['direction'], 'prune', op)
            self.assertEqual(op['base']['command'], 'apply', op)
        self.assertEqual(ops['flatpak:org.test.App001']['scope'], 'system')
        self.assertEqual(ops['flatpak:org.test.App001']['action'], 'uninstall')
        self.assertEqual(ops['flatpak:org.test.App002']['scope'], 'user')
        self.assertEqual(ops['extension:second@bkt.test']['action'], 'uninstall')
        self.assertEqual(ops['gsetting:%s.color-scheme' % IFACE]['action'], 'reset')
        self.assertEqual((ops['shim:gone']['action'], ops['shim:gone']['scope']), ('remove', 'user'))
        self.assertTrue(any('button-layout' in w and 'not pruned' in w for w in plan['warnings']), plan['warnings'])
        self.assertTrue(any('shim:edited' in w and 'not pruned' in w for w in plan['warnings']), plan['warnings'])
        self.assertEqual(before, self.machine(), 'apply --prune --dry-run changed the machine')
        res = env.bkt_run(ADMIN, 'apply', '--prune', '--dry-run')
        self.assertRc(res, 0, 'text dry run')
        self.assertIn('pruned: bkt applied it', res[1])
        # status names them and the command
        st = self.status(ADMIN)
        self.assertEqual({op['target'] for op in st['prune']}, DROPPED)
        self.assertEqual(st['sync']['to_prune'], len(DROPPED))
        self.assertIn('bkt apply --prune', [a['command'] for a in st['next_actions']])
        # ... as bkt's, not also as untracked (capture would not record them: the manifests dropped
        # them); what bkt did not put there is untracked
        untracked = {(u['target'], u.get('scope', 'user')) for sub in st['subsystems'].values()
                     for u in sub.get('untracked', [])}
        self.assertFalse({(op['target'], op['scope']) for op in st['prune']} & untracked, untracked)
        self.assertIn(('shim:byhand', 'user'), untracked)
        self.assertIn(('flatpak:org.test.App003', 'user'), untracked)
        res = env.bkt_run(ADMIN, 'status')
        self.assertIn('bkt apply --prune', res[1])
        # each subsystem's list shows them too (they are on disk: in no list would be a lie), with
        # the command that removes them; --json has the subsystem's share of "prune"
        for sub, name, command in (('shim', 'shim:gone', 'shim'),
                                   ('flatpak', 'flatpak:org.test.App002', 'flatpak'),
                                   ('flatpak', 'flatpak:org.test.App001 (system)', 'flatpak'),
                                   ('extension', 'extension:second@bkt.test', 'extension'),
                                   ('gsettings', 'gsetting:%s.color-scheme' % IFACE, 'gsetting')):
            res = env.bkt_run(ADMIN, command, 'list')
            self.assertRc(res, 0, '%s list' % command)
            lines = [ln for ln in res[1].splitlines() if ln.startswith(name + ' ')]
            self.assertEqual(len(lines), 1, res[1])
            self.assertIn('in no manifest any more: `bkt apply --prune --only %s` removes it' % sub, lines[0])
            rc, listed, err = env.bkt_json(ADMIN, '--json', command, 'list')
            self.assertEqual(rc, 0, err)
            self.assertEqual({op['target'] for op in listed['prune']},
                             {op['target'] for op in st['prune'] if op['subsystem'] == sub}, listed['prune'])
        self.assertNotIn('shim:byhand', [ln.split()[0] for ln in env.bkt_run(ADMIN, 'shim', 'list')[1].splitlines()
                                         if 'bkt apply --prune' in ln])
        # the command the lists name does what they say: only that subsystem's candidates
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--prune', '--only', 'shim', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(set(self.pruned(plan)), {'shim:gone'}, plan['operations'])
        # an untracked item is named by its ID (what --select takes), with what its summary adds
        listed = env.bkt_run(ADMIN, 'flatpak', 'list')[1]
        self.assertIn('flatpak:org.test.App003: Installed from bkt-test (user)', listed)

        # the daemon refuses "prune" where it means nothing
        for method in ('Status', 'CapturePlan'):
            p = env.gdbus_call(ADMIN, method, "{'prune': <true>}", bus='session')
            self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
            self.assertIn('prune', p.stderr)

        res = env.bkt_run(ADMIN, 'apply', '--prune')
        self.assertRc(res, 0, 'apply --prune')
        self.assertNotIn('org.test.App001', env.installed_apps('system'))
        self.assertIn('org.test.Hello', env.installed_apps('system'))
        user_apps = env.installed_apps('user', ADMIN)
        self.assertNotIn('org.test.App002', user_apps)
        self.assertIn('org.test.App003', user_apps, 'an app installed by hand was pruned')
        self.assertIn('org.test.Second', user_apps)
        self.assertFalse(os.path.exists(self.ext_dir('second@bkt.test')))
        self.assertTrue(os.path.exists(self.ext_dir('good@bkt.test')))
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'color-scheme'), "'default'")
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'cursor-size'), '48', 'a setting set by hand was reset')
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'enable-animations'), 'false',
                         'a setting bkt only saw (seed) was reset')
        self.assertEqual(env.gsettings(ADMIN, 'get', WM, 'button-layout'), "'close:'",
                         'a setting changed by hand after bkt set it was reset')
        # the shim bkt wrote is gone, verified; the rest of the directory is as it was
        del shims_before['gone']
        self.assertEqual(self.shims(), shims_before)
        self.assertIn(b'# my tweak', shims_before['edited'])
        # the records forget what was pruned; a second prune has nothing to do
        rec = env.state_record('user', ADMIN)['items']
        self.assertNotIn('flatpak:org.test.App002', rec)
        self.assertNotIn('gsetting:%s.color-scheme' % IFACE, rec)
        self.assertNotIn('shim:gone', rec)
        self.assertIn('shim:edited', rec)
        self.assertNotIn('flatpak:org.test.App001', env.state_record('system')['items'])
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--prune', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.pruned(plan), {})
        self.assertEqual(self.status(ADMIN)['prune'], [])

    def test_3_punned_changes_update_the_record(self):
        env = self.env
        app = 'flatpak:org.test.App002'
        # add: acted and recorded; the base is the new value, so the next step reads right
        res = env.bkt_run(ADMIN, 'flatpak', 'add', '--local', 'org.test.App002', '--remote', 'bkt-test',
                          '--scope', 'user')
        self.assertRc(res, 0, 'flatpak add --local')
        item = env.state_record('user', ADMIN)['items'][app]
        self.assertEqual((item['value'], item['command']), ('installed', 'change'))
        self.assertTrue(item['file'].endswith('flatpak-apps.json'), item)
        self.assertEqual(self.pruned_or_drift(app), [])
        # removed by hand afterwards: changed on this machine (never-synced would reinstall it silently)
        env.flatpak(ADMIN, 'user', 'uninstall', '-y', '--noninteractive', 'org.test.App002')
        op = {o['target']: o for o in self.status(ADMIN)['subsystems']['flatpak']['drift']}[app]
        self.assertEqual((op['direction'], op['base']['command']), ('capture', 'change'))
        # remove: the record forgets it; installed again by hand it is the person's: never pruned
        res = env.bkt_run(ADMIN, 'flatpak', 'remove', '--local', 'org.test.App002', '--scope', 'user')
        self.assertRc(res, 0, 'flatpak remove --local')
        self.assertNotIn(app, env.state_record('user', ADMIN)['items'])
        env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App002')
        self.assertEqual(self.pruned_or_drift(app), [])

        # a setting: set by a punned change, then by hand: TO CAPTURE (a stale base said CONFLICT)
        key = 'gsetting:%s.clock-format' % IFACE
        res = env.bkt_run(ADMIN, 'gsetting', 'set', '--local', IFACE, 'clock-format', "'24h'")
        self.assertRc(res, 0, 'gsetting set --local')
        item = env.state_record('user', ADMIN)['items'][key]
        self.assertEqual((item['value'], item['command']), ("'24h'", 'change'))
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '12h')
        op = {o['target']: o for o in self.status(ADMIN)['subsystems']['gsettings']['drift']}[key]
        self.assertEqual((op['direction'], op['sync']['state']), ('capture', 'to-capture'))

    def pruned_or_drift(self, target):
        rc, plan, err = self.env.bkt_json(ADMIN, 'apply', '--prune', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        return [o for o in plan['operations'] if o['target'] == target]

    def test_2_system_instance_refuses_prune_of_status(self):
        p = self.env.gdbus_call(ADMIN, 'Status', "{'prune': <true>}")
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')


if __name__ == '__main__':
    bktenv.main()
