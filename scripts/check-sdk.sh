#!/usr/bin/env bash
# scripts/check-sdk.sh BUILD_DIR
#
# Checks the plugin SDK the way a third party uses it: installs BUILD_DIR into a
# fresh stage directory, builds sdk/examples/example-store out of tree against
# the staged SDK (found only through pkg-config), and runs the staged
# tokend-store-conformance against the example plugin and against the staged
# memory plugin (by name, from the staged plugin directory). Removes the stage
# afterwards. Exits non-zero on any failure.
#
# BUILD_DIR must be fully built (`cmake --build BUILD_DIR`); ctest runs this as
# sdk.example_out_of_tree after the build.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
  echo "usage: $0 BUILD_DIR   (a configured and built tokend build directory)" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)

stage=$(mktemp -d "${TMPDIR:-/tmp}/tokend-sdk-check.XXXXXX")
trap 'rm -rf "$stage"' EXIT
say() { echo "== check-sdk: $*" >&2; }

say "installing $build_dir into $stage/prefix"
cmake --install "$build_dir" --prefix "$stage/prefix" >"$stage/install.log" \
  || { cat "$stage/install.log" >&2; exit 1; }

# GNUInstallDirs may have chosen lib/ or lib/<multiarch>/: ask the stage itself.
pc_file=$(find "$stage/prefix" -path '*/pkgconfig/tokend-store.pc' -print -quit)
[ -n "$pc_file" ] || { echo "check-sdk: no tokend-store.pc in the stage" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc_file")
# Only the stage: an SDK installed on this machine must not be picked up instead.
export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH

# The .pc file must point into the stage (relocatable), not at the configured prefix.
includedir=$(pkg-config --variable=includedir tokend-store)
plugindir=$(pkg-config --variable=plugindir tokend-store)
for dir in "$includedir" "$plugindir"; do
  case $(realpath -m "$dir") in
    "$(realpath "$stage")"/*) ;;
    *) echo "check-sdk: tokend-store.pc points outside the stage: $dir" >&2; exit 1 ;;
  esac
done
[ -f "$includedir/tokend/store.h" ] || { echo "check-sdk: no tokend/store.h in $includedir" >&2; exit 1; }
[ -f "$plugindir/tokend_store_memory.so" ] || { echo "check-sdk: no memory plugin in $plugindir" >&2; exit 1; }
conformance=$stage/prefix/bin/tokend-store-conformance
[ -x "$conformance" ] || { echo "check-sdk: $conformance was not installed" >&2; exit 1; }

say "building sdk/examples/example-store out of tree"
# A clean environment for the example: no compiler flags from the caller.
env -u CFLAGS -u LDFLAGS cmake -S "$source_dir/sdk/examples/example-store" -B "$stage/example-build" \
  -DCMAKE_BUILD_TYPE=Debug >"$stage/example-configure.log" \
  || { cat "$stage/example-configure.log" >&2; exit 1; }
cmake --build "$stage/example-build" -j2
example=$stage/example-build/tokend_store_example.so
[ -f "$example" ] || { echo "check-sdk: the example build made no $example" >&2; exit 1; }

# Hidden visibility: the plugin exports its two entry points and nothing else.
exported=$(nm -D --defined-only "$example" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sort | tr '\n' ' ')
if [ "$exported" != "tokend_store_abi_version tokend_store_plugin_entry " ]; then
  echo "check-sdk: the example exports more or less than its two entry points: $exported" >&2
  exit 1
fi

say "conformance: example plugin ($example)"
"$conformance" --plugin "$example"

say "conformance: staged memory plugin by name from $plugindir"
"$conformance" --plugin memory --plugin-dir "$plugindir" --config '{"name":"@UNIQUE@"}'

say "conformance: staged memory plugin by name, default plugin dir of the staged binary"
"$conformance" --plugin memory --config '{"name":"@UNIQUE@"}' --gtest_filter='Basics.*'

say "all passed"
