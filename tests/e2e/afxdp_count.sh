#!/usr/bin/env bash
# oryxd on an AF_XDP port over a veth counts exactly the frames a namespace
# sent, in the stage counters, the port statistics, REST and oryxctl.
source "$(dirname "$0")/lib.sh"

NS=oxc$TAG
IF=oxc$TAG
make_ns "$NS" "$IF" 198.18.10.1/24
CFG=$(write_config count "
[kernel]
hugepages = false
file_prefix = \"count$TAG\"
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$IF\"
")
start_oryxd count "$CFG"

FRAMES=1000
log "sending $FRAMES UDP frames from $NS"
ip netns exec "$NS" $PY - "$FRAMES" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
n = int(sys.argv[1])
frame = Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") / IP(src="198.18.10.1", dst="198.18.10.2") / UDP(sport=1234, dport=5678) / Raw(b"o" * 100)
sendp([frame] * n, iface="eth0")
PY

got() { api "$count_URL" /api/v1/stats | json "j['stages']['wire']['counters']['rx_packets']"; }
wait_until 10 '[ "$(got)" -ge "$FRAMES" ]' || fail "only $(got) of $FRAMES frames counted"
sleep 1
STATS=$(api "$count_URL" /api/v1/stats)
RX=$(echo "$STATS" | json "j['stages']['wire']['counters']['rx_packets']")
BYTES=$(echo "$STATS" | json "j['stages']['wire']['counters']['rx_bytes']")
NOROUTE=$(echo "$STATS" | json "j['stages']['wire']['counters']['rx_no_route']")
DROPS=$(echo "$STATS" | json "j['stages']['wire']['counters']['drops']")
PORT_RX=$(echo "$STATS" | json "j['ports']['wire']['rx_packets']")
[ "$RX" -eq "$FRAMES" ] || fail "stage counted $RX frames, sent $FRAMES"
[ "$BYTES" -eq $((FRAMES * 142)) ] || fail "stage counted $BYTES bytes, sent $((FRAMES * 142))"
[ "$PORT_RX" -eq "$FRAMES" ] || fail "ethdev counted $PORT_RX frames, sent $FRAMES"
# No next edge: every frame is a counted drop, none is lost silently.
[ "$NOROUTE" -eq "$FRAMES" ] && [ "$DROPS" -eq "$FRAMES" ] || fail "drops $DROPS / no-route $NOROUTE"

CTL_RX=$("$ORYXCTL" -u "$count_URL" --json stats | json "j['stages']['wire']['counters']['rx_packets']")
[ "$CTL_RX" -eq "$FRAMES" ] || fail "oryxctl shows $CTL_RX"
"$ORYXCTL" -u "$count_URL" ports | grep -E "^wire +net_af_xdp +up" >/dev/null || fail "oryxctl ports: $("$ORYXCTL" -u "$count_URL" ports)"
"$ORYXCTL" -u "$count_URL" stats | grep -E "^wire +rx_packets +$FRAMES" >/dev/null || fail "oryxctl stats table"
METRIC=$(api "$count_URL" /metrics | grep '^oryx_stage_rx_packets_total{stage="wire"' | awk '{print $2}')
[ "$METRIC" -eq "$FRAMES" ] || fail "/metrics shows $METRIC"
log "counted $RX frames, $BYTES bytes; REST, /metrics and oryxctl agree"

stop_oryxd "$count_PID" || fail "oryxd exited with $?"
ip link show "$IF" | grepq xdp && fail "XDP program still attached to $IF after stop"
log "PASS"
