#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real polkitd with the shipped org.bkt.policy and 50-bkt.rules.

A wheel member applies system + user flatpaks and gsettings without a
password (stdin is not a TTY, no agent); a non-wheel user is refused with
exit code 3 / org.bkt.Error.NotAuthorized and nothing changes; status works
for both; direct D-Bus calls by the non-wheel user are refused by name.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402


class RealPolkit(EnvTestCase):
    # the system remote comes from the manifest (so the refused apply must not add it);
    # the user installations get the remote from the harness
    ENV_KW = dict(polkit='real', system_remote=None)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        env.write_standard_manifests()

    def live_snapshot(self, user):
        env = self.env
        return {'system_apps': env.installed_apps('system', user),
                'system_remotes': env.remotes('system', user),
                'user_apps': env.installed_apps('user', user),
                'keyfile': env.read_keyfile(user),
                'overlay': env.manifests_snapshot(env.overlay_dir(user))}

    def test_1_non_wheel_apply_refused(self):
        env = self.env
        before = self.live_snapshot(USER)
        res = env.bkt_run(USER, 'apply')
        self.assertRc(res, 3, 'bkt apply as non-wheel user')
        err = res[2].lower()
        self.assertTrue('not authori' in err or 'notauthorized' in err,
                        'stderr does not say "not authorised": %s' % res[2])
        after = self.live_snapshot(USER)
        self.assertNotIn('org.test.Hello', after['system_apps'], 'system flatpak installed despite refusal')
        self.assertEqual(before, after, 'something changed after a refused apply')
        # same check from root's view of the system installation
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))
        self.assertNotIn('bkt-test', env.remotes('system'))

    def test_1b_non_wheel_json_apply_refused(self):
        env = self.env
        rc, out, err = env.bkt_run(USER, 'apply', '--json')
        self.assertEqual(rc, 3, 'bkt apply --json as non-wheel user: rc=%d %s' % (rc, err))
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))

    def test_2_non_wheel_direct_dbus_refused(self):
        env = self.env
        content = json.dumps({'flatpak-apps': {'apps': [
            {'id': 'org.test.Hello', 'remote': 'bkt-test', 'scope': 'system'}]}})
        p = env.gdbus_call(USER, 'Apply', "{'manifest': <%s>}" % json.dumps(content))
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        p = env.gdbus_call(USER, 'FlatpakInstall', 'bkt-test', 'org.test.Hello', '{}',
                           interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        p = env.gdbus_call(USER, 'FlatpakUninstall', 'org.test.Hello', '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        self.assertNotIn('org.test.Hello', env.installed_apps('system'))
        # read-only actions are for any local user
        p = env.gdbus_call(USER, 'Status', '{}')
        self.assertEqual(p.returncode, 0, 'system Status as non-wheel user: %s' % p.stderr)
        p = env.gdbus_call(USER, 'Plan', "{'manifest': <%s>}" % json.dumps(content))
        self.assertEqual(p.returncode, 0, 'system Plan as non-wheel user: %s' % p.stderr)
        self.assertIn('org.test.Hello', p.stdout)

    def test_3_wheel_apply_without_password(self):
        env = self.env
        res = env.bkt_run(ADMIN, 'apply')
        self.assertRc(res, 0, 'bkt apply as wheel user')
        self.assertIn('org.test.Hello', env.installed_apps('system'))
        self.assertIn('bkt-test', env.remotes('system'))
        self.assertIn('org.test.Second', env.installed_apps('user', ADMIN))
        self.assertNotIn('org.test.Second', env.installed_apps('user', USER))
        for s in bktenv.TEST_SETTINGS:
            self.assertEqual(env.gsettings(ADMIN, 'get', s['schema'], s['key']), s['value'])
        # the other user's settings are untouched
        self.assertEqual(env.read_keyfile(USER), '')
        # no password prompt was possible: stdin was /dev/null and BKT_NO_PKTTYAGENT=1
        self.assertNotIn('password', (res[1] + res[2]).lower())

    def test_4_status_works_for_both(self):
        env = self.env
        st = self.status(ADMIN)
        self.assertEqual(st['instance'], 'session')
        self.assertInSync(st)
        self.assertEqual(st['operations'], 0)
        res = env.bkt_run(ADMIN, 'status')
        self.assertRc(res, 0, 'bkt status as wheel user')
        st = self.status(USER)
        self.assertEqual(st['instance'], 'session')
        # bkt-user has not applied: their user app and settings drift, the system app is in place
        self.assertGreater(st['operations'], 0, st)
        gs = st['subsystems']['gsettings']
        self.assertFalse(bktenv.synced(gs))
        self.assertEqual(len(gs['drift']), len(bktenv.TEST_SETTINGS), gs)
        res = env.bkt_run(USER, 'status')
        self.assertRc(res, 0, 'bkt status as non-wheel user')

    def test_5_non_wheel_user_scope_only(self):
        """A non-wheel user may apply their own user-scope part (system part already in sync)."""
        env = self.env
        rc, plan, err = env.bkt_json(USER, 'apply', '--dry-run', '--json')
        self.assertEqual(rc, 0, err)
        self.assertIn(plan.get('system_request'), (None, ''),
                      'system part is in sync, yet a system request was planned: %s' % plan)
        res = env.bkt_run(USER, 'apply')
        self.assertRc(res, 0, 'bkt apply (user scope only) as non-wheel user')
        self.assertIn('org.test.Second', env.installed_apps('user', USER))
        self.assertInSync(self.status(USER))


if __name__ == '__main__':
    bktenv.main()
