#!/usr/bin/env bash
# The failover timeline (issue 15): SENTINEL FAILOVER under a bot's reads and
# writes, with and without wait_replicas, ROUNDS times. It runs
# tests/integration/test_redis_sentinel.py (one master, one replica, three
# sentinels on loopback, two tokend processes) and keeps the lines it prints:
# when both processes moved, how many writes failed over how long, when the
# first write was acknowledged on the new master, how many acknowledged writes
# were lost. See docs/redis.md, "During a failover".
# Usage: bench/redis/failover_timeline.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
rounds=${2:-3}
export TOKEND_BIN=$build/daemon/tokend TOKENCTL_BIN=$build/tools/tokenctl/tokenctl
export TOKEND_PLUGIN_DIR=$build/plugins PYTHONDONTWRITEBYTECODE=1
uptime
cd tests/integration
for round in $(seq "$rounds"); do
  echo "round $round"
  python3 -m unittest test_redis_sentinel 2>&1 | grep -E '^failover|^(OK|FAILED)' || true
done
