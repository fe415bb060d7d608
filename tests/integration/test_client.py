"""BusClient against the real reference server (and tiny purpose-built servers) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from busconsole.commands.common import resolve
from busconsole.frames import CapturedFrame
from busconsole.protocol import build_mutation, build_query
from busconsole.recording.format import encode
from busconsole.server.runner import ServerThread
from busconsole.transport.client import BusClient
from busconsole.transport.state import (
    ClientClosed,
    ConnectFailed,
    ConnectionState,
    OfflineQueueFull,
)

WAIT = 10.0  # an upper bound for events that normally take milliseconds, not a timing assertion


class Watch:
    """Collects a client's frames and states; lets a test await a condition on them."""

    def __init__(self) -> None:
        self.frames: list[CapturedFrame] = []
        self.states: list[ConnectionState] = []
        self._changed = asyncio.Event()

    def frame(self, f: CapturedFrame) -> None:
        self.frames.append(f)
        self._changed.set()

    def state(self, s: ConnectionState) -> None:
        self.states.append(s)
        self._changed.set()

    def client(self, url: str, **kw: Any) -> BusClient:
        return BusClient(url, on_frame=self.frame, on_state=self.state, **kw)

    async def until(self, check: Callable[[], Any], what: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not (result := check()):
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"never happened: {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return result

    def typed(self, kind: str, direction: str = "in") -> list[CapturedFrame]:
        return [f for f in self.frames if f.type == kind and f.dir == direction]

    def phases(self) -> list[str]:
        return [s.phase for s in self.states]


@contextlib.asynccontextmanager
async def running(client: BusClient) -> AsyncIterator[BusClient]:
    task = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        await client.close()
        await task


async def test_frames_in_and_out_are_captured(server: ServerThread) -> None:
    watch = Watch()
    async with running(watch.client(server.url, subscribe=["partner"], conn="c7")) as client:
        await client.wait_connected(WAIT)
        query = build_query("partner", {"kind": "partner", "page": {"limit": 2}})
        reply = await client.request(query, WAIT)
    assert reply.type == "QUERY_RESULT" and reply.obj is not None
    assert reply.obj["requestId"] == query["requestId"]
    kinds = [(f.dir, f.type) for f in watch.frames]
    assert ("out", "SUBSCRIBE") in kinds and ("out", "QUERY") in kinds
    assert ("in", "CONNECTION") in kinds and ("in", "SUBSCRIPTION_DATA") in kinds
    assert [f.seq for f in watch.frames] == sorted(f.seq for f in watch.frames)
    assert len({f.seq for f in watch.frames}) == len(watch.frames)
    assert all(f.conn == "c7" and f.t > 1.6e12 for f in watch.frames)
    sent = watch.typed("QUERY", "out")[0]
    assert orjson.loads(sent.raw) == query
    assert sent.raw in [m.encode() if isinstance(m, str) else m for m in server.received]
    assert client.state.frames_out == len([f for f in watch.frames if f.dir == "out"])
    assert client.state.frames_in == len([f for f in watch.frames if f.dir == "in"])
    assert watch.phases()[0] == "connecting" and watch.phases()[-1] == "closed"


async def test_replies_without_request_id_pair_with_the_oldest_same_entity_and_operation(
    orchestrix_server: ServerThread,
) -> None:
    async with running(BusClient(orchestrix_server.url)) as client:
        await client.wait_connected(WAIT)
        first = build_mutation("partner", "CREATE", {"name": "first", "type": "CUSTOMER"})
        second = build_mutation("partner", "CREATE", {"name": "second", "type": "CUSTOMER"})
        a, b = await asyncio.gather(client.request(first, WAIT), client.request(second, WAIT))
        err = await client.request(build_query("nosuch"), WAIT)
    assert a.obj is not None and b.obj is not None
    assert "requestId" not in a.obj and "requestId" not in b.obj
    assert a.obj["data"]["name"] == "first" and b.obj["data"]["name"] == "second"
    assert err.type == "ERROR"


async def test_reconnects_and_resubscribes_without_help(server: ServerThread) -> None:
    watch = Watch()
    async with running(watch.client(server.url, subscribe=["partner"], initial_backoff=0.05)) as client:
        await client.wait_connected(WAIT)
        await watch.until(lambda: watch.typed("SUBSCRIPTION_DATA"), "first SUBSCRIPTION_DATA")
        await asyncio.to_thread(server.stop)
        await watch.until(lambda: "reconnecting" in watch.phases(), "reconnecting")
        lost = next(s for s in watch.states if s.phase == "reconnecting")
        assert lost.retry_at is not None and lost.last_error and lost.attempt >= 1
        await asyncio.to_thread(server.start)
        mark = len(watch.states)
        await watch.until(lambda: "connected" in watch.phases()[mark:], "connected again")
        await watch.until(lambda: len(watch.typed("SUBSCRIPTION_DATA")) == 2, "re-subscribed")

        async with running(BusClient(server.url)) as other:
            await other.wait_connected(WAIT)
            await other.request(build_mutation("partner", "CREATE", {"name": "after-restart", "type": "CUSTOMER"}),
                                WAIT)
        update = await watch.until(lambda: watch.typed("STORE_UPDATE"), "STORE_UPDATE after the restart")
    assert b"after-restart" in update[0].raw
    assert [f.type for f in watch.frames if f.dir == "out"] == ["SUBSCRIBE", "SUBSCRIBE"]
    phases = watch.phases()
    assert phases.index("reconnecting") < len(phases) - 1 - phases[::-1].index("connected")


async def test_offline_queue_flushes_on_connect_and_reports_overflow(server: ServerThread) -> None:
    watch = Watch()
    client = watch.client(server.url, offline_queue=2)
    q1, q2 = build_query("partner"), build_query("cloud")
    assert await client.send(q1) is None and await client.send(q2) is None
    assert client.state.queued == 2
    with pytest.raises(OfflineQueueFull, match="offline queue full"):
        await client.send(build_query("compute"))
    assert client.state.dropped == 1 and watch.states[-1].dropped == 1
    async with running(client):
        await client.wait_connected(WAIT)
        await watch.until(lambda: len(watch.typed("QUERY_RESULT")) == 2, "answers to the queued queries")
    sent = [orjson.loads(f.raw) for f in watch.typed("QUERY", "out")]
    assert sent == [q1, q2]
    assert client.state.queued == 0 and client.state.dropped == 1
    received = [orjson.loads(m) for m in server.received]
    assert [r["requestId"] for r in received if r.get("type") == "QUERY"] == [q1["requestId"], q2["requestId"]]


async def test_token_and_headers_reach_the_handshake() -> None:
    seen: list[Headers] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.append(ws.request.headers)
        await ws.send('{"type":"CONNECTION","status":"connected"}')
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        opts = resolve(f"ws://127.0.0.1:{port}/store-debug", token="t0k3n", headers=["X-Tenant: acme"])
        watch = Watch()
        async with running(watch.client(opts.url, headers=opts.headers)) as client:
            await client.wait_connected(WAIT)
            await watch.until(lambda: watch.typed("CONNECTION"), "CONNECTION")
    assert seen[0]["Authorization"] == "Bearer t0k3n"
    assert seen[0]["X-Tenant"] == "acme"


async def test_binary_and_garbage_frames_are_captured_not_fatal() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(b"\x00\xffbinary")
        await ws.send("not json")
        await ws.send('{"type":"STORE_UPDATE","entity":"partner","data":[]}')
        await ws.send(['{"type":"STORE_UPDATE",', '"entity":"cloud"', ',"data":[]}'])  # fragmented
        ws.protocol.send_text(b'{"type":"STORE_UPDATE","data":"\xff"}')  # not UTF-8: no library sends it
        ws.send_data()
        await ws.send('{"type":"QUERY_RESULT","data":[]}')
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as srv:
        watch = Watch()
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
        async with running(watch.client(url)) as client:
            await watch.until(lambda: len(watch.frames) == 6, "six frames")
            assert client.connected
    binary, text, good, pieces, not_utf8, after = watch.frames
    assert binary.binary and binary.raw == b"\x00\xffbinary" and binary.type == "MALFORMED"
    assert not text.binary and text.raw == b"not json" and text.type == "MALFORMED"
    assert good.type == "STORE_UPDATE"
    assert pieces.raw == b'{"type":"STORE_UPDATE","entity":"cloud","data":[]}' and not pieces.binary
    assert not_utf8.malformed is not None and not_utf8.malformed.reason == "invalid UTF-8"
    assert orjson.loads(encode(not_utf8))["enc"] == "base64"  # a recording stays valid UTF-8
    assert after.type == "QUERY_RESULT"


async def test_an_error_in_the_frame_callback_ends_run_with_that_error(server: ServerThread) -> None:
    def explode(f: CapturedFrame) -> None:
        raise ZeroDivisionError("consumer bug")

    client = BusClient(server.url, on_frame=explode)
    with pytest.raises(ZeroDivisionError, match="consumer bug"):
        await asyncio.wait_for(client.run(), WAIT)


async def test_refused_handshake_fails_without_retrying() -> None:
    attempts: list[str] = []

    def refuse(conn: ServerConnection, request: Request) -> Response:
        attempts.append(request.path)
        return conn.respond(401, "no token\n")

    async def handler(ws: ServerConnection) -> None:
        raise AssertionError("the handshake must not succeed")

    async with serve(handler, "127.0.0.1", 0, process_request=refuse) as srv:
        watch = Watch()
        client = watch.client(f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/", initial_backoff=0.01)
        await client.run()
        with pytest.raises(ConnectFailed, match="HTTP 401"):
            await client.wait_connected(WAIT)
    assert attempts == ["/"]
    assert watch.phases() == ["connecting", "failed"]


async def test_unreachable_server_with_one_attempt_fails(server: ServerThread) -> None:
    url = server.url
    await asyncio.to_thread(server.stop)
    watch = Watch()
    client = watch.client(url, max_attempts=1)
    await client.run()
    assert watch.phases() == ["connecting", "failed"]
    assert client.state.last_error


async def test_request_timeout_and_close() -> None:
    async def silent(ws: ServerConnection) -> None:
        async for _ in ws:  # reads every request, answers none
            pass

    async with serve(silent, "127.0.0.1", 0) as srv:
        watch = Watch()
        client = watch.client(f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/")
        async with running(client):
            await client.wait_connected(WAIT)
            with pytest.raises(TimeoutError):
                await client.request(build_query("partner"), 0.05)
            hanging = asyncio.create_task(client.request({"type": "SUBSCRIBE", "entity": "partner"}, None))
            await watch.until(lambda: watch.typed("SUBSCRIBE", "out"), "SUBSCRIBE sent")
            await client.close()
            with pytest.raises(ClientClosed):
                await hanging
    assert client.state.phase == "closed"
    assert client.subscriptions == ("partner",)
    with pytest.raises(ClientClosed):
        await client.send(build_query("partner"))
