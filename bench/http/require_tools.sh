#!/usr/bin/env bash
# Makes sure wrk and nginx are there for the /redirect benchmark: as root with
# apt-get, installs the Debian packages (wrk, nginx-light); otherwise says what
# to install and fails (exit 3), so a run never skips the comparison silently.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} (Debian packages) for the /redirect benchmark" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
  command -v wrk >/dev/null && command -v nginx >/dev/null && exit 0
fi
echo "the /redirect benchmark needs wrk and nginx: apt-get install -y wrk nginx-light" >&2
exit 3
