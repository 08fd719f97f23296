#!/usr/bin/env bash
# Installs the Debian packages tokend needs to build, run and test, if any is
# missing. Uses sudo when not root. Safe to run again: it does nothing when all
# are there.
set -euo pipefail

packages=(
  cmake g++ make pkg-config ccache
  libuv1-dev libcurl4-openssl-dev libyaml-cpp-dev libhiredis-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libssl-dev libsystemd-dev libhttp-parser-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-yaml redis-server
  # tests/integration/test_redis_tls.py makes its certificates with the openssl CLI.
  openssl
  # tests/integration/test_redis_sentinel.py: three sentinels on loopback.
  redis-sentinel
  python3-setuptools python3-wheel python3-pip python3-venv python3-mypy python3-aiohttp python3-flask python3-pydantic
  prometheus-cpp-dev prometheus systemd dpkg-dev
  # scripts/check-deb.sh: lintian, and what the maintainer scripts and the
  # upgrade run use (adduser, useradd, deb-systemd-helper, unshare).
  lintian adduser passwd init-system-helpers util-linux
  chromium chromium-driver python3-selenium fonts-dejavu-core
  node-typescript
  # Issue 18 item 3: man pages (help2man at build time; groff and man render
  # them in tests/tools/test_man_pages.py), tokenctl's shell completion
  # (bash-completion's completionsdir at configure time; bash and zsh in
  # tests/tools/test_completion.py).
  help2man groff-base man-db bash-completion zsh
  clang-14 libfuzzer-14-dev
)
# The Node.js client's tests (tests/node): node, npm and tsc. A node from
# elsewhere (NodeSource's nodejs bundles npm and conflicts with Debian's npm)
# is used as it is.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
