#!/usr/bin/env bash
# The whole test suite, as a new user or CI runs it: installs BIRD 2, FRR,
# tcpdump, tshark, dnsmasq and kubectl if they are missing, builds the
# container image (deploy/build-image.sh) and validates the Kubernetes
# manifests (scripts/validate-manifests.sh), then runs every test of the
# workspace (unit, property, golden vectors, the interop tests that start
# BIRD and FRR in network namespaces, and the 2regions-hrr end-to-end test
# on the image). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== container image"
deploy/build-image.sh meshrr-rr:latest
echo "== Kubernetes manifests"
MESHRR_RR=target/x86_64-unknown-linux-gnu/release/meshrr-rr scripts/validate-manifests.sh
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# One closing line over every test binary and the doc tests.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, i }' "$log"
exit "$status"
