#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`bkt schema list|generate|check`: the JSON Schemas of all ten manifest kinds, written from the
shapes bkt's loaders check, installed by meson under DATADIR/bkt/schemas.

An independent validator (python3-jsonschema, Draft 2020-12 with its format checker) accepts every
bundled manifest (manifests/, through its own "$schema") and every file of the reference
distribution, and refuses what bkt's loader (`bkt schema check`, the real loaders, no daemon)
refuses; the two rules only bkt can check (unique keys, GVariant text) are named in the schemas
(x-bkt-unique, x-bkt-check).  No daemon is involved: the installed bkt runs alone."""

import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest

SRC = os.environ.get('BKT_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BKT_BUILD_DIR', os.path.join(SRC, 'build'))
REFERENCE = '/work/shared/reference/original-distribution'
KINDS = ['flatpak-remotes', 'flatpak-apps', 'gsettings', 'gnome-extensions', 'host-shims', 'system-packages',
         'toolbox-packages', 'base-image-assumptions', 'upstream-manifest', 'repo']

try:
    import jsonschema
except ImportError:  # pragma: no cover - the skip says why
    jsonschema = None

# (kind, document, why the loader refuses it): the schema must refuse each too.
REFUSED = [
    ('flatpak-apps', {'apps': [{'id': 'firefox', 'remote': 'flathub', 'scope': 'system'}]}, 'two elements'),
    ('flatpak-apps', {'apps': [{'id': 'org.9lives.App', 'remote': 'flathub', 'scope': 'system'}]}, 'digit'),
    ('flatpak-apps', {'apps': [{'id': 'org.a.B', 'remote': '-flathub', 'scope': 'system'}]}, 'option remote'),
    ('flatpak-apps', {'apps': [{'id': 'org.a.B', 'remote': 'flathub', 'scope': 'both'}]}, 'scope'),
    ('flatpak-apps', {'apps': [{'id': 'org.a.B', 'remote': 'flathub'}]}, 'missing scope'),
    ('flatpak-apps', {'apps': {}}, 'not a list'),
    ('flatpak-remotes', {'remotes': [{'name': 'a/b', 'url': 'https://x'}]}, 'remote name'),
    ('flatpak-remotes', {'remotes': [{'name': 'r', 'url': ''}]}, 'empty url'),
    ('gsettings', {'settings': [{'schema': 'org/a', 'key': 'k', 'value': '1'}]}, 'schema id'),
    ('gsettings', {'settings': [{'schema': 'org.a', 'key': 'Key', 'value': '1'}]}, 'key case'),
    ('gsettings', {'settings': [{'schema': 'org.a', 'key': 'k', 'value': '1', 'path': '/a//b/'}]}, 'path'),
    ('gnome-extensions', {'extensions': ['../evil']}, 'bare uuid'),
    ('gnome-extensions', {'extensions': [{'uuid': 'a@b', 'enabled': 'yes'}]}, 'enabled type'),
    ('gnome-extensions', {'extensions': [7]}, 'entry type'),
    ('host-shims', {'shims': [{'name': 'x', 'host': '/'}]}, 'host /'),
    ('host-shims', {'shims': [{'name': '-rf'}]}, 'option name'),
    ('system-packages', {'packages': [{'name': 'vim'}]}, 'object package'),
    ('system-packages', {'packages': ['vim'], 'copr_repos': [{'name': 'owner'}]}, 'copr name'),
    ('toolbox-packages', {'packages': ['a..b']}, 'dots'),
    ('base-image-assumptions', {'packages': []}, 'no base_image'),
    ('base-image-assumptions', {'base_image': {'source': 'x'}, 'packages': [], 'paths': ['/usr/../etc']}, '..'),
    ('base-image-assumptions', {'base_image': {'source': 'x'}, 'packages': [], 'services': ['sshd']}, 'unit'),
    ('upstream-manifest', {'upstreams': [{'name': 'a', 'source': {'type': 'github'},
                                          'pinned': {'version': '1', 'sha256': '0' * 64,
                                                     'pinned_at': '2024-01-01T00:00:00Z'}}]}, 'github w/o repo'),
    ('upstream-manifest', {'upstreams': [{'name': 'a', 'source': {'type': 'url', 'url': 'https://x/a'},
                                          'pinned': {'version': '1 $(x)', 'sha256': '0' * 64,
                                                     'pinned_at': '2024-01-01T00:00:00Z'}}]}, 'version'),
    ('upstream-manifest', {'upstreams': [{'name': 'a', 'source': {'type': 'url', 'url': 'https://x/a'},
                                          'pinned': {'version': '1', 'sha256': 'abc',
                                                     'pinned_at': '2024-01-01T00:00:00Z'}}]}, 'sha256'),
    ('repo', {'owner': '-x', 'name': 'bootc'}, 'owner'),
    ('repo', {'url': 3}, 'url type'),
]

# Accepted by both: the forms the original tool wrote.
ACCEPTED = [
    ('gnome-extensions', {'$schema': '../schemas/gnome-extensions.schema.json',
                          'extensions': ['dash-to-dock@micxgx.gmail.com', {'uuid': 'a@b', 'enabled': False}]}),
    ('flatpak-apps', {'apps': [{'id': 'org.example.-app', 'remote': 'r', 'scope': 'user', 'x-note': 1}]}),
    ('host-shims', {'shims': [{'name': 'g++', 'host': '/usr/bin/g++'}]}),
    ('upstream-manifest', {'upstreams': [{'name': 'a', 'source': {'type': 'url', 'url': 'https://x/a'},
                                          'pinned': {'version': '1', 'sha256': '0' * 64,
                                                     'pinned_at': '2024-01-01T00:00:00Z'}}]}),
]

# Refused by the loader only: what a JSON Schema cannot say, named by the schema instead.
LOADER_ONLY = [
    ('flatpak-apps', {'apps': [{'id': 'org.a.B', 'remote': 'r', 'scope': 'user'}] * 2}, 'x-bkt-unique'),
    ('gsettings', {'settings': [{'schema': 'org.a', 'key': 'k', 'value': "'unclosed"}]}, 'x-bkt-check'),
    # "format" is an annotation unless the validator has a date-time checker (rfc3339-validator)
    ('upstream-manifest', {'upstreams': [{'name': 'a', 'source': {'type': 'url', 'url': 'https://x/a'},
                                          'pinned': {'version': '1', 'sha256': '0' * 64,
                                                     'pinned_at': 'yesterday'}}]}, 'date-time'),
]


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


class Schemas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if jsonschema is None:
            raise unittest.SkipTest('needs python3-jsonschema: the independent validator is not installed')
        cls.dest = tempfile.mkdtemp(prefix='bkt-schema-')
        subprocess.run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--destdir', cls.dest, '--quiet'],
                       check=True, capture_output=True)
        bkts = glob.glob(os.path.join(cls.dest, '**', 'bin', 'bkt'), recursive=True)
        assert len(bkts) == 1, bkts
        cls.bkt = bkts[0]
        cls.tmp = tempfile.mkdtemp(prefix='bkt-schema-work-')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, True)
        shutil.rmtree(cls.tmp, True)

    def run_bkt(self, *args, cwd=None):
        env = dict(os.environ, HOME=self.tmp, XDG_CONFIG_HOME=os.path.join(self.tmp, 'config'), LC_ALL='C.UTF-8')
        return subprocess.run([self.bkt] + list(args), capture_output=True, text=True, env=env, cwd=cwd or self.tmp,
                              timeout=60)

    def installed_schemas(self):
        p = self.run_bkt('schema', 'list', '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        return {e['kind']: (e['file'], self.dest + e['schema']) for e in json.loads(p.stdout)}

    def validator(self, kind):
        _, path = self.installed_schemas()[kind]
        with open(path) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())

    def loader(self, kind, doc):
        """`bkt schema check --kind KIND` on @doc: (exit code, message)."""
        path = os.path.join(self.tmp, 'doc.json')
        with open(path, 'w') as f:
            json.dump(doc, f, indent=2)
        p = self.run_bkt('schema', 'check', '--kind', kind, path)
        return p.returncode, p.stdout + p.stderr

    def test_list_names_every_kind_and_its_installed_schema(self):
        p = self.run_bkt('schema', 'list')
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ['KIND', 'FILE', 'SCHEMA'])
        self.assertEqual([l.split()[0] for l in lines[1:]], KINDS)
        listed = self.installed_schemas()
        self.assertEqual(list(listed), KINDS)
        self.assertEqual(listed['upstream-manifest'][0], 'upstream/manifest.json')
        self.assertEqual(listed['repo'][0], 'repo.json')
        for kind, (_, path) in listed.items():
            self.assertTrue(os.path.isfile(path), '%s: meson did not install %s' % (kind, path))

    def test_generate_writes_what_is_installed_and_is_idempotent(self):
        out = os.path.join(self.tmp, 'gen', 'schemas')
        p = self.run_bkt('schema', 'generate', '-n', out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count('would write'), 10, p.stdout)
        self.assertFalse(os.path.exists(out), '--dry-run created the directory')
        p = self.run_bkt('schema', 'generate', out, '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        files = json.loads(p.stdout)['files']
        self.assertEqual([f['kind'] for f in files], KINDS)
        self.assertTrue(all(f['changed'] for f in files))
        for kind, (_, installed) in self.installed_schemas().items():
            with open(installed) as a, open(os.path.join(out, os.path.basename(installed))) as b:
                self.assertEqual(a.read(), b.read(), kind)
        p = self.run_bkt('schema', 'generate', out)
        self.assertEqual(p.stdout.count('unchanged'), 10, p.stdout)

    def test_generate_defaults_to_the_repo_schemas_dir(self):
        repo = os.path.join(self.tmp, 'dist')
        os.makedirs(os.path.join(repo, 'manifests'))
        subprocess.run(['git', 'init', '-q', repo], check=True)
        p = self.run_bkt('schema', 'generate', cwd=os.path.join(repo, 'manifests'))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(glob.glob(os.path.join(repo, 'schemas', '*.schema.json'))), 10)
        p = self.run_bkt('schema', 'generate', cwd='/')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('no DIR given and no distribution repo found', p.stderr)

    def test_source_tree_copies_are_current(self):
        """schemas/ (what manifests/*.json name in "$schema") is what bkt generates."""
        out = os.path.join(self.tmp, 'current')
        self.assertEqual(self.run_bkt('schema', 'generate', out).returncode, 0)
        for path in sorted(glob.glob(os.path.join(out, '*.json'))):
            with open(path) as a, open(os.path.join(SRC, 'schemas', os.path.basename(path))) as b:
                self.assertEqual(b.read(), a.read(),
                                 'schemas/%s is stale: run bkt schema generate schemas' % os.path.basename(path))

    def test_bundled_manifests_validate_through_their_schema_member(self):
        files = sorted(glob.glob(os.path.join(SRC, 'manifests', '*.json')))
        self.assertGreaterEqual(len(files), 4)
        for path in files:
            with open(path) as f:
                doc = json.load(f)
            self.assertIn('$schema', doc, path)
            with open(os.path.normpath(os.path.join(os.path.dirname(path), doc['$schema']))) as f:
                schema = json.load(f)
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
            self.assertEqual(errors, [], path)
            # the installed copies: DATADIR/bkt/manifests/X.json → ../schemas/X.schema.json
        installed = glob.glob(os.path.join(self.dest, '**', 'bkt', 'manifests', '*.json'), recursive=True)
        for path in installed:
            with open(path) as f:
                ref = json.load(f)['$schema']
            self.assertTrue(os.path.isfile(os.path.normpath(os.path.join(os.path.dirname(path), ref))), path)
        p = self.run_bkt('schema', 'check', *files)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_reference_distribution_validates_and_loads_unchanged(self):
        if not os.path.isdir(REFERENCE):
            self.skipTest('needs the reference distribution: %s is missing' % REFERENCE)
        files = sorted(glob.glob(os.path.join(REFERENCE, 'manifests', '*.json')))
        files += [os.path.join(REFERENCE, 'upstream', 'manifest.json'), os.path.join(REFERENCE, 'repo.json')]
        self.assertEqual(len(files), 10)
        before = {f: read_bytes(f) for f in files}
        p = self.run_bkt('schema', 'check', '--json', *files)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        results = json.loads(p.stdout)
        self.assertEqual(sorted(r['kind'] for r in results), sorted(KINDS))
        for r in results:
            with open(r['file']) as f:
                doc = json.load(f)
            errors = list(self.validator(r['kind']).iter_errors(doc))
            self.assertEqual(errors, [], r['file'])
        self.assertEqual(before, {f: read_bytes(f) for f in files})

    def test_what_the_loader_refuses_the_schema_refuses(self):
        for kind, doc, why in REFUSED:
            with self.subTest(kind=kind, why=why):
                rc, message = self.loader(kind, doc)
                self.assertEqual(rc, 5, 'the loader accepts it (%s): %s' % (why, message))
                self.assertRegex(message, r'doc\.json:\d+:\d+: ')
                self.assertNotEqual(list(self.validator(kind).iter_errors(doc)), [],
                                    'the schema accepts what the loader refuses: %s' % message)

    def test_what_the_loader_accepts_the_schema_accepts(self):
        for kind, doc in ACCEPTED:
            with self.subTest(kind=kind):
                rc, message = self.loader(kind, doc)
                self.assertEqual(rc, 0, message)
                self.assertEqual(list(self.validator(kind).iter_errors(doc)), [])

    def test_rules_beyond_json_schema_are_named_in_it(self):
        for kind, doc, keyword in LOADER_ONLY:
            with self.subTest(kind=kind):
                rc, message = self.loader(kind, doc)
                self.assertEqual(rc, 5, message)
                if keyword != 'date-time':
                    self.assertEqual(list(self.validator(kind).iter_errors(doc)), [])
                _, path = self.installed_schemas()[kind]
                with open(path) as f:
                    self.assertIn('"%s"' % keyword, f.read())

    def test_check_errors(self):
        p = self.run_bkt('schema', 'check', os.path.join(self.tmp, 'nowhere', 'flatpak-apps.json'))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('no such file', p.stderr)
        p = self.run_bkt('schema', 'check', '/etc/hostname')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('use --kind KIND', p.stderr)
        p = self.run_bkt('schema', 'check', '--kind', 'nope', '/etc/hostname')
        self.assertEqual(p.returncode, 2)
        self.assertIn('unknown kind', p.stderr)


if __name__ == '__main__':
    unittest.main()
