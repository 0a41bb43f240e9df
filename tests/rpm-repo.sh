#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# rpm-repo.sh DIR: a local RPM repo (DIR/repo) of a few noarch packages built
# with rpmbuild + createrepo_c, and DIR/dnf, the real dnf pointed at it and
# nothing else (throwaway reposdir, installroot and cache), taking bkt's
# argv unchanged after its own options.  Exit 77 if the tools are missing.
#
# With RPM_REPO_COPR=OWNER/PROJECT, a second repo (DIR/copr-repo: bkt-starship,
# only there, and bkt-hello, also in the first) named and ided like a COPR repo
# as `dnf copr enable` writes it (DIR/repos.d/_copr:copr.fedorainfracloud.org:
# OWNER:PROJECT.repo, id copr:copr.fedorainfracloud.org:OWNER:PROJECT), which
# DIR/dnf enables too.
# RPM_REPO_EXTRA="name …" adds more such packages (tests/bench/dev.sh, test_dev.py).
set -euo pipefail
dir=$1
for t in dnf rpmbuild createrepo_c; do
  command -v "$t" >/dev/null || { echo "no $t" >&2; exit 77; }
done
mkdir -p "$dir/rpmbuild/SPECS" "$dir/repo" "$dir/repos.d" "$dir/installroot" "$dir/home"

# build NAME SUMMARY DEST
build() {
  cat > "$dir/rpmbuild/SPECS/$1.spec" <<SPEC
Name: $1
Version: 1.0
Release: 1
Summary: $2
License: MIT
BuildArch: noarch
%description
$2
%files
SPEC
  HOME=$dir/home rpmbuild --quiet --define "_topdir $dir/rpmbuild" -bb "$dir/rpmbuild/SPECS/$1.spec" >/dev/null
  find "$dir/rpmbuild/RPMS" -name "$1-1.0-1*.rpm" -exec cp {} "$3/" \;
}
extra=()
for n in ${RPM_REPO_EXTRA:-}; do extra+=("$n:Extra test package $n"); done
for p in bkt-hello:"Greets the tests" bkt-htop:"Process viewer stand-in" bkt-fish:"A shell stand-in" "${extra[@]}"; do
  build "${p%%:*}" "${p#*:}" "$dir/repo"
done
createrepo_c -q "$dir/repo"

repos="--repofrompath=local,$dir/repo --repo=local"
if [ -n "${RPM_REPO_COPR:-}" ]; then
  owner=${RPM_REPO_COPR%%/*} project=${RPM_REPO_COPR#*/}
  case $owner in @*) owner=group_${owner#@} ;; esac
  id="copr:copr.fedorainfracloud.org:$owner:$project"
  mkdir -p "$dir/copr-repo"
  build bkt-starship "A prompt stand-in, only in the COPR" "$dir/copr-repo"
  cp "$dir/repo"/bkt-hello-*.rpm "$dir/copr-repo/"
  createrepo_c -q "$dir/copr-repo"
  cat > "$dir/repos.d/_copr:copr.fedorainfracloud.org:$owner:$project.repo" <<REPO
[$id]
name=Copr repo for $project owned by ${RPM_REPO_COPR%%/*}
baseurl=file://$dir/copr-repo
type=rpm-md
gpgcheck=0
enabled=1
REPO
  repos="$repos --repo=$id"
fi

cat > "$dir/dnf" <<WRAP
#!/bin/sh
verb="\$1"; shift
exec dnf -q --setopt=reposdir=$dir/repos.d --releasever=39 --installroot=$dir/installroot \\
  $repos --nogpgcheck --setopt=cachedir=$dir/cache "\$verb" "\$@"
WRAP
chmod 755 "$dir/dnf"
