#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Layered packages: subsystem dnf, `bkt dnf install|remove|sync|capture|list`.

The real polkitd with the shipped policy and rules (org.bkt.packages), the
real dnf against a local RPM repo built by tests/rpm-repo.sh (validation,
typo suggestions), and tests/doubles/rpm-ostree-double standing for rpm-ostree
(recording every invocation's argv, so that batching, exact arguments and
"nothing ran" are asserted from its log).  The dnf wrapper logs its
invocations too, proving that bad names never reach any process.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402

SRC = bktenv.SOURCE_DIR
DOUBLE = bktenv.double('rpm-ostree-double')
EXIT_NOT_AUTHORIZED = 3

_DIR = None


def _setup_dir(copr=None):
    """The repo, the double's state and the logs, in a directory made before the environment starts
    (its paths go into every process's environment).  World-writable: the session daemons run the
    double (status) and dnf (repoquery) as the test users, bktd --system as root.  @copr: the
    OWNER/PROJECT of a second repo named and ided like a COPR one (rpm-repo.sh's RPM_REPO_COPR)."""
    global _DIR
    if _DIR is not None:
        return _DIR
    d = tempfile.mkdtemp(prefix='bkt-dnf-layering-', dir='/tmp')
    os.chmod(d, 0o1777)
    rr = os.path.join(d, 'rpm')
    os.makedirs(rr)
    p = subprocess.run(['bash', os.path.join(SRC, 'tests', 'rpm-repo.sh'), rr], capture_output=True, text=True,
                       env=dict(os.environ, RPM_REPO_COPR=copr or ''))
    if p.returncode == 77:
        raise bktenv.skip_without(p.stderr.strip().replace('no ', '', 1), 'rpm-repo.sh builds the local RPM repo')
    if p.returncode != 0:
        raise bktenv.EnvError('rpm-repo.sh failed: %s' % p.stderr)
    # A cache per user (dnf's files are private to whoever made them) and a log of every run.
    with open(os.path.join(rr, 'dnf')) as f:
        wrapper = f.read().replace('--setopt=cachedir=%s/cache' % rr, '--setopt=cachedir=%s/cache-$(id -u)' % rr)
    wrapper = wrapper.replace('verb="$1"; shift\n',
                              'echo "$*" | tr "\\n" " " >> %s/dnf.log; echo >> %s/dnf.log\nverb="$1"; shift\n'
                              % (d, d))
    with open(os.path.join(rr, 'dnf'), 'w') as f:
        f.write(wrapper)
    for name in ('dnf.log', 'rpm-ostree.log', 'state.json'):
        open(os.path.join(d, name), 'a').close()
        os.chmod(os.path.join(d, name), 0o666)
    subprocess.run(['chmod', '-R', 'a+rwX', rr], check=True)
    # dnf makes its temporary directory there, as whichever user runs it.
    tmp = os.path.join(rr, 'installroot', 'var', 'tmp')
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o1777)
    # The repo directory bktd --system writes COPR repos in: root's, readable by all (like
    # /etc/yum.repos.d).
    os.makedirs(os.path.join(d, 'yum.repos.d'))
    os.chmod(os.path.join(d, 'yum.repos.d'), 0o755)
    _DIR = d
    write_state(booted=[], staged=None)
    return d


def _remove_dir():
    global _DIR
    if _DIR is not None:
        shutil.rmtree(_DIR, True)
        _DIR = None


def write_state(booted, staged):
    with open(os.path.join(_DIR, 'state.json'), 'w') as f:
        json.dump({'booted': booted, 'staged': staged, 'available': None}, f)


def read_state():
    with open(os.path.join(_DIR, 'state.json')) as f:
        return json.load(f)


def _env_kw(copr=None):
    d = _setup_dir(copr)
    return dict(polkit='real', flatpak=False,
                extra_env={'BKT_RPM_OSTREE': DOUBLE, 'BKT_DNF': os.path.join(d, 'rpm', 'dnf'),
                           'BKT_YUM_REPOS_DIR': os.path.join(d, 'yum.repos.d'),
                           'RPM_OSTREE_DOUBLE_STATE': os.path.join(d, 'state.json'),
                           'RPM_OSTREE_DOUBLE_LOG': os.path.join(d, 'rpm-ostree.log'),
                           # the double finds packages as rpm-ostree would: in the base repo and in the
                           # repos enabled in yum.repos.d (COPRs: rpm-repo.sh's definitions of their ids)
                           'RPM_OSTREE_DOUBLE_REPO': os.path.join(d, 'rpm', 'repo'),
                           'RPM_OSTREE_DOUBLE_YUM_REPOS': os.path.join(d, 'yum.repos.d'),
                           'RPM_OSTREE_DOUBLE_REPO_DEFS': os.path.join(d, 'rpm', 'repos.d'),
                           # each phase the double prints takes this long, so progress arrives phase by phase
                           'RPM_OSTREE_DOUBLE_DELAY': '0.03'})


class DnfLayering(EnvTestCase):
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        cls.ENV_KW = _env_kw()
        super().setUpClass()
        write_state(booted=[], staged=None)
        with open(os.path.join(cls.env.image_manifests_dir, 'system-packages.json'), 'w') as f:
            json.dump({'packages': ['bkt-fish'], 'groups': [], 'excluded': [], 'copr_repos': []}, f)
        bktenv.make_readable(cls.env.image_manifests_dir)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        _remove_dir()

    # helpers ----------------------------------------------------------------
    @staticmethod
    def write_state(booted, staged):
        write_state(booted, staged)

    def state(self):
        return read_state()

    def rpm_ostree_runs(self):
        with open(os.path.join(_DIR, 'rpm-ostree.log')) as f:
            return [json.loads(line) for line in f if line.strip()]

    def changes(self):
        """rpm-ostree invocations that change something (not status)."""
        return [a for a in self.rpm_ostree_runs() if a[:1] != ['status']]

    def dnf_runs(self):
        with open(os.path.join(_DIR, 'dnf.log')) as f:
            return [line.rstrip('\n') for line in f if line.strip()]

    def overlay_packages(self, user=ADMIN):
        p = os.path.join(self.env.overlay_dir(user), 'system-packages.json')
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)['packages']

    def dnf_status(self, user=ADMIN):
        st = self.status(user, '--only', 'dnf')
        self.assertEqual(sorted(st['subsystems']), ['dnf'], st)
        return st['subsystems']['dnf']

    # tests, in order --------------------------------------------------------
    def test_1_status_and_plan(self):
        dnf = self.dnf_status()
        self.assertTrue(dnf['available'], dnf)
        self.assertEqual(dnf['tracked'], 1)
        self.assertEqual(dnf['in_sync'], 0)
        self.assertEqual(dnf['missing'], ['bkt-fish'])
        self.assertFalse(dnf['staged'])
        self.assertFalse(dnf['reboot_required'])
        self.assertEqual([(d['action'], d['target'], d['scope'], d['effect']) for d in dnf['drift']],
                         [('install', 'package:bkt-fish', 'system', 'reboot')])
        rc, plan, err = self.env.bkt_json(ADMIN, 'apply', '--dry-run', '--json', '--only', 'dnf')
        self.assertEqual(rc, 0, err)
        # Apply content carries the manifest's packages to bktd --system.
        content = json.loads(plan['system_request'])
        self.assertEqual(content['system-packages'], {'packages': ['bkt-fish']})
        st = self.status(ADMIN, '--exclude', 'dnf')
        self.assertNotIn('dnf', st['subsystems'])
        rc, plan, err = self.env.bkt_json(ADMIN, 'apply', '--dry-run', '--json', '--exclude', 'dnf')
        self.assertEqual(rc, 0, err)
        self.assertFalse([o for o in plan['operations'] if o['subsystem'] == 'dnf'], plan)
        self.assertEqual(self.changes(), [], 'a dry run changed something')

    def test_2_bad_names_refused_before_any_process(self):
        env = self.env
        dnf_before, ro_before = self.dnf_runs(), self.rpm_ostree_runs()
        for bad in ('-rf', 'htop; rm -rf /', '', 'a' * 300, '../x'):
            rc, out, err = env.bkt_run(ADMIN, 'dnf', 'install', '--local', '--', bad)
            self.assertNotEqual(rc, 0, 'bkt dnf install %r was accepted' % bad)
            self.assertIn('package', err.lower())
        # "-rf" without "--" is an unknown option of bkt's own
        rc, out, err = env.bkt_run(ADMIN, 'dnf', 'install', '-rf')
        self.assertEqual(rc, 2, err)
        for bad in ('-rf', 'htop; rm -rf /', '', 'a' * 300):
            p = env.gdbus_call(ADMIN, 'PackagesInstall', json.dumps([bad]), '{}', interface=bktenv.ADMIN_IFACE)
            self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'PackagesInstall', '@as []', '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        self.assertEqual(self.dnf_runs(), dnf_before, 'dnf ran for a bad name')
        # The session's status reads (rpm-ostree status) may run; nothing else.
        self.assertEqual([a for a in self.rpm_ostree_runs()[len(ro_before):] if a[:1] != ['status']], [])
        self.assertIsNone(self.overlay_packages())

    def test_3_typo_suggested_nothing_layered(self):
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'install', '--local', 'bkt-htp')
        self.assertNotEqual(rc, 0)
        self.assertIn('bkt-htp', err)
        self.assertIn('did you mean: bkt-htop', err)
        # One batched repoquery for the names (then one listing for the suggestions).
        self.assertTrue(any('repoquery' in r and 'bkt-htp' in r for r in self.dnf_runs()), self.dnf_runs())
        self.assertEqual(self.changes(), [])
        self.assertIsNone(self.overlay_packages())

    def test_4_non_wheel_refused_nothing_ran(self):
        env = self.env
        rc, out, err = env.bkt_run(USER, 'dnf', 'install', '--local', 'bkt-htop')
        self.assertEqual(rc, EXIT_NOT_AUTHORIZED, err)
        rc, out, err = env.bkt_run(USER, 'dnf', 'sync')
        self.assertEqual(rc, EXIT_NOT_AUTHORIZED, err)
        p = env.gdbus_call(USER, 'PackagesInstall', "['bkt-htop']", '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        p = env.gdbus_call(USER, 'PackagesUninstall', "['bkt-htop']", '{}', interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        self.assertEqual(self.changes(), [], 'rpm-ostree changed something for a refused user')
        self.assertIsNone(self.overlay_packages(USER))
        self.assertEqual(self.state()['staged'], None)

    def test_5_wheel_batched_install(self):
        # watch the transaction's Progress signals on the system bus while it runs
        # the signals go to their creator only: root's monitor sees them
        mon = self.env.transaction_monitor()
        try:
            time.sleep(0.5)
            rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'install', '--local', 'bkt-htop', 'bkt-hello')
            time.sleep(0.5)
        finally:
            mon.terminate()
            text = '\n'.join(bktenv.monitor_signal_lines(mon.communicate(timeout=10)[0]))
        self.assertEqual(rc, 0, err)
        # rpm-ostree's phases, relayed as they happen, the percentage never going back
        progress = re.findall(r"\.Progress \(uint32 (\d+), '([^']*)', '([^']*)'\)", text)
        # (the operation is named by its summary; the percentage is the whole transaction's)
        details = [d for _, op, d in progress if op.startswith('Layer package:bkt-htop')]
        for phase in ('Checking out tree 0f3c9a1', 'Resolving dependencies', 'Importing packages (2/2)',
                      'Writing OSTree commit', 'Staging deployment'):
            self.assertIn(phase, details, 'phase not relayed: %s' % progress)
        percents = [int(p) for p, op, _ in progress if op.startswith('Layer package:bkt-htop')]
        self.assertEqual(percents, sorted(percents), percents)
        self.assertGreater(len(set(percents)), 8, percents)
        # the summary after the phases is a transaction message
        self.assertIn('Added:', out + err)
        self.assertIn('reboot required', out)
        # ONE existence check (the session's; the system instance is told it was made).
        self.assertEqual(len([r for r in self.dnf_runs() if 'bkt-htop bkt-hello' in r]), 1, self.dnf_runs())
        # ONE call, exact argv, in the order given.
        self.assertEqual(self.changes(), [['install', '--idempotent', '--', 'bkt-htop', 'bkt-hello']])
        self.assertEqual(self.state()['staged'], ['bkt-hello', 'bkt-htop'])
        self.assertEqual(sorted(self.overlay_packages()), ['bkt-hello', 'bkt-htop'])
        dnf = self.dnf_status()
        self.assertTrue(dnf['reboot_required'])
        self.assertEqual(dnf['missing'], ['bkt-fish'])

    def test_6_sync(self):
        n = len(self.changes())
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'sync')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.changes()[n:], [['install', '--idempotent', '--', 'bkt-fish']])
        dnf = self.dnf_status()
        self.assertEqual(dnf['drift'], [])
        self.assertEqual(dnf['missing'], [])
        self.assertEqual(dnf['in_sync'], 3)
        # In sync: a second sync runs nothing.
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'sync')
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.changes()), n + 1)
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'list')
        self.assertEqual(rc, 0, err)
        self.assertIn('bkt-fish', out)
        self.assertIn('pending-reboot', out)

    def test_7_capture(self):
        # After the reboot, plus a package layered by hand.
        st = self.state()
        self.write_state(booted=sorted(st['staged'] + ['bkt-extra']), staged=None)
        dnf = self.dnf_status()
        self.assertEqual([u['name'] for u in dnf['untracked']], ['bkt-extra'])
        # untracked: left out (and named) unless picked
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'capture')
        self.assertEqual(rc, 0, err)
        self.assertNotIn('bkt-extra', self.overlay_packages())
        self.assertIn('bkt-extra', out + err)
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'capture', '--select', 'package:bkt-extra')
        self.assertEqual(rc, 0, err)
        self.assertIn('bkt-extra', self.overlay_packages())
        dnf = self.dnf_status()
        self.assertEqual(dnf['untracked'], [])
        self.assertEqual(dnf['in_sync'], dnf['tracked'])

    def test_8_remove_now(self):
        # rpm-ostree's uninstall has no --apply-live (the double refuses it as rpm-ostree does): a live
        # removal is refused before anything runs, and a removal waits for the next boot.
        n = len(self.changes())
        before = self.state()
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'remove', '--local', '--now', 'bkt-htop', 'bkt-extra')
        self.assertNotEqual(rc, 0, out)
        self.assertIn('rpm-ostree cannot remove packages live (uninstall has no --apply-live)', err)
        self.assertEqual(self.changes()[n:], [])
        self.assertEqual(self.state(), before)
        self.assertIn('bkt-htop', self.overlay_packages())
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'remove', '--local', 'bkt-htop', 'bkt-extra')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.changes()[n:], [['uninstall', '--idempotent', '--', 'bkt-htop', 'bkt-extra']])
        self.assertIn('bkt-htop', self.state()['booted'])
        self.assertNotIn('bkt-htop', self.state()['staged'])
        self.assertNotIn('bkt-htop', self.overlay_packages())
        self.assertNotIn('bkt-extra', self.overlay_packages())
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'remove', '--local', 'bkt-never')
        self.assertNotEqual(rc, 0)
        self.assertIn('neither layered nor in the manifests', err)
        self.assertEqual(len(self.changes()), n + 1)


class PrWorld:
    """A distribution repo (tests/data/original plus the Containerfile fixture) pushed to a local git
    server, and a forge stand-in: for the PRs of `bkt dnf …`."""
    COPR = None

    @classmethod
    def setUpClass(cls):
        import punenv
        cls.ENV_KW = dict(_env_kw(cls.COPR), users=(ADMIN,))
        super().setUpClass()
        write_state(booted=[], staged=None)
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, os.path.join(SRC, 'tests', 'data', 'original'))
        except BaseException:
            cls.tearDownClass()
            raise
        w = cls.world
        shutil.copy(os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in'),
                    os.path.join(w.checkout, 'Containerfile'))
        bktenv.chown_tree(w.checkout, ADMIN)
        w.ugit('-C', w.checkout, 'add', 'Containerfile')
        w.ugit('-C', w.checkout, 'commit', '-q', '-m', 'Containerfile')
        w.ugit('-C', w.checkout, 'push', '-q', 'origin', 'main')

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()
        _remove_dir()


class DnfPr(PrWorld, EnvTestCase):
    """The PR of `bkt dnf install/remove`: the repo's system-packages.json and the SYSTEM_PACKAGES
    section of its Containerfile, in one commit."""
    ENV_KW = None

    def test_install_pr_regenerates_containerfile(self):
        w = self.world
        rc, res, err = self.env.bkt_json(ADMIN, '--json', 'dnf', 'install', 'bkt-htop', 'bkt-hello',
                                         cwd=w.checkout)
        self.assertEqual(rc, 0, err)
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        self.assertTrue(pr['branch'].startswith('bkt/dnf-add-'), pr)
        names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', pr['branch']).split()
        # Every punned PR also carries its draft changelog entry (issue 7).
        drafts = [n for n in names if n.startswith('.changelog/pending/') and n.endswith('-dnf.json')]
        self.assertEqual(len(drafts), 1, names)
        self.assertEqual(sorted(n for n in names if n not in drafts),
                         ['Containerfile', 'manifests/system-packages.json'])
        cf = w.show(w.bare_file, pr['branch'], 'Containerfile')
        section = cf.split('# === SYSTEM_PACKAGES (managed by bkt) ===\n')[1].split('# === END SYSTEM_PACKAGES')[0]
        self.assertIn('bkt-hello', section)
        self.assertIn('bkt-htop', section)
        self.assertNotIn('zsh', section)
        # everything outside the section is the file's own
        with open(os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in')) as f:
            orig = f.read()
        self.assertEqual(cf.split('# === SYSTEM_PACKAGES')[0], orig.split('# === SYSTEM_PACKAGES')[0])
        self.assertEqual(cf.split('# === END SYSTEM_PACKAGES ===')[1], orig.split('# === END SYSTEM_PACKAGES ===')[1])
        pkgs = json.loads(w.show(w.bare_file, pr['branch'], 'manifests/system-packages.json'))['packages']
        self.assertEqual(sorted(pkgs), ['bkt-hello', 'bkt-htop'])
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]['body']['title'], 'feat(manifests): add dnf bkt-htop bkt-hello')
        self.assertEqual(read_state()['staged'], ['bkt-hello', 'bkt-htop'])


if __name__ == '__main__':
    bktenv.main()
