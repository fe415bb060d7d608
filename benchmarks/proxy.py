"""The proxy tap's cost: throughput and added round-trip latency, proxy vs direct, same run.

    .venv/bin/python benchmarks/proxy.py            # 200,000 frames, 500 round trips
    .venv/bin/python benchmarks/proxy.py --quick    # 50,000 frames, 200 round trips
    .venv/bin/python benchmarks/proxy.py --full     # 1,000,000 frames, 2,000 round trips

Every party is its own process on 127.0.0.1, as in real use:

* throughput: a sender (this script with ``--sender``) writes N pre-framed 200 B text
  frames as fast as the socket takes them; a bare websockets client receives them either
  directly (the peer) or through ``busconsole proxy --no-tui --quiet`` recording to a
  temp file. frames/s are counted at the client. Target: >= 0.5x direct.
* latency: sequential QUERY -> QUERY_RESULT round trips against the reference server
  (``busconsole serve``), direct and through a second proxy, interleaved. Target:
  added p50 < 1 ms.

Nothing here is asserted; the figures are printed with their ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
FRAME = (b'{"type":"STORE_UPDATE","entity":"partner","data":{"id":1234,"name":"Acme Telecom",'
         b'"status":"ACTIVE","region":"eu-west","tier":"gold"},"timestamp":1758332020409}').ljust(200)
READY_TIMEOUT = 15.0
RUN_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------- sender process


def _framed(payload: bytes) -> bytes:
    """One unmasked server text frame (FIN + opcode 1), 200 B payload < 65536."""
    n = len(payload)
    head = bytes((0x81, n)) if n < 126 else bytes((0x81, 126)) + n.to_bytes(2, "big")
    return head + payload


async def _send_burst(ws: ServerConnection) -> None:
    """On ``go N``: N frames written straight to the socket in batches, then ``done``.
    Pre-framed bytes keep the sender far faster than any receiver, so clients are measured."""
    count = int(str(await ws.recv()).split()[1])
    batch = _framed(FRAME) * 1000
    transport = ws.transport
    for _ in range(count // 1000):
        transport.write(batch)
        while transport.get_write_buffer_size() > 4 * 2**20:
            await asyncio.sleep(0.0005)
    await ws.send("done")
    with contextlib.suppress(Exception):
        await ws.wait_closed()


async def run_sender(port: int) -> None:
    async with serve(_send_burst, "127.0.0.1", port, compression=None, max_size=None):
        print("ready", flush=True)
        await asyncio.Event().wait()


# ---------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def child(args: list[str], ready: str) -> Iterator[subprocess.Popen[str]]:
    """A child process, once a line containing ``ready`` appears on its stdout or stderr."""
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        assert proc.stdout is not None
        while ready not in (line := proc.stdout.readline()):
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"{args[2:5]} did not start: {line}")
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def proxy_to(upstream: str, record: Path | None) -> Iterator[tuple[int, int]]:
    """``busconsole proxy --no-tui --quiet`` in its own process: (port, pid)."""
    port = free_port()
    args = [PY, "-m", "busconsole.cli", "proxy", "--no-tui", "--quiet", "--listen", f"127.0.0.1:{port}",
            "--upstream", upstream, *(["--record", str(record)] if record else ["--no-record"])]
    with child(args, "proxy 127.0.0.1") as proc:
        yield port, proc.pid


async def receive_rate(port: int, n: int, proxy_pid: int | None = None) -> tuple[float, float, float]:
    """frames/s a bare websockets client receives from the sender at ``port``, and the CPU
    µs per frame spent by this client and by the proxy (0 when direct). CPU per frame
    stays meaningful when other work shares the cores; frames/s does not."""
    me = psutil.Process()
    proxy = psutil.Process(proxy_pid) if proxy_pid else None
    cpu0 = sum(me.cpu_times()[:2]), sum(proxy.cpu_times()[:2]) if proxy else 0.0
    async with connect(f"ws://127.0.0.1:{port}/", compression=None, max_size=None) as ws:
        await ws.send(f"go {n}")
        start = time.perf_counter()
        got = 0
        async for message in ws:
            if message == "done":
                break
            got += 1
        elapsed = time.perf_counter() - start
    assert got == n, f"received {got} of {n}"
    client_cpu = sum(me.cpu_times()[:2]) - cpu0[0]
    proxy_cpu = sum(proxy.cpu_times()[:2]) - cpu0[1] if proxy else 0.0
    return n / elapsed, client_cpu / n * 1e6, proxy_cpu / n * 1e6


async def round_trips(direct: int, proxied: int, n: int) -> tuple[list[float], list[float]]:
    """Interleaved sequential QUERY round trips (ms) direct and through the proxy."""
    times: tuple[list[float], list[float]] = ([], [])
    async with connect(f"ws://127.0.0.1:{direct}/store-debug", compression=None) as a, connect(
        f"ws://127.0.0.1:{proxied}/store-debug", compression=None
    ) as b:
        for ws in (a, b):
            await ws.recv()  # CONNECTION
        for i in range(n + 20):  # the first 20 are warm-up
            for ws, into in ((a, times[0]), (b, times[1])):
                query = ('{"type":"QUERY","entity":"partner","payload":{"kind":"partner","page":{"limit":1}},'
                         f'"requestId":"b{i}"}}')
                start = time.perf_counter()
                await ws.send(query)
                await ws.recv()
                if i >= 20:
                    into.append((time.perf_counter() - start) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def measure(frames: int, trips: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sender_port, server_port = free_port(), free_port()
        sender = [PY, str(Path(__file__).resolve()), "--sender", str(sender_port)]
        server = [PY, "-m", "busconsole.cli", "serve", "--port", str(server_port), "--db", ":memory:", "--seed-demo"]
        with child(sender, "ready"), child(server, "listening"):
            burst = Path(tmp, "burst.jsonl")
            await receive_rate(sender_port, min(frames, 20_000))  # warm-up
            direct, direct_cpu, _ = await receive_rate(sender_port, frames)
            tapped: dict[str, tuple[float, float, float]] = {}
            for label, record in (("recording", burst), ("not recording", None)):
                with proxy_to(f"ws://127.0.0.1:{sender_port}/", record) as (tap, pid):
                    await receive_rate(tap, min(frames, 20_000))
                    tapped[label] = await receive_rate(tap, frames, pid)
            recorded = burst.stat().st_size
            with proxy_to(f"ws://127.0.0.1:{server_port}/store-debug", Path(tmp, "rt.jsonl")) as (tap, _):
                plain, proxied = await round_trips(server_port, tap, trips)
    print(f"throughput, {frames:,} frames of {len(FRAME)} B, frames/s received by a bare websockets client")
    print(f"  direct (the peer)                {direct:>9,.0f}   client CPU {direct_cpu:5.1f} µs/frame")
    for label, (rate, _, proxy_cpu) in tapped.items():
        print(f"  busconsole proxy, {label:<14} {rate:>9,.0f}   ratio {rate / direct:.2f}x (target >= 0.5x)   "
              f"proxy CPU {proxy_cpu:5.1f} µs/frame -> on idle cores ~{direct_cpu / proxy_cpu:.2f}x")
    print(f"  recording written: {recorded / 2**20:.0f} MiB; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores (frames/s suffer from other load, CPU per frame much less)")
    p50d, p99d, p50p, p99p = pct(plain, 50), pct(plain, 99), pct(proxied, 50), pct(proxied, 99)
    print(f"round trips QUERY -> QUERY_RESULT on the reference server, {trips} each, ms")
    print(f"  direct                            p50 {p50d:6.3f}   p99 {p99d:6.3f}")
    print(f"  through busconsole proxy          p50 {p50p:6.3f}   p99 {p99p:6.3f}")
    print(f"  added by the proxy                p50 {p50p - p50d:6.3f}   p99 {p99p - p99d:6.3f}   "
          f"ratio p50 {p50p / p50d:.2f}x (target: added p50 < 1 ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="50,000 frames, 200 round trips")
    size.add_argument("--full", action="store_true", help="1,000,000 frames, 2,000 round trips")
    ap.add_argument("--sender", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sender:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_sender(args.sender))
        return
    frames, trips = (50_000, 200) if args.quick else (1_000_000, 2000) if args.full else (200_000, 500)
    asyncio.run(asyncio.wait_for(measure(frames, trips), RUN_TIMEOUT * (5 if args.full else 1)))


if __name__ == "__main__":
    main()
