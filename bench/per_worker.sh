#!/usr/bin/env bash
# per_worker.sh - the echo service with one stack against two (a stack
# stage with per_worker on two workers, one lwIP instance each), with the
# same client: a second oryxd whose load generator keeps IN_FLIGHT 64-byte
# requests outstanding over CONNECTIONS connections (bench/scale_oryx.sh's
# client).
#
# A veth pair in the root namespace. The server's port (SERVER_PORT):
#   softrss    AF_XDP on the veth's one queue; with two stacks
#              soft_rss_queues = 2 spreads flows over the workers as a NIC's
#              RSS would, by the hash the stack owns flows by: nothing is
#              steered between the stacks (the default);
#   af_packet  AF_PACKET with one or two queues (DPDK 22.11's AF_XDP driver
#              opens one queue of a veth only; AF_PACKET's fanout spreads
#              flows over its sockets by the kernel's hash, and the stack
#              steers what arrives at the worker that does not own it).
# The client's port is AF_XDP, on the veth's one queue. This machine has
# two CPUs, so the client shares them:
#   one stack:  server worker on CPU 1, client worker on CPU 0;
#   two stacks: server workers on CPUs 0 and 1, client worker on CPU 0.
# Every worker idles adaptively (sleeps when it finds nothing), so CPUs
# are shared by need. Reported per round: requests per second, and the
# CPU time the server and the client used per second and per request (from
# /proc/PID/stat), so what the client took from the server is visible.
# Median of the rounds' ratios; JSON as every benchmark.
#
# Usage: bench/per_worker.sh [BUILD_DIR]
#   env: ROUNDS=3 SECONDS_EACH=5 CONNECTIONS=1000 IN_FLIGHT=200 SERVER_PORT=softrss
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SECS=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-3}
N=${CONNECTIONS:-1000}
K=${IN_FLIGHT:-200}
OUT=${OUT:-$BUILD/bench-per-worker.json}
TAG=$(printf '%04x' $((RANDOM % 65536)))
source "$(dirname "$0")/lib.sh"
veth_pair opa$TAG opb$TAG  # HOSTIF and PEER; lib.sh's cleanup deletes them

# kernel_tables NAME MAIN WORKERS: lib.sh's, with workers that sleep when idle.
kernel_tables() { ORYXD_IDLE=adaptive oryxd_kernel_tables "$1" 512 "$2" "$3" "$WORK/$1.port"; }
server_config() {  # server_config STACKS
  local workers=1 queues=1 per_worker=false
  if [ "$1" = 2 ]; then workers=0,1 queues=2 per_worker=true; fi
  local port="driver = \"af_packet\"
rx_queues = $queues"
  if [ "${SERVER_PORT:-softrss}" = softrss ]; then
    port="driver = \"af_xdp\""
    [ "$queues" = 1 ] || port+="
soft_rss_queues = $queues"
  fi
  kernel_tables server 0 "$workers"
  cat <<CONF
[stage.wire]
type = "port"
$port
iface = "$HOSTIF"
next = "ip"
[stage.ip]
type = "stack"
address = "198.18.112.2/24"
per_worker = $per_worker
tcp_echo_port = 7
next = "wire"
CONF
}
client_config() {
  kernel_tables client 1 0
  cat <<CONF
[stage.wire]
type = "port"
driver = "af_xdp"
iface = "$PEER"
next = "ip"
[stage.ip]
type = "stack"
address = "198.18.112.1/24"
load_connections = $N
load_targets = ["198.18.112.2:7"]
load_in_flight = $K
load_size = 64
next = "wire"
CONF
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks

# run STACKS: a fresh server and client; writes one JSON object to
# $WORK/run.json. Runs in this shell (not in $(...)), so that the cleanup
# knows both oryxd's PIDs if it fails.
run() {
  oryxd_start server "$(server_config "$1")"
  oryxd_start client "$(client_config)"
  for _ in $(seq 150); do
    [ "$(stack_counter client load_connections_open)" -eq "$N" ] && break
    sleep 0.2
  done
  [ "$(stack_counter client load_connections_open)" -eq "$N" ] || {
    echo "the client opened $(stack_counter client load_connections_open) of $N connections" >&2
    exit 1
  }
  sleep 1  # the first requests are under way
  local t0 t1 r0 r1 s0 s1 c0 c1
  t0=$(date +%s.%N) r0=$(stack_counter client load_requests)
  s0=$(cpu_ticks "$server_PID") c0=$(cpu_ticks "$client_PID")
  sleep "$SECS"
  t1=$(date +%s.%N) r1=$(stack_counter client load_requests)
  s1=$(cpu_ticks "$server_PID") c1=$(cpu_ticks "$client_PID")
  local steered lost
  steered=$(stack_counter server frames_steered_out) lost=$(stack_counter client load_connections_lost)
  for p in "$client_PID" "$server_PID"; do kill -TERM "$p"; wait "$p" || true; done
  PIDS=()
  python3 - "$1" "$t0" "$t1" "$r0" "$r1" "$s0" "$s1" "$c0" "$c1" "$steered" "$lost" "$(getconf CLK_TCK)" \
    >"$WORK/run.json" <<'PY'
import json, sys
stacks, t0, t1, r0, r1, s0, s1, c0, c1, steered, lost, hz = sys.argv[1:]
secs = float(t1) - float(t0)
requests = int(r1) - int(r0)
server_cpu = (int(s1) - int(s0)) / int(hz) / secs
client_cpu = (int(c1) - int(c0)) / int(hz) / secs
rate = requests / secs
print(json.dumps({"stacks": int(stacks), "rate": round(rate, 1),
                  "server_cpus": round(server_cpu, 2), "client_cpus": round(client_cpu, 2),
                  "server_us_per_request": round(server_cpu * 1e6 / rate, 2) if rate else None,
                  "client_us_per_request": round(client_cpu * 1e6 / rate, 2) if rate else None,
                  "frames_steered": int(steered), "connections_lost": int(lost)}))
PY
}

ROUND_JSON=()
for r in $(seq "$ROUNDS"); do
  progress "round $r of $ROUNDS: one stack"
  run 1
  ONE=$(cat "$WORK/run.json")
  progress "  $ONE"
  progress "round $r: two stacks (per_worker)"
  run 2
  TWO=$(cat "$WORK/run.json")
  progress "  $TWO"
  ROUND_JSON+=("{\"one\":$ONE,\"two\":$TWO}")
done

python3 - "$OUT" "$N" "$K" "${ROUND_JSON[@]}" <<'PY'
import datetime, json, platform, statistics, sys
out, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = [json.loads(r) for r in sys.argv[4:]]
ratios = [r["two"]["rate"] / r["one"]["rate"] for r in rounds]
med = lambda side, key: statistics.median(r[side][key] for r in rounds)
print(f"\necho, {n} connections, {k} requests in flight (64 B), Oryx client sharing the 2 CPUs, "
      f"{len(rounds)} rounds")
print(f"{'':26}{'one stack':>12}{'two stacks':>12}")
for key, label in (("rate", "req/s"), ("server_cpus", "server CPUs busy"), ("client_cpus", "client CPUs busy"),
                   ("server_us_per_request", "server CPU us/request"),
                   ("client_us_per_request", "client CPU us/request")):
    print(f"{label:26}{med('one', key):>12,.2f}{med('two', key):>12,.2f}")
print(f"{'two/one (median)':26}{statistics.median(ratios):>12.2f}   rounds: "
      + " ".join(f"{x:.2f}" for x in ratios))
json.dump({"benchmark": "per-worker", "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "host": platform.node(), "connections": n, "in_flight": k,
           "two_over_one": statistics.median(ratios), "rounds_ratio": ratios, "rounds": rounds},
          open(out, "w"), indent=2)
print(f"\nwritten to {out}")
PY
