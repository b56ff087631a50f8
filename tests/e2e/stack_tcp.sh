#!/usr/bin/env bash
# TCP on the lwIP stack against the kernel in a namespace: 64 MiB echoed
# byte-exact in each direction at once, 1,000 concurrent connections each
# verified, orderly close from either side, RST on a closed port, and
# reconnecting from a port the stack left in TIME_WAIT, TIME_WAIT held
# to time_wait_max (16 here) with the connection gauges back at zero, and
# max_connections (1,040 here) refusing one more connection, counted.
source "$(dirname "$0")/lib.sh"

start_stack t 198.18.90 "tcp_echo_port = 7" "http_port = 80" "http_body_bytes = 10" \
  "time_wait_max = 16" "max_connections = 1040"

# lwIP's timer thread runs on the CPU of the worker that drives the stack
# (worker_lcores "1").
TIMER_TID=$(grep -lx "lwip-default" /proc/$t_PID/task/*/comm | head -1 | cut -d/ -f5)
[ -n "$TIMER_TID" ] || fail "no thread lwip-default in oryxd"
[ "$(taskset -pc "$TIMER_TID" | awk '{print $NF}')" = 1 ] ||
  fail "lwip-default runs on CPUs $(taskset -pc "$TIMER_TID" | awk '{print $NF}'), not the worker's 1"

log "64 MiB each way through TCP echo, sha256 compared"
ip netns exec "$NS" timeout 120 $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" --host 198.18.90.2 \
  --mib 64 >/dev/null || fail "bulk echo"

log "1,000 concurrent connections, each verified"
ip netns exec "$NS" timeout 120 $PY - <<'PY' || fail "1000 connections"
import asyncio, os, resource
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
async def one(i):
    r, w = await asyncio.open_connection("198.18.90.2", 7)
    msg = os.urandom(100 + i % 900)
    for _ in range(3):
        w.write(msg); await w.drain()
        got = await r.readexactly(len(msg))
        assert got == msg, f"connection {i}: echo differs"
    return r, w
async def main():
    conns = await asyncio.gather(*(one(i) for i in range(1000)))
    for r, w in conns:      # all 1,000 were open at the same time
        w.close()
    await asyncio.gather(*(w.wait_closed() for _, w in conns))
asyncio.run(main())
PY
wait_until 20 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) connections left after close"
[ "$(C tcp_accepted)" -ge 1001 ] || fail "accepted $(C tcp_accepted)"

log "RST on a closed port, orderly close from the stack's side, TIME_WAIT reuse"
ip netns exec "$NS" timeout 30 $PY - <<'PY' || fail "close semantics"
import socket, time
try:
    socket.create_connection(("198.18.90.2", 12345), timeout=5)
    raise SystemExit("connect to a closed port succeeded")
except ConnectionRefusedError:
    pass
# The HTTP responder closes first on "Connection: close": the client sees
# a clean end of stream after the response, and the stack holds TIME_WAIT.
def fetch(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.90.1", port))
    s.connect(("198.18.90.2", 80))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
    s.close()
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\r\n\r\n" + b"o" * 10), data
# A port outside the ephemeral range (32768-60999): the 1,000 connections
# above leave kernel sockets in TIME_WAIT on ports from that range.
fetch(61500)
# The same 4-tuple again while the stack's side is in TIME_WAIT. The kernel
# client may need a moment to leave LAST_ACK (EADDRINUSE or EADDRNOTAVAIL).
for attempt in range(20):
    try:
        fetch(61500)
        break
    except OSError as e:
        if e.errno not in (98, 99): raise  # the old connection is not gone yet
        time.sleep(0.1)
else:
    raise SystemExit("could not reuse the 4-tuple")
PY
TW=$(api "$URL" '/api/v1/connections?state=TIME_WAIT' | json "j['matched']")
[ "$TW" -ge 1 ] || fail "no TIME_WAIT entry after the stack closed first"

log "TIME_WAIT capped at time_wait_max: 200 connections the stack closes first"
RECYCLED=$(C tcp_time_wait_recycled)
WRK=$(ip netns exec "$NS" wrk -t1 -c4 -d1s -H "Connection: close" http://198.18.90.2/) || fail "wrk"
REQS=$(echo "$WRK" | awk '/requests in/ {print $1}')
[ "$REQS" -ge 200 ] || fail "wrk completed only $REQS requests"
wait_until 10 '[ "$(C tcp_active)" -eq 0 ]' || fail "$(C tcp_active) connections still active"
[ "$(C tcp_time_wait)" -le 16 ] || fail "$(C tcp_time_wait) connections in TIME_WAIT, the cap is 16"
TW=$(api "$URL" '/api/v1/connections?state=TIME_WAIT' | json "j['matched']")
[ "$TW" -eq "$(C tcp_time_wait)" ] || fail "the table lists $TW in TIME_WAIT, the gauge $(C tcp_time_wait)"
# Every connection past the cap was closed without TIME_WAIT and counted
# (a client port reused while in TIME_WAIT retires its entry uncounted).
[ $(($(C tcp_time_wait_recycled) - RECYCLED)) -ge $((REQS - 16 - REQS / 10)) ] ||
  fail "only $(($(C tcp_time_wait_recycled) - RECYCLED)) of $REQS closes counted past the cap"
log "max_connections: 1,040 held, the next SYN gets no answer, the held ones still echo"
REFUSED=$(C tcp_connection_limit_refusals)
ip netns exec "$NS" timeout 120 $PY - <<'PY' || fail "max_connections"
import socket, sys
held = [socket.create_connection(("198.18.90.2", 7), timeout=5) for _ in range(1040)]
extra = socket.socket()
extra.settimeout(1.5)
try:
    extra.connect(("198.18.90.2", 7))
    sys.exit("connection 1,041 was answered")
except socket.timeout:
    pass
extra.close()
for i, s in enumerate(held[::104]):
    msg = b"still here %d" % i
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(100)
    assert got == msg, (got, msg)
held.pop().close()  # room for one more once the stack has let it go
socket.create_connection(("198.18.90.2", 7), timeout=5).close()
PY
NOW=$(C tcp_connection_limit_refusals)
log "tcp_connection_limit_refusals $REFUSED -> $NOW"
[ "$NOW" -gt "$REFUSED" ] || fail "the refused connection was not counted"
stop_oryxd "$t_PID" || fail "exit status $?"
log "PASS"
