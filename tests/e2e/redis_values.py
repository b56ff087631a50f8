#!/usr/bin/env python3
"""redis_values.py HOST [SEED]: stores 200 values of 1 to 20,000 bytes in
the redis server at HOST:6379 and reads each back, byte-exact; prints "ok".
Raw RESP over one connection, so that nothing but the bytes is checked."""
import os
import random
import socket
import sys

random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
values = {f"k{i}": os.urandom(random.randint(1, 20000)).hex() for i in range(200)}


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


s = socket.create_connection((sys.argv[1], 6379), timeout=30)
f = s.makefile("rb")
for k, v in values.items():
    s.sendall(command("SET", k, v))
    assert f.readline() == b"+OK\r\n"
for k, v in values.items():
    s.sendall(command("GET", k))
    n = int(f.readline()[1:])
    got = f.read(n + 2)[:-2].decode()
    assert got == v, f"{k}: {len(got)} bytes back of {len(v)}"
print("ok")
