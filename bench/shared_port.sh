#!/usr/bin/env bash
# shared_port.sh - redis under `oryx run` attached to an oryxd that owns
# the port, against the same redis owning the port itself; same client,
# same run, same CPU budget. Two ways of attaching:
#
#   owning:   redis under oryx run, AF_XDP on the veth (the default
#             configuration: the shared-thread model);
#   share:    oryxd's port_share service owns the veth (TC steering in the
#             kernel: tcp 6379 -> redis's veth pair), redis under oryx run
#             attaches and opens its end by AF_XDP;
#   memif:    oryxd owns the AF_XDP port (steer: tcp 6379 -> memif), redis
#             under oryx run has a memif client port.
# The server side has CPU 1 only in every run: redis and every thread Oryx
# runs for it, and in the memif run oryxd too (its worker idles
# adaptively, so the two share the CPU by need; its control thread is on
# CPU 0; the port share has no data-path thread). redis-benchmark runs in a
# client namespace on CPU 0: SET and GET, 50 connections, 64-byte values.
# ROUNDS rounds, each owning, share, memif; the table shows the median of
# the per-round ratios to owning, the JSON every round.
#
# Usage: bench/shared_port.sh [BUILD_DIR]   (env: ROUNDS=3, REQUESTS=200000)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
REQS=${REQUESTS:-200000}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$BUILD/bench-shared-port.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
bench_topology osc$TAG osk$TAG oso$TAG 198.18.116 198.18.117
IP=198.18.116.2
SOCK=oryx-bench-shared-$TAG.sock
MAC=$(cat "/sys/class/net/$HOSTIF/address")

{
  echo "[kernel]"
  echo "hugepages = false"
  echo "memory_mb = 256"
  echo "file_prefix = \"bench-own-$$\""
  oryx_app_tables "$IP"
} >"$WORK/owning.toml"
cat >"$WORK/attached.toml" <<CONF
[kernel]
hugepages = false
memory_mb = 256
file_prefix = "bench-att-$$"
[plugins]
path = ["$BUILD/plugins"]
[log]
level = "warn"
file = "$WORK/oryx.log"
[http]
enabled = false
[stage.wire]
type = "port"
driver = "memif"
role = "client"
socket = "$SOCK"
next = "ip"
[stage.ip]
type = "stack"
address = "$IP/24"
mac = "$MAC"
next = "wire"
CONF
SHARE_SOCK=$WORK/share.sock
{
  echo "[kernel]"
  echo "hugepages = false"
  echo "memory_mb = 256"
  echo "file_prefix = \"bench-share-$$\""
  oryx_app_tables "$IP" | sed "s|^iface = .*|attach = \"$SHARE_SOCK\"\nattach_rules = [\"tcp 6379\"]\nattach_default = true|"
} >"$WORK/share-app.toml"
SHARE_CONF="$(oryxd_kernel_tables share 256 0 1 "$WORK/share.port")
[service.share]
type = \"port_share\"
uplink = \"$HOSTIF\"
socket = \"$SHARE_SOCK\"
"
# The oryxd of the memif run: the AF_XDP port, steered to redis's link.
ORYXD_CONF="$(ORYXD_IDLE=adaptive oryxd_kernel_tables oryxd 256 0 1 "$WORK/oryxd.port")
[stage.nic]
type = \"port\"
driver = \"af_xdp\"
iface = \"$HOSTIF\"
next = \"share\"
[stage.redis]
type = \"port\"
driver = \"memif\"
role = \"server\"
socket = \"$SOCK\"
next = \"share\"
[stage.share]
type = \"steer\"
uplink = \"nic\"
next = [\"nic\", \"redis\"]
rules = [\"tcp 6379 redis\"]
default = \"redis\"
"

in_cli() { ip netns exec "$CLI" taskset -c 0 "$@"; }
redis_up() { [ "$(in_cli timeout 2 redis-cli -h $IP ping 2>/dev/null)" = PONG ]; }
wait_redis() {
  for _ in $(seq 100); do redis_up && return 0; sleep 0.2; done
  echo "redis did not answer" >&2
  exit 1
}
# measure: SET and GET requests per second into WORK/rates.
measure() {
  in_cli redis-benchmark -h $IP -t set,get -n "$REQS" -c 50 -r 100000 -d 64 --csv >"$WORK/r.csv"
  python3 - "$WORK/r.csv" >"$WORK/rates" <<'PY'
import csv, sys
rows = {r[0].strip('"'): float(r[1].strip('"')) for r in csv.reader(open(sys.argv[1])) if r and r[0] != "test"}
print(rows["SET"], rows["GET"])
PY
}
start_redis() {  # start_redis CONFIG
  taskset -c 1 "$BUILD/kernel/preload/oryx" run --config "$1" -- redis-server --bind $IP --port 6379 \
    --save "" --appendonly no --protected-mode no --logfile "" >>"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  wait_redis
}

ROUND_JSON=()
for r in $(seq "$ROUNDS"); do
  progress "round $r of $ROUNDS: redis owning the port"
  start_redis "$WORK/owning.toml"
  measure
  read -r OWN_SET OWN_GET <"$WORK/rates"
  stop_pids
  progress "  SET $OWN_SET GET $OWN_GET"
  progress "round $r: redis attached to oryxd's port share (kernel steering)"
  oryxd_start share "$SHARE_CONF"
  start_redis "$WORK/share-app.toml"
  measure
  read -r SH_SET SH_GET <"$WORK/rates"
  stop_pids
  progress "  SET $SH_SET GET $SH_GET"
  progress "round $r: redis attached to oryxd over memif"
  oryxd_start oryxd "$ORYXD_CONF"
  start_redis "$WORK/attached.toml"
  measure
  read -r ATT_SET ATT_GET <"$WORK/rates"
  stop_pids
  progress "  SET $ATT_SET GET $ATT_GET"
  ROUND_JSON+=("{\"owning\":{\"set\":$OWN_SET,\"get\":$OWN_GET},\"share\":{\"set\":$SH_SET,\"get\":$SH_GET},\"memif\":{\"set\":$ATT_SET,\"get\":$ATT_GET}}")
done

python3 - "$OUT" "${ROUND_JSON[@]}" <<'PY'
import datetime, json, platform, statistics, sys
out = sys.argv[1]
rounds = [json.loads(r) for r in sys.argv[2:]]
print(f"\nredis-benchmark, 50 connections, 64 B values, {len(rounds)} rounds")
result = {}
for path in ("share", "memif"):
    for op in ("set", "get"):
        ratios = [r[path][op] / r["owning"][op] for r in rounds]
        result[f"{path}_{op}"] = statistics.median(ratios)
        print(f"{op.upper():4} owning {statistics.median(r['owning'][op] for r in rounds):>10,.0f}  "
              f"{path:6}{statistics.median(r[path][op] for r in rounds):>10,.0f}  {path}/owning "
              f"{result[f'{path}_{op}']:.2f}   rounds: " + " ".join(f"{x:.2f}" for x in ratios))
json.dump({"benchmark": "shared-port", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "attached_over_owning": result, "rounds": rounds},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
