#!/usr/bin/env bash
# Installs, from Debian packages, what the test suite runs against: BIRD 2
# and FRR (real BGP peers), tcpdump and tshark (captures), iproute2
# (network namespaces). Needs root. Fails loudly if anything is missing
# afterwards.
set -euo pipefail
pkgs=(bird2 frr tcpdump tshark iproute2 python3 dnsmasq-base)
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
for tool in bird birdc /usr/lib/frr/bgpd vtysh tcpdump tshark ip python3 dnsmasq; do
  command -v "$tool" >/dev/null || { echo "install-deps: $tool missing after install" >&2; exit 1; }
done
