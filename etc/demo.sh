#!/usr/bin/env bash
# demo.sh - `make demo`: Oryx patching two network namespaces together.
#
# Creates namespaces oryx-west (198.18.0.1), oryx-east (198.18.0.2) and
# oryx-svc (198.18.1.1), each wired by a veth to the root namespace
# (interfaces of the same names), reserves hugepages, and starts oryxd on
# etc/appliance.toml: west and east are cross-connected over AF_XDP, and
# Oryx's own TCP/IP stack answers on oryx-svc at 198.18.1.10. It sends ping
# and a TCP transfer through the cross-connect, pings and fetches HTTP from
# the stack, shows what oryxctl reports, then runs Debian's unmodified
# redis-server twice: on the kernel stack in namespace oryx-redis
# (198.18.3.2), and under `oryx run` on Oryx's in-process stack (AF_XDP on
# oryx-app, 198.18.2.2), and drives both with redis-benchmark from
# oryx-app. It keeps traffic flowing until Ctrl-C (or DEMO_SECONDS), then
# cleans up.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
ORYXD=$BUILD/kernel/oryxd
ORYXCTL=$BUILD/kernel/oryxctl
URL=http://127.0.0.1:8080
WORK=$(mktemp -d /tmp/oryx-demo-XXXXXX)
PID=""
APP_PIDS=()
HUGE_ORIG=""
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

cleanup() {
  step "cleaning up"
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null || true
    echo "oryxd stopped"
  fi
  for p in "${APP_PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for side in west east svc app redis; do
    ip link del oryx-$side 2>/dev/null || true
    ip netns del oryx-$side 2>/dev/null || true
  done
  rmdir /sys/fs/bpf/xdp 2>/dev/null || true  # libxdp's lock directory, if empty
  [ -n "$HUGE_ORIG" ] && echo "$HUGE_ORIG" >/proc/sys/vm/nr_hugepages
  rm -rf "$WORK"
  echo "namespaces, links and hugepages released"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (namespaces, AF_XDP, hugepages)"; exit 1; }
if curl -s -o /dev/null "$URL/api/v1/status"; then
  echo "something already serves $URL (another oryxd?); stop it first"; exit 1
fi

step "reserving hugepages and mounting hugetlbfs and bpffs"
FREE=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "$FREE" -lt 160 ]; then
  HUGE_ORIG=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
  echo $((HUGE_ORIG + 160 - FREE)) >/proc/sys/vm/nr_hugepages
fi
grep -q hugetlbfs /proc/mounts || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
grep -E 'HugePages_(Total|Free)' /proc/meminfo

step "creating namespaces oryx-west (198.18.0.1), oryx-east (198.18.0.2), oryx-svc (198.18.1.1)"
declare -A ADDR=([west]=198.18.0.1/24 [east]=198.18.0.2/24 [svc]=198.18.1.1/24)
for side in west east svc; do
  addr=${ADDR[$side]}
  ip netns add oryx-$side
  ip link add oryx-$side type veth peer name eth0 netns oryx-$side
  sysctl -qw net.ipv6.conf.oryx-$side.disable_ipv6=1
  ip netns exec oryx-$side sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  ip netns exec oryx-$side ip addr add $addr dev eth0
  # AF_XDP sees frames as on the wire: let the kernel fill in checksums.
  ip netns exec oryx-$side ethtool -K eth0 tx off rx off >/dev/null
  ip link set oryx-$side up
  ip netns exec oryx-$side ip link set eth0 up
  echo "oryx-$side: eth0 $addr <-> oryx-$side (root namespace, Oryx attaches here)"
done

step "starting oryxd on etc/appliance.toml"
"$ORYXD" -c "$ROOT/etc/appliance.toml" -p "$BUILD/plugins" -w "$ROOT/webui" >"$WORK/oryxd.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  curl -sf "$URL/api/v1/status" >/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/oryxd.log"; echo "oryxd failed to start"; exit 1; }
  sleep 0.1
done
grep -E "\[oryx\]|\[io\." "$WORK/oryxd.log" | sed 's/^/  /'

step "ping from oryx-west to oryx-east, through Oryx"
ip netns exec oryx-west ping -c 5 -i 0.2 198.18.0.2

step "TCP transfer of 64 MiB from west to east, through Oryx"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$WORK/payload"
ip netns exec oryx-east timeout 60 socat -u TCP-LISTEN:5001,reuseaddr OPEN:"$WORK/received",creat,trunc &
RECEIVER=$!
sleep 0.3
START=$(date +%s%N)
ip netns exec oryx-west timeout 60 socat -u OPEN:"$WORK/payload" TCP:198.18.0.2:5001
wait "$RECEIVER"
MS=$((($(date +%s%N) - START) / 1000000))
if cmp -s "$WORK/payload" "$WORK/received"; then
  echo "64 MiB arrived intact in $MS ms ($((64 * 8 * 1000 / (MS > 0 ? MS : 1))) Mbit/s)"
else
  echo "the received data differs from what was sent"; exit 1
fi

step "the user-space stack on oryx-svc: ping, HTTP, TCP echo from oryx-svc to 198.18.1.10"
ip netns exec oryx-svc ping -c 3 -i 0.2 198.18.1.10
ip netns exec oryx-svc curl -s -D - -o /dev/null http://198.18.1.10/ | head -4
echo "hello through lwIP" | ip netns exec oryx-svc socat -t 1 - TCP:198.18.1.10:7
"$ORYXCTL" connections

step "oryxctl status / ports / stats"
"$ORYXCTL" status
echo
"$ORYXCTL" ports
echo
"$ORYXCTL" stats

step "an unmodified redis-server: on the kernel stack, and under oryx run"
ip netns add oryx-app
ip netns add oryx-redis
ip link add oryx-app type veth peer name eth0 netns oryx-app                # Oryx side
ip link add eth1 netns oryx-app type veth peer name eth0 netns oryx-redis   # kernel side
sysctl -qw net.ipv6.conf.oryx-app.disable_ipv6=1
ip netns exec oryx-app ip addr add 198.18.2.1/24 dev eth0
ip netns exec oryx-app ip addr add 198.18.3.1/24 dev eth1
ip netns exec oryx-redis ip addr add 198.18.3.2/24 dev eth0
ip netns exec oryx-app ethtool -K eth0 tx off rx off >/dev/null
ip link set oryx-app up
for l in "oryx-app eth0" "oryx-app eth1" "oryx-app lo" "oryx-redis eth0" "oryx-redis lo"; do
  set -- $l
  ip netns exec "$1" ip link set "$2" up
done
# The application profile: an in-process stack at 198.18.2.2 on oryx-app,
# the process's own dashboard on :8081. The default threading model
# ("shared"): redis's own thread polls the port, no worker thread.
cat >"$WORK/redis-app.toml" <<EOF
[kernel]
hugepages = false
file_prefix = "oryx-redis-demo"
[plugins]
path = ["$BUILD/plugins"]
[log]
file = "$WORK/redis-oryx.log"
[http]
listen = "127.0.0.1:8081"
webui_dir = "$ROOT/webui"
[stage.wire]
type = "port"
driver = "af_xdp"
iface = "oryx-app"
next = "ip"
[stage.ip]
type = "stack"
address = "198.18.2.2/24"
next = "wire"
EOF
# The same CPU budget on both sides: each server has CPU 1 only, the
# client CPU 0 (SERVER_CPU and CLIENT_CPU choose others).
SERVER_CPU=${SERVER_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
REDIS=(redis-server --port 6379 --save "" --appendonly no --protected-mode no --logfile "")
ip netns exec oryx-redis taskset -c "$SERVER_CPU" "${REDIS[@]}" --bind 198.18.3.2 \
  >"$WORK/redis-kernel.log" 2>&1 &
APP_PIDS+=($!)
echo "\$ taskset -c $SERVER_CPU oryx run --config redis-app.toml -- redis-server --bind 198.18.2.2 ..."
taskset -c "$SERVER_CPU" "$BUILD/kernel/preload/oryx" run --config "$WORK/redis-app.toml" -- \
  "${REDIS[@]}" --bind 198.18.2.2 >"$WORK/redis-on-oryx.log" 2>&1 &
APP_PIDS+=($!)
for host in 198.18.3.2 198.18.2.2; do
  for _ in $(seq 100); do
    [ "$(ip netns exec oryx-app redis-cli -h $host ping 2>/dev/null)" = PONG ] && break
    sleep 0.2
  done
done
ip netns exec oryx-app redis-cli -h 198.18.2.2 set greeting "hello from redis on Oryx" >/dev/null
echo "redis-cli GET greeting (via Oryx): $(ip netns exec oryx-app redis-cli -h 198.18.2.2 get greeting)"
declare -A RATE
for side in "the kernel stack:198.18.3.2" "Oryx (oryx run):198.18.2.2"; do
  echo "redis-benchmark -c 50 -n 100000 -t set,get against redis on ${side%%:*} (server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU):"
  ip netns exec oryx-app taskset -c "$CLIENT_CPU" redis-benchmark -h "${side#*:}" -t set,get \
    -n 100000 -c 50 -r 100000 -d 64 --csv >"$WORK/rb.csv" 2>&1
  while IFS=, read -r test rps _ _ p50 _; do
    test=${test//\"/} rps=${rps//\"/} p50=${p50//\"/}
    [ "$test" = test ] && continue
    printf '  %-4s %10.0f requests/s, p50 %s ms\n' "$test" "$rps" "$p50"
    RATE["${side#*:}$test"]=$rps
  done <"$WORK/rb.csv"
done
for t in SET GET; do
  awk -v t="$t" -v o="${RATE[198.18.2.2$t]}" -v k="${RATE[198.18.3.2$t]}" \
    'BEGIN { printf "redis %s: Oryx / kernel = %.2fx\n", t, o / k }'
done
echo "redis's in-process Oryx dashboard: http://127.0.0.1:8081/"

step "dashboard: $URL/   (Prometheus: $URL/metrics)"
SECONDS_LEFT=${DEMO_SECONDS:-0}
if [ "$SECONDS_LEFT" -gt 0 ]; then
  echo "traffic keeps flowing for $SECONDS_LEFT s (DEMO_SECONDS)"
else
  echo "traffic keeps flowing; press Ctrl-C to stop and clean up"
fi
T=0
while [ "$SECONDS_LEFT" -eq 0 ] || [ $T -lt "$SECONDS_LEFT" ]; do
  ip netns exec oryx-west ping -q -c 10 -i 0.1 198.18.0.2 >/dev/null || true
  ip netns exec oryx-svc curl -s -o /dev/null http://198.18.1.10/ || true
  T=$((T + 1))
  "$ORYXCTL" --json stats | python3 -c "import json,sys; j=json.load(sys.stdin); c=j['stages']['patch']['counters']; s=j['stages']['ip']['counters']; print(f\"patch: west->east {c['a_to_b']}  east->west {c['b_to_a']}   stack: tcp accepted {s['tcp_accepted']}  icmp echo {s['icmp_echo_requests']}   drops {j['drops_total']}\")"
done
