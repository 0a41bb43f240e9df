#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The RPM (data/bkt.spec.in, configured into build/data/bkt.spec).

rpmspec parses it; rpmbuild builds a binary RPM from a tarball of the tree
(the files git knows, as they are in the work tree) with the macros Debian's
rpm lacks (tests/data/rpm/macros.debian-stand-in: Fedora's meson and systemd
macros); `rpm -qlp` of the result lists exactly what `meson install` put in
the build root, no more, no less (rpmbuild itself refuses installed but
unpackaged files; this also catches a %files entry that matches nothing
installed by meson, e.g. a glob that grew)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402

SRC = os.environ.get('BKT_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BKT_BUILD_DIR', os.path.join(SRC, 'build'))
SPEC = os.path.join(BUILD, 'data', 'bkt.spec')
MACROS = os.path.join(SRC, 'tests', 'data', 'rpm', 'macros.debian-stand-in')

# Added by rpmbuild from %license / %doc, not by meson install.
RPM_ONLY_PREFIXES = ('/usr/share/licenses/bkt/', '/usr/share/doc/bkt/')


def run(*argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def project_version():
    out = run('rpmspec', '-q', '--load', MACROS, '--qf', '%{VERSION}\n', SPEC).stdout
    return out.split()[0]


class RpmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ('rpmbuild', 'rpmspec', 'rpm', 'git'):
            if shutil.which(tool) is None:
                raise bktenv.skip_without(tool, 'not installed (package rpm / git)')
        cls.tmp = tempfile.mkdtemp(prefix='bkt-rpm-')
        cls.topdir = os.path.join(cls.tmp, 'rpmbuild')
        for d in ('SOURCES', 'SPECS', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT'):
            os.makedirs(os.path.join(cls.topdir, d))
        cls.version = project_version()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def make_tarball(self):
        """bkt-VERSION.tar.gz of the files git tracks or sees (not ignored),
        as they are in the work tree, under bkt-VERSION/."""
        files = run('git', '-C', SRC, 'ls-files', '-z', '--cached', '--others', '--exclude-standard').stdout
        names = [n for n in files.split('\0') if n and os.path.lexists(os.path.join(SRC, n))
                 and not n.startswith('build')]
        listing = os.path.join(self.tmp, 'files')
        with open(listing, 'w') as f:
            f.write('\0'.join(names))
        tarball = os.path.join(self.topdir, 'SOURCES', 'bkt-%s.tar.gz' % self.version)
        run('tar', '-C', SRC, '--null', '-T', listing, '--transform', 's,^,bkt-%s/,' % self.version,
            '-czf', tarball)
        return tarball

    def test_1_spec_parses(self):
        out = run('rpmspec', '-P', '--load', MACROS, SPEC).stdout
        self.assertIn('Version:        %s' % self.version, out)
        # Fedora's conventions: meson macros, BuildRequires by pkg-config name.
        self.assertIn('meson setup', out)
        self.assertIn('BuildRequires:  pkgconfig(flatpak)', out)
        self.assertIn('-Dexample_manifests=false', out)

    def test_2_build_and_files(self):
        self.make_tarball()
        shutil.copy(SPEC, os.path.join(self.topdir, 'SPECS'))
        spec = os.path.join(self.topdir, 'SPECS', 'bkt.spec')
        env = dict(os.environ)
        env.pop('BKT_VALGRIND', None)
        # --nodeps: Debian's rpm database knows none of the BuildRequires
        # (they are Debian packages here); debug_package: Debian has no
        # find-debuginfo.  --noclean keeps the build root to compare.
        proc = subprocess.run(['rpmbuild', '-bb', '--nodeps', '--noclean', '--load', MACROS,
                               '--define', '_topdir %s' % self.topdir,
                               '--define', 'debug_package %{nil}',
                               '--define', '_smp_build_ncpus 2', spec],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        if proc.returncode != 0:
            self.fail('rpmbuild failed:\n' + proc.stdout[-6000:])
        rpms = []
        for root, _, names in os.walk(os.path.join(self.topdir, 'RPMS')):
            rpms += [os.path.join(root, n) for n in names if n.endswith('.rpm')]
        self.assertEqual(len(rpms), 1, rpms)
        listed = set(run('rpm', '-qlp', rpms[0]).stdout.split())

        roots = os.listdir(os.path.join(self.topdir, 'BUILDROOT'))
        self.assertEqual(len(roots), 1, roots)
        buildroot = os.path.join(self.topdir, 'BUILDROOT', roots[0])
        installed, dirs = set(), set()
        for root, dnames, fnames in os.walk(buildroot):
            rel = '/' + os.path.relpath(root, buildroot)
            for d in dnames:
                dirs.add(os.path.normpath(os.path.join(rel, d)))
            for f in fnames:
                installed.add(os.path.normpath(os.path.join(rel, f)))
        packaged_files = {p for p in listed if p not in dirs and not p.startswith(RPM_ONLY_PREFIXES)}
        self.assertEqual(packaged_files, {p for p in installed if not p.startswith(RPM_ONLY_PREFIXES)})
        # What a bootc image needs from the package, by name.
        for must in ('/usr/bin/bkt', '/usr/libexec/bktd', '/usr/libexec/bkt-tool', '/usr/lib/systemd/system/bktd.service',
                     '/usr/share/polkit-1/actions/org.bkt.policy',
                     '/usr/share/polkit-1/rules.d/50-bkt.rules',
                     '/usr/share/dbus-1/system.d/org.bkt.Daemon1.conf',
                     '/usr/share/man/man8/bktd.8'):
            self.assertIn(must, {p.replace('.8.gz', '.8') for p in listed})
        # Man pages: compressed or not is the build root's policy (brp-compress).
        self.assertTrue({'/usr/share/man/man1/bkt.1', '/usr/share/man/man1/bkt.1.gz'} & listed)
        # The example distribution stays out of a real image.
        self.assertFalse([p for p in listed if p.startswith('/usr/share/bkt/manifests')])
        self.assertIn('/usr/share/licenses/bkt/LICENSE', listed)


if __name__ == '__main__':
    bktenv.main(needs_root=False)
