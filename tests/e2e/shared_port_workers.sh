#!/usr/bin/env bash
# nginx with 4 worker processes under `oryx run`, attached to an oryxd that
# owns the port: every worker starts its own kernel, which takes a memif
# link of its own (memif_ids: the first id no other process holds), and
# oryxd's steer stage spreads port 80's connections over the four links
# by a hash of their addresses and ports. A client fetches a 1 MiB file 40
# times over separate connections (sha256 compared) and runs wrk; every
# worker's link carried traffic, nothing was dropped.
source "$(dirname "$0")/lib.sh"

NS=osw$TAG
NET=198.18.115
make_ns "$NS" "$NS" $NET.1/24
ORYX=$ORYX_BUILD/kernel/preload/oryx
MAC=$(cat "/sys/class/net/$NS/address")
SOCK=oryx-e2e-workers-$TAG.sock
# The memif id locks the application's kernels took (memif_ids).
remove_id_locks() { rm -f /run/lock/oryx-memif-"$SOCK"-*.lock; }
_CLEANUP_HOOKS+=(remove_id_locks)
web_root  # ROOT with a 1 MiB blob.bin, WANT its sha256

links=""
for w in 0 1 2 3; do
  links+="
[stage.w$w]
type = \"port\"
driver = \"memif\"
role = \"server\"
socket = \"$SOCK\"
memif_id = $w
next = \"share\""
done
start_oryxd owner "$(write_config owner "
[kernel]
hugepages = false
file_prefix = \"swo$TAG\"
[stage.nic]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
next = \"share\"
$links
[stage.share]
type = \"steer\"
uplink = \"nic\"
next = [\"nic\", \"w0\", \"w1\", \"w2\", \"w3\"]
rules = [\"tcp 80 w0|w1|w2|w3\"]
default = \"w0\"
")"
P() { api "$owner_URL" /api/v1/stats | json "j['stages']['$1']['counters']['$2']"; }

APP=$(memif_app_config nginx "$SOCK" $NET.2 "$MAC" "memif_id = 0
memif_ids = 4")
NGINX_CONF=$(static_nginx_conf "master_process on; worker_processes 4; user root;" $NET.2:80 "$ROOT")

log "nginx, 4 worker processes, under oryx run: one kernel and memif link each"
"$ORYX" run --config "$APP" -- nginx -c "$NGINX_CONF" >"$WORK/nginx.log" 2>&1 &
NGINX=$!
_PIDS+=("$NGINX")
in_ns() { ip netns exec "$NS" "$@"; }
# A worker starts its kernel at its first epoll call: all four links come up.
wait_until 30 '[ "$(for w in 0 1 2 3; do P w$w link_up_events; done | grep -c "^1$")" -eq 4 ]' ||
  fail "links up: $(for w in 0 1 2 3; do echo -n "w$w=$(P w$w link_up_events) "; done)"
wait_until 20 'in_ns curl -sf -m 2 -o /dev/null http://$NET.2/blob.bin' || fail "nginx does not answer"

log "40 connections, each a 1 MiB file, sha256 compared"
for i in $(seq 40); do
  got=$(in_ns curl -sf -m 20 http://$NET.2/blob.bin | sha256sum | cut -d' ' -f1)
  [ "$got" = "$WANT" ] || fail "fetch $i differs"
done
out=$(in_ns timeout 30 wrk -t 2 -c 16 -d 2 http://$NET.2/blob.bin 2>&1) || fail "wrk: $out"
echo "$out" | grepq -E "Socket errors|Non-2xx" && fail "wrk saw errors: $out"
log "  wrk: $(echo "$out" | grep "Requests/sec")"

log "every worker's link carried connections; nothing dropped"
for w in 0 1 2 3; do
  [ "$(P w$w tx_packets)" -gt 50 ] || fail "worker link w$w carried only $(P w$w tx_packets) frames"
done
[ "$(P share drop_no_rule)" -eq 0 ] || fail "steer dropped $(P share drop_no_rule) frames"
pids=$(pgrep -P "$NGINX" -x nginx | wc -l)
[ "$pids" -eq 4 ] || fail "nginx has $pids workers"
kill -TERM "$NGINX"
wait "$NGINX" 2>/dev/null || true
stop_oryxd "$owner_PID" || fail "oryxd exit status"
log "PASS"
