#!/usr/bin/env bash
# cni_podman.sh - a real container runtime on Oryx's CNI plugin: podman
# (Debian's, with its CNI network backend and runc) runs containers from a
# local root filesystem (busybox; nothing is pulled) on a network whose
# only plugin is oryx-cni. A server container and a client container get
# addresses from host-local, reach each other through oryxd's eBPF
# bridge (ping, and bytes echoed over TCP), their host ends are ports the
# bridge added and its forwarding table learns them, and their TCP goes
# socket to socket through oryxd's sockmap service on the containers'
# cgroup parent; when the containers go, podman's DEL leaves no veth, no
# bridge port, no address lease and no tracked socket. podman keeps its
# state under the test's directory (--root, --runroot, a cgroup parent of
# the test's own).
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/kernel/cni/tests/cni_lib.sh"
source "$ORYX_SOURCE/plugins/sockmap/tests/sockmap_lib.sh"

for tool in podman runc busybox; do
  command -v $tool >/dev/null || fail "$tool missing: run make deps"
done
NET=oryx$TAG
# The containers' cgroup parent, the sockmap service's cgroup. runc also
# makes it in each cgroup v1 hierarchy of this hybrid machine, and podman
# a conmon cgroup under it: removed at exit, deepest first.
make_cgroup PODS "oryx-e2e-podman-$TAG"
v1_parents_cleanup() {
  for d in /sys/fs/cgroup/*/"oryx-e2e-podman-$TAG"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}
_CLEANUP_HOOKS+=(v1_parents_cleanup)
start_pods_oryxd cnp "[service.mesh]
type = \"sockmap\"
cgroups = [\"$PODS\"]"

ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin" "$WORK/net.d" "$WORK/ipam"
cp "$(command -v busybox)" "$ROOTFS/bin/"
for c in sh ping nc cat ip echo sleep; do ln -s busybox "$ROOTFS/bin/$c"; done
cat >"$WORK/net.d/10-$NET.conflist" <<CONF
{"cniVersion": "1.0.0", "name": "$NET",
 "plugins": [{"type": "oryx-cni", "oryxd": "$URL", "token_file": "$WORK/token", "bridge": "pods",
              "ipam": {"type": "host-local", "subnet": "198.18.33.0/24", "dataDir": "$WORK/ipam"}}]}
CONF
# This machine's cgroups are hybrid (v1 controllers, v2 beside them),
# which crun refuses: runc. Its rlimits may not exceed this process's.
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$ORYX_BUILD/kernel/cni", "/usr/lib/cni"]
network_config_dir = "$WORK/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
export CONTAINERS_CONF=$WORK/containers.conf
# The vfs storage driver mounts nothing (overlay would mount its home
# under the test's directory).
PM=(podman --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs
    --cni-config-dir "$WORK/net.d")
# podman makes the (empty) lease directory of its default network in
# /var/lib/cni/networks however it is configured: removed if it made it.
PODMAN_LEASES=/var/lib/cni/networks/podman
[ -e "$PODMAN_LEASES" ] && PODMAN_LEASES=""
podman_cleanup() {
  "${PM[@]}" rm -f -t 0 --all >/dev/null 2>&1 || true
  [ -z "$PODMAN_LEASES" ] || rmdir "$PODMAN_LEASES" 2>/dev/null || true
  findmnt -R -n -o TARGET "$WORK" 2>/dev/null | sort -r | xargs -r -n1 umount 2>/dev/null || true
}
_CLEANUP_HOOKS+=(podman_cleanup)
ports() { api "$URL" /api/v1/bridge | json "sorted(p['name'] for p in j['bridges'][0]['ports'])"; }
port_count() { api "$URL" /api/v1/bridge | json "len(j['bridges'][0]['ports'])"; }

"${PM[@]}" network ls --format '{{.Name}} {{.Driver}}' | grepq "^$NET oryx-cni$" ||
  fail "podman does not see the network: $("${PM[@]}" network ls 2>&1)"

log "a server container and a client container on the eBPF bridge"
RUN=(run --cgroup-parent "/oryx-e2e-podman-$TAG" --network "$NET")
"${PM[@]}" "${RUN[@]}" -d --name srv$TAG --rootfs "$ROOTFS" \
  /bin/sh -c "while true; do nc -l -p 7000 -e /bin/cat; done" >"$WORK/srv.id" ||
  fail "podman run (server) failed"
SRV_IP=$("${PM[@]}" inspect srv$TAG --format "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}")
[ -n "$SRV_IP" ] || fail "the server container has no address"
[ "$(port_count)" = 1 ] || fail "bridge ports: $(ports)"
OUT=$(timeout 60 "${PM[@]}" "${RUN[@]}" --rm --rootfs "$ROOTFS" /bin/sh -c \
  "ping -c 1 -W 2 $SRV_IP >/dev/null && echo reached; echo bytes-through-oryx | nc -w 2 $SRV_IP 7000") ||
  fail "client container: $OUT"
[ "$OUT" = "reached
bytes-through-oryx" ] || fail "client container said: $OUT"
log "  client reached $SRV_IP and got its bytes echoed"
SRV_MAC=$("${PM[@]}" inspect srv$TAG --format "{{(index .NetworkSettings.Networks \"$NET\").MacAddress}}")
api "$URL" /api/v1/bridge/fdb | json "[e['mac'] for e in j['entries']]" | grepq "$SRV_MAC" ||
  fail "the bridge did not learn the server's MAC $SRV_MAC"
# The service publishes its counters every 250 ms.
wait_until 3 '[ "$(api "$URL" /api/v1/stats | json "j[\"stages\"][\"pods\"][\"counters\"][\"forwarded\"]")" -gt 0 ]' ||
  fail "the bridge forwarded nothing"

wait_until 3 '[ "$(sm_counter "$URL" mesh bytes_redirected)" -gt 0 ]' ||
  fail "sockmap redirected nothing between the containers"
log "  sockmap redirected $(sm_counter "$URL" mesh bytes_redirected) bytes between them"

log "containers gone: no veth, port, lease or tracked socket left"
# The client's DEL ran when it exited (--rm); the server's now. Its host
# end, by name: other tests' pods may be on this host meanwhile.
SRV_HOST=$(api "$URL" /api/v1/bridge | json "j['bridges'][0]['ports'][0]['name']")
"${PM[@]}" rm -f -t 0 srv$TAG >/dev/null || fail "podman rm"
[ "$(ports)" = "[]" ] || fail "bridge ports left: $(ports)"
! ip link show "$SRV_HOST" >/dev/null 2>&1 || fail "the server's host end $SRV_HOST is left"
! ls "$WORK/ipam/$NET" | grepq "^198\." || fail "leases left: $(ls "$WORK/ipam/$NET")"
wait_until 3 '[ "$(sm_counter "$URL" mesh sockets_tracked)" -eq 0 ]' ||
  fail "$(sm_counter "$URL" mesh sockets_tracked) sockets still tracked"
stop_oryxd "$cnp_PID" || fail "oryxd exit status $?"
log "PASS"
