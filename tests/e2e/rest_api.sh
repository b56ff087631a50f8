#!/usr/bin/env bash
# REST API: every endpoint answers JSON; malformed or unauthorised requests
# get 4xx with a JSON error and never crash oryxd; the effective config
# round-trips with the token redacted; log levels change at runtime.
# Also: oryxd restarted itself with glibc's larger per-thread cache
# (malloc_tuning.hpp), keeping the PID it was started with.
source "$(dirname "$0")/lib.sh"

CFG=$(write_config api "
[kernel]
hugepages = false
file_prefix = \"api$TAG\"
burst = 64
[stage.gen]
type = \"port\"
driver = \"null\"
packet_size = 128
next = \"patch\"
[stage.sink]
type = \"port\"
driver = \"ring\"
next = \"patch\"
[stage.patch]
type = \"xconnect\"
next = [\"gen\", \"sink\"]
")
start_oryxd api "$CFG"
U=$api_URL
tr '\0' '\n' <"/proc/$api_PID/environ" | grep -qx "GLIBC_TUNABLES=glibc.malloc.tcache_count=16384" ||
  fail "oryxd (pid $api_PID) runs without glibc.malloc.tcache_count: $(tr '\0' ' ' <"/proc/$api_PID/environ" | grep -o 'GLIBC_TUNABLES=[^ ]*')"
[ "$(curl -sf "$U/api/v1/status" | $PY -c 'import json,sys; print(json.load(sys.stdin)["pid"])')" = "$api_PID" ] ||
  fail "oryxd's status names another PID than the one started"
# An operator's own tunables are kept (ours is added); ORYX_MALLOC_TUNING=0
# leaves glibc as it is. oryxd logs the setting whole (glibc cuts the copy
# /proc/PID/environ shows at each ':').
grep -q "glibc's malloc: GLIBC_TUNABLES=glibc.malloc.tcache_count=16384$" "$WORK/api.log" ||
  fail "oryxd did not log its malloc tuning"
for run in own off; do
  MCFG=$(write_config "malloc_$run" "
[kernel]
hugepages = false
file_prefix = \"mt$run$TAG\"
[stage.p0]
type = \"port\"
driver = \"null\"
")
  if [ $run = own ]; then
    GLIBC_TUNABLES=glibc.malloc.perturb=0 start_oryxd "malloc_$run" "$MCFG"
    want="glibc's malloc: GLIBC_TUNABLES=glibc.malloc.perturb=0:glibc.malloc.tcache_count=16384"
  else
    ORYX_MALLOC_TUNING=0 start_oryxd "malloc_$run" "$MCFG"
    want="glibc's malloc as configured (ORYX_MALLOC_TUNING=0): GLIBC_TUNABLES=(unset)"
  fi
  pid_var="malloc_${run}_PID"
  grep -qF "$want" "$WORK/malloc_$run.log" || fail "oryxd ($run) did not log: $want"
  stop_oryxd "${!pid_var}" || fail "oryxd ($run) exit status $?"
done
TOKEN=test-token-$TAG

# code METHOD PATH [curl args...]: prints the HTTP status code.
code() { local m=$1 p=$2; shift 2; curl -s -o "$WORK/body" -w '%{http_code}' -X "$m" "$@" "$U$p"; }
expect() {  # expect CODE METHOD PATH [args]: status and a JSON body
  local want=$1; shift
  local got
  got=$(code "$@")
  [ "$got" = "$want" ] || fail "$* -> HTTP $got, expected $want: $(cat "$WORK/body")"
  $PY -c "import json; json.load(open('$WORK/body'))" || fail "$* -> body is not JSON"
}

for p in /api/v1 /api/v1/status /api/v1/plugins /api/v1/ports /api/v1/stats /api/v1/config /api/v1/graph /api/v1/log; do
  expect 200 GET "$p"
done
curl -sf "$U/metrics" | grepq '^# TYPE oryx_stage_packets_total counter' || fail "/metrics lacks typed families"
curl -sf "$U/metrics" | grepq '^oryx_up 1' || fail "/metrics lacks oryx_up"

expect 404 GET /api/v1/nonexistent
# Plugins' dashboard panels: a loaded plugin's file, listed in /plugins,
# and nothing else under that prefix.
PANEL=$(curl -sf "$U/api/v1/plugins" | $PY -c "import json,sys; print([p['panel'] for p in json.load(sys.stdin) if p['name'] == 'pdump'][0])")
[ "$PANEL" = /plugin-panels/pdump.js ] || fail "pdump's panel is listed as '$PANEL'"
[ "$(code GET "$PANEL")" = 200 ] && grepq "id: \"captures\"" "$WORK/body" || fail "GET $PANEL: $(head -c 300 "$WORK/body")"
curl -sf -o /dev/null -w '%{content_type}' "$U$PANEL" | grepq "javascript" || fail "$PANEL is not served as JavaScript"
expect 404 GET /plugin-panels/io.js
expect 404 GET /plugin-panels/nope.js
expect 404 GET /plugin-panels/pdump.panel.js
# (CivetWeb resolves the dots first; the dashboard's files answer 404.)
[ "$(code GET "/plugin-panels/..%2f..%2fappliance.toml")" = 404 ] || fail "a path out of /plugin-panels/ was served"
expect 405 POST /api/v1/stats
expect 405 DELETE /api/v1/status
expect 401 POST /api/v1/log -d '{"level":"debug"}'
expect 401 POST /api/v1/log -H "Authorization: Bearer wrong" -d '{"level":"debug"}'
expect 400 POST /api/v1/log -H "Authorization: Bearer $TOKEN" -d '{"level":'
expect 400 POST /api/v1/log -H "Authorization: Bearer $TOKEN" -d '[1,2]'
expect 400 POST /api/v1/log -H "Authorization: Bearer $TOKEN" -d '{"level":"loud"}'
expect 400 POST /api/v1/log -H "Authorization: Bearer $TOKEN" -d '{"logger":7,"level":"info"}'
head -c 100000 /dev/zero | tr '\0' 'x' >"$WORK/big"
expect 413 POST /api/v1/log -H "Authorization: Bearer $TOKEN" --data-binary @"$WORK/big"
# A request line of garbage and a truncated request must not take oryxd down.
printf 'GARBAGE\r\n\r\n' | timeout 3 socat - TCP:"${U#http://}" >/dev/null || true
printf 'GET /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 99' | timeout 3 socat - TCP:"${U#http://}" >/dev/null || true
kill -0 "$api_PID" || fail "oryxd died on malformed requests"

expect 200 POST /api/v1/log -H "Authorization: Bearer $TOKEN" -d '{"logger":"io","level":"debug"}'
LEVEL=$(api "$U" /api/v1/log | json "[l['level'] for l in j['loggers'] if l['logger']=='io.gen'][0]")
[ "$LEVEL" = "debug" ] || fail "io.gen logger at $LEVEL after POST of io"
"$ORYXCTL" -u "$U" -t "$TOKEN" log '*' warn | grepq "now at warn" || fail "oryxctl log"

CONFIG=$(api "$U" /api/v1/config)
echo "$CONFIG" | json "j['http']['token']" | grepq -x "<redacted>" || fail "token not redacted"
echo "$CONFIG" | grepq "$TOKEN" && fail "token leaked in /api/v1/config"
[ "$(echo "$CONFIG" | json "j['kernel']['burst']")" = 64 ] || fail "burst did not round-trip"
[ "$(echo "$CONFIG" | json "j['stage']['gen']['packet_size']")" = 128 ] || fail "stage key did not round-trip"
[ "$(echo "$CONFIG" | json "j['stage']['gen']['rx_queues']")" = 1 ] || fail "default not in effective config"
[ "$(echo "$CONFIG" | json "j['stage']['patch']['next']")" = "['gen', 'sink']" ] || fail "edges did not round-trip"

PLUG=$(api "$U" /api/v1/plugins | json "sorted((p['name'], p['abi'], p['state']) for p in j if p['name'] in ('io', 'xconnect'))")
ABI=$("$ORYXD" --version | sed -n 's/.*plugin ABI \([0-9.]*\)).*/\1/p')  # the in-tree plugins' ABI
[ "$PLUG" = "[('io', '$ABI', 'initialized'), ('xconnect', '$ABI', 'initialized')]" ] || fail "plugins: $PLUG"
GRAPH=$(api "$U" /api/v1/graph | json "sorted((e['from'], e['to']) for e in j['edges'] if e['edge'] > 0)")
[ "$GRAPH" = "[('gen.rx', 'patch'), ('patch', 'gen'), ('patch', 'sink'), ('sink.rx', 'patch')]" ] || fail "graph: $GRAPH"

# Counters seen through REST equal the sum the kernel keeps per worker.
S=$(api "$U" /api/v1/stats)
AB=$(echo "$S" | json "j['stages']['patch']['counters']['a_to_b']")
[ "$AB" -gt 0 ] || fail "no traffic counted"
stop_oryxd "$api_PID" || fail "exit status $?"

# Hostile requests (issue 25): bytes that are not UTF-8 in the path, the
# query, a route's sub-path and a JSON body; unknown logger names; a
# chunked body over the limit; clients that trickle their headers. An
# instance with a stack, so the stack's and pdump's routes answer too.
CFG=$(write_config hostile "
[kernel]
hugepages = false
file_prefix = \"apih$TAG\"
[stage.wire]
type = \"port\"
driver = \"ring\"
next = \"ip\"
[stage.ip]
type = \"stack\"
address = \"198.18.0.2/24\"
next = \"wire\"
")
start_oryxd hostile "$CFG"
U=$hostile_URL
AUTH=(-H "Authorization: Bearer $TOKEN")
expect 404 GET '/api/v1/%ff'
expect 404 GET '/api/v1/%c3%28/x'
expect 400 GET '/api/v1/connections?proto=%ff'
expect 400 GET '/api/v1/connections?sort=%ff'
expect 400 GET '/api/v1/connections?order=%fe%ff'
expect 404 GET '/api/v1/captures/%ff'
expect 404 DELETE '/api/v1/captures/%ff' "${AUTH[@]}"
printf '{"logger":"\xff","level":"info"}' >"$WORK/bad.json"
expect 400 POST /api/v1/log "${AUTH[@]}" --data-binary @"$WORK/bad.json"
printf '{"logger":"io","level":"\xff"}' >"$WORK/bad.json"
expect 400 POST /api/v1/log "${AUTH[@]}" --data-binary @"$WORK/bad.json"
# Every error above was valid JSON (expect parses it); logged bytes too:
expect 200 GET /api/v1/log
expect 404 POST /api/v1/log "${AUTH[@]}" -d '{"logger":"no-such-logger","level":"info"}'
head -c 60000 /dev/zero | tr '\0' 'x' | sed 's/^/{"logger":"/; s/$/","level":"info"}/' >"$WORK/long.json"
expect 404 POST /api/v1/log "${AUTH[@]}" --data-binary @"$WORK/long.json"
api "$U" /api/v1/log | grepq xxxxxxxx && fail "an unknown logger name joined the registry"
# Chunked: no Content-Length, so the size is known only while reading.
expect 413 POST /api/v1/log "${AUTH[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$WORK/big"
kill -0 "$hostile_PID" || fail "oryxd died on hostile requests"

# Slow clients: 8, then 40, each sending a header line every 2 s. The
# API must keep answering (request_timeout_ms cuts them after 2 s).
"$PY" - "${U#http://}" <<'PY' || fail "slow clients starved the API"
import socket, sys, time, urllib.request
host, port = sys.argv[1].rsplit(":", 1)
for n, bound in ((8, 1.0), (40, 5.0)):
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"GET /api/v1/status HTTP/1.1\r\n")
        socks.append(s)
    for rnd in range(3):
        time.sleep(1)
        for s in socks:
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass
        t = time.monotonic()
        urllib.request.urlopen(f"http://{host}:{port}/api/v1/status", timeout=15).read()
        took = time.monotonic() - t
        print(f"{n} slow clients, round {rnd}: /api/v1/status in {took:.2f} s")
        if took > bound:
            sys.exit(f"status took {took:.2f} s with {n} slow clients (bound {bound} s)")
    # Each slow client was cut off: the server closed its end.
    for s in socks:
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        s.close()
PY
stop_oryxd "$hostile_PID" || fail "exit status $?"
log "PASS"
