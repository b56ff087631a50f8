#!/usr/bin/env bash
# The shared-thread model when the application does not poll: busy_server
# (tests/preload/busy_server.cpp, one thread, epoll) under `oryx run` with
# the default configuration, where its own thread polls the port.
#
#  * While it computes for 500 ms without a socket call, the network still
#    answers: a new client's handshake completes, and 64 KiB an established
#    client sends are acknowledged (TCP_INFO: nothing unacknowledged) long
#    before the computation ends; afterwards every byte comes back intact,
#    no connection was reset.
#  * Idle, it costs no CPU: after 2 s without traffic, its threads use
#    under 2 % of a CPU over the next 2 s (all threads, /proc schedstat).
#  * The first request after that idle period is answered.
#  * The per-thread counters (oryxctl applications) show the model.
source "$(dirname "$0")/lib.sh"

NET=198.18.91
NS=oxb$TAG
BIN=$ORYX_BUILD/tests/preload/busy_server
ORYX=$ORYX_BUILD/kernel/preload/oryx
[ -x "$BIN" ] || fail "$BIN is not built"
make_ns "$NS" "$NS" "$NET.1/24"
unreachable_route "$NET.0/24"
CFG=$(preload_config busy "$NS" "$NET")

log "oryx run -- busy_server $NET.2 7000 (the shared-thread model)"
"$ORYX" run --config "$CFG" -- "$BIN" "$NET.2" 7000 >"$WORK/busy.log" 2>&1 &
SERVER=$!
_PIDS+=("$SERVER")
wait_until 20 'ip netns exec "$NS" $PY -c "import socket; socket.create_connection((\"$NET.2\", 7000), 1).close()" 2>/dev/null' ||
  fail "busy_server under oryx run does not accept"
URL=http://$(cat "$WORK/busy.port")
[ "$(api "$URL" /api/v1/applications | json "j['applications'][0]['threading']['model']")" = shared ] ||
  fail "the default model is not shared"
C() { api "$URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }
RESETS=$(C tcp_reset)

log "500 ms of computing: a handshake and the ACKs of 64 KiB happen meanwhile"
ip netns exec "$NS" timeout 30 $PY - "$NET.2" <<'PY' || fail "the network did not answer while the server computed"
import random, socket, struct, sys, time
host = sys.argv[1]
def unacked(s):
    # struct tcp_info: 8 one-byte fields, then rto, ato, snd_mss, rcv_mss, unacked (u32)
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 24)[0]
a = socket.create_connection((host, 7000), timeout=10)
a.sendall(b"hello\n")
assert a.recv(6) == b"hello\n"
payload = bytes(random.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(65536)) + b"\n"
start = time.monotonic()
a.sendall(b"compute 500\n")
time.sleep(0.05)                       # the server is computing now
t = time.monotonic()
b = socket.create_connection((host, 7000), timeout=2)
handshake = time.monotonic() - t
a.sendall(payload)
while unacked(a) and time.monotonic() - start < 2:
    time.sleep(0.005)
acked = time.monotonic() - start
assert unacked(a) == 0, "64 KiB still unacknowledged after 2 s"
print(f"handshake {handshake * 1000:.1f} ms, 64 KiB acknowledged {acked * 1000:.0f} ms after the "
      "computation started")
assert handshake < 0.2, f"handshake took {handshake * 1000:.0f} ms while the server computed"
assert acked < 0.4, f"the data was acknowledged only {acked * 1000:.0f} ms in"
got = b""
want = b"done\n" + payload
a.settimeout(10)
while len(got) < len(want):
    chunk = a.recv(65536)
    assert chunk, "connection closed"
    got += chunk
assert got == want, "echo differs"
assert time.monotonic() - start >= 0.5, "the server did not compute"
b.sendall(b"ping\n")
b.settimeout(5)
assert b.recv(5) == b"ping\n"
print("echo intact after the computation")
PY
[ "$(C tcp_reset)" -eq "$RESETS" ] || fail "connections were reset ($(C tcp_reset) resets, $RESETS before)"

log "idle: under 2 % of a CPU over 2 s, after 2 s without traffic"
sleep 2
T0=$(process_cpu_ns "$SERVER")
sleep 2
T1=$(process_cpu_ns "$SERVER")
USED_US=$(( (T1 - T0) / 1000 ))
log "idle server used $USED_US us of CPU in 2 s ($(( USED_US / 200 ))/100 %)"
[ "$USED_US" -lt 40000 ] || fail "an idle server used $USED_US us of CPU in 2 s (over 2 %)"

log "the first request after the idle period is answered"
ip netns exec "$NS" timeout 10 $PY - "$NET.2" <<'PY' || fail "no answer after idle"
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7000), timeout=5)
t = time.monotonic()
s.sendall(b"wake\n")
assert s.recv(5) == b"wake\n"
print(f"first round trip after idle: {(time.monotonic() - t) * 1e6:.0f} us")
PY

log "oryxctl applications shows the model and what each thread did"
"$ORYXCTL" -u "$URL" applications >"$WORK/apps.txt"
grep -q "threading: shared" "$WORK/apps.txt" || fail "oryxctl applications does not name the model: $(cat "$WORK/apps.txt")"
grep -q "oryx-keeper" "$WORK/apps.txt" || fail "oryxctl applications does not list the keeper"
api "$URL" /api/v1/applications >"$WORK/apps.json"
$PY - "$WORK/apps.json" <<'PY' || fail "per-thread counters: $(cat "$WORK/apps.json")"
import json, sys
t = json.load(open(sys.argv[1]))["applications"][0]["threading"]
roles = sorted(x["role"] for x in t["threads"])
assert roles == ["application", "keeper"], roles
app = [x for x in t["threads"] if x["role"] == "application"][0]
assert app["polls"] > 0 and app["packets"] > 0 and app["sleeps"] > 0, app
keeper = [x for x in t["threads"] if x["role"] == "keeper"][0]
assert keeper["packets"] > 0, keeper  # it answered while the application computed
PY

kill -TERM "$SERVER"
wait_until 20 '! kill -0 "$SERVER" 2>/dev/null' || fail "busy_server did not exit"
expect_kernel_stopped busy "$NS"
log "PASS"
