#!/usr/bin/env bash
# Instructions per get_token, counted by callgrind (user space only, so the
# machine's load does not move them): tokend on the memory store and the epoll
# floor (control_floor) each answer COUNT requests of one client; counters are
# zeroed after start-up and dumped after the last answer. Prints one JSON line
# per server and, with --annotate, the functions that cost most in tokend
# (TOP of them, 40 by default, names cut at WIDTH characters, 150 by default).
# Usage: [TOP=N] [WIDTH=N] bench/control/profile.sh [BUILD_DIR] [COUNT] [--annotate]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
count=${2:-20000}
annotate=${3:-}
source bench/control/common.sh
work=$(mktemp -d /tmp/tokend-profile-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# Starts `$@` under callgrind, waits for the socket, zeroes its counters.
under_callgrind() {  # socket command...
  local socket=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.%p" "$@" 2>>"$work/valgrind.log" &
  pids+=($!)
  wait_for_socket "$socket" 600
}

instructions() {  # pid -> total Ir of its last dump
  callgrind_control -d "$1" >/dev/null
  local out
  out=$(ls -t "$work"/callgrind."$1"* | head -1)
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'
}

measure() {  # name socket pid
  callgrind_control -z "$3" >/dev/null
  "$build/bench/control/control_load" --socket "$2" --count "$count" >/dev/null
  local total
  total=$(instructions "$3")
  echo "{\"server\":\"$1\",\"requests\":$count,\"instructions\":$total,\"per_request\":$((total / count))}"
}

start_tokend "$build" "$work" under_callgrind
measure tokend "$work/run/tokend.sock" "${pids[-1]}"
tokend_pid=${pids[-1]}
answer=$("$build/bench/control/control_load" --socket "$work/run/tokend.sock" --count 1 | json_field response_bytes)
under_callgrind "$work/floor.sock" "$build/bench/control/control_floor" --socket "$work/floor.sock" --answer-bytes "$answer"
measure epoll_floor "$work/floor.sock" "${pids[-1]}"

if [ "$annotate" = --annotate ]; then
  callgrind_control -z "$tokend_pid" >/dev/null
  "$build/bench/control/control_load" --socket "$work/run/tokend.sock" --count "$count" >/dev/null
  callgrind_control -d "$tokend_pid" >/dev/null
  out=$(ls -t "$work"/callgrind."$tokend_pid"* | head -1)
  per_request() {  # inclusive=yes|no: "instructions per request  function", largest first
    callgrind_annotate --threshold=100 --inclusive="$1" "$out" 2>/dev/null | sed -nE 's/^ *([0-9,]+) \( *[0-9.]+%\) +(.*)$/\1 \2/p' |
      grep -v "PROGRAM TOTALS" | awk -v n="$count" -v width="${WIDTH:-150}" '{c=$1; gsub(",", "", c); $1=""; printf "%8.0f %s\n", c/n, substr($0, 2, width)}'
  }
  echo "== self cost per request (instructions), top functions"
  { per_request no | head -${TOP:-40}; } || true  # head closes the pipe early: SIGPIPE under pipefail
  echo "== inclusive cost per request, tokend's own functions"
  { per_request yes | grep "tokend::" | head -40; } || true
fi

