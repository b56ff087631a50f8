#!/usr/bin/env bash
# bulk_memif.sh - bulk TCP between two Oryx stacks joined by memif, against
# the kernel pair over veth, same run: 64 KiB messages echoed on one
# connection (bench/loadgen, a client that never sleeps), Mbit/s both ways.
#
#   (a) Oryx: oryxd's stack (TCP echo, worker on CPU 1, busy-poll) on a
#       memif server port; loadgen under `oryx run` on CPU 0, its own
#       stack on the memif client port (the shared-thread model);
#   (b) the kernel: loadgen --server in a namespace on CPU 1, loadgen in a
#       second namespace on CPU 0, joined by a veth.
# ROUNDS rounds, each the kernel then Oryx; the table shows medians and the
# median of the per-round ratios, the JSON every round.
#
# Both links carry jumbo frames (MTU, default 9000: the memif ports and the
# kernel pair's veth alike). Each Oryx side's mbufs hold a whole frame
# (`mbuf_data_room`), as the kernel's buffers do: chained over 2 KiB mbufs,
# a 9,000-byte frame costs five mbufs and a five-pbuf chain (about a tenth
# of the rate, docs/benchmarks.md).
#
# Usage: bench/bulk_memif.sh [BUILD_DIR]   (env: ROUNDS=3, SECONDS_EACH=5, MTU=9000)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_EACH:-5}
MTU=${MTU:-9000}
OUT=${OUT:-$BUILD/bench-bulk-memif.json}
# A frame, a VLAN tag and DPDK's 128 bytes of headroom, in 64-byte lines.
ROOM=$(( (MTU + 18 + 128 + 63) / 64 * 64 ))
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
# The kernel pair: the client namespace's eth1 to the kernel namespace (the
# AF_XDP side of the topology stays unused here).
bench_topology obmc$TAG obmk$TAG obmo$TAG 198.18.100 198.18.101
ip -n "$CLI" link set eth1 mtu "$MTU"
ip -n "$KRN" link set eth0 mtu "$MTU"

# stack_side NAME ROLE ADDRESS [KEYS...]: an instance's tables, a memif port
# of ROLE on $WORK/memif.sock feeding a stack at ADDRESS/24.
stack_side() {
  cat <<CONF
[plugins]
path = ["$BUILD/plugins"]
[log]
level = "warn"
file = "$WORK/$1.log"
[stage.wire]
type = "port"
driver = "memif"
socket = "$WORK/memif.sock"
memif_id = 0
role = "$2"
memif_buffer_size = $((MTU + 22))
next = "ip"
[stage.ip]
type = "stack"
address = "$3/24"
mtu = $MTU
next = "wire"
CONF
  printf '%s\n' "${@:4}"
}
{
  printf '[kernel]\nhugepages = false\nmemory_mb = 256\nmbuf_data_room = %s\nfile_prefix = "bench-bulk-srv-%s"\n' "$ROOM" $$
  printf 'main_lcore = 0\nworker_lcores = "1"\nidle = "busy-poll"\n'
  printf '[http]\nlisten = "127.0.0.1:0"\nport_file = "%s"\nwebui_dir = ""\n' "$WORK/server.port"
  stack_side server server 198.18.102.2 "tcp_echo_port = 7"
} >"$WORK/server.toml"
{
  printf '[kernel]\nhugepages = false\nmemory_mb = 256\nmbuf_data_room = %s\nfile_prefix = "bench-bulk-cli-%s"\n' "$ROOM" $$
  printf '[http]\nenabled = false\n'
  stack_side client client 198.18.102.1
} >"$WORK/client.toml"

"$BUILD/kernel/oryxd" -c "$WORK/server.toml" >"$WORK/server.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/server.port" ] && break; sleep 0.1; done
[ -s "$WORK/server.port" ] || { cat "$WORK/server.out" "$WORK/server.log" >&2; exit 1; }
ip netns exec "$KRN" taskset -c 1 "$BUILD/bench/loadgen" --server 7 &
PIDS+=($!)
ip netns exec "$CLI" ping -c 2 -W 2 198.18.101.2 >/dev/null

bulk() {  # bulk HOST [oryx] -> loadgen's JSON
  local client=("$BUILD/bench/loadgen" --connect "$1:7" --connections 1 --size 65536
                --seconds "$SECS" --json --busy-poll)
  if [ "${2:-}" = oryx ]; then
    taskset -c 0 "$BUILD/kernel/preload/oryx" run --config "$WORK/client.toml" -- "${client[@]}" \
      2>>"$WORK/client.out"
  else
    ip netns exec "$CLI" taskset -c 0 "${client[@]}"
  fi
}
ROUNDS_JSON=()
for r in $(seq "$ROUNDS"); do
  progress "round $r of $ROUNDS: 64 KiB messages echoed on one connection"
  K=$(bulk 198.18.101.2)
  O=$(bulk 198.18.102.2 oryx) || { cat "$WORK/client.out" "$WORK/client.log" >&2; exit 1; }
  progress "  kernel over veth: $K"
  progress "  Oryx over memif:  $O"
  ROUNDS_JSON+=("{\"bulk\":{\"kernel\":$K,\"oryx\":$O}}")
done

python3 - "$OUT" "$(dirname "$0")" "${ROUNDS_JSON[@]}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from report import report_rounds
rounds = [json.loads(r) for r in sys.argv[3:]]
metrics = [("64 KiB, 1 conn: Mbit/s (both ways)", lambda s: s["bulk"]["mbit_per_s"], "higher"),
           ("64 KiB, 1 conn: round trip p50 (us)", lambda s: s["bulk"]["p50_us"], "lower")]
report_rounds(sys.argv[1], "bulk-memif", metrics, rounds, {"message_bytes": 65536}, decimals=1)
PY
