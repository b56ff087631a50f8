#!/usr/bin/env bash
# Jumbo frames between two stacks over memif (stack mtu 9000, memif
# buffers that hold a whole frame): an application under `oryx run`
# agrees an MSS of 8,960 with oryxd's echo service and gets 32 MiB back
# intact, carried in frames chained over several mbufs; UDP datagrams of
# 8,000 bytes (one chained frame each way) and 60,000 bytes (IPv4
# fragments, each a chained frame, reassembled on both sides) come back
# intact; nothing is dropped for being chained or for its checksum. Then
# AF_XDP on a veth at MTU 3,400: refused with mbufs too small for its
# frames, and with mbufs of a page each (mbuf_data_room 3840) the
# kernel's TCP in a namespace agrees an MSS of 3,360 and gets 16 MiB
# echoed intact.
source "$(dirname "$0")/lib.sh"

SOCK=oryx-e2e-jumbo-$TAG.sock
memif_stack() {  # memif_stack NAME ROLE ADDRESS [KEYS...]
  write_config "$1" "
[kernel]
hugepages = false
file_prefix = \"j$1$TAG\"
[log]
file = \"$WORK/$1.oryx.log\"
[stage.wire]
type = \"port\"
driver = \"memif\"
role = \"$2\"
socket = \"$SOCK\"
memif_buffer_size = 9022
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"$3/24\"
mtu = 9000
next = \"wire\"
$(printf '%s\n' "${@:4}")
"
}
start_oryxd srv "$(memif_stack srv server 198.18.103.2 'tcp_echo_port = 7' 'udp_echo_port = 7')"
CLIENT=$(memif_stack cli client 198.18.103.1)
C() { api "$srv_URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }
ORYX_RUN=(timeout 120 "$ORYX_BUILD/kernel/preload/oryx" run --config "$CLIENT" --)

log "TCP: 32 MiB echoed over memif at MTU 9000"
OUT=$("${ORYX_RUN[@]}" $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" --host 198.18.103.2 \
  --mib 32 --expect-mss 8960 2>"$WORK/tcp.err") || fail "echo: $OUT $(tail -3 "$WORK/tcp.err")"
[ "$OUT" = "ok 33554432 mss 8960" ] || fail "echo said: $OUT"
log "  $OUT"

log "UDP: datagrams of 8,000 and 60,000 bytes echoed"
cat >"$WORK/udp_echo.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for size in (8000, 60000):
    data = os.urandom(size)
    for attempt in range(5):  # the first may wait for the link and ARP
        s.sendto(data, ("198.18.103.2", 7))
        try:
            back, _ = s.recvfrom(65536)
            break
        except socket.timeout:
            continue
    else:
        sys.exit(f"FAIL: no echo of {size} bytes")
    if back != data:
        sys.exit(f"FAIL: {size} bytes echoed as {len(back)} different bytes")
print("ok")
PY
OUT=$("${ORYX_RUN[@]}" $PY "$WORK/udp_echo.py" 2>"$WORK/udp.err") ||
  fail "udp: $OUT $(tail -3 "$WORK/udp.err")"
[ "$OUT" = "ok" ] || fail "udp said: $OUT"

[ "$(C ipv4_reassembled)" -ge 1 ] || fail "the server reassembled no datagram"
for c in drop_multi_segment drop_bad_checksum drop_bad_ipv4_header drop_bad_l4_header \
         drop_too_big drop_tx_no_mbuf; do
  [ "$(C $c)" -eq 0 ] || fail "server counted $c = $(C $c)"
done
[ "$(C tcp_in_segs)" -gt 0 ] || fail "no TCP segment counted"
# 32 MiB in segments of at most 8,960 bytes: at least 3,745 of them, and
# far fewer than at MTU 1,500 (22,982).
SEGS=$(C rx_tcp)
[ "$SEGS" -lt 15000 ] || fail "$SEGS TCP segments received: not jumbo"
log "server: $SEGS TCP segments in, $(C ipv4_reassembled) datagram(s) reassembled, no drop"
stop_oryxd "$srv_PID" || fail "server exit status $?"

log "AF_XDP on a veth at MTU 3,400"
NS=oxj$TAG
make_ns "$NS" "$NS" 198.18.104.1/24
ip link set "$NS" mtu 3400
ip -n "$NS" link set eth0 mtu 3400
afxdp_stack() {  # afxdp_stack NAME [KERNEL-KEYS...]
  write_config "$1" "
[kernel]
hugepages = false
file_prefix = \"j$1$TAG\"
$(printf '%s\n' "${@:2}")
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
mtu = 3400
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"198.18.104.2/24\"
tcp_echo_port = 7
next = \"wire\"
"
}
# With the default mbufs (2,048 bytes of data) a 3,414-byte frame would be
# sent chained, which AF_XDP cannot: start-up fails and says why.
if timeout 30 "$ORYXD" -c "$(afxdp_stack small)" >"$WORK/small.out" 2>&1; then
  fail "oryxd started with frames longer than its mbufs on AF_XDP"
fi
grepq "do not fit the 2048 bytes of one mbuf" "$WORK/small.out" ||
  fail "no reason given: $(tail -3 "$WORK/small.out")"
# A stack MTU above its (AF_XDP) port's: refused, naming both.
BIGGER=$(afxdp_stack bigger 'mbuf_data_room = 3840')
sed -i 's/^mtu = 3400$/mtu = 1500/; s/^address = /mtu = 3400\naddress = /' "$BIGGER"
if timeout 30 "$ORYXD" -c "$BIGGER" >"$WORK/bigger.out" 2>&1; then
  fail "oryxd started with a stack MTU above its port's"
fi
grepq "mtu 3400 is larger than port wire's MTU of 1500" "$WORK/bigger.out" ||
  fail "no reason given: $(tail -3 "$WORK/bigger.out")"
start_oryxd big "$(afxdp_stack big 'mbuf_data_room = 3840')"
OUT=$(ip netns exec "$NS" timeout 120 $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" \
  --host 198.18.104.2 --mib 16 --expect-mss 3360 2>&1) || fail "echo over AF_XDP: $OUT"
[ "$OUT" = "ok 16777216 mss 3360" ] || fail "echo over AF_XDP said: $OUT"
log "  $OUT"
CB() { api "$big_URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }
for c in drop_multi_segment drop_bad_checksum drop_too_big drop_tx_no_mbuf; do
  [ "$(CB $c)" -eq 0 ] || fail "AF_XDP stack counted $c = $(CB $c)"
done
[ "$(api "$big_URL" /api/v1/status | json "j['mbufs']['data_room']")" -eq 3840 ] ||
  fail "status does not report the mbufs' data room"
stop_oryxd "$big_PID" || fail "oryxd exit status $?"
log "PASS"
