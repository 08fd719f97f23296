#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs tokend
# in the foreground on its embedded default: YAML store in ./state, control
# socket ./run/tokend.sock, redirect endpoint http://127.0.0.1:6001/redirect.
#
# With no arguments and no integration of your own, it also starts the bundled
# development provider (tools/fake_webex, a stand-in for Webex on
# 127.0.0.1:6002) and points tokend at it, so a whole OAuth flow can be walked
# through without credentials (see README). Ctrl-C stops both cleanly.
# With arguments, they go to tokend as they are (e.g. -c etc/tokend.yml).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target tokend tokenctl tokend_store_yaml tokend_store_memory >/dev/null

if [ $# -gt 0 ]; then
  exec build/daemon/tokend --plugin-dir build/plugins "$@"
fi

mkdir -p run
chmod 0755 run
provider_port=${TOKEND_DEV_PROVIDER_PORT:-6002}
rm -f run/dev-provider.port
python3 tools/fake_webex/fake_webex.py --port "$provider_port" --port-file run/dev-provider.port \
  --user alice:alice@example.com:Alice --user bob:bob@example.com:Bob \
  --log-file run/dev-provider.log >/dev/null &
provider=$!
trap 'kill "$provider" 2>/dev/null || true; wait "$provider" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s run/dev-provider.port ] && break
  kill -0 "$provider" 2>/dev/null || { echo "run.sh: the development provider did not start (port $provider_port taken?)" >&2; exit 1; }
  sleep 0.1
done
provider_url="http://127.0.0.1:$(cat run/dev-provider.port)"

# The development provider's fixed credentials (see tools/fake_webex/README.md),
# in files, as real secrets would be.
(umask 077; printf 'fake-webex-client-secret\n' > run/dev-client-secret; printf 'fake-webex-bot-token\n' > run/dev-bot-token)
cat > run/dev.yml <<YAML
# Written by scripts/run.sh: the embedded default plus the development provider.
integration:
  client_id: fake-webex-client-id
  client_secret: {file: run/dev-client-secret}
  bot_token: {file: run/dev-bot-token}
  scopes: spark:people_read spark:messages_write
  redirect_url: http://127.0.0.1:6001/redirect
  auth_service: $provider_url/v1/authorize
  token_service: $provider_url/v1/access_token
  api_base: $provider_url/v1
YAML
echo "run.sh: development provider on $provider_url (users alice and bob); see README for a walk-through" >&2
build/daemon/tokend --plugin-dir build/plugins -c run/dev.yml
