#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drift watcher benchmark (issue 17), see watcher.sh.  Exits 0 unless
something failed to run."""

import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import bktenv  # noqa: E402
from bktenv import ADMIN  # noqa: E402

IFACE = 'org.gnome.desktop.interface'
DEBOUNCE_MS = 500
# Prints CLOCK_MONOTONIC (system-wide, so comparable with this process's) at each DriftChanged.
LISTENER = r"""
import sys, time
from gi.repository import Gio, GLib
bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
def on_signal(*args):
    print('%.6f' % time.monotonic(), flush=True)
bus.signal_subscribe('org.bkt.Daemon1', 'org.bkt.Daemon1.Manager', 'DriftChanged', '/org/bkt/Daemon1', None,
                     Gio.DBusSignalFlags.NONE, on_signal)
print('ready', flush=True)
GLib.MainLoop().run()
"""


def proc_figures(pid):
    """(RSS kB, CPU seconds, voluntary + involuntary context switches) of @pid."""
    with open('/proc/%d/status' % pid) as f:
        st = dict(line.split(':', 1) for line in f if ':' in line)
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    ticks = os.sysconf('SC_CLK_TCK')
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    switches = int(st['voluntary_ctxt_switches']) + int(st['nonvoluntary_ctxt_switches'])
    return int(st['VmRSS'].split()[0]), cpu, switches


def idle_period(env, seconds):
    pid = env.bus_owner_pid(ADMIN)
    rss0, cpu0, sw0 = proc_figures(pid)
    time.sleep(seconds)
    rss1, cpu1, sw1 = proc_figures(pid)
    return pid, rss0, rss1, (cpu1 - cpu0) * 1000, sw1 - sw0


def main():
    idle, changes = int(sys.argv[1]), int(sys.argv[2])
    if os.geteuid() != 0:
        print('watcher benchmark: needs root (test user, private buses); skipped')
        return 0
    env = bktenv.BktEnv(polkit='real', users=(ADMIN,), repo_apps=1, name='bench-watcher',
                        extra_env={'BKT_WATCH_DEBOUNCE_MS': str(DEBOUNCE_MS)})
    env.start()
    listener = None
    try:
        env.write_standard_manifests()
        if env.bkt_run(ADMIN, 'apply')[0] != 0:
            raise RuntimeError('bkt apply failed')
        off = idle_period(env, idle)
        if env.bkt_run(ADMIN, 'watch', 'enable')[0] != 0:
            raise RuntimeError('bkt watch enable failed')
        time.sleep(DEBOUNCE_MS / 1000 + 2)
        on = idle_period(env, idle)

        listener = subprocess.Popen(['/usr/bin/python3', '-c', LISTENER], stdout=subprocess.PIPE, text=True,
                                    env=env.session_env(ADMIN), **env.user_kwargs(ADMIN))
        if listener.stdout.readline().strip() != 'ready':
            raise RuntimeError('the signal listener did not start')
        latencies = []
        for i in range(changes):
            t0 = time.monotonic()
            env.gsettings(ADMIN, 'set', IFACE, 'clock-format', '24h' if i % 2 == 0 else '12h')
            t_signal = float(listener.stdout.readline())
            latencies.append((t_signal - t0) * 1000)
            time.sleep(0.3)
        rss_after = proc_figures(env.bus_owner_pid(ADMIN))[0]

        print()
        print('drift watcher benchmark - %s, %d CPU(s); idle %d s, %d changes, debounce %d ms'
              % (time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), os.cpu_count(), idle, changes, DEBOUNCE_MS))
        fmt = '%-28s %10s %10s %14s %16s'
        print(fmt % ('bktd --session', 'RSS start', 'RSS end', 'CPU (idle)', 'ctx switches'))
        for name, (pid, r0, r1, cpu, sw) in (('watcher off', off), ('watcher on', on)):
            print(fmt % (name, '%d kB' % r0, '%d kB' % r1, '%.1f ms' % cpu, '%d' % sw))
        print('RSS after %d evaluations: %d kB' % (changes, rss_after))
        print('change -> DriftChanged: median %.0f ms, max %.0f ms (debounce %d ms: watcher work median %.0f ms)'
              % (statistics.median(latencies), max(latencies), DEBOUNCE_MS,
                 statistics.median(latencies) - DEBOUNCE_MS))
    finally:
        if listener is not None:
            listener.terminate()
            listener.wait(timeout=10)
        env.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
