#!/usr/bin/env bash
# A per-worker stack (per_worker = true): two workers, one lwIP instance
# each, behind a two-queue port (AF_PACKET's fanout spreads flows over the
# queues by the kernel's own hash, not the stack's, so about half of all
# frames arrive at the worker that does not own their flow). Checks that
# every flow is served by the instance owning it whatever queue it came in
# on: 200 concurrent TCP echo connections (IPv4 and IPv6) byte-exact, UDP
# echo from many ports, HTTP; that both instances hold connections; that
# no connection was reset (an instance answering a flow it does not own
# would reset it); that what one worker steered the other took, nothing
# dropped; and that the load generator's connections, opened from both
# instances with ports chosen to come back to them, all complete.
# (DPDK 22.11's AF_XDP driver takes one queue of a veth only: it counts
# combined channels, which veth does not have.)
# With PORT_MODE=softrss (e2e_stack_per_worker_softrss): a one-queue
# AF_XDP port with soft_rss_queues = 2, a NIC's receive-side scaling done
# in software; the stack owns flows by the same hash, so every TCP and
# UDP frame arrives at its owner and nothing needs steering.
source "$(dirname "$0")/lib.sh"
MODE=${PORT_MODE:-fanout}

NS=opw$TAG
HOSTIF=opw$TAG
ip netns add "$NS"
_NAMESPACES+=("$NS")
if [ "$MODE" = softrss ]; then
  ip link add "$HOSTIF" type veth peer name eth0 netns "$NS"
  PORT_KEYS='driver = "af_xdp"
soft_rss_queues = 2'
else
  ip link add "$HOSTIF" numtxqueues 2 numrxqueues 2 type veth peer name eth0 \
    numtxqueues 2 numrxqueues 2 netns "$NS"
  PORT_KEYS='driver = "af_packet"
rx_queues = 2'
fi
_LINKS+=("$HOSTIF")
sysctl -qw "net.ipv6.conf.$HOSTIF.disable_ipv6=1"
ethtool -K "$HOSTIF" tx off rx off >/dev/null
ip link set "$HOSTIF" up
ip netns exec "$NS" ethtool -K eth0 tx off rx off >/dev/null
ip netns exec "$NS" ip addr add 198.18.111.1/24 dev eth0
ip netns exec "$NS" ip -6 addr add 2001:db8:111::1/64 dev eth0 nodad
ip netns exec "$NS" ip link set eth0 up
ip netns exec "$NS" ip link set lo up

# A kernel echo server in the namespace for the load generator.
ip netns exec "$NS" $PY - "$WORK/echo.ready" <<'PY' &
import asyncio, sys
async def echo(r, w):
    while data := await r.read(65536):
        w.write(data)
        await w.drain()
    w.close()
async def main():
    server = await asyncio.start_server(echo, "198.18.111.1", 7007, backlog=1024)
    open(sys.argv[1], "w").close()
    await server.serve_forever()
asyncio.run(main())
PY
_PIDS+=($!)
wait_until 10 '[ -e "$WORK/echo.ready" ]' || fail "the namespace's echo server did not start"

# config NAME STACK-KEYS: two workers sharing the two CPUs with the control
# thread, a two-queue AF_PACKET port, a per-worker stack.
config() {
  write_config "$1" "
[kernel]
hugepages = false
file_prefix = \"$1$TAG\"
main_lcore = 0
worker_lcores = \"0,1\"
[stage.wire]
type = \"port\"
$PORT_KEYS
iface = \"$HOSTIF\"
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"198.18.111.2/24\"
ipv6 = \"2001:db8:111::2\"
per_worker = true
next = \"wire\"
$2
"
}
C() { api "$pw_URL" /api/v1/stats | json "j['stages']['ip']['counters']['$1']"; }

start_oryxd pw "$(config pw "tcp_echo_port = 7
udp_echo_port = 7
http_port = 80")"
grepq "2 lwIP instances, default-w0 to -w1" "$WORK/pw.log" || fail "the stack did not start one instance per worker"

log "200 TCP echo connections (IPv4 and IPv6) held open at once, byte-exact"
ip netns exec "$NS" timeout 60 $PY - "$WORK" <<'PY' &
import os, socket, sys, time
work = sys.argv[1]
conns = []
for i in range(200):
    host = "198.18.111.2" if i % 2 else "2001:db8:111::2"
    conns.append(socket.create_connection((host, 7), timeout=10))
bad = 0
for i, s in enumerate(conns):
    data = os.urandom(3000 + i)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    bad += got != data
open(f"{work}/held", "w").write(str(bad))
deadline = time.time() + 30
while not os.path.exists(f"{work}/release") and time.time() < deadline:
    time.sleep(0.05)
for s in conns:
    s.close()
PY
CLIENT=$!
_PIDS+=($CLIENT)
wait_until 40 '[ -s "$WORK/held" ]' || fail "the echo client did not finish"
[ "$(cat "$WORK/held")" = 0 ] || fail "$(cat "$WORK/held") echo connections got other bytes back"
api "$pw_URL" "/api/v1/connections?proto=tcp&state=ESTABLISHED&q=:7&limit=1000" >"$WORK/conns.json"
$PY - "$WORK/conns.json" <<'PY' || fail "connection table"
import collections, json, sys
table = json.load(open(sys.argv[1]))
echo = [r for r in table["connections"] if r["local"].endswith(":7")]
per = collections.Counter(r["instance"] for r in echo)
print("echo connections per instance:", dict(per))
assert sum(per.values()) == 200, per
assert set(per) == {"default-w0", "default-w1"} and min(per.values()) >= 40, per
# The endpoint's summary per instance (the dashboard's table) agrees.
established = {name: n["established"] for name, n in table["by_instance"].items()}
assert established == dict(per), (established, per)
PY
touch "$WORK/release"
wait "$CLIENT" || fail "echo client"

log "UDP echo from 100 source ports; HTTP"
ip netns exec "$NS" timeout 30 $PY - <<'PY' || fail "UDP echo"
import os, socket
for i in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    data = os.urandom(100 + i)
    for _ in range(3):
        s.sendto(data, ("198.18.111.2", 7))
        try:
            got = s.recv(4096)
            break
        except socket.timeout:
            continue
    assert got == data, i
    s.close()
PY
for i in $(seq 20); do
  ip netns exec "$NS" curl -sf -o /dev/null "http://198.18.111.2/" || fail "HTTP request $i"
done

out=$(C frames_steered_out) in=$(C frames_steered_in)
if [ "$MODE" = softrss ]; then
  log "counters: the software RSS spread the frames, the stack steered (almost) none"
  W() { api "$pw_URL" /api/v1/stats | json "j['stages']['wire']['counters']['$1']"; }
  [ "$(W soft_rss_spread)" -gt 1000 ] || fail "soft RSS spread only $(W soft_rss_spread) frames"
  [ "$(W soft_rss_ring_full)" -eq 0 ] || fail "soft RSS dropped $(W soft_rss_ring_full) frames"
  # Only copies of ARP replies and neighbour advertisements are steered.
  [ "$out" -lt 20 ] || fail "$out frames steered although RSS put every flow on its owner's queue"
else
  log "counters: steered both ways, nothing dropped or reset"
  [ "$out" -gt 100 ] || fail "only $out frames steered: the queues did not mix the flows"
fi
[ "$(C drop_steer_ring_full)" -eq 0 ] && [ "$(C drop_steer_no_mbuf)" -eq 0 ] || fail "steering dropped frames"
wait_until 5 '[ "$(C frames_steered_in)" -eq "$(C frames_steered_out)" ]' ||
  fail "steered out $(C frames_steered_out), in $(C frames_steered_in)"
[ "$(C tcp_reset)" -eq 0 ] || fail "$(C tcp_reset) connections reset"
stop_oryxd "$pw_PID" || fail "oryxd exit status"

log "load generator: 400 connections from both instances to a kernel echo server"
start_oryxd lg "$(config lg 'load_connections = 400
load_targets = ["198.18.111.1:7007"]
load_in_flight = 8')"
pw_URL=$lg_URL pw_PID=$lg_PID
wait_until 30 '[ "$(C load_connections_open)" -eq 400 ]' ||
  fail "load generator opened $(C load_connections_open) of 400 ($(C load_connect_failures) failures)"
wait_until 10 '[ "$(C load_requests)" -ge 2000 ]' || fail "load generator: $(C load_requests) requests answered"
api "$pw_URL" "/api/v1/connections?proto=tcp&state=ESTABLISHED&limit=1000" >"$WORK/load.json"
$PY - "$WORK/load.json" <<'PY' || fail "load connections per instance"
import collections, json, sys
rows = json.load(open(sys.argv[1]))["connections"]
per = collections.Counter(r["instance"] for r in rows if r["remote"].endswith(":7007"))
print("load connections per instance:", dict(per))
assert per == {"default-w0": 200, "default-w1": 200}, per
PY
[ "$(C load_connect_failures)" -eq 0 ] && [ "$(C load_connections_lost)" -eq 0 ] &&
  [ "$(C tcp_reset)" -eq 0 ] ||
  fail "load generator: $(C load_connect_failures) failures, $(C load_connections_lost) lost, $(C tcp_reset) resets"
if [ "$MODE" = softrss ]; then
  # Its local ports were chosen to come back to their instance: by RSS.
  [ "$(C frames_steered_out)" -lt 20 ] || fail "$(C frames_steered_out) of the load generator's frames steered"
fi
stop_oryxd "$pw_PID" || fail "oryxd exit status"
log "PASS"
