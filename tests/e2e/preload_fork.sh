#!/usr/bin/env bash
# A child forked from a process whose kernel runs leaves that kernel alone:
# a Python server under `oryx run` listens on the stack's address, calls
# select() once (the kernel is up), forks, and the child tries to accept
# on the inherited listener, which fails with EBADF and says why on
# stderr, then returns through exit() (atexit handlers and static
# destructors run). The child must be gone at once with status 0, not
# hang on the parent's REST server or dataplane threads, which it does
# not have; the parent must still accept and echo afterwards, and exit
# cleanly.
source "$(dirname "$0")/lib.sh"

NET=198.18.99
NS=oxf$TAG
make_ns "$NS" "$NS" "$NET.1/24"
unreachable_route "$NET.0/24"
CFG=$(preload_config fork "$NS" "$NET")
cat >"$WORK/fork_server.py" <<'PY'
import os, select, socket, sys, time
listener = socket.socket()
listener.bind((sys.argv[1], 7000))
listener.listen()
select.select([listener], [], [], 0.1)  # the kernel runs from the first socket call
started = time.monotonic()
child = os.fork()
if child == 0:
    try:
        listener.setblocking(False)
        listener.accept()
        sys.exit(3)
    except OSError as e:
        if e.errno != 9:  # EBADF: the socket is the parent's kernel's
            sys.exit(4)
    sys.exit(0)  # through exit(): what a forked worker or a shell's child does
deadline = started + 10
while True:
    done, status = os.waitpid(child, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        os.kill(child, 9)
        sys.exit("the forked child was still alive after 10 s")
    time.sleep(0.01)
if status != 0:
    sys.exit(f"the forked child exited with status {status:#x}")
print(f"child exited after {time.monotonic() - started:.2f} s", flush=True)
conn, _ = listener.accept()
data = conn.recv(100)
conn.sendall(data)
conn.close()
PY
log "oryx run -- python3 fork_server.py $NET.2: fork, the child exits through exit()"
"$ORYX_BUILD/kernel/preload/oryx" run --config "$CFG" -- $PY "$WORK/fork_server.py" "$NET.2" \
  >"$WORK/fork.log" 2>&1 &
SERVER=$!
_PIDS+=("$SERVER")
wait_until 20 'grepq "child exited" "$WORK/fork.log" || ! kill -0 $SERVER 2>/dev/null' ||
  fail "no word from the server (see $WORK/fork.log)"
grepq "child exited" "$WORK/fork.log" || { cat "$WORK/fork.log"; fail "the forked child did not exit"; }
log "$(grep "child exited" "$WORK/fork.log")"
grepq "liboryx-preload: pid [0-9]*: an Oryx socket of the process this one was forked from" "$WORK/fork.log" ||
  fail "the child's EBADF came without its reason on stderr"
[ "$(grep -c "was forked from is used here" "$WORK/fork.log")" -eq 1 ] || fail "the reason was not said once"
ECHO=$(ip netns exec "$NS" $PY -c "
import socket
s = socket.create_connection(('$NET.2', 7000), 5)
s.sendall(b'after the fork')
print(s.recv(100).decode())") || fail "the parent no longer accepts"
[ "$ECHO" = "after the fork" ] || fail "the parent echoed '$ECHO'"
wait_until 10 '! kill -0 $SERVER 2>/dev/null' || fail "the parent did not exit after its one echo"
rc=0
wait "$SERVER" || rc=$?
[ $rc -eq 0 ] || { cat "$WORK/fork.log"; fail "the parent exited with status $rc"; }
log "PASS"
