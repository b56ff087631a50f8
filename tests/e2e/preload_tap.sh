#!/usr/bin/env bash
# The shared-thread model on a TAP port: the keeper sleeps on the tap
# queue's descriptor (DPDK's receive interrupt for the tap driver) instead
# of polling the port on a timer while the application sleeps.
#
#  * The kernel reports one wake descriptor and no timer polling.
#  * Idle, busy_server under `oryx run` uses under 2 % of a CPU over 2 s.
#  * A connection made while everything sleeps is answered, intact, and the
#    keeper's wake-ups show that a frame woke it.
source "$(dirname "$0")/lib.sh"

NET=198.18.93
NS=oxu$TAG
TAP=oxv$TAG
BIN=$ORYX_BUILD/tests/preload/busy_server
ORYX=$ORYX_BUILD/kernel/preload/oryx
[ -x "$BIN" ] || fail "$BIN is not built"
CFG=$(write_config tapapp "
[kernel]
hugepages = false
file_prefix = \"tapapp$TAG\"
[log]
file = \"$WORK/tapapp.oryx.log\"
[stage.wire]
type = \"port\"
driver = \"tap\"
iface = \"$TAP\"
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"$NET.2/24\"
next = \"wire\"
")

log "oryx run -- busy_server $NET.2 7000 on a TAP port"
"$ORYX" run --config "$CFG" -- "$BIN" "$NET.2" 7000 >"$WORK/tapapp.log" 2>&1 &
SERVER=$!
_PIDS+=("$SERVER")
wait_until 20 'ip link show "$TAP" >/dev/null 2>&1' || fail "no TAP interface $TAP (see $WORK/tapapp.log)"
# The TAP interface DPDK created moves into a namespace of ours.
ip netns add "$NS"
_NAMESPACES+=("$NS")
ip link set "$TAP" netns "$NS"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
ip netns exec "$NS" ip addr add "$NET.1/24" dev "$TAP"
ip netns exec "$NS" ip link set "$TAP" up
wait_until 20 'ip netns exec "$NS" $PY -c "import socket; socket.create_connection((\"$NET.2\", 7000), 1).close()" 2>/dev/null' ||
  fail "busy_server under oryx run does not accept over the TAP port"
URL=http://$(cat "$WORK/tapapp.port")
T() { api "$URL" /api/v1/applications | json "j['applications'][0]['threading']$1"; }
[ "$(T "['wake_fds']")" = 1 ] || fail "the keeper has $(T "['wake_fds']") wake descriptors, not the tap queue's"
[ "$(T "['timer_poll']")" = False ] || fail "the keeper polls the TAP port on a timer"
KEEPER_WAKEUPS() {
  api "$URL" /api/v1/applications |
    json "[t['wakeups'] for t in j['applications'][0]['threading']['threads'] if t['role'] == 'keeper'][0]"
}

log "idle: under 2 % of a CPU over 2 s, after 2 s without traffic"
sleep 2
T0=$(process_cpu_ns "$SERVER")
W0=$(KEEPER_WAKEUPS)
sleep 2
T1=$(process_cpu_ns "$SERVER")
USED_US=$(((T1 - T0) / 1000))
log "idle server used $USED_US us of CPU in 2 s ($((USED_US / 200))/100 %)"
[ "$USED_US" -lt 40000 ] || fail "an idle server on a TAP port used $USED_US us of CPU in 2 s (over 2 %)"

log "a connection made while everything sleeps is answered, intact"
ip netns exec "$NS" timeout 10 $PY - "$NET.2" <<'PY' || fail "no answer after idle"
import os, socket, sys, time
t = time.monotonic()
s = socket.create_connection((sys.argv[1], 7000), timeout=5)
data = os.urandom(3000).hex().encode() + b"\n"
s.sendall(data)
got = b""
while len(got) < len(data):
    chunk = s.recv(65536)
    assert chunk, "connection closed"
    got += chunk
assert got == data, "echo differs"
print(f"connect and 6 KB echo after idle: {(time.monotonic() - t) * 1e3:.1f} ms")
PY
W1=$(KEEPER_WAKEUPS)
[ "$W1" -gt "$W0" ] || fail "the keeper's wake-ups did not grow ($W0 -> $W1): no frame woke it"
log "keeper wake-ups $W0 -> $W1"

kill -TERM "$SERVER"
wait_until 20 '! kill -0 "$SERVER" 2>/dev/null' || fail "busy_server did not exit"
grep -q "appliance stopped" "$WORK/tapapp.oryx.log" || fail "the in-process kernel did not stop"
log "PASS"
