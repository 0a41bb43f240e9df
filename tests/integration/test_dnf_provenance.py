#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Three-way sync and `apply --prune` for layered packages (issue 13).

The real polkitd (org.bkt.apply, org.bkt.packages), the real daemons and
client, tests/doubles/rpm-ostree-double for rpm-ostree (its argv log shows
what ran; nothing else stands in).  The system record is written by bktd
--system only.

* A package bkt layered, removed by hand: status says TO CAPTURE, apply
  refuses to layer it again (exit 8, nothing runs) unless --theirs, capture
  forgets exactly it.
* A package bkt layered and the manifests dropped: `apply --prune` removes
  it (one rpm-ostree uninstall), a package layered by hand stays;
  `--dry-run` lists exactly that and runs nothing.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402
import test_dnf_layering as layering  # noqa: E402


def ops_by_target(ops):
    return {op['target']: op for op in ops}


class DnfProvenance(EnvTestCase):
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        cls.ENV_KW = layering._env_kw()
        super().setUpClass()
        layering.write_state(booted=[], staged=None)
        cls.write_overlay(['bkt-fish', 'bkt-htop'])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        layering._remove_dir()

    @classmethod
    def write_overlay(cls, packages):
        d = cls.env.overlay_dir(ADMIN)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'system-packages.json'), 'w') as f:
            json.dump({'packages': packages}, f)
        bktenv.chown_tree(d, ADMIN)

    def overlay(self):
        with open(os.path.join(self.env.overlay_dir(ADMIN), 'system-packages.json')) as f:
            return json.load(f)['packages']

    def changes(self):
        with open(os.path.join(layering._DIR, 'rpm-ostree.log')) as f:
            runs = [json.loads(line) for line in f if line.strip()]
        return [a for a in runs if a[:1] != ['status']]

    def reboot(self, extra=()):
        st = layering.read_state()
        nxt = st['staged'] if st['staged'] is not None else st['booted']
        layering.write_state(booted=sorted(set(nxt) | set(extra)), staged=None)

    def dnf(self):
        return self.status(ADMIN, '--only', 'dnf')['subsystems']['dnf']

    def test_1_removed_by_hand(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'apply', '--only', 'dnf')
        self.assertRc(res, 0, 'first apply')
        self.assertEqual(self.changes(), [['install', '--idempotent', '--', 'bkt-fish', 'bkt-htop']])
        item = env.state_record('system')['items']['package:bkt-htop']
        self.assertEqual((item['value'], item['command']), ('layered', 'apply'))
        self.reboot()
        self.assertEqual(self.dnf()['drift'], [])

        # removed by hand (what `rpm-ostree uninstall bkt-htop` stages)
        layering.write_state(booted=['bkt-fish', 'bkt-htop'], staged=['bkt-fish'])
        op = ops_by_target(self.dnf()['drift'])['package:bkt-htop']
        self.assertEqual((op['direction'], op['sync']['state']), ('capture', 'to-capture'))
        self.assertEqual(op['base']['value'], 'layered')
        self.assertIsNone(op['sync']['live'])
        res = env.bkt_run(ADMIN, 'status', '--only', 'dnf')
        self.assertIn('TO CAPTURE', res[1])

        # apply does not layer it again behind the person's back; the system daemon refuses too
        n = len(self.changes())
        res = env.bkt_run(ADMIN, 'apply', '--only', 'dnf')
        self.assertRc(res, 8, 'apply over a package removed by hand')
        self.assertIn('bkt-htop', res[1] + res[2])
        self.assertEqual(self.changes()[n:], [])
        content = json.dumps({'system-packages': {'packages': ['bkt-fish', 'bkt-htop']}})
        p = env.gdbus_call(ADMIN, 'Apply', "{'manifest': <%s>}" % json.dumps(content))
        self.assertErrorName(p, 'org.bkt.Error.Conflict')
        self.assertEqual(self.changes()[n:], [])
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--only', 'dnf', '--theirs', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([(o['action'], o['target']) for o in plan['operations']], [('install', 'package:bkt-htop')])

        # capture forgets exactly it
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--only', 'dnf', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([(o['action'], o['target']) for o in plan['operations']], [('forget', 'package:bkt-htop')])
        res = env.bkt_run(ADMIN, 'capture', '--only', 'dnf')
        self.assertRc(res, 0, 'capture')
        self.assertEqual(self.overlay(), ['bkt-fish'])
        self.assertEqual(self.dnf()['drift'], [])
        self.assertEqual(self.changes()[n:], [])

    def test_2_never_layered_is_not_forgotten(self):
        # declared after the last apply, never layered here: capture keeps it (no base, no proof)
        self.write_overlay(['bkt-fish', 'bkt-hello'])
        rc, plan, err = self.env.bkt_json(ADMIN, 'capture', '--only', 'dnf', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(plan['operations'], [])
        self.assertTrue(any('never applied here' in w and 'bkt-hello' in w for w in plan['warnings']),
                        plan['warnings'])
        self.write_overlay(['bkt-fish'])

    def test_3_prune(self):
        env = self.env
        # after a reboot; bkt-extra layered by hand; the manifests drop bkt-fish
        self.reboot(extra=['bkt-extra'])
        self.write_overlay([])
        n = len(self.changes())
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--only', 'dnf', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual(plan['operations'], [])
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--only', 'dnf', '--prune', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([(o['action'], o['target'], o['scope'], o['direction']) for o in plan['operations']],
                         [('uninstall', 'package:bkt-fish', 'system', 'prune')])
        self.assertEqual(self.changes()[n:], [])
        res = env.bkt_run(ADMIN, 'apply', '--only', 'dnf', '--prune')
        self.assertRc(res, 0, 'apply --prune')
        self.assertEqual(self.changes()[n:], [['uninstall', '--idempotent', '--', 'bkt-fish']])
        self.assertEqual(layering.read_state()['staged'], ['bkt-extra'])
        self.assertNotIn('package:bkt-fish', env.state_record('system')['items'])


if __name__ == '__main__':
    bktenv.main()
