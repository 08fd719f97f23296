#!/usr/bin/env bash
# Requests/s of tokend's GET /redirect against nginx answering a fixed 200
# page of the same size (a static file holding tokend's 404 page), measured
# with wrk in one run: ROUNDS rounds of SECONDS each, unpinned and pinned
# (wrk, tokend and nginx all on CPU 0, where wake-ups cost little and each
# server's own work shows); medians and their ratios printed. The states:
#   unknown    well-formed, names no flow: the store is asked (take finds nothing)
#   used       a real flow, finished once before the run (its exchange failed
#              against a closed port): the store is asked, the flow is gone
#   malformed  cannot be a flow id: answered without the store
# Needs wrk and nginx (bench/http/require_tools.sh installs them as root);
# loopback only. With SUMMARY set, appends JSON lines for bench/run.sh.
# Usage: bench/http/redirect_vs_nginx.sh [BUILD_DIR] [ROUNDS] [SECONDS] [CONNECTIONS] [STORE] | [BUILD_DIR] --quick
#   STORE: memory (default), yaml or any plugin that needs no options.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
rounds=${2:-3}
seconds=${3:-5}
[ "$rounds" = --quick ] && rounds=1 && seconds=2
connections=${4:-32}
store=${5:-memory}
bench/http/require_tools.sh
work=$(mktemp -d /tmp/tokend-httpbench-XXXXXX)
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
source bench/http/common.sh
wait_http() {  # url: until it answers at all (any status), 30 s at most
  python3 - "$1" <<'PY'
import sys, time, urllib.request, urllib.error
deadline = time.time() + 30
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        break
    except urllib.error.HTTPError:
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(f"no answer from {sys.argv[1]}")
        time.sleep(0.05)
PY
}

tokend_port=$(free_port)
write_tokend_config "$work" "$tokend_port" "$store"
"$build/daemon/tokend" -c "$work/tokend.yml" --plugin-dir "$build/plugins" 2>"$work/tokend.log" &
daemon=$!
wait_http "http://127.0.0.1:$tokend_port/healthz"

# The used state: a real flow, taken by one redirect before the run.
used=$("$build/tools/tokenctl/tokenctl" -s "$work/run/tokend.sock" --json start-flow bench-user |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["result"]["flow_id"])')
wait_http "http://127.0.0.1:$tokend_port/redirect?code=bench-code&state=$used"
declare -A targets=(
  [unknown]="/redirect?code=bench-code&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
  [used]="/redirect?code=bench-code&state=$used"
  [malformed]="/redirect?code=bench-code&state=not%20a%20flow%21"
)
python3 - "http://127.0.0.1:$tokend_port${targets[unknown]}" "$work/www/page.html" <<'PY'
import os, sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1])
    sys.exit("an unknown state was answered 2xx")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
    os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
    open(sys.argv[2], "wb").write(e.read())
PY

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
    root $work/www;
    location / { default_type text/html; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
wait_http "http://127.0.0.1:$nginx_port/page.html"
nginx_pids=$(pgrep -P "$(cat "$work/nginx.pid")" || true)

pin() {  # cpus: every thread of tokend and nginx (master and worker)
  for p in "$daemon" "$(cat "$work/nginx.pid")" $nginx_pids; do taskset -a -p -c "$1" "$p" >/dev/null; done
}
all_cpus=$(taskset -cp $$ | awk '{print $NF}')
run_wrk() {  # url -> requests/s
  "${runner[@]}" wrk -t1 -c"$connections" -d"${seconds}s" "$1" | awk '/Requests\/sec/ {print $2}'
}
: > "$work/results"
for round in $(seq "$rounds"); do
  for pinned in no yes; do
    if [ $pinned = yes ]; then pin 0; runner=(taskset -c 0); else pin "$all_cpus"; runner=(); fi
    echo "nginx $pinned $(run_wrk "http://127.0.0.1:$nginx_port/page.html")" >> "$work/results"
    for state in unknown used malformed; do
      echo "$state $pinned $(run_wrk "http://127.0.0.1:$tokend_port${targets[$state]}")" >> "$work/results"
    done
  done
done
pin "$all_cpus"
python3 - "$work/results" "${SUMMARY:-}" "$(stat -c %s "$work/www/page.html")" "$connections" "$store" <<'PY'
import json, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
size, connections, store = sys.argv[3], sys.argv[4], sys.argv[5]
def med(what, pinned):
    return statistics.median(float(r[2]) for r in rows if r[0] == what and r[1] == pinned)
n = sum(r[0] == "nginx" and r[1] == "no" for r in rows)
print(f"GET /redirect ({store} store) vs nginx's fixed 200 page ({size} bytes), wrk -t1 -c{connections}, medians of {n}")
print("pinned  state      tokend req/s  nginx req/s  ratio")
lines = []
for pinned in ("no", "yes"):
    nginx = med("nginx", pinned)
    for state in ("unknown", "used", "malformed"):
        tokend = med(state, pinned)
        print(f"{pinned:7} {state:10} {tokend:12.0f} {nginx:12.0f} {tokend / nginx:6.2f}")
        lines.append({"part": "http", "what": f"GET /redirect, {state} state, {'pinned' if pinned == 'yes' else 'unpinned'}, "
                      f"wrk -t1 -c{connections}", "tokend": f"{tokend:.0f}/s",
                      "floor": f"{nginx:.0f}/s (nginx, fixed 200)", "ratio": tokend / nginx, "goal": ">= 0.8x"})
if sys.argv[2]:
    with open(sys.argv[2], "a") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
PY
