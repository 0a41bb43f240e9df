#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`bkt drift status` and `bkt drift explain ITEM` (issue 13 item 6, issue 15 item 7).

Real GSettings (keyfile backend), real flatpak (system + user installations fed by a local
repo), real polkitd, shims in a private directory, the real daemons and client.  Every value
the commands print is checked against the component itself (gsettings get, the manifest file's
own lines, the state record file), not against what bkt says elsewhere.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
CLOCK = 'gsetting:%s.clock-format' % IFACE
SCHEME = 'gsetting:%s.color-scheme' % IFACE


def entry_line(path, key):
    """The 1-based line of the '{' that opens the entry whose "key" (or "id") is @key."""
    with open(path) as f:
        lines = f.read().split('\n')
    for i, line in enumerate(lines):
        if ('"%s"' % key) in line and ('"key"' in line or '"id"' in line):
            j = i
            while lines[j].strip() not in ('{', '{,') and not lines[j].strip().startswith('{'):
                j -= 1
            return j + 1
    raise AssertionError('%s not in %s' % (key, path))


class Drift(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,), repo_apps=2)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.write_standard_manifests()

    def explain(self, *item, rc=0):
        rc_, out, err = self.env.bkt_json(ADMIN, 'drift', 'explain', '--json', *item)
        self.assertEqual(rc_, rc, err)
        return out

    def drift_status(self, *extra):
        rc, out, err = self.env.bkt_json(ADMIN, 'drift', 'status', '--json', *extra)
        self.assertEqual(rc, 0, err)
        return out

    def test_1_never_synced(self):
        env = self.env
        image_file = os.path.join(env.image_manifests_dir, 'gsettings.json')
        live = env.gsettings(ADMIN, 'get', IFACE, 'clock-format')
        self.assertNotEqual(live, "'12h'", 'the test needs a default that differs from the manifest')
        # named as the manifests key it ("SCHEMA KEY", one or two words) and as status names it
        for words in ((IFACE, 'clock-format'), ('%s clock-format' % IFACE,), (CLOCK,)):
            ex = self.explain(*words)
            self.assertEqual(len(ex['items']), 1, ex)
            item = ex['items'][0]
            self.assertEqual(item['target'], CLOCK)
        self.assertEqual((item['subsystem'], item['scope'], item['state'], item['direction']),
                         ('gsettings', 'user', 'never-synced', 'apply'))
        self.assertEqual(item['manifest'], "'12h'")
        self.assertEqual(item['live'], live)
        self.assertIsNone(item['base'])
        self.assertEqual(item['command'], 'bkt apply --only gsettings')
        image, user = item['layers']
        self.assertEqual((image['layer'], image['file'], image['declared'], image['in_effect']),
                         ('image', image_file, True, True))
        self.assertEqual(image['line'], entry_line(image_file, 'clock-format'))
        self.assertEqual(image['entry']['value'], "'12h'")
        self.assertEqual((user['layer'], user['declared']), ('user', False))
        self.assertEqual(user['file'], os.path.join(env.overlay_dir(ADMIN), 'gsettings.json'))

        rc, out, err = env.bkt_run(ADMIN, 'drift', 'explain', IFACE, 'clock-format')
        self.assertEqual(rc, 0, err)
        self.assertIn('%s:%d' % (image_file, image['line']), out)
        self.assertIn('never applied here', out)
        self.assertIn('resolve:      bkt apply --only gsettings', out)
        self.assertIn('this machine: %s' % live, out)

        st = self.drift_status('--only', 'gsettings')
        gs = st['subsystems']['gsettings']
        items = {i['target']: i for i in gs['items']}
        self.assertEqual(items[CLOCK]['label'], 'NEVER SYNCED')
        self.assertEqual(gs['counts']['never_synced'], sum(1 for i in gs['items'] if i['state'] == 'never-synced'))
        self.assertGreaterEqual(gs['counts']['never_synced'], 1)

    def test_2_changed_here(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 'apply')
        self.assertEqual(self.explain(CLOCK)['items'][0]['state'], 'in-sync')
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h')
        item = self.explain(CLOCK)['items'][0]
        rec = env.state_record('user', ADMIN)['items'][CLOCK]
        self.assertEqual((item['state'], item['direction']), ('to-capture', 'capture'))
        self.assertEqual(item['live'], env.gsettings(ADMIN, 'get', IFACE, 'clock-format'))
        self.assertEqual(item['base'], {'value': rec['value'], 'layer': rec['layer'], 'file': rec['file'],
                                        'command': rec['command'], 'when': rec['when']})
        self.assertEqual((item['base']['value'], item['base']['command']), ("'12h'", 'apply'))
        self.assertEqual(item['record'], os.path.dirname(env.state_record_path('user', ADMIN)))
        self.assertEqual(item['command'], 'bkt capture --only gsettings --select %s' % CLOCK)
        rc, out, err = env.bkt_run(ADMIN, 'drift', 'explain', CLOCK)
        self.assertIn("base:         '12h'  (recorded by apply, %s" % rec['when'], out)
        self.assertIn('TO CAPTURE', out)

        st = self.drift_status()
        gs = st['subsystems']['gsettings']
        self.assertEqual(gs['counts']['to_capture'], 1, gs)
        self.assertEqual(gs['counts']['to_apply'], 0, gs)
        [it] = [i for i in gs['items'] if i['target'] == CLOCK]
        self.assertEqual((it['label'], it['manifest'], it['base'], it['live']),
                         ('TO CAPTURE', "'12h'", "'12h'", "'24h'"))
        self.assertEqual(it['next'], item['command'])
        self.assertEqual(st['record']['user']['health'], 'ok')
        rc, out, err = env.bkt_run(ADMIN, 'drift', 'status')
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'(?m)^gsettings +0 +0 +1 +0 ')
        self.assertIn('TO CAPTURE    %s' % CLOCK, out)
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '12h')

    def test_3_two_layers_changed_in_manifests(self):
        env = self.env
        overlay = env.overlay_dir(ADMIN)
        env.write_manifests(overlay, settings=[{'schema': IFACE, 'key': 'color-scheme', 'value': "'default'"}],
                            owner=ADMIN)
        item = self.explain(IFACE, 'color-scheme')['items'][0]
        image, user = item['layers']
        self.assertEqual((image['declared'], image['in_effect'], image['entry']['value']),
                         (True, False, "'prefer-dark'"))
        self.assertEqual((user['declared'], user['in_effect'], user['entry']['value']), (True, True, "'default'"))
        self.assertEqual(user['line'], entry_line(os.path.join(overlay, 'gsettings.json'), 'color-scheme'))
        self.assertEqual((item['state'], item['manifest'], item['base']['value'], item['live']),
                         ('to-apply', "'default'", "'prefer-dark'", "'prefer-dark'"))
        self.assertEqual(self.drift_status('--only', 'gsettings')['subsystems']['gsettings']['counts']['to_apply'], 1)
        rc, out, err = env.bkt_run(ADMIN, 'drift', 'explain', SCHEME)
        self.assertIn('← in effect', out)
        self.assertIn('%s/gsettings.json:%d' % (overlay, user['line']), out)
        os.unlink(os.path.join(overlay, 'gsettings.json'))

    def test_4_flatpaks(self):
        env = self.env
        # system scope: the system instance's record, read by the session
        item = self.explain('org.test.Hello')['items'][0]
        self.assertEqual((item['target'], item['scope'], item['state'], item['subsystem']),
                         ('flatpak:org.test.Hello', 'system', 'in-sync', 'flatpak'))
        self.assertEqual(item['record'], os.path.dirname(env.state_record_path('system')))
        self.assertEqual(item['base']['value'], env.state_record('system')['items']['flatpak:org.test.Hello']['value'])
        self.assertEqual(item['layers'][0]['line'],
                         entry_line(os.path.join(env.image_manifests_dir, 'flatpak-apps.json'), 'org.test.Hello'))
        # installed by hand: untracked, in no layer
        env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App001')
        self.assertIn('org.test.App001', env.installed_apps('user', ADMIN))
        item = self.explain('flatpak:org.test.App001')['items'][0]
        self.assertEqual((item['state'], item['manifest'], item['live'], item['base']),
                         ('untracked', None, 'installed', None))
        self.assertFalse(any(layer['declared'] for layer in item['layers']), item['layers'])
        self.assertEqual(item['command'], 'bkt capture --only flatpak --select flatpak:org.test.App001')
        fp = self.drift_status('--only', 'flatpak')['subsystems']['flatpak']
        self.assertIn('flatpak:org.test.App001', [i['target'] for i in fp['items'] if i['label'] == 'UNTRACKED'])
        self.assertEqual(fp['counts']['untracked'], 1, fp)
        env.flatpak(ADMIN, 'user', 'uninstall', '-y', '--noninteractive', 'org.test.App001')

    def test_5_shim(self):
        env = self.env
        env.write_manifests(env.image_manifests_dir, shims=[{'name': 'sc', 'host': 'systemctl'}])
        res = env.bkt_run(ADMIN, 'apply', '--only', 'shim')
        self.assertRc(res, 0, 'apply of a shim')
        item = self.explain('sc')['items'][0]
        self.assertEqual((item['target'], item['state'], item['base']['command']), ('shim:sc', 'in-sync', 'apply'))
        rc, out, err = env.bkt_run(ADMIN, 'drift', 'explain', 'sc')
        self.assertIn('resolve:      nothing to do', out)

    def test_6_unknown_and_bad_items(self):
        env = self.env
        rc, out, err = env.bkt_run(ADMIN, 'drift', 'explain', 'org.example.NoSuchThing')
        self.assertNotEqual(rc, 0)
        self.assertIn('no item “org.example.NoSuchThing”', err)
        self.assertEqual(out, '')
        p = env.gdbus_call(ADMIN, 'Explain', 'nope.nope', '{}', bus='session')
        self.assertErrorName(p, 'org.bkt.Error.NotFound')
        p = env.gdbus_call(ADMIN, 'Explain', "'a\\nb'", '{}', bus='session')
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'Explain', "''", '{}', bus='session')
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        # the system instance never reads a user's manifests or record
        p = env.gdbus_call(ADMIN, 'Explain', 'sc', '{}', bus='system')
        self.assertErrorName(p, 'org.bkt.Error.NotSupported')

    def test_7_capture_records_untracked_only_when_picked(self):
        env = self.env
        overlay = env.overlay_dir(ADMIN)
        cursor = 'gsetting:%s.cursor-size' % IFACE
        env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h')     # changed here since the apply
        env.gsettings(ADMIN, 'set', IFACE, 'cursor-size', '48')       # untracked: no manifest declares it
        env.flatpak(ADMIN, 'user', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.App001')
        self.assertEqual(self.explain(cursor)['items'][0]['state'], 'untracked')
        before = env.manifests_snapshot(overlay, env.image_manifests_dir)

        # without a pick: only what changed here since the base
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([op['target'] for op in plan['operations']], [CLOCK])
        [w] = [w for w in plan['warnings'] if 'untracked item(s) left out' in w]
        self.assertIn(cursor, w)
        self.assertIn('flatpak:org.test.App001', w)
        self.assertIn('--select', w)
        # --select picks exactly the named items, whatever else differs
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json', '--select',
                                     '%s,org.test.App001' % cursor)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(op['target'] for op in plan['operations']), ['flatpak:org.test.App001', cursor])
        # --all-untracked: the changed items and every untracked one
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json', '--all-untracked')
        self.assertEqual(rc, 0, err)
        self.assertTrue({CLOCK, cursor, 'flatpak:org.test.App001'} <= set(op['target'] for op in plan['operations']),
                        plan['operations'])
        # a name that names nothing is an error that changes nothing; an item in sync has nothing to capture
        rc, out, err = env.bkt_run(ADMIN, 'capture', '--select', 'org.example.Nope')
        self.assertEqual(rc, 5, err)
        self.assertIn('no item “org.example.Nope”', err)
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json', '--select', 'org.test.Hello')
        self.assertEqual(rc, 0, err)
        self.assertEqual(plan['operations'], [])
        self.assertTrue(any('nothing to capture' in w and 'org.test.Hello' in w for w in plan['warnings']),
                        plan['warnings'])
        self.assertEqual(before, env.manifests_snapshot(overlay, env.image_manifests_dir))

        # the real thing: the picked untracked key only
        res = env.bkt_run(ADMIN, 'capture', '--select', '%s cursor-size' % IFACE)
        self.assertRc(res, 0, 'capture --select')
        with open(os.path.join(overlay, 'gsettings.json')) as f:
            settings = json.load(f)['settings']
        self.assertEqual([(s['key'], s['value']) for s in settings], [('cursor-size', '48')])
        self.assertFalse(os.path.exists(os.path.join(overlay, 'flatpak-apps.json')))
        self.assertEqual(env.state_record('user', ADMIN)['items'][cursor]['command'], 'capture')
        # a plain capture now records the key changed here, and still not the app
        res = env.bkt_run(ADMIN, 'capture')
        self.assertRc(res, 0, 'capture')
        with open(os.path.join(overlay, 'gsettings.json')) as f:
            values = {s['key']: s['value'] for s in json.load(f)['settings']}
        self.assertEqual(values, {'cursor-size': '48', 'clock-format': "'24h'"})
        self.assertFalse(os.path.exists(os.path.join(overlay, 'flatpak-apps.json')))
        self.assertEqual(self.explain('org.test.App001')['items'][0]['state'], 'untracked')


if __name__ == '__main__':
    bktenv.main()
