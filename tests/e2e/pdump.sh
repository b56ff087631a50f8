#!/usr/bin/env bash
# pdump: packet capture at graph points over REST and oryxctl. While a
# namespace pings and streams TCP to Oryx's stack, a filtered capture on
# the port's receive and transmit points is read by tshark: its packet
# counts match, and its frames are byte for byte, in order, what the
# namespace's own tcpdump saw leave and arrive. Bad filters, points,
# tokens and a busy point get clear 4xx answers. A capture of every packet
# through a tiny ring at full rate drops capture copies (counted), never
# traffic.
source "$(dirname "$0")/lib.sh"

start_stack pd 198.18.80 'tcp_echo_port = 7'
TOKEN=test-token-$TAG
H="Authorization: Bearer $TOKEN"
CTL() { "$ORYXCTL" -u "$URL" -t "$TOKEN" "$@"; }
CAPS=$WORK/pd.captures
# post BODY: POST /api/v1/captures; prints the HTTP status, body in $WORK/post.json
post() { curl -s -o "$WORK/post.json" -w '%{http_code}' -X POST -H "$H" "$URL/api/v1/captures" -d "$1"; }
P() { api "$URL" /api/v1/stats | json "j['stages']['wire']['counters']['$1']"; }

CTL capture points >"$WORK/points.txt"
for p in wire.rx wire.tx ip.in ip.rx; do
  grep -q "^$p " "$WORK/points.txt" || fail "capture point $p not listed: $(cat "$WORK/points.txt")"
done

log "bad requests get clear 4xx answers"
[ "$(post '{"points": ["wire.rx"], "filter": "tcp port"}')" = 400 ] &&
  grep -q "syntax error" "$WORK/post.json" || fail "bad filter: $(cat "$WORK/post.json")"
[ "$(post '{"points": ["wire.nope"]}')" = 400 ] &&
  grep -q 'unknown capture point \\"wire.nope\\"' "$WORK/post.json" || fail "bad point: $(cat "$WORK/post.json")"
[ "$(post '{"points": ["wire.rx"], "snaplen": 10}')" = 400 ] || fail "snaplen 10 accepted"
[ "$(post '{"points": ["wire.rx"], "colour": 1}')" = 400 ] || fail "unknown key accepted"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/v1/captures" -d '{"points": ["wire.rx"]}')" = 401 ] ||
  fail "POST without the token was not refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/captures/99")" = 404 ] || fail "unknown capture"

log "filtered capture on wire.rx and wire.tx while the namespace pings and streams TCP"
NS_MAC=$(ip netns exec "$NS" cat /sys/class/net/eth0/address)
# Frame for frame: no segmentation or coalescing behind tcpdump's back.
ip netns exec "$NS" ethtool -K eth0 gso off tso off gro off >/dev/null 2>&1 || true
ip netns exec "$NS" tcpdump -i eth0 --immediate-mode -B 32768 -U -w "$WORK/ns.pcap" 'icmp or tcp port 7' 2>"$WORK/tcpdump.err" &
TCPDUMP=$!
_PIDS+=("$TCPDUMP")
wait_until 5 'grep -q "listening on" "$WORK/tcpdump.err"' || fail "tcpdump did not start"
CTL capture start wire.rx,wire.tx --filter "icmp or tcp port 7" --name ping >"$WORK/start.txt" ||
  fail "capture start: $(cat "$WORK/start.txt")"
grep -q "capture 1 started" "$WORK/start.txt" || fail "$(cat "$WORK/start.txt")"
[ "$(post '{"points": ["wire.tx"]}')" = 409 ] || fail "a busy point was not refused: $(cat "$WORK/post.json")"
# Limits, beside it: 5 packets cut to 96 bytes of what enters the stack;
# at most 5000 bytes of what the stack sends.
CTL capture start ip.in --filter icmp --count 5 --snaplen 96 --name five >/dev/null || fail "capture 2"
CTL capture start ip.rx --bytes 5000 --name bytes >/dev/null || fail "capture 3"
ip netns exec "$NS" ping -c 20 -i 0.05 -s 1000 198.18.80.2 >/dev/null || fail "ping"
# At a pace the namespace's tcpdump keeps up with on 2 busy cores.
ip netns exec "$NS" $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" --host 198.18.80.2 --mib 1 \
  --rate 2 >"$WORK/echo.out" 2>&1 || fail "echo: $(cat "$WORK/echo.out")"
sleep 0.5
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true
grep -q "^0 packets dropped by kernel" "$WORK/tcpdump.err" || fail "the namespace's tcpdump lost frames: $(cat "$WORK/tcpdump.err")"
CTL capture stop 1 | grepq "capture 1 finished" || fail "capture stop"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/captures/1/file")" = 200 ] || fail "download"
CTL capture get 1 -o "$WORK/oryx.pcapng" 2>/dev/null || fail "oryxctl capture get"
cmp -s "$WORK/oryx.pcapng" "$CAPS"/ping-1-*.pcapng || fail "the download differs from the capture file"
C() { api "$URL" /api/v1/captures/1 | json "j['counters']['$1']"; }
[ "$(C dropped_ring_full)" = 0 ] && [ "$(C dropped_no_mbuf)" = 0 ] || fail "copies dropped"

TS() { tshark -r "$WORK/oryx.pcapng" -Y "$1" 2>/dev/null | wc -l; }
REQ=$(TS 'frame.interface_name == "wire.rx" && icmp.type == 8')
REP=$(TS 'frame.interface_name == "wire.tx" && icmp.type == 0')
[ "$REQ" = 20 ] && [ "$REP" = 20 ] || fail "tshark: $REQ echo requests on wire.rx, $REP replies on wire.tx"
[ "$(TS 'frame.interface_name == "wire.tx" && frame.p2p_dir == 0')" -gt 0 ] || fail "no outbound flag"
ALL=$(tshark -r "$WORK/oryx.pcapng" 2>/dev/null | wc -l)
[ "$ALL" = "$(C written_packets)" ] || fail "tshark read $ALL packets, the capture wrote $(C written_packets)"
for i in rx tx; do
  tshark -r "$WORK/oryx.pcapng" -Y "frame.interface_name == \"wire.$i\"" -w "$WORK/$i.pcapng" 2>/dev/null
done
$PY "$ORYX_SOURCE/plugins/pdump/tests/compare_capture.py" "$WORK/ns.pcap" "$NS_MAC" \
  "$WORK/rx.pcapng" "$WORK/tx.pcapng" >"$WORK/compare.out" || fail "$(cat "$WORK/compare.out")"
log "tshark: 20 echo requests in, 20 replies out; frames identical to the namespace's: $(cat "$WORK/compare.out")"
J() { api "$URL" "/api/v1/captures/$1" | json "$2"; }
wait_until 5 '[ "$(J 2 "j[\"state\"]")" = finished ]' || fail "capture 2 did not stop at 5 packets"
[ "$(J 2 "j['stop_reason'], j['counters']['written_packets']")" = "packet limit 5" ] ||
  fail "capture 2: $(J 2 "j['stop_reason'], j['counters']")"
CTL capture get 2 -o "$WORK/five.pcapng" 2>/dev/null || fail "download 2"
[ "$(tshark -r "$WORK/five.pcapng" -T fields -e frame.cap_len -e frame.len 2>/dev/null | sort -u)" = "$(printf '96\t1042')" ] ||
  fail "snaplen 96: $(tshark -r "$WORK/five.pcapng" -T fields -e frame.cap_len -e frame.len 2>/dev/null | sort -u)"
[ "$(J 3 "j['stop_reason']")" = "byte limit" ] && [ "$(J 3 "j['counters']['written_bytes']")" -le 5000 ] &&
  [ "$(J 3 "j['counters']['written_bytes']")" -gt 3000 ] || fail "capture 3: $(J 3 "j['counters']")"
CTL capture start wire.rx --duration 1 >/dev/null || fail "capture 4"
wait_until 5 '[ "$(J 4 "j[\"state\"]")" = finished ]' && [ "$(J 4 "j['stop_reason']")" = duration ] ||
  fail "capture 4 did not stop after 1 s: $(J 4 "j")"
log "limits: 5 packets cut to 96 bytes, $(J 3 "j['counters']['written_bytes']") of 5000 bytes, 1 s"
CTL capture delete 1 >/dev/null || fail "capture delete"
! ls "$CAPS"/ping-1-* >/dev/null 2>&1 || fail "delete left the files"
stop_oryxd "$pd_PID" || fail "oryxd exit status"

log "every packet at full rate through a 64-copy ring: copies dropped, traffic intact"
start_oryxd pf "$(_afxdp_stack_config pf "$NS" 198.18.80 "[capture]
dir = \"$WORK/pf.captures\"
ring_size = 64
copy_mbufs = 255" 'tcp_echo_port = 7')"
URL=$pf_URL
ip netns exec "$NS" ping -c 1 -W 2 198.18.80.2 >/dev/null || fail "no ping"
# What the port passed: rx + tx + tx_full. Read before and after the
# start and before and after the stop, they bracket what the taps saw (a
# frame the stack's timers send, an ARP refresh say, may pass while the
# taps go on or come off and may or may not be seen).
passed() { echo $(($(P rx_packets) + $(P tx_packets) + $(P tx_full))); }
START0=$(passed)
CTL capture start wire.rx,wire.tx --file-size-mb 1 --files 3 >/dev/null || fail "capture start"
START1=$(passed)
ip netns exec "$NS" $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" --host 198.18.80.2 --mib 16 \
  >"$WORK/echo.out" 2>&1 || fail "echo at full rate: $(cat "$WORK/echo.out")"
sleep 0.3
PASSED_BEFORE=$(($(passed) - START1))
CTL capture stop 1 >/dev/null || fail "capture stop"
PASSED=$(($(passed) - START0))
SEEN=$(C seen) QUEUED=$(C queued) RING=$(C dropped_ring_full) NOMBUF=$(C dropped_no_mbuf)
log "port passed $PASSED_BEFORE..$PASSED packets; capture saw $SEEN, queued $QUEUED, dropped $RING (ring full) + $NOMBUF (no buffer)"
[ "$SEEN" -ge "$PASSED_BEFORE" ] && [ "$SEEN" -le "$PASSED" ] ||
  fail "the capture saw $SEEN packets, the port passed $PASSED_BEFORE before the stop and $PASSED after it"
[ "$SEEN" = $((QUEUED + RING + NOMBUF)) ] || fail "seen != queued + dropped"
[ "$(C written_packets)" = "$QUEUED" ] || fail "written $(C written_packets) != queued $QUEUED"
[ $((RING + NOMBUF)) -gt 0 ] || fail "no copy was dropped: the ring kept up"
# Rotation: files of at most 1 MiB, the 3 newest kept.
KEPT=0
for n in 0 1 2; do
  CTL capture get 1 --file $n -o "$WORK/full$n.pcapng" 2>/dev/null || fail "download file $n"
  [ "$(stat -c %s "$WORK/full$n.pcapng")" -le 1048576 ] || fail "file $n is larger than 1 MiB"
  KEPT=$((KEPT + $(tshark -r "$WORK/full$n.pcapng" 2>/dev/null | wc -l)))
done
[ "$(api "$URL" /api/v1/captures/1 | json "len(j['files'])")" = 3 ] || fail "not 3 files kept"
[ "$(ls "$WORK"/pf.captures/*.pcapng | wc -l)" = 3 ] || fail "rotated files were not deleted"
[ "$KEPT" -gt 1000 ] && [ "$KEPT" -lt "$QUEUED" ] || fail "the 3 kept files hold $KEPT of $QUEUED packets"
log "rotation: 3 files of <= 1 MiB kept, $KEPT packets in them"
grep -q "^ok 16777216" "$WORK/echo.out" || fail "echo: $(cat "$WORK/echo.out")"
stop_oryxd "$pf_PID" || fail "oryxd exit status"
log "PASS"
