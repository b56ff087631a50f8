#!/usr/bin/env bash
# apps.sh - unmodified applications on the kernel stack and under `oryx run`,
# same binaries, same clients, same run, same CPU budget.
#
#   kernel: redis-server / nginx / memcached in a namespace, over a veth;
#   oryx:   the same binaries under `oryx run` with the default
#           configuration (AF_XDP on a veth, the shared-thread model).
# The server side has CPU 1 only in both runs (the kernel-side server
# pinned there; under oryx run the application and every thread Oryx runs
# for it); the clients (redis-benchmark, wrk, memcaslap) run in a client
# namespace on CPU 0. ORYX_APP_CPUS, ORYX_THREADING and ORYX_IDLE try other
# layouts and models (ORYX_THREADING=separate-thread, for instance, puts
# the worker on worker_lcores "1" too).
#
# Workloads: redis-benchmark SET and GET with 50 connections (rate, p50,
# p99), GET on 1 connection (p50); nginx (one worker) with wrk, 50
# keep-alive connections and "Connection: close"; memcached (one worker
# thread) with memcaslap, 50 connections, 90 % get / 10 % set. ROUNDS
# rounds (default 3), each measuring kernel then Oryx; the table shows the
# median of the per-round ratios, the JSON every round.
#
# Usage: bench/apps.sh [BUILD_DIR]   (env: ROUNDS=3, SECONDS_EACH=5, REQUESTS=200000)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECS=${SECONDS_EACH:-5}
REQS=${REQUESTS:-200000}
ROUNDS=${ROUNDS:-3}
APP_CPUS=${ORYX_APP_CPUS:-1}
OUT=${OUT:-$BUILD/bench-apps.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
bench_topology oac$TAG oak$TAG oao$TAG 198.18.72 198.18.73
KERNEL_IP=198.18.73.2
ORYX_IP=198.18.72.2

# The default configuration but for what a benchmark must set (no
# hugepages needed, its own file prefix, quiet log) and the knobs asked for.
{
  echo "[kernel]"
  echo "hugepages = false"
  echo "memory_mb = 256"
  echo "file_prefix = \"bench-apps-$$\""
  if [ -n "${ORYX_THREADING:-}" ] && [ "$ORYX_THREADING" != shared ]; then
    echo "main_lcore = 0"
    echo "worker_lcores = \"1\""
    echo "idle = \"${ORYX_IDLE:-busy-poll}\""
  fi
  echo "[preload]"
  [ -n "${ORYX_THREADING:-}" ] && echo "threading = \"$ORYX_THREADING\""
  oryx_app_tables "$ORYX_IP"
} >"$WORK/oryx.toml"

# kernel_app CMD...: CMD in the kernel namespace on CPU 1.
kernel_app() {
  ip netns exec "$KRN" taskset -c 1 "$@" >>"$WORK/apps.log" 2>&1 &
  PIDS+=($!)
}
# oryx_app CMD...: CMD under oryx run in the root namespace, on APP_CPUS.
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

nginx_run() {
  local ka close
  ka=$(wrk_rate "$1")
  close=$(wrk_rate "$1" -H "Connection: close")
  echo "{\"keepalive\":{\"rate\":$ka},\"close\":{\"rate\":$close}}"
}

# memcached_run HOST -> JSON {rate}: memcaslap, one thread, 50 connections,
# 64-byte values, 90 % get / 10 % set, SECS seconds.
memcached_run() {
  printf 'key\n16 16 1\nvalue\n64 64 1\ncmd\n0 0.1\n1 0.9\n' >"$WORK/memcaslap.cfg"
  in_cli memcaslap -s "$1:11211" -T 1 -c 50 -t "${SECS}s" -F "$WORK/memcaslap.cfg" >"$WORK/mc.out" 2>&1
  awk '/^Run time:/ {for (i = 1; i <= NF; i++) if ($i == "TPS:") tps = $(i + 1)} END {printf "{\"rate\": %s}\n", tps}' \
    "$WORK/mc.out"
}
MEMCACHED=(memcached -u root -p 11211 -U 0 -t 1 -m 256 -c 4096)

write_nginx_conf "$WORK/nginx.conf" "master_process on;" "user root;"

ROUND_JSON=()
for round in $(seq "$ROUNDS"); do
  progress "round $round/$ROUNDS: redis, kernel stack"
  kernel_app "${REDIS[@]}" --bind $KERNEL_IP
  wait_for ip netns exec "$CLI" redis-cli -h $KERNEL_IP ping
  RK=$(redis_run $KERNEL_IP)
  stop_pids
  progress "round $round/$ROUNDS: redis, under oryx run"
  oryx_app "${REDIS[@]}" --bind $ORYX_IP
  wait_for ip netns exec "$CLI" redis-cli -h $ORYX_IP ping
  RO=$(redis_run $ORYX_IP)
  stop_pids

  progress "round $round/$ROUNDS: nginx, kernel stack"
  kernel_app nginx -c "$WORK/nginx.conf"
  wait_for ip netns exec "$CLI" curl -sf http://$KERNEL_IP/
  NK=$(nginx_run $KERNEL_IP)
  stop_pids
  progress "round $round/$ROUNDS: nginx, under oryx run (master and one worker; the worker runs the stack)"
  oryx_app nginx -c "$WORK/nginx.conf"
  wait_for ip netns exec "$CLI" curl -sf http://$ORYX_IP/
  NO=$(nginx_run $ORYX_IP)
  stop_pids

  progress "round $round/$ROUNDS: memcached, kernel stack"
  kernel_app "${MEMCACHED[@]}" -l $KERNEL_IP
  wait_for ip netns exec "$CLI" memcstat --servers=$KERNEL_IP
  MK=$(memcached_run $KERNEL_IP)
  stop_pids
  progress "round $round/$ROUNDS: memcached, under oryx run"
  oryx_app "${MEMCACHED[@]}" -l $ORYX_IP
  wait_for ip netns exec "$CLI" memcstat --servers=$ORYX_IP
  MO=$(memcached_run $ORYX_IP)
  stop_pids
  ROUND_JSON+=("{\"redis\":{\"kernel\":$RK,\"oryx\":$RO},\"nginx\":{\"kernel\":$NK,\"oryx\":$NO},\"memcached\":{\"kernel\":$MK,\"oryx\":$MO}}")
done

printf '%s\n' "${ROUND_JSON[@]}" >"$WORK/rounds.jsonl"
python3 - "$OUT" "$(dirname "$0")" "$WORK/rounds.jsonl" "${ORYX_THREADING:-shared}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from report import report_rounds
rounds = [json.loads(line) for line in open(sys.argv[3])]
metrics = [
    ("redis SET, 50 conns: requests/s", lambda r: r["redis"]["set"]["rate"], "higher"),
    ("redis SET, 50 conns: p50 ms", lambda r: r["redis"]["set"]["p50_ms"], "lower"),
    ("redis SET, 50 conns: p99 ms", lambda r: r["redis"]["set"]["p99_ms"], "lower"),
    ("redis GET, 50 conns: requests/s", lambda r: r["redis"]["get"]["rate"], "higher"),
    ("redis GET, 50 conns: p50 ms", lambda r: r["redis"]["get"]["p50_ms"], "lower"),
    ("redis GET, 50 conns: p99 ms", lambda r: r["redis"]["get"]["p99_ms"], "lower"),
    ("redis GET, 1 conn: p50 ms", lambda r: r["redis"]["get1"]["p50_ms"], "lower"),
    ("nginx keep-alive, 50 conns: req/s", lambda r: r["nginx"]["keepalive"]["rate"], "higher"),
    ("nginx Connection: close: req/s", lambda r: r["nginx"]["close"]["rate"], "higher"),
    ("memcached, 50 conns: ops/s", lambda r: r["memcached"]["rate"], "higher"),
]
report_rounds(sys.argv[1], "apps", metrics, rounds, {"threading": sys.argv[4]}, decimals=3)
PY
