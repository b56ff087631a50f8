#!/usr/bin/env bash
# memif between two oryxd instances (server and client) and a ring port come
# up; frames generated in one instance cross memif into the other.
source "$(dirname "$0")/lib.sh"

SOCK=$WORK/memif.sock
SERVER=$(write_config srv "
[kernel]
hugepages = false
file_prefix = \"msrv$TAG\"
[stage.gen]
type = \"port\"
driver = \"null\"
next = \"patch\"
[stage.link]
type = \"port\"
driver = \"memif\"
role = \"server\"
socket = \"$SOCK\"
next = \"patch\"
[stage.patch]
type = \"xconnect\"
next = [\"gen\", \"link\"]
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
next = \"patch\"
[stage.loop]
type = \"port\"
driver = \"ring\"
next = \"patch\"
[stage.patch]
type = \"xconnect\"
next = [\"link\", \"loop\"]
")
start_oryxd srv "$SERVER"
start_oryxd cli "$CLIENT"

link_up() { api "$1" /api/v1/ports | json "[p for p in j if p['name']=='$2'][0]['link']['up']" | grep -q True; }
wait_until 10 'link_up "$srv_URL" link' || fail "memif server link never came up"
wait_until 10 'link_up "$cli_URL" link' || fail "memif client link never came up"
link_up "$cli_URL" loop || fail "ring port is down"

rx() { api "$cli_URL" /api/v1/stats | json "j['stages']['link']['counters']['rx_packets']"; }
wait_until 10 '[ "$(rx)" -gt 1000 ]' || fail "client received $(rx) frames over memif"
SRV_TX=$(api "$srv_URL" /api/v1/stats | json "j['ports']['link']['tx_packets']")
[ "$SRV_TX" -gt 0 ] || fail "server sent nothing"
RING_TX=$(api "$cli_URL" /api/v1/stats | json "j['stages']['loop']['counters']['tx_packets']")
[ "$RING_TX" -gt 0 ] || fail "nothing reached the ring port"
log "memif: server sent $SRV_TX, client received $(rx); ring port transmitted $RING_TX"

DRIVER=$(api "$cli_URL" /api/v1/ports | json "[p['driver'] for p in j]")
[ "$DRIVER" = "['net_memif', 'net_ring']" ] || fail "drivers $DRIVER"
stop_oryxd "$cli_PID" || fail "client exit status $?"
stop_oryxd "$srv_PID" || fail "server exit status $?"
[ ! -e "$SOCK" ] || fail "memif socket $SOCK left behind"
log "PASS"
