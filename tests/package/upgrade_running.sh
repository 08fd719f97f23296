#!/usr/bin/env bash
# The upgrade of a running tokend, on the machine's own root but inside a
# private mount namespace whose /etc, /usr and /var are overlays (writes go to
# a temp folder and vanish with the namespace) and whose /run says systemd
# runs, so the maintainer scripts take the path they take on a real host:
# dpkg -i the previous version, an admin configures, enables and starts tokend,
# dpkg -i this version (the postinst must restart it: the new binary serves),
# then dpkg --purge (the prerm stops it; the postrm removes the enable links
# and /var/lib/tokend). No systemd runs here: tests/package/systemctl stands
# in for it. systemd-sysusers is off PATH, so the postinst's adduser fallback
# makes the user.
# Run by scripts/check-deb.sh as root: upgrade_running.sh OLD_DEB_DIR NEW_DEB_DIR
# (each with the four packages).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old=${1:?usage: upgrade_running.sh OLD_DEB_DIR NEW_DEB_DIR}
new=${2:?usage: upgrade_running.sh OLD_DEB_DIR NEW_DEB_DIR}
fail() { echo "check-deb (upgrade): $*" >&2; exit 1; }

if [ "${TOKEND_IN_NAMESPACE:-}" != 1 ]; then
  exec env TOKEND_IN_NAMESPACE=1 unshare --mount --propagation private -- "$0" "$@"
fi

work=$(mktemp -d /tmp/tokend-upg.XXXXXX)
for dir in etc usr var; do
  mkdir -p "$work/upper/$dir" "$work/work/$dir"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=$work/upper/$dir,workdir=$work/work/$dir" "/$dir"
done
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system /run/lock
# A host, not a container image: Debian's docker images forbid service starts
# with a policy-rc.d that exits 101, which deb-systemd-invoke obeys.
rm -f /usr/sbin/policy-rc.d

# PATH: the systemctl stand-in first, then the system's folders without
# systemd-sysusers (a farm of links), so that the adduser fallback runs.
mkdir -p "$work/bin" "$work/state"
ln -s "$here/systemctl" "$work/bin/systemctl"
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin; do
  for tool in "$dir"/*; do
    name=${tool##*/}
    [ "$name" = systemd-sysusers ] || [ -e "$work/bin/$name" ] || ln -s "$tool" "$work/bin/$name"
  done
done
export PATH="$work/bin" TOKEND_SYSTEMCTL_STATE="$work/state"
touch "$work/state/calls"
trap 'systemctl stop tokend.service >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
grep -q '^tokend:' /etc/passwd && fail "this machine already has a tokend user: the run would not test its creation"

dpkg_run() {  # dpkg arguments...: quiet unless it fails
  dpkg --log=/dev/null "$@" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg $* failed"; }
}
calls_since() { tail -n +"$(($1 + 1))" "$work/state/calls"; }
ping() { TOKEND_SOCKET=/run/tokend/tokend.sock /usr/bin/tokenctl ping >/dev/null 2>&1; }
eventually() {  # command...: true within 10 s
  local _
  for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done
  return 1
}

echo "== check-deb: upgrade: dpkg -i the previous version ($(dpkg-deb -f "$(ls "$old"/tokend_*.deb)" Version)), in a mount namespace" >&2
dpkg_run -i "$old"/*.deb
grep -q '^tokend:[^:]*:[0-9]*:[0-9]*:tokend OAuth token daemon[,]*:/var/lib/tokend:/usr/sbin/nologin$' /etc/passwd \
  || fail "the postinst's adduser fallback did not create the tokend user: $(grep '^tokend:' /etc/passwd || true)"
grep -q '^tokend:' /etc/group || fail "no tokend group"
grep -Eq '^(start|restart|try-restart)' "$work/state/calls" && fail "the first install started tokend: $(cat "$work/state/calls")"

# The admin: configuration, secrets, enable --now.
cat >/etc/tokend/tokend.yml <<'EOF'
state_dir: /var/lib/tokend
runtime_dir: /run/tokend
store:
  plugin: yaml
  options:
    path: /var/lib/tokend/users.yml
http:
  listen: 127.0.0.1:0
integration:
  client_id: upgrade-test-client-id
  client_secret: {file: /etc/tokend/credentials/client_secret}
  bot_token: {file: /etc/tokend/credentials/bot_token}
  scopes: spark:people_read
  redirect_url: http://127.0.0.1:9/redirect
  auth_service: http://127.0.0.1:9/v1/authorize
  token_service: http://127.0.0.1:9/v1/access_token
  api_base: http://127.0.0.1:9/v1
EOF
echo upgrade-test-client-secret >/etc/tokend/credentials/client_secret
echo upgrade-test-bot-token >/etc/tokend/credentials/bot_token
chmod 0600 /etc/tokend/credentials/*
systemctl enable tokend.service tokend.socket >/dev/null 2>&1
[ -L /etc/systemd/system/multi-user.target.wants/tokend.service ] || fail "systemctl enable made no link"
systemctl start tokend.service
eventually ping || fail "tokend (previous version) does not answer: $(cat "$work/state/tokend.log")"
pid_before=$(cat "$work/state/tokend.pid")

echo "== check-deb: upgrade: dpkg -i this version with tokend running (pid $pid_before)" >&2
calls=$(wc -l <"$work/state/calls")
dpkg_run -i "$new"/*.deb
calls_since "$calls" | grep -qx -- '--system daemon-reload' || fail "the postinst did not reload systemd"
calls_since "$calls" | grep -qx -- 'try-restart tokend.service' \
  || fail "the postinst did not restart tokend: $(calls_since "$calls")"
calls_since "$calls" | grep -q '^stop' && fail "the upgrade stopped tokend (prerm upgrade): $(calls_since "$calls")"
eventually ping || fail "tokend does not answer after the upgrade: $(cat "$work/state/tokend.log")"
pid_after=$(cat "$work/state/tokend.pid")
[ "$pid_after" != "$pid_before" ] || fail "tokend was not restarted (still pid $pid_before)"
exe=$(readlink "/proc/$pid_after/exe")
[ "$exe" = /usr/bin/tokend ] || fail "the running tokend is $exe, not the upgraded /usr/bin/tokend"
[ "$(stat -L -c %i "/proc/$pid_after/exe")" = "$(stat -c %i /usr/bin/tokend)" ] \
  || fail "the running tokend is not the new /usr/bin/tokend"
[ ! -e "/proc/$pid_before" ] || [ "$(readlink "/proc/$pid_before/exe" 2>/dev/null || true)" = "" ] \
  || fail "the previous tokend (pid $pid_before) still runs"
grep -q upgrade-test-client-id /etc/tokend/tokend.yml || fail "the upgrade lost the admin's tokend.yml"
dpkg -s tokend | grep -q "^Version: $(dpkg-deb -f "$(ls "$new"/tokend_*.deb)" Version)$" || fail "not upgraded"

echo "== check-deb: upgrade: dpkg --purge with tokend running (pid $pid_after)" >&2
calls=$(wc -l <"$work/state/calls")
dpkg_run --purge tokend-dev python3-tokend-client tokend libtokend-client0
calls_since "$calls" | grep -qx -- 'stop tokend.service tokend.socket' \
  || fail "the prerm did not stop tokend: $(calls_since "$calls")"
[ ! -e "/proc/$pid_after" ] || [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid_after/status" 2>/dev/null)" = Z ] \
  || fail "tokend (pid $pid_after) still runs after the purge"
for link in /etc/systemd/system/multi-user.target.wants/tokend.service /etc/systemd/system/sockets.target.wants/tokend.socket; do
  [ ! -L "$link" ] || fail "purge left the enable link $link"
done
[ ! -e /var/lib/tokend ] || fail "purge left /var/lib/tokend"
[ ! -e /etc/tokend/tokend.yml ] || fail "purge left /etc/tokend/tokend.yml"
[ -e /etc/tokend/credentials/client_secret ] || fail "purge removed the operator's secrets"
grep -q '^tokend:' /etc/passwd || fail "purge removed the tokend user (Debian keeps system users)"
left=$(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name '*tokend*' 2>/dev/null || true)
[ -z "$left" ] || fail "purge left deb-systemd-helper state: $left"
echo "check-deb (upgrade): restarted on upgrade (pid $pid_before -> $pid_after, the new binary), stopped and purged"
