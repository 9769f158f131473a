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

step "python: pip install ./bindings-python, pytest against the testkit and the mcp SDK, mypy, stubtest, abi3 on 3.9/3.13"
bindings-python/test.sh

step "python: MCP conformance auth/cross-app-access-complete-flow (mcp SDK + idjag.mcp)"
tests/conformance/run-python.sh

step "all tests passed"
