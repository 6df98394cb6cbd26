#!/usr/bin/env bash
# Installs, from Debian packages, what the test suite runs against: BIRD 2
# and FRR (real BGP peers), tcpdump and tshark (captures), iproute2
# (network namespaces), dnsmasq (DNS like a headless Service), kubectl
# (renders the kustomizations), python3-venv (the manifest validator), and
# checks that a Docker engine answers (the container image and the
# end-to-end test), starting dockerd when it is installed but not running.
# Needs root. Fails loudly if anything is missing afterwards.
set -euo pipefail
pkgs=(bird2 frr tcpdump tshark iproute2 python3 python3-venv dnsmasq-base kubectl binutils)
need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for tool in bird birdc /usr/lib/frr/bgpd vtysh tcpdump tshark ip python3 dnsmasq kubectl strip docker; do
  command -v "$tool" >/dev/null || { echo "install-deps: $tool missing after install" >&2; exit 1; }
done
if ! docker info >/dev/null 2>&1; then
  if command -v dockerd >/dev/null; then
    echo "install-deps: starting dockerd"
    (dockerd >/tmp/dockerd.log 2>&1 &)
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  fi
  docker info >/dev/null 2>&1 || {
    echo "install-deps: no Docker engine answers (docker info failed); the image and end-to-end tests need one" >&2
    exit 1
  }
fi
