"""The reference store server: websockets on top of :class:`Bus`.

Any URL path is accepted, frames up to 100 MiB (real replies exceed the library's
1 MiB default), compression offered but not required. The server object outlives
a stop: ``start()`` again listens on the same port with the same data, which is
what reconnect tests need. ``simulate`` simulated frontends run while it listens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from busconsole.server.db import EntityStore
from busconsole.server.handlers import Bus, error, stamp
from busconsole.server.seed import KINDS, seed_demo

if TYPE_CHECKING:
    from busconsole.server.handlers import Frame

MAX_FRAME = 100 * 2**20
# How long a stop waits for each client's closing handshake before dropping the TCP
# connection: a client whose loop is blocked (a sync call inside an async test) must not
# hold a restart for the library's default 10 s.
CLOSE_TIMEOUT = 1.0
PUSH_BATCH = 256
log = logging.getLogger("busconsole.server")


@dataclass(eq=False)
class _Client:
    ws: ServerConnection
    subscriptions: set[str] = field(default_factory=set)


def open_store(db: str | Path | EntityStore, seed: bool) -> EntityStore:
    """The entity store for ``db`` (a path, ``":memory:"`` or an open store), seeded if asked."""
    store = db if isinstance(db, EntityStore) else EntityStore(db, KINDS)
    if seed:
        seed_demo(store)
    return store


class ReferenceServer:
    """An async store server; ``received`` holds every inbound frame, raw, in order."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | Path | EntityStore = ":memory:",
        seed_demo: bool = False,
        compat: str | None = None,
        log_dir: str | Path | None = None,
        simulate: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.store = open_store(db, seed_demo)
        self.bus = Bus(self.store, compat, Path(log_dir) if log_dir is not None else None)
        self.received: list[bytes | str] = []
        self.simulate = simulate
        self._clients: set[_Client] = set()
        self._server: Server | None = None
        self._frontends: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/store-debug"

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def start(self) -> None:
        self._server = await serve(
            self._serve_client,
            self.host,
            self.port,
            max_size=MAX_FRAME,
            close_timeout=CLOSE_TIMEOUT,
            logger=log,
        )
        self.port = self._server.sockets[0].getsockname()[1]
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
        server, self._server = self._server, None
        server.close(close_connections=True)
        await server.wait_closed()

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
        try:
            outcome = self.bus.handle(message, client.subscriptions)
            for reply in outcome.replies:
                await client.ws.send(_dump(reply))
            for entity in outcome.updated:
                subscribers = [c.ws for c in self._clients if entity in c.subscriptions]
                if subscribers:
                    broadcast(subscribers, _dump(self.bus.store_update(entity)))
        except ConnectionClosed:
            raise
        except Exception as exc:  # noqa: BLE001 - no frame may take the server down
            log.exception("frame handling failed")
            await client.ws.send(_dump(error(f"internal error: {type(exc).__name__}: {exc}")))

def _dump(frame: Frame) -> str:
    return orjson.dumps(frame).decode()
