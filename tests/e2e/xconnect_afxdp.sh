#!/usr/bin/env bash
# xconnect between two veths carries ping and a TCP transfer between two
# namespaces byte-exact; counters on both sides agree with what was sent.
source "$(dirname "$0")/lib.sh"

A=oxa$TAG
B=oxb$TAG
make_ns "$A" "$A" 198.18.20.1/24
make_ns "$B" "$B" 198.18.20.2/24
CFG=$(write_config xc "
[kernel]
hugepages = false
file_prefix = \"xc$TAG\"
[stage.west]
type = \"port\"
driver = \"af_xdp\"
iface = \"$A\"
next = \"patch\"
[stage.east]
type = \"port\"
driver = \"af_xdp\"
iface = \"$B\"
next = \"patch\"
[stage.patch]
type = \"xconnect\"
next = [\"west\", \"east\"]
")
start_oryxd xc "$CFG"

log "ping through oryxd"
ip netns exec "$A" ping -c 5 -i 0.2 -W 2 198.18.20.2 >"$WORK/ping.txt" || { cat "$WORK/ping.txt"; fail "ping failed"; }
grep -q " 0% packet loss" "$WORK/ping.txt" || fail "ping lost packets: $(tail -2 "$WORK/ping.txt")"

SIZE_MB=16
log "TCP transfer of $SIZE_MB MiB"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$WORK/payload"
ip netns exec "$B" timeout 60 socat -u TCP-LISTEN:5001,reuseaddr OPEN:"$WORK/received",creat,trunc &
RECV=$!
sleep 0.5
ip netns exec "$A" timeout 60 socat -u OPEN:"$WORK/payload" TCP:198.18.20.2:5001 || fail "sender failed"
wait $RECV || fail "receiver failed"
cmp "$WORK/payload" "$WORK/received" || fail "received data differs from what was sent"
log "$SIZE_MB MiB arrived byte-exact"

STATS=$(api "$xc_URL" /api/v1/stats)
AB=$(echo "$STATS" | json "j['stages']['patch']['counters']['a_to_b']")
BA=$(echo "$STATS" | json "j['stages']['patch']['counters']['b_to_a']")
WEST_RX=$(echo "$STATS" | json "j['stages']['west']['counters']['rx_packets']")
EAST_TX=$(echo "$STATS" | json "j['stages']['east']['counters']['tx_packets']")
EAST_FULL=$(echo "$STATS" | json "j['stages']['east']['counters']['tx_full']")
[ "$AB" -gt $((SIZE_MB * 1024 * 1024 / 1514)) ] || fail "a_to_b = $AB too small"
[ "$BA" -gt 5 ] || fail "b_to_a = $BA"
[ "$WEST_RX" -eq "$AB" ] || fail "west rx $WEST_RX != a_to_b $AB"
[ "$EAST_TX" -eq $((AB - EAST_FULL)) ] || fail "east tx $EAST_TX + full $EAST_FULL != a_to_b $AB"
log "patch a_to_b=$AB b_to_a=$BA, east tx=$EAST_TX full=$EAST_FULL"

"$ORYXCTL" -u "$xc_URL" graph | grep -E "^patch +2 +east" >/dev/null || fail "graph lacks patch->east"
stop_oryxd "$xc_PID" || fail "oryxd exit status $?"
log "PASS"
