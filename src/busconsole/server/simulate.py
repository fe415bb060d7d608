"""Simulated frontends: clients that talk to the store server the way the framework's UIs do.

They make a demo (and a TUI under test) look like a real deployment: subscriptions,
queries with ``req_<ms>_<rand>`` ids sent in both ``query`` and ``payload``,
mutations of compute status (some failing on purpose), and console logs batched
into CONSOLE_LOGS frames. Each waits between actions, so rates stay at a few
frames a second, and each ends when its connection closes.

The third tab (the demo runs three) carries bugs the bus doctor looks for, on purpose
(``QUIRKS``): it subscribes one entity twice (two components, no shared subscription:
``duplicate-subscribe``) and sends every fourth query without a requestId
(``missing-request-id``). No tab unsubscribes before it closes (``subscription-leak``
once a tab or the demo ends), and the failing mutations make an ``error-burst``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from busconsole.protocol import (
    build_console_logs,
    build_mutation,
    build_query,
    build_subscribe,
    now_ms,
)
from busconsole.server.logs import iso
from busconsole.server.seed import COMPUTE_STATUSES

SUBSCRIBABLE = ("partner", "cloud", "datacenter", "compute", "networkdevice", "environment")
MISSING_ID = 999_999
STACK = "Error\n    at {fn} (http://localhost:3010/static/js/bundle.js:{line}:19)\n    at commitHookEffectListMount (http://localhost:3010/static/js/bundle.js:41210:30)"


@dataclass(frozen=True)
class Pace:
    """How fast a frontend acts: ``think`` seconds between actions, logs flushed every
    ``log_every`` seconds or ``batch`` messages. Tests shrink it; demos keep the default."""

    think: tuple[float, float] = (0.4, 1.2)
    log_every: float = 3.0
    batch: int = 20


RESUBSCRIBE = "resubscribe"  # subscribes its first entity a second time
NO_REQUEST_ID = "no-request-id"  # every fourth query goes without a requestId
QUIRKS = (RESUBSCRIBE, NO_REQUEST_ID)


@dataclass
class Frontend:
    """One simulated browser tab."""

    url: str
    rng: random.Random
    pace: Pace = field(default_factory=Pace)
    quirks: frozenset[str] = frozenset()
    _queries: int = 0
    session: str = field(default_factory=lambda: f"session_{secrets.token_hex(6)}")
    _logs: list[dict[str, Any]] = field(default_factory=list)
    _flushed: float = field(default_factory=time.monotonic)

    async def run(self) -> None:
        """Act until the server closes the connection (or the task is cancelled)."""
        with contextlib.suppress(ConnectionClosed, OSError):
            # proxy=None: an HTTP(S)_PROXY setting must not capture these loopback tabs.
            async with connect(self.url, max_size=None, proxy=None) as ws:
                reader = asyncio.create_task(self._drain(ws))
                try:
                    self._log("log", f"[StoreWebSocket] Connected to {self.url}")
                    entities = self.rng.sample(SUBSCRIBABLE, 3)
                    if RESUBSCRIBE in self.quirks:
                        entities.append(entities[0])
                    for entity in entities:
                        await self._send(ws, build_subscribe(entity))
                    while not reader.done():
                        await asyncio.sleep(self.rng.uniform(*self.pace.think))
                        await self._act(ws)
                finally:
                    reader.cancel()

    async def _act(self, ws: ClientConnection) -> None:
        roll = self.rng.random()
        if roll < 0.55:
            frame = self._query()
            self._queries += 1
            if NO_REQUEST_ID in self.quirks and self._queries % 4 == 0:
                del frame["requestId"]
            self._log("log", f"[StoreWebSocket] Sending QUERY for {frame['entity']}", frame.get("requestId"))
        elif roll < 0.85:
            frame = self._mutation()
            self._log("info", f"[StoreWebSocket] Sending MUTATION {frame['operation']} {frame['entity']}")
        else:
            self._log(*self._noise())
            frame = None
        if frame is not None:
            await self._send(ws, frame)
        if len(self._logs) >= self.pace.batch or time.monotonic() - self._flushed >= self.pace.log_every:
            await self._flush(ws)

    def _query(self) -> dict[str, Any]:
        entity = self.rng.choice(("partner", "cloud", "datacenter", "compute"))
        query: dict[str, Any] = {"kind": entity, "page": {"limit": self.rng.choice((10, 20, 50)), "offset": 0}}
        if entity == "compute":
            query["criteria"] = {"status": {"$in": self.rng.sample(COMPUTE_STATUSES, 2)}}
            query["sort"] = {"field": "cpuCores", "order": self.rng.choice(("ASC", "DESC"))}
        elif entity == "partner":
            query["criteria"] = {"name": "telcobright"}
            query["include"] = [{"kind": "cloud", "include": [{"kind": "region"}]}]
        return build_query(entity, query)

    def _mutation(self) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.1:
            return build_mutation("compute", "UPDATE", {"id": MISSING_ID, "status": "ACTIVE"})
        if roll < 0.2:
            return build_mutation("widget", "UPDATE", {"id": 1, "status": "ACTIVE"})
        status = self.rng.choice(COMPUTE_STATUSES)
        return build_mutation("compute", "UPDATE", {"id": self.rng.randint(1, 40), "status": status})

    def _noise(self) -> tuple[str, str]:
        return self.rng.choice(
            (
                ("warn", "[InfrastructureStore] Slow render: TreeView took 48ms"),
                ("error", "TypeError: Cannot read properties of undefined (reading 'computes')"),
                ("log", "[Router] navigated to /infrastructure"),
                ("warn", "Warning: Each child in a list should have a unique \"key\" prop."),
            )
        )

    def _log(self, level: str, message: str, *args: Any) -> None:
        ts = now_ms()
        msg: dict[str, Any] = {
            "timestamp": ts,
            "isoTimestamp": iso(ts),
            "level": level,
            "message": message,
            "args": [message, *args],
            "source": "frontend",
            "sessionId": self.session,
        }
        if level == "error":
            msg["stackTrace"] = STACK.format(fn="console.error", line=self.rng.randint(100000, 180000))
        self._logs.append(msg)

    async def _flush(self, ws: ClientConnection) -> None:
        self._flushed = time.monotonic()
        if not self._logs:
            return
        frame = build_console_logs(self._logs)
        frame["metadata"] = {"source": "frontend", "sessionId": self.session}
        self._logs = []
        await self._send(ws, frame)

    async def _send(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        await ws.send(orjson.dumps(frame).decode())

    async def _drain(self, ws: ClientConnection) -> None:
        """Read every reply (a real UI does), so the server never blocks on us."""
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass


async def run_frontends(url: str, n: int, pace: Pace | None = None, seed: int | None = None) -> None:
    """Run ``n`` frontends against ``url`` until each one's connection closes."""
    rng = random.Random(seed)
    tabs = [Frontend(url, random.Random(rng.random()), pace or Pace(), frozenset(_quirks(k, n))) for k in range(n)]
    await asyncio.gather(*(tab.run() for tab in tabs))


def _quirks(k: int, n: int) -> tuple[str, ...]:
    """The doctor's bugs of tab ``k`` of ``n``: the third tab has them all, the others none."""
    return QUIRKS if k == 2 else ()
