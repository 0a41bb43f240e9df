# SPDX-License-Identifier: LGPL-2.1-or-later
"""Other machines for bkt -H and bkt fleet (tests/integration/test_fleet.py,
tests/bench/fleet.sh): a private sshd on 127.0.0.1 whose logins reach this
test world's private buses, so that `ssh HOST systemd-stdio-bridge [--user]`
on the client side ends at the real bktd of the test world.

One sshd listens on several ports; which machine a port is, is the login
environment sshd gives its sessions (SetEnv in a `Match LocalPort` block):
DBUS_SYSTEM_BUS_ADDRESS (systemd-stdio-bridge's system bus) and
XDG_RUNTIME_DIR (its --user bus: $XDG_RUNTIME_DIR/bus), as pam_systemd
would set them on a real machine.  Nothing on the client side is told where
the buses are: bkt runs plain `ssh -T -- HOST systemd-stdio-bridge`.

The client's side is ordinary ssh configuration of @user: a key in
~/.ssh/id_ed25519 (in the sshd's authorized_keys), ~/.ssh/config with one
alias per machine (HostName 127.0.0.1, its Port), known_hosts with the
host key.  ssh reads ~/.ssh of the passwd entry's home (the test users' is
/nonexistent), not $HOME: so the only wrapper is `ssh` first in the client's
PATH (client_env()), `exec /usr/bin/ssh -F ~/.ssh/config "$@"` — the same
as that file being the user's ssh configuration.  HostKeyAlias in the config makes an alias whose key ssh does not
know (stranger) or knows as another key (imposter)."""

import os
import pwd
import shutil
import subprocess
import tempfile

import bktenv
import punenv


class FleetSshd:
    SSHD = '/usr/sbin/sshd'

    @staticmethod
    def unavailable():
        for exe in (FleetSshd.SSHD, '/usr/bin/ssh', '/usr/bin/ssh-keygen', '/usr/bin/systemd-stdio-bridge'):
            if not os.access(exe, os.X_OK):
                return '%s missing (openssh-server, openssh-client, systemd)' % exe
        return None

    def __init__(self, env, user, machines, root_login=False):
        """@machines: name -> {'system_bus': ADDRESS, 'runtime_dir': DIR}, one port each."""
        self.env, self.user = env, user
        self.sshd = None
        self.saved_account = None
        self.machines = dict(machines)
        self.ports = {}
        self.root_login = root_login
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        env, user = self.env, self.user
        self.dir = env.path('fleet-ssh')
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.host_key = os.path.join(self.dir, 'ssh_host_ed25519_key')
        self._keygen(self.host_key, 'bkt-fleet-host')
        self.other_key = os.path.join(self.dir, 'other_host_key')
        self._keygen(self.other_key, 'bkt-fleet-other')
        # the user's key, config and known_hosts
        self.sshdir = os.path.join(env.home(user), '.ssh')
        os.makedirs(self.sshdir, exist_ok=True)
        bktenv.chown_tree(self.sshdir, user)
        os.chmod(self.sshdir, 0o700)
        self.user_key = os.path.join(self.sshdir, 'id_ed25519')
        if not os.path.exists(self.user_key):
            env.run_as(user, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bkt-fleet-user', '-f',
                              self.user_key], quiet_ok=False)
        self.authorized = os.path.join(self.dir, 'authorized_keys')
        shutil.copy(self.user_key + '.pub', self.authorized)
        os.chmod(self.authorized, 0o644)
        for name in self.machines:
            self.ports[name] = punenv.free_port()
        self.config = os.path.join(self.dir, 'sshd_config')
        allow = user + (' root' if self.root_login else '')
        with open(self.config, 'w') as fh:
            fh.write('ListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s\n'
                     'AllowUsers %s\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n'
                     'KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n'
                     'PermitRootLogin %s\nUseDNS no\nLogLevel VERBOSE\nMaxStartups 100:30:200\n'
                     % (self.host_key, os.path.join(self.dir, 'sshd.pid'), self.authorized, allow,
                        'prohibit-password' if self.root_login else 'no'))
            for name, port in self.ports.items():
                fh.write('Port %d\n' % port)
            for name, port in self.ports.items():
                m = self.machines[name]
                fh.write('Match LocalPort %d\n  SetEnv DBUS_SYSTEM_BUS_ADDRESS=%s XDG_RUNTIME_DIR=%s\n'
                         % (port, m['system_bus'], m['runtime_dir']))
        # the account, for the duration: a shell, not locked
        pw = pwd.getpwnam(user)
        self.saved_account = (pw.pw_shell, punenv.SshRemote._shadow_password(user))
        bktenv.run(['usermod', '-s', '/bin/sh', '-p', '*', user])
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        self.log = os.path.join(env.path('logs'), 'fleet-sshd.log')
        argv = [self.SSHD, '-D', '-e', '-f', self.config]
        self.sshd = subprocess.Popen(argv, stdout=open(self.log, 'w'), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        env.procs.append(bktenv.Daemon('fleet-sshd', self.sshd.pid, log_path=self.log, popen=self.sshd))
        for port in self.ports.values():
            punenv.wait_port(port)
        self.write_client_config()
        self.bindir = os.path.join(self.dir, 'bin')
        os.makedirs(self.bindir, exist_ok=True)
        wrapper = os.path.join(self.bindir, 'ssh')
        with open(wrapper, 'w') as fh:
            fh.write('#!/bin/sh\n# the test user\'s ssh configuration (their passwd home is /nonexistent)\n'
                     'exec /usr/bin/ssh -F %s "$@"\n' % os.path.join(self.sshdir, 'config'))
        os.chmod(wrapper, 0o755)

    def client_env(self):
        """The environment additions of a client run as the user: ssh finds their configuration."""
        return {'PATH': self.bindir + ':' + bktenv.BASE_PATH}

    def _keygen(self, path, comment):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path],
                       check=True, capture_output=True)

    @staticmethod
    def _pub(path):
        with open(path + '.pub') as fh:
            return ' '.join(fh.read().split()[:2])

    def write_client_config(self, aliases=None, shared=None):
        """~/.ssh/config: an alias per machine (and @aliases: name -> machine, several names for one
        machine: the benchmark's fleet; @shared: name -> machine, aliases whose logins share one connection,
ssh's ControlMaster), `stranger` (a key ssh does not know), `imposter` (another key
        than the one known for it), `gone` (nothing listens); known_hosts for the machines' ports."""
        known_hosts = os.path.join(self.sshdir, 'known_hosts')
        lines, known = ['Host *\n  IdentityFile %s\n  UserKnownHostsFile %s\n' % (self.user_key, known_hosts)], []
        names = dict((n, n) for n in self.machines)
        names.update(aliases or {})
        for alias, machine in names.items():
            lines.append('Host %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n' % (alias, self.ports[machine],
                                                                                 self.user))
        if shared and not getattr(self, 'control_dir', None):
            # short: a unix socket path (ControlPath) has ~100 bytes
            self.control_dir = tempfile.mkdtemp(prefix='bkt-cm', dir='/tmp')
            bktenv.chown_tree(self.control_dir, self.user)
        for alias, machine in (shared or {}).items():
            lines.append('Host %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  ControlMaster auto\n'
                         '  ControlPath %s/%%C\n  ControlPersist 120\n'
                         % (alias, self.ports[machine], self.user, self.control_dir))
        first = next(iter(self.ports.values()))
        lines.append('Host stranger\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  HostKeyAlias stranger\n'
                     % (first, self.user))
        lines.append('Host imposter\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  HostKeyAlias imposter\n'
                     % (first, self.user))
        lines.append('Host gone\n  HostName 127.0.0.1\n  Port %d\n  User %s\n' % (punenv.free_port(), self.user))
        for port in self.ports.values():
            known.append('[127.0.0.1]:%d %s\n' % (port, self._pub(self.host_key)))
        known.append('imposter %s\n' % self._pub(self.other_key))
        for name, text in (('config', ''.join(lines)), ('known_hosts', ''.join(known))):
            path = os.path.join(self.sshdir, name)
            with open(path, 'w') as fh:
                fh.write(text)
            os.chmod(path, 0o600)
        bktenv.chown_tree(self.sshdir, self.user)

    def stop(self):
        if getattr(self, 'control_dir', None):
            # the shared connections' masters (ControlPersist): told to leave
            for sock in os.listdir(self.control_dir):
                self.env.run_as(self.user, ['/usr/bin/ssh', '-o', 'ControlPath=' + os.path.join(self.control_dir, sock),
                                            '-O', 'exit', 'fleet-master'], quiet_ok=True, timeout=30)
            shutil.rmtree(self.control_dir, ignore_errors=True)
            self.control_dir = None
        if self.sshd:
            bktenv.kill_pid(self.sshd.pid, 'fleet-sshd')
            self.sshd.wait(timeout=10)
            self.sshd = None
        if self.saved_account:
            shell, password = self.saved_account
            bktenv.run(['usermod', '-s', shell, '-p', password, self.user])
            self.saved_account = None


def start_mock_machine(env, user, name, version):
    """Another machine whose bktd is of another version: a private bus (owned by @user, as a session bus
    is) where python-dbusmock runs data/dbusmock/bkt.py as the system instance with DaemonVersion
    @version.  Returns {'system_bus', 'runtime_dir'}: both of its buses are that one."""
    rundir = env.path('machines', name)
    os.makedirs(rundir, exist_ok=True)
    sock = os.path.join(rundir, 'bus')
    conf = os.path.join(rundir, 'bus.conf')
    os.makedirs(os.path.join(rundir, 'services'), exist_ok=True)
    with open(conf, 'w') as fh:
        fh.write(bktenv.SESSION_BUS_CONF.format(user=user, socket=sock, servicedir=os.path.join(rundir, 'services')))
    bktenv.chown_tree(rundir, user)
    os.chmod(rundir, 0o700)
    p = env.run_as(user, ['dbus-daemon', '--config-file=' + conf, '--fork', '--print-address=1', '--print-pid=1'],
                   quiet_ok=True)
    if p.returncode != 0:
        raise bktenv.EnvError('bus of %s: %s' % (name, p.stderr))
    env.procs.append(bktenv.Daemon('bus-' + name, int(p.stdout.split()[1]), user=user))
    address = 'unix:path=' + sock
    template = os.path.join(bktenv.SOURCE_DIR, 'data', 'dbusmock', 'bkt.py')
    log = os.path.join(env.path('logs'), 'dbusmock-%s.log' % name)
    uenv = env.user_env(user)
    uenv['DBUS_SESSION_BUS_ADDRESS'] = address
    mock = subprocess.Popen(['/usr/bin/python3', '-m', 'dbusmock', '--session', '-t', template, '-p',
                             '{"instance": "system", "version": "%s"}' % version],
                            env=uenv, stdout=open(log, 'w'), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, **env.user_kwargs(user, session=False))
    d = bktenv.Daemon('dbusmock-' + name, mock.pid, log_path=log, popen=mock, user=user)
    env.procs.append(d)
    env._wait_name(bktenv.BUS_NAME, uenv, 30, bus='--session', proc=d, user=user)
    return {'system_bus': address, 'runtime_dir': rundir}
