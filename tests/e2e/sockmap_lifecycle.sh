#!/usr/bin/env bash
# sockmap_lifecycle.sh - the sockmap service attaches on start and detaches
# everything on stop, again and again; an unsuitable cgroup stops start-up
# with a clear error and leaves nothing; after oryxd is killed with SIGKILL
# the pinned sockhash keeps live connections on the shortcut, and the next
# start reuses it (then removes everything on a clean stop).
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/sockmap/tests/sockmap_lib.sh"

sockmap_setup sml
cfg=$(write_config sml "$SM_BODY")

log "a cgroup that does not exist: start-up fails, names it, leaves nothing"
bad=$(write_config bad "${SM_BODY//$MESH/$MESH-missing}")
if "$ORYXD" -c "$bad" >"$WORK/bad.log" 2>&1; then fail "oryxd started with a missing cgroup"; fi
grep -q "cgroup $MESH-missing: No such file or directory" "$WORK/bad.log" || fail "error does not name the cgroup"
[ -z "$(bpf_leftovers "$PINS" "$MESH")" ] || fail "failed start left BPF objects"

log "start and stop twice"
for round in 1 2; do
  start_oryxd sml "$cfg"
  sm_record_programs "$PINS" || fail "no program uses the sockhash in $PINS"
  bpftool cgroup show "$MESH" | grep -c oryx_sockops | grepq -x 1 || fail "round $round: sockops not attached once"
  stop_oryxd "$sml_PID" || fail "round $round: oryxd failed"
  left=$(bpf_leftovers "$PINS" "$MESH")
  [ -z "$left" ] || fail "round $round: left behind: $left"
done

log "SIGKILL with a live connection, then restart"
start_oryxd sml "$cfg"
sm_record_programs "$PINS" || fail "no program uses the sockhash in $PINS"
in_cgroup "$MESH" python3 "$ORYX_SOURCE/plugins/sockmap/tests/long_connection.py" "$WORK/go" >"$WORK/conn.log" 2>&1 &
conn=$!
for _ in $(seq 100); do grep -q "phase 1 ok" "$WORK/conn.log" && break; sleep 0.1; done
grep -q "phase 1 ok" "$WORK/conn.log" || fail "phase 1 failed"
sleep 0.4
before=$(sm_counter "$sml_URL" mesh bytes_redirected)
[ "$before" -ge $((2 << 20)) ] || fail "phase 1 was not redirected ($before bytes)"
kill -KILL "$sml_PID"
wait "$sml_PID" 2>/dev/null || true
[ -e "$PINS/oryx_socks" ] || fail "the sockhash pin did not survive SIGKILL"
bpftool cgroup show "$MESH" | grepq oryx_sockops && fail "sockops link outlived its process"
rm -f "$WORK/sml.port"
start_oryxd sml "$cfg"
sm_record_programs "$PINS" || fail "no program uses the sockhash in $PINS"
grep -q "found the sockhash of a previous oryxd in $PINS with 2 sockets: reusing it" "$WORK/sml.log" \
  || fail "restart did not reuse the sockhash"
"$ORYXCTL" -u "$sml_URL" sockmap | grepq -E "^mesh +redirecting +2 " || fail "oryxctl sockmap: $("$ORYXCTL" -u "$sml_URL" sockmap)"
touch "$WORK/go"
wait $conn || fail "the live connection broke across the restart: $(cat "$WORK/conn.log")"
sleep 0.4
after=$(sm_counter "$sml_URL" mesh bytes_redirected)
[ "$after" -ge $((before + (2 << 20))) ] || fail "after the restart: $before -> $after bytes redirected"
log "live connection kept its shortcut across SIGKILL and restart ($before -> $after bytes)"
stop_oryxd "$sml_PID" || fail "oryxd failed"
left=$(bpf_leftovers "$PINS" "$MESH")
[ -z "$left" ] || fail "left behind: $left"
log "PASS: sockmap attach/detach, start-up errors, crash recovery"
