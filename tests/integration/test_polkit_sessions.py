#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where wheel needs no password: the real polkitd with the shipped org.bkt.policy and 50-bkt.rules,
and login sessions as logind would record them (tests/integration/logind.py).

* a wheel member's process in their active local session changes the system without a password;
* the same user's process outside any session (a cron job, a systemd user service), from a remote
  (SSH) session or from an inactive session is asked for authentication — and, with no agent,
  refused with NotAuthorized ("authentication is required"), nothing changed;
* a software source without signature checks (CoprEnable gpg_check=false, Apply content with such a
  COPR) is org.bkt.insecure-repo, which asks even the wheel member in front of the machine.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402
import test_dnf_layering as L  # noqa: E402
import test_dnf_copr as C  # noqa: E402

APP = 'org.test.Hello'
ASKED = 'authentication is required'


# Calls an Admin method, starts the transaction it returns on the same connection (only its creator
# may) and waits for it: one JSON line {"error"} or {"state", "success", "error"}.
RUN = r'''
import json, sys, time
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
try:
    v = conn.call_sync('org.bkt.Daemon1', '/org/bkt/Daemon1', sys.argv[2], sys.argv[3],
                       GLib.Variant.parse(None, sys.argv[4], None, None), None, 0, 60000, None)
except GLib.Error as e:
    print(json.dumps({'error': Gio.DBusError.get_remote_error(e) + ': ' + e.message})); sys.exit(0)
out = v.unpack()[0]
if not out.startswith('/org/bkt/Daemon1/Transaction/'):
    print(json.dumps({'state': 'replied', 'success': True, 'reply': out})); sys.exit(0)
tx = Gio.DBusProxy.new_sync(conn, 0, None, 'org.bkt.Daemon1', out, 'org.bkt.Daemon1.Transaction', None)
tx.call_sync('Start', None, 0, 60000, None)
props = lambda: conn.call_sync('org.bkt.Daemon1', out, 'org.freedesktop.DBus.Properties', 'GetAll',
                               GLib.Variant('(s)', ('org.bkt.Daemon1.Transaction',)), None, 0, 10000,
                               None).unpack()[0]
deadline = time.monotonic() + 120
while props()['State'] in ('pending', 'running') and time.monotonic() < deadline:
    time.sleep(0.1)
p = props()
print(json.dumps({'state': p['State'], 'success': p['Success'], 'error': p['ErrorMessage']}))
'''


def admin_call(env, method, args, session=True, interface=bktenv.ADMIN_IFACE):
    """@method (GVariant text @args) as the wheel user, in or outside their login session; its
    transaction run to the end.  Returns the JSON outcome."""
    p = bktenv.subprocess.run([bktenv.SYSTEM_PYTHON, '-c', RUN, env.system_bus_address, interface, method, args],
                              capture_output=True, text=True, timeout=200, env=env.user_env(ADMIN),
                              cwd=env.home(ADMIN), stdin=bktenv.subprocess.DEVNULL,
                              **env.user_kwargs(ADMIN, session=session))
    bktenv.log('[%s%s] %s%s -> %s %s' % (ADMIN, '' if session else ', no session', method, args,
                                        p.stdout.strip()[:300], p.stderr.strip()[:500]))
    if p.returncode != 0:
        raise AssertionError('helper failed: %s' % p.stderr)
    return json.loads(p.stdout)


class SessionCase(EnvTestCase):
    def assertDone(self, r):
        self.assertEqual((r.get('state'), r.get('success')), ('finished', True), r)

    def assertAsked(self, r, action):
        """Refused because authentication was needed (is_challenge) for @action — not denied outright."""
        self.assertIn('error', r)
        self.assertTrue(r['error'].startswith('org.bkt.Error.NotAuthorized'), r)
        self.assertIn(ASKED, r['error'])
        self.assertIn(action, r['error'])


class ActiveLocalSession(SessionCase):
    ENV_KW = dict(polkit='real', sessions={ADMIN: 'active'})

    def test_1_active_local_wheel_needs_no_password(self):
        env = self.env
        p = admin_call(env, 'FlatpakInstall', "('bkt-test', '%s', @a{sv} {})" % APP)
        self.assertDone(p)
        self.assertIn(APP, env.installed_apps('system'))

    def test_2_same_user_outside_the_session_is_asked(self):
        """A cron job or user service of the same wheel member: no session, so no grant."""
        env = self.env
        self.assertIn(APP, env.installed_apps('system'))
        p = admin_call(env, 'FlatpakUninstall', "('%s', @a{sv} {})" % APP, session=False)
        self.assertAsked(p, 'org.bkt.flatpak')
        self.assertIn(APP, env.installed_apps('system'))
        p = admin_call(env, 'SystemctlManage', "('start', ['bkt-none.service'], @a{sv} {})", session=False)
        self.assertAsked(p, 'org.bkt.admin.systemctl.manage')
        # read-only actions stay open to every process
        p = admin_call(env, 'SystemctlStatus', "(['bkt-none.service'], @a{sv} {})", session=False)
        self.assertNotIn('NotAuthorized', p.get('error', ''))


    # The success path of the system-scope FlatpakUninstall (its "force" argument is an install's
    # only: the flatpak subsystem's remove refused it, so this never succeeded before).
    def test_3_system_scope_uninstall_succeeds(self):
        """The success path of the system-scope FlatpakUninstall: the app is gone afterwards."""
        env = self.env
        self.assertIn(APP, env.installed_apps('system'))
        p = admin_call(env, 'FlatpakUninstall', "('%s', @a{sv} {})" % APP)
        self.assertDone(p)
        self.assertNotIn(APP, env.installed_apps('system'))


class RemoteSession(SessionCase):
    """An SSH login of a wheel member: active, but not local (no seat)."""
    ENV_KW = dict(polkit='real', sessions={ADMIN: 'remote'})

    def test_remote_wheel_is_asked(self):
        env = self.env
        p = admin_call(env, 'FlatpakInstall', "('bkt-test', '%s', @a{sv} {})" % APP)
        self.assertAsked(p, 'org.bkt.flatpak')
        self.assertNotIn(APP, env.installed_apps('system'))
        # the client says the same, exit status 3
        rc, out, err = env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '-y')
        self.assertEqual(rc, 3, err)


class InactiveSession(SessionCase):
    """A wheel member's session on the seat that is not in front (switched away from)."""
    ENV_KW = dict(polkit='real', sessions={ADMIN: 'inactive'})

    def test_inactive_wheel_is_asked(self):
        env = self.env
        p = admin_call(env, 'FlatpakInstall', "('bkt-test', '%s', @a{sv} {})" % APP)
        self.assertAsked(p, 'org.bkt.flatpak')
        self.assertNotIn(APP, env.installed_apps('system'))


class InsecureRepo(C.CoprMixin, SessionCase):
    """gpg_check=false always asks: org.bkt.insecure-repo, granted by no shipped rule."""
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        cls.ENV_KW = dict(L._env_kw(C.COPR), users=(ADMIN,), sessions={ADMIN: 'active'})
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        L._remove_dir()

    def test_1_copr_with_signature_checks_needs_no_password(self):
        p = admin_call(self.env, 'CoprEnable', "('%s', @a{sv} {})" % C.COPR)
        self.assertDone(p)
        self.assertEqual(self.repos(), [C.file_name(C.COPR)])

    def test_2_copr_without_signature_checks_is_asked(self):
        p = admin_call(self.env, 'CoprEnable', "('@team/extras', {'gpg_check': <false>})")
        self.assertAsked(p, 'org.bkt.insecure-repo')
        self.assertEqual(self.repos(), [C.file_name(C.COPR)])
        # explicitly true is the ordinary action
        p = admin_call(self.env, 'CoprEnable', "('bkt/other', {'gpg_check': <true>})")
        self.assertDone(p)
        os.unlink(os.path.join(L._DIR, 'yum.repos.d', C.file_name('bkt/other')))

    def test_3_apply_content_with_such_a_copr_is_asked(self):
        env = self.env
        content = json.dumps({'system-packages': {'packages': [], 'copr_repos': [
            {'name': '@team/extras', 'enabled': True, 'gpg_check': False}]}})
        p = admin_call(env, 'Apply', "({'manifest': <%s>},)" % json.dumps(content), interface=bktenv.MANAGER_IFACE)
        self.assertAsked(p, 'org.bkt.insecure-repo')
        self.assertEqual(self.repos(), [C.file_name(C.COPR)])
        # a disabled one declares no trust in it
        content = json.dumps({'system-packages': {'packages': [], 'copr_repos': [
            {'name': C.COPR, 'enabled': True}, {'name': '@team/extras', 'enabled': False, 'gpg_check': False}]}})
        p = admin_call(env, 'Apply', "({'manifest': <%s>},)" % json.dumps(content), interface=bktenv.MANAGER_IFACE)
        self.assertDone(p)


if __name__ == '__main__':
    bktenv.main()
