"""The proxy tap as a :class:`~busconsole.sessions.base.Session`: the TUI and the headless log
watch every connection through the same store, pairing and filters as a live client.

The view side drains the capture queue in batches into the store; frames the view
could not keep up with are counted in ``status.skipped`` while the recorder (its own
thread, its own queue) still writes every one. The session never sends: the frames
belong to the frontends, so ``can_send`` is False and ``read_only`` True.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from busconsole.facts import FrameFacts
from busconsole.frames import CapturedFrame
from busconsole.recording.redact import redacted_url
from busconsole.sessions.base import CannotSendError, SessionStatus, check_sendable
from busconsole.store import EventStore
from busconsole.transport.proxy import ProxyTap
from busconsole.transport.proxy_capture import VIEW_BACKLOG, Capture, Recorder

BATCH = 512  # frames moved into the store per turn of the loop, so forwarding gets its turns

OnView = Callable[[CapturedFrame, FrameFacts], None]  # a frame as the view gets it


class ProxySession:
    """Listens on ``host:port``, relays to ``upstream`` and shows what passes."""

    def __init__(
        self,
        upstream: str,
        *,
        host: str = "127.0.0.1",
        port: int = 3014,
        record: Path | None = None,
        record_session: bool = True,
        view: bool = True,
        view_backlog: int = VIEW_BACKLOG,
        on_view: OnView | None = None,
        window: tuple[int, int] | None = None,
    ) -> None:
        """``record`` writes the recording there; otherwise ``record_session`` picks a new
        file in the sessions folder. ``view=False`` (``--quiet``) leaves the store empty.
        ``window`` (frames, bytes) bounds the store (the headless log needs less than a screen)."""
        self.capture = Capture(view_backlog=view_backlog if view else None)
        self.tap = ProxyTap(upstream, self.capture, host=host, port=port)
        self._upstream_shown = redacted_url(upstream)
        self.title = self._title()
        self.store = EventStore(max_frames=window[0], max_bytes=window[1]) if window else EventStore()
        self.status = SessionStatus(phase="connecting")
        self.subscriptions: dict[str, int] = {}
        self.read_only = True
        self.entity_hints: tuple[str, ...] = ()
        self._record_path = record
        self._record = record is not None or record_session
        self._on_view = on_view
        self._task: asyncio.Task[None] | None = None

    def _title(self) -> str:
        return f"proxy {self.tap.listen_spec} → {self._upstream_shown}"

    @property
    def can_send(self) -> bool:
        return False

    @property
    def recording(self) -> bool:
        return self.capture.recorder is not None

    def set_recording(self, on: bool) -> None:
        """Start recording (to ``--record`` FILE, else a new session file), or stop."""
        recorder = self.capture.recorder
        if on and recorder is None:
            if self._record_path is not None:
                from busconsole.recording.writer import RecordingWriter

                writer = RecordingWriter(self._record_path, self.title)
            else:
                from busconsole.recording.sessions import new_session_writer

                writer = new_session_writer(self.title)
            self.capture.recorder = Recorder(writer)
            self.status.recording_path = writer.path
            self.status.recording_bytes = 0
        elif not on and recorder is not None:
            self.capture.recorder = None
            recorder.close()
            self._refresh(recorder)

    async def start(self) -> None:
        """Listen, then open the recording. Raises OSError when either fails."""
        try:
            await self.tap.start()
            self.title = self._title()  # the real port, when 0 asked for any free one
            if self._record:
                self.set_recording(True)
        except OSError as exc:
            self.status.phase, self.status.last_error = "failed", str(exc)
            await self.tap.stop()
            raise
        self.status.phase = "proxy"
        if self.capture.view is not None:
            self._task = asyncio.create_task(self._drain(self.capture.view), name="busconsole-proxy-view")

    async def stop(self) -> None:
        """Close every connection (their closes are captured), then the view and the recording."""
        await self.tap.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.capture.view is not None:
            self._show(_take(self.capture.view, self.capture.view.qsize()))
        await asyncio.to_thread(self.set_recording, False)
        self.status.phase = "closed"

    async def send(self, frame: dict[str, Any]) -> None:
        check_sendable(self, frame)

    async def subscribe(self, entity: str) -> None:
        raise CannotSendError("the proxy only watches: subscriptions belong to the frontends")

    async def unsubscribe(self, entity: str) -> None:
        raise CannotSendError("the proxy only watches: subscriptions belong to the frontends")

    # ------------------------------------------------------------------ view

    async def _drain(self, view: asyncio.Queue[CapturedFrame]) -> None:
        while True:
            first = await view.get()
            self._show([first, *_take(view, BATCH - 1)])
            await asyncio.sleep(0)  # let the relays run between batches

    def _show(self, frames: list[CapturedFrame]) -> None:
        for frame in frames:
            index = self.store.append(frame)
            if self._on_view is not None:
                self._on_view(frame, self.store.facts(index))
        self._refresh(self.capture.recorder)

    def _refresh(self, recorder: Recorder | None) -> None:
        st, cap = self.status, self.capture
        st.frames_in, st.frames_out, st.skipped = cap.frames_in, cap.frames_out, cap.skipped
        if recorder is not None:
            st.recording_bytes = getattr(recorder.writer, "bytes", 0)
            if recorder.lost:
                st.last_error = f"recording lost {recorder.lost} frames ({recorder.error or 'backlog full'})"


def _take(view: asyncio.Queue[CapturedFrame], n: int) -> list[CapturedFrame]:
    out: list[CapturedFrame] = []
    with contextlib.suppress(asyncio.QueueEmpty):
        for _ in range(n):
            out.append(view.get_nowait())
    return out
