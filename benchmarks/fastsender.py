"""A WebSocket sender for benchmarks that is never the bottleneck, and its own speed check.

The handshake goes through the ``websockets`` library; after it, each connection gets N
pre-encoded, unmasked server text frames (~200 B STORE_UPDATE bus frames) written straight
to the transport in batches of ``--batch`` frames (~200 KB a write), then a normal close
through the library. Backpressure: the transport's write buffer limits are set to
``HIGH``/``LOW`` and the sender waits on the protocol's pause_writing/resume_writing
(``Connection.drain``) whenever it is paused, so a slow receiver never makes it buffer
more than ~1 MiB. Everything is bounded: loopback only, at most ``--max-conns``
connections, at most ``--lifetime`` seconds, and it stops when its stdin closes.

Frames per connection: ``--frames`` or ``?n=N`` in the request path (proxies pass the
path on). One JSON line per finished connection on stdout, for the harness:
``{"conn", "frames", "bytes", "write_s", "close_s", "error"}`` (seconds from the end of the
handshake to the last write, and to the end of the close handshake).

    .venv/bin/python benchmarks/fastsender.py            # speed check: 1,000,000 frames x 3
    .venv/bin/python benchmarks/fastsender.py --quick    # 200,000 frames x 3
    .venv/bin/python benchmarks/fastsender.py --serve --port 0 --frames 200000   # as a server

Other benchmarks start it with :func:`start_sender` and read its rate with
:func:`raw_receive`, a raw-socket client that only counts bytes. Target: >= 300k frames/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
PAYLOAD_SIZE = 200
HIGH, LOW = 1 << 20, 1 << 18  # transport write buffer limits (pause above 1 MiB, resume below 256 KiB)
DEFAULT_BATCH = 1000
MAX_CONNS = 500
MAX_FRAMES = 20_000_000  # per connection, whatever ?n= asks
LIFETIME = 900.0
SENDER_NAME = "fastsender (pre-encoded frames written straight to the transport)"


def payload(i: int) -> bytes:
    """One STORE_UPDATE bus frame of exactly PAYLOAD_SIZE bytes (the name is padded)."""
    head = (b'{"type":"STORE_UPDATE","entity":"partner","data":{"id":%d,"name":"partner-%d",'
            b'"status":"ACTIVE","country":"Bangladesh","updatedAt":"2025-09-20T10:00:00Z","note":"'
            % (i, i))
    tail = b'"},"timestamp":%d}' % (1758362400000 + i)
    pad = PAYLOAD_SIZE - len(head) - len(tail)
    assert pad >= 0, "payload template longer than PAYLOAD_SIZE"
    return head + b"x" * pad + tail


def frame(data: bytes) -> bytes:
    """An unmasked server text frame (FIN + opcode 1) around ``data`` (< 64 KiB)."""
    n = len(data)
    return (bytes((0x81, n)) if n < 126 else bytes((0x81, 126)) + n.to_bytes(2, "big")) + data


FRAME_SIZE = len(frame(payload(0)))  # 204 B on the wire


def batch_bytes(count: int) -> bytes:
    """``count`` distinct frames back to back (ids 0..count-1), all FRAME_SIZE long."""
    return b"".join(frame(payload(i)) for i in range(count))


# ---------------------------------------------------------------------------- the server


async def serve(port: int, frames: int, batch: int, max_conns: int, lifetime: float) -> None:
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as ws_serve

    blob = batch_bytes(batch)
    served = active = 0
    finished = asyncio.Event()  # set when max_conns connections have come and gone
    loop = asyncio.get_running_loop()

    async def push(ws: ServerConnection) -> None:
        nonlocal served, active
        served += 1
        active += 1
        conn = served
        try:
            await push_frames(ws, conn)
        finally:
            active -= 1
            if served >= max_conns and not active:
                finished.set()

    async def push_frames(ws: ServerConnection, conn: int) -> None:
        query = parse_qs(urlsplit(ws.request.path if ws.request else "/").query)
        n = min(int(query.get("n", [frames])[0]), MAX_FRAMES)
        transport = ws.transport
        transport.set_write_buffer_limits(high=HIGH, low=LOW)
        drain = getattr(ws, "drain", None)  # waits on the protocol's pause/resume_writing
        start = time.perf_counter()
        full, rest = divmod(n, batch)
        sent, error = 0, None
        try:
            for _ in range(full):
                if transport.is_closing():
                    break
                transport.write(blob)
                sent += batch
                if drain is not None:
                    await drain()
                else:  # no drain() in this websockets: poll the buffer
                    while transport.get_write_buffer_size() > HIGH and not transport.is_closing():
                        await asyncio.sleep(0.0005)
            if rest and not transport.is_closing():
                transport.write(blob[: rest * FRAME_SIZE])
                sent += rest
        except (OSError, RuntimeError) as exc:  # the client hung up early
            error = f"{type(exc).__name__}: {exc}"
        written = time.perf_counter() - start
        with contextlib.suppress(Exception):
            await ws.close()  # the close frame goes out after the frames, through the library
        closed = time.perf_counter() - start
        print(json.dumps({"conn": conn, "frames": sent, "bytes": sent * FRAME_SIZE,
                          "write_s": round(written, 6), "close_s": round(closed, 6), "error": error}),
              flush=True)

    async def stdin_closed() -> None:
        await loop.run_in_executor(None, sys.stdin.buffer.read)

    async with ws_serve(push, HOST, port, compression=None, max_size=None, ping_interval=None,
                        close_timeout=5) as server:
        print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
        waits = [asyncio.ensure_future(finished.wait()), asyncio.ensure_future(stdin_closed())]
        _, pending = await asyncio.wait(waits, timeout=lifetime, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        server.close()
    os._exit(0)  # the stdin reader thread may still block: leave without joining it


class Sender:
    """A running sender process: its port and its per-connection timing lines."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc, self.port = proc, port

    def url(self, path: str = "/store-debug", n: int | None = None) -> str:
        return f"ws://{HOST}:{self.port}{path}" + (f"?n={n}" if n is not None else "")

    def timing(self, timeout: float = 120.0) -> dict[str, float]:
        """The next finished connection's line (blocks until the sender prints it)."""
        assert self.proc.stdout is not None
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise TimeoutError("the sender printed no timing line")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the sender exited")
        return dict(json.loads(line))


@contextlib.contextmanager
def start_sender(frames: int, batch: int = DEFAULT_BATCH, max_conns: int = MAX_CONNS,
                 lifetime: float = LIFETIME) -> Iterator[Sender]:
    """The sender in its own process (so it has its own core), stopped on exit."""
    args = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", "0", "--frames", str(frames),
            "--batch", str(batch), "--max-conns", str(max_conns), "--lifetime", str(lifetime)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError(f"fastsender did not start: {line!r}")
        yield Sender(proc, int(line.split()[1]))
    finally:
        if proc.stdin:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------- the raw receiver


def raw_receive(port: int, frames: int, path: str = "/", timeout: float = 60.0) -> tuple[float, float]:
    """A raw-socket client: hand-made handshake, then it only counts bytes until
    ``frames`` x FRAME_SIZE have arrived. Returns (frames/s, seconds) from the end of the
    handshake to the last byte. Then it answers the close and hangs up."""
    sep = "&" if "?" in path else "?"
    target = f"{path}{sep}n={frames}"
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.sendall((f"GET {target} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("closed during the handshake")
            head += chunk
        status, _, rest = head.partition(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"handshake refused: {status[:80]!r}")
        start = time.perf_counter()
        want = frames * FRAME_SIZE
        got = len(rest)
        buf = bytearray(4 << 20)
        deadline = time.monotonic() + timeout
        while got < want:
            n = sock.recv_into(buf)
            if not n:
                break
            got += n
            if time.monotonic() > deadline:
                break
        seconds = time.perf_counter() - start
        with contextlib.suppress(OSError):
            mask = os.urandom(4)
            code = (1000).to_bytes(2, "big")
            sock.sendall(bytes((0x88, 0x80 | 2)) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(code)))
            sock.settimeout(2.0)
            while sock.recv(65536):
                pass
    if got < want:
        raise RuntimeError(f"received {got:,} of {want:,} bytes")
    return frames / seconds, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", action="store_true", help="run as a server (prints 'ready PORT')")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--frames", type=int, default=None, help="frames per connection")
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="frames per transport write")
    ap.add_argument("--max-conns", type=int, default=MAX_CONNS)
    ap.add_argument("--lifetime", type=float, default=LIFETIME, help="seconds before the server stops")
    ap.add_argument("--quick", action="store_true", help="speed check with 200,000 frames")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.port, args.frames or 200_000, args.batch, args.max_conns, args.lifetime))
        return
    frames = args.frames or (200_000 if args.quick else 1_000_000)
    rates, writes = [], []
    with start_sender(frames, args.batch, max_conns=args.rounds) as sender:
        for _ in range(args.rounds):
            rate, _ = raw_receive(sender.port, frames)
            rates.append(rate)
            t = sender.timing()
            writes.append(t["frames"] / t["write_s"])
    median = statistics.median(rates)
    print(f"fastsender: {frames:,} frames of {PAYLOAD_SIZE} B ({FRAME_SIZE} B on the wire) a connection, "
          f"batches of {args.batch}, {args.rounds} round(s), median; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  received by a raw-socket byte counter  {median:>11,.0f} frames/s  "
          f"{median * FRAME_SIZE / 2**20:7.1f} MiB/s   target >= 300,000   "
          f"{'met' if median >= 300_000 else 'NOT MET'}   (runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"  written by the sender (to the last write) {statistics.median(writes):>8,.0f} frames/s")


if __name__ == "__main__":
    main()
