#!/usr/bin/env bash
# Generates include/idjag.h from ffi/ with a pinned cbindgen (installed on first use into
# .cache/, gitignored). `--check` regenerates into a temporary file and fails if the committed
# header differs (the drift check of .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CBINDGEN_VERSION="0.29.4"
TOOLS="$ROOT/.cache/cbindgen-$CBINDGEN_VERSION"
CBINDGEN="$TOOLS/bin/cbindgen"
HEADER="$ROOT/include/idjag.h"

check=0
case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: scripts/gen-header.sh [--check]" >&2; exit 2 ;;
esac

if ! [ -x "$CBINDGEN" ] || ! "$CBINDGEN" --version | grep -qx "cbindgen $CBINDGEN_VERSION"; then
    echo "-- installing cbindgen $CBINDGEN_VERSION into $TOOLS" >&2
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --quiet \
        --root "$TOOLS" --target-dir "$ROOT/.cache/cbindgen-build"
    rm -rf "$ROOT/.cache/cbindgen-build"
fi

# The header's version macros come from the workspace version (Cargo.toml).
version="$(sed -n 's/^version = "\([0-9][0-9.]*\)"$/\1/p' Cargo.toml | head -n1)"
IFS=. read -r major minor patch <<<"$version"
[ -n "$major" ] && [ -n "$minor" ] && [ -n "$patch" ] || {
    echo "gen-header: cannot read the workspace version from Cargo.toml" >&2
    exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed -e "s/@IDJAG_VERSION_MAJOR@/$major/" -e "s/@IDJAG_VERSION_MINOR@/$minor/" \
    -e "s/@IDJAG_VERSION_PATCH@/$patch/" -e "s/@IDJAG_VERSION@/$version/" \
    -e "s/@CBINDGEN_VERSION@/$CBINDGEN_VERSION/" ffi/cbindgen.toml >"$tmp/cbindgen.toml"
"$CBINDGEN" --quiet --config "$tmp/cbindgen.toml" --crate idjag-ffi --output "$tmp/idjag.h" ffi

if [ "$check" = 1 ]; then
    if ! diff -u "$HEADER" "$tmp/idjag.h"; then
        echo "gen-header: include/idjag.h is out of date: run scripts/gen-header.sh and commit it" >&2
        exit 1
    fi
    echo "gen-header: include/idjag.h is up to date"
else
    mkdir -p "$(dirname "$HEADER")"
    cp "$tmp/idjag.h" "$HEADER"
    echo "gen-header: wrote include/idjag.h"
fi
