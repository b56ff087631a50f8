#!/usr/bin/env bash
# mesh.sh - a service mesh's data path on one node, Oryx's CNI against
# Debian's bridge CNI plugin, same run (issue 24): a client pod whose
# application (bench/loadgen, 64-byte request/response on 50 connections)
# talks to its sidecar proxy (haproxy, standing in for Envoy, which Debian
# does not ship) on localhost, which forwards to a server pod
# (loadgen --server, an echo).
#   oryx    pods attached by oryx-cni (veths on oryxd's eBPF bridge), and
#           oryxd's sockmap service on the pods' cgroup: the app-sidecar
#           hop and the sidecar-server hop go socket to socket
#   bridge  pods attached by Debian's `bridge` plugin (a Linux bridge),
#           no sockmap
# Both with host-local for addresses, the client pod's processes on CPU 0
# and the server's on CPU 1. Each round runs both; the table gives the
# median of the per-round ratios. Targets: rate >= 1.5x, p50 <= 0.6x.
#
# Usage: bench/mesh.sh [BUILD_DIR]   (env: ROUNDS=3 SECONDS_EACH=5)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_EACH:-5}
OUT=${OUT:-$BUILD/bench-mesh.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"  # WORK, PIDS, progress, bench_cleanup
_CLEANUP_HOOKS=()
source "$ROOT/plugins/sockmap/tests/sockmap_lib.sh"
NAMESPACES=()
mesh_cleanup() {
  stop_pids
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  # A pod's namespace takes its veth pair with it; the Linux bridge stays.
  ip link del "obr$TAG" 2>/dev/null || true
  for hook in "${_CLEANUP_HOOKS[@]}"; do "$hook" || true; done
  bench_cleanup
}
trap mesh_cleanup EXIT
trap 'exit 130' INT TERM

# oryxd: the pods' bridge, and sockmap on the Oryx pods' cgroup.
sockmap_setup mesh
echo "tok$TAG" >"$WORK/token"
printf '[plugins]\npath = ["%s"]\n[http]\nlisten = "127.0.0.1:0"\nport_file = "%s"\ntoken = "tok%s"\n%s\n[service.pods]\ntype = "ebpf_bridge"\n' \
  "$BUILD/plugins" "$WORK/oryx.port" "$TAG" "$SM_BODY" >"$WORK/oryx.toml"
"$BUILD/kernel/oryxd" -c "$WORK/oryx.toml" >"$WORK/oryx.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  [ -s "$WORK/oryx.port" ] && grep -q "sockmap redirect on" "$WORK/oryx.log" && break
  sleep 0.1
done
[ -s "$WORK/oryx.port" ] || { cat "$WORK/oryx.log" >&2; exit 1; }
URL=http://$(cat "$WORK/oryx.port")

# cni KIND POD CONTAINER-ID: ADD through oryx-cni (oryx) or Debian's
# bridge plugin (bridge); sets POD_IP to the pod's address.
cni() {
  local conf
  if [ "$1" = oryx ]; then
    conf="{\"cniVersion\": \"1.0.0\", \"name\": \"mesh$TAG\", \"type\": \"oryx-cni\", \"oryxd\": \"$URL\",
      \"token_file\": \"$WORK/token\", \"bridge\": \"pods\",
      \"ipam\": {\"type\": \"host-local\", \"subnet\": \"198.18.34.0/24\", \"dataDir\": \"$WORK/ipam\"}}"
  else
    conf="{\"cniVersion\": \"1.0.0\", \"name\": \"meshb$TAG\", \"type\": \"bridge\", \"bridge\": \"obr$TAG\",
      \"ipam\": {\"type\": \"host-local\", \"subnet\": \"198.18.35.0/24\", \"dataDir\": \"$WORK/ipam\"}}"
  fi
  ip netns add "$2"
  NAMESPACES+=("$2")
  ip netns exec "$2" ip link set lo up
  local out
  if [ "$1" = oryx ]; then
    out=$(CNI_COMMAND=ADD CNI_CONTAINERID="$3" CNI_NETNS="/var/run/netns/$2" CNI_IFNAME=eth0 \
      CNI_PATH="$BUILD/kernel/cni:/usr/lib/cni" "$BUILD/kernel/cni/oryx-cni" <<<"$conf")
  else
    out=$(CNI_COMMAND=ADD CNI_CONTAINERID="$3" CNI_NETNS="/var/run/netns/$2" CNI_IFNAME=eth0 \
      CNI_PATH="/usr/lib/cni" /usr/lib/cni/bridge <<<"$conf")
  fi
  POD_IP=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ips'][0]['address'].split('/')[0])" "$out")
}
make_cgroup BASE "oryx-bench-meshbase-$TAG"
# in_pod NS CGROUP CMD...: CMD in the pod's namespace and the cgroup (joined
# first: `ip netns exec` remounts /sys, hiding the cgroup tree).
in_pod() {
  local ns=$1 cg=$2
  shift 2
  exec bash -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$ns" "$@"
}

# mesh KIND CGROUP: the two pods, the echo server, the sidecar; sets SIDE_PORT.
mesh() {
  local kind=$1 cg=$2 srv_ip
  cni "$kind" "cli-$kind-$TAG" "c$kind$TAG"
  cni "$kind" "srv-$kind-$TAG" "s$kind$TAG"
  srv_ip=$POD_IP
  cat >"$WORK/haproxy-$kind.cfg" <<CONF
global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend app
  bind 127.0.0.1:7000
  default_backend server
backend server
  server echo $srv_ip:7
CONF
  in_pod "srv-$kind-$TAG" "$cg" taskset -c 1 "$BUILD/bench/loadgen" --server 7 \
    >>"$WORK/servers.log" 2>&1 &
  PIDS+=($!)
  in_pod "cli-$kind-$TAG" "$cg" taskset -c 0 haproxy -db -f "$WORK/haproxy-$kind.cfg" \
    >>"$WORK/servers.log" 2>&1 &
  PIDS+=($!)
}
mesh oryx "$MESH"
mesh bridge "$BASE"
# load KIND: 64-byte request/response, 50 connections, through the sidecar.
load() {
  in_pod "cli-$1-$TAG" "$([ "$1" = oryx ] && echo "$MESH" || echo "$BASE")" taskset -c 0 \
    "$BUILD/bench/loadgen" --connect 127.0.0.1:7000 --connections 50 --size 64 --seconds "$SECS" --json
}
# Wait until both sidecars accept.
for kind in oryx bridge; do
  for _ in $(seq 50); do
    ip netns exec "cli-$kind-$TAG" bash -c 'exec 3<>/dev/tcp/127.0.0.1/7000' 2>/dev/null && break
    sleep 0.1
  done
done

ROUNDS_JSON=()
for r in $(seq "$ROUNDS"); do
  progress "round $r of $ROUNDS"
  B=$(load bridge)
  O=$(load oryx)
  progress "  bridge CNI: $B"
  progress "  oryx CNI:   $O"
  ROUNDS_JSON+=("{\"mesh\":{\"kernel\":$B,\"oryx\":$O}}")
done
REDIRECTED=$(sm_counter "$URL" mesh bytes_redirected)
FORWARDED=$(curl -sf "$URL/api/v1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['stages']['pods']['counters']['forwarded'])")
progress "sockmap redirected $REDIRECTED bytes; the eBPF bridge forwarded $FORWARDED frames"
[ "$REDIRECTED" -gt 0 ] || { echo "sockmap redirected nothing: the Oryx path was not accelerated" >&2; exit 1; }

python3 - "$OUT" "$(dirname "$0")" "${ROUNDS_JSON[@]}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from report import report_rounds
rounds = [json.loads(r) for r in sys.argv[3:]]
metrics = [("64 B, 50 conns via sidecar: requests/s", lambda s: s["mesh"]["rate"], "higher"),
           ("64 B, 50 conns via sidecar: p50 (us)", lambda s: s["mesh"]["p50_us"], "lower")]
report_rounds(sys.argv[1], "mesh", metrics, rounds, {"message_bytes": 64, "connections": 50}, decimals=1)
PY
