#!/usr/bin/env bash
# The af_packet and tap drivers come up and count exactly the frames a
# namespace sent; MTU is applied; an af_packet port's rings are as long as
# its rx_desc (the driver ignores descriptor counts; Oryx passes framecnt);
# an offload the device lacks stops start-up with a message naming the
# offload and the driver.
source "$(dirname "$0")/lib.sh"

NS=oxp$TAG
make_ns "$NS" "$NS" 198.18.50.1/24
TAP=oxt$TAG
CFG=$(write_config drv "
[kernel]
hugepages = false
file_prefix = \"drv$TAG\"
[stage.pkt]
type = \"port\"
driver = \"af_packet\"
iface = \"$NS\"
rx_desc = 2048
[stage.tap]
type = \"port\"
driver = \"tap\"
iface = \"$TAP\"
mtu = 1400
")
start_oryxd drv "$CFG"

# The TAP interface DPDK created moves into a namespace of ours.
TAPNS=oxq$TAG
ip netns add "$TAPNS"
_NAMESPACES+=("$TAPNS")
ip link set "$TAP" netns "$TAPNS"
ip netns exec "$TAPNS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
ip netns exec "$TAPNS" ip link set "$TAP" up

send() {  # send NS IFACE COUNT
  ip netns exec "$1" $PY - "$2" "$3" 2>/dev/null <<'PY'
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
frame = Ether(dst="02:00:00:00:00:01") / IP(src="198.18.50.1", dst="198.18.50.2") / UDP() / Raw(b"p" * 60)
sendp([frame] * int(sys.argv[2]), iface=sys.argv[1])
PY
}
rx() { api "$drv_URL" /api/v1/stats | json "j['stages']['$1']['counters']['rx_packets']"; }
# The kernel may have sent its own frames (IPv6 router solicitations) out of
# the TAP while it was up in the root namespace; count from here on.
sleep 1
PKT0=$(rx pkt)
TAP0=$(rx tap)
send "$NS" eth0 300
send "$TAPNS" "$TAP" 200
wait_until 5 '[ $(($(rx pkt) - PKT0)) -ge 300 ] && [ $(($(rx tap) - TAP0)) -ge 200 ]' ||
  fail "af_packet $(($(rx pkt) - PKT0))/300, tap $(($(rx tap) - TAP0))/200"
sleep 0.5
[ $(($(rx pkt) - PKT0)) -eq 300 ] || fail "af_packet counted $(($(rx pkt) - PKT0)), sent 300"
[ $(($(rx tap) - TAP0)) -eq 200 ] || fail "tap counted $(($(rx tap) - TAP0)), sent 200"
# The kernel's view of oryxd's packet socket: both PACKET_MMAP rings hold
# 2,048 frames (the driver's own default is 512).
RINGS=$(ss -0 -e -p | grep -A3 "users:((\"oryxd\",pid=$drv_PID," | grep -o "ring_[rt]x([^)]*frm_nr:[0-9]*" |
  sed 's/(.*frm_nr:/ /')
[ "$(echo $RINGS)" = "ring_rx 2048 ring_tx 2048" ] || fail "af_packet rings: '$RINGS', want 2048 frames each"
PORTS=$(api "$drv_URL" /api/v1/ports)
[ "$(echo "$PORTS" | json "[p['driver'] for p in j]")" = "['net_af_packet', 'net_tap']" ] || fail "drivers"
[ "$(echo "$PORTS" | json "[p['mtu'] for p in j if p['name']=='tap'][0]")" = 1400 ] || fail "tap MTU not 1400"
[ "$(ip netns exec "$TAPNS" cat /sys/class/net/$TAP/mtu)" = 1400 ] || fail "kernel sees another MTU on $TAP"
stop_oryxd "$drv_PID" || fail "exit status $?"
log "af_packet 300/300 (rings of 2,048 frames), tap 200/200 frames, tap MTU 1400"

BAD=$(write_config off "
[kernel]
hugepages = false
file_prefix = \"off$TAG\"
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
offloads = [\"tso\"]
")
rc=0
timeout 30 "$ORYXD" -c "$BAD" >"$WORK/off.out" 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "missing offload: exit $rc"
grep -q "offload 'tso' is not supported by the net_af_xdp device" "$WORK/off.out" || fail "$(tail -5 "$WORK/off.out")"
ip link show "$NS" | grepq xdp && fail "XDP program left after the failed start"
log "PASS"
