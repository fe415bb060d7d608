"""The replay TUI on a big recording: time to first screen, to full index, to fully loaded,
RSS, and a filter over the whole file, beside peers run on the same file in the same run
(`head` for a first screen, `wc -l` for an index, `grep -c` and `jq` for the filter).

    .venv/bin/python benchmarks/replay_tui.py             # ~1 GB recording
    .venv/bin/python benchmarks/replay_tui.py --quick     # 100 MB
    .venv/bin/python benchmarks/replay_tui.py --size-mb 300 --load-timeout 120

The app runs headless (Textual's test driver, 140x40). The recording is generated
into a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay import fastest_jq, generate  # noqa: E402 - the same recording and jq as benchmarks/replay.py

from busconsole.sessions.file import WINDOW_MB, FileSession  # noqa: E402
from busconsole.tui.replay import ReplayApp  # noqa: E402

FILTER = "level:error"


def peer(cmd: list[str], timeout: float) -> tuple[float | None, bytes]:
    """Seconds a command takes (None when it is missing or too slow) and its output."""
    if shutil.which(cmd[0]) is None:
        return None, b""
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, b""
    return time.perf_counter() - start, done.stdout


async def until(pilot: Any, condition: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``condition`` holds (polled between pilot pauses), None after ``timeout``."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            return None
        await pilot.pause(0.02)
    return time.perf_counter() - start


async def measure(path: Path, load_timeout: float, window_mb: float) -> dict[str, Any]:
    proc = psutil.Process()
    out: dict[str, Any] = {}
    start = time.perf_counter()
    session = FileSession([path], window_mb=window_mb)
    app = ReplayApp(session)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: len(app.stream.rows) > 0, 30)
        await pilot.pause(0.001)  # forces a compositor refresh: the rows are on screen
        # (a bare pause() waits for an idle process, which the index thread delays)
        out["first_screen_s"] = time.perf_counter() - start
        out["rss_open_mb"] = proc.memory_info().rss / 1e6
        index = await until(pilot, lambda: session.recording.indexing_done, load_timeout)
        out["index_s"] = None if index is None else time.perf_counter() - start
        out["frames"] = len(session.recording)
        t0 = time.perf_counter()
        load = await until(pilot, lambda: session.loaded, load_timeout)
        out["load_s"] = None if load is None else time.perf_counter() - start
        out["loaded_frames"] = len(session.browse)
        out["load_rate"] = len(session.browse) / max(time.perf_counter() - t0 + (index or 0), 1e-9)
        out["rss_loaded_mb"] = proc.memory_info().rss / 1e6
        await pilot.press("slash", *FILTER)  # typed first: the filter applies on enter
        t0 = time.perf_counter()
        await pilot.press("enter")
        await until(pilot, lambda: not app.stream.rows.behind, load_timeout)  # it fills in by slices
        out["filter_s"] = time.perf_counter() - t0
        out["filter_rows"] = len(app.stream.rows)
        t0 = time.perf_counter()
        await pilot.press("j")
        await pilot.pause()
        out["key_s"] = time.perf_counter() - t0
    return out


def secs(value: float | None, missing: str = "n/a") -> str:
    return missing if value is None else f"{value:.2f} s"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs <= 0:
        return "n/a"
    return f"{ours / theirs:.1f}x the peer's time"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--quick", action="store_true", help="a 100 MB recording")
    ap.add_argument("--window-mb", type=float, default=WINDOW_MB, help="frames held in memory (raw MB)")
    ap.add_argument("--load-timeout", type=float, default=600.0, help="give up waiting for a full load")
    args = ap.parse_args()
    size_mb = 100 if args.quick else args.size_mb
    tmp = Path(tempfile.mkdtemp(prefix="busconsole-bench-"))
    try:
        path = tmp / "big.jsonl"
        frames = generate(path, size_mb)
        print(f"recording: {path.stat().st_size / 1e6:,.0f} MB, {frames:,} frames")
        head, _ = peer(["head", "-n", "40", str(path)], 60)
        wc, _ = peer(["wc", "-l", str(path)], 300)
        grep, grep_out = peer(["grep", "-c", '"level":"error"', str(path)], 300)
        jq, jq_out = peer(["jq", "-c", fastest_jq(path, tmp), str(path)], args.load_timeout)
        ours = asyncio.run(measure(path, args.load_timeout, args.window_mb))
        print(f"first screen      {ours['first_screen_s']:.3f} s   (head -n 40: {head or 0:.3f} s)")
        print(f"RSS after open    {ours['rss_open_mb']:.0f} MB")
        print(f"full index        {secs(ours['index_s'])}  ({ours['frames']:,} frames)   "
              f"wc -l: {secs(wc)}  -> {ratio(ours['index_s'], wc)}")
        loaded = ours["load_s"]
        print(f"fully loaded      {secs(loaded, 'not within --load-timeout')}  "
              f"({ours['loaded_frames']:,} frames in the store, {ours['load_rate']:,.0f} frames/s)")
        print(f"RSS after load    {ours['rss_loaded_mb']:.0f} MB")
        jq_lines = jq_out.count(b"\n")
        print(f"filter {FILTER}  {ours['filter_s']:.2f} s from enter to the whole file  ({ours['filter_rows']:,} rows)   "
              f"grep -c: {secs(grep)} ({grep_out.decode().strip() or '?'} lines) -> {ratio(ours['filter_s'], grep)}; "
              f"jq: {secs(jq)} ({jq_lines:,} lines) -> {ratio(ours['filter_s'], jq)}")
        print(f"key press -> screen after the filter  {ours['key_s'] * 1000:.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
