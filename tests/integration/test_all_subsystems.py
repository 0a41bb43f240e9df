#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""All six subsystems in one plan: shim → skel → gsettings → extension → flatpak →
dnf, through one `bkt apply`, `bkt status` and `bkt capture`, with --only and
--exclude for each; and the user's config.json choosing the shim directory and
the extensions.gnome.org mirror (no BKT_SHIM_DIR / BKT_EXTENSIONS_URL here).

Real components as in the per-subsystem tests: polkitd with the shipped
files, flatpak with a local repo, GSettings (keyfile backend), dnf against a
local RPM repo (tests/rpm-repo.sh); the extensions.gnome.org stand-in of
test_ext_shims; tests/doubles/rpm-ostree-double for rpm-ostree.
"""

import json
import os
import stat
import sys
import threading
import http.server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import test_dnf_layering as dnf  # noqa: E402  (modules, not names: unittest would run their classes)
import test_ext_shims as ext  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

SUBSYSTEMS = ('shim', 'skel', 'gsettings', 'extension', 'flatpak', 'dnf')
SHIM_DIR = 'host-shims'   # under ADMIN's home, given to bkt as "~/host-shims" in config.json


class AllSubsystems(EnvTestCase):
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), ext.EgoHandler)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.url = 'http://127.0.0.1:%d' % cls.server.server_address[1]
        kw = dnf._env_kw()
        kw.update(flatpak=True, users=(ADMIN,))
        kw['extra_env'] = dict(kw['extra_env'], BKT_SHELL_VERSION='46.2')
        cls.ENV_KW = kw
        try:
            super().setUpClass()
        except BaseException:
            cls.server.shutdown()
            raise
        env = cls.env
        cls.write_config({'extensions_url': cls.url, 'shim_dir': '~/' + SHIM_DIR})
        env.write_standard_manifests(extensions=['good@bkt.test'], shims=[{'name': 'podman'}])
        with open(os.path.join(env.image_manifests_dir, 'system-packages.json'), 'w') as f:
            json.dump({'packages': ['bkt-fish']}, f)
        bktenv.make_readable(env.image_manifests_dir)
        # a dotfile in the image's skel (beside its manifests)
        os.makedirs(env.path('skel'), exist_ok=True)
        with open(env.path('skel', '.bkt-all-rc'), 'w') as f:
            f.write('# from the skel\n')
        bktenv.make_readable(env.path('skel'))
        dnf.write_state(booted=[], staged=None)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.server.shutdown()
            cls.server.server_close()
            dnf._remove_dir()

    @classmethod
    def write_config(cls, config, raw=None):
        d = os.path.join(cls.env.config_home(ADMIN), 'bkt')
        cls.env.run_as(ADMIN, ['mkdir', '-p', d])
        text = raw if raw is not None else json.dumps(config)
        cls.env.run_as(ADMIN, ['sh', '-c', 'cat > "$0"', os.path.join(d, 'config.json')], input=text)

    def shim(self, name):
        return os.path.join(self.env.home(ADMIN), SHIM_DIR, name)

    def plan(self, *args):
        rc, plan, err = self.env.bkt_json(ADMIN, 'apply', '--dry-run', '--json', *args)
        self.assertEqual(rc, 0, err)
        return plan

    def rpm_ostree_changes(self):
        with open(os.path.join(dnf._DIR, 'rpm-ostree.log')) as f:
            return [a for a in (json.loads(line) for line in f if line.strip()) if a[:1] != ['status']]

    def test_1_one_plan_five_subsystems_in_order(self):
        plan = self.plan()
        subs = [op['subsystem'] for op in plan['operations']]
        self.assertEqual(sorted(set(subs)), sorted(SUBSYSTEMS), 'not every subsystem has work: %s' % subs)
        ranks = [SUBSYSTEMS.index(s) for s in subs]
        self.assertEqual(ranks, sorted(ranks), 'out of order: %s' % subs)
        targets = [op['target'] for op in plan['operations']]
        for t in ('shim:podman', 'skel:.bkt-all-rc', 'extension:good@bkt.test', 'package:bkt-fish'):
            self.assertIn(t, targets)
        # config.json's mirror and shim directory are what the plan says it will use
        text = json.dumps(plan)
        self.assertIn(self.url, text)
        self.assertEqual(self.rpm_ostree_changes(), [], 'a dry run changed something')
        self.assertFalse(os.path.exists(self.shim('podman')))

    def test_2_only_exclude_each(self):
        every = set(op['subsystem'] for op in self.plan()['operations'])
        self.assertEqual(every, set(SUBSYSTEMS))
        for name in SUBSYSTEMS:
            only = set(op['subsystem'] for op in self.plan('--only', name)['operations'])
            self.assertEqual(only, {name}, '--only %s' % name)
            rest = set(op['subsystem'] for op in self.plan('--exclude', name)['operations'])
            self.assertEqual(rest, every - {name}, '--exclude %s' % name)
            st = self.status(ADMIN, '--only', name)
            self.assertEqual(set(st['subsystems']), {name}, 'status --only %s' % name)
            st = self.status(ADMIN, '--exclude', name)
            self.assertEqual(set(st['subsystems']), set(SUBSYSTEMS) - {name}, 'status --exclude %s' % name)

    def test_3_apply_then_in_sync(self):
        env = self.env
        rc, res, err = env.bkt_json(ADMIN, 'apply', '--json')
        self.assertEqual(rc, 0, err)
        self.assertTrue(res['success'], res)
        done = [r['id'].split(':')[0] for r in res['results'] if r['success']]
        self.assertEqual(set(done), set(SUBSYSTEMS), res['results'])
        # the shim in config.json's directory (not ~/.local/toolbox/shims)
        self.assertTrue(os.stat(self.shim('podman')).st_mode & stat.S_IXUSR)
        self.assertFalse(os.path.exists(os.path.join(env.home(ADMIN), '.local', 'toolbox', 'shims', 'podman')))
        # the extension from config.json's mirror
        self.assertTrue(os.path.isfile(os.path.join(env.home(ADMIN), '.local', 'share', 'gnome-shell',
                                                    'extensions', 'good@bkt.test', 'extension.js')))
        self.assertIn('org.test.Hello', env.installed_apps('system'))
        self.assertEqual(self.rpm_ostree_changes(), [['install', '--idempotent', '--', 'bkt-fish']])
        st = self.status(ADMIN)
        self.assertInSync(st, ('shim', 'skel', 'gsettings', 'extension', 'flatpak'))
        self.assertEqual(st['subsystems']['dnf']['drift'], [])
        # in sync: a second apply plans nothing
        self.assertEqual(self.plan()['operations'], [])

    def test_4_capture_all_at_once(self):
        env = self.env
        # by hand: a setting, an app, a layered package (after a reboot), and the extension switched off
        env.gsettings(ADMIN, 'set', 'org.gnome.desktop.interface', 'clock-format', "'24h'")
        booted = sorted(dnf.read_state()['staged'] + ['bkt-extra'])
        dnf.write_state(booted=booted, staged=None)
        env.gsettings(ADMIN, 'set', 'org.gnome.shell', 'enabled-extensions', '@as []')
        # the package layered by hand is untracked: left out (named in a warning) unless picked
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        subs = set(op['subsystem'] for op in plan['operations'])
        self.assertEqual({'gsettings', 'extension'}, subs, plan['operations'])
        self.assertTrue(any('bkt-extra' in w and 'untracked' in w for w in plan['warnings']), plan['warnings'])
        rc, plan, err = env.bkt_json(ADMIN, 'capture', '--all-untracked', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        subs = set(op['subsystem'] for op in plan['operations'])
        self.assertTrue({'gsettings', 'extension', 'dnf'} <= subs, plan['operations'])
        rc, res, err = env.bkt_json(ADMIN, 'capture', '--all-untracked', '--json')
        self.assertEqual(rc, 0, err)
        self.assertTrue(res['success'], res)
        overlay = env.overlay_dir(ADMIN)
        with open(os.path.join(overlay, 'system-packages.json')) as f:
            self.assertIn('bkt-extra', json.load(f)['packages'])
        with open(os.path.join(overlay, 'gnome-extensions.json')) as f:
            self.assertIn({'uuid': 'good@bkt.test', 'enabled': False}, json.load(f)['extensions'])
        with open(os.path.join(overlay, 'gsettings.json')) as f:
            self.assertIn('24h', f.read())
        st = self.status(ADMIN)
        self.assertInSync(st, ('shim', 'skel', 'gsettings', 'extension', 'flatpak'))
        self.assertEqual(st['subsystems']['dnf']['untracked'], [])

    def test_5_bad_config_changes_nothing(self):
        env = self.env
        before = env.manifests_snapshot(env.overlay_dir(ADMIN), os.path.join(env.home(ADMIN), SHIM_DIR))
        try:
            self.write_config({'shim_dir': 'relative/dir', 'extensions_url': self.url})
            rc, out, err = env.bkt_run(ADMIN, 'apply', '--dry-run')
            self.assertEqual(rc, 5, err)
            self.assertIn('absolute', err)
            self.write_config(None, raw='{"shim_dir": ')
            rc, out, err = env.bkt_run(ADMIN, 'apply')
            self.assertEqual(rc, 5, err)
            self.assertIn('config.json', err)
            self.write_config({'extensions_url': 42})
            rc, out, err = env.bkt_run(ADMIN, 'status')
            self.assertNotEqual(rc, 0, err)
            self.assertIn('extensions_url', err)
        finally:
            self.write_config({'extensions_url': self.url, 'shim_dir': '~/' + SHIM_DIR})
        self.assertEqual(env.manifests_snapshot(env.overlay_dir(ADMIN), os.path.join(env.home(ADMIN), SHIM_DIR)),
                         before)


if __name__ == '__main__':
    bktenv.main()
