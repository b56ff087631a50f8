#!/usr/bin/env bash
# Malformed and hostile input from scapy in the peer namespace: the stack
# keeps serving an established echo connection throughout, counts each
# malformed packet under its reason, and its connection and mbuf counts
# return to baseline afterwards.
source "$(dirname "$0")/lib.sh"

start_stack h 198.18.80 "tcp_echo_port = 7" "udp_echo_port = 7"
MAC=$(api "$URL" /api/v1/ports | json "j[0]['mac']")

# A conversation that must survive everything below: one echo per 50 ms.
ip netns exec "$NS" $PY - "$WORK/alive" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("198.18.80.1", 40007))
s.connect(("198.18.80.2", 7))
# Loss under the flood is repaired by TCP retransmission; lwIP's timeout
# starts at 1.5 s and doubles, so a few losses in a row can take tens of
# seconds. What must not happen is a reset or a permanent stall.
s.settimeout(60)
n = 0
deadline = time.time() + 120
while time.time() < deadline:
    msg = b"alive %d\n" % n
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(100)
    assert got == msg, got
    n += 1
    time.sleep(0.05)
    if open(sys.argv[1] + ".stop", "a+").tell() > 0:
        break
s.close()
open(sys.argv[1], "w").write(str(n))
PY
ALIVE=$!
sleep 1
BASE_IP=$(C drop_bad_ipv4_header)
BASE_L4=$(C drop_bad_l4_header); BASE_SUM=$(C drop_bad_checksum)
BASE_STRAY=$(( $(C drop_tcp_out_of_window) + $(C tcp_duplicate_segments) ))

log "malformed headers, bad checksums, lies, bogus options, fragments, RSTs, 10,000 SYNs"
ip netns exec "$NS" $PY - "$MAC" <<'PY'
import sys
from scapy.all import Ether, IP, TCP, UDP, Raw, fragment, sendp, conf, raw
conf.verb = 0
mac = sys.argv[1]
E = Ether(dst=mac, src="02:00:00:00:80:01")
src, dst = "198.18.80.1", "198.18.80.2"
def send(frames): sendp(frames, iface="eth0")
good_tcp = E / IP(src=src, dst=dst) / TCP(sport=5555, dport=7, flags="S")
# (A frame shorter than an Ethernet header cannot cross a veth; the
# kernel refuses to send it.) IPv4 header problems, 4 each: no header at
# all after Ethernet, truncated header, bad header checksum,
# IHL beyond the packet, total length beyond the frame
send([Raw(raw(E / IP(src=src, dst=dst))[:14])] * 4)
send([Raw(raw(E / IP(src=src, dst=dst))[:14 + 12])] * 4)
send([E / IP(src=src, dst=dst, chksum=0x1234) / TCP(dport=7)] * 4)
bad_ihl = bytearray(raw(E / IP(src=src, dst=dst) / TCP(dport=7))); bad_ihl[14] = 0x4f
bad_ihl[24:26] = b"\0\0"
send([Raw(bytes(bad_ihl))] * 4)
send([E / IP(src=src, dst=dst, len=2000) / TCP(dport=7)] * 4)
# 5 truncated TCP headers, 5 bad TCP checksums, 5 bad UDP checksums
send([E / IP(src=src, dst=dst, proto=6) / Raw(b"\x00" * 10)] * 5)
send([E / IP(src=src, dst=dst) / TCP(sport=5556, dport=7, chksum=0xbeef)] * 5)
send([E / IP(src=src, dst=dst) / UDP(sport=5557, dport=7, chksum=0xbeef) / Raw(b"x")] * 5)
# Valid checksums but hostile content: lwIP itself must cope.
send([E / IP(src=src, dst=dst) / TCP(sport=5558, dport=7, flags="S",
      options=[(254, b"\xff" * 6), ("MSS", 0), (99, b"")])] * 5)   # bogus options
frags = fragment(IP(src=src, dst=dst, id=4242) / UDP(sport=5559, dport=7) / Raw(b"A" * 600), fragsize=200)
overlap = IP(src=src, dst=dst, id=4242, frag=10, flags=0, proto=17) / Raw(b"B" * 300)
send([E / frags[0], E / overlap] + [E / f for f in frags[1:]])     # overlapping fragments
send([E / IP(src=src, dst=dst) / TCP(sport=40007, dport=7, flags="A", seq=12345, ack=1) / Raw(b"zz")] * 5)  # out of window
send([E / IP(src=src, dst=dst) / TCP(sport=40007, dport=7, flags="R", seq=7)] * 5)   # RST, wrong seq
# SYN flood from the peer's own address: the peer's kernel answers each
# SYN-ACK with a RST, so the half-open connections go away promptly.
import time
for burst in range(10):   # 10 x 1,000, so the flood overloads lwIP, not the veth
    send([E / IP(src=src, dst=dst) / TCP(sport=10000 + burst * 1000 + i, dport=7, flags="S", seq=i)
          for i in range(1000)])
    time.sleep(0.05)
PY

d() { echo $(($(C "$1") - $2)); }
[ "$(d drop_bad_ipv4_header "$BASE_IP")" -eq 20 ] || fail "bad IPv4 headers counted $(d drop_bad_ipv4_header "$BASE_IP"), sent 20"
[ "$(d drop_bad_l4_header "$BASE_L4")" -eq 5 ] || fail "bad L4 headers counted $(d drop_bad_l4_header "$BASE_L4"), sent 5"
[ "$(d drop_bad_checksum "$BASE_SUM")" -eq 10 ] || fail "bad checksums counted $(d drop_bad_checksum "$BASE_SUM"), sent 10"
[ "$(C drop_reass_overlap)" -eq 1 ] || fail "overlapping fragments: $(C drop_reass_overlap) datagrams dropped, expected 1"
# The 5 segments at a random sequence number land either beyond the
# window or behind it; the connection's own retransmissions may add more.
STRAY=$(( $(C drop_tcp_out_of_window) + $(C tcp_duplicate_segments) - BASE_STRAY ))
[ "$STRAY" -ge 5 ] || fail "out-of-window segments counted $STRAY, sent 5"
log "malformed packets counted under their reasons: 20 bad IPv4 headers, 5 bad L4 headers, 10 bad checksums, 1 overlapping datagram, $STRAY stray segments"

touch "$WORK/alive.stop"
echo x >"$WORK/alive.stop"
wait "$ALIVE" || fail "the established connection broke during the attack"
log "established echo connection survived ($(cat "$WORK/alive") round trips)"
wait_until 30 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) service connections left"
wait_until 30 '[ "$(C mbufs_held)" -eq 0 ]' || fail "lwIP still holds $(C mbufs_held) mbufs"
# The fragments after the overlap start a datagram that never completes.
wait_until 10 '[ "$(C reassembly_mbufs)" -eq 0 ]' || fail "reassembly holds $(C reassembly_mbufs) mbufs"
[ "$(C drop_reass_timeout)" -eq 1 ] || fail "reassembly timeouts $(C drop_reass_timeout), expected 1"
HALF=$(api "$URL" /api/v1/connections | json "j['by_state'].get('SYN_RCVD', 0) + j['by_state'].get('ESTABLISHED', 0)")
[ "$HALF" -eq 0 ] || fail "$HALF half-open or stray connections left"
ip netns exec "$NS" ping -c 2 -W 2 198.18.80.2 >/dev/null || fail "stack unresponsive afterwards"

# ICMP flood, 500 requests in flight: every request the peer's kernel sent
# is answered or counted by the port (rx_missed), and every reply reaches
# the peer's ICMP layer. (ping itself may report fewer: its socket's buffer
# overflows, counted by the peer's kernel, not on the wire.)
icmp() { ip netns exec "$NS" awk -v f="$1" '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n[f] }' /proc/net/snmp; }
PORT() { api "$URL" /api/v1/stats | json "j['ports']['wire']['$1']"; }
FULL() { api "$URL" /api/v1/stats | json "j['stages']['wire']['counters']['tx_full']"; }
OUT0=$(icmp OutEchos) IN0=$(icmp InEchoReps) REQ0=$(C icmp_echo_requests) REP0=$(C icmp_echo_replies)
MISS0=$(PORT rx_missed) FULL0=$(FULL)
ip netns exec "$NS" ping -f -l 500 -c 10000 -W 1 198.18.80.2 >"$WORK/flood.out" 2>&1 || true
wait_until 5 '[ $(( $(C icmp_echo_requests) - REQ0 + $(PORT rx_missed) - MISS0 )) -ge $(( $(icmp OutEchos) - OUT0 )) ]' || true
SENT=$(( $(icmp OutEchos) - OUT0 )) GOT=$(( $(icmp InEchoReps) - IN0 ))
REQ=$(( $(C icmp_echo_requests) - REQ0 )) REP=$(( $(C icmp_echo_replies) - REP0 )) MISS=$(( $(PORT rx_missed) - MISS0 ))
TXFULL=$(( $(FULL) - FULL0 ))
log "ICMP flood: peer sent $SENT, stack saw $REQ and answered $REP, port missed $MISS and found its ring full for $TXFULL, peer got $GOT replies ($(grep -o '[0-9]* received' "$WORK/flood.out") by ping)"
[ "$SENT" -ge 10000 ] || fail "the peer sent only $SENT echo requests"
[ $((REQ + MISS)) -eq "$SENT" ] || fail "$SENT requests sent, $REQ seen + $MISS missed: $((SENT - REQ - MISS)) uncounted"
[ "$REP" -eq "$REQ" ] || fail "$REQ requests seen, $REP answered"
[ $((GOT + TXFULL)) -eq "$REP" ] || fail "$REP replies sent, the peer got $GOT, $TXFULL dropped on a full ring"
stop_oryxd "$h_PID" || fail "exit status $?"
log "PASS"
