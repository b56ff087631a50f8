#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sends --mib MiB of random data to a TCP echo service on one connection
(at most --rate MiB/s; 0: as fast as it goes), then shuts down its sending
side, reads the echo until the server closes and compares it byte for byte
(length and sha256). Prints "ok <bytes>"; exits non-zero on a reset, a
timeout or a difference. Used by the e2e tests under tests/e2e and
plugins/*/tests."""
import argparse
import hashlib
import os
import socket
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=7)
    ap.add_argument("--mib", type=float, required=True)
    ap.add_argument("--rate", type=float, default=0, help="MiB/s, 0 = unlimited")
    ap.add_argument("--timeout", type=float, default=60, help="per socket operation, s")
    ap.add_argument("--expect-mss", type=int, default=0,
                    help="fail unless the connection's MSS (TCP_MAXSEG) is this")
    a = ap.parse_args()
    data = os.urandom(int(a.mib * 1024 * 1024))
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    if a.expect_mss and mss != a.expect_mss:
        sys.exit(f"FAIL: MSS {mss}, expected {a.expect_mss}")
    failure = []

    def send():
        try:
            if a.rate <= 0:
                s.sendall(data)
            else:
                step, start = 16384, time.monotonic()
                for off in range(0, len(data), step):
                    s.sendall(data[off:off + step])
                    ahead = (off + step) / (a.rate * 1024 * 1024) - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            failure.append(f"send: {e}")

    sender = threading.Thread(target=send)
    sender.start()
    digest, n = hashlib.sha256(), 0
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            n += len(chunk)
    except OSError as e:
        failure.append(f"receive: {e} after {n} bytes")
    sender.join()
    if failure:
        sys.exit("FAIL: " + failure[0])
    if n != len(data):
        sys.exit(f"FAIL: {n} bytes back of {len(data)}")
    if digest.digest() != hashlib.sha256(data).digest():
        sys.exit("FAIL: sha256 differs")
    print(f"ok {n}" + (f" mss {mss}" if a.expect_mss else ""))


if __name__ == "__main__":
    main()
