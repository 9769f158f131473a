# Sourced by examples/as-*/test.sh: builds and installs what the example tests need, from this
# tree, on a fresh machine too (loopback only):
#   - idjag-testkit, the idjag CLI and the Rust driver core/examples/session_token.rs (cargo,
#     debug profile; reused by cargo when up to date),
#   - the Python wheel in target-python/venv (bindings-python/test.sh's venv, profile dev) with
#     bindings-python/requirements-test.txt (the MCP Python SDK) and the example's own pins,
#   - the Node addon next to bindings-node/index.js (`node build.js --profile dev`).
# IDJAG_EXAMPLES_REUSE=1 (scripts/test.sh, after bindings-python/test.sh and
# bindings-node/test.sh) keeps the wheel and the addon they installed instead of rebuilding.
#   - libidjag (scripts/install-c.sh into $CARGO_TARGET_DIR/c/prefix, shared with
#     tests/c/run.sh) and the C driver examples/clients/idjag_session.c on it.
# Exports IDJAG_TESTKIT, IDJAG_CLI, IDJAG_RUST_SESSION, IDJAG_PYTHON, IDJAG_NODE, IDJAG_C_SESSION.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$ROOT/target-python/venv"
say() { printf -- '-- %s\n' "$*"; }
now() { date +%s; }

prepare_rust() {
    say "cargo build -p idjag-testkit -p idjag-cli; the Rust driver (core/examples/session_token.rs)"
    (cd "$ROOT" && cargo build -q --locked -p idjag-testkit -p idjag-cli \
        && cargo build -q --locked -p idjag --example session_token)
    export IDJAG_TESTKIT="$TARGET_DIR/debug/idjag-testkit" IDJAG_CLI="$TARGET_DIR/debug/idjag"
    export IDJAG_RUST_SESSION="$TARGET_DIR/debug/examples/session_token"
}

# prepare_python [requirements.txt]
prepare_python() {
    [ -x "$VENV/bin/python" ] || { say "creating $VENV"; mkdir -p "$ROOT/target-python"; "${PYTHON:-python3}" -m venv "$VENV"; }
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/bindings-python/requirements-test.txt" ${1:+-r "$1"}
    if [ "${IDJAG_EXAMPLES_REUSE:-0}" = 1 ] && "$VENV/bin/python" -c 'import idjag' 2>/dev/null; then
        say "reusing the installed idjag wheel"
    else
        say "pip install ./bindings-python (profile dev)"
        (cd "$ROOT" && MATURIN_PEP517_ARGS="--profile dev" "$VENV/bin/python" -m pip install -q \
            --disable-pip-version-check --force-reinstall --no-deps ./bindings-python)
    fi
    export IDJAG_PYTHON="$VENV/bin/python"
}

prepare_node() {
    if [ "${IDJAG_EXAMPLES_REUSE:-0}" = 1 ] && ls "$ROOT"/bindings-node/idjag.*.node >/dev/null 2>&1; then
        say "reusing the built Node addon"
    else
        say "node build.js --profile dev (the Node addon)"
        (cd "$ROOT/bindings-node" && node build.js --profile dev)
    fi
    export IDJAG_NODE="$(command -v node)"
}

prepare_c() {
    local prefix="$TARGET_DIR/c/prefix" log="$TARGET_DIR/c/install-c.log"
    mkdir -p "$prefix"
    say "scripts/install-c.sh $prefix (libidjag, release; cargo reuses an up-to-date build)"
    (cd "$ROOT" && scripts/install-c.sh "$prefix") 2>"$log" || { cat "$log" >&2; return 1; }
    local pc="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export IDJAG_C_SESSION="$TARGET_DIR/c/idjag_session"
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror -pedantic -O1 -g $(PKG_CONFIG_PATH="$pc" pkg-config --cflags idjag) \
        "$ROOT/examples/clients/idjag_session.c" -o "$IDJAG_C_SESSION" \
        $(PKG_CONFIG_PATH="$pc" pkg-config --libs idjag) \
        -Wl,-rpath,"$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir idjag)"
}
