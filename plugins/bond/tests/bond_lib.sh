# SPDX-License-Identifier: Apache-2.0
# bond_lib.sh - sourced by the bond tests after tests/e2e/lib.sh, with
# BOND_URL set to the oryxd whose stage "bond0" they watch.
#   details EXPR      the bond's /api/v1/ports "details", indexed by EXPR
#   S COUNTER         one of the bond's counters
#   start_traffic IP  a 6 MiB TCP echo stream (1 MiB/s) and a 140-ping train
#                     (every 50 ms) from namespace $NS to IP, in the background
#   check_traffic     waits for both: the stream byte-exact, ping loss below
#                     20% (sets LOSS)
details() { api "$BOND_URL" /api/v1/ports | json "[p['details'] for p in j if p['name'] == 'bond0'][0]$1"; }
S() { api "$BOND_URL" /api/v1/stats | json "j['stages']['bond0']['counters']['$1']"; }

start_traffic() {
  ip netns exec "$NS" $PY "$ORYX_SOURCE/tests/e2e/echo_check.py" --host "$1" \
    --mib 6 --rate 1 >"$WORK/stream.out" 2>&1 &
  STREAM=$!
  _PIDS+=("$STREAM")
  ip netns exec "$NS" ping -i 0.05 -c 140 -W 1 "$1" >"$WORK/ping.out" 2>&1 &
  PING=$!
  _PIDS+=("$PING")
}

check_traffic() {
  wait "$STREAM" || fail "echo stream: $(cat "$WORK/stream.out")"
  grep -q "^ok 6291456" "$WORK/stream.out" || fail "echo stream: $(cat "$WORK/stream.out")"
  wait "$PING" || true
  LOSS=$(grep -o '[0-9.]*% packet loss' "$WORK/ping.out" | cut -d% -f1)
  awk -v l="$LOSS" 'BEGIN { exit !(l < 20) }' || fail "ping loss $LOSS% (more than 20%)"
}
