#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Scapy peer for the VLAN test, run inside the test's namespace on IFACE.

Checks, against Oryx stacks on VLAN sub-interfaces of one trunk:
  - each stack answers ARP and ping only on its own VID, with replies
    tagged with that VID (and the sub-interface's priority);
  - the native stack answers untagged and priority-tagged (VID 0) frames,
    untagged;
  - a VID nobody serves, and an address asked on the wrong VID, get nothing.
Then sends UNKNOWN frames for an unserved VID and MALFORMED tagged frames
cut short inside the tag, for the caller to compare with the counters.
Exits non-zero with a message on the first failed check.
"""
import argparse
import sys
import threading

from scapy.all import (ARP, ICMP, IP, AsyncSniffer, Dot1Q, Ether, Raw, conf, get_if_hwaddr,
                       sendp, srp1)

conf.verb = 0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def arp(iface, mac, vid, src, dst, prio=0):
    frame = Ether(dst="ff:ff:ff:ff:ff:ff", src=mac)
    if vid is not None:
        frame /= Dot1Q(vlan=vid, prio=prio)
    frame /= ARP(op=1, hwsrc=mac, psrc=src, pdst=dst)
    return srp1(frame, iface=iface, timeout=1)


def ping(iface, mac, vid, peer_mac, src, dst, payload):
    frame = Ether(dst=peer_mac, src=mac)
    if vid is not None:
        frame /= Dot1Q(vlan=vid)
    frame /= IP(src=src, dst=dst) / ICMP(id=0x4242, seq=vid or 0) / Raw(payload)
    return srp1(frame, iface=iface, timeout=1)


def untagged_reply_to_priority_tagged(iface, mac, src, dst):
    """scapy's srp1 never pairs an untagged reply with a tagged request."""
    ready = threading.Event()
    sniffer = AsyncSniffer(iface=iface, count=1, timeout=3, started_callback=ready.set,
                           lfilter=lambda p: ARP in p and p[ARP].op == 2 and p[ARP].psrc == dst)
    sniffer.start()
    ready.wait(3)  # a reply sent before the socket exists would be missed
    sendp(Ether(dst="ff:ff:ff:ff:ff:ff", src=mac) / Dot1Q(vlan=0) /
          ARP(op=1, hwsrc=mac, psrc=src, pdst=dst), iface=iface)
    sniffer.join()
    return sniffer.results[0] if sniffer.results else None


def expect_tag(reply, vid, prio, what):
    if vid is None:
        if Dot1Q in reply:
            fail(f"{what}: reply is tagged with VID {reply[Dot1Q].vlan}, expected untagged")
        return
    if Dot1Q not in reply:
        fail(f"{what}: reply is untagged, expected VID {vid}")
    if reply[Dot1Q].vlan != vid or reply[Dot1Q].prio != prio:
        fail(f"{what}: reply tag VID {reply[Dot1Q].vlan} prio {reply[Dot1Q].prio}, "
             f"expected VID {vid} prio {prio}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--vlan", action="append", default=[],
                    help="VID:PRIO:ADDR of a sub-interface's stack (PEER is ADDR with .1)")
    ap.add_argument("--native", required=True, help="address of the untagged stack")
    ap.add_argument("--unknown-vid", type=int, required=True)
    ap.add_argument("--unknown", type=int, default=20)
    ap.add_argument("--malformed", type=int, default=10)
    a = ap.parse_args()
    mac = get_if_hwaddr(a.iface)

    served = []
    for spec in a.vlan:
        vid, prio, addr = spec.split(":")
        served.append((int(vid), int(prio), addr))
    for vid, prio, addr in served:
        src = addr.rsplit(".", 1)[0] + ".1"
        r = arp(a.iface, mac, vid, src, addr)
        if r is None or ARP not in r or r[ARP].op != 2 or r[ARP].psrc != addr:
            fail(f"no ARP reply from {addr} on VID {vid}")
        expect_tag(r, vid, prio, f"ARP {addr}")
        payload = bytes(range(256)) * 4
        r = ping(a.iface, mac, vid, r[ARP].hwsrc, src, addr, payload)
        if r is None or ICMP not in r or r[ICMP].type != 0:
            fail(f"no echo reply from {addr} on VID {vid}")
        if bytes(r[ICMP].payload)[:len(payload)] != payload:
            fail(f"echo reply from {addr} carries different data")
        expect_tag(r, vid, prio, f"ping {addr}")
        for other, _, _ in served:
            if other != vid and arp(a.iface, mac, other, src, addr) is not None:
                fail(f"{addr} (VID {vid}) answered ARP on VID {other}")
        print(f"VID {vid}: ARP and ping answered by {addr}, tagged VID {vid} prio {prio}")

    nsrc = a.native.rsplit(".", 1)[0] + ".1"
    for vid, what in ((None, "untagged"), (0, "priority-tagged")):
        r = arp(a.iface, mac, vid, nsrc, a.native) if vid is None else \
            untagged_reply_to_priority_tagged(a.iface, mac, nsrc, a.native)
        if r is None or ARP not in r or r[ARP].psrc != a.native:
            fail(f"no ARP reply from the native stack to a {what} request")
        expect_tag(r, None, 0, f"native ARP ({what})")
    r = ping(a.iface, mac, None, r[ARP].hwsrc, nsrc, a.native, b"native")
    if r is None or ICMP not in r:
        fail("no echo reply from the native stack")
    expect_tag(r, None, 0, "native ping")
    print(f"native: {a.native} answers untagged and VID 0 frames, untagged")

    if arp(a.iface, mac, a.unknown_vid, nsrc, a.native) is not None:
        fail(f"an ARP request on unserved VID {a.unknown_vid} was answered")
    frame = Ether(dst="ff:ff:ff:ff:ff:ff", src=mac) / Dot1Q(vlan=a.unknown_vid) / \
        ARP(op=1, hwsrc=mac, psrc=nsrc, pdst=a.native)
    sendp([frame] * a.unknown, iface=a.iface)
    # A tag cut short: Ethernet header, TPID 0x8100 and one byte of TCI.
    short = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=mac, type=0x8100))[:14] + b"\x00"
    sendp([Raw(short)] * a.malformed, iface=a.iface)
    print(f"sent {a.unknown + 1} frames for VID {a.unknown_vid} and {a.malformed} malformed")


if __name__ == "__main__":
    main()
