#!/usr/bin/env bash
# scale_oryx.sh - the stack's echo rate at 100,000 concurrent connections
# against its rate at 100, with the same requests in flight, measured with
# a client that is not the kernel: a second oryxd whose stack runs the load
# generator (keys load_*: no file descriptor per connection, so one process
# holds all 100,000; bench/scale.sh's kernel client saturates its CPU with
# the kernel's own per-socket work at 100,000 and caps the rate it sees).
#
# A veth pair in the root namespace, AF_XDP on both ends (TRANSPORT=memif:
# a memif pair instead, the server oryxd its server): the server oryxd's
# echo service (worker on CPU 1, busy-polling, as in every benchmark) and
# the client oryxd (worker on CPU 0). Connections go half to
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
# TX_RING and port rings of RX_DESC descriptors: at 100,000
# connections every response is acknowledged by a delayed ACK of its own
# (the next request on a connection comes long after), so the server
# receives two frames per request where at 100 it receives one, and a
# receive ring must hold what arrives while its worker is preempted
# (2,048; with 4,096, DPDK 22.11's AF_XDP driver left the kernel without
# fill-ring buffers under bursts: xdp_rx_dropped). memif's rings are
# 8,192: with 2,048 the delayed ACKs' bursts filled them (tx_full) at
# 100,000. Over memif, an oryxd may crash when its peer stops (DPDK
# 22.11's memif driver, plugins/io/README.md): after the measurement,
# so the script carries on.
#
# Usage: bench/scale_oryx.sh [BUILD_DIR]
#   env: ROUNDS=3 SECONDS_EACH=5 CONNECTIONS=100000 IN_FLIGHT=100
#        MBUFS=65535 TX_RING=32768 TRANSPORT=af_xdp|memif
#        RX_DESC=2048 (af_xdp) or 8192 (memif)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECS=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-3}
N=${CONNECTIONS:-100000}
K=${IN_FLIGHT:-100}
MBUFS=${MBUFS:-65535}
TX_RING=${TX_RING:-32768}
TRANSPORT=${TRANSPORT:-af_xdp}
case "$TRANSPORT" in
  af_xdp) RX_DESC=${RX_DESC:-2048} ;;
  memif) RX_DESC=${RX_DESC:-8192} ;;
  *) echo "TRANSPORT is af_xdp or memif, not $TRANSPORT" >&2; exit 2 ;;
esac
SUFFIX=""
[ "$TRANSPORT" = af_xdp ] || SUFFIX=-$TRANSPORT
OUT=${OUT:-$BUILD/bench-scale-oryx$SUFFIX.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
export TRANSPORT  # the summary names it
PEER=""
if [ "$TRANSPORT" = af_xdp ]; then
  veth_pair osa$TAG osb$TAG  # HOSTIF and PEER; lib.sh's cleanup deletes them
fi

# port_tables NAME IFACE ADDRESS: the port and stack tables of oryxd NAME
# (server or client).
port_tables() {
  if [ "$TRANSPORT" = af_xdp ]; then
    HOSTIF=$2 PORT_LINES="rx_desc = $RX_DESC" port_and_stack_tables "$3"
    return
  fi
  cat <<CONF
[stage.wire]
type = "port"
driver = "memif"
role = "$1"
socket = "$WORK/memif.sock"
socket_abstract = false
rx_desc = $RX_DESC
tx_desc = $RX_DESC
next = "ip"
[stage.ip]
type = "stack"
address = "$3/24"
next = "wire"
CONF
}

# oryxd_config NAME IFACE WORKER_CPU MAIN_CPU ADDRESS IPV6 STACK-LINES...
oryxd_config() {
  local name=$1 iface=$2 worker=$3 main=$4 address=$5 ipv6=$6
  shift 6
  oryxd_kernel_tables "$name" 1024 "$main" "$worker" "$WORK/$name.port" "mbufs = $MBUFS"
  port_tables "$name" "$iface" "$address"
  echo "tx_ring = $TX_RING"
  echo "ipv6 = \"$ipv6\""
  printf '%s\n' "$@"
}
stop() {  # stop PID (gone already if memif's peer crashed it)
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" || true
}
wait_for() {  # wait_for SECONDS 'CONDITION'
  for _ in $(seq $(($1 * 5))); do eval "$2" && return 0; sleep 0.2; done
  return 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# snapshot NAME TAG: oryxd NAME's status and statistics now, into
# $WORK/NAME.TAG.{status,stats}; only curl runs at a window's edges, so
# the window's requests and cycles are counted over the same span, and
# nothing else takes the measured workers' CPUs.
snapshot() {
  local api="http://$(cat "$WORK/$1.port")/api/v1"
  curl -sf "$api/status" >"$WORK/$1.$2.status"
  curl -sf "$api/stats" >"$WORK/$1.$2.stats"
}

# window_json N OPEN_S T0 T1: one load's result from the snapshots "0"
# and "1" of both oryxd. The rate is the client's load_requests over the
# window. For each side: the TSC cycles its worker spent per request in
# walks of its graph that received packets (the kernel's busy_cycles;
# walks that only ran timers count as idle) and the share of its cycles
# those walks took (both workers busy-poll, so CPU time says nothing of
# load; a side near 100 % limits the rate). What each side lost in the
# window: TCP retransmission timeouts, and frames its port dropped (an
# AF_XDP receive ring full or without fill-ring buffers, a full transmit
# ring).
window_json() {
  python3 - "$WORK" "$@" <<'PY'
import json, sys
work, n, open_s, t0, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
def load(name, tag, kind): return json.load(open(f"{work}/{name}.{tag}.{kind}"))
def ip(name, tag): return load(name, tag, "stats")["stages"]["ip"]["counters"]
def port_drops(name, tag):
    w = load(name, tag, "stats")["stages"]["wire"]["counters"]
    return w.get("xdp_rx_ring_full", 0) + w.get("xdp_rx_dropped", 0) + w["tx_full"]
requests = ip("client", 1)["load_requests"] - ip("client", 0)["load_requests"]
out = {"connections": n, "rate": round(requests / (t1 - t0), 1)}
for side in ("server", "client"):
    w0, w1 = load(side, 0, "status")["workers"][0], load(side, 1, "status")["workers"][0]
    busy = w1["busy_cycles"] - w0["busy_cycles"]
    idle = w1["idle_cycles"] - w0["idle_cycles"]
    out[side + "_cycles_per_request"] = round(busy / requests)
    out[side + "_busy_share"] = round(busy / (busy + idle), 3)
    out[side + "_losses"] = {"tcp_timeouts": ip(side, 1)["tcp_timeouts"] - ip(side, 0)["tcp_timeouts"],
                             "port_drops": port_drops(side, 1) - port_drops(side, 0)}
out.update(open_s=open_s, lost=ip("client", 1)["load_connections_lost"],
           connect_failures=ip("client", 1)["load_connect_failures"],
           server_accepted=ip("server", 1)["tcp_accepted"])
print(json.dumps(out))
PY
}

# load CONNECTIONS: a fresh client opens them (half to each server
# address), then the rate over SECS; prints one JSON object. Runs in this
# shell (not in $(...)), so that the cleanup knows the client's PID.
load() {
  local n=$1 t0 t1 open_s
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
  t0=$(date +%s.%N)
  snapshot client 0
  snapshot server 0
  sleep "$SECS"
  t1=$(date +%s.%N)
  snapshot client 1
  snapshot server 1
  stop "$client_PID"
  window_json "$n" "$open_s" "$t0" "$t1"
}

ROUND_JSON=()
start_server() {
  rm -f "$WORK/memif.sock"  # left behind by a server that crashed (above)
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
import datetime, json, os, platform, statistics, sys
out, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = [json.loads(r) for r in sys.argv[4:]]
ratios = [r["large"]["rate"] / r["small"]["rate"] for r in rounds]
per_conn = [(r["rss_open_kib"] - r["rss_before_kib"]) * 1024 / n for r in rounds]
transport = os.environ["TRANSPORT"]
print(f"\n{n:,} connections against {k}, {k} requests in flight (64 B echo), Oryx client and server "
      f"over {transport}, {len(rounds)} rounds")
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
    shares = " ".join(f"{r['small'][side + '_busy_share']:.0%}/{r['large'][side + '_busy_share']:.0%}"
                      for r in rounds)
    print(f"{'':28}busy share of its cycles at {k}/{n:,}, each round: {shares}")
print(f"{'server RSS per connection':28}{statistics.median(per_conn):>10,.0f} B")
for i, r in enumerate(rounds, 1):
    big = r['large']
    print(f"  round {i}: at {n:,}, timeouts server {big['server_losses']['tcp_timeouts']} / client "
          f"{big['client_losses']['tcp_timeouts']}, port drops server "
          f"{big['server_losses']['port_drops']} / client {big['client_losses']['port_drops']}; "
          f"opened in {r['small']['open_s']} s and {r['large']['open_s']} s; lost "
          f"{r['small']['lost'] + r['large']['lost']}, connect failures "
          f"{r['small']['connect_failures'] + r['large']['connect_failures']}")
json.dump({"benchmark": "scale-oryx", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "transport": transport, "connections": n, "in_flight": k,
           "large_over_small": statistics.median(ratios), "rounds_ratio": ratios,
           "server_rss_bytes_per_connection": statistics.median(per_conn), "rounds": rounds},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
