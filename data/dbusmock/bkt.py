# SPDX-License-Identifier: LGPL-2.1-or-later
"""python-dbusmock template for bkt's D-Bus API (org.bkt.Daemon1).

For desktop integrations (a GNOME Shell extension, a Settings panel, a GNOME
Software plugin) developed and tested without root and without changing the
machine.  Installed as /usr/share/bkt/dbusmock/bkt.py:

    python3 -m dbusmock --session -t /usr/share/bkt/dbusmock/bkt.py
    python3 -m dbusmock --system  -t /usr/share/bkt/dbusmock/bkt.py -p '{"instance": "system"}'

or from a test: dbusmock.DBusTestCase.spawn_server_template(PATH, {...}).

It exports /org/bkt/Daemon1 with org.bkt.Daemon1.Manager (both instances) and
org.bkt.Daemon1.Admin (instance "system"), and transactions at
/org/bkt/Daemon1/Transaction/N with org.bkt.Daemon1.Transaction: created
"pending", run by Start() from the main loop (Progress, OperationFinished,
Finished signals, then State/Success/Result as the real daemon sets them).
tests/integration/test_dbusmock_conformance.py runs one suite against this
mock and the real bktd and compares the reply shapes.

The machine it pretends to be is a list of items, each
  {"subsystem", "target", "scope": "user"|"system", "state":
   "in_sync"|"drift"|"unknown"|"untracked", "action", "summary", "details"}
("unknown": declared but not checkable here, e.g. a setting whose schema
is not installed)
("action"/"summary"/"details" describe the operation that would converge a
drifted item).  Parameters (all optional):
  instance  "session" (default) or "system"
  version   DaemonVersion (default "0.1.0")
  items     the list above (default: a small desktop, see DEFAULT_ITEMS)
  bootc     the JSON BootcStatus returns (default: one booted image)
Methods on org.freedesktop.DBus.Mock to steer it from a test:
  SetItems(s items_json)            replace the machine
  FailOperation(s id, s message)    the next run of operation @id fails
  SetFinishDelay(d seconds)         time between operations (default 0.05)
The drift watcher: SetWatching(true) sets Watching and Drift and emits
DriftChanged; SetItems emits it again while watching (a change by hand).
Applying an item makes it "in_sync"; capturing an untracked item makes it
tracked and in sync: what Status says afterwards is what happened.

Not modelled: polkit (every call is allowed), the pull-request side of
Change (mode "pr" records locally only) and the privilege split (the
session mock executes only user-scope operations; system-scope ones are
in "system_request", as the real session daemon returns them).
"""

import json

import dbus
import dbusmock
from dbusmock import MOCK_IFACE
from gi.repository import GLib

BUS_NAME = 'org.bkt.Daemon1'
MAIN_OBJ = '/org/bkt/Daemon1'
MAIN_IFACE = 'org.bkt.Daemon1.Manager'
ADMIN_IFACE = 'org.bkt.Daemon1.Admin'
TX_IFACE = 'org.bkt.Daemon1.Transaction'
SYSTEM_BUS = False

# The real daemon's subsystem order (status rows) and the names users type.
SUBSYSTEMS = ['shim', 'skel', 'gsettings', 'extension', 'flatpak', 'dnf', 'toolbox']
ON_REQUEST_ONLY = ('toolbox',)
ALIASES = {'gsetting': 'gsettings', 'gs': 'gsettings', 'extensions': 'extension', 'ext': 'extension', 'shims': 'shim',
           'flatpaks': 'flatpak', 'fp': 'flatpak', 'dotfiles': 'skel', 'packages': 'dnf', 'dev': 'toolbox'}

DEFAULT_ITEMS = [
    {'subsystem': 'flatpak', 'target': 'flatpak:org.gnome.Boxes', 'scope': 'user', 'state': 'drift',
     'action': 'install', 'summary': 'Install flatpak:org.gnome.Boxes (flathub, user)',
     'details': {'id': 'org.gnome.Boxes', 'remote': 'flathub', 'scope': 'user'}},
    {'subsystem': 'flatpak', 'target': 'flatpak:org.mozilla.firefox', 'scope': 'system', 'state': 'in_sync',
     'action': 'install', 'summary': 'Install flatpak:org.mozilla.firefox (flathub, system)',
     'details': {'id': 'org.mozilla.firefox', 'remote': 'flathub', 'scope': 'system'}},
    {'subsystem': 'gsettings', 'target': 'gsetting:org.gnome.desktop.interface.color-scheme', 'scope': 'user',
     'state': 'drift', 'action': 'set',
     'summary': "Set gsetting:org.gnome.desktop.interface.color-scheme ('default' → 'prefer-dark')",
     'details': {'schema': 'org.gnome.desktop.interface', 'key': 'color-scheme', 'value': "'prefer-dark'",
                 'previous': "'default'"}},
    {'subsystem': 'flatpak', 'target': 'flatpak:org.gnome.Calculator', 'scope': 'user', 'state': 'untracked',
     'action': 'record', 'summary': 'Record flatpak:org.gnome.Calculator (flathub, user)',
     'details': {'manifest': 'flatpak-apps', 'entry': {'id': 'org.gnome.Calculator', 'remote': 'flathub',
                                                       'scope': 'user'}, 'key': 'org.gnome.Calculator'}},
]

DEFAULT_BOOTC = {
    'apiVersion': 'org.containers.bootc/v1', 'kind': 'BootcHost',
    'spec': {'image': {'image': 'ghcr.io/example/distro:stable', 'transport': 'registry'}},
    'status': {'staged': None, 'rollback': None,
               'booted': {'image': {'image': {'image': 'ghcr.io/example/distro:stable', 'transport': 'registry'},
                                    'version': '42.20261201.0', 'timestamp': '2026-12-01T00:00:00Z',
                                    'imageDigest': 'sha256:' + '0' * 64},
                          'pinned': False}},
}


class BktError(dbus.exceptions.DBusException):
    def __init__(self, name, message):
        super().__init__(message, name='org.bkt.Error.' + name)


def _state(mock):
    return dbusmock.get_object(MAIN_OBJ).bkt


def _op_id(item, action=None):
    return '%s:%s:%s@%s' % (item['subsystem'], action or item['action'], item['target'], item['scope'])


def _operation(item, action=None, effect=None):
    action = action or item['action']
    op = {'id': _op_id(item, action), 'subsystem': item['subsystem'], 'action': action,
          'target': item['target'], 'scope': item['scope'],
          'effect': effect or ('manifest' if action in ('record', 'forget') else 'live'),
          'summary': item['summary'], 'details': item.get('details', {})}
    if item['subsystem'] in CLASSIFIED:
        # three-way sync as the real engine annotates it; the mock has no state record, so an
        # item to apply was never synced here and one to record is untracked
        state = 'untracked' if op['effect'] == 'manifest' else 'never-synced'
        direction = 'capture' if state == 'untracked' else 'apply'
        op['direction'], op['base'] = direction, None
        op['sync'] = {'state': state, 'direction': direction, 'next': 'bkt ' + direction, 'base': None,
                      'manifest': None, 'live': None}
    return op


# the subsystems whose operations the real engine classifies (docs/manifests.md)
CLASSIFIED = ('gsettings', 'flatpak', 'extension', 'shim')


def _selected(options):
    """The subsystems @options select, with the real daemon's error for an unknown name."""
    def names(key):
        out = []
        for n in options.get(key, []):
            n = ALIASES.get(str(n), str(n))
            if n not in SUBSYSTEMS:
                raise BktError('InvalidArgument', 'unknown subsystem “%s” (known: %s)' % (n, ', '.join(SUBSYSTEMS)))
            out.append(n)
        return out
    only, exclude = names('only'), names('exclude')
    # As the real engine: "toolbox" (bkt dev) only when asked for by name.
    return [s for s in SUBSYSTEMS if (s in only if only or s in ON_REQUEST_ONLY else True) and s not in exclude]


def _plan(st, kind, options):
    subs = _selected(options)
    if kind == 'capture':
        ops = [_operation(i, 'record') for i in st['items']
               if i['state'] == 'untracked' and i['subsystem'] in subs]
        system_request = None
    else:
        ops = [_operation(i) for i in st['items'] if i['state'] == 'drift' and i['subsystem'] in subs]
        sysops = [o for o in ops if o['scope'] == 'system']
        # The session instance hands the system part over as content.
        system_request = None
        if st['instance'] == 'session' and sysops:
            system_request = json.dumps({'flatpak-apps': {'apps': [o['details'] for o in sysops
                                                                   if o['subsystem'] == 'flatpak']}})
    plan = {'kind': kind, 'operations': ops, 'warnings': [], 'count': len(ops)}
    if st['instance'] == 'session' or kind != 'apply':
        plan['system_request'] = system_request
    return plan


def load(mock, parameters):
    mock.bkt = {
        'instance': parameters.get('instance', 'session'),
        'items': json.loads(parameters['items']) if 'items' in parameters else [dict(i) for i in DEFAULT_ITEMS],
        'bootc': json.loads(parameters['bootc']) if 'bootc' in parameters else DEFAULT_BOOTC,
        'next_tx': 1, 'active': None, 'fail': {}, 'delay': 0.05,
    }
    mock.AddProperties(MAIN_IFACE, {
        'DaemonVersion': dbus.String(parameters.get('version', '0.1.0')),
        'Instance': dbus.String(mock.bkt['instance']),
        'Watching': dbus.Boolean(False),
        'Drift': dbus.Dictionary({}, signature='su'),
    })
    # listed in the introspection as the real daemon lists it (see _new_transaction)
    mock.methods.setdefault(MAIN_IFACE, {})['DriftChanged'] = ('', '', '', DriftChanged)
    if mock.bkt['instance'] == 'system':
        for name, in_sig in (('FlatpakInstall', 'ssa{sv}'), ('FlatpakUninstall', 'sa{sv}'),
                             ('PackagesInstall', 'asa{sv}'), ('PackagesUninstall', 'asa{sv}'),
                             ('CoprEnable', 'sa{sv}'), ('CoprDisable', 'sa{sv}'), ('CoprRemove', 'sa{sv}'),
                             ('BootcUpgrade', 'a{sv}'), ('BootcRollback', 'a{sv}'), ('BootcSwitch', 'sa{sv}'),
                             ('SystemctlManage', 'sasa{sv}')):
            mock.AddMethod(ADMIN_IFACE, name, in_sig, 'o', _admin_method(name))
        mock.AddMethod(ADMIN_IFACE, 'BootcStatus', 'a{sv}', 's',
                       lambda self, options: json.dumps(_state(self)['bootc']))
        mock.AddMethod(ADMIN_IFACE, 'SystemctlStatus', 'asa{sv}', 's', _systemctl_status)


# ---------------------------------------------------------------- Manager
@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='s')
def Status(self, options):
    st = _state(self)
    subs = _selected(options)
    out = {}
    for s in subs:
        items = [i for i in st['items'] if i['subsystem'] == s]
        # as the real engine counts: tracked = in_sync + drifted + unknown
        tracked = [i for i in items if i['state'] in ('in_sync', 'drift', 'unknown')]
        drift = [_operation(i) for i in items if i['state'] == 'drift']
        out[s] = {'tracked': len(tracked), 'in_sync': sum(1 for i in items if i['state'] == 'in_sync'),
                  'drifted': len(drift), 'drift': drift,
                  'unknown': [{'target': i['target'], 'summary': i['summary']}
                              for i in items if i['state'] == 'unknown'],
                  'untracked': [{'target': i['target'], 'summary': i['summary']}
                                for i in items if i['state'] == 'untracked']}
    # which side changed (the state record): the mock has no record, so every drifted item is
    # "to apply" and there is nothing to capture or in conflict
    for v in out.values():
        v['sync'] = {'to_apply': len(v['drift']), 'to_capture': 0, 'conflict': 0, 'never_synced': 0}
    n_drift = sum(len(v['drift']) for v in out.values())
    # the mock has no record, so nothing is attributable to bkt: nothing to prune
    totals = {'to_apply': n_drift, 'to_capture': 0, 'conflict': 0, 'never_synced': 0, 'to_prune': 0}
    actions = ([{'description': 'items changed in the manifests: apply them', 'command': 'bkt apply',
                 'priority': 2, 'count': n_drift}] if n_drift else [])
    return json.dumps({'instance': st['instance'], 'subsystems': out, 'operations': n_drift,
                       'unknown': sum(len(v['unknown']) for v in out.values()), 'warnings': [],
                       'record': {}, 'sync': totals, 'next_actions': actions, 'prune': []})


def _names(query, target):
    """As the real daemon reads an item's name: the target, the target without its prefix, or
    'SCHEMA KEY' for gsetting:SCHEMA.KEY."""
    bare = target.split(':', 1)[1] if ':' in target else target
    return query in (target, bare) or (query.count(' ') == 1 and query.replace(' ', '.') == bare)


@dbus.service.method(MAIN_IFACE, in_signature='sa{sv}', out_signature='s')
def Explain(self, item, options):
    st = _state(self)
    _session_only(self, 'Explain')
    if not 1 <= len(item.encode()) <= 1024 or any(ord(c) < 32 for c in item):
        raise BktError('InvalidArgument', 'an item name is 1–1024 bytes without control characters')
    subs = _selected(options)
    found = [i for i in st['items'] if i['subsystem'] in subs and _names(item, i['target'])]
    if not found:
        raise BktError('NotFound', 'no item “%s” on this machine or in the manifests' % item)
    out = []
    for i in found:
        declared = i['state'] != 'untracked'
        # the mock has no record: a drifted item was never synced here, an untracked one is on the
        # machine only
        state = {'in_sync': 'in-sync', 'drift': 'never-synced', 'untracked': 'untracked',
                 'unknown': 'unknown'}[i['state']]
        live = None if i['state'] == 'drift' and i['action'] == 'install' else 'present'
        out.append({'target': i['target'], 'subsystem': i['subsystem'], 'scope': i['scope'],
                    'manifest_kind': i['subsystem'] + '.json', 'key': i['target'].split(':', 1)[-1],
                    'layers': [{'layer': 'image', 'file': '/usr/share/bkt/manifests/%s.json' % i['subsystem'],
                                'declared': declared, 'in_effect': declared}],
                    'manifest': 'present' if declared else None, 'base': None, 'live': live,
                    'record': '', 'state': state,
                    'direction': {'never-synced': 'apply', 'untracked': 'capture'}.get(state, 'none'),
                    'command': {'never-synced': 'bkt apply', 'untracked': 'bkt capture --select ' + i['target']}
                    .get(state, '')})
    return json.dumps({'query': item, 'items': out, 'warnings': []})


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='s')
def Plan(self, options):
    return json.dumps(_plan(_state(self), 'apply', options))


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='s')
def CapturePlan(self, options):
    return json.dumps(_plan(_state(self), 'capture', options))


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='o')
def Apply(self, options):
    st = _state(self)
    plan = _plan(st, 'apply', options)
    if st['instance'] == 'session':
        plan['operations'] = [o for o in plan['operations'] if o['scope'] == 'user']
        plan['count'] = len(plan['operations'])
        plan.pop('system_request', None)
    return _new_transaction(self, 'apply', plan)


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='o')
def Capture(self, options):
    return _new_transaction(self, 'capture', _plan(_state(self), 'capture', options))


def _change_plan(st, subsystem, action, arguments):
    subsystem = ALIASES.get(subsystem, subsystem)
    if subsystem == 'flatpak' and action in ('add', 'remove'):
        app = str(arguments.get('id', ''))
        if app.count('.') < 2:
            raise BktError('InvalidArgument', 'invalid flatpak id “%s”' % app)
        scope = str(arguments.get('scope', 'user'))
        entry = {'id': app, 'remote': str(arguments.get('remote', 'flathub')), 'scope': scope}
        item = {'subsystem': 'flatpak', 'target': 'flatpak:' + app, 'scope': scope, 'details': entry}
        manifest = {'manifest': 'flatpak-apps', 'entry': entry, 'key': app}
        live, record = ('install', 'record') if action == 'add' else ('uninstall', 'forget')
        verb = 'Install' if action == 'add' else 'Uninstall'
    elif subsystem == 'gsettings' and action in ('set', 'unset'):
        schema, key = str(arguments.get('schema', '')), str(arguments.get('key', ''))
        if not schema or not key:
            raise BktError('InvalidArgument', 'gsettings %s needs "schema" and "key"' % action)
        entry = {'schema': schema, 'key': key, 'value': str(arguments.get('value', ''))}
        item = {'subsystem': 'gsettings', 'target': 'gsetting:%s.%s' % (schema, key), 'scope': 'user',
                'details': entry}
        manifest = {'manifest': 'gsettings', 'entry': entry, 'key': '%s %s' % (schema, key)}
        live, record = ('set', 'record') if action == 'set' else ('reset', 'forget')
        verb = 'Set' if action == 'set' else 'Reset'
    else:
        raise BktError('InvalidArgument', 'unknown change “%s %s”' % (subsystem, action))
    ops = [dict(_operation(dict(item, action=live, summary='%s %s' % (verb, item['target'])))),
           dict(_operation(dict(item, action=record, summary='%s %s' % (record.capitalize(), item['target']),
                                details=manifest), effect='manifest'))]
    return {'kind': 'change', 'operations': ops, 'warnings': [], 'count': len(ops), 'system_request': None}


@dbus.service.method(MAIN_IFACE, in_signature='ssa{sv}a{sv}', out_signature='s')
def ChangePlan(self, subsystem, action, arguments, options):
    return json.dumps(_change_plan(_state(self), subsystem, action, arguments))


@dbus.service.method(MAIN_IFACE, in_signature='ssa{sv}a{sv}', out_signature='o')
def Change(self, subsystem, action, arguments, options):
    return _new_transaction(self, 'change', _change_plan(_state(self), subsystem, action, arguments))


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='s')
def LocalList(self, options):
    return json.dumps({'path': '', 'entries': []})


@dbus.service.method(MAIN_IFACE, in_signature='axa{sv}', out_signature='o')
def LocalCommit(self, ids, options):
    return _new_transaction(self, 'local-commit', {'kind': 'local-commit', 'operations': [], 'warnings': [],
                                                   'count': 0})


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='o')
def PrRetry(self, options):
    return _new_transaction(self, 'pr-retry', {'kind': 'pr-retry', 'operations': [], 'warnings': [], 'count': 0})


def _session_only(mock, method):
    if _state(mock)['instance'] != 'session':
        raise BktError('NotSupported', '%s is a session-instance method' % method)


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='s')
def Doctor(self, options):
    # The mock's machine has nothing broken: the session daemon's checks, all passing.
    _session_only(self, 'Doctor')
    names = ('manifests', 'flatpak-remotes', 'live-state', 'gsettings', 'repo', 'identity', 'token', 'remote',
             'rpm-ostree')
    return json.dumps({'checks': [{'name': n, 'ok': True, 'detail': 'mock'} for n in names]})


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='s')
def Profile(self, options):
    # Live: what is installed or set here; declared: what the manifests list.  The mock has none of
    # the real fingerprints: "present" (as the real daemon gives for subsystems without them), and
    # a drifted setting's value differs on the two sides; a drifted install is declared only.
    _session_only(self, 'Profile')
    live, declared = {}, {}
    for s in _selected(options):
        live[s], declared[s] = {}, {}
    for i in _state(self)['items']:
        if i['subsystem'] not in live:
            continue
        key = '%s@%s' % (i['target'], i['scope'])
        here = i['state'] in ('in_sync', 'untracked') or (i['state'] == 'drift' and i['action'] != 'install')
        there = i['state'] in ('in_sync', 'unknown') or (i['state'] == 'drift' and i['action'] != 'uninstall')
        changed = i['state'] == 'drift' and i['action'] not in ('install', 'uninstall')
        if here:
            live[i['subsystem']][key] = 'live' if changed else 'present'
        if there:
            declared[i['subsystem']][key] = 'declared' if changed else 'present'
    return json.dumps({'version': 1, 'bktd': str(self.Get(MAIN_IFACE, 'DaemonVersion')), 'subsystems': live,
                       'manifests': declared})
def _drift(st):
    """The watcher's counts and the targets changed here: the mock has no state record, so drifted
    items are to apply and untracked ones are what a capture would propose."""
    here = sorted(i['target'] for i in st['items'] if i['state'] == 'untracked')
    counts = {'apply': sum(1 for i in st['items'] if i['state'] == 'drift'), 'capture': len(here),
              'conflict': 0, 'ignored': 0}
    return dbus.Dictionary({k: dbus.UInt32(v) for k, v in counts.items()}, signature='su'), here


def _watch_update(mock):
    """As the real watcher after a burst: Drift set, DriftChanged emitted."""
    drift, here = _drift(_state(mock))
    mock.UpdateProperties(MAIN_IFACE, {'Drift': drift})
    mock.EmitSignal(MAIN_IFACE, 'DriftChanged', 'a{su}as', [drift, dbus.Array(here, signature='s')])


@dbus.service.method(MAIN_IFACE, in_signature='b', out_signature='')
def SetWatching(self, enabled):
    st = _state(self)
    if st['instance'] != 'session':
        raise BktError('NotSupported', "the drift watcher is the session instance's (bkt watch)")
    st['watching'] = bool(enabled)
    self.UpdateProperties(MAIN_IFACE, {'Watching': dbus.Boolean(enabled)})
    if enabled:
        _watch_update(self)
    else:
        self.UpdateProperties(MAIN_IFACE, {'Drift': dbus.Dictionary({}, signature='su')})


# Declaration only (for introspection); emitted with EmitSignal.
@dbus.service.signal(MAIN_IFACE, signature='a{su}as')
def DriftChanged(self, drift, here):
    pass


# ---------------------------------------------------------------- Admin
ADMIN_KINDS = {'FlatpakInstall': 'flatpak-install', 'FlatpakUninstall': 'flatpak-uninstall',
               'PackagesInstall': 'packages-install', 'PackagesUninstall': 'packages-uninstall',
               'CoprEnable': 'copr-enable', 'CoprDisable': 'copr-disable', 'CoprRemove': 'copr-remove',
               'BootcUpgrade': 'bootc-upgrade', 'BootcRollback': 'bootc-rollback', 'BootcSwitch': 'bootc-switch',
               'SystemctlManage': 'systemctl'}


def _admin_method(name):
    def run(self, *args):
        what = ' '.join(str(a) if not isinstance(a, list) else ' '.join(map(str, a))
                        for a in args[:-1]) or name
        op = {'id': '%s:%s' % (ADMIN_KINDS[name], what), 'subsystem': 'admin', 'action': ADMIN_KINDS[name],
              'target': what, 'scope': 'system', 'effect': 'live', 'summary': '%s %s' % (name, what),
              'details': {}}
        return _new_transaction(self, ADMIN_KINDS[name], {'kind': ADMIN_KINDS[name], 'operations': [op],
                                                          'warnings': [], 'count': 1})
    return run


def _systemctl_status(self, units, options):
    return json.dumps({'units': [{'unit': str(u), 'description': '', 'load_state': 'loaded',
                                  'active_state': 'inactive', 'sub_state': 'dead',
                                  'unit_file_state': 'disabled'} for u in units]})


# ---------------------------------------------------------------- steering
@dbus.service.method(MOCK_IFACE, in_signature='s', out_signature='')
def SetItems(self, items_json):
    _state(self)['items'] = json.loads(items_json)
    # a change of the machine is what the watcher reports
    if _state(self).get('watching'):
        _watch_update(self)


@dbus.service.method(MOCK_IFACE, in_signature='ss', out_signature='')
def FailOperation(self, op_id, message):
    _state(self)['fail'][str(op_id)] = str(message)


@dbus.service.method(MOCK_IFACE, in_signature='d', out_signature='')
def SetFinishDelay(self, seconds):
    _state(self)['delay'] = float(seconds)


# ---------------------------------------------------------------- transactions
def _new_transaction(self, kind, plan):
    st = _state(self)
    if st['active'] is not None:
        raise BktError('Busy', 'another transaction is in progress: %s' % st['active'])
    path = '%s/Transaction/%d' % (MAIN_OBJ, st['next_tx'])
    st['next_tx'] += 1
    self.AddObject(path, TX_IFACE, {
        'Kind': dbus.String(kind), 'State': dbus.String('pending'), 'Percent': dbus.UInt32(0),
        'CurrentOperation': dbus.String(''), 'Plan': dbus.String(json.dumps(plan)),
        'Success': dbus.Boolean(False), 'ErrorName': dbus.String(''), 'ErrorMessage': dbus.String(''),
        'Result': dbus.String(''),
    }, [])
    tx = dbusmock.get_object(path)
    # dbusmock introspects the functions in .methods (signals included), so
    # the signals are listed as the real daemon lists them.
    for sig in (Progress, Message, OperationFinished, Finished):
        tx.methods.setdefault(TX_IFACE, {})[sig.__name__] = ('', '', '', sig)
    tx.bkt_plan = plan
    tx.bkt_started = False
    tx.AddMethod(TX_IFACE, 'Start', '', '', _tx_start)
    tx.AddMethod(TX_IFACE, 'Cancel', '', '', _tx_cancel)
    st['active'] = path
    return dbus.ObjectPath(path)


# Declarations only (for introspection); emitted with EmitSignal.
@dbus.service.signal(TX_IFACE, signature='uss')
def Progress(self, percent, operation, detail):
    pass


@dbus.service.signal(TX_IFACE, signature='s')
def Message(self, text):
    pass


@dbus.service.signal(TX_IFACE, signature='usbs')
def OperationFinished(self, index, op_id, success, error):
    pass


@dbus.service.signal(TX_IFACE, signature='bss')
def Finished(self, success, error_name, error_message):
    pass


def _tx_set(tx, **props):
    tx.UpdateProperties(TX_IFACE, {k: v for k, v in props.items()})


def _tx_start(tx):
    if tx.bkt_started:
        raise BktError('InvalidArgument', 'the transaction was already started')
    tx.bkt_started = True
    _tx_set(tx, State=dbus.String('running'))
    tx.bkt_results = []
    tx.bkt_cancelled = False
    GLib.timeout_add(int(_state(tx)['delay'] * 1000), _tx_step, tx)


def _tx_step(tx):
    st = _state(tx)
    ops = tx.bkt_plan['operations']
    i = len(tx.bkt_results)
    if tx.bkt_cancelled or i == len(ops):
        _tx_finish(tx)
        return False
    op = ops[i]
    tx.EmitSignal(TX_IFACE, 'Progress', 'uss', [dbus.UInt32(100 * i // len(ops)), op['summary'], ''])
    _tx_set(tx, CurrentOperation=dbus.String(op['summary']), Percent=dbus.UInt32(100 * i // len(ops)))
    error = st['fail'].pop(op['id'], None)
    if error is None:
        _converge(st, op)
    tx.bkt_results.append({'id': op['id'], 'summary': op['summary'], 'success': error is None, 'error': error})
    tx.EmitSignal(TX_IFACE, 'OperationFinished', 'usbs', [dbus.UInt32(i), op['id'], error is None, error or ''])
    return True


def _converge(st, op):
    """What the operation did to the pretend machine, so Status tells the truth afterwards."""
    for item in st['items']:
        if item['target'] == op['target'] and item['scope'] == op['scope']:
            if op['action'] in ('forget', 'uninstall', 'reset'):
                item['state'] = 'untracked' if op['action'] == 'forget' else 'drift'
            else:
                item['state'] = 'in_sync'
            return


def _tx_finish(tx):
    st = _state(tx)
    failed = [r for r in tx.bkt_results if not r['success']]
    if tx.bkt_cancelled:
        name, message, state = 'org.bkt.Error.Cancelled', 'cancelled', 'cancelled'
    elif failed:
        name, message, state = 'org.bkt.Error.Failed', '%d of %d operation(s) failed' % (
            len(failed), len(tx.bkt_results)), 'finished'
    else:
        name, message, state = '', '', 'finished'
    _tx_set(tx, State=dbus.String(state), Percent=dbus.UInt32(100), Success=dbus.Boolean(not name),
            ErrorName=dbus.String(name), ErrorMessage=dbus.String(message),
            Result=dbus.String(json.dumps({'operations': tx.bkt_results})))
    st['active'] = None
    tx.EmitSignal(TX_IFACE, 'Finished', 'bss', [not name, name, message])


def _tx_cancel(tx):
    if not tx.bkt_started:
        tx.bkt_started = True
        tx.bkt_results = []
        tx.bkt_cancelled = True
        _tx_finish(tx)
    else:
        tx.bkt_cancelled = True
