#!/usr/bin/env python3
"""Fail-over probe: a minimal WebSocket client (stdlib only) that prints one line per server
message: '<unix time> <type> <topic> <number of items>'. Answers protocol pings; exits when the
server closes or after --seconds. Used by bench/failover.sh."""
import base64, json, os, socket, struct, sys, time

host, port, path, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_connection((host, port), timeout=5)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk: sys.exit("closed during handshake")
    buf += chunk
head, buf = buf.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]: sys.exit("no upgrade: " + head.decode(errors="replace"))
s.settimeout(0.5)
deadline = time.time() + seconds

def need(n):
    global buf
    while len(buf) < n:
        if time.time() > deadline: raise TimeoutError
        try: chunk = s.recv(65536)
        except socket.timeout: continue
        if not chunk: raise EOFError
        buf += chunk
    out, buf = buf[:n], buf[n:]
    return out

def send(opcode, payload):
    mask = os.urandom(4)
    header = bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
    s.sendall(header + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

message = b""
try:
    while True:
        b0, b1 = need(2)
        n = b1 & 0x7F
        if n == 126: n = struct.unpack(">H", need(2))[0]
        elif n == 127: n = struct.unpack(">Q", need(8))[0]
        payload = need(n)
        opcode = b0 & 0x0F
        if opcode == 9: send(10, payload); continue
        if opcode == 8: print(f"{time.time():.3f} CLOSE", flush=True); break
        message += payload
        if not b0 & 0x80: continue
        m, message = json.loads(message), b""
        data = m.get("data")
        count = len(data) if isinstance(data, list) else (len(data.get(m.get("topic"), [])) if isinstance(data, dict) and m.get("topic") else "")
        ids = ",".join(e.get("id", "")[-3:] for e in data) if isinstance(data, list) else ""
        print(f"{time.time():.3f} {m.get('type')} {m.get('topic', '')} {count} {ids}", flush=True)
except (TimeoutError, EOFError, ConnectionError):
    pass
