#!/usr/bin/env bash
# get_token over the control socket against a plain Unix-socket echo of the same
# sizes, measured in one run on this machine: 1 and 8 closed-loop clients,
# ROUNDS alternating rounds of SECONDS each, medians and ratios printed.
# Usage: bench/control/run.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
rounds=${2:-3}
seconds=${3:-5}
load=$build/bench/control/control_load
work=$(mktemp -d /tmp/tokend-bench-XXXXXX)
trap 'kill $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/tokend.yml" <<YAML
state_dir: $work/state
runtime_dir: $work/run
log: {level: warn}
store: {plugin: memory}
http: {listen: 127.0.0.1:0}
YAML
"$build/daemon/tokend" -c "$work/tokend.yml" --plugin-dir "$build/plugins" 2>"$work/tokend.log" &
daemon=$!
for _ in $(seq 100); do [ -S "$work/run/tokend.sock" ] && break; sleep 0.05; done
expires=$(date -u -d '+10 days' +%Y-%m-%dT%H:%M:%S+00:00)
printf '{"user_id":"bench-user","tokens":{"access_token":"%s","expires_at":"%s","refresh_token":"RT","token_type":"Bearer","scope":"spark:all"}}' \
  "$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 64)" "$expires" \
  | "$build/tools/tokenctl/tokenctl" --socket "$work/run/tokend.sock" set-context bench-user - >/dev/null

results=$work/results.jsonl
for round in $(seq "$rounds"); do
  for clients in 1 8; do
    out=$("$load" --socket "$work/run/tokend.sock" --clients "$clients" --seconds "$seconds")
    echo "{\"target\":\"tokend\",\"round\":$round,\"result\":$out}" >> "$results"
    size=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["response_bytes"])')
    out=$("$load" --socket "$work/echo.sock" --clients "$clients" --seconds "$seconds" --echo "$size")
    echo "{\"target\":\"echo\",\"round\":$round,\"result\":$out}" >> "$results"
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("clients  target  rps(median)  p50_us(median)  p99_us(median)")
summary = {}
for clients in (1, 8):
    for target in ("echo", "tokend"):
        mine = [r["result"] for r in rows if r["target"] == target and r["result"]["clients"] == clients]
        rps = statistics.median(r["rps"] for r in mine)
        p50 = statistics.median(r["p50_us"] for r in mine)
        p99 = statistics.median(r["p99_us"] for r in mine)
        summary[(clients, target)] = (rps, p50)
        print(f"{clients:>7}  {target:<6}  {rps:>11.0f}  {p50:>14.2f}  {p99:>14.2f}")
for clients in (1, 8):
    (erps, ep50), (trps, tp50) = summary[(clients, "echo")], summary[(clients, "tokend")]
    print(f"{clients} client(s): get_token latency {tp50/ep50:.2f}x the echo floor, throughput {trps/erps:.2f}x")
print(f"request {rows[0]['result']['request_bytes']} bytes, response {rows[0]['result']['response_bytes']} bytes")
PY
