#!/usr/bin/env bash
# linklayer.sh - what link-layer stages cost on a forwarding path: frames
# per second oryxd forwards between two memif ports through xconnect, as
# a ratio to xconnect alone in the same run, with
#   vlan     the frames' VLAN tag removed on the way in (vlan_demux and a
#            VID 100 sub-interface) and a VID 200 tag added on the way out
#            (sub-interface w200 on port b)
#   nomatch  a pdump capture on a.rx whose filter matches nothing ("udp")
#   all      a pdump capture of every packet on a.rx (to a pcapng file)
#
# The generator oryxd (a null port, a vlan stage tagging VID 100, memif a;
# memif b counting what comes back) is the same for every path. Each round
# runs every path once for DURATION seconds after a warm-up; each path is
# compared with the same round's baseline and the table gives the median
# of those ratios (this VM switches speed from one process start to the
# next, whatever the path). The capture's writer thread is pinned to the
# device's worker core. The JSON also has the generator's sending rates.
#
# Usage: bench/linklayer.sh [BUILD_DIR]   (env: DURATION=5 ROUNDS=3 OUT=...)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$BUILD/bench-linklayer.json}
source "$ROOT/bench/memif_lib.sh"

write_generator "$(printf '[stage.gen_path]\ntype = "vlan"\nvid = 100\nnext = ["a", "b"]\n')"
{
  common dut 1 0
  memif_port a patch 0
  memif_port b patch 1
  printf '[stage.patch]\ntype = "xconnect"\nnext = ["a", "b"]\n'
} >"$WORK/plain.toml"
{
  # One direction only (a to b): a sub-interface's upper stage cannot lead
  # back to it, so w200's upper is a port that never gets its frames.
  common dut 1 0
  memif_port a dmx 0
  memif_port b "" 1
  printf '[stage.dmx]\ntype = "vlan_demux"\nnext = ["v100"]\n'
  printf '[stage.v100]\ntype = "vlan"\nvid = 100\nnext = ["a", "patch"]\n'
  printf '[stage.w200]\ntype = "vlan"\nvid = 200\nnext = ["b", "a"]\n'
  printf '[stage.patch]\ntype = "xconnect"\nnext = ["a", "w200"]\n'
} >"$WORK/vlan.toml"

sent() { gen_counter a tx_packets; }  # frames the generator has sent on a

# run_path PATH: the generator, the device under test, an optional capture;
# sets RATE (returned frames/s) and SENT (generator frames/s).
run_path() {
  local config=plain filter=""
  case "$1" in
    vlan) config=vlan ;;
    nomatch) filter=udp ;;
  esac
  start gen
  local gen=$LAST_PID
  cp "$WORK/$config.toml" "$WORK/dut.toml"
  start dut
  local dut=$LAST_PID
  if [ "$1" = nomatch ] || [ "$1" = all ]; then
    curl -sf -X POST -H "Authorization: Bearer bench-$$" "http://$(cat "$WORK/dut.port")/api/v1/captures" \
      -d "{\"points\": [\"a.rx\"], \"filter\": \"$filter\"}" >"$WORK/capture.json" ||
      { echo "cannot start the capture" >&2; exit 1; }
    # The capture's writer is the device's cost: on this 2-core machine it
    # shares the device's worker core, not the generator's.
    for task in /proc/"$dut"/task/*; do
      [ "$(cat "$task/comm")" = oryx-pdump ] && taskset -p -c 0 "${task##*/}" >/dev/null
    done
  fi
  local s0
  s0=$(sent)
  RATE=$(measure)
  SENT=$((($(sent) - s0) / (DURATION + 2)))
  if [ "$1" = nomatch ] || [ "$1" = all ]; then
    curl -sf "http://$(cat "$WORK/dut.port")/api/v1/captures/1" >"$WORK/capture-$1.json"
  fi
  kill -0 "$dut" 2>/dev/null || { echo "the device under test died:" >&2; tail "$WORK"/*.log >&2; exit 1; }
  finish "$gen" "$dut"
  rm -rf "$WORK/captures"
}

PATHS="plain vlan nomatch all"
declare -A rates sents
for round in $(seq "$ROUNDS"); do
  for p in $PATHS; do
    run_path "$p"
    rates[$p]="${rates[$p]:-} $RATE"
    sents[$p]="${sents[$p]:-} $SENT"
    progress "round $round/$ROUNDS, $p: $RATE frames/s returned (generator sent $SENT/s)"
  done
done

CAPTURE_ALL=$(python3 -c "import json; c=json.load(open('$WORK/capture-all.json'))['counters']; print(c['seen'], c['written_packets'], c['dropped_ring_full'] + c['dropped_no_mbuf'])")
python3 "$ROOT/bench/linklayer_report.py" "$OUT" "$DURATION" "$CAPTURE_ALL" \
  "plain:${rates[plain]}:${sents[plain]}" "vlan:${rates[vlan]}:${sents[vlan]}" \
  "nomatch:${rates[nomatch]}:${sents[nomatch]}" "all:${rates[all]}:${sents[all]}"
