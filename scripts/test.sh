#!/usr/bin/env bash
# The whole test suite, as a new user or CI runs it: installs BIRD 2, FRR,
# tcpdump and tshark if they are missing, then runs every test of the
# workspace (unit, property, golden vectors, and the interop tests that
# start BIRD and FRR in network namespaces). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# One closing line over every test binary and the doc tests.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, i }' "$log"
exit "$status"
