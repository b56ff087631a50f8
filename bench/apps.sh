#!/usr/bin/env bash
# apps.sh - unmodified applications on the kernel stack and under `oryx run`,
# same binaries, same client, same run.
#
#   kernel: redis-server / nginx in a namespace, reached over a veth;
#   oryx:   the same binaries under `oryx run` (AF_XDP on a veth, the
#           in-process stack's worker busy-polling CPU 1).
# The clients (redis-benchmark, wrk) run in a client namespace on CPU 0.
# Kernel-side servers are pinned to CPU 1; the Oryx-side application
# threads may use either CPU (CPU 1 belongs to Oryx's worker); set
# ORYX_APP_CPUS to pin them, ORYX_IDLE (busy-poll) and ORYX_THREADING
# (separate-thread) to try the other idle and threading models.
#
# Workloads: redis-benchmark SET and GET with 50 connections (rate, p50,
# p99), GET on 1 connection (p50); nginx with wrk, 50 keep-alive
# connections and "Connection: close". Prints kernel / oryx / ratio and
# writes JSON.
#
# Usage: bench/apps.sh [BUILD_DIR]   (env: SECONDS_EACH=5, REQUESTS=200000)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECS=${SECONDS_EACH:-5}
REQS=${REQUESTS:-200000}
APP_CPUS=${ORYX_APP_CPUS:-0,1}
OUT=${OUT:-$BUILD/bench-apps.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
bench_topology oac$TAG oak$TAG oao$TAG 198.18.72 198.18.73
KERNEL_IP=198.18.73.2
ORYX_IP=198.18.72.2

cat >"$WORK/oryx.toml" <<CONF
[kernel]
hugepages = false
memory_mb = 256
file_prefix = "bench-apps-$$"
main_lcore = 0
worker_lcores = "1"
idle = "${ORYX_IDLE:-busy-poll}"
[preload]
threading = "${ORYX_THREADING:-separate-thread}"
[plugins]
path = ["$BUILD/plugins"]
[log]
level = "warn"
file = "$WORK/oryx.log"
[http]
enabled = false
[stage.wire]
type = "port"
driver = "af_xdp"
iface = "$HOSTIF"
next = "ip"
[stage.ip]
type = "stack"
address = "$ORYX_IP/24"
next = "wire"
CONF

# kernel_app CMD...: CMD in the kernel namespace on CPU 1.
kernel_app() {
  ip netns exec "$KRN" taskset -c 1 "$@" >>"$WORK/apps.log" 2>&1 &
  PIDS+=($!)
}
# oryx_app CMD...: CMD under oryx run in the root namespace.
oryx_app() {
  taskset -c "$APP_CPUS" "$BUILD/kernel/preload/oryx" run --config "$WORK/oryx.toml" -- "$@" \
    >>"$WORK/apps.log" 2>&1 &
  PIDS+=($!)
}
wait_for() {  # wait_for CMD...: up to 20 s
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "not ready: $*" >&2
  tail -20 "$WORK/apps.log" >&2
  exit 1
}
in_cli() { ip netns exec "$CLI" taskset -c 0 "$@"; }

# redis_run HOST -> JSON {set:{rate,p50,p99}, get:{...}, get1:{p50}}
redis_run() {
  local host=$1
  in_cli redis-benchmark -h "$host" -t set,get -n "$REQS" -c 50 -r 100000 -d 64 --csv >"$WORK/r50.csv"
  in_cli redis-benchmark -h "$host" -t get -n $((REQS / 10)) -c 1 -d 64 --csv >"$WORK/r1.csv"
  python3 - "$WORK/r50.csv" "$WORK/r1.csv" <<'PY'
import csv, json, sys
def rows(path):
    return {r["test"]: r for r in csv.DictReader(open(path))}
r50, r1 = rows(sys.argv[1]), rows(sys.argv[2])
pick = lambda r: {"rate": float(r["rps"]), "p50_ms": float(r["p50_latency_ms"]),
                  "p99_ms": float(r["p99_latency_ms"])}
print(json.dumps({"set": pick(r50["SET"]), "get": pick(r50["GET"]), "get1": pick(r1["GET"])}))
PY
}
REDIS=(redis-server --port 6379 --save "" --appendonly no --protected-mode no --logfile "")

progress "redis: kernel stack"
kernel_app "${REDIS[@]}" --bind $KERNEL_IP
wait_for ip netns exec "$CLI" redis-cli -h $KERNEL_IP ping
RK=$(redis_run $KERNEL_IP)
stop_pids
progress "redis: under oryx run"
oryx_app "${REDIS[@]}" --bind $ORYX_IP
wait_for ip netns exec "$CLI" redis-cli -h $ORYX_IP ping
RO=$(redis_run $ORYX_IP)
stop_pids

write_nginx_conf "$WORK/nginx.conf" "master_process on;" "user root;"
nginx_run() {
  local ka close
  ka=$(wrk_rate "$1")
  close=$(wrk_rate "$1" -H "Connection: close")
  echo "{\"keepalive\":{\"rate\":$ka},\"close\":{\"rate\":$close}}"
}
progress "nginx: kernel stack"
kernel_app nginx -c "$WORK/nginx.conf"
wait_for ip netns exec "$CLI" curl -sf http://$KERNEL_IP/
NK=$(nginx_run $KERNEL_IP)
stop_pids
progress "nginx: under oryx run (master and one worker; the worker runs the stack)"
oryx_app nginx -c "$WORK/nginx.conf"
wait_for ip netns exec "$CLI" curl -sf http://$ORYX_IP/
NO=$(nginx_run $ORYX_IP)
stop_pids

python3 - "$OUT" "$(dirname "$0")" "$RK" "$RO" "$NK" "$NO" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from report import report
out = sys.argv[1]
rk, ro, nk, no = (json.loads(a) for a in sys.argv[3:])
report(out, "apps", [
    ("redis SET, 50 conns: requests/s", rk["set"]["rate"], ro["set"]["rate"], "higher"),
    ("redis SET, 50 conns: p50 ms", rk["set"]["p50_ms"], ro["set"]["p50_ms"], "lower"),
    ("redis SET, 50 conns: p99 ms", rk["set"]["p99_ms"], ro["set"]["p99_ms"], "lower"),
    ("redis GET, 50 conns: requests/s", rk["get"]["rate"], ro["get"]["rate"], "higher"),
    ("redis GET, 50 conns: p50 ms", rk["get"]["p50_ms"], ro["get"]["p50_ms"], "lower"),
    ("redis GET, 50 conns: p99 ms", rk["get"]["p99_ms"], ro["get"]["p99_ms"], "lower"),
    ("redis GET, 1 conn: p50 ms", rk["get1"]["p50_ms"], ro["get1"]["p50_ms"], "lower"),
    ("nginx keep-alive, 50 conns: req/s", nk["keepalive"]["rate"], no["keepalive"]["rate"], "higher"),
    ("nginx Connection: close: req/s", nk["close"]["rate"], no["close"]["rate"], "higher"),
], {"redis": {"kernel": rk, "oryx": ro}, "nginx": {"kernel": nk, "oryx": no}}, decimals=3)
PY
