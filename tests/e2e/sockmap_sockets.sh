#!/usr/bin/env bash
# sockmap_sockets.sh - the sockmap service on real sockets: the socket
# semantics cases (plugins/sockmap/tests/sockmap_cases.cpp) run inside the
# tracked cgroup; then, with allow-lists, connections outside them and a
# socket outside the cgroup are left alone; the counters add up; nothing
# stays attached after stop.
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/sockmap/tests/sockmap_lib.sh"

sockmap_setup sm
start_oryxd sm "$(write_config sm "$SM_BODY")"
sm_record_programs "$PINS" || fail "no program uses the sockhash in $PINS"
[ -e "$PINS/oryx_socks" ] || fail "sockhash not pinned in $PINS"
bpftool cgroup show "$MESH" | grepq oryx_sockops || fail "sockops not attached to $MESH"

log "socket semantics inside $MESH"
in_cgroup "$MESH" env ORYX_API="$sm_URL" "$ORYX_BUILD/plugins/sockmap/sockmap_cases" --order decl \
  || fail "socket cases failed"
stop_oryxd "$sm_PID" || fail "oryxd exited with an error"

log "allow-lists: ports 17500-17510 and address 127.0.0.2"
rm -f "$WORK/sm.port"
start_oryxd sm "$(write_config sm "$SM_BODY
ports = [\"17500-17510\"]
addresses = [\"127.0.0.2/32\"]
")"
sm_record_programs "$PINS" || fail "no program uses the sockhash in $PINS"
# Outside the port list, outside the address list, and outside the
# cgroup: none is tracked nor redirected.
redirected=$(sm_counter "$sm_URL" mesh msgs_redirected)
skipped=$(sm_counter "$sm_URL" mesh sockets_skipped)
added=$(sm_counter "$sm_URL" mesh sockets_added)
head -c 300000 /dev/urandom >"$WORK/blob"
check_copy() {  # check_copy inside|outside ADDRESS PORT
  local where=$1 addr=$2 port=$3 run=()
  [ "$where" = inside ] && run=(in_cgroup "$MESH")
  rm -f "$WORK/copy"
  "${run[@]}" socat -u "TCP-LISTEN:$port,bind=$addr,reuseaddr" "OPEN:$WORK/copy,creat,trunc" &
  local srv=$!
  for _ in $(seq 50); do ss -ltn | grepq "$addr:$port " && break; sleep 0.05; done
  "${run[@]}" socat -u "OPEN:$WORK/blob" "TCP:$addr:$port"
  wait $srv
  cmp -s "$WORK/blob" "$WORK/copy" || fail "$where $addr:$port: bytes differ"
}
check_copy inside 127.0.0.2 18500
check_copy inside 127.0.0.1 17501
check_copy outside 127.0.0.2 17502
sleep 0.4
[ "$(sm_counter "$sm_URL" mesh msgs_redirected)" = "$redirected" ] || fail "untracked traffic was redirected"
[ "$(sm_counter "$sm_URL" mesh sockets_added)" = "$added" ] || fail "untracked sockets were added"
[ "$(sm_counter "$sm_URL" mesh sockets_skipped)" -ge $((skipped + 4)) ] || fail "allow-list skips not counted"
log "outside the ports, outside the addresses, outside the cgroup: untouched"

# Inside both lists: redirected.
check_copy inside 127.0.0.2 17503
sleep 0.4
[ "$(sm_counter "$sm_URL" mesh msgs_redirected)" -gt "$redirected" ] || fail "allowed port not redirected"
[ "$(sm_counter "$sm_URL" mesh sockets_tracked)" = 0 ] || fail "sockets still tracked after close"

stop_oryxd "$sm_PID" || fail "oryxd exited with an error"
left=$(bpf_leftovers "$PINS" "$MESH")
[ -z "$left" ] || fail "left behind after stop: $left"
log "PASS: sockmap socket semantics, allow-lists, clean detach"
