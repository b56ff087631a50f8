#!/usr/bin/env bash
# cni_spec.sh - oryx-cni driven as the CNI specification (1.1.0) defines:
# CNI_* variables and the network configuration on stdin, the result or
# an error with its code on stdout. Against a real oryxd whose ebpf_bridge
# service starts with no port, with host-local (Debian's
# containernetworking-plugins) as IPAM:
#   VERSION; ADD of two pods that then reach each other through the
#   bridge (result per the spec, the host ends ports of the bridge); a
#   second ADD refused (100) with the first pod unharmed; CHECK passes,
#   and fails (101) once the pod's interface is deleted; DEL removes the
#   veth, the bridge port and the address lease, and a second DEL and a DEL
#   of something unknown succeed; GC removes what is not in
#   cni.dev/valid-attachments; chained after ptp (only the port is its);
#   a 0.4.0 result; STATUS; and the error codes
#   for bad input: 1, 2, 4, 6, 7, 50.
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/kernel/cni/tests/cni_lib.sh"

CNI=$ORYX_BUILD/kernel/cni/oryx-cni
IPAM_DIR=/usr/lib/cni
[ -x "$IPAM_DIR/host-local" ] || fail "host-local missing: run make deps (containernetworking-plugins)"
start_pods_oryxd cni
net_config() {  # net_config [VERSION [EXTRA-JSON-FIELDS]]
  printf '{"cniVersion": "%s", "name": "pods%s", "type": "oryx-cni", "oryxd": "%s",
    "token_file": "%s", "bridge": "pods", "ipam": {"type": "host-local",
    "subnet": "198.18.31.0/24", "dataDir": "%s"}%s}' \
    "${1:-1.1.0}" "$TAG" "$URL" "$WORK/token" "$WORK/ipam" "${2:+, $2}"
}
# cni COMMAND CONTAINER POD [CONFIG]: runs the plugin (with the pod's
# Kubernetes name in CNI_ARGS, as kubelet's runtime passes it); stdout to
# $WORK/out.json, prints the exit status.
cni() {
  local rc=0
  env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="${3:+/var/run/netns/$3}" CNI_IFNAME=eth0 \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=${3%%-*}-pod" \
    CNI_PATH="$IPAM_DIR" "$CNI" <<<"${4:-$(net_config)}" >"$WORK/out.json" || rc=$?
  echo "$rc"
}
code() { json "j.get('code')" <"$WORK/out.json"; }
expect_error() {  # expect_error CODE WHAT COMMAND-RESULT
  [ "$3" = 1 ] && [ "$(code)" = "$1" ] || fail "$2: exit $3, $(cat "$WORK/out.json")"
}
host_of() { json "j['interfaces'][0]['name']" <"$1"; }
pod() { ip netns add "$1-$TAG"; _NAMESPACES+=("$1-$TAG"); }

log "VERSION and --help"
[ "$(cni VERSION "" "")" = 0 ] || fail "VERSION failed"
json "j['supportedVersions']" <"$WORK/out.json" | grepq "'1.1.0'" || fail "VERSION: $(cat "$WORK/out.json")"
"$CNI" --help | grepq "CNI_COMMAND" || fail "--help"

log "ADD: two pods on the bridge"
pod a; pod b
[ "$(cni ADD ca$TAG a-$TAG)" = 0 ] || fail "ADD a: $(cat "$WORK/out.json")"
cp "$WORK/out.json" "$WORK/a.json"
_LINKS+=("$(host_of "$WORK/a.json")")
json "(j['cniVersion'], j['ips'][0]['address'], j['ips'][0]['interface'], j['interfaces'][1]['name'], j['interfaces'][1]['sandbox'])" \
  <"$WORK/a.json" | grepq "('1.1.0', '198.18.31.2/24', 1, 'eth0', '/var/run/netns/a-$TAG')" ||
  fail "ADD's result: $(cat "$WORK/a.json")"
[ "$(cni ADD cb$TAG b-$TAG)" = 0 ] || fail "ADD b: $(cat "$WORK/out.json")"
cp "$WORK/out.json" "$WORK/b.json"
_LINKS+=("$(host_of "$WORK/b.json")")
ip netns exec "b-$TAG" ip -br addr show eth0 | grepq 198.18.31.3/24 || fail "pod b has no address"
wait_until 5 'ip netns exec a-$TAG ping -c 1 -W 1 198.18.31.3 >/dev/null' ||
  fail "pod a does not reach pod b through the bridge"
HA=$(host_of "$WORK/a.json")
[ "$(cat "/sys/class/net/$HA/ifalias")" = "oryx-cni ca$TAG eth0 /var/run/netns/a-$TAG 198.18.31.2/24 shop/a-pod" ] ||
  fail "alias of $HA: $(cat "/sys/class/net/$HA/ifalias")"
log "the dashboard's pods table (chromium) shows both pods as the API does"
[ -d "$ORYX_SOURCE/tests/webui/node_modules/playwright-core" ] || fail "playwright-core missing: run make deps"
mkdir -p "$WORK/screens"
(cd "$ORYX_SOURCE/tests/webui" && timeout 60 node pods.mjs "$URL" "$WORK/screens/dashboard-pods.png") ||
  fail "the pods table differs from the API"
[ -z "${ORYX_SCREENSHOT_DIR:-}" ] || cp "$WORK/screens/dashboard-pods.png" "$ORYX_SCREENSHOT_DIR/"
PORTS=$(api "$URL" /api/v1/bridge | json "sorted(p['name'] for p in j['bridges'][0]['ports'] if p['added'])")
[ "$PORTS" = "$(python3 -c "print(sorted(['$(host_of "$WORK/a.json")', '$(host_of "$WORK/b.json")']))")" ] ||
  fail "bridge ports: $PORTS"

log "a second ADD is refused and harms nothing"
expect_error 100 "second ADD" "$(cni ADD ca$TAG a-$TAG)"
ip netns exec "a-$TAG" ping -c 1 -W 1 198.18.31.3 >/dev/null || fail "pod a lost its network to a second ADD"

log "CHECK, and CHECK after the pod's interface is gone"
CHECK_CFG=$(python3 -c "import json,sys; c=json.loads(sys.argv[1]); c['prevResult']=json.load(open(sys.argv[2])); print(json.dumps(c))" "$(net_config)" "$WORK/b.json")
[ "$(cni CHECK cb$TAG b-$TAG "$CHECK_CFG")" = 0 ] || fail "CHECK: $(cat "$WORK/out.json")"
ip netns exec "b-$TAG" ip link del eth0
expect_error 101 "CHECK of a deleted veth" "$(cni CHECK cb$TAG b-$TAG "$CHECK_CFG")"

log "DEL: veth, port and lease gone; DEL again and DEL of the unknown succeed"
[ "$(cni DEL cb$TAG b-$TAG)" = 0 ] || fail "DEL b: $(cat "$WORK/out.json")"
[ "$(cni DEL cb$TAG b-$TAG)" = 0 ] || fail "second DEL: $(cat "$WORK/out.json")"
[ "$(cni DEL nosuch$TAG "")" = 0 ] || fail "DEL of an unknown container: $(cat "$WORK/out.json")"
! ip link show "$(host_of "$WORK/b.json")" >/dev/null 2>&1 || fail "the host end of b is still there"
! grep -rqs "cb$TAG" "$WORK/ipam" || fail "b's lease is still held"
api "$URL" /api/v1/bridge | json "[p['name'] for p in j['bridges'][0]['ports']]" |
  grepq "$(host_of "$WORK/b.json")" && fail "b's port is still on the bridge"

log "GC: attachments not listed as valid go"
pod c
[ "$(cni ADD cc$TAG c-$TAG)" = 0 ] || fail "ADD c: $(cat "$WORK/out.json")"
cp "$WORK/out.json" "$WORK/c.json"
_LINKS+=("$(host_of "$WORK/c.json")")
GC_CFG=$(net_config 1.1.0 "\"cni.dev/valid-attachments\": [{\"containerID\": \"cc$TAG\", \"ifname\": \"eth0\"}]")
[ "$(env CNI_COMMAND=GC CNI_PATH="$IPAM_DIR" "$CNI" <<<"$GC_CFG" >"$WORK/out.json"; echo $?)" = 0 ] ||
  fail "GC: $(cat "$WORK/out.json")"
! ip link show "$(host_of "$WORK/a.json")" >/dev/null 2>&1 || fail "GC left a's host end"
ip link show "$(host_of "$WORK/c.json")" >/dev/null || fail "GC removed c, a valid attachment"
! grep -rqs "ca$TAG" "$WORK/ipam" || fail "GC left a's lease"
grep -rqs "cc$TAG" "$WORK/ipam" || fail "GC released c's lease"

log "chained after Debian's ptp plugin: its host end joins the bridge, the result passes through"
pod p
PTP_CFG='{"cniVersion": "1.0.0", "name": "ptp'$TAG'", "type": "ptp", "ipam": {"type": "host-local", "subnet": "198.18.37.0/24", "dataDir": "'$WORK/ipam'"}}'
env CNI_COMMAND=ADD CNI_CONTAINERID=cp$TAG CNI_NETNS=/var/run/netns/p-$TAG CNI_IFNAME=eth0 CNI_PATH="$IPAM_DIR" \
  "$IPAM_DIR/ptp" <<<"$PTP_CFG" >"$WORK/ptp.json" || fail "ptp ADD: $(cat "$WORK/ptp.json")"
PTP_HOST=$(json "[i['name'] for i in j['interfaces'] if 'sandbox' not in i][0]" <"$WORK/ptp.json")
_LINKS+=("$PTP_HOST")
CHAIN_CFG=$(python3 -c "import json,sys; c=json.loads(sys.argv[1]); c['prevResult']=json.load(open(sys.argv[2])); print(json.dumps(c))" \
  "$(net_config 1.0.0 | python3 -c "import json,sys; c=json.load(sys.stdin); del c['ipam']; print(json.dumps(c))")" "$WORK/ptp.json")
[ "$(cni ADD cp$TAG p-$TAG "$CHAIN_CFG")" = 0 ] || fail "chained ADD: $(cat "$WORK/out.json")"
json "[i['name'] for i in j['interfaces']]" <"$WORK/out.json" | grepq "'$PTP_HOST'" ||
  fail "chained ADD changed the result: $(cat "$WORK/out.json")"
api "$URL" /api/v1/bridge | json "[p['name'] for p in j['bridges'][0]['ports']]" | grepq "'$PTP_HOST'" ||
  fail "ptp's host end $PTP_HOST is not a bridge port"
[ "$(cni CHECK cp$TAG p-$TAG "$CHAIN_CFG")" = 0 ] || fail "chained CHECK: $(cat "$WORK/out.json")"
[ "$(cni DEL cp$TAG p-$TAG "$CHAIN_CFG")" = 0 ] || fail "chained DEL: $(cat "$WORK/out.json")"
api "$URL" /api/v1/bridge | json "[p['name'] for p in j['bridges'][0]['ports']]" | grepq "'$PTP_HOST'" &&
  fail "chained DEL left the port"
ip link show "$PTP_HOST" >/dev/null || fail "chained DEL removed ptp's interface, which is ptp's"
env CNI_COMMAND=DEL CNI_CONTAINERID=cp$TAG CNI_NETNS=/var/run/netns/p-$TAG CNI_IFNAME=eth0 CNI_PATH="$IPAM_DIR" \
  "$IPAM_DIR/ptp" <<<"$PTP_CFG" >/dev/null || fail "ptp DEL"

log "a 0.4.0 configuration gets a 0.4.0 result; STATUS"
pod d
[ "$(cni ADD cd$TAG d-$TAG "$(net_config 0.4.0)")" = 0 ] || fail "ADD 0.4.0: $(cat "$WORK/out.json")"
_LINKS+=("$(host_of "$WORK/out.json")")
json "(j['cniVersion'], j['ips'][0]['version'])" <"$WORK/out.json" | grepq "('0.4.0', '4')" ||
  fail "0.4.0 result: $(cat "$WORK/out.json")"
[ "$(cni DEL cd$TAG d-$TAG "$(net_config 0.4.0)")" = 0 ] || fail "DEL 0.4.0"
[ "$(cni STATUS "" "")" = 0 ] || fail "STATUS: $(cat "$WORK/out.json")"

log "bad input: the specification's codes"
expect_error 4 "no CNI_COMMAND" "$(env -u CNI_COMMAND "$CNI" <<<"$(net_config)" >"$WORK/out.json"; echo $?)"
expect_error 4 "unknown command" "$(cni FROB ce$TAG a-$TAG)"
expect_error 6 "not JSON" "$(cni ADD ce$TAG a-$TAG 'not json')"
expect_error 7 "no cniVersion" "$(cni ADD ce$TAG a-$TAG '{"name": "x", "type": "oryx-cni"}')"
expect_error 1 "unknown version" "$(cni ADD ce$TAG a-$TAG "$(net_config 9.9.9)")"
expect_error 2 "unknown field" "$(cni ADD ce$TAG a-$TAG "$(net_config 1.1.0 '"colour": "blue"')")"
expect_error 7 "no ipam (and no prevResult to chain on)" "$(cni ADD ce$TAG a-$TAG "$(net_config | python3 -c "import json,sys; c=json.load(sys.stdin); del c['ipam']; print(json.dumps(c))")")"
expect_error 7 "an MTU out of range" "$(cni ADD ce$TAG a-$TAG "$(net_config 1.1.0 '"mtu": 5')")"
expect_error 7 "checksum_offload not a boolean" "$(cni ADD ce$TAG a-$TAG "$(net_config 1.1.0 '"checksum_offload": "no"')")"
expect_error 4 "a netns that does not exist" "$(cni ADD ce$TAG nosuch-$TAG)"
expect_error 4 "a bad container ID" "$(cni ADD '-x' a-$TAG)"
expect_error 50 "an unknown bridge" "$(cni ADD ce$TAG a-$TAG "$(net_config | sed 's/"bridge": "pods"/"bridge": "nosuch"/')")"
stop_oryxd "$cni_PID" || fail "oryxd exit status $?"
expect_error 50 "STATUS with oryxd down" "$(cni STATUS "" "")"
log "PASS"
