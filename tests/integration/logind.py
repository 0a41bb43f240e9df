# SPDX-License-Identifier: LGPL-2.1-or-later
"""Login sessions as polkitd sees them, without systemd-logind.

polkitd (built with libsystemd, as on Debian and Fedora) learns a caller's session the way every
sd-login client does: the session id from the caller's cgroup (".../session-ID.scope" in the
hierarchy systemd tracks processes in), and the session's and user's state from logind's files in
/run/systemd/{sessions,users,seats}.  ``subject.local`` is "the session has a seat",
``subject.active`` is "the user is active" (polkit 122 asks sd_uid_get_state()).

This module writes those files into the test's temp dir (bktenv binds them over /run/systemd in
polkitd's private mount namespace only) and creates one real cgroup per session under a
test-owned slice, into which bktenv moves every process it runs as that user.  Kinds:

  active    seat0, the active session: a user in front of the machine;
  inactive  seat0, not active (switched away from, or a locked-out fast-user-switch);
  remote    no seat (an SSH login): active but not local.

A process of the user outside the cgroup (a cron job, a user service) has no session at all.
"""

import os
import re
import subprocess

KINDS = ('active', 'inactive', 'remote')


def _fs_type(path):
    p = subprocess.run(['stat', '-f', '-c', '%T', path], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else ''


def _systemd_hierarchy():
    """(mount point, controller key in /proc/PID/cgroup) of the hierarchy sd-login reads."""
    if _fs_type('/sys/fs/cgroup') == 'cgroup2fs':
        return '/sys/fs/cgroup', ''
    if _fs_type('/sys/fs/cgroup/unified') == 'cgroup2fs':
        return '/sys/fs/cgroup/unified', ''
    return '/sys/fs/cgroup/systemd', 'name=systemd'


def _cgroup_of(pid, key):
    with open('/proc/%d/cgroup' % pid) as f:
        for line in f:
            _, ctrl, path = line.rstrip('\n').split(':', 2)
            if ctrl == key:
                return path
    raise OSError('pid %d has no cgroup for "%s"' % (pid, key))


class LoginSessions:
    def __init__(self, state_dir, tag):
        """@state_dir: what polkitd's namespace gets as /run/systemd; @tag: unique per test env."""
        self.state_dir = state_dir
        self.mount, self.key = _systemd_hierarchy()
        root = _cgroup_of(1, self.key)
        if root.endswith('/init.scope'):
            root = root[:-len('/init.scope')]
        self.root_cgroup = os.path.join(self.mount, root.lstrip('/'))
        self.slice = os.path.join(self.root_cgroup, 'bkttest%sx%s.slice' % (os.getpid(), tag))
        self._remove_stale()
        self.sessions = {}   # user -> (id, kind, cgroup dir)
        for d in ('sessions', 'users', 'seats'):
            os.makedirs(os.path.join(state_dir, d), exist_ok=True)
        os.chmod(state_dir, 0o755)

    def _remove_stale(self):
        """Empty session cgroups of test processes that died before their cleanup (a killed run)."""
        for name in os.listdir(self.root_cgroup):
            m = re.match(r'bkttest(\d+)x\d+\.slice$', name)
            if not m or os.path.exists('/proc/%s' % m.group(1)):
                continue
            d = os.path.join(self.root_cgroup, name)
            try:
                for scope in os.listdir(d):
                    if scope.startswith('session-'):
                        os.rmdir(os.path.join(d, scope))
                os.rmdir(d)
            except OSError:
                pass   # not empty: leave it

    def add(self, user, uid, kind):
        if kind not in KINDS:
            raise ValueError(kind)
        sid = 'bkt%d' % (len(self.sessions) + 1)
        cg = os.path.join(self.slice, 'session-%s.scope' % sid)
        os.makedirs(cg)
        self.sessions[user] = (sid, kind, cg)
        seat = kind != 'remote'
        active = kind != 'inactive'
        self._write('sessions', sid, UID=uid, USER=user, ACTIVE=int(active),
                    STATE='active' if active else 'online', REMOTE=int(not seat), TYPE='tty', CLASS='user',
                    **({'SEAT': 'seat0', 'VTNR': 2} if seat else {'REMOTE_HOST': '192.0.2.1'}))
        self._write('users', str(uid), NAME=user, STATE='active' if active else 'online', SESSIONS=sid,
                    # a seated session is the user's display session, as logind records a graphical
                    # login: a polkit that falls back to it (sd_uid_get_display) for processes outside
                    # every session would grant them too, and test_polkit_sessions would see it
                    **({'SEATS': 'seat0', 'DISPLAY': sid} if seat else {}),
                    **({'ACTIVE_SESSIONS': sid} if active else {}), ONLINE_SESSIONS=sid)
        seated = [(s, k) for s, k, _ in self.sessions.values() if k != 'remote']
        current = [s for s, k in seated if k == 'active']
        self._write('seats', 'seat0', IS_SEAT0=1, CAN_MULTI_SESSION=1, CAN_TTY=1, CAN_GRAPHICAL=1,
                    ACTIVE=current[0] if current else '', SESSIONS=' '.join(s for s, _ in seated))

    def _write(self, sub, name, **kv):
        path = os.path.join(self.state_dir, sub, name)
        with open(path, 'w') as f:
            f.write('# written by tests/integration/logind.py\n')
            for k, v in kv.items():
                f.write('%s=%s\n' % (k, v))
        os.chmod(path, 0o644)

    def kind(self, user):
        return self.sessions[user][1] if user in self.sessions else None

    def join(self, user):
        """In a child process, as root before it drops privileges: enter @user's session cgroup."""
        if user in self.sessions:
            with open(os.path.join(self.sessions[user][2], 'cgroup.procs'), 'w') as f:
                f.write('%d\n' % os.getpid())

    def polkitd_mounts(self):
        """Shell commands (for polkitd's private mount namespace) that show it these sessions."""
        if os.path.isdir('/run/systemd'):
            return 'mount --bind %s /run/systemd && ' % self.state_dir
        # No /run/systemd on this machine: a private /run for polkitd (it needs nothing else there).
        return 'mount -t tmpfs tmpfs /run && mkdir /run/systemd && mount --bind %s /run/systemd && ' % self.state_dir

    def cleanup(self):
        """Move whatever is left to the root cgroup and remove ours; returns leftover problems."""
        problems = []
        for _, _, cg in self.sessions.values():
            try:
                with open(os.path.join(cg, 'cgroup.procs')) as f:
                    pids = [int(x) for x in f.read().split()]
                for pid in pids:
                    try:
                        with open(os.path.join(self.root_cgroup, 'cgroup.procs'), 'w') as f:
                            f.write('%d\n' % pid)
                    except OSError:
                        pass
                os.rmdir(cg)
            except OSError as e:
                problems.append('session cgroup %s: %s' % (cg, e))
        try:
            if os.path.isdir(self.slice):
                os.rmdir(self.slice)
        except OSError as e:
            problems.append('session slice %s: %s' % (self.slice, e))
        return problems
