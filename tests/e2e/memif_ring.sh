#!/usr/bin/env bash
# memif between two oryxd instances (server and client) and a ring port:
# exactly the frames a namespace sent into the first instance cross memif
# into the second and through its ring port, every one counted.
#
# The traffic is finite and both instances are idle before they stop:
# DPDK 22.11's memif PMD can fault when a peer disconnects while frames
# are in flight (see plugins/io/README.md).
source "$(dirname "$0")/lib.sh"

NS=oxm$TAG
make_ns "$NS" "$NS" 198.18.40.1/24
SOCK=oryx-e2e-$TAG.sock
SERVER=$(write_config srv "
[kernel]
hugepages = false
file_prefix = \"msrv$TAG\"
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
next = \"patch\"
[stage.link]
type = \"port\"
driver = \"memif\"
role = \"server\"
socket = \"$SOCK\"
next = \"patch\"
[stage.patch]
type = \"xconnect\"
next = [\"wire\", \"link\"]
")
CLIENT=$(write_config cli "
[kernel]
hugepages = false
file_prefix = \"mcli$TAG\"
[stage.link]
type = \"port\"
driver = \"memif\"
role = \"client\"
socket = \"$SOCK\"
next = \"loop\"
[stage.loop]
type = \"port\"
driver = \"ring\"
")
start_oryxd srv "$SERVER"
start_oryxd cli "$CLIENT"

link_up() { api "$1" /api/v1/ports | json "[p for p in j if p['name']=='$2'][0]['link']['up']" | grepq True; }
wait_until 10 'link_up "$srv_URL" link' || fail "memif server link never came up"
wait_until 10 'link_up "$cli_URL" link' || fail "memif client link never came up"
link_up "$cli_URL" loop || fail "ring port is down"

FRAMES=2000
ip netns exec "$NS" $PY - "$FRAMES" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
frame = Ether(dst="02:00:00:00:00:01") / IP(src="198.18.40.1", dst="198.18.40.2") / UDP() / Raw(b"m" * 200)
sendp([frame] * int(sys.argv[1]), iface="eth0")
PY
counter() { api "$1" /api/v1/stats | json "j['stages']['$2']['counters']['$3']"; }
wait_until 10 '[ "$(counter "$cli_URL" loop rx_packets)" -ge "$FRAMES" ]' ||
  fail "ring loop saw $(counter "$cli_URL" loop rx_packets) of $FRAMES frames"
sleep 0.5
[ "$(counter "$srv_URL" link tx_packets)" -eq "$FRAMES" ] || fail "server memif sent $(counter "$srv_URL" link tx_packets)"
[ "$(counter "$cli_URL" link rx_packets)" -eq "$FRAMES" ] || fail "client memif received $(counter "$cli_URL" link rx_packets)"
[ "$(counter "$cli_URL" loop tx_packets)" -eq "$FRAMES" ] || fail "ring sent $(counter "$cli_URL" loop tx_packets)"
[ "$(counter "$cli_URL" loop rx_packets)" -eq "$FRAMES" ] || fail "ring looped $(counter "$cli_URL" loop rx_packets)"
[ "$(counter "$cli_URL" loop rx_no_route)" -eq "$FRAMES" ] || fail "looped frames not counted as no-route drops"
log "$FRAMES frames: namespace -> AF_XDP -> xconnect -> memif -> memif -> ring -> counted drop"

DRIVER=$(api "$cli_URL" /api/v1/ports | json "[p['driver'] for p in j]")
[ "$DRIVER" = "['net_memif', 'net_ring']" ] || fail "drivers $DRIVER"
stop_oryxd "$cli_PID" || fail "client exit status $?"
stop_oryxd "$srv_PID" || fail "server exit status $?"
log "PASS"
