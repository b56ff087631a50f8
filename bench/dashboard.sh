#!/usr/bin/env bash
# dashboard.sh - what watching the dashboard costs the data path: frames
# per second oryxd's xconnect forwards between two memif ports while
# headless chromium shows its dashboard (overview, refreshing every
# second), against the same oryxd with no browser, alternating in the same
# run. The browser runs on the same 2 CPUs as the workers, so the cost
# includes its rendering as well as the REST handlers.
#
# Usage: bench/dashboard.sh [BUILD_DIR]   (env: DURATION=10 ROUNDS=5)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-$BUILD/bench-dashboard.json}
source "$ROOT/bench/memif_lib.sh"
[ -d "$ROOT/tests/webui/node_modules/playwright-core" ] || { echo "run make deps first (playwright-core)" >&2; exit 1; }

write_generator
{
  common dut 1 0
  memif_port a patch 0
  memif_port b patch 1
  printf '[stage.patch]\ntype = "xconnect"\nnext = ["a", "b"]\n'
} >"$WORK/dut.toml"
sed -i "s|^webui_dir = \"\"|webui_dir = \"$ROOT/webui\"|" "$WORK/dut.toml"

# run_round closed|open: generator and device under test, the dashboard
# open in chromium or not, frames/s over DURATION.
run_round() {
  local gen dut browser=""
  start gen
  gen=$LAST_PID
  start dut
  dut=$LAST_PID
  if [ "$1" = open ]; then
    (cd "$ROOT/tests/webui" && exec node hold_open.mjs "http://$(cat "$WORK/dut.port")/" $((DURATION + 8))) \
      >"$WORK/polls" 2>"$WORK/browser.log" &
    browser=$!
    PIDS+=("$browser")
    for _ in $(seq 100); do grep -q "dashboard open" "$WORK/browser.log" && break; sleep 0.1; done
    grep -q "dashboard open" "$WORK/browser.log" || { cat "$WORK/browser.log" >&2; exit 1; }
  fi
  RATE=$(measure)
  kill -0 "$dut" 2>/dev/null || { echo "the device under test died:" >&2; tail "$WORK"/*.log >&2; exit 1; }
  if [ -n "$browser" ]; then
    wait "$browser" || { echo "the browser failed:" >&2; cat "$WORK/browser.log" >&2; exit 1; }
    POLLS=$(cat "$WORK/polls")
  fi
  finish "$gen" "$dut"
}

closed=()
open=()
polls=()
for round in $(seq "$ROUNDS"); do
  progress "round $round: dashboard closed"
  run_round closed
  closed+=("$RATE")
  progress "round $round: dashboard open"
  run_round open
  open+=("$RATE")
  polls+=("$POLLS")
  echo "round $round: closed ${closed[-1]} frames/s, open ${open[-1]} frames/s ($POLLS polls)"
done

python3 - "$OUT" "$DURATION" "${closed[*]}" "${open[*]}" "${polls[*]}" <<'PY'
import json, statistics, sys, platform, datetime
out, duration = sys.argv[1], int(sys.argv[2])
closed, opened, polls = ([int(x) for x in a.split()] for a in sys.argv[3:6])
c, o = statistics.median(closed), statistics.median(opened)
ratio = o / c if c else 0.0
print()
print(f"{'xconnect, memif':<34}{'frames/s (median)':>20}")
print(f"{'dashboard closed (baseline)':<34}{c:>20,.0f}")
print(f"{'dashboard open, 1 s refresh':<34}{o:>20,.0f}")
print(f"{'ratio open / closed':<34}{ratio:>20.3f}")
json.dump({"benchmark": "dashboard-overhead", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "duration_s": duration, "closed_fps": closed, "open_fps": opened,
           "polls_per_round": polls, "closed_median_fps": c, "open_median_fps": o, "ratio": round(ratio, 3)},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
