#!/usr/bin/env bash
# Builds the meshrr-rr container image from a statically linked release
# binary: `deploy/build-image.sh [TAG]` (default meshrr-rr:latest).
# Extra `docker build` arguments can be passed in DOCKER_BUILD_ARGS, e.g.
# DOCKER_BUILD_ARGS="--build-arg BASE=gcr.io/distroless/static-debian12:nonroot".
set -euo pipefail
# The same environment however it is called (a shell, scripts/test.sh, a
# test under cargo): cargo's fingerprints depend on it, and a different one
# would rebuild the binary from scratch.
if [ -z "${MESHRR_IMAGE_CLEAN_ENV:-}" ]; then
  exec env -i MESHRR_IMAGE_CLEAN_ENV=1 PATH="$PATH" HOME="$HOME" \
    ${DOCKER_BUILD_ARGS:+DOCKER_BUILD_ARGS="$DOCKER_BUILD_ARGS"} "$0" "$@"
fi
cd "$(dirname "$0")/.."
tag=${1:-meshrr-rr:latest}
target=x86_64-unknown-linux-gnu
command -v docker >/dev/null || { echo "docker is not installed" >&2; exit 1; }
# glibc, linked statically (static-pie). meshrr-rr resolves names with its
# own DNS client (hickory), never through NSS, so a static glibc is safe.
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked -p meshrr-rr --target "$target"
ctx=target/image
rm -rf "$ctx" && mkdir -p "$ctx"
strip -o "$ctx/meshrr-rr" "target/$target/release/meshrr-rr"
if ldd "$ctx/meshrr-rr" 2>/dev/null | grep -q '=>'; then
  echo "meshrr-rr is dynamically linked; the image would not start" >&2
  exit 1
fi
# shellcheck disable=SC2086
DOCKER_BUILDKIT=0 docker build -q -f deploy/Dockerfile -t "$tag" ${DOCKER_BUILD_ARGS:-} "$ctx"
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built $tag: $((size / 1024)) KiB"
limit=$((15 * 1024 * 1024))
if [ "$size" -gt "$limit" ]; then
  echo "image is larger than 15 MiB" >&2
  exit 1
fi
