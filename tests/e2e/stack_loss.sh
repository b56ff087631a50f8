#!/usr/bin/env bash
# TCP over a lossy path: nftables in the peer namespace drops a share of
# the data segments in each direction on the veth itself (netdev ingress
# and egress hooks, so both stacks see real loss, not a local send error).
# The echo must come back byte-exact and in bounded time, and the stack's
# counters must account for the loss: every dropped segment of the stack's
# was retransmitted, and the peer's drops show up as out-of-order arrivals.
# On the wire (tcpdump in the peer namespace) the stack offers SACK and a
# window scale of 7, announces the configured receive_window, and answers
# segments that arrive behind a loss with SACK blocks.
# LOSS_PERCENT, LOSS_MIB and LOSS_SECONDS override the defaults.
source "$(dirname "$0")/lib.sh"

LOSS_PERCENT=${LOSS_PERCENT:-2}
LOSS_MIB=${LOSS_MIB:-8}
LOSS_SECONDS=${LOSS_SECONDS:-60}

WINDOW=524288
start_stack l 198.18.92 "tcp_echo_port = 7" "tcp_discard_port = 9" "receive_window = $WINDOW"

# The peer's address moves to a bridge with eth0 as its port, so the
# egress hook below sits after the peer's TCP: a drop there is a loss TCP
# must repair (on the interface TCP sends through, a dropped packet is a
# send error that TCP quietly retries). GSO off: one drop, one segment.
ip netns exec "$NS" sh -ec '
  ip link add br0 type bridge
  ip link set eth0 master br0
  ip addr del 198.18.92.1/24 dev eth0
  ip addr add 198.18.92.1/24 dev br0
  ethtool -K br0 gso off tso off tx off >/dev/null
  ip link set br0 up' || fail "bridge in the peer namespace"
wait_until 10 'ip netns exec "$NS" ping -c 1 -W 1 198.18.92.2 >/dev/null' || fail "no ping through the bridge"
# Data segments only (IPv4 length above 100 bytes): pure ACKs get through,
# so the counts below compare like with like.
ip netns exec "$NS" nft -f - <<NFT || fail "nftables"
table netdev oryx_loss {
  chain toward_peer {
    type filter hook ingress device eth0 priority 0;
    ip saddr 198.18.92.2 tcp sport { 7, 9 } ip length > 100 numgen random mod 100 < $LOSS_PERCENT counter drop
  }
  chain toward_stack {
    type filter hook egress device eth0 priority 0;
    ip daddr 198.18.92.2 tcp dport { 7, 9 } ip length > 100 numgen random mod 100 < $LOSS_PERCENT counter drop
  }
}
NFT
dropped() {
  ip netns exec "$NS" nft -j list chain netdev oryx_loss "$1" |
    json "[e['counter']['packets'] for r in j['nftables'] if 'rule' in r for e in r['rule']['expr'] if 'counter' in e][0]"
}

log "$LOSS_MIB MiB each way through TCP echo with $LOSS_PERCENT % of data segments lost in each direction"
START=$(date +%s.%N)
ip netns exec "$NS" timeout "$LOSS_SECONDS" $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" \
  --host 198.18.92.2 --mib "$LOSS_MIB" --timeout 30 >/dev/null ||
  fail "echo over the lossy path did not finish byte-exact within $LOSS_SECONDS s"
log "echo done byte-exact in $($PY -c "import time; print(f'{time.time() - $START:.1f}')") s"

# The echo's receive window is mostly closed (it can only take in what it
# has sent back), so the peer rarely has a segment in flight behind a lost
# one. Toward the discard service the window stays open: a loss there
# makes the following segments arrive out of order.
log "$LOSS_MIB MiB to TCP discard with $LOSS_PERCENT % lost"
RX_BEFORE=$(C rx_tcp_bytes)
ip netns exec "$NS" tcpdump -i eth0 -s 128 -U -w "$WORK/discard.pcap" tcp port 9 2>"$WORK/tcpdump.err" &
TCPDUMP=$!
_PIDS+=("$TCPDUMP")
wait_until 10 'grepq listening "$WORK/tcpdump.err"' || fail "tcpdump did not start: $(cat "$WORK/tcpdump.err")"
ip netns exec "$NS" timeout "$LOSS_SECONDS" $PY - "$LOSS_MIB" <<'PY' || fail "discard over the lossy path did not finish within $LOSS_SECONDS s"
import socket, sys
s = socket.create_connection(("198.18.92.2", 9), timeout=30)
s.sendall(bytes(int(sys.argv[1]) << 20))
s.shutdown(socket.SHUT_WR)
assert s.recv(1) == b"", "discard sent something"
PY
[ $(( $(C rx_tcp_bytes) - RX_BEFORE )) -ge $((LOSS_MIB << 20)) ] || fail "the stack received fewer TCP bytes than were sent"
kill -INT "$TCPDUMP" && wait "$TCPDUMP" || true

log "on the wire: the stack's SYN-ACK options, its window and its SACK blocks"
$PY - "$WORK/discard.pcap" "$WINDOW" <<'PY' || fail "the stack's TCP options on the wire"
import sys
from scapy.all import rdpcap, IP, TCP
window = int(sys.argv[2])
sent = [p for p in rdpcap(sys.argv[1]) if TCP in p and p[IP].src == "198.18.92.2"]
synack = [p for p in sent if p[TCP].flags.S and p[TCP].flags.A]
assert synack, "no SYN-ACK from the stack"
options = dict(synack[0][TCP].options)
assert "SAckOK" in options, f"the SYN-ACK does not offer SACK: {options}"
assert options.get("WScale") == 7, f"window scale {options.get('WScale')}, not 7"
largest = max(p[TCP].window for p in sent if not p[TCP].flags.S) << 7
assert window // 2 <= largest <= window, f"largest window announced {largest}, configured {window}"
blocks = [p for p in sent if any(kind == "SAck" for kind, _ in p[TCP].options)]
assert blocks, "no ACK of the stack's carried SACK blocks, though segments were lost"
print(f"SACK-permitted, window scale 7, largest window {largest} of {window}, {len(blocks)} ACKs with SACK blocks")
PY

TO_PEER=$(dropped toward_peer); TO_STACK=$(dropped toward_stack)
RETRANS=$(C tcp_retransmits); PARTIAL=$(C tcp_partial_ack_retransmits)
OOO=$(C tcp_out_of_order); DUP=$(C tcp_duplicate_segments); OOW=$(C drop_tcp_out_of_window)
PEER_RETRANS=$(ip netns exec "$NS" nstat -az TcpRetransSegs | awk '/TcpRetransSegs/ {print $2}')
log "dropped toward the peer $TO_PEER, toward the stack $TO_STACK (the peer retransmitted $PEER_RETRANS)"
log "stack: tcp_retransmits $RETRANS (partial-ACK $PARTIAL, recovery probes $(C tcp_recovery_probes), tail-loss probes $(C tcp_tail_loss_probes)), tcp_out_of_order $OOO, tcp_duplicate_segments $DUP, drop_tcp_out_of_window $OOW"
[ "$TO_PEER" -gt 0 ] && [ "$TO_STACK" -gt 0 ] || fail "nftables dropped nothing: the test tested nothing"
# Every segment of the stack's that was dropped had to be sent again
# (a dropped retransmission again), so retransmissions cover the drops;
# the same holds for the peer's kernel.
[ "$RETRANS" -ge "$TO_PEER" ] || fail "$TO_PEER of the stack's segments dropped but only $RETRANS retransmitted"
[ "$PEER_RETRANS" -ge "$TO_STACK" ] || fail "the peer retransmitted $PEER_RETRANS segments for $TO_STACK dropped"
[ "$OOO" -gt 0 ] || fail "$TO_STACK of the peer's segments dropped, none arrived out of order"
wait_until 20 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) connections left"
wait_until 10 '[ "$(C mbufs_held)" -eq 0 ]' || fail "lwIP still holds $(C mbufs_held) mbufs"
stop_oryxd "$l_PID" || fail "exit status $?"
log "PASS"
