#!/usr/bin/env bash
# get_token with tokend on the redis store against redis-benchmark GET of a
# 700-byte value, on one redis-server (Unix socket) in one run: a fresh token
# served from tokend's cache (1 and 8 clients), and the cold path (a daemon
# start that loads N stored contexts, up to its first answer). Medians of
# ROUNDS rounds; ratios printed. See docs/benchmarks.md. The cost of TLS to
# Redis (issue 15) is bench/redis/tls_cost.py.
# Usage: bench/redis/run.sh [BUILD_DIR] [USERS] [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 bench/redis/redis_bench.py --build "${1:-build}" --users "${2:-10000}" \
  --rounds "${3:-3}" --seconds "${4:-3}"
