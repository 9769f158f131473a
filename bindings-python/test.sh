#!/usr/bin/env bash
# The Python package's tests, run by scripts/test.sh. Installs everything it needs itself
# (a venv under target-python/, PyPI packages pinned in requirements-test.txt) so it works on
# a fresh machine:
#   1. `pip install ./bindings-python` (the README command; maturin is the PEP 517 backend),
#   2. pytest against `idjag-testkit serve` on loopback, incl. the real `mcp` SDK, the token
#      endpoint example (examples/as_token_endpoint.py) and the Redis replay store (the tests
#      start their own `redis-server`: scripts/ensure-redis.sh installs it),
#   3. mypy over the package and the tests, and `mypy.stubtest idjag._native`,
#   4. the same abi3 wheel imported and tested on the oldest and newest CPython available.
#
# Environment: PYTHON (default python3) creates the venv; IDJAG_PY_PROFILE=release builds the
# extension optimised (default: the dev profile, which reuses what `cargo test` compiled).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="$ROOT/target-python"
VENV="$WORK/venv"
PY="$VENV/bin/python"
PROFILE="${IDJAG_PY_PROFILE:-dev}"
mkdir -p "$WORK"

say() { printf -- '-- %s\n' "$*"; }

if [ ! -x "$PY" ]; then
    say "creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
"$PY" -m pip install -q --disable-pip-version-check -r bindings-python/requirements-test.txt

say "pip install ./bindings-python (profile $PROFILE)"
MATURIN_PEP517_ARGS="--profile $PROFILE" \
    "$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python
"$PY" -c 'import idjag, sys; print("idjag", idjag.__version__, "from", idjag.__file__, "on", sys.version.split()[0])'

scripts/ensure-redis.sh
say "building idjag-testkit"
cargo build -q --locked -p idjag-testkit
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export IDJAG_TESTKIT="$TARGET_DIR/debug/idjag-testkit"

say "pytest"
(cd bindings-python && "$PY" -m pytest -q -p no:cacheprovider tests)

say "mypy (package and tests) and stubtest"
(cd bindings-python && "$PY" -m mypy --no-incremental)
# From a neutral directory, so the installed wheel (what users get) is what is checked.
(cd "$WORK" && "$PY" -m mypy.stubtest idjag._native \
    --allowlist "$ROOT/bindings-python/stubtest-allowlist.txt")

say "one abi3 wheel on other CPython versions"
rm -rf "$WORK/wheels"
MATURIN_PEP517_ARGS="--profile $PROFILE" \
    "$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$WORK/wheels" ./bindings-python
WHEEL="$(ls "$WORK"/wheels/idjag-*-cp39-abi3-*.whl)"
ran_other=0
for v in 3.9 3.13; do
    other=""
    for cand in "$HOME/.pyenv/versions/$v"*/bin/python"$v" "/usr/bin/python$v" "python$v"; do
        # (a pyenv shim may exist without a usable interpreter behind it)
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import venv' >/dev/null 2>&1; then
            other="$(command -v "$cand")"
            break
        fi
    done
    if [ -z "$other" ]; then
        say "python$v not found: skipped"
        continue
    fi
    venv="$WORK/venv-$v"
    [ -x "$venv/bin/python" ] || "$other" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest==8.3.5 pytest-timeout==2.3.1
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"
    say "pytest on $("$venv/bin/python" -V) (without the mcp SDK tests, which need 3.10+ and mcp)"
    (cd bindings-python && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests \
        --ignore tests/test_mcp.py --ignore tests/test_conformance_client.py)
    ran_other=1
done
[ "$ran_other" = 1 ] || say "no other CPython found; the abi3 wheel was tested on $("$PY" -V) only"
