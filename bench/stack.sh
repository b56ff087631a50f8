#!/usr/bin/env bash
# stack.sh - Oryx's TCP stack against the Linux kernel's, same run.
#
# A client namespace runs bench/loadgen and wrk against
#   (a) Oryx: the lwIP stack's TCP echo and HTTP services on an AF_XDP port,
#       over veth;
#   (b) the kernel: loadgen --server and nginx in a second namespace, over veth.
# Workloads: 64-byte request/response on 1 connection (latency), on 50
# connections (rate), 64 KiB messages on 1 connection (bulk), and wrk with 50
# keep-alive connections and with "Connection: close" (128-byte bodies). The
# client runs on CPU 0; the Oryx worker (busy-poll) and the kernel-side
# servers on CPU 1. Prints a table and writes JSON.
#
# MTU (default 1500) is every veth's, and the Oryx port's; above 2,030 the
# kernel's mbufs take a page each (mbuf_data_room 3840), as AF_XDP needs a
# frame in one buffer, and a veth with XDP carries at most 3,506 bytes.
#
# Usage: bench/stack.sh [BUILD_DIR]   (env: SECONDS_EACH=5, MTU=1500)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECS=${SECONDS_EACH:-5}
MTU=${MTU:-1500}
OUT=${OUT:-$BUILD/bench-stack.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
bench_topology obc$TAG obk$TAG obo$TAG 198.18.70 198.18.71

oryxd_tables bench-stack 256 198.18.70.2 "tcp_echo_port = 7" "http_port = 80" \
  "http_body_bytes = 128" >"$WORK/oryx.toml"
if [ "$MTU" != 1500 ]; then
  ip link set "$HOSTIF" mtu "$MTU"
  ip -n "$CLI" link set eth0 mtu "$MTU"
  ip -n "$CLI" link set eth1 mtu "$MTU"
  ip -n "$KRN" link set eth0 mtu "$MTU"
  sed -i -e "s/^driver = \"af_xdp\"/&\nmtu = $MTU/" "$WORK/oryx.toml"
  [ "$MTU" -le 2030 ] || sed -i -e 's/^\[kernel\]/&\nmbuf_data_room = 3840/' "$WORK/oryx.toml"
fi
write_nginx_conf "$WORK/nginx.conf"
"$BUILD/kernel/oryxd" -c "$WORK/oryx.toml" >"$WORK/oryx.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/oryx.port" ] && break; sleep 0.1; done
[ -s "$WORK/oryx.port" ] || { cat "$WORK/oryx.log"; exit 1; }
ip netns exec "$KRN" taskset -c 1 "$BUILD/bench/loadgen" --server 7 &
PIDS+=($!)
ip netns exec "$KRN" taskset -c 1 nginx -c "$WORK/nginx.conf" &
PIDS+=($!)
ip netns exec "$CLI" ping -c 2 -W 2 198.18.70.2 >/dev/null
ip netns exec "$CLI" ping -c 2 -W 2 198.18.71.2 >/dev/null

run() {  # run TARGET CONNS SIZE -> JSON line (one connection: a client that never sleeps)
  ip netns exec "$CLI" taskset -c 0 "$BUILD/bench/loadgen" --connect "$1:7" \
    --connections "$2" --size "$3" --seconds "$SECS" --json $([ "$2" = 1 ] && echo --busy-poll)
}
RESULTS=()
for w in "1 64" "50 64" "1 65536"; do
  set -- $w
  echo "workload: $1 connection(s) x $2 bytes" >&2
  K=$(run 198.18.71.2 "$1" "$2")
  O=$(run 198.18.70.2 "$1" "$2")
  echo "  kernel: $K" >&2
  echo "  oryx:   $O" >&2
  RESULTS+=("{\"kernel\":$K,\"oryx\":$O}")
done

sleep 0.5
curl_check() { ip netns exec "$CLI" curl -s --max-time 5 "http://$1/" | wc -c; }
[ "$(curl_check 198.18.71.2)" -eq 128 ] && [ "$(curl_check 198.18.70.2)" -eq 128 ] ||
  { echo "an HTTP server does not answer with 128 bytes" >&2; exit 1; }
echo "workload: wrk, 50 keep-alive connections" >&2
HK=$(wrk_rate 198.18.71.2); HO=$(wrk_rate 198.18.70.2)
echo "  kernel (nginx): $HK req/s, oryx: $HO req/s" >&2
echo "workload: wrk, Connection: close" >&2
CK=$(wrk_rate 198.18.71.2 -H "Connection: close"); CO=$(wrk_rate 198.18.70.2 -H "Connection: close")
echo "  kernel (nginx): $CK req/s, oryx: $CO req/s" >&2
RESULTS+=("{\"kernel\":{\"rate\":$HK},\"oryx\":{\"rate\":$HO}}" "{\"kernel\":{\"rate\":$CK},\"oryx\":{\"rate\":$CO}}")

python3 - "$OUT" "$(dirname "$0")" "${RESULTS[@]}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from report import report
out, rows = sys.argv[1], [json.loads(r) for r in sys.argv[3:]]
lat, rate, bulk, http_ka, http_close = rows
report(out, "stack", [
    ("64 B, 1 conn: RTT p50 (us)", lat["kernel"]["p50_us"], lat["oryx"]["p50_us"], "lower"),
    ("64 B, 1 conn: RTT p99 (us)", lat["kernel"]["p99_us"], lat["oryx"]["p99_us"], "lower"),
    ("64 B, 50 conns: requests/s", rate["kernel"]["rate"], rate["oryx"]["rate"], "higher"),
    ("64 KiB, 1 conn: Mbit/s (both ways)", bulk["kernel"]["mbit_per_s"], bulk["oryx"]["mbit_per_s"], "higher"),
    ("HTTP keep-alive, 50 conns: req/s", http_ka["kernel"]["rate"], http_ka["oryx"]["rate"], "higher"),
    ("HTTP Connection: close: req/s", http_close["kernel"]["rate"], http_close["oryx"]["rate"], "higher"),
], rows)
PY
