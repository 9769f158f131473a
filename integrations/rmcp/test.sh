#!/usr/bin/env bash
# The idjag-rmcp adapter (integrations/rmcp/): its tests against the testkit on loopback —
# the adapter on rmcp's streamable HTTP client (tests/testkit.rs) and rmcp's own
# enterprise-managed client as a peer (tests/rmcp_peer.rs) — its examples built, and the
# one-crypto-provider check (nothing links `ring`). IDJAG_MATRIX (a file) collects the
# interop-matrix lines of the tests that passed (rows `rust` and `rmcp`, column `testkit`).
#
# usage: integrations/rmcp/test.sh      (the conformance client: tests/conformance/run.sh rust;
#                                        the side-by-side numbers: integrations/rmcp/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never

echo "-- one crypto provider: cargo tree -p idjag-rmcp -i ring (must be empty)"
ring="$(cargo tree --locked -p idjag-rmcp -e normal,build,dev --target all -i ring 2>/dev/null || true)"
if [ -n "$ring" ]; then
    echo "idjag-rmcp pulls in ring (a second crypto provider):" >&2
    echo "$ring" >&2
    exit 1
fi

echo "-- cargo test -p idjag-rmcp (adapter + rmcp peer against the testkit, examples built)"
cargo test --locked -p idjag-rmcp --all-targets
cargo test --locked -p idjag-rmcp --doc
