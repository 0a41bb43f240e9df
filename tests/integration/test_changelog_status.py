#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The image's changelog in `bkt status` (docs/maintenance.md), with the real
bktd --session and bktd --system and the bootc test double:

* the running version is the booted image's version (bootc status through
  bktd --system) when the image ships that version's file, else the newest
  file; status shows its entries and manual steps (text and the JSON
  "changelog" section);
* manual steps of the versions after the acknowledged one (the version
  `bkt changelog motd` recorded) up to the running one;
* a malformed version file is a warning naming the file, and the rest of
  the section (and of status) still works;
* no system daemon: the newest version file.

The image's version files are BKT_IMAGE_CHANGELOG_DIR/versions (the
installed default is /usr/share/bkt/changelog/versions).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402


def version(v, date, entries, steps=()):
    return {'version': v, 'date': date, 'released_at': date + 'T10:00:00Z',
            'entries': [{'timestamp': date + 'T09:00:00Z', 'type': t, 'category': c, 'message': m}
                        for t, c, m in entries],
            'manual_steps': list(steps)}


class ChangelogStatus(EnvTestCase):
    ENV_KW = dict(polkit='real', flatpak=False, bootc=True)

    def setUp(self):
        env = self.env
        self.image = env.path('image-changelog-%s' % self._testMethodName)
        vdir = os.path.join(self.image, 'versions')
        os.makedirs(vdir)
        for doc in (version('2026.01.05.1', '2026-01-05', [('added', 'flatpak', 'Add Firefox')],
                            ['Log out and back in']),
                    version('2026.01.06.1', '2026-01-06', [('changed', 'gsetting', 'Dark style')],
                            ['Run ujust update-fonts']),
                    version('2026.01.07.1', '2026-01-07', [('fixed', 'dnf', 'Fix the htop shim'),
                                                           ('security', 'base', 'Newer polkit')],
                            ['Reboot twice']),
                    version('2026.01.08.1', '2026-01-08', [('added', 'shim', 'Add podman')])):
            with open(os.path.join(vdir, doc['version'] + '.json'), 'w') as f:
                json.dump(doc, f)
        os.system('chmod -R a+rX %s' % self.image)
        self.extra = {'BKT_IMAGE_CHANGELOG_DIR': self.image}
        state = os.path.join(env.home(ADMIN), '.local', 'state', 'bkt', 'motd-seen')
        if os.path.exists(state):
            os.unlink(state)
        env.reset_bootc()
        env.set_bootc_mode('')
        if not env.system_daemon.alive():
            env.start_system_daemon()

    def boot(self, v):
        """The double's booted image has version @v (its OCI version label)."""
        env = self.env
        env.bkt_run(ADMIN, 'admin', 'bootc', 'status', '--json', echo=False)   # creates state.json
        st = env.bootc_state()
        st['booted']['image']['version'] = v
        with open(os.path.join(env.bootc_dir, 'state.json'), 'w') as f:
            json.dump(st, f)

    def status(self, *extra):
        rc, st, err = self.env.bkt_json(ADMIN, 'status', '--json', *extra, env_extra=self.extra)
        self.assertEqual(rc, 0, err)
        self.assertIn('subsystems', st)
        return st['changelog']

    def test_booted_version_and_acknowledged_steps(self):
        env = self.env
        self.boot('2026.01.07.1')
        cl = self.status()
        self.assertTrue(cl['available'], cl)
        self.assertEqual(cl['version'], '2026.01.07.1')
        self.assertEqual(cl['source'], 'bootc')
        self.assertEqual(cl['booted_version'], '2026.01.07.1')
        self.assertEqual([e['message'] for e in cl['release']['entries']], ['Fix the htop shim', 'Newer polkit'])
        self.assertEqual(cl['release']['manual_steps'], ['Reboot twice'])
        self.assertEqual(cl['pending_manual_steps'], [])
        self.assertEqual(cl['warnings'], [])

        # the user acknowledged 2026.01.05.1: the steps of .06 are pending (.07's are the release's)
        seen = os.path.join(env.home(ADMIN), '.local', 'state', 'bkt')
        env.run_as(ADMIN, ['mkdir', '-p', seen])
        env.run_as(ADMIN, ['sh', '-c', 'echo 2026.01.05.1 > %s/motd-seen' % seen])
        cl = self.status()
        self.assertEqual(cl['acknowledged'], '2026.01.05.1')
        self.assertEqual(cl['pending_manual_steps'],
                         [{'version': '2026.01.06.1', 'manual_steps': ['Run ujust update-fonts']}])

        rc, out, err = env.bkt_run(ADMIN, 'status', env_extra=self.extra)
        self.assertEqual(rc, 0, err)
        text = out[out.index('Image changelog:'):]
        self.assertEqual(text, 'Image changelog:\n'
                               '  2026.01.07.1 (2026-01-07) (booted)\n'
                               '    security   base: Newer polkit\n'
                               '    fixed      dnf: Fix the htop shim\n'
                               '    Manual steps:\n'
                               '      - Reboot twice\n'
                               '  Manual steps from 2026.01.06.1:\n'
                               '    - Run ujust update-fonts\n')

    def test_unknown_booted_version_uses_newest(self):
        # the double's default booted version (41.20261101.0) is not a changelog version
        cl = self.status()
        self.assertEqual(cl['version'], '2026.01.08.1')
        self.assertEqual(cl['source'], 'newest')
        self.assertEqual(cl['booted_version'], '41.20261101.0')

    def test_malformed_version_file(self):
        self.boot('2026.01.07.1')
        bad = os.path.join(self.image, 'versions', '2026.01.06.1.json')
        with open(bad, 'w') as f:
            f.write('{"entries": [\n  {"type": "added"}]}\n')
        with open(os.path.join(self.image, 'versions', '2026.01.08.1.json'), 'w') as f:
            f.write('{"entries": [}\n')
        cl = self.status()
        # the rest still works
        self.assertEqual(cl['version'], '2026.01.07.1')
        self.assertEqual(cl['release']['manual_steps'], ['Reboot twice'])
        self.assertEqual(len(cl['warnings']), 2, cl['warnings'])
        self.assertTrue(cl['warnings'][0].startswith(bad + ':2:3: '), cl['warnings'])
        self.assertIn('missing field “timestamp”', cl['warnings'][0])
        self.assertTrue(cl['warnings'][1].startswith(os.path.join(self.image, 'versions', '2026.01.08.1.json:1:')),
                        cl['warnings'])
        rc, out, err = self.env.bkt_run(ADMIN, 'status', env_extra=self.extra)
        self.assertEqual(rc, 0, err)
        self.assertIn('  warning: %s:2:3: ' % bad, out)

    def test_no_system_daemon(self):
        env = self.env
        self.boot('2026.01.07.1')
        # a system bus with no bktd on it (as on a machine without bktd --system)
        self.extra['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=' + env.path('no-system-bus')
        cl = self.status()
        self.assertEqual(cl['version'], '2026.01.08.1')
        self.assertEqual(cl['source'], 'newest')
        self.assertNotIn('booted_version', cl)

    def test_no_versions(self):
        self.extra = {'BKT_IMAGE_CHANGELOG_DIR': self.env.path('no-such-dir')}
        cl = self.status()
        self.assertFalse(cl['available'])
        self.assertEqual(cl['reason'], 'the image ships no changelog versions')
        # no news in the text: an image without a changelog is not a problem
        rc, out, err = self.env.bkt_run(ADMIN, 'status', env_extra=self.extra)
        self.assertEqual(rc, 0, err)
        self.assertIn('SUBSYSTEM', out)
        self.assertNotIn('changelog', out.lower())


if __name__ == '__main__':
    bktenv.main()
