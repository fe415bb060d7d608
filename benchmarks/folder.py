"""A store server's real log folder: thousands of small store-events files, almost every batch
with an error. ``busconsole replay DIR --print --filter level:error`` against the same bytes as
one file (time and RSS), and against jq over the same files; the time to the first frame.

    .venv/bin/python benchmarks/folder.py               # 15,000 files of one or two batches
    .venv/bin/python benchmarks/folder.py --files 3000

The files are generated from the shapes of ../shared/fixtures/orchestrix (a console batch of
about twenty messages, most batches holding an error) into a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
JQ_ERROR = 'select(.messages? // empty | any(.[]; .level=="error"))'
LEVELS = ("log", "log", "warn", "info", "error", "debug")


def batch(rng: random.Random, t: float, session: str) -> dict[str, object]:
    """One store-events line: the CONSOLE_LOGS batch a frontend sent, as the server logs it."""
    messages = []
    for k in range(rng.randint(8, 30)):
        level = rng.choice(LEVELS)
        messages.append({
            "timestamp": t + k, "isoTimestamp": "2025-09-22T05:41:13.000Z", "level": level,
            "message": f"[StoreEventBus] {level} while loading partner {rng.randint(1, 999)}: request took "
                       f"{rng.randint(1, 900)} ms", "args": [{"entity": "partner", "attempt": k}],
            "source": "frontend",
            **({"stackTrace": "Error: boom\n    at loadPartners (store.ts:120:11)"} if level == "error" else {}),
        })
    if rng.random() < 0.97 and not any(m["level"] == "error" for m in messages):
        messages[0]["level"] = "error"  # real folders: almost every batch holds an error
    return {"timestamp": t, "isoTimestamp": "2025-09-22T05:41:13.000Z", "type": "console",
            "operation": "CONSOLE_LOGS", "entity": "frontend", "count": len(messages), "messages": messages,
            "metadata": {"source": "frontend", "sessionId": session}}


def generate(folder: Path, files: int) -> tuple[int, int]:
    rng = random.Random(7)
    folder.mkdir(parents=True)
    t = 1_758_520_000_000.0
    lines = size = 0
    for n in range(files):
        t += 1000.0 + rng.random() * 40_000
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(t / 1000))
        body = b"".join(orjson.dumps(batch(rng, t + k, f"session_{n % 40}")) + b"\n"
                        for k in range(rng.choice((1, 1, 2))))
        (folder / f"store-events-{stamp}-{n}.jsonl").write_bytes(body)
        lines += body.count(b"\n")
        size += len(body)
    return lines, size


def run(cmd: list[str], out: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and output lines of ``cmd``."""
    with open(out, "wb") as f:
        start = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", *cmd], stdout=f, stderr=subprocess.PIPE)
        _, err = proc.communicate()
        wall = time.perf_counter() - start
    rss_kb = int(err.decode().strip().splitlines()[-1])
    return wall, rss_kb / 1024, out.read_bytes().count(b"\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=15_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="busconsole-folder-"))
    try:
        folder = tmp / "debug-store"
        lines, size = generate(folder, args.files)
        one = tmp / "one.jsonl"
        with open(one, "wb") as f:
            for p in sorted(folder.iterdir()):
                f.write(p.read_bytes())
        print(f"server folder: {args.files:,} files, {lines:,} batches, {size / 1e6:.1f} MB")
        env_py = [sys.executable, "-m", "busconsole.cli", "replay"]
        flt = ["--print", "--filter", "level:error"]
        res: dict[str, list[tuple[float, float, int]]] = {"folder": [], "file": [], "jq": []}
        for _ in range(args.rounds):  # interleaved rounds, medians
            res["folder"].append(run([*env_py, str(folder), *flt], tmp / "a.out"))
            res["file"].append(run([*env_py, str(one), *flt], tmp / "b.out"))
            res["jq"].append(run(["sh", "-c", f"find {folder} -name '*.jsonl' -print0 | xargs -0 jq -c '{JQ_ERROR}'"],
                                 tmp / "c.out"))
        med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v), v[0][2])
               for k, v in res.items()}
        (fw, fr, fn), (ow, orss, on), (jw, _, jn) = med["folder"], med["file"], med["jq"]
        print(f"replay DIR --print --filter level:error: {fw:.2f} s, {fr:.0f} MB RSS, {fn:,} lines")
        print(f"same bytes as one file:                 {ow:.2f} s, {orss:.0f} MB RSS, {on:,} lines")
        print(f"jq over the same files:                 {jw:.2f} s, {jn:,} lines")
        print(f"folder / one file: {fw / ow:.2f}x time [target <= 1.3], {fr / orss:.2f}x RSS [target <= 1.5]; "
              f"jq / folder: {jw / fw:.1f}x [target >= 3]")
        from busconsole.recording.reader import open_recording

        start = time.perf_counter()
        rec = open_recording([folder])
        while len(rec) == 0 and not rec.indexing_done:
            time.sleep(0.0005)
        rec.frame(0)
        print(f"first frame of the folder: {(time.perf_counter() - start) * 1000:.0f} ms (load average "
              f"{os.getloadavg()[0]:.1f})")
        rec.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
