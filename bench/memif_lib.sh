# SPDX-License-Identifier: Apache-2.0
# memif_lib.sh - what the forwarding benchmarks share (sourced by
# xconnect.sh and linklayer.sh after they set BUILD): hugepages, a
# generator oryxd and a device under test joined by two memif links, and
# a frames-per-second measurement. dashboard.sh uses only its hugepages
# and instances (common, start, finish).
#
#   generator: null port -> [gen_path] -> memif a ==> device under test
#              memif b (counted) <===================== device under test
WORK=$(mktemp -d /tmp/oryx-bench-XXXXXX)
PIDS=()
# finish PID...: SIGKILL all at once. DPDK 22.11's memif PMD can fault in a
# process whose memif peer disconnects while frames are in flight (see
# plugins/io/README.md); killing every process together leaves none to see
# a disconnect. --in-memory leaves no hugepage files behind either way.
finish() {
  local pid
  kill -KILL "$@" 2>/dev/null || true
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}
memif_cleanup() {
  finish "${PIDS[@]}"
  # Killed processes leave their (empty) EAL runtime directories.
  rmdir /var/run/dpdk/bench-*-$$ 2>/dev/null || true
  [ -n "${RESTORE_HUGE:-}" ] && echo "$RESTORE_HUGE" >/proc/sys/vm/nr_hugepages
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap memif_cleanup EXIT
progress() { echo "[$(date +%T)] $*" >&2; }

# Two processes at a time with 128 MiB each, on 2 MiB hugepages.
HUGE_ORIG=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
FREE=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "$FREE" -lt 160 ]; then
  echo $((HUGE_ORIG + 160 - FREE)) >/proc/sys/vm/nr_hugepages
  RESTORE_HUGE=$HUGE_ORIG
fi
grep -q hugetlbfs /proc/mounts || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }

# common NAME MAIN_LCORE WORKER_LCORE: the kernel tables of an instance.
common() {
  printf '[kernel]\nhugepages = true\nmemory_mb = 128\nmbufs = 4095\n'
  printf 'file_prefix = "bench-%s-%s"\nmain_lcore = %s\nworker_lcores = "%s"\n' "$1" $$ "$2" "$3"
  printf 'idle = "busy-poll"\n[plugins]\npath = ["%s"]\n[log]\nlevel = "warn"\n' "$BUILD/plugins"
  printf '[http]\nlisten = "127.0.0.1:0"\nport_file = "%s"\nwebui_dir = ""\n' "$WORK/$1.port"
  printf 'token = "bench-%s"\n[capture]\ndir = "%s"\n' $$ "$WORK/captures"
}

# memif_port NAME NEXT ID [ROLE]: a memif port stage on WORK/NAME.sock.
memif_port() {
  printf '[stage.%s]\ntype = "port"\ndriver = "memif"\nsocket = "%s"\nmemif_id = %s\n' \
    "$1" "$WORK/$1.sock" "$3"
  [ -n "${4:-}" ] && printf 'role = "%s"\n' "$4"
  [ -n "$2" ] && printf 'next = "%s"\n' "$2"
  return 0
}

# write_generator [STAGES]: WORK/gen.toml. STAGES (TOML) sit between the
# null source and memif a when given, and must define stage "gen_path".
write_generator() {
  local path=${1:-}
  {
    common gen 0 1
    printf '[stage.src]\ntype = "port"\ndriver = "null"\nnext = "%s"\n' \
      "$([ -n "$path" ] && echo gen_path || echo a)"
    memif_port a "" 0 server
    memif_port b "" 1 server
    printf '%s\n' "$path"
  } >"$WORK/gen.toml"
}

start() {  # start NAME: oryxd on WORK/NAME.toml; sets LAST_PID
  rm -f "$WORK/$1.port"
  "$BUILD/kernel/oryxd" -c "$WORK/$1.toml" >"$WORK/$1.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  for _ in $(seq 100); do [ -s "$WORK/$1.port" ] && return 0; sleep 0.1; done
  echo "$1 did not start:" >&2; cat "$WORK/$1.log" >&2; exit 1
}
gen_counter() {  # gen_counter PORT FIELD: a port counter of the generator
  curl -sf "http://$(cat "$WORK/gen.port")/api/v1/stats" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['ports']['$1']['$2'])"
}
returned() { gen_counter b rx_packets; }  # frames the generator got back on b
measure() {  # frames/s returned over DURATION, after a 2 s warm-up
  sleep 2
  local a b
  a=$(returned)
  sleep "$DURATION"
  b=$(returned)
  echo $(((b - a) / DURATION))
}
