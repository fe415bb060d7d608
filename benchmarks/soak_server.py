"""Soak the reference server with hostile input and slow peers; print figures against limits.

    .venv/bin/python benchmarks/soak_server.py           # 100k fuzzed frames, stalled subscribers 60 s
    .venv/bin/python benchmarks/soak_server.py --quick   # the same, stalled subscribers for 5 s

The server is ``busconsole serve --db :memory: --seed-demo`` in its own process on
127.0.0.1, so its RSS and file descriptors are its own. Three phases, each bounded in
frames and seconds:

* fuzz: 4 clients send 100k random frames (garbage text, random JSON, half-valid requests
  with odd ids, deep nesting, big ``$or``, binary, rarely invalid UTF-8, which must close
  with 1007), with a fence query every 200 frames that must be answered.
* stall: subscribers of ``compute`` that read nothing, one after another, while a writer
  mutates compute and a healthy subscriber reads every update: each stalled one must be
  closed with 1008, the healthy one must get every update.
* big query: a client sends an 868 KiB ``$or`` of 50k alternatives again and again while
  another times small QUERY round trips.

Exit status 1 when a limit is exceeded (the table says which). ``tests/integration/
test_server_soak.py`` runs the same phases with small numbers against an in-process server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import children
import orjson
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
FENCE_EVERY = 500
REPLY_TIMEOUT = 15.0
KINDS = ["compute", "partner", "region", "cloud", "datacenter", "networkdevice", "widget", ""]
TYPES = ["QUERY", "query", "MUTATION", "SUBSCRIBE", "UNSUBSCRIBE", "CONSOLE_LOGS", "PING", "", None, 7]
ODD_IDS: list[Any] = ["--5", "²", 2**63, -(2**63) - 1, "9" * 30, 1.5, None, True, [], {}, "", " 12 ", 1, 2, 3]

# Limits the run is judged by.
MAX_RSS_GROWTH_MB = 150.0
MAX_P99_MS = 200.0
MAX_FD_GROWTH = 5


# ---------------------------------------------------------------------------- fuzz


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.5:
        return rng.choice([None, True, 0, -1, 2**64, 1e308, "", "x", "é✓", "\u0000", "a" * rng.randint(0, 300),
                           rng.randint(-(2**70), 2**70), rng.random()])
    if roll < 0.75:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["id", "name", "status", "$or", "$in", "$gt", "kind", "x"]): _value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "x"}
    for _ in range(depth):
        node = {"$or": [node]}
    return node


def fuzz_frame(rng: random.Random) -> str | bytes | tuple[bytes]:
    """One frame: text, bytes (a binary frame) or (bytes,) for a text frame of invalid UTF-8."""
    roll = rng.random()
    if roll < 0.001:
        return (b'{"type":"QUERY","entity":"\xff\xfe"}',)
    if roll < 0.02:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    if roll < 0.12:
        return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 80)))
    if roll < 0.25:
        return json.dumps(_value(rng)) if rng.random() < 0.5 else repr(_value(rng))
    kind = rng.choice(KINDS)
    frame: dict[str, Any] = {"type": rng.choice(TYPES), "entity": kind, "requestId": f"f{rng.randint(0, 999)}"}
    if roll < 0.55:
        criteria = rng.choice([
            _value(rng), {"status": _value(rng)}, {"$or": [{"id": i} for i in range(rng.randint(0, 30))]},
            _nested(rng.choice([5, 40, 130, 400])), {"name": {rng.choice(["$in", "$gt", "$contains", "$x"]): _value(rng)}},
        ])
        query = {"kind": rng.choice(KINDS), "criteria": criteria, "page": rng.choice([None, {"limit": 3}, _value(rng)]),
                 "sort": rng.choice([None, {"field": "id", "order": "DESC"}, _value(rng)])}
        frame.update(type=rng.choice(["QUERY", "query"]), query=query, payload=query)
    elif roll < 0.75:
        op = rng.choice(["UPDATE", "UPDATE", "DELETE", "CREATE", "create", "PATCH", 5])
        payload = {"id": rng.choice(ODD_IDS), rng.choice(["name", "note", "x"]): _value(rng)}
        if op == "CREATE" and rng.random() < 0.7:
            payload["id"] = rng.choice(ODD_IDS[:6])  # keep the store from growing with every CREATE
        frame.update(type="MUTATION", operation=op, payload=payload)
    elif roll < 0.9:
        frame.update(type=rng.choice(["SUBSCRIBE", "UNSUBSCRIBE"]), entity=rng.choice([kind, f"store{rng.randint(0, 99)}"]))
    else:
        frame.update(type="CONSOLE_LOGS", messages=rng.choice([[_value(rng)], _value(rng), [{"level": "error", "message": "m"}]]))
    if rng.random() < 0.1:
        frame.pop(rng.choice(list(frame)))
    text = json.dumps(frame)  # the stdlib writes what orjson refuses: 2**70, 1e308 * 10
    return text if rng.random() < 0.97 else text[: rng.randint(0, 40)]


@dataclass
class FuzzResult:
    sent: int = 0
    fences: int = 0
    closed_1007: int = 0
    invalid_utf8_sent: int = 0
    unexpected: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def _fuzz_client(url: str, n: int, seed: int, deadline: float, out: FuzzResult) -> None:
    rng = random.Random(seed)
    sent = 0
    while sent < n and time.monotonic() < deadline:
        invalid_sent = False
        # An unbounded queue: replies and broadcasts wait for the next fence, and a close
        # handshake is never stuck behind unread frames.
        async with connect(url, max_size=None, max_queue=None, compression=None, proxy=None) as ws:
            await ws.recv()  # CONNECTION
            try:
                while sent < n and time.monotonic() < deadline:
                    for _ in range(min(FENCE_EVERY, n - sent)):
                        frame = fuzz_frame(rng)
                        sent += 1
                        out.sent += 1
                        if isinstance(frame, tuple):
                            out.invalid_utf8_sent += 1
                            invalid_sent = True
                            await ws.send(frame[0], text=True)
                        else:
                            await ws.send(frame)
                    await _fence(ws, f"fence-{seed}-{sent}")
                    out.fences += 1
            except ConnectionClosed as exc:
                if invalid_sent and exc.rcvd is not None and exc.rcvd.code == 1007:
                    out.closed_1007 += 1
                else:
                    out.unexpected.append(f"client {seed}: {exc!r}")
                    return


async def _fence(ws: ClientConnection, rid: str) -> None:
    """Read until the answer to a fresh query: every frame before it was handled."""
    await ws.send(orjson.dumps({"type": "QUERY", "entity": "partner", "payload": {"kind": "partner", "page": {"limit": 1}},
                                "requestId": rid}).decode())
    async with asyncio.timeout(REPLY_TIMEOUT):
        while orjson.loads(await ws.recv()).get("requestId") != rid:
            pass


async def fuzz(url: str, frames: int = 100_000, clients: int = 4, seconds: float = 90.0, seed: int = 15) -> FuzzResult:
    out = FuzzResult()
    start = time.monotonic()
    deadline = start + seconds
    await asyncio.gather(*(_fuzz_client(url, frames // clients, seed + i, deadline, out) for i in range(clients)))
    out.seconds = time.monotonic() - start
    return out


# ---------------------------------------------------------------------------- stalled subscribers


@dataclass
class StallResult:
    stalled: int = 0
    closed_1008: int = 0
    mutations: int = 0
    healthy_updates: int = 0
    problems: list[str] = field(default_factory=list)


STALL_QUERY = '{"type":"QUERY","entity":"soak-stall","payload":{"kind":"compute"}}'
STALL_SUBSCRIBE = '{"type":"SUBSCRIBE","entity":"soak-stall"}'


async def _stalled_subscriber(url: str) -> ClientConnection:
    """A subscriber of every compute row that reads nothing more: tiny receive buffer, one-message queue."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    ws = await connect(url, sock=sock, max_queue=1, max_size=None, compression=None, proxy=None)
    await ws.recv()
    await ws.send(STALL_SUBSCRIBE)
    await ws.recv()
    return ws


async def _close_code(ws: ClientConnection) -> int | None:
    """Read the stalled backlog to its end: the server's close code, if any."""
    try:
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    except TimeoutError:
        await ws.close()
        return None


async def stall(url: str, seconds: float = 60.0, cycle: float = 4.0) -> StallResult:
    """A writer mutates compute without pause for ``seconds``; every ``cycle`` seconds a new
    subscriber stalls, and at the cycle's end its backlog is read: it must end in a close."""
    out = StallResult()
    stop = asyncio.Event()
    async with connect(url, max_size=None, compression=None, proxy=None) as writer, \
            connect(url, max_size=None, compression=None, proxy=None) as healthy:
        await writer.recv()
        await writer.send(STALL_QUERY)  # every compute row: whatever the fuzz left as compute's query
        await writer.recv()
        await healthy.recv()
        await healthy.send(STALL_SUBSCRIBE)
        await healthy.recv()

        async def read_healthy() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for message in healthy:
                    if '"STORE_UPDATE"' in (message if isinstance(message, str) else message.decode()):
                        out.healthy_updates += 1

        async def write() -> None:
            while not stop.is_set():
                await writer.send(orjson.dumps({"type": "MUTATION", "entity": "compute", "operation": "UPDATE",
                                                "payload": {"id": 1, "note": out.mutations}}).decode())
                async with asyncio.timeout(REPLY_TIMEOUT):
                    await writer.recv()
                out.mutations += 1

        reader, writing = asyncio.create_task(read_healthy()), asyncio.create_task(write())
        cycles = max(1, round(seconds / cycle))
        for _ in range(cycles):
            stalled = await _stalled_subscriber(url)
            out.stalled += 1
            await asyncio.sleep(seconds / cycles)
            code = await _close_code(stalled)
            if code == 1008:
                out.closed_1008 += 1
            else:
                out.problems.append(f"stalled subscriber {out.stalled}: {'still open' if code is None else code}")
        stop.set()
        await writing
        async with asyncio.timeout(REPLY_TIMEOUT):  # the healthy reader catches up, then is judged
            while out.healthy_updates < out.mutations and not reader.done():
                await asyncio.sleep(0.02)
        reader.cancel()
    return out


# ---------------------------------------------------------------------------- big query


@dataclass
class LatencyResult:
    trips: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    big_sent: int = 0
    big_refused: int = 0


def big_query_frame(alternatives: int = 50_000) -> str:
    query = {"kind": "compute", "criteria": {"$or": [{"name": f"node-{i:05d}"} for i in range(alternatives)]}}
    return orjson.dumps({"type": "QUERY", "entity": "compute", "query": query, "requestId": "big"}).decode()


async def big_query(url: str, seconds: float = 10.0, trips: int = 20_000) -> LatencyResult:
    out = LatencyResult()
    big = big_query_frame()
    stop = asyncio.Event()

    async def hammer() -> None:
        async with connect(url, max_size=None, compression=None, proxy=None) as ws:
            await ws.recv()
            while not stop.is_set():
                await ws.send(big)
                out.big_sent += 1
                async with asyncio.timeout(REPLY_TIMEOUT):
                    reply = orjson.loads(await ws.recv())
                out.big_refused += reply.get("type") == "ERROR"

    times: list[float] = []
    small = '{"type":"QUERY","entity":"region","payload":{"kind":"region","page":{"limit":5}},"requestId":"t"}'
    async with connect(url, max_size=None, compression=None, proxy=None) as ws:
        await ws.recv()
        load = asyncio.create_task(hammer())
        deadline = time.monotonic() + seconds
        while len(times) < trips and time.monotonic() < deadline:
            t0 = time.perf_counter()
            await ws.send(small)
            async with asyncio.timeout(REPLY_TIMEOUT):
                await ws.recv()
            times.append((time.perf_counter() - t0) * 1000)
        stop.set()
        await load
    times.sort()
    out.trips = len(times)
    out.p50_ms = statistics.median(times)
    out.p99_ms = times[min(len(times) - 1, int(len(times) * 0.99))]
    out.max_ms = times[-1]
    return out


# ---------------------------------------------------------------------------- the run


class Sampler:
    """Peak RSS of a process, sampled on a timer while the phases run."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = self.rss()

    def rss(self) -> int:
        return int(self.proc.memory_info().rss)

    def fds(self) -> int:
        return int(self.proc.num_fds())

    async def run(self) -> None:
        while True:
            self.peak = max(self.peak, self.rss())
            await asyncio.sleep(0.2)


async def soak(url: str, pid: int, frames: int, stall_seconds: float, query_seconds: float,
               max_p99_ms: float = MAX_P99_MS) -> list[tuple[str, str, str, bool]]:
    """Every phase against ``url`` (the server's process is ``pid``); rows of (what, figure, limit, ok)."""
    sampler = Sampler(pid)
    base_rss, base_fds = sampler.rss(), sampler.fds()
    task = asyncio.create_task(sampler.run())
    try:
        fz = await fuzz(url, frames)
        st = await stall(url, stall_seconds)
        lat = await big_query(url, query_seconds)
    finally:
        task.cancel()
    fds = sampler.fds()
    for _ in range(50):  # closed connections may take a moment to leave the server
        if fds <= base_fds + MAX_FD_GROWTH:
            break
        await asyncio.sleep(0.1)
        fds = sampler.fds()
    mb = 2**20
    growth = (sampler.peak - base_rss) / mb
    return [
        ("fuzz frames", f"{fz.sent} in {fz.seconds:.1f} s ({fz.sent / max(fz.seconds, 1e-9):,.0f}/s), {fz.fences} fences answered",
         f"{frames} sent", fz.sent == frames),
        ("fuzz closes", f"{fz.closed_1007} with 1007 for {fz.invalid_utf8_sent} invalid UTF-8; unexpected: {fz.unexpected or 'none'}",
         "1007 only after invalid UTF-8", not fz.unexpected and (fz.closed_1007 > 0) == (fz.invalid_utf8_sent > 0)),
        ("stalled subscribers", f"{st.stalled} opened, {st.closed_1008} closed with 1008 over {st.mutations} updates"
         f"{'; ' + '; '.join(st.problems) if st.problems else ''}",
         "each closed with 1008", st.closed_1008 == st.stalled > 0 and not st.problems),
        ("healthy subscriber", f"{st.healthy_updates} of {st.mutations} updates", "all", st.healthy_updates >= st.mutations),
        ("latency beside the 50k $or", f"p50 {lat.p50_ms:.2f} ms, p99 {lat.p99_ms:.2f} ms, max {lat.max_ms:.1f} ms "
         f"({lat.trips} trips; {lat.big_refused} of {lat.big_sent} big queries refused)",
         f"p99 < {max_p99_ms:.0f} ms", lat.p99_ms < max_p99_ms and lat.big_refused == lat.big_sent > 0),
        ("server RSS", f"{base_rss / mb:.0f} MB at start, peak {sampler.peak / mb:.0f} MB (+{growth:.0f}), "
         f"end {sampler.rss() / mb:.0f} MB", f"+{MAX_RSS_GROWTH_MB:.0f} MB", growth <= MAX_RSS_GROWTH_MB),
        ("server fds", f"{base_fds} at start, {fds} at the end", f"+{MAX_FD_GROWTH}", fds <= base_fds + MAX_FD_GROWTH),
    ]


@contextlib.contextmanager
def serve() -> Iterator[tuple[str, int]]:
    """``busconsole serve`` in its own process on a free loopback port: (url, pid)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "busconsole.cli", "serve", "--port", str(port), "--db", ":memory:", "--seed-demo"]
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 20
        while "listening" not in (line := proc.stderr.readline()):
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {line}")
        yield f"ws://127.0.0.1:{port}/store-debug", proc.pid
    finally:
        children.stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="stalled subscribers for 5 s instead of 60")
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    stall_seconds = 5.0 if args.quick else 60.0
    started = time.monotonic()
    with serve() as (url, pid):
        rows = asyncio.run(soak(url, pid, args.frames, stall_seconds, query_seconds=8.0))
    width = max(len(r[0]) for r in rows)
    for what, figure, limit, ok in rows:
        print(f"{'ok ' if ok else 'FAIL'} {what:<{width}}  {figure}  [limit: {limit}]")
    print(f"total {time.monotonic() - started:.0f} s")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
