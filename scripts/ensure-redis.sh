#!/usr/bin/env bash
# Makes sure `redis-server` is installed (Debian package), for the Redis replay-store tests.
# Idempotent: does nothing when redis-server is already on PATH. The tests start and stop
# their own instance on a random loopback port; this script starts nothing.
#
# The Redis tests FAIL when redis-server is missing. To skip them instead (e.g. on a machine
# where installing packages is impossible), set IDJAG_ALLOW_NO_REDIS=1 explicitly.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
echo "ensure-redis: installing redis-server (apt)" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null

command -v redis-server >/dev/null 2>&1 || {
    echo "ensure-redis: redis-server is still not on PATH" >&2
    exit 1
}
