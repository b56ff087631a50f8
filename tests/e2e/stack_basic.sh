#!/usr/bin/env bash
# The lwIP stack on a port answers a kernel peer in a namespace: ARP both
# ways and gratuitous ARP, ping (small, 1472-byte and fragmented), IPv6
# ping, TCP echo byte-exact both ways, UDP echo up to 65,507 bytes, the HTTP
# responder with curl and wrk, and the connection table; counters match.
# STACK_PORT=af_xdp (default: a veth into the namespace) or tap (DPDK's TAP
# interface, moved into the namespace once oryxd created it; with its
# tx_checksum offload on, so the port fills in the IPv4 header and TCP
# checksums that lwIP leaves out, and the peer's kernel checks them).
source "$(dirname "$0")/lib.sh"

DRIVER=${STACK_PORT:-af_xdp}
NS=oxn$TAG
if [ "$DRIVER" = tap ]; then
  PEER=oxtap$TAG
  ip netns add "$NS"
  _NAMESPACES+=("$NS")
  ip netns exec "$NS" ip link set lo up
else
  PEER=eth0
  make_ns "$NS" "$NS" 198.18.60.1/24
  ip netns exec "$NS" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
  ip netns exec "$NS" ip -6 addr add 2001:db8:60::1/64 dev eth0 nodad
  # Capture what the peer sees from the moment Oryx starts (gratuitous ARP).
  ip netns exec "$NS" tcpdump -i eth0 -n -w "$WORK/peer.pcap" arp >/dev/null 2>&1 &
  _PIDS+=($!)
  sleep 0.5
fi
CFG=$(write_config st "
[kernel]
hugepages = false
file_prefix = \"st$TAG\"
[stage.wire]
type = \"port\"
driver = \"$DRIVER\"
iface = \"$([ "$DRIVER" = tap ] && echo "$PEER" || echo "$NS")\"
$([ "$DRIVER" = tap ] && echo 'offloads = ["tx_checksum"]')
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"198.18.60.2/24\"
ipv6 = \"2001:db8:60::2\"
tcp_echo_port = 7
udp_echo_port = 7
tcp_discard_port = 9
http_port = 80
http_body_bytes = 1000
next = \"wire\"
")
start_oryxd st "$CFG"
if [ "$DRIVER" = tap ]; then
  ip link set "$PEER" netns "$NS"
  ip netns exec "$NS" ip addr add 198.18.60.1/24 dev "$PEER"
  ip netns exec "$NS" ip -6 addr add 2001:db8:60::1/64 dev "$PEER" nodad
  ip netns exec "$NS" ip link set "$PEER" up
fi
C() { api "$st_URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }

log "ping: ARP resolution, small, 1472-byte and fragmented echo"
ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 198.18.60.2 >/dev/null || fail "ping"
ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 -s 1472 -M do 198.18.60.2 >/dev/null || fail "1472-byte ping"
ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 -s 4000 198.18.60.2 >/dev/null || fail "fragmented ping"
ip netns exec "$NS" ip neigh show 198.18.60.2 | grepq lladdr || fail "peer has no ARP entry for Oryx"
[ "$(C icmp_echo_requests)" -ge 9 ] && [ "$(C icmp_echo_replies)" -ge 9 ] || fail "icmp counters"
[ "$(C arp_requests_in)" -ge 1 ] && [ "$(C arp_replies_out)" -ge 1 ] || fail "ARP counters (peer -> Oryx)"
# Oryx resolves the peer itself when it starts a conversation: UDP from Oryx
# is a reply here, so check it asked (gratuitous or resolution) at least once.
[ "$(C arp_requests_out)" -ge 1 ] || fail "Oryx sent no ARP request"

log "IPv6 ping (neighbour discovery, ICMPv6 echo)"
ip netns exec "$NS" ping -6 -c 3 -i 0.2 -W 2 2001:db8:60::2 >/dev/null || fail "IPv6 ping"

log "TCP echo: 16 MiB byte-exact"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$WORK/payload"
ip netns exec "$NS" timeout 60 $PY - "$WORK/payload" "$WORK/echoed" <<'PY' || fail "TCP echo transfer"
import socket, sys, threading
data = open(sys.argv[1], "rb").read()
s = socket.create_connection(("198.18.60.2", 7), timeout=30)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while True:
    b = s.recv(1 << 20)
    if not b: break
    got += b
t.join()
open(sys.argv[2], "wb").write(got)
PY
cmp "$WORK/payload" "$WORK/echoed" || fail "echoed data differs"

log "UDP echo: 1 .. 65,507 bytes (up to 45 fragments each way)"
ip netns exec "$NS" timeout 30 $PY - <<'PY' || fail "UDP echo"
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for size in [1, 64, 512, 1472, 1473, 4000, 8000, 16000, 32768, 65507]:
    data = os.urandom(size)
    s.sendto(data, ("198.18.60.2", 7))
    got, _ = s.recvfrom(65536)
    assert got == data, f"UDP echo of {size} bytes differs"
PY

log "HTTP responder"
BODY=$(ip netns exec "$NS" curl -s --max-time 5 http://198.18.60.2/)
[ ${#BODY} -eq 1000 ] || fail "HTTP body of ${#BODY} bytes, expected 1000"
ip netns exec "$NS" curl -s --max-time 5 -w '%{http_code}' -o /dev/null http://198.18.60.2/a -o /dev/null http://198.18.60.2/b | grepq 200200 || fail "keep-alive requests"

log "connection table"
ip netns exec "$NS" timeout 20 socat - TCP:198.18.60.2:9 </dev/zero >/dev/null 2>&1 &
DISCARD=$!
sleep 1
CONN=$(api "$st_URL" /api/v1/connections)
echo "$CONN" | json "[c for c in j['connections'] if c['state']=='LISTEN' and c['local'].endswith(':7')]" | grepq LISTEN || fail "no listener in $CONN"
echo "$CONN" | json "[c for c in j['connections'] if c['state']=='ESTABLISHED' and c['remote'].startswith('198.18.60.1:')]" | grepq ESTABLISHED || fail "no established connection in $CONN"
# Filtered and paged on the server; bad parameters are named.
[ "$(api "$st_URL" '/api/v1/connections?state=established&q=198.18.60.1' | json "len(j['connections']) == j['matched'] == j['by_state']['ESTABLISHED'] >= 1")" = True ] ||
  fail "state filter: $(api "$st_URL" '/api/v1/connections?state=established')"
[ "$(api "$st_URL" '/api/v1/connections?proto=tcp&sort=local&order=desc&limit=1&offset=1' | json "(len(j['connections']), j['offset'], j['limit'], j['total'] >= 3)")" = "(1, 1, 1, True)" ] ||
  fail "paging: $(api "$st_URL" '/api/v1/connections?limit=1&offset=1')"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$st_URL/api/v1/connections?sort=bogus")" = 400 ] || fail "bad sort column accepted"
curl -s "$st_URL/api/v1/connections?limit=x" | grepq '"limit: expected a number' || fail "bad limit not named"
"$ORYXCTL" -u "$st_URL" connections | grep "ESTABLISHED" >/dev/null || fail "oryxctl connections"
kill "$DISCARD" 2>/dev/null || true
wait "$DISCARD" 2>/dev/null || true

# echo, two HTTP connections (the second with two requests), discard
[ "$(C ipv4_reassembled)" -ge 6 ] || fail "only $(C ipv4_reassembled) datagrams reassembled"
[ "$(C tcp_accepted)" -eq 4 ] || fail "tcp_accepted $(C tcp_accepted)"
wait_until 5 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) connections still open"
[ "$(C mbufs_held)" -eq 0 ] || fail "lwIP still holds $(C mbufs_held) mbufs"
[ "$(C reassembly_mbufs)" -eq 0 ] || fail "reassembly still holds $(C reassembly_mbufs) mbufs"

log "HTTP responder under wrk"
WRK=$(ip netns exec "$NS" wrk -t1 -c20 -d2s http://198.18.60.2/) || fail "wrk"
echo "$WRK" | grepq "Non-2xx\|Socket errors" && fail "wrk saw errors: $WRK"
REQS=$(echo "$WRK" | awk '/requests in/ {print $1}')
[ "$REQS" -ge 100 ] || fail "wrk completed only $REQS requests"
log "wrk: $REQS requests, $(echo "$WRK" | awk '/Requests\/sec/ {print $2}') per second, no errors"
wait_until 10 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) connections open after wrk"
# Only the TAP port offloads checksums: every frame the stack sent over it
# (ARP aside) was summed by the port, and the peer accepted them all.
OFFLOADED=$(C tx_checksum_offloaded)
if [ "$DRIVER" = tap ]; then
  [ "$OFFLOADED" -gt 1000 ] && [ "$OFFLOADED" -le "$(C tx_ipv4)" ] ||
    fail "$OFFLOADED frames offloaded of $(C tx_ipv4) IPv4 frames"
  log "$OFFLOADED frames' checksums computed by the port"
else
  [ "$OFFLOADED" -eq 0 ] || fail "$OFFLOADED frames offloaded on a port without the offload"
fi
if [ "$DRIVER" = af_xdp ]; then
  kill "${_PIDS[0]}" 2>/dev/null || true
  sleep 0.5
  ip netns exec "$NS" tcpdump -n -r "$WORK/peer.pcap" 2>/dev/null |
    grepq "Request who-has 198.18.60.2 tell 198.18.60.2" || fail "no gratuitous ARP seen by the peer"
fi
stop_oryxd "$st_PID" || fail "exit status $?"
# libbpf and libxdp speak through Oryx's loggers, never raw on stderr.
grep -E '^lib(bpf|xdp): ' "$WORK/st.log" && fail "raw libbpf/libxdp lines in oryxd's output"
log "PASS"
