"""What the TUI displays, whatever the frames come from: a live client, a proxy or a file.

The app only knows the :class:`Session` protocol: an :class:`EventStore` that fills up,
a :class:`SessionStatus` it polls a few times a second, and a handful of async
actions. Sources differ (``LiveSession`` here; a proxy and a file session elsewhere),
the views do not. Nothing here imports Textual, so headless code can reuse it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from busconsole.facts import FrameFacts
from busconsole.store import EventStore
from busconsole.store.shown import ShownStore

if TYPE_CHECKING:
    from busconsole.frames import CapturedFrame
    from busconsole.transport.client import BusClient

class ReadOnlyError(PermissionError):
    """A mutation refused because the session is read-only (support staff on production)."""


class CannotSendError(RuntimeError):
    """The session has nowhere to send frames (a file without ``--to``)."""


@dataclass(slots=True)
class SessionStatus:
    """A snapshot the status bar draws; sessions update it in place, the UI polls it."""

    phase: str = "idle"  # connecting / connected / reconnecting / failed / closed / file / proxy
    attempt: int = 0
    retry_at: float | None = None  # epoch seconds of the next connection attempt
    last_error: str = ""
    frames_in: int = 0
    frames_out: int = 0
    skipped: int = 0  # frames the source could not deliver (torn lines, dropped by a bound)
    recording_path: Path | None = None
    recording_bytes: int = 0
    unrecorded: int = 0  # frames the recording could not take (disk full, I/O error)
    record_error: str = ""  # why, the last time

    @property
    def retry_in(self) -> float | None:
        return None if self.retry_at is None else max(0.0, self.retry_at - time.time())

    @property
    def phase_text(self) -> str:
        """One phrase: ``reconnecting in 2 s (attempt 3)``, ``failed: refused``…"""
        if self.phase == "reconnecting":
            retry_in = self.retry_in
            wait = f" in {retry_in:.0f} s" if retry_in is not None else ""
            why = f": {self.last_error}" if self.last_error else ""
            return f"reconnecting{wait} (attempt {self.attempt}){why}"
        if self.phase == "failed" and self.last_error:
            return f"failed: {self.last_error}"
        return self.phase


@runtime_checkable
class Session(Protocol):
    """A frame source the app displays. Implementations only append to ``store``."""

    title: str
    status: SessionStatus
    subscriptions: dict[str, int]  # entity -> updates seen since subscribing
    read_only: bool
    entity_hints: tuple[str, ...]  # entities to offer before any is seen on the bus

    @property
    def store(self) -> ShownStore: ...

    @property
    def can_send(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, frame: dict[str, Any]) -> None: ...

    async def subscribe(self, entity: str) -> None: ...

    async def unsubscribe(self, entity: str) -> None: ...


@runtime_checkable
class Reconnectable(Protocol):
    """A session with its own client, which can skip a reconnect wait (``R`` in the app)."""

    def reconnect_now(self) -> None: ...


@runtime_checkable
class Recordable(Protocol):
    """A session whose capture can be written to a recording and toggled (``r`` in the app)."""

    @property
    def recording(self) -> bool: ...

    def set_recording(self, on: bool) -> None: ...


class _Sender(Protocol):
    read_only: bool

    @property
    def can_send(self) -> bool: ...


def check_sendable(session: _Sender, frame: dict[str, Any]) -> None:
    """Raise when ``session`` must not send ``frame``; shared by every session kind."""
    if not session.can_send:
        raise CannotSendError("this session has no server to send to")
    if session.read_only and str(frame.get("type", "")).upper() == "MUTATION":
        raise ReadOnlyError("read-only session: MUTATION refused")


UPDATE_TYPES = frozenset({"STORE_UPDATE", "SUBSCRIPTION_DATA"})


class ClientActions:
    """Sending and subscribing through busconsole's own :class:`BusClient`, and counting
    the updates those subscriptions bring: the part the live and the demo session share."""

    status: SessionStatus
    subscriptions: dict[str, int]
    read_only: bool
    entity_hints: tuple[str, ...] = ()  # a real server's entities are learnt from the bus
    _client: BusClient | None

    @property
    def can_send(self) -> bool:
        return self._client is not None and self.status.phase != "closed"

    async def send(self, frame: dict[str, Any]) -> None:
        check_sendable(self, frame)
        assert self._client is not None  # can_send guarantees it
        await self._client.send(frame)

    def reconnect_now(self) -> None:
        """Try to connect at once instead of waiting out the backoff."""
        if self._client is not None:
            self._client.reconnect_now()

    async def subscribe(self, entity: str) -> None:
        self.subscriptions.setdefault(entity, 0)
        if self._client is not None:
            await self._client.subscribe(entity)

    async def unsubscribe(self, entity: str) -> None:
        self.subscriptions.pop(entity, None)
        if self._client is not None:
            await self._client.unsubscribe(entity)

    def _count_update(self, facts: FrameFacts | CapturedFrame) -> None:
        """An inbound frame: one more update seen for a subscribed entity, if it is one.

        Takes the frame itself on the hot path: its decoded object is cached by the store's
        append, whereas rebuilding the store's facts would cost a lookup per frame."""
        if isinstance(facts, FrameFacts):
            kind, entity = facts.type, facts.entity
        else:
            obj = facts.obj
            if obj is None:
                return
            kind, entity = str(obj["type"]).upper(), obj.get("entity")
        if kind in UPDATE_TYPES and entity in self.subscriptions:
            self.subscriptions[entity] += 1


class StoreSession:
    """A session over a store something else fills (a benchmark's sender, a test's frames).

    It never sends: ``can_send`` is False, and the phase is whatever the owner sets.
    """

    def __init__(self, store: EventStore, title: str, phase: str = "closed") -> None:
        self.store = store
        self.title = title
        self.status = SessionStatus(phase=phase)
        self.subscriptions: dict[str, int] = {}
        self.read_only = True
        self.entity_hints: tuple[str, ...] = ()

    @property
    def can_send(self) -> bool:
        return False

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, frame: dict[str, Any]) -> None:
        check_sendable(self, frame)

    async def subscribe(self, entity: str) -> None:
        raise CannotSendError("this session has no server to subscribe with")

    async def unsubscribe(self, entity: str) -> None:
        self.subscriptions.pop(entity, None)
