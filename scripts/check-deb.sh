#!/usr/bin/env bash
# Builds the .deb from a plain build tree (configured with
# -DCMAKE_INSTALL_PREFIX=/usr), checks what it declares (conffile, files),
# installs it with dpkg into a scratch root (maintainer scripts run against
# that root through $DPKG_ROOT), runs the INSTALLED daemon with the INSTALLED
# plugins, tokenctl and Python client through a whole OAuth flow against the
# fake provider, then removes and purges it and checks what is left.
# Usage: scripts/check-deb.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:?usage: check-deb.sh BUILD_DIR}" && pwd)

echo "== check-deb: cpack" >&2
rm -rf "$build/package"
(cd "$build" && cpack -G DEB -B package >/dev/null)
deb=$(ls "$build"/package/tokend_*.deb)
version=$(sed -n 's/^project(tokend VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

fail() { echo "check-deb: $*" >&2; exit 1; }
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/tokend/tokend.yml \
  || fail "/etc/tokend/tokend.yml is not a conffile"
listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
for file in ./usr/bin/tokend ./usr/bin/tokenctl ./usr/include/tokend/store.h ./usr/include/tokend/client.h \
            ./usr/lib/x86_64-linux-gnu/pkgconfig/tokend-store.pc ./usr/lib/x86_64-linux-gnu/pkgconfig/tokend-client.pc \
            ./usr/lib/x86_64-linux-gnu/tokend/plugins/tokend_store_yaml.so \
            ./usr/lib/x86_64-linux-gnu/tokend/plugins/tokend_store_memory.so \
            ./usr/lib/x86_64-linux-gnu/tokend/plugins/tokend_store_redis.so \
            ./usr/lib/python3/dist-packages/tokend_client/client.py \
            ./usr/lib/python3/dist-packages/tokend_client/aio.py ./usr/lib/python3/dist-packages/tokend_client/py.typed \
            "./usr/lib/python3/dist-packages/tokend_client-$version.dist-info/METADATA" \
            ./usr/lib/systemd/system/tokend.service ./usr/lib/systemd/system/tokend.socket \
            ./usr/lib/sysusers.d/tokend.conf ./usr/lib/tmpfiles.d/tokend.conf ./etc/tokend/tokend.yml \
            ./usr/share/doc/tokend/operations.md; do
  grep -qx -- "$file" <<<"$listing" || fail "the package lacks $file"
done

root=$(mktemp -d /tmp/tokend-deb.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status"
cp /etc/passwd /etc/group "$root/etc/"
force=(--force-script-chrootless --force-depends --log=/dev/null)
[ "$(id -u)" -eq 0 ] || force+=(--force-not-root)
echo "== check-deb: dpkg --root $root -i $(basename "$deb")" >&2
# --force-depends: the scratch root has no libraries installed; its warnings are noise.
dpkg --root="$root" "${force[@]}" -i "$deb" >"$root/dpkg.log" 2>&1 || { cat "$root/dpkg.log" >&2; fail "dpkg -i failed"; }
dpkg --root="$root" -s tokend | grep -q "^Status: install ok installed" || fail "not installed"
if command -v systemd-sysusers >/dev/null; then
  grep -q "^tokend:" "$root/etc/passwd" || fail "postinst did not create the tokend user"
fi

echo "== check-deb: the installed daemon completes a flow" >&2
"$root/usr/bin/tokend" --check-config -c "$root/etc/tokend/tokend.yml" >/dev/null \
  || fail "the shipped /etc/tokend/tokend.yml does not validate"
TOKEND_DEB_ROOT="$root" python3 tests/package/installed_flow.py
PYTHONPATH="$root/usr/lib/python3/dist-packages" python3 -c "
import importlib.metadata, tokend_client
assert tokend_client.__file__.startswith('$root'), tokend_client.__file__
assert importlib.metadata.version('tokend-client') == tokend_client.__version__ == '$version', tokend_client.__version__
" || fail "the installed Python package's metadata or version is wrong"

echo "== check-deb: dpkg --purge" >&2
dpkg --root="$root" "${force[@]}" --purge tokend >"$root/dpkg.log" 2>&1 || { cat "$root/dpkg.log" >&2; fail "purge failed"; }
for file in usr/bin/tokend usr/lib/systemd/system/tokend.service etc/tokend; do
  [ ! -e "$root/$file" ] || fail "$file is still there after purge"
done
echo "check-deb: $(basename "$deb") installs, completes a flow and purges cleanly"
