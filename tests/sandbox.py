#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bkt's main job in a sandbox: `bkt apply` then `bkt status` on the bundled
example manifests (manifests/), as a wheel user, against a throwaway world.

    meson setup build && meson compile -C build && /usr/bin/python3 tests/sandbox.py

Run as root on Debian 12 (or Fedora) with the packages listed in .ci/run, from a
checkout anywhere root can read: the test users run bkt and bktd as `meson install
--destdir` put them into a world-readable directory of the sandbox's own.
Everything happens inside one temp dir: a private system bus with bkt's own
bus policy, the real polkitd with bkt's polkit policy and rules (in a private
mount namespace), the real bktd --system (root) and bktd --session (the
user), a throwaway system and user flatpak installation fed by a local
unsigned repo, and keyfile GSettings.  The only thing created outside it is
the pair of test users (bkt-admin in group wheel, bkt-user), kept for reuse.

Options: --keep (keep the temp dir), --verbose (show the harness's steps),
--build-dir DIR (default: ./build).
"""

import argparse
import json
import os
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
EXAMPLE_URL = 'file:///var/lib/bkt-example/repo'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--keep', action='store_true', help='keep the temp dir')
    ap.add_argument('--verbose', action='store_true', help="show the harness's steps")
    ap.add_argument('--build-dir', default=os.environ.get('BKT_BUILD_DIR') or os.path.join(SOURCE_DIR, 'build'))
    args = ap.parse_args()
    os.environ['BKT_SOURCE_DIR'] = SOURCE_DIR
    os.environ['BKT_BUILD_DIR'] = os.path.abspath(args.build_dir)
    if not args.verbose:
        os.environ['BKT_TEST_QUIET'] = '1'
    if args.keep:
        os.environ['BKT_KEEP_TMP'] = '1'
    sys.path.insert(0, os.path.join(HERE, 'integration'))
    import bktenv

    if os.geteuid() != 0:
        print('tests/sandbox.py must run as root (it creates test users and a private polkitd).', file=sys.stderr)
        return 2
    # the test users run the INSTALLED bkt and bktd (meson install --destdir into a world-readable
    # directory of the sandbox's own), so the checkout may be anywhere root can read, a 0700 home too
    try:
        installed = bktenv.install()
    except bktenv.EnvError as e:
        print('%s\nbuild first: meson setup build && meson compile -C build' % e, file=sys.stderr)
        return 2

    user = bktenv.ADMIN
    # no remote is configured beforehand: the example manifest declares it (bktd adds a
    # system-declared remote to the user installation when a user-scope app needs it)
    env = bktenv.BktEnv(polkit='real', users=(user,), system_remote=None, user_remote=None, name='sandbox')
    rc = 1
    try:
        env.start()
        print('bkt sandbox in %s' % env.T)
        print('  bkt, bktd           installed by meson install --destdir %s' % installed.destdir)
        print('  private system bus  %s  (policy: data/org.bkt.Daemon1.conf)' % env.system_bus_address)
        print('  polkitd             real, with polkit/org.bkt.policy and polkit/50-bkt.rules;')
        print('                      %s is in an active local login session (as logind records one),' % user)
        print('                      where the wheel rule grants without a password')
        print('  bktd --system       pid %d (root)' % env.system_daemon.pid)
        print('  bktd --session      pid %s (%s, in group wheel)' % (env.session_daemons[user].bktd_pid, user))
        print('  flatpak             system %s, user %s' % (env.path('flatpak', 'system'),
                                                            env.user_flatpak_dir(user)))
        print('  local repo          %s (runtime org.test.Platform, apps org.test.Hello, org.test.Second)'
              % env.repo_dir)
        print('  GSettings           keyfile backend, %s' % env.keyfile(user))
        print('  host shims          %s' % os.path.join(env.home(user), '.local', 'toolbox', 'shims'))

        # the bundled example, as the image would ship it, with its repo URL pointed at the sandbox
        src = os.path.join(SOURCE_DIR, 'manifests')
        dst = env.image_manifests_dir
        rewritten = []
        for fname in sorted(f for f in os.listdir(src) if f.endswith('.json')):
            with open(os.path.join(src, fname)) as f:
                text = f.read()
            if EXAMPLE_URL in text:
                text = text.replace(EXAMPLE_URL, env.repo_url)
                rewritten.append(fname)
            with open(os.path.join(dst, fname), 'w') as f:
                f.write(text)
        bktenv.make_readable(dst)
        print('  image manifests     %s: copies of manifests/*.json; in %s only the URL %s was rewritten to %s'
              % (dst, ', '.join(rewritten) or '(none)', EXAMPLE_URL, env.repo_url))
        print()

        ok = True
        for cmd in (['apply'], ['status']):
            print('$ bkt %s' % ' '.join(shlex.quote(a) for a in cmd), flush=True)
            p = env.run_as(user, [env.bkt] + cmd, quiet_ok=True)
            sys.stdout.write(p.stdout)
            if p.stderr:
                sys.stdout.write(p.stderr)
            print('[exit code %d]\n' % p.returncode, flush=True)
            ok &= p.returncode == 0

        print('Checking the throwaway world directly:')
        installed = {'system': env.installed_apps('system', user), 'user': env.installed_apps('user', user)}
        print('  flatpak --system list: %s' % ', '.join(sorted(installed['system'])))
        print('  flatpak --user list:   %s' % ', '.join(sorted(installed['user'])))
        declared = json.load(open(os.path.join(dst, 'flatpak-apps.json')))['apps']
        ok &= bool(declared)  # an example that declares no app proves nothing
        for app in declared:
            scope = app.get('scope', 'system')  # absent means system (docs/manifests.md)
            good = app['id'] in installed[scope]
            print('  flatpak %s (%s): %s' % (app['id'], scope, 'installed' if good else 'NOT INSTALLED'))
            ok &= good
        settings = json.load(open(os.path.join(dst, 'gsettings.json')))['settings']
        ok &= bool(settings)
        for s in settings:
            v = env.gsettings(user, 'get', s['schema'], s['key'])
            mark = 'ok' if v == s['value'] else 'DIFFERS (manifest %s)' % s['value']
            print('  gsettings get %s %s: %s %s' % (s['schema'], s['key'], v, mark))
            ok &= v == s['value']
        shim_dir = os.path.join(env.home(user), '.local', 'toolbox', 'shims')
        shims = json.load(open(os.path.join(dst, 'host-shims.json')))['shims']
        ok &= bool(shims)
        for s in shims:
            path = os.path.join(shim_dir, s['name'])
            want = "exec flatpak-spawn --host '%s' \"$@\"" % s.get('host', s['name'])
            good = os.access(path, os.X_OK) and want in open(path).read()
            print('  shim %s: %s' % (path, 'ok (runs the host\'s %s)' % s.get('host', s['name']) if good
                                     else 'MISSING or wrong'))
            ok &= good
        rc = 0 if ok else 1
    except Exception as e:  # noqa: BLE001
        print('sandbox failed: %s' % e, file=sys.stderr)
        env.dump_logs()
        rc = 1
    finally:
        try:
            env.stop()
        except AssertionError as e:
            print(str(e), file=sys.stderr)
            rc = 1
    print('sandbox removed' if not args.keep else 'sandbox kept in %s' % env.T)
    print('sandbox %s' % ('OK' if rc == 0 else 'FAILED'))
    return rc


if __name__ == '__main__':
    sys.exit(main())
