#!/usr/bin/env bash
# Side-by-side, in one run against one testkit: rmcp + idjag-rmcp vs rmcp's own
# enterprise-managed client (examples/bench.rs): requests per cold start, hot call, renewal
# and re-auth (the kit's counters), median latency, heap allocations and peak RSS. Prints a
# Markdown table (and the raw JSON lines in $OUT).
#
# usage: integrations/rmcp/bench.sh [ITERATIONS]     (default 20, at most 1000)
#   IDJAG_BENCH_PROFILE=dev|release (default release: the numbers in the README)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
N="${1:-20}"
PROFILE="${IDJAG_BENCH_PROFILE:-release}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
DIR="$TARGET/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"
OUT="$TARGET/bench-rmcp"
mkdir -p "$OUT"

cargo build -q --locked --profile "$PROFILE" -p idjag-testkit --bin idjag-testkit
cargo build -q --locked --profile "$PROFILE" -p idjag-rmcp --example bench

# The kit serves until its stdin closes: hold a FIFO's write end on fd 3, close it on exit.
rm -f "$OUT/kit.json" "$OUT/kit.in"
mkfifo "$OUT/kit.in"
"$DIR/idjag-testkit" serve --json --id-token-ttl 86400 <"$OUT/kit.in" >"$OUT/kit.json" &
kit_pid=$!
exec 3>"$OUT/kit.in"
cleanup() { exec 3>&-; wait "$kit_pid" 2>/dev/null || true; rm -f "$OUT/kit.in"; }
trap cleanup EXIT
for _ in $(seq 1 300); do [ -s "$OUT/kit.json" ] && break; sleep 0.1; done
[ -s "$OUT/kit.json" ] || { echo "the testkit did not start" >&2; exit 1; }

start=$SECONDS
for client in idjag rmcp; do
    "$DIR/examples/bench" --kit "$OUT/kit.json" --client "$client" --iterations "$N" >"$OUT/$client.json"
done
echo "rmcp 3.11.0 against one idjag-testkit on loopback ($PROFILE profile, $((SECONDS - start)) s):"
echo
"$DIR/examples/bench" --table "$OUT/idjag.json" "$OUT/rmcp.json"
