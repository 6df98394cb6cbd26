#!/usr/bin/env bash
# The whole test suite, as a new user or CI runs it: installs BIRD 2, FRR,
# tcpdump and tshark if they are missing, then runs every test of the
# workspace (unit, property, golden vectors, and the interop tests that
# start BIRD and FRR in network namespaces). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --workspace --locked
