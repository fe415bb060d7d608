"""LiveSession: busconsole as one more client of a store server, recorded by default."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from busconsole.frames import CapturedFrame
from busconsole.recording.follow import FolderFollower, follow_folder
from busconsole.recording.redact import redacted_url
from busconsole.sessions.base import ClientActions, SessionStatus
from busconsole.store import EventStore

if TYPE_CHECKING:
    from busconsole.recording.reader import Recording
    from busconsole.recording.writer import RecordingWriter
    from busconsole.transport.client import BusClient
    from busconsole.transport.state import ConnectionState


WINDOW_FRAMES = 250_000  # frames held in memory; older ones are read back from the recording
WINDOW_BYTES = 48 * 2**20


class ReadBack:
    """The session's own recording as the store's source: frames that left the memory window
    are read back from the file the session is writing (indexed as far as it was needed)."""

    def __init__(self, writer: RecordingWriter) -> None:
        self._writer = writer
        self._path = Path(writer.path)
        self._rec: Recording | None = None
        self._upto: int | None = None  # after a failed write, later frames are not where expected

    def __len__(self) -> int:
        return self._writer.frames if self._upto is None else self._upto

    def freeze(self) -> None:
        """A write failed: only the frames written before it are read back."""
        if self._upto is None:
            self._upto = self._writer.frames

    def frame(self, i: int) -> CapturedFrame:
        rec = self._rec
        if rec is None:
            from busconsole.recording.reader import open_recording

            rec = self._rec = open_recording([self._path], follow=True)
            rec.wait()
        if i >= len(rec):
            rec.refresh()
        return rec.frame(i)

    def close(self) -> None:
        if self._rec is not None:
            self._rec.close()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
        server_logs: Path | None = None,
    ) -> None:
        self.url = url
        self.title = redacted_url(url)
        self.store = EventStore(max_frames=max_frames or WINDOW_FRAMES, max_bytes=WINDOW_BYTES)
        self.status = SessionStatus(phase="connecting")
        self.subscriptions: dict[str, int] = dict.fromkeys(subscribe, 0)
        self.read_only = read_only
        self._headers = dict(headers or {})
        self._record = record
        self._writer: RecordingWriter | None = None
        self._unwritten: list[CapturedFrame] = []
        self._client: BusClient | None = None
        self._running = contextlib.AsyncExitStack()  # the client, while started
        self._seq = itertools.count(1)  # the client's frames and the log folder's share one numbering
        self.server_logs = server_logs

    @property
    def recording(self) -> bool:
        return self._writer is not None

    async def start(self) -> None:
        # Imported here so that importing sessions (replay, tests of the UI) does not load websockets.
        from busconsole.transport.client import BusClient

        if self._record:
            self.set_recording(True)
        self._client = await self._running.enter_async_context(BusClient(
            self.url,
            headers=self._headers,
            subscribe=list(self.subscriptions),
            on_frame=self._on_frame,
            on_state=self._on_state,
            seq=self._seq,
        ))
        assert self._client.task is not None
        self._client.task.add_done_callback(self._ended)
        if self.server_logs is not None:
            follower = FolderFollower(self.server_logs, self._seq.__next__)
            task = asyncio.create_task(follow_folder(follower, self._on_frame), name="busconsole-server-logs")
            self._running.push_async_callback(_cancel, task)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The client stopped: on a failure inside it, the status says so instead of "connected"."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        self.status.phase = "failed"
        self.status.retry_at = None
        self.status.last_error = f"capture stopped: {type(exc).__name__}: {exc}"

    async def stop(self) -> None:
        with contextlib.suppress(Exception):  # a failure of the client was shown by _ended already
            await self._running.aclose()
        self.set_recording(False)
        if isinstance(self.store.source, ReadBack):
            self.store.source.close()
        self.status.phase = "closed"

    def set_recording(self, on: bool) -> None:
        """Start a new session recording, or close the current one."""
        if on and self._writer is None:
            from busconsole.recording.sessions import new_session_writer

            self._writer = new_session_writer(self.title)
            self.status.recording_path = Path(self._writer.path)
            self.status.recording_bytes = 0
            if self.store.source is None and not len(self.store):  # store index i is the file's frame i
                self.store.source = ReadBack(self._writer)
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
            try:
                self._writer.write_many(frames)
            except Exception as exc:  # noqa: BLE001 - disk full, I/O error or a bug: counted and shown, never lost silently
                self.status.unrecorded += len(frames)
                if isinstance(self.store.source, ReadBack):
                    self.store.source.freeze()
                self.status.record_error = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
                return
            self.status.recording_bytes = self._writer.bytes

    def _on_state(self, state: ConnectionState) -> None:
        st = self.status
        st.phase = state.phase
        st.attempt = state.attempt
        st.retry_at = state.retry_at
        st.last_error = state.last_error
