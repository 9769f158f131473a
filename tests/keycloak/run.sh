#!/usr/bin/env bash
# Stock Keycloak 26.7 (scripts/keycloak.sh: Maven Central download, cached in .cache/keycloak)
# as a real authorization server accepting ID-JAGs, driven from three bindings against one
# instance, with the one realm template tests/keycloak/realm.json:
#   rust    core/tests/keycloak.rs          (idjag::Client; the long list of checks) and
#           integrations/rmcp/tests/keycloak.rs (rmcp's enterprise-managed client, unmodified);
#           both use tests/keycloak/admin.rs for Keycloak's admin REST API
#   python  tests/keycloak/test_keycloak.py (idjag.Client and idjag.Session from the Python
#           package; it also drives the `idjag` CLI and libidjag, examples/clients/idjag_session.c,
#           through the whole chain: the kit's MCP server names the realm in its RFC 9728 metadata),
#           and the MCP Python SDK's IdentityAssertionOAuthProvider, unmodified)
#   node    tests/keycloak/keycloak.test.mjs (Client and Session from the Node package, and the
#           MCP TypeScript SDK's CrossAppAccessProvider, unmodified)
# The Python and Node tests run the kit with --mcp-authorization-server (its MCP server names
# the realm and accepts its tokens) and --mcp-scopes "" (the realm defines no scopes).
# Each test creates its own realm and deletes it. Keycloak starts on a free 127.0.0.1 port
# and is stopped whatever happens.
#
# usage: tests/keycloak/run.sh [rust|python|node]...   (default: all three)
# The Python venv (target-python/venv) and the Node addon (bindings-node/idjag.*.node) are
# used as bindings-python/test.sh and bindings-node/test.sh left them (scripts/test.sh runs
# those first); when missing they are built here from this tree (dev profile).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
export CARGO_TERM_COLOR=never
say() { printf -- '-- %s\n' "$*"; }
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(rust python node)

PY="$ROOT/target-python/venv/bin/python"
for l in "${langs[@]}"; do
    case "$l" in
        rust) ;;
        python)
            if ! { [ -x "$PY" ] && "$PY" -c 'import idjag, pytest' 2>/dev/null; }; then
                say "building the Python package (dev) into target-python/venv"
                [ -x "$PY" ] || python3 -m venv "$ROOT/target-python/venv"
                "$PY" -m pip install -q --disable-pip-version-check -r bindings-python/requirements-test.txt
                MATURIN_PEP517_ARGS="--profile dev" "$PY" -m pip install -q --disable-pip-version-check \
                    --force-reinstall --no-deps ./bindings-python
            fi ;;
        node)
            if ! ls bindings-node/idjag.*.node >/dev/null 2>&1 || [ ! -d bindings-node/node_modules ]; then
                say "building the Node addon (dev)"
                (cd bindings-node && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
                    && node build.js --profile dev)
            fi ;;
        *) echo "unknown language '$l' (rust, python, node)" >&2; exit 2 ;;
    esac
done
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build -q --locked -p idjag-testkit -p idjag-cli
export IDJAG_TESTKIT="$TARGET/debug/idjag-testkit" IDJAG_CLI="$TARGET/debug/idjag"
if [[ " ${langs[*]} " == *" python "* ]]; then
    # The Python test also drives the CLI and libidjag (examples/clients/idjag_session.c).
    # shellcheck source=../../examples/prepare.sh
    source examples/prepare.sh
    prepare_c
    export IDJAG_KEYCLOAK_C_CLIENT="$IDJAG_C_SESSION"
fi

t0=$SECONDS
kc_url="$(KEYCLOAK_PORT=auto scripts/keycloak.sh start)"
trap 'KEYCLOAK_PORT="${kc_url##*:}" scripts/keycloak.sh stop' EXIT
export IDJAG_KEYCLOAK_URL="$kc_url"
say "Keycloak up at $kc_url in $((SECONDS - t0)) s"

for l in "${langs[@]}"; do
    t=$SECONDS
    case "$l" in
        rust) cargo test --workspace --all-features --locked --test keycloak -- --ignored --nocapture ;;
        python) "$PY" -m pytest -q -p no:cacheprovider --timeout 300 tests/keycloak/test_keycloak.py ;;
        node) node --test --test-reporter=spec tests/keycloak/keycloak.test.mjs ;;
    esac
    say "keycloak $l: $((SECONDS - t)) s"
done
say "tests/keycloak/run.sh: $((SECONDS - t0)) s with Keycloak"
