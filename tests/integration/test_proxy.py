"""The proxy tap between real websockets clients and real servers on loopback.

Frontends are plain websockets clients; upstream is the reference store server, or a
small scripted server (defined here) when a test must know exactly what the server sent
and which handshake headers reached it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request

from busconsole.frames import CapturedFrame
from busconsole.recording.reader import open_recording
from busconsole.recording.writer import RecordingWriter
from busconsole.server.runner import ServerThread
from busconsole.transport.proxy import ProxyTap, upstream_url
from busconsole.transport.proxy_capture import Capture, Recorder

pytestmark = pytest.mark.timeout(60)
WAIT = 10.0  # seconds any single awaited event may take before the test fails


@dataclass
class Tap:
    proxy: ProxyTap
    capture: Capture
    path: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.proxy.port}"

    def recorded(self) -> list[CapturedFrame]:
        with open_recording([self.path], background=False) as rec:
            return [rec.frame(i) for i in range(len(rec))]


@asynccontextmanager
async def running_proxy(upstream: str, tmp_path: Path, view_backlog: int | None = 1000) -> AsyncIterator[Tap]:
    """A proxy on a free port recording to a file; the recording is complete on exit."""
    path = tmp_path / "proxy.jsonl"
    recorder = Recorder(RecordingWriter(path, f"proxy → {upstream}"))
    capture = Capture(recorder, view_backlog=view_backlog)
    proxy = ProxyTap(upstream, capture, port=0)
    await proxy.start()
    try:
        yield Tap(proxy, capture, path)
    finally:
        await proxy.stop()
        await asyncio.to_thread(recorder.close)


@dataclass
class Scripted:
    """A real upstream that answers each message with ``script(message)`` and keeps a log
    of what it received and sent, and of each handshake request."""

    script: Callable[[str | bytes], list[str | bytes]]
    received: list[str | bytes] = field(default_factory=list)
    sent: list[str | bytes] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    subprotocols: tuple[str, ...] = ()

    async def handler(self, ws: ServerConnection) -> None:
        try:
            async for message in ws:
                self.received.append(message)
                for reply in self.script(message):
                    self.sent.append(reply)
                    await ws.send(reply)
        except ConnectionClosed:
            pass

    def keep_request(self, ws: ServerConnection, request: Request) -> None:
        self.requests.append(request)


@asynccontextmanager
async def scripted_server(script: Callable[[str | bytes], list[str | bytes]], **kw: Any) -> AsyncIterator[tuple[Scripted, str]]:
    up = Scripted(script, **kw)
    async with serve(
        up.handler, "127.0.0.1", 0, max_size=None, process_request=up.keep_request,
        subprotocols=list(up.subprotocols) or None,  # type: ignore[arg-type]
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield up, f"ws://127.0.0.1:{port}/store-debug"


async def collect(ws: ClientConnection, into: list[str | bytes]) -> None:
    """Read until the connection closes."""
    try:
        async for message in ws:
            into.append(message)
    except ConnectionClosed:
        pass


def as_bytes(message: str | bytes) -> bytes:
    return message.encode() if isinstance(message, str) else message


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait for a condition another task or thread brings about (bounded by WAIT)."""
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), WAIT)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


async def reply_to(ws: ClientConnection, got: list[str | bytes], req: str) -> dict[str, Any]:
    """Wait for the frame answering ``req`` among what ``collect`` gathers."""
    def answered() -> bool:
        return any(req.encode() in as_bytes(m) for m in got)

    await until(answered, f"the reply to {req}")
    return next(orjson.loads(m) for m in got if req.encode() in as_bytes(m))


def traffic(frames: list[CapturedFrame], conn: str, direction: str) -> list[bytes]:
    return [f.raw for f in frames if f.conn == conn and f.dir == direction and not f.type.startswith("PROXY_")]


def events(frames: list[CapturedFrame], kind: str) -> list[dict[str, Any]]:
    return [f.obj for f in frames if f.type == kind and f.obj is not None]


# ---------------------------------------------------------------------------- reference server


async def test_frontends_through_proxy_byte_for_byte_and_recorded_once(server: ServerThread, tmp_path: Path) -> None:
    """Three frontends query, subscribe and mutate; every frame arrives unchanged on the other
    side and is recorded exactly once, with its direction and its connection id."""
    n = 3
    async with running_proxy(server.url, tmp_path) as tap:
        clients = [await connect(tap.url + "/store-debug?tenant=t1", compression=None) for _ in range(n)]
        got: list[list[str | bytes]] = [[] for _ in range(n)]
        readers = [asyncio.create_task(collect(ws, into)) for ws, into in zip(clients, got, strict=True)]
        sent: list[list[str]] = [[] for _ in range(n)]

        async def say(i: int, frame: str) -> None:
            sent[i].append(frame)
            await clients[i].send(frame)

        for i in range(n):
            await say(i, '{"type":"SUBSCRIBE","entity":"partner"}')
            await say(i, f'{{"type":"QUERY", "entity":"partner","payload":{{"kind":"partner","page":{{"limit":2}}}},"requestId":"q{i}","x":[1, 2.50]}}')
            await reply_to(clients[i], got[i], f"q{i}")
            await say(i, f'{{"type":"MUTATION","entity":"partner","operation":"CREATE","payload":{{"name":"P{i} ü ✓"}},"requestId":"m{i}"}}')
            await say(i, "not json at all")
        await until(lambda: len(server.received) == 4 * n, "the server to get every frame")
        # Fence: a final query per client; its answer comes after every broadcast sent to it.
        for i in range(n):
            await say(i, f'{{"type":"QUERY","entity":"partner","payload":{{"kind":"partner"}},"requestId":"fence{i}"}}')
        for i in range(n):
            await reply_to(clients[i], got[i], f"fence{i}")
        for ws in clients:
            await ws.close()
        await asyncio.gather(*readers)
        await until(lambda: not tap.proxy.connections, "the proxy to close both hops")

    frames = tap.recorded()
    # client → server: the server received exactly what the clients sent (per-client order kept).
    assert sorted(as_bytes(m) for m in server.received) == sorted(s.encode() for per in sent for s in per)
    opens = events(frames, "PROXY_OPEN")
    assert [e["conn"] for e in opens] == ["c1", "c2", "c3"]
    assert all(e["path"].endswith("/store-debug?tenant=t1") and e["peer"].startswith("127.0.0.1:") for e in opens)
    for i, conn in enumerate(("c1", "c2", "c3")):
        assert [r.strip() for r in traffic(frames, conn, "out")] == [s.encode().strip() for s in sent[i]]
        # server → client: what the proxy read from the server is what the client got.
        assert traffic(frames, conn, "in") == [as_bytes(m).strip() for m in got[i]]
        assert any(orjson.loads(m)["type"] == "STORE_UPDATE" for m in got[i])
    closes = events(frames, "PROXY_CLOSE")
    assert sorted((e["conn"], e["by"], e["code"]) for e in closes) == [(c, "client", 1000) for c in ("c1", "c2", "c3")]
    seqs = [f.seq for f in frames]
    assert seqs == sorted(set(seqs)), "each frame recorded once, in capture order"
    assert (tap.path.stat().st_mode & 0o777) == 0o600


async def test_upstream_restart_closes_clients_then_new_connections_work(server: ServerThread, tmp_path: Path) -> None:
    async with running_proxy(server.url, tmp_path) as tap:
        a = await connect(tap.url + "/store-debug")
        b = await connect(tap.url + "/store-debug")
        for ws in (a, b):
            assert orjson.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "CONNECTION"
        await asyncio.to_thread(server.restart)
        for ws in (a, b):
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001  # the server's going-away
        c = await connect(tap.url + "/store-debug")
        assert orjson.loads(await asyncio.wait_for(c.recv(), WAIT))["type"] == "CONNECTION"
        await c.send('{"type":"QUERY","entity":"partner","payload":{"kind":"partner"},"requestId":"after"}')
        assert orjson.loads(await asyncio.wait_for(c.recv(), WAIT))["requestId"] == "after"
        await c.close()
    closes = {e["conn"]: e for e in events(tap.recorded(), "PROXY_CLOSE")}
    assert closes["c1"]["by"] == closes["c2"]["by"] == "upstream"
    assert closes["c1"]["code"] == closes["c1"]["relayed"] == 1001
    assert closes["c3"]["by"] == "client"


async def test_upstream_down_closes_client_with_1014_and_keeps_listening(server: ServerThread, tmp_path: Path) -> None:
    await asyncio.to_thread(server.stop)
    async with running_proxy(server.url, tmp_path) as tap:
        for _ in range(2):
            ws = await connect(tap.url + "/store-debug", subprotocols=["bus.v1"])  # type: ignore[list-item]
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1014
            assert closed.value.rcvd.reason.startswith("upstream unreachable")
        await asyncio.to_thread(server.start)
        ws = await connect(tap.url + "/store-debug")
        assert orjson.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "CONNECTION"
        await ws.close()
    closes = events(tap.recorded(), "PROXY_CLOSE")
    assert [(e["conn"], e["by"], e["code"]) for e in closes[:2]] == [("c1", "proxy", 1014), ("c2", "proxy", 1014)]


# ---------------------------------------------------------------------------- scripted upstream


def echo_plus(message: str | bytes) -> list[str | bytes]:
    """The message back, then a text and a binary frame of the server's own."""
    return [message, ' {"type":"STORE_UPDATE" ,"entity":"é"}\n', b"\x00\xffbin"]


async def test_binary_unicode_and_large_frames_are_forwarded_exactly(tmp_path: Path) -> None:
    big = '{"type":"QUERY_RESULT","data":"' + "x" * (3 * 2**20) + '"}'  # past websockets' 1 MiB default
    to_send: list[str | bytes] = [b"\x80\x81 not utf-8", "  {\"type\" : \"QUERY\"}  ", "ünï ✓ text", big, os.urandom(4096)]
    async with scripted_server(echo_plus) as (up, url), running_proxy(url, tmp_path) as tap:
        async with connect(tap.url + "/x", max_size=None) as ws:
            got: list[str | bytes] = []
            for message in to_send:
                await ws.send(message)
                for _ in range(3):
                    got.append(await asyncio.wait_for(ws.recv(), WAIT))
        assert up.received == to_send
        assert got == up.sent  # same types (text vs binary) and same contents
    frames = tap.recorded()
    binary_out = [f for f in frames if f.dir == "out" and f.binary]
    assert [f.raw for f in binary_out] == [to_send[0], to_send[4]]
    assert len([f for f in frames if f.dir == "in" and f.conn == "c1"]) == len(up.sent) + 2  # + open, close


async def test_handshake_headers_path_and_subprotocol_pass_through(tmp_path: Path) -> None:
    async with scripted_server(echo_plus, subprotocols=("bus.v2", "bus.v1")) as (up, url), running_proxy(url, tmp_path) as tap:
        headers = {"Authorization": "Bearer s3cr3t-t0ken-value", "Cookie": "sid=abc123"}
        async with connect(
            tap.url + "/store-debug?token=hush&tenant=7", additional_headers=headers,
            subprotocols=["bus.v1"], compression=None,  # type: ignore[list-item]
        ) as ws:
            assert ws.subprotocol == "bus.v1"
            await ws.send("ping")
            assert await asyncio.wait_for(ws.recv(), WAIT) == "ping"
        # The bare root gets the upstream's own path; this frontend offers deflate.
        async with connect(tap.url + "/", subprotocols=["bus.v2"]) as ws:  # type: ignore[list-item]
            await ws.send("ping")
            await asyncio.wait_for(ws.recv(), WAIT)
    first, second = up.requests
    assert first.path == "/store-debug?token=hush&tenant=7"
    assert first.headers["Authorization"] == headers["Authorization"]
    assert first.headers["Cookie"] == headers["Cookie"]
    assert first.headers["Sec-WebSocket-Protocol"] == "bus.v1"
    assert "Sec-WebSocket-Extensions" not in first.headers  # the frontend did not offer compression
    assert second.path == "/store-debug"
    assert "permessage-deflate" in second.headers["Sec-WebSocket-Extensions"]
    text = tap.path.read_text()
    assert "s3cr3t" not in text and "hush" not in text and "abc123" not in text


async def test_slow_view_does_not_hold_forwarding_and_recording_stays_complete(tmp_path: Path) -> None:
    """The view consumer takes one frame and then stalls until forwarding is over: every
    frame still went through, the view skipped what did not fit, the recording has all."""
    n, backlog = 400, 20
    release = asyncio.Event()
    taken: list[CapturedFrame] = []

    async def stalled_view(view: asyncio.Queue[CapturedFrame]) -> None:
        taken.append(await view.get())
        await release.wait()
        while True:
            taken.append(await view.get())

    async with scripted_server(lambda m: [m]) as (up, url), running_proxy(url, tmp_path, view_backlog=backlog) as tap:
        assert tap.capture.view is not None
        consumer = asyncio.create_task(stalled_view(tap.capture.view))
        async with connect(tap.url) as ws:
            for k in range(n):
                await ws.send(f'{{"type":"QUERY","requestId":"r{k}"}}')
            echoes = [await asyncio.wait_for(ws.recv(), WAIT) for _ in range(n)]
            assert len(up.received) == n and echoes == up.sent
            view = tap.capture.view
            assert len(taken) == 1  # forwarding finished while the view was stuck
            assert view.qsize() == backlog and tap.capture.skipped > 0
            captured = 1 + 2 * n  # PROXY_OPEN + both directions
            assert tap.capture.skipped + view.qsize() + len(taken) == captured
            release.set()
        consumer.cancel()
    frames = tap.recorded()
    assert len([f for f in frames if not f.type.startswith("PROXY_")]) == 2 * n
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))


async def test_upstream_url_keeps_the_frontend_target() -> None:
    assert upstream_url("ws://h:1/store-debug", "/a/b?x=1") == "ws://h:1/a/b?x=1"
    assert upstream_url("ws://h:1/store-debug?t=2", "/") == "ws://h:1/store-debug?t=2"

