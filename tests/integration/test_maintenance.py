#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Repo-side maintenance tools, client only, no session bus and no daemon:
`bkt changelog` on a fixture distribution repo with real git history
(round trips, release numbering across days with BKT_NOW, drafts blocking
a release, bad input refused with file and line and nothing written) and
`bkt base` (the original's assumptions file, assume/unassume writing
changelog entries, verify against a real RPM database built with
tests/rpm-repo.sh and dnf --installroot).  The commands are the ones the
workflows in .github/workflows/ call.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402

SRC = bktenv.SOURCE_DIR
BKT = bktenv.install().bkt
ORIGINAL = os.path.join(SRC, 'tests', 'data', 'original', 'base-image-assumptions.json')
EXIT_FAILED, EXIT_USAGE, EXIT_INVALID = 1, 2, 5


def git(repo, *args):
    subprocess.run(['git', '-C', repo, '-c', 'user.name=T', '-c', 'user.email=t@example.org'] + list(args),
                   check=True, capture_output=True)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='bkt-maint-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        home = os.path.join(self.tmp, 'home')
        os.makedirs(home)
        self.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, '.config'),
                        XDG_DATA_HOME=os.path.join(home, '.local', 'share'),
                        BKT_REPO_JSON=os.path.join(self.tmp, 'no-repo.json'), LC_ALL='C.UTF-8')
        # A CI container: no session bus, no daemon.
        for k in ('DBUS_SESSION_BUS_ADDRESS', 'DBUS_SYSTEM_BUS_ADDRESS', 'BKT_NOW', 'BKT_RPM'):
            self.env.pop(k, None)
        self.env['DBUS_SESSION_BUS_ADDRESS'] = 'unix:path=' + os.path.join(self.tmp, 'no-bus')
        self.repo = os.path.join(self.tmp, 'distro')
        os.makedirs(os.path.join(self.repo, 'manifests'))
        shutil.copy(ORIGINAL, os.path.join(self.repo, 'manifests'))
        with open(os.path.join(self.repo, 'CHANGELOG.md'), 'w') as f:
            f.write('# Changelog\n\nAll notable changes.\n\n<!-- changelog entries start -->\n')
        git(self.repo, 'init', '-q', '-b', 'main')
        git(self.repo, 'add', '.')
        git(self.repo, 'commit', '-q', '-m', 'initial')

    def bkt(self, *args, cwd=None, now=None):
        env = dict(self.env)
        if now:
            env['BKT_NOW'] = now
        return subprocess.run([BKT] + list(args), cwd=cwd or self.repo, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)

    def ok(self, *args, **kw):
        r = self.bkt(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def snapshot(self):
        out = {}
        for d, _, files in os.walk(self.repo):
            if '.git' in d.split(os.sep):
                continue
            for n in files:
                p = os.path.join(d, n)
                with open(p, 'rb') as f:
                    out[os.path.relpath(p, self.repo)] = f.read()
        return out

    def pending(self):
        d = os.path.join(self.repo, '.changelog', 'pending')
        return sorted(os.listdir(d)) if os.path.isdir(d) else []


class ChangelogTest(Base):
    def test_round_trip_and_release_across_days(self):
        self.ok('changelog', 'add', 'added', 'flatpak', 'Add Firefox', '--pr', '12',
                '--command', 'bkt flatpak add org.mozilla.firefox', '--manual-step', 'Log out and back in',
                now='2026-01-05T09:00:00Z')
        # the original's YAML entries are read too
        with open(os.path.join(self.repo, '.changelog', 'pending', '20260105T100000Z-dnf.yaml'), 'w') as f:
            f.write('timestamp: 2026-01-05T10:00:00Z\ntype: fixed\ncategory: dnf\n'
                    'message: Fix the htop shim\ndraft: false\n')
        git(self.repo, 'add', '.')
        git(self.repo, 'commit', '-q', '-m', 'entries')
        r = self.ok('changelog', 'pending', '--json')
        entries = json.loads(r.stdout)['pending']
        self.assertEqual([e['type'] for e in entries], ['added', 'fixed'])
        self.assertEqual(entries[0]['manual_steps'], ['Log out and back in'])
        self.ok('changelog', 'validate')
        # the original's form of add: -t TYPE -c CATEGORY MESSAGE [--draft]
        r = self.ok('changelog', 'add', '-t', 'changed', '-c', 'gsetting', 'Use the dark style', '--draft',
                    now='2026-01-05T11:00:00Z')
        with open(r.stdout.strip()) as f:
            e = json.load(f)
        self.assertEqual((e['type'], e['category'], e['message'], e['draft']),
                         ('changed', 'gsetting', 'Use the dark style', True))
        self.assertEqual(self.bkt('changelog', 'add', '-t', 'changed', 'gsetting').returncode, EXIT_USAGE)
        os.unlink(r.stdout.strip())

        # released from a subdirectory: the repo's versions, not the cwd's
        sub = os.path.join(self.repo, 'manifests')
        self.assertIn('Released 2026.01.05.1', self.ok('changelog', 'release', cwd=sub, now='2026-01-05T11:00:00Z').stdout)
        self.assertEqual(self.pending(), [])
        self.ok('changelog', 'add', 'changed', 'gsetting', 'Dark style', now='2026-01-05T12:00:00Z')
        self.assertIn('2026.01.05.2', self.ok('changelog', 'release', now='2026-01-05T13:00:00Z').stdout)
        self.ok('changelog', 'add', 'security', 'base', 'Newer polkit', now='2026-01-06T01:00:00Z')
        elsewhere = os.path.join(self.tmp, 'elsewhere')
        os.makedirs(os.path.join(elsewhere, '.changelog', 'versions'))
        open(os.path.join(elsewhere, '.changelog', 'versions', '2026.01.06.7.json'), 'w').close()
        self.assertIn('2026.01.06.1', self.ok('--repo', self.repo, 'changelog', 'release', cwd=elsewhere,
                                              now='2026-01-06T02:00:00Z').stdout)

        listed = self.ok('changelog', 'list', '--json')
        self.assertEqual(json.loads(listed.stdout)['versions'], ['2026.01.06.1', '2026.01.05.2', '2026.01.05.1'])
        shown = self.ok('changelog', 'show', '2026.01.05.1').stdout
        self.assertIn('### Added\n\n- **flatpak**: Add Firefox (`bkt flatpak add org.mozilla.firefox`) (#12)', shown)
        self.assertIn('### Fixed\n\n- **dnf**: Fix the htop shim', shown)
        self.assertIn('### Manual steps\n\n- Log out and back in', shown)
        with open(os.path.join(self.repo, 'CHANGELOG.md')) as f:
            md = f.read()
        self.assertTrue(md.startswith('# Changelog\n\nAll notable changes.\n\n<!-- changelog entries start -->\n\n'
                                      '## 2026.01.06.1 (2026-01-06)\n'), md)
        self.assertLess(md.index('## 2026.01.05.2'), md.index('## 2026.01.05.1'))
        self.assertEqual(self.ok('changelog', 'show').stdout, md)
        with open(os.path.join(self.repo, '.changelog', 'versions', '2026.01.05.1.json')) as f:
            doc = json.load(f)
        self.assertEqual(doc['version'], '2026.01.05.1')
        self.assertEqual(len(doc['entries']), 2)
        git(self.repo, 'add', '-A')
        git(self.repo, 'commit', '-q', '-m', 'release')

    def test_show_without_changelog_md(self):
        os.unlink(os.path.join(self.repo, 'CHANGELOG.md'))
        r = self.bkt('changelog', 'show')
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
        self.assertIn('has no CHANGELOG.md yet: `bkt changelog release` creates it', r.stderr)
        self.assertIn('<!-- changelog entries start -->', r.stderr)
        self.assertNotIn('Failed to open', r.stderr)

    def test_drafts_block_release(self):
        self.ok('changelog', 'add', 'added', 'extension', 'Add Dash to Dock', '--draft')
        before = self.snapshot()
        r = self.bkt('changelog', 'validate', '--no-drafts')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('is a draft', r.stderr)
        r = self.bkt('changelog', 'release')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('draft', r.stderr)
        self.assertEqual(self.snapshot(), before)
        # validate fails on drafts by default (the original's behaviour: distribution CI
        # blocks them on merge), naming the fix; --allow-drafts accepts them (a PR may carry them)
        r = self.bkt('changelog', 'validate')
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn('is a draft', r.stderr)
        self.assertIn('--allow-drafts', r.stderr)
        self.ok('changelog', 'validate', '--allow-drafts')

    def test_bad_input_nothing_written(self):
        pend = os.path.join(self.repo, '.changelog', 'pending')
        os.makedirs(pend)
        cases = [
            ('a.yaml', 'timestamp: 2026-01-05T10:00:00Z\ntype: improved\ncategory: dnf\nmessage: m\n',
             '.changelog/pending/a.yaml:2: unknown type'),
            ('b.yaml', 'timestamp: 2026-01-05T10:00:00Z\ntype: added\ncategory: nope\nmessage: m\n',
             '.changelog/pending/b.yaml:3: unknown category'),
            ('c.json', '{\n  "type": "added",\n  "message": \n}\n', '.changelog/pending/c.json:4:'),
            ('d.yaml', 'x' * (64 * 1024 + 1), '.changelog/pending/d.yaml:1: too large'),
            ('e..json', '{}', 'not a changelog entry name'),
        ]
        for name, text, message in cases:
            with self.subTest(name=name):
                with open(os.path.join(pend, name), 'w') as f:
                    f.write(text)
                before = self.snapshot()
                for cmd in (['validate'], ['pending'], ['release']):
                    r = self.bkt('changelog', *cmd)
                    self.assertEqual(r.returncode, EXIT_INVALID, r.stdout + r.stderr)
                    self.assertIn(message, r.stderr)
                self.assertEqual(self.snapshot(), before)
                os.unlink(os.path.join(pend, name))
        for args in (['show', '../../etc/passwd'], ['release', '2026.01.05'], ['add', 'added', 'flatpack', 'm'],
                     ['add', 'improved', 'dnf', 'm']):
            before = self.snapshot()
            r = self.bkt('changelog', *args)
            self.assertEqual(r.returncode, EXIT_INVALID, r.stdout + r.stderr)
            self.assertEqual(self.snapshot(), before)
        r = self.bkt('changelog', 'clear')
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.ok('changelog', 'add', 'fixed', 'docs', 'typo')
        self.assertIn('Removed 1', self.ok('changelog', 'clear', '--confirm').stdout)
        self.assertEqual(self.pending(), [])

    def test_no_repo(self):
        r = self.bkt('changelog', 'pending', cwd=self.tmp)
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)


class ContainerfileTest(Base):
    def test_no_managed_sections(self):
        """Nothing to compare is not "up to date": say there is no section and how to add one."""
        with open(os.path.join(self.repo, 'Containerfile'), 'w') as f:
            f.write('FROM quay.io/fedora/fedora-silverblue:41\nRUN dnf install -y zsh\n')
        before = self.snapshot()
        for sub in ('check', 'sync'):
            r = self.bkt('containerfile', sub)
            self.assertEqual(r.returncode, EXIT_INVALID, r.stdout + r.stderr)
            self.assertNotIn('up to date', r.stdout + r.stderr)
            self.assertIn('has no section managed by bkt, so nothing was checked or written', r.stderr)
            self.assertIn('# === SYSTEM_PACKAGES (managed by bkt) ===\n  # === END SYSTEM_PACKAGES ===', r.stderr)
        self.assertEqual(self.snapshot(), before)
        r = self.bkt('drift', 'check', '--skip-system', '--json')
        self.assertEqual(json.loads(r.stdout)['containerfile']['state'], 'skipped', r.stdout)

    def test_dry_run_sync_writes_nothing(self):
        shutil.copy(os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in'),
                    os.path.join(self.repo, 'Containerfile'))
        before = self.snapshot()
        for args in (['-n', 'containerfile', 'sync'], ['containerfile', 'sync', '--dry-run']):
            r = self.ok(*args)
            self.assertIn('would regenerate COPR_REPOS, SYSTEM_PACKAGES, HOST_SHIMS (--dry-run: nothing written)',
                          r.stdout)
            self.assertEqual(self.snapshot(), before)
        self.assertIn(': regenerated', self.ok('containerfile', 'sync').stdout)
        self.assertNotEqual(self.snapshot(), before)


class BaseTest(Base):
    def test_verify_without_package_records(self):
        """A root whose RPM database records nothing (a host that does not use rpm): the
        packages are "not recorded", never MISSING, and the result is "not verified"
        (exit 7), not drift; a path that is really missing is still drift (exit 1)."""
        root = os.path.join(self.tmp, 'root')
        os.makedirs(os.path.join(root, 'usr', 'bin'))
        open(os.path.join(root, 'usr', 'bin', 'flatpak'), 'w').close()
        with open(os.path.join(self.repo, 'manifests', 'base-image-assumptions.json'), 'w') as f:
            json.dump({'base_image': {'source': 'test'}, 'packages': [{'name': 'flatpak', 'reason': 'apps'}],
                       'paths': ['/usr/bin/flatpak']}, f)
        r = self.bkt('base', 'verify', '--root', root)
        self.assertEqual(r.returncode, 7, r.stdout + r.stderr)
        self.assertNotIn('MISSING', r.stdout)
        self.assertIn('NOT RECORDED flatpak', r.stdout)
        self.assertIn('the RPM database has no record of any package', r.stdout)
        self.assertIn('NOT VERIFIED', r.stdout)
        out = json.loads(self.bkt('base', 'verify', '--root', root, '--json').stdout)
        self.assertEqual(out['packages']['unknown'], ['flatpak'])
        self.assertEqual(out['packages']['missing'], [])
        self.assertTrue(out['unverified'])
        self.assertFalse(out['ok'])
        # drift check: a check that could not run (2), not drift
        r = self.bkt('drift', 'check', '--root', root, '--skip-system', '--json')
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)['base']['state'], 'unverified')
        os.unlink(os.path.join(root, 'usr', 'bin', 'flatpak'))
        r = self.bkt('base', 'verify', '--root', root)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn('MISSING /usr/bin/flatpak', r.stdout)

    def test_original_file_list_info(self):
        r = self.ok('base', 'info')
        self.assertIn('ghcr.io/ublue-os/bazzite-gnome:stable', r.stdout)
        self.assertIn('8 packages, 2 services, 7 paths', r.stdout)
        self.assertIn('rpm-ostree', self.ok('base', 'list').stdout)

    def test_assume_unassume_write_changelog(self):
        path = os.path.join(self.repo, 'manifests', 'base-image-assumptions.json')
        with open(path) as f:
            original = f.read()
        self.ok('base', 'assume', 'grub2', '--reason', 'Boots the image', now='2026-02-01T00:00:00Z')
        with open(path) as f:
            added = f.read()
        self.assertIn('{\n      "name": "grub2",\n      "reason": "Boots the image"\n    }', added)
        entries = json.loads(self.ok('changelog', 'pending', '--json').stdout)['pending']
        self.assertEqual(len(entries), 1)
        self.assertEqual((entries[0]['type'], entries[0]['category']), ('added', 'base'))
        self.assertIn('bkt base assume grub2', entries[0]['command'])
        before = self.snapshot()
        for args in (['assume', 'grub2'], ['unassume', 'nano'], ['assume', '--', '-rf']):
            r = self.bkt('base', *args)
            self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
            self.assertEqual(self.snapshot(), before)
        self.ok('base', 'unassume', 'grub2', now='2026-02-01T00:00:01Z')
        with open(path) as f:
            self.assertEqual(f.read(), original)
        self.assertEqual(len(self.pending()), 2)

    def test_assume_without_changelog_writes_nothing(self):
        # .changelog is a file: the entry cannot be written, so neither is the assumption
        with open(os.path.join(self.repo, '.changelog'), 'w') as f:
            f.write('not a directory\n')
        before = self.snapshot()
        r = self.bkt('base', 'assume', 'grub2')
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.snapshot(), before)

    def test_bad_file(self):
        path = os.path.join(self.repo, 'manifests', 'base-image-assumptions.json')
        with open(path, 'w') as f:
            f.write('{\n  "base_image": {"source": "x"},\n  "packages": [{"name": 3}]\n}\n')
        r = self.bkt('base', 'verify')
        self.assertEqual(r.returncode, EXIT_INVALID)
        self.assertIn('base-image-assumptions.json:3:', r.stderr)


class DriftTest(Base):
    """`bkt drift check`: exit 0 none, 1 drift, 2 a check could not run."""

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.repo, 'manifests', 'base-image-assumptions.json'), 'w') as f:
            json.dump({'base_image': {'source': 'test'}, 'packages': [], 'paths': ['/']}, f)
        shutil.copy(os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in'),
                    os.path.join(self.repo, 'Containerfile'))
        self.ok('containerfile', 'sync')
        # the manifests vs this system: a private bktd --session from the build tree
        self.env['BKTD_PATH'] = bktenv.install().bktd
        self.env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=' + os.path.join(self.tmp, 'no-system-bus')
        self.env.pop('DBUS_SESSION_BUS_ADDRESS')

    def drift(self, *args):
        r = self.bkt('drift', 'check', '--json', *args)
        return r.returncode, json.loads(r.stdout) if r.stdout else None, r.stderr

    def test_none_then_each_kind(self):
        rc, out, err = self.drift()
        self.assertEqual(rc, 0, (out, err))
        self.assertEqual(out['result'], 'none')
        # the repo's manifests/ holds only the base assumptions: nothing to compare with the
        # system, said as such (not "ok")
        self.assertEqual([out[k]['state'] for k in ('base', 'containerfile', 'system')], ['ok', 'ok', 'skipped'],
                         out)
        self.assertIn('holds no manifest', out['system']['detail'])

        # manifests vs system: a shim the manifests list and the system lacks
        with open(os.path.join(self.repo, 'manifests', 'host-shims.json'), 'w') as f:
            json.dump({'shims': [{'name': 'podman'}]}, f)
        self.ok('containerfile', 'sync')
        rc, out, err = self.drift()
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(out['system']['state'], 'drift')
        # one item per line, per subsystem; the detail counts them
        self.assertEqual(out['system']['detail'], '1 item(s) differ (shim 1)')
        self.assertEqual(len(out['system']['items']['shim']), 1)
        self.assertIn('shim:podman', out['system']['items']['shim'][0])
        self.assertEqual(out['containerfile']['state'], 'ok')

        # the Containerfile out of date
        with open(os.path.join(self.repo, 'manifests', 'system-packages.json'), 'w') as f:
            json.dump({'packages': ['fish'], 'groups': [], 'excluded': [], 'copr_repos': []}, f)
        rc, out, err = self.drift('--skip-system')
        self.assertEqual(rc, 1)
        self.assertEqual(out['containerfile']['state'], 'drift')
        self.assertIn('SYSTEM_PACKAGES', out['containerfile']['detail'])
        self.assertEqual(out['system']['state'], 'skipped')
        self.ok('containerfile', 'sync')

        # a base assumption that does not hold
        with open(os.path.join(self.repo, 'manifests', 'base-image-assumptions.json'), 'w') as f:
            json.dump({'base_image': {'source': 'test'}, 'packages': [], 'paths': ['/no/such/bkt-path']}, f)
        rc, out, err = self.drift('--skip-system')
        self.assertEqual(rc, 1)
        self.assertEqual(out['base']['state'], 'drift')
        self.assertEqual(out['base']['detail'], '/no/such/bkt-path')
        r = self.bkt('drift', 'check', '--skip-system')
        self.assertEqual(r.returncode, 1)
        self.assertIn('base           drift    /no/such/bkt-path', r.stdout)

    def test_unknown_setting_is_not_none(self):
        """A setting whose schema is not installed cannot be checked: not "No drift" (it was folded
        into in sync and exit 0)."""
        with open(os.path.join(self.repo, 'manifests', 'gsettings.json'), 'w') as f:
            json.dump({'settings': [{'schema': 'org.bkt.no.such.schema', 'key': 'k', 'value': '1'}]}, f)
        rc, out, err = self.drift()
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(out['system']['state'], 'drift', out)
        self.assertEqual(out['system']['detail'], '1 item(s) differ (gsettings 1)', out)
        self.assertEqual(len(out['system']['items']['gsettings']), 1, out)
        self.assertIn('cannot be checked: gsetting:org.bkt.no.such.schema.k', out['system']['items']['gsettings'][0])

    def test_errors_are_2(self):
        with open(os.path.join(self.repo, 'manifests', 'base-image-assumptions.json'), 'w') as f:
            f.write('{"base_image": {"source": "x"}, "packages": [{"name": "-x"}]}')
        rc, out, err = self.drift('--skip-system')
        self.assertEqual(rc, 2)
        self.assertEqual(out['base']['state'], 'error')
        self.assertIn('base-image-assumptions.json:1:', out['base']['detail'])
        with open(os.path.join(self.repo, 'Containerfile'), 'a') as f:
            f.write('# === SYSTEM_PACKAGES (managed by bkt) ===\n')
        rc, out, err = self.drift('--skip-system')
        self.assertEqual(rc, 2)
        self.assertEqual(out['containerfile']['state'], 'error')
        r = self.bkt('drift', 'check', cwd=self.tmp)
        self.assertEqual(r.returncode, 2)

    def test_no_engine_in_ci(self):
        self.env['BKTD_PATH'] = os.path.join(self.tmp, 'no-bktd')
        rc, out, err = self.drift()
        self.assertEqual(rc, 0, (out, err))
        self.assertEqual(out['system']['state'], 'skipped')


class WorkflowTest(Base):
    """The commands and scripts of the reusable workflows, run on the fixture repo."""

    def workflow_runs(self, name):
        import yaml
        with open(os.path.join(SRC, '.github', 'workflows', name)) as f:
            doc = yaml.safe_load(f)
        self.assertIn('workflow_call', doc[True] if True in doc else doc['on'])
        return {step['name']: step['run'] for job in doc['jobs'].values() for step in job['steps'] if 'run' in step}

    def run_step(self, script):
        # The workflow's paths: bkt/build/client/bkt is the client, distro the repo.
        script = script.replace('bkt/build/client/bkt', BKT)
        return subprocess.run(['bash', '-ec', script], cwd=self.tmp, env=self.env, capture_output=True, text=True)

    def changelog_required(self, base, head):
        return subprocess.run(['bash', os.path.join(SRC, '.github', 'scripts', 'changelog-required.sh'), base, head],
                              cwd=self.repo, capture_output=True, text=True)

    def test_changelog_workflow(self):
        runs = self.workflow_runs('distro-changelog.yml')
        self.assertIn('changelog-required.sh', runs['Manifest changes carry a changelog entry'])
        # a PR branch editing a manifest by hand, without an entry
        git(self.repo, 'checkout', '-q', '-b', 'pr')
        path = os.path.join(self.repo, 'manifests', 'base-image-assumptions.json')
        with open(path) as f:
            doc = json.load(f)
        doc['paths'].append('/usr/bin/toolbox')
        with open(path, 'w') as f:
            json.dump(doc, f, indent=2)
        git(self.repo, 'commit', '-q', '-am', 'hand edit')
        r = self.changelog_required('main', 'pr')
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('adds no .changelog/pending/ entry', r.stderr)
        # with a draft entry: the entry check passes, the merge check does not
        self.ok('changelog', 'add', 'added', 'base', 'Assume toolbox', '--draft')
        git(self.repo, 'add', '-A')
        git(self.repo, 'commit', '-q', '-m', 'entry')
        self.assertEqual(self.changelog_required('main', 'pr').returncode, 0)
        self.assertEqual(self.run_step(runs['Pending entries are valid']).returncode, 0)
        r = self.run_step(runs['No draft entries on merge'])
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('is a draft', r.stderr)
        for name in self.pending():
            p = os.path.join(self.repo, '.changelog', 'pending', name)
            with open(p) as f:
                e = json.load(f)
            e['draft'] = False
            with open(p, 'w') as f:
                json.dump(e, f)
        self.assertEqual(self.run_step(runs['No draft entries on merge']).returncode, 0)
        git(self.repo, 'commit', '-q', '-am', 'reviewed')
        # a change outside manifests/ needs no entry
        git(self.repo, 'checkout', '-q', 'main')
        git(self.repo, 'checkout', '-q', '-b', 'docs')
        with open(os.path.join(self.repo, 'README.md'), 'w') as f:
            f.write('docs\n')
        git(self.repo, 'add', '-A')
        git(self.repo, 'commit', '-q', '-m', 'docs')
        self.assertEqual(self.changelog_required('main', 'docs').returncode, 0)
        # a broken entry fails validation with its file and line
        os.makedirs(os.path.join(self.repo, '.changelog', 'pending'), exist_ok=True)
        with open(os.path.join(self.repo, '.changelog', 'pending', 'x.yaml'), 'w') as f:
            f.write('type: nope\n')
        r = self.run_step(runs['Pending entries are valid'])
        self.assertEqual(r.returncode, EXIT_INVALID)
        self.assertIn('.changelog/pending/x.yaml:1:', r.stderr)

    def test_verify_workflow_commands(self):
        runs = self.workflow_runs('distro-verify-assumptions.yml')
        script = runs['Verify the assumptions and the Containerfile']
        self.assertIn('base verify --root /base --repo distro', script)
        self.assertIn('containerfile check --repo distro', script)
        # the Containerfile part on the fixture: up to date after a sync, drift is exit 1
        shutil.copy(os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in'),
                    os.path.join(self.repo, 'Containerfile'))
        with open(os.path.join(self.repo, 'manifests', 'system-packages.json'), 'w') as f:
            json.dump({'packages': ['htop'], 'groups': [], 'excluded': [], 'copr_repos': []}, f)
        with open(os.path.join(self.repo, 'manifests', 'host-shims.json'), 'w') as f:
            json.dump({'shims': []}, f)
        self.ok('containerfile', 'sync', '--repo', self.repo)
        check = [BKT, 'containerfile', 'check', '--repo', 'distro']
        self.assertEqual(subprocess.run(check, cwd=self.tmp, env=self.env, capture_output=True).returncode, 0)
        with open(os.path.join(self.repo, 'manifests', 'system-packages.json'), 'w') as f:
            json.dump({'packages': ['htop', 'fish'], 'groups': [], 'excluded': [], 'copr_repos': []}, f)
        self.assertEqual(subprocess.run(check, cwd=self.tmp, env=self.env, capture_output=True).returncode,
                         EXIT_FAILED)
        # base verify --root --repo distro: see VerifyRpmTest for a real RPM database.

    def test_drift_workflow_report(self):
        runs = self.workflow_runs('distro-drift.yml')
        self.assertIn('drift-report.sh bkt/build/client/bkt distro /base report', runs['Drift check'])
        self.assertIn('gh issue create', runs['Open or update the drift issue'])
        script = os.path.join(SRC, '.github', 'scripts', 'drift-report.sh')
        root = os.path.join(self.tmp, 'base')
        os.makedirs(os.path.join(root, 'usr', 'bin'))
        with open(os.path.join(self.repo, 'manifests', 'base-image-assumptions.json'), 'w') as f:
            json.dump({'base_image': {'source': 'test'}, 'packages': [],
                       'paths': ['/usr/bin', '/usr/bin/podman']}, f)
        out = os.path.join(self.tmp, 'report')
        r = subprocess.run(['bash', script, BKT, 'distro', root, out], cwd=self.tmp, env=self.env,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        with open(os.path.join(out, 'drift.json')) as f:
            self.assertEqual(json.load(f)['base']['detail'], '/usr/bin/podman')
        with open(os.path.join(out, 'drift.md')) as f:
            md = f.read()
        self.assertIn('no longer provides', md)
        self.assertIn('/usr/bin/podman', md)
        open(os.path.join(root, 'usr', 'bin', 'podman'), 'w').close()
        r = subprocess.run(['bash', script, BKT, 'distro', root, out], cwd=self.tmp, env=self.env,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, 'drift.md')) as f:
            self.assertIn('No drift.', f.read())


@bktenv.requires('dnf', 'rpmbuild', 'createrepo_c', 'rpm', root=True)
class GenerateTest(Base):
    """`bkt changelog generate` on the fixture repo's real git history: the
    entries the manifest changes imply, exactly; --write; then nothing new."""

    def setUp(self):
        super().setUp()
        # origin knows main: the default base is the merge-base with origin/main
        origin = os.path.join(self.tmp, 'origin.git')
        subprocess.run(['git', 'clone', '-q', '--bare', self.repo, origin], check=True)
        git(self.repo, 'remote', 'add', 'origin', origin)
        git(self.repo, 'fetch', '-q', 'origin')
        git(self.repo, 'remote', 'set-head', 'origin', 'main')
        self.write('manifests/flatpak-apps.json', {'apps': [
            {'id': 'org.gnome.Calculator', 'remote': 'flathub', 'scope': 'system'},
            {'id': 'org.gnome.Maps', 'remote': 'flathub', 'scope': 'system'}]})
        self.write('manifests/host-shims.json', {'shims': [{'name': 'podman'}, {'name': 'ujust'}]})
        git(self.repo, 'add', '.')
        git(self.repo, 'commit', '-q', '-m', 'apps and shims')
        git(self.repo, 'push', '-q', 'origin', 'main')
        git(self.repo, 'fetch', '-q', 'origin')

    def write(self, rel, doc):
        p = os.path.join(self.repo, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            json.dump(doc, f, indent=2)

    def messages(self, *args):
        r = self.ok('changelog', 'generate', '--json', *args)
        out = json.loads(r.stdout)
        return out, ['%s %s: %s' % (e['type'], e['category'], e['message']) for e in out['entries']]

    def test_generate_write_then_nothing(self):
        out, msgs = self.messages()
        self.assertEqual(msgs, [])
        self.assertTrue(out['base'].startswith('merge-base with origin/main ('), out['base'])
        # a local commit (not pushed) and uncommitted changes in several manifests
        self.write('manifests/flatpak-apps.json', {'apps': [
            {'id': 'org.gnome.Maps', 'remote': 'flathub', 'scope': 'user'},
            {'id': 'org.mozilla.firefox', 'remote': 'flathub', 'scope': 'system'}]})
        git(self.repo, 'commit', '-q', '-am', 'apps')
        self.write('manifests/host-shims.json', {'shims': [{'name': 'podman'}]})
        self.write('manifests/gsettings.json', {'settings': [
            {'schema': 'org.gnome.desktop.interface', 'key': 'color-scheme', 'value': "'prefer-dark'"}]})
        self.write('manifests/toolbox-packages.json', {'packages': ['ripgrep']})
        self.write('manifests/system-packages.json', {'packages': ['htop'], 'groups': [], 'excluded': [],
                                                      'copr_repos': [{'name': 'atim/starship', 'enabled': True,
                                                                      'gpg_check': True}]})
        # `bkt base assume` wrote its entry already: generate recognises it
        self.ok('base', 'assume', 'zsh', '--reason', 'The login shell')
        self.ok('base', 'unassume', 'flatpak')
        with open(os.path.join(self.repo, 'manifests', 'base-image-assumptions.json')) as f:
            base = json.load(f)
        base['paths'] = base.get('paths', []) + ['/usr/bin/zsh']
        self.write('manifests/base-image-assumptions.json', base)
        self.write('upstream/manifest.json', {'upstreams': [
            {'name': 'starship', 'source': {'type': 'github', 'repo': 'starship/starship'},
             'pinned': {'version': 'v1.20.0', 'sha256': 'ab' * 32, 'pinned_at': '2026-01-01T00:00:00Z'},
             'policy': 'minor'}]})
        before = self.pending()
        out, msgs = self.messages()
        self.assertEqual(msgs, [
            'changed flatpak: change flatpak org.gnome.Maps',
            'added flatpak: add flatpak org.mozilla.firefox',
            'removed flatpak: remove flatpak org.gnome.Calculator',
            'added gsetting: set gsetting org.gnome.desktop.interface color-scheme',
            'removed shim: remove shim ujust',
            'added dnf: add dnf htop',
            'added dnf: add dnf copr atim/starship',
            'added toolbox: add toolbox ripgrep',
            'added base: Assume the base image provides path /usr/bin/zsh',
            'added upstream: Add upstream starship (starship/starship) at v1.20.0',
        ])
        self.assertEqual(out['covered'], 2)   # assume zsh, unassume flatpak
        self.assertEqual(self.pending(), before, 'a preview writes nothing')
        # text output says the same
        r = self.ok('changelog', 'generate')
        self.assertIn('  added    toolbox: add toolbox ripgrep\n', r.stdout)
        self.assertIn('(2 covered by pending entries already)', r.stdout)

        r = self.ok('changelog', 'generate', '--write', '--json')
        written = json.loads(r.stdout)['written']
        self.assertEqual(len(written), 10)
        self.assertEqual(len(self.pending()), len(before) + 10)
        for p in written:
            with open(p) as f:
                self.assertTrue(json.load(f)['draft'], p)
        # drafts block a release until reviewed; validate accepts them only when allowed
        self.ok('changelog', 'validate', '--allow-drafts')
        self.assertEqual(self.bkt('changelog', 'validate').returncode, EXIT_FAILED)
        again = self.pending()
        out, msgs = self.messages('--write')
        self.assertEqual(msgs, [])
        self.assertEqual(self.pending(), again)

        # --base: against the local commit only the uncommitted part
        out, msgs = self.messages('--base', 'HEAD')
        self.assertEqual(msgs, [])
        self.assertEqual(out['covered'], 9)   # the flatpak changes are committed
        self.assertTrue(out['base'].startswith('HEAD ('), out)

    def test_bad_input(self):
        snap = self.snapshot()
        # an option smuggled in as the revision: refused as such, and nothing it names ever runs
        marker = os.path.join(self.tmp, 'upload-pack-ran')
        injected = '--upload-pack=touch ' + marker
        r = self.bkt('changelog', 'generate', '--base', injected, '--write')
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
        self.assertEqual(r.stderr, 'bkt: not a git revision: “%s”\n' % injected)
        self.assertFalse(os.path.exists(marker), 'the injected --upload-pack command ran')
        r = self.bkt('changelog', 'generate', '--base=-x', '--write')
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
        self.assertIn('not a git revision', r.stderr)
        r = self.bkt('changelog', 'generate', '--base', 'no-such-ref')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('no revision “no-such-ref”', r.stderr)
        with open(os.path.join(self.repo, 'manifests', 'host-shims.json'), 'w') as f:
            f.write('{"shims": [\n  {"name": "podman"},\n  {"name": 7}\n]}\n')
        r = self.bkt('changelog', 'generate', '--write')
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
        self.assertRegex(r.stderr, r'manifests/host-shims\.json:3:\d+: ')
        # a malformed file in history names the commit and the path
        git(self.repo, 'commit', '-q', '-am', 'broken shims')
        with open(os.path.join(self.repo, 'manifests', 'host-shims.json'), 'w') as f:
            f.write('{"shims": []}\n')
        r = self.bkt('changelog', 'generate', '--base', 'HEAD')
        self.assertEqual(r.returncode, EXIT_INVALID, r.stderr)
        self.assertIn('HEAD:manifests/host-shims.json:3:', r.stderr)
        snap.pop('manifests/host-shims.json')
        now = self.snapshot()
        now.pop('manifests/host-shims.json')
        self.assertEqual(now, snap, 'a refused generate writes nothing')


class MotdTest(Base):
    """`bkt changelog motd`: what is new in the image since it was last
    shown, once; and the /etc/profile.d snippet that calls it."""

    def setUp(self):
        super().setUp()
        self.image = os.path.join(self.tmp, 'image')
        self.env['BKT_IMAGE_CHANGELOG_DIR'] = self.image
        self.env['XDG_STATE_HOME'] = os.path.join(self.tmp, 'state')
        self.ok('changelog', 'add', 'added', 'flatpak', 'Add Firefox', '--manual-step', 'Log out and back in',
                now='2026-01-05T09:00:00Z')
        self.ok('changelog', 'release', now='2026-01-05T10:00:00Z')
        self.ship()

    def ship(self):
        """The Containerfile's COPY .changelog/versions/ /usr/share/bkt/changelog/versions/"""
        shutil.rmtree(self.image, True)
        shutil.copytree(os.path.join(self.repo, '.changelog', 'versions'), os.path.join(self.image, 'versions'))

    def seen(self):
        with open(os.path.join(self.tmp, 'state', 'bkt', 'motd-seen')) as f:
            return f.read()

    def test_once_then_new_version(self):
        r = self.ok('changelog', 'motd')
        self.assertEqual(r.stdout, "What's new in this image (bkt changelog show VERSION for details):\n\n"
                                   '2026.01.05.1 (2026-01-05)\n'
                                   '  added      flatpak: Add Firefox\n'
                                   '  Manual steps:\n'
                                   '    - Log out and back in\n\n')
        self.assertEqual(self.seen(), '2026.01.05.1\n')
        # nothing new: said when asked, silent as the login snippet (--login)
        self.assertEqual(self.ok('changelog', 'motd').stdout, "Nothing new in this image since 2026.01.05.1 (bkt changelog motd --all shows it again).\n")
        self.assertEqual(self.ok('changelog', 'motd', '--login').stdout, '')
        self.assertIn('2026.01.05.1 (2026-01-05)', self.ok('changelog', 'motd', '--all').stdout)
        self.assertEqual(self.ok('changelog', 'motd', '--login').stdout, '')
        # two new releases: both, newest first, not the seen one
        self.ok('changelog', 'add', 'changed', 'gsetting', 'Dark style', now='2026-01-06T09:00:00Z')
        self.ok('changelog', 'release', now='2026-01-06T10:00:00Z')
        self.ok('changelog', 'add', 'fixed', 'dnf', 'Fix htop', '--manual-step', 'Reboot', now='2026-01-07T09:00:00Z')
        self.ok('changelog', 'release', now='2026-01-07T10:00:00Z')
        self.ship()
        out = self.ok('changelog', 'motd').stdout
        self.assertLess(out.index('2026.01.07.1'), out.index('2026.01.06.1'))
        self.assertNotIn('2026.01.05.1', out)
        self.assertIn('    - Reboot\n', out)
        self.assertEqual(self.seen(), '2026.01.07.1\n')
        self.assertEqual(self.ok('changelog', 'motd', '--login').stdout, '')
        self.assertIn('Nothing new in this image since 2026.01.07.1', self.ok('changelog', 'motd').stdout)

    def test_no_versions_and_bad_files(self):
        shutil.rmtree(self.image)
        self.assertEqual(self.ok('changelog', 'motd', '--login').stdout, '')
        self.assertIn('This image ships no changelog', self.ok('changelog', 'motd').stdout)
        self.ship()
        # a garbled record is a warning, then as if there were none
        os.makedirs(os.path.join(self.tmp, 'state', 'bkt'))
        with open(os.path.join(self.tmp, 'state', 'bkt', 'motd-seen'), 'w') as f:
            f.write('../../etc\n')
        r = self.bkt('changelog', 'motd')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn('motd-seen:1: not a version', r.stderr)
        self.assertIn('2026.01.05.1', r.stdout)
        self.assertEqual(self.seen(), '2026.01.05.1\n')
        # a malformed version file names itself; the others still print
        with open(os.path.join(self.image, 'versions', '2026.01.06.1.json'), 'w') as f:
            f.write('{"entries": [\n  {"type": "added", "category": "dnf", "message": "x"}]}\n')
        with open(os.path.join(self.image, 'versions', '2026.01.07.1.json'), 'w') as f:
            json.dump({'version': '2026.01.07.1', 'date': '2026-01-07', 'entries': [
                {'timestamp': '2026-01-07T00:00:00Z', 'type': 'added', 'category': 'shim', 'message': 'Add podman'}]},
                f)
        r = self.bkt('changelog', 'motd')
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn(os.path.join(self.image, 'versions', '2026.01.06.1.json') + ':2:3: missing field “timestamp”',
                      r.stderr)
        self.assertIn('shim: Add podman', r.stdout)

    def login_shell(self, login, path):
        """The profile.d snippet sourced by an interactive bash with a terminal."""
        import pty
        snippet = os.path.join(SRC, 'data', 'bkt-motd.sh')
        env = dict(self.env, PATH=path + ':/usr/bin:/bin', HOME=os.path.join(self.tmp, 'home'), TERM='dumb')
        argv = ['bash', '--noprofile', '--norc', '-i'] + (['-l'] if login else []) + \
               ['-c', '. %s; echo "rc=$? [$_bkt_login]"' % snippet]
        pid, fd = pty.fork()
        if pid == 0:
            os.execvpe('bash', argv, env)
        out = b''
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        return out.decode().replace('\r\n', '\n')

    def test_profile_snippet(self):
        bindir = os.path.dirname(BKT)
        out = self.login_shell(False, bindir)
        self.assertNotIn("What's new", out)
        out = self.login_shell(True, bindir)
        self.assertIn("What's new in this image", out)
        self.assertIn('rc=0 []', out)
        self.assertEqual(self.seen(), '2026.01.05.1\n')
        out = self.login_shell(True, bindir)
        self.assertNotIn("What's new", out)
        # bkt failing: quiet, and the shell goes on
        fake = os.path.join(self.tmp, 'fakebin')
        os.makedirs(fake)
        with open(os.path.join(fake, 'bkt'), 'w') as f:
            f.write('#!/bin/sh\necho "bkt: broken" >&2\nexit 1\n')
        os.chmod(os.path.join(fake, 'bkt'), 0o755)
        out = self.login_shell(True, fake)
        self.assertNotIn('broken', out)
        self.assertIn('rc=0 []', out)


class VerifyRpmTest(Base):
    """`bkt base verify --root` against an RPM database that dnf built."""

    @classmethod
    def setUpClass(cls):
        cls.rpmdir = tempfile.mkdtemp(prefix='bkt-maint-rpm-')
        subprocess.run(['bash', os.path.join(SRC, 'tests', 'rpm-repo.sh'), cls.rpmdir], check=True,
                       capture_output=True)
        # Debian's rpm keeps its database in %_dbpath ~/.rpmdb (Fedora's
        # is /usr/lib/sysimage/rpm): dnf and bkt must agree on HOME.
        cls.home = os.path.join(cls.rpmdir, 'home')
        subprocess.run([os.path.join(cls.rpmdir, 'dnf'), 'install', '-y', 'bkt-hello', 'bkt-fish'],
                       check=True, capture_output=True, env=dict(os.environ, HOME=cls.home))
        cls.root = os.path.join(cls.rpmdir, 'installroot')
        for p in ('usr/lib/systemd/system/dbus.service', 'etc/systemd/system/polkit.service', 'usr/bin/flatpak'):
            os.makedirs(os.path.dirname(os.path.join(cls.root, p)), exist_ok=True)
            open(os.path.join(cls.root, p), 'w').close()
        os.symlink('flatpak', os.path.join(cls.root, 'usr/bin/pkexec'))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.rpmdir, True)

    def setUp(self):
        super().setUp()
        self.env['HOME'] = self.home

    def write(self, packages, services=(), paths=()):
        with open(os.path.join(self.repo, 'manifests', 'base-image-assumptions.json'), 'w') as f:
            json.dump({'base_image': {'source': 'test'}, 'packages': [{'name': p, 'reason': 'r'} for p in packages],
                       'services': list(services), 'paths': list(paths)}, f)

    def test_all_present(self):
        self.write(['bkt-hello', 'bkt-fish'], ['dbus.service', 'polkit.service'], ['/usr/bin/flatpak', '/usr/bin/pkexec'])
        r = self.ok('base', 'verify', '--root', self.root, '--json')
        report = json.loads(r.stdout)
        self.assertTrue(report['ok'])
        self.assertEqual(report['packages']['present'], ['bkt-hello 0:1.0-1', 'bkt-fish 0:1.0-1'])

    def test_drift_reported(self):
        self.write(['bkt-hello', 'bkt-htop', 'bkt-gone'], ['dbus.service', 'gdm.service'],
                   ['/usr/bin/flatpak', '/usr/bin/podman'])
        r = self.bkt('base', 'verify', '--root', self.root)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn('packages: 1/3 present\n  MISSING bkt-htop\n  MISSING bkt-gone\n', r.stdout)
        self.assertIn('services: 1/2 present\n  MISSING gdm.service\n', r.stdout)
        self.assertIn('paths: 1/2 present\n  MISSING /usr/bin/podman\n', r.stdout)
        self.assertIn('DRIFT', r.stdout)

    def test_one_batched_rpm_query(self):
        log = os.path.join(self.tmp, 'rpm.log')
        wrapper = os.path.join(self.tmp, 'rpm')
        with open(wrapper, 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec rpm "$@"\n' % log)
        os.chmod(wrapper, 0o755)
        self.env['BKT_RPM'] = wrapper
        self.write(['bkt-hello', 'bkt-fish', 'bkt-htop'])
        self.bkt('base', 'verify', '--root', self.root)
        with open(log) as f:
            calls = f.read().splitlines()
        self.assertEqual(len(calls), 1, calls)
        self.assertTrue(calls[0].endswith('--root %s -- bkt-hello bkt-fish bkt-htop' % self.root), calls)

    def test_snapshot(self):
        self.write(['bkt-fish'], ['dbus.service', 'gdm.service'], ['/usr/bin/flatpak', '/usr/bin/podman'])
        path = os.path.join(self.repo, 'manifests', 'base-image-assumptions.json')
        with open(path) as f:
            before = f.read()
        snap = json.loads(self.ok('base', 'snapshot', '--root', self.root).stdout)
        self.assertEqual(snap['base_image'], {'source': 'test'})
        self.assertEqual(snap['packages'], [{'name': 'bkt-fish', 'reason': 'r'}, {'name': 'bkt-hello', 'reason': ''}])
        self.assertEqual(snap['services'], ['dbus.service'])
        self.assertEqual(snap['paths'], ['/usr/bin/flatpak'])
        with open(path) as f:
            self.assertEqual(f.read(), before)

    def test_broken_database_is_an_error(self):
        self.write(['bkt-hello'])
        r = self.bkt('base', 'verify', '--root', os.path.join(self.tmp, 'no-root'))
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn('All assumptions hold', r.stdout)


if __name__ == '__main__':
    bktenv.main(needs_root=False)
