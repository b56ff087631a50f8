# SPDX-License-Identifier: Apache-2.0
# lib.sh - helpers for end-to-end tests: namespaces and veths the test owns,
# oryxd instances, and cleanup that runs even when a test fails.
#
# Tests source this file, then call the helpers. Environment (set by ctest):
#   ORYX_BUILD   build directory (binaries in kernel/, plugins in plugins/)
#   ORYX_SOURCE  source directory
set -euo pipefail

ORYX_BUILD=${ORYX_BUILD:?set ORYX_BUILD}
ORYX_SOURCE=${ORYX_SOURCE:?set ORYX_SOURCE}
ORYXD=$ORYX_BUILD/kernel/oryxd
ORYXCTL=$ORYX_BUILD/kernel/oryxctl
PLUGINS=$ORYX_BUILD/plugins

# A short tag unique to this test run; interface names are at most 15 chars.
TAG=$(printf '%04x' $((RANDOM % 65536)))
WORK=$(mktemp -d /tmp/oryx-e2e-XXXXXX)
chmod 755 "$WORK"
_NAMESPACES=()
_LINKS=()
_PIDS=()
_ROUTES=()
# Functions cleanup() calls after the test's processes ended, before links
# and namespaces go (a test's own cgroups, BPF pins, ...).
_CLEANUP_HOOKS=()

# libxdp keeps its dispatcher state in bpffs; mount it if the host has not.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local rc=$?
  for pid in "${_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for hook in "${_CLEANUP_HOOKS[@]}"; do "$hook" || true; done
  for r in "${_ROUTES[@]}"; do ip route del unreachable "$r" 2>/dev/null || true; done
  for l in "${_LINKS[@]}"; do ip link del "$l" 2>/dev/null || true; done
  for ns in "${_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  # libxdp leaves its (empty) lock directory in bpffs; rmdir keeps it if in use.
  rmdir /sys/fs/bpf/xdp 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] && { echo "---- $f (last 30 lines)"; tail -n 30 "$f"; }
    done
  fi
  if [ -n "${_HUGE_ORIG:-}" ]; then echo "$_HUGE_ORIG" >/proc/sys/vm/nr_hugepages; fi
  if [ -n "${_HUGE_MOUNTED:-}" ]; then umount "$_HUGE_MOUNTED" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# make_ns NS HOSTIF ADDR/PREFIX: a namespace with "eth0" at ADDR, whose veth
# peer HOSTIF stays in the root namespace for Oryx. IPv6 is off on both
# ends so nothing but the test's own frames crosses the link, and checksum
# offload is off inside the namespace so frames leave with real checksums
# (AF_XDP hands Oryx the frame as it is on the wire).
make_ns() {
  local ns=$1 hostif=$2 addr=$3
  ip netns add "$ns"
  _NAMESPACES+=("$ns")
  ip link add "$hostif" type veth peer name eth0 netns "$ns"
  _LINKS+=("$hostif")
  sysctl -qw "net.ipv6.conf.$hostif.disable_ipv6=1"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.lo.disable_ipv6=1
  ip netns exec "$ns" ip addr add "$addr" dev eth0
  ip netns exec "$ns" ethtool -K eth0 tx off rx off >/dev/null 2>&1 || true
  ethtool -K "$hostif" tx off rx off >/dev/null 2>&1 || true
  ip link set "$hostif" up
  ip netns exec "$ns" ip link set eth0 up
  ip netns exec "$ns" ip link set lo up
}

# unreachable_route PREFIX: the root namespace's kernel refuses PREFIX
# (ENETUNREACH) instead of sending it to the default route, so traffic
# that should go through Oryx can never leave by eth0.
unreachable_route() {
  ip route add unreachable "$1"
  _ROUTES+=("$1")
}

# ensure_hugepages N: at least N free 2 MiB pages and a hugetlbfs mount;
# both are put back as they were when the test ends.
ensure_hugepages() {
  local want=$1 free total
  free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
  total=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
  if [ "$free" -lt "$want" ]; then
    _HUGE_ORIG=$total
    echo $((total + want - free)) >/proc/sys/vm/nr_hugepages
    free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
    [ "$free" -ge "$want" ] || fail "could reserve only $free hugepages of $want"
  fi
  if ! grep -q hugetlbfs /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
    _HUGE_MOUNTED=/dev/hugepages
  fi
}
hugepages_free() { awk '/HugePages_Free/ {print $2}' /proc/meminfo; }

# write_config NAME BODY: a config file with the kernel/plugins/http
# boilerplate for a test instance (no hugepages unless BODY says so);
# captures go to $WORK/NAME.captures unless BODY has a [capture] table.
write_config() {
  local name=$1 body=$2
  cat >"$WORK/$name.toml" <<EOF
[plugins]
path = ["$PLUGINS"]
[http]
listen = "127.0.0.1:0"
port_file = "$WORK/$name.port"
webui_dir = "$ORYX_SOURCE/webui"
token = "test-token-$TAG"
$(grep -q '^\[capture\]' <<<"$body" || printf '[capture]\ndir = "%s"' "$WORK/$name.captures")
$body
EOF
  echo "$WORK/$name.toml"
}

# start_oryxd NAME CONFIG: starts oryxd, waits until its REST API answers,
# and sets ${NAME}_URL and ${NAME}_PID. For an oryxd with TLS and a token
# beyond loopback: ORYXD_CACERT=FILE (https) and ORYXD_TOKEN=TOKEN.
start_oryxd() {
  local name=$1 cfg=$2 scheme=http
  local probe=(curl -sf)
  if [ -n "${ORYXD_CACERT:-}" ]; then scheme=https; probe+=(--cacert "$ORYXD_CACERT"); fi
  if [ -n "${ORYXD_TOKEN:-}" ]; then probe+=(-H "Authorization: Bearer $ORYXD_TOKEN"); fi
  "$ORYXD" -c "$cfg" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  _PIDS+=("$pid")
  for _ in $(seq 150); do
    if [ -s "$WORK/$name.port" ] && "${probe[@]}" "$scheme://$(cat "$WORK/$name.port")/api/v1/status" >/dev/null; then
      eval "${name}_URL=$scheme://$(cat "$WORK/$name.port")"
      eval "${name}_PID=$pid"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || fail "oryxd $name exited during start-up (see log)"
    sleep 0.1
  done
  fail "oryxd $name did not answer within 15 s"
}

# stop_oryxd PID: SIGTERM and wait; returns oryxd's exit status.
stop_oryxd() {
  local pid=$1 rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  return $rc
}

# stack_config NAME IFACE NET KEYS...: a config whose stack stage "ip"
# answers at NET.2/24 on an AF_XDP port to IFACE, with the given stage keys
# (one "key = value" per argument); prints its path.
stack_config() {
  local name=$1 iface=$2 net=$3
  shift 3
  _afxdp_stack_config "$name" "$iface" "$net" "" "$@"
}

# _afxdp_stack_config NAME IFACE NET EXTRA TOML...: the configuration both
# helpers above and below share: a port on IFACE by AF_XDP and a stack stage
# "ip" at NET.2/24; EXTRA is added to [kernel] and may open more tables.
_afxdp_stack_config() {
  local name=$1 iface=$2 net=$3 extra=$4
  shift 4
  write_config "$name" "
[kernel]
hugepages = false
file_prefix = \"$name$TAG\"
mbufs = 32767
$extra
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$iface\"
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"$net.2/24\"
next = \"wire\"
$(printf '%s\n' "$@")
"
}

# preload_config NAME IFACE NET [TOML...]: the configuration of an
# application under `oryx run`: its in-process stack at NET.2/24 on IFACE
# (AF_XDP), one busy-polling worker, the kernel's log in $WORK/NAME.oryx.log
# (applications that daemonize close stderr). Prints the file's path.
# PRELOAD_IDLE and PRELOAD_THREADING override the worker's idle mode
# (busy-poll; used by the models with a worker) and the threading model
# (shared, the default).
preload_config() {
  local name=$1 iface=$2 net=$3
  shift 3
  _afxdp_stack_config "$name" "$iface" "$net" "worker_lcores = \"1\"
idle = \"${PRELOAD_IDLE:-busy-poll}\"
[preload]
threading = \"${PRELOAD_THREADING:-shared}\"
[log]
file = \"$WORK/$name.oryx.log\"" "$@"
}

# memif_app_config NAME SOCKET ADDRESS MAC [PORT-LINES]: the kernel of an
# application under oryx run attached to an oryxd over memif: a client port
# on SOCKET (with PORT-LINES) and a stack at ADDRESS/24 answering with MAC
# (the oryxd's uplink's); written to $WORK/NAME.toml, its log to
# $WORK/NAME.oryx.log; prints the file's path.
memif_app_config() {
  local name=$1 socket=$2 address=$3 mac=$4
  cat >"$WORK/$name.toml" <<CONF
[plugins]
path = ["$PLUGINS"]
[log]
file = "$WORK/$name.oryx.log"
[kernel]
hugepages = false
file_prefix = "m$name$TAG"
[http]
enabled = false
[stage.wire]
type = "port"
driver = "memif"
role = "client"
socket = "$socket"
${5:-}
next = "ip"
[stage.ip]
type = "stack"
address = "$address/24"
mac = "$mac"
next = "wire"
CONF
  echo "$WORK/$name.toml"
}

# static_nginx_conf PROCESS-MODEL LISTEN ROOT: nginx in the foreground
# serving ROOT on LISTEN, its state files in $WORK; PROCESS-MODEL is the
# top-level directives ("master_process off;", "worker_processes 4; ...").
# Prints the file's path.
# web_root: a document root for the test's web servers, ROOT=$WORK/www,
# holding blob.bin (1 MiB of random bytes); WANT is its sha256.
web_root() {
  ROOT=$WORK/www
  mkdir -p "$ROOT"
  head -c $((1024 * 1024)) /dev/urandom >"$ROOT/blob.bin"
  WANT=$(sha256sum <"$ROOT/blob.bin" | cut -d' ' -f1)
}
# redis_kill_rounds N BEFORE AFTER: redis under `oryx run` (PID in REDIS,
# restarted by the test's start_redis) serving $NET.2 is killed with
# SIGKILL under load N times in a row. A client in $NS keeps storing
# values (redis_load.py; the count in $WORK/load.count). Each round waits
# for 200 more values, runs `BEFORE ROUND`, kills redis, runs `AFTER ROUND`
# (the test's check of what oryxd must notice within a second), checks that
# oryxd ($owner_PID) lives and nginx serves blob.bin, restarts redis and
# waits for its PONG.
redis_kill_rounds() {
  local rounds=$1 before_kill=$2 after_kill=$3 round before
  ip netns exec "$NS" timeout 300 $PY "$ORYX_SOURCE/tests/e2e/redis_load.py" "$WORK/load.count" $NET.2 &
  _PIDS+=($!)
  for round in $(seq "$rounds"); do
    before=$(redis_values_stored)
    wait_until 10 '[ "$(redis_values_stored)" -gt "$((before + 200))" ]' || fail "round $round: no load on redis"
    "$before_kill" "$round"
    kill -KILL "$REDIS"
    wait "$REDIS" 2>/dev/null || true
    "$after_kill" "$round"
    kill -0 "$owner_PID" || fail "round $round: oryxd died"
    ip netns exec "$NS" curl -sf -m 5 -o /dev/null http://$NET.2/blob.bin || fail "round $round: nginx did not serve"
    start_redis
    wait_until 20 '[ "$(ip netns exec "$NS" timeout 2 redis-cli -h $NET.2 ping 2>/dev/null)" = PONG ]' ||
      fail "round $round: redis did not come back"
  done
}
# What redis_load.py stored so far (0 before its first report).
redis_values_stored() {
  if [ -s "$WORK/load.count" ]; then cut -d' ' -f1 "$WORK/load.count"; else echo 0; fi
}
static_nginx_conf() {
  cat >"$WORK/nginx.conf" <<CONF
daemon off; $1
pid $WORK/nginx.pid;
error_log $WORK/nginx.error.log info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi; uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  server { listen $2; root $3; }
}
CONF
  echo "$WORK/nginx.conf"
}

# expect_kernel_stopped NAME IFACE: the kernel inside an application run
# with preload_config NAME stopped (its log says so) and let go of IFACE
# (no XDP program left on it).
expect_kernel_stopped() {
  grep -q "appliance stopped" "$WORK/$1.oryx.log" || fail "$1: the in-process kernel did not stop"
  ! ip link show "$2" | grep xdp >/dev/null || fail "$1: an XDP program is still attached to $2"
}

# start_stack NAME NET KEYS...: a namespace with eth0 at NET.1/24 wired by
# AF_XDP to an oryxd whose stack stage "ip" answers at NET.2 with the
# given stage keys. Sets NS, URL (and NAME_URL/NAME_PID), and C COUNTER
# prints one of the stack's counters. With STACK_HOST=oryx-run the stack
# runs instead inside redis-server under `oryx run` (default threading:
# redis's own thread polls the port while it waits in epoll_wait, the
# keeper while it sleeps); NAME_PID is then redis's.
start_stack() {
  local name=$1 net=$2
  shift 2
  NS=ox$name$TAG
  make_ns "$NS" "$NS" "$net.1/24"
  if [ "${STACK_HOST:-oryxd}" = oryx-run ]; then
    local cfg pid
    cfg=$(preload_config "$name" "$NS" "$net" "$@")
    "$ORYX_BUILD/kernel/preload/oryx" run --config "$cfg" -- redis-server --bind "$net.2" \
      --port 6379 --save "" --appendonly no --protected-mode no --logfile "" \
      >"$WORK/$name.log" 2>&1 &
    pid=$!
    _PIDS+=("$pid")
    wait_until 20 '[ -s "$WORK/$name.port" ] && curl -sf "http://$(cat "$WORK/$name.port")/api/v1/status" >/dev/null' ||
      fail "redis under oryx run did not start its kernel's API (see $WORK/$name.log)"
    eval "${name}_URL=http://$(cat "$WORK/$name.port") ${name}_PID=$pid"
  else
    start_oryxd "$name" "$(stack_config "$name" "$NS" "$net" "$@")"
  fi
  eval "URL=\$${name}_URL"
  ip netns exec "$NS" ping -c 1 -W 2 "$net.2" >/dev/null || fail "the stack at $net.2 does not answer ping"
}
C() { api "$URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }

# api URL PATH: GET a JSON endpoint.
api() { curl -sf "$1$2"; }

# grepq GREP-ARGS...: `grep -q` that reads all of its input. `grep -q`
# exits at the first match; under pipefail the writer's SIGPIPE (or
# curl's write error) then fails the pipeline although the text matched.
grepq() { grep "$@" >/dev/null; }

# process_cpu_ns PID: the run time of every thread of PID so far, in ns
# (/proc schedstat), for idle-CPU checks.
process_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s}'; }

# Debian's python3 (with scapy), whatever else is first on PATH.
PY=/usr/bin/python3

# json EXPR: evaluates a Python expression on JSON read from stdin as `j`.
json() { $PY -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# wait_until SECONDS 'CONDITION': re-evaluates the shell CONDITION every
# 0.2 s until it holds (true) or time runs out (false).
wait_until() {
  local secs=$1 cond=$2
  for _ in $(seq $((secs * 5))); do
    if eval "$cond"; then return 0; fi
    sleep 0.2
  done
  return 1
}
