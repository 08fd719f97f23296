#!/usr/bin/env bash
# get_token over the control socket against its floors, in one run on this
# machine: a single-thread epoll server answering the same bytes (the
# baseline) and the old thread-per-connection echo. 1 and 8 closed-loop
# clients, unpinned and pinned (clients and every server on CPU 0, where
# wake-up costs vanish and the work itself shows), ROUNDS rounds of SECONDS
# each (the order of the servers alternates), medians and ratios printed.
# With SUMMARY set, appends JSON lines for bench/run.sh's table.
# Usage: bench/control/run.sh [BUILD_DIR] [ROUNDS] [SECONDS] | [BUILD_DIR] --quick
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
if [ "${2:-}" = --quick ]; then rounds=1; seconds=1; else rounds=${2:-5}; seconds=${3:-3}; fi
source bench/control/common.sh
load=$build/bench/control/control_load
work=$(mktemp -d /tmp/tokend-bench-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

start_tokend "$build" "$work" launch
tokend=${pids[-1]}
size=$("$load" --socket "$work/run/tokend.sock" --count 1 | json_field response_bytes)
launch "$work/epoll.sock" "$build/bench/control/control_floor" --socket "$work/epoll.sock" --answer-bytes "$size"
launch "$work/threaded.sock" "$build/bench/control/control_floor" --socket "$work/threaded.sock" --answer-bytes "$size" --mode threaded

pin() {  # cpus: every thread of every server
  for p in "${pids[@]}"; do taskset -a -p -c "$1" "$p" >/dev/null; done
}
all_cpus=$(taskset -cp $$ | awk '{print $NF}')
results=$work/results.jsonl
for round in $(seq "$rounds"); do
  targets=(epoll tokend threaded)
  [ $((round % 2)) = 0 ] && targets=(threaded tokend epoll)
  for pinned in no yes; do
    if [ $pinned = yes ]; then pin 0; runner=(taskset -c 0); else pin "$all_cpus"; runner=(); fi
    for clients in 1 8; do
      for target in "${targets[@]}"; do
        socket=$work/$target.sock
        [ "$target" = tokend ] && socket=$work/run/tokend.sock
        out=$("${runner[@]}" "$load" --socket "$socket" --clients "$clients" --seconds "$seconds")
        echo "{\"target\":\"$target\",\"pinned\":\"$pinned\",\"round\":$round,\"result\":$out}" >> "$results"
      done
    done
  done
done

python3 - "$results" "${SUMMARY:-}" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def med(target, pinned, clients, key):
    return statistics.median(r["result"][key] for r in rows
                             if r["target"] == target and r["pinned"] == pinned and r["result"]["clients"] == clients)
first = rows[0]["result"]
print(f"get_token: request {first['request_bytes']} bytes, answer {first['response_bytes']} bytes;"
      f" medians of {max(r['round'] for r in rows)} round(s)")
print("pinned  clients  server    rps       p50_us   p99_us   p50 vs epoll  rps vs epoll")
summary = []
for pinned in ("no", "yes"):
    for clients in (1, 8):
        e_rps, e_p50 = med("epoll", pinned, clients, "rps"), med("epoll", pinned, clients, "p50_us")
        for target in ("epoll", "threaded", "tokend"):
            rps, p50, p99 = (med(target, pinned, clients, k) for k in ("rps", "p50_us", "p99_us"))
            print(f"{pinned:<7} {clients:>7}  {target:<8} {rps:>8.0f}  {p50:>8.2f} {p99:>8.2f}  {p50 / e_p50:>11.2f}x  {rps / e_rps:>11.2f}x")
        t_rps, t_p50 = med("tokend", pinned, clients, "rps"), med("tokend", pinned, clients, "p50_us")
        where = "pinned" if pinned == "yes" else "unpinned"
        summary.append({"part": "control", "what": f"get_token p50, {where}, {clients} client(s)",
                        "tokend": f"{t_p50:.1f} us", "floor": f"{e_p50:.1f} us (epoll)", "ratio": t_p50 / e_p50,
                        "goal": "<= 1.3x" if (pinned, clients) == ("yes", 1) else ""})
        summary.append({"part": "control", "what": f"get_token throughput, {where}, {clients} client(s)",
                        "tokend": f"{t_rps:.0f}/s", "floor": f"{e_rps:.0f}/s (epoll)", "ratio": t_rps / e_rps,
                        "goal": ">= 0.9x" if (pinned, clients) == ("no", 8) else ""})
if sys.argv[2]:
    with open(sys.argv[2], "a") as f:
        for line in summary:
            f.write(json.dumps(line) + "\n")
PY
