# SPDX-License-Identifier: Apache-2.0
# tap_hub_bond.sh - sourced by the bond tests after tests/e2e/lib.sh: an
# oryxd ("ab") whose active-backup bond "bond0" over the TAP members $M1
# and $M2 (primary $M1) carries a stack at 198.18.74.2 with TCP echo, and a
# namespace $NS at 198.18.74.1 joined to both members through a "hub" of
# tc mirred actions on the test's own interfaces (a Linux bridge would keep
# frames for Oryx's MAC: DPDK's TAP driver gives the kernel side of a TAP
# the port's own MAC). Sources bond_lib.sh for that oryxd.
NS=oxab$TAG
M1=oxt1$TAG M2=oxt2$TAG HUB=oxbv$TAG
make_ns "$NS" "$HUB" 198.18.74.1/24
CFG=$(write_config ab "
[kernel]
hugepages = false
file_prefix = \"ab$TAG\"
[stage.bond0]
type = \"bond\"
mode = \"active-backup\"
member_driver = \"tap\"
members = [\"$M1\", \"$M2\"]
primary = \"$M1\"
link_monitoring_ms = 50
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"198.18.74.2/24\"
tcp_echo_port = 7
next = \"bond0\"
")
start_oryxd ab "$CFG"
_LINKS+=("$M1" "$M2")
# Frames from the namespace go to both members (only the active one is
# read); frames either member sends go to the namespace.
for m in "$M1" "$M2"; do
  sysctl -qw "net.ipv6.conf.$m.disable_ipv6=1"
  tc qdisc add dev "$m" ingress
  tc filter add dev "$m" ingress protocol all u32 match u32 0 0 action mirred egress redirect dev "$HUB"
done
tc qdisc add dev "$HUB" ingress
tc filter add dev "$HUB" ingress protocol all u32 match u32 0 0 \
  action mirred egress mirror dev "$M1" pipe action mirred egress redirect dev "$M2"
BOND_URL=$ab_URL
source "$ORYX_SOURCE/plugins/bond/tests/bond_lib.sh"
