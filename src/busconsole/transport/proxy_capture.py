"""The capture side of the proxy tap: forwarding hands every frame over here and never waits.

Two consumers, two promises:

* the **view** (the TUI's store or the stderr log) reads a bounded ``asyncio.Queue``.
  When it falls behind, new frames are skipped *for the view only* and counted, so a
  busy screen can never slow the traffic it watches;
* the **recorder** writes every frame from its own queue in its own thread, so a slow
  disk never stalls the event loop either. Its backlog is bounded by a frame count
  large enough to absorb any burst the view cannot; past it, frames are counted as
  ``lost`` (never silently), because forwarding wins over memory exhaustion.

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
RECORD_BACKLOG = 200_000
BATCH_PAUSE = 0.01  # seconds the recorder lets frames gather once it has caught up
MAX_BATCH = 1000  # frames per write at most, so a huge backlog still reaches the disk steadily


class FrameWriter(Protocol):
    """What the recorder needs of a recording writer (``recording.writer.RecordingWriter``)."""

    def write_many(self, frames: list[CapturedFrame]) -> Any: ...

    def close(self) -> None: ...


class Recorder:
    """Writes every frame it is given, in order, on a thread of its own."""

    def __init__(self, writer: FrameWriter, backlog: int = RECORD_BACKLOG) -> None:
        self.writer = writer
        self.backlog = backlog
        self.written = 0
        self.lost = 0  # frames refused because the backlog was full, or a write failed
        self.error: str | None = None
        # A deque and an event rather than a queue: appending is atomic and costs no lock, and
        # the thread is woken once per batch, not once per frame.
        self._frames: deque[CapturedFrame] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="busconsole-recorder", daemon=True)
        self._thread.start()

    def put(self, frame: CapturedFrame) -> None:
        if len(self._frames) >= self.backlog:
            self.lost += 1
            return
        self._frames.append(frame)
        if not self._wake.is_set():
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._frames)

    def _run(self) -> None:
        frames = self._frames
        while True:
            self._wake.wait()
            self._wake.clear()
            closing = self._closing
            while frames:
                take = min(len(frames), MAX_BATCH)
                self._write([frames.popleft() for _ in range(take)])
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

    def event(self, conn: str, kind: str, **fields: Any) -> CapturedFrame:
        """A synthetic frame (``PROXY_OPEN``/``PROXY_CLOSE``) so opens and closes sit in the
        same stream, recording and filters as the traffic. Always ``dir`` "in"; not counted."""
        body = {"type": kind, "conn": conn, **fields, "timestamp": int(time.time() * 1000)}
        frame = self.frame(IN, conn, orjson.dumps(body))
        self.frames_in -= 1
        return frame
