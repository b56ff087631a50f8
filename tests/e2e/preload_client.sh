#!/usr/bin/env bash
# Clients under `oryx run`: Debian's curl and redis-benchmark connect from
# the in-process Oryx stack to kernel-stack servers in a namespace. The
# root namespace's kernel has the servers' subnet unreachable, so every
# byte that arrives went through Oryx.
source "$(dirname "$0")/lib.sh"

NS=oxc$TAG
NET=198.18.97
make_ns "$NS" "$NS" $NET.1/24
CFG=$(preload_config client "$NS" $NET)
ORYX=$ORYX_BUILD/kernel/preload/oryx
in_ns() { ip netns exec "$NS" "$@"; }
unreachable_route $NET.0/24

mkdir -p "$WORK/www"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$WORK/www/blob.bin"
WANT=$(sha256sum <"$WORK/www/blob.bin" | cut -d' ' -f1)
(cd "$WORK/www" && exec ip netns exec "$NS" $PY -m http.server --bind $NET.1 8000) >"$WORK/web.log" 2>&1 &
_PIDS+=("$!")
ip netns exec "$NS" redis-server --bind $NET.1 --port 6379 --save "" --appendonly no \
  --protected-mode no --logfile "" >"$WORK/redis.log" 2>&1 &
_PIDS+=("$!")
wait_until 10 'in_ns curl -sf -o /dev/null http://$NET.1:8000/blob.bin && [ "$(in_ns redis-cli -h $NET.1 ping)" = PONG ]' ||
  fail "kernel-side servers did not start"

log "oryx run -- curl: 4 MiB from a kernel server, sha256 compared"
"$ORYX" run --config "$CFG" -- curl -sf -m 20 -o "$WORK/got.bin" http://$NET.1:8000/blob.bin ||
  fail "curl under oryx run"
[ "$(sha256sum <"$WORK/got.bin" | cut -d' ' -f1)" = "$WANT" ] || fail "the file differs"
grep -q "^$NET.2 .*\"GET /blob.bin" "$WORK/web.log" || fail "the server did not see Oryx's address"
expect_kernel_stopped client "$NS"  # curl's, at its exit

log "oryx run -- redis-benchmark: 20 connections, SET and GET"
OUT=$("$ORYX" run --config "$CFG" -- redis-benchmark -h $NET.1 -t set,get -n 20000 -c 20 -q 2>&1 |
  tr '\r' '\n' | grep "requests per second") || fail "redis-benchmark under oryx run"
echo "$OUT" | grepq "^SET: " && echo "$OUT" | grepq "^GET: " || fail "redis-benchmark: $OUT"
log "$(echo "$OUT" | tr '\n' ' ')"
in_ns redis-cli -h $NET.1 info stats | grepq "^total_connections_received:[2-9][0-9]" ||
  fail "the server counted too few connections"
expect_kernel_stopped client "$NS"
log "PASS"
