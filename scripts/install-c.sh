#!/usr/bin/env bash
# Builds libidjag in release mode and installs it for C and C++ projects:
#
#   PREFIX/lib/libidjag.so (-> libidjag.so.0.1 -> libidjag.so.X.Y.Z), PREFIX/lib/libidjag.a
#   PREFIX/include/idjag.h, PREFIX/include/idjag.hpp
#   PREFIX/lib/pkgconfig/idjag.pc                    pkg-config --cflags --libs idjag
#   PREFIX/lib/cmake/idjag/idjagConfig*.cmake        find_package(idjag CONFIG) -> idjag::idjag
#
# usage: scripts/install-c.sh PREFIX
# Uses $CARGO_TARGET_DIR (default target/). The libraries keep their symbol tables (readable
# stack traces in debuggers, sanitizers and valgrind); `strip --strip-unneeded` them if size matters.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/install-c.sh PREFIX" >&2; exit 2; }
mkdir -p "$1"
PREFIX="$(cd "$1" && pwd)"
cd "$(dirname "$0")/.."
ROOT="$PWD"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/release"

version="$(sed -n 's/^version = "\([0-9][0-9.]*\)"$/\1/p' Cargo.toml | head -n1)"
url="$(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
IFS=. read -r major minor patch <<<"$version"
if [ "$major" = 0 ]; then soname="libidjag.so.0.$minor"; else soname="libidjag.so.$major"; fi
shared="libidjag.so.$version"

# The system libraries the static library needs, as rustc reports them. The report comes only
# when the crate is linked, so it is kept next to the build; without it, relink the crate.
libs_file="$OUT/idjag-native-static-libs.txt"
build() {
    cargo rustc --release --locked -p idjag-ffi --lib -- --print=native-static-libs 2>&1 \
        | tee "$TARGET/idjag-ffi-build.log" >&2
    local line
    line="$(sed -n 's/^note: native-static-libs: //p' "$TARGET/idjag-ffi-build.log" | tail -n1)"
    if [ -n "$line" ]; then
        mkdir -p "$OUT"
        printf '%s\n' "$line" >"$libs_file"
    fi
}
echo "-- building libidjag $version (release)" >&2
mkdir -p "$TARGET"
build
if ! [ -s "$libs_file" ]; then
    cargo clean --release -p idjag-ffi >&2
    build
fi
native_libs="$(cat "$libs_file")"
[ -n "$native_libs" ] || { echo "install-c: no native-static-libs report" >&2; exit 1; }
cmake_libs="$(printf '%s\n' "$native_libs" | tr ' ' '\n' | sed -n 's/^-l//p' | paste -sd';' -)"

echo "-- installing into $PREFIX" >&2
install -d "$PREFIX/lib/pkgconfig" "$PREFIX/lib/cmake/idjag" "$PREFIX/include"
install -m 0755 "$OUT/libidjag_ffi.so" "$PREFIX/lib/$shared"
ln -sfn "$shared" "$PREFIX/lib/$soname"
ln -sfn "$soname" "$PREFIX/lib/libidjag.so"
install -m 0644 "$OUT/libidjag_ffi.a" "$PREFIX/lib/libidjag.a"
install -m 0644 include/idjag.h include/idjag.hpp "$PREFIX/include/"

subst() {
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$version|g" -e "s|@VERSION_MAJOR@|$major|g" \
        -e "s|@VERSION_MINOR@|$minor|g" -e "s|@URL@|$url|g" -e "s|@NATIVE_LIBS@|$native_libs|g" \
        -e "s|@CMAKE_NATIVE_LIBS@|$cmake_libs|g" -e "s|@SONAME@|$soname|g" \
        -e "s|@SHARED_FILE@|$shared|g" "$1" >"$2"
}
subst ffi/pkg/idjag.pc.in "$PREFIX/lib/pkgconfig/idjag.pc"
subst ffi/pkg/idjagConfig.cmake.in "$PREFIX/lib/cmake/idjag/idjagConfig.cmake"
subst ffi/pkg/idjagConfigVersion.cmake.in "$PREFIX/lib/cmake/idjag/idjagConfigVersion.cmake"

echo "-- installed libidjag $version:" >&2
ls -l "$PREFIX/lib" "$PREFIX/include" >&2
