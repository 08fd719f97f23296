#!/usr/bin/env bash
# Checks the systemd files in systemd/ without a running systemd (CI runs in a
# container): `systemd-analyze verify` on the units inside a scratch root that
# holds systemd's own units, our units and the daemon binary (so ExecStart=
# resolves and nothing of the host leaks in), failing on ANY line it prints,
# since verify exits 0 on warnings such as an unknown key; the offline security
# score must be 2.0 or lower (--threshold counts tenths); the sysusers.d and
# tmpfiles.d files must apply to that root.
# Usage: scripts/check-units.sh path/to/tokend
set -euo pipefail
cd "$(dirname "$0")/.."
tokend=${1:?usage: check-units.sh path/to/tokend}
threshold=20  # 2.0

root=$(mktemp -d /tmp/tokend-units.XXXXXX)
trap 'rm -rf "$root"' EXIT
units=$root/usr/lib/systemd/system
mkdir -p "$units" "$root/usr/bin" "$root/bin" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/etc"
cp -r /lib/systemd/system/. "$units/"
cp systemd/tokend.service systemd/tokend.socket "$units/"
cp "$tokend" "$root/usr/bin/tokend"
cp /bin/kill "$root/bin/kill"
cp systemd/tokend.sysusers "$root/usr/lib/sysusers.d/tokend.conf"
cp systemd/tokend.tmpfiles "$root/usr/lib/tmpfiles.d/tokend.conf"
cp /etc/passwd /etc/group "$root/etc/"

status=0
verify_output=$(systemd-analyze verify --root="$root" --man=no --generators=no \
  "$units/tokend.service" "$units/tokend.socket" 2>&1) || status=1
if [ -n "$verify_output" ] || [ $status -ne 0 ]; then
  echo "check-units: systemd-analyze verify is not clean:" >&2
  echo "$verify_output" >&2
  exit 1
fi
echo "check-units: systemd-analyze verify: clean"

security_output=$(systemd-analyze security --offline=yes --threshold=$threshold systemd/tokend.service 2>&1) || {
  echo "$security_output" >&2
  echo "check-units: the security exposure of tokend.service is above 2.0" >&2
  exit 1
}
echo "check-units: $(echo "$security_output" | grep 'Overall exposure')"

sysusers_output=$(systemd-sysusers --root="$root" tokend.conf 2>&1) || {
  echo "$sysusers_output" >&2
  exit 1
}
if [ "$(id -u)" -eq 0 ]; then  # tmpfiles chowns: root only
  tmpfiles_output=$(systemd-tmpfiles --root="$root" --create tokend.conf 2>&1) || {
    echo "$tmpfiles_output" >&2
    exit 1
  }
  [ -n "$tmpfiles_output" ] && { echo "$tmpfiles_output" >&2; exit 1; }
  [ "$(stat -c %a "$root/var/lib/tokend")" = 700 ] || { echo "check-units: /var/lib/tokend is not 0700" >&2; exit 1; }
fi
echo "check-units: sysusers.d and tmpfiles.d apply"
