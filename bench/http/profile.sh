#!/usr/bin/env bash
# Instructions per GET /redirect, counted by callgrind (user space, every
# thread of tokend: the loop and the executor; the machine's load does not move
# them): tokend on the memory store answers COUNT keep-alive requests of one
# client for each state (unknown, used, malformed, as in redirect_vs_nginx.sh);
# counters are zeroed before and dumped after each state. Prints one JSON line
# per state and, with --annotate, the functions that cost most (unknown state).
# Usage: bench/http/profile.sh [BUILD_DIR] [COUNT] [--annotate]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
count=${2:-3000}
annotate=${3:-}
work=$(mktemp -d /tmp/tokend-httpprofile-XXXXXX)
trap '[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source bench/http/common.sh

port=$(free_port)
write_tokend_config "$work" "$port" memory
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.%p" \
  "$build/daemon/tokend" -c "$work/tokend.yml" --plugin-dir "$build/plugins" 2>"$work/tokend.log" &
daemon=$!

# client.py MODE PORT [STATE COUNT]: "wait" until /healthz answers; else COUNT
# keep-alive GETs of /redirect with STATE on one connection, each answer read whole.
cat > "$work/client.py" <<'PY'
import socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
def get(sock, target):
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1])
if mode == "wait":
    deadline = time.time() + 600
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                get(s, "/healthz"); break
        except OSError:
            if time.time() > deadline: sys.exit("tokend did not answer")
            time.sleep(0.2)
else:
    state, count = sys.argv[3], int(sys.argv[4])
    with socket.create_connection(("127.0.0.1", port)) as s:
        statuses = {get(s, f"/redirect?code=bench-code&state={state}") for _ in range(count)}
    print(",".join(map(str, sorted(statuses))))
PY
python3 "$work/client.py" wait "$port"
used=$("$build/tools/tokenctl/tokenctl" -s "$work/run/tokend.sock" --json --timeout 60 start-flow bench-user |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["result"]["flow_id"])')
python3 "$work/client.py" get "$port" "$used" 1 >/dev/null  # the flow is used now
python3 "$work/client.py" get "$port" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 200 >/dev/null  # warm up

last_dump() { ls -t "$work"/callgrind."$daemon"* | head -1; }
for state in unknown used malformed; do
  case $state in
    unknown) value=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ;;
    used) value=$used ;;
    malformed) value='not%20a%20flow%21' ;;
  esac
  callgrind_control -z "$daemon" >/dev/null
  statuses=$(python3 "$work/client.py" get "$port" "$value" "$count")
  callgrind_control -d "$daemon" >/dev/null
  total=$(callgrind_annotate "$(last_dump)" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  echo "{\"state\":\"$state\",\"requests\":$count,\"statuses\":\"$statuses\",\"instructions\":$total,\"per_request\":$((total / count))}"
  [ $state = unknown ] && cp "$(last_dump)" "$work/unknown.out"
done

if [ "$annotate" = --annotate ]; then
  per_request() {  # inclusive=yes|no: "instructions per request  function", largest first
    callgrind_annotate --threshold=100 --inclusive="$1" "$work/unknown.out" 2>/dev/null |
      sed -nE 's/^ *([0-9,]+) \( *[0-9.]+%\) +(.*)$/\1 \2/p' | grep -v "PROGRAM TOTALS" |
      awk -v n="$count" '{c=$1; gsub(",", "", c); $1=""; printf "%8.0f %s\n", c/n, substr($0, 2, 150)}'
  }
  echo "== unknown state: self cost per request (instructions), top functions"
  { per_request no | head -40; } || true  # head closes the pipe early
  echo "== unknown state: inclusive cost per request, tokend's own functions"
  { per_request yes | grep "tokend::" | head -60; } || true
fi
