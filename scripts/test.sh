#!/usr/bin/env bash
# Runs every test of every language in this repository. Installs what it needs itself
# (Debian packages, PyPI/npm packages) so it works on a fresh machine. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*"; }

step "prerequisites"
scripts/ensure-redis.sh

step "rust: every crate, every feature (unit, integration, CLI, vectors)"
cargo test --workspace --all-features --locked

step "C/C++: libidjag (release) via pkg-config and CMake; C test (shared, static, ASan+UBSan, valgrind), GoogleTest C++ test, shared vectors"
tests/c/run.sh

step "rust: interop with a real Keycloak 26.7 accepting ID-JAGs (scripts/keycloak.sh, core/tests/keycloak.rs)"
# Downloads keycloak-quarkus-dist from Maven Central into .cache/keycloak (verified, reused),
# starts a private instance on a free 127.0.0.1 port (needs a JDK >= 21), runs the #[ignore]d
# Keycloak test against it, and stops it whatever happens.
(
  kc_url="$(KEYCLOAK_PORT=auto scripts/keycloak.sh start)"
  trap 'KEYCLOAK_PORT="${kc_url##*:}" scripts/keycloak.sh stop' EXIT
  IDJAG_KEYCLOAK_URL="$kc_url" cargo test --workspace --all-features --locked --test keycloak -- --ignored --nocapture
)

step "python: pip install ./bindings-python, pytest against the testkit and the mcp SDK, mypy, stubtest, abi3 on 3.9/3.13"
bindings-python/test.sh

step "node: npm install ./bindings-node, node --test against the testkit and the MCP TypeScript SDK, tsc, on Node 20 and 22"
bindings-node/test.sh

step "MCP conformance suites 0.1.16 and 0.2.0-alpha.12 (EMA, WIF) against the Python, C and Node clients"
# Reuses the venv and the addon bindings-python/test.sh and bindings-node/test.sh have just
# built from this tree.
IDJAG_CONFORMANCE_REUSE=1 tests/conformance/run.sh

step "all tests passed"
