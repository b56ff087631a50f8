#!/usr/bin/env bash
# sockmap.sh - the sockmap service on versus off, same run, on a
# sidecar-shaped localhost path: client -> haproxy (TCP mode) -> server,
# all in one cgroup, so with the service on both hops are redirected.
#   loadgen  bench/loadgen through haproxy to loadgen --server (echo):
#            64 B on 1 connection (RTT), 64 B on 50 connections (rate),
#            64 KiB messages on 1 connection (bulk)
#   redis    redis-benchmark through haproxy to redis-server: SET and GET,
#            50 connections (rate, p50, p99)
# Each round runs every workload with the service off, then on; each "on"
# is compared with the same round's "off", and the table gives the median
# of those ratios. Prints the table and writes JSON.
#
# Usage: bench/sockmap.sh [BUILD_DIR]   (env: DURATION=5 ROUNDS=3 OUT=...)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$BUILD/bench-sockmap.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
WORK=$(mktemp -d /tmp/oryx-bench-XXXXXX)
# sockmap_lib.sh's bookkeeping (tests/e2e/lib.sh has it for tests).
_CLEANUP_HOOKS=() PIDS=() ORYXD_PID=""
source "$ROOT/plugins/sockmap/tests/sockmap_lib.sh"
progress() { echo "[$(date +%T)] $*" >&2; }
cleanup() {
  for p in $ORYXD_PID "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $ORYXD_PID "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for hook in "${_CLEANUP_HOOKS[@]}"; do "$hook" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

sockmap_setup bench
ECHO_PORT=$((20000 + RANDOM % 10000)) REDIS_PORT=$((ECHO_PORT + 1))
PROXY_ECHO=$((ECHO_PORT + 10000)) PROXY_REDIS=$((ECHO_PORT + 10001))
cat >"$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend echo
  bind 127.0.0.1:$PROXY_ECHO
  default_backend echo
backend echo
  server loadgen 127.0.0.1:$ECHO_PORT
frontend redis
  bind 127.0.0.1:$PROXY_REDIS
  default_backend redis
backend redis
  server redis 127.0.0.1:$REDIS_PORT
CONF
# Started directly (not through the in_cgroup function) so $! is the server.
serve() { bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$MESH" "$@" >>"$WORK/servers.log" 2>&1 & PIDS+=("$!"); }
serve "$BUILD/bench/loadgen" --server "$ECHO_PORT"
serve redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
serve haproxy -db -f "$WORK/haproxy.cfg"
for _ in $(seq 50); do
  redis-cli -p "$PROXY_REDIS" ping >/dev/null 2>&1 && break
  sleep 0.1
done

start_service() {
  printf '[plugins]\npath = ["%s"]\n[http]\nlisten = "127.0.0.1:0"\nport_file = "%s"\n%s' \
    "$BUILD/plugins" "$WORK/oryx.port" "$SM_BODY" >"$WORK/oryx.toml"
  rm -f "$WORK/oryx.port"
  "$BUILD/kernel/oryxd" -c "$WORK/oryx.toml" >"$WORK/oryx.log" 2>&1 &
  ORYXD_PID=$!
  for _ in $(seq 100); do grep -q "sockmap redirect on" "$WORK/oryx.log" && return 0; sleep 0.1; done
  cat "$WORK/oryx.log" >&2
  exit 1
}
stop_service() {
  kill -TERM "$ORYXD_PID"
  wait "$ORYXD_PID" || true
  ORYXD_PID=""
}
redirected() { sm_counter "http://$(cat "$WORK/oryx.port")" mesh bytes_redirected; }

# run_workloads MODE: every workload once; appends "MODE metric value" lines.
run_workloads() {
  local mode=$1 j
  for spec in "rtt 1 64" "rate 50 64" "bulk 1 65536"; do
    set -- $spec
    j=$(in_cgroup "$MESH" "$BUILD/bench/loadgen" --connect "127.0.0.1:$PROXY_ECHO" \
      --connections "$2" --size "$3" --seconds "$DURATION" --json)
    python3 -c "
import json, sys
j = json.loads(sys.argv[1])
for k in ('rate', 'p50_us', 'p99_us', 'mbit_per_s'):
    print('$mode', 'loadgen_$1_' + k, j[k])" "$j" >>"$WORK/results"
  done
  in_cgroup "$MESH" redis-benchmark -p "$PROXY_REDIS" -c 50 -n $((DURATION * 40000)) -t set,get --csv 2>/dev/null |
    python3 -c "
import csv, sys
for row in csv.DictReader(sys.stdin):
    t = row['test'].lower()
    for k, col in (('rate', 'rps'), ('p50_ms', 'p50_latency_ms'), ('p99_ms', 'p99_latency_ms')):
        print('$mode', 'redis_' + t + '_' + k, row[col])" >>"$WORK/results"
}

for round in $(seq "$ROUNDS"); do
  progress "round $round of $ROUNDS: sockmap off"
  echo "round $round" >>"$WORK/results"
  run_workloads off
  progress "round $round of $ROUNDS: sockmap on"
  start_service
  run_workloads on
  moved=$(redirected)
  stop_service
  echo "on bytes_redirected $moved" >>"$WORK/results"
  progress "  $moved bytes redirected with the service on"
done

python3 - "$WORK/results" "$OUT" "$DURATION" <<'EOF'
import datetime, json, platform, statistics, sys
rounds = []
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "round":
        rounds.append({"off": {}, "on": {}})
    else:
        rounds[-1][f[0]][f[1]] = float(f[2])
metrics = [m for m in rounds[0]["off"]]
rows = []
print(f"\n{'metric':<28}{'off (median)':>14}{'on (median)':>14}{'on/off ratios':>28}{'median':>8}")
for m in metrics:
    off = [r["off"][m] for r in rounds]
    on = [r["on"][m] for r in rounds]
    ratios = [b / a if a else 0 for a, b in zip(off, on)]
    med = statistics.median(ratios)
    fmt = (lambda v: f"{v:,.3f}") if m.endswith("_ms") else (lambda v: f"{v:,.1f}")
    print(f"{m:<28}{fmt(statistics.median(off)):>14}{fmt(statistics.median(on)):>14}"
          f"{' '.join(f'{q:.2f}' for q in ratios):>28}{med:>8.2f}")
    rows.append({"metric": m, "off": off, "on": on, "ratios": ratios, "median_ratio": med})
redirected = [r["on"].get("bytes_redirected", 0) for r in rounds]
print(f"\nbytes redirected per round (service on): {', '.join(f'{int(b):,}' for b in redirected)}")
json.dump({"benchmark": "sockmap", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "seconds_each": int(sys.argv[3]), "rows": rows,
           "bytes_redirected": redirected}, open(sys.argv[2], "w"), indent=2)
print(f"written to {sys.argv[2]}")
EOF
