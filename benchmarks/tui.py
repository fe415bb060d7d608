"""The live TUI under load: ingest, sustained rate, key latency, memory; Textual's Log as the peer.

Headless (``run_test``): 100,000 frames go into the store the app shows, then a sender
appends at a target rate for ``--seconds`` while keys are pressed and the screen is
checked. The peer is Textual's ``Log`` widget fed the same lines in the same run.

    .venv/bin/python benchmarks/tui.py            # 100k ingest, 20k frames/s for 10 s
    .venv/bin/python benchmarks/tui.py --seconds 30 --rate 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import orjson
import psutil
from textual.app import App, ComposeResult
from textual.widgets import Log

from busconsole.frames import CapturedFrame
from busconsole.render import pretty_line
from busconsole.session import StoreSession
from busconsole.store import EventStore
from busconsole.tui.app import BusConsoleApp


def make_frames(n: int, start: int = 0) -> list[CapturedFrame]:
    t0 = time.time() * 1000
    out = []
    for i in range(start, start + n):
        if i % 2:
            obj = {"type": "STORE_UPDATE", "entity": "compute", "data": {"id": i % 50, "status": "ACTIVE"}}
        else:
            obj = {"type": "QUERY", "entity": "partner", "requestId": f"req_{i}", "payload": {"kind": "partner"}}
        out.append(CapturedFrame(i + 1, t0 + i * 0.05, "in" if i % 2 else "out", "c1", orjson.dumps(obj)))
    return out


def cpu() -> float:
    t = os.times()
    return t.user + t.system


async def bench_app(n: int, rate: int, seconds: float) -> dict[str, float]:
    store = EventStore()
    app = BusConsoleApp(StoreSession(store, "bench", phase="connected"))
    frames = make_frames(n)
    async with app.run_test(size=(140, 40)) as pilot:
        c0, w0 = cpu(), time.perf_counter()
        for f in frames:
            store.append(f)
        await pilot.pause(0.3)  # one tick draws the last page
        ingest_cpu, ingest_wall = cpu() - c0, time.perf_counter() - w0
        assert len(app.stream.rows) == n
        # sustained: append in 10 ms slices at ``rate`` while pressing keys
        sent, lat = 0, []
        start = time.perf_counter()
        batch = make_frames(rate // 100 + 1, n)
        next_key = start + 0.5
        while time.perf_counter() - start < seconds:
            slice_start = time.perf_counter()
            for f in batch:
                store.append(f)
            sent += len(batch)
            if slice_start >= next_key:
                k0 = time.perf_counter()
                await pilot.press("up")
                await pilot.pause()
                lat.append((time.perf_counter() - k0) * 1000)
                next_key = slice_start + 0.5
            await asyncio.sleep(max(0.0, 0.01 - (time.perf_counter() - slice_start)))
        elapsed = time.perf_counter() - start
        await pilot.pause(0.5)
        backlog = len(store) - (app.stream.rows.index(len(app.stream.rows) - 1) + 1) if not app.stream.paused else -1
        rss = psutil.Process().memory_info().rss / 2**20
    lat.sort()
    return {"ingest_cpu": ingest_cpu, "ingest_wall": ingest_wall, "rate": sent / elapsed,
            "backlog": backlog, "key_p50": lat[len(lat) // 2] if lat else -1,
            "key_max": lat[-1] if lat else -1, "rss_mb": rss}


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Log(max_lines=None)


async def bench_log(n: int) -> float:
    lines = [pretty_line(f, color=False).plain for f in make_frames(n)]
    app = LogApp()
    async with app.run_test(size=(140, 40)) as pilot:
        log = app.query_one(Log)
        c0 = cpu()
        for line in lines:
            log.write_line(line)
        await pilot.pause(0.3)
        return cpu() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    r = asyncio.run(bench_app(args.frames, args.rate, min(args.seconds, 60.0)))
    peer = asyncio.run(bench_log(args.frames))
    print(f"busconsole TUI: {args.frames:,} frames ingested in {r['ingest_cpu']:.2f} s CPU "
          f"({r['ingest_wall']:.2f} s wall)   [target <= 2 s]")
    print(f"sustained: {r['rate']:,.0f} frames/s for {args.seconds:.0f} s, backlog after 0.5 s: {r['backlog']:,} "
          f"frames   [target >= 20,000/s, no growing backlog]")
    print(f"key to screen under load: p50 {r['key_p50']:.1f} ms, max {r['key_max']:.1f} ms   [target < 100 ms]")
    print(f"RSS: {r['rss_mb']:.0f} MB")
    print(f"peer, Textual Log fed the same {args.frames:,} lines: {peer:.2f} s CPU; "
          f"ratio busconsole/Log = {r['ingest_cpu'] / peer:.2f}")


if __name__ == "__main__":
    main()
