#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The command line itself, with the real bkt, bkt-tool and daemons:

* the thin client: `bkt --version`, `bkt --help`, `bkt status`, `bkt apply`
  and the other commands that talk to a daemon load none of libflatpak,
  libgit2, libsoup or libcrypto (the dynamic loader's own account,
  LD_DEBUG=libs, per process image); the repo tools do, in bkt-tool, which
  bkt execs (the positive control: the same check sees them there, so it
  would see them in bkt);
* the command tables: `bkt help`, `bkt help CMD [SUB]`, each leaf's usage
  line with its full path, what is missing or extra said first (exit 2),
  global options before or after the command name at every level;
* every read command's --json is JSON (json.loads), bkt version included.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

HEAVY = ('libflatpak', 'libgit2', 'libsoup', 'libcrypto')


def images_and_libraries(path):
    """{program: [libraries it initialised]} from one LD_DEBUG=libs output file (one pid; an exec
    starts a new image in the same file).  A library belongs to the program whose "initialize
    program" line follows it; what is initialised after the last one (dlopen) to that program."""
    out, pending, last = {}, [], None
    with open(path, errors='replace') as f:
        for line in f:
            m = re.search(r'calling init: (\S+)', line)
            if m:
                pending.append(m.group(1))
                continue
            m = re.search(r'initialize program: (\S+)', line)
            if m:
                last = m.group(1)
                out.setdefault(last, []).extend(pending)
                pending = []
    if last is not None:
        out[last].extend(pending)
    return out


class Cli(EnvTestCase):
    ENV_KW = dict(polkit='real', flatpak=True, bootc=True)

    def loaded(self, *args):
        """Run bkt as ADMIN under LD_DEBUG=libs: {program basename: [libraries]} of every image the
        process ran (bkt, and bkt-tool when bkt execs it)."""
        d = self.env.path('ld-debug')
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        os.chmod(d, 0o1777)
        rc, out, err = self.env.bkt_run(ADMIN, *args, echo=False,
                                        env_extra={'LD_DEBUG': 'libs',
                                                   'LD_DEBUG_OUTPUT': os.path.join(d, 'ld')})
        self.assertEqual(rc, 0, 'bkt %s: %s' % (' '.join(args), err))
        images = {}
        for path in glob.glob(os.path.join(d, 'ld.*')):
            for prog, libs in images_and_libraries(path).items():
                images.setdefault(os.path.basename(prog), []).extend(libs)
        return images

    def heavy(self, libs):
        return sorted({os.path.basename(lib) for lib in libs if os.path.basename(lib).startswith(HEAVY)})

    def test_thin_client_loads_no_heavy_library(self):
        for args in (['--version'], ['--help'], ['status'], ['apply', '--dry-run'], ['flatpak', 'list'],
                     ['version'], ['admin', 'bootc', 'status']):
            images = self.loaded(*args)
            self.assertIn('bkt', images, 'LD_DEBUG saw no bkt image for bkt %s: %s' % (args, images))
            self.assertGreater(len(images['bkt']), 3, images)   # libc, glib, gio…: the check sees loads
            self.assertNotIn('bkt-tool', images, 'bkt %s ran bkt-tool' % ' '.join(args))
            self.assertEqual(self.heavy(images['bkt']), [], 'bkt %s loaded %s' % (' '.join(args),
                                                                                  self.heavy(images['bkt'])))

    def test_repo_tools_run_in_bkt_tool(self):
        """The positive control: bkt execs bkt-tool (same process, LD_DEBUG follows the exec) and the
        same check finds libgit2 and libsoup there."""
        images = self.loaded('changelog', '--help')
        self.assertIn('bkt', images)
        self.assertIn('bkt-tool', images, 'bkt changelog did not exec bkt-tool: %s' % images)
        self.assertEqual(self.heavy(images['bkt']), [])
        found = self.heavy(images['bkt-tool'])
        self.assertTrue(any(x.startswith('libgit2') for x in found), found)
        self.assertTrue(any(x.startswith('libsoup') for x in found), found)
        # without BKT_TOOL_PATH, a bkt not in BINDIR (a build tree, a DESTDIR installation) runs the
        # bkt-tool beside it or in ../libexec, never one of another version
        rc, out, err = self.bkt('help', 'changelog', unset=('BKT_TOOL_PATH',))
        self.assertEqual(rc, 0, err)
        self.assertIn('Usage: bkt changelog [OPTION…] COMMAND', out)
        # and the installed layout: ldd agrees for the binaries themselves
        for binary, want_heavy in ((self.env.bkt, False), (os.path.join(bktenv.BUILD_DIR, 'client', 'bkt-tool'), True)):
            ldd = subprocess.run(['ldd', binary], capture_output=True, text=True, check=True).stdout
            self.assertEqual(any(h in ldd for h in HEAVY), want_heavy, '%s:\n%s' % (binary, ldd))

    # ---- help and usage ---------------------------------------------------------------

    def bkt(self, *args, **kw):
        return self.env.bkt_run(ADMIN, *args, echo=False, **kw)

    def test_help(self):
        rc, top, err = self.bkt('--help')
        self.assertEqual(rc, 0, err)
        rc, helped, err = self.bkt('help')
        self.assertEqual((rc, helped), (0, top))
        for args in (('--version',), ('-v', '--version'), ('-m', '/nonexistent', '--version')):
            rc, out, err = self.bkt(*args)
            self.assertEqual((rc, out.split()[0]), (0, 'bkt'), (args, out, err))
        for name in ('status', 'apply', 'flatpak (fp)', 'gsetting (gs)', 'extension (ext)', 'shim', 'dnf', 'dev',
                     'changelog', 'base', 'upstream', 'containerfile', 'drift', 'local', 'pr', 'admin', 'version'):
            self.assertRegex(top, r'\n  %s ' % re.escape(name))
        rc, out, err = self.bkt('help', 'flatpak')
        self.assertEqual(rc, 0, err)
        self.assertIn('Usage: bkt flatpak [OPTION…] COMMAND', out)
        self.assertRegex(out, r'\n  add +install a flatpak')
        rc, out, err = self.bkt('help', 'flatpak', 'add')
        self.assertEqual(rc, 0, err)
        self.assertIn('bkt flatpak add [OPTION…] ID', out)
        self.assertIn('--remote', out)
        self.assertNotIn('--comment', out)   # gsetting set's, not flatpak add's
        rc, out2, err = self.bkt('fp', 'add', '--help')
        self.assertEqual((rc, out2), (0, out))
        # the repo tools' help comes from bkt-tool's tables, with the same paths
        rc, out, err = self.bkt('help', 'changelog', 'add')
        self.assertEqual(rc, 0, err)
        self.assertIn('bkt changelog add [OPTION…] TYPE CATEGORY MESSAGE', out)
        rc, out, err = self.bkt('help', 'admin', 'systemctl')
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'\n  daemon-reload +')

    def test_options_only_where_they_apply(self):
        """A group whose commands share one function scopes its options per command: changelog add
        takes --draft, validate does not list or accept it; --confirm is clear's."""
        rc, add, err = self.bkt('changelog', 'add', '--help')
        self.assertEqual(rc, 0, err)
        self.assertIn('--draft', add)
        self.assertIn('a draft, to be reviewed', add)        # the "add: " scope is not shown
        rc, validate, err = self.bkt('changelog', 'validate', '--help')
        self.assertEqual(rc, 0, err)
        self.assertNotIn('--draft', validate)
        self.assertNotIn('--confirm', validate)
        rc, out, err = self.bkt('changelog', 'list', '--confirm', cwd=self.repo())
        self.assertEqual(rc, 2, err)
        self.assertEqual(err.splitlines()[0], 'bkt: changelog list: Unknown option --confirm')
        rc, out, err = self.bkt('base', 'snapshot', '--help')
        self.assertIn('--root', out)
        self.assertNotIn('--reason', out)

    def test_missing_and_extra_arguments(self):
        cases = [
            (('gs', 'set', 'org.gnome.desktop.interface'), 'bkt: gsetting set: missing KEY and VALUE',
             'Usage: bkt gsetting set [OPTION…] SCHEMA KEY VALUE'),
            (('flatpak', 'add'), 'bkt: flatpak add: missing ID', 'Usage: bkt flatpak add [OPTION…] ID'),
            (('changelog', 'add', 'added'), 'bkt: changelog add: missing CATEGORY and MESSAGE',
             'Usage: bkt changelog add [OPTION…] TYPE CATEGORY MESSAGE'),
            (('status', 'extra-arg'), 'bkt: status: too many arguments (extra-arg)', 'Usage: bkt status [OPTION…]'),
            (('flatpak',), 'bkt: flatpak: missing COMMAND', 'Usage: bkt flatpak [OPTION…] COMMAND'),
            (('flatpak', 'frobnicate'), 'bkt: unknown flatpak command “frobnicate”', 'Commands:'),
            (('frobnicate',), 'bkt: unknown command “frobnicate”', 'Commands:'),
        ]
        for args, first, usage in cases:
            rc, out, err = self.bkt(*args)
            self.assertEqual(rc, 2, 'bkt %s: %s' % (' '.join(args), err))
            self.assertEqual(err.splitlines()[0], first, err)
            self.assertIn(usage, err)
            self.assertEqual(out, '')

    def test_global_options_at_every_level(self):
        m = self.env.path('cli-manifests')
        os.makedirs(m, exist_ok=True)
        with open(os.path.join(m, 'flatpak-apps.json'), 'w') as f:
            json.dump({'apps': [{'id': 'org.test.Hello', 'remote': 'bkt-test', 'scope': 'user'}]}, f)
        os.system('chmod -R a+rX %s' % m)
        outs = []
        for args in (('-m', m, '--json', 'flatpak', 'list'), ('flatpak', '-m', m, '--json', 'list'),
                     ('flatpak', 'list', '--json', '-m', m), ('--json', 'fp', '--manifests=' + m, 'list')):
            rc, out, err = self.bkt(*args)
            self.assertEqual(rc, 0, 'bkt %s: %s' % (' '.join(args), err))
            outs.append(json.loads(out))
        self.assertEqual([e['id'] for e in outs[0]['entries']], ['org.test.Hello'])
        for o in outs[1:]:
            self.assertEqual(o['entries'], outs[0]['entries'])

    def test_original_global_options(self):
        """The original's spellings: -s/-x for --only/--exclude, `status -f json` for --json; the
        change options (--local, --pr-only, --context, --skip-preflight, --repo) before or after
        the command name at every level of a change, and a clear error (exit 2) on a command that
        does not take them, never silently ignored."""
        rc, long_form, err = self.bkt('status', '--json', '--only', 'gsettings')
        self.assertIn(rc, (0, 1), err)
        rc, short_form, err = self.bkt('status', '-f', 'json', '-s', 'gsettings')
        self.assertIn(rc, (0, 1), err)
        self.assertEqual(json.loads(short_form).keys(), json.loads(long_form).keys())
        self.assertEqual(json.loads(short_form)['subsystems'], json.loads(long_form)['subsystems'])
        self.assertEqual(list(json.loads(short_form)['subsystems']), ['gsettings'])
        rc, excluded, err = self.bkt('status', '-f', 'json', '-x', 'gsettings')
        self.assertNotIn('gsettings', json.loads(excluded)['subsystems'])
        self.assertIn('flatpak', json.loads(excluded)['subsystems'])
        rc, text, err = self.bkt('status', '-f', 'text', '-s', 'gsettings')
        self.assertRaises(ValueError, json.loads, text)
        rc, out, err = self.bkt('status', '-f', 'xml')
        self.assertEqual((rc, err.splitlines()[0]), (2, 'bkt: status: --format is text or json, not “xml”'))
        # a change: the options anywhere, the same plan (dry run: nothing changes)
        iface = 'org.gnome.desktop.interface'
        before = self.env.read_keyfile(ADMIN)
        plans = []
        for args in (('--local', '-n', 'gsetting', 'set', iface, 'clock-format', "'12h'"),
                     ('gsetting', '--local', 'set', '-n', iface, 'clock-format', "'12h'"),
                     ('gsetting', 'set', iface, 'clock-format', "'12h'", '--local', '--dry-run'),
                     ('--context', 'host', '--skip-preflight', 'gs', 'set', iface, 'clock-format', "'12h'",
                      '--local', '-n')):
            rc, out, err = self.bkt(*args)
            self.assertEqual(rc, 0, 'bkt %s: %s' % (' '.join(args), err))
            plans.append(out)
        self.assertTrue(all(p == plans[0] for p in plans), plans)
        self.assertIn('clock-format', plans[0])
        rc, pr_only, err = self.bkt('--pr-only', '-n', 'gs', 'set', iface, 'clock-format', "'12h'",
                                    '--repo', self.repo())
        self.assertEqual(rc, 0, err)
        self.assertNotEqual(pr_only, plans[0])    # --pr-only was read: no live operation in its plan
        self.assertEqual(self.env.read_keyfile(ADMIN), before)
        # not a change: refused where given, whatever the level
        for args in (('--local', 'status'), ('status', '--pr-only'), ('--context', 'dev', 'apply', '-n'),
                     ('flatpak', '--skip-preflight', 'list'), ('gs', 'list', '--context=image')):
            rc, out, err = self.bkt(*args)
            self.assertEqual(rc, 2, 'bkt %s: %s' % (' '.join(args), err))
            self.assertRegex(err.splitlines()[0], r'^bkt: [a-z ]+: --[a-z-]+ applies to commands that record a '
                                                  r'change and propose it \(flatpak add, gsetting set, …: CHANGE '
                                                  r'OPTIONS in bkt\(1\)\), not to [a-z ]+$')
            self.assertEqual(out, '')

    # ---- --json is JSON -----------------------------------------------------------------

    def repo(self):
        """A distribution repo (git) owned by ADMIN: the original's manifests, a Containerfile, the
        upstream manifest and a changelog."""
        r = self.env.path('cli-repo')
        if os.path.isdir(r):
            return r
        os.makedirs(os.path.join(r, 'manifests'))
        os.makedirs(os.path.join(r, 'upstream'))
        data = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data')
        for f in glob.glob(os.path.join(data, 'original', '*.json')):
            shutil.copy(f, os.path.join(r, 'manifests'))
        shutil.copy(os.path.join(data, 'original', 'upstream-manifest.json'), os.path.join(r, 'upstream', 'manifest.json'))
        shutil.copy(os.path.join(data, 'containerfile', 'Containerfile.in'), os.path.join(r, 'Containerfile'))
        with open(os.path.join(r, 'CHANGELOG.md'), 'w') as f:
            f.write('# Changelog\n\n<!-- changelog entries start -->\n')
        git = ['git', '-C', r, '-c', 'user.name=T', '-c', 'user.email=t@example.org']
        subprocess.run(['git', 'init', '-q', '-b', 'main', r], check=True)
        subprocess.run(git + ['add', '.'], check=True)
        subprocess.run(git + ['commit', '-q', '-m', 'initial'], check=True)
        subprocess.run(['chown', '-R', ADMIN + ':', r], check=True)
        return r

    def test_every_read_command_prints_json(self):
        repo = self.repo()
        upstream = json.load(open(os.path.join(repo, 'upstream', 'manifest.json')))['upstreams'][0]['name']
        # (arguments, exit statuses that are answers, not failures)
        daemon_reads = [
            (('version',), (0,)), (('status',), (0,)), (('apply', '--dry-run'), (0,)),
            (('capture', '--dry-run'), (0,)),
            (('flatpak', 'list'), (0,)), (('gsetting', 'list'), (0,)), (('extension', 'list'), (0,)),
            (('shim', 'list'), (0,)), (('dnf', 'list'), (0,)), (('dnf', 'copr', 'list'), (0,)),
            (('local', 'list'), (0,)),
            (('admin', 'bootc', 'status'), (0,)), (('changelog', 'motd', '--all'), (0,)),
        ]
        repo_reads = [
            (('changelog', 'pending'), (0,)), (('changelog', 'list'), (0,)), (('changelog', 'validate'), (0,)),
            (('changelog', 'show'), (0,)),
            (('base', 'list'), (0,)), (('base', 'info'), (0,)), (('base', 'verify'), (0, 1)),
            (('upstream', 'list'), (0,)), (('upstream', 'info', upstream), (0,)),
            (('containerfile', 'check'), (0, 1)), (('drift', 'check', '--skip-system'), (0, 1)),
        ]
        # dnf diff reads `rpm-ostree status --json` itself: the double (no state: nothing layered)
        double = os.path.join(bktenv.SOURCE_DIR, 'tests', 'doubles', 'rpm-ostree-double')
        client_reads = [(('dnf', 'diff', '-m', os.path.join(repo, 'manifests')), (0, 1))]
        for args, answers in daemon_reads + client_reads + [(a + ('--repo', repo), ok) for a, ok in repo_reads]:
            rc, out, err = self.bkt('--json', *args, cwd=repo, env_extra={'BKT_RPM_OSTREE': double})
            self.assertIn(rc, answers, 'bkt --json %s: rc=%d %s' % (' '.join(args), rc, err))
            try:
                doc = json.loads(out)
            except ValueError as e:
                self.fail('bkt --json %s printed no JSON (%s):\n%s' % (' '.join(args), e, out))
            self.assertIsInstance(doc, (dict, list), args)
        rc, out, err = self.bkt('version', '--json')
        v = json.loads(out)
        self.assertEqual(v['bkt'], v['bktd'])


if __name__ == '__main__':
    bktenv.main()
