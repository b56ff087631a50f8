#!/usr/bin/python3
"""tcp_wire.py - TCP scenarios played with scapy against one TCP stack; prints
what the stack answered to each, as JSON, so that the same scenarios run
against the kernel and against Oryx can be compared (tests/e2e/stack_wire.sh).

  tcp_wire.py IFACE DST_MAC DST_IP SRC_IP PORT_BASE

The target has a TCP echo service on port 7, an HTTP service on port 80
whose response is longer than 15,000 bytes, and nothing on port 9. Source
ports PORT_BASE.. are used; the caller keeps the local kernel from
resetting them (no socket of its own has them).
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


def handshake(sport, dport, window=65535):
    """Opens a connection; returns (our next seq, theirs)."""
    syn = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="S", seq=1000, window=window,
                                     options=[("MSS", MSS)])
    sa = srp1(E / syn, iface=iface, timeout=2)
    assert sa is not None and sa[TCP].flags == "SA", f"no SYN-ACK from {dst}:{dport}"
    sendp(E / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="A", seq=1001,
                                        ack=sa[TCP].seq + 1, window=window), iface=iface)
    return 1001, sa[TCP].seq + 1


def data_from(sport, seconds, action):
    """Bytes of data the target sends to `sport` within `seconds` after
    `action` runs, counted once per sequence number (nothing is ACKed)."""
    # The action waits for the sniffer's socket: on a busy machine the
    # first segments would otherwise pass before it listens.
    listening = threading.Event()
    sniffer = AsyncSniffer(iface=iface, store=True, started_callback=listening.set,
                           lfilter=lambda p: TCP in p and p[IP].src == dst and p[TCP].dport == sport)
    sniffer.start()
    assert listening.wait(10), "the sniffer did not start"
    action()
    time.sleep(seconds)
    got = sniffer.stop()
    seen = {}
    for p in got:
        n = len(p[TCP].payload)
        if n:
            seen[p[TCP].seq] = max(seen.get(p[TCP].seq, 0), n)
    return sum(seen.values())


out = {}
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

print(json.dumps(out))
