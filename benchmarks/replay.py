"""Recording speed: index MB/s, time to first frame, RSS, index bytes per frame,
`busconsole replay --print --filter level:error` against jq on the same file, and the
writer's CPU per frame against a bare JSONL append of the same bytes.

    .venv/bin/python benchmarks/replay.py            # ~1 GB recording
    .venv/bin/python benchmarks/replay.py --quick    # 100 MB
    .venv/bin/python benchmarks/replay.py --size-mb 300 --copies 50

Generated files live in a temporary folder that is removed at the end. jq runs the fastest
of a few formulations of the same selection (timed on a sample first); busconsole runs with
its bytecode cached, as an installed copy does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.format import encode
from busconsole.recording.reader import open_recording
from busconsole.recording.writer import RecordingWriter

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "orchestrix"
# jq formulations of the level:error selection, all keeping one line per matching frame; the
# benchmark times each on a sample and races busconsole against the fastest.
JQ_ERROR = (
    'select(any(.frame.messages[]?; .level=="error"))',
    'select(.frame.type=="CONSOLE_LOGS" and any(.frame.messages[]?; .level=="error"))',
    'select(.frame.messages? // empty | any(.[]; .level=="error"))',
)


def sample_frames() -> list[tuple[str, bytes]]:
    """A realistic mix: queries, results with rows, broadcasts, console batches (1 in 20 has an error)."""
    rows = [{"id": i, "name": f"host-{i}", "status": "ACTIVE", "cpu": 8, "memoryGb": 32} for i in range(8)]
    query = {"type": "QUERY", "entity": "compute", "payload": {"kind": "compute", "page": {"limit": 8}},
             "requestId": "req_1758332020409_ab12cd34", "timestamp": 1758332020409}
    result = {"type": "QUERY_RESULT", "entity": "compute", "requestId": "req_1758332020409_ab12cd34",
              "data": {"entity": "compute", "data": rows, "meta": {"total": 8}}, "timestamp": 1758332020411}

    def console(level: str) -> dict[str, object]:
        msg = {"timestamp": 1758332020400, "level": level, "message": "render took 12 ms", "args": [],
               "source": "frontend"}
        return {"type": "CONSOLE_LOGS", "messages": [msg, {**msg, "level": "info"}], "timestamp": 1758332020412}

    kinds = [(OUT, query), (IN, result), (IN, {**result, "type": "STORE_UPDATE"}), (OUT, console("log"))]
    out = [(d, orjson.dumps(f)) for d, f in kinds] * 5
    out[-1] = (OUT, orjson.dumps(console("error")))
    return out


def generate(path: Path, size_mb: int) -> int:
    frames = sample_frames()
    target = size_mb * 1024 * 1024
    n = 0
    t = 1_758_332_020_000.0
    with open(path, "wb") as f:
        f.write(b'{"busconsole":"recording","version":1,"created":"2025-09-20T00:00:00Z","source":"bench"}\n')
        written = 0
        while written < target:
            block = []
            for direction, raw in frames:
                n += 1
                t += 0.5
                block.append(encode(CapturedFrame(n, t, direction, "c1", raw)))
            data = b"".join(block)
            f.write(data)
            written += len(data)
    return n


def replicate_fixtures(folder: Path, copies: int) -> int:
    files = sorted((FIXTURES / "store-debug").glob("store-events-*.jsonl"))
    for c in range(copies):
        sub = folder / f"host-{c:04d}"
        sub.mkdir(parents=True)
        for src in files:
            shutil.copyfile(src, sub / src.name)
    return copies * len(files)


def measure_open(paths: list[Path]) -> dict[str, float]:
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    size = sum(p.stat().st_size for p in paths)
    start = time.perf_counter()
    rec = open_recording(paths)
    while len(rec) == 0 and not rec.indexing_done:
        time.sleep(0.0005)
    rec.frame(0)
    first = time.perf_counter() - start
    rec.wait()
    total = time.perf_counter() - start
    index_bytes = sum(fi.offsets.buffer_info()[1] * fi.offsets.itemsize for fi in rec.files)
    if rec._order is not None:  # the merged view's order array counts too
        index_bytes += rec._order.buffer_info()[1] * rec._order.itemsize
    frames = len(rec)
    rss = proc.memory_info().rss - rss0
    rec.close()
    return {"mb": size / 1e6, "frames": frames, "first_s": first, "index_s": total,
            "mb_s": size / 1e6 / total, "rss_mb": rss / 1e6, "bytes_per_frame": index_bytes / max(1, frames)}


def measure_writer(folder: Path, n: int, batch: int = 100) -> dict[str, float]:
    """CPU microseconds per frame: ``write`` one by one, ``write_many`` in batches (what a
    capture loop hands over per wake-up), and the peer: the frames' bytes appended as
    JSONL with one ``os.write`` per batch, the least any recorder can do."""
    raws = [orjson.dumps({"type": "STORE_UPDATE", "entity": "load", "n": i, "pad": "x" * 100}) for i in range(n)]

    def frames() -> list[CapturedFrame]:
        return [CapturedFrame(i, 1.0 + i, IN, "c1", raw) for i, raw in enumerate(raws)]

    out: dict[str, float] = {}
    for label in ("write", "write_many"):
        fs = frames()
        with RecordingWriter(folder / f"{label}.jsonl", "bench") as w:
            start = time.process_time()
            if label == "write":
                for f in fs:
                    w.write(f)
            else:
                for k in range(0, n, batch):
                    w.write_many(fs[k : k + batch])
            out[label] = (time.process_time() - start) / n * 1e6
    fd = os.open(folder / "bare.jsonl", os.O_WRONLY | os.O_CREAT, 0o600)
    start = time.process_time()
    for k in range(0, n, batch):
        os.write(fd, b"".join(raw + b"\n" for raw in raws[k : k + batch]))
    out["bare"] = (time.process_time() - start) / n * 1e6
    os.close(fd)
    return out


def timed(cmd: list[str], out: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    with open(out, "wb") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - start, out.read_bytes().count(b"\n")


def installed_env(tmp: Path) -> dict[str, str]:
    """The environment with bytecode caching on (into ``tmp``, not the source tree): an installed
    busconsole has its modules compiled, so compiling them on every run is no part of its speed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def fastest_jq(path: Path, tmp: Path, sample_mb: int = 16) -> str:
    """The quickest of the JQ_ERROR formulations on the first ``sample_mb`` of ``path``."""
    sample = tmp / "sample.jsonl"
    with open(path, "rb") as f:
        head = f.read(sample_mb << 20)
    sample.write_bytes(head[: head.rfind(b"\n") + 1])
    times = {expr: min(timed(["jq", "-c", expr, str(sample)], tmp / "jq-sample.out")[0] for _ in range(2))
             for expr in JQ_ERROR}
    sample.unlink()
    return min(times, key=times.__getitem__)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--quick", action="store_true", help="100 MB and 100 copies of the fixtures")
    ap.add_argument("--copies", type=int, default=1000, help="copies of the store-events fixtures")
    args = ap.parse_args()
    size_mb, copies = (100, 100) if args.quick else (args.size_mb, args.copies)
    tmp = Path(tempfile.mkdtemp(prefix="busconsole-bench-"))
    try:
        rec_path = tmp / "big.jsonl"
        t0 = time.perf_counter()
        n = generate(rec_path, size_mb)
        print(f"generated {rec_path.stat().st_size / 1e6:.0f} MB, {n:,} frames in {time.perf_counter() - t0:.1f} s")
        m = measure_open([rec_path])
        print(f"recording: index {m['mb_s']:.0f} MB/s ({m['index_s']:.2f} s), first frame "
              f"{m['first_s'] * 1000:.1f} ms, RSS after open +{m['rss_mb']:.0f} MB, "
              f"{m['bytes_per_frame']:.1f} index bytes/frame")

        replay = [sys.executable, "-m", "busconsole.cli", "replay", "--print", "--filter", "level:error"]
        env = installed_env(tmp)
        empty = tmp / "empty.jsonl"  # the same command on a header-only file: the CLI's start-up
        empty.write_bytes(b'{"busconsole":"recording","version":1,"source":"bench"}\n')
        startup = min(timed([*replay, str(empty)], tmp / "empty.out", env)[0] for _ in range(4))
        ours, n_ours = timed([*replay, str(rec_path)], tmp / "ours.out", env)
        if shutil.which("jq"):
            expr = fastest_jq(rec_path, tmp)
            jq, n_jq = timed(["jq", "-c", expr, str(rec_path)], tmp / "jq.out")
            print(f"level:error select: busconsole {ours:.2f} s ({n_ours:,} lines; {startup:.2f} s of it CLI "
                  f"start-up), jq {jq:.2f} s ({n_jq:,} lines; fastest form: {expr}): {jq / ours:.1f}x jq "
                  f"({jq / max(ours - startup, 1e-3):.1f}x without start-up)")
        else:
            print(f"level:error select: busconsole {ours:.2f} s ({n_ours:,} lines); jq not installed")

        w = measure_writer(tmp, 20_000 if args.quick else 100_000)
        print(f"writer: write() {w['write']:.1f} us CPU/frame, write_many(100) {w['write_many']:.1f} us; "
              f"bare JSONL append {w['bare']:.1f} us: write_many costs {w['write_many'] / w['bare']:.1f}x the bare append")

        if FIXTURES.is_dir():
            tree = tmp / "logs"
            files = replicate_fixtures(tree, copies)
            m = measure_open([tree])
            print(f"debug-log tree: {files:,} files, {m['frames']:,} frames, {m['mb']:.1f} MB: open+index "
                  f"{m['index_s']:.2f} s, first frame {m['first_s'] * 1000:.0f} ms, "
                  f"{m['bytes_per_frame']:.1f} index bytes/frame")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
