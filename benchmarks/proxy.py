"""The proxy tap's cost: throughput and added round-trip latency, beside direct and mitmdump.

    .venv/bin/python benchmarks/proxy.py            # 200,000 frames, 3 rounds, 500 round trips
    .venv/bin/python benchmarks/proxy.py --quick    # 50,000 frames, 1 round, 200 round trips
    .venv/bin/python benchmarks/proxy.py --full     # 1,000,000 frames, 3 rounds, 2,000 round trips

Every party is its own process on 127.0.0.1, as in real use:

* throughput: the sender is ``fastsender.py`` (websockets handshake, then pre-encoded 200 B
  STORE_UPDATE frames written straight to the transport with backpressure, several hundred
  thousand frames/s more than any receiver here; its raw-socket rate is printed in the
  same run). A bare websockets client receives N frames either directly (the reference)
  or through each tap, in interleaved rounds (medians): ``busconsole proxy --no-tui``
  with its default per-frame stderr line, recording and not, and ``--record --quiet``;
  ``mitmdump --mode reverse:http://...`` (PyPI ``mitmproxy``; its ``ws://`` scheme is not
  accepted by its mode parser, and WebSocket upgrades go through an http reverse proxy)
  with its default output, without and with ``-w FILE``. Each tap's stderr/stdout goes
  to /dev/null. mitmdump gets fewer frames (``--mitm-frames``): it is ~100x slower.
  Targets: ``--record`` >= 0.8x direct (issue 19); mitmdump is the peer to stay ahead of.
* latency: sequential QUERY -> QUERY_RESULT round trips against the reference server
  (``busconsole serve``), direct and through the proxy (and mitmdump), interleaved.
  Target: added p50 < 1 ms.

A peer that cannot be found or installed is skipped with a line saying why. Nothing
here is asserted; the figures are printed with their ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import children
import fastsender
import peers
import psutil
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
READY_TIMEOUT = 30.0
RUN_TIMEOUT = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {READY_TIMEOUT:.0f} s")


@contextlib.contextmanager
def tap(args: list[str], port: int, what: str) -> Iterator[int]:
    """A proxy process listening on ``port``, its output to /dev/null; yields its pid."""
    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        wait_for_port(port, proc, what)
        yield proc.pid
    finally:
        children.stop(proc)


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
        children.stop(proc)


def busconsole_proxy(port: int, upstream: str, flags: list[str]) -> list[str]:
    return [PY, "-m", "busconsole.cli", "proxy", "--no-tui", "--listen", f"127.0.0.1:{port}",
            "--upstream", upstream, *flags]


def mitmdump(path: str, port: int, upstream_port: int, flags: list[str]) -> list[str]:
    return [path, "--mode", f"reverse:http://127.0.0.1:{upstream_port}@{port}", "--listen-host", "127.0.0.1",
            *flags]


async def receive_rate(port: int, n: int, pid: int | None = None) -> tuple[float, float, float]:
    """frames/s a bare websockets client receives from the sender through ``port``, and the
    CPU µs per frame spent by this client and by the tap (0 when direct). CPU per frame
    stays meaningful when other work shares the cores; frames/s does not."""
    me = psutil.Process()
    proxy = psutil.Process(pid) if pid else None
    cpu0 = sum(me.cpu_times()[:2]), sum(proxy.cpu_times()[:2]) if proxy else 0.0
    start = time.perf_counter()
    got = 0
    async with connect(f"ws://127.0.0.1:{port}/store-debug?n={n}", compression=None, max_size=None,
                       open_timeout=30, ping_interval=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                got += 1
                if got == n:
                    break
    elapsed = time.perf_counter() - start
    assert got == n, f"received {got} of {n}"
    client_cpu = sum(me.cpu_times()[:2]) - cpu0[0]
    proxy_cpu = sum(proxy.cpu_times()[:2]) - cpu0[1] if proxy else 0.0
    return n / elapsed, client_cpu / n * 1e6, proxy_cpu / n * 1e6


async def round_trips(ports: list[int], n: int) -> list[list[float]]:
    """Interleaved sequential QUERY round trips (ms), one list per port (direct first)."""
    times: list[list[float]] = [[] for _ in ports]
    async with contextlib.AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(connect(f"ws://127.0.0.1:{port}/store-debug", compression=None))
                 for port in ports]
        for ws in conns:
            await ws.recv()  # CONNECTION
        for i in range(n + 20):  # the first 20 are warm-up
            for ws, into in zip(conns, times, strict=True):
                query = ('{"type":"QUERY","entity":"partner","payload":{"kind":"partner","page":{"limit":1}},'
                         f'"requestId":"b{i}"}}')
                start = time.perf_counter()
                await ws.send(query)
                await ws.recv()
                if i >= 20:
                    into.append((time.perf_counter() - start) * 1000)
    return times


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class Tap:
    def __init__(self, name: str, args: list[str], port: int, frames: int) -> None:
        self.name, self.args, self.port, self.frames = name, args, port, frames
        self.pid = 0
        self.runs: list[tuple[float, float, float]] = []  # (frames/s, client µs/frame, tap µs/frame)

    def median(self, i: int) -> float:
        return statistics.median(r[i] for r in self.runs)


async def measure(frames: int, mitm_frames: int, rounds: int, trips: int) -> None:
    mitm = peers.find("mitmdump")
    with tempfile.TemporaryDirectory() as tmp, fastsender.start_sender(frames) as sender:
        up = sender.port
        upstream = f"ws://127.0.0.1:{up}/store-debug"
        taps = [
            Tap("busconsole proxy --no-tui --record FILE", busconsole_proxy(
                p := free_port(), upstream, ["--record", f"{tmp}/rec.jsonl"]), p, frames),
            Tap("busconsole proxy --no-tui --no-record", busconsole_proxy(
                p := free_port(), upstream, ["--no-record"]), p, frames),
            Tap("busconsole proxy --no-tui --record FILE --quiet", busconsole_proxy(
                p := free_port(), upstream, ["--record", f"{tmp}/rec-quiet.jsonl", "--quiet"]), p, frames),
        ]
        if mitm:
            taps += [
                Tap(f"mitmdump {peers.version('mitmdump')} --mode reverse", mitmdump(mitm, p := free_port(), up, []),
                    p, mitm_frames),
                Tap(f"mitmdump {peers.version('mitmdump')} --mode reverse -w FILE", mitmdump(
                    mitm, p := free_port(), up, ["-w", f"{tmp}/mitm.flows"]), p, mitm_frames),
            ]
        ceiling: list[float] = []
        direct = Tap("direct (bare websockets client, the reference)", [], up, frames)
        with contextlib.ExitStack() as stack:
            for t in taps:
                t.pid = stack.enter_context(tap(t.args, t.port, t.name))
                await receive_rate(t.port, min(t.frames, 5_000), t.pid)  # warm-up
            await receive_rate(up, 20_000)
            for _ in range(rounds):  # interleaved, so machine load hits all alike
                ceiling.append(fastsender.raw_receive(up, frames)[0])
                direct.runs.append(await receive_rate(up, frames))
                for t in taps:
                    t.runs.append(await receive_rate(t.port, t.frames, t.pid))
        recorded = Path(tmp, "rec.jsonl").stat().st_size
        lat_names = ["direct", "through busconsole proxy --record --quiet"]
        server_port = free_port()
        server = [PY, "-m", "busconsole.cli", "serve", "--port", str(server_port), "--db", ":memory:", "--seed-demo"]
        with child(server, "listening"), contextlib.ExitStack() as stack:
            ports = [server_port, p := free_port()]
            stack.enter_context(tap(busconsole_proxy(p, f"ws://127.0.0.1:{server_port}/store-debug",
                                                     ["--record", f"{tmp}/rt.jsonl", "--quiet"]), p, "proxy"))
            if mitm:
                ports.append(p := free_port())
                stack.enter_context(tap(mitmdump(mitm, p, server_port, []), p, "mitmdump"))
                lat_names.append("through mitmdump (reverse)")
            latencies = await round_trips(ports, trips)

    print(f"proxy throughput: frames of {fastsender.PAYLOAD_SIZE} B received by a bare websockets client, "
          f"{rounds} round(s) interleaved, medians; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  sender: {fastsender.SENDER_NAME}: {statistics.median(ceiling):,.0f} frames/s to a raw-socket "
          "byte counter in the same run")
    base = direct.median(0)
    print(f"  {direct.name:<52} {base:>9,.0f} f/s  N={frames:,}  client CPU {direct.median(1):5.1f} µs/frame  "
          f"(runs: {', '.join(f'{r[0]:,.0f}' for r in direct.runs)})")
    for t in taps:
        target = "  target >= 0.80x" if t.name.endswith("--record FILE") else ""
        print(f"  {t.name:<52} {t.median(0):>9,.0f} f/s  N={t.frames:,}  {t.median(0) / base:5.2f}x direct  "
              f"tap CPU {t.median(2):6.1f} µs/frame{target}  (runs: {', '.join(f'{r[0]:,.0f}' for r in t.runs)})")
    if not mitm:
        print(peers.skip_line("mitmdump"))
    else:
        ours = taps[0].median(0)
        for t in taps[3:]:
            print(f"  busconsole --record / {t.name:<36} {ours / t.median(0):5.1f}x")
    print(f"  recording written: {recorded / 2**20:.0f} MiB")
    print(f"round trips QUERY -> QUERY_RESULT on the reference server, {trips} each, ms")
    p50d, p99d = pct(latencies[0], 50), pct(latencies[0], 99)
    for name, values in zip(lat_names, latencies, strict=True):
        p50, p99 = pct(values, 50), pct(values, 99)
        added = "" if values is latencies[0] else (f"   added p50 {p50 - p50d:6.3f}  p99 {p99 - p99d:6.3f}"
                                                     + ("  (target: added p50 < 1 ms)" if "busconsole" in name else ""))
        print(f"  {name:<44} p50 {p50:6.3f}   p99 {p99:6.3f}{added}")
    if not mitm:
        print(peers.skip_line("mitmdump"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="50,000 frames, 1 round, 200 round trips")
    size.add_argument("--full", action="store_true", help="1,000,000 frames, 2,000 round trips")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--mitm-frames", type=int, default=None, help="frames for mitmdump (default 10,000; 2,000 quick)")
    args = ap.parse_args()
    frames, trips = (50_000, 200) if args.quick else (1_000_000, 2000) if args.full else (200_000, 500)
    rounds = args.rounds or (1 if args.quick else 3)
    mitm_frames = args.mitm_frames or (2_000 if args.quick else 10_000)
    asyncio.run(asyncio.wait_for(measure(frames, mitm_frames, rounds, trips), RUN_TIMEOUT * (5 if args.full else 1)))


if __name__ == "__main__":
    main()
