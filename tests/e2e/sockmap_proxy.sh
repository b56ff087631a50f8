#!/usr/bin/env bash
# sockmap_proxy.sh - a sidecar-shaped path with the sockmap service on:
# curl -> haproxy -> nginx on localhost, all three in the tracked cgroup.
# A 10 MiB file is fetched 100 times: every copy sha256-exact, none slower
# than 10 s (no stall), and both hops (nginx -> haproxy, haproxy -> curl)
# went through the sockhash.
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/sockmap/tests/sockmap_lib.sh"

sockmap_setup smp
start_oryxd smp "$(write_config smp "$SM_BODY")"
sm_record_programs "$PINS" || fail "no program uses the sockhash in $PINS"

NGINX_PORT=$((20000 + RANDOM % 10000))
PROXY_PORT=$((NGINX_PORT + 10000))
mkdir -p "$WORK/www" "$WORK/nginx"
head -c $((10 << 20)) /dev/urandom >"$WORK/www/blob.bin"
WANT=$(sha256sum <"$WORK/www/blob.bin" | cut -d' ' -f1)
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log info;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; }
}
CONF
cat >"$WORK/haproxy.cfg" <<CONF
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend sidecar
  bind 127.0.0.1:$PROXY_PORT
  default_backend app
backend app
  server nginx 127.0.0.1:$NGINX_PORT
CONF
# Started directly (not through the in_cgroup function) so $! is the server.
bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$MESH" nginx -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 &
_PIDS+=("$!")
bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$MESH" haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
_PIDS+=("$!")
wait_until 10 'curl -sf -o /dev/null http://127.0.0.1:$PROXY_PORT/blob.bin' || fail "haproxy/nginx do not answer"

sleep 0.4
before=$(sm_counter "$smp_URL" mesh bytes_redirected)
log "100 fetches of 10 MiB through haproxy, curl in the cgroup"
for i in $(seq 100); do
  rc=0
  in_cgroup "$MESH" curl -sS -f -m 10 -o "$WORK/got.bin" -w '%{http_code} %{size_download} B in %{time_total} s' \
    "http://127.0.0.1:$PROXY_PORT/blob.bin" >"$WORK/curl.txt" 2>&1 || rc=$?
  got=$(sha256sum <"$WORK/got.bin" | cut -d' ' -f1)
  [ $rc = 0 ] && [ "$got" = "$WANT" ] ||
    fail "fetch $i: curl exit $rc ($(cat "$WORK/curl.txt")), sha256 $got, want $WANT;" \
      "backlog fallbacks $(sm_counter "$smp_URL" mesh backlog_fallbacks)"
done
sleep 0.4
after=$(sm_counter "$smp_URL" mesh bytes_redirected)
moved=$((after - before))
# Two tracked hops carry each body: at least 2 x 100 x 10 MiB.
[ "$moved" -ge $((2 * 100 * (10 << 20))) ] || fail "only $moved bytes were redirected"
log "100 x 10 MiB exact; $moved bytes redirected; fallbacks: $(sm_counter "$smp_URL" mesh backlog_fallbacks)"
stop_oryxd "$smp_PID" || fail "oryxd failed"
left=$(bpf_leftovers "$PINS" "$MESH")
[ -z "$left" ] || fail "left behind: $left"
log "PASS: nginx behind haproxy with sockmap redirect"
