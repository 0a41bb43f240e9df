#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check data/ against itself and against the D-Bus API in dbus/*.xml.

- the system bus policy parses, lets only root own org.bkt.Daemon1, denies
  method calls by default and allows exactly the interfaces the daemon
  exports (dbus/*.xml) plus Properties, Introspectable and Peer;
- the activation files and units name the same bus name, the installed
  bktd with the right instance flag, and each other (SystemdService=).
Standard library only, so any python3 works.
"""
import argparse
import configparser
import glob
import os
import sys
import xml.etree.ElementTree as ET

BUS_NAME = "org.bkt.Daemon1"
STANDARD = {
    "org.freedesktop.DBus.Properties",
    "org.freedesktop.DBus.Introspectable",
    "org.freedesktop.DBus.Peer",
}
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def keyfile(path):
    # strict=False: systemd units may repeat keys; interpolation off for "%".
    cp = configparser.ConfigParser(strict=False, interpolation=None,
                                   comment_prefixes=("#", ";"))
    cp.optionxform = str
    with open(path, encoding="utf-8") as f:
        cp.read_file(f)
    return cp


def check_policy(path, interfaces):
    root = ET.parse(path).getroot()
    check(root.tag == "busconfig", f"{path}: root element is not <busconfig>")
    owners, allowed = set(), set()
    denies_own = denies_calls = denies_signals = False
    for policy in root.findall("policy"):
        who = policy.get("user") or policy.get("group") or policy.get("context")
        for rule in policy:
            a = rule.attrib
            if rule.tag == "allow" and a.get("own") == BUS_NAME:
                owners.add(who)
            if rule.tag == "allow" and a.get("own_prefix"):
                errors.append(f"{path}: own_prefix is not allowed")
            if rule.tag == "allow" and a.get("send_destination") == BUS_NAME and a.get("send_type") == "signal":
                # systemd's job signals, from root only (bktd checks the sender too)
                check(who == "root" and a.get("send_interface") == "org.freedesktop.systemd1.Manager",
                      f"{path}: signals to {BUS_NAME} allowed beyond root's systemd1.Manager ({who})")
                continue
            if rule.tag == "allow" and a.get("send_destination") == BUS_NAME:
                iface = a.get("send_interface")
                check(iface is not None,
                      f"{path}: allow send_destination without send_interface ({who})")
                allowed.add(iface)
            if policy.get("context") == "default" and rule.tag == "deny":
                if a.get("own") == BUS_NAME:
                    denies_own = True
                if a.get("send_destination") == BUS_NAME and a.get("send_type") == "method_call":
                    denies_calls = True
                if a.get("send_destination") == BUS_NAME and a.get("send_type") == "signal":
                    denies_signals = True
            if rule.tag == "allow" and (a.get("send_destination") == "*" or a.get("own") == "*"):
                errors.append(f"{path}: wildcard allow rule")
    check(owners == {"root"}, f"{path}: owners of {BUS_NAME} are {sorted(owners)}, expected root only")
    check(denies_own, f"{path}: default context does not deny owning {BUS_NAME}")
    check(denies_calls, f"{path}: default context does not deny method calls to {BUS_NAME}")
    check(denies_signals, f"{path}: default context does not deny signals to {BUS_NAME}")
    expected = set(interfaces) | STANDARD
    check(allowed == expected,
          f"{path}: allowed interfaces {sorted(allowed)} != expected {sorted(expected)}")


def check_activation(path, instance, unit, libexecdir):
    cp = keyfile(path)
    check(cp.has_section("D-BUS Service"), f"{path}: no [D-BUS Service] group")
    if not cp.has_section("D-BUS Service"):
        return
    s = cp["D-BUS Service"]
    check(s.get("Name") == BUS_NAME, f"{path}: Name={s.get('Name')}")
    check(s.get("Exec") == f"{libexecdir}/bktd --{instance}", f"{path}: Exec={s.get('Exec')}")
    check(s.get("SystemdService") == unit, f"{path}: SystemdService={s.get('SystemdService')}")
    if instance == "system":
        check(s.get("User") == "root", f"{path}: User={s.get('User')}")
    else:
        check("User" not in s, f"{path}: a session activation file has no User=")


def check_unit(path, instance, libexecdir):
    cp = keyfile(path)
    svc = cp["Service"]
    check(svc.get("Type") == "dbus", f"{path}: Type={svc.get('Type')}")
    check(svc.get("BusName") == BUS_NAME, f"{path}: BusName={svc.get('BusName')}")
    check(svc.get("ExecStart") == f"{libexecdir}/bktd --{instance}",
          f"{path}: ExecStart={svc.get('ExecStart')}")
    check(svc.get("Restart", "no") == "no", f"{path}: Restart= defeats idle exit")
    check("@" not in open(path, encoding="utf-8").read(), f"{path}: unsubstituted @variable@")
    if instance == "system":
        for key, value in (("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                           ("NoNewPrivileges", "yes")):
            check(svc.get(key) == value, f"{path}: {key}={svc.get(key)}, expected {value}")
        check(svc.get("ProtectHome") in ("read-only", "tmpfs", "yes"),
              f"{path}: ProtectHome={svc.get('ProtectHome')}")
        check("CapabilityBoundingSet" in svc, f"{path}: no CapabilityBoundingSet=")


def main():
    ap = argparse.ArgumentParser()
    for opt in ("libexecdir", "policy", "system-unit", "session-unit",
                "system-activation", "session-activation", "interfaces-dir"):
        ap.add_argument("--" + opt, required=True)
    args = ap.parse_args()

    interfaces = []
    for xml in sorted(glob.glob(os.path.join(args.interfaces_dir, "*.xml"))):
        for iface in ET.parse(xml).getroot().iter("interface"):
            interfaces.append(iface.get("name"))
    check(interfaces, f"no interfaces found in {args.interfaces_dir}")

    check_policy(args.policy, interfaces)
    check_activation(args.system_activation, "system", "bktd.service", args.libexecdir)
    check_activation(args.session_activation, "session", "bktd-session.service", args.libexecdir)
    check_unit(args.system_unit, "system", args.libexecdir)
    check_unit(args.session_unit, "session", args.libexecdir)

    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    if not errors:
        print(f"ok: policy allows {len(interfaces)} bkt interfaces + {len(STANDARD)} standard; "
              "activation files and units agree")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
