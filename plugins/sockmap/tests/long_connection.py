#!/usr/bin/env python3
# long_connection.py - one local TCP connection that lives across an oryxd
# restart: sends 1 MiB each way, then waits for GO_FILE and does it again;
# every byte checked. Prints "phase N ok" and exits 0, or exits 1.
import hashlib, os, socket, sys, threading, time

go_file = sys.argv[1]
listener = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(listener.getsockname())
server, _ = listener.accept()

def exchange(phase):
    data = hashlib.sha256(str(phase).encode()).digest() * (1 << 15)  # 1 MiB
    for a, b in ((client, server), (server, client)):
        t = threading.Thread(target=a.sendall, args=(data,))
        t.start()
        got = bytearray()
        while len(got) < len(data):
            chunk = b.recv(1 << 16)
            if not chunk:
                sys.exit(1)
            got += chunk
        t.join()
        if bytes(got) != data:
            print(f"phase {phase}: bytes differ", flush=True)
            sys.exit(1)
    print(f"phase {phase} ok", flush=True)

exchange(1)
# Up to 5 min: the restart in between once took 4 min on a VM stalled
# beside a build (sockmap_lifecycle.sh kills oryxd and starts it again).
for _ in range(6000):
    if os.path.exists(go_file):
        break
    time.sleep(0.05)
else:
    sys.exit(1)
exchange(2)
