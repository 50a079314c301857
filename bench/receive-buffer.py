#!/usr/bin/env python3
"""What an idle connection holds after it has sent one large message (issue 23, "receive buffer").

Starts the built host (a process of its own, so that its RSS is the service's alone), opens N idle
WebSockets on the direct path with raw sockets, reads the server's RSS, has every connection send
one message of SIZE bytes (a ping with padding: answered PONG or ERROR), waits for every answer, then
reads the RSS again at once and over the following seconds. Prints one JSON line per reading and a
summary: KB per connection = (RSS - RSS before the message) / N.

    python3 bench/receive-buffer.py [--connections 1000] [--size 4000] [--deflate] [--watch 40]
        [--dll src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll] [--env NAME=VALUE ...]
"""
import argparse, asyncio, base64, json, os, socket, struct, subprocess, sys, time, zlib

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def frame(payload, rsv1=False):
    mask = os.urandom(4)
    head = bytes([0x80 | (0x40 if rsv1 else 0) | 0x1])
    n = len(payload)
    if n < 126: head += bytes([0x80 | n])
    elif n < 65536: head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else: head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126: n = struct.unpack(">H", await reader.readexactly(2))[0]
    elif n == 127: n = struct.unpack(">Q", await reader.readexactly(8))[0]
    payload = await reader.readexactly(n)
    return b0 & 0x0F, payload

class Conn:
    def __init__(self, reader, writer): self.reader, self.writer = reader, writer

async def open_conn(port, deflate):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
    writer.write(f"GET /ws?topics=accidents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head.split(b"\r\n")[0], head
    for _ in range(2):  # ACK, SNAPSHOT
        op, _ = await asyncio.wait_for(read_frame(reader), 30)
        assert op == 1
    return Conn(reader, writer)

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--deflate", action="store_true")
    ap.add_argument("--watch", type=int, default=40, help="seconds to keep reading the RSS after the message")
    ap.add_argument("--dll", default="src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    port = free_port()
    env = dict(os.environ, WS_HOST="127.0.0.1", WS_PORT=str(port), SIMULATOR_ENABLED="false", WS_COMPRESSION="true",
               HEARTBEAT_INTERVAL_MS="60000", HEARTBEAT_TIMEOUT_MS="600000", PUBLISH_API_KEY="bench-publish-key-0123",
               Logging__LogLevel__Default="Warning")
    for pair in args.env:
        name, value = pair.split("=", 1); env[name] = value
    server = subprocess.Popen(["dotnet", args.dll], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close(); break
            except OSError:
                if server.poll() is not None: sys.exit("the host exited")
                await asyncio.sleep(0.1)
        conns = []
        for _ in range(args.connections):
            conns.append(await open_conn(port, args.deflate))
        await asyncio.sleep(3)
        before = rss_kb(server.pid)
        text = ('{"action":"ping","pad":"' + "x" * args.size + '"}').encode()
        if args.deflate:
            c = zlib.compressobj(1, zlib.DEFLATED, -15)
            payload = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
            payload = payload[:-4] if payload.endswith(b"\x00\x00\xff\xff") else payload
        else:
            payload = text
        data = frame(payload, rsv1=args.deflate)
        for conn in conns: conn.writer.write(data)
        for conn in conns: await conn.writer.drain()
        for conn in conns:
            op, _ = await asyncio.wait_for(read_frame(conn.reader), 30)
        answered = time.time()
        readings = []
        while True:
            elapsed = time.time() - answered
            rss = rss_kb(server.pid)
            readings.append({"secondsAfter": round(elapsed, 1), "rssKB": rss, "heldKBPerConnection": round((rss - before) / args.connections, 2)})
            print(json.dumps(readings[-1]), flush=True)
            if elapsed >= args.watch: break
            await asyncio.sleep(5)
        summary = {"label": args.label, "connections": args.connections, "messageBytes": len(text), "deflate": args.deflate,
                   "rssBeforeKB": before, "heldKBPerConnectionAtOnce": readings[0]["heldKBPerConnection"],
                   "heldKBPerConnectionAtEnd": readings[-1]["heldKBPerConnection"], "watchSeconds": args.watch}
        print(json.dumps(summary), flush=True)
        for conn in conns: conn.writer.close()
    finally:
        server.terminate()
        try: server.wait(20)
        except subprocess.TimeoutExpired: server.kill()

asyncio.run(main())
