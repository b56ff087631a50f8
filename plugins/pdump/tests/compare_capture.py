#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compares what a namespace's tcpdump saw with what Oryx captured:
the frames the namespace sent must be exactly, in order, the frames on
Oryx's receive point, and the frames it received exactly those on Oryx's
transmit point. Usage: compare_capture.py NS.pcap NS_MAC RX.pcapng TX.pcapng
Prints "ok <sent> <received>"; exits 1 on the first difference."""
import sys

from scapy.all import rdpcap


def frames(path):
    return [bytes(p) for p in rdpcap(path)]


def main():
    ns_pcap, ns_mac, rx_file, tx_file = sys.argv[1:5]
    mac = bytes.fromhex(ns_mac.replace(":", ""))
    ns = frames(ns_pcap)
    sent = [f for f in ns if f[6:12] == mac]
    received = [f for f in ns if f[6:12] != mac]
    for name, want, path in (("received", sent, rx_file), ("transmitted", received, tx_file)):
        got = frames(path)
        if got != want:
            for i, (a, b) in enumerate(zip(got, want)):
                if a != b:
                    print(f"Oryx {name} frame {i} differs: {a[:64].hex()} != {b[:64].hex()}")
                    break
            print(f"Oryx {name} {len(got)} frames, the namespace {len(want)}")
            return 1
    print(f"ok {len(sent)} {len(received)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
