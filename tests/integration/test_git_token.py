#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The forge token goes to the forge's own git host only.

A `--pr` run inside a clone whose origin is some other server must not hand that server the token
(issue 14, finding 9).  A smart-HTTP git server that demands credentials (git_smart_http.py with an
auth log) records every Authorization header it receives; the real bkt and bktd --session propose a
gsettings change from a checkout whose origin is that server:

* the forge API on another port (same address): no token is sent, the proposal fails and says why;
* the origin named by another host name (localhost vs 127.0.0.1) than the forge: no token;
* the origin on the forge's own scheme, host and port: the token is sent (so the check is not
  simply "never").
"""

import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bktenv  # noqa: E402
import punenv  # noqa: E402
from bktenv import ADMIN, EnvTestCase  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
SEED = os.path.join(bktenv.SOURCE_DIR, 'tests', 'data', 'original')
SENT = 'Basic ' + base64.b64encode(('x-access-token:' + punenv.TOKEN).encode()).decode()


class GitToken(EnvTestCase):
    ENV_KW = dict(polkit='real', users=(ADMIN,))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.forge = punenv.Forge()
            cls.world = punenv.GitWorld(cls.env, ADMIN, cls.forge, SEED)
        except BaseException:
            cls.tearDownClass()
            raise
        env, w = cls.env, cls.world
        cls.auth_log = env.path('git', 'auth.log')
        open(cls.auth_log, 'w').close()
        cls.port = punenv.free_port()
        p = subprocess.Popen(['/usr/bin/python3', os.path.join(punenv.HERE, 'git_smart_http.py'), str(cls.port),
                              w.remotes, cls.auth_log], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        env.procs.append(bktenv.Daemon('git-smart-http-auth', p.pid, popen=p))
        punenv.wait_port(cls.port)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'forge', None):
            cls.forge.stop()
        super().tearDownClass()

    def propose_from(self, origin, api_url):
        """A fresh checkout with @origin, the forge at @api_url; returns (rc, stderr, headers received)."""
        w = self.world
        w.write_user_file(os.path.join(self.env.config_home(ADMIN), 'bkt', 'config.json'),
                          json.dumps({'api_url': api_url}) + '\n')
        checkout = os.path.join(self.env.home(ADMIN), 'clone-%d' % len(os.listdir(self.env.home(ADMIN))))
        w.ugit('clone', '-q', w.file_url, checkout)
        w.ugit('-C', checkout, 'remote', 'set-url', 'origin', origin)
        open(self.auth_log, 'w').close()
        rc, out, err = self.env.bkt_run(ADMIN, 'gsetting', 'set', '--pr-only', '--repo', checkout, IFACE,
                                        'cursor-size', '48')
        with open(self.auth_log) as f:
            headers = [line.rstrip('\n') for line in f]
        return rc, out + err, headers

    def test_1_other_port_gets_no_token(self):
        origin = 'http://127.0.0.1:%d/%s/distro-http.git' % (self.port, punenv.OWNER)
        rc, text, headers = self.propose_from(origin, self.forge.url)
        self.assertTrue(headers, 'the git server was never asked: the check did not run')
        self.assertNotIn(SENT, headers)
        self.assertEqual(set(headers), {'-'}, headers)
        self.assertNotIn(punenv.TOKEN, text)
        self.assertIn('only to the forge', text)

    def test_2_other_host_name_gets_no_token(self):
        origin = 'http://localhost:%d/%s/distro-http.git' % (self.port, punenv.OWNER)
        rc, text, headers = self.propose_from(origin, 'http://127.0.0.1:%d' % self.port)
        self.assertTrue(headers, 'the git server was never asked: the check did not run')
        self.assertEqual(set(headers), {'-'}, headers)
        self.assertIn('only to the forge', text)

    def test_3_the_forge_host_gets_it(self):
        origin = 'http://127.0.0.1:%d/%s/distro-http.git' % (self.port, punenv.OWNER)
        rc, text, headers = self.propose_from(origin, 'http://127.0.0.1:%d' % self.port)
        self.assertIn(SENT, headers)


if __name__ == '__main__':
    bktenv.main()
