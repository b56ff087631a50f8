#!/usr/bin/env bash
# bond basics (what works today; failover is plugins/bond/tests/active_backup.sh):
# Oryx's active-backup bond over two TAP members reaches a namespace
# (plugins/bond/tests/tap_hub_bond.sh). Ping and a byte-exact TCP echo stream cross
# the bond; the bond and its members are listed in /api/v1/ports with the
# primary, the active members and per-member counters; the backup member's
# link going down and up is seen, logged and counted without disturbing
# traffic.
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/bond/tests/tap_hub_bond.sh"

ip netns exec "$NS" ping -c 3 -i 0.2 -W 2 198.18.74.2 >/dev/null || fail "ping through the bond"
[ "$(details "['primary']")" = "$M1" ] || fail "primary is $(details "['primary']"), expected $M1"
[ "$(details "['mode']")" = active-backup ] || fail "mode $(details "['mode']")"
[ "$(details "['active_members']")" = "['$M1', '$M2']" ] || fail "active: $(details "['active_members']")"
api "$ab_URL" /api/v1/ports | json "sorted(p['name'] for p in j if p['kind'] == 'bond-member')" |
  grep -F "['bond0/$M1', 'bond0/$M2']" >/dev/null || fail "members are not listed as ports"

log "TCP echo stream across the bond while the backup member's link goes down and up"
ip netns exec "$NS" $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" --host 198.18.74.2 \
  --mib 4 --rate 2 >"$WORK/stream.out" 2>&1 &
STREAM=$!
_PIDS+=("$STREAM")
sleep 0.5
ip link set "$M2" down
wait_until 5 '[ "$(details "[\"members\"][1][\"link_up\"]")" = False ]' || fail "$M2 still reported up"
# The monitor samples every link_monitoring_ms: hold the link down until it
# has counted the change, or a quick "up" hides it.
wait_until 5 '[ "$(S member_link_changes)" -ge 1 ]' || fail "link down not counted"
ip link set "$M2" up
wait_until 5 '[ "$(S member_link_changes)" -ge 2 ]' || fail "member_link_changes = $(S member_link_changes)"
wait "$STREAM" || fail "echo stream: $(cat "$WORK/stream.out")"
grep -q "^ok 4194304" "$WORK/stream.out" || fail "echo stream: $(cat "$WORK/stream.out")"
grep -q "member $M2 link down" "$WORK/ab.log" || fail "the link change was not logged"
RX1=$(details "['members'][0]['stats']['rx_packets']")
[ "$RX1" -gt 1000 ] || fail "primary member received only $RX1 packets"
[ "$(S rx_packets)" -ge "$RX1" ] || fail "bond rx $(S rx_packets) < member rx $RX1"
log "4 MiB byte-exact; primary member rx $RX1, bond rx $(S rx_packets), link changes $(S member_link_changes)"
stop_oryxd "$ab_PID" || fail "oryxd exit status"
log "PASS"
