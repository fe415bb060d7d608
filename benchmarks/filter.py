"""Filter speed over the event store, against jq doing the same select over the same frames as JSONL.

    .venv/bin/python benchmarks/filter.py             # 1,000,000 frames
    .venv/bin/python benchmarks/filter.py --quick     # 100,000 frames
    .venv/bin/python benchmarks/filter.py --frames N  # any count (bounded to 5,000,000)

Frames come from benchmarks/store.py's synthetic mix (~200 B each). Timed: an indexed
filter (targets < 0.2 s), a full-text word (< 2 s) and a path term, each through
``Filter.select`` including parsing; the byte prefilter alone over the raw lines (what a
streaming reader does before JSON); memory per frame of the store (RSS growth minus the
raw bytes). jq (/usr/bin/jq) runs the equivalent select in its fastest form on the same
frames written as JSONL, and each ratio says how many times faster busconsole was.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]

from store import synthetic  # noqa: E402  (benchmarks/store.py: the shared frame mix)

from busconsole.filtering import parse_filter  # noqa: E402
from busconsole.frames import CapturedFrame  # noqa: E402
from busconsole.store import EventStore  # noqa: E402

# (label, our filter, jq program, target seconds or None)
CASES = (
    ("indexed", "type:STORE_UPDATE entity:partner",
     'select(.type=="STORE_UPDATE" and .entity=="partner")', 0.2),
    ("full-text", "networkdevice",
     'select(tostring | test("networkdevice"; "i"))', 2.0),
    ("path", "payload.status:ACTIVE",
     'select(.payload.status? | strings | ascii_downcase == "active")', None),
)
JQ_TIMEOUT_S = 600


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def run_jq(program: str, path: Path) -> tuple[float, int] | None:
    jq = shutil.which("jq") or "/usr/bin/jq"
    if not Path(jq).exists():
        return None
    start = time.perf_counter()
    out = subprocess.run([jq, "-c", program, str(path)], capture_output=True, check=True,
                         timeout=JQ_TIMEOUT_S)
    return time.perf_counter() - start, out.stdout.count(b"\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 frames")
    ap.add_argument("--no-jq", action="store_true", help="skip the jq comparison")
    args = ap.parse_args()
    n = 100_000 if args.quick else max(1, min(args.frames, 5_000_000))

    frames = [(t, d, data) for t, d, data in synthetic(n)]
    raw = sum(len(data) for _, _, data in frames)
    before = rss()
    store = EventStore(max_frames=n, max_bytes=max(256 * 2**20, 2 * raw))
    start = time.perf_counter()
    for seq, (t, d, data) in enumerate(frames):
        store.append(CapturedFrame(seq, t, d, "c1", data))  # type: ignore[arg-type]
    build = time.perf_counter() - start
    per_frame = (rss() - before) / n
    print(f"{n:,} synthetic frames, {raw / n:.0f} B raw each; EventStore built in {build:.1f} s, "
          f"{per_frame:.0f} B/frame = raw + {per_frame - raw / n:.0f} B overhead")

    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "frames.jsonl"
        with jsonl.open("wb") as out:
            for _, _, data in frames:
                out.write(data + b"\n")
        lines = [data for _, _, data in frames]
        del frames
        print(f"{'filter':<10} {'expression':<34} {'matches':>9} {'busconsole':>11} {'target':>7}"
              f" {'jq':>8} {'jq/ours':>8}")
        for label, text, program, target in CASES:
            ours, found = timed(lambda text=text: len(parse_filter(text).select(store)))
            jq = None if args.no_jq else run_jq(program, jsonl)
            agree = "" if jq is None or jq[1] == found else f"  (jq found {jq[1]:,})"
            goal = f"<{target:g} s" if target else "-"
            jq_s = f"{jq[0]:7.2f}s" if jq else "   n/a  "
            ratio = f"{jq[0] / ours:7.1f}x" if jq else "    n/a"
            print(f"{label:<10} {text:<34} {found:>9,} {ours:>10.3f}s {goal:>7} {jq_s} {ratio}{agree}")
        for _, text, _, _ in CASES[1:]:
            flt = parse_filter(text)
            secs, kept = timed(lambda flt=flt: sum(1 for line in lines if flt.prefilter(line)))
            print(f"prefilter {text:<34} {kept:>9,} {secs:>10.3f}s  over raw lines"
                  f" ({n / secs / 1e6:.1f}M lines/s)")


if __name__ == "__main__":
    main()
