#!/bin/sh
# Runs "$@" with a private /run (a tmpfs in a mount namespace of its own, gone
# with the command) when root, and sets TOKEND_PRIVATE_RUN=1 so the test knows
# it may bind /run/systemd/journal/socket; otherwise runs "$@" as is (and the
# tests that need it skip, saying why).
if [ "$(id -u)" = 0 ] && [ "${TOKEND_PRIVATE_RUN:-}" != 1 ]; then
  exec unshare --mount --propagation private -- env TOKEND_PRIVATE_RUN=1 \
    sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"' sh "$@"
fi
exec "$@"
