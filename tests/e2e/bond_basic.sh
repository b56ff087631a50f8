#!/usr/bin/env bash
# bond basics over TAP members: Oryx's active-backup bond over two TAP
# members reaches a namespace (plugins/bond/tests/tap_hub_bond.sh). Ping and
# a byte-exact TCP echo stream cross the bond; the bond and its members are
# listed in /api/v1/ports with the primary, the active members and
# per-member counters. During the stream the backup member's link goes
# down and up (seen, logged, counted, traffic undisturbed), then the active
# member's (traffic fails over to the backup and back to the primary).
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/bond/tests/tap_hub_bond.sh"

ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 198.18.74.2 >/dev/null || fail "ping through the bond"
[ "$(details "['primary']")" = "$M1" ] || fail "primary is $(details "['primary']"), expected $M1"
[ "$(details "['mode']")" = active-backup ] || fail "mode $(details "['mode']")"
[ "$(details "['active_members']")" = "['$M1', '$M2']" ] || fail "active: $(details "['active_members']")"
api "$ab_URL" /api/v1/ports | json "sorted(p['name'] for p in j if p['kind'] == 'bond-member')" |
  grep -F "['bond0/$M1', 'bond0/$M2']" >/dev/null || fail "members are not listed as ports"

log "TCP echo stream and ping train while the backup, then the active member's link goes down and up"
start_traffic 198.18.74.2
sleep 0.5
ip link set "$M2" down
wait_until 5 '[ "$(details "[\"members\"][1][\"link_up\"]")" = False ]' || fail "$M2 still reported up"
# The monitor samples every link_monitoring_ms: hold the link down until it
# has counted the change, or a quick "up" hides it.
wait_until 5 '[ "$(S member_link_changes)" -ge 1 ]' || fail "link down not counted"
[ "$(details "['primary']")" = "$M1" ] || fail "the backup's link moved traffic"
ip link set "$M2" up
wait_until 5 '[ "$(S active_members)" = 2 ]' || fail "$M2 did not come back"
sleep 1
ip link set "$M1" down
wait_until 5 '[ "$(details "[\"primary\"]")" = "$M2" ]' || fail "traffic did not move to $M2"
log "$M1 down: traffic on $(details "['primary']"), active $(details "['active_members']")"
sleep 1.5
ip link set "$M1" up
wait_until 5 '[ "$(details "[\"primary\"]")" = "$M1" ]' || fail "traffic did not return to $M1"
check_traffic
grep -q "member $M2 link down" "$WORK/ab.log" || fail "the link change was not logged"
grep -q "traffic moved from $M1 to $M2" "$WORK/ab.log" || fail "the failover was not logged"
[ "$(S failovers)" = 2 ] || fail "failovers = $(S failovers), expected 2"
[ "$(S member_link_changes)" = 4 ] || fail "member_link_changes = $(S member_link_changes), expected 4"
RX1=$(details "['members'][0]['stats']['rx_packets']")
RX2=$(details "['members'][1]['stats']['rx_packets']")
[ "$RX1" -gt 1000 ] && [ "$RX2" -gt 100 ] || fail "members received $RX1 and $RX2 packets"
[ "$(S rx_packets)" -ge $((RX1 + RX2)) ] || fail "bond rx $(S rx_packets) < members' $((RX1 + RX2))"
log "6 MiB byte-exact; ping loss $LOSS%; member rx $RX1 + $RX2, bond rx $(S rx_packets); failovers 2"
stop_oryxd "$ab_PID" || fail "oryxd exit status"
log "PASS"
