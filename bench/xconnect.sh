#!/usr/bin/env bash
# xconnect.sh - the kernel's forwarding overhead: frames per second that
# oryxd's xconnect forwards between two memif ports, against a bare DPDK
# loop (bench/bare_fwd.c) on the same ports, in the same run.
#
# A generator oryxd (a null port feeding memif "a", memif "b" counting what
# comes back) is the traffic source for both. The device under test is
# first oryxd with xconnect, then bare_fwd, each on the same CPU, for
# DURATION seconds after a warm-up. Prints a table and writes JSON.
#
# Usage: bench/xconnect.sh [BUILD_DIR]   (env: DURATION=5 ROUNDS=5)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
WORK=$(mktemp -d /tmp/oryx-bench-XXXXXX)
OUT=${OUT:-$BUILD/bench-xconnect.json}
PIDS=()
cleanup() {
  finish "${PIDS[@]}"
  # Killed processes leave their (empty) EAL runtime directories.
  rmdir /var/run/dpdk/bench-*-$$ 2>/dev/null || true
  [ -n "${RESTORE_HUGE:-}" ] && echo "$RESTORE_HUGE" >/proc/sys/vm/nr_hugepages
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# Two processes at a time with 128 MiB each, on 2 MiB hugepages.
HUGE_ORIG=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
FREE=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "$FREE" -lt 160 ]; then
  echo $((HUGE_ORIG + 160 - FREE)) >/proc/sys/vm/nr_hugepages
  RESTORE_HUGE=$HUGE_ORIG
fi
grep -q hugetlbfs /proc/mounts || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }

common() {  # common NAME MAIN_LCORE WORKER_LCORE
  cat <<EOF
[kernel]
hugepages = true
memory_mb = 128
mbufs = 4095
file_prefix = "bench-$1-$$"
main_lcore = $2
worker_lcores = "$3"
idle = "busy-poll"
[plugins]
path = ["$BUILD/plugins"]
[log]
level = "warn"
[http]
listen = "127.0.0.1:0"
port_file = "$WORK/$1.port"
webui_dir = ""
EOF
}

# Generator: null -> memif a (server); memif b (server) -> counted drop.
{ common gen 0 1; cat <<EOF
[stage.src]
type = "port"
driver = "null"
next = "a"
[stage.a]
type = "port"
driver = "memif"
role = "server"
socket = "$WORK/a.sock"
[stage.b]
type = "port"
driver = "memif"
role = "server"
socket = "$WORK/b.sock"
memif_id = 1
EOF
} >"$WORK/gen.toml"

{ common dut 1 0; cat <<EOF
[stage.a]
type = "port"
driver = "memif"
socket = "$WORK/a.sock"
next = "patch"
[stage.b]
type = "port"
driver = "memif"
socket = "$WORK/b.sock"
memif_id = 1
next = "patch"
[stage.patch]
type = "xconnect"
next = ["a", "b"]
EOF
} >"$WORK/dut.toml"

start() {  # start NAME: oryxd on WORK/NAME.toml; sets LAST_PID
  rm -f "$WORK/$1.port"
  "$BUILD/kernel/oryxd" -c "$WORK/$1.toml" >"$WORK/$1.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  for _ in $(seq 100); do [ -s "$WORK/$1.port" ] && return 0; sleep 0.1; done
  echo "$1 did not start:" >&2; cat "$WORK/$1.log" >&2; exit 1
}
# finish PID...: SIGKILL all at once. DPDK 22.11's memif PMD can fault in a
# process whose memif peer disconnects while frames are in flight (see
# plugins/io/README.md); killing every process together leaves none to see
# a disconnect. --in-memory leaves no hugepage files behind either way.
finish() {
  kill -KILL "$@" 2>/dev/null || true
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
returned() {  # frames the generator got back on b
  curl -sf "http://$(cat "$WORK/gen.port")/api/v1/stats" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['ports']['b']['rx_packets'])"
}
measure() {  # frames/s returned over DURATION, after a 2 s warm-up
  sleep 2
  local a b
  a=$(returned)
  sleep "$DURATION"
  b=$(returned)
  echo $(((b - a) / DURATION))
}
# run_round oryx|bare: the generator, then the device under test; measure.
run_round() {
  local dut gen
  start gen  # the memif servers; clients refuse to start without them
  gen=$LAST_PID
  if [ "$1" = oryx ]; then
    start dut
    dut=$LAST_PID
  else
    "$BUILD/bench/bare_fwd" -l 0 --main-lcore 0 --in-memory -m 128 --no-pci \
      --no-telemetry --file-prefix "bench-bare-$$" --log-level=warning -- \
      "$WORK/a.sock" "$WORK/b.sock" >"$WORK/bare.log" 2>&1 &
    dut=$!
    PIDS+=("$dut")
  fi
  RATE=$(measure)
  kill -0 "$dut" 2>/dev/null || { echo "the device under test died:" >&2; tail "$WORK"/*.log >&2; exit 1; }
  finish "$gen" "$dut"
}

oryx_rates=()
bare_rates=()
for round in $(seq "$ROUNDS"); do
  run_round oryx
  oryx_rates+=("$RATE")
  run_round bare
  bare_rates+=("$RATE")
  echo "round $round: oryxd ${oryx_rates[-1]} frames/s, bare loop ${bare_rates[-1]} frames/s"
done

python3 - "$OUT" "$DURATION" "${oryx_rates[*]}" "${bare_rates[*]}" <<'PY'
import json, statistics, sys, platform, datetime
out, duration, oryx, bare = sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3].split()], [int(x) for x in sys.argv[4].split()]
o, b = statistics.median(oryx), statistics.median(bare)
ratio = o / b if b else 0.0
print()
print(f"{'path':<28}{'frames/s (median)':>20}")
print(f"{'bare DPDK loop (baseline)':<28}{b:>20,.0f}")
print(f"{'oryxd xconnect':<28}{o:>20,.0f}")
print(f"{'ratio oryxd / bare':<28}{ratio:>20.3f}")
json.dump({"benchmark": "xconnect-memif", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "duration_s": duration, "oryx_fps": oryx, "bare_fps": bare,
           "oryx_median_fps": o, "bare_median_fps": b, "ratio": round(ratio, 3)},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
