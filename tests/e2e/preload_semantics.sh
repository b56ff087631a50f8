#!/usr/bin/env bash
# liboryx-preload.so's semantics from an ordinary program under `oryx run`
# (tests/preload/shim_semantics.cpp, Catch2): which descriptors go to Oryx,
# dup/dup2/F_DUPFD, epoll (level, edge, one-shot, data, mixed sets,
# timeouts, EINTR, two instances, epoll_ctl errors), poll and select over
# kernel fds and Oryx sockets, non-blocking and refused connects, EBADF,
# bad bind addresses and socket options (each compared with Linux's answer
# on loopback sockets in the same process), and 10,000 connect/close cycles
# without a leaked descriptor or connection. The Oryx sockets run on the
# stack inside the program, on an AF_XDP port to a namespace whose Linux
# sockets (semantics_peer.py) are the far end.
#
# Knob: SHIM_TESTS, a Catch2 test spec (e.g. "[epoll]").
source "$(dirname "$0")/lib.sh"

NET=198.18.98
NS=oxe$TAG
BIN=$ORYX_BUILD/tests/preload/shim_semantics
ORYX=$ORYX_BUILD/kernel/preload/oryx
[ -x "$BIN" ] || fail "$BIN is not built"

make_ns "$NS" "$NS" "$NET.1/24"
# The root namespace reaches the subnet only through Oryx: a socket the
# library wrongly left to the kernel fails at once instead of leaving by
# the default route.
unreachable_route "$NET.0/24"
ip netns exec "$NS" timeout 150 $PY "$ORYX_SOURCE/tests/preload/semantics_peer.py" \
  --ready "$WORK/peer.ready" --seconds 140 >"$WORK/peer.log" 2>&1 &
_PIDS+=($!)
wait_until 10 '[ -e "$WORK/peer.ready" ]' || fail "the peer did not start"

CFG=$(preload_config semantics "$NS" "$NET")

log "oryx run -- shim_semantics (Oryx at $NET.2, Linux peer at $NET.1)"
START=$(date +%s)
ORYX_TEST_SELF=$NET.2 ORYX_TEST_PEER=$NET.1 ORYX_TEST_PORT_FILE="$WORK/semantics.port" \
  timeout -k 5 120 "$ORYX" run --config "$CFG" -- "$BIN" ${SHIM_TESTS:+"$SHIM_TESTS"} \
  >"$WORK/semantics.log" 2>&1 &
RUN=$!
_PIDS+=("$RUN")
rc=0
wait "$RUN" || rc=$?
if [ "$rc" -ne 0 ]; then
  cat "$WORK/semantics.log"
  [ "$rc" -eq 124 ] && fail "shim_semantics did not finish within 120 s"
  fail "shim_semantics (exit status $rc)"
fi
grep -E "connect/close cycles in|^All tests passed|^test cases:" "$WORK/semantics.log" || true
log "shim_semantics passed in $(($(date +%s) - START)) s"

# The kernel inside the program stopped with it and let go of the port.
expect_kernel_stopped semantics "$NS"
# The unsupported options the program tried are in the log, once each.
# IP_RECVERR (11), set before its socket went to Oryx: lost, and logged.
grep -q "setsockopt(level 0, option 11) is not supported on Oryx sockets: .*, set before the socket went to Oryx" \
  "$WORK/semantics.oryx.log" || fail "an option lost when its socket went to Oryx was not logged"
grep "is not supported on Oryx sockets" "$WORK/semantics.oryx.log" >"$WORK/unsupported.txt" ||
  fail "unsupported socket options were not logged"
[ "$(sort "$WORK/unsupported.txt" | cut -d' ' -f4- | uniq -d | wc -l)" -eq 0 ] ||
  fail "an unsupported option was logged twice: $(cat "$WORK/unsupported.txt")"
log "PASS"
