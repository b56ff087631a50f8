#!/usr/bin/env bash
# Debian's memcached (libevent, worker threads fed through pipes) under
# `oryx run` with 4 worker threads: clients in a namespace set 2,000 keys
# over 8 connections (two on each thread), get every value back intact
# (single and multi-key gets), and the connections were Oryx's.
source "$(dirname "$0")/lib.sh"

NS=oxm$TAG
NET=198.18.95
make_ns "$NS" "$NS" $NET.1/24
CFG=$(preload_config memcached "$NS" $NET)

log "oryx run -- memcached -l $NET.2 -t 4"
# start_memcached: memcached under oryx run, accepting; sets MC (its PID).
start_memcached() {
  "$ORYX_BUILD/kernel/preload/oryx" run --config "$CFG" -- memcached -u root -l $NET.2 -p 11211 \
    -U 0 -t 4 -m 64 >>"$WORK/memcached.log" 2>&1 &
  MC=$!
  _PIDS+=("$MC")
  wait_until 20 'ip netns exec "$NS" $PY -c "import socket; socket.create_connection((\"$NET.2\", 11211), 1).close()" 2>/dev/null' ||
    fail "memcached under oryx run does not accept"
}
start_memcached

log "set then get 2,000 keys from 8 connections (two on each of memcached's 4 threads), values compared"
ip netns exec "$NS" timeout 60 $PY - "$NET.2" <<'PY' || fail "set/get"
import os, random, socket, sys
random.seed(11)
host = sys.argv[1]
values = {f"k{i}": os.urandom(random.randint(1, 20000)) for i in range(2000)}
conns = [socket.create_connection((host, 11211), timeout=30) for _ in range(8)]
files = [c.makefile("rb") for c in conns]
keys = list(values)
for n, k in enumerate(keys):
    c, f = conns[n % 8], files[n % 8]
    v = values[k]
    c.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (k.encode(), len(v), v))
    assert f.readline() == b"STORED\r\n", k
def read_values(f):
    got = {}
    while True:
        line = f.readline()
        if line == b"END\r\n":
            return got
        _, key, _, size = line.split()
        got[key.decode()] = f.read(int(size) + 2)[:-2]
for n, k in enumerate(keys):       # one key per get
    conns[n % 8].sendall(b"get %s\r\n" % k.encode())
    assert read_values(files[n % 8]) == {k: values[k]}, f"get {k}"
for i in range(0, 2000, 100):      # 100 keys per get
    batch = keys[i:i + 100]
    conns[0].sendall(b"get " + " ".join(batch).encode() + b"\r\n")
    assert read_values(files[0]) == {k: values[k] for k in batch}, f"multi-get at {i}"
print("2000 values intact")
PY
workers=$(cat /proc/"$MC"/task/*/comm 2>/dev/null | grep -c '^mc-worker' || true)
[ "$workers" -eq 4 ] || fail "memcached runs $workers worker threads, not 4"
URL=http://$(cat "$WORK/memcached.port")
C() { api "$URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }
[ "$(C tcp_accepted)" -ge 9 ] || fail "only $(C tcp_accepted) connections accepted by Oryx"
wait_until 10 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) connections left open"

log "SIGTERM: memcached exits, the kernel inside it stops"
kill -TERM "$MC"
wait_until 20 '! kill -0 "$MC" 2>/dev/null' || fail "memcached did not exit"
expect_kernel_stopped memcached "$NS"

log "a crash (SIGSEGV): the kernel stops before memcached dies of the signal"
start_memcached
: >"$WORK/memcached.oryx.log"
kill -SEGV "$MC"
status=0
wait "$MC" || status=$?
[ "$status" -eq $((128 + 11)) ] || fail "memcached ended with status $status, not by SIGSEGV"
expect_kernel_stopped memcached "$NS"

log "SIGKILL (nothing runs): the next start works without manual cleanup"
start_memcached
kill -KILL "$MC"
wait "$MC" || true
start_memcached
ip netns exec "$NS" timeout 10 $PY - "$NET.2" <<'PY' || fail "set/get after a SIGKILL restart"
import socket, sys
s = socket.create_connection((sys.argv[1], 11211), timeout=5)
s.sendall(b"set again 0 0 5\r\nhello\r\nget again\r\n")
f = s.makefile("rb")
assert f.readline() == b"STORED\r\n"
assert f.readline() == b"VALUE again 0 5\r\n" and f.readline() == b"hello\r\n"
PY
kill -TERM "$MC"
wait "$MC" || fail "memcached exit status $?"
expect_kernel_stopped memcached "$NS"
log "PASS"
