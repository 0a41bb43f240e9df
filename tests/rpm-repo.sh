#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rpm-repo.sh DIR: a local RPM repo (DIR/repo) of a few noarch packages built
# with rpmbuild + createrepo_c, and DIR/dnf, the real dnf pointed at it and
# nothing else (throwaway reposdir, installroot and cache), taking bkt's
# argv unchanged after its own options.  Exit 77 if the tools are missing.
# RPM_REPO_EXTRA="name …" adds more such packages (tests/bench/dev.sh, test_dev.py).
set -euo pipefail
dir=$1
for t in dnf rpmbuild createrepo_c; do
  command -v "$t" >/dev/null || { echo "no $t" >&2; exit 77; }
done
mkdir -p "$dir/rpmbuild/SPECS" "$dir/repo" "$dir/repos.d" "$dir/installroot" "$dir/home"
extra=()
for n in ${RPM_REPO_EXTRA:-}; do extra+=("$n:Extra test package $n"); done
for p in bkt-hello:"Greets the tests" bkt-htop:"Process viewer stand-in" bkt-fish:"A shell stand-in" "${extra[@]}"; do
  name=${p%%:*} summary=${p#*:}
  cat > "$dir/rpmbuild/SPECS/$name.spec" <<SPEC
Name: $name
Version: 1.0
Release: 1
Summary: $summary
License: MIT
BuildArch: noarch
%description
$summary
%files
SPEC
  HOME=$dir/home rpmbuild --quiet --define "_topdir $dir/rpmbuild" -bb "$dir/rpmbuild/SPECS/$name.spec" >/dev/null
done
find "$dir/rpmbuild/RPMS" -name '*.rpm' -exec cp {} "$dir/repo/" \;
createrepo_c -q "$dir/repo"
cat > "$dir/dnf" <<WRAP
#!/bin/sh
verb="\$1"; shift
exec dnf -q --setopt=reposdir=$dir/repos.d --releasever=39 --installroot=$dir/installroot \\
  --repofrompath=local,$dir/repo --repo=local --nogpgcheck --setopt=cachedir=$dir/cache "\$verb" "\$@"
WRAP
chmod 755 "$dir/dnf"
