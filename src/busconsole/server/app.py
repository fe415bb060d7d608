"""The reference store server: websockets on top of :class:`Bus`.

Any URL path is accepted, frames up to 100 MiB (real replies exceed the library's
1 MiB default), compression offered but not required. The server object outlives
a stop: ``start()`` again listens on the same port with the same data, which is
what reconnect tests need. ``simulate`` simulated frontends run while it listens.

Hostile or slow peers must not hurt the others. Every frame is answered on one worker
thread, in arrival order (so STORE_UPDATEs never overtake each other), while the loop
only moves bytes: a slow query delays requests, never pings, connects or closes. A
subscriber whose unsent broadcasts pass ``max_buffer`` bytes is closed with 1008 and
logged on stderr instead of growing the server. ``received`` keeps the newest frames,
bounded (see :mod:`busconsole.server.received`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from busconsole.server.db import EntityStore
from busconsole.server.fanout import Change, RedisFanout
from busconsole.server.handlers import Bus, error, stamp
from busconsole.server.received import ReceivedFrames
from busconsole.server.seed import KINDS, seed_demo

if TYPE_CHECKING:
    from busconsole.server.handlers import Frame

MAX_FRAME = 100 * 2**20
# How long a stop waits for each client's closing handshake before dropping the TCP
# connection: a client whose loop is blocked (a sync call inside an async test) must not
# hold a restart for the library's default 10 s.
CLOSE_TIMEOUT = 1.0
PUSH_BATCH = 256
# Unsent bytes a subscriber may have queued at the server before it is closed as too slow.
MAX_BUFFER = 16 * 2**20
# How long a subscriber closed as too slow has to read its backlog and the close frame
# before its TCP connection is dropped (its backlog is held until then).
SLOW_CLOSE_TIMEOUT = 5.0
SLOW_CLOSE_CODE = CloseCode.POLICY_VIOLATION
ECHO_TIMEOUT = 2.0  # how long a mutation's reply waits for its change to come back from Redis
log = logging.getLogger("busconsole.server")


@dataclass(eq=False)
class _Client:
    ws: ServerConnection
    subscriptions: set[str] = field(default_factory=set)
    closing: bool = False


@dataclass
class _Answer:
    """A frame's answer, encoded on the worker: replies for the sender, updates per entity."""

    replies: list[str]
    updates: list[tuple[str, str]]
    change: tuple[str, int, Frame | None] | None = None  # for the other instances (serve --redis)


def open_store(db: str | Path | EntityStore, seed: bool) -> EntityStore:
    """The entity store for ``db`` (a path, ``":memory:"`` or an open store), seeded if asked."""
    store = db if isinstance(db, EntityStore) else EntityStore(db, KINDS)
    if seed:
        seed_demo(store)
    return store


class ReferenceServer:
    """An async store server; ``received`` holds the newest inbound frames, raw, in order."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | Path | EntityStore = ":memory:",
        seed_demo: bool = False,
        compat: str | None = None,
        log_dir: str | Path | None = None,
        simulate: int = 0,
        max_buffer: int = MAX_BUFFER,
        received: ReceivedFrames | None = None,
        redis: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.store = open_store(db, seed_demo)
        self.bus = Bus(self.store, compat, Path(log_dir) if log_dir is not None else None)
        self.received = received if received is not None else ReceivedFrames()
        self.simulate = simulate
        self.max_buffer = max_buffer
        self.slow_close_timeout = SLOW_CLOSE_TIMEOUT
        self.slow_closed = 0  # subscribers closed for not reading
        self._clients: set[_Client] = set()
        self._worker: ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self._frontends: asyncio.Task[None] | None = None
        if redis is not None and self.store.path == ":memory:":
            raise ValueError("instances behind Redis share a database file: give db a path, not :memory:")
        self.fanout = RedisFanout(redis, self._changed) if redis is not None else None
        self.store.deferred = self.fanout is not None
        self._echoes: dict[tuple[str, int], asyncio.Event] = {}  # our changes, until the channel returns them

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/store-debug"

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def start(self) -> None:
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="busconsole-bus")
        # Start its thread now: it belongs to the running server, not to the first frame.
        await asyncio.get_running_loop().run_in_executor(self._worker, int)
        self._server = await serve(
            self._serve_client,
            self.host,
            self.port,
            max_size=MAX_FRAME,
            close_timeout=CLOSE_TIMEOUT,
            logger=log,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.fanout is not None:
            await self.fanout.start()
        if self.simulate:
            from busconsole.server.simulate import run_frontends

            self._frontends = asyncio.create_task(run_frontends(self.url, self.simulate))

    async def stop(self) -> None:
        """Stop the simulated frontends, stop listening and close every connection, so
        clients see the drop."""
        if self._frontends is not None:
            self._frontends.cancel()
            await asyncio.gather(self._frontends, return_exceptions=True)
            self._frontends = None
        if self._server is None:
            return
        if self.fanout is not None:
            await self.fanout.stop()
        server, self._server = self._server, None
        server.close(close_connections=True)
        await server.wait_closed()
        if self._worker is not None:
            worker, self._worker = self._worker, None
            # Let the frame in hand finish before the store may be closed.
            await asyncio.get_running_loop().run_in_executor(None, worker.shutdown)

    async def push(self, entity: str, frames: Iterable[str]) -> int:
        """Send pre-serialised frames to every subscriber of ``entity`` as fast as they read:
        how benchmarks make the server stream. Writes go out in batches and then wait for
        the clients to drain, so a slow reader bounds memory. Returns the frames sent."""
        targets = [c.ws for c in self._clients if entity.lower() in c.subscriptions]
        sent = 0
        for frame in frames:
            broadcast(targets, frame)
            sent += 1
            if sent % PUSH_BATCH == 0:
                for ws in targets:
                    await ws.drain()
        for ws in targets:
            await ws.drain()
        return sent

    async def _serve_client(self, ws: ServerConnection) -> None:
        client = _Client(ws)
        self._clients.add(client)
        try:
            await ws.send(_dump(stamp({"type": "CONNECTION", "status": "connected"})))
            async for message in ws:
                self.received.append(message)
                await self._answer(client, message)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)

    async def _answer(self, client: _Client, message: bytes | str) -> None:
        if self._worker is None:
            return  # stopping: the connection is being closed
        answer = await asyncio.get_running_loop().run_in_executor(
            self._worker, self._work, message, client.subscriptions
        )
        if answer.change is not None and self.fanout is not None:
            # The reply waits for the change to come back from the channel: by then it is in
            # this instance's copy (the sender reads its own write) and ordered on every instance.
            echo = self._echoes[answer.change[:2]] = asyncio.Event()
            await self.fanout.publish(*answer.change)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(echo.wait(), ECHO_TIMEOUT)
        for reply in answer.replies:
            await client.ws.send(reply)
        for entity, frame in answer.updates:
            self._broadcast(entity, frame)

    def _work(self, message: bytes | str, subscriptions: set[str]) -> _Answer:
        """On the worker thread: answer ``message`` and build the updates it causes (a mutation's,
        behind Redis, when it comes back from the channel)."""
        try:
            outcome = self.bus.handle(message, subscriptions)
            if outcome.change is not None and self.fanout is not None:
                return _Answer([_dump(r) for r in outcome.replies], [], outcome.change)
            return _Answer([_dump(r) for r in outcome.replies], self._updates(outcome.updated))
        except Exception as exc:  # noqa: BLE001 - no frame may take the server down
            log.exception("frame handling failed")
            return _Answer([_dump(error(f"internal error: {type(exc).__name__}: {exc}"))], [])

    def _updates(self, entities: list[str]) -> list[tuple[str, str]]:
        wanted = [e for e in entities if self._subscribed(e)]
        return [(e, _dump(f)) for e, f in self.bus.updates(wanted)]

    async def _changed(self, change: Change) -> None:
        """A mutation of any instance, in channel order: take a foreign row into the copy, then
        send the STORE_UPDATEs it causes here (on the worker, after the frames before it)."""
        if self._worker is None:
            return

        def work() -> list[tuple[str, str]]:
            self.store.apply(change.kind, change.id, change.row)
            return self._updates(self.bus.readers_of(change.kind))

        for entity, frame in await asyncio.get_running_loop().run_in_executor(self._worker, work):
            self._broadcast(entity, frame)
        if self.fanout is not None and change.origin == self.fanout.instance:
            echo = self._echoes.pop((change.kind, change.id), None)
            if echo is not None:
                echo.set()

    def _subscribed(self, entity: str) -> bool:
        # list() copies the set in one step, safe while the loop thread adds or removes clients.
        return any(entity in c.subscriptions for c in list(self._clients))

    def _broadcast(self, entity: str, frame: str) -> None:
        """Send ``frame`` to the subscribers of ``entity``, closing those too slow to take it."""
        targets = []
        for client in list(self._clients):
            if entity not in client.subscriptions or client.closing:
                continue
            backlog = client.ws.transport.get_write_buffer_size()
            if backlog > self.max_buffer:
                self._close_slow(client, backlog)
            else:
                targets.append(client.ws)
        if targets:
            broadcast(targets, frame)

    def _close_slow(self, client: _Client, backlog: int) -> None:
        client.closing = True
        self.slow_closed += 1
        reason = f"too slow: {backlog} bytes unread, limit {self.max_buffer}"
        log.warning("closing subscriber %s with %d: %s", _peer(client.ws), SLOW_CLOSE_CODE, reason)
        task = asyncio.create_task(self._finish_close(client.ws, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_close(self, ws: ServerConnection, reason: str) -> None:
        """The close frame queues behind the backlog; a peer that reads neither within
        ``slow_close_timeout`` loses the connection (and the server the backlog)."""
        try:
            await asyncio.wait_for(ws.close(SLOW_CLOSE_CODE, reason), self.slow_close_timeout)
        except TimeoutError:
            ws.transport.abort()


def _peer(ws: ServerConnection) -> str:
    try:
        host, port = ws.remote_address[:2]
    except (TypeError, ValueError):
        return "?"
    return f"{host}:{port}"


def _dump(frame: Frame) -> str:
    return orjson.dumps(frame).decode()
