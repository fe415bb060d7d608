"""Scaling the reference server out: N instances share one SQLite database (WAL) and hear of
each other's mutations through Redis pub/sub, so a mutation on one instance reaches the
subscribers of every instance, in the same order everywhere, exactly once.

Every instance, the one that made the change included, broadcasts a mutation's STORE_UPDATEs
only when the change comes back from the channel: Redis delivers a channel's messages in
publish order, so all instances send them in one order, and nobody twice. The message carries
the changed row, so the others refresh their in-memory copy without reading the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

CHANNEL = "busconsole:changes"
log = logging.getLogger("busconsole.server")


@dataclass(frozen=True, slots=True)
class Change:
    """One row written by a mutation (``row`` None: deleted), and who wrote it."""

    kind: str
    id: int
    row: dict[str, Any] | None
    origin: str

    def encode(self) -> bytes:
        return orjson.dumps({"kind": self.kind, "id": self.id, "row": self.row, "origin": self.origin})

    @classmethod
    def decode(cls, data: bytes | str) -> Change:
        obj = orjson.loads(data)
        return cls(str(obj["kind"]), int(obj["id"]), obj.get("row"), str(obj["origin"]))


class RedisFanout:
    """The channel of one instance: ``publish`` a change, ``on_change`` hears every change
    (its own too) in channel order."""

    def __init__(self, url: str, on_change: Callable[[Change], Awaitable[None]]) -> None:
        self.url = url
        self.instance = secrets.token_hex(6)
        self._on_change = on_change
        self._client: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import redis.asyncio as aioredis  # only an instance that scales out needs it

        self._client = aioredis.from_url(self.url)
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(CHANNEL)
        self._reader = asyncio.create_task(self._read(), name="busconsole-fanout")

    async def publish(self, kind: str, rid: int, row: dict[str, Any] | None) -> None:
        await self._client.publish(CHANNEL, Change(kind, rid, row, self.instance).encode())

    async def _read(self) -> None:
        async for message in self._pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                change = Change.decode(message["data"])
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("ignored a change message on %s: %s", CHANNEL, exc)
                continue
            await self._on_change(change)

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
