#!/usr/bin/python3
"""tcp_wire_server.py - the servers tests/e2e/tcp_wire.py plays its
scenarios against, with Linux's sockets or, under `oryx run`, with Oryx's:

  port 7   echo (Nagle on, as sockets start)
  port 71  echo with TCP_NODELAY
  port 70  keep-alive: the accepted socket probes after 1 s idle, every
           1 s, and gives up after 2 unanswered probes
  port 72  TCP_CORK: to "cork", three 100-byte writes corked for 300 ms;
           to "hold", one 100-byte write corked for a second
  port 73  TCP_MAXSEG 1000 on the listener: 4,000 bytes to any request
  port 74  TCP_LINGER2 1: closes after the first request
  port 75  closes each connection as soon as it is accepted
  port 80  HTTP: a 65,536-byte body to any request

  tcp_wire_server.py ADDRESS READY_FILE SECONDS
"""
import socket
import sys
import threading
import time

address, ready, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])


def serve(port, handle, setup=lambda c: None, listener=lambda s: None):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener(s)
    s.bind((address, port))
    s.listen(16)

    def loop():
        while True:
            c, _ = s.accept()
            setup(c)
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def echo(c):
    try:
        while (d := c.recv(65536)):
            c.sendall(d)
    except OSError:  # the scenarios end their connections with RST
        pass


def http(c):
    try:
        c.recv(65536)
        body = b"o" * 65536
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass


def four_kib(c):
    try:
        c.recv(100)
        c.sendall(b"m" * 4000)
        while c.recv(100):
            pass
    except OSError:
        pass


def close_after_request(c):
    try:
        c.recv(100)
    except OSError:
        pass
    c.close()


def corked(c):
    try:
        command = c.recv(100)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        if command == b"cork":
            for _ in range(3):
                c.sendall(b"c" * 100)
            time.sleep(0.3)
        else:
            c.sendall(b"h" * 100)
            time.sleep(1.0)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
        while c.recv(100):
            pass
    except OSError:
        pass


def keepalive(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)


serve(7, echo)
serve(71, echo, lambda c: c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1))
serve(70, echo, keepalive)
serve(72, corked)
serve(73, four_kib, listener=lambda s: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1000))
serve(74, close_after_request, lambda c: c.setsockopt(socket.IPPROTO_TCP, socket.TCP_LINGER2, 1))
serve(75, lambda c: c.close())
serve(80, http)
open(ready, "w").close()
time.sleep(seconds)
