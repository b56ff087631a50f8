# SPDX-License-Identifier: Apache-2.0
# lib.sh - what the kernel-versus-Oryx benchmarks share (sourced by
# stack.sh and apps.sh after they set BUILD and TAG): the two-namespace
# topology, process bookkeeping and cleanup.
#
#   client namespace $CLI: eth0 <-veth-> $HOSTIF (root namespace, Oryx by AF_XDP)
#                          eth1 <-veth-> eth0 of namespace $KRN (the kernel stack)
WORK=$(mktemp -d /tmp/oryx-bench-XXXXXX)
chmod 755 "$WORK"
PIDS=()
CLI="" KRN="" HOSTIF=""  # set by bench_topology; cleanup may run before it
progress() { echo "[$(date +%T)] $*" >&2; }
# Debian's interpreter where it is: a python3 found earlier on PATH (a
# version manager's shim) can cost 0.4 s of CPU a call, taken from the
# workers under measurement on a small machine.
[ -x /usr/bin/python3 ] && python3() { /usr/bin/python3 "$@"; }
stop_pids() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
bench_cleanup() {
  stop_pids
  ip link del "$HOSTIF" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
  ip netns del "$KRN" 2>/dev/null || true
  rmdir /sys/fs/bpf/xdp 2>/dev/null || true
  # The EAL runtime directories of this script's oryxd (file_prefix
  # NAME-$$), which one that crashed (a memif peer's, plugins/io/README.md)
  # leaves behind.
  rmdir /var/run/dpdk/*-$$ 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap bench_cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# veth_pair HOST PEER: a veth pair in the root namespace, both ends up,
# without IPv6 and with full checksums (AF_XDP needs them); sets HOSTIF
# (which the cleanup deletes, and with it its peer) and PEER.
veth_pair() {
  HOSTIF=$1 PEER=$2
  ip link add "$HOSTIF" type veth peer name "$PEER"
  for l in "$HOSTIF" "$PEER"; do
    sysctl -qw "net.ipv6.conf.$l.disable_ipv6=1"
    ethtool -K "$l" tx off rx off >/dev/null
    ip link set "$l" up
  done
}
# bench_topology CLI KRN HOSTIF ORYX_NET KERNEL_NET: the client has
# ORYX_NET.1 toward Oryx (which answers at ORYX_NET.2) and KERNEL_NET.1
# toward the kernel namespace at KERNEL_NET.2. Sets CLI, KRN and HOSTIF.
bench_topology() {
  CLI=$1 KRN=$2 HOSTIF=$3
  ip netns add "$CLI"
  ip netns add "$KRN"
  ip link add "$HOSTIF" type veth peer name eth0 netns "$CLI"
  ip link add eth1 netns "$CLI" type veth peer name eth0 netns "$KRN"
  sysctl -qw "net.ipv6.conf.$HOSTIF.disable_ipv6=1"
  ip netns exec "$CLI" ip addr add "$4.1/24" dev eth0
  ip netns exec "$CLI" ip addr add "$5.1/24" dev eth1
  ip netns exec "$KRN" ip addr add "$5.2/24" dev eth0
  ip netns exec "$CLI" ethtool -K eth0 tx off rx off >/dev/null  # AF_XDP needs real checksums
  ip link set "$HOSTIF" up
  for ns in "$CLI" "$KRN"; do ip netns exec "$ns" ip link set lo up; done
  ip netns exec "$CLI" ip link set eth0 up
  ip netns exec "$CLI" ip link set eth1 up
  ip netns exec "$KRN" ip link set eth0 up
}

# oryx_app_tables ADDRESS: the tables the `oryx run` configurations of the
# benchmarks share: the build's plugins, a warn-level log in $WORK, no HTTP
# server, an AF_XDP port on $HOSTIF and the stack at ADDRESS/24.
oryx_app_tables() {
  cat <<CONF
[plugins]
path = ["$BUILD/plugins"]
[log]
level = "warn"
file = "$WORK/oryx.log"
[http]
enabled = false
CONF
  port_and_stack_tables "$1"
}

# port_and_stack_tables ADDRESS: an AF_XDP port on $HOSTIF feeding the
# stack at ADDRESS/24, the tables every benchmark's Oryx side shares;
# $PORT_LINES (optional) go into the port's table.
port_and_stack_tables() {
  cat <<CONF
[stage.wire]
type = "port"
driver = "af_xdp"
iface = "$HOSTIF"
${PORT_LINES:-}
next = "ip"
[stage.ip]
type = "stack"
address = "$1/24"
next = "wire"
CONF
}

# oryxd_tables NAME MEMORY_MB ADDRESS [STACK-LINES...]: a configuration
# for oryxd on the benchmarks' CPU split: its worker busy-polls on CPU 1,
# the REST API on a free port written to $WORK/oryx.port, an AF_XDP port on
# $HOSTIF and the stack at ADDRESS/24 with STACK-LINES (its services).
oryxd_tables() {
  local name=$1 memory=$2 address=$3
  shift 3
  oryxd_kernel_tables "$name" "$memory" 0 1 "$WORK/oryx.port"
  port_and_stack_tables "$address"
  printf '%s\n' "$@"
}

# oryxd_kernel_tables NAME MEMORY_MB MAIN_CPU WORKER_CPU PORT_FILE [KERNEL-LINES]:
# an oryxd's kernel, plugins, log and REST tables: its worker busy-polls
# on WORKER_CPU (WORKER_CPU may list several; ORYXD_IDLE=adaptive lets the
# workers sleep when idle), the REST API's port is written to PORT_FILE.
oryxd_kernel_tables() {
  cat <<CONF
[kernel]
hugepages = false
memory_mb = $2
file_prefix = "$1-$$"
main_lcore = $3
worker_lcores = "$4"
idle = "${ORYXD_IDLE:-busy-poll}"
${6:-}
[plugins]
path = ["$BUILD/plugins"]
[log]
level = "warn"
[http]
listen = "127.0.0.1:0"
port_file = "$5"
webui_dir = ""
CONF
}

# write_nginx_conf FILE TOP-LEVEL-LINES...: nginx in the foreground, one
# worker, a fixed 128-byte body on port 80, state files under $WORK/nginx.
write_nginx_conf() {
  local file=$1
  shift
  mkdir -p "$WORK/nginx"
  {
    echo "daemon off;"
    echo "worker_processes 1;"
    printf '%s\n' "$@"
    cat <<CONF
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx; uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  keepalive_requests 1000000;
  server {
    listen 80;
    location / { default_type text/plain; return 200 "$(head -c 128 /dev/zero | tr '\0' 'o')"; }
  }
}
CONF
  } >"$file"
}

# wrk_rate HOST [wrk args]: requests/s of 50 wrk connections from the
# client namespace on CPU 0 for $SECS seconds.
wrk_rate() {
  ip netns exec "$CLI" taskset -c 0 wrk -t1 -c50 -d"${SECS}s" "${@:2}" "http://$1/" |
    awk '/Requests\/sec/ {print $2}'
}

# oryxd_start NAME CONFIG: an oryxd on CONFIG (text; its REST port file
# must be $WORK/NAME.port); sets NAME_PID once the API answers. Call it in
# the benchmark's own shell (not in $(...)), so that the cleanup knows it.
oryxd_start() {
  rm -f "$WORK/$1.port"
  printf '%s\n' "$2" >"$WORK/$1.toml"
  "$BUILD/kernel/oryxd" -c "$WORK/$1.toml" >"$WORK/$1.log" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  for _ in $(seq 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.1; done
  [ -s "$WORK/$1.port" ] || { cat "$WORK/$1.log" >&2; exit 1; }
  printf -v "${1}_PID" '%s' "$pid"
}

# stack_counter NAME COUNTER: a counter of the stack stage "ip" of the
# oryxd NAME started by oryxd_start.
stack_counter() {
  curl -sf "http://$(cat "$WORK/$1.port")/api/v1/stats" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['stages']['ip']['counters']['$2'])"
}
