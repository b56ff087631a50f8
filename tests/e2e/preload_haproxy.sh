#!/usr/bin/env bash
# Debian's haproxy as a sidecar proxy under `oryx run`, both stacks in one
# process: its frontend listens on the Oryx stack's address, its backend
# is a kernel-stack HTTP server on the host's loopback. A client in a
# namespace fetches a 1 MiB file through it byte-exact, keep-alive and
# wrk included; the backend sees haproxy's kernel connections.
source "$(dirname "$0")/lib.sh"

NS=oxh$TAG
NET=198.18.96
make_ns "$NS" "$NS" $NET.1/24
CFG=$(preload_config haproxy "$NS" $NET)
mkdir -p "$WORK/www"
head -c $((1024 * 1024)) /dev/urandom >"$WORK/www/blob.bin"
echo "small" >"$WORK/www/small.txt"
WANT=$(sha256sum <"$WORK/www/blob.bin" | cut -d' ' -f1)
# The backend binds port 0 and writes the port it got: a port picked here
# could be taken by then (an ephemeral port of another test's connection).
(cd "$WORK/www" && exec $PY -c '
import http.server, sys
http.server.SimpleHTTPRequestHandler.protocol_version = "HTTP/1.1"  # keep-alive
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
' "$WORK/backend.port") >"$WORK/backend.log" 2>&1 &
_PIDS+=("$!")
wait_until 10 "[ -s '$WORK/backend.port' ]" || fail "backend did not start"
BACKEND_PORT=$(cat "$WORK/backend.port")
log "kernel-stack backend on 127.0.0.1:$BACKEND_PORT"
wait_until 10 'curl -sf -o /dev/null http://127.0.0.1:$BACKEND_PORT/blob.bin' || fail "backend"

cat >"$WORK/haproxy.cfg" <<CONF
global
  nbthread 2
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend web
  bind $NET.2:8080
  default_backend kernel_side
backend kernel_side
  server local 127.0.0.1:$BACKEND_PORT
CONF

log "oryx run -- haproxy (frontend on Oryx, backend on the kernel)"
"$ORYX_BUILD/kernel/preload/oryx" run --config "$CFG" -- haproxy -db -f "$WORK/haproxy.cfg" \
  >"$WORK/haproxy.log" 2>&1 &
HAPROXY=$!
_PIDS+=("$HAPROXY")
in_ns() { ip netns exec "$NS" "$@"; }
wait_until 20 'in_ns curl -sf -m 2 -o /dev/null http://$NET.2:8080/blob.bin' || fail "haproxy does not answer"
URL=http://$(cat "$WORK/haproxy.port")
C() { api "$URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }

log "1 MiB through the proxy, sha256 compared, 10 times on one connection"
urls=()
for _ in $(seq 10); do urls+=(-o "$WORK/got.bin" http://$NET.2:8080/blob.bin); done
before=$(C tcp_accepted)
in_ns curl -sf -m 30 "${urls[@]}" -w '%{http_code}\n' >"$WORK/codes.txt" || fail "fetch through haproxy"
[ "$(grep -c '^200$' "$WORK/codes.txt")" -eq 10 ] || fail "answers: $(cat "$WORK/codes.txt")"
[ "$(sha256sum <"$WORK/got.bin" | cut -d' ' -f1)" = "$WANT" ] || fail "the file differs"
[ $(($(C tcp_accepted) - before)) -eq 1 ] || fail "the keep-alive sequence used $(($(C tcp_accepted) - before)) connections"
# The backend saw haproxy on the kernel's loopback.
grep -q '^127.0.0.1 .*"GET /blob.bin' "$WORK/backend.log" || fail "the backend saw no kernel connection"

log "wrk through the proxy, 10 connections, 3 s"
out=$(in_ns timeout 30 wrk -t 1 -c 10 -d 3 http://$NET.2:8080/small.txt 2>&1) || fail "wrk: $out"
echo "$out" | grepq -E "Socket errors|Non-2xx" && fail "wrk saw errors: $out"
log "$(echo "$out" | grep "Requests/sec")"
wait_until 10 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$(C tcp_connections) connections left open"

# haproxy leaves SIGTERM at its default action (immediate death): the
# preload library's handler stops the kernel, then the signal ends haproxy.
log "SIGTERM: haproxy dies of it, the kernel inside it stops first"
kill -TERM "$HAPROXY"
wait_until 20 '! kill -0 "$HAPROXY" 2>/dev/null' || fail "haproxy did not exit"
status=0
wait "$HAPROXY" || status=$?
[ "$status" -eq $((128 + 15)) ] || fail "haproxy ended with status $status, not by SIGTERM"
expect_kernel_stopped haproxy "$NS"
log "PASS"
