#!/usr/bin/env bash
# cni_sockmap.sh - a pod's cgroup joins oryxd's sockmap service through
# oryx-cni (the runtime's runtimeConfig.cgroupPath, the CNI conventions'
# cgroupPath capability): after ADD the service lists it and TCP between
# two pods whose processes are in it goes socket to socket (bytes
# redirected); DEL detaches it. The sockmap API's own answers: a cgroup
# twice (409), one that does not exist (404), a configured one (none here),
# bad bodies (400).
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/kernel/cni/tests/cni_lib.sh"
source "$ORYX_SOURCE/plugins/sockmap/tests/sockmap_lib.sh"

CNI=$ORYX_BUILD/kernel/cni/oryx-cni
make_cgroup POD_CG "oryx-e2e-cnisock-$TAG"
remove_pins_at_exit "/sys/fs/bpf/oryx/cnk$TAG/mesh"
start_pods_oryxd cnk "[service.mesh]
type = \"sockmap\"
cgroups = []"
H="Authorization: Bearer test-token-$TAG"
net_config() {
  printf '{"cniVersion": "1.1.0", "name": "smk%s", "type": "oryx-cni", "oryxd": "%s",
    "token_file": "%s", "bridge": "pods", "sockmap": "mesh",
    "capabilities": {"cgroupPath": true}, "runtimeConfig": {"cgroupPath": "/oryx-e2e-cnisock-%s"},
    "ipam": {"type": "host-local", "subnet": "198.18.38.0/24", "dataDir": "%s"}}' \
    "$TAG" "$URL" "$WORK/token" "$TAG" "$WORK/ipam"
}
cni() {  # cni COMMAND POD: stdout to $WORK/POD.json
  env CNI_COMMAND="$1" CNI_CONTAINERID="c$2$TAG" CNI_NETNS="/var/run/netns/$2-$TAG" CNI_IFNAME=eth0 \
    CNI_PATH=/usr/lib/cni CNI_ARGS="IgnoreUnknown=1" "$CNI" <<<"$(net_config)" >"$WORK/$2.json"
}
cgroups() { api "$URL" /api/v1/sockmap | json "j['services'][0]['cgroups']"; }
# in_pod POD CMD...: CMD in the pod's namespace and the pod's cgroup
# (joined first: `ip netns exec` remounts /sys), as this shell's process
# (exec), so that the PID a background call leaves in $! is CMD's.
in_pod() {
  local pod=$1
  shift
  exec bash -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$@"' "$POD_CG" "$pod-$TAG" "$@"
}
for p in e f; do ip netns add "$p-$TAG"; _NAMESPACES+=("$p-$TAG"); done

log "ADD: the pods' cgroup joins the sockmap service"
[ "$(cgroups)" = "[]" ] || fail "cgroups before ADD: $(cgroups)"
cni ADD e || fail "ADD e: $(cat "$WORK/e.json")"
_LINKS+=("$(json "j['interfaces'][0]['name']" <"$WORK/e.json")")
cni ADD f || fail "ADD f (the same cgroup again is fine): $(cat "$WORK/f.json")"
_LINKS+=("$(json "j['interfaces'][0]['name']" <"$WORK/f.json")")
cgroups | grepq "$POD_CG" || fail "cgroups after ADD: $(cgroups)"
F_IP=$(json "j['ips'][0]['address'].split('/')[0]" <"$WORK/f.json")

log "TCP between the pods goes socket to socket"
in_pod f "$ORYX_BUILD/bench/loadgen" --server 7 >"$WORK/server.log" 2>&1 &
SERVER=$!
_PIDS+=("$SERVER")
wait_until 5 'ip netns exec e-$TAG bash -c "exec 3<>/dev/tcp/$F_IP/7" 2>/dev/null' || fail "no server in pod f"
OUT=$(in_pod e "$ORYX_BUILD/bench/loadgen" --connect "$F_IP:7" --connections 2 --size 64 --seconds 1 --json) ||
  fail "client: $OUT"
wait_until 3 '[ "$(sm_counter "$URL" mesh bytes_redirected)" -gt 0 ]' ||
  fail "sockmap redirected nothing between the pods"
log "  $(sm_counter "$URL" mesh bytes_redirected) bytes redirected"

log "the sockmap API's answers"
post() { curl -s -o "$WORK/answer.json" -w '%{http_code}' -X POST -H "$H" "$URL/api/v1/sockmap/mesh/cgroups" -d "$1"; }
[ "$(post "{\"cgroup\": \"oryx-e2e-cnisock-$TAG\"}")" = 409 ] || fail "a cgroup twice: $(cat "$WORK/answer.json")"
[ "$(post '{"cgroup": "nosuch-cgroup"}')" = 404 ] || fail "a missing cgroup: $(cat "$WORK/answer.json")"
[ "$(post '{"path": 1}')" = 400 ] || fail "a bad body: $(cat "$WORK/answer.json")"
del_cg() { curl -s -o "$WORK/answer.json" -w '%{http_code}' -X DELETE -H "$H" "$URL/api/v1/sockmap/mesh/cgroups$1"; }
[ "$(del_cg "")" = 400 ] || fail "DELETE without ?cgroup: $(cat "$WORK/answer.json")"
[ "$(del_cg "?cgroup=not-attached")" = 404 ] || fail "DELETE of a cgroup not attached: $(cat "$WORK/answer.json")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/v1/sockmap/mesh/cgroups" -d '{"cgroup": "x"}')" = 401 ] ||
  fail "POST without the token"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$H" "$URL/api/v1/sockmap/nosuch/cgroups" -d '{"cgroup": "x"}')" = 404 ] ||
  fail "an unknown service"

log "DEL detaches the cgroup"
kill -TERM "$SERVER"
wait "$SERVER" 2>/dev/null || true
cni DEL e || fail "DEL e: $(cat "$WORK/e.json")"
[ "$(cgroups)" = "[]" ] || fail "cgroups after DEL: $(cgroups)"
cni DEL f || fail "DEL f (the cgroup is detached already): $(cat "$WORK/f.json")"
stop_oryxd "$cnk_PID" || fail "oryxd exit status $?"
log "PASS"
