#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kernel-side peer of shim_semantics, run by tests/e2e/preload_semantics.sh
inside the test's network namespace (plain Linux sockets).

  tcp/7     echo; on EOF, close
  udp/7     echo
  tcp/6000  control: the program drives the far end of its own connection
            with line commands sent on that same connection:
              send N        send N bytes of "x"
              shutwr        shutdown(SHUT_WR)
              close         close in order (FIN)
              rst           close with SO_LINGER {1, 0} (a RST)
              dial PORT N   connect to the program's address at PORT, send
                            N bytes of "y" and close in order
Creates --ready FILE once listening; exits by itself after --seconds.
"""
import argparse
import socket
import struct
import threading
import time


def listen_tcp(port, handler):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4096)

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def echo(c):
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    finally:
        c.close()


def udp_echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))

    def loop():
        while True:
            data, addr = s.recvfrom(65536)
            s.sendto(data, addr)

    threading.Thread(target=loop, daemon=True).start()


def dial(host, port, n):
    try:
        d = socket.create_connection((host, port), timeout=5)
        if n:
            d.sendall(b"y" * n)
        d.close()
    except OSError:
        pass


def control(c):
    host = c.getpeername()[0]
    buf = b""
    try:
        while True:
            while b"\n" not in buf:
                b = c.recv(4096)
                if not b:
                    c.close()
                    return
                buf += b
            line, buf = buf.split(b"\n", 1)
            cmd = line.decode().split()
            if not cmd:
                continue
            if cmd[0] == "send":
                c.sendall(b"x" * int(cmd[1]))
            elif cmd[0] == "shutwr":
                c.shutdown(socket.SHUT_WR)
            elif cmd[0] == "close":
                c.close()
                return
            elif cmd[0] == "rst":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
                return
            elif cmd[0] == "dial":
                threading.Thread(target=dial, args=(host, int(cmd[1]), int(cmd[2])),
                                 daemon=True).start()
    except OSError:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready", required=True)
    ap.add_argument("--seconds", type=float, default=120)
    a = ap.parse_args()
    listen_tcp(7, echo)
    udp_echo(7)
    listen_tcp(6000, control)
    open(a.ready, "w").close()
    time.sleep(a.seconds)


if __name__ == "__main__":
    main()
