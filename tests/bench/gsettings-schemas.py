#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate the gsettings part of the benchmark's reference load.

Writes into OUTDIR:
  org.bkt.bench.gschema.xml   SCHEMAS schemas org.bkt.bench.sN with KEYS keys each,
                              cycling through the key types the subsystem handles
                              (string, boolean, ranged int, enum, string array, double)
  gsettings.json              one manifest entry per key, each value different from
                              the key's default, so a first apply sets every key

Compile with `glib-compile-schemas --strict OUTDIR` and point GSETTINGS_SCHEMA_DIR
at it.  The default load is 10 schemas x 50 keys = 500 keys.
"""

import argparse
import json
import os
from xml.sax.saxutils import escape

# (type attribute or enum, default, manifest value) per kind of key
KINDS = [
    ('type="s"', "'default'", "'value-{n}'"),
    ('type="b"', 'false', 'true'),
    ('type="i"', '0', '{m}'),                      # <range min="0" max="1000"/>
    ('enum="org.bkt.bench.Mode"', "'off'", "'auto'"),
    ('type="as"', '[]', "['a', 'b{n}']"),
    ('type="d"', '1.0', '{m}.5'),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('outdir')
    ap.add_argument('--schemas', type=int, default=10)
    ap.add_argument('--keys', type=int, default=50, help='keys per schema')
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<schemalist>',
           '  <enum id="org.bkt.bench.Mode">',
           '    <value nick="off" value="0"/>', '    <value nick="on" value="1"/>',
           '    <value nick="auto" value="2"/>', '  </enum>']
    settings = []
    n = 0
    for s in range(args.schemas):
        schema = 'org.bkt.bench.s%d' % s
        xml.append('  <schema id="%s" path="/org/bkt/bench/s%d/">' % (schema, s))
        for k in range(args.keys):
            attr, default, value = KINDS[k % len(KINDS)]
            key = 'key-%d' % k
            xml.append('    <key name="%s" %s>' % (key, attr))
            if 'type="i"' in attr:
                xml.append('      <range min="0" max="1000"/>')
            xml.append('      <default>%s</default>' % escape(default))
            xml.append('    </key>')
            settings.append({'schema': schema, 'key': key,
                             'value': value.format(n=n, m=1 + n % 999)})
            n += 1
        xml.append('  </schema>')
    xml.append('</schemalist>')

    with open(os.path.join(args.outdir, 'org.bkt.bench.gschema.xml'), 'w') as f:
        f.write('\n'.join(xml) + '\n')
    with open(os.path.join(args.outdir, 'gsettings.json'), 'w') as f:
        json.dump({'settings': settings}, f, indent=2)
        f.write('\n')
    print('%d keys in %d schemas written to %s' % (n, args.schemas, args.outdir))


if __name__ == '__main__':
    main()
