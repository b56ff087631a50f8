# SPDX-License-Identifier: Apache-2.0
# sockmap_lib.sh - for tests and benchmarks of the sockmap service, sourced
# after tests/e2e/lib.sh (or bench/lib.sh): a cgroup the test owns, programs
# run inside it, the service's counters, and checks that nothing is left.

CG_ROOT=$(mount -t cgroup2 | awk '{print $3}' | grep -E '^/sys/fs/cgroup(/unified)?$' | tail -1)
[ -n "$CG_ROOT" ] || { echo "no cgroup v2 mount" >&2; exit 1; }
_CGROUPS=()
_PIN_DIRS=()

# make_cgroup VAR NAME: creates $CG_ROOT/NAME (removed at exit) and sets VAR
# to its path.
make_cgroup() {
  mkdir -p "$CG_ROOT/$2"
  _CGROUPS+=("$CG_ROOT/$2")
  printf -v "$1" '%s' "$CG_ROOT/$2"
}

# remove_pins_at_exit DIR: a pin directory an oryxd that failed may leave.
remove_pins_at_exit() { _PIN_DIRS+=("$1"); }

# in_cgroup DIR CMD...: runs CMD (and what it starts) inside cgroup DIR.
in_cgroup() {
  local dir=$1
  shift
  bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$dir" "$@"
}

# sockmap_cleanup (a lib.sh cleanup hook): pins left by a killed oryxd,
# then the cgroups (any process we left in them moves to the root).
sockmap_cleanup() {
  for dir in "${_PIN_DIRS[@]}"; do
    [ -d "$dir" ] || continue
    rm -f "$dir"/*
    rmdir "$dir" "$(dirname "$dir")" "$(dirname "$(dirname "$dir")")" 2>/dev/null || true
  done
  for dir in "${_CGROUPS[@]}"; do
    [ -d "$dir" ] || continue
    for pid in $(cat "$dir/cgroup.procs" 2>/dev/null); do echo "$pid" >"$CG_ROOT/cgroup.procs" 2>/dev/null || true; done
    rmdir "$dir" 2>/dev/null || true
  done
}
_CLEANUP_HOOKS+=(sockmap_cleanup)

# sockmap_setup NAME: a cgroup oryx-e2e-NAME-$TAG ($MESH), the pin
# directory of service "mesh" with file_prefix e2e-NAME-$TAG ($PINS, removed
# at exit if a failed oryxd left it), and $SM_BODY, an appliance.toml body
# that runs the service on $MESH (append keys of [service.mesh] to it).
sockmap_setup() {
  make_cgroup MESH "oryx-e2e-$1-$TAG"
  PINS=/sys/fs/bpf/oryx/e2e-$1-$TAG/mesh
  remove_pins_at_exit "$PINS"
  SM_BODY="
[kernel]
hugepages = false
memory_mb = 64
file_prefix = \"e2e-$1-$TAG\"
[service.mesh]
type = \"sockmap\"
cgroups = [\"$MESH\"]
"
}

# sm_counter URL SERVICE NAME: one counter of a sockmap service.
sm_counter() {
  curl -sf "$1/api/v1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['stages']['$2']['counters']['$3'])"
}

# sm_record_programs PINDIR: remembers the ids of the programs that use
# the sockhash pinned in PINDIR (the running service's), so that the
# leftover check asks for exactly ours: other tests running at the same
# time load programs of the same names.
sm_record_programs() {
  local map
  map=$(bpftool -j map show pinned "$1/oryx_socks" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') ||
    return 1
  bpftool -j prog show | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if int(sys.argv[1]) in p.get("map_ids", []):
        print(p["id"])' "$map" >>"$WORK/sm_prog_ids"
  [ -s "$WORK/sm_prog_ids" ]
}

# sm_programs: those of the recorded programs the kernel still holds.
sm_programs() {
  [ -f "$WORK/sm_prog_ids" ] || return 0
  for id in $(sort -u "$WORK/sm_prog_ids"); do
    bpftool prog show id "$id" >/dev/null 2>&1 && echo "program $id"
  done
  return 0
}

# bpf_leftovers PINDIR CGROUP: prints what of ours is still attached or
# pinned. Sockets release their programs in an RCU callback, so programs
# get 10 s to go (deferred work; slower on a loaded machine).
bpf_leftovers() {
  local ours
  for _ in $(seq 100); do
    ours=$(sm_programs)
    [ -z "$ours" ] && break
    sleep 0.1
  done
  [ -e "$1" ] && echo "pins: $(ls "$1")"
  bpftool cgroup show "$2" 2>/dev/null | grep oryx_sockops >/dev/null && echo "sockops still on $2"
  sm_programs
}
