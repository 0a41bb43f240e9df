#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the seed corpora of tests/fuzz: make-seeds.py OUTDIR  (OUTDIR/fuzz-NAME/...)

From the repo's own data (tests/data: the original distribution's manifests, the Containerfile
template; manifests/: the example distribution) and hand-made cases for what no file shows: the
original's YAML changelog entries, extensions.gnome.org / GitHub / forge answers, and zip archives
built here — ordinary ones and hostile ones (zip-slip "../", absolute names, a symbolic link, a
setuid file, a CRC lie, a size lie, a deflate bomb, an encrypted member, duplicate names).
Each target's first input byte picks a path where the target says so (fuzz-json, fuzz-changelog,
fuzz-api): the seeds carry that byte.  Deterministic: the same files every run.
"""

import io
import json
import os
import struct
import sys
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
KINDS = ['flatpak-remotes', 'flatpak-apps', 'gsettings', 'gnome-extensions', 'host-shims', 'system-packages',
         'toolbox-packages']


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def manifests():
    for d in (os.path.join(SRC, 'tests', 'data', 'original'), os.path.join(SRC, 'manifests')):
        for f in sorted(os.listdir(d)):
            if f.endswith('.json'):
                with open(os.path.join(d, f), 'rb') as fh:
                    yield os.path.basename(d) + '-' + f, f[:-5], fh.read()


def json_seeds(out):
    content = {}
    for name, kind, data in manifests():
        write(out, 'fuzz-json', 'doc-' + name, b'\x00' + data)
        if kind in KINDS:
            write(out, 'fuzz-json', 'kind-' + name, bytes([64 + KINDS.index(kind)]) + data)
            try:
                content[kind] = json.loads(data)
            except ValueError:
                pass
    write(out, 'fuzz-json', 'content-all', b'\xc0' + json.dumps(content).encode())
    for i, text in enumerate(['{"a": [1, 2.5e3, -0, true, false, null, "\\u00e9\\ud83d\\ude00"]}',
                              '[' * 70 + ']' * 70, '{"apps": [{"id": "x", "remote": "r", "scope": "system"}]}',
                              '{"settings": [{"schema": "a.b", "key": "k", "value": "\'v\'"}]} // c']):
        write(out, 'fuzz-json', 'hand-%d' % i, b'\x00' + text.encode())


def changelog_seeds(out):
    yaml = ["timestamp: 2025-01-02T10:11:12Z\ntype: added\ncategory: flatpak\nmessage: 'Add Firefox: the browser'\n"
            "command: bkt flatpak add org.mozilla.firefox\npr: 42\ndraft: false\n",
            "---\n# a comment\ntimestamp: 2025-01-02T10:11:12Z\ntype: changed\ncategory: system\n"
            "message: \"Quoted \\\"x\\\"\"\ndraft: true\npr: null\nmanual_steps:\n  - Log out and in\n"
            "  - 'Run it''s thing'\n",
            "type: removed\ncategory: dnf\nmessage: plain text: with colon\n"]
    for i, y in enumerate(yaml):
        write(out, 'fuzz-changelog', 'yaml-%d' % i, b'\x01' + y.encode())
    entry = {'timestamp': '2025-01-02T10:11:12Z', 'type': 'fixed', 'category': 'gsetting', 'message': 'm',
             'command': 'bkt gsetting set a b c', 'pr': 7, 'draft': True, 'manual_steps': ['one', 'two']}
    write(out, 'fuzz-changelog', 'json-0', b'\x00' + json.dumps(entry).encode())


def containerfile_seeds(out):
    with open(os.path.join(SRC, 'tests', 'data', 'containerfile', 'Containerfile.in'), 'rb') as f:
        cf = f.read()
    for name, kind, data in manifests():
        if kind == 'system-packages':
            write(out, 'fuzz-containerfile', 'cf-' + name, cf + b'\x00' + data)
    write(out, 'fuzz-containerfile', 'cf-empty-json', cf + b'\x00{}')


def semver_seeds(out):
    pairs = [('1.2.3', '1.2.4'), ('v1.2.3', 'v2.0.0-rc.1'), ('1.0.0-alpha.1', '1.0.0-alpha.beta'),
             ('1.0.0+build.5', '1.0.0'), ('2024.01.02', '2024.1.3'), ('v10', 'v9'), ('1.2', '1.2.0'),
             ('18446744073709551616.0.0', '1.0.0'), ('0.0.0-0', '0.0.0--')]
    for i, (a, b) in enumerate(pairs):
        write(out, 'fuzz-semver', 'pair-%d' % i, (a + '\0' + b).encode())


def api_seeds(out):
    ego = {'uuid': 'dash-to-dock@micxgx.gmail.com', 'name': 'Dash to Dock', 'pk': 307, 'version': 89,
           'download_url': '/download-extension/dash-to-dock@micxgx.gmail.com.shell-extension.zip?version_tag=1',
           'shell_version_map': {'44': {'pk': 1, 'version': 84}, '45': {'pk': 2, 'version': 89}}}
    write(out, 'fuzz-api', 'ego-0', b'\x00' + json.dumps(ego).encode())
    ego2 = dict(ego)
    del ego2['download_url'], ego2['version']
    write(out, 'fuzz-api', 'ego-newest', b'\x00' + json.dumps(ego2).encode())
    ego3 = dict(ego, download_url='https://evil.example/x.zip')
    write(out, 'fuzz-api', 'ego-offsite', b'\x04' + json.dumps(ego3).encode())
    err = {'message': 'Validation Failed', 'errors': [{'message': 'A pull request already exists'},
                                                       {'code': 'custom'}], 'documentation_url': 'x'}
    write(out, 'fuzz-api', 'forge-error', b'\x01' + json.dumps(err).encode())
    write(out, 'fuzz-api', 'forge-pr', b'\x02' + json.dumps({'html_url': 'https://github.com/a/b/pull/1',
                                                             'number': 1}).encode())
    release = {'tag_name': 'v1.3.0', 'draft': False, 'prerelease': False,
               'target_commitish': '0123456789abcdef0123456789abcdef01234567',
               'tarball_url': 'https://api.github.com/repos/acme/tool/tarball/v1.3.0',
               'assets': [{'name': 'tool-1.3.0-linux.tar.gz', 'browser_download_url': 'https://x/y.tar.gz'},
                          {'name': 'tool-1.3.0-mac.zip', 'browser_download_url': 'https://x/y.zip'}]}
    pre = dict(release, tag_name='v2.0.0-rc.1', prerelease=True)
    write(out, 'fuzz-api', 'gh-releases', b'\x03' + json.dumps([release, pre]).encode())
    write(out, 'fuzz-api', 'gh-release', b'\x0b' + json.dumps(release).encode())
    tags = [{'name': 'v1.2.4', 'commit': {'sha': 'fedcba9876543210fedcba9876543210fedcba98'}},
            {'name': 'v1.10.0', 'commit': {'sha': 'x'}}]
    write(out, 'fuzz-api', 'gh-tags', b'\x07' + json.dumps(tags).encode())


def zip_bytes(entries, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', method) as z:
        for name, data, attr in entries:
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            if attr is not None:
                info.create_system = 3
                info.external_attr = attr << 16
            z.writestr(info, data)
    return buf.getvalue()


def zip_seeds(out):
    ext = [('metadata.json', json.dumps({'uuid': 'x@y', 'name': 'X', 'shell-version': ['45']}), None),
           ('extension.js', 'export default class X {}\n', None), ('schemas/', '', 0o40755),
           ('schemas/org.gnome.shell.extensions.x.gschema.xml', '<schemalist/>\n', None)]
    write(out, 'fuzz-zip', 'ok-deflated.zip', zip_bytes(ext))
    write(out, 'fuzz-zip', 'ok-stored.zip', zip_bytes(ext, zipfile.ZIP_STORED))
    write(out, 'fuzz-zip', 'slip-dotdot.zip', zip_bytes([('../evil', 'x', None)]))
    write(out, 'fuzz-zip', 'slip-nested.zip', zip_bytes([('a/../../evil', 'x', None)]))
    write(out, 'fuzz-zip', 'absolute.zip', zip_bytes([('/tmp/evil', 'x', None)]))
    write(out, 'fuzz-zip', 'backslash.zip', zip_bytes([('..\\evil', 'x', None)]))
    write(out, 'fuzz-zip', 'symlink.zip', zip_bytes([('link', '/etc/passwd', 0o120777), ('link/x', 'y', None)]))
    write(out, 'fuzz-zip', 'setuid.zip', zip_bytes([('tool', '#!/bin/sh\n', 0o104755)]))
    write(out, 'fuzz-zip', 'duplicate.zip', zip_bytes([('a', '1', None), ('a', '2', None)]))
    write(out, 'fuzz-zip', 'bomb.zip', zip_bytes([('zeros', b'\0' * (4 << 20), None)]))
    good = bytearray(zip_bytes([('f.txt', 'hello world\n' * 20, None)]))
    crc = bytearray(good)
    # the local header's CRC (offset 14) and the central directory's lie
    crc[14:18] = b'\xde\xad\xbe\xef'
    cd = crc.find(b'PK\x01\x02')
    crc[cd + 16:cd + 20] = b'\xde\xad\xbe\xef'
    write(out, 'fuzz-zip', 'crc-lie.zip', bytes(crc))
    size = bytearray(good)
    size[22:26] = struct.pack('<I', 1 << 30)
    cd = size.find(b'PK\x01\x02')
    size[cd + 24:cd + 28] = struct.pack('<I', 1 << 30)
    write(out, 'fuzz-zip', 'size-lie.zip', bytes(size))
    enc = bytearray(good)
    enc[6] |= 1
    cd = enc.find(b'PK\x01\x02')
    enc[cd + 8] |= 1
    write(out, 'fuzz-zip', 'encrypted.zip', bytes(enc))
    write(out, 'fuzz-zip', 'truncated.zip', bytes(good[:len(good) // 2]))
    write(out, 'fuzz-zip', 'raw-deflate', zlib.compress(b'x' * 1000)[2:-4])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus')
    for f in (json_seeds, changelog_seeds, containerfile_seeds, semver_seeds, api_seeds, zip_seeds):
        f(out)


if __name__ == '__main__':
    main()
