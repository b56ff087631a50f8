#!/usr/bin/env bash
# The AF_XDP transmit freeze, reproduced on bare DPDK and pinned down
# (tests/dpdk/afxdp_alternating_tx.cpp): an EAL worker and a plain thread
# transmit in turn on one AF_XDP queue of a veth.
#
#  * With DPDK's default mbuf pool layout (no hugepages: one mbuf per 4 KiB
#    page) the af_xdp driver's UMEM, which it maps from the pool's first
#    page for populated x object size, misses part of the pool; frames in
#    mbufs outside it are refused by the kernel as invalid descriptors
#    (XDP_STATISTICS) and never reach the peer, though the driver counts
#    them as sent. A TCP sender whose retransmissions land in such mbufs
#    again (a thread's mempool cache hands the same ones back) never gets
#    through: the "freeze". The thread without an lcore allocates from the
#    whole pool and so reaches those mbufs first.
#  * With the packed pool Oryx uses (kernel/src/packet_pool.cpp) the same
#    alternation sends every frame, and the kernel refuses none; the peer
#    receives them all.
source "$(dirname "$0")/lib.sh"

BIN=$ORYX_BUILD/tests/dpdk/afxdp_alternating_tx
[ -x "$BIN" ] || fail "$BIN is not built"
NS=oxa$TAG
make_ns "$NS" "$NS" 198.18.89.1/24
FRAMES=200000

run() {  # run LAYOUT: prints the program's report, returns its status
  local rc=0
  "$BIN" -l 0,1 --no-huge --no-shconf -m 256 --no-pci --iova-mode=va --no-telemetry \
    --file-prefix "axt$TAG$1" --log-level=4 -- "$NS" "$1" "$FRAMES" 2>"$WORK/$1.err" || rc=$?
  rmdir "/var/run/dpdk/axt$TAG$1" 2>/dev/null || true  # the EAL leaves its runtime directory
  return $rc
}
peer_rx() { ip netns exec "$NS" cat /sys/class/net/eth0/statistics/rx_packets; }

log "packed pool: $FRAMES frames from two threads in turn"
RX0=$(peer_rx)
rc=0
run packed >"$WORK/packed.out" || rc=$?
cat "$WORK/packed.out"
[ "$rc" -eq 0 ] || fail "the packed pool stopped transmitting (status $rc): $(cat "$WORK/packed.err")"
grep -q "tx_invalid_descs 0," "$WORK/packed.out" || fail "the kernel refused descriptors of the packed pool"
wait_until 5 '[ $(( $(peer_rx) - RX0 )) -ge '"$FRAMES"' ]' ||
  fail "the peer received $(( $(peer_rx) - RX0 )) of $FRAMES frames"

log "DPDK's default pool layout: the kernel refuses frames the driver counted as sent"
RX0=$(peer_rx)
rc=0
run default >"$WORK/default.out" || rc=$?
cat "$WORK/default.out"
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "setup error with the default layout (status $rc)"
INVALID=$(sed -n 's/.*tx_invalid_descs \([0-9]*\),.*/\1/p' "$WORK/default.out")
[ "${INVALID:-0}" -gt 0 ] || fail "the kernel refused no descriptor: the cause is not the pool layout"
sleep 1
GOT=$(( $(peer_rx) - RX0 ))
log "the peer received $GOT of $FRAMES frames; the kernel refused $INVALID descriptors"
[ "$GOT" -lt "$FRAMES" ] || fail "no frame was lost with the default layout"
log "PASS"
