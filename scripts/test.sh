#!/usr/bin/env bash
# The README's second command: installs what is missing, builds twice (plain,
# and with AddressSanitizer + UndefinedBehaviorSanitizer), and runs the whole
# suite (ctest) in each, then the tests that start threads in a ThreadSanitizer
# build; checks the systemd units (a ctest) and the .deb package (after the
# plain build); runs every fuzz target briefly. Tests start the servers they
# need themselves (on port 0 or temp Unix sockets) and stop them.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
# A second local user for the control socket's permission tests (root only).
if [ "$(id -u)" -eq 0 ] && ! id tokendtest >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin tokendtest
fi
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1
# ccache makes a second run on the same machine (a developer's, CI's) cheap.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so every clone (CI's included) shares the cache.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi

run_suite() {  # build dir, extra cmake args...
  local dir=$1; shift
  echo "== $dir: configure and build" >&2
  cmake -S . -B "$dir" "${launcher[@]}" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== $dir: ctest" >&2
  (cd "$dir" && ctest -j"$jobs" --timeout 300)
}

# The plain build is also the package's: prefix /usr, as Debian installs it.
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
# The .deb: built once here, installed into a scratch root, its daemon
# completes a flow, then purged.
scripts/check-deb.sh build

# == Fuzz stage (docs/fuzzing.md): the libFuzzer targets, built with clang-14,
# ASan and UBSan in build-fuzz. Every corpus file runs once (past crashes are
# regression inputs), then each target makes a fixed number of runs from a
# fixed seed (the same inputs every time), nproc targets at a time.
scripts/fuzz.sh --ci --jobs "$jobs"

# halt_on_error: a sanitizer report fails the test that caused it.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DTOKEND_SANITIZE=ON -DTOKEND_BUILD_BENCH=OFF

# ---- ThreadSanitizer: the tests that start threads (ctest label `threads`) ----
# Its own build (TSan excludes ASan), of the target thread_tests only: those
# tests and what they need, not the whole tree a third time. halt_on_error: a
# race report fails the test; tests/tsan.supp names only reports shown to come
# from uninstrumented libraries (docs/testing.md).
(
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
  echo "== build-tsan: configure and build (target thread_tests)" >&2
  cmake -S . -B build-tsan "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKEND_TSAN=ON \
    -DTOKEND_BUILD_BENCH=OFF >/dev/null
  cmake --build build-tsan --target thread_tests -j"$jobs"
  echo "== build-tsan: ctest -L threads" >&2
  cd build-tsan && ctest -L threads -j"$jobs" --timeout 300
)
# ---- end of the ThreadSanitizer stage ----

echo "== all tests passed (plain, ASan/UBSan and TSan builds)" >&2
