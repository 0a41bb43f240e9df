#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Three-way sync (issue 13): the state record tells which side changed.

Real GSettings (keyfile backend), real flatpak (system + user installations
fed by a local repo), real polkitd, shims in a private directory, the real
daemons and client.

* A fresh machine with a copy of the original distribution's manifests:
  `bkt capture` leaves every file byte-identical and says "never applied
  here: run bkt apply" (the capture-erases-intent defect).
* After an apply: a setting changed by hand is TO CAPTURE, apply refuses to
  revert it (exit 8, org.bkt.Error.Conflict) unless --theirs, --ours keeps it,
  capture records exactly it; a manifest edit is TO APPLY; both: CONFLICT with
  both values.
* A corrupt record: a clear warning, two-way behaviour, the file kept.
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
REFERENCE = '/work/shared/reference/original-distribution/manifests'
REFERENCE_IN_TREE = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original-distribution')


def ops_by_target(plan_or_drift):
    ops = plan_or_drift['operations'] if isinstance(plan_or_drift, dict) else plan_or_drift
    return {op['target']: op for op in ops}


class FreshMachine(EnvTestCase):
    """No remote, nothing installed, nothing ever applied: the new user's first capture."""
    ENV_KW = dict(polkit='real', users=(ADMIN,), system_remote=None, user_remote=None)

    def reference_copy(self):
        src = REFERENCE if os.path.isdir(REFERENCE) else REFERENCE_IN_TREE
        if not os.path.isdir(src):
            self.skipTest('the original distribution\'s manifests are not available')
        d = os.path.join(self.env.home(ADMIN), 'distro', 'manifests')
        shutil.rmtree(os.path.dirname(d), ignore_errors=True)
        shutil.copytree(src, d)
        bktenv.chown_tree(os.path.dirname(d), ADMIN)
        return d

    def test_capture_keeps_the_repo_intent(self):
        env = self.env
        d = self.reference_copy()
        before = env.manifests_snapshot(d)
        res = env.bkt_run(ADMIN, '-m', d, 'capture')
        self.assertRc(res, 0, 'capture on a fresh machine')
        self.assertEqual(before, env.manifests_snapshot(d), 'capture rewrote the repo\'s intent')
        out = res[1] + res[2]
        self.assertIn('never applied here', out)
        self.assertIn('run bkt apply', out)
        self.assertNotIn('Forget extension', out)
        # the plan says why: nothing of the manifests is recorded from this machine
        rc, plan, err = env.bkt_json(ADMIN, '-m', d, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([op['target'] for op in plan['operations']
                          if op['target'].startswith(('gsetting:', 'extension:'))], [])
        self.assertTrue(any('never applied here' in w for w in plan['warnings']), plan['warnings'])

        # status: the declared items are "never synced here", to apply
        rc, st, err = env.bkt_json(ADMIN, '-m', d, 'status', '--json')
        self.assertEqual(rc, 0, err)
        gs = st['subsystems']['gsettings']
        self.assertGreater(gs['sync']['never_synced'], 0, gs)
        self.assertEqual(gs['sync']['to_capture'], 0, gs)
        cursor = ops_by_target(gs['drift']).get('gsetting:%s.cursor-theme' % IFACE)
        self.assertIsNotNone(cursor, gs['drift'])
        self.assertEqual(cursor['direction'], 'apply')
        self.assertEqual(cursor['sync']['state'], 'never-synced')
        self.assertIsNone(cursor['base'])
        self.assertEqual(cursor['sync']['manifest'], "'Bibata-Modern-Classic'")
        res = env.bkt_run(ADMIN, '-m', d, 'status')
        self.assertIn('never applied here', res[1])
        self.assertIn('bkt apply', res[1])


class Provenance(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=2)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.write_standard_manifests()

    def user_record(self):
        return self.env.state_record('user', ADMIN)

    def test_1_apply_writes_the_record(self):
        env = self.env
        self.assertIsNone(self.user_record())
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 'first apply')
        rec = self.user_record()
        self.assertIsNotNone(rec, 'apply wrote no user state record')
        self.assertEqual(rec['version'], 1)
        item = rec['items'].get('gsetting:%s.clock-format' % IFACE)
        self.assertIsNotNone(item, rec)
        self.assertEqual(item['value'], "'12h'")
        self.assertEqual(item['command'], 'apply')
        self.assertTrue(item['file'].endswith('gsettings.json'), item)
        self.assertEqual(item['layer'], 'image')
        self.assertIn('flatpak:org.test.Second', rec['items'])
        # the system instance wrote the system's record: the system app it installed
        sysrec = env.state_record('system')
        self.assertIsNotNone(sysrec, 'bktd --system wrote no state record')
        self.assertEqual(sysrec['scope'], 'system')
        self.assertIn('flatpak:org.test.Hello', sysrec['items'])
        self.assertNotIn('gsetting:%s.clock-format' % IFACE, sysrec['items'])
        st = self.status(ADMIN)
        self.assertInSync(st)

    def test_2_changed_here_is_to_capture(self):
        env = self.env
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h')
        st = self.status(ADMIN)
        gs = st['subsystems']['gsettings']
        self.assertEqual(gs['sync']['to_capture'], 1, gs)
        self.assertEqual(gs['sync']['to_apply'], 0, gs)
        op = ops_by_target(gs['drift'])['gsetting:%s.clock-format' % IFACE]
        self.assertEqual(op['direction'], 'capture')
        self.assertEqual(op['base']['value'], "'12h'")
        self.assertEqual(op['sync']['live'], "'24h'")
        self.assertTrue(any(a['command'].startswith('bkt capture') for a in st['next_actions']), st['next_actions'])
        res = env.bkt_run(ADMIN, 'status')
        self.assertIn('TO CAPTURE', res[1])

        # apply refuses to revert it, and changes nothing
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 8, 'apply over a change by hand')
        self.assertIn('--theirs', res[2])
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'clock-format'), "'24h'")
        # the daemon refuses too (not only the client): a direct Apply gets org.bkt.Error.Conflict
        p = env.gdbus_call(ADMIN, 'Apply', '{}', bus='session')
        self.assertErrorName(p, 'org.bkt.Error.Conflict')
        self.assertIn('clock-format', p.stderr)
        # --ours applies the rest and keeps it
        res = env.bkt_run(ADMIN, 'apply', '--ours')
        self.assertRc(res, 0, 'apply --ours')
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'clock-format'), "'24h'")

        # capture records exactly it
        overlay = env.overlay_dir(ADMIN)
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([op['target'] for op in plan['operations']], ['gsetting:%s.clock-format' % IFACE])
        res = env.bkt_run(ADMIN, 'capture')
        self.assertRc(res, 0, 'capture')
        with open(os.path.join(overlay, 'gsettings.json')) as f:
            settings = json.load(f)['settings']
        self.assertEqual([(s['key'], s['value']) for s in settings], [('clock-format', "'24h'")])
        item = self.user_record()['items']['gsetting:%s.clock-format' % IFACE]
        self.assertEqual((item['value'], item['command']), ("'24h'", 'capture'))
        self.assertInSync(self.status(ADMIN), ('gsettings',))

    def test_3_changed_in_manifests_is_to_apply(self):
        env = self.env
        overlay = env.overlay_dir(ADMIN)
        path = os.path.join(overlay, 'gsettings.json')
        with open(path) as f:
            doc = json.load(f)
        doc['settings'].append({'schema': IFACE, 'key': 'color-scheme', 'value': "'default'"})
        with open(path, 'w') as f:
            json.dump(doc, f, indent=2)
        st = self.status(ADMIN)
        gs = st['subsystems']['gsettings']
        self.assertEqual((gs['sync']['to_apply'], gs['sync']['to_capture']), (1, 0), gs)
        op = ops_by_target(gs['drift'])['gsetting:%s.color-scheme' % IFACE]
        self.assertEqual((op['direction'], op['sync']['state']), ('apply', 'to-apply'))
        self.assertEqual(op['base']['value'], "'prefer-dark'")
        # capture leaves it alone (the manifest's new value is the intent) ...
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertNotIn('gsetting:%s.color-scheme' % IFACE, ops_by_target(plan))
        # ... apply applies it without asking
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 'apply of a manifest edit')
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'color-scheme'), "'default'")

    def test_4_both_changed_is_conflict(self):
        env = self.env
        path = os.path.join(env.overlay_dir(ADMIN), 'gsettings.json')
        with open(path) as f:
            doc = json.load(f)
        for s in doc['settings']:
            if s['key'] == 'color-scheme':
                s['value'] = "'prefer-light'"
        with open(path, 'w') as f:
            json.dump(doc, f, indent=2)
        env.gsettings(ADMIN, 'set', IFACE, 'color-scheme', 'prefer-dark')
        st = self.status(ADMIN)
        gs = st['subsystems']['gsettings']
        self.assertEqual(gs['sync']['conflict'], 1, gs)
        op = ops_by_target(gs['drift'])['gsetting:%s.color-scheme' % IFACE]
        self.assertEqual(op['direction'], 'conflict')
        self.assertEqual((op['sync']['manifest'], op['sync']['live'], op['base']['value']),
                         ("'prefer-light'", "'prefer-dark'", "'default'"))
        res = env.bkt_run(ADMIN, 'status')
        self.assertIn('CONFLICT', res[1])
        self.assertIn("'prefer-light'", res[1])
        self.assertIn("'prefer-dark'", res[1])
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 8, 'apply over a conflict')
        # capture leaves a conflict out unless --ours
        before = env.manifests_snapshot(env.overlay_dir(ADMIN))
        res = env.bkt_run(ADMIN, 'capture')
        self.assertRc(res, 0, 'capture with a conflict')
        self.assertIn('changed on both sides', res[1] + res[2])
        self.assertEqual(before, env.manifests_snapshot(env.overlay_dir(ADMIN)))
        res = env.bkt_run(ADMIN, 'apply', '--theirs')
        self.assertRc(res, 0, 'apply --theirs')
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'color-scheme'), "'prefer-light'")
        self.assertInSync(self.status(ADMIN), ('gsettings',))

    def test_5_flatpak_by_hand(self):
        env = self.env
        # installed by bkt, removed by hand: apply does not silently reinstall it
        env.flatpak(ADMIN, 'user', 'uninstall', '-y', '--noninteractive', 'org.test.Second')
        st = self.status(ADMIN)
        op = ops_by_target(st['subsystems']['flatpak']['drift'])['flatpak:org.test.Second']
        self.assertEqual(op['direction'], 'capture')
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 8, 'apply over an app removed by hand')
        self.assertNotIn('org.test.Second', env.installed_apps('user', ADMIN))
        res = env.bkt_run(ADMIN, 'apply', '--force')
        self.assertRc(res, 0, 'apply --force')
        self.assertIn('org.test.Second', env.installed_apps('user', ADMIN))
        # installed by hand: untracked, captured when picked (issue 13 item 4)
        env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App001')
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([op['target'] for op in plan['operations'] if op['subsystem'] == 'flatpak'], [])
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json', '--select', 'org.test.App001')
        self.assertEqual(rc, 0, err)
        self.assertEqual([op['target'] for op in plan['operations'] if op['subsystem'] == 'flatpak'],
                         ['flatpak:org.test.App001'])

    def test_5b_shim_edited_by_hand(self):
        env = self.env
        env.write_manifests(env.image_manifests_dir, shims=[{'name': 'sc', 'host': 'systemctl'}])
        res = env.bkt_run(ADMIN, 'apply', '--only', 'shim')
        self.assertRc(res, 0, 'apply of a shim')
        path = os.path.join(env.home(ADMIN), '.local', 'toolbox', 'shims', 'sc')
        with open(path) as f:
            written = f.read()
        self.assertIn('shim:sc', self.user_record()['items'])
        # edited by hand (still bkt's, with its marker): apply does not silently rewrite it
        env.run_as(ADMIN, ['sh', '-c', 'echo "# my tweak" >> "$0"', path])
        st = self.status(ADMIN, '--only', 'shim')
        op = ops_by_target(st['subsystems']['shim']['drift'])['shim:sc']
        self.assertEqual(op['direction'], 'capture')
        res = env.bkt_run(ADMIN, 'apply', '--only', 'shim')
        self.assertRc(res, 8, 'apply over a shim edited by hand')
        with open(path) as f:
            self.assertTrue(f.read().endswith('# my tweak\n'))
        res = env.bkt_run(ADMIN, 'apply', '--only', 'shim', '--theirs')
        self.assertRc(res, 0, 'apply --theirs of the shim')
        with open(path) as f:
            self.assertEqual(f.read(), written)

    def test_6_corrupt_record(self):
        env = self.env
        path = os.path.join(env.home(ADMIN), '.local/state/bkt/state.json')
        with open(path, 'w') as f:
            f.write('{"version": 1, "items": {"gsetting:x": ')
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '12h')
        rc, st, err = env.bkt_json(ADMIN, 'status', '--json')
        self.assertEqual(rc, 0, err)
        self.assertTrue(any('two-way' in w and 'state.json' in w for w in st['warnings']), st['warnings'])
        self.assertEqual(st['record']['user']['health'], 'corrupt')
        op = ops_by_target(st['subsystems']['gsettings']['drift'])['gsetting:%s.clock-format' % IFACE]
        self.assertEqual(op['direction'], 'two-way')
        # two-way: apply applies (as before the record existed), nothing lost: the file is kept aside
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 'apply with a corrupt record')
        self.assertIn('two-way', res[1] + res[2])
        self.assertEqual(env.gsettings(ADMIN, 'get', IFACE, 'clock-format'), "'24h'")
        with open(path + '.corrupt') as f:
            self.assertEqual(f.read(), '{"version": 1, "items": {"gsetting:x": ')
        self.assertEqual(self.user_record()['version'], 1)


if __name__ == '__main__':
    bktenv.main()
