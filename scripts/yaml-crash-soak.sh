#!/usr/bin/env bash
# Long run of the yaml store's crash test: SIGKILLs a writer COUNT times (default
# 2000) on the same files and checks after each kill that every acknowledged write
# survived. Not run in CI (the CI test does 20 kills).
#
# usage: scripts/yaml-crash-soak.sh [COUNT] [BUILD_DIR]
#   BUILD_DIR defaults to build-yaml; build it first:
#   cmake --build BUILD_DIR --target yaml_store_test yaml_crash_writer
# Set TOKEND_YAML_CRASH_SEED to replay a run (each run prints its seed).
set -euo pipefail

count="${1:-2000}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${2:-$repo/build-yaml}"
test_binary="$build/tests/plugins/yaml/yaml_store_test"

if [[ ! "$count" =~ ^[0-9]+$ ]] || (( count < 1 )); then
  echo "yaml-crash-soak: COUNT must be a positive number, got '$count'" >&2
  exit 2
fi
if [[ ! -x "$test_binary" ]]; then
  echo "yaml-crash-soak: $test_binary not found; build the yaml_store_test target first" >&2
  exit 2
fi

echo "yaml-crash-soak: $count kills with $test_binary"
TOKEND_YAML_CRASH_ITERATIONS="$count" exec "$test_binary" \
  --gtest_filter='YamlStoreCrash.*' --gtest_brief=0
