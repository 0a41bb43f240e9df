#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the password prompt says (issue 14, finding 8): the real polkitd with the shipped policy,
and an authentication agent of our own — registered with polkitd for the calling process, as
pkttyagent --process does — that records the message and the details polkitd hands it, then
dismisses the dialog.  The caller is bkt-user (not in wheel), so every change asks.

* Apply: the prompt names what the plan will do — the apps, the remotes with their URLs (and a
  remote without GPG verification says so), the packages — and it is the plan Plan returns for the
  same content (one source for "what will run" and "what is asked"); many changes are cut to the
  first few and a count;
* the Admin methods name their app and remote, packages, COPR project, units and verb;
* a dismissed prompt changes nothing.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import USER, EnvTestCase  # noqa: E402

# A polkit authentication agent for this process (unix-process subject), then each call of the
# JSON file argv[2] ([iface, method, gvariant-text]) with interactive authorisation allowed.
# Prints one JSON line per call: its error (or reply) and the prompts the agent received.
AGENT = r'''
import json, os, sys
from gi.repository import Gio, GLib
addr = sys.argv[1]
conn = Gio.DBusConnection.new_for_address_sync(
    addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None, None)
node = Gio.DBusNodeInfo.new_for_xml("""<node><interface name="org.freedesktop.PolicyKit1.AuthenticationAgent">
  <method name="BeginAuthentication">
    <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="s" direction="in"/>
    <arg type="a{ss}" direction="in"/><arg type="s" direction="in"/><arg type="a(sa{sv})" direction="in"/>
  </method>
  <method name="CancelAuthentication"><arg type="s" direction="in"/></method>
</interface></node>""")
prompts = []
def on_call(c, sender, path, iface, method, params, inv):
    if method == 'BeginAuthentication':
        action, message, icon, details, cookie, identities = params.unpack()
        prompts.append({'action': action, 'message': message, 'details': details})
        # the person closes the dialog
        inv.return_dbus_error('org.freedesktop.PolicyKit1.Error.Cancelled', 'dismissed by the test agent')
    else:
        inv.return_value(None)
conn.register_object('/org/bkt/TestAgent', node.interfaces[0], on_call, None, None)
with open('/proc/self/stat') as f:
    start_time = int(f.read().rsplit(')', 1)[1].split()[19])
subject = ('unix-process', {'pid': GLib.Variant('u', os.getpid()), 'start-time': GLib.Variant('t', start_time),
                            'uid': GLib.Variant('i', os.getuid())})
conn.call_sync('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
               'org.freedesktop.PolicyKit1.Authority', 'RegisterAuthenticationAgent',
               GLib.Variant('((sa{sv})ss)', (subject, 'C', '/org/bkt/TestAgent')), None, 0, 30000, None)
loop = GLib.MainLoop()
calls = json.load(open(sys.argv[2]))
results = []
def next_call():
    if len(results) == len(calls):
        loop.quit()
        return
    iface, method, args = calls[len(results)]
    del prompts[:]
    conn.call('org.bkt.Daemon1', '/org/bkt/Daemon1', iface, method, GLib.Variant.parse(None, args, None, None),
              None, Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION, 120000, None, done, None)
def done(c, res, _):
    try:
        reply = c.call_finish(res)
        out = {'reply': reply.unpack()[0] if reply.get_type_string() in ('(s)', '(o)') else str(reply)}
        path = reply.unpack()[0] if reply.get_type_string() == '(o)' else ''
        if path:
            c.call_sync('org.bkt.Daemon1', path, 'org.bkt.Daemon1.Transaction', 'Cancel', None, None, 0, 60000, None)
    except GLib.Error as e:
        out = {'error': Gio.DBusError.get_remote_error(e), 'message': e.message}
    out['prompts'] = list(prompts)
    results.append(out)
    print(json.dumps(out), flush=True)
    next_call()
next_call()
loop.run()
'''

APPLY_MESSAGE = 'Authentication is required to change system-wide software to match the manifests: '


class Prompts(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(bktenv.ADMIN, USER), session_daemons=False)

    def calls(self, *calls):
        env = self.env
        path = os.path.join(env.path('run'), 'prompt-calls.json')
        with open(path, 'w') as f:
            json.dump([list(c) for c in calls], f)
        os.chmod(path, 0o644)
        p = env.run_as(USER, [bktenv.SYSTEM_PYTHON, '-c', AGENT, env.system_bus_address, path], timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        out = [json.loads(line) for line in p.stdout.splitlines() if line.startswith('{')]
        self.assertEqual(len(out), len(calls), p.stdout)
        return out

    def apply_call(self, content, method='Apply'):
        return (bktenv.MANAGER_IFACE, method, "({'manifest': <%s>},)" % json.dumps(json.dumps(content)))

    def content(self):
        env = self.env
        return {
            'flatpak-remotes': {'remotes': [{'name': 'bkt-other', 'url': env.repo_url, 'scope': 'system',
                                             'gpg_verify': False}]},
            'flatpak-apps': {'apps': [{'id': 'org.test.Hello', 'remote': 'bkt-test', 'scope': 'system'}]},
        }

    def target(self, prompt):
        """What the Apply prompt says it will do.  polkitd hands an agent the message with the
        details substituted ($(org.bkt.target)), not the details themselves (those are for rules:
        the agent gets only polkit.caller-pid and polkit.subject-pid)."""
        self.assertEqual(sorted(prompt['details']), ['polkit.caller-pid', 'polkit.subject-pid'], prompt)
        self.assertTrue(prompt['message'].startswith(APPLY_MESSAGE), prompt)
        return prompt['message'][len(APPLY_MESSAGE):]

    def assertDismissed(self, res):
        self.assertEqual(res.get('error'), 'org.bkt.Error.NotAuthorized', res)
        self.assertIn('dismissed', res['message'])

    def test_apply_prompt_is_the_plan(self):
        env = self.env
        before = (env.installed_apps('system'), env.remotes('system'))
        content = self.content()
        plan_res, apply_res = self.calls(self.apply_call(content, 'Plan'), self.apply_call(content))
        # Plan is open to everyone: no prompt, and the plan it returns ...
        self.assertEqual(plan_res['prompts'], [], plan_res)
        self.assertNotIn('error', plan_res)
        plan = json.loads(plan_res['reply'])
        changes = [op for op in plan['operations'] if op['effect'] != 'manifest']
        self.assertEqual(sorted((op['subsystem'], op['action']) for op in changes),
                         [('flatpak', 'add-remote'), ('flatpak', 'install')], plan)
        # ... is what the Apply prompt names, operation by operation
        self.assertDismissed(apply_res)
        self.assertEqual([p['action'] for p in apply_res['prompts']], ['org.bkt.apply'], apply_res)
        prompt = apply_res['prompts'][0]
        bktenv.log('Apply prompt: %s' % prompt['message'])
        target = self.target(prompt)
        for op in changes:
            self.assertIn(op['summary'], target)
        self.assertIn('org.test.Hello', target)
        self.assertIn(env.repo_url, target)
        self.assertIn('bkt-other (%s, system) without GPG verification' % env.repo_url, target)
        self.assertNotIn('manifests', target)
        # dismissed: nothing changed
        self.assertEqual((env.installed_apps('system'), env.remotes('system')), before)

    def test_apply_prompt_many_changes(self):
        # 20 remotes to add: the prompt names 8 and counts the rest
        env = self.env
        content = {'flatpak-remotes': {'remotes': [{'name': 'bkt-r%02d' % i, 'url': env.repo_url, 'scope': 'system'}
                                                   for i in range(20)]}}
        (res,) = self.calls(self.apply_call(content))
        self.assertDismissed(res)
        target = self.target(res['prompts'][0])
        bktenv.log('Apply prompt, 20 remotes: %s' % target)
        self.assertEqual(target.count('Add flatpak remote'), 8, target)
        self.assertIn('bkt-r00', target)
        self.assertNotIn('bkt-r19', target)
        self.assertTrue(target.endswith('… and 12 more (20 changes in all)'), target)
        self.assertLess(len(target), 2000)
        # nothing to do is said as such
        (res,) = self.calls(self.apply_call({}))
        self.assertDismissed(res)
        self.assertIn('nothing to change', self.target(res['prompts'][0]))

    def test_admin_prompts_name_their_effect(self):
        A = bktenv.ADMIN_IFACE
        res = self.calls((A, 'FlatpakInstall', "('bkt-test', 'org.test.Hello', @a{sv} {})"),
                         (A, 'PackagesInstall', "(['htop', 'vim-enhanced'], {'force': <true>})"),
                         (A, 'CoprEnable', "('owner/project', @a{sv} {})"),
                         (A, 'SystemctlManage', "('restart', ['cups.service', 'sshd.service'], @a{sv} {})"))
        expected = [('org.bkt.flatpak', 'flatpak:org.test.Hello from remote bkt-test'),
                    ('org.bkt.packages', 'packages: htop vim-enhanced'),
                    ('org.bkt.packages', 'copr:owner/project'),
                    ('org.bkt.admin.systemctl.manage', 'restart system services (cups.service, sshd.service)')]
        for r, (action, text) in zip(res, expected):
            self.assertDismissed(r)
            self.assertEqual([p['action'] for p in r['prompts']], [action], r)
            bktenv.log('%s prompt: %s' % (action, r['prompts'][0]['message']))
            self.assertIn(text, r['prompts'][0]['message'])
            self.assertNotIn('$(', r['prompts'][0]['message'])


# bkt-user granted org.bkt.apply and nothing else: Apply's next prompt is org.bkt.packages.
APPLY_ONLY_RULES = """
polkit.addRule(function(action, subject) {
    if (subject.user == "%s" && action.id == "org.bkt.apply")
        return polkit.Result.YES;
    return polkit.Result.NOT_HANDLED;
});
""" % USER


class PackagesPrompt(Prompts):
    @classmethod
    def setUpClass(cls):
        d = tempfile.mkdtemp(prefix='bkt-rules-')
        rules = os.path.join(d, '50-bkt.rules')
        with open(rules, 'w') as f:
            f.write(APPLY_ONLY_RULES)
        cls.ENV_KW = dict(polkit='real', users=(bktenv.ADMIN, USER), session_daemons=False,
                          polkit_files=(os.path.join(bktenv.SOURCE_DIR, 'polkit', 'org.bkt.policy'), rules))
        super().setUpClass()

    # (the tests of Prompts need the shipped rules)
    test_apply_prompt_is_the_plan = test_apply_prompt_many_changes = test_admin_prompts_name_their_effect = None

    def test_apply_packages_prompt(self):
        content = {'system-packages': {'packages': ['htop', 'vim-enhanced'],
                                       'copr_repos': [{'name': 'owner/project', 'gpg_check': False}]}}
        (res,) = self.calls(self.apply_call(content))
        self.assertDismissed(res)
        self.assertEqual([p['action'] for p in res['prompts']], ['org.bkt.packages'], res)
        message = res['prompts'][0]['message']
        bktenv.log('Apply, packages prompt: %s' % message)
        self.assertIn('(packages: htop vim-enhanced; COPR repos: owner/project (gpg_check=false))', message)


if __name__ == '__main__':
    bktenv.main()
