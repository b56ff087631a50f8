#!/usr/bin/env bash
# bond active-backup failover over two veth pairs (af_packet members;
# BOND_MODE=balance-alb runs the same in that mode). The namespace joins
# the peer ends in a Linux bridge, as a switch would.
# A TCP echo stream and a ping train keep going while the active member's
# cable is pulled (its peer end goes down: the member loses carrier) and
# plugged in again: the stream is byte-exact with no reset, ping loss is
# bounded, the failovers are counted, logged and announced (RARP), traffic returns to the
# primary, and /api/v1/ports shows which member carries traffic.
source "$(dirname "$0")/lib.sh"

NS=oxbf$TAG
M1=oxf1$TAG M2=oxf2$TAG
ip netns add "$NS"
_NAMESPACES+=("$NS")
ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$NS" ip link add br0 type bridge
for i in 1 2; do
  m=oxf$i$TAG
  ip link add "$m" type veth peer name p$i netns "$NS"
  _LINKS+=("$m")
  sysctl -qw "net.ipv6.conf.$m.disable_ipv6=1"
  ethtool -K "$m" tx off rx off >/dev/null 2>&1 || true
  ip netns exec "$NS" ethtool -K p$i tx off rx off >/dev/null 2>&1 || true
  ip netns exec "$NS" ip link set p$i master br0
  ip netns exec "$NS" ip link set p$i up
  ip link set "$m" up
done
ip netns exec "$NS" ip addr add 198.18.75.1/24 dev br0
ip netns exec "$NS" ip link set br0 up
ip netns exec "$NS" ip link set lo up

CFG=$(write_config bf "
[kernel]
hugepages = false
file_prefix = \"bf$TAG\"
[stage.bond0]
type = \"bond\"
mode = \"${BOND_MODE:-active-backup}\"
member_driver = \"af_packet\"
members = [\"$M1\", \"$M2\"]
primary = \"$M1\"
mac = \"02:00:c6:12:4b:02\"
link_monitoring_ms = 50
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"198.18.75.2/24\"
tcp_echo_port = 7
next = \"bond0\"
")
start_oryxd bf "$CFG"
BOND_URL=$bf_URL
source "$ORYX_SOURCE/plugins/bond/tests/bond_lib.sh"

wait_until 10 'ip netns exec "$NS" ping -c 1 -W 1 198.18.75.2 >/dev/null' || fail "no ping through the bond"
[ "$(details "['primary']")" = "$M1" ] || fail "primary is $(details "['primary']"), expected $M1"
[ "$(api "$bf_URL" /api/v1/ports | json "[p['mac'] for p in j if p['name'] == 'bond0'][0]")" = 02:00:C6:12:4B:02 ] ||
  fail "the bond does not have the configured MAC"
if [ "${BOND_MODE:-active-backup}" = active-backup ]; then  # alb answers ARP with member MACs
  ip netns exec "$NS" ip neigh show 198.18.75.2 | grepq -i 02:00:c6:12:4b:02 || fail "ARP: not the bond's MAC"
fi
[ "$(S active_members)" = 2 ] || fail "active_members = $(S active_members)"

log "TCP echo stream and ping train while $M1's cable is pulled and plugged in again"
start_traffic 198.18.75.2
sleep 2
ip netns exec "$NS" ip link set p1 down
wait_until 5 '[ "$(details "[\"primary\"]")" = "$M2" ]' || fail "traffic did not move to $M2"
[ "$(details "['members'][0]['link_up']")" = False ] || fail "$M1 still reported up"
log "$M1 unplugged: traffic on $(details "['primary']"), active $(details "['active_members']")"
sleep 2
ip netns exec "$NS" ip link set p1 up
wait_until 5 '[ "$(details "[\"primary\"]")" = "$M1" ]' || fail "traffic did not return to $M1"
log "$M1 plugged in: traffic on $(details "['primary']")"
check_traffic
wait_until 5 '[ "$(S active_members)" = 2 ]' || fail "active_members = $(S active_members)"
[ "$(S failovers)" = 2 ] || fail "failovers = $(S failovers), expected 2"
# Each failover announces the bond's MAC on the new member (3 RARP frames).
wait_until 2 '[ "$(S announcements)" = 6 ]' || fail "announcements = $(S announcements), expected 6"
[ "$(S member_link_changes)" = 2 ] || fail "member_link_changes = $(S member_link_changes), expected 2"
grep -q "member $M1 has no carrier, out of the bond" "$WORK/bf.log" || fail "the carrier loss was not logged"
grep -q "traffic moved from $M1 to $M2" "$WORK/bf.log" || fail "the failover was not logged"
grep -q "traffic moved from $M2 to $M1" "$WORK/bf.log" || fail "the failback was not logged"
log "6 MiB byte-exact, no reset; ping loss $LOSS%; failovers $(S failovers)"
stop_oryxd "$bf_PID" || fail "oryxd exit status"
log "PASS"
