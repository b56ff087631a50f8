#!/usr/bin/env bash
# TCP as seen on the wire, Oryx against Linux: tests/e2e/tcp_wire.py plays
# the same scenarios with scapy against the kernel (a namespace running
# tests/e2e/tcp_wire_server.py), against the stack's built-in services,
# and against tcp_wire_server.py under `oryx run`, and what they answer
# must match. Built-in: the resets to a SYN and to an ACK for a closed
# port and to a stray ACK at a listener, data without the ACK bit
# (dropped), the initial window, the SYN-ACK's options, MSS clamping, fast
# retransmit after three duplicate ACKs and NewReno's partial ACK, a
# tail-loss probe, RTO back-off, zero-window probes, and RFC 5961's
# challenge ACKs to an in-window RST and to a SYN on an established
# connection. An
# application's sockets: Nagle, TCP_NODELAY, TCP_CORK (and its 200 ms
# ceiling), TCP_MAXSEG on a listener, TCP_LINGER2's FIN-WAIT-2 timeout,
# simultaneous close, keep-alive probes and the reset after them.
source "$(dirname "$0")/lib.sh"

start_stack w 198.18.92 "tcp_echo_port = 7" "http_port = 80" "http_body_bytes = 65536"
MAC=$(api "$URL" /api/v1/ports | json "j[0]['mac']")

# The kernel's side: namespace $KN behind the client's eth1.
KN=oxwk$TAG
ip netns add "$KN"
_NAMESPACES+=("$KN")
ip link add eth1 netns "$NS" type veth peer name eth0 netns "$KN"
ip netns exec "$NS" ip addr add 198.18.93.1/24 dev eth1
ip netns exec "$KN" ip addr add 198.18.93.2/24 dev eth0
for ns in "$NS" "$KN"; do ip netns exec "$ns" ip link set lo up; done
ip netns exec "$NS" ip link set eth1 up
ip netns exec "$KN" ip link set eth0 up
# Segments as a wire carries them: veth would pass the kernel's 64 KiB GSO
# segments whole, and the MSS scenario would see one.
ip netns exec "$KN" ethtool -K eth0 tso off gso off >/dev/null
KMAC=$(ip netns exec "$KN" cat /sys/class/net/eth0/address)
ip netns exec "$KN" $PY "$ORYX_SOURCE/tests/e2e/tcp_wire_server.py" 198.18.93.2 "$WORK/kernel.ready" 240 &
_PIDS+=($!)
wait_until 10 '[ -e "$WORK/kernel.ready" ]' || fail "the kernel's servers did not start"

# Source ports 41000-41099 belong to scapy: the client's kernel must not
# reset what it sees answered on them.
no_resets() {
  ip netns exec "$1" nft -f - <<'NFT'
table inet wire {
  chain out {
    type filter hook output priority 0;
    tcp sport 41000-41099 tcp flags & rst == rst drop
  }
}
NFT
}
no_resets "$NS"

# The same servers under `oryx run`, on a stack of their own (namespace
# $NA, reached only through Oryx).
NA=oxwa$TAG
make_ns "$NA" "$NA" 198.18.94.1/24
unreachable_route 198.18.94.0/24
no_resets "$NA"
"$ORYX_BUILD/kernel/preload/oryx" run --config "$(preload_config wireapp "$NA" 198.18.94)" -- \
  $PY "$ORYX_SOURCE/tests/e2e/tcp_wire_server.py" 198.18.94.2 "$WORK/app.ready" 240 >"$WORK/app.log" 2>&1 &
_PIDS+=($!)
wait_until 20 '[ -e "$WORK/app.ready" ]' || fail "the servers under oryx run did not start (see $WORK/app.log)"
AMAC=$(cat "/sys/class/net/$NA/address")

log "scenarios against the kernel, the stack's services, and servers under oryx run"
KERNEL=$(ip netns exec "$NS" timeout 90 $PY "$ORYX_SOURCE/tests/e2e/tcp_wire.py" eth1 "$KMAC" \
  198.18.93.2 198.18.93.1 41000 builtin,app) || fail "the scenarios against the kernel did not run"
ORYX=$(ip netns exec "$NS" timeout 60 $PY "$ORYX_SOURCE/tests/e2e/tcp_wire.py" eth0 "$MAC" \
  198.18.92.2 198.18.92.1 41050 builtin) || fail "the scenarios against the stack did not run"
APP=$(ip netns exec "$NA" timeout 60 $PY "$ORYX_SOURCE/tests/e2e/tcp_wire.py" eth0 "$AMAC" \
  198.18.94.2 198.18.94.1 41000 app) || fail "the scenarios against oryx run did not run"
# Tail-loss probes sent, by the stack and by the kernel's namespace (only
# the tail-loss scenario agrees SACK, which both need for a probe).
PROBES=$(C tcp_tail_loss_probes)
TIMEOUTS=$(C tcp_timeouts)
KPROBES=$(ip netns exec "$KN" $PY -c '
lines = [l.split() for l in open("/proc/net/netstat") if l.startswith("TcpExt:")]
print(dict(zip(lines[0], lines[1]))["TCPLossProbes"])')
log "tail-loss probes: the stack $PROBES, the kernel $KPROBES; the stack's retransmission timeouts $TIMEOUTS"
# The RTO back-off scenario alone makes one connection time out three times.
[ "$TIMEOUTS" -ge 3 ] || fail "tcp_timeouts is $TIMEOUTS after the RTO back-off scenario"
log "kernel:   $KERNEL"
log "oryx:     $ORYX"
log "oryx run: $APP"
$PY - "$KERNEL" "$ORYX" "$APP" "$KPROBES" "$PROBES" <<'PY' || fail "the stack answers differently from the kernel"
import json, sys
kernel, oryx, app = (json.loads(a) for a in sys.argv[1:4])
oryx.update(app)
# What the RFCs ask, checked on the kernel's answers first: they are the
# expectation the stack's are compared with.
assert kernel["syn_to_closed_port"] == {"flags": "RA", "seq": 0, "ack": 1001}, kernel
assert kernel["ack_to_closed_port"]["flags"] == "R" and kernel["ack_to_closed_port"]["seq"] == 777, kernel
assert kernel["data_without_ack"] == {"echoed_without_ack": 0, "echoed_with_ack": 5}, kernel
assert kernel["initial_window_bytes"] == 10 * 1460, kernel
assert kernel["handshake_options"] == {"mss": 1460, "sack_permitted": True, "window_scale": True,
                                       "timestamps": True}, kernel
assert kernel["mss_clamping"] == {"largest_segment": 1000}, kernel
assert all(kernel["initial_sequence_numbers"].values()), kernel
for name in ("fast_retransmit", "newreno_partial_ack", "rto_backoff", "zero_window", "rst_in_window", "syn_on_established"):
    assert all(kernel[name].values()), (name, kernel[name])
assert kernel["nagle"] == {"first_echoed": True, "second_held_until_acked": True, "second_sent": True}, kernel
assert kernel["nodelay"] == {"first_echoed": True, "second_held_until_acked": False, "second_sent": True}, kernel
assert all(kernel["cork"].values()) and all(kernel["cork_ceiling"].values()), kernel
assert all(kernel["simultaneous_close"].values()), kernel
assert kernel["fin_wait_2"] == {"fin": True, "quiet_while_waiting": True, "gone_after_timeout": True}, kernel
assert kernel["maxseg_listener"] == {"syn_ack_mss": 1000, "largest_segment": 1000}, kernel
assert kernel["quick_ack"] == {"first_data_at_once": True}, kernel
assert kernel["keepalive"] == {"probes": 2, "reset_after_probes": True, "first_probe_after_1s": True}, kernel
# A tail loss is answered by a probe, counted as one (TCPLossProbes; the
# stack's tcp_tail_loss_probes), not by a retransmission timeout (after
# which neither stack probes). Its delay (about two of scapy's round trips)
# is printed; which segment it resends differs (the stack README says why).
for name, stack, probes in (("kernel", kernel, sys.argv[4]), ("oryx", oryx, sys.argv[5])):
    probe_ms = stack["tail_loss"]["probe_ms"]
    print(f"tail_loss              {name}: resent after {probe_ms} ms, {probes} probe(s) counted")
    stack["tail_loss"] = {"probed": probe_ms is not None and int(probes) >= 1}
assert kernel["tail_loss"] == {"probed": True}, kernel
# Where the stack differs on purpose (the stack README says why).
ON_PURPOSE = {"handshake_options": ("timestamps", "lwIP 2.1.3 has no TCP timestamps option")}
bad = []
for name in kernel:
    k, o = kernel[name], oryx[name]
    if name in ("ack_to_closed_port", "ack_to_listener"):
        # A bare RST carries no acknowledgement: its ACK field is not compared.
        k = k and {f: k[f] for f in ("flags", "seq")}
        o = o and {f: o[f] for f in ("flags", "seq")}
    if name in ON_PURPOSE:
        field, why = ON_PURPOSE[name]
        print(f"{name:22} {field} not compared: {why}")
        k = {f: v for f, v in k.items() if f != field}
        o = o and {f: v for f, v in o.items() if f != field}
    print(f"{name:22} kernel {k}  oryx {o}  {'same' if k == o else 'DIFFERENT'}")
    if k != o:
        bad.append(name)
sys.exit(f"different: {', '.join(bad)}" if bad else 0)
PY
stop_oryxd "$w_PID" || fail "exit status $?"
log "PASS"
