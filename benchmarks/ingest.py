"""Ingest speed: `busconsole tail --json` against a bare websockets client, same sender, same run.

A sender process (127.0.0.1, no compression) pushes N small STORE_UPDATE frames to
each client that connects. It writes pre-encoded WebSocket frames straight to the
socket, so it costs almost nothing and the receiver is what gets measured. The
sender times each connection from the end of the handshake to the client's close,
which leaves process start-up out for both clients.

    .venv/bin/python benchmarks/ingest.py            # 200,000 frames, 3 rounds
    .venv/bin/python benchmarks/ingest.py --quick    # 50,000 frames, 1 round

Target (issue 2): tail --json >= 0.7 x the bare client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROC_TIMEOUT = 300.0  # no single client run may take longer than this

BARE_CLIENT = """
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url: str, n: int) -> None:
    async with connect(url, compression=None, max_size=None) as ws:
        count = 0
        async for _ in ws:
            count += 1
            if count >= n:
                break

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def frame_bytes(i: int) -> bytes:
    """One server-to-client WebSocket text frame (unmasked) carrying a ~200 B STORE_UPDATE."""
    payload = json.dumps(
        {
            "type": "STORE_UPDATE",
            "entity": "partner",
            "data": {"id": i, "name": f"partner-{i}", "status": "ACTIVE", "country": "Bangladesh",
                     "updatedAt": "2025-09-20T10:00:00Z"},
            "timestamp": 1758362400000 + i,
        },
        separators=(",", ":"),
    ).encode()
    n = len(payload)
    header = bytes([0x81, n]) if n < 126 else bytes([0x81, 126]) + n.to_bytes(2, "big")
    return header + payload


async def sender(count: int) -> None:
    """Serve until stdin closes; print one JSON timing line per finished connection."""
    from websockets.asyncio.server import ServerConnection, serve

    blob = b"".join(frame_bytes(i) for i in range(count))

    async def push(ws: ServerConnection) -> None:
        start = time.perf_counter()
        ws.transport.write(blob)  # the frames, already encoded: no per-frame cost on this side
        await ws.wait_closed()
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "frames": count}), flush=True)

    async with serve(push, "127.0.0.1", 0, compression=None, max_size=None) as srv:
        print(f"ready {srv.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def run_client(cmd: list[str], timings: subprocess.Popen[str]) -> tuple[float, float]:
    """Run one client to completion: (frames/s as the sender measured it, client CPU seconds).

    The CPU figure (user + system of the client process, start-up included) does not
    depend on what else the machine is doing, unlike the wall-clock rate."""
    assert timings.stdout is not None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   timeout=PROC_TIMEOUT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = json.loads(timings.stdout.readline())
    return float(result["frames"] / result["seconds"]), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 frames, 1 round")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    count = args.frames or (50_000 if args.quick else 200_000)
    rounds = args.rounds or (1 if args.quick else 3)

    proc = subprocess.Popen([sys.executable, __file__, "--sender", str(count)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    try:
        port = int(proc.stdout.readline().split()[1])
        url = f"ws://127.0.0.1:{port}/store-debug"
        bare_cmd = [sys.executable, "-c", BARE_CLIENT, url, str(count)]
        tail_cmd = [sys.executable, "-m", "busconsole.cli", "tail", url, "--json", "--count", str(count)]
        bare: list[tuple[float, float]] = []
        tail: list[tuple[float, float]] = []
        for _ in range(rounds):  # interleaved, so machine load hits both alike
            bare.append(run_client(bare_cmd, proc))
            tail.append(run_client(tail_cmd, proc))
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)

    size = len(frame_bytes(count // 2)) - 4
    rate_b, rate_t = (statistics.median(r for r, _ in runs) for runs in (bare, tail))
    cpu_b, cpu_t = (statistics.median(c for _, c in runs) for runs in (bare, tail))
    print(f"ingest: {count:,} STORE_UPDATE frames of ~{size} B, loopback, no compression, "
          f"{rounds} round(s), median; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, rate, cpu, runs in (
        ("bare websockets client (receive only)", rate_b, cpu_b, bare),
        ("busconsole tail --json --count N >/dev/null", rate_t, cpu_t, tail),
    ):
        each = ", ".join(f"{r:,.0f}" for r, _ in runs)
        print(f"  {name:<44} {rate:>9,.0f} frames/s  {cpu:5.2f} s CPU  (runs: {each})")
    print(f"  ratio tail / bare: {rate_t / rate_b:.2f} by wall clock, {cpu_b / cpu_t:.2f} by CPU "
          f"(start-up included)   target >= 0.70")

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sender":
        asyncio.run(sender(int(sys.argv[2])))
    else:
        main()
