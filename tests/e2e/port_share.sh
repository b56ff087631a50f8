#!/usr/bin/env bash
# One port, several applications, steered in the kernel (the port-share
# plugin): oryxd's port_share service owns a veth (the uplink) and each
# application under `oryx run` attaches over its Unix socket, getting a
# veth pair of its own with the uplink's MAC for its AF_XDP port. redis
# (tcp 6379, the default application) and nginx with 4 worker processes
# (tcp 80, one group: each worker attaches on its own) share one address.
#   - A client in a namespace stores and reads 200 redis values while it
#     fetches 1 MiB files from nginx and runs wrk: byte-exact, every
#     worker took connections; ping is answered once.
#   - curl under `oryx run`, attached with no ports, fetches a file from a
#     server in the client namespace: the answers come back by the flow
#     its SYN recorded.
#   - A second redis claiming tcp 6379 is refused with the holder named.
#   - /api/v1/share shows each process (PIDs as the kernel knows them).
#   - redis is killed with SIGKILL under load 20 times in a row: each time
#     oryxd reclaims its link, ports and flows within a second (counted,
#     logged, listed), nginx keeps serving, and redis restarts and answers.
#   - oryxd's stop removes every application link and its socket.
source "$(dirname "$0")/lib.sh"

NS=ops$TAG
NET=198.18.118
make_ns "$NS" "$NS" $NET.1/24
ORYX=$ORYX_BUILD/kernel/preload/oryx
SOCK=$WORK/share.sock
web_root  # ROOT with a 1 MiB blob.bin, WANT its sha256

start_oryxd owner "$(write_config owner "
[kernel]
hugepages = false
file_prefix = \"ops$TAG\"
[service.share]
type = \"port_share\"
uplink = \"$NS\"
socket = \"$SOCK\"
")"
S() { api "$owner_URL" /api/v1/stats | json "j['stages']['share']['counters']['$1']"; }
share() { api "$owner_URL" /api/v1/share; }
# Links of this oryxd's applications (their host ends carry its alias).
app_links() { grep -lx "oryx-share:ops$TAG:share" /sys/class/net/*/ifalias 2>/dev/null | wc -l; }

# attach_config NAME KEYS...: an application's kernel: an af_xdp port that
# attaches to the share, and a stack on the shared address.
attach_config() {
  local name=$1
  shift
  cat >"$WORK/$name.toml" <<CONF
[plugins]
path = ["$PLUGINS"]
[log]
file = "$WORK/$name.oryx.log"
[kernel]
hugepages = false
file_prefix = "a$name$TAG"
[http]
enabled = false
[stage.wire]
type = "port"
driver = "af_xdp"
attach = "$SOCK"
$(printf '%s\n' "$@")
next = "ip"
[stage.ip]
type = "stack"
address = "$NET.2/24"
next = "wire"
CONF
  echo "$WORK/$name.toml"
}
REDIS_CONF=$(attach_config redis 'attach_rules = ["tcp 6379"]' 'attach_default = true')
start_redis() {  # sets REDIS (its PID)
  "$ORYX" run --config "$REDIS_CONF" -- redis-server --bind $NET.2 --port 6379 --save "" \
    --appendonly no --protected-mode no --logfile "" --dir "$WORK" >>"$WORK/redis.log" 2>&1 &
  REDIS=$!
  _PIDS+=("$REDIS")
}
in_ns() { ip netns exec "$NS" "$@"; }

log "redis, and nginx with 4 worker processes, under oryx run, attached to one port"
start_redis
NGINX_CONF=$(static_nginx_conf "master_process on; worker_processes 4; user root;" $NET.2:80 "$ROOT")
"$ORYX" run --config "$(attach_config nginx 'attach_rules = ["tcp 80"]' 'attach_group = "nginx"')" -- \
  nginx -c "$NGINX_CONF" >"$WORK/nginx.log" 2>&1 &
NGINX=$!
_PIDS+=("$NGINX")
wait_until 30 '[ "$(S apps_attached)" -eq 5 ]' || fail "$(S apps_attached) of 5 processes attached"
[ "$(app_links)" -eq 5 ] || fail "$(app_links) application links, expected 5"
wait_until 20 '[ "$(in_ns timeout 2 redis-cli -h $NET.2 ping 2>/dev/null)" = PONG ]' || fail "redis does not answer"
wait_until 20 'in_ns curl -sf -m 2 -o /dev/null http://$NET.2/blob.bin' || fail "nginx does not answer"

log "the processes as oryxd lists them: redis and 4 nginx workers, by PID"
workers=$(pgrep -P "$NGINX" -x nginx | sort | tr '\n' ' ')
listed=$(share | json "' '.join(sorted(str(a['pid']) for a in j['shares'][0]['applications'] if a['group'] == 'nginx'))")
[ "$listed " = "$workers" ] || fail "nginx workers listed: $listed, running: $workers"
share | json "[a for a in j['shares'][0]['applications'] if a['pid'] == $REDIS][0]['rules']" | grepq "tcp 6379" ||
  fail "redis (pid $REDIS) is not listed with tcp 6379"

log "at the same time: 200 redis values and ten 1 MiB files from nginx, byte-exact, then wrk"
ip netns exec "$NS" timeout 60 $PY "$ORYX_SOURCE/tests/e2e/redis_values.py" $NET.2 >"$WORK/redis.out" 2>&1 &
VALUES=$!
for i in $(seq 10); do
  got=$(in_ns curl -sf -m 20 http://$NET.2/blob.bin | sha256sum | cut -d' ' -f1)
  [ "$got" = "$WANT" ] || fail "nginx: blob.bin $i differs"
done
wait "$VALUES" || fail "redis values: $(cat "$WORK/redis.out")"
out=$(in_ns timeout 30 wrk -t 2 -c 32 -d 2 http://$NET.2/blob.bin 2>&1) || fail "wrk: $out"
echo "$out" | grepq -E "Socket errors|Non-2xx" && fail "wrk saw errors: $out"
log "  wrk: $(echo "$out" | grep "Requests/sec")"
busy=$(share | json "sum(1 for a in j['shares'][0]['applications'] if a['group'] == 'nginx' and a['frames_to_app'] > 20)")
[ "$busy" -eq 4 ] || fail "only $busy of 4 nginx workers took connections"

log "ping is answered once, by the default application's stack"
out=$(in_ns ping -c 3 -i 0.2 -W 2 $NET.2) || fail "ping: $out"
echo "$out" | grepq "DUP!" && fail "ping answered twice: $out"
[ "$(S copies)" -ge 1 ] || fail "no ARP reply was copied to the applications"

log "curl under oryx run, attached with no ports: its connection's answers come back to it"
unreachable_route $NET.1/32
(cd "$ROOT" && exec ip netns exec "$NS" $PY -m http.server --bind $NET.1 8000) >"$WORK/web.log" 2>&1 &
_PIDS+=("$!")
wait_until 10 'in_ns curl -sf -o /dev/null http://$NET.1:8000/blob.bin' || fail "the namespace's web server did not start"
"$ORYX" run --config "$(attach_config curl)" -- curl -sf -m 20 -o "$WORK/got.bin" http://$NET.1:8000/blob.bin ||
  fail "curl under oryx run (see $WORK/curl.oryx.log)"
[ "$(sha256sum <"$WORK/got.bin" | cut -d' ' -f1)" = "$WANT" ] || fail "curl's file differs"
# The root namespace cannot reach the server: the file came through the
# share, by the flow curl's SYN recorded (released with it at its exit).
curl_flows=$(share | json "[r['flows'] for r in j['shares'][0]['reclaimed'] if r['name'] == 'curl'][0]")
[ "$curl_flows" -ge 1 ] || fail "curl's attachment held $curl_flows flows"
wait_until 2 '[ "$(S apps_attached)" -eq 5 ]' || fail "curl's attachment was not reclaimed at its exit"

log "a second redis claiming tcp 6379 is refused, naming the holder"
out=$("$ORYX" run --config "$(attach_config redis2 'attach_rules = ["tcp 6379"]')" -- \
  redis-server --bind $NET.2 --port 6379 --save "" --appendonly no --logfile "" 2>&1) &&
  fail "a second redis attached on tcp 6379"
echo "$out" | grepq "tcp port 6379 is claimed by redis-server (pid $REDIS)" ||
  fail "no refusal naming redis in: $out"
wait_until 1 '[ "$(S refused)" -eq 1 ]' || fail "refused = $(S refused)"

log "redis killed with SIGKILL under load 20 times: oryxd reclaims it within a second, nginx is unaffected, redis comes back"
reclaims0=$(S reclaims)
# The link oryxd gave redis, and that it is gone within a second.
note_link() { link=$(share | json "[a['interface'] for a in j['shares'][0]['applications'] if a['pid'] == $REDIS][0]"); }
reclaimed() {
  local round=$1
  wait_until 1 '[ "$(S reclaims)" -eq "$((reclaims0 + round))" ] && [ ! -e /sys/class/net/$link ]' ||
    fail "round $round: not reclaimed within 1 s (reclaims $(S reclaims), link $link)"
}
redis_kill_rounds 20 note_link reclaimed
[ "$(grep -c "application redis-server (pid [0-9]*) went away" "$WORK/owner.log")" -eq 20 ] ||
  fail "oryxd did not log each departure"
slowest=$(share | json "max(r['took_ms'] for r in j['shares'][0]['reclaimed'])")
log "  20 kills: $(redis_values_stored) values stored across them; slowest reclamation $slowest ms"
for c in drop_malformed drop_copy drop_flow_taken; do
  [ "$(S $c)" -eq 0 ] || fail "$c = $(S $c)"
done
[ "$(app_links)" -eq 5 ] || fail "$(app_links) application links, expected 5"

kill -TERM "$NGINX" "$REDIS"
wait "$NGINX" 2>/dev/null || true
wait "$REDIS" 2>/dev/null || true
stop_oryxd "$owner_PID" || fail "oryxd exit status"
[ "$(app_links)" -eq 0 ] || fail "$(app_links) application links left after oryxd stopped"
[ ! -e "$SOCK" ] || fail "the attach socket was left behind"
log "PASS"
