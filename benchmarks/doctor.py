"""The bus doctor's cost: `busconsole replay FILE --doctor` against `busconsole replay FILE --stats`
on the same generated recording (the issue's bar: within 1.5x).

    .venv/bin/python benchmarks/doctor.py                 # ~100 MB recording
    .venv/bin/python benchmarks/doctor.py --size-mb 1024  # the issue's 1 GB (needs ~8 GB of RAM)

Both commands read the file into the same store (pairing over the whole input) and then
walk its frames once: --stats to count, --doctor to run its checks. Runs alternate, the
best of --runs is kept (the machine is shared), and each command's CPU time is reported
too. The file is generated in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.format import encode

ENTITIES = ("partner", "cloud", "compute", "datacenter")


def traffic(rng: random.Random, n: int, t: float, conn: str) -> list[CapturedFrame]:
    """One request and what follows it on one connection: a query and its result (a few rows),
    or a mutation, its success and the broadcast; now and then a console batch."""
    entity = rng.choice(ENTITIES)
    rid = f"req_{int(t)}_{n:08x}"
    rows = [{"id": rng.randint(1, 500), "name": f"{entity}-{k}", "status": "ACTIVE"} for k in range(4)]
    out: list[tuple[str, dict[str, object]]]
    if rng.random() < 0.7:
        query = {"kind": entity, "criteria": {"id": rng.randint(1, 5000)}, "page": {"limit": 20, "offset": 0}}
        out = [(OUT, {"type": "QUERY", "entity": entity, "query": query, "payload": query, "requestId": rid,
                      "timestamp": int(t)}),
               (IN, {"type": "QUERY_RESULT", "entity": entity, "requestId": rid, "timestamp": int(t) + 3,
                     "data": {"entity": entity, "data": rows, "meta": {"total": 4}}})]
    else:
        out = [(OUT, {"type": "MUTATION", "entity": entity, "operation": "UPDATE", "requestId": rid,
                      "payload": {"id": rng.randint(1, 500), "status": "ACTIVE"}, "timestamp": int(t)}),
               (IN, {"type": "MUTATION_SUCCESS", "entity": entity, "operation": "UPDATE", "timestamp": int(t) + 5,
                     "data": rows[0]}),
               (IN, {"type": "STORE_UPDATE", "entity": entity, "timestamp": int(t) + 6,
                     "data": {"entity": entity, "data": rows}})]
    if rng.random() < 0.1:
        level = "error" if rng.random() < 0.05 else "log"
        out.append((OUT, {"type": "CONSOLE_LOGS", "timestamp": int(t) + 7, "messages": [
            {"timestamp": int(t), "level": level, "message": f"render took {rng.randint(1, 90)} ms", "args": []}]}))
    return [CapturedFrame(0, t + k, d, conn, orjson.dumps(obj)) for k, (d, obj) in enumerate(out)]


def generate(path: Path, size_mb: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    n = seq = 0
    t = 1_758_332_020_000.0
    with open(path, "wb") as f:
        f.write(b'{"busconsole":"recording","version":1,"created":"2025-09-20T00:00:00Z","source":"bench"}\n')
        for k in range(4):
            seq += 1
            f.write(encode(CapturedFrame(seq, t, OUT, f"c{k + 1}", b'{"type":"SUBSCRIBE","entity":"compute"}')))
        written = 0
        while written < target:
            block = []
            for _ in range(256):
                n += 1
                t += rng.uniform(5, 40)
                for frame in traffic(rng, n, t, f"c{rng.randint(1, 4)}"):
                    seq += 1
                    block.append(encode(CapturedFrame(seq, frame.t, frame.dir, frame.conn, frame.raw)))
            data = b"".join(block)
            f.write(data)
            written += len(data)
    return seq


def run(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one busconsole command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "busconsole.cli", *args], capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=2)
    opts = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="busconsole-doctor-bench-"))
    try:
        path = tmp / "session.jsonl"
        started = time.perf_counter()
        frames = generate(path, opts.size_mb)
        size = path.stat().st_size / 2**20
        print(f"recording: {size:.0f} MB, {frames:,} frames (generated in {time.perf_counter() - started:.1f} s)")
        walls: dict[str, list[float]] = {"--stats": [], "--doctor": []}
        cpus: dict[str, list[float]] = {"--stats": [], "--doctor": []}
        for _ in range(opts.runs):
            for name, extra in (("--stats", ["--stats"]), ("--doctor", ["--doctor"])):
                wall, cpu = run(["replay", str(path), *extra])
                print(f"  replay {name:<9} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
                walls[name].append(wall)
                cpus[name].append(cpu)
        sw, dw = min(walls["--stats"]), min(walls["--doctor"])
        sc, dc = min(cpus["--stats"]), min(cpus["--doctor"])
        print(f"best: --stats {sw:.2f} s wall {sc:.2f} s CPU, --doctor {dw:.2f} s wall {dc:.2f} s CPU: "
              f"ratio {dw / sw:.2f} wall, {dc / sc:.2f} CPU (bar: 1.5; on a shared machine CPU is the fair one)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
