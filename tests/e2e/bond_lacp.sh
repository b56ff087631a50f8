#!/usr/bin/env bash
# bond 802.3ad between two Oryx instances over two veth pairs (af_packet
# members, lacp_rate fast, layer3+4 hashing), each with its stack on VLAN
# 100 of the bond: oryxd serves HTTP; curl under `oryx run` fetches 16
# bodies in parallel. LACP negotiates (both members selected, collecting and
# distributing, the partner seen in /api/v1/ports), the connections spread
# over both members in both directions, and when one pair's cable is
# pulled and plugged in again the transfers go on byte-exact and the
# member rejoins the aggregation.
source "$(dirname "$0")/lib.sh"

A1=oxla1$TAG A2=oxla2$TAG B1=oxlb1$TAG B2=oxlb2$TAG
for i in 1 2; do
  eval "a=\$A$i b=\$B$i"
  ip link add "$a" type veth peer name "$b"
  _LINKS+=("$a")
  for m in "$a" "$b"; do
    sysctl -qw "net.ipv6.conf.$m.disable_ipv6=1"
    ethtool -K "$m" tx off rx off >/dev/null 2>&1 || true
    ip link set "$m" up
  done
done
# bond_config MEMBER1 MEMBER2 ADDR KEYS...: an 802.3ad bond, VLAN 100 on
# it, and a stack on the VLAN.
bond_config() {
  printf '[stage.bond0]\ntype = "bond"\nmode = "802.3ad"\nmember_driver = "af_packet"\n'
  printf 'members = ["%s", "%s"]\nxmit_hash_policy = "layer3+4"\nlacp_rate = "fast"\n' "$1" "$2"
  printf 'link_monitoring_ms = 50\nnext = "trunk"\n'
  printf '[stage.trunk]\ntype = "vlan_demux"\nnext = ["v100"]\n'
  printf '[stage.v100]\ntype = "vlan"\nvid = 100\nnext = ["bond0", "ip"]\n'
  printf '[stage.ip]\ntype = "stack"\naddress = "%s/24"\nnext = "v100"\n' "$3"
  shift 3
  printf '%s\n' "$@"
}
# 40 s of transfer at 100 KB/s: long enough for convergence, the spread
# check (up to 30 s) and the unplug/replug to all happen while it flows.
# The client's stack keeps a 64 KiB window: curl's --limit-rate reads what
# has arrived at once and then pauses until its average is back at the
# limit, so with the default window (1.25 MiB) it paused about 12 s per
# window, which its low-speed limit below (-Y/-y) took for a stall and
# restarted the transfer (curl fetched 108-225 MB for 64).
BODY=4000000
SRV=$(write_config la "
[kernel]
hugepages = false
file_prefix = \"la$TAG\"
$(bond_config "$A1" "$A2" 198.18.76.2 'http_port = 80' "http_body_bytes = $BODY")
")
start_oryxd la "$SRV"
CLI=$(write_config lb "
[kernel]
hugepages = false
file_prefix = \"lb$TAG\"
worker_lcores = \"1\"
[log]
file = \"$WORK/lb.oryx.log\"
$(bond_config "$B1" "$B2" 198.18.76.1 'receive_window = 65535')
")
unreachable_route 198.18.76.0/24
BOND_URL=$la_URL
source "$ORYX_SOURCE/plugins/bond/tests/bond_lib.sh"
# lacp_ok I: member I is selected, in sync, collecting and distributing on
# both sides (the partner's view as the member last heard it).
lacp_ok() {
  details "['members'][$1].get('lacp')" | $PY -c "
import ast, sys
l = ast.literal_eval(sys.stdin.read())
if l is None: sys.exit(1)  # not in the bond
need = {'synchronization', 'collecting', 'distributing'}
sys.exit(not (l['selection'] == 'selected' and need <= set(l['actor_state'])
              and need <= set(l['partner_state']) and l['partner_system'] != '00:00:00:00:00:00'))"
}
TX() { details "['members'][$1]['stats']['tx_packets']"; }
RX() { details "['members'][$1]['stats']['rx_packets']"; }

# Until LACP converges nothing passes: curl retries its connections every
# second (the stack's own SYN retransmission backs off to 3 s, 6 s, ...).
# A connection that lost segments while the two sides converged at
# different moments stalls in retransmission back-off; curl restarts a
# transfer slower than 20 KB/s for 3 s on a new connection (-Y/-y), so
# the spread check sees all 16 flowing. --parallel-immediate: without it
# curl may hold the other transfers back while its first connection is
# still being retried (to learn whether it could multiplex them).
log "curl under oryx run: 16 parallel fetches of 4 MB at 100 KB/s each"
URLS=()
for i in $(seq 16); do URLS+=(-o "$WORK/body$i" "http://198.18.76.2/$i"); done
"$ORYX_BUILD/kernel/preload/oryx" run --config "$CLI" -- \
  curl -sf -Z --parallel-immediate --parallel-max 16 --connect-timeout 1.5 --retry 15 --retry-delay 1 -m 90 -Y 20000 -y 3 \
  --limit-rate 100k "${URLS[@]}" \
  >"$WORK/curl.out" 2>&1 &
CURL=$!
_PIDS+=("$CURL")
wait_until 20 'lacp_ok 0 && lacp_ok 1' || fail "LACP did not converge: $(details "['members']")"
log "LACP: both members selected, collecting and distributing; partner $(details "['members'][0]['lacp']['partner_system']")"
"$ORYXCTL" -u "$la_URL" ports >"$WORK/ports.txt"
[ "$(grep -c "^  member oxla[12]$TAG: link up, active, lacp selected" "$WORK/ports.txt")" = 2 ] ||
  fail "oryxctl ports: $(cat "$WORK/ports.txt")"
wait_until 30 '[ "$(TX 0)" -gt 200 ] && [ "$(TX 1)" -gt 200 ] && [ "$(RX 0)" -gt 100 ] && [ "$(RX 1)" -gt 100 ]' ||
  fail "traffic not spread: tx $(TX 0)/$(TX 1), rx $(RX 0)/$(RX 1); kernel tx $(cat /sys/class/net/$A1/statistics/tx_packets)/$(cat /sys/class/net/$A2/statistics/tx_packets) rx $(cat /sys/class/net/$A1/statistics/rx_packets)/$(cat /sys/class/net/$A2/statistics/rx_packets)"
log "spread: member tx $(TX 0)/$(TX 1) rx $(RX 0)/$(RX 1)"

ip link set "$A2" down
wait_until 5 '[ "$(details "[\"active_members\"]")" = "['"'$A1'"']" ]' || fail "$A2 still active"
T1=$(TX 0)
wait_until 5 '[ "$(TX 0)" -gt $((T1 + 200)) ]' || fail "no traffic on $A1 after $A2 left: $(details "['members']")"
log "$A2 unplugged: active $(details "['active_members']"), traffic on $A1"
ip link set "$A2" up
wait_until 15 'lacp_ok 1' || fail "$A2 did not rejoin the aggregation: $(details "['members'][1]")"
T2=$(TX 1)
wait_until 5 '[ "$(TX 1)" -gt $((T2 + 100)) ]' || fail "no traffic on $A2 after it rejoined"
log "$A2 plugged in: selected, distributing and carrying traffic again"

wait "$CURL" || fail "curl under oryx run failed: $(cat "$WORK/curl.out")"
for i in $(seq 16); do
  [ "$(stat -c %s "$WORK/body$i")" = "$BODY" ] || fail "body $i is $(stat -c %s "$WORK/body$i") bytes"
done
grep -q "member $A2 has no carrier, out of the bond" "$WORK/la.log" || fail "the carrier loss was not logged"
V() { api "$la_URL" /api/v1/stats | json "j['stages']['$1']['counters']['$2']"; }
[ "$(V v100 rx_packets)" -gt 10000 ] && [ "$(V trunk unknown_vid)" = 0 ] ||
  fail "VLAN 100 on the bond: rx $(V v100 rx_packets), unknown VID $(V trunk unknown_vid)"
log "16 x 4 MB complete over VLAN 100 on the bond; member tx $(TX 0)/$(TX 1) rx $(RX 0)/$(RX 1)"
stop_oryxd "$la_PID" || fail "oryxd exit status"
log "PASS"
