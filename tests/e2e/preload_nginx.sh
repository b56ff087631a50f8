#!/usr/bin/env bash
# Debian's nginx, unmodified, under `oryx run`, in both of its process
# models: a single process (master_process off), and a daemonizing master
# that forks one worker. The listener is opened by the first process and
# served by Oryx in the one that uses it (see kernel/preload/routing.hpp).
# From a namespace: curl fetches a 1 MiB file byte-exact, a keep-alive
# sequence rides one connection, wrk runs without errors; stopping nginx
# stops the in-process kernel and detaches its XDP program.
source "$(dirname "$0")/lib.sh"

NS=oxn$TAG
NET=198.18.94
make_ns "$NS" "$NS" $NET.1/24
ORYX=$ORYX_BUILD/kernel/preload/oryx
web_root  # ROOT with a 1 MiB blob.bin, WANT its sha256
echo "hello from nginx on oryx" >"$ROOT/index.html"

# nginx_conf MODE: a configuration for one process model.
nginx_conf() {
  local mode=$1 dir=$WORK/$1
  mkdir -p "$dir"
  local model="daemon off; master_process off;"
  # The worker runs the stack, which needs root (AF_XDP, BPF, hugepages).
  [ "$mode" = master ] && model="daemon on; master_process on; worker_processes 1; user root;"
  cat >"$dir/nginx.conf" <<CONF
$model
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  server { listen $NET.2:8080 reuseport; root $ROOT; }
}
CONF
  echo "$dir/nginx.conf"
}

in_ns() { ip netns exec "$NS" "$@"; }

# check_serving MODE: the data checks against a running nginx.
check_serving() {
  local mode=$1
  wait_until 20 'in_ns curl -sf -m 2 http://$NET.2:8080/index.html >/dev/null' ||
    fail "$mode: nginx under oryx run does not answer"
  URL=http://$(cat "$WORK/$mode.port")
  C() { api "$URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }

  log "$mode: 1 MiB file, sha256 compared (sendfile on)"
  local got
  got=$(in_ns curl -sf -m 20 http://$NET.2:8080/blob.bin | sha256sum | cut -d' ' -f1)
  [ "$got" = "$WANT" ] || fail "$mode: blob.bin differs ($got != $WANT)"

  log "$mode: 20 requests on one keep-alive connection"
  local before after urls=()
  before=$(C tcp_accepted)
  for _ in $(seq 10); do
    urls+=(-o /dev/null http://$NET.2:8080/index.html -o /dev/null http://$NET.2:8080/blob.bin)
  done
  in_ns curl -sf -m 30 "${urls[@]}" -w '%{http_code} %{size_download}\n' >"$WORK/ka.txt" ||
    fail "$mode: keep-alive sequence"
  [ "$(grep -c '^200 ' "$WORK/ka.txt")" -eq 20 ] || fail "$mode: keep-alive answers: $(cat "$WORK/ka.txt")"
  grep -q "^200 1048576$" "$WORK/ka.txt" || fail "$mode: short blob in keep-alive"
  after=$(C tcp_accepted)
  [ $((after - before)) -eq 1 ] || fail "$mode: $((after - before)) connections for one keep-alive sequence"

  log "$mode: wrk, 20 connections, 3 s"
  local out
  out=$(in_ns timeout 30 wrk -t 2 -c 20 -d 3 http://$NET.2:8080/index.html 2>&1) || fail "$mode: wrk: $out"
  echo "$out" | grepq -E "Socket errors|Non-2xx" && fail "$mode: wrk saw errors: $out"
  log "$mode: $(echo "$out" | grep "Requests/sec")"
  wait_until 10 '[ "$(C tcp_connections)" -eq 0 ]' || fail "$mode: $(C tcp_connections) connections left"
}

log "single process: nginx -g 'master_process off' under oryx run"
CFG=$(preload_config single "$NS" $NET)
"$ORYX" run --config "$CFG" -- nginx -c "$(nginx_conf single)" >"$WORK/single.log" 2>&1 &
NGINX=$!
_PIDS+=("$NGINX")
check_serving single
kill -QUIT "$NGINX"  # graceful shutdown
wait_until 20 '! kill -0 "$NGINX" 2>/dev/null' || fail "single: nginx did not exit"
expect_kernel_stopped single "$NS"

log "master/worker, daemonized: the master forks, the worker runs the stack"
CFG=$(preload_config master "$NS" $NET)
"$ORYX" run --config "$CFG" -- nginx -c "$(nginx_conf master)" >"$WORK/master.log" 2>&1 ||
  fail "nginx did not daemonize: $(cat "$WORK/master.log")"
wait_until 10 '[ -s "$WORK/master/nginx.pid" ]' || fail "no nginx pid file"
MASTER=$(cat "$WORK/master/nginx.pid")
_PIDS+=("$MASTER")
check_serving master
WORKER=$(pgrep -P "$MASTER" | head -1)
[ -n "$WORKER" ] || fail "the master has no worker"
# The kernel runs in the worker, not in the master: the worker serves the
# in-process REST API.
PORT=$(cat "$WORK/master.port")
PORT=${PORT##*:}
ss -Htlnp "sport = :$PORT" | grepq "pid=$WORKER," ||
  fail "the kernel does not run in the worker: $(ss -Htlnp "sport = :$PORT")"
log "SIGQUIT: the worker finishes, its kernel stops, the master exits"
kill -QUIT "$MASTER"
wait_until 20 '! kill -0 "$MASTER" 2>/dev/null' || fail "master did not exit"
expect_kernel_stopped master "$NS"
log "PASS"
