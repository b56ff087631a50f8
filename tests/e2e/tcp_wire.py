#!/usr/bin/python3
"""tcp_wire.py - TCP scenarios played with scapy against one TCP stack; prints
what the stack answered to each, as JSON, so that the same scenarios run
against the kernel and against Oryx can be compared (tests/e2e/stack_wire.sh).

  tcp_wire.py IFACE DST_MAC DST_IP SRC_IP PORT_BASE [SETS]

SETS is "builtin" (the default), "app" or both, comma-separated: the
scenarios of the stack's built-in services, and those that need an
application's sockets (tcp_wire_server.py, on Linux or under `oryx run`).

The target has a TCP echo service on port 7, an HTTP service on port 80
whose response is longer than 15,000 bytes, nothing on port 9, and for
"app" tcp_wire_server.py's servers on ports 70-75.
Source ports PORT_BASE..PORT_BASE+49 are used; the caller keeps the local
kernel from resetting them (no socket of its own has them).
"""
import json
import sys
import threading
import time

from scapy.all import Ether, IP, TCP, Raw, AsyncSniffer, conf, sendp, srp1

conf.verb = 0
iface, mac, dst, src, base = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
E = Ether(dst=mac)
MSS = 1460


def reply(pkt):
    """The target's answer to one segment: flags, seq, ack (or None)."""
    r = srp1(E / pkt, iface=iface, timeout=2)
    if r is None or TCP not in r:
        return None
    return {"flags": str(r[TCP].flags), "seq": r[TCP].seq, "ack": r[TCP].ack}


def handshake(sport, dport, window=65535, mss=MSS, sack=False):
    """Opens a connection (no window scaling; SACK if asked); returns (our
    next seq, theirs)."""
    syn = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="S", seq=1000, window=window,
                                     options=[("MSS", mss)] + ([("SAckOK", b"")] if sack else []))
    sa = srp1(E / syn, iface=iface, timeout=2)
    assert sa is not None and sa[TCP].flags == "SA", f"no SYN-ACK from {dst}:{dport}"
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="A", seq=1001,
                                        ack=sa[TCP].seq + 1, window=window), iface=iface)
    return 1001, sa[TCP].seq + 1


class Watch:
    """Segments from the target to `sport`, each with its arrival time,
    while the scenario acts; `on_segment` may answer from the sniffer's
    thread (for what must happen before a timer fires)."""

    def __init__(self, sport, on_segment=None):
        self.segments = []  # (time, TCP layer)
        self.captured = {}  # id(TCP layer): the capture's timestamp (time.time())
        self.arrived = threading.Condition()
        listening = threading.Event()

        def seen(p):
            with self.arrived:
                self.segments.append((time.monotonic(), p[TCP]))
                self.captured[id(p[TCP])] = float(p.time)
                self.arrived.notify_all()
            if on_segment:
                on_segment(p[TCP])

        self.sniffer = AsyncSniffer(iface=iface, store=False, prn=seen, started_callback=listening.set,
                                    lfilter=lambda p: TCP in p and p[IP].src == dst and p[TCP].dport == sport)
        self.sniffer.start()
        assert listening.wait(10), "the sniffer did not start"

    def wait(self, pred, seconds, nth=1):
        """The nth segment arrived so far or within `seconds` that `pred`
        accepts, as (time, tcp), or None."""
        end = time.monotonic() + seconds
        with self.arrived:
            while True:
                found = [(t, seg) for t, seg in self.segments if pred(seg)]
                if len(found) >= nth:
                    return found[nth - 1]
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.arrived.wait(left)

    def stop(self):
        self.sniffer.stop()
        return self.segments


def data_from(sport, seconds, action):
    """Bytes of data the target sends to `sport` within `seconds` after
    `action` runs, counted once per sequence number (nothing is ACKed)."""
    w = Watch(sport)  # listening before the action, even on a busy machine
    action()
    time.sleep(seconds)
    seen = {}
    for _, t in w.stop():
        if len(t.payload):
            seen[t.seq] = max(seen.get(t.seq, 0), len(t.payload))
    return sum(seen.values())


def reset(sport, dport, seq):
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="R", seq=seq), iface=iface)


def alive(sport, seq, ack, payload=b"ping"):
    """Whether the echo connection still echoes `payload`; our next seq."""
    w = Watch(sport)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags="PA", seq=seq, ack=ack) / Raw(payload),
          iface=iface)
    got = w.wait(lambda t: bytes(t.payload) == payload, 2)
    w.stop()
    return got is not None, seq + len(payload)


def options(seg):
    return {name: value for name, value in seg.options}



def builtin_scenarios(out):
    """What the stack's built-in services (or the same servers on Linux)
    answer: resets, the ACK check, the initial window, options, loss
    recovery, the persist timer, RFC 5961."""
    # A reset answers a SYN to a closed port: <SEQ=0><ACK=SEG.SEQ+1><RST,ACK>.
    out["syn_to_closed_port"] = reply(IP(src=src, dst=dst) / TCP(sport=base, dport=9, flags="S", seq=1000))
    # ... and an ACK to a closed port: <SEQ=SEG.ACK><RST>.
    out["ack_to_closed_port"] = reply(IP(src=src, dst=dst) /
                                      TCP(sport=base + 1, dport=9, flags="A", seq=5000, ack=777))
    # ... and an ACK to a listening port with no such connection.
    out["ack_to_listener"] = reply(IP(src=src, dst=dst) /
                                   TCP(sport=base + 2, dport=7, flags="A", seq=5000, ack=888))

    # Data on a segment without the ACK bit is dropped (RFC 9293 3.10.7.4);
    # the same data with ACK is echoed.
    sport = base + 3
    seq, ack = handshake(sport, 7)
    L = IP(src=src, dst=dst) / TCP(sport=sport, dport=7, seq=seq, ack=ack)
    no_ack = data_from(sport, 1.0, lambda: sendp(E / (L / Raw(b"hello")), iface=iface))
    L[TCP].flags = "PA"
    with_ack = data_from(sport, 1.0, lambda: sendp(E / (L / Raw(b"hello")), iface=iface))
    out["data_without_ack"] = {"echoed_without_ack": no_ack, "echoed_with_ack": with_ack}
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags="R", seq=seq + 5), iface=iface)

    # The first flight of a long response when nothing is acknowledged: the
    # initial congestion window (RFC 6928: 10 segments of our MSS).
    sport = base + 4
    seq, ack = handshake(sport, 80)
    req = b"GET / HTTP/1.1\r\nHost: wire\r\n\r\n"
    get = IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack, window=65535) / Raw(req)
    out["initial_window_bytes"] = data_from(sport, 1.0, lambda: sendp(E / get, iface=iface))
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="R", seq=seq + len(req)), iface=iface)


    # The SYN-ACK's options answering a SYN that offers everything.
    sport = base + 5
    sa = srp1(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags="S", seq=1000, window=65535,
                                             options=[("MSS", MSS), ("SAckOK", b""), ("Timestamp", (1, 0)),
                                                      ("WScale", 7)]), iface=iface, timeout=2)
    o = options(sa[TCP]) if sa is not None else {}
    out["handshake_options"] = {"mss": o.get("MSS"), "sack_permitted": "SAckOK" in o,
                                "window_scale": "WScale" in o, "timestamps": "Timestamp" in o}
    reset(sport, 7, 1001)

    # Initial sequence numbers (RFC 6528): eight SYNs from eight ports in a
    # row get eight ISNs no one could have guessed from the others: neither
    # equal, nor a constant step apart, nor close together (a hash of the
    # 4-tuple: two of eight in 4,096 of 2^32 by chance: about 1 in 100,000).
    isns = []
    for sport in range(base + 30, base + 38):
        sa = srp1(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags="S", seq=1000),
                  iface=iface, timeout=2)
        isns.append(sa[TCP].seq if sa is not None else None)
        reset(sport, 7, 1001)
    steps = [(b - a) % 2**32 for a, b in zip(isns, isns[1:])] if None not in isns else []
    out["initial_sequence_numbers"] = {
        "answered": None not in isns, "distinct": len(set(isns)) == len(isns),
        "not_a_progression": len(set(steps)) > 1,
        "far_apart": all(4096 <= d <= 2**32 - 4096 for d in steps)}

    # MSS clamping: a peer announcing MSS 1,000 gets no segment larger.
    sport = base + 6
    seq, ack = handshake(sport, 80, mss=1000)
    w = Watch(sport)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack) / Raw(req), iface=iface)
    time.sleep(0.5)
    out["mss_clamping"] = {"largest_segment": max((len(t.payload) for _, t in w.stop()), default=0)}
    reset(sport, 80, seq + len(req))

    # Fast retransmit (RFC 5681 3.2): the first segment of a flight is
    # acknowledged, then the same ACK comes three more times; the second
    # segment is resent at once, long before a retransmission timeout (200 ms).
    sport = base + 7
    seq, ack = handshake(sport, 80)
    state = {"first": None, "dupacks_at": None}
    post = IP(src=src, dst=dst) / TCP(sport=sport, dport=80, seq=seq + len(req), flags="A", window=65535)


    def dupacks(t):
        if state["first"] is None and len(t.payload) and t.seq == ack:
            state["first"] = t
            post[TCP].ack = t.seq + len(t.payload)
            sendp(E / post, iface=iface, count=4)
            state["dupacks_at"] = time.monotonic()


    w = Watch(sport, dupacks)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack) / Raw(req), iface=iface)
    resend = None
    if w.wait(lambda t: state["dupacks_at"] is not None, 2):
        second = ack + len(state["first"].payload)
        # Its second transmission: the first left before the duplicate ACKs.
        resend = w.wait(lambda t: t.seq == second and len(t.payload), 1.0, nth=2)
    w.stop()
    out["fast_retransmit"] = {"resent_within_100ms": bool(resend and resend[0] - state["dupacks_at"] < 0.1)}
    reset(sport, 80, seq + len(req))

    # NewReno (RFC 6582): in that recovery, an ACK that covers the resent
    # segment but not the whole flight (the fourth segment lost too) has
    # the next hole resent at once, without three more duplicate ACKs.
    sport = base + 13
    seq, ack = handshake(sport, 80)
    post = IP(src=src, dst=dst) / TCP(sport=sport, dport=80, seq=seq + len(req), flags="A", window=65535)
    state = {"seen": {}, "partial_at": None}

    def recovery(t):
        if not len(t.payload):
            return
        n = state["seen"][t.seq] = state["seen"].get(t.seq, 0) + 1
        if t.seq == ack and n == 1:  # the first segment: acknowledged, then the same ACK thrice
            state["mss"] = len(t.payload)
            post[TCP].ack = ack + state["mss"]
            sendp(E / post, iface=iface, count=4)
        elif "mss" in state and t.seq == ack + state["mss"] and n == 2 and state["partial_at"] is None:
            post[TCP].ack = ack + 3 * state["mss"]  # the resent second and the third; not the fourth
            sendp(E / post, iface=iface)
            state["partial_at"] = time.monotonic()

    w = Watch(sport, recovery)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack) / Raw(req), iface=iface)
    resend = None
    if w.wait(lambda t: state["partial_at"] is not None, 2):
        fourth = ack + 3 * state["mss"]
        resend = w.wait(lambda t: t.seq == fourth and len(t.payload), 1.0, nth=2)
    w.stop()
    out["newreno_partial_ack"] = {"next_hole_resent_within_100ms":
                                  bool(resend and resend[0] - state["partial_at"] < 0.1)}
    reset(sport, 80, seq + len(req))

    # A tail loss (RFC 8985 7): the last two segments of a flight are lost,
    # the rest acknowledged, and the window allows nothing new. A probe
    # leaves about two round trips later, before a retransmission timeout
    # could (Linux: at least 200 ms; lwIP: at least 100 ms after the send);
    # Linux's probe is the last segment, Oryx's the first unacknowledged.
    # What is printed is the delay of the first segment sent again;
    # stack_wire.sh checks that each stack counted it as a probe.
    sport = base + 14
    seq, ack = handshake(sport, 80, window=10 * MSS, sack=True)
    post = IP(src=src, dst=dst) / TCP(sport=sport, dport=80, seq=seq + len(req), flags="A")
    state = {"ends": [], "acked_at": None}

    def ack_eight(t):
        end = t.seq + len(t.payload)
        if not len(t.payload) or state["acked_at"] is not None or end in state["ends"]:
            return
        state["ends"].append(end)
        if len(state["ends"]) == 10:
            post[TCP].ack = state["ends"][7]
            post[TCP].window = state["ends"][9] - state["ends"][7]
            sendp(E / post, iface=iface)
            state["acked_at"] = time.monotonic()

    w = Watch(sport, ack_eight)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack) / Raw(req), iface=iface)
    if w.wait(lambda t: state["acked_at"] is not None, 2):
        time.sleep(0.6)
    probe_ms, seen = None, set()
    for at, t in w.stop():
        if not len(t.payload):
            continue
        if t.seq in seen and state["acked_at"] and at > state["acked_at"]:
            probe_ms = round((at - state["acked_at"]) * 1000)
            break
        seen.add(t.seq)
    out["tail_loss"] = {"probe_ms": probe_ms}
    reset(sport, 80, seq + len(req))

    # Retransmission timeouts back off (RFC 6298 5.5): nothing is acknowledged,
    # and each wait for the first segment is about twice the one before. The
    # first wait is at least 200 ms (Linux's minimum; lwIP patch 0020), but
    # is left out of the doubling: lwIP's timer ticks every 100 ms, so it
    # ends 200-300 ms after the send, by the timer's phase.
    sport = base + 8
    seq, ack = handshake(sport, 80)
    w = Watch(sport)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack) / Raw(req), iface=iface)
    time.sleep(3.5)
    times = [t for t, seg in w.stop() if seg.seq == ack and len(seg.payload)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    out["rto_backoff"] = {"resends_in_3_5s_at_least_3": len(gaps) >= 3,
                          "first_wait_at_least_200ms": len(gaps) >= 1 and gaps[0] >= 0.195,
                          "each_wait_doubles": len(gaps) >= 3 and all(1.5 < b / a < 2.7 for a, b in zip(gaps[1:], gaps[2:]))}
    reset(sport, 80, seq + len(req))

    # A zero window: the sender probes it (persist timer, RFC 9293 3.8.6.1)
    # and sends as soon as it opens.
    sport = base + 9
    seq, ack = handshake(sport, 80)
    w = Watch(sport)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack, window=0) / Raw(req),
          iface=iface)
    time.sleep(2.5)
    # Linux probes with an old sequence number and no data, lwIP with the next
    # byte; the ACK of the request is neither.
    probes = sum(1 for _, t in w.segments if t.seq == ack - 1 or (t.seq == ack and len(t.payload) == 1))
    seq += len(req)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="A", seq=seq, ack=ack, window=65535),
          iface=iface)
    resumed = w.wait(lambda t: len(t.payload) > 1, 1.0)
    w.stop()
    out["zero_window"] = {"probed_at_least_twice": probes >= 2, "sends_when_open": resumed is not None}
    reset(sport, 80, seq)

    # RFC 5961 3.2: a RST inside the window but not at the next expected
    # sequence number is answered with an ACK (a challenge) and the connection
    # lives on; 4.2: so is a SYN on an established connection.
    for name, flags, offset in (("rst_in_window", "R", 100), ("syn_on_established", "S", 1000)):
        sport = base + (10 if flags == "R" else 11)
        seq, ack = handshake(sport, 7)
        w = Watch(sport)
        sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=7, flags=flags, seq=seq + offset,
                                             ack=ack if flags == "R" else 0), iface=iface)
        challenge = w.wait(lambda t: True, 1.0)
        w.stop()
        ok, after = alive(sport, seq, ack)
        out[name] = {"challenge_ack": bool(challenge and str(challenge[1].flags) == "A" and challenge[1].ack == seq),
                     "connection_lives": ok}
        reset(sport, 7, after)

    # Quick-ACK mode (Linux's tcp_event_data_recv): a connection's first
    # data is acknowledged at once, not after the delayed-ACK time (40 ms):
    # part of an HTTP request, which the server cannot answer yet.
    # Measured from before the send to the ACK's capture time, so scapy's
    # own delays count against the stack. (Data after an idle gap longer
    # than the retransmission timeout is quick-ACKed too; Linux shows it
    # with timestamps, which scapy's handshake does not offer: the unit
    # test stack_delayed_ack_test checks the stack.)
    sport = base + 40
    seq, ack = handshake(sport, 80)
    w = Watch(sport)
    sent = time.time()
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack) / Raw(b"GET / HT"),
          iface=iface)
    seq += 8
    got = w.wait(lambda t: len(t.payload) == 0 and t.ack == seq, 1.0)
    w.stop()
    acked_ms = None if got is None else round((w.captured[id(got[1])] - sent) * 1000, 1)
    print(f"quick_ack: the first data's ACK after {acked_ms} ms", file=sys.stderr)
    out["quick_ack"] = {"first_data_at_once": acked_ms is not None and acked_ms < 30}
    reset(sport, 80, seq)



def app_scenarios(out):
    """What an application's sockets do (tcp_wire_server.py, on Linux or
    under `oryx run`): Nagle, TCP_NODELAY, TCP_CORK, TCP_MAXSEG, TCP_LINGER2,
    simultaneous close, keep-alive."""
    # Nagle (RFC 896): while the echo of "a" is unacknowledged, the echo of
    # a second small write waits, and the ACK releases it; with TCP_NODELAY
    # it leaves at once.
    for name, port in (("nagle", 7), ("nodelay", 71)):
        sport = base + (20 if port == 7 else 21)
        seq, ack = handshake(sport, port)
        w = Watch(sport)
        L = IP(src=src, dst=dst) / TCP(sport=sport, dport=port, flags="PA", ack=ack)
        L[TCP].seq = seq
        sendp(E / L / Raw(b"a"), iface=iface)
        first = w.wait(lambda t: bytes(t.payload) == b"a", 2)
        L[TCP].seq = seq + 1
        sendp(E / L / Raw(b"b"), iface=iface)  # acknowledges nothing new
        # 0.4 s: long enough for a server that is slow to be scheduled
        # (both CPUs busy) to echo at once under TCP_NODELAY; Nagle holds
        # the echo until the ACK, however long.
        held = w.wait(lambda t: b"b" in bytes(t.payload), 0.4) is None
        sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=port, flags="A", seq=seq + 2, ack=ack + 1),
              iface=iface)
        sent = w.wait(lambda t: b"b" in bytes(t.payload), 0.15) is not None
        w.stop()
        out[name] = {"first_echoed": first is not None, "second_held_until_acked": held, "second_sent": sent}
        reset(sport, port, seq + 2)

    # TCP_CORK: three corked writes leave as one segment when the server
    # uncorks; corked data the server never uncorks leaves after 200 ms.
    for name, command, sport in (("cork", b"cork", base + 23), ("cork_ceiling", b"hold", base + 24)):
        seq, ack = handshake(sport, 72)
        w = Watch(sport)
        asked = time.monotonic()
        sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=72, flags="PA", seq=seq, ack=ack) / Raw(command),
              iface=iface)
        held = w.wait(lambda t: len(t.payload), 0.15) is None
        first = w.wait(lambda t: len(t.payload), 1.5)
        w.stop()
        if name == "cork":
            out[name] = {"nothing_while_corked": held, "one_segment_at_uncork": bool(first) and len(first[1].payload) == 300}
        else:
            out[name] = {"held_at_first": held, "sent_200_to_500ms_later": bool(first) and 0.18 < first[0] - asked < 0.5}
        reset(sport, 72, seq + len(command))

    # TCP_MAXSEG 1000 on a listener: its SYN-ACK announces 1000 to a peer
    # offering 1460, and it sends no larger segment.
    sport = base + 25
    sa = srp1(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=73, flags="S", seq=1000, window=65535,
                                             options=[("MSS", MSS)]), iface=iface, timeout=2)
    result = {"syn_ack_mss": sa is not None and options(sa[TCP]).get("MSS"), "largest_segment": 0}
    if sa is not None:
        ack = sa[TCP].seq + 1
        sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=73, flags="A", seq=1001, ack=ack), iface=iface)
        w = Watch(sport)
        sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=73, flags="PA", seq=1001, ack=ack) / Raw(b"x"),
              iface=iface)
        time.sleep(0.5)
        result["largest_segment"] = max((len(t.payload) for _, t in w.stop()), default=0)
    out["maxseg_listener"] = result
    reset(sport, 73, 1002)

    # FIN-WAIT-2 (TCP_LINGER2 1): the server closes; its FIN is acknowledged
    # but none comes back. Half a second later an ACK is still taken
    # quietly; two and a half seconds later the connection is gone (RST).
    sport = base + 26
    seq, ack = handshake(sport, 74)
    w = Watch(sport)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=74, flags="PA", seq=seq, ack=ack) / Raw(b"bye"),
          iface=iface)
    fin = w.wait(lambda t: "F" in str(t.flags), 2)
    result = {"fin": fin is not None, "quiet_while_waiting": False, "gone_after_timeout": False}
    if fin:
        fin_ack = IP(src=src, dst=dst) / TCP(sport=sport, dport=74, flags="A", seq=seq + 3,
                                             ack=fin[1].seq + len(fin[1].payload) + 1)
        sendp(E / fin_ack, iface=iface)
        time.sleep(0.5)
        sendp(E / fin_ack, iface=iface)
        result["quiet_while_waiting"] = w.wait(lambda t: "R" in str(t.flags), 0.3) is None
        time.sleep(2.0)
        sendp(E / fin_ack, iface=iface)
        result["gone_after_timeout"] = w.wait(lambda t: "R" in str(t.flags), 0.5) is not None
    w.stop()
    out["fin_wait_2"] = result

    # Simultaneous close (RFC 9293 3.6): the server closes at once; our FIN
    # does not acknowledge its FIN, as if they crossed, so it meets ours in
    # FIN-WAIT-1. It acknowledges ours (CLOSING), and once we acknowledge
    # its FIN it neither resends it nor resets.
    sport = base + 27
    w = Watch(sport)
    seq, ack = handshake(sport, 75)
    fin = w.wait(lambda t: "F" in str(t.flags), 2)
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=75, flags="FA", seq=seq, ack=ack), iface=iface)
    acked = w.wait(lambda t: "A" in str(t.flags) and t.ack == seq + 1, 2)
    if fin:
        sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=75, flags="A", seq=seq + 1, ack=fin[1].seq + 1),
              iface=iface)
    time.sleep(0.6)
    segments = w.stop()
    out["simultaneous_close"] = {
        "their_fin": fin is not None, "our_fin_acked": acked is not None,
        "no_reset": not any("R" in str(s.flags) for _, s in segments),
        "fin_sent_once": sum(1 for _, s in segments if "F" in str(s.flags)) == 1}

    # Keep-alive (RFC 9293 3.8.4): after 1 s idle the server probes every
    # second; two probes unanswered, it resets the connection.
    sport = base + 22
    seq, ack = handshake(sport, 70)
    idle_from = time.monotonic()
    w = Watch(sport)
    w.wait(lambda t: "R" in str(t.flags), 5.0)
    segments = w.stop()
    probes = [t for t, s in segments if "R" not in str(s.flags) and s.seq == ack - 1 and len(s.payload) <= 1]
    out["keepalive"] = {"probes": len(probes), "reset_after_probes": any("R" in str(s.flags) for _, s in segments),
                        "first_probe_after_1s": bool(probes) and 0.8 < probes[0] - idle_from < 2.5}
    reset(sport, 70, seq)


out = {}
for name in (sys.argv[6] if len(sys.argv) > 6 else "builtin").split(","):
    {"builtin": builtin_scenarios, "app": app_scenarios}[name](out)
print(json.dumps(out))
