"""The capture side of the proxy tap: forwarding hands every frame over here and never waits.

Two consumers, two promises:

* the **view** (the TUI's store or the stderr log) reads a bounded ``asyncio.Queue``.
  When it falls behind, new frames are skipped *for the view only* and counted, so a
  busy screen can never slow the traffic it watches;
* the **recorder** writes every frame from its own queue in its own thread, so a slow
  disk never stalls the event loop either. Its backlog is bounded in **bytes**
  (``RECORD_BACKLOG_BYTES``), and no connection may hold more than a quarter of it, so
  one very fast sender always leaves room for the others' frames. Long before its share
  is full, a connection whose frames the recorder has not caught up with is *held*: the
  relay stops reading that one sender (:meth:`Capture.held`) until the recorder drains
  its backlog, so it is slowed to the disk's pace while the other clients are not. Past
  the bounds, frames are counted as ``lost`` (never silently), because forwarding wins
  over memory exhaustion.

Nothing here opens a socket: the proxy calls :meth:`Capture.frame` and
:meth:`Capture.event`, tests and benchmarks can drive it directly.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from typing import Any, Protocol

import orjson

from busconsole.frames import IN, CapturedFrame, Direction

VIEW_BACKLOG = 10_000
RECORD_BACKLOG_BYTES = 64 * 2**20  # bytes of frames waiting for the disk, all connections
CONN_SHARE = 4  # one connection may hold 1/CONN_SHARE of them at most
FRAME_OVERHEAD = 96  # bytes a queued frame costs beyond its payload (object, deque slot)
BATCH_PAUSE = 0.01  # seconds the recorder lets frames gather once it has caught up
MAX_BATCH = 1000  # frames per write at most, so a huge backlog still reaches the disk steadily
MAX_BATCH_BYTES = 512 * 2**10  # and bytes: redaction check and encoding hold the GIL that long


class FrameWriter(Protocol):
    """What the recorder needs of a recording writer (``recording.writer.RecordingWriter``)."""

    def write_many(self, frames: list[CapturedFrame]) -> Any: ...

    def close(self) -> None: ...


class Recorder:
    """Writes every frame it is given, in order, on a thread of its own."""

    def __init__(self, writer: FrameWriter, max_bytes: int = RECORD_BACKLOG_BYTES) -> None:
        self.writer = writer
        self.max_bytes = max_bytes
        self.conn_max = max_bytes // CONN_SHARE
        self.hold_at = self.conn_max // 2  # a connection's backlog past which its sender is held
        self.written = 0
        self.lost = 0  # frames refused because the backlog was full, or a write failed
        self.error: str | None = None
        # A deque and an event rather than a queue: appending is atomic and costs no lock, and
        # the thread is woken once per batch, not once per frame.
        self._frames: deque[CapturedFrame] = deque()
        # Bytes queued (written by the loop's thread only) and done (the recorder's thread only),
        # in total and per connection: each counter has one writer, so no lock is needed.
        self._queued = 0
        self._done = 0
        self._conn_queued: dict[str, int] = {}
        self._conn_done: dict[str, int] = {}
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="busconsole-recorder", daemon=True)
        self._thread.start()

    def put(self, frame: CapturedFrame) -> None:
        size = len(frame.raw) + FRAME_OVERHEAD
        conn = frame.conn
        conn_queued = self._conn_queued.get(conn, 0)
        if (
            self._queued - self._done + size > self.max_bytes
            or conn_queued - self._conn_done.get(conn, 0) + size > self.conn_max
        ):
            self.lost += 1
            return
        self._queued += size
        self._conn_queued[conn] = conn_queued + size
        self._frames.append(frame)
        if not self._wake.is_set():
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._frames)

    @property
    def pending_bytes(self) -> int:
        return self._queued - self._done

    def conn_pending(self, conn: str) -> int:
        """Bytes of ``conn``'s frames waiting for the disk."""
        return self._conn_queued.get(conn, 0) - self._conn_done.get(conn, 0)

    def _run(self) -> None:
        frames = self._frames
        while True:
            self._wake.wait()
            self._wake.clear()
            closing = self._closing
            while frames:
                batch: list[CapturedFrame] = []
                raw = 0
                # Bounded in frames and bytes: one C call over megabytes of frames would hold the
                # GIL, and so stall the event loop (and every client's round trip), that long.
                while frames and len(batch) < MAX_BATCH and raw < MAX_BATCH_BYTES:
                    frame = frames.popleft()
                    batch.append(frame)
                    raw += len(frame.raw)
                self._write(batch)
                done = self._conn_done
                total = 0
                for frame in batch:
                    size = len(frame.raw) + FRAME_OVERHEAD
                    total += size
                    done[frame.conn] = done.get(frame.conn, 0) + size
                self._done += total
            if closing:
                return
            # Caught up: let frames gather rather than wake (and take the GIL) for each one.
            time.sleep(BATCH_PAUSE)

    def _write(self, batch: list[CapturedFrame]) -> None:
        """One write (one system call, one redaction check) for everything that gathered."""
        if self.error is not None:
            self.lost += len(batch)
            return
        try:
            self.writer.write_many(batch)
            self.written += len(batch)
        except (OSError, ValueError) as exc:  # disk full, closed file: keep draining, say so
            self.error = str(exc)
            self.lost += len(batch)

    def close(self) -> None:
        """Write what is queued, then close the writer. Blocks until done."""
        self._closing = True
        self._wake.set()
        self._thread.join()
        self.writer.close()


class Capture:
    """Numbers captured frames and fans them out to the recorder and the view queue."""

    def __init__(self, recorder: Recorder | None = None, view_backlog: int | None = VIEW_BACKLOG) -> None:
        self.recorder = recorder
        self.view: asyncio.Queue[CapturedFrame] | None = (
            asyncio.Queue(maxsize=view_backlog) if view_backlog else None
        )
        self.skipped = 0  # frames the view never got because it was behind
        self.frames_in = 0
        self.frames_out = 0
        self._seq = itertools.count(1)

    def frame(self, direction: Direction, conn: str, raw: bytes, binary: bool = False) -> CapturedFrame:
        frame = CapturedFrame(next(self._seq), time.time() * 1000.0, direction, conn, raw, binary)
        if direction == IN:
            self.frames_in += 1
        else:
            self.frames_out += 1
        if self.recorder is not None:
            self.recorder.put(frame)
        if self.view is not None:
            try:
                self.view.put_nowait(frame)
            except asyncio.QueueFull:
                self.skipped += 1
        return frame

    def held(self, conn: str) -> bool:
        """Whether ``conn``'s sender should wait: the recorder is that far behind on its frames."""
        recorder = self.recorder
        return recorder is not None and recorder.conn_pending(conn) > recorder.hold_at

    def event(self, conn: str, kind: str, **fields: Any) -> CapturedFrame:
        """A synthetic frame (``PROXY_OPEN``/``PROXY_CLOSE``) so opens and closes sit in the
        same stream, recording and filters as the traffic. Always ``dir`` "in"; not counted."""
        body = {"type": kind, "conn": conn, **fields, "timestamp": int(time.time() * 1000)}
        frame = self.frame(IN, conn, orjson.dumps(body))
        self.frames_in -= 1
        return frame
