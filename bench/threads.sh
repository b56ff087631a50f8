#!/usr/bin/env bash
# threads.sh - many application threads on few CPUs: memcached with 16
# worker threads, one client connection each (memcached hands connections
# to its threads round-robin), all of the server on CPU 1, the load
# generator (memcaslap, 90 % get) on CPU 0, for DURATION seconds: on the
# kernel stack, then under `oryx run` in each threading model. Prints the
# rate against the kernel's and the slowest one-second interval against the
# run's mean (liveness: a stalled model shows intervals near zero).
#
# Usage: bench/threads.sh [BUILD_DIR]   (env: DURATION=60, THREADS=16,
#        MODELS="shared separate-thread run-to-completion")
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
DURATION=${DURATION:-60}
THREADS=${THREADS:-16}
MODELS=${MODELS:-"shared separate-thread run-to-completion"}
OUT=${OUT:-$BUILD/bench-threads.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
bench_topology otc$TAG otk$TAG oto$TAG 198.18.76 198.18.77
KERNEL_IP=198.18.77.2
ORYX_IP=198.18.76.2

config() {  # config MODEL: the default configuration in MODEL
  echo "[kernel]"
  echo "hugepages = false"
  echo "file_prefix = \"bench-threads-$$\""
  if [ "$1" != shared ]; then
    echo "main_lcore = 0"  # DPDK wants the main lcore apart; the worker shares CPU 1
    echo "worker_lcores = \"1\""
    echo "idle = \"adaptive\""
  fi
  echo "[preload]"
  echo "threading = \"$1\""
  oryx_app_tables "$ORYX_IP"
}
MEMCACHED=(memcached -u root -p 11211 -U 0 -t "$THREADS" -m 64)
printf 'key\n16 16 1\nvalue\n64 64 1\ncmd\n0 0.1\n1 0.9\n' >"$WORK/memcaslap.cfg"
wait_for() {
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "not ready: $*" >&2
  exit 1
}
# load HOST NAME: memcaslap for DURATION s; one-second get rates in NAME.out
load() {
  ip netns exec "$CLI" taskset -c 0 memcaslap -s "$1:11211" -T 1 -c "$THREADS" -t "${DURATION}s" \
    -S 1s -F "$WORK/memcaslap.cfg" >"$WORK/$2.out" 2>&1
}

progress "kernel stack: memcached -t $THREADS on CPU 1, ${DURATION} s"
ip netns exec "$KRN" taskset -c 1 "${MEMCACHED[@]}" -l $KERNEL_IP >>"$WORK/apps.log" 2>&1 &
PIDS+=($!)
wait_for ip netns exec "$CLI" memcstat --servers=$KERNEL_IP
load $KERNEL_IP kernel
stop_pids
for model in $MODELS; do
  progress "oryx run, $model: memcached -t $THREADS on CPU 1, ${DURATION} s"
  config "$model" >"$WORK/$model.toml"
  taskset -c 1 "$BUILD/kernel/preload/oryx" run --config "$WORK/$model.toml" -- \
    "${MEMCACHED[@]}" -l $ORYX_IP >>"$WORK/apps.log" 2>&1 &
  PIDS+=($!)
  wait_for ip netns exec "$CLI" memcstat --servers=$ORYX_IP
  load $ORYX_IP "$model"
  stop_pids
done

python3 - "$OUT" "$WORK" "$THREADS" "$DURATION" kernel $MODELS <<'PY'
import json, re, statistics, sys
out, work, threads, duration, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
result = {}
for run in runs:
    text = open(f"{work}/{run}.out").read()
    total = float(re.search(r"^Run time: .* TPS: (\d+)", text, re.M).group(1))
    # memcaslap prints "Period <s> <ops> <tps> ..." per interval, get stats first
    periods = [int(m.group(1)) for m in re.finditer(r"Get Statistics\n.*\nPeriod\s+\d+\s+\d+\s+(\d+)", text)]
    result[run] = {"rate": total, "get_intervals": periods}
base = result["kernel"]["rate"]
print(f"\nmemcached -t {threads}, {threads} connections, {duration} s, server on CPU 1")
print(f"{'run':<20}{'ops/s':>12}{'/ kernel':>10}{'slowest second / mean':>24}")
for run in runs:
    r = result[run]
    iv = r["get_intervals"]
    worst = min(iv) / statistics.mean(iv) if iv else 0
    r["ratio"], r["slowest_interval_ratio"] = r["rate"] / base, worst
    print(f"{run:<20}{r['rate']:>12,.0f}{r['rate'] / base:>10.2f}{worst:>24.2f}")
json.dump(result, open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
