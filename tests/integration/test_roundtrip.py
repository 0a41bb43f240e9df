#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""apply -> status in sync -> changes by hand -> status shows drift ->
capture -> the user overlay manifest records them -> status in sync.

Real flatpak (system + user installations fed by a local repo), real
GSettings (keyfile backend), real polkitd, wheel user.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'


def targets(ops):
    return ' '.join(json.dumps(op) for op in ops)


class RoundTrip(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=1)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.write_standard_manifests()

    def test_0_operation_ids_unique(self):
        """Every operation of a plan has its own id (results are matched to operations by id), also
        when one remote is added to both installations for a user-scope app."""
        env = self.env
        d = os.path.join(env.home(ADMIN), 'ids')
        env.write_manifests(d, remotes=bktenv.test_remotes(env, 'bkt-extra'),
                            apps=bktenv.test_apps('bkt-extra', system=('org.test.Hello',),
                                                  user=('org.test.App001',)), owner=ADMIN)
        rc, plan, err = env.bkt_json(ADMIN, '--manifests', d, 'apply', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        # the remote nobody declared for the user installation says which entry needs it
        added = [op for op in plan['operations'] if op['action'] == 'add-remote' and op['scope'] == 'user']
        self.assertEqual(len(added), 1, plan['operations'])
        self.assertIn('needed by flatpak:org.test.App001', added[0]['summary'])
        self.assertEqual(added[0]['details']['needed_by'], 'org.test.App001')
        ids = [op['id'] for op in plan['operations']]
        dups = sorted(set(i for i in ids if ids.count(i) > 1))
        self.assertEqual(dups, [], 'operation ids used twice in one plan: %s' % [
            (op['id'], op['scope']) for op in plan['operations'] if op['id'] in dups])

    def test_1_apply(self):
        env = self.env
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        for member in ('kind', 'operations', 'warnings', 'count', 'system_request'):
            self.assertIn(member, plan)
        self.assertEqual(plan['count'], len(plan['operations']))
        # 3 settings + 1 user app (+ remote already there) on the session side; Hello on the system side
        summaries = targets(plan['operations'])
        for needle in ('org.test.Hello', 'org.test.Second', 'clock-format', 'color-scheme', 'button-layout'):
            self.assertIn(needle, summaries, 'plan lacks %s: %s' % (needle, summaries))
        for op in plan['operations']:
            for member in ('id', 'subsystem', 'action', 'target', 'scope', 'effect', 'summary', 'details'):
                self.assertIn(member, op, 'operation lacks %s: %s' % (member, op))
        ids = [op['id'] for op in plan['operations']]
        self.assertEqual(len(ids), len(set(ids)), 'duplicate operation ids: %s' % ids)
        self.assertTrue(plan['system_request'], 'a system app is to be installed, yet no system_request')
        # the dry run changed nothing
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))
        self.assertEqual(env.read_keyfile(ADMIN), '')

        rc, res, err = env.bkt_json(ADMIN, 'apply', '--json')
        self.assertEqual(rc, 0, err)
        self.assertTrue(res['success'], res)
        self.assertTrue(all(r['success'] for r in res['results']), res['results'])
        self.assertIn('org.test.Hello', env.installed_apps('system'))
        self.assertIn('org.test.Second', env.installed_apps('user', ADMIN))
        for s in bktenv.TEST_SETTINGS:
            self.assertEqual(env.gsettings(ADMIN, 'get', s['schema'], s['key']), s['value'])

    def test_2_status_in_sync(self):
        env = self.env
        st = self.status(ADMIN)
        self.assertInSync(st)
        self.assertEqual(st['operations'], 0)
        self.assertEqual(st['subsystems']['flatpak']['untracked'], [])
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(plan['count'], 0, plan)
        self.assertIn(plan['system_request'], (None, ''))
        # a second apply converges at once
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 'second apply')

    def test_3_drift_by_hand(self):
        env = self.env
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h')
        env.gsettings(ADMIN, 'set', IFACE, 'cursor-size', '48')          # untracked change
        env.flatpak(ADMIN, 'user', 'uninstall', '-y', '--noninteractive', 'org.test.Second')
        env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App001')
        st = self.status(ADMIN)
        gs, fp = st['subsystems']['gsettings'], st['subsystems']['flatpak']
        # every tracked item in exactly one state; remotes count as tracked as they count as drift
        for name, sub in st['subsystems'].items():
            self.assertEqual(sub['tracked'], sub['in_sync'] + sub['drifted'] + len(sub['unknown']), (name, sub))
            untracked = set(u['target'] for u in sub.get('untracked', []) if isinstance(u, dict))
            self.assertEqual(untracked & set(op['target'] for op in sub['drift']), set(), name)
        self.assertEqual(fp['tracked'], len(fp['entries']) + len(fp['remotes']), fp)  # apps + remotes declared
        self.assertEqual(fp['drifted'], 1, fp)
        self.assertFalse(bktenv.synced(gs))
        self.assertIn('clock-format', targets(gs['drift']))
        self.assertIn('cursor-size', json.dumps(gs['untracked']))
        self.assertFalse(bktenv.synced(fp))
        self.assertIn('org.test.Second', json.dumps(fp['missing']) + targets(fp['drift']))
        self.assertIn('org.test.App001', json.dumps(fp['untracked']))
        self.assertGreater(st['operations'], 0)
        res = env.bkt_run(ADMIN, 'status')
        self.assertRc(res, 0, 'bkt status with drift')
        self.assertIn('clock-format', res[1])

    def test_4_capture(self):
        env = self.env
        overlay = env.overlay_dir(ADMIN)
        before = env.manifests_snapshot(overlay, env.image_manifests_dir)
        # untracked items (the app installed and the key set by hand) are recorded only when picked
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        text = json.dumps(plan['operations'])
        self.assertIn('clock-format', text)
        self.assertNotIn('org.test.App001', text)
        self.assertNotIn('cursor-size', text)
        self.assertTrue(any('untracked item(s) left out' in w and 'org.test.App001' in w for w in plan['warnings']),
                        plan['warnings'])
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json', '--all-untracked')
        self.assertEqual(rc, 0, err)
        self.assertEqual(plan['count'], len(plan['operations']))
        text = json.dumps(plan)
        self.assertIn('clock-format', text)
        self.assertIn('org.test.App001', text)
        self.assertIn('cursor-size', text)
        self.assertIn('org.test.Second', text, 'capture does not report the app removed by hand')
        self.assertEqual(before, env.manifests_snapshot(overlay, env.image_manifests_dir),
                         'capture --dry-run wrote files')

        res = env.bkt_run(ADMIN, 'capture', '--all-untracked')
        self.assertRc(res, 0, 'bkt capture')
        # the image copy is never written; the user overlay gets the changes
        self.assertEqual({k: v for k, v in before.items() if k.startswith(env.image_manifests_dir)},
                         env.manifests_snapshot(env.image_manifests_dir))
        path = os.path.join(overlay, 'gsettings.json')
        with open(path) as f:
            raw = f.read()
        self.assertTrue(raw.endswith('}\n'), 'no final newline in %s' % path)
        self.assertIn('\n  "settings"', raw, 'not indented with 2 spaces: %s' % raw)
        doc = json.loads(raw)
        byname = {(s['schema'], s['key']): s for s in doc['settings']}
        self.assertEqual(byname.get((IFACE, 'clock-format'), {}).get('value'), "'24h'", doc)
        self.assertEqual(byname.get((IFACE, 'cursor-size'), {}).get('value'), '48', doc)
        keys = [(s['schema'], s.get('path', ''), s['key']) for s in doc['settings']]
        self.assertEqual(keys, sorted(keys), 'gsettings.json not sorted')
        with open(os.path.join(overlay, 'flatpak-apps.json')) as f:
            apps = {a['id']: a for a in json.load(f)['apps']}
        self.assertEqual(apps.get('org.test.App001', {}).get('scope'), 'user', apps)
        self.assertEqual(apps.get('org.test.App001', {}).get('remote'), 'bkt-test', apps)
        st = self.status(ADMIN)
        self.assertInSync(st, ('gsettings',))
        self.assertEqual(st['subsystems']['gsettings']['untracked'], [])
        self.assertNotIn('org.test.App001', json.dumps(st['subsystems']['flatpak']['untracked']))

    def test_5_capture_again_is_noop(self):
        env = self.env
        overlay = env.overlay_dir(ADMIN)
        before = env.manifests_snapshot(overlay)
        res = env.bkt_run(ADMIN, 'capture')
        self.assertRc(res, 0, 'second capture')
        self.assertEqual(before, env.manifests_snapshot(overlay), 'a capture with nothing new rewrote files')

    def test_6_apply_converges(self):
        env = self.env
        # org.test.Second was removed by hand after bkt installed it, and stays in the image
        # manifest: apply does not silently put it back (exit 8, the list, the choices) ...
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 8, 'apply reverting a change by hand')
        self.assertIn('changed on this machine', res[1])
        self.assertIn('--theirs', res[2])
        self.assertNotIn('org.test.Second', env.installed_apps('user', ADMIN))
        # ... --theirs does
        res = env.bkt_run(ADMIN, 'apply', '--theirs')
        self.assertRc(res, 0, 'apply --theirs after capture')
        self.assertIn('org.test.Second', env.installed_apps('user', ADMIN))
        st = self.status(ADMIN)
        self.assertInSync(st)
        self.assertEqual(st['operations'], 0)
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'clock-format'), "'24h'")

    def test_7_system_flatpak_remove(self):
        """bkt flatpak remove --scope system: the system instance uninstalls from the real system
        installation (FlatpakUninstall), the user's overlay forgets the entry."""
        env = self.env
        self.assertIn('org.test.Hello', env.installed_apps('system'))
        res = env.bkt_run(ADMIN, 'flatpak', 'remove', '--local', '--scope', 'system', 'org.test.Hello')
        self.assertRc(res, 0, 'bkt flatpak remove --scope system')
        self.assertNotIn('unknown flatpak argument', res[2])
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))
        self.assertIn('org.test.Second', env.installed_apps('user', ADMIN))


if __name__ == '__main__':
    bktenv.main()
