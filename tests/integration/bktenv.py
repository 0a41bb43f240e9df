# SPDX-License-Identifier: LGPL-2.1-or-later
"""bktenv: a throwaway world for bkt integration tests.

Run with /usr/bin/python3 (Debian's interpreter: it has gi and dbus).  Needs
root: it creates test users, mount namespaces and a private system bus.

One BktEnv, in a fresh temp dir (chmod 755), sets up:

  * test users ``bkt-admin`` (in group wheel) and ``bkt-user`` (not in wheel),
    created once and kept (idempotent), homes inside the temp dir;
  * a private system bus whose policy includes the project's own
    data/org.bkt.Daemon1.conf from the SOURCE tree and polkit's bus policy,
    with a <servicedir> for bus activation of bktd --system;
  * polkit: the REAL polkitd in a private mount namespace with the project's
    polkit/org.bkt.policy and polkit/50-bkt.rules bound over polkit's
    directories (polkit="real"), or dbusmock's polkitd template
    (polkit="mock"), or none at all (polkit="none");
  * a local unsigned flatpak repo (tests/flatpak-repo.sh when present, else a
    built-in copy of the shared recipe) with runtime org.test.Platform and
    apps org.test.Hello and org.test.Second; a throwaway system installation
    (FLATPAK_SYSTEM_DIR + FLATPAK_CONFIG_DIR, readable by the users) and one
    user installation per user (FLATPAK_USER_DIR);
  * per-user session buses (with a <servicedir> activating bktd --session);
  * the real ``bktd --system`` as root and ``bktd --session`` as each user,
    optionally under valgrind (BKT_VALGRIND=1; the logs are checked at
    teardown: errors or definite leaks fail the test), with keyfile
    GSettings and the test schemas (tests/data/schemas when present);
  * gnome_shell=True: the real GNOME Shell (``gnome-shell --headless --wayland
    --no-x11 --virtual-monitor``) as the first user on their session bus, with
    the test extensions shell_extensions=(uuid, ...) written first; skipped
    (with the reason) where it is missing or cannot start;
  * helpers to run ``bkt``, gdbus, gsettings and flatpak as a given user.

The binaries are the INSTALLED ones: install() runs `meson install --destdir`
into a world-readable directory of its own (/tmp/bkt-install.*), which proves
the install and lets the test users run bkt and bktd wherever the checkout
is (a 0700 home too); the doubles (tests/doubles/) and the sanitizer and
valgrind suppressions the users' processes read are copied there as well.

Teardown kills only what this env started (by pid), checks the daemons' logs
for valgrind and sanitizer reports, and removes the temp dir (kept with
BKT_KEEP_TMP=1).

Admin subsystems (issue 4): bootc=True points bktd --system at the bootc
test double tests/doubles/bootc-double ($BKT_BOOTC) with its state, invocation log
and mode in T/bootc ($BKT_BOOTC_DOUBLE_DIR; see bootc_log(), set_bootc_mode());
systemd='mock' runs dbusmock with tests/doubles/bkt-systemd-mock.py as
org.freedesktop.systemd1 on the private system bus (see systemd_mock());
systemd='real' runs the REAL manager, `systemd --user` as the unprivileged
bkt-user, exporting org.freedesktop.systemd1 on the private system bus (see
_start_real_systemd(): a private mount namespace with /run/systemd bound to a
temp dir, a delegated cgroup in the hybrid hierarchies, its units in
bkt-user's ~/.config/systemd/user; never as root).  A host without what that
needs makes start() raise unittest.SkipTest with the reason.

Environment knobs: BKT_SOURCE_DIR, BKT_BUILD_DIR (default: this file's tree
and <source>/build), BKT_VALGRIND=1, BKT_KEEP_TMP=1, BKT_TEST_QUIET=1.
"""

import atexit
import json
import os
import pwd
import grp
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import logind  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.environ.get('BKT_SOURCE_DIR') or os.path.join(HERE, '..', '..'))
BUILD_DIR = os.path.abspath(os.environ.get('BKT_BUILD_DIR') or os.path.join(SOURCE_DIR, 'build'))

ADMIN = 'bkt-admin'
USER = 'bkt-user'
TEST_USERS = {ADMIN: True, USER: False}   # name -> member of wheel

BUS_NAME = 'org.bkt.Daemon1'
OBJ_PATH = '/org/bkt/Daemon1'
MANAGER_IFACE = 'org.bkt.Daemon1.Manager'
ADMIN_IFACE = 'org.bkt.Daemon1.Admin'
TRANSACTION_IFACE = 'org.bkt.Daemon1.Transaction'

POLKITD = '/usr/lib/polkit-1/polkitd'
SYSTEM_PYTHON = '/usr/bin/python3'
BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# exit code meson understands as "skipped"
EXIT_SKIP = 77


class EnvError(RuntimeError):
    """Setting up or tearing down the environment failed."""


# environments started and not yet stopped: torn down on SIGTERM/SIGINT/SIGHUP (meson's timeout
# sends SIGTERM) so that no daemon, bus or polkitd outlives the test
_LIVE_ENVS = []


def _teardown_on_signal(signum, frame):
    print('[bktenv] signal %d: tearing down %d environment(s)' % (signum, len(_LIVE_ENVS)), flush=True)
    for env in list(_LIVE_ENVS):
        try:
            env.stop()
        except BaseException as e:  # noqa: BLE001
            print('[bktenv] teardown after signal: %s' % e, flush=True)
    if _INSTALLED is not None and os.environ.get('BKT_KEEP_TMP') != '1':
        _INSTALLED.remove()
    os._exit(128 + signum)


def _install_signal_handlers():
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) is not _teardown_on_signal:
            signal.signal(sig, _teardown_on_signal)


def quiet():
    return os.environ.get('BKT_TEST_QUIET') == '1'


def log(msg):
    if not quiet():
        print('[bktenv] ' + msg, flush=True)


def shortened(text, limit=6000):
    text = text if isinstance(text, str) else text.decode('utf-8', 'replace')
    if len(text) <= limit:
        return text
    return text[:limit // 2] + '\n[... %d characters cut ...]\n' % (len(text) - limit) + text[-limit // 2:]


def run(argv, check=True, env=None, timeout=120, input=None, quiet_ok=False):
    """Run a command as root; return CompletedProcess (text)."""
    if not quiet_ok:
        log('$ ' + ' '.join(shlex.quote(a) for a in argv))
    p = subprocess.run(argv, env=env, input=input, text=True, capture_output=True, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise EnvError('command failed (rc=%d): %s\nstdout:\n%s\nstderr:\n%s' % (
            p.returncode, ' '.join(argv), shortened(p.stdout), shortened(p.stderr)))
    return p


def pid_alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        return state != 'Z'
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def monitor_signal_lines(text):
    """dbus-monitor's output as one line per signal in gdbus monitor's form:
    "PATH: IFACE.MEMBER (uint32 40, 'text', true)"."""
    lines, head, args = [], None, []

    def flush():
        if head is not None:
            lines.append('%s: %s.%s (%s)' % (head[0], head[1], head[2], ', '.join(args)))
    for raw in text.splitlines():
        m = re.match(r'signal .* path=([^;]*); interface=([^;]*); member=(\S+)', raw)
        if m:
            flush()
            head, args = m.groups(), []
            continue
        v = raw.strip()
        if head is None or not v:
            continue
        if v.startswith('string "') and v.endswith('"'):
            args.append("'%s'" % v[len('string "'):-1])
        elif v.startswith('boolean '):
            args.append(v.split(' ', 1)[1])
        else:
            args.append(v)
    flush()
    return lines


def wait_pid_gone(pid, timeout):
    """Wait for a pid that may or may not be our child."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            wpid, _ = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                return True
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def skip_without(component, why):
    """The SkipTest of a case that cannot run because @component (a program, package or host
    capability) is missing: its reason reads "needs COMPONENT: WHY".  main() lists every skipped
    case as "SKIPPED: ID: REASON"; .ci/run counts them and fails on a skip of a component it
    installs itself (tests/README.md)."""
    print('[bktenv] SKIP: needs %s: %s' % (component, why), flush=True)
    return unittest.SkipTest('needs %s: %s' % (component, why))


def requires(*programs, root=False):
    """Class or test decorator: skips with "needs X: ..." naming what is missing (root, or the
    first of @programs not on PATH)."""
    if root and os.geteuid() != 0:
        return unittest.skip('needs root: runs rpm and dnf --installroot')
    missing = [n for n in programs if shutil.which(n, path=BASE_PATH) is None]
    if missing:
        return unittest.skip('needs %s: not installed (missing: %s)' % (missing[0], ', '.join(missing)))
    return lambda x: x


def shell_skip(why):
    """The SkipTest of a GNOME Shell that cannot run here, announced (a skip must not go unnoticed)."""
    return skip_without('gnome-shell', 'GNOME Shell unavailable: ' + why)


def gnome_shell_unavailable():
    """(None, version) when gnome-shell is installed and runnable, else (reason, None)."""
    exe = shutil.which('gnome-shell', path=BASE_PATH)
    if exe is None:
        return 'gnome-shell is not installed (apt-get install gnome-shell gnome-shell-extension-prefs)', None
    if not os.path.exists('/usr/share/glib-2.0/schemas/org.gnome.shell.gschema.xml'):
        return 'the org.gnome.shell schema is not installed', None
    try:
        p = subprocess.run([exe, '--version'], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as e:
        return 'gnome-shell --version failed: %s' % e, None
    m = re.search(r'GNOME Shell (\d+(?:\.\w+)*)', p.stdout)
    if p.returncode != 0 or not m:
        return 'gnome-shell --version: rc=%d %s %s' % (p.returncode, p.stdout.strip(), p.stderr.strip()), None
    return None, m.group(1)


def kill_pid(pid, name, term_timeout=10.0):
    """SIGTERM then SIGKILL one pid we started. Returns True if it needed SIGKILL."""
    if not pid or not pid_alive(pid):
        wait_pid_gone(pid, 0.1) if pid else None
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if wait_pid_gone(pid, term_timeout):
        log('stopped %s (pid %d)' % (name, pid))
        return False
    log('WARNING: %s (pid %d) ignored SIGTERM for %.0fs: SIGKILL' % (name, pid, term_timeout))
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_pid_gone(pid, 5)
    return True


def ensure_users():
    """Create the test users once (idempotent). bkt-admin is in wheel."""
    try:
        grp.getgrnam('wheel')
    except KeyError:
        run(['groupadd', '-r', 'wheel'])
    for name, wheel in TEST_USERS.items():
        try:
            pwd.getpwnam(name)
        except KeyError:
            run(['useradd', '--no-create-home', '--home-dir', '/nonexistent', '--no-user-group',
                 '--shell', '/usr/sbin/nologin', '--comment', 'bkt integration tests', name])
        members = grp.getgrnam('wheel').gr_mem
        if wheel and name not in members:
            run(['usermod', '-a', '-G', 'wheel', name])
        if not wheel and name in members:
            run(['gpasswd', '-d', name, 'wheel'])


def chown_tree(path, user):
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.lchown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def make_readable(path):
    """chmod -R a+rX"""
    subprocess.run(['chmod', '-R', 'a+rX', path], check=True)


class Installed:
    """The build installed with `meson install --destdir` into a world-readable directory of its own,
    plus copies of what the test users' processes read from the source tree (tests/doubles/, the
    valgrind and LeakSanitizer suppressions).  The checkout may be anywhere root can read (a 0700
    home): the test users never touch it.  One per process, removed at exit."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix='bkt-install.', dir='/tmp')
        os.chmod(self.root, 0o755)
        self.destdir = os.path.join(self.root, 'destdir')
        p = subprocess.run(['meson', 'install', '-C', BUILD_DIR, '--destdir', self.destdir, '--no-rebuild',
                            '--quiet'], capture_output=True, text=True)
        if p.returncode != 0:
            raise EnvError('meson install -C %s --destdir %s failed (is it built?):\n%s%s'
                           % (BUILD_DIR, self.destdir, p.stdout, p.stderr))
        # where each built file went: {built path: installed path}
        p = subprocess.run(['meson', 'introspect', '--installed', BUILD_DIR], capture_output=True, text=True,
                           check=True)
        self.files = {b: self.destdir + i for b, i in json.loads(p.stdout).items()}
        self.bkt = self.built(os.path.join('client', 'bkt'))
        self.bktd = self.built(os.path.join('daemon', 'bktd'))
        self.bkt_tool = self.built(os.path.join('client', 'bkt-tool'))
        self.doubles = os.path.join(self.root, 'doubles')
        shutil.copytree(os.path.join(SOURCE_DIR, 'tests', 'doubles'), self.doubles)
        self.valgrind_supp = os.path.join(self.root, 'valgrind.supp')
        shutil.copy(os.path.join(SOURCE_DIR, 'tests', 'valgrind.supp'), self.valgrind_supp)
        make_readable(self.root)

    def built(self, rel):
        """The installed path of BUILD_DIR/@rel (EnvError when the install does not have it)."""
        path = self.files.get(os.path.join(BUILD_DIR, rel))
        if path is None or not os.access(path, os.X_OK):
            raise EnvError('meson install did not install %s/%s' % (BUILD_DIR, rel))
        return path

    def readable_copy(self, path):
        """A copy of source file @path that the test users can read (a script they run)."""
        dst = os.path.join(self.root, 'copies', os.path.basename(path))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.chmod(os.path.dirname(dst), 0o755)
        shutil.copy(path, dst)
        os.chmod(dst, 0o755)
        return dst

    def double(self, name):
        """The staged copy of tests/doubles/@name."""
        return os.path.join(self.doubles, name)

    def sanitizer_env(self, value):
        """@value of ASAN/LSAN_OPTIONS with suppressions=PATH pointing at a staged copy of PATH."""
        out = []
        for opt in value.split(':'):
            if opt.startswith('suppressions='):
                src = opt[len('suppressions='):]
                dst = os.path.join(self.root, 'sanitizer-' + os.path.basename(src))
                if not os.path.exists(dst):
                    shutil.copy(src, dst)
                    os.chmod(dst, 0o644)
                opt = 'suppressions=' + dst
            out.append(opt)
        return ':'.join(out)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


_INSTALLED = None


def install():
    """This process's Installed (made on first use)."""
    global _INSTALLED
    if _INSTALLED is None:
        _INSTALLED = Installed()
        # what the installed bkt execs, for the tests that run it with their own environment
        os.environ['BKT_TOOL_PATH'] = _INSTALLED.bkt_tool
        if os.environ.get('BKT_KEEP_TMP') != '1':
            atexit.register(_INSTALLED.remove)
        _install_signal_handlers()  # meson's timeout (SIGTERM) removes it too
    return _INSTALLED


def double(name):
    """The path of test double @name (tests/doubles/@name, staged where the test users can run it)."""
    return install().double(name)


SYSTEM_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- private system-like bus for the bkt integration tests (generated by bktenv.py) -->
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{servicedir}</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <!-- root may monitor the bus (dbus-monitor in the secrets test) -->
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
{extra}
  <!-- the project's own policy, from the source tree -->
  <include>{bkt_policy}</include>
</busconfig>
"""

# the systemd mock runs as root: it may own systemd's name (bktd, as root, may call it)
MOCK_SYSTEMD_POLICY = """  <policy user="root">
    <allow own="org.freedesktop.systemd1"/>
    <allow send_destination="org.freedesktop.systemd1"/>
  </policy>"""

# dbusmock runs as root: let root own polkit's name on the mock bus
MOCK_POLKIT_POLICY = """  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1" send_interface="org.freedesktop.DBus.Mock"/>
  </policy>"""

# systemd='real': the unprivileged user that runs `systemd --user` owns systemd's name; bktd (root)
# and the tests (root) may call it
SYSTEMD_USER = USER
REAL_SYSTEMD_POLICY = """  <policy user="{user}">
    <allow own="org.freedesktop.systemd1"/>
    <!-- it stands in for root's systemd, whose signals (JobRemoved) bkt's policy lets reach bktd -->
    <allow send_destination="org.bkt.Daemon1" send_type="signal" send_interface="org.freedesktop.systemd1.Manager"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.systemd1"/>
  </policy>"""
SYSTEMD_BIN = '/usr/lib/systemd/systemd'
CGROUP_HIERARCHIES = ('/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified')
# the units the real manager has (in bkt-user's ~/.config/systemd/user)
REAL_SYSTEMD_UNITS = {
    'bkt-test.service': '[Unit]\nDescription=bkt test unit\n[Service]\nExecStart=/bin/sleep 300\n'
                        '[Install]\nWantedBy=default.target\n',
    # oneshot: the start job waits for the process, so its result is "failed" (a simple service's
    # start job is "done" as soon as it forked)
    'bkt-broken.service': '[Unit]\nDescription=a unit that fails\n[Service]\nType=oneshot\nExecStart=/bin/false\n',
}


def _cgroup_mounts():
    """{mount point: (fstype, options)} of the cgroup file systems."""
    found = {}
    try:
        with open('/proc/self/mounts') as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[2] in ('cgroup', 'cgroup2'):
                    found[parts[1]] = (parts[2], parts[3])
    except OSError:
        pass
    return found


def real_systemd_unavailable():
    """Why the real `systemd --user` manager (systemd='real') cannot run on this host, or None.
    Checks what the recipe needs, then probes it: a cgroup in both hybrid hierarchies (created and
    removed at once) and a private mount namespace with a bind mount over /run/systemd."""
    if os.geteuid() != 0:
        return 'needs root'
    for exe in (SYSTEMD_BIN, '/usr/bin/systemctl', '/usr/bin/unshare', '/usr/bin/setpriv'):
        if not os.access(exe, os.X_OK):
            return '%s is missing' % exe
    if not os.path.exists('/usr/lib/systemd/user/dbus.service'):
        return '/usr/lib/systemd/user/dbus.service is missing (package dbus-user-session)'
    if os.path.exists('/run/systemd/system'):
        # the recipe is for hosts without systemd as PID 1: there, the cgroup tree is systemd's own
        return 'the host runs systemd as PID 1 (/run/systemd/system exists): the recipe is only safe without it'
    if not os.path.isdir('/run/systemd'):
        return '/run/systemd does not exist (nothing to bind the fake runtime directory over)'
    mounts = _cgroup_mounts()
    v1 = mounts.get(CGROUP_HIERARCHIES[0])
    v2 = mounts.get(CGROUP_HIERARCHIES[1])
    if not v1 or v1[0] != 'cgroup' or 'name=systemd' not in v1[1].split(','):
        return 'no cgroup v1 name=systemd hierarchy at %s (hybrid layout needed)' % CGROUP_HIERARCHIES[0]
    if not v2 or v2[0] != 'cgroup2':
        return 'no cgroup2 hierarchy at %s (hybrid layout needed)' % CGROUP_HIERARCHIES[1]
    probe = 'bkt-it-probe-%d' % os.getpid()
    made = []
    try:
        for h in CGROUP_HIERARCHIES:
            os.mkdir(os.path.join(h, probe))
            made.append(os.path.join(h, probe))
    except OSError as e:
        return 'cannot create a cgroup: %s' % e
    finally:
        for d in reversed(made):
            try:
                os.rmdir(d)
            except OSError:
                pass
    tmp = tempfile.mkdtemp(prefix='bkt-sd-probe.')
    try:
        os.mkdir(os.path.join(tmp, 'probe'))
        p = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c',
                            'mount --bind "$1" /run/systemd && test -d /run/systemd/probe', 'sh', tmp],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
        if p.returncode != 0:
            return 'unshare -m with a bind mount over /run/systemd failed (rc=%d): %s' % (
                p.returncode, (p.stderr or p.stdout).strip()[:500])
    except (OSError, subprocess.SubprocessError) as e:
        return 'unshare -m failed: %s' % e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return None


SESSION_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- private session bus of {user} for the bkt integration tests (generated by bktenv.py) -->
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{servicedir}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

FLATPAK_REPO_SH = r'''#!/bin/bash
# Built-in copy of the shared flatpak recipe (used when tests/flatpak-repo.sh
# does not exist): runtime org.test.Platform, apps org.test.Hello and
# org.test.Second (and org.test.AppNNN for --apps N) in DIR/repo, unsigned.
set -euo pipefail
N=0
if [ "${1:-}" = "--apps" ]; then N=${2:?}; shift 2; fi
DIR=${1:?usage: flatpak-repo [--apps N] DIR}
cd "$DIR"
rm -rf repo rt app-*
ARCH=$(flatpak --default-arch)
mkdir -p rt/files rt/usr/bin rt/usr/lib
ln -s ../lib rt/usr/lib64
printf '[Runtime]\nname=org.test.Platform\n' > rt/metadata
for b in bash ls cat echo; do
  p=$(type -P $b); cp "$p" rt/usr/bin/
  for l in $(ldd "$p" | sed 's/.* => //' | awk '{print $1}' | grep ^/); do cp -n "$l" rt/usr/lib/; done
done
ln -s bash rt/usr/bin/sh
flatpak build-export --no-update-summary --disable-sandbox --runtime repo rt master >/dev/null
mkapp() {
  local id=$1
  mkdir -p app-$id/files/bin
  printf '[Application]\nname=%s\nruntime=org.test.Platform/%s/master\nsdk=org.test.Platform/%s/master\n' $id $ARCH $ARCH > app-$id/metadata
  printf '#!/bin/sh\necho "Hello world, from %s"\n' $id > app-$id/files/bin/hello.sh
  chmod +x app-$id/files/bin/hello.sh
  flatpak build-finish --command=hello.sh app-$id >/dev/null
  flatpak build-export --no-update-summary --disable-sandbox repo app-$id master >/dev/null
}
mkapp org.test.Hello
mkapp org.test.Second
i=1
while [ $i -le $N ]; do mkapp $(printf 'org.test.App%03d' $i); i=$((i+1)); done
flatpak build-update-repo repo >/dev/null
rm -rf rt app-*
'''


class Daemon:
    """A process we started (bktd, bus, polkitd ...)."""

    def __init__(self, name, pid, log_path=None, popen=None, user='root'):
        self.name, self.pid, self.log_path, self.popen, self.user = name, pid, log_path, popen, user

    def alive(self):
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid)

    def returncode(self):
        return self.popen.poll() if self.popen is not None else None

    def log_text(self):
        if self.log_path and os.path.exists(self.log_path):
            with open(self.log_path, errors='replace') as f:
                return f.read()
        return ''


class BktEnv:
    """The test world.  Use as a context manager or call start()/stop()."""

    def __init__(self, polkit='real', flatpak=True, users=(ADMIN, USER), system_daemon=True,
                 session_daemons=True, system_remote='bkt-test', user_remote='bkt-test',
                 valgrind=None, idle_timeout=3600, name='bkt', polkit_files=None, repo_apps=0,
                 system_activation=True, extra_env=None, bootc=False, systemd=None, gnome_shell=False,
                 shell_extensions=(), sessions=None):
        if polkit not in ('real', 'mock', 'none'):
            raise ValueError(polkit)
        self.polkit_mode = polkit
        # login sessions as the real polkitd sees them (tests/integration/logind.py): user -> 'active',
        # 'inactive' or 'remote'.  By default the wheel user works in front of the machine (an active
        # local session: 50-bkt.rules grants only there); the other user has no session.
        if sessions is None:
            sessions = {ADMIN: 'active'} if polkit == 'real' and ADMIN in users else {}
        self.want_sessions = dict(sessions)
        self.logind = None
        self.want_flatpak = flatpak
        self.users = list(users)
        self.want_system_daemon = system_daemon
        self.want_session_daemons = session_daemons
        self.system_remote = system_remote if flatpak else None
        self.user_remote = user_remote if flatpak else None
        self.valgrind = (os.environ.get('BKT_VALGRIND') == '1') if valgrind is None else valgrind
        self.idle_timeout = idle_timeout
        self.name = name
        # (policy, rules) to use instead of the source tree's (only the self-check does)
        self.polkit_files = polkit_files
        self.repo_apps = repo_apps   # extra apps org.test.App001.. in the repo
        self.system_activation = system_activation   # the system bus may start bktd --system
        # added to every process's environment (e.g. BKT_EXTENSIONS_URL for the session daemons)
        self.extra_env = dict(extra_env or {})
        self.want_bootc = bootc          # bktd --system runs tests/doubles/bootc-double
        if systemd not in (None, 'mock', 'real'):
            raise ValueError(systemd)
        self.systemd_mode = systemd      # None, 'mock' or 'real'
        self.systemd_proc = None
        # the real GNOME Shell (headless, Wayland, software rendering) as the first user on their session
        # bus, with test extensions @shell_extensions (uuids) in their ~/.local/share/gnome-shell/extensions
        self.want_gnome_shell = gnome_shell
        self.shell_extensions = list(shell_extensions)
        self.gnome_shell = None          # Daemon
        self.gnome_shell_version = None  # '43.9'
        self.systemd_cgroup = None       # 'real': name of the delegated cgroup (in both hierarchies)
        self.T = None
        self.procs = []          # Daemon objects, started by us, stopped in reverse order
        self.system_daemon = None
        self.session_daemons = {}
        self.session_bus = {}    # user -> address
        self.system_bus_address = None
        self.problems = []       # teardown findings that fail the test
        self.started = False
        self._rundir_counter = 0

    # the installed binaries (see Installed)
    @property
    def bktd(self):
        return install().bktd

    @property
    def bkt(self):
        return install().bkt

    # ------------------------------------------------------------------ paths
    def path(self, *parts):
        return os.path.join(self.T, *parts)

    def home(self, user):
        return self.path('home', user)

    def config_home(self, user):
        return os.path.join(self.home(user), '.config')

    def overlay_dir(self, user):
        """$XDG_CONFIG_HOME/bkt/manifests of @user."""
        return os.path.join(self.config_home(user), 'bkt', 'manifests')

    def keyfile(self, user):
        return os.path.join(self.config_home(user), 'glib-2.0', 'settings', 'keyfile')

    def user_flatpak_dir(self, user):
        return os.path.join(self.home(user), '.local', 'share', 'flatpak')

    @property
    def image_manifests_dir(self):
        return self.path('image-manifests')

    @property
    def repo_dir(self):
        return self.path('flatpak-repo', 'repo')

    @property
    def repo_url(self):
        return 'file://' + self.repo_dir

    # ------------------------------------------------------------ lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if os.geteuid() != 0:
            raise skip_without('root', 'bkt integration tests create test users and mount namespaces')
        if self.want_system_daemon or self.want_session_daemons:
            install()
        if self.systemd_mode == 'real':
            why = real_systemd_unavailable()
            if why:
                raise skip_without('systemd-user-manager', 'the real systemd manager cannot run here: ' + why)
        if self.want_gnome_shell:
            why, self.gnome_shell_version = gnome_shell_unavailable()
            if why:
                raise shell_skip(why)
        t0 = time.monotonic()
        self.T = tempfile.mkdtemp(prefix='bkt-it-%s.' % self.name, dir='/tmp')
        os.chmod(self.T, 0o755)
        log('temp dir %s (valgrind: %s, polkit: %s)' % (self.T, 'yes' if self.valgrind else 'no',
                                                        self.polkit_mode))
        self.started = True
        _install_signal_handlers()
        _LIVE_ENVS.append(self)
        try:
            for d in ('logs', 'bin', 'home', 'run', 'image-manifests', 'system-services', 'valgrind',
                      'root-home'):
                os.makedirs(self.path(d), exist_ok=True)
            os.chmod(self.path('logs'), 0o777 | 0o1000)
            os.chmod(self.path('valgrind'), 0o777 | 0o1000)
            ensure_users()
            if self.want_sessions:
                self.logind = logind.LoginSessions(self.path('logind'), str(len(_LIVE_ENVS)))
                for u, kind in self.want_sessions.items():
                    self.logind.add(u, pwd.getpwnam(u).pw_uid, kind)
                log('login sessions for polkitd: %s' % self.want_sessions)
            self._setup_homes()
            self._setup_schemas()
            self._write_wrappers()
            self._start_system_bus()
            if self.polkit_mode == 'real':
                self._start_real_polkitd()
            elif self.polkit_mode == 'mock':
                self._start_mock_polkitd()
            if self.want_bootc:
                self._setup_bootc()
            if self.systemd_mode == 'mock':
                self._start_mock_systemd()
            elif self.systemd_mode == 'real':
                self._start_real_systemd()
            if self.want_flatpak:
                self._setup_flatpak()
            if self.want_system_daemon:
                self.start_system_daemon()
            for u in self.users:
                self._start_session_bus(u)
                if self.want_gnome_shell and u == self.users[0]:
                    self._start_gnome_shell(u)
                if self.want_session_daemons:
                    self.start_session_daemon(u)
        except BaseException:
            print('[bktenv] SETUP FAILED; logs follow', flush=True)
            self.dump_logs()
            self.stop()
            raise
        log('environment ready in %.2fs' % (time.monotonic() - t0))
        return self

    def stop(self):
        if not self.started:
            return
        self.started = False
        if self in _LIVE_ENVS:
            _LIVE_ENVS.remove(self)
        log('teardown')
        # daemons that the buses activated or clients spawned are found by owner / marker
        for u in list(self.session_bus):
            self._kill_bus_owned_bktd('session:' + u, self.session_env(u), u)
        if self.system_bus_address:
            self._kill_bus_owned_bktd('system', self.root_env(), 'root')
        if self.systemd_mode == 'real':
            self._stop_real_systemd()
        for d in reversed(self.procs):
            timeout = 60.0 if (self.valgrind and d.name.startswith('bktd')) else 10.0
            if kill_pid(d.pid, d.name, timeout) and d.name.startswith('bktd'):
                self.problems.append('%s (pid %d) did not exit on SIGTERM' % (d.name, d.pid))
        self.procs = []
        self._kill_leftovers()
        if self.logind:
            self.problems.extend(self.logind.cleanup())
            self.logind = None
        self._check_logs()
        if os.environ.get('BKT_KEEP_TMP') == '1':
            log('keeping %s (BKT_KEEP_TMP=1)' % self.T)
        else:
            shutil.rmtree(self.T, ignore_errors=True)
        if self.problems:
            msg = 'teardown found problems:\n  ' + '\n  '.join(self.problems)
            print('[bktenv] ' + msg, flush=True)
            raise AssertionError(msg)

    # ------------------------------------------------------------- setup parts
    def _setup_homes(self):
        for u in self.users:
            pw = pwd.getpwnam(u)
            h = self.home(u)
            for sub in ('.config/bkt/manifests', '.config/glib-2.0/settings', '.local/share/flatpak',
                        '.cache', '.local/state'):
                os.makedirs(os.path.join(h, sub), exist_ok=True)
            chown_tree(h, u)
            os.chmod(h, 0o755)   # readable, so the root test process can inspect it
            rd = self.path('run', u)
            os.makedirs(rd, exist_ok=True)
            os.chown(rd, pw.pw_uid, pw.pw_gid)
            os.chmod(rd, 0o700)

    def _setup_schemas(self):
        """Compile tests/data/schemas (if present) into T/schemas, with the minimal org.gnome.shell of
        tests/data/shell-schemas unless GNOME Shell's own is installed; installed schemas stay visible."""
        self.schema_dir = None
        src = os.path.join(SOURCE_DIR, 'tests', 'data', 'schemas')
        shell_src = os.path.join(SOURCE_DIR, 'tests', 'data', 'shell-schemas')
        if os.path.isdir(src) and any(f.endswith('.gschema.xml') for f in os.listdir(src)):
            dst = self.path('schemas')
            shutil.copytree(src, dst)
            if os.path.isdir(shell_src) and not os.path.exists(
                    '/usr/share/glib-2.0/schemas/org.gnome.shell.gschema.xml'):
                for f in os.listdir(shell_src):
                    if f.endswith('.gschema.xml'):
                        shutil.copy(os.path.join(shell_src, f), dst)
            run(['glib-compile-schemas', '--strict', dst])
            make_readable(dst)
            self.schema_dir = dst
            log('test schemas compiled from %s' % src)
        else:
            log('no tests/data/schemas: using the installed schemas only')

    def _valgrind_prefix(self, tag):
        supp = install().valgrind_supp
        argv = [shutil.which('valgrind') or 'valgrind', '--quiet', '--error-exitcode=97', '--leak-check=full',
                '--errors-for-leak-kinds=definite', '--show-leak-kinds=definite',
                '--track-origins=yes', '--num-callers=30',
                '--log-file=%s' % self.path('valgrind', tag + '.%p.log')]
        if os.path.exists(supp):
            argv.append('--suppressions=' + supp)
        return argv

    def _write_wrappers(self):
        """T/bin/bktd-{system,session}: what bus activation and BKTD_PATH run."""
        for inst in ('system', 'session'):
            prefix = ' '.join(shlex.quote(a) for a in self._valgrind_prefix('bktd-%s-activated' % inst)) \
                if self.valgrind else ''
            script = '#!/bin/sh\n# generated by bktenv.py\nexec %s %s "$@"\n' % (prefix, shlex.quote(self.bktd))
            p = self.path('bin', 'bktd-' + inst)
            with open(p, 'w') as f:
                f.write(script)
            os.chmod(p, 0o755)
        # BKTD_PATH for clients (private bktd over a socket pair)
        prefix = ' '.join(shlex.quote(a) for a in self._valgrind_prefix('bktd-private')) if self.valgrind else ''
        p = self.path('bin', 'bktd')
        with open(p, 'w') as f:
            f.write('#!/bin/sh\n# generated by bktenv.py: BKTD_PATH for the client\nexec %s %s "$@"\n'
                    % (prefix, shlex.quote(self.bktd)))
        os.chmod(p, 0o755)

    def _start_system_bus(self):
        policy = os.path.join(SOURCE_DIR, 'data', 'org.bkt.Daemon1.conf')
        if not os.path.exists(policy):
            raise EnvError('missing %s: the project\'s system bus policy' % policy)
        svc = self.path('system-services')
        with open(os.path.join(svc, 'org.bkt.Daemon1.service' if self.system_activation else 'none'), 'w') as f:
            f.write('[D-BUS Service]\nName=org.bkt.Daemon1\nExec=/bin/sh -c "exec %s --system --verbose '
                    '--idle-timeout %d >>%s 2>&1"\nUser=root\n'
                    % (self.path('bin', 'bktd-system'), self.idle_timeout,
                       self.path('logs', 'bktd-system-activated.log')))
        sock = self.path('system_bus_socket')
        extra = MOCK_POLKIT_POLICY if self.polkit_mode == 'mock' else ''
        if self.systemd_mode == 'mock':
            extra += '\n' + MOCK_SYSTEMD_POLICY
        elif self.systemd_mode == 'real':
            extra += '\n' + REAL_SYSTEMD_POLICY.format(user=SYSTEMD_USER)
        conf = SYSTEM_BUS_CONF.format(socket=sock, servicedir=svc, bkt_policy=policy, extra=extra)
        conf_path = self.path('system-bus.conf')
        with open(conf_path, 'w') as f:
            f.write(conf)
        make_readable(self.path('system-services'))
        env = {'PATH': BASE_PATH, 'BKT_TEST_TAG': self.T}
        env.update(self._common_env())
        env.update(self._flatpak_system_env())
        env['HOME'] = self.path('root-home')
        p = run(['dbus-daemon', '--config-file=' + conf_path, '--fork', '--print-address=1',
                 '--print-pid=1'], env=env)
        lines = p.stdout.split()
        self.system_bus_address = 'unix:path=' + sock
        pid = int(lines[1])
        self.procs.append(Daemon('system-bus', pid))
        log('private system bus %s (pid %d) with policy %s' % (self.system_bus_address, pid, policy))

    def _wait_name(self, name, env, timeout, bus='--system', proc=None, user='root'):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = subprocess.run(['gdbus', 'call', bus, '--dest', 'org.freedesktop.DBus', '--object-path',
                                '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.NameHasOwner', name],
                               env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30,
                               **self.user_kwargs(user))
            if p.returncode == 0 and 'true' in p.stdout:
                return True
            if proc is not None and not proc.alive():
                raise EnvError('%s exited (rc=%s) before owning %s; its log:\n%s' % (
                    proc.name, proc.returncode(), name, shortened(proc.log_text())))
            time.sleep(0.05)
        raise EnvError('%s did not appear on the bus within %ds' % (name, timeout))

    def _polkit_dirs(self):
        pk = self.path('pk')
        for d in ('actions', 'rules.d', 'empty'):
            os.makedirs(os.path.join(pk, d), exist_ok=True)
        policy = os.path.join(SOURCE_DIR, 'polkit', 'org.bkt.policy')
        rules = os.path.join(SOURCE_DIR, 'polkit', '50-bkt.rules')
        if self.polkit_files:
            policy, rules = self.polkit_files
        for f in (policy, rules):
            if not os.path.exists(f):
                raise EnvError('missing %s: the project\'s polkit files' % f)
        shutil.copy(policy, os.path.join(pk, 'actions', 'org.bkt.policy'))
        shutil.copy(rules, os.path.join(pk, 'rules.d', '50-bkt.rules'))
        make_readable(pk)
        return pk

    def _start_real_polkitd(self):
        pk = self._polkit_dirs()
        logf = self.path('logs', 'polkitd.log')
        script = ((self.logind.polkitd_mounts() if self.logind else '') +
                  'mount --bind {pk}/actions /usr/share/polkit-1/actions && '
                  'mount --bind {pk}/rules.d /etc/polkit-1/rules.d && '
                  'mount --bind {pk}/empty /usr/share/polkit-1/rules.d && '
                  'exec {polkitd} --no-debug').format(pk=pk, polkitd=POLKITD)
        env = {'PATH': BASE_PATH, 'DBUS_SYSTEM_BUS_ADDRESS': self.system_bus_address,
               'BKT_TEST_TAG': self.T}
        with open(logf, 'w') as out:
            popen = subprocess.Popen(['setsid', 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        d = Daemon('polkitd', popen.pid, logf, popen)
        self.procs.append(d)
        self._wait_name('org.freedesktop.PolicyKit1', self.root_env(), 10, proc=d)
        log('real polkitd (pid %d) in a private mount namespace with polkit/org.bkt.policy and '
            'polkit/50-bkt.rules' % popen.pid)

    def _start_mock_polkitd(self):
        logf = self.path('logs', 'dbusmock-polkitd.log')
        env = self.root_env()
        with open(logf, 'w') as out:
            popen = subprocess.Popen([SYSTEM_PYTHON, '-m', 'dbusmock', '--system', '-t', 'polkitd'],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        d = Daemon('dbusmock-polkitd', popen.pid, logf, popen)
        self.procs.append(d)
        self._wait_name('org.freedesktop.PolicyKit1', env, 20, proc=d)
        log('dbusmock polkitd template (pid %d)' % popen.pid)

    # ------------------------------------------------------------ bootc double
    @property
    def bootc_dir(self):
        return self.path('bootc')

    def _setup_bootc(self):
        path = double('bootc-double')
        if not os.access(path, os.X_OK):
            raise EnvError('%s is missing or not executable' % path)
        os.makedirs(self.bootc_dir, exist_ok=True)
        log('bootc test double %s, state in %s' % (path, self.bootc_dir))

    def bootc_log(self):
        """Invocations of the bootc double so far: list of {"argv", "uid", "event", ...}."""
        p = os.path.join(self.bootc_dir, 'log.jsonl')
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [json.loads(line) for line in f if line.strip()]

    def bootc_runs(self, command=None):
        """argv of every started invocation (of @command only, if given)."""
        return [e['argv'] for e in self.bootc_log()
                if e.get('event') == 'start' and (command is None or (e['argv'][:1] == [command]))]

    def bootc_state(self):
        with open(os.path.join(self.bootc_dir, 'state.json')) as f:
            return json.load(f)

    def set_bootc_mode(self, mode='', delay=0.0):
        """'' (normal), 'die-mid-upgrade' or 'fail-pull'; @delay seconds between progress events."""
        with open(os.path.join(self.bootc_dir, 'mode'), 'w') as f:
            f.write(mode)
        with open(os.path.join(self.bootc_dir, 'delay'), 'w') as f:
            f.write(str(delay))

    def reset_bootc(self):
        for f in ('state.json', 'log.jsonl', 'mode', 'delay'):
            try:
                os.unlink(os.path.join(self.bootc_dir, f))
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------ systemd mock
    def _start_mock_systemd(self):
        logf = self.path('logs', 'dbusmock-systemd.log')
        template = double('bkt-systemd-mock.py')
        env = self.root_env()
        with open(logf, 'w') as out:
            popen = subprocess.Popen([SYSTEM_PYTHON, '-m', 'dbusmock', '--system', '-t', template],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        d = Daemon('dbusmock-systemd', popen.pid, logf, popen)
        self.procs.append(d)
        self.systemd_proc = d
        self._wait_name('org.freedesktop.systemd1', env, 20, proc=d)
        log('dbusmock systemd (pid %d) with %s' % (popen.pid, template))

    def systemd_mock(self, method, *args, timeout=30, iface='org.freedesktop.DBus.Mock'):
        """Call a method of the systemd mock's manager object as root (AddUnit, ManagerCalls …)."""
        argv = ['gdbus', 'call', '--system', '--timeout', str(timeout), '--dest', 'org.freedesktop.systemd1',
                '--object-path', '/org/freedesktop/systemd1', '--method', iface + '.' + method] + \
            [str(a) for a in args]
        return run(argv, env=self.root_env(), timeout=timeout + 5).stdout

    def systemd_calls(self):
        """Names of the manager methods the systemd mock received (dbusmock GetCalls)."""
        return re.findall(r"'(\w+)'", self.systemd_mock('ManagerCalls'))

    # ------------------------------------------------------------ real systemd --user
    @property
    def systemd_rundir(self):
        """XDG_RUNTIME_DIR of the real manager (not the user's own: its dbus.socket listens on %t/bus)."""
        return self.path('systemd', 'run')

    def systemd_unit_dir(self):
        return os.path.join(self.config_home(SYSTEMD_USER), 'systemd', 'user')

    def _start_real_systemd(self):
        """The recipe of test-env/systemd-recipe.sh: `systemd --user` as the unprivileged SYSTEMD_USER in a
        private mount namespace where /run/systemd is a temp dir with system/ in it (so it believes it was
        booted with systemd; never as root: that would capture every process on the machine), moved into
        a cgroup of its own in both hybrid hierarchies and delegated to it, with DBUS_SESSION_BUS_ADDRESS
        pointing at the private system bus: there it owns org.freedesktop.systemd1 once its dbus.service
        is up."""
        u = SYSTEMD_USER
        if u not in self.users:
            raise EnvError("systemd='real' needs the user %s in the environment" % u)
        pw = pwd.getpwnam(u)
        unitdir = self.systemd_unit_dir()
        os.makedirs(unitdir, exist_ok=True)
        for name, text in REAL_SYSTEMD_UNITS.items():
            with open(os.path.join(unitdir, name), 'w') as f:
                f.write(text)
        chown_tree(os.path.join(self.config_home(u), 'systemd'), u)
        make_readable(os.path.join(self.config_home(u), 'systemd'))
        runsd = self.path('systemd', 'runsd')
        os.makedirs(os.path.join(runsd, 'system'), exist_ok=True)
        rundir = self.systemd_rundir
        os.makedirs(rundir, exist_ok=True)
        os.chown(rundir, pw.pw_uid, pw.pw_gid)
        os.chmod(rundir, 0o700)
        self.systemd_cgroup = 'bkt-it-sd-%d-%s' % (os.getpid(), os.path.basename(self.T).rsplit('.', 1)[-1])
        for h in CGROUP_HIERARCHIES:
            cg = os.path.join(h, self.systemd_cgroup)
            os.mkdir(cg)
            chown_tree(cg, u)      # delegation: the directory and its interface files
        logf = self.path('logs', 'systemd-user.log')
        q = shlex.quote
        script = ('mount --bind {runsd} /run/systemd && '
                  'echo $$ > {cg1}/cgroup.procs && echo $$ > {cg2}/cgroup.procs && '
                  'exec setpriv --reuid={uid} --regid={gid} --init-groups env -i HOME={home} '
                  'XDG_RUNTIME_DIR={rundir} PATH=/usr/bin:/bin LANG=C.UTF-8 USER={user} LOGNAME={user} '
                  'DBUS_SESSION_BUS_ADDRESS={bus} {systemd} --user').format(
            runsd=q(runsd), cg1=q(os.path.join(CGROUP_HIERARCHIES[0], self.systemd_cgroup)),
            cg2=q(os.path.join(CGROUP_HIERARCHIES[1], self.systemd_cgroup)), uid=pw.pw_uid, gid=pw.pw_gid,
            home=q(self.home(u)), rundir=q(rundir), user=q(u), bus=q(self.system_bus_address), systemd=SYSTEMD_BIN)
        env = {'PATH': BASE_PATH, 'BKT_TEST_TAG': self.T}
        t0 = time.monotonic()
        with open(logf, 'w') as out:
            popen = subprocess.Popen(['setsid', 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        d = Daemon('systemd --user', popen.pid, logf, popen, user=u)
        self.systemd_proc = d
        private = os.path.join(rundir, 'systemd', 'private')
        end = time.monotonic() + 30
        while not os.path.exists(private):
            if not d.alive():
                raise EnvError('systemd --user exited (rc=%s) before listening on %s; its log:\n%s'
                               % (d.returncode(), private, shortened(d.log_text())))
            if time.monotonic() > end:
                raise EnvError('systemd --user did not create %s within 30s; its log:\n%s'
                               % (private, shortened(d.log_text())))
            time.sleep(0.05)
        # the manager attaches to its API bus only once its dbus.socket and dbus.service are up
        p = self.systemctl_user('start', 'dbus.service', timeout=60)
        if p.returncode != 0:
            raise EnvError('systemctl --user start dbus.service failed (rc=%d): %s\nsystemd log:\n%s'
                           % (p.returncode, p.stderr, shortened(d.log_text())))
        self._wait_name('org.freedesktop.systemd1', self.root_env(), 30, proc=d)
        if self.want_bootc:
            # bktd --system runs bootc upgrade/rollback/switch in transient units of this manager: they
            # run as its user with its environment (not bktd's), so the double's state directory and
            # "root" come from there
            os.chmod(self.bootc_dir, 0o777)
            p = self.systemctl_user('set-environment', 'BKT_BOOTC_DOUBLE_DIR=' + self.bootc_dir,
                                    'BKT_BOOTC_DOUBLE_ROOT_UID=%d' % pw.pw_uid)
            if p.returncode != 0:
                raise EnvError('systemctl --user set-environment failed: %s' % p.stderr)
        log('real systemd --user (pid %d) as %s owns org.freedesktop.systemd1 after %.2fs (cgroup %s, units in %s)'
            % (popen.pid, u, time.monotonic() - t0, self.systemd_cgroup, unitdir))

    def systemctl_user(self, *args, timeout=60):
        """systemctl --user against the real manager (over its private socket), as SYSTEMD_USER."""
        env = {'PATH': BASE_PATH, 'XDG_RUNTIME_DIR': self.systemd_rundir, 'HOME': self.home(SYSTEMD_USER),
               'LANG': 'C.UTF-8', 'SYSTEMD_PAGER': '', 'SYSTEMD_COLORS': '0'}
        log('[%s]$ systemctl --user %s' % (SYSTEMD_USER, ' '.join(args)))
        return subprocess.run(['systemctl', '--user', '--no-pager'] + list(args), env=env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=timeout, cwd='/',
                              **self.user_kwargs(SYSTEMD_USER))

    def systemd_property(self, unit, prop, iface='org.freedesktop.systemd1.Unit'):
        """A property of @unit, read straight from the real manager over the private system bus (as root):
        LoadUnit (an inactive unit may have been garbage-collected), then Properties.Get. Returns the value
        as Python (strings, ints)."""
        sd = ['gdbus', 'call', '--system', '--timeout', '30', '--dest', 'org.freedesktop.systemd1']
        p = run(sd + ['--object-path', '/org/freedesktop/systemd1', '--method',
                      'org.freedesktop.systemd1.Manager.LoadUnit', unit], env=self.root_env(), quiet_ok=True)
        m = re.match(r"\(objectpath '([^']+)',\)", p.stdout.strip())
        if not m:
            raise AssertionError('LoadUnit %s: unexpected reply %r' % (unit, p.stdout))
        p = run(sd + ['--object-path', m.group(1), '--method', 'org.freedesktop.DBus.Properties.Get', iface, prop],
                env=self.root_env(), quiet_ok=True)
        m = re.match(r"\(<(?:uint32 |int32 )?'?(.*?)'?>,\)$", p.stdout.strip())
        if not m:
            raise AssertionError('Get %s.%s of %s: unexpected reply %r' % (iface, prop, unit, p.stdout))
        v = m.group(1)
        return int(v) if re.fullmatch(r'-?\d+', v) else v

    def _cgroup_pids(self):
        pids = set()
        for h in CGROUP_HIERARCHIES:
            top = os.path.join(h, self.systemd_cgroup)
            for root, _, files in os.walk(top):
                if 'cgroup.procs' in files:
                    try:
                        with open(os.path.join(root, 'cgroup.procs')) as f:
                            pids.update(int(x) for x in f.read().split())
                    except (OSError, ValueError):
                        pass
        return pids

    def _stop_real_systemd(self):
        """`systemctl --user exit` (the manager stops its units and exits), or SIGTERM/SIGKILL by pid; then
        SIGKILL whatever is left in its cgroup and remove the cgroups (the bind mount goes with the namespace)."""
        d, self.systemd_proc = self.systemd_proc, None
        if d is not None and d.alive():
            p = self.systemctl_user('exit', timeout=30)
            if p.returncode != 0:
                log('systemctl --user exit failed (rc=%d): %s' % (p.returncode, p.stderr.strip()))
            if wait_pid_gone(d.pid, 30):
                log('stopped systemd --user (pid %d)' % d.pid)
            else:
                self.problems.append('systemd --user (pid %d) did not exit on `systemctl --user exit`' % d.pid)
                kill_pid(d.pid, 'systemd --user', 10)
        if d is not None and d.popen is not None:
            try:
                d.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if not self.systemd_cgroup:
            return
        for _ in range(50):
            left = self._cgroup_pids()
            if not left:
                break
            for pid in left:
                log('WARNING: process %d left in cgroup %s: SIGKILL' % (pid, self.systemd_cgroup))
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for pid in left:
                wait_pid_gone(pid, 5)
        for h in CGROUP_HIERARCHIES:
            top = os.path.join(h, self.systemd_cgroup)
            if not os.path.isdir(top):
                continue
            end = time.monotonic() + 10
            while True:
                p = subprocess.run(['find', top, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'],
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
                if not os.path.exists(top):
                    break
                if time.monotonic() > end:   # a cgroup is only removable once its last process is reaped
                    self.problems.append('could not remove cgroup %s: %s' % (top, p.stderr.strip()[:500]))
                    break
                time.sleep(0.05)
        log('removed cgroup %s' % self.systemd_cgroup)
        self.systemd_cgroup = None

    def mock_polkit(self, method, *args, timeout=30):
        """Call a dbusmock control method (SetAllowed, SetDelay, SimulateHang, ...)."""
        argv = ['gdbus', 'call', '--system', '--timeout', str(timeout), '--dest', 'org.freedesktop.PolicyKit1',
                '--object-path', '/org/freedesktop/PolicyKit1/Authority',
                '--method', 'org.freedesktop.DBus.Mock.' + method] + [str(a) for a in args]
        return run(argv, env=self.root_env(), timeout=timeout + 5)

    def _setup_flatpak(self):
        os.makedirs(self.path('flatpak-repo'))
        script = os.path.join(SOURCE_DIR, 'tests', 'flatpak-repo.sh')
        t0 = time.monotonic()
        env = {'PATH': BASE_PATH, 'HOME': self.path('root-home'), 'BKT_TEST_TAG': self.T}
        if os.path.exists(script):
            run(['bash', script, '--apps', str(self.repo_apps), self.path('flatpak-repo')], env=env, timeout=300)
            origin = 'tests/flatpak-repo.sh'
        else:
            builtin = self.path('bin', 'flatpak-repo-builtin.sh')
            with open(builtin, 'w') as f:
                f.write(FLATPAK_REPO_SH)
            run(['bash', builtin, '--apps', str(self.repo_apps), self.path('flatpak-repo')], env=env, timeout=300)
            origin = 'built-in recipe (tests/flatpak-repo.sh not found)'
        make_readable(self.path('flatpak-repo'))
        refs = run(['flatpak', 'repo', '--branches', self.repo_dir], env=env, quiet_ok=True).stdout
        for ref in ('runtime/org.test.Platform/', 'app/org.test.Hello/', 'app/org.test.Second/'):
            if ref not in refs:
                raise EnvError('flatpak test repo lacks %s:\n%s' % (ref, refs))
        log('flatpak repo %s built with %s in %.2fs' % (self.repo_dir, origin, time.monotonic() - t0))
        for d in ('flatpak/system', 'flatpak/config'):
            os.makedirs(self.path(d), exist_ok=True)
        # initialise the system installation as a distribution's flatpak package leaves it (repo/ present)
        self.flatpak('root', 'system', 'remotes')
        make_readable(self.path('flatpak'))
        if self.system_remote:
            self.flatpak('root', 'system', 'remote-add', '--no-gpg-verify', self.system_remote, self.repo_url)
            log('system installation %s with remote %s -> %s' % (self.path('flatpak/system'),
                                                                  self.system_remote, self.repo_url))
        make_readable(self.path('flatpak'))
        if self.user_remote:
            for u in self.users:
                self.flatpak(u, 'user', 'remote-add', '--no-gpg-verify', self.user_remote, self.repo_url)

    def _daemon_argv(self, instance, tag):
        argv = [self.bktd, '--' + instance, '--verbose', '--idle-timeout', str(self.idle_timeout)]
        if self.valgrind:
            argv = self._valgrind_prefix(tag) + argv
        return argv

    def start_system_daemon(self):
        """(Re)start bktd --system as root on the private system bus."""
        logf = self.path('logs', 'bktd-system.log')
        env = self.root_env()
        env.update(self._daemon_debug_env())
        argv = self._daemon_argv('system', 'bktd-system')
        log('starting ' + ' '.join(argv))
        out = open(logf, 'a')
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True)
        out.close()
        d = Daemon('bktd-system', popen.pid, logf, popen)
        self.procs.append(d)
        self.system_daemon = d
        self._wait_name(BUS_NAME, env, 120 if self.valgrind else 20, proc=d)
        log('bktd --system running (pid %d), log %s' % (popen.pid, logf))
        return d

    def _start_session_bus(self, user):
        sock = self.path('run', user, 'bus')
        svcdir = self.path('run', user, 'services')
        os.makedirs(svcdir, exist_ok=True)
        with open(os.path.join(svcdir, 'org.bkt.Daemon1.service'), 'w') as f:
            f.write('[D-BUS Service]\nName=org.bkt.Daemon1\nExec=/bin/sh -c "exec %s --session --verbose '
                    '--idle-timeout %d >>%s 2>&1"\n' % (self.path('bin', 'bktd-session'), self.idle_timeout,
                                                        self.path('logs', 'bktd-session-%s-activated.log' % user)))
        conf = self.path('run', user, 'session-bus.conf')
        with open(conf, 'w') as f:
            f.write(SESSION_BUS_CONF.format(user=user, socket=sock, servicedir=svcdir))
        chown_tree(self.path('run', user), user)
        env = self.user_env(user, session_bus=False)
        env.update(self._daemon_debug_env())
        p = self.run_as(user, ['dbus-daemon', '--config-file=' + conf, '--fork', '--print-address=1',
                               '--print-pid=1'], env=env, quiet_ok=True)
        if p.returncode != 0:
            raise EnvError('session bus for %s failed: %s' % (user, p.stderr))
        pid = int(p.stdout.split()[1])
        self.session_bus[user] = 'unix:path=' + sock
        self.procs.append(Daemon('session-bus-' + user, pid, user=user))
        log('session bus of %s: %s (pid %d)' % (user, self.session_bus[user], pid))

    def _start_gnome_shell(self, user):
        """gnome-shell --headless as @user on their session bus (their HOME, XDG dirs, keyfile GSettings
        backend; the installed org.gnome.shell schema), with the test extensions in place first."""
        major = self.gnome_shell_version.split('.')[0]
        for uuid in self.shell_extensions:
            d = os.path.join(self.home(user), '.local', 'share', 'gnome-shell', 'extensions', uuid)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, 'metadata.json'), 'w') as f:
                json.dump({'uuid': uuid, 'name': 'bkt test ' + uuid, 'description': 'bkt test extension',
                           'shell-version': [major]}, f)
            # the GNOME 43 style (no ES modules): init() returns an object with enable()/disable()
            with open(os.path.join(d, 'extension.js'), 'w') as f:
                f.write('class Extension {\n    enable() { log("bkt-test: enable %s"); }\n'
                        '    disable() { log("bkt-test: disable %s"); }\n}\n\n'
                        'function init() {\n    return new Extension();\n}\n' % (uuid, uuid))
        chown_tree(self.home(user), user)
        logf = self.path('logs', 'gnome-shell-%s.log' % user)
        env = self.session_env(user)
        env.update({'XDG_SESSION_TYPE': 'wayland', 'LIBGL_ALWAYS_SOFTWARE': '1', 'NO_AT_BRIDGE': '1'})
        argv = ['gnome-shell', '--headless', '--wayland', '--no-x11', '--virtual-monitor', '1024x768']
        log('starting as %s: %s' % (user, ' '.join(argv)))
        out = open(logf, 'a')
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                 cwd=env['HOME'], start_new_session=True, **self.user_kwargs(user))
        out.close()
        d = Daemon('gnome-shell-' + user, popen.pid, logf, popen, user=user)
        self.procs.append(d)
        self.gnome_shell = d
        try:
            self._wait_name('org.gnome.Shell', env, 60, bus='--session', proc=d, user=user)
        except EnvError as e:
            raise shell_skip('gnome-shell did not start: %s' % e)
        # the name comes early; the Extensions API once the extension system is up
        end = time.monotonic() + 60
        while True:
            p = self.run_as(user, ['gdbus', 'call', '--session', '--dest', 'org.gnome.Shell', '--object-path',
                                   '/org/gnome/Shell', '--method', 'org.gnome.Shell.Extensions.ListExtensions'],
                            env=env, quiet_ok=True, timeout=30)
            if p.returncode == 0 and all(u in p.stdout for u in self.shell_extensions):
                break
            if not d.alive():
                # no GPU/EGL, no seat ...: this host cannot run the shell, which is a skip, not a failure
                raise shell_skip('gnome-shell exited (rc=%s); its log:\n%s' % (d.returncode(),
                                                                                     shortened(d.log_text())))
            if time.monotonic() > end:
                raise shell_skip('gnome-shell: no Extensions API with %s within 60s: %s %s\nlog:\n%s' % (
                    self.shell_extensions, p.stdout, p.stderr, shortened(d.log_text())))
            time.sleep(0.1)
        log('gnome-shell %s for %s running (pid %d), log %s' % (self.gnome_shell_version, user, popen.pid, logf))
        return d

    def start_session_daemon(self, user):
        """(Re)start bktd --session as @user on their session bus."""
        logf = self.path('logs', 'bktd-session-%s.log' % user)
        env = self.session_env(user)
        env.update(self._daemon_debug_env())
        argv = self._daemon_argv('session', 'bktd-session-' + user)
        log('starting as %s: %s' % (user, ' '.join(argv)))
        out = open(logf, 'a')
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                 cwd=env['HOME'], start_new_session=True, **self.user_kwargs(user))
        out.close()
        d = Daemon('bktd-session-' + user, popen.pid, logf, popen, user=user)
        self.procs.append(d)
        self.session_daemons[user] = d
        self._wait_name(BUS_NAME, env, 120 if self.valgrind else 20, bus='--session', proc=d, user=user)
        d.bktd_pid = self.bus_owner_pid(user)
        log('bktd --session for %s running (pid %s), log %s' % (user, d.bktd_pid, logf))
        return d

    # ------------------------------------------------------------ environments
    def _common_env(self):
        env = {'LANG': 'C.UTF-8', 'BKT_TEST_TAG': self.T,
               # the repo tools bkt execs (installed in libexecdir; here the test install's)
               'BKT_TOOL_PATH': install().bkt_tool,
               'BKT_IMAGE_MANIFESTS_DIR': self.image_manifests_dir,
               'GSETTINGS_BACKEND': 'keyfile', 'NO_COLOR': '1',
               # GIO's GNOME proxy resolver reads org.gnome.system.proxy through GSettings from whatever
               # thread first asks (libsoup, in a worker); the keyfile backend is not thread-safe, and
               # tests talk to 127.0.0.1 only
               'GIO_USE_PROXY_RESOLVER': 'dummy'}
        if self.want_bootc:
            env['BKT_BOOTC'] = double('bootc-double')
            env['BKT_BOOTC_DOUBLE_DIR'] = self.bootc_dir
            if self.systemd_mode == 'real':
                # the double, run as root by bktd (status) or as the manager's user (in units), shares
                # its files with both (see _start_real_systemd)
                env['BKT_BOOTC_DOUBLE_ROOT_UID'] = str(pwd.getpwnam(SYSTEMD_USER).pw_uid)
        if getattr(self, 'schema_dir', None):
            env['GSETTINGS_SCHEMA_DIR'] = self.schema_dir
        for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'G_SLICE', 'G_MESSAGES_DEBUG'):
            if k in os.environ:
                env[k] = os.environ[k]
        for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'):
            if k in env:  # the users' daemons read the suppressions
                env[k] = install().sanitizer_env(env[k])
        env.update(getattr(self, 'extra_env', {}))
        return env

    def _daemon_debug_env(self):
        # criticals in the daemon are bugs: make them loud (a crash the test sees); G_SLICE as
        # data/bktd.service.in sets it (freed memory goes back to the system)
        return {'G_DEBUG': os.environ.get('BKT_TEST_G_DEBUG', 'fatal-criticals'),
                'G_SLICE': os.environ.get('G_SLICE', 'always-malloc')}

    def _flatpak_system_env(self):
        # the system's state record too: never the host's /var/lib/bkt
        return {'FLATPAK_SYSTEM_DIR': self.path('flatpak', 'system'),
                'FLATPAK_CONFIG_DIR': self.path('flatpak', 'config'),
                'BKT_SYSTEM_STATE_DIR': self.path('state', 'system')}

    def root_env(self):
        """Environment of root's processes: bktd --system, gdbus calls as root."""
        h = self.path('root-home')
        env = {'PATH': BASE_PATH, 'HOME': h, 'USER': 'root', 'LOGNAME': 'root',
               'XDG_CONFIG_HOME': os.path.join(h, '.config'), 'XDG_DATA_HOME': os.path.join(h, '.local/share'),
               'XDG_CACHE_HOME': os.path.join(h, '.cache'), 'XDG_RUNTIME_DIR': os.path.join(h, 'run'),
               'FLATPAK_USER_DIR': os.path.join(h, 'flatpak-user')}
        env.update(self._common_env())
        env.update(self._flatpak_system_env())
        if self.system_bus_address:
            env['DBUS_SYSTEM_BUS_ADDRESS'] = self.system_bus_address
        return env

    def user_env(self, user, session_bus=True):
        """Environment of @user's processes (client, session daemon, gsettings CLI)."""
        h = self.home(user)
        env = {'PATH': BASE_PATH, 'HOME': h, 'USER': user, 'LOGNAME': user,
               'XDG_CONFIG_HOME': os.path.join(h, '.config'), 'XDG_DATA_HOME': os.path.join(h, '.local/share'),
               'XDG_CACHE_HOME': os.path.join(h, '.cache'), 'XDG_STATE_HOME': os.path.join(h, '.local/state'),
               'XDG_RUNTIME_DIR': self.path('run', user),
               'FLATPAK_USER_DIR': self.user_flatpak_dir(user),
               'BKTD_PATH': self.path('bin', 'bktd'), 'BKT_NO_PKTTYAGENT': '1'}
        env.update(self._common_env())
        env.update(self._flatpak_system_env())
        if self.system_bus_address:
            env['DBUS_SYSTEM_BUS_ADDRESS'] = self.system_bus_address
        if session_bus and user in self.session_bus:
            env['DBUS_SESSION_BUS_ADDRESS'] = self.session_bus[user]
        return env

    def session_env(self, user):
        return self.user_env(user, session_bus=True)

    # ------------------------------------------------------------ running things
    def user_kwargs(self, user, session=True):
        """subprocess kwargs that run a child as @user (with all their groups), in their login session
        if they have one (unless @session is False: a cron job or user service); {} for root."""
        if user == 'root':
            return {}
        pw = pwd.getpwnam(user)
        groups = os.getgrouplist(user, pw.pw_gid)
        if not (session and self.logind and self.logind.kind(user)):
            return {'user': pw.pw_uid, 'group': pw.pw_gid, 'extra_groups': groups}
        sessions = self.logind

        def enter_session_then_drop_privileges():
            # runs in the child, still root: the cgroup move needs it
            sessions.join(user)
            os.setgroups(groups)
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        return {'preexec_fn': enter_session_then_drop_privileges}

    def run_as(self, user, argv, env=None, timeout=300, input=None, env_extra=None, unset=(), quiet_ok=False,
               cwd=None):
        """Run argv as @user (root: directly) with a clean env; returns CompletedProcess (text)."""
        if env is None:
            env = self.root_env() if user == 'root' else self.user_env(user)
        env = dict(env)
        if env_extra:
            env.update(env_extra)
        for k in unset:
            env.pop(k, None)
        if not quiet_ok:
            log('[%s]$ %s' % (user, ' '.join(shlex.quote(a) for a in argv)))
        t0 = time.monotonic()
        p = subprocess.run(list(argv), input=input, text=True, capture_output=True, timeout=timeout, env=env,
                           cwd=cwd or env.get('HOME', '/'), stdin=None if input is not None else subprocess.DEVNULL,
                           **self.user_kwargs(user))
        p.elapsed = time.monotonic() - t0
        return p

    def bkt_run(self, user, *args, timeout=600, env_extra=None, unset=(), echo=True, cwd=None):
        """Run the real client as @user (in @cwd, default their HOME). Returns (rc, stdout, stderr)
        and prints them."""
        p = self.run_as(user, [self.bkt] + list(args), timeout=timeout, env_extra=env_extra, unset=unset,
                        quiet_ok=True, cwd=cwd)
        self.check_sanitizer_output('bkt ' + ' '.join(args), p.stderr)
        if echo and not quiet():
            print('[bktenv] [%s]$ bkt %s   -> rc=%d (%.2fs)' % (user, ' '.join(shlex.quote(a) for a in args),
                                                               p.returncode, p.elapsed), flush=True)
            if p.stdout.strip():
                print(textwrap.indent(shortened(p.stdout, 4000).rstrip(), '    out| '), flush=True)
            if p.stderr.strip():
                print(textwrap.indent(shortened(p.stderr, 4000).rstrip(), '    err| '), flush=True)
        return p.returncode, p.stdout, p.stderr

    SANITIZER_MARKERS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
                         '== ERROR SUMMARY: ', 'GLib-CRITICAL', 'GLib-GIO-CRITICAL', 'GLib-GObject-CRITICAL')

    def check_sanitizer_output(self, what, text):
        """Sanitizer/valgrind/critical reports of the client (or a private bktd it ran, which shares its
        stderr) fail the test at teardown even when the exit code looked right."""
        for m in self.SANITIZER_MARKERS:
            if m in text and not (m == '== ERROR SUMMARY: ' and '== ERROR SUMMARY: 0 errors' in text):
                self.problems.append('%s printed "%s":\n%s' % (what, m, shortened(text, 12000)))
                print('[bktenv] %s printed "%s" (fails the test at teardown)' % (what, m), flush=True)
                return

    def bkt_json(self, user, *args, **kw):
        """Run bkt with --json (caller includes it); parse stdout. Raises on non-JSON output."""
        rc, out, err = self.bkt_run(user, *args, **kw)
        try:
            return rc, json.loads(out), err
        except ValueError as e:
            raise AssertionError('bkt %s printed no valid JSON (rc=%d): %s\nstdout:\n%s\nstderr:\n%s'
                                 % (' '.join(args), rc, e, out, err))

    def gdbus_call(self, user, method, *args, bus='system', dest=BUS_NAME, path=OBJ_PATH, timeout=60,
                   interface=MANAGER_IFACE, env_extra=None):
        """gdbus call as @user. method is 'Iface.Method' or bare 'Method' (on @interface)."""
        if '.' not in method:
            method = interface + '.' + method
        # "--": arguments may start with "-" (GVariant text of a string may be unquoted)
        argv = ['gdbus', 'call', '--' + bus, '--timeout', str(timeout), '--dest', dest, '--object-path', path,
                '--method', method] + (['--'] + list(args) if args else [])
        p = self.run_as(user, argv, timeout=timeout + 30, env_extra=env_extra)
        log('  -> rc=%d %s %s' % (p.returncode, p.stdout.strip()[:300], p.stderr.strip()[:500]))
        return p

    def transaction_monitor(self):
        """dbus-monitor (root, BecomeMonitor) of every transaction signal on the private system bus:
        they are unicast to their creator, so a plain match rule of another connection sees none.
        Read its output with monitor_signal_lines()."""
        p = subprocess.Popen(['dbus-monitor', '--system', "type='signal',interface='%s'" % TRANSACTION_IFACE],
                             env=self.root_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(0.5)
        return p

    def get_property(self, user, prop, bus='system', timeout=10, interface=MANAGER_IFACE, path=OBJ_PATH):
        return self.gdbus_call(user, 'org.freedesktop.DBus.Properties.Get', interface, prop, bus=bus,
                               timeout=timeout, path=path)

    def gsettings(self, user, *args, check=True):
        """The gsettings CLI as @user with the same env as their session daemon."""
        p = self.run_as(user, ['gsettings'] + list(args))
        if check and p.returncode != 0:
            raise AssertionError('gsettings %s failed: %s' % (' '.join(args), p.stderr))
        return p.stdout.strip()

    def flatpak(self, user, scope, *args, check=True):
        """The flatpak CLI as @user (root for the system installation) with the env's installations."""
        p = self.run_as(user, ['flatpak', '--' + scope] + list(args), timeout=300)
        if check and p.returncode != 0:
            raise EnvError('flatpak --%s %s failed (rc=%d): %s%s' % (scope, ' '.join(args), p.returncode,
                                                                     p.stdout, p.stderr))
        return p.stdout

    def installed_apps(self, scope, user=None):
        """Set of app ids installed in the system installation or @user's."""
        who = user if scope == 'user' else (user or 'root')
        out = self.flatpak(who, scope, 'list', '--app', '--columns=application')
        return set(line.strip() for line in out.splitlines() if line.strip() and line.strip() != 'Application ID')

    def remotes(self, scope, user=None):
        who = user if scope == 'user' else (user or 'root')
        out = self.flatpak(who, scope, 'remotes', '--columns=name')
        return set(line.strip() for line in out.splitlines() if line.strip() and line.strip() != 'Name')

    def state_record_path(self, scope, user=None):
        return (self.path('state', 'system', 'state.json') if scope == 'system'
                else os.path.join(self.home(user), '.local/state', 'bkt', 'state.json'))

    def state_record(self, scope, user=None):
        """The parsed state record of @scope ('user' of @user, 'system'), or None when missing
        (raises when it is not JSON: a half-written record is a bug)."""
        path = self.state_record_path(scope, user)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def clear_state_records(self, user):
        """A machine bkt never synced: no user record of @user, no system record."""
        for scope in ('user', 'system'):
            path = self.state_record_path(scope, user)
            if os.path.exists(path):
                os.unlink(path)

    def read_keyfile(self, user):
        try:
            with open(self.keyfile(user)) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def write_standard_manifests(self, apps=None, **extra):
        """The image manifests most tests start from: the test remotes, the test apps (or @apps)
        and TEST_SETTINGS, plus any other kinds in @extra (extensions=, shims=)."""
        self.write_manifests(self.image_manifests_dir, remotes=test_remotes(self),
                             apps=test_apps() if apps is None else apps, settings=TEST_SETTINGS, **extra)

    def write_manifests(self, directory, remotes=None, apps=None, settings=None, owner=None,
                        extensions=None, shims=None):
        """Write manifest files into @directory (only those given)."""
        os.makedirs(directory, exist_ok=True)
        for fname, member, value in (('flatpak-remotes.json', 'remotes', remotes),
                                     ('flatpak-apps.json', 'apps', apps),
                                     ('gsettings.json', 'settings', settings),
                                     ('gnome-extensions.json', 'extensions', extensions),
                                     ('host-shims.json', 'shims', shims)):
            if value is None:
                continue
            with open(os.path.join(directory, fname), 'w') as f:
                json.dump({member: value}, f, indent=2)
                f.write('\n')
        if owner:
            chown_tree(directory, owner)
        make_readable(directory)

    def manifests_snapshot(self, *dirs):
        """{path: bytes} of every file under @dirs (to prove nothing was written)."""
        snap = {}
        for d in dirs:
            for root, _, files in os.walk(d):
                for f in files:
                    p = os.path.join(root, f)
                    with open(p, 'rb') as fh:
                        snap[p] = fh.read()
        return snap

    def bus_owner_pid(self, user=None, name=BUS_NAME):
        """pid of the owner of @name on @user's session bus (None: system bus)."""
        env = self.session_env(user) if user else self.root_env()
        bus = '--session' if user else '--system'
        p = subprocess.run(['gdbus', 'call', bus, '--dest', 'org.freedesktop.DBus', '--object-path',
                            '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.GetConnectionUnixProcessID',
                            name], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30,
                           **self.user_kwargs(user or 'root'))
        if p.returncode != 0:
            return None
        m = re.search(r'uint32 (\d+)', p.stdout)
        return int(m.group(1)) if m else None

    def kill_session_daemon(self, user, sig=signal.SIGKILL):
        """Kill @user's bktd --session (whoever started it) with @sig; returns its pid."""
        pid = self.bus_owner_pid(user)
        if not pid:
            raise AssertionError('no bktd --session owns %s on the session bus of %s' % (BUS_NAME, user))
        log('kill -%d bktd --session of %s (pid %d)' % (sig, user, pid))
        os.kill(pid, sig)
        wait_pid_gone(pid, 10)
        d = self.session_daemons.get(user)
        if d is not None and d.popen is not None:
            try:
                d.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        return pid

    def daemon_log(self, name):
        p = self.path('logs', name + '.log')
        if os.path.exists(p):
            with open(p, errors='replace') as f:
                return f.read()
        return ''

    # ------------------------------------------------------------ teardown
    def _kill_bus_owned_bktd(self, label, env, user):
        """Stop a bktd that owns the name (maybe bus-activated): SIGTERM by pid."""
        bus = '--system' if label == 'system' else '--session'
        p = subprocess.run(['gdbus', 'call', bus, '--timeout', '5', '--dest', 'org.freedesktop.DBus',
                            '--object-path', '/org/freedesktop/DBus',
                            '--method', 'org.freedesktop.DBus.GetConnectionUnixProcessID', BUS_NAME],
                           env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30,
                           **self.user_kwargs(user))
        m = re.search(r'uint32 (\d+)', p.stdout) if p.returncode == 0 else None
        if not m:
            return
        pid = int(m.group(1))
        if not self._has_marker(pid):
            self.problems.append('%s bus: %s owned by pid %d that we did not start' % (label, BUS_NAME, pid))
            return
        timeout = 60.0 if self.valgrind else 10.0
        if kill_pid(pid, 'bktd (%s)' % label, timeout):
            self.problems.append('bktd (%s, pid %d) did not exit on SIGTERM' % (label, pid))

    def _has_marker(self, pid):
        try:
            with open('/proc/%d/environ' % pid, 'rb') as f:
                return (b'BKT_TEST_TAG=' + self.T.encode() + b'\0') in f.read()
        except OSError:
            return False

    def _kill_leftovers(self):
        """Processes carrying our marker that are still alive: started (indirectly) by us."""
        me = os.getpid()
        for _ in range(3):
            left = []
            for d in os.listdir('/proc'):
                if d.isdigit() and int(d) != me and self._has_marker(int(d)) and pid_alive(int(d)):
                    left.append(int(d))
            if not left:
                return
            for pid in left:
                try:
                    with open('/proc/%d/cmdline' % pid, 'rb') as f:
                        cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
                except OSError:
                    cmd = '?'
                log('WARNING: leftover process %d: %s' % (pid, cmd))
                if 'bktd' in cmd:
                    self.problems.append('leftover bktd process %d after teardown: %s' % (pid, cmd))
                kill_pid(pid, 'leftover', 5)

    @staticmethod
    def _report_records(text, heads):
        """The records (blank-line separated blocks) of a valgrind/sanitizer report that start with one
        of @heads, deduplicated by their frames in our code: what a developer needs, not the whole log."""
        blocks = re.split(r'\n(?:==\d+== ?)?\s*\n', text)
        seen, out = set(), []
        for b in blocks:
            if not any(h in b for h in heads):
                continue
            ours = tuple(re.findall(r'\b[\w.-]+\.c:\d+', b))
            key = ours or b
            if key in seen:
                continue
            seen.add(key)
            out.append(b.strip())
        return '\n\n'.join(out)

    def _check_logs(self):
        vdir = self.path('valgrind')
        if os.path.isdir(vdir):
            for f in sorted(os.listdir(vdir)):
                with open(os.path.join(vdir, f), errors='replace') as fh:
                    text = fh.read()
                m = re.search(r'ERROR SUMMARY: (\d+) errors', text)
                definite = re.search(r'definitely lost: ([\d,]+) bytes', text)
                bad = (m and int(m.group(1)) > 0) or (definite and definite.group(1) != '0')
                # --quiet: a clean run prints nothing at all
                if bad or ('Invalid ' in text) or ('uninitialised' in text) or ('definitely lost in' in text):
                    recs = self._report_records(text, ('definitely lost in', 'Invalid ', 'uninitialised',
                                                       'Mismatched', 'overlap', 'Syscall param'))
                    self.problems.append('valgrind found problems in %s:\n%s' % (f, shortened(recs or text, 30000)))
                else:
                    log('valgrind: %s clean' % f)
        ldir = self.path('logs')
        for f in sorted(os.listdir(ldir)) if os.path.isdir(ldir) else []:
            if not f.startswith('bktd'):
                continue
            with open(os.path.join(ldir, f), errors='replace') as fh:
                text = fh.read()
            if 'ERROR: LeakSanitizer' in text:
                recs = self._report_records(text, ('Direct leak',))
                summary = re.findall(r'SUMMARY: AddressSanitizer: .*', text)
                self.problems.append('%s: LeakSanitizer: %s\n%s' % (f, '; '.join(summary),
                                                                     shortened(recs, 30000)))
            for pat in ('ERROR: AddressSanitizer', 'runtime error:',
                        'GLib-CRITICAL', 'GLib-GObject-CRITICAL', 'GLib-GIO-CRITICAL', '-CRITICAL **',
                        'Trace/breakpoint trap', 'Segmentation fault'):
                if pat in text:
                    i = text.index(pat)
                    self.problems.append('%s contains "%s":\n%s' % (f, pat, shortened(text[max(0, i - 2000):],
                                                                                       12000)))
                    break

    def dump_logs(self):
        if not self.T:
            return
        ldir = self.path('logs')
        for f in sorted(os.listdir(ldir)) if os.path.isdir(ldir) else []:
            with open(os.path.join(ldir, f), errors='replace') as fh:
                text = fh.read()
            print('----- %s -----\n%s' % (f, shortened(text, 8000)), flush=True)


# ---------------------------------------------------------------- manifests used by the tests
# gsettings-desktop-schemas keys (Debian has them); values differ from the defaults
TEST_SETTINGS = [
    {'schema': 'org.gnome.desktop.interface', 'key': 'clock-format', 'value': "'12h'",
     'comment': 'set by the bkt integration tests'},
    {'schema': 'org.gnome.desktop.interface', 'key': 'color-scheme', 'value': "'prefer-dark'"},
    {'schema': 'org.gnome.desktop.wm.preferences', 'key': 'button-layout',
     'value': "'appmenu:minimize,maximize,close'"},
]


def test_remotes(env, name='bkt-test'):
    return [{'name': name, 'url': env.repo_url, 'scope': 'system', 'gpg_verify': False}]


def test_apps(name='bkt-test', system=('org.test.Hello',), user=('org.test.Second',)):
    return ([{'id': a, 'remote': name, 'scope': 'system'} for a in system] +
            [{'id': a, 'remote': name, 'scope': 'user'} for a in user])


def synced(sub, declared=True):
    """A status subsystem entry is in sync: it counts its tracked entries ("tracked", a number),
    all of them are in sync, and nothing drifts, is missing or could not be checked ("skipped").
    @declared: the manifests declare entries of this subsystem, so some must be tracked (0 tracked
    and 0 in sync is also what a status that checked nothing shows)."""
    tracked, in_sync = sub.get('tracked'), sub.get('in_sync')
    if not isinstance(tracked, int) or isinstance(tracked, bool) or in_sync != tracked:
        return False
    if declared and tracked == 0:
        return False
    return not sub.get('drift') and not sub.get('missing') and not sub.get('skipped')


def gvariant_text(value):
    """gsettings prints GVariant text; manifests hold the same text."""
    return value.strip()


# ---------------------------------------------------------------- test running
class EnvTestCase(unittest.TestCase):
    """A TestCase class sharing one BktEnv per class (ENV_KW configures it)."""
    ENV_KW = {}
    env = None

    @classmethod
    def setUpClass(cls):
        cls.env = BktEnv(name=cls.__name__, **cls.ENV_KW)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            env, cls.env = cls.env, None
            env.stop()

    def run(self, result=None):
        failures_before = len(result.failures) + len(result.errors) if result else 0
        r = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > failures_before and self.env:
            print('[bktenv] %s failed: daemon logs follow' % self.id(), flush=True)
            self.env.dump_logs()
        return r

    # assertions on bkt results ---------------------------------------------
    def status(self, user, *extra):
        rc, st, err = self.env.bkt_json(user, 'status', '--json', *extra)
        self.assertEqual(rc, 0, 'bkt status --json failed: %s' % err)
        for member in ('instance', 'subsystems', 'operations'):
            self.assertIn(member, st, 'bkt status --json lacks "%s": %s' % (member, st))
        return st

    def assertInSync(self, st, subsystems=('flatpak', 'gsettings'), empty=()):
        """@subsystems are in sync, each with entries tracked unless named in @empty (the
        manifests declare none of it)."""
        for name in subsystems:
            sub = st['subsystems'].get(name)
            self.assertIsNotNone(sub, 'status lacks subsystem %s: %s' % (name, st))
            self.assertTrue(synced(sub, declared=name not in empty),
                            '%s not in sync%s: %s' % (name, '' if name in empty else ' (or tracks nothing)',
                                                      json.dumps(sub, indent=1)))
            self.assertEqual(sub.get('drift'), [], '%s drift: %s' % (name, sub.get('drift')))
            if 'missing' in sub:
                self.assertEqual(sub.get('missing'), [], '%s missing: %s' % (name, sub.get('missing')))

    def assertErrorName(self, proc, name):
        """A gdbus call failed with the D-Bus error @name."""
        self.assertNotEqual(proc.returncode, 0, 'call succeeded, expected %s: %s' % (name, proc.stdout))
        self.assertIn('GDBus.Error:%s:' % name, proc.stderr, 'expected error %s, got: %s' % (name, proc.stderr))

    def assertRc(self, res, expected, what=''):
        rc, out, err = res
        exp = expected if isinstance(expected, (tuple, list, set)) else (expected,)
        if rc not in exp:
            self.fail('%s: exit code %d, expected %s\nstdout:\n%s\nstderr:\n%s'
                      % (what or 'bkt', rc, ' or '.join(map(str, exp)), shortened(out), shortened(err)))


def _test_ids(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _test_ids(t)
        else:
            yield t.id()


def _skipped_cases(result, all_ids):
    """[(test id, reason)] of every skipped case: a class whose setUpClass (or a module whose
    setUpModule) skipped counts once per test it holds, not once.  @all_ids: the suite's test ids,
    taken before the run (a run empties the suite)."""
    cases = []
    for t, why in result.skipped:
        if isinstance(t, unittest.TestCase):
            cases.append((t.id(), why))
            continue
        # an _ErrorHolder: "setUpClass (module.Class)" or "setUpModule (module)"
        m = re.match(r'\w+ \((.+)\)$', t.id())
        scope = m.group(1) + '.' if m else None
        held = [i for i in all_ids if scope and i.startswith(scope)]
        cases.extend((i, why) for i in held) if held else cases.append((t.id(), why))
    return cases


def main(needs_root=True):
    """Run the unittest cases of __main__; list each skipped case as "SKIPPED: ID: REASON"; print
    'N passed, N failed[, N skipped]'; exit 1 on failure, 77 (meson: SKIP) only when no case ran
    at all, else 0.  @needs_root=False for files whose cases run as any user."""
    if needs_root and os.geteuid() != 0:
        print('SKIPPED: %s: needs root: the bkt integration tests create test users and mount namespaces'
              % os.path.basename(sys.argv[0]))
        print('0 passed, 0 failed, 1 skipped')
        sys.exit(EXIT_SKIP)
    import __main__
    names = sys.argv[1:]
    loader = unittest.defaultTestLoader
    suite = loader.loadTestsFromNames(names, __main__) if names else loader.loadTestsFromModule(__main__)
    all_ids = list(_test_ids(suite))
    t0 = time.monotonic()
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    test_errors = [t for t, _ in result.errors if isinstance(t, unittest.TestCase)]
    direct_skips = len([t for t, _ in result.skipped if isinstance(t, unittest.TestCase)])
    passed = result.testsRun - len(result.failures) - len(test_errors) - direct_skips - len(result.unexpectedSuccesses)
    skipped = _skipped_cases(result, all_ids)
    for test_id, why in skipped:
        print('SKIPPED: %s: %s' % (test_id, why))
    print('time: %.1fs' % (time.monotonic() - t0))
    line = '%d passed, %d failed' % (max(passed, 0), failed)
    if skipped:
        line += ', %d skipped' % len(skipped)
    print(line, flush=True)
    if failed == 0 and skipped and passed <= 0:
        # nothing ran (e.g. the host lacks what an ENV_KW needs): meson reports SKIP, .ci/run names it
        sys.exit(EXIT_SKIP)
    sys.exit(0 if failed == 0 else 1)


SELFCHECK_POLICY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/PolicyKit/1/policyconfig.dtd">
<policyconfig>
  <action id="org.bkt.apply">
    <description>selfcheck</description><message>selfcheck</message>
    <defaults><allow_any>auth_admin</allow_any><allow_inactive>auth_admin</allow_inactive>
    <allow_active>auth_admin_keep</allow_active></defaults>
  </action>
  <action id="org.bkt.status">
    <description>selfcheck</description><message>selfcheck</message>
    <defaults><allow_any>yes</allow_any><allow_inactive>yes</allow_inactive><allow_active>yes</allow_active></defaults>
  </action>
</policyconfig>
"""
SELFCHECK_RULES = """polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.bkt.") == 0 && subject.isInGroup("wheel"))
        return polkit.Result.YES;
});
"""


def selfcheck():
    """Exercise the pieces that need no bkt binary: users, buses, real polkitd, flatpak, gsettings."""
    if os.geteuid() != 0:
        print('selfcheck needs root')
        return 2
    policy = os.path.join(SOURCE_DIR, 'polkit', 'org.bkt.policy')
    rules = os.path.join(SOURCE_DIR, 'polkit', '50-bkt.rules')
    files = None
    tmp = tempfile.mkdtemp(prefix='bkt-selfcheck.')
    if not (os.path.exists(policy) and os.path.exists(rules)):
        print('[selfcheck] polkit/ files missing: using stand-ins')
        files = (os.path.join(tmp, 'org.bkt.policy'), os.path.join(tmp, '50-bkt.rules'))
        open(files[0], 'w').write(SELFCHECK_POLICY)
        open(files[1], 'w').write(SELFCHECK_RULES)
    ok = True
    env = BktEnv(system_daemon=False, session_daemons=False, polkit_files=files, name='selfcheck')
    try:
        env.start()
        for u, expect in ((ADMIN, 0), (USER, 1)):
            p = env.run_as(u, ['sh', '-c', 'exec pkcheck --action-id org.bkt.apply --process $$'])
            verdict = 'ALLOWED' if p.returncode == 0 else 'DENIED rc=%d' % p.returncode
            print('[selfcheck] %s org.bkt.apply: %s' % (u, verdict))
            ok &= (p.returncode == 0) == (expect == 0)
            p = env.run_as(u, ['sh', '-c', 'exec pkcheck --action-id org.bkt.status --process $$'])
            print('[selfcheck] %s org.bkt.status: rc=%d' % (u, p.returncode))
            ok &= p.returncode == 0
        env.flatpak('root', 'system', 'install', '-y', '--noninteractive', env.system_remote, 'org.test.Hello')
        env.flatpak(USER, 'user', 'install', '-y', '--noninteractive', env.user_remote, 'org.test.Second')
        print('[selfcheck] system apps: %s' % sorted(env.installed_apps('system', USER)))
        print('[selfcheck] user apps of %s: %s' % (USER, sorted(env.installed_apps('user', USER))))
        ok &= env.installed_apps('system', USER) == {'org.test.Hello'}
        ok &= env.installed_apps('user', USER) == {'org.test.Second'}
        env.gsettings(ADMIN, 'set', 'org.gnome.desktop.interface', 'clock-format', '24h')
        v = env.gsettings(ADMIN, 'get', 'org.gnome.desktop.interface', 'clock-format')
        print('[selfcheck] gsettings keyfile of %s: %r' % (ADMIN, env.read_keyfile(ADMIN)))
        ok &= v == "'24h'" and 'clock-format' in env.read_keyfile(ADMIN)
        p = env.run_as(ADMIN, ['gdbus', 'call', '--session', '--dest', 'org.freedesktop.DBus', '--object-path',
                               '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.GetId'])
        print('[selfcheck] session bus of %s: %s' % (ADMIN, p.stdout.strip() or p.stderr.strip()))
        ok &= p.returncode == 0
    finally:
        env.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print('[selfcheck] %s' % ('OK' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    if sys.argv[1:] == ['selfcheck']:
        sys.exit(selfcheck())
    print(__doc__)
    print('usage: %s selfcheck' % sys.argv[0])
