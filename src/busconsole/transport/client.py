"""BusClient: one WebSocket connection to a store server that keeps itself alive.

It reconnects with capped exponential backoff and jitter, re-subscribes after
every reconnect, queues sends while offline (bounded; overflow raises and is
counted, never silent) and turns every frame in and out into a
:class:`CapturedFrame`. The receive path is kept cheap because ``tail --json``
must keep up with a bare websockets client: messages arrive as bytes straight from
the protocol layer (:mod:`busconsole.transport.direct`), no pydantic, no JSON
decoding unless a request is waiting for its reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.protocol import build_subscribe, build_unsubscribe
from busconsole.transport.direct import DirectClientConnection
from busconsole.transport.state import (
    ClientClosed,
    ConnectFailed,
    ConnectionState,
    OfflineQueueFull,
    closed_reason,
    describe,
    is_fatal,
)
from busconsole.wire import REPLIES

MiB = 1024 * 1024

_now = time.time
STABLE_SECONDS = 1.0  # a connection that closes sooner does not reset the backoff
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(slots=True)
class _Pending:
    request_id: str | None
    replies: frozenset[str]
    entity: str | None
    operation: str | None
    future: asyncio.Future[CapturedFrame]

    def answers(self, kind: str, entity: Any, operation: Any) -> bool:
        """Does a reply *without* requestId answer this request? Same entity and operation."""
        if kind != "ERROR" and kind not in self.replies:
            return False
        if entity is not None and entity != self.entity:
            return False
        return not (kind == "MUTATION_SUCCESS" and isinstance(operation, str)
                    and operation.upper() != self.operation)


def _encode(frame: dict[str, Any] | str | bytes) -> tuple[bytes, bool]:
    """(wire bytes, binary?): dicts and str go out as text frames, bytes as binary."""
    if isinstance(frame, dict):
        return orjson.dumps(frame), False
    if isinstance(frame, str):
        return frame.encode("utf-8"), False
    return bytes(frame), True


class BusClient:
    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        subscribe: tuple[str, ...] | list[str] = (),
        on_frame: Callable[[CapturedFrame], None] | None = None,
        on_state: Callable[[ConnectionState], None] | None = None,
        conn: str = "c1",
        seq: Iterator[int] | None = None,
        max_size: int = 100 * MiB,
        compression: str | None = None,
        initial_backoff: float = 0.5,
        max_backoff: float = 5.0,
        offline_queue: int = 1000,
        ping_interval: float | None = 20.0,
        open_timeout: float = 10.0,
        max_attempts: int | None = None,
        max_queue: int = 256,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.on_frame = on_frame
        self.on_state = on_state
        self.conn = conn
        self.task: asyncio.Task[None] | None = None  # run(), while inside ``async with``
        self.state = ConnectionState()
        self._seq = seq if seq is not None else itertools.count(1)
        self._connect_kw: dict[str, Any] = {
            "additional_headers": self.headers,
            "compression": compression,
            "max_size": max_size,
            "max_queue": max_queue,
            "ping_interval": ping_interval,
            "ping_timeout": ping_interval,
            "open_timeout": open_timeout,
            "create_connection": DirectClientConnection,
        }
        if urlsplit(url).hostname in _LOOPBACK:
            self._connect_kw["proxy"] = None  # an HTTP(S)_PROXY setting must not capture loopback
        self._backoff = (initial_backoff, max_backoff)
        self._max_attempts = max_attempts
        self._subs: dict[str, None] = dict.fromkeys(subscribe)
        self._queue: deque[tuple[bytes, bool]] = deque()
        self._queue_max = offline_queue
        self._pending: list[_Pending] = []
        self._conn: DirectClientConnection | None = None  # the open connection
        self._ws: DirectClientConnection | None = None  # the same, once subscriptions and queue are flushed
        self._closing = asyncio.Event()
        self._wake = asyncio.Event()  # reconnect_now(): skip the rest of a backoff wait
        self._settled = asyncio.Event()  # connected, failed or closed
        self._stopped = asyncio.Event()
        self._running = False

    # ------------------------------------------------------------------ state

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return tuple(self._subs)

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def _set(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.state, key, value)
        if self.state.phase in ("connected", "failed", "closed"):
            self._settled.set()
        else:
            self._settled.clear()
        if self.on_state is not None:
            self.on_state(replace(self.state))

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once connected; raise ConnectFailed if the client failed or closed first."""
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except TimeoutError:
            raise ConnectFailed(self.state.last_error or "timed out waiting for the connection") from None
        if self.state.phase != "connected":
            raise ConnectFailed(self.state.last_error or f"client {self.state.phase}")

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Connect, receive and reconnect until :meth:`close` or until the client fails."""
        if self._running:
            raise RuntimeError("BusClient.run() is already running")
        self._running = True
        self._stopped.clear()
        closing = asyncio.ensure_future(self._closing.wait())
        attempt = 0
        dropped = False  # a connection of this run was lost: the next one is a reconnection
        try:
            while not self._closing.is_set():
                attempt += 1
                self._set(phase="connecting", attempt=attempt, retry_at=None)
                opener = asyncio.ensure_future(self._open())
                await asyncio.wait((opener, closing), return_when=asyncio.FIRST_COMPLETED)
                if not opener.done():
                    opener.cancel()
                    with contextlib.suppress(BaseException):
                        await opener
                    break
                exc = opener.exception()
                if exc is None:
                    if dropped:
                        self._mark("CLIENT_OPEN", attempt=attempt)
                    opened = time.monotonic()
                    try:
                        error = await self._serve(opener.result())
                    except Exception as failure:  # raised by on_frame: the capture stops, visibly
                        self._fail(f"{type(failure).__name__}: {failure}")
                        raise
                    if time.monotonic() - opened >= STABLE_SECONDS:
                        attempt = 0  # a connection that held: the next drop starts the backoff again
                    if not self._closing.is_set():
                        dropped = True
                        self._mark("CLIENT_CLOSE", reason=error)
                elif is_fatal(exc):
                    self._fail(describe(exc))
                    return
                else:
                    error = describe(exc)
                if self._closing.is_set():
                    break
                if self._max_attempts is not None and attempt >= self._max_attempts:
                    self._fail(error)
                    return
                delay = self._delay(attempt + 1)
                self._set(phase="reconnecting", attempt=attempt + 1, retry_at=time.time() + delay,
                          last_error=error)
                self._wake.clear()
                waking = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait((closing, waking), timeout=delay, return_when=asyncio.FIRST_COMPLETED)
                waking.cancel()
            self._set(phase="closed", retry_at=None)
        finally:
            closing.cancel()
            self._running = False
            self._abandon(ClientClosed("client closed"))
            self._stopped.set()

    def _fail(self, error: str) -> None:
        self._set(phase="failed", retry_at=None, last_error=error)
        self._abandon(ConnectFailed(error))

    def _abandon(self, exc: Exception) -> None:
        for p in self._pending:
            if not p.future.done():
                p.future.set_exception(exc)

    def _delay(self, attempt: int) -> float:
        """Wait before ``attempt`` (1 = first retry after a drop): exponential up to the cap, with
        ±20 % jitter at the cap too, so many clients do not reconnect in step."""
        first, cap = self._backoff
        return min(cap, first * 2 ** max(attempt - 1, 0)) * random.uniform(0.8, 1.2)

    def reconnect_now(self) -> None:
        """Cut a backoff wait short: try to connect at once (the reconnect key)."""
        self._wake.set()

    def _mark(self, kind: str, **fields: Any) -> None:
        """A synthetic frame in the stream (and the recording) where a connection was lost or
        re-established, so the gap between them reads as one, not as a quiet bus."""
        if self.on_frame is None:
            return
        frame = {"type": kind, "conn": self.conn, **fields, "timestamp": int(_now() * 1000)}
        self.on_frame(self._capture(orjson.dumps(frame), "in", False))

    async def _open(self) -> DirectClientConnection:
        ws = await connect(self.url, **self._connect_kw)
        assert isinstance(ws, DirectClientConnection)
        return ws

    async def _serve(self, ws: DirectClientConnection) -> str:
        """Start receiving (frames that came with the handshake first), re-subscribe, flush the
        offline queue, then receive until the connection ends."""
        ws.start(self._receive)
        self._conn = ws
        self._set(phase="connected", attempt=0, last_error="")
        error = "connection closed"
        try:
            done: set[str] = set()  # subscribe() may add entities while we flush
            while todo := [e for e in self._subs if e not in done]:
                for entity in todo:
                    await self._transmit(ws, orjson.dumps(build_subscribe(entity)), False)
                    done.add(entity)
            while self._queue:
                data, binary = self._queue[0]
                await self._transmit(ws, data, binary)
                self._queue.popleft()
                self.state.queued = len(self._queue)
            self._ws = ws
            await ws.wait_closed()
        except ConnectionClosed as exc:
            error = describe(exc)
        finally:
            self._ws = self._conn = None
            await ws.close()  # a no-op after a close; otherwise (cancelled) no socket leaks
        if ws.failure is not None:
            raise ws.failure
        if error == "connection closed":
            error = closed_reason(ws.protocol.close_rcvd or ws.protocol.close_sent)
        return error

    # ------------------------------------------------------------------ the one runner

    async def __aenter__(self) -> BusClient:
        """Run the client (connecting, reconnecting) as a task for the ``async with`` block: the one
        way tail, record, send, ``replay --to`` and the sessions run a client."""
        self.task = asyncio.create_task(self.run(), name=f"busconsole-client-{self.conn}")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        """Close and wait for the task; what it raised (an ``on_frame`` failure) goes on up, unless
        the block is already leaving with an exception of its own."""
        await self.close()
        task, self.task = self.task, None
        if task is None:
            return
        if exc is None:
            await task
            return
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task

    async def close(self) -> None:
        """Close the connection cleanly and stop :meth:`run`; waiting requests fail with ClientClosed."""
        self._closing.set()
        ws = self._conn
        if ws is not None:
            await ws.close()
        if self._running:
            await self._stopped.wait()
        elif self.state.phase != "closed":
            self._set(phase="closed", retry_at=None)
            self._abandon(ClientClosed("client closed"))

    # ------------------------------------------------------------------ frames

    def _capture(self, raw: bytes, direction: Literal["in", "out"], binary: bool) -> CapturedFrame:
        return CapturedFrame(next(self._seq), _now() * 1000, direction, self.conn, raw, binary)

    def _receive(self, raw: bytes, binary: bool) -> None:
        """The hot path: one call per frame received, so no helper calls and no decoding."""
        frame = CapturedFrame(next(self._seq), _now() * 1000, IN, self.conn, raw, binary)
        self.state.frames_in += 1
        if self.on_frame is not None:
            self.on_frame(frame)
        if self._pending:
            self._correlate(frame)

    async def _transmit(self, ws: ClientConnection, data: bytes, binary: bool) -> CapturedFrame:
        await ws.send(data, text=not binary)
        frame = self._capture(data, OUT, binary)
        self.state.frames_out += 1
        if self.on_frame is not None:
            self.on_frame(frame)
        return frame

    async def send(self, frame: dict[str, Any] | str | bytes) -> CapturedFrame | None:
        """Send now and return the captured frame, or queue it while offline and return None.

        Raises :class:`OfflineQueueFull` (and counts ``state.dropped``) when the queue is full,
        :class:`ClientClosed` after :meth:`close`.
        """
        if self._closing.is_set():
            raise ClientClosed("client closed")
        data, binary = _encode(frame)
        ws = self._ws
        if ws is not None:
            try:
                return await self._transmit(ws, data, binary)
            except ConnectionClosed:
                pass  # lost under our feet: it was not sent, so it waits like any offline send
        self._enqueue(data, binary)
        return None

    def _enqueue(self, data: bytes, binary: bool) -> None:
        if len(self._queue) >= self._queue_max:
            self._set(dropped=self.state.dropped + 1)
            raise OfflineQueueFull(
                f"offline queue full ({self._queue_max} frames waiting); frame dropped"
            )
        self._queue.append((data, binary))
        self._set(queued=len(self._queue))

    async def subscribe(self, entity: str) -> CapturedFrame | None:
        """Subscribe now (if connected) and after every reconnect."""
        frame = build_subscribe(entity)
        self._subs[entity] = None
        ws = self._ws
        return await self._transmit(ws, orjson.dumps(frame), False) if ws is not None else None

    async def unsubscribe(self, entity: str) -> CapturedFrame | None:
        """Stop re-subscribing; tell the server now if connected (or queue it mid-reconnect)."""
        frame = orjson.dumps(build_unsubscribe(entity))
        self._subs.pop(entity, None)
        ws = self._ws
        if ws is not None:
            return await self._transmit(ws, frame, False)
        if self.state.phase == "connected":  # flushing: the SUBSCRIBE may already be out
            self._enqueue(frame, False)
        return None

    # ------------------------------------------------------------------ request / reply

    async def request(self, frame: dict[str, Any], timeout: float | None = 30.0) -> CapturedFrame:
        """Send a request and return its reply: the frame with its requestId, else the oldest
        unanswered request of the same entity and operation (the framework's server never puts
        a requestId on MUTATION_SUCCESS). An ERROR answers too. Raises TimeoutError."""
        kind = str(frame.get("type", "")).upper()
        replies = REPLIES.get(kind)
        if replies is None:
            raise ValueError(f"{kind or 'a frame without type'} gets no reply; use send()")
        op = frame.get("operation")
        pending = _Pending(
            request_id=frame.get("requestId"),
            replies=replies,
            entity=frame.get("entity"),
            operation=op.upper() if isinstance(op, str) else None,
            future=asyncio.get_running_loop().create_future(),
        )
        self._pending.append(pending)
        try:
            if kind == "SUBSCRIBE" and isinstance(pending.entity, str):
                await self.subscribe(pending.entity)  # remembered, so not queued twice
            else:
                await self.send(frame)
            return await asyncio.wait_for(pending.future, timeout)
        finally:
            self._pending.remove(pending)

    def _correlate(self, frame: CapturedFrame) -> None:
        obj = frame.obj
        if obj is None:
            return
        kind = str(obj["type"]).upper()
        if kind != "ERROR" and not any(kind in p.replies for p in self._pending):
            return
        req = obj.get("requestId")
        waiting = [p for p in self._pending if not p.future.done()]
        if req is not None:
            match = next((p for p in waiting if p.request_id == req), None)
        else:
            entity, op = obj.get("entity"), obj.get("operation")
            match = next((p for p in waiting if p.answers(kind, entity, op)), None)
        if match is not None:
            match.future.set_result(frame)
