#!/usr/bin/env bash
# Requests/s of tokend's GET /redirect on the unknown-state path (a real store
# take that finds nothing, and the 404 page) against nginx answering a fixed
# 200 on the same machine, measured with wrk in one run: ROUNDS alternating
# rounds of SECONDS each, medians and their ratio printed. Needs wrk and nginx
# (apt-get install wrk nginx-light); loopback only.
# With SUMMARY set, appends a JSON line for bench/run.sh.
# Usage: bench/http/redirect_vs_nginx.sh [BUILD_DIR] [ROUNDS] [SECONDS] [CONNECTIONS] | [BUILD_DIR] --quick
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
rounds=${2:-3}
seconds=${3:-5}
[ "$rounds" = --quick ] && rounds=1 && seconds=2
connections=${4:-32}
work=$(mktemp -d /tmp/tokend-httpbench-XXXXXX)
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

tokend_port=$(free_port)
cat > "$work/tokend.yml" <<YAML
state_dir: $work/state
runtime_dir: $work/run
log: {level: warn}
store: {plugin: memory}
http: {listen: 127.0.0.1:$tokend_port, max_connections: 4096}
YAML
"$build/daemon/tokend" -c "$work/tokend.yml" --plugin-dir "$build/plugins" 2>"$work/tokend.log" &
daemon=$!

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200 "ok\n"; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5

run_wrk() {  # url -> requests/s
  wrk -t1 -c"$connections" -d"${seconds}s" --latency "$1" | awk '/Requests\/sec/ {print $2}'
}
# A well-formed state that names no flow: every request takes from the store.
target="/redirect?code=bench-code&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
: > "$work/results"
for round in $(seq "$rounds"); do
  echo "tokend $(run_wrk "http://127.0.0.1:$tokend_port$target")" >> "$work/results"
  echo "nginx $(run_wrk "http://127.0.0.1:$nginx_port/")" >> "$work/results"
done
python3 - "$work/results" "${SUMMARY:-}" <<'PY'
import json, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
tokend = statistics.median(float(r[1]) for r in rows if r[0] == "tokend")
nginx = statistics.median(float(r[1]) for r in rows if r[0] == "nginx")
print(f"tokend /redirect (unknown state): {tokend:.0f} req/s (median of {sum(r[0]=='tokend' for r in rows)})")
print(f"nginx fixed 200:                  {nginx:.0f} req/s")
print(f"ratio tokend/nginx: {tokend/nginx:.2f}")
if sys.argv[2]:
    with open(sys.argv[2], "a") as f:
        f.write(json.dumps({"part": "http", "what": "GET /redirect, unknown state, wrk -t1 -c32", "tokend": f"{tokend:.0f}/s",
                            "floor": f"{nginx:.0f}/s (nginx, fixed 200)", "ratio": tokend / nginx, "goal": ">= 0.8x"}) + "\n")
PY
