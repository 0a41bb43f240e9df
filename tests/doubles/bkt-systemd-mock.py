# SPDX-License-Identifier: LGPL-2.1-or-later
'''dbusmock template for org.freedesktop.systemd1, as bktd uses it.

Based on dbusmock's stock "systemd" template and the project's shared
extension (test-env/dbusmock-systemd-ext.py, copied and extended here so the
tests do not depend on files outside the repository).  Load with
  /usr/bin/python3 -m dbusmock --system -t tests/doubles/bkt-systemd-mock.py

Manager methods, with systemd's behaviour for what bktd relies on:
  StartUnit/StopUnit/RestartUnit/ReloadUnit(s name, s mode) -> o job
      org.freedesktop.systemd1.NoSuchUnit for a unit that does not exist,
      org.freedesktop.systemd1.UnitMasked for starting a masked unit;
      JobNew + JobRemoved(u id, o job, s unit, s result) after the reply,
      result "done", or "failed" for a unit added as failing (its
      ActiveState becomes "failed", Service.Result "exit-code",
      ExecMainStatus 1)
  GetUnit (NoSuchUnit when not loaded), LoadUnit (a unit systemd does not
      know loads with LoadState "not-found")
  EnableUnitFiles(asbb) -> (ba(sss)), DisableUnitFiles(asb) -> a(sss),
  MaskUnitFiles(asbb) -> a(sss), UnmaskUnitFiles(asb) -> a(sss),
  GetUnitFileState(s) -> s, Reload(), Subscribe()
Mock control (org.freedesktop.DBus.Mock): AddUnit(s name, s description,
  b failing); ManagerCalls() -> as (names of the Manager methods called so
  far, in order; dbusmock's own GetCalls does not see template methods),
  ClearManagerCalls().
'''

import dbus
from dbusmock import MOCK_IFACE, mockobject
from dbusmock.templates import systemd as _base
from dbusmock.templates.systemd import (BUS_NAME, MAIN_IFACE, MAIN_OBJ, PATH_PREFIX, SYSTEM_BUS,  # noqa: F401
                                        UNIT_IFACE, escape_unit_name)
from gi.repository import GLib

SERVICE_IFACE = 'org.freedesktop.systemd1.Service'


def load(mock, parameters):
    _base.load(mock, parameters)
    mock.failing = set()
    mock.bkt_calls = []


def _no_such_unit(name):
    return dbus.exceptions.DBusException('Unit %s not found.' % name, name='org.freedesktop.systemd1.NoSuchUnit')


def _obj(self, name):
    name = str(name)
    if name not in self.units:
        raise _no_such_unit(name)
    o = mockobject.objects[self.units[name]]
    if o.Get(UNIT_IFACE, 'LoadState') == 'not-found':
        raise _no_such_unit(name)
    return o


def _add(self, name, description, load_state='loaded', file_state='disabled'):
    path = '%s/unit/%s' % (PATH_PREFIX, escape_unit_name(name))
    self.units[name] = path
    self.AddObject(path, UNIT_IFACE, {
        'Id': name, 'Names': [name], 'Description': description, 'LoadState': load_state,
        'ActiveState': 'inactive', 'SubState': 'dead', 'UnitFileState': file_state,
    }, [])
    if name.endswith('.service'):
        mockobject.objects[path].AddProperties(SERVICE_IFACE, {
            'Result': 'success', 'ExecMainStatus': dbus.Int32(0), 'ExecMainCode': dbus.Int32(0)})
    return path


@dbus.service.method(MOCK_IFACE, in_signature='ssb', out_signature='o')
def AddUnit(self, name, description, failing):
    name = str(name)
    if failing:
        self.failing.add(name)
    return _add(self, name, str(description))


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='as')
def ManagerCalls(self):
    return dbus.Array(self.bkt_calls, signature='s')


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='')
def ClearManagerCalls(self):
    self.bkt_calls.clear()


def _job(self, name, result):
    job_id = self.next_job_id
    self.next_job_id += 1
    job_path = '%s/Job/%d' % (PATH_PREFIX, job_id)

    def emit():
        self.EmitSignal(MAIN_IFACE, 'JobNew', 'uos', [job_id, job_path, name])
        self.EmitSignal(MAIN_IFACE, 'JobRemoved', 'uoss', [job_id, job_path, name, result])
        return False
    GLib.idle_add(emit)
    return job_path


def _activate(self, name):
    o = _obj(self, name)
    if o.Get(UNIT_IFACE, 'UnitFileState') == 'masked':
        raise dbus.exceptions.DBusException('Unit %s is masked.' % name, name='org.freedesktop.systemd1.UnitMasked')
    if str(name) in self.failing:
        o.UpdateProperties(UNIT_IFACE, {'ActiveState': 'failed', 'SubState': 'failed'})
        o.UpdateProperties(SERVICE_IFACE, {'Result': 'exit-code', 'ExecMainStatus': dbus.Int32(1),
                                           'ExecMainCode': dbus.Int32(1)})
        return _job(self, str(name), 'failed')
    o.UpdateProperties(UNIT_IFACE, {'ActiveState': 'active', 'SubState': 'running'})
    return _job(self, str(name), 'done')


@dbus.service.method(MAIN_IFACE, in_signature='ss', out_signature='o')
def StartUnit(self, name, _mode):
    self.bkt_calls.append('StartUnit')
    return _activate(self, name)


@dbus.service.method(MAIN_IFACE, in_signature='ss', out_signature='o')
def RestartUnit(self, name, _mode):
    self.bkt_calls.append('RestartUnit')
    return _activate(self, name)


@dbus.service.method(MAIN_IFACE, in_signature='ss', out_signature='o')
def ReloadUnit(self, name, _mode):
    self.bkt_calls.append('ReloadUnit')
    o = _obj(self, name)
    if o.Get(UNIT_IFACE, 'ActiveState') != 'active':
        raise dbus.exceptions.DBusException('Unit %s is not active.' % name,
                                            name='org.freedesktop.systemd1.NoSuchUnit')
    return _job(self, str(name), 'done')


@dbus.service.method(MAIN_IFACE, in_signature='ss', out_signature='o')
def StopUnit(self, name, _mode):
    self.bkt_calls.append('StopUnit')
    o = _obj(self, name)
    o.UpdateProperties(UNIT_IFACE, {'ActiveState': 'inactive', 'SubState': 'dead'})
    return _job(self, str(name), 'done')


@dbus.service.method(MAIN_IFACE, in_signature='s', out_signature='o')
def GetUnit(self, name):
    self.bkt_calls.append('GetUnit')
    _obj(self, name)
    return self.units[str(name)]


@dbus.service.method(MAIN_IFACE, in_signature='s', out_signature='o')
def LoadUnit(self, name):
    self.bkt_calls.append('LoadUnit')
    if str(name) not in self.units:
        _add(self, str(name), '%s' % name, load_state='not-found', file_state='')
    return self.units[str(name)]


def _set_file_state(self, files, state):
    changes = []
    for f in files:
        o = _obj(self, f)
        o.UpdateProperties(UNIT_IFACE, {'UnitFileState': state})
        link = '/etc/systemd/system/multi-user.target.wants/' + str(f)
        if state == 'enabled':
            changes.append(('symlink', link, '/usr/lib/systemd/system/' + str(f)))
        elif state == 'masked':
            changes.append(('symlink', '/etc/systemd/system/' + str(f), '/dev/null'))
        else:
            changes.append(('unlink', link, ''))
    return dbus.Array(changes, signature='(sss)')


@dbus.service.method(MAIN_IFACE, in_signature='asbb', out_signature='ba(sss)')
def EnableUnitFiles(self, files, _runtime, _force):
    self.bkt_calls.append('EnableUnitFiles')
    return (True, _set_file_state(self, files, 'enabled'))


@dbus.service.method(MAIN_IFACE, in_signature='asb', out_signature='a(sss)')
def DisableUnitFiles(self, files, _runtime):
    self.bkt_calls.append('DisableUnitFiles')
    return _set_file_state(self, files, 'disabled')


@dbus.service.method(MAIN_IFACE, in_signature='asbb', out_signature='a(sss)')
def MaskUnitFiles(self, files, _runtime, _force):
    self.bkt_calls.append('MaskUnitFiles')
    return _set_file_state(self, files, 'masked')


@dbus.service.method(MAIN_IFACE, in_signature='asb', out_signature='a(sss)')
def UnmaskUnitFiles(self, files, _runtime):
    self.bkt_calls.append('UnmaskUnitFiles')
    return _set_file_state(self, files, 'disabled')


@dbus.service.method(MAIN_IFACE, in_signature='s', out_signature='s')
def GetUnitFileState(self, name):
    self.bkt_calls.append('GetUnitFileState')
    return _obj(self, name).Get(UNIT_IFACE, 'UnitFileState')


@dbus.service.method(MAIN_IFACE, in_signature='', out_signature='')
def Reload(self):
    self.bkt_calls.append('Reload')
    pass


@dbus.service.method(MAIN_IFACE, in_signature='', out_signature='')
def Subscribe(self):
    self.bkt_calls.append('Subscribe')
    pass
