#!/usr/bin/env bash
# scale.sh - the stack's echo rate at 100,000 concurrent connections
# against its rate at 100, with the same number of requests in flight.
#
# A client namespace (CPU 0) runs bench/loadgen: N connections to the echo
# service with IN_FLIGHT 64-byte requests outstanding, each new one on the
# next idle connection in turn, so every connection carries traffic.
# Small: N = IN_FLIGHT (100); large: N = CONNECTIONS (100,000), from three
# client addresses (one address has ~64,000 ports toward one server port).
# The client is PROCS (10) processes, each with N/PROCS connections and
# IN_FLIGHT/PROCS requests in flight, lined up to start sending together
# (a process may hold only `ulimit -Hn` descriptors, here 20,000, and
# raising that needs CAP_SYS_RESOURCE). Oryx: the stack's echo service on
# an AF_XDP port (worker on CPU 1, busy-polling, as bench/stack.sh); the
# kernel, for comparison: PROCS loadgen --server processes sharing the
# port (SO_REUSEPORT) on CPU 1. Reports per round the large/small rate
# ratio on both, each CPU's load, Oryx's resident memory per connection
# (oryxd's RSS with the large set open, less before it), and what the
# clients' closing resets left (every connection left must have a counted
# drop behind it). Median of the rounds' ratios. Then 1,000,000 short
# connections (CYCLES, below). JSON as every benchmark.
#
# Usage: bench/scale.sh [BUILD_DIR]
#   env: ROUNDS=3 SECONDS_EACH=5 CONNECTIONS=100000 IN_FLIGHT=100 PROCS=10
#        CYCLES=1000000
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECS=${SECONDS_EACH:-5}
[ "$SECS" -ge 3 ] || { echo "SECONDS_EACH must be 3 or more" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
N=${CONNECTIONS:-100000}
K=${IN_FLIGHT:-100}
PROCS=${PROCS:-10}
[ $((N % PROCS)) -eq 0 ] && [ $((K % PROCS)) -eq 0 ] ||
  { echo "CONNECTIONS and IN_FLIGHT must be multiples of PROCS" >&2; exit 2; }
OUT=${OUT:-$BUILD/bench-scale.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
bench_topology osc$TAG osk$TAG oso$TAG 198.18.74 198.18.75

# Client sources .1, .11, .12 on each side, every local port.
for a in 11 12; do
  ip netns exec "$CLI" ip addr add "198.18.74.$a/24" dev eth0
  ip netns exec "$CLI" ip addr add "198.18.75.$a/24" dev eth1
done
ip netns exec "$CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
ip netns exec "$KRN" sysctl -qw net.core.somaxconn=65535

# start_oryx ROUND: a fresh oryxd for each round (a reset lost in the
# teardown burst leaves its connection open; see below).
start_oryx() {
  rm -f "$WORK/oryx.port"
  oryxd_tables "bench-scale-$1" 512 198.18.74.2 "tcp_echo_port = 7" "http_port = 80" \
    >"$WORK/oryx.toml"
  "$BUILD/kernel/oryxd" -c "$WORK/oryx.toml" >"$WORK/oryx.log" 2>&1 &
  ORYXD=$!
  PIDS+=($ORYXD)
  for _ in $(seq 100); do [ -s "$WORK/oryx.port" ] && break; sleep 0.1; done
  [ -s "$WORK/oryx.port" ] || { cat "$WORK/oryx.log"; exit 1; }
}
stop_oryx() {
  kill -TERM "$ORYXD"
  wait "$ORYXD" || true
}
for _ in $(seq "$PROCS"); do
  ip netns exec "$KRN" taskset -c 1 "$BUILD/bench/loadgen" --server 7 &
  PIDS+=($!)
done
ip netns exec "$CLI" ping -c 2 -W 2 198.18.75.2 >/dev/null

counter() {  # counter NAME [STAGE]: a counter of the stack stage (or of STAGE)
  curl -sf "http://$(cat "$WORK/oryx.port")/api/v1/stats" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['stages']['${2:-ip}']['counters']['$1'])"
}
stats() {
  curl -sf "http://$(cat "$WORK/oryx.port")/api/v1/stats"
  curl -sf "http://$(cat "$WORK/oryx.port")/api/v1/ports"
  ethtool -S "$HOSTIF"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$ORYXD/status"; }
# wait_for SECONDS 'CONDITION': polls every 0.2 s; false if it never held.
wait_for() {
  for _ in $(seq $(($1 * 5))); do eval "$2" && return 0; sleep 0.2; done
  return 1
}

# load NET CONNECTIONS [HOOK]: PROCS loadgen processes on CPU 0 open
# CONNECTIONS in all; once all are open, HOOK runs (a command), then they
# send together. Prints one JSON line: their rates summed, their p50s'
# median, the slowest opening, and how busy each CPU was in the middle of
# the run (/proc/stat: which side is the limit).
load() {
  local pids=() i
  rm -f "$WORK"/ready.* "$WORK/go"
  for i in $(seq "$PROCS"); do
    ip netns exec "$CLI" taskset -c 0 "$BUILD/bench/loadgen" --connect "$1.2:7" \
      --connections $(($2 / PROCS)) --in-flight $((K / PROCS)) --size 64 --seconds "$SECS" \
      --sources "$1.1,$1.11,$1.12" --reset --ready "$WORK/ready.$i" --go "$WORK/go" --json \
      >"$WORK/load.$i.json" &
    pids+=($!)
  done
  wait_for $((60 + $2 / 1000)) '[ "$(ls "$WORK" | grep -c "^ready\.")" -eq "$PROCS" ]' ||
    { echo "the clients did not open $2 connections" >&2; kill "${pids[@]}" 2>/dev/null; exit 1; }
  ${3:-true}
  touch "$WORK/go"
  sleep 1
  grep -E "^cpu[01] " /proc/stat >"$WORK/cpu.before"
  sleep $((SECS - 2))
  grep -E "^cpu[01] " /proc/stat >"$WORK/cpu.after"
  for i in "${pids[@]}"; do wait "$i"; done
  cat "$WORK"/load.*.json | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
def cpu(path): return {l.split()[0]: [int(x) for x in l.split()[1:]] for l in open(path)}
a, b = cpu(sys.argv[1]), cpu(sys.argv[2])
use = {}
for c in ("cpu0", "cpu1"):
    d = [y - x for x, y in zip(a[c], b[c])]
    use[c + "_busy"] = round(1 - (d[3] + d[4]) / sum(d), 3)  # all but idle and iowait
    use[c + "_softirq"] = round(d[6] / sum(d), 3)
print(json.dumps({"connections": sum(r["connections"] for r in rows), "rate": sum(r["rate"] for r in rows),
                  "p50_us": statistics.median(r["p50_us"] for r in rows),
                  "connect_s": max(r["connect_s"] for r in rows), **use}))' "$WORK/cpu.before" "$WORK/cpu.after"
}
# Oryx's resident memory with the large set open (load's hook).
note_rss() {
  # A handshake's last ACK lost in a burst completes with the SYN-ACK's
  # retransmission.
  wait_for 30 '[ "$(counter tcp_connections)" -ge "$N" ]' ||
    { echo "only $(counter tcp_connections) of $N connections open" >&2; stats >&2; exit 1; }
  rss_kib >"$WORK/rss"
}

ROUND_JSON=()
for r in $(seq "$ROUNDS"); do
  progress "round $r of $ROUNDS: kernel, $K then $N connections"
  KS=$(load 198.18.75 "$K")
  KL=$(load 198.18.75 "$N")
  progress "round $r: oryx, $K then $N connections"
  start_oryx "$r"
  ip netns exec "$CLI" ping -c 2 -W 2 198.18.74.2 >/dev/null
  OS=$(load 198.18.74 "$K")
  wait_for 30 '[ "$(counter tcp_connections)" -eq 0 ]' || { echo "connections left after the small set" >&2; exit 1; }
  BEFORE=$(rss_kib)
  OL=$(load 198.18.74 "$N" note_rss)
  DURING=$(cat "$WORK/rss")
  # The clients end with 100,000 resets in a burst. A reset the port's
  # receive ring had no room for leaves its connection open (as on any
  # host: nothing is sent on it again to learn otherwise), but each such
  # loss must have been counted by the port.
  wait_for 10 '[ "$(counter tcp_connections)" -eq 0 ]' || true
  LEFT=$(counter tcp_connections)
  LOST=$(($(counter xdp_rx_ring_full wire) + $(counter xdp_rx_dropped wire)))
  [ "$LEFT" -le "$LOST" ] || { echo "$LEFT connections left, only $LOST frames counted lost" >&2; stats >&2; exit 1; }
  HELD=$(counter mbufs_held)
  stop_oryx
  progress "  kernel: $KS"
  progress "          $KL"
  progress "  oryx:   $OS"
  progress "          $OL (RSS $BEFORE -> $DURING KiB; after: $LEFT connections left, $LOST frames lost and counted, $HELD mbufs held)"
  ROUND_JSON+=("{\"kernel\":{\"small\":$KS,\"large\":$KL},\"oryx\":{\"small\":$OS,\"large\":$OL,\"rss_before_kib\":$BEFORE,\"rss_open_kib\":$DURING,\"left_after_reset\":$LEFT,\"counted_lost\":$LOST,\"mbufs_held_after\":$HELD}}")
done

# Churn: CYCLES connect/request/close cycles against the stack's HTTP
# service (wrk, 50 connections, "Connection: close": the stack closes
# first, so each leaves a TIME_WAIT entry, capped by time_wait_max). After
# them no connection, socket or mbuf may be left, TIME_WAIT must be within
# its cap, and resident memory must not have grown after the first 10 s
# (by then TIME_WAIT holds as many as it will: the client reuses its
# ports, and a SYN for a 4-tuple in TIME_WAIT retires the entry).
CYCLES=${CYCLES:-1000000}
progress "churn: $CYCLES connect/request/close cycles (wrk, 50 connections, Connection: close)"
start_oryx churn
ip netns exec "$CLI" ping -c 2 -W 2 198.18.74.2 >/dev/null
wrk_close() {  # wrk_close SECONDS -> requests completed
  ip netns exec "$CLI" taskset -c 0 wrk -t1 -c50 -d"$1s" -H "Connection: close" http://198.18.74.2/ |
    awk '/requests in/ {print $1}'
}
DONE=$(wrk_close 10)
FIRST=$DONE
RSS_WARM=$(rss_kib)
for _ in $(seq 10); do
  [ "$DONE" -lt "$CYCLES" ] || break
  MORE=$(wrk_close $(((CYCLES - DONE) * 11 / FIRST + 1)))  # at the first 10 s's rate, +10 %
  DONE=$((DONE + MORE))
  progress "  $DONE cycles"
done
wait_for 10 '[ "$(counter tcp_active)" -eq 0 ]' || true
CHURN=$(curl -sf "http://$(cat "$WORK/oryx.port")/api/v1/stats" | python3 -c "
import json, sys
c = json.load(sys.stdin)['stages']['ip']['counters']
print(json.dumps({k: c[k] for k in ('tcp_accepted', 'tcp_connections', 'tcp_active', 'tcp_time_wait',
                                    'tcp_time_wait_recycled', 'sockets', 'mbufs_held')}))")
RSS_END=$(rss_kib)
stop_oryx
progress "  $DONE cycles; RSS after 10 s $RSS_WARM KiB, at the end $RSS_END KiB; $CHURN"
CHURN_JSON="{\"cycles\":$DONE,\"rss_warm_kib\":$RSS_WARM,\"rss_end_kib\":$RSS_END,\"counters\":$CHURN}"

python3 - "$OUT" "$N" "$K" "$CHURN_JSON" "${ROUND_JSON[@]}" <<'PY'
import datetime, json, platform, statistics, sys
out, n, k, churn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
rounds = [json.loads(r) for r in sys.argv[5:]]
def ratio(side, r): return r[side]["large"]["rate"] / r[side]["small"]["rate"]
o_ratios = [ratio("oryx", r) for r in rounds]
k_ratios = [ratio("kernel", r) for r in rounds]
per_conn = [(r["oryx"]["rss_open_kib"] - r["oryx"]["rss_before_kib"]) * 1024 / n for r in rounds]
print(f"\n{n:,} connections against {k} with {k} requests in flight (64 B echo), {len(rounds)} rounds")
print(f"{'':28}{'kernel':>12}{'oryx':>12}")
for name, side, size in (("req/s, %d conns" % k, None, "small"), ("req/s, %d conns" % n, None, "large")):
    kv = statistics.median(r["kernel"][size]["rate"] for r in rounds)
    ov = statistics.median(r["oryx"][size]["rate"] for r in rounds)
    print(f"{name:28}{kv:>12,.0f}{ov:>12,.0f}")
print(f"{'large/small (median)':28}{statistics.median(k_ratios):>12.2f}{statistics.median(o_ratios):>12.2f}"
      f"   rounds: oryx {' '.join(f'{x:.2f}' for x in o_ratios)}, kernel {' '.join(f'{x:.2f}' for x in k_ratios)}")
print(f"{'oryx RSS per connection':28}{'':>12}{statistics.median(per_conn):>10,.0f} B")
print("CPU busy (client CPU 0 / server CPU 1, of which softirq), per round:")
for i, r in enumerate(rounds, 1):
    for side in ("kernel", "oryx"):
        print(f"  round {i} {side:6} " + ", ".join(
            f"{size} {r[side][size]['cpu0_busy']:.0%} / {r[side][size]['cpu1_busy']:.0%}"
            f" ({r[side][size]['cpu1_softirq']:.0%})" for size in ("small", "large")))

c = churn["counters"]
growth = (churn["rss_end_kib"] - churn["rss_warm_kib"]) / 1024
print(f"\nchurn: {churn['cycles']:,} connect/request/close cycles; afterwards {c['tcp_connections']} "
      f"connections, {c['tcp_active']} active pcbs, {c['sockets']} sockets, {c['mbufs_held']} mbufs held, "
      f"{c['tcp_time_wait']:,} in TIME_WAIT ({c['tcp_time_wait_recycled']:,} closed past the cap); "
      f"RSS grew {growth:.1f} MiB after the first 10 s")
failures = [what for what, bad in (
    ("connections left", c["tcp_connections"] or c["tcp_active"] or c["sockets"]),
    ("mbufs held", c["mbufs_held"]),
    ("TIME_WAIT over its cap", c["tcp_time_wait"] > 131072),
    ("memory grew more than 16 MiB", growth > 16)) if bad]
json.dump({"benchmark": "scale", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "connections": n, "in_flight": k,
           "oryx_large_over_small": statistics.median(o_ratios), "oryx_rounds": o_ratios,
           "kernel_large_over_small": statistics.median(k_ratios), "kernel_rounds": k_ratios,
           "oryx_rss_bytes_per_connection": statistics.median(per_conn), "rounds": rounds,
           "churn": churn, "churn_failures": failures},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
if failures:
    sys.exit("churn left something behind: " + ", ".join(failures))
PY
