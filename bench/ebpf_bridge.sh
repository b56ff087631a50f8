#!/usr/bin/env bash
# ebpf_bridge.sh - the ebpf_bridge service against the Linux bridge between
# the same two pods (namespaces on veths), same run:
#   linux    a Linux bridge with both host veths as ports
#   tc       ebpf_bridge at TC ingress (bpf_redirect_peer into the pod)
#   xdp      ebpf_bridge at native XDP (devmap redirect); the pods checksum
#            in software, which XDP on veth needs (plugin README)
# Workloads: small frames (trafgen in pod 1 on both CPUs sending 64-byte
# UDP frames to pod 2, counted by an nftables rule on pod 2's eth0
# ingress that drops them: frames delivered per second) and bulk TCP (iperf3, one
# stream, pod 1 to pod 2). Each round runs every path once; each path is
# compared with the same round's Linux bridge, and the table gives the
# median of those ratios. Prints the table and writes JSON.
#
# Usage: bench/ebpf_bridge.sh [BUILD_DIR]
#   env: DURATION=5 ROUNDS=3 PATHS="tc xdp" OUT=...
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
PATHS=${PATHS:-tc xdp}  # measured against the Linux bridge
OUT=${OUT:-$BUILD/bench-ebpf-bridge.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
WORK=$(mktemp -d /tmp/oryx-bench-XXXXXX)
# bridge_lib.sh's bookkeeping (tests/e2e/lib.sh has it for tests).
_NAMESPACES=() _LINKS=() _CLEANUP_HOOKS=() ORYXD_PID="" TAG_BRIDGE=obr$TAG
source "$ROOT/plugins/ebpf-bridge/tests/bridge_lib.sh"
progress() { echo "[$(date +%T)] $*" >&2; }
cleanup() {
  [ -z "$ORYXD_PID" ] || { kill -TERM "$ORYXD_PID" 2>/dev/null; wait "$ORYXD_PID" 2>/dev/null; } || true
  ip link del "$TAG_BRIDGE" 2>/dev/null || true
  for hook in "${_CLEANUP_HOOKS[@]}"; do "$hook" || true; done
  for l in "${_LINKS[@]}"; do ip link del "$l" 2>/dev/null || true; done
  for ns in "${_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

P1=bp1-$TAG P2=bp2-$TAG H1=bh1-$TAG H2=bh2-$TAG
make_pod "$P1" "$H1" 198.18.30.1/24
make_pod "$P2" "$H2" 198.18.30.2/24
ip netns exec "$P2" nft -f - <<'EOF'
table netdev bench {
  chain in {
    type filter hook ingress device eth0 priority -500
    udp dport 9 counter drop
  }
}
EOF
cat >"$WORK/frame.cfg" <<EOF
{ eth(da=$(pod_mac "$P2"), sa=$(pod_mac "$P1")), ipv4(saddr=198.18.30.1, daddr=198.18.30.2), udp(sp=1024, dp=9), fill(0x00, 18) }
EOF
ip netns exec "$P2" iperf3 -s -B 198.18.30.2 >"$WORK/iperf3-server.log" 2>&1 &
IPERF_PID=$!
_CLEANUP_HOOKS+=(stop_iperf)
stop_iperf() { kill "$IPERF_PID" 2>/dev/null || true; }

delivered() { ip netns exec "$P2" nft list table netdev bench | awk '/counter packets/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1)}'; }

# measure NAME: small-frame rate and iperf3 Gbit/s through whatever bridges now.
measure() {
  local name=$1 before after gbps
  ip netns exec "$P1" ping -c 3 -i 0.2 -W 2 198.18.30.2 >/dev/null || { progress "$name: pods cannot ping"; exit 1; }
  before=$(delivered)
  ip netns exec "$P1" timeout "$DURATION" trafgen -o eth0 -i "$WORK/frame.cfg" --cpus 2 -q >/dev/null 2>&1 || true
  sleep 0.5
  after=$(delivered)
  ip netns exec "$P1" iperf3 -c 198.18.30.2 -t "$DURATION" -J >"$WORK/iperf3.json"
  gbps=$(python3 -c "import json; e=json.load(open('$WORK/iperf3.json'))['end']['sum_received']; print(round(e['bytes']*8/e['seconds']/1e9, 3))")
  echo "$name $(( (after - before) / DURATION )) $gbps" >>"$WORK/results"
  progress "  $name: $(( (after - before) / DURATION )) small frames/s delivered, $gbps Gbit/s"
}

bridge_setup bench auto "$H1" "$H2"
start_bridge() {  # start_bridge ATTACH
  printf '[plugins]\npath = ["%s"]\n[http]\nlisten = "127.0.0.1:0"\n%s' "$BUILD/plugins" \
    "${BR_BODY//attach = \"auto\"/attach = \"$1\"}" >"$WORK/oryx.toml"
  "$BUILD/kernel/oryxd" -c "$WORK/oryx.toml" >"$WORK/oryx.log" 2>&1 &
  ORYXD_PID=$!
  for _ in $(seq 100); do grep -q "bridging" "$WORK/oryx.log" && return 0; sleep 0.1; done
  cat "$WORK/oryx.log" >&2
  exit 1
}
stop_bridge() {
  kill -TERM "$ORYXD_PID"
  wait "$ORYXD_PID" || true
  ORYXD_PID=""
}
pods_checksum() {  # pods_checksum on|off: the pods' transmit checksum offload
  for ns in "$P1" "$P2"; do ip netns exec "$ns" ethtool -K eth0 tx "$1" >/dev/null; done
}

for round in $(seq "$ROUNDS"); do
  progress "round $round of $ROUNDS (${DURATION} s per workload)"
  echo "round $round" >>"$WORK/results"
  ip link add "$TAG_BRIDGE" type bridge
  ip link set "$H1" master "$TAG_BRIDGE"
  ip link set "$H2" master "$TAG_BRIDGE"
  ip link set "$TAG_BRIDGE" up
  measure linux
  ip link del "$TAG_BRIDGE"
  if [[ " $PATHS " == *" tc "* ]]; then
    start_bridge tc
    measure tc
    stop_bridge
  fi
  if [[ " $PATHS " == *" xdp "* ]]; then
    pods_checksum off
    start_bridge xdp
    measure xdp
    stop_bridge
    pods_checksum on
  fi
done

python3 - "$WORK/results" "$OUT" "$DURATION" <<'EOF'
import datetime, json, platform, statistics, sys
rounds, cur = [], None
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "round":
        cur = {}
        rounds.append(cur)
    else:
        cur[f[0]] = {"small_fps": int(f[1]), "tcp_gbps": float(f[2])}
rows = []
print(f"\n{'path':<8}{'metric':<22}" + "".join(f"{'round ' + str(i + 1):>18}" for i in range(len(rounds))) + f"{'median ratio':>14}")
for path in [p for p in ("linux", "tc", "xdp") if p in rounds[0]]:
    for key, label in (("small_fps", "64 B frames/s"), ("tcp_gbps", "iperf3 Gbit/s")):
        ratios = [r[path][key] / r["linux"][key] if r["linux"][key] else 0 for r in rounds]
        cells = "".join(f"{r[path][key]:>11,.1f} ({q:.2f})" if key == "tcp_gbps" else f"{r[path][key]:>11,} ({q:.2f})" for r, q in zip(rounds, ratios))
        med = statistics.median(ratios)
        print(f"{path:<8}{label:<22}{cells}{med:>14.2f}")
        rows.append({"path": path, "metric": key, "values": [r[path][key] for r in rounds], "ratios": ratios, "median_ratio": med})
json.dump({"benchmark": "ebpf_bridge", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "seconds_each": int(sys.argv[3]), "rows": rows}, open(sys.argv[2], "w"), indent=2)
print(f"\nwritten to {sys.argv[2]}")
EOF
