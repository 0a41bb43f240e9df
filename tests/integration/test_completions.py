#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shell completion (bkt completions bash|zsh|fish, bkt __complete).

A real interactive bash with bash-completion, on a pseudo-terminal, loads the
script `bkt completions bash` prints and completes what a user types with
TAB: `bkt fla<TAB>` → `bkt flatpak `, `bkt gsetting set org.gnome.desktop.i<TAB>`
→ the schema, then its key, a repo tool's subcommand (answered by bkt-tool)
and an option of a leaf.  The zsh and fish scripts are checked by their shell
where it is installed.  The candidates come from the command tables, so a
command bkt --help lists completes too."""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get('BKT_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BKT_BUILD_DIR', os.path.join(SRC, 'build'))
BIN = os.path.join(BUILD, 'client')
BASH_COMPLETION = '/usr/share/bash-completion/bash_completion'


def env():
    e = {'PATH': BIN + ':/usr/bin:/bin', 'HOME': tempfile.gettempdir(), 'LANG': 'C.UTF-8', 'TERM': 'dumb',
         'BKT_TOOL_PATH': os.path.join(BIN, 'bkt-tool'), 'INPUTRC': '/dev/null',
         'BKTD_PATH': os.path.join(BUILD, 'daemon', 'bktd'),
         'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/nonexistent', 'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/nonexistent'}
    return e


class Bash:
    """An interactive bash on a pty: type a line, press TAB, read what the line became."""

    def __init__(self, rcfile):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve('/bin/bash', ['bash', '--noprofile', '--rcfile', rcfile, '-i'], env())
        self.read_until(r'READY>')

    def read_until(self, pattern, timeout=20):
        """Read until @pattern (a regex) matches what came since the last call; returns the match."""
        buf = b''
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern, buf.decode(errors='replace'), re.S)
            if m:
                return m
            r, _, _ = select.select([self.fd], [], [], max(0, end - time.monotonic()))
            if not r:
                raise AssertionError('bash did not print %r; got %r' % (pattern, buf[-500:]))
            buf += os.read(self.fd, 4096)

    def complete(self, line):
        """Type @line, TAB, then have bash echo the edited line between markers: the completion is
        what the line became."""
        os.write(self.fd, line.encode() + b'\t')
        time.sleep(0.5)
        # C-a: to the start, insert `echo "<<<`; C-e: to the end, `>>>"`, Enter
        os.write(self.fd, b'\x01echo "<<<\x05>>>"\r')
        m = self.read_until(r'\n<<<(.*?)>>>\r\n.*READY>')
        return m.group(1)

    def close(self):
        os.write(self.fd, b'exit\r')
        os.waitpid(self.pid, 0)


class Completions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BASH_COMPLETION):
            raise unittest.SkipTest('needs bash-completion: %s is missing' % BASH_COMPLETION)
        cls.tmp = tempfile.mkdtemp(prefix='bkt-compl-')
        script = os.path.join(cls.tmp, 'bkt.bash')
        with open(script, 'w') as f:
            f.write(subprocess.run([os.path.join(BIN, 'bkt'), 'completions', 'bash'], capture_output=True,
                                   text=True, check=True, env=env()).stdout)
        rc = os.path.join(cls.tmp, 'bashrc')
        with open(rc, 'w') as f:
            f.write('. %s\n. %s\nPS1="READY>"\nbind "set show-all-if-ambiguous off"\n' % (BASH_COMPLETION, script))
        cls.bash = Bash(rc)

    @classmethod
    def tearDownClass(cls):
        cls.bash.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_command(self):
        self.assertEqual(self.bash.complete('bkt fla'), 'bkt flatpak ')
        # -H HOST before the command: HOST is not a command name
        self.assertEqual(self.bash.complete('bkt -H laptop fla'), 'bkt -H laptop flatpak ')

    def test_gsettings_schema_then_key(self):
        self.assertEqual(self.bash.complete('bkt gsetting set org.gnome.desktop.i'),
                         'bkt gsetting set org.gnome.desktop.in')   # interface and input-sources share "in"
        self.assertEqual(self.bash.complete('bkt gsetting set org.gnome.desktop.inte'),
                         'bkt gsetting set org.gnome.desktop.interface ')
        self.assertEqual(self.bash.complete('bkt gs set org.gnome.desktop.interface clock-f'),
                         'bkt gs set org.gnome.desktop.interface clock-format ')

    def test_repo_tool_subcommand_and_option(self):
        self.assertEqual(self.bash.complete('bkt changelog vali'), 'bkt changelog validate ')
        self.assertEqual(self.bash.complete('bkt flatpak add --pr-o'), 'bkt flatpak add --pr-only ')

    def test_subsystems_of_only_and_exclude(self):
        """--only/-s and --exclude/-x complete the registry's subsystem names (bktd
        --list-subsystems), the last item of a comma list without repeating the earlier ones."""
        registry = subprocess.run([os.path.join(BUILD, 'daemon', 'bktd'), '--list-subsystems'], capture_output=True,
                                  text=True, check=True).stdout
        names = [line.split()[0] for line in registry.splitlines()]
        self.assertIn('flatpak', names)
        self.assertEqual(self.bash.complete('bkt status -s fla'), 'bkt status -s flatpak ')
        self.assertEqual(self.bash.complete('bkt apply --exclude gset'), 'bkt apply --exclude gsettings ')
        self.assertEqual(self.bash.complete('bkt capture -x flatpak,dn'), 'bkt capture -x flatpak,dnf ')
        got = subprocess.run([os.path.join(BIN, 'bkt'), '__complete', 'status', '--only', 'shim,'],
                             capture_output=True, text=True, env=env()).stdout.split()
        self.assertEqual(got, ['shim,' + n for n in names if n != 'shim'])
        got = subprocess.run([os.path.join(BIN, 'bkt'), '__complete', 'apply', '--only=g'],
                             capture_output=True, text=True, env=env()).stdout.split()
        self.assertEqual(got, ['--only=gsettings'])

    def test_every_listed_command_completes(self):
        top = subprocess.run([os.path.join(BIN, 'bkt'), '--help'], capture_output=True, text=True,
                             env=env()).stdout
        listed = re.findall(r'^  ([a-z][a-z-]*)\b', top.split('Commands:', 1)[1], re.M)
        got = subprocess.run([os.path.join(BIN, 'bkt'), '__complete', ''], capture_output=True, text=True,
                             env=env()).stdout.split()
        self.assertEqual(sorted(set(listed) | {'help'}), sorted(got))

    def test_fish_completes(self):
        if shutil.which('fish') is None:
            self.skipTest('needs fish: it is not installed')
        path = os.path.join(self.tmp, 'bkt.fish')
        with open(path, 'w') as f:
            f.write(subprocess.run([os.path.join(BIN, 'bkt'), 'completions', 'fish'], capture_output=True,
                                   text=True, check=True, env=env()).stdout)
        p = subprocess.run(['fish', '--no-config', '-c', 'source %s; complete -C "bkt fla"; '
                            'complete -C "bkt gsetting set org.gnome.desktop.inte"' % path],
                           capture_output=True, text=True, env=env(), timeout=60)
        self.assertEqual(p.stdout.split(), ['flatpak', 'org.gnome.desktop.interface'], p.stderr)

    def test_other_shells_parse_their_script(self):
        checked = 0
        for shell, check in (('zsh', ['zsh', '-n']), ('fish', ['fish', '--no-execute'])):
            if shutil.which(shell) is None:
                continue
            path = os.path.join(self.tmp, 'bkt.' + shell)
            with open(path, 'w') as f:
                f.write(subprocess.run([os.path.join(BIN, 'bkt'), 'completions', shell], capture_output=True,
                                       text=True, check=True).stdout)
            p = subprocess.run(check + [path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            checked += 1
        if checked == 0:
            self.skipTest('needs zsh: neither zsh nor fish is installed')


if __name__ == '__main__':
    result = unittest.main(exit=False, verbosity=2).result
    if result.testsRun and result.testsRun == len(result.skipped):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
