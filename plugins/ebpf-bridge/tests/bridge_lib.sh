# SPDX-License-Identifier: Apache-2.0
# bridge_lib.sh - for tests and benchmarks of the ebpf_bridge service,
# sourced after tests/e2e/lib.sh (or bench/lib.sh): pods (namespaces on
# veths) around a bridge, the service's config, counters and FDB, and a
# check that nothing of the bridge is left in the kernel.

_BRIDGE_PINS=()

# make_pod NS HOSTIF ADDR/PREFIX [IFINDEX]: a namespace with eth0 at ADDR
# on a veth whose host end HOSTIF (with that ifindex, if given) becomes a
# bridge port. Unlike make_ns, offloads stay
# on (bulk throughput is part of what is measured) and GRO is turned on in
# the pod: a veth only receives what native XDP redirects to it with GRO
# (or an XDP program) on.
make_pod() {
  local ns=$1 hostif=$2 addr=$3 index=${4:+index $4}
  ip netns add "$ns"
  _NAMESPACES+=("$ns")
  ip link add "$hostif" $index type veth peer name eth0 netns "$ns"
  _LINKS+=("$hostif")
  sysctl -qw "net.ipv6.conf.$hostif.disable_ipv6=1"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  ip netns exec "$ns" ip addr add "$addr" dev eth0
  ip netns exec "$ns" ethtool -K eth0 gro on >/dev/null
  ip link set "$hostif" up
  ip netns exec "$ns" ip link set eth0 up
  ip netns exec "$ns" ip link set lo up
}

# pod_mac NS: the MAC of the pod's eth0.
pod_mac() { ip netns exec "$1" cat /sys/class/net/eth0/address; }

# bridge_setup NAME ATTACH PORTS... : $BR_BODY, an appliance.toml body
# (file prefix e2e-NAME-$TAG) with [service.br] bridging PORTS at ATTACH
# (append more keys of [service.br] to it), and $BR_PINS, the service's pin
# directory (removed at exit if a killed oryxd left it).
bridge_setup() {
  local name=$1 attach=$2
  shift 2
  local ports
  ports=$(printf '"%s", ' "$@")
  BR_PINS=/sys/fs/bpf/oryx/e2e-$name-$TAG/br
  _BRIDGE_PINS+=("$BR_PINS")
  BR_BODY="[kernel]
hugepages = false
memory_mb = 64
file_prefix = \"e2e-$name-$TAG\"
[service.br]
type = \"ebpf_bridge\"
interfaces = [${ports%, }]
attach = \"$attach\"
"
}

# bridge_cleanup (a lib.sh cleanup hook): after a killed oryxd, its
# programs stay on the ports (deleted with the test's links) and its pins
# stay in bpffs.
bridge_cleanup() {
  for dir in "${_BRIDGE_PINS[@]}"; do
    [ -d "$dir" ] || continue
    rm -f "$dir"/*
    rmdir "$dir" "$(dirname "$dir")" "$(dirname "$(dirname "$dir")")" 2>/dev/null || true
  done
}
_CLEANUP_HOOKS+=(bridge_cleanup)

# br_counter URL NAME: a counter of service "br".
br_counter() {
  curl -sf "$1/api/v1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['stages']['br']['counters']['$2'])"
}

# br_port_counter URL PORT NAME: a per-port counter of service "br".
br_port_counter() {
  curl -sf "$1/api/v1/bridge" | python3 -c "
import json,sys
j = json.load(sys.stdin)
print(next(p for b in j['bridges'] if b['name'] == 'br' for p in b['ports'] if p['name'] == '$2')['counters']['$3'])"
}

# br_station URL MAC VLAN: the port the FDB has MAC on VLAN behind ("" if none).
br_station() {
  curl -sf "$1/api/v1/bridge/fdb" | python3 -c "
import json,sys
e = [x for x in json.load(sys.stdin)['entries'] if x['mac'] == '$2' and x['vlan'] == $3]
print(e[0]['port'] if e else '')"
}

# bridge_leftovers PINDIR PORTS...: prints what of the bridge is still
# attached to PORTS or pinned.
bridge_leftovers() {
  local pins=$1
  shift
  [ -e "$pins" ] && echo "pins: $(ls "$pins")"
  for port in "$@"; do
    ip link show "$port" >/dev/null 2>&1 || continue
    ip -d link show "$port" | grep "prog/xdp" >/dev/null && echo "$port: XDP program attached"
    tc filter show dev "$port" ingress 2>/dev/null | grep oryx_br_tc >/dev/null && echo "$port: TC filter attached"
    tc qdisc show dev "$port" | grep clsact >/dev/null && echo "$port: clsact qdisc left"
  done
  # Not `bpftool prog show` by name: other bridges (other tests, running at
  # the same time) load programs of the same names. A program neither
  # pinned nor attached dies with the process that loaded it.
  return 0
}
