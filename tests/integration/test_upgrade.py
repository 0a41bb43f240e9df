#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt upgrade: what the next boot brings, against the real system and session
daemons, the real polkitd, flatpak and GSettings, and the doubles of bootc and
rpm-ostree (tests/doubles/) with a staged deployment whose /usr/share/bkt
differs from the booted image's:

* staged: the image (version, digest, built: booted → staged), the packages
  (rpm-ostree db diff: added, removed, upgraded, downgraded, counted), the
  changelog releases after the booted one with their manual steps, and the
  session's plan with the staged manifests (a new flatpak, a changed setting:
  new with this image; a setting the booted image wants already: pending now);
  the same in one --json document;
* --check: the available image before it is downloaded (bootc upgrade --check
  through bktd --system), the other sections say why they cannot know yet;
* --apply -y: stages the update (BootcUpgrade) and reports the staged image;
* nothing staged: says so, exit 0;
* rpm-ostree missing, or diffing other deployments than bootc's: the packages
  section fails and says why, the other sections are there.
"""

import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

DOUBLE = os.path.join(bktenv.SOURCE_DIR, 'tests', 'doubles', 'rpm-ostree-double')
IMAGE = 'quay.io/fedora/fedora-bootc:41'


def version(v, entries, steps=()):
    date = '%s-%s-%s' % tuple(v.split('.')[:3])
    return {'version': v, 'date': date, 'released_at': date + 'T10:00:00Z',
            'entries': [{'timestamp': date + 'T09:00:00Z', 'type': t, 'category': c, 'message': m}
                        for t, c, m in entries],
            'manual_steps': list(steps)}


RELEASES = [version('2026.11.01.1', [('added', 'flatpak', 'Add Hello')]),
            version('2026.11.10.1', [('changed', 'gsetting', 'A 12h clock')], ['Log out and back in']),
            version('2026.11.20.1', [('added', 'flatpak', 'Add Second'), ('fixed', 'dnf', 'Podman shim')])]

BASE_BOOTED = [['bash', '5.2.26-3.fc41', 'x86_64'], ['kernel', '6.11.3-300.fc41', 'x86_64'],
               ['nano', '8.1-1.fc41', 'x86_64'], ['vim-minimal', '2:9.1.785-1.fc41', 'x86_64']]
BASE_STAGED = [['bash', '5.2.32-1.fc41', 'x86_64'], ['kernel', '6.11.10-300.fc41', 'x86_64'],
               ['vim-minimal', '2:9.1.700-1.fc41', 'x86_64'], ['zsh', '5.9-15.fc41', 'x86_64']]

CLOCK = {'schema': 'org.gnome.desktop.interface', 'key': 'clock-format'}
DARK = {'schema': 'org.gnome.desktop.interface', 'key': 'color-scheme', 'value': "'prefer-dark'"}


def bootc_checksum(version_label):
    """The double's ostree checksum of the deployment of IMAGE at @version_label."""
    digest = 'sha256:' + hashlib.sha256((IMAGE + '@' + version_label).encode()).hexdigest()
    return hashlib.sha256(digest.encode()).hexdigest()


def write_versions(top, docs):
    d = os.path.join(top, 'versions')
    os.makedirs(d, exist_ok=True)
    for doc in docs:
        with open(os.path.join(d, doc['version'] + '.json'), 'w') as f:
            json.dump(doc, f)


def write_booted_image(env, changelog):
    """The booted image: the remote, a 24h clock (GNOME's default), dark style; its changelog ends
    at 2026.11.01.1."""
    env.write_manifests(env.image_manifests_dir, remotes=bktenv.test_remotes(env),
                        settings=[dict(CLOCK, value="'24h'"), DARK])
    write_versions(changelog, RELEASES[:1])


def write_staged_tree(env, deploy, changelog, checksum):
    """The staged deployment's files: the image's manifests add a flatpak and change the clock to 12h,
    its changelog has two more releases (one with a manual step)."""
    tree = os.path.join(deploy, 'default', 'deploy', '%s.1' % checksum)
    env.write_manifests(tree + env.image_manifests_dir, remotes=bktenv.test_remotes(env),
                        apps=bktenv.test_apps(system=(), user=('org.test.Second',)),
                        settings=[dict(CLOCK, value="'12h'"), DARK])
    write_versions(tree + changelog, RELEASES)
    bktenv.make_readable(deploy)
    return tree


def write_rpm_ostree_state(path, commits, staged=True):
    """The double's deployments: htop layered, podman layered in the staged one, base images that
    differ by 6 packages."""
    doc = {'booted': ['htop'], 'staged': ['htop', 'podman'] if staged else None,
           'base': {'booted': BASE_BOOTED, 'staged': BASE_STAGED}, 'commits': commits}
    with open(path, 'w') as f:
        json.dump(doc, f)
    os.chmod(path, 0o644)


class Upgrade(EnvTestCase):
    ENV_KW = dict(polkit='real', bootc=True, users=(ADMIN,))

    def setUp(self):
        env = self.env
        env.reset_bootc()
        env.set_bootc_mode('')
        if not env.system_daemon.alive():
            env.start_system_daemon()
        self.deploy = env.path('ostree-deploy')
        self.changelog = env.path('image-changelog')
        shutil.rmtree(self.deploy, ignore_errors=True)
        shutil.rmtree(self.changelog, ignore_errors=True)
        write_booted_image(env, self.changelog)
        self.state = env.path('rpm-ostree-state.json')
        self.extra = {'BKT_RPM_OSTREE': DOUBLE, 'RPM_OSTREE_DOUBLE_STATE': self.state,
                      'RPM_OSTREE_DOUBLE_LOG': env.path('rpm-ostree.log'),
                      'BKT_OSTREE_DEPLOY_DIR': self.deploy, 'BKT_IMAGE_CHANGELOG_DIR': self.changelog}
        # the double runs as the user: its invocation log must be theirs to append to
        with open(env.path('rpm-ostree.log'), 'w'):
            pass
        os.chmod(env.path('rpm-ostree.log'), 0o666)
        bktenv.make_readable(env.T)

    def stage_tree(self, checksum):
        return write_staged_tree(self.env, self.deploy, self.changelog, checksum)

    def rpm_ostree(self, staged=True, commits=None):
        if commits is None:
            st = self.env.bootc_state()
            commits = {'booted': st['booted']['ostree']['checksum'],
                       'staged': (st['staged'] or {}).get('ostree', {}).get('checksum')}
        write_rpm_ostree_state(self.state, commits, staged)

    def stage(self):
        """bkt admin bootc upgrade: the double stages 41.20261120.0."""
        rc, out, err = self.env.bkt_run(ADMIN, 'admin', 'bootc', 'upgrade', '-y')
        self.assertEqual(rc, 0, err)
        st = self.env.bootc_state()['staged']
        self.assertEqual(st['ostree']['checksum'], bootc_checksum('41.20261120.0'))
        self.stage_tree(st['ostree']['checksum'])
        self.rpm_ostree()

    def upgrade_json(self, *args, rc_expected=0, extra=None):
        rc, doc, err = self.env.bkt_json(ADMIN, 'upgrade', '--json', *args, env_extra=dict(self.extra, **(extra or {})))
        self.assertEqual(rc, rc_expected, err)
        return doc

    def rpm_ostree_runs(self):
        try:
            with open(self.env.path('rpm-ostree.log')) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def check_staged_report(self, doc):
        image = doc['image']
        self.assertEqual(image['state'], 'staged')
        self.assertEqual(image['booted']['version'], '41.20261101.0')
        self.assertEqual(image['next']['version'], '41.20261120.0')
        self.assertEqual(image['next']['image'], IMAGE)
        self.assertTrue(image['next']['digest'].startswith('sha256:'))
        self.assertNotEqual(image['next']['digest'], image['booted']['digest'])

        pk = doc['packages']
        self.assertTrue(pk['available'], pk)
        self.assertEqual(pk['counts'], {'added': 2, 'removed': 1, 'upgraded': 2, 'downgraded': 1, 'total': 6})
        self.assertEqual([p['name'] for p in pk['added']], ['podman', 'zsh'])
        self.assertEqual(pk['removed'], [{'name': 'nano', 'evr': '8.1-1.fc41', 'arch': 'x86_64'}])
        self.assertEqual(pk['upgraded'][1], {'name': 'kernel', 'arch': 'x86_64', 'from': '6.11.3-300.fc41',
                                             'to': '6.11.10-300.fc41'})
        self.assertEqual([p['name'] for p in pk['downgraded']], ['vim-minimal'])

        cl = doc['changelog']
        self.assertTrue(cl['available'], cl)
        self.assertEqual(cl['booted_release'], '2026.11.01.1')
        self.assertEqual(cl['staged_release'], '2026.11.20.1')
        self.assertEqual([r['version'] for r in cl['releases']], ['2026.11.20.1', '2026.11.10.1'])
        self.assertEqual(cl['counts'], {'releases': 2, 'entries': 3, 'with_manual_steps': 1})
        self.assertEqual(cl['manual_steps'], [{'version': '2026.11.10.1', 'manual_steps': ['Log out and back in']}])

        mf = doc['manifests']
        self.assertTrue(mf['available'], mf)
        ops = {op['target']: op for op in mf['operations']}
        self.assertTrue(ops['flatpak:org.test.Second']['new'], ops)
        self.assertIn("'12h'", ops['gsetting:org.gnome.desktop.interface.clock-format']['summary'])
        self.assertTrue(ops['gsetting:org.gnome.desktop.interface.clock-format']['new'])
        # the booted image wants dark style already: bkt apply would set it today too
        self.assertFalse(ops['gsetting:org.gnome.desktop.interface.color-scheme']['new'])
        self.assertEqual(mf['counts']['total'], len(mf['operations']))
        self.assertEqual(mf['counts']['new'], 2)
        self.assertEqual(mf['counts']['pending'], len(mf['operations']) - 2)

    def test_staged(self):
        self.stage()
        doc = self.upgrade_json()
        self.check_staged_report(doc)
        # one query of rpm-ostree, the documented one
        self.assertEqual(self.rpm_ostree_runs(), [['db', 'diff', '--format=json']])
        # planning changed nothing
        self.assertEqual(self.env.gsettings(ADMIN, 'get', 'org.gnome.desktop.interface', 'clock-format'), "'24h'")

        rc, out, err = self.env.bkt_run(ADMIN, 'upgrade', env_extra=self.extra)
        self.assertEqual(rc, 0, err)
        self.assertIn('Next boot: staged image %s' % IMAGE, out)
        self.assertIn('version  41.20261101.0 → 41.20261120.0', out)
        self.assertIn('Packages (rpm-ostree): 6 changes — 2 upgraded, 1 downgraded, 1 removed, 2 added', out)
        self.assertIn('    kernel      6.11.3-300.fc41 → 6.11.10-300.fc41', out)
        self.assertIn('Changelog: 2 releases after 2026.11.01.1, 1 with manual steps', out)
        self.assertIn('      - Log out and back in', out)
        self.assertIn('new with this image', out)
        self.assertIn('(pending now)', out)
        self.assertIn('Reboot to start it', out)

    def test_check_available(self):
        rc, out, err = self.env.bkt_run(ADMIN, 'upgrade', '--check', env_extra=self.extra)
        self.assertEqual(rc, 0, err)
        self.assertIn('Available (not downloaded): %s' % IMAGE, out)
        self.assertIn('version  41.20261101.0 → 41.20261120.0', out)
        self.assertIn('Packages: the available image is not downloaded yet', out)
        doc = self.upgrade_json('--check')
        self.assertEqual(doc['image']['state'], 'available')
        self.assertTrue(doc['image']['checked'])
        self.assertEqual(doc['image']['next']['version'], '41.20261120.0')
        for s in ('packages', 'changelog', 'manifests'):
            self.assertFalse(doc[s]['available'])
            self.assertFalse(doc[s]['failed'])
        self.assertIsNone(self.env.bootc_state()['staged'], '--check staged something')
        self.assertEqual(self.env.bootc_runs('upgrade'), [['upgrade', '--check'], ['upgrade', '--check']])

    def test_apply_stages_and_reports(self):
        self.stage_tree(bootc_checksum('41.20261120.0'))
        self.rpm_ostree(commits={'booted': bootc_checksum('41.20261101.0'),
                                 'staged': bootc_checksum('41.20261120.0')})
        rc, out, err = self.env.bkt_run(ADMIN, 'upgrade', '--apply', env_extra=self.extra)
        self.assertEqual(rc, 2, 'no terminal, no --confirm: refused')
        self.assertIsNone(self.env.bootc_state()['staged'])
        doc = self.upgrade_json('--apply', '-y')
        self.assertTrue(doc['upgrade']['success'], doc)
        self.assertIn('Queued for next boot', doc['upgrade']['output'])
        self.check_staged_report(doc)

    def test_nothing_staged(self):
        rc, out, err = self.env.bkt_run(ADMIN, 'upgrade', env_extra=self.extra)
        self.assertEqual(rc, 0, err)
        self.assertIn('No update is staged', out)
        doc = self.upgrade_json()
        self.assertEqual(doc['image']['state'], 'none')
        self.assertIsNone(doc['image']['next'])
        self.assertEqual(doc['packages']['reason'], 'no image is staged')
        # (the rpm-ostree query starts with bootc's and is stopped: nothing to wait for)

    def test_rpm_ostree_missing_or_other_deployments(self):
        self.stage()
        doc = self.upgrade_json(extra={'BKT_RPM_OSTREE': self.env.path('no-such-rpm-ostree')})
        self.assertFalse(doc['packages']['available'])
        self.assertTrue(doc['packages']['failed'])
        self.assertIn('rpm-ostree is not installed', doc['packages']['reason'])
        self.assertTrue(doc['changelog']['available'])
        self.assertTrue(doc['manifests']['available'])
        rc, out, err = self.env.bkt_run(ADMIN, 'upgrade', env_extra=dict(self.extra, BKT_RPM_OSTREE='/nonexistent'))
        self.assertEqual(rc, 0, err)
        self.assertIn('Packages: failed: rpm-ostree is not installed (/nonexistent)', out)

        # rpm-ostree's pending deployment is not bootc's staged one: never shown as its diff
        self.rpm_ostree(commits={'booted': bootc_checksum('41.20261101.0'), 'staged': 'ab' * 32})
        doc = self.upgrade_json()
        self.assertTrue(doc['packages']['failed'])
        self.assertIn('not the booted → staged deployments', doc['packages']['reason'])

        # rpm-ostree fails: its error, per section
        with open(self.state, 'w') as f:
            f.write('{"booted": []}')
        doc = self.upgrade_json()
        self.assertTrue(doc['packages']['failed'])
        self.assertIn('No pending or rollback deployment to diff against', doc['packages']['reason'])

    def test_check_fails_staged_still_shown(self):
        self.stage()
        self.env.set_bootc_mode('fail-check')
        rc, doc, err = self.env.bkt_json(ADMIN, 'upgrade', '--check', '--json', env_extra=self.extra)
        self.assertEqual(rc, 1, err)
        self.assertIn('Temporary failure in name resolution', doc['image']['check_error'])
        self.assertIn('the check for a newer image failed', err)
        self.check_staged_report(doc)
        rc, out, err = self.env.bkt_run(ADMIN, 'upgrade', '--check', '--apply', '-y', env_extra=self.extra)
        self.assertEqual(rc, 1, err)
        self.assertIn('Check for a newer image: failed: ', out)
        self.assertIn('Next boot: staged image', out)
        self.assertNotIn(['upgrade', '--progress-fd', '3'], self.env.bootc_runs('upgrade')[1:],
                         'staged after a failed check')

    def test_bad_rpm_ostree_output_and_own_manifests(self):
        """Output that is not the documented shape fails the packages section, saying where; with
        -m DIR the image's manifests play no part."""
        self.stage()
        st = self.env.bootc_state()
        fake = self.env.path('bad-rpm-ostree')
        for body, why in (('echo not json', 'printed no JSON object'),
                          ("echo '{\"ostree-commit-from\": \"%s\", \"ostree-commit-to\": \"%s\", "
                           "\"pkgdiff\": [[\"x\", \"2\", {}]]}'"
                           % (st['booted']['ostree']['checksum'], st['staged']['ostree']['checksum']),
                           'entry 1 of "pkgdiff" is not [NAME, TYPE, {…}]')):
            with open(fake, 'w') as f:
                f.write('#!/bin/sh\n%s\n' % body)
            os.chmod(fake, 0o755)
            doc = self.upgrade_json(extra={'BKT_RPM_OSTREE': fake})
            self.assertTrue(doc['packages']['failed'])
            self.assertIn(why, doc['packages']['reason'])
        own = self.env.path('own-manifests')
        self.env.write_manifests(own, settings=[DARK])
        bktenv.make_readable(own)
        doc = self.upgrade_json('-m', own)
        self.assertFalse(doc['manifests']['available'])
        self.assertFalse(doc['manifests']['failed'])
        self.assertIn('-m DIR replaces the image', doc['manifests']['reason'])
        self.assertTrue(doc['packages']['available'])

    def test_image_manifests_dir_option(self):
        """The Plan option bkt upgrade uses: an absolute path, the session instance only, not with
        manifests-dir; and it does change the image layer (the staged flatpak is planned)."""
        env = self.env
        tree = self.stage_tree(bootc_checksum('41.20261120.0'))
        staged = tree + env.image_manifests_dir
        for bus, opts in (('session', "{'image-manifests-dir': <'relative/dir'>}"),
                          ('session', "{'image-manifests-dir': <'%s'>, 'manifests-dir': <'%s'>}"
                           % (staged, env.image_manifests_dir)),
                          ('system', "{'image-manifests-dir': <'%s'>}" % staged)):
            p = env.gdbus_call(ADMIN, 'Plan', opts, bus=bus)
            self.assertNotEqual(p.returncode, 0, opts)
            self.assertIn('org.bkt.Error.InvalidArgument', p.stderr, opts)
        p = env.gdbus_call(ADMIN, 'Plan', "{'image-manifests-dir': <'%s'>}" % staged, bus='session')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('org.test.Second', p.stdout)
        p = env.gdbus_call(ADMIN, 'Plan', '{}', bus='session')
        self.assertNotIn('org.test.Second', p.stdout)


if __name__ == '__main__':
    bktenv.main()
