#!/usr/bin/env bash
# cni_stack.sh - a pod that opts into Oryx's user-space stack (CNI_ARGS
# ORYX_STACK=true): oryx-cni leaves its interface without a kernel
# address, writes the `oryx run` configuration that takes it by AF_XDP
# (the pod's address on the stack), and has the bridge send to it through
# the veth (where XDP sees frames) rather than into the pod. redis-server
# under `oryx run` with that configuration in the pod then serves a
# kernel pod's client on the same bridge (its kernel checksums what it
# sends: checksum_offload false), values intact; CHECK finds the address
# in the configuration; DEL removes the configuration with the rest.
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/kernel/cni/tests/cni_lib.sh"

CNI=$ORYX_BUILD/kernel/cni/oryx-cni
start_pods_oryxd cns
CONF_DIR=$WORK/pods
net_config() {
  printf '{"cniVersion": "1.1.0", "name": "stk%s", "type": "oryx-cni", "oryxd": "%s",
    "token_file": "%s", "bridge": "pods", "checksum_offload": false,
    "stack_config_dir": "%s", "stack_plugin_dir": "%s",
    "ipam": {"type": "host-local", "subnet": "198.18.36.0/24", "dataDir": "%s"}%s}' \
    "$TAG" "$URL" "$WORK/token" "$CONF_DIR" "$PLUGINS" "$WORK/ipam" "${1:+, $1}"
}
# cni COMMAND POD [CNI_ARGS] [CONFIG]: stdout to $WORK/POD.json.
# cni COMMAND POD [ARGS [CONFIG]]: the plugin's answer in WORK/POD.json; on
# failure its exit status and standard error are there too (a CHECK once
# failed with neither an answer nor a message, and did not again).
cni() {
  local rc=0
  env CNI_COMMAND="$1" CNI_CONTAINERID="c$2$TAG" CNI_NETNS="/var/run/netns/$2-$TAG" CNI_IFNAME=eth0 \
    CNI_PATH=/usr/lib/cni CNI_ARGS="IgnoreUnknown=1${3:+;$3}" "$CNI" <<<"${4:-$(net_config)}" \
    >"$WORK/$2.json" 2>"$WORK/$2.err" || rc=$?
  [ "$rc" -eq 0 ] && return 0
  printf '\n(exit status %s; stderr: %s)\n' "$rc" "$(cat "$WORK/$2.err")" >>"$WORK/$2.json"
  return "$rc"
}
for p in k s; do ip netns add "$p-$TAG"; _NAMESPACES+=("$p-$TAG"); done

log "a kernel pod and a pod on the user-space stack"
cni ADD k || fail "ADD k: $(cat "$WORK/k.json")"
_LINKS+=("$(json "j['interfaces'][0]['name']" <"$WORK/k.json")")
cni ADD s "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cache;ORYX_STACK=true" || fail "ADD s: $(cat "$WORK/s.json")"
HS=$(json "j['interfaces'][0]['name']" <"$WORK/s.json")
_LINKS+=("$HS")
S_IP=$(json "j['ips'][0]['address'].split('/')[0]" <"$WORK/s.json")
! ip netns exec "s-$TAG" ip -4 addr show eth0 | grepq inet || fail "the stack pod's kernel has an address"
STACK_CONF=$CONF_DIR/cs$TAG-eth0.toml
grepq "^address = \"$S_IP/24\"" "$STACK_CONF" || fail "configuration: $(cat "$STACK_CONF")"
grepq '^driver = "af_xdp"' "$STACK_CONF" || fail "no AF_XDP port in $STACK_CONF"
api "$URL" /api/v1/bridge | json "[p['redirect'] for p in j['bridges'][0]['ports'] if p['name'] == '$HS']" |
  grepq "'egress'" || fail "the bridge sends into the stack pod's namespace"
ip netns exec "k-$TAG" ethtool -k eth0 | grepq "tx-checksumming: off" ||
  fail "the kernel pod still offloads its checksums"

log "redis under oryx run in the stack pod serves the kernel pod"
ip netns exec "s-$TAG" "$ORYX_BUILD/kernel/preload/oryx" run --config "$STACK_CONF" -- \
  redis-server --bind "$S_IP" --port 6379 --save "" --appendonly no --protected-mode no --logfile "" \
  >"$WORK/redis.log" 2>&1 &
_PIDS+=($!)
REDIS=$!
wait_until 20 '[ "$(ip netns exec k-$TAG timeout 2 redis-cli -h $S_IP ping 2>/dev/null)" = PONG ]' ||
  fail "redis on the stack pod does not answer (log: $(tail -3 "$WORK/redis.log"))"
VALUE=$(head -c 3000 /dev/urandom | base64 -w0)
ip netns exec "k-$TAG" redis-cli -h "$S_IP" set key "$VALUE" | grepq OK || fail "SET"
[ "$(ip netns exec "k-$TAG" redis-cli -h "$S_IP" get key)" = "$VALUE" ] || fail "GET gave another value"
log "  SET/GET of 4 KB through the bridge into the pod's stack"

log "CHECK and DEL"
CHECK_CFG=$(python3 -c "import json,sys; c=json.loads(sys.argv[1]); c['prevResult']=json.load(open(sys.argv[2])); print(json.dumps(c))" "$(net_config)" "$WORK/s.json")
cni CHECK s "ORYX_STACK=true" "$CHECK_CFG" || fail "CHECK of the stack pod: $(cat "$WORK/s.json")"
kill -TERM "$REDIS"
wait "$REDIS" 2>/dev/null || true
cni DEL s "ORYX_STACK=true" || fail "DEL s: $(cat "$WORK/s.json")"
[ ! -e "$STACK_CONF" ] || fail "DEL left $STACK_CONF"
cni DEL k || fail "DEL k"
stop_oryxd "$cns_PID" || fail "oryxd exit status $?"
log "PASS"
