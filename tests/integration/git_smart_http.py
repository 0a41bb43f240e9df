#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copied from the test-environment recipe: a minimal smart-HTTP git server
# (WSGI -> git http-backend as CGI) on 127.0.0.1, pushes allowed.
"""Minimal smart-HTTP git server: WSGI -> git http-backend (CGI).
Usage: git_smart_http.py PORT PROJECT_ROOT [AUTH_LOG]
With AUTH_LOG, every request needs HTTP Basic credentials (any are accepted, as a forge checks a token):
without them it gets 401 and a WWW-Authenticate challenge; each request's Authorization header (or "-")
is appended to AUTH_LOG, one line each, so a test sees exactly what was sent to this host."""
import os, subprocess, sys
from wsgiref.simple_server import make_server, WSGIRequestHandler
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer
PORT, ROOT = int(sys.argv[1]), sys.argv[2]
AUTH_LOG = sys.argv[3] if len(sys.argv) > 3 else None
def app(environ, start_response):
    if AUTH_LOG:
        auth = environ.get('HTTP_AUTHORIZATION', '')
        with open(AUTH_LOG, 'a') as f:
            f.write((auth or '-') + '\n')
        if not auth.startswith('Basic '):
            start_response('401 Unauthorized', [('WWW-Authenticate', 'Basic realm="git"'), ('Content-Length', '0')])
            return [b'']
    env = {k: v for k, v in environ.items() if isinstance(v, str)}
    env.update(GIT_PROJECT_ROOT=ROOT, GIT_HTTP_EXPORT_ALL='1', PATH=os.environ.get('PATH', '/usr/bin:/bin'),
               GIT_CONFIG_COUNT='2', GIT_CONFIG_KEY_0='safe.directory', GIT_CONFIG_VALUE_0='*',
               GIT_CONFIG_KEY_1='http.receivepack', GIT_CONFIG_VALUE_1='true')
    length = int(environ.get('CONTENT_LENGTH') or 0)
    if environ.get('HTTP_TRANSFER_ENCODING', '').lower() == 'chunked':
        # libgit2 pushes with chunked encoding, which wsgiref does not decode
        # (the recipe only read Content-Length): decode it here.
        body, rf = b'', environ['wsgi.input']
        while True:
            size = int(rf.readline().split(b';')[0].strip() or b'0', 16)
            if size == 0:
                rf.readline()
                break
            body += rf.read(size)
            rf.readline()
        env['CONTENT_LENGTH'] = str(len(body))
        env.pop('HTTP_TRANSFER_ENCODING', None)
    else:
        body = environ['wsgi.input'].read(length) if length else b''
    p = subprocess.run(['git', 'http-backend'], input=body, env=env, capture_output=True)
    head, _, out = p.stdout.partition(b'\r\n\r\n')
    if not _: head, _, out = p.stdout.partition(b'\n\n')
    status, headers = '200 OK', []
    for line in head.decode('latin-1').splitlines():
        k, _, v = line.partition(':'); v = v.strip()
        if k.lower() == 'status': status = v
        elif k: headers.append((k, v))
    start_response(status, headers)
    return [out]
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
class TServer(ThreadingMixIn, WSGIServer): daemon_threads = True
make_server('127.0.0.1', PORT, app, server_class=TServer, handler_class=Quiet).serve_forever()
