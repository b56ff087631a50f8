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
# thread) with memcaslap, 50 connections, 90 % get / 10 % set. The same
# servers again with bench/loadgen, a client that costs one write and one
# read per request (redis GET and SET, nginx keep-alive, memcached get, 50
# connections; redis GET on 1 connection with a client that never sleeps):
# the Debian clients keep CPU 0 busy before the kernel-side server fills
# CPU 1, so they measure the client as much as the server; loadgen fills
# CPU 1. Every workload records how busy each CPU was while it ran. ROUNDS
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

# cpu_of NAME CMD...: runs CMD (its output passes through) and appends
# "NAME": [CPU 0 busy %, CPU 1 busy %] over its run to $WORK/cpu.lines.
cpu_ticks() { awk '/^cpu[01] / {printf "%d %d ", $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
cpu_of() {
  local name=$1 before after
  shift
  before=$(cpu_ticks)
  "$@"
  after=$(cpu_ticks)
  echo "$before $after" | awk -v name="$name" '{
    b0 = $5 - $1; i0 = $6 - $2; b1 = $7 - $3; i1 = $8 - $4
    printf "\"%s\": [%.0f, %.0f]\n", name, 100 * b0 / (b0 + i0), 100 * b1 / (b1 + i1)}' \
    >>"$WORK/cpu.lines"
}
cpu_json() { echo "{$(paste -sd, "$WORK/cpu.lines")}"; : >"$WORK/cpu.lines"; }

# loadgen HOST PORT CONNECTIONS REQUEST REPLY_BYTES [ARGS...]: loadgen's
# JSON for SECS seconds of REQUEST (C escapes) answered by REPLY_BYTES.
loadgen() {
  in_cli "$BUILD/bench/loadgen" --connect "$1:$2" --connections "$3" --request "$4" \
    --reply-size "$5" --seconds "$SECS" --json "${@:6}"
}
VALUE=$(head -c 64 /dev/zero | tr '\0' v)  # the 64-byte value loadgen's requests read and write

# redis_run HOST -> JSON {set:{rate,p50,p99}, get:{...}, get1:{p50},
# loadgen:{get, set, get1}, cpu:{workload: [cpu0, cpu1]}}
redis_run() {
  local host=$1
  cpu_of redis-benchmark in_cli redis-benchmark -h "$host" -t set,get -n "$REQS" -c 50 -r 100000 -d 64 \
    --csv >"$WORK/r50.csv"
  in_cli redis-benchmark -h "$host" -t get -n $((REQS / 10)) -c 1 -d 64 --csv >"$WORK/r1.csv"
  in_cli redis-cli -h "$host" set k "$VALUE" >/dev/null
  cpu_of loadgen-get loadgen "$host" 6379 50 '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n' 71 >"$WORK/lg_get.json"
  cpu_of loadgen-set loadgen "$host" 6379 50 "*3\\r\\n\$3\\r\\nSET\\r\\n\$1\\r\\nk\\r\\n\$64\\r\\n$VALUE\\r\\n" 5 \
    >"$WORK/lg_set.json"
  loadgen "$host" 6379 1 '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n' 71 --busy-poll >"$WORK/lg_get1.json"
  python3 - "$WORK" "$(cpu_json)" <<'PY'
import csv, json, sys
work = sys.argv[1]
def rows(path):
    return {r["test"]: r for r in csv.DictReader(open(path))}
r50, r1 = rows(f"{work}/r50.csv"), rows(f"{work}/r1.csv")
pick = lambda r: {"rate": float(r["rps"]), "p50_ms": float(r["p50_latency_ms"]),
                  "p99_ms": float(r["p99_latency_ms"])}
lg = {name: json.load(open(f"{work}/lg_{name}.json")) for name in ("get", "set", "get1")}
print(json.dumps({"set": pick(r50["SET"]), "get": pick(r50["GET"]), "get1": pick(r1["GET"]),
                  "loadgen": lg, "cpu": json.loads(sys.argv[2])}))
PY
}
REDIS=(redis-server --port 6379 --save "" --appendonly no --protected-mode no --logfile "")

# nginx_run HOST -> JSON {keepalive:{rate}, close:{rate}, loadgen:{...}, cpu:{...}}
nginx_run() {
  local ka close reply lg
  ka=$(cpu_of wrk wrk_rate "$1")
  close=$(wrk_rate "$1" -H "Connection: close")
  reply=$(in_cli curl -si "http://$1/" | wc -c)  # fixed: the Date header has a fixed width
  lg=$(cpu_of loadgen loadgen "$1" 80 50 'GET / HTTP/1.1\r\nHost: oryx\r\n\r\n' "$reply")
  echo "{\"keepalive\":{\"rate\":$ka},\"close\":{\"rate\":$close},\"loadgen\":$lg,\"cpu\":$(cpu_json)}"
}

# memcached_run HOST -> JSON {rate}: memcaslap, one thread, 50 connections,
# 64-byte values, 90 % get / 10 % set, SECS seconds.
memcached_run() {
  local tps lg
  printf 'key\n16 16 1\nvalue\n64 64 1\ncmd\n0 0.1\n1 0.9\n' >"$WORK/memcaslap.cfg"
  cpu_of memcaslap in_cli memcaslap -s "$1:11211" -T 1 -c 50 -t "${SECS}s" -F "$WORK/memcaslap.cfg" \
    >"$WORK/mc.out" 2>&1
  tps=$(awk '/^Run time:/ {for (i = 1; i <= NF; i++) if ($i == "TPS:") print $(i + 1)}' "$WORK/mc.out")
  # loadgen reads one key: "VALUE k 0 64", the value and "END", 85 bytes.
  ip netns exec "$CLI" bash -c "exec 3<>/dev/tcp/$1/11211; printf 'set k 0 0 64\r\n$VALUE\r\n' >&3; head -c 8 <&3" |
    grep STORED >/dev/null
  lg=$(cpu_of loadgen loadgen "$1" 11211 50 'get k\r\n' 85)
  echo "{\"rate\": $tps, \"loadgen\": $lg, \"cpu\": $(cpu_json)}"
}
MEMCACHED=(memcached -u root -p 11211 -U 0 -t 1 -m 256 -c 4096)

write_nginx_conf "$WORK/nginx.conf" "master_process on;" "user root;"
: >"$WORK/cpu.lines"

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
    ("loadgen: redis GET, 50 conns: req/s", lambda r: r["redis"]["loadgen"]["get"]["rate"], "higher"),
    ("loadgen: redis GET, 50 conns: p50 us", lambda r: r["redis"]["loadgen"]["get"]["p50_us"], "lower"),
    ("loadgen: redis SET, 50 conns: req/s", lambda r: r["redis"]["loadgen"]["set"]["rate"], "higher"),
    ("loadgen: redis SET, 50 conns: p50 us", lambda r: r["redis"]["loadgen"]["set"]["p50_us"], "lower"),
    ("loadgen: redis GET, 1 conn busy-poll: p50 us",
     lambda r: r["redis"]["loadgen"]["get1"]["p50_us"], "lower"),
    ("loadgen: nginx keep-alive, 50 conns: req/s", lambda r: r["nginx"]["loadgen"]["rate"], "higher"),
    ("loadgen: memcached get, 50 conns: ops/s", lambda r: r["memcached"]["loadgen"]["rate"], "higher"),
]
report_rounds(sys.argv[1], "apps", metrics, rounds, {"threading": sys.argv[4]}, decimals=3)

# Which CPU was the limit: the median busy share of each while a client ran.
import statistics
print(f"\n{'CPU busy %, median of rounds':<36}{'kernel CPU0/CPU1':>18}{'oryx CPU0/CPU1':>18}")
for app in ("redis", "nginx", "memcached"):
    for name in rounds[0][app]["kernel"]["cpu"]:
        cell = lambda side: "/".join(
            f"{statistics.median(r[app][side]['cpu'][name][i] for r in rounds):.0f}" for i in (0, 1))
        print(f"{app + ' ' + name:<36}{cell('kernel'):>18}{cell('oryx'):>18}")
PY
