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
OUT=${OUT:-$BUILD/bench-xconnect.json}
source "$ROOT/bench/memif_lib.sh"

write_generator
{
  common dut 1 0
  memif_port a patch 0
  memif_port b patch 1
  printf '[stage.patch]\ntype = "xconnect"\nnext = ["a", "b"]\n'
} >"$WORK/dut.toml"

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
