#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kernel-side peer for the socket layer test, run inside the test's namespace.

Serves on every address of the namespace (IPv4 and IPv6):
  tcp/7   echo; on EOF, echoes what is left and closes
  udp/7   echo, datagrams up to 65,507 bytes
  tcp/9   hold: accepts and never reads (fills the sender's window)
  tcp/10  reset: accepts and closes at once with SO_LINGER 0 (a RST)
  tcp/11  greet: sends "hello" and closes in order
  tcp/12  record: reads a name line, then everything until EOF or a reset,
          and writes "eof <bytes>" or "reset <bytes>" to DIR/<name>
Stops by itself after --seconds.
"""
import argparse
import os
import socket
import struct
import threading
import time


def serve_tcp(port, handler):
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((addr, port))
        except OSError:
            continue  # IPv6 off in this namespace
        s.listen(1024)

        def loop(listener=s):
            while True:
                c, _ = listener.accept()
                threading.Thread(target=handler, args=(c,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()


def echo(c):
    try:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            c.sendall(b)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        c.close()


def hold(c):
    time.sleep(60)
    c.close()


def reset(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def greet(c):
    c.sendall(b"hello")
    c.close()


def record(directory):
    def handler(c):
        name, n, how = b"", 0, "eof"
        try:
            while not name.endswith(b"\n"):
                b = c.recv(1)
                if not b:
                    break
                name += b
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                n += len(b)
        except ConnectionResetError:
            how = "reset"
        c.close()
        path = os.path.join(directory, os.path.basename(name.strip().decode() or "unnamed"))
        with open(path + ".tmp", "w") as f:
            f.write(f"{how} {n}\n")
        os.rename(path + ".tmp", path)
    return handler


def serve_udp_echo(port):
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((addr, port))
        except OSError:
            continue

        def loop(sock=s):
            while True:
                data, src = sock.recvfrom(65535)
                sock.sendto(data, src)

        threading.Thread(target=loop, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="where tcp/12 writes its records")
    ap.add_argument("--seconds", type=int, default=600, help="stop after this long")
    args = ap.parse_args()
    serve_tcp(7, echo)
    serve_udp_echo(7)
    serve_tcp(9, hold)
    serve_tcp(10, reset)
    serve_tcp(11, greet)
    serve_tcp(12, record(args.dir))
    open(os.path.join(args.dir, "peer.ready"), "w").close()
    time.sleep(args.seconds)


if __name__ == "__main__":
    main()
