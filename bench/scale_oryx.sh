#!/usr/bin/env bash
# scale_oryx.sh - the stack's echo rate at 100,000 concurrent connections
# against its rate at 100, with the same requests in flight, measured with
# a client that is not the kernel: a second oryxd whose stack runs the load
# generator (keys load_*: no file descriptor per connection, so one process
# holds all 100,000; bench/scale.sh's kernel client saturates its CPU with
# the kernel's own per-socket work at 100,000 and caps the rate it sees).
#
# A veth pair in the root namespace, AF_XDP on both ends: the server
# oryxd's echo service (worker on CPU 1, busy-polling, as in every
# benchmark) and the client oryxd (worker on CPU 0). Connections go half to
# the server's IPv4 address and half to its IPv6 address (one client
# address has 64,512 ports toward one server address and port). Each set
# runs on a fresh server and client (the client's resets cannot leave once
# its workers stopped, so a server would keep the last set's
# connections); 100,000 open in about 3 s. Once all are open the client
# keeps IN_FLIGHT 64-byte requests outstanding, each next one on the connection
# idle longest, so every connection carries traffic. The rate is the
# client's load_requests over SECONDS_EACH. Median of the rounds' ratios;
# also the server's resident memory per connection, what each side lost
# (timeouts, frames dropped by its receive ring), and the CPU cycles each
# side's worker spent per request in walks that received packets (both
# workers busy-poll, so their CPU time says nothing; these show which
# side's cost grew, and by how much). JSON as every benchmark.
#
# Both runs, and both oryxd, have MBUFS mbufs, a stack transmit ring of
# TX_RING and AF_XDP receive rings of RX_DESC descriptors: at 100,000
# connections every response is acknowledged by a delayed ACK of its own
# (the next request on a connection comes long after), so the server
# receives two frames per request where at 100 it receives one, and a
# receive ring must hold what arrives while its worker is preempted
# (2,048; with 4,096, DPDK 22.11's AF_XDP driver left the kernel without
# fill-ring buffers under bursts: xdp_rx_dropped).
#
# Usage: bench/scale_oryx.sh [BUILD_DIR]
#   env: ROUNDS=3 SECONDS_EACH=5 CONNECTIONS=100000 IN_FLIGHT=100
#        MBUFS=65535 TX_RING=32768 RX_DESC=2048
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECS=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-3}
N=${CONNECTIONS:-100000}
K=${IN_FLIGHT:-100}
MBUFS=${MBUFS:-65535}
TX_RING=${TX_RING:-32768}
RX_DESC=${RX_DESC:-2048}
OUT=${OUT:-$BUILD/bench-scale-oryx.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
veth_pair osa$TAG osb$TAG  # HOSTIF and PEER; lib.sh's cleanup deletes them

# oryxd_config NAME IFACE WORKER_CPU MAIN_CPU ADDRESS IPV6 STACK-LINES...
oryxd_config() {
  local name=$1 iface=$2 worker=$3 main=$4 address=$5 ipv6=$6
  shift 6
  oryxd_kernel_tables "$name" 1024 "$main" "$worker" "$WORK/$name.port" "mbufs = $MBUFS"
  HOSTIF=$iface PORT_LINES="rx_desc = $RX_DESC" port_and_stack_tables "$address"
  echo "tx_ring = $TX_RING"
  echo "ipv6 = \"$ipv6\""
  printf '%s\n' "$@"
}
stop() {  # stop PID
  kill -TERM "$1"
  wait "$1" || true
}
wait_for() {  # wait_for SECONDS 'CONDITION'
  for _ in $(seq $(($1 * 5))); do eval "$2" && return 0; sleep 0.2; done
  return 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# losses NAME: what the instance lost so far, as JSON: its TCP
# retransmission timeouts and retransmitted segments, and the frames its
# AF_XDP receive ring dropped (full, or no fill-ring buffer). Both workers
# busy-poll, so CPU time says nothing of load; losses say why a rate fell.
losses() {
  curl -sf "http://$(cat "$WORK/$1.port")/api/v1/stats" | python3 -c "
import json, sys
s = json.load(sys.stdin)['stages']
ip, wire = s['ip']['counters'], s['wire']['counters']
print(json.dumps({'tcp_timeouts': ip['tcp_timeouts'], 'tcp_retransmits': ip['tcp_retransmits'],
                  'rx_ring_drops': wire.get('xdp_rx_ring_full', 0) + wire.get('xdp_rx_dropped', 0)}))"
}

# busy_cycles NAME: the TSC cycles oryxd NAME's worker spent in walks of
# its graph that received packets (the kernel's busy_cycles; walks that
# only ran timers count as idle). Per request, it is what a side's CPU
# paid for the rate, whichever side limited it.
busy_cycles() {
  curl -sf "http://$(cat "$WORK/$1.port")/api/v1/status" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['workers'][0]['busy_cycles'])"
}

# load CONNECTIONS: a fresh client opens them (half to each server
# address), then the rate over SECS; prints one JSON object. Runs in this
# shell (not in $(...)), so that the cleanup knows the client's PID.
load() {
  local n=$1 t0 t1 r0 r1 open_s
  local started=$(date +%s.%N)
  oryxd_start client "$(oryxd_config client "$PEER" 0 1 198.18.78.1 fd00:78::1 \
    "load_connections = $n" "load_targets = [\"198.18.78.2:7\", \"[fd00:78::2]:7\"]" \
    "load_in_flight = $K" "load_size = 64")"
  wait_for $((30 + n / 400)) '[ "$(stack_counter client load_connections_open)" -eq "$n" ]' || {
    echo "the client opened $(stack_counter client load_connections_open) of $n connections" \
      "($(stack_counter client load_connect_failures) failures)" >&2
    exit 1
  }
  open_s=$(python3 -c "import time; print(round(time.time() - $started, 1))")
  rss_kib "$server_PID" >"$WORK/rss.open"
  sleep 1  # the first requests are under way
  local s0=$(busy_cycles server) c0=$(busy_cycles client)
  t0=$(date +%s.%N) r0=$(stack_counter client load_requests)
  sleep "$SECS"
  t1=$(date +%s.%N) r1=$(stack_counter client load_requests)
  local s1=$(busy_cycles server) c1=$(busy_cycles client)
  local server_losses=$(losses server) client_losses=$(losses client)
  local lost=$(stack_counter client load_connections_lost) failed=$(stack_counter client load_connect_failures)
  local accepted=$(stack_counter server tcp_accepted)
  stop "$client_PID"
  python3 -c "import json; print(json.dumps({'connections': $n, 'rate': round(($r1 - $r0) / ($t1 - $t0), 1),
    'server_cycles_per_request': round(($s1 - $s0) / ($r1 - $r0)),
    'client_cycles_per_request': round(($c1 - $c0) / ($r1 - $r0)),
    'open_s': $open_s, 'lost': $lost, 'connect_failures': $failed, 'server_accepted': $accepted,
    'server_losses': $server_losses, 'client_losses': $client_losses}))"
}

ROUND_JSON=()
start_server() {
  oryxd_start server "$(oryxd_config server "$HOSTIF" 1 0 198.18.78.2 fd00:78::2 "tcp_echo_port = 7")"
}
for r in $(seq "$ROUNDS"); do
  progress "round $r of $ROUNDS: $K connections"
  start_server
  load "$K" >"$WORK/small.json"
  SMALL=$(cat "$WORK/small.json")
  stop "$server_PID"
  progress "  $SMALL"
  progress "round $r: $N connections"
  start_server
  BEFORE=$(rss_kib "$server_PID")
  load "$N" >"$WORK/large.json"
  LARGE=$(cat "$WORK/large.json")
  stop "$server_PID"
  progress "  $LARGE (server RSS $BEFORE -> $(cat "$WORK/rss.open") KiB)"
  ROUND_JSON+=("{\"small\":$SMALL,\"large\":$LARGE,\"rss_before_kib\":$BEFORE,\"rss_open_kib\":$(cat "$WORK/rss.open")}")
done

python3 - "$OUT" "$N" "$K" "${ROUND_JSON[@]}" <<'PY'
import datetime, json, platform, statistics, sys
out, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = [json.loads(r) for r in sys.argv[4:]]
ratios = [r["large"]["rate"] / r["small"]["rate"] for r in rounds]
per_conn = [(r["rss_open_kib"] - r["rss_before_kib"]) * 1024 / n for r in rounds]
print(f"\n{n:,} connections against {k}, {k} requests in flight (64 B echo), Oryx client and server, "
      f"{len(rounds)} rounds")
print(f"{'req/s, %d conns' % k:28}{statistics.median(r['small']['rate'] for r in rounds):>12,.0f}")
print(f"{'req/s, %d conns' % n:28}{statistics.median(r['large']['rate'] for r in rounds):>12,.0f}")
print(f"{'large/small (median)':28}{statistics.median(ratios):>12.2f}   rounds: "
      + " ".join(f"{x:.2f}" for x in ratios))
for side in ("server", "client"):
    key = side + "_cycles_per_request"
    small = statistics.median(r["small"][key] for r in rounds)
    large = statistics.median(r["large"][key] for r in rounds)
    print(f"{side + ' cycles per request':28}{small:>12,.0f} at {k}, {large:,.0f} at {n:,}: "
          f"{small / large:.2f} as many requests per cycle")
print(f"{'server RSS per connection':28}{statistics.median(per_conn):>10,.0f} B")
for i, r in enumerate(rounds, 1):
    big = r['large']
    print(f"  round {i}: at {n:,}, timeouts server {big['server_losses']['tcp_timeouts']} / client "
          f"{big['client_losses']['tcp_timeouts']}, receive-ring drops server "
          f"{big['server_losses']['rx_ring_drops']} / client {big['client_losses']['rx_ring_drops']}; "
          f"opened in {r['small']['open_s']} s and {r['large']['open_s']} s; lost "
          f"{r['small']['lost'] + r['large']['lost']}, connect failures "
          f"{r['small']['connect_failures'] + r['large']['connect_failures']}")
json.dump({"benchmark": "scale-oryx", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "connections": n, "in_flight": k,
           "large_over_small": statistics.median(ratios), "rounds_ratio": ratios,
           "server_rss_bytes_per_connection": statistics.median(per_conn), "rounds": rounds},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
