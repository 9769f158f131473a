#!/usr/bin/env bash
# Runs every test of every language in this repository. Installs what it needs itself
# (Debian packages, PyPI/npm packages) so it works on a fresh machine. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# Each step prints its title; the wall time of every step is summed up at the end.
STEP_NAMES=() STEP_START=()
step() {
    local title="$*"
    STEP_NAMES+=("${title:0:72}") STEP_START+=("$SECONDS")
    printf '\n== %s\n' "$*"
}
report_times() {
    local i end
    printf '\n== wall time per step (s)\n'
    for i in "${!STEP_NAMES[@]}"; do
        end="${STEP_START[$((i + 1))]:-$SECONDS}"
        printf '%6d  %s\n' "$((end - STEP_START[i]))" "${STEP_NAMES[$i]}"
    done
    printf '%6d  total\n' "$SECONDS"
}
trap report_times EXIT

step "prerequisites"
scripts/ensure-redis.sh
# Every interop test that passes appends its (client, server) cell here; scripts/matrix.py
# checks at the end that the README's interop matrix is exactly what this run proved.
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
export IDJAG_MATRIX="$TARGET/matrix/results.jsonl"
mkdir -p "$(dirname "$IDJAG_MATRIX")" && : >"$IDJAG_MATRIX"

step "rust: every crate, every feature (unit, integration, CLI, vectors, idjag-rmcp with rmcp's own enterprise client as a peer)"
# One crypto provider (aws-lc-rs): nothing in the workspace, rmcp's reqwest included, links ring.
ring="$(cargo tree --locked --workspace --all-features -e normal,build,dev --target all -i ring 2>/dev/null || true)"
[ -z "$ring" ] || { echo "a second crypto provider (ring) is linked:" >&2; echo "$ring" >&2; exit 1; }
cargo test --workspace --all-features --locked

step "C/C++: libidjag (release) via pkg-config and CMake; C test (shared, static, ASan+UBSan, valgrind), GoogleTest C++ test, shared vectors"
tests/c/run.sh

step "python: pip install ./bindings-python, pytest against the testkit and the mcp SDK, mypy, stubtest, abi3 on 3.9/3.13"
bindings-python/test.sh

step "node: npm install ./bindings-node, node --test against the testkit and the MCP TypeScript SDK, tsc, on Node 20 and 22"
bindings-node/test.sh

step "authorization servers built on the idjag verifier: oidc-provider (Node) and Authlib (Python), our clients and the TS/Python SDKs against them"
# Reuses the wheel and the addon that bindings-python/test.sh and bindings-node/test.sh built.
IDJAG_EXAMPLES_REUSE=1 examples/as-oidc-provider/test.sh
IDJAG_EXAMPLES_REUSE=1 examples/as-authlib/test.sh

step "Keycloak 26.7 accepting ID-JAGs, driven from Rust, Python, Node, C, the CLI and the TS and Python SDKs (tests/keycloak/run.sh)"
# Downloads keycloak-quarkus-dist from Maven Central into .cache/keycloak (verified, reused),
# starts one private instance on a free 127.0.0.1 port (needs a JDK >= 21), runs the Rust,
# Python and Node Keycloak tests against it, and stops it whatever happens.
tests/keycloak/run.sh

step "MCP conformance suites 0.1.16 and 0.2.0-alpha.12 (EMA, WIF) against the Rust (rmcp + idjag-rmcp), Python, C and Node clients"
# Reuses the venv and the addon bindings-python/test.sh and bindings-node/test.sh have just
# built from this tree.
IDJAG_CONFORMANCE_REUSE=1 tests/conformance/run.sh

step "peer clients: MCP TypeScript SDK 2.4.0 (CrossAppAccessProvider) and Python SDK mcp 2.3.0 (IdentityAssertionOAuthProvider), unmodified, against the testkit AS (IdJagVerifier)"
tests/peers/run.sh

step "interop matrix: README.md and docs/MATRIX.md are what this run proved (scripts/matrix.py)"
python3 scripts/matrix.py --check "$IDJAG_MATRIX"

step "all tests passed"
