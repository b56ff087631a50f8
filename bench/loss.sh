#!/usr/bin/env bash
# loss.sh - TCP loss recovery, Oryx's stack against the Linux kernel's, same
# run: 8 MiB echoed byte-exact over one connection while nftables drops a
# share of the data segments in each direction.
#
#   (a) Oryx: the lwIP stack's TCP echo (oryxd) on an AF_XDP port, over veth;
#   (b) the kernel: bench/loadgen --server (an echo) in a namespace, over veth.
# The client (tests/e2e/echo_check.py) is in a third namespace whose two
# veths are ports of bridges, so the drops (netdev ingress and egress hooks
# on the veths) happen below the client's TCP and both sides see real loss.
# Pure ACKs are never dropped. ROUNDS rounds, each timing the kernel then
# Oryx; the table shows the median time and the median per-round ratio
# (lower is better), the JSON every round.
#
# Usage: bench/loss.sh [BUILD_DIR]   (env: ROUNDS=5, LOSS_PERCENT=2, LOSS_MIB=8)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROUNDS=${ROUNDS:-5}
LOSS_PERCENT=${LOSS_PERCENT:-2}
LOSS_MIB=${LOSS_MIB:-8}
OUT=${OUT:-$BUILD/bench-loss.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$(dirname "$0")/lib.sh"
bench_topology olc$TAG olk$TAG olo$TAG 198.18.76 198.18.77

{
  echo "[kernel]"
  echo "hugepages = false"
  echo "memory_mb = 256"
  echo "file_prefix = \"bench-loss-$$\""
  oryx_app_tables 198.18.76.2
  echo "tcp_echo_port = 7"
} >"$WORK/oryx.toml"
"$BUILD/kernel/oryxd" -c "$WORK/oryx.toml" >"$WORK/oryxd.log" 2>&1 &
PIDS+=($!)
ip netns exec "$KRN" "$BUILD/bench/loadgen" --server 7 &
PIDS+=($!)

# The client's addresses move to bridges over its veths (see above).
ip netns exec "$CLI" sh -ec '
  for i in 0 1; do
    addr=$(ip -4 -o addr show dev eth$i | awk "{print \$4}")
    ip link add br$i type bridge
    ip link set eth$i master br$i
    ip addr del "$addr" dev eth$i
    ip addr add "$addr" dev br$i
    ethtool -K br$i gso off tso off tx off >/dev/null
    ip link set br$i up
  done'
ip netns exec "$CLI" nft -f - <<NFT
table netdev oryx_bench_loss {
  chain from_oryx { type filter hook ingress device eth0 priority 0;
    ip length > 100 numgen random mod 100 < $LOSS_PERCENT counter drop
  }
  chain to_oryx { type filter hook egress device eth0 priority 0;
    ip length > 100 numgen random mod 100 < $LOSS_PERCENT counter drop
  }
  chain from_kernel { type filter hook ingress device eth1 priority 0;
    ip length > 100 numgen random mod 100 < $LOSS_PERCENT counter drop
  }
  chain to_kernel { type filter hook egress device eth1 priority 0;
    ip length > 100 numgen random mod 100 < $LOSS_PERCENT counter drop
  }
}
NFT
for ip in 198.18.76.2 198.18.77.2; do
  for _ in $(seq 100); do ip netns exec "$CLI" ping -c 1 -W 1 $ip >/dev/null 2>&1 && break; done
done

echo_time() {  # echo_time HOST -> seconds for LOSS_MIB MiB echoed byte-exact
  local start end
  start=$(date +%s.%N)
  ip netns exec "$CLI" timeout 120 python3 "$SRC/tests/e2e/echo_check.py" --host "$1" \
    --mib "$LOSS_MIB" --timeout 60 >/dev/null || { echo "echo to $1 failed" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}'
}
ROUNDS_JSON=()
for r in $(seq "$ROUNDS"); do
  progress "round $r of $ROUNDS: $LOSS_MIB MiB echoed, $LOSS_PERCENT % of data segments lost each way"
  K=$(echo_time 198.18.77.2)
  O=$(echo_time 198.18.76.2)
  progress "  kernel ${K:0:6} s, oryx ${O:0:6} s"
  ROUNDS_JSON+=("{\"echo\":{\"kernel\":{\"seconds\":$K},\"oryx\":{\"seconds\":$O}}}")
done
ip netns exec "$CLI" nft list table netdev oryx_bench_loss | grep -o 'counter packets [0-9]*' >&2

python3 - "$OUT" "$(dirname "$0")" "$LOSS_PERCENT" "$LOSS_MIB" "${ROUNDS_JSON[@]}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from report import report_rounds
rounds = [json.loads(r) for r in sys.argv[5:]]
metrics = [(f"{sys.argv[4]} MiB echo, {sys.argv[3]} % loss each way: seconds",
            lambda s: s["echo"]["seconds"], "lower")]
report_rounds(sys.argv[1], "loss", metrics, rounds,
              {"loss_percent": float(sys.argv[3]), "mib": float(sys.argv[4])}, decimals=2)
PY
