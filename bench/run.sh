#!/usr/bin/env bash
# Every comparison of issue 16 in one run, each against its floor measured in
# the same run, then one table (markdown, for docs/benchmarks.md):
#   control  get_token vs a single-thread epoll server (and the threaded echo),
#            1 and 8 clients, unpinned and pinned to one CPU (bench/control/run.sh)
#   http     GET /redirect (unknown, used and malformed states) vs nginx's fixed 200 page
#            of the same size, wrk, unpinned and pinned (bench/http/redirect_vs_nginx.sh; needs
#            wrk and nginx: installed as root, else the part fails saying so)
#   memory   resident memory a user on the memory store, and on the redis store with
#            its READY time (bench/memory/rss_per_user.py; with BASELINE=OTHER_BUILD
#            set, that build is measured too, in the same run)
#   startup  start-up with users in Redis and in a YAML file vs the empty start (bench/startup/startup.py)
# Each part also runs alone (see its header). --quick: short rounds, small
# user counts (a smoke, minutes); without it about 8 minutes here.
# Say the load average with the figures: it is printed first and last.
# Usage: bench/run.sh [BUILD_DIR] [--quick] [PART...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
quick=
parts=()
for arg in "$@"; do
  case $arg in
    --quick) quick=--quick ;;
    control|http|memory|startup) parts+=("$arg") ;;
    *) build=$arg ;;
  esac
done
[ ${#parts[@]} = 0 ] && parts=(control http memory startup)
export SUMMARY
SUMMARY=$(mktemp /tmp/tokend-suite-XXXXXX.jsonl)
trap 'rm -f "$SUMMARY"' EXIT
echo "== $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/'); build $build; ${quick:-full}"

for part in "${parts[@]}"; do
  echo "== $part"
  case $part in
    control) if [ -n "$quick" ]; then bench/control/run.sh "$build" --quick; else bench/control/run.sh "$build" 7 3; fi ;;
    http)
      if [ -n "$quick" ]; then bench/http/redirect_vs_nginx.sh "$build" --quick; else bench/http/redirect_vs_nginx.sh "$build" 3 5 32; fi ;;
    memory)
      baseline=(${BASELINE:+--baseline "$BASELINE"})
      if [ -n "$quick" ]; then users=20000 redis_users=20000; else users=200000 redis_users=1000000; fi
      python3 bench/memory/rss_per_user.py "${baseline[@]}" "$build" "$users"
      python3 bench/memory/rss_per_user.py --redis "${baseline[@]}" "$build" "$redis_users" ;;
    startup)
      if [ -n "$quick" ]; then python3 bench/startup/startup.py --build "$build" --redis 10000 --yaml 10000 --rounds 1 --summary "$SUMMARY"
      else python3 bench/startup/startup.py --build "$build" --redis 10000,100000,1000000 --yaml 100000 --rounds 3 --summary "$SUMMARY"; fi ;;
  esac
done

echo "== $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"
python3 - "$SUMMARY" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| part | comparison | tokend | floor (same run) | ratio | goal |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    spread = f" ({r['spread']})" if r.get("spread") else ""  # the rounds' own ratios, lowest-highest
    print(f"| {r['part']} | {r['what']} | {r['tokend']} | {r['floor']} | {r['ratio']:.2f}x{spread} | {r['goal']} |")
PY
