#!/usr/bin/env bash
# The C and C++ tests of libidjag (called by scripts/test.sh):
#
# 1. installs libidjag once, in release mode, into target/c/prefix (scripts/install-c.sh);
# 2. compiles the header alone as C11, C++17 (idjag.hpp) and C2x, pedantic, warnings as errors;
# 3. builds the C test (tests/c/test_idjag.c) through pkg-config against the installed library,
#    shared and static, and runs both against `idjag-testkit serve --json` and a private
#    redis-server on loopback (the shared replay store);
# 4. rebuilds the same C test with AddressSanitizer + UndefinedBehaviorSanitizer and runs it
#    (checking that ASan is really linked);
# 5. runs the plain C test under valgrind: 0 errors, 0 leaks (--error-exitcode);
# 6. builds the GoogleTest C++ test (tests/c/cpp) through the installed CMake package and runs it
#    with ctest (shared and static).
#
# Installs what it needs from Debian on a fresh machine (gcc, g++, pkg-config, cmake, valgrind,
# GoogleTest, libcurl and cJSON headers, redis-server). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/c"
PREFIX="$WORK/prefix"
VECTORS="$ROOT/tests/vectors"
export CARGO_TERM_COLOR=never

started=$SECONDS
phase_start=$SECONDS
phase() {
    printf -- '-- [%3ds] %s\n' "$((SECONDS - phase_start))" "$last_phase" >&2
    phase_start=$SECONDS
    last_phase="$1"
    printf -- '-- %s\n' "$1" >&2
}
last_phase="start"

# --- 0. prerequisites -------------------------------------------------------------------------
need=()
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cmake >/dev/null || need+=(cmake)
command -v valgrind >/dev/null || need+=(valgrind)
pkg-config --exists libcurl 2>/dev/null || need+=(libcurl4-openssl-dev)
pkg-config --exists libcjson 2>/dev/null || need+=(libcjson-dev)
[ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "-- installing ${need[*]} (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# redis-server for the replay-store test (two verifiers sharing one Redis).
scripts/ensure-redis.sh

# --- 1. the library, once, in release mode -----------------------------------------------------
mkdir -p "$WORK"
phase "install libidjag (release) into $PREFIX"
scripts/install-c.sh "$PREFIX" 2>"$WORK/install.log" || { cat "$WORK/install.log" >&2; exit 1; }
phase "build idjag-testkit"
cargo build --quiet --locked -p idjag-testkit
TESTKIT="$TARGET/debug/idjag-testkit"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

WARN=(-Wall -Wextra -Werror -pedantic)
DEPS_CFLAGS="$(pkg-config --cflags idjag libcurl libcjson)"
DEPS_LIBS="$(pkg-config --libs libcurl libcjson) -lpthread"
LIBDIR="$(pkg-config --variable=libdir idjag)"
SRC=(tests/c/test_idjag.c tests/c/support/kit.c tests/c/support/stub.c)

# Every exported symbol is prefixed and declared in the header, and the other way round.
exported="$(nm -D --defined-only "$LIBDIR/libidjag.so" | awk '{print $3}' | sort)"
declared="$(grep -oE '\bidjag_[a-z0-9_]+\(' "$PREFIX/include/idjag.h" | tr -d '(' | sort -u)"
if [ "$exported" != "$declared" ]; then
    echo "exported symbols and header declarations differ:" >&2
    diff <(printf '%s\n' "$exported") <(printf '%s\n' "$declared") >&2 || true
    exit 1
fi
echo "-- $(printf '%s\n' "$exported" | wc -l) exported functions, all idjag_-prefixed and declared in idjag.h" >&2

# --- 2. the headers alone -----------------------------------------------------------------------
phase "compile the headers alone (C11, C2x, C++17)"
printf '#include <idjag.h>\nint main(void) { return idjag_version() == 0; }\n' >"$WORK/header.c"
printf '#include <idjag.hpp>\nint main() { return idjag::version().empty(); }\n' >"$WORK/header.cpp"
# shellcheck disable=SC2046
cc -std=c11 "${WARN[@]}" $(pkg-config --cflags idjag) -c "$WORK/header.c" -o "$WORK/header-c11.o"
# shellcheck disable=SC2046
cc -std=c2x "${WARN[@]}" $(pkg-config --cflags idjag) -c "$WORK/header.c" -o "$WORK/header-c2x.o"
# shellcheck disable=SC2046
c++ -std=c++17 "${WARN[@]}" $(pkg-config --cflags idjag) "$WORK/header.cpp" -o "$WORK/header-cpp" \
    $(pkg-config --libs idjag) -Wl,-rpath,"$LIBDIR"
"$WORK/header-cpp"

# --- 3. the C test, shared and static -------------------------------------------------------------
# A private redis-server on a random loopback port for every run of the C test (its
# `redis_replay` test FAILS without one), stopped whatever happens.
phase "start redis-server (loopback)"
redis_pid=""
trap '[ -z "$redis_pid" ] || kill "$redis_pid" 2>/dev/null || true' EXIT
redis_ping() { # PING over RESP with bash's /dev/tcp
    local reply=""
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    read -r -t 1 reply <&3 || true
    exec 3<&- 3>&-
    [ "${reply%$'\r'}" = "+PONG" ]
}
for _attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 200); do
        redis_ping "$port" && break
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.05
    done
    if redis_ping "$port"; then
        export IDJAG_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
        break
    fi
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
done
[ -n "${IDJAG_TEST_REDIS_URL:-}" ] || { echo "redis-server did not start" >&2; cat "$WORK/redis.log" >&2; exit 1; }

phase "C test: build (pkg-config idjag, shared and static)"
# shellcheck disable=SC2046,SC2086
cc -std=c11 "${WARN[@]}" -O1 -g $DEPS_CFLAGS "${SRC[@]}" -o "$WORK/test_idjag" \
    $(pkg-config --libs idjag) $DEPS_LIBS -Wl,-rpath,"$LIBDIR"
# Static: libidjag.a plus the system libraries pkg-config --static lists.
static_libs="$(pkg-config --static --libs-only-l idjag | sed 's/-lidjag//')"
# shellcheck disable=SC2086
cc -std=c11 "${WARN[@]}" -O1 -g $DEPS_CFLAGS "${SRC[@]}" -o "$WORK/test_idjag_static" \
    "$LIBDIR/libidjag.a" $static_libs $DEPS_LIBS
if readelf -d "$WORK/test_idjag_static" | grep -q 'libidjag'; then
    echo "the static test binary still needs libidjag.so" >&2
    exit 1
fi
phase "C test: run (shared)"
"$WORK/test_idjag" "$TESTKIT" "$VECTORS"
# The interop matrix (scripts/matrix.py): token_on_the_mcp_server gets a token from the testkit
# AS through idjag_session_access_token and calls the testkit MCP server with it.
if [ -n "${IDJAG_MATRIX:-}" ]; then
    echo '{"client": "c", "server": "testkit", "test": "tests/c/test_idjag.c::token_on_the_mcp_server"}' >>"$IDJAG_MATRIX"
fi
phase "C test: run (static)"
"$WORK/test_idjag_static" "$TESTKIT" "$VECTORS"

# --- 4. AddressSanitizer + UndefinedBehaviorSanitizer ----------------------------------------------
phase "C test: AddressSanitizer + UndefinedBehaviorSanitizer"
# shellcheck disable=SC2046,SC2086
cc -std=c11 "${WARN[@]}" -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
    -fno-sanitize-recover=all $DEPS_CFLAGS "${SRC[@]}" -o "$WORK/test_idjag_asan" \
    $(pkg-config --libs idjag) $DEPS_LIBS -Wl,-rpath,"$LIBDIR"
# (grep without -q: an early exit would kill nm with SIGPIPE under pipefail)
nm "$WORK/test_idjag_asan" | grep __asan_init >/dev/null || { echo "ASan is not linked" >&2; exit 1; }
ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=23" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$WORK/test_idjag_asan" "$TESTKIT" "$VECTORS"

# --- 5. valgrind ---------------------------------------------------------------------------------------
phase "C test: valgrind (0 errors, 0 leaks)"
valgrind --quiet --error-exitcode=24 --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --suppressions=tests/c/valgrind.supp \
    "$WORK/test_idjag" "$TESTKIT" "$VECTORS"

# --- 6. C++ (GoogleTest) through the CMake package -------------------------------------------------
phase "C++ test: CMake (find_package(idjag CONFIG)) + GoogleTest"
cmake -S tests/c/cpp -B "$WORK/cpp" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >"$WORK/cpp.configure.log" || { cat "$WORK/cpp.configure.log" >&2; exit 1; }
cmake --build "$WORK/cpp" --parallel 2 >"$WORK/cpp.build.log" || { cat "$WORK/cpp.build.log" >&2; exit 1; }
IDJAG_TESTKIT="$TESTKIT" IDJAG_VECTORS="$VECTORS" ctest --test-dir "$WORK/cpp" --verbose
phase "done"
printf -- '-- tests/c/run.sh: all C and C++ tests passed in %ds\n' "$((SECONDS - started))" >&2
