#!/usr/bin/env bash
# examples/as-authlib end to end on loopback (test_as_authlib.py): Authlib's
# AuthorizationServer (Flask) with a JWTBearerGrant verified by idjag.Verifier, against
# idjag-testkit's IdP; idjag's Rust, Python, Node, C and CLI clients and the MCP Python SDK get tokens;
# bad ID-JAGs and clients refused. Installs what it needs (requirements.txt into
# target-python/venv, the wheel, the addon, the testkit: examples/prepare.sh).
# IDJAG_MATRIX=FILE records the interop matrix rows.
set -euo pipefail
cd "$(dirname "$0")"
source ../prepare.sh
t0=$(now)
prepare_rust
prepare_python requirements.txt
prepare_node
prepare_c
say "pytest test_as_authlib.py"
"$IDJAG_PYTHON" -m pytest -q -p no:cacheprovider --timeout 120 test_as_authlib.py
say "examples/as-authlib/test.sh: $(( $(now) - t0 )) s"
