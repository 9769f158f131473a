#!/usr/bin/env bash
# examples/as-oidc-provider end to end on loopback (test.mjs): oidc-provider with idjag's
# Verifier behind its jwt-bearer grant, against idjag-testkit's IdP; idjag's Node, Python
# and CLI clients and the MCP TypeScript SDK get tokens; bad ID-JAGs and clients refused.
# Installs what it needs (npm ci from package-lock.json, the addon, the wheel, the testkit:
# examples/prepare.sh). IDJAG_MATRIX=FILE records the interop matrix rows.
set -euo pipefail
cd "$(dirname "$0")"
source ../prepare.sh
t0=$(now)
say "node $(node --version): npm ci (oidc-provider, @modelcontextprotocol/client; idjag links ../../bindings-node)"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
prepare_rust
prepare_node
prepare_c
prepare_python
say "node --test test.mjs"
node --test --test-timeout=120000 --test-reporter=spec test.mjs
say "examples/as-oidc-provider/test.sh: $(( $(now) - t0 )) s"
