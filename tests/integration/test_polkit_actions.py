#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Each Admin method passes with its own polkit action and with no other.

dbusmock's polkitd template answers per action (SetAllowed): for every action of org.bkt.policy in
turn, exactly that one is allowed, and every Admin method is called with valid arguments.  A method
"passes" when it is not refused with org.bkt.Error.NotAuthorized (it may still fail later, e.g.
bootc is missing here: that is past the authorisation).  With nothing allowed every method is
refused, so a method that failed before asking polkit cannot pass by accident.  A transaction a
call creates is cancelled on the same connection (only its creator may) before the next call.
Methods that need two actions (Apply with packages, CoprEnable without GPG checks) pass only with
both.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import USER, EnvTestCase  # noqa: E402

ADMIN_METHODS = [
    # (method, GVariant text of the arguments, the action it needs)
    ('FlatpakInstall', "('bkt-test', 'org.test.Hello', @a{sv} {})", 'org.bkt.flatpak'),
    ('FlatpakUninstall', "('org.test.Hello', @a{sv} {})", 'org.bkt.flatpak'),
    ('PackagesInstall', "(['htop'], {'force': <true>})", 'org.bkt.packages'),
    ('PackagesUninstall', "(['htop'], @a{sv} {})", 'org.bkt.packages'),
    ('CoprEnable', "('bkt/tools', @a{sv} {})", 'org.bkt.packages'),
    ('CoprDisable', "('bkt/tools', @a{sv} {})", 'org.bkt.packages'),
    ('CoprRemove', "('bkt/tools', @a{sv} {})", 'org.bkt.packages'),
    ('BootcStatus', "(@a{sv} {},)", 'org.bkt.admin.bootc.status'),
    ('BootcUpgrade', "(@a{sv} {},)", 'org.bkt.admin.bootc.upgrade'),
    ('BootcRollback', "(@a{sv} {},)", 'org.bkt.admin.bootc.rollback'),
    ('BootcSwitch', "('quay.io/example/os:latest', @a{sv} {})", 'org.bkt.admin.bootc.switch'),
    ('SystemctlStatus', "(['bkt-test.service'], @a{sv} {})", 'org.bkt.admin.systemctl.status'),
    ('SystemctlManage', "('start', ['bkt-test.service'], @a{sv} {})", 'org.bkt.admin.systemctl.manage'),
]

# Calls each (interface, method, args) of argv[2] (JSON) on one connection; prints one JSON list of
# error names ('' = passed).  A transaction it gets back is cancelled at once.  Busy (the previous
# transaction not yet released) is retried.
CALLER = r'''
import json, sys, time
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
out = []
for iface, method, args in json.loads(sys.argv[2]):
    deadline = time.monotonic() + 20
    while True:
        try:
            v = conn.call_sync('org.bkt.Daemon1', '/org/bkt/Daemon1', iface, method,
                               GLib.Variant.parse(None, args, None, None), None, 0, 60000, None)
            path = v.unpack()[0] if v.get_type_string() in ('(s)', '(o)') else ''
            if path.startswith('/org/bkt/Daemon1/Transaction/'):
                conn.call_sync('org.bkt.Daemon1', path, 'org.bkt.Daemon1.Transaction', 'Cancel', None, None, 0,
                               60000, None)
            out.append('')
        except GLib.Error as e:
            name = Gio.DBusError.get_remote_error(e) or e.message
            if name == 'org.bkt.Error.Busy' and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            out.append(name)
        break
print(json.dumps(out))
'''


def policy_actions():
    root = ET.parse(os.path.join(bktenv.SOURCE_DIR, 'polkit', 'org.bkt.policy')).getroot()
    return [a.get('id') for a in root.findall('action')]


class PerActionPolkit(EnvTestCase):
    ENV_KW = dict(polkit='mock', users=(USER,), session_daemons=False)

    def call_all(self, calls, allowed):
        env = self.env
        env.mock_polkit('AllowUnknown', 'false')
        env.mock_polkit('SetAllowed', '@as %s' % json.dumps(allowed).replace('"', "'"))
        p = subprocess.run([bktenv.SYSTEM_PYTHON, '-c', CALLER, env.system_bus_address, json.dumps(calls)],
                           capture_output=True, text=True, timeout=600, env=env.user_env(USER),
                           stdin=subprocess.DEVNULL, **env.user_kwargs(USER))
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_each_admin_method_needs_exactly_its_action(self):
        actions = policy_actions()
        for _, _, needed in ADMIN_METHODS:
            self.assertIn(needed, actions, 'the test names an action org.bkt.policy does not declare')
        calls = [(bktenv.ADMIN_IFACE, m, a) for m, a, _ in ADMIN_METHODS]
        refused = self.call_all(calls, [])
        self.assertEqual(refused, ['org.bkt.Error.NotAuthorized'] * len(calls),
                         'with nothing allowed some method was not refused by polkit: %s' % refused)
        for action in actions:
            got = self.call_all(calls, [action])
            passed = sorted(m for (m, _, _), err in zip(ADMIN_METHODS, got) if err != 'org.bkt.Error.NotAuthorized')
            expected = sorted(m for m, _, need in ADMIN_METHODS if need == action)
            bktenv.log('%s allows %s' % (action, passed))
            self.assertEqual(passed, expected, 'with only %s allowed: %s' % (action, got))

    def test_two_action_requests_need_both(self):
        apply_packages = (bktenv.MANAGER_IFACE, 'Apply', "({'manifest': <%s>},)" % json.dumps(
            json.dumps({'system-packages': {'packages': ['htop']}})))
        copr_insecure = (bktenv.ADMIN_IFACE, 'CoprEnable', "('bkt/tools', {'gpg_check': <false>})")
        apply_insecure = (bktenv.MANAGER_IFACE, 'Apply', "({'manifest': <%s>},)" % json.dumps(json.dumps(
            {'system-packages': {'packages': [], 'copr_repos': [{'name': 'bkt/tools', 'gpg_check': False}]}})))
        cases = [(apply_packages, ['org.bkt.apply', 'org.bkt.packages']),
                 (copr_insecure, ['org.bkt.packages', 'org.bkt.insecure-repo']),
                 (apply_insecure, ['org.bkt.apply', 'org.bkt.packages', 'org.bkt.insecure-repo'])]
        for call, needed in cases:
            for i in range(len(needed)):
                partial = needed[:i] + needed[i + 1:]
                self.assertEqual(self.call_all([call], partial), ['org.bkt.Error.NotAuthorized'],
                                 '%s passed with only %s' % (call[1], partial))
            self.assertEqual(self.call_all([call], needed), [''], '%s refused with %s' % (call[1], needed))

    def test_apply_prune_needs_the_removals_action(self):
        # apply --prune of a system app bkt installed (the system record says so) removes what
        # FlatpakUninstall removes: org.bkt.flatpak is asked too, once the plan is known
        env = self.env
        env.flatpak('root', 'system', 'install', '-y', '--noninteractive', 'bkt-test', 'org.test.Hello')
        path = env.state_record_path('system')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump({'version': 1, 'scope': 'system',
                       'items': {'flatpak:org.test.Hello': {'value': 'installed', 'command': 'apply'}}}, f)
        prune = (bktenv.MANAGER_IFACE, 'Apply', "({'manifest': <'{}'>, 'prune': <true>},)")
        plain = (bktenv.MANAGER_IFACE, 'Apply', "({'manifest': <'{}'>},)")
        self.assertEqual(self.call_all([prune], ['org.bkt.apply']), ['org.bkt.Error.NotAuthorized'])
        self.assertEqual(self.call_all([plain], ['org.bkt.apply']), [''])
        self.assertEqual(self.call_all([prune], ['org.bkt.apply', 'org.bkt.flatpak']), [''])
        self.assertIn('org.test.Hello', env.installed_apps('system'))


if __name__ == '__main__':
    bktenv.main()
