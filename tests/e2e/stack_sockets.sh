#!/usr/bin/env bash
# The stack's socket layer (oryx/socket_api.h) from a program that embeds
# the kernel, as the preload library will: TCP and UDP as client and
# server, IPv4, IPv6 and dual-stack, errors, options, readiness and
# callbacks, many threads; against Linux sockets in a namespace
# (plugins/stack/tests/peer.py). Runs the suite once per threading model:
# separate thread (calls handed to the stack's worker) and run to
# completion (the calling thread runs the stack code of its calls).
#
# Knobs for debugging: SOCKET_MODELS="separate|rtc ...", SOCKET_TESTS (a
# Catch2 test spec, e.g. "[udp]"), SOCKET_TIMEOUT (seconds per model),
# PEER_PCAP=FILE (capture the namespace's side).
source "$(dirname "$0")/lib.sh"

NET=198.18.91
NS=oxk$TAG
make_ns "$NS" "$NS" "$NET.1/24"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
ip netns exec "$NS" sysctl -qw net.ipv6.conf.lo.disable_ipv6=0
ip netns exec "$NS" ip -6 addr add 2001:db8:91::1/64 dev eth0 nodad
mkdir -p "$WORK/records"
[ -n "${PEER_PCAP:-}" ] && { ip netns exec "$NS" tcpdump -i eth0 -n -w "$PEER_PCAP" >/dev/null 2>&1 & _PIDS+=($!); }
ip netns exec "$NS" $PY "$ORYX_SOURCE/plugins/stack/tests/peer.py" --dir "$WORK/records" \
  --seconds 600 >"$WORK/peer.log" 2>&1 &
_PIDS+=($!)
wait_until 10 '[ -e "$WORK/records/peer.ready" ]' || fail "the peer did not start"

# A window larger than the slow-reader test's 512 KiB, and ceilings the
# ENOBUFS test reaches (socket_layer_test.cpp).
CFG=$(stack_config sockets "$NS" "$NET" 'ipv6 = "2001:db8:91::2"' 'receive_window = 1310720' \
  'max_connections = 256' 'max_udp_sockets = 32')

for model in ${SOCKET_MODELS:-separate rtc}; do
  log "socket layer, $model model"
  rm -f "$WORK/records/"[a-z]*[0-9]
  ORYX_SOCKET_MODEL=$model ORYX_SOCKET_TEST_CONFIG=$CFG ORYX_SOCKET_TEST_NS=$NS \
    ORYX_SOCKET_TEST_PEER=$NET.1 ORYX_SOCKET_TEST_PEER6=2001:db8:91::1 \
    ORYX_SOCKET_TEST_SELF=$NET.2 ORYX_SOCKET_TEST_SELF6=2001:db8:91::2 \
    ORYX_SOCKET_TEST_DIR="$WORK/records" \
    timeout ${SOCKET_TIMEOUT:-240} "$ORYX_BUILD/plugins/stack/stack_socket_test" ${SOCKET_TESTS:+"$SOCKET_TESTS"} >"$WORK/$model.log" 2>&1 \
    || { cat "$WORK/$model.log"; fail "socket layer, $model model"; }
  grep -E "^(All tests passed|test cases:|after the tests)" "$WORK/$model.log"
done
log "PASS"
