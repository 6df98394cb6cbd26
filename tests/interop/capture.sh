#!/usr/bin/env bash
# Makes BIRD 2 and FRR talk BGP to each other inside network namespaces this
# script creates, captures every session with tcpdump, and writes each TCP
# stream's BGP messages as hex, one message per line:
#
#   capture.sh OUTDIR
#
# Topology (a bridge in namespace <p>sw, AS 65000 throughout):
#   h1 BIRD  10.251.0.1  route reflector; originates IPv4/IPv6 statics with
#                        communities, large and extended communities, MED and
#                        long AS paths (one ASN above 65535)
#   h2 FRR   10.251.0.2  RR client, ADD-PATH both ways, IPv4 + IPv6; an
#                        aggregate with AS_SET/AGGREGATOR, route-map attributes
#   h3 BIRD  10.251.0.3  RR client with 4-octet AS disabled (AS_TRANS, AS4_PATH)
# Then: withdrawals on all routers, a route refresh (BIRD asks FRR), and two
# administrative shutdowns with a shutdown communication (RFC 8203/9003).
#
# Needs root, iproute2, bird2, frr, tcpdump and tshark. Fails loudly.
set -euo pipefail
out=${1:?usage: capture.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in ip bird birdc /usr/lib/frr/bgpd vtysh tcpdump tshark; do
  command -v "$tool" >/dev/null || { echo "capture.sh: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "capture.sh: must run as root (network namespaces)" >&2; exit 1; }

p="mw$$"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 0.3
  for h in sw h1 h2 h3; do ip netns del "$p$h" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "${p}sw"
ip -n "${p}sw" link add br0 type bridge
ip -n "${p}sw" link set br0 up
i=0
for h in h1 h2 h3; do
  i=$((i + 1))
  ip netns add "$p$h"
  ip link add "v$p$h" type veth peer name eth0 netns "$p$h"
  ip link set "v$p$h" netns "${p}sw"
  ip -n "${p}sw" link set "v$p$h" master br0 up
  ip -n "$p$h" addr add "10.251.0.$i/24" dev eth0
  ip -n "$p$h" addr add "fd00:251::$i/64" dev eth0 nodad
  ip -n "$p$h" link set eth0 up
  ip -n "$p$h" link set lo up
done

# --- h1: BIRD route reflector --------------------------------------------
statics4() {
  cat <<'E'
  route 10.210.1.0/24 blackhole { bgp_community.add((65000,101)); bgp_large_community.add((65000,1,2)); bgp_med = 50; };
  route 10.210.2.0/24 blackhole { bgp_community.add((65000,102)); bgp_community.add((65000,7)); bgp_ext_community.add((rt,65000,7)); };
  route 10.210.3.0/25 blackhole { bgp_path.prepend(64512); bgp_path.prepend(4200000001); bgp_path.prepend(64513); bgp_large_community.add((4200000001,7,9)); };
  route 10.210.4.0/23 blackhole { bgp_path.prepend(64520); bgp_path.prepend(64521); bgp_path.prepend(64522); bgp_path.prepend(64523); bgp_path.prepend(64524); bgp_path.prepend(64525); bgp_path.prepend(64526); bgp_path.prepend(64527); bgp_path.prepend(64528); bgp_path.prepend(64529); bgp_path.prepend(64530); bgp_path.prepend(64531); bgp_community.add((65000,1)); bgp_community.add((65000,2)); bgp_community.add((65000,3)); bgp_community.add((65000,4)); };
  route 10.210.5.0/24 blackhole { bgp_origin = ORIGIN_INCOMPLETE; };
  route 10.210.6.1/32 blackhole;
  route 10.210.128.0/17 blackhole { bgp_local_pref = 200; };
E
}
mkbird1() {
  cat > "$work/bird1.conf" <<E
router id 10.251.0.1;
protocol device { }
protocol direct { ipv4; ipv6; interface "eth0"; }
protocol static s4 {
  ipv4;
$(statics4 | { if [ "${1:-}" = withdraw ]; then grep -v -e 10.210.5.0 -e 10.210.6.1; else cat; fi; })
}
protocol static s6 {
  ipv6;
  route 2001:db8:10::/48 blackhole { bgp_community.add((65000,101)); bgp_large_community.add((65000,6,6)); };
  route 2001:db8:11::/56 blackhole { bgp_path.prepend(64600); bgp_path.prepend(4200000002); bgp_med = 10; };
  route 2001:db8:12:1::/64 blackhole;
  route 2001:db8:13::1/128 blackhole { bgp_ext_community.add((rt,65000,13)); };
}
template bgp rrc {
  local as 65000;
  rr client;
  rr cluster id 10.251.0.1;
  hold time 30;
  enable route refresh on;
}
protocol bgp frr from rrc {
  local 10.251.0.1; neighbor 10.251.0.2 as 65000;
  enable extended messages on;
  ipv4 { import all; export all; add paths on; };
  ipv6 { import all; export all; add paths on; next hop address fd00:251::1; };
}
protocol bgp bird3 from rrc {
  local 10.251.0.1; neighbor 10.251.0.3 as 65000;
  enable as4 off;
  ipv4 { import all; export all; };
  ipv6 { import all; export all; next hop address fd00:251::1; };
}
E
}
mkbird1

# --- h2: FRR RR client ----------------------------------------------------
mkdir -p "$work/frr"
cat > "$work/frr/bgpd.conf" <<'E'
frr defaults traditional
hostname frr-h2
route-map TAG permit 10
 set community 65000:102 65000:300 no-export additive
 set large-community 65000:2:3
 set extcommunity rt 65000:2
 set metric 77
 set ipv6 next-hop global fd00:251::2
route-map PREPEND permit 10
 set as-path prepend 64700 4200000003 64701
 set community 65000:101
route-map V6NH permit 10
 set ipv6 next-hop global fd00:251::2
router bgp 65000
 bgp router-id 10.251.0.2
 no bgp network import-check
 neighbor 10.251.0.1 remote-as 65000
 neighbor 10.251.0.1 capability extended-nexthop
 address-family ipv4 unicast
  network 10.202.1.0/24 route-map TAG
  network 10.202.2.0/24 route-map PREPEND
  network 10.202.3.0/24
  network 10.203.0.0/24 route-map PREPEND
  network 10.203.1.0/24 route-map TAG
  aggregate-address 10.203.0.0/16 as-set
  neighbor 10.251.0.1 addpath-tx-all-paths
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:20::/48 route-map TAG
  network 2001:db8:21::/48 route-map V6NH
  neighbor 10.251.0.1 activate
  neighbor 10.251.0.1 addpath-tx-all-paths
  neighbor 10.251.0.1 route-map V6NH out
 exit-address-family
E

# --- h3: BIRD without 4-octet AS ------------------------------------------
cat > "$work/bird3.conf" <<'E'
router id 10.251.0.3;
protocol device { }
protocol direct { ipv4; ipv6; interface "eth0"; }
protocol static s4 {
  ipv4;
  route 10.230.1.0/24 blackhole { bgp_community.add((65000,230)); };
  route 10.230.2.0/24 blackhole { bgp_path.prepend(4200000009); bgp_path.prepend(64900); };
}
protocol bgp up {
  local 10.251.0.3 as 65000; neighbor 10.251.0.1 as 65000;
  enable as4 off;
  hold time 30;
  ipv4 { import all; export all; };
  ipv6 { import all; export all; next hop address fd00:251::3; };
}
E

ip netns exec "${p}h1" tcpdump -i eth0 -s 0 -U -w "$work/cap.pcap" 'tcp port 179' 2>"$work/tcpdump.log" &
pids+=($!)
sleep 1

ip netns exec "${p}h1" bird -c "$work/bird1.conf" -s "$work/bird1.ctl" -P "$work/bird1.pid"
ip netns exec "${p}h3" bird -c "$work/bird3.conf" -s "$work/bird3.ctl" -P "$work/bird3.pid"
ip netns exec "${p}h2" /usr/lib/frr/bgpd -d -Z -S -f "$work/frr/bgpd.conf" -i "$work/bgpd.pid" \
  --vty_socket "$work/frr" -z "$work/frr/zserv.api" --log "file:$work/frr/bgpd.log"
vty() { ip netns exec "${p}h2" vtysh --vty_socket "$work/frr" "$@" 2>/dev/null; }

# Wait until both sessions of h1 are up and FRR has BIRD's routes.
established() {
  birdc -s "$work/bird1.ctl" show protocols 2>/dev/null | grep -E '^(frr|bird3) ' | grep -c Established || true
}
for _ in $(seq 1 60); do
  [ "$(established)" = 2 ] && break
  sleep 0.5
done
if [ "$(established)" != 2 ]; then
  birdc -s "$work/bird1.ctl" show protocols all >&2 || true
  tail -20 "$work/frr/bgpd.log" >&2 || true
  echo "capture.sh: sessions did not come up" >&2
  exit 1
fi
sleep 4

# Withdrawals from each router.
mkbird1 withdraw
birdc -s "$work/bird1.ctl" configure >/dev/null
vty -c 'configure terminal' -c 'router bgp 65000' -c 'address-family ipv4 unicast' \
  -c 'no network 10.202.3.0/24' >/dev/null
sed -i '/10.230.2.0/d' "$work/bird3.conf"
birdc -s "$work/bird3.ctl" configure >/dev/null
sleep 2
# Route refresh: BIRD asks FRR to resend (enhanced route refresh if negotiated).
birdc -s "$work/bird1.ctl" reload in frr >/dev/null
sleep 2
# Administrative shutdowns with a shutdown communication.
birdc -s "$work/bird1.ctl" disable bird3 '"meshrr capture: planned maintenance"' >/dev/null
vty -c 'configure terminal' -c 'router bgp 65000' \
  -c 'neighbor 10.251.0.1 shutdown message "meshrr capture: FRR going down"' >/dev/null
sleep 2

kill "${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
pids=()

# One file per TCP stream and direction: the payload bytes in order.
streams=$(tshark -r "$work/cap.pcap" -T fields -e tcp.stream 2>/dev/null | sort -un)
[ -n "$streams" ] || { echo "capture.sh: nothing captured" >&2; exit 1; }
for s in $streams; do
  tshark -r "$work/cap.pcap" -q -z "follow,tcp,raw,$s" 2>/dev/null > "$work/follow.$s"
done
python3 - "$work" "$out" <<'PY'
import glob, os, re, sys
work, out = sys.argv[1], sys.argv[2]
names = {"10.251.0.1": "bird-rr", "10.251.0.2": "frr", "10.251.0.3": "bird-as2"}
total = 0
for f in sorted(glob.glob(os.path.join(work, "follow.*"))):
    text = open(f).read().splitlines()
    nodes, data = {}, {0: "", 1: ""}
    for line in text:
        m = re.match(r"Node (\d): (.*):(\d+)$", line)
        if m:
            nodes[int(m.group(1))] = m.group(2)
            continue
        if re.fullmatch(r"\t?[0-9a-f]+", line):
            data[1 if line.startswith("\t") else 0] += line.strip()
    if len(nodes) != 2:
        continue
    for d in (0, 1):
        src, dst = names.get(nodes[d], nodes[d]), names.get(nodes[1 - d], nodes[1 - d])
        raw = bytes.fromhex(data[d])
        msgs, i = [], 0
        while i + 19 <= len(raw):
            if raw[i:i + 16] != b"\xff" * 16:
                sys.exit(f"{f}: lost BGP framing at byte {i} of {src}->{dst}")
            ln = int.from_bytes(raw[i + 16:i + 18], "big")
            msgs.append(raw[i:i + ln].hex())
            i += ln
        if i != len(raw):
            sys.exit(f"{f}: {len(raw) - i} trailing bytes in {src}->{dst}")
        if msgs:
            path = os.path.join(out, f"{src}-to-{dst}.hex")
            with open(path, "w") as fh:
                fh.write("\n".join(msgs) + "\n")
            total += len(msgs)
print(f"capture.sh: {total} BGP messages written to {out}")
PY
