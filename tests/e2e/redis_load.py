#!/usr/bin/env python3
"""redis_load.py COUNT_FILE HOST: keeps storing a 100-byte value in the
redis server at HOST:6379, reconnecting after each loss (a server killed
and restarted under it); every 100 values it writes "STORED LOSSES" to
COUNT_FILE. Runs until killed."""
import socket
import sys
import time

done = lost = 0
while True:
    try:
        s = socket.create_connection((sys.argv[2], 6379), timeout=2)
        f = s.makefile("rb")
        while True:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n" + b"v" * 100 + b"\r\n")
            if f.readline() != b"+OK\r\n":
                raise OSError("unexpected reply")
            done += 1
            if done % 100 == 0:
                open(sys.argv[1], "w").write(f"{done} {lost}")
    except OSError:
        lost += 1
        time.sleep(0.05)
