#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, docs/fuzzing.md) in build-fuzz with
# clang-14, ASan and UBSan, and runs each for SECONDS (default 60) on a scratch
# copy of its corpus, with its dictionary. Prints per target the executions,
# coverage (cov: edges, ft: features), corpus size and crashes; exits non-zero
# when a target crashed (its input is saved under build-fuzz/fuzz-artifacts/).
#
# usage: scripts/fuzz.sh [--grow] [--ci] [--jobs N] [SECONDS] [TARGET...]
#   --grow    add to fuzz/corpus/<target>, the repository's corpus, up to 40
#             inputs of the run reaching the most edges it lacks (libFuzzer
#             -merge=1 records them, scripts/fuzz-merge.py picks them)
#   --ci      CI's run, the same every time: every corpus file once (past
#             crashes are regression inputs), then a fixed number of runs
#             from a fixed seed (a few seconds a target; SECONDS is ignored)
#   --jobs N  targets run N at a time (default 1), each niced
#   SECONDS   0 runs nothing: with --grow, merges what earlier runs found
#   TARGET    http_request url_encoding ...; default: all of them
set -euo pipefail
cd "$(dirname "$0")/.."

grow=0 ci=0 jobs=1 seconds=60 targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --grow) grow=1 ;;
    --ci) ci=1 ;;
    --jobs) jobs=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    [0-9]*) seconds=$1 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
if [ ${#targets[@]} -eq 0 ]; then
  for source in fuzz/*_fuzzer.cpp; do
    name=${source#fuzz/}
    targets+=("${name%_fuzzer.cpp}")
  done
fi

build=build-fuzz
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
echo "== $build: configure and build the fuzz targets (clang-14, ASan+UBSan)" >&2
# OSS-Fuzz's flags: -O1 and line tables only (stack traces with lines) build
# about twice as fast as RelWithDebInfo and fuzz as well.
cmake -S . -B "$build" "${launcher[@]}" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE= "-DCMAKE_C_FLAGS=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only" \
  -DTOKEND_FUZZ=ON -DTOKEND_BUILD_TESTS=OFF -DTOKEND_BUILD_BENCH=OFF >/dev/null
# One target names them all (cmake --build makes several --target one after the other).
build_targets=(--target tokend_fuzzers)
if [ ${#targets[@]} -lt "$(ls fuzz/*_fuzzer.cpp | wc -l)" ]; then
  build_targets=()
  for target in "${targets[@]}"; do build_targets+=(--target "fuzz_$target"); done
fi
cmake --build "$build" -j"$(nproc)" "${build_targets[@]}"

# A sanitizer report or a failed invariant stops the target; leaks are reported too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
work=$build/fuzz-work
artifacts=$build/fuzz-artifacts
mkdir -p "$work" "$artifacts"

# --ci: runs a target makes from seed 1, about 5 s on one idle core (a
# deterministic run cannot fail one time and pass the next). The time limit
# only guards against a very slow machine. Address randomization is off for
# them: libFuzzer keys its table of recent comparisons by code address, so
# with ASLR two runs of one seed took other mutations (control_request and
# id_token still vary a little; docs/fuzzing.md).
fixed_addresses=()
if [ $ci -eq 1 ] && setarch "$(uname -m)" -R true 2>/dev/null; then fixed_addresses=(setarch "$(uname -m)" -R); fi
ci_runs() {
  case $1 in
    iso_time) echo 300000 ;;
    redis_change|redis_list_cursor) echo 100000 ;;
    http_request) echo 40000 ;;
    url_encoding) echo 20000 ;;
    redirect_flow|user_context|provider_answer) echo 5000 ;;
    id_token) echo 20000 ;;
    *) echo 2000 ;;
  esac
}

run_target() {  # name: runs one target, writes $work/<name>.log and .result
  local name=$1 binary=$build/fuzz/fuzz_$1
  local corpus=fuzz/corpus/$name scratch=$work/$name log=$work/$name.log
  local options=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$name-")
  if [ $ci -eq 1 ]; then
    options+=(-seed=1 -runs="$(ci_runs "$name")" -max_total_time=60)
    rm -rf "$scratch"
  else
    options+=(-max_total_time="$seconds")
  fi
  [ -f "fuzz/dict/$name.dict" ] && options+=(-dict="fuzz/dict/$name.dict")
  mkdir -p "$scratch" "$corpus"
  local status=0
  : >"$log"
  if [ $ci -eq 1 ] && [ -n "$(ls -A "$corpus")" ]; then
    # Every corpus file once: a crash input of the past fails here at once.
    nice "$binary" -runs=0 "$corpus" >>"$log" 2>&1 || status=$?
  fi
  if [ $status -eq 0 ] && { [ $ci -eq 1 ] || [ "$seconds" -gt 0 ]; }; then
    # New inputs go to the scratch directory (first), the repository's corpus is only read.
    nice "${fixed_addresses[@]}" "$binary" "${options[@]}" "$scratch" "$corpus" >>"$log" 2>&1 || status=$?
  fi
  if [ $status -eq 0 ] && [ $grow -eq 1 ]; then
    # libFuzzer reads every input once and records its edges (COV) in the
    # control file; fuzz-merge.py then adds to the repository's corpus up to 40
    # inputs reaching the most edges it lacks (libFuzzer's merge keeps hundreds).
    local merged=$work/$name.merge
    rm -rf "$merged" && cp -r "$corpus" "$merged"
    nice "$binary" -merge=1 -merge_control_file="$merged.control" "$merged" "$scratch" >>"$log" 2>&1 || status=$?
    [ $status -eq 0 ] && { scripts/fuzz-merge.py "$merged.control" "$corpus" >>"$log" 2>&1 || status=$?; }
    rm -rf "$merged" "$merged.control"
  fi
  echo "$status" >"$work/$name.result"
}

running=0
for target in "${targets[@]}"; do
  if [ $ci -eq 1 ]; then echo "== fuzz_$target: corpus, then $(ci_runs "$target") runs" >&2
  else echo "== fuzz_$target: ${seconds}s" >&2; fi
  run_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
printf '%-20s %12s %8s %8s %8s %8s  %s\n' target executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
  log=$work/$target.log
  status=$(cat "$work/$target.result" 2>/dev/null || echo 1)
  # The last status line ("#N DONE cov: C ft: F corp: ...") and the final stats.
  line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
  files=$(find "fuzz/corpus/$target" -type f | wc -l)
  result=ok
  if [ "$status" != 0 ]; then
    result="CRASH (exit $status): $(grep -m1 -E '^SUMMARY|invariant failed|^==[0-9]+==ERROR' "$log" || echo "see $log")"
    failed=1
  fi
  printf '%-20s %12s %8s %8s %8s %8s  %s\n' "$target" "${execs:--}" "${speed:--}" "${cov:--}" "${ft:--}" "$files" "$result"
done
if [ $failed -ne 0 ]; then
  echo "fuzz: a target failed; inputs in $artifacts/, logs in $work/" >&2
  ls -l "$artifacts" >&2 || true
fi
exit $failed
