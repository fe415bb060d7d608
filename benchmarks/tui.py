"""The live TUI under load: ingest, sustained rate, key latency, memory; Textual's Log as the peer.

Headless (``run_test``): 100,000 frames go into the store the app shows, then a sender
appends at a target rate for ``--seconds`` while keys are pressed and the screen is
checked. The peer is Textual's ``Log`` widget fed the same lines in the same run.

    .venv/bin/python benchmarks/tui.py            # 100k ingest, 25k frames/s offered for 10 s
    .venv/bin/python benchmarks/tui.py --seconds 30 --rate 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import orjson
import psutil
from textual import events
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import Log

from busconsole.frames import CapturedFrame
from busconsole.recording.writer import RecordingWriter
from busconsole.render import pretty_line
from busconsole.sessions.base import StoreSession
from busconsole.sessions.live import WINDOW_BYTES, WINDOW_FRAMES, ReadBack
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


async def key_to_screen(app: BusConsoleApp, key: str, limit: float = 2.0) -> float:
    """Milliseconds from a key event entering the app to the stream drawing the moved cursor.

    Measured on the app itself rather than with ``pilot.press``, whose own settling waits
    (about 100 ms here even on an idle app) would hide what the app does.
    """
    stream = app.stream
    drawn: list[float] = []
    draw = stream.render_line

    def spy(y: int) -> Strip:
        if not drawn and stream.cursor != before:
            drawn.append(time.perf_counter())
        return draw(y)

    before = stream.cursor
    stream.render_line = spy  # type: ignore[method-assign]
    k0 = time.perf_counter()
    app.post_message(events.Key(key, None))
    try:
        while not drawn and time.perf_counter() - k0 < limit:
            await asyncio.sleep(0.001)
    finally:
        del stream.render_line
    return ((drawn[0] if drawn else time.perf_counter()) - k0) * 1000


async def bench_app(n: int, rate: int, seconds: float, day: bool = False) -> dict[str, float]:
    """``day``: the live session's bounded window, older frames read back from a recording written
    as frames arrive (what ``connect`` does), to see memory stay flat over millions of frames."""
    store = EventStore(max_frames=WINDOW_FRAMES, max_bytes=WINDOW_BYTES) if day else EventStore()
    writer = None
    if day:
        folder = tempfile.mkdtemp(prefix="busconsole-bench-")
        writer = RecordingWriter(Path(folder) / "day.jsonl", "bench")
        store.source = ReadBack(writer)
    app = BusConsoleApp(StoreSession(store, "bench", phase="connected"))
    frames = make_frames(n)
    async with app.run_test(size=(140, 40)) as pilot:
        c0, w0 = cpu(), time.perf_counter()
        for f in frames:
            store.append(f)
        if writer is not None:
            writer.write_many(frames)
        await pilot.pause(0.3)  # one tick draws the last page
        ingest_cpu, ingest_wall = cpu() - c0, time.perf_counter() - w0
        assert len(app.stream.rows) == n
        # sustained: every 10 ms the sender appends what ``rate`` owes since the start, as a
        # socket would hand over what queued while the loop was busy, while keys are pressed
        sent, lat = 0, []
        marks: dict[int, float] = {}  # millions of frames -> RSS (MB) when reached
        start = time.perf_counter()
        pool = make_frames(rate // 10, n)  # up to 100 ms of frames in one slice
        next_key = start + 0.5
        while time.perf_counter() - start < seconds:
            slice_start = time.perf_counter()
            owed = min(int(rate * (slice_start - start)) - sent, len(pool))
            for f in pool[:owed]:
                store.append(f)
            if writer is not None and owed > 0:
                writer.write_many(pool[:owed])
            sent += max(owed, 0)
            if day and sent and sent // 1_000_000 != (sent - max(owed, 0)) // 1_000_000:
                marks[sent // 1_000_000] = psutil.Process().memory_info().rss / 2**20
            if slice_start >= next_key:
                lat.append(await key_to_screen(app, "up"))
                next_key = slice_start + 0.5
            await asyncio.sleep(max(0.0, 0.01 - (time.perf_counter() - slice_start)))
        elapsed = time.perf_counter() - start
        await pilot.pause(0.5)
        backlog = len(store) - (app.stream.rows.index(len(app.stream.rows) - 1) + 1) if not app.stream.paused else -1
        rss = psutil.Process().memory_info().rss / 2**20
        if day:
            assert store.frame(0).seq == 1  # the first frame, long gone from memory, read back
    if writer is not None:
        writer.close()
    lat.sort()
    return {"ingest_cpu": ingest_cpu, "ingest_wall": ingest_wall, "rate": sent / elapsed,
            "backlog": backlog, "key_p50": lat[len(lat) // 2] if lat else -1,
            "key_max": lat[-1] if lat else -1, "rss_mb": rss,
            **{f"rss_at_{m}m": v for m, v in marks.items()}}


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
    ap.add_argument("--rate", type=int, default=25_000, help="frames/s offered (the target is 20,000)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--day", action="store_true", help="the live window and read-back: RSS after 1M and 3M "
                    "frames at --rate (runs 150 s at 20k/s)")
    args = ap.parse_args()
    if args.day:
        r = asyncio.run(bench_app(args.frames, args.rate, min(3_000_000 / args.rate + 2, 200.0), day=True))
        for m in (1, 2, 3):
            if f"rss_at_{m}m" in r:
                print(f"whole day: RSS after {m}M frames at {args.rate:,}/s: {r[f'rss_at_{m}m']:.0f} MB   [target <= 250 MB]")
        print(f"key to screen under load: p50 {r['key_p50']:.1f} ms, max {r['key_max']:.1f} ms   [target < 100 ms]")
        return
    r = asyncio.run(bench_app(args.frames, args.rate, min(args.seconds, 60.0)))
    peer = asyncio.run(bench_log(args.frames))
    print(f"busconsole TUI: {args.frames:,} frames ingested in {r['ingest_cpu']:.2f} s CPU "
          f"({r['ingest_wall']:.2f} s wall)   [target <= 2 s]")
    print(f"sustained: offered {args.rate:,}/s, taken in {r['rate']:,.0f} frames/s for {args.seconds:.0f} s, "
          f"backlog after 0.5 s: {r['backlog']:,} frames   [target >= 20,000/s, no growing backlog]")
    print(f"key to screen under load: p50 {r['key_p50']:.1f} ms, max {r['key_max']:.1f} ms   [target < 100 ms]")
    print(f"RSS: {r['rss_mb']:.0f} MB")
    print(f"peer, Textual Log fed the same {args.frames:,} lines: {peer:.2f} s CPU; "
          f"ratio busconsole/Log = {r['ingest_cpu'] / peer:.2f}")


if __name__ == "__main__":
    main()
