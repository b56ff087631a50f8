#!/usr/bin/env bash
# An unmodified redis-server (Debian's binary) under `oryx run`: its
# listening socket on the stack's address is served by Oryx inside the
# process (AF_XDP on a veth), clients in a namespace SET then GET 10,000
# keys and every value comes back intact, redis-benchmark runs clean, the
# stack's counters show the connections, and SIGTERM ends redis and the
# in-process kernel cleanly (XDP program gone from the veth). The
# dashboard served from inside the process shows it in chromium.
source "$(dirname "$0")/lib.sh"

NS=oxr$TAG
make_ns "$NS" "$NS" 198.18.93.1/24
CFG=$(preload_config redis "$NS" 198.18.93)
ORYX=$ORYX_BUILD/kernel/preload/oryx

log "oryx run -- redis-server on 198.18.93.2"
"$ORYX" run --config "$CFG" -- redis-server --bind 198.18.93.2 --port 6379 --save "" \
  --appendonly no --protected-mode no --logfile "" >"$WORK/redis.log" 2>&1 &
REDIS=$!
_PIDS+=("$REDIS")
wait_until 20 '[ "$(ip netns exec "$NS" timeout 2 redis-cli -h 198.18.93.2 ping 2>/dev/null)" = PONG ]' ||
  fail "redis under oryx run does not answer PING"
URL=http://$(cat "$WORK/redis.port")
C() { api "$URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }
[ "$(C tcp_accepted)" -ge 1 ] || fail "the PING did not come through Oryx's stack"

log "the in-process API names the application and the socket it holds on Oryx"
APP=$(api "$URL" /api/v1/applications)
[ "$(echo "$APP" | json "(j['embedded'], j['applications'][0]['pid'], j['applications'][0]['name'])")" = "(True, $REDIS, 'redis-server')" ] ||
  fail "applications: $APP"
echo "$APP" | json "[s for s in j['applications'][0]['oryx_sockets'] if s['kind'] == 'tcp-listen' and s['local'] == '198.18.93.2:6379']" |
  grepq 6379 || fail "the listening socket is not listed: $APP"
"$ORYXCTL" -u "$URL" applications | grepq "redis-server (pid $REDIS)" || fail "oryxctl applications"

log "the dashboard's Applications panel (chromium) shows the same, a client connected"
[ -d "$ORYX_SOURCE/tests/webui/node_modules/playwright-core" ] || fail "playwright-core missing: run make deps"
ip netns exec "$NS" $PY -c "import socket, time; s = socket.create_connection(('198.18.93.2', 6379)); time.sleep(60)" &
HOLDER=$!
_PIDS+=("$HOLDER")
wait_until 10 '[ "$(C tcp_connections)" -ge 1 ]' || fail "the held client connection did not come up"
mkdir -p "$WORK/screens"
(cd "$ORYX_SOURCE/tests/webui" && timeout 60 node applications.mjs "$URL" "$ORYXCTL" "$WORK/screens/dashboard-applications-redis.png") ||
  fail "the Applications panel differs from oryxctl"
[ -z "${ORYX_SCREENSHOT_DIR:-}" ] || cp "$WORK/screens/dashboard-applications-redis.png" "$ORYX_SCREENSHOT_DIR/"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true

log "SET then GET 10,000 keys, values compared"
ip netns exec "$NS" timeout 60 $PY - <<'PY' || fail "SET/GET"
import os, random, socket
random.seed(7)
values = {f"key:{i}": os.urandom(random.randint(1, 2000)).hex() for i in range(10000)}
def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
s = socket.create_connection(("198.18.93.2", 6379), timeout=30)
f = s.makefile("rb")
s.sendall(b"".join(command("SET", k, v) for k, v in values.items()))   # pipelined
for k in values:
    line = f.readline()
    assert line == b"+OK\r\n", f"SET {k}: {line!r}"
s.sendall(b"".join(command("GET", k) for k in values))
for k, v in values.items():
    head = f.readline()
    assert head == b"$%d\r\n" % len(v), f"GET {k}: {head!r}"
    body = f.read(len(v) + 2)
    assert body[:-2].decode() == v, f"GET {k}: value differs"
print("10000 values intact")
PY

log "redis-benchmark, 50 connections"
OUT=$(ip netns exec "$NS" timeout 60 redis-benchmark -h 198.18.93.2 -t set,get -n 20000 -c 50 -q 2>&1 |
  tr '\r' '\n' | grep -v "rps=") || fail "redis-benchmark"
echo "$OUT" | grepq "^SET: .* requests per second" || fail "no SET result: $OUT"
echo "$OUT" | grepq "^GET: .* requests per second" || fail "no GET result: $OUT"
log "$(echo "$OUT" | grep "requests per second" | tr '\n' ' ')"
[ "$(C tcp_accepted)" -ge 52 ] || fail "only $(C tcp_accepted) connections accepted by Oryx"
wait_until 10 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) connections left open"
# redis's listening socket is the one socket left.
[ "$(C sockets)" -eq 1 ] || fail "$(C sockets) sockets open in the layer, expected the listener"

# The API runs inside redis: a hostile request gets an answer, and redis
# lives on (issue 25: a path with byte 0xff once aborted the application).
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/%ff")" = 404 ] || fail "no 404 for /api/v1/%ff"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/connections?proto=%ff")" = 400 ] ||
  fail "no 400 for a query that is not UTF-8"
[ "$(ip netns exec "$NS" timeout 2 redis-cli -h 198.18.93.2 ping 2>/dev/null)" = PONG ] ||
  fail "redis stopped answering after hostile API requests"

log "SIGTERM: redis exits, the kernel inside it stops"
kill -TERM "$REDIS"
wait_until 20 '! kill -0 "$REDIS" 2>/dev/null' || fail "redis did not exit"
wait "$REDIS" || fail "redis exit status $?"
expect_kernel_stopped redis "$NS"
# libbpf and libxdp speak through Oryx's loggers, not into redis's stderr.
grep -E '^lib(bpf|xdp): ' "$WORK/redis.log" && fail "raw libbpf/libxdp lines in the application's output"
log "PASS"
