#!/usr/bin/env bash
# Two different applications on one address through one port: oryxd owns
# the AF_XDP port and steers by destination port (the steer plugin) over
# two memif links, one to redis and one to nginx, each under `oryx run`
# with its own stack on the same address and MAC. A client in a namespace
# stores and reads 200 redis values while it fetches a 1 MiB file from
# nginx, both byte-exact; ping is answered once (redis's stack is the
# default); each stack resolved the client itself (ARP replies are copied
# to both); the steering counters match and nothing is dropped. Then redis
# is killed with SIGKILL under load 5 times in a row (port_share.sh kills
# 20 times through the port share, the recommended way): each time oryxd
# sees its link go within a second (counted, logged), nginx keeps
# serving, and redis restarts and answers.
source "$(dirname "$0")/lib.sh"

NS=osp$TAG
NET=198.18.114
make_ns "$NS" "$NS" $NET.1/24
ORYX=$ORYX_BUILD/kernel/preload/oryx
MAC=$(cat "/sys/class/net/$NS/address")  # every stack answers with the uplink's MAC
web_root  # ROOT with a 1 MiB blob.bin, WANT its sha256

start_oryxd owner "$(write_config owner "
[kernel]
hugepages = false
file_prefix = \"spo$TAG\"
[stage.nic]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
next = \"share\"
[stage.redis]
type = \"port\"
driver = \"memif\"
role = \"server\"
socket = \"oryx-e2e-redis-$TAG.sock\"
next = \"share\"
[stage.nginx]
type = \"port\"
driver = \"memif\"
role = \"server\"
socket = \"oryx-e2e-nginx-$TAG.sock\"
next = \"share\"
[stage.share]
type = \"steer\"
uplink = \"nic\"
next = [\"nic\", \"redis\", \"nginx\"]
rules = [\"tcp 6379 redis\", \"tcp 80 nginx\"]
default = \"redis\"
")"
S() { api "$owner_URL" /api/v1/stats | json "j['stages']['share']['counters']['$1']"; }

# app_config NAME: the application's own kernel: a memif client port to
# oryxd's NAME port and a stack on the shared address and MAC.
app_config() { memif_app_config "$1" "oryx-e2e-$1-$TAG.sock" $NET.2 "$MAC"; }
NGINX_CONF=$(static_nginx_conf "master_process off;" $NET.2:80 "$ROOT")

REDIS_CONF=$(app_config redis)
# start_redis: redis under oryx run on its link; sets REDIS (its PID).
start_redis() {
  "$ORYX" run --config "$REDIS_CONF" -- redis-server --bind $NET.2 --port 6379 --save "" \
    --appendonly no --protected-mode no --logfile "" --dir "$WORK" >>"$WORK/redis.log" 2>&1 &
  REDIS=$!
  _PIDS+=("$REDIS")
}

log "redis and nginx under oryx run, each attached to oryxd's port over memif"
start_redis
"$ORYX" run --config "$(app_config nginx)" -- nginx -c "$NGINX_CONF" >"$WORK/nginx.log" 2>&1 &
NGINX=$!
_PIDS+=("$NGINX")
in_ns() { ip netns exec "$NS" "$@"; }
wait_until 20 '[ "$(in_ns timeout 2 redis-cli -h $NET.2 ping 2>/dev/null)" = PONG ]' || fail "redis does not answer"
wait_until 20 'in_ns curl -sf -m 2 -o /dev/null http://$NET.2/blob.bin' || fail "nginx does not answer"

log "at the same time: 200 redis values and ten 1 MiB files from nginx, byte-exact"
ip netns exec "$NS" timeout 60 $PY "$ORYX_SOURCE/tests/e2e/redis_values.py" $NET.2 >"$WORK/redis.out" 2>&1 &
VALUES=$!
for i in $(seq 10); do
  got=$(in_ns curl -sf -m 20 http://$NET.2/blob.bin | sha256sum | cut -d' ' -f1)
  [ "$got" = "$WANT" ] || fail "nginx: blob.bin $i differs"
done
wait "$VALUES" || fail "redis values: $(cat "$WORK/redis.out")"

log "ping is answered once, by the default's stack"
out=$(in_ns ping -c 3 -i 0.2 -W 2 $NET.2) || fail "ping: $out"
echo "$out" | grepq "DUP!" && fail "ping answered twice: $out"

log "counters: steered by rule, ARP replies copied, nothing dropped"
[ "$(S by_rule)" -gt 200 ] || fail "only $(S by_rule) frames steered by rule"
[ "$(S copies)" -ge 1 ] || fail "no ARP reply was copied to the second application"
[ "$(S to_uplink)" -gt 200 ] || fail "only $(S to_uplink) frames from the applications"
for c in drop_no_rule drop_copy_no_mbuf drop_copy_backlog; do
  [ "$(S $c)" -eq 0 ] || fail "$c = $(S $c)"
done
log "redis killed with SIGKILL under load 5 times: oryxd lets its link go within a second, nginx is unaffected, redis comes back"
P() { api "$owner_URL" /api/v1/stats | json "j['stages']['redis']['counters']['$1']"; }
nothing() { :; }
link_went_down() {
  local round=$1
  wait_until 1 '[ "$(P link_down_events)" -eq "$round" ]' ||
    fail "round $round: oryxd saw no link down within 1 s ($(P link_down_events))"
}
redis_kill_rounds 5 nothing link_went_down
[ "$(P link_up_events)" -eq 6 ] || fail "link up $(P link_up_events) times, expected 6"
[ "$(grep -c "port redis: link down" "$WORK/owner.log")" -eq 5 ] || fail "oryxd did not log each departure"
log "  5 kills: $(redis_values_stored) values stored across them"
kill -TERM "$NGINX" "$REDIS"
wait "$NGINX" 2>/dev/null || true
wait "$REDIS" 2>/dev/null || true
stop_oryxd "$owner_PID" || fail "oryxd exit status"
log "PASS"
