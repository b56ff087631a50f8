#!/usr/bin/env bash
# On hugepages: SIGTERM stops oryxd cleanly (exit 0) and leaves no hugepage
# files, hugepages, runtime files or XDP programs behind; after SIGKILL the
# next start on the same interface works without manual cleanup.
source "$(dirname "$0")/lib.sh"

ensure_hugepages 160
NS=oxs$TAG
make_ns "$NS" "$NS" 198.18.30.1/24
CFG=$(write_config hp "
[kernel]
hugepages = true
memory_mb = 128
mbufs = 4095
file_prefix = \"hp$TAG\"
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
")
BASE=$(hugepages_free)
start_oryxd hp "$CFG"
USED=$((BASE - $(hugepages_free)))
[ "$USED" -ge 64 ] || fail "oryxd uses only $USED hugepages; expected its 128 MiB on hugepages"
ip link show "$NS" | grepq xdp || fail "no XDP program attached while running"
ip netns exec "$NS" ping -c 3 -i 0.2 -W 1 198.18.30.2 >/dev/null 2>&1 || true  # some traffic
log "running on $USED hugepages"

stop_oryxd "$hp_PID" || fail "SIGTERM: exit status $? (expected 0)"
grep -q "appliance stopped" "$WORK/hp.log" || fail "no clean-stop log line"
# The kernel frees an AF_XDP umem's pages from a deferred work item.
wait_until 5 '[ "$(hugepages_free)" -eq "$BASE" ]' || fail "hugepages not returned: $(hugepages_free) free, $BASE before"
for m in $(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts); do
  ls "$m" | grepq "hp$TAG" && fail "hugepage files left in $m"
done
[ ! -e "/var/run/dpdk/hp$TAG" ] || fail "runtime directory /var/run/dpdk/hp$TAG left behind"
ip link show "$NS" | grepq xdp && fail "XDP program left attached to $NS"
log "SIGTERM: exit 0, hugepages, files and XDP program released"

rm -f "$WORK/hp.port"
start_oryxd hp "$CFG"
kill -KILL "$hp_PID"
wait "$hp_PID" 2>/dev/null || true
wait_until 5 '[ "$(hugepages_free)" -eq "$BASE" ]' || fail "hugepages not returned after SIGKILL"
rm -f "$WORK/hp.port"
start_oryxd hp "$CFG"
ip netns exec "$NS" $PY - <<'PY'
from scapy.all import Ether, IP, UDP, sendp, conf
conf.verb = 0
sendp([Ether(dst="02:00:00:00:00:01")/IP(src="198.18.30.1", dst="198.18.30.9")/UDP()] * 50, iface="eth0")
PY
rx() { api "$hp_URL" /api/v1/stats | json "j['stages']['wire']['counters']['rx_packets']"; }
wait_until 5 '[ "$(rx)" -ge 50 ]' || fail "restart after SIGKILL receives $(rx) of 50 frames"
stop_oryxd "$hp_PID" || fail "exit status $?"
ip link show "$NS" | grepq xdp && fail "XDP program left attached after restart and stop"
log "after SIGKILL the next start works and receives traffic"
log "PASS"
