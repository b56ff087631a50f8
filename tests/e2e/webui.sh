#!/usr/bin/env bash
# The dashboard in headless Debian chromium (playwright-core) against a
# real oryxd that listens beyond loopback with TLS and a token: a stack on
# an AF_XDP port holding 10,000 connections from a namespace, a sockmap
# service with a live socket pair, an eBPF bridge between two pods, and
# captures. Every panel is compared with oryxctl --json; a capture started
# and stopped from the page is read by tshark; requests without the token
# are refused; broken API answers show as errors. Screenshots of every
# panel land in $WORK/screens (and in $ORYX_SCREENSHOT_DIR if set).
source "$(dirname "$0")/lib.sh"
source "$ORYX_SOURCE/plugins/sockmap/tests/sockmap_lib.sh"
source "$ORYX_SOURCE/plugins/ebpf-bridge/tests/bridge_lib.sh"

[ -d "$ORYX_SOURCE/tests/webui/node_modules/playwright-core" ] || fail "playwright-core missing: run make deps"
CONNECTIONS=${UI_CONNECTIONS:-10000}
PREFIX=e2e-ui-$TAG
remove_pins_at_exit "/sys/fs/bpf/oryx/$PREFIX/mesh"
_BRIDGE_PINS+=("/sys/fs/bpf/oryx/$PREFIX/br")

log "the API's own address (a veth of ours), a certificate and a token"
API_IF=oxh$TAG
ip link add "$API_IF" type veth peer name oxk$TAG
_LINKS+=("$API_IF")
ip addr add 198.18.65.1/24 dev "$API_IF"
ip link set "$API_IF" up
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=oryx-e2e \
  -addext "subjectAltName=IP:198.18.65.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/server.pem"
TOKEN=ui-token-$TAG

log "a namespace on an AF_XDP port, two pods for the bridge, a cgroup for sockmap"
NS=oxw$TAG
make_ns "$NS" "$NS" 198.18.64.1/24
make_pod oxp1$TAG oxq1$TAG 198.18.66.1/24
make_pod oxp2$TAG oxq2$TAG 198.18.66.2/24
make_cgroup MESH "oryx-$PREFIX"
ip link add oxs$TAG type veth peer name oxt$TAG  # the shared port's uplink
_LINKS+=(oxs$TAG)
ip link set oxs$TAG up

CFG=$(write_config ui "
[kernel]
hugepages = false
file_prefix = \"$PREFIX\"
mbufs = 32767
[stage.wire]
type = \"port\"
driver = \"af_xdp\"
iface = \"$NS\"
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"198.18.64.2/24\"
tcp_echo_port = 7
tcp_discard_port = 9
http_port = 80
next = \"wire\"
[service.mesh]
type = \"sockmap\"
cgroups = [\"$MESH\"]
[service.br]
type = \"ebpf_bridge\"
interfaces = [\"oxq1$TAG\", \"oxq2$TAG\"]
[service.share]
type = \"port_share\"
uplink = \"oxs$TAG\"
socket = \"$WORK/share.sock\"
")
sed -i "s|^listen = .*|listen = \"198.18.65.1:0\"\ntls_certificate = \"$WORK/server.pem\"|; s|^token = .*|token = \"$TOKEN\"|" "$CFG"
ORYXD_CACERT=$WORK/cert.pem ORYXD_TOKEN=$TOKEN start_oryxd ui "$CFG"
URL=$ui_URL
CTL=("$ORYXCTL" -u "$URL" -t "$TOKEN" --cacert "$WORK/cert.pem")

log "without the token every API request is refused; the static page is not"
code() { curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/cert.pem" "$@"; }
[ "$(code "$URL/api/v1/status")" = 401 ] || fail "status without a token: not 401"
[ "$(code "$URL/metrics")" = 401 ] || fail "/metrics without a token: not 401"
[ "$(code -H "Authorization: Bearer wrong" "$URL/api/v1/ports")" = 401 ] || fail "a wrong token was accepted"
[ "$(code -H "Authorization: Bearer $TOKEN" "$URL/api/v1/status")" = 200 ] || fail "the token was refused"
[ "$(code "$URL/")" = 200 ] || fail "the dashboard page itself needs no token"
[ "$(code -X POST -H "Authorization: Bearer $TOKEN" "$URL/api/v1/status")" = 405 ] || fail "POST on a read endpoint"
curl -s "http://${URL#https://}/api/v1/status" >/dev/null 2>&1 && fail "plain HTTP answered on the TLS port"
"${CTL[@]:0:5}" status >/dev/null 2>&1 && fail "oryxctl over https without --cacert"

log "traffic: pings into the stack and across the bridge, a sockmap pair, $CONNECTIONS connections"
ip netns exec "$NS" ping -q -i 0.05 -w 240 198.18.64.2 >/dev/null 2>&1 &
_PIDS+=($!)
ip netns exec oxp1$TAG ping -q -i 0.1 -w 240 198.18.66.2 >/dev/null 2>&1 &
_PIDS+=($!)
# A socket pair inside the cgroup trading 1 KiB every 20 ms (sockmap redirects
# it). Python joins the cgroup itself, so $! is its own PID for cleanup.
python3 - "$MESH" 240 <<'PY' &
import os, socket, sys, threading, time
open(sys.argv[1] + "/cgroup.procs", "w").write(str(os.getpid()))
seconds = float(sys.argv[2])
srv = socket.socket()
srv.bind(("127.0.0.1", 0)); srv.listen(1)
cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()
def drain():
    while conn.recv(65536): pass
threading.Thread(target=drain, daemon=True).start()
end = time.time() + seconds
while time.time() < end:
    cli.sendall(b"x" * 1024); time.sleep(0.02)
PY
_PIDS+=($!)
# Connections held open to the stack's discard service until the file goes.
touch "$WORK/hold"
ip netns exec "$NS" python3 - "$CONNECTIONS" "$WORK/hold" <<'PY' &
import os, resource, socket, sys, time
n, hold = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
socks = []
for i in range(n):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("198.18.64.2", 9))
    except BlockingIOError: pass
    socks.append(s)
    if i % 500 == 499: time.sleep(0.05)
end = time.time() + 300
while os.path.exists(hold) and time.time() < end: time.sleep(0.2)
PY
_PIDS+=($!)
wait_until 60 "[ \"\$(\"\${CTL[@]}\" --json connections --state ESTABLISHED --limit 1 | json \"j['matched']\")\" -ge $CONNECTIONS ]" ||
  fail "the stack holds $("${CTL[@]}" --json connections --limit 1 | json "j['by_state']") of $CONNECTIONS connections"
wait_until 10 "[ \"\$(\"\${CTL[@]}\" --json sockmap | json \"len(j['services'][0]['pairs'])\")\" -ge 1 ]" ||
  fail "sockmap tracks no pair"
wait_until 10 "[ \"\$(\"\${CTL[@]}\" --json bridge fdb | json \"len(j['entries'])\")\" -ge 2 ]" || fail "the bridge learned no stations"
# Two processes attach to the shared port (its protocol, spoken by
# Python; run directly so that $! is the attached process): one leaves at
# once and is reclaimed, one stays.
cat >"$WORK/attach.py" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(json.dumps({"name": sys.argv[2], "rules": [sys.argv[3]]}).encode())
assert "interface" in json.loads(s.recv(4096)), "refused"
time.sleep(float(sys.argv[4]))
PY
python3 "$WORK/attach.py" "$WORK/share.sock" ui-gone "udp 6000" 0 || fail "the short-lived process could not attach"
python3 "$WORK/attach.py" "$WORK/share.sock" ui-app "tcp 7000" 240 &
SHARE_APP=$!
_PIDS+=("$SHARE_APP")
wait_until 10 "[ \"\$(\"\${CTL[@]}\" --json share | json \"len(j['shares'][0]['applications'])\")\" -eq 1 ]" ||
  fail "the shared port lists no attached process"

log "the dashboard in chromium"
mkdir -p "$WORK/screens"
cd "$ORYX_SOURCE/tests/webui"
SPKI=$(openssl x509 -in "$WORK/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
       openssl dgst -sha256 -binary | base64)
UI_URL=$URL UI_TOKEN=$TOKEN UI_CACERT=$WORK/cert.pem UI_SPKI=$SPKI UI_ORYXCTL=$ORYXCTL UI_WORK=$WORK \
  UI_CONNECTIONS=$CONNECTIONS UI_BRIDGE_PORTS="oxq1$TAG oxq2$TAG" UI_SHARE_PID=$SHARE_APP \
  node dashboard.mjs || fail "dashboard checks failed"

log "the capture downloaded from the page is a pcapng tshark reads"
[ -s "$WORK/capture.pcapng" ] || fail "no capture was downloaded"
PACKETS=$(tshark -r "$WORK/capture.pcapng" -Y icmp 2>/dev/null | wc -l)
ALL=$(tshark -r "$WORK/capture.pcapng" 2>/dev/null | wc -l)
[ "$PACKETS" -eq 20 ] && [ "$ALL" -eq 20 ] || fail "capture holds $ALL packets, $PACKETS ICMP (expected 20 ICMP)"
[ "$(code -H "Authorization: Bearer $TOKEN" "$URL/api/v1/captures/1/stop")" = 405 ] || fail "GET stopped a capture"
if [ -n "${ORYX_SCREENSHOT_DIR:-}" ]; then cp "$WORK"/screens/*.png "$ORYX_SCREENSHOT_DIR"/; fi

rm -f "$WORK/hold"
stop_oryxd "$ui_PID" || fail "oryxd exit status $?"
log "PASS"
