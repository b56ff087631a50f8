#!/usr/bin/env bash
# run.sh BUILD_FUZZ SECONDS [TARGET...]: runs each fuzz target for SECONDS
# on its seed corpus plus what earlier runs found (BUILD_FUZZ/corpus/),
# then prints executions and coverage. A crash, leak, timeout or abort
# fails the run and leaves the input in BUILD_FUZZ/findings/ (add it to
# fuzz/regressions/<target>/ once fixed: every run replays those first).
# FUZZ_TIMEOUT (seconds, default 10) is how long one input may take: raise
# it when the fuzzers share the CPUs with other work, so that starvation
# is not reported as a hang.
set -euo pipefail
BUILD=${1:?usage: run.sh BUILD_FUZZ SECONDS [TARGET...]}
SECONDS_EACH=${2:?usage: run.sh BUILD_FUZZ SECONDS [TARGET...]}
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(config rest connection_query packet_input capture_request)
# fuzz_config checks the plugins' side against the main build's plugins.
export ORYX_FUZZ_PLUGIN_DIR=${ORYX_FUZZ_PLUGIN_DIR:-$HERE/../build/plugins}
[ -d "$ORYX_FUZZ_PLUGIN_DIR" ] || unset ORYX_FUZZ_PLUGIN_DIR
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${TARGETS[@]}"; do
  bin=$BUILD/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz: $bin not built (make fuzz builds it)" >&2; exit 2; }
  work=$BUILD/corpus/$t
  findings=$BUILD/findings/$t
  mkdir -p "$work" "$findings"
  seeds=("$HERE/corpus/$t")
  [ "$t" = config ] && seeds+=("$HERE/../etc")
  if [ -d "$HERE/regressions/$t" ]; then
    "$bin" -runs=0 "$HERE/regressions/$t" >"$findings/regressions.log" 2>&1 ||
      { tail -30 "$findings/regressions.log"; echo "fuzz: $t fails a regression input" >&2; exit 1; }
  fi
  echo "fuzz: $t for ${SECONDS_EACH}s"
  log=$findings/last.log
  if ! "$bin" -max_total_time="$SECONDS_EACH" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=4096 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$findings/" "$work" "${seeds[@]}" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t found a problem; the input is in $findings/" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1)
  echo "fuzz: $t ok: $execs executions, $cov edges, $ft features, corpus $(ls "$work" | wc -l) inputs"
done
