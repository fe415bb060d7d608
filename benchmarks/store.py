"""EventStore ingest speed and memory per frame, against the same frames kept as orjson dicts.

    .venv/bin/python benchmarks/store.py            # 1,000,000 frames
    .venv/bin/python benchmarks/store.py --quick    # 200,000 frames

Each measurement runs in a fresh child process so one does not inherit the other's
freed memory. The frames are generated first; memory is the resident-set growth while
the structure is built from them, minus the raw bytes (what the frames are), giving the
overhead. Target: <= 200 B/frame. Times are the process's CPU time, so engineers sharing
the machine do not inflate them.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from busconsole.frames import CapturedFrame  # noqa: E402
from busconsole.store import EventStore  # noqa: E402

ENTITIES = ("partner", "cloud", "region", "compute", "datacenter", "networkdevice", "user", "role")


def synthetic(n: int) -> Iterator[tuple[float, str, bytes]]:
    """~200 B frames in a realistic mix: query/reply, mutation/success/broadcast, console, subscribe."""
    t = 1_758_332_000_000.0
    for i in range(n):
        t += 0.25
        entity = ENTITIES[i % len(ENTITIES)]
        kind = i % 10
        req = f"req_{int(t)}_{i // 10:08x}"
        if kind in (0, 2):
            obj = {"type": "QUERY", "entity": entity, "requestId": req, "timestamp": int(t),
                   "query": {"kind": entity, "criteria": {"partnerId": i % 50}, "page": {"limit": 20, "offset": 0}}}
            out = True
        elif kind in (1, 3):
            obj = {"type": "QUERY_RESULT", "entity": entity, "requestId": f"req_{int(t - 0.25)}_{i // 10:08x}",
                   "timestamp": int(t), "data": {"entity": entity, "data": [{"id": i % 97, "name": "n" * 20}], "meta": {}}}
            out = False
        elif kind == 4:
            obj = {"type": "MUTATION", "entity": entity, "operation": "UPDATE", "requestId": req, "timestamp": int(t),
                   "payload": {"id": i % 97, "status": "ACTIVE", "name": "x" * 30}}
            out = True
        elif kind == 5:
            obj = {"type": "MUTATION_SUCCESS", "entity": ENTITIES[(i - 1) % len(ENTITIES)], "operation": "UPDATE",
                   "timestamp": int(t), "data": {"id": (i - 1) % 97, "status": "ACTIVE", "name": "x" * 30}}
            out = False
        elif kind in (6, 7):
            obj = {"type": "STORE_UPDATE", "entity": ENTITIES[(i - 2) % len(ENTITIES)], "timestamp": int(t),
                   "data": {"entity": entity, "data": [{"id": i % 97, "status": "ACTIVE"}], "meta": {"v": i}}}
            out = False
        elif kind == 8:
            obj = {"type": "CONSOLE_LOGS", "timestamp": int(t), "messages": [
                {"timestamp": int(t), "level": ("log", "warn", "error")[i % 3], "message": "m" * 60, "args": []}]}
            out = True
        else:
            obj = {"type": "SUBSCRIBE", "entity": entity, "timestamp": int(t), "metadata": {"source": "frontend"}}
            out = True
        yield t, "out" if out else "in", orjson.dumps(obj)


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def run_store(n: int, q: mp.Queue) -> None:  # type: ignore[type-arg]
    frames = list(synthetic(n))
    raw = sum(len(data) for _, _, data in frames)
    before = rss()
    store = EventStore(max_frames=n)
    start = time.process_time()
    for seq, (t, d, data) in enumerate(frames):
        store.append(CapturedFrame(seq, t, d, "c1", data))  # type: ignore[arg-type]
    elapsed = time.process_time() - start
    q.put({"seconds": elapsed, "bytes": rss() - before, "raw": raw, "len": len(store)})


def run_dicts(n: int, q: mp.Queue) -> None:  # type: ignore[type-arg]
    frames = [data for _, _, data in synthetic(n)]
    raw = sum(map(len, frames))
    before = rss()
    start = time.process_time()
    kept = [orjson.loads(data) for data in frames]
    elapsed = time.process_time() - start
    q.put({"seconds": elapsed, "bytes": rss() - before, "raw": raw, "len": len(kept)})


def measure(target: object, n: int) -> dict[str, float]:
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    p = mp.Process(target=target, args=(n, q))
    p.start()
    result: dict[str, float] = q.get(timeout=600)
    p.join(timeout=60)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200,000 frames instead of 1,000,000")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args()
    n = 200_000 if args.quick else 1_000_000
    store, dicts = measure(run_store, n), measure(run_dicts, n)
    raw_per = store["raw"] / n
    figures = {
        "frames": n,
        "raw_bytes_per_frame": round(raw_per, 1),
        "store_ingest_s": round(store["seconds"], 2),
        "store_frames_per_s": round(n / store["seconds"]),
        "store_bytes_per_frame": round(store["bytes"] / n, 1),
        "store_overhead_per_frame": round(store["bytes"] / n - raw_per, 1),
        "dicts_ingest_s": round(dicts["seconds"], 2),
        "dicts_bytes_per_frame": round(dicts["bytes"] / n, 1),
        "dicts_overhead_per_frame": round(dicts["bytes"] / n - raw_per, 1),
    }
    figures["memory_ratio_dicts_over_store"] = round(dicts["bytes"] / store["bytes"], 2)
    figures["ingest_ratio_store_over_dicts"] = round(figures["store_ingest_s"] / figures["dicts_ingest_s"], 2)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{n:,} synthetic frames, {raw_per:.0f} B raw each")
    print(f"EventStore      ingest {figures['store_ingest_s']:6.2f} s CPU  ({figures['store_frames_per_s']:,} frames/s)"
          f"  memory {figures['store_bytes_per_frame']:6.1f} B/frame = raw + {figures['store_overhead_per_frame']:.1f} B overhead"
          "  (target <= 200)")
    print(f"orjson dicts    ingest {figures['dicts_ingest_s']:6.2f} s CPU"
          f"  memory {figures['dicts_bytes_per_frame']:6.1f} B/frame = raw + {figures['dicts_overhead_per_frame']:.1f} B overhead")
    print(f"ratio: dicts use {figures['memory_ratio_dicts_over_store']}x the store's memory;"
          f" store ingest takes {figures['ingest_ratio_store_over_dicts']}x the time of orjson decoding alone")


if __name__ == "__main__":
    main()
