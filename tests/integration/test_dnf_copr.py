#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""COPR repositories: `bkt dnf copr enable|disable|remove|list`, copr_repos in sync/capture, the
untracked-COPR refusal of `bkt dnf install`, and the PR with the Containerfile's COPR_REPOS section.

The real polkitd with the shipped policy and rules (org.bkt.packages), the real bktd --system writing
repo files into a directory of the test ($BKT_YUM_REPOS_DIR, set for the daemons as a unit would,
never by a caller), the real dnf against two local RPM repos built by tests/rpm-repo.sh — one of them
named and ided like a COPR repo (copr:copr.fedorainfracloud.org:bkt:tools) — and
tests/doubles/rpm-ostree-double for rpm-ostree.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, USER, EnvTestCase  # noqa: E402
import test_dnf_layering as L  # noqa: E402  (the repos, the double, the logs, the PR world)

SRC = bktenv.SOURCE_DIR
EXIT_NOT_AUTHORIZED = 3
EXIT_INVALID = 5
HUB = 'copr.fedorainfracloud.org'
COPR = 'bkt/tools'   # the second local repo, named and ided as this COPR project


def repo_file(name, enabled=True, gpg_check=True):
    """What `dnf copr enable` saves for @name (COPR's repo template), with the two flags."""
    owner, project = name.split('/')
    ident = 'copr:%s:%s:%s' % (HUB, 'group_' + owner[1:] if owner.startswith('@') else owner, project)
    url = 'https://download.%s/results/%s' % (HUB, name)
    return ('[%s]\nname=Copr repo for %s owned by %s\nbaseurl=%s/fedora-$releasever-$basearch/\n'
            'type=rpm-md\nskip_if_unavailable=True\ngpgcheck=%d\ngpgkey=%s/pubkey.gpg\nrepo_gpgcheck=0\n'
            'enabled=%d\nenabled_metadata=1\n' % (ident, project, owner, url, gpg_check, url, enabled))


def file_name(name):
    owner, project = name.split('/')
    return '_copr:%s:%s:%s.repo' % (HUB, 'group_' + owner[1:] if owner.startswith('@') else owner, project)

# The shipped rules never grant org.bkt.insecure-repo (test_polkit_sessions.py checks that); this
# class enables a COPR without gpgcheck as a site that trusts it would: with a rule of its own.
SITE_RULE = '''
// the site's own addition (docs/polkit.md): bkt-admin may trust unsigned COPR repos
polkit.addRule(function(action, subject) {
    if (action.id === "org.bkt.insecure-repo" && subject.user === "bkt-admin" && subject.local && subject.active)
        return polkit.Result.YES;
});
'''


def site_rules(d):
    """(policy, rules): the shipped files, the rules with SITE_RULE after them."""
    path = os.path.join(d, 'bkt-with-site.rules')
    with open(os.path.join(SRC, 'polkit', '50-bkt.rules')) as f, open(path, 'w') as out:
        out.write(f.read() + SITE_RULE)
    return os.path.join(SRC, 'polkit', 'org.bkt.policy'), path


class CoprMixin:
    def repos(self):
        return sorted(os.listdir(os.path.join(L._DIR, 'yum.repos.d')))

    def repo_text(self, name):
        with open(os.path.join(L._DIR, 'yum.repos.d', file_name(name))) as f:
            return f.read()

    def changes(self):
        with open(os.path.join(L._DIR, 'rpm-ostree.log')) as f:
            return [a for a in (json.loads(line) for line in f if line.strip()) if a[:1] != ['status']]

    def dnf_runs(self):
        with open(os.path.join(L._DIR, 'dnf.log')) as f:
            return [line.rstrip('\n') for line in f if line.strip()]


class DnfCopr(CoprMixin, EnvTestCase):
    ENV_KW = None

    @classmethod
    def setUpClass(cls):
        cls.ENV_KW = dict(L._env_kw(COPR), polkit_files=site_rules(L._DIR))
        super().setUpClass()
        with open(os.path.join(cls.env.image_manifests_dir, 'system-packages.json'), 'w') as f:
            json.dump({'packages': [], 'groups': [], 'excluded': [], 'copr_repos': []}, f)
        bktenv.make_readable(cls.env.image_manifests_dir)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        L._remove_dir()

    def overlay(self, user=ADMIN):
        p = os.path.join(self.env.overlay_dir(user), 'system-packages.json')
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f)

    def coprs(self, user=ADMIN):
        o = self.overlay(user)
        return None if o is None else o.get('copr_repos')

    # tests, in order --------------------------------------------------------
    def test_1_bad_names_refused_before_anything(self):
        env = self.env
        dnf_before = self.dnf_runs()
        for bad in ('-rf', 'a/b/c', '../x', 'x/..', 'a' * 300, 'o/' + 'p' * 300, '', 'a/b;rm', '@/x'):
            for verb in ('enable', 'disable', 'remove'):
                rc, out, err = env.bkt_run(ADMIN, 'dnf', 'copr', verb, '--local', '--', bad)
                self.assertEqual(rc, EXIT_INVALID, 'bkt dnf copr %s %r: %s' % (verb, bad, err))
                self.assertIn('invalid COPR project', err)
            for user in (ADMIN, USER):
                for method in ('CoprEnable', 'CoprDisable', 'CoprRemove'):
                    p = env.gdbus_call(user, method, json.dumps(bad), '{}', interface=bktenv.ADMIN_IFACE)
                    self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        # Unknown options are refused the same way.
        p = env.gdbus_call(ADMIN, 'CoprEnable', 'bkt/tools', "{'gpg_check': <'no'>}", interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        p = env.gdbus_call(ADMIN, 'CoprRemove', 'bkt/tools', "{'gpg_check': <true>}", interface=bktenv.ADMIN_IFACE)
        self.assertErrorName(p, 'org.bkt.Error.InvalidArgument')
        self.assertEqual(self.repos(), [], 'a repo file was written for a bad name')
        self.assertIsNone(self.overlay())
        self.assertEqual(self.dnf_runs(), dnf_before)
        self.assertEqual(self.changes(), [])

    def test_2_non_wheel_refused_nothing_written(self):
        env = self.env
        rc, out, err = env.bkt_run(USER, 'dnf', 'copr', 'enable', '--local', 'bkt/tools')
        self.assertEqual(rc, EXIT_NOT_AUTHORIZED, err)
        for method in ('CoprEnable', 'CoprDisable', 'CoprRemove'):
            p = env.gdbus_call(USER, method, 'bkt/tools', '{}', interface=bktenv.ADMIN_IFACE)
            self.assertErrorName(p, 'org.bkt.Error.NotAuthorized')
        self.assertEqual(self.repos(), [])
        self.assertIsNone(self.overlay(USER))

    def test_3_untracked_copr_refused(self):
        n = len(self.dnf_runs())
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'install', '--local', 'bkt-starship')
        self.assertEqual(rc, EXIT_INVALID, err)
        self.assertIn('bkt-starship is only in COPR bkt/tools, which the manifest does not track: '
                      'run `bkt dnf copr enable bkt/tools` first', err)
        # ONE query for the names, with the repo of each match.
        runs = [r for r in self.dnf_runs()[n:] if 'bkt-starship' in r]
        self.assertEqual(len(runs), 1, runs)
        self.assertTrue(runs[0].startswith('repoquery --qf %{name} %{repoid}'), runs)
        self.assertTrue(runs[0].rstrip().endswith(' -- bkt-starship'), runs)
        self.assertEqual(self.changes(), [])
        self.assertIsNone(self.overlay())
        # Also in an ordinary repo: not refused (bkt-hello is in both).
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'install', '--local', 'bkt-hello')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.changes(), [['install', '--idempotent', '--', 'bkt-hello']])

    def test_4_wheel_enable(self):
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'copr', 'enable', '--local', 'bkt/tools')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.repos(), [file_name('bkt/tools')])
        self.assertEqual(self.repo_text('bkt/tools'), repo_file('bkt/tools'))
        st = os.stat(os.path.join(L._DIR, 'yum.repos.d', file_name('bkt/tools')))
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o644))
        self.assertEqual(self.coprs(), [{'name': 'bkt/tools', 'enabled': True, 'gpg_check': True}])
        # Tracked now: the package is accepted.
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'install', '--local', 'bkt-starship')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.changes()[-1], ['install', '--idempotent', '--', 'bkt-starship'])
        # A group project, without gpgcheck.
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'copr', 'enable', '--local', '--no-gpgcheck', '@team/extras')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.repo_text('@team/extras'), repo_file('@team/extras', gpg_check=False))
        self.assertIn({'name': '@team/extras', 'enabled': True, 'gpg_check': False}, self.coprs())

    def test_5_disable(self):
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'copr', 'disable', '--local', 'bkt/tools')
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.repo_text('bkt/tools'), repo_file('bkt/tools', enabled=False))
        self.assertIn({'name': 'bkt/tools', 'enabled': False, 'gpg_check': True}, self.coprs())
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'copr', 'disable', '--local', 'no/such')
        self.assertEqual(rc, EXIT_INVALID, err)
        self.assertIn('neither in the manifest nor in', err)

    def test_6_sync_and_capture(self):
        env = self.env
        d = os.path.join(L._DIR, 'yum.repos.d')
        # Drift: one file gone, one flipped by hand, one added by hand.
        os.unlink(os.path.join(d, file_name('bkt/tools')))
        with open(os.path.join(d, file_name('@team/extras')), 'w') as f:
            f.write(repo_file('@team/extras', enabled=False, gpg_check=False))
        with open(os.path.join(d, file_name('other/thing')), 'w') as f:
            f.write(repo_file('other/thing', gpg_check=False))
        # And the layered packages lost (a rollback): packages must wait for their repos.
        with open(os.path.join(L._DIR, 'state.json'), 'w') as f:
            json.dump({'booted': [], 'staged': None, 'available': None}, f)
        rc, plan, err = env.bkt_json(ADMIN, 'apply', '--dry-run', '--json', '--only', 'dnf')
        self.assertEqual(rc, 0, err)
        ops = [(o['action'], o['target']) for o in plan['operations']]
        self.assertEqual(ops, [('copr-enable', 'copr:@team/extras'), ('copr-disable', 'copr:bkt/tools'),
                               ('install', 'package:bkt-hello'), ('install', 'package:bkt-starship')])
        content = json.loads(plan['system_request'])
        self.assertEqual(sorted(c['name'] for c in content['system-packages']['copr_repos']),
                         ['@team/extras', 'bkt/tools'])
        # A non-wheel user whose manifest declares a COPR is refused: nothing written.
        udir = env.overlay_dir(USER)
        os.makedirs(udir, exist_ok=True)
        with open(os.path.join(udir, 'system-packages.json'), 'w') as f:
            json.dump({'packages': [], 'copr_repos': [{'name': 'bkt/tools', 'enabled': True}]}, f)
        bktenv.chown_tree(env.config_home(USER), USER)
        before = {n: self.repo_text(n) for n in ('@team/extras', 'other/thing')}
        rc, out, err = env.bkt_run(USER, 'dnf', 'sync')
        self.assertEqual(rc, EXIT_NOT_AUTHORIZED, err)
        self.assertNotIn(file_name('bkt/tools'), self.repos())
        self.assertEqual({n: self.repo_text(n) for n in before}, before)
        n = len(self.changes())
        # the packages bkt layered are gone (the rollback): changed on this machine, so a plain sync
        # stops before acting (exit 8) and names the choice
        rc, out, err = env.bkt_run(ADMIN, 'dnf', 'sync')
        self.assertEqual(rc, 8, out + err)
        self.assertIn('--theirs', out + err)
        self.assertEqual(len(self.changes()), n)
        self.assertNotIn(file_name('bkt/tools'), self.repos())
        rc, out, err = env.bkt_run(ADMIN, 'dnf', 'sync', '--theirs')
        # bkt-starship is only in the bkt/tools COPR, which the manifest keeps disabled: rpm-ostree (the
        # double looks in the enabled repos as it does) cannot find it, so the layering fails, after the
        # repos were written, and says why
        self.assertEqual(rc, 1, out + err)
        self.assertIn('error: Packages not found: bkt-starship', out)
        self.assertEqual(self.repo_text('bkt/tools'), repo_file('bkt/tools', enabled=False))
        self.assertEqual(self.repo_text('@team/extras'), repo_file('@team/extras', gpg_check=False))
        # The untracked file is left alone; the packages in one call, after the repos.
        self.assertEqual(self.repo_text('other/thing'), repo_file('other/thing', gpg_check=False))
        self.assertEqual(self.changes()[n:], [['install', '--idempotent', '--', 'bkt-hello', 'bkt-starship']])
        rc, out, err = env.bkt_run(ADMIN, 'dnf', 'copr', 'list')
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r'other/thing +- +enabled, no gpgcheck +untracked')
        self.assertRegex(out, r'bkt/tools +disabled +disabled +in sync')
        # only the COPR: the packages bkt layered and the rollback removed are "changed on this
        # machine" too, and a plain capture would forget them
        rc, out, err = env.bkt_run(ADMIN, 'dnf', 'capture', '--dry-run')
        self.assertEqual(rc, 0, err)
        self.assertIn('package:bkt-hello', out)
        rc, out, err = env.bkt_run(ADMIN, 'dnf', 'capture', '--select', 'copr:other/thing')
        self.assertEqual(rc, 0, err)
        self.assertIn({'name': 'other/thing', 'enabled': True, 'gpg_check': False}, self.coprs())
        rc, listed, err = env.bkt_json(ADMIN, 'dnf', 'copr', 'list', '--json')
        self.assertEqual(rc, 0, err)
        self.assertEqual([(c['name'], c['state']) for c in listed],
                         [('@team/extras', 'in-sync'), ('bkt/tools', 'in-sync'), ('other/thing', 'in-sync')])
        self.assertEqual(listed[1]['manifest'], {'enabled': False, 'gpg_check': True})

    def test_7_remove(self):
        rc, out, err = self.env.bkt_run(ADMIN, 'dnf', 'copr', 'remove', '--local', 'other/thing')
        self.assertEqual(rc, 0, err)
        self.assertNotIn(file_name('other/thing'), self.repos())
        self.assertNotIn('other/thing', [c['name'] for c in self.coprs()])
        # The rest of the overlay's file is as it was.
        self.assertEqual(self.overlay()['packages'], ['bkt-hello', 'bkt-starship'])


class DnfCoprPr(CoprMixin, L.PrWorld, EnvTestCase):
    """The PR of `bkt dnf copr enable`: copr_repos in the repo's system-packages.json, edited in place,
    and the COPR_REPOS section of its Containerfile, in one commit."""
    ENV_KW = None
    COPR = COPR

    def test_enable_pr(self):
        w = self.world
        rc, res, err = self.env.bkt_json(ADMIN, '--json', 'dnf', 'copr', 'enable', 'bkt/tools', cwd=w.checkout)
        self.assertEqual(rc, 0, err)
        pr = res['pr']
        self.assertEqual(pr['state'], 'opened', pr)
        self.assertTrue(pr['branch'].startswith('bkt/dnf-copr-enable-bkt-tools-'), pr)
        self.assertEqual(self.repo_text('bkt/tools'), repo_file('bkt/tools'))
        names = w.git(None, '--git-dir', w.bare_file, 'diff', '--name-only', 'main', pr['branch']).split()
        self.assertEqual(sorted(n for n in names if not n.startswith('.changelog/')),
                         ['Containerfile', 'manifests/system-packages.json'])
        # The manifest: only copr_repos changed, the rest of the file byte for byte.
        before = w.show(w.bare_file, 'main', 'manifests/system-packages.json')
        after = w.show(w.bare_file, pr['branch'], 'manifests/system-packages.json')
        self.assertEqual(json.loads(after)['copr_repos'], [{'name': 'bkt/tools', 'enabled': True, 'gpg_check': True}])
        self.assertEqual(after.split('"copr_repos"')[0], before.split('"copr_repos"')[0])
        self.assertEqual({k: v for k, v in json.loads(after).items() if k != 'copr_repos'},
                         {k: v for k, v in json.loads(before).items() if k != 'copr_repos'})
        cf = w.show(w.bare_file, pr['branch'], 'Containerfile')
        section = cf.split('# === COPR_REPOS (managed by bkt) ===\n')[1].split('# === END COPR_REPOS')[0]
        self.assertEqual(section, "RUN dnf install -y 'dnf-command(copr)' \\\n"
                                  "    && dnf copr enable -y bkt/tools \\\n"
                                  "    && dnf clean all\n")
        with open(os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in')) as f:
            orig = f.read()
        self.assertEqual(cf.split('# === COPR_REPOS')[0], orig.split('# === COPR_REPOS')[0])
        self.assertEqual(cf.split('# === END COPR_REPOS ===')[1], orig.split('# === END COPR_REPOS ===')[1])
        reqs = self.forge.take()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]['body']['title'], 'feat(manifests): copr-enable dnf bkt/tools')


if __name__ == '__main__':
    bktenv.main()
