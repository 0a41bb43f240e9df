#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The gdbus/busctl examples of docs/dbus-api.md, "For desktop integrations", run as written.

Every command of the section's ```sh blocks (comments skipped, backslash continuations joined) runs
against
* the REAL daemons: `bktd --session` of a test user on their session bus and `bktd --system` on the
  private system bus with the real polkitd and the shipped policy (bktenv), as that user;
* the shipped dbusmock template (data/dbusmock/bkt.py): its session instance on a private session
  bus and its system instance (-p '{"instance": "system"}') on a private bus given as the system bus.

A command must exit 0 and print something; `… monitor …` commands run for two seconds (they do not
end by themselves) and must have started.  The lines that start the mock are run too (that is how
the mock is started here).  A section without commands fails: the doc cannot lose its examples
unnoticed, and an example that stops working fails here.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN  # noqa: E402

DOC = os.path.join(bktenv.SOURCE_DIR, 'docs', 'dbus-api.md')
TEMPLATE = os.path.join(bktenv.SOURCE_DIR, 'data', 'dbusmock', 'bkt.py')
INSTALLED_TEMPLATE = '/usr/share/bkt/dbusmock/bkt.py'


def section_commands():
    """[(command, bus)] of the section's sh blocks; bus is 'session' or 'system'."""
    with open(DOC) as f:
        text = f.read()
    parts = text.split('\n## For desktop integrations\n', 1)
    if len(parts) != 2:
        return []
    section = parts[1].split('\n## ', 1)[0]
    out = []
    for block in re.findall(r'```sh\n(.*?)```', section, re.S):
        joined = re.sub(r'\\\n\s*', ' ', block)
        for line in joined.splitlines():
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            bus = 'system' if re.search(r'(^|\s)--system(\s|$)', line) else 'session'
            out.append((line, bus))
    return out


def is_mock_start(cmd):
    return 'dbusmock' in cmd


class PrivateBus:
    """A dbus-daemon of our own (session configuration), for a mock of either instance."""

    def __init__(self, tmp, name):
        os.makedirs(os.path.join(tmp, name))
        self.proc = subprocess.Popen(['dbus-daemon', '--session', '--nofork', '--print-address=1',
                                      '--address=unix:dir=' + os.path.join(tmp, name)],
                                     stdout=subprocess.PIPE, text=True)
        self.address = self.proc.stdout.readline().strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class DocumentedExamples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.commands = section_commands()
        cls.tmp = tempfile.mkdtemp(prefix='bkt-doc-')
        os.chmod(cls.tmp, 0o755)

    def run_cmd(self, cmd, env, user='root', real_env=None):
        """Runs @cmd (a shell line) with @env; returns (rc, stdout, stderr).  Monitors: 2 s."""
        monitor = ' monitor' in cmd
        argv = ['timeout', '2', 'sh', '-c', cmd] if monitor else ['sh', '-c', cmd]
        if real_env is not None:
            p = real_env.run_as(user, argv, env=env, timeout=60)
        else:
            p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
        rc = 0 if monitor and p.returncode == 124 else p.returncode
        return rc, p.stdout, p.stderr

    def check(self, where, cmd, rc, out, err):
        bktenv.log('%s: %s -> rc %d %s' % (where, cmd, rc, (out.strip() or err.strip())[:200]))
        self.assertEqual(rc, 0, '%s: %s\n%s%s' % (where, cmd, out, err))
        self.assertTrue(out.strip() or ' monitor' in cmd, '%s: %s printed nothing\n%s' % (where, cmd, err))

    def test_section_has_examples_for_both_instances(self):
        buses = [bus for cmd, bus in self.commands if not is_mock_start(cmd)]
        self.assertGreaterEqual(buses.count('session'), 4, self.commands)
        self.assertGreaterEqual(buses.count('system'), 2, self.commands)
        starts = [cmd for cmd, _ in self.commands if is_mock_start(cmd)]
        self.assertTrue(any('--session' in c for c in starts) and any('--system' in c for c in starts), starts)

    def test_examples_against_the_mock(self):
        buses = {}
        mocks = []
        try:
            for bus in ('session', 'system'):
                buses[bus] = PrivateBus(self.tmp, bus)
            # (the distribution's python3, which has dbusmock: not another one earlier on PATH)
            env = dict(os.environ, PATH=bktenv.BASE_PATH, DBUS_SESSION_BUS_ADDRESS=buses['session'].address,
                       DBUS_SYSTEM_BUS_ADDRESS=buses['system'].address)
            # the doc's own lines start the mocks (the source tree's template for the installed one)
            for cmd, bus in self.commands:
                if not is_mock_start(cmd):
                    continue
                line = cmd.replace(INSTALLED_TEMPLATE, TEMPLATE).rstrip('&').strip()
                mocks.append(subprocess.Popen(['sh', '-c', 'exec ' + line], env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
            for bus in ('session', 'system'):
                subprocess.run(['gdbus', 'wait', '--' + bus, '--timeout', '20', 'org.bkt.Daemon1'], env=env,
                               check=True)
            ran = 0
            for cmd, bus in self.commands:
                if is_mock_start(cmd):
                    continue
                self.check('mock', cmd, *self.run_cmd(cmd, env))
                ran += 1
            self.assertGreater(ran, 0)
        finally:
            for p in mocks:
                p.terminate()
                p.wait(timeout=10)
            for b in buses.values():
                b.stop()

    def test_examples_against_the_real_daemons(self):
        env = bktenv.BktEnv(polkit='real', users=(ADMIN,))
        env.start()
        try:
            env.write_standard_manifests()
            ran = 0
            for cmd, bus in self.commands:
                if is_mock_start(cmd):
                    continue
                user_env = env.session_env(ADMIN) if bus == 'session' else env.user_env(ADMIN, session_bus=False)
                self.check('real %s' % bus, cmd, *self.run_cmd(cmd, user_env, ADMIN, env))
                ran += 1
            self.assertGreater(ran, 0)
            self.assertTrue(env.system_daemon.alive())
        finally:
            env.stop()


if __name__ == '__main__':
    bktenv.main()
