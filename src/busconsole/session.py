"""What the TUI displays, whatever the frames come from: a live client, a proxy or a file.

The app only knows the :class:`Session` protocol: an :class:`EventStore` that fills up,
a :class:`SessionStatus` it polls a few times a second, and a handful of async
actions. Sources differ (``LiveSession`` here; a proxy and a file session elsewhere),
the views do not. Nothing here imports Textual, so headless code can reuse it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from busconsole.commands.common import redacted_url
from busconsole.facts import FrameFacts
from busconsole.store import EventStore

if TYPE_CHECKING:
    from busconsole.frames import CapturedFrame
    from busconsole.recording.writer import RecordingWriter
    from busconsole.transport.client import BusClient, ConnectionState

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

    @property
    def retry_in(self) -> float | None:
        return None if self.retry_at is None else max(0.0, self.retry_at - time.time())

    @property
    def phase_text(self) -> str:
        """One phrase: ``reconnecting in 2 s (attempt 3)``, ``failed: refused``…"""
        if self.phase == "reconnecting":
            retry_in = self.retry_in
            wait = f" in {retry_in:.0f} s" if retry_in is not None else ""
            return f"reconnecting{wait} (attempt {self.attempt})"
        if self.phase == "failed" and self.last_error:
            return f"failed: {self.last_error}"
        return self.phase


@runtime_checkable
class Session(Protocol):
    """A frame source the app displays. Implementations only append to ``store``."""

    store: EventStore
    title: str
    status: SessionStatus
    subscriptions: dict[str, int]  # entity -> updates seen since subscribing
    read_only: bool

    @property
    def can_send(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, frame: dict[str, Any]) -> None: ...

    async def subscribe(self, entity: str) -> None: ...

    async def unsubscribe(self, entity: str) -> None: ...


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
    _client: BusClient | None

    @property
    def can_send(self) -> bool:
        return self._client is not None and self.status.phase != "closed"

    async def send(self, frame: dict[str, Any]) -> None:
        check_sendable(self, frame)
        assert self._client is not None  # can_send guarantees it
        await self._client.send(frame)

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


class LiveSession(ClientActions):
    """busconsole as one more client of a store server, recorded by default.

    The client runs as an asyncio task whose callbacks only append to the store and the
    recording, so the UI thread never waits on the network.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        subscribe: list[str] | tuple[str, ...] = (),
        record: bool = True,
        read_only: bool = False,
        max_frames: int | None = None,
    ) -> None:
        self.url = url
        self.title = redacted_url(url)
        self.store = EventStore(max_frames=max_frames) if max_frames else EventStore()
        self.status = SessionStatus(phase="connecting")
        self.subscriptions: dict[str, int] = dict.fromkeys(subscribe, 0)
        self.read_only = read_only
        self._headers = dict(headers or {})
        self._record = record
        self._writer: RecordingWriter | None = None
        self._unwritten: list[CapturedFrame] = []
        self._client: BusClient | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def recording(self) -> bool:
        return self._writer is not None

    async def start(self) -> None:
        # Imported here so that importing sessions (replay, tests of the UI) does not load websockets.
        from busconsole.transport.client import BusClient

        if self._record:
            self.set_recording(True)
        self._client = BusClient(
            self.url,
            headers=self._headers,
            subscribe=list(self.subscriptions),
            on_frame=self._on_frame,
            on_state=self._on_state,
        )
        self._task = asyncio.create_task(self._client.run(), name="busconsole-client")

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.set_recording(False)
        self.status.phase = "closed"

    def set_recording(self, on: bool) -> None:
        """Start a new session recording, or close the current one."""
        if on and self._writer is None:
            from busconsole.recording.sessions import new_session_writer

            self._writer = new_session_writer(self.title)
            self.status.recording_path = Path(self._writer.path)
            self.status.recording_bytes = 0
        elif not on and self._writer is not None:
            self._write_out()
            self._writer.close()
            self._writer = None

    # ------------------------------------------------------------------ client callbacks

    def _on_frame(self, frame: CapturedFrame) -> None:
        self.store.append(frame)
        if self._writer is not None:
            # Frames of one event-loop turn go to disk in one write, right after it.
            if not self._unwritten:
                asyncio.get_running_loop().call_soon(self._write_out)
            self._unwritten.append(frame)
        if frame.dir == "in":
            self.status.frames_in += 1
            self._count_update(frame)
        else:
            self.status.frames_out += 1

    def _write_out(self) -> None:
        frames, self._unwritten = self._unwritten, []
        if self._writer is not None and frames:
            self._writer.write_many(frames)
            self.status.recording_bytes = self._writer.bytes

    def _on_state(self, state: ConnectionState) -> None:
        st = self.status
        st.phase = state.phase
        st.attempt = state.attempt
        st.retry_at = state.retry_at
        st.last_error = state.last_error


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
