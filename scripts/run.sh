#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs tokend
# in the foreground on its embedded default (YAML store in ./state). Ctrl-C
# stops it cleanly. Extra arguments go to tokend (e.g. -c etc/tokend.yml).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKEND_BUILD_TESTS=OFF -DTOKEND_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target tokend tokend_store_yaml tokend_store_memory >/dev/null
exec build/daemon/tokend --plugin-dir build/plugins "$@"
