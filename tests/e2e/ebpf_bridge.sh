#!/usr/bin/env bash
# ebpf_bridge.sh - the ebpf_bridge service between three pods (namespaces
# on veths), attached at BRIDGE_ATTACH (tc, the default, or xdp): every
# pair pings (ARP through flooding), the forwarding table learns per VLAN
# and ages, iperf3 runs across, a frame for an unknown MAC reaches the
# other pods but not its sender, malformed and same-port frames are
# counted drops, a port that goes down or away stops being bridged and is
# taken back when it returns, the data path outlives a SIGKILLed oryxd and
# the next one takes it over, and a clean stop leaves nothing attached.
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/ebpf-bridge/tests/bridge_lib.sh"
ATTACH=${BRIDGE_ATTACH:-tc}

# p3's port has an ifindex above ORYX_BR_INDEXED_IFINDEX: the data path
# finds it by hash, the others by index.
for i in 1 2; do make_pod "p$i-$TAG" "br$i-$TAG" "198.18.20.$i/24"; done
make_pod "p3-$TAG" "br3-$TAG" 198.18.20.3/24 $((20000 + RANDOM % 20000))
# XDP frames carry no checksum-offload state: at XDP the pods' kernels
# must checksum what they send (README, "XDP on veth").
if [ "$ATTACH" = xdp ]; then
  for i in 1 2 3; do ip netns exec "p$i-$TAG" ethtool -K eth0 tx off >/dev/null; done
fi
P1=p1-$TAG P2=p2-$TAG P3=p3-$TAG H1=br1-$TAG H2=br2-$TAG H3=br3-$TAG
[ "$(cat "/sys/class/net/$H3/ifindex")" -ge 16384 ] || fail "$H3 did not get a high ifindex"
M1=$(pod_mac "$P1") M2=$(pod_mac "$P2") M3=$(pod_mac "$P3")
bridge_setup brg "$ATTACH" "$H1" "$H2" "$H3"
body="${BR_BODY}ageing_s = 3"
cfg=$(write_config brg "$body")

log "an interface that does not exist: start-up fails, names it, attaches nothing"
bad=$(write_config bad "${body//\"$H3\"/\"nosuch-$TAG\"}")
if "$ORYXD" -c "$bad" >"$WORK/bad.log" 2>&1; then fail "oryxd started with a missing interface"; fi
grep -q "no interface \"nosuch-$TAG\"" "$WORK/bad.log" || fail "error does not name the interface"
left=$(bridge_leftovers "$BR_PINS" "$H1" "$H2" "$H3")
[ -z "$left" ] || fail "failed start left: $left"

start_oryxd brg "$cfg"
URL=$brg_URL
grep -q "bridging $H1 ($ATTACH" "$WORK/brg.log" || fail "ports not attached at $ATTACH: $(grep bridging "$WORK/brg.log")"
if [ "$ATTACH" = tc ]; then
  curl -sf "$URL/api/v1/bridge" | grepq '"redirect": "peer"' || fail "TC ports do not redirect into the veth peers"
fi

log "a second bridge on a port already bridged: refused, the first one untouched"
other=$(write_config other "${BR_BODY//e2e-brg-$TAG/e2e-other-$TAG}")
if "$ORYXD" -c "$other" >"$WORK/other.log" 2>&1; then fail "a second bridge took over $H1"; fi
grep -q "interface $H1 already has .* program \"oryx_br_" "$WORK/other.log" || fail "second bridge: $(tail -1 "$WORK/other.log")"

log "bad input: an interface listed twice, a wrong method, an unknown resource"
twice=$(write_config twice "$(sed -e "s/\"$H3\"/\"$H1\"/" -e "s/e2e-brg-$TAG/e2e-twice-$TAG/" <<<"$body")")
if "$ORYXD" -c "$twice" >"$WORK/twice.log" 2>&1; then fail "oryxd started with $H1 listed twice"; fi
grep -q "interfaces: \"$H1\" is listed twice" "$WORK/twice.log" || fail "twice: $(tail -1 "$WORK/twice.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer test-token-$TAG" "$URL/api/v1/bridge")
[ "$code" = 405 ] || fail "POST /api/v1/bridge answered $code, want 405"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/bridge/nosuch")
[ "$code" = 404 ] || fail "GET /api/v1/bridge/nosuch answered $code, want 404"

log "every pair pings; ARP is flooded"
for a in 1 2 3; do
  for b in 1 2 3; do
    [ $a = $b ] && continue
    ip netns exec "p$a-$TAG" ping -c 2 -i 0.2 -W 2 "198.18.20.$b" >/dev/null || fail "p$a cannot ping p$b"
  done
done
[ "$(br_counter "$URL" flooded)" -ge 3 ] || fail "no ARP broadcast was flooded"
[ "$(br_counter "$URL" forwarded)" -ge 12 ] || fail "echoes were not forwarded as unicast"
# Entries age after 3 s here and learning refreshes them once a second: a
# station is looked up right after a frame of its own (a slow round of
# pings must not make it look forgotten).
station_seen() {  # I: p$I sends one echo, then the table has it behind br$I
  ip netns exec "p$1-$TAG" ping -c 1 -W 1 "198.18.20.$(($1 % 3 + 1))" >/dev/null &&
    [ "$(br_station "$URL" "$2" 0)" = "br$1-$TAG" ]
}
for i in 1 2 3; do
  mac=M$i
  wait_until 5 "station_seen $i ${!mac}" || fail "FDB does not have p$i (${!mac}) behind br$i-$TAG"
done

# Port rows: NAME IFINDEX PRESENT UP DRIVER HOOK XDP-MODE REDIRECT COUNTERS...
hook=$([ "$ATTACH" = tc ] && echo "tc +peer" || echo "xdp +native +devmap")
"$ORYXCTL" -u "$URL" bridge | grepq -E "^$H1 +[0-9]+ +true +true +[a-z_]+ +$hook " || fail "oryxctl bridge: $("$ORYXCTL" -u "$URL" bridge)"
"$ORYXCTL" -u "$URL" bridge fdb | grepq -E "^br +$M2 +0 +$H2 " || fail "oryxctl bridge fdb: $("$ORYXCTL" -u "$URL" bridge fdb)"

log "frames from scapy: unknown destination, VLAN learning, malformed, same port"
sniff() {  # sniff NS FILE: what eth0 receives, in the background
  ip netns exec "$1" tcpdump -i eth0 -Q in -U -n -e -w "$2" 'ether host 02:00:5e:00:00:99' 2>"$2.err" &
  _PIDS+=($!)
}
for i in 1 2 3; do sniff "p$i-$TAG" "$WORK/sniff$i.pcap"; done
# tcpdump says so on stderr once it captures.
for i in 1 2 3; do
  wait_until 10 "grep -q 'listening on' '$WORK/sniff$i.pcap.err'" || fail "tcpdump on p$i did not start"
done
ip netns exec "$P1" $PY - "$M1" <<'EOF'
import sys
from scapy.all import Ether, Dot1Q, IP, UDP, Raw, sendp, conf
conf.verb = 0
me = sys.argv[1]
# Unknown unicast destination: flooded to p2 and p3, never back to p1.
sendp(Ether(src="02:00:5e:00:00:01", dst="02:00:5e:00:00:99") / IP(dst="198.18.20.99") / UDP() / Raw(b"flood"), iface="eth0")
# A station on VLAN 100 (and the same MAC untagged below, from p2).
sendp(Ether(src="02:00:5e:00:00:64", dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=100) / IP() / UDP(), iface="eth0")
# 802.1Q ethertype with no tag behind it: malformed.
sendp(Ether(src="02:00:5e:00:00:01", dst="ff:ff:ff:ff:ff:ff", type=0x8100), iface="eth0")
# For a station behind the port it came in on (p1 itself): dropped. p1
# speaks first, so its entry cannot have aged out (ageing_s is 3).
sendp(Ether(src=me, dst="ff:ff:ff:ff:ff:ff") / IP() / UDP(), iface="eth0")
sendp(Ether(src="02:00:5e:00:00:02", dst=me) / IP() / UDP(), iface="eth0")
EOF
ip netns exec "$P2" $PY - <<'EOF'
from scapy.all import Ether, IP, UDP, sendp, conf
conf.verb = 0
sendp(Ether(src="02:00:5e:00:00:64", dst="ff:ff:ff:ff:ff:ff") / IP() / UDP(), iface="eth0")
EOF
sleep 1
count_in() { tcpdump -r "$1" -n 2>/dev/null | grep -c . || true; }
[ "$(count_in "$WORK/sniff2.pcap")" = 1 ] || fail "p2 did not get the unknown-unicast frame once"
[ "$(count_in "$WORK/sniff3.pcap")" = 1 ] || fail "p3 did not get the unknown-unicast frame once"
[ "$(count_in "$WORK/sniff1.pcap")" = 0 ] || fail "the unknown-unicast frame came back to its sender"
# Entries age after 3 s here, and on a busy machine the steps above can
# take longer: the VLAN 100 station speaks again right before each look.
vlan_station_seen() {
  ip netns exec "$P1" $PY -c 'from scapy.all import Ether, Dot1Q, IP, UDP, sendp, conf
conf.verb = 0
sendp(Ether(src="02:00:5e:00:00:64", dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=100) / IP() / UDP(), iface="eth0")'
  [ "$(br_station "$URL" 02:00:5e:00:00:64 100)" = "$H1" ]
}
wait_until 10 vlan_station_seen || fail "VLAN 100 station not learned behind $H1"
untagged_station_seen() {
  ip netns exec "$P2" $PY -c 'from scapy.all import Ether, IP, UDP, sendp, conf
conf.verb = 0
sendp(Ether(src="02:00:5e:00:00:64", dst="ff:ff:ff:ff:ff:ff") / IP() / UDP(), iface="eth0")'
  [ "$(br_station "$URL" 02:00:5e:00:00:64 0)" = "$H2" ]
}
wait_until 10 untagged_station_seen || fail "untagged station with the same MAC not learned behind $H2"
# At TC the kernel has already dropped it (a VLAN tag it cannot untag).
malformed=$([ "$ATTACH" = xdp ] && echo 1 || echo 0)
[ "$(br_port_counter "$URL" "$H1" dropped_malformed)" = "$malformed" ] || fail "malformed frame not counted on $H1"
[ "$(br_port_counter "$URL" "$H1" dropped_same_port)" = 1 ] || fail "same-port frame not counted on $H1"

log "a station that moves: frames for it follow it at once (no stale cached decision)"
# One process with a raw socket in each pod, so that the frames before and
# after the move are microseconds apart, well inside the lifetime of the
# data path's decision cache.
for i in 2 3; do
  ip netns exec "p$i-$TAG" tcpdump -i eth0 -Q in -U -n -w "$WORK/move$i.pcap" 'ether dst 02:00:5e:00:00:77' 2>/dev/null &
  _PIDS+=($!)
done
sleep 1
$PY - "$P1" "$P2" "$P3" "$M1" <<'EOF' || fail "could not send the frames of the move"
import ctypes, os, socket, sys
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
def raw_socket(ns):  # an AF_PACKET socket on eth0 of namespace ns
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    assert libc.setns(target, CLONE_NEWNET) == 0, os.strerror(ctypes.get_errno())
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("eth0", 0))
    assert libc.setns(home, CLONE_NEWNET) == 0, os.strerror(ctypes.get_errno())
    os.close(home)
    os.close(target)
    return s
p1, p2, p3 = (raw_socket(ns) for ns in sys.argv[1:4])
mac = lambda text: bytes.fromhex(text.replace(":", ""))
station, sender, everyone = mac("02:00:5e:00:00:77"), mac(sys.argv[4]), b"\xff" * 6
frame = lambda dst, src, tag: (dst + src + b"\x88\xb5" + tag).ljust(60, b"\0")
p2.send(frame(everyone, station, b"here"))     # the station speaks on p2
for _ in range(20):
    p1.send(frame(station, sender, b"before"))  # learned: to p2 only
p3.send(frame(everyone, station, b"moved"))    # it moves to p3
for _ in range(20):
    p1.send(frame(station, sender, b"after"))   # to p3 only, from now on
EOF
sleep 1
# frames_in PCAP TAG: how many of the frames in PCAP carry TAG.
frames_in() { tcpdump -r "$1" -n -A 2>/dev/null | grep -c "^$2\.\.\." || true; }
[ "$(frames_in "$WORK/move2.pcap" before)/$(frames_in "$WORK/move2.pcap" after)" = 20/0 ] ||
  fail "p2 got $(frames_in "$WORK/move2.pcap" before) frames sent before the move (want 20) and $(frames_in "$WORK/move2.pcap" after) after (want 0)"
[ "$(frames_in "$WORK/move3.pcap" before)/$(frames_in "$WORK/move3.pcap" after)" = 0/20 ] ||
  fail "p3 got $(frames_in "$WORK/move3.pcap" before) frames sent before the move (want 0) and $(frames_in "$WORK/move3.pcap" after) after (want 20)"
[ "$(br_port_counter "$URL" "$H3" moved)" -ge 1 ] || fail "the move was not counted on $H3"

log "stations age out (ageing_s = 3)"
wait_until 8 '[ -z "$(br_station "$URL" 02:00:5e:00:00:64 100)" ]' || fail "VLAN 100 station did not age out"
[ "$(br_counter "$URL" aged)" -ge 2 ] || fail "aged stations not counted"

log "iperf3 across the bridge"
ip netns exec "$P3" iperf3 -s -1 -B 198.18.20.3 >"$WORK/iperf3-server.log" 2>&1 &
_PIDS+=($!)
sleep 0.5
ip netns exec "$P1" iperf3 -c 198.18.20.3 -t 2 -J >"$WORK/iperf3.json" || fail "iperf3 failed"
gbps=$(json 'round(j["end"]["sum_received"]["bytes"] * 8 / j["end"]["sum_received"]["seconds"] / 1e9, 2)' <"$WORK/iperf3.json")
log "iperf3 p1 -> p3: $gbps Gbit/s"
$PY -c "import sys; sys.exit(0 if $gbps > 0.05 else 1)" || fail "iperf3 moved almost nothing ($gbps Gbit/s)"
[ "$(br_port_counter "$URL" "$H3" tx_unicast)" -ge 1000 ] || fail "iperf3 segments were not forwarded to $H3"
# At XDP a veth's receive ring (256 frames) can overflow under a TCP
# burst: the kernel drops, the bridge counts (TCP resends). At TC nothing.
xmit=$(br_counter "$URL" dropped_xmit) tx3=$(br_port_counter "$URL" "$H3" tx_unicast)
if [ "$ATTACH" = tc ]; then
  [ "$xmit" = 0 ] || fail "transmit drops at TC: $xmit"
else
  [ $((xmit * 100)) -lt "$tx3" ] || fail "transmit drops: $xmit of $tx3 frames"
fi

log "a port that goes down stops being bridged; back up, it forwards again"
ip netns exec "$P1" ping -c 1 -W 2 198.18.20.3 >/dev/null || fail "p1 cannot ping p3"
ip link set "$H3" down
wait_until 5 '[ "$(br_counter "$URL" ports_up)" = 2 ]' || fail "port $H3 still up in the bridge"
[ -z "$(br_station "$URL" "$M3" 0)" ] || fail "stations behind the down port were kept"
tx3=$(br_port_counter "$URL" "$H3" tx_unicast)
ip netns exec "$P1" ping -c 2 -i 0.2 -W 1 198.18.20.3 >/dev/null && fail "p1 reached p3 through a down port"
ip netns exec "$P1" ping -c 2 -i 0.2 -W 2 198.18.20.2 >/dev/null || fail "p1 lost p2 when p3's port went down"
[ "$(br_port_counter "$URL" "$H3" tx_unicast)" = "$tx3" ] || fail "frames were sent to the down port"
ip link set "$H3" up
wait_until 5 '[ "$(br_counter "$URL" ports_up)" = 3 ]' || fail "port $H3 not taken back"
wait_until 5 'ip netns exec "$P1" ping -c 1 -W 1 198.18.20.3 >/dev/null' || fail "p1 cannot reach p3 after the port came back"

log "a port that goes away is dropped; a new interface of that name is attached"
ip link del "$H3"
wait_until 5 '[ "$(br_counter "$URL" ports_up)" = 2 ]' || fail "deleted port still counted"
# ports_up and a port's presence come from separate netlink events
wait_until 5 'curl -sf "$URL/api/v1/bridge" | grepq "\"present\": false"' ||
  fail "deleted port not shown as absent: $(curl -sf "$URL/api/v1/bridge")"
ip link add "$H3" type veth peer name eth0 netns "$P3"
sysctl -qw "net.ipv6.conf.$H3.disable_ipv6=1"
ip netns exec "$P3" ip addr add 198.18.20.3/24 dev eth0
ip netns exec "$P3" ethtool -K eth0 gro on >/dev/null
[ "$ATTACH" = xdp ] && ip netns exec "$P3" ethtool -K eth0 tx off >/dev/null
ip link set "$H3" up
ip netns exec "$P3" ip link set eth0 up
wait_until 5 '[ "$(br_counter "$URL" ports_up)" = 3 ]' || fail "re-created port not attached"
# The new eth0 has a new MAC: p1 and p2 must not wait for their stale ARP entries.
for ns in "$P1" "$P2"; do ip netns exec "$ns" ip neigh flush dev eth0; done
wait_until 5 'ip netns exec "$P1" ping -c 1 -W 1 198.18.20.3 >/dev/null' || fail "p1 cannot reach the re-created p3"
[ "$(br_counter "$URL" port_events)" -ge 4 ] || fail "port events not counted"

log "SIGKILL: the bridge keeps forwarding without oryxd; the next oryxd takes it over"
# Ids of the programs attached to our ports (TC filters, XDP), by port,
# not by name: other tests load bridges of the same names meanwhile.
attached_progs() {
  for port in "$H1" "$H2" "$H3"; do
    tc filter show dev "$port" ingress 2>/dev/null | grep -o " id [0-9]*" || true
    ip -d link show "$port" | grep -o "prog/xdp id [0-9]*" || true
  done | grep -o "[0-9]*$" | sort -u || true
}
OLD_PROGS=$(attached_progs)
[ -n "$OLD_PROGS" ] || fail "no program attached to the bridge's ports"
kill -KILL "$brg_PID"
wait "$brg_PID" 2>/dev/null || true
[ -e "$BR_PINS/oryx_br_fdb" ] || fail "the forwarding table's pin did not survive SIGKILL"
ip netns exec "$P1" ping -c 2 -i 0.2 -W 2 198.18.20.2 >/dev/null || fail "forwarding stopped with oryxd"
rm -f "$WORK/brg.port"
start_oryxd brg "$cfg"
URL=$brg_URL
grep -q "found the bridge of a previous oryxd in $BR_PINS (3 ports" "$WORK/brg.log" || fail "restart did not take the bridge over"
# One program on every port, the new oryxd's; the kernel frees the
# replaced one after an RCU grace period.
NEW_PROGS=$(attached_progs)
[ "$(echo "$NEW_PROGS" | wc -l)" = 1 ] || fail "programs attached after the restart: $NEW_PROGS (want one)"
old_loaded() {
  for id in $OLD_PROGS; do
    if [ "$id" != "$NEW_PROGS" ] && bpftool prog show id "$id" >/dev/null 2>&1; then echo "$id"; fi
  done
}
wait_until 10 '[ -z "$(old_loaded)" ]' || fail "the replaced program $(old_loaded) is still loaded after the restart"
ip netns exec "$P2" ping -c 2 -i 0.2 -W 2 198.18.20.3 >/dev/null || fail "p2 cannot ping p3 after the restart"
stop_oryxd "$brg_PID" || fail "oryxd failed"
left=$(bridge_leftovers "$BR_PINS" "$H1" "$H2" "$H3")
[ -z "$left" ] || fail "left behind after stop: $left"
ip netns exec "$P1" ping -c 1 -W 1 198.18.20.2 >/dev/null && fail "frames still bridged after stop"
log "PASS: ebpf_bridge at $ATTACH: pings, flooding, learning, ageing, iperf3, drops, ports, crash recovery"
