#!/usr/bin/env bash
# get_token over the control socket against its floors, in one run on this
# machine: a single-thread epoll server answering the same bytes (the
# baseline) and the old thread-per-connection echo. 1 and 8 closed-loop
# clients, unpinned and pinned (clients and every server on CPU 0, where
# wake-up costs vanish and the work itself shows), ROUNDS rounds of SECONDS
# each (the order of the servers alternates, tokend always beside the epoll
# floor). Prints medians; a ratio is the median of the rounds' own ratios,
# each tokend run against the epoll run next to it, so the host's slow swings
# in load (a tenth either way over seconds here) fall on both sides of it.
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
def runs(target, pinned, clients):  # round -> result
    return {r["round"]: r["result"] for r in rows
            if r["target"] == target and r["pinned"] == pinned and r["result"]["clients"] == clients}
def med(target, pinned, clients, key):
    return statistics.median(result[key] for result in runs(target, pinned, clients).values())
def paired(target, pinned, clients, key):  # each round's ratio to the epoll floor run next to it
    mine, floor = runs(target, pinned, clients), runs("epoll", pinned, clients)
    return sorted(mine[n][key] / floor[n][key] for n in mine)
first = rows[0]["result"]
print(f"get_token: request {first['request_bytes']} bytes, answer {first['response_bytes']} bytes;"
      f" medians of {max(r['round'] for r in rows)} round(s); ratios: the median of each round's ratio"
      f" to the epoll run beside it (lowest-highest)")
print("pinned  clients  server    rps       p50_us   p99_us   p50 vs epoll         rps vs epoll")
summary = []
for pinned in ("no", "yes"):
    for clients in (1, 8):
        for target in ("epoll", "threaded", "tokend"):
            rps, p50, p99 = (med(target, pinned, clients, k) for k in ("rps", "p50_us", "p99_us"))
            p50s, rpss = paired(target, pinned, clients, "p50_us"), paired(target, pinned, clients, "rps")
            print(f"{pinned:<7} {clients:>7}  {target:<8} {rps:>8.0f}  {p50:>8.2f} {p99:>8.2f}"
                  f"  {statistics.median(p50s):>5.2f}x ({p50s[0]:.2f}-{p50s[-1]:.2f})"
                  f"  {statistics.median(rpss):>5.2f}x ({rpss[0]:.2f}-{rpss[-1]:.2f})")
        where = "pinned" if pinned == "yes" else "unpinned"
        for key, what, unit, goal in (("p50_us", "p50", " us", "<= 1.3x" if (pinned, clients) == ("yes", 1) else ""),
                                      ("rps", "throughput", "/s", ">= 0.9x" if (pinned, clients) == ("no", 8) else "")):
            ratios = paired("tokend", pinned, clients, key)
            fmt = (lambda v: f"{v:.1f}{unit}") if key == "p50_us" else (lambda v: f"{v:.0f}{unit}")
            summary.append({"part": "control", "what": f"get_token {what}, {where}, {clients} client(s)",
                            "tokend": fmt(med("tokend", pinned, clients, key)),
                            "floor": fmt(med("epoll", pinned, clients, key)) + " (epoll)",
                            "ratio": statistics.median(ratios),
                            "spread": f"{ratios[0]:.2f}-{ratios[-1]:.2f}", "goal": goal})
if sys.argv[2]:
    with open(sys.argv[2], "a") as f:
        for line in summary:
            f.write(json.dumps(line) + "\n")
PY
