#!/usr/bin/env bash
# Builds the four .debs from a plain build tree (configured with
# -DCMAKE_INSTALL_PREFIX=/usr) and checks them (docs/packaging.md):
#   1. what each declares and holds (conffile, trigger, shlibs, copyright,
#      changelog), and that together they hold all of `cmake --install`;
#   2. lintian: no error, and every warning is one docs/packaging.md justifies;
#   3. in a scratch root (dpkg --root, maintainer scripts through $DPKG_ROOT):
#      installs a previous version (this one repacked with a lower version),
#      upgrades to this one, runs the INSTALLED daemon with the INSTALLED
#      plugins, tokenctl and Python client through a whole OAuth flow against
#      the fake provider, enables the units as an admin would, purges, and
#      checks what is left; the postinst's useradd fallback in a second root;
#   4. as root: the upgrade of a running tokend on the machine's own root in a
#      throw-away mount namespace (tests/package/upgrade_running.sh).
# Usage: scripts/check-deb.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:?usage: check-deb.sh BUILD_DIR}" && pwd)
started=$(date +%s)
fail() { echo "check-deb: $*" >&2; exit 1; }

echo "== check-deb: cpack" >&2
rm -rf "$build/package"
# CPack's notes (the plugins have no SONAME, so no shlibs line) only on failure.
(cd "$build" && cpack -G DEB -B package >"$build/cpack.log" 2>&1) || { cat "$build/cpack.log" >&2; fail "cpack failed"; }
version=$(sed -n '1s/^tokend (\([^)]*\)).*/\1/p' packaging/debian/changelog)
upstream=${version%-*}
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
libdir=./usr/lib/$multiarch
packages=(tokend libtokend-client0 tokend-dev python3-tokend-client)
declare -A deb
for package in "${packages[@]}"; do
  package_arch=$arch
  [ "$package" = python3-tokend-client ] && package_arch=all
  deb[$package]=$build/package/${package}_${version}_${package_arch}.deb
  [ -f "${deb[$package]}" ] || fail "cpack made no ${deb[$package]##*/} (made: $(ls "$build/package"))"
done
[ "$(ls "$build"/package/*.deb | wc -l)" -eq ${#packages[@]} ] || fail "unexpected packages: $(ls "$build/package")"

control() { dpkg-deb --ctrl-tarfile "${deb[$1]}" | tar -xO "./$2" 2>/dev/null; }
control tokend conffiles | grep -qx /etc/tokend/tokend.yml || fail "/etc/tokend/tokend.yml is not a conffile"
control libtokend-client0 triggers | grep -qx "activate-noawait ldconfig" || fail "libtokend-client0 lacks the ldconfig trigger"
control libtokend-client0 shlibs | grep -qx "libtokend_client 0 libtokend-client0 (>= $version)" \
  || fail "libtokend-client0's shlibs: $(control libtokend-client0 shlibs || true)"
dpkg-deb -f "${deb[tokend]}" Depends | grep -q "libtokend-client0 (= $version)" || fail "tokend does not depend on libtokend-client0"
dpkg-deb -f "${deb[tokend-dev]}" Depends | grep -q "libtokend-client0 (= $version)" || fail "tokend-dev does not depend on libtokend-client0"
declare -A expect=(
  [tokend]="./usr/bin/tokend ./usr/bin/tokenctl $libdir/tokend/plugins/tokend_store_yaml.so
            $libdir/tokend/plugins/tokend_store_memory.so $libdir/tokend/plugins/tokend_store_redis.so
            ./usr/lib/systemd/system/tokend.service ./usr/lib/systemd/system/tokend.socket
            ./usr/lib/sysusers.d/tokend.conf ./usr/lib/tmpfiles.d/tokend.conf ./etc/tokend/tokend.yml
            ./usr/share/doc/tokend/operations.md ./usr/share/doc/tokend/packaging.md"
  [libtokend-client0]="$libdir/libtokend_client.so.0 $libdir/libtokend_client.so.$upstream"
  [tokend-dev]="./usr/include/tokend/store.h ./usr/include/tokend/client.h $libdir/libtokend_client.so
                $libdir/pkgconfig/tokend-store.pc $libdir/pkgconfig/tokend-client.pc ./usr/bin/tokend-store-conformance
                ./usr/share/tokend/node/tokend-client-$upstream.tgz"
  [python3-tokend-client]="./usr/lib/python3/dist-packages/tokend_client/client.py
            ./usr/lib/python3/dist-packages/tokend_client/aio.py ./usr/lib/python3/dist-packages/tokend_client/py.typed
            ./usr/lib/python3/dist-packages/tokend_client-$upstream.dist-info/METADATA"
)
all_packaged=$(mktemp /tmp/tokend-deb-files.XXXXXX)
for package in "${packages[@]}"; do
  listing=$(dpkg-deb -c "${deb[$package]}" | awk '{print $6}')
  for file in ${expect[$package]} "./usr/share/doc/$package/copyright" "./usr/share/doc/$package/changelog.Debian.gz"; do
    grep -qx -- "$file" <<<"$listing" || fail "$package lacks $file"
  done
  dpkg-deb -c "${deb[$package]}" | awk '$1 !~ /^d/ {print $6}' >>"$all_packaged"
done
grep -q "^SPDX-License-Identifier: Apache-2.0" <(dpkg-deb --fsys-tarfile "${deb[tokend-dev]}" | tar -xO ./usr/include/tokend/store.h | sed 's|^/\* ||') \
  || fail "store.h carries no SPDX line"
# Every installed file is in a package (an install() without COMPONENT would not be).
staged=$(mktemp -d /tmp/tokend-deb-staged.XXXXXX)
trap 'rm -rf "$staged" "$all_packaged"' EXIT
DESTDIR="$staged" cmake --install "$build" >/dev/null
missing=$(comm -23 <(cd "$staged" && find . ! -type d | sort) <(sort -u "$all_packaged"))
[ -z "$missing" ] || fail "installed by cmake --install but in no package: $missing"

echo "== check-deb: lintian" >&2
lintian_log=$build/package/lintian.txt
lintian --fail-on error --display-level ">=warning" "${deb[@]}" >"$lintian_log" 2>&1 \
  || { cat "$lintian_log" >&2; fail "lintian reports errors"; }
for tag in $(awk '$1 == "W:" {print $3}' "$lintian_log" | sort -u); do
  grep -q -- "\`$tag\`" docs/packaging.md || { cat "$lintian_log" >&2; fail "lintian warning $tag is not justified in docs/packaging.md"; }
done
sed 's/^/  /' "$lintian_log" >&2

echo "== check-deb: the previous version, $upstream~prev-${version##*-}, repacked" >&2
old_version="$upstream~prev-${version##*-}"
old=$build/package/previous
mkdir -p "$old"
for package in "${packages[@]}"; do
  tree=$old/tree
  rm -rf "$tree"
  dpkg-deb -R "${deb[$package]}" "$tree"
  sed -i -e "s/^Version: .*/Version: $old_version/" -e "s/(= $version)/(= $old_version)/g" "$tree/DEBIAN/control"
  dpkg-deb --root-owner-group -Zgzip -z1 -b "$tree" "$old/${deb[$package]##*/}" >/dev/null
done
rm -rf "$old/tree"

root=$(mktemp -d /tmp/tokend-deb.XXXXXX)
trap 'rm -rf "$root" "$root.2" "$staged" "$all_packaged"' EXIT
new_root() {  # dir: an empty dpkg root with the machine's users
  mkdir -p "$1/var/lib/dpkg/info" "$1/var/lib/dpkg/updates" "$1/etc"
  touch "$1/var/lib/dpkg/status"
  cp /etc/passwd /etc/group "$1/etc/"
}
new_root "$root"
force=(--force-script-chrootless --force-depends --log=/dev/null)
[ "$(id -u)" -eq 0 ] || force+=(--force-not-root)
dpkg_root() {  # dpkg arguments...
  # --force-depends: the scratch root has no libraries installed; its warnings are noise.
  dpkg --root="$root" "${force[@]}" "$@" >"$root/dpkg.log" 2>&1 || { cat "$root/dpkg.log" >&2; fail "dpkg $* failed"; }
}
echo "== check-deb: dpkg --root $root -i the previous version, then this one" >&2
dpkg_root -i "$old"/*.deb
for package in "${packages[@]}"; do
  dpkg --root="$root" -s "$package" | grep -qx "Version: $old_version" || fail "$package $old_version is not installed"
done
grep -q "^tokend:" "$root/etc/passwd" || fail "postinst did not create the tokend user"
echo "edited by the admin" >>"$root/etc/tokend/tokend.yml"
dpkg_root -i "${deb[@]}"
for package in "${packages[@]}"; do
  dpkg --root="$root" -s "$package" | grep -q "^Status: install ok installed" || fail "$package is not installed"
  dpkg --root="$root" -s "$package" | grep -qx "Version: $version" || fail "$package was not upgraded to $version"
done
grep -q "edited by the admin" "$root/etc/tokend/tokend.yml" || fail "the upgrade lost the admin's edit of the conffile"
sed -i '/edited by the admin/d' "$root/etc/tokend/tokend.yml"

echo "== check-deb: the installed daemon completes a flow" >&2
# The check reads the store's directory as a start would: point it into the root
# (where the package's tmpfiles line would make /var/lib/tokend).
mkdir -p "$root/var/lib/tokend"
sed "s|/var/lib/tokend/|$root/var/lib/tokend/|" "$root/etc/tokend/tokend.yml" >"$root/tokend-check.yml"
"$root/usr/bin/tokend" --check-config -c "$root/tokend-check.yml" >/dev/null \
  || fail "the shipped /etc/tokend/tokend.yml does not validate"
rm -f "$root/tokend-check.yml"
TOKEND_DEB_ROOT="$root" python3 tests/package/installed_flow.py
PYTHONPATH="$root/usr/lib/python3/dist-packages" python3 -c "
import importlib.metadata, tokend_client
assert tokend_client.__file__.startswith('$root'), tokend_client.__file__
assert importlib.metadata.version('tokend-client') == tokend_client.__version__ == '$upstream', tokend_client.__version__
" || fail "the installed Python package's metadata or version is wrong"
tar -xzOf "$root/usr/share/tokend/node/tokend-client-$upstream.tgz" package/package.json \
  | python3 -c "import json, sys; assert json.load(sys.stdin)['version'] == '$upstream'" \
  || fail "the Node.js tarball is not version $upstream"

echo "== check-deb: an admin enables tokend; dpkg --purge" >&2
systemctl --root="$root" enable tokend.service tokend.socket >/dev/null 2>&1
links=("$root/etc/systemd/system/multi-user.target.wants/tokend.service" "$root/etc/systemd/system/sockets.target.wants/tokend.socket")
for link in "${links[@]}"; do [ -L "$link" ] || fail "systemctl enable made no $link"; done
mkdir -p "$root/var/lib/tokend" && echo "users: {}" >"$root/var/lib/tokend/users.yml"
dpkg_root --purge "${packages[@]}"
for link in "${links[@]}"; do [ ! -L "$link" ] || fail "purge left the enable link ${link#"$root"}"; done
for file in usr/bin/tokend usr/lib/systemd/system/tokend.service etc/tokend var/lib/tokend usr/include/tokend \
            "usr/lib/$multiarch/libtokend_client.so.0" usr/lib/python3/dist-packages/tokend_client usr/share/tokend; do
  [ ! -e "$root/$file" ] || fail "$file is still there after purge"
done
left=$(find "$root/var/lib/systemd" -name '*tokend*' 2>/dev/null || true)
[ -z "$left" ] || fail "purge left deb-systemd-helper state: $left"
grep -q "^tokend:" "$root/etc/passwd" || fail "purge removed the tokend user (Debian keeps system users)"

if [ "$(id -u)" -eq 0 ]; then
  echo "== check-deb: the postinst's useradd fallback (no systemd-sysusers) under dpkg --root" >&2
  new_root "$root.2"
  farm=$root.2/bin
  mkdir -p "$farm"
  for tool in /usr/sbin/* /usr/bin/*; do
    case ${tool##*/} in systemd-sysusers | systemd-tmpfiles) ;; *) [ -e "$farm/${tool##*/}" ] || ln -s "$tool" "$farm/";; esac
  done
  control tokend postinst >"$root.2/postinst"
  DPKG_ROOT="$root.2" DPKG_MAINTSCRIPT_PACKAGE=tokend DPKG_MAINTSCRIPT_NAME=postinst PATH="$farm" sh "$root.2/postinst" configure >"$root.2/log" 2>&1 \
    || { cat "$root.2/log" >&2; fail "the postinst fails without systemd-sysusers"; }
  grep -q '^tokend:[^:]*:[0-9]*:[0-9]*:tokend OAuth token daemon:/var/lib/tokend:/usr/sbin/nologin$' "$root.2/etc/passwd" \
    || fail "the useradd fallback did not create the tokend user: $(grep '^tokend:' "$root.2/etc/passwd" || true)"
  grep -q '^tokend:' "$root.2/etc/group" || fail "the useradd fallback did not create the tokend group"
  [ -d "$root.2/var/lib/tokend" ] && [ -d "$root.2/etc/tokend/credentials" ] || fail "the fallback made no folders"

  if unshare --mount true 2>/dev/null; then
    tests/package/upgrade_running.sh "$old" "$build/package"
  else
    echo "check-deb: SKIPPED the upgrade of a running tokend: no mount namespaces here (unshare --mount fails)" >&2
  fi
else
  echo "check-deb: SKIPPED the useradd fallback and the upgrade of a running tokend: they need root" >&2
fi
echo "check-deb: ${packages[*]} ($version): lintian-clean of errors, upgrade from $old_version, a flow, purge: $(($(date +%s) - started)) s"
