#!/usr/bin/env bash
# dashboard.sh - what watching the dashboard costs the data path: frames
# per second oryxd's xconnect forwards between two null ports (an endless
# source and a discarding sink in both directions, so the worker is the
# only limit) while headless chromium shows its dashboard (overview,
# refreshing every second), against the same oryxd with no browser,
# alternating in the same run.
#
# The worker busy-polls CPU 1; oryxd's main thread and REST handlers stay
# on CPU 0. BROWSER_CPUS says where chromium may run:
#   0    (default) the control CPU, as on an appliance whose workers own
#        their cores and whose operator's browser runs elsewhere: the cost
#        measured is the REST handlers and their counter reads;
#   0,1  anywhere: chromium's rendering competes with the worker as well.
#
# Usage: bench/dashboard.sh [BUILD_DIR]   (env: DURATION=10 ROUNDS=5 BROWSER_CPUS=0)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
BROWSER_CPUS=${BROWSER_CPUS:-0}
OUT=${OUT:-$BUILD/bench-dashboard.json}
source "$ROOT/bench/memif_lib.sh"
[ -d "$ROOT/tests/webui/node_modules/playwright-core" ] || { echo "run make deps first (playwright-core)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs: one for the worker, one for the rest" >&2; exit 1; }

{
  common dut 0 1
  printf '[stage.a]\ntype = "port"\ndriver = "null"\nnext = "patch"\n'
  printf '[stage.b]\ntype = "port"\ndriver = "null"\nnext = "patch"\n'
  printf '[stage.patch]\ntype = "xconnect"\nnext = ["a", "b"]\n'
} >"$WORK/dut.toml"
sed -i "s|^webui_dir = \"\"|webui_dir = \"$ROOT/webui\"|" "$WORK/dut.toml"

forwarded() {  # frames both null sinks took from the xconnect so far
  curl -sf "http://$(cat "$WORK/dut.port")/api/v1/stats" |
    python3 -c "import json,sys; p=json.load(sys.stdin)['ports']; print(p['a']['tx_packets'] + p['b']['tx_packets'])"
}

# window: frames/s forwarded over DURATION, after a 2 s settling time.
window() {
  local a b
  sleep 2
  a=$(forwarded)
  sleep "$DURATION"
  b=$(forwarded)
  kill -0 "$DUT" 2>/dev/null || { echo "the device under test died:" >&2; tail "$WORK"/*.log >&2; exit 1; }
  RATE=$(((b - a) / DURATION))
}

# One oryxd for the whole run: each round measures a window with no
# browser, then one with the dashboard open, so both see the same process,
# memory layout and mbuf pool.
start dut
DUT=$LAST_PID
closed=()
open=()
polls=()
for round in $(seq "$ROUNDS"); do
  progress "round $round: dashboard closed"
  window
  closed+=("$RATE")
  progress "round $round: dashboard open"
  (cd "$ROOT/tests/webui" &&
    exec taskset -c "$BROWSER_CPUS" node hold_open.mjs "http://$(cat "$WORK/dut.port")/" $((DURATION + 3))) \
    >"$WORK/polls" 2>"$WORK/browser.log" &
  browser=$!
  PIDS+=("$browser")
  for _ in $(seq 100); do grep -q "dashboard open" "$WORK/browser.log" && break; sleep 0.1; done
  grep -q "dashboard open" "$WORK/browser.log" || { cat "$WORK/browser.log" >&2; exit 1; }
  window
  open+=("$RATE")
  wait "$browser" || { echo "the browser failed:" >&2; cat "$WORK/browser.log" >&2; exit 1; }
  polls+=("$(cat "$WORK/polls")")
  echo "round $round: closed ${closed[-1]} frames/s, open ${open[-1]} frames/s (${polls[-1]} polls)"
done

python3 - "$OUT" "$DURATION" "$BROWSER_CPUS" "${closed[*]}" "${open[*]}" "${polls[*]}" <<'PY'
import json, statistics, sys, platform, datetime
out, duration, browser_cpus = sys.argv[1], int(sys.argv[2]), sys.argv[3]
closed, opened, polls = ([int(x) for x in a.split()] for a in sys.argv[4:7])
c, o = statistics.median(closed), statistics.median(opened)
ratio = o / c if c else 0.0
per_round = [round(x / y, 3) for x, y in zip(opened, closed)]
print()
print(f"{'xconnect, null ports':<34}{'frames/s (median)':>20}")
print(f"{'dashboard closed (baseline)':<34}{c:>20,.0f}")
print(f"{'dashboard open, 1 s refresh':<34}{o:>20,.0f}")
print(f"{'ratio open / closed':<34}{ratio:>20.3f}")
print(f"{'per round':<34}{' '.join(f'{r:.3f}' for r in per_round):>20}")
json.dump({"benchmark": "dashboard-overhead", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "duration_s": duration, "worker_cpu": 1, "browser_cpus": browser_cpus, "closed_fps": closed, "open_fps": opened,
           "polls_per_round": polls, "closed_median_fps": c, "open_median_fps": o,
           "ratio": round(ratio, 3), "ratio_per_round": per_round},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
