# Shared by the control-socket benchmarks (sourced): a tokend on the memory
# store with one fresh user, and small helpers.

# Waits until a Unix socket file exists (tens of seconds at most).
wait_for_socket() {  # path [tenths of a second]
  local tries=${2:-300}
  for _ in $(seq "$tries"); do [ -S "$1" ] && return 0; sleep 0.1; done
  echo "no socket at $1" >&2
  return 1
}

# One field of a JSON object read from stdin.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Starts tokend (memory store, log level warn) in WORK through LAUNCHER
# (a function given the socket path and the command; it starts the command in
# the background, appends its pid to the array `pids` and waits for the
# socket), then stores one user, bench-user, with a token fresh for 10 days.
start_tokend() {  # build work launcher
  local build=$1 work=$2 launcher=$3
  mkdir -p "$work"
  cat > "$work/tokend.yml" <<YAML
state_dir: $work/state
runtime_dir: $work/run
log: {level: warn}
store: {plugin: memory}
http: {listen: 127.0.0.1:0}
YAML
  "$launcher" "$work/run/tokend.sock" "$build/daemon/tokend" -c "$work/tokend.yml" --plugin-dir "$build/plugins"
  local expires token
  expires=$(date -u -d '+10 days' +%Y-%m-%dT%H:%M:%S+00:00)
  token=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 64)
  printf '{"user_id":"bench-user","tokens":{"access_token":"%s","expires_at":"%s","refresh_token":"RT","token_type":"Bearer","scope":"spark:all"}}' \
    "$token" "$expires" | "$build/tools/tokenctl/tokenctl" --socket "$work/run/tokend.sock" set-context bench-user - >/dev/null
}

# The plain launcher: in the background, optionally under taskset (CPUS set).
launch() {  # socket command...
  local socket=$1; shift
  if [ -n "${CPUS:-}" ]; then taskset -c "$CPUS" "$@" 2>>"${LOG:-/dev/null}" & else "$@" 2>>"${LOG:-/dev/null}" & fi
  pids+=($!)
  wait_for_socket "$socket"
}
