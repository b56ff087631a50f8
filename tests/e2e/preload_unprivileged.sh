#!/usr/bin/env bash
# Servers that refuse to run as root: redis-server as user nobody under
# `oryx run`.
#   1. Attached over memif to an oryxd that owns the port (AF_XDP on the
#      namespace's veth, patched to a memif server): no privilege at all,
#      the process's effective capability set is empty, and a namespace
#      client's values come back intact through its in-process stack.
#   2. Owning an AF_XDP port itself: without capabilities start-up fails
#      and names the ones missing; with CAP_NET_RAW, CAP_NET_ADMIN,
#      CAP_SYS_ADMIN and CAP_IPC_LOCK as ambient capabilities (what
#      docs/compatibility.md tells operators to grant) it serves.
source "$(dirname "$0")/lib.sh"

NS=oxu$TAG
make_ns "$NS" "$NS" 198.18.107.1/24
SOCK=oryx-e2e-unpriv-$TAG.sock

# The unprivileged process reads its files from a world-readable copy of
# what it needs (the build may sit under a directory only root can read)
# and writes only to its own directory.
chmod 711 "$WORK"
DIST=$WORK/dist
mkdir -p "$DIST/plugins" "$WORK/nobody"
cp "$ORYX_BUILD/kernel/preload/oryx" "$ORYX_BUILD/kernel/preload/liboryx-preload.so" "$DIST/"
cp "$PLUGINS"/*.so "$DIST/plugins/"
chmod -R a+rX "$DIST"
chown nobody:nogroup "$WORK/nobody"

# app_config NAME PORT-TABLE: an `oryx run` configuration for user nobody.
app_config() {
  cat >"$WORK/$1.toml" <<CONF
[plugins]
path = ["$DIST/plugins"]
[log]
file = "$WORK/nobody/$1.oryx.log"
[kernel]
hugepages = false
file_prefix = "u$1$TAG"
[http]
enabled = false
$2
[stage.ip]
type = "stack"
address = "198.18.107.2/24"
next = "wire"
CONF
  chmod 644 "$WORK/$1.toml"
  echo "$WORK/$1.toml"
}
# as_nobody CAPS CONFIG: redis-server as nobody under `oryx run`, with CAPS
# as its inheritable and ambient capabilities ("-all" for none).
as_nobody() {
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps="$1" --ambient-caps="$1" -- \
    "$DIST/oryx" run --config "$2" -- redis-server --bind 198.18.107.2 --port 6379 --save "" \
    --appendonly no --protected-mode no --logfile "" --dir "$WORK/nobody"
}
# roundtrip: 200 values of up to 20 KB SET and read back from the namespace.
roundtrip() {
  ip netns exec "$NS" timeout 60 $PY "$ORYX_SOURCE/tests/e2e/redis_values.py" 198.18.107.2 11
}
ping_redis() { [ "$(ip netns exec "$NS" timeout 2 redis-cli -h 198.18.107.2 ping 2>/dev/null)" = PONG ]; }
# effective capabilities and real uid of a process, from /proc
cap_eff() { awk '/^CapEff/ {print $2}' "/proc/$1/status"; }
uid_of() { awk '/^Uid/ {print $2}' "/proc/$1/status"; }

log "1. oryxd owns the port; redis as nobody attaches over memif, no capability"
start_oryxd owner "$(write_config owner "
[kernel]
hugepages = false
file_prefix = \"uown$TAG\"
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
next = \"patch\"
[stage.link]
type = \"port\"
driver = \"memif\"
role = \"server\"
socket = \"$SOCK\"
next = \"patch\"
[stage.patch]
type = \"xconnect\"
next = [\"wire\", \"link\"]
")"
APP=$(app_config memif "[stage.wire]
type = \"port\"
driver = \"memif\"
role = \"client\"
socket = \"$SOCK\"
next = \"ip\"")
as_nobody -all "$APP" >"$WORK/memif.log" 2>&1 &
REDIS=$!
_PIDS+=("$REDIS")
wait_until 20 ping_redis || fail "redis (nobody, memif) does not answer PING"
[ "$(uid_of "$REDIS")" = 65534 ] || fail "redis runs as uid $(uid_of "$REDIS")"
[ "$(cap_eff "$REDIS")" = 0000000000000000 ] || fail "redis has capabilities $(cap_eff "$REDIS")"
grepq "redis-server" "/proc/$REDIS/comm" || fail "pid $REDIS is not redis"
OUT=$(roundtrip) || fail "values over memif: $OUT"
log "  uid 65534, no capability, 200 values intact through oryxd's port and memif"
kill -TERM "$REDIS"
wait "$REDIS" 2>/dev/null || true
grepq "appliance stopped" "$WORK/nobody/memif.oryx.log" || fail "the in-process kernel did not stop"
stop_oryxd "$owner_PID" || fail "oryxd exit status $?"

log "2. redis as nobody owns an AF_XDP port: refused without capabilities"
APP=$(app_config afxdp "[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
next = \"ip\"")
timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all -- \
  "$DIST/oryx" run --config "$APP" -- $PY -c "import socket; socket.socket().bind(('198.18.107.2', 7))" \
  >"$WORK/refused.log" 2>&1 || true
grepq "this process lacks CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_IPC_LOCK" "$WORK/refused.log" ||
  fail "no word of the missing capabilities: $(grep -v '^EAL' "$WORK/refused.log" | tail -3)"
! ip link show "$NS" | grepq xdp || fail "an XDP program was left on $NS"

log "   and serves with the four as ambient capabilities"
CAPS=+net_raw,+net_admin,+sys_admin,+ipc_lock
as_nobody "$CAPS" "$APP" >"$WORK/afxdp.log" 2>&1 &
REDIS=$!
_PIDS+=("$REDIS")
wait_until 20 ping_redis || fail "redis (nobody, AF_XDP) does not answer PING"
[ "$(uid_of "$REDIS")" = 65534 ] || fail "redis runs as uid $(uid_of "$REDIS")"
OUT=$(roundtrip) || fail "values over AF_XDP: $OUT"
kill -TERM "$REDIS"
wait "$REDIS" 2>/dev/null || true
grepq "appliance stopped" "$WORK/nobody/afxdp.oryx.log" || fail "the in-process kernel did not stop"
! ip link show "$NS" | grepq xdp || fail "an XDP program was left on $NS"
log "PASS"
