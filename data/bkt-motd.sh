# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
# bkt: what is new in this OS image since the last login, printed once
# (`bkt changelog motd`, docs/maintenance.md).  Interactive login shells
# with a terminal only; silent and harmless when bkt is missing or fails.
# Sourced: no exit or return, and nothing left behind but _bkt_login unset.
_bkt_login=
case $- in
  *i*)
    if [ -n "${BASH_VERSION-}" ]; then
      # Fedora's bashrc sources profile.d for non-login shells too
      # shellcheck disable=SC3044
      shopt -q login_shell 2>/dev/null && _bkt_login=1
    else
      case $0 in -*) _bkt_login=1 ;; esac
    fi
    ;;
esac
if [ -n "$_bkt_login" ] && [ -t 1 ] && command -v bkt >/dev/null 2>&1; then
  bkt changelog motd --login 2>/dev/null || :
fi
unset _bkt_login
