#!/usr/bin/env bash
# Installs the comparison stacks of the verifier benchmark, idempotently:
#   - Node `jose` (npm) into bench/verify/node_modules
#   - PyJWT with `cryptography` (PyPI) into the venv bench/verify/.venv
# Run by `cargo run --release -p idjag-bench-verify` when they are missing.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f node_modules/jose/package.json ]; then
    echo "setup: npm install (jose)" >&2
    npm install --no-audit --no-fund --loglevel=error
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: python3 -m venv .venv" >&2
    python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import jwt, cryptography' >/dev/null 2>&1; then
    echo "setup: pip install -r requirements.txt" >&2
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
