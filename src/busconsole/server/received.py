"""The frames a reference server received, newest kept, bounded in count and bytes.

Tests read it to see exactly what reached the server; a long-running ``serve`` must not
keep every frame it ever got (one 10 MiB frame used to stay in memory for good). The
oldest frames are dropped first; ``dropped`` counts them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from typing import overload

Raw = bytes | str

MAX_FRAMES = 10_000
MAX_BYTES = 32 * 2**20


class ReceivedFrames(Sequence[Raw]):
    """A bounded, thread-safe log of raw frames that reads like a list (index, slice, ``==``):
    the server's loop appends while a test thread reads."""

    def __init__(self, max_frames: int = MAX_FRAMES, max_bytes: int = MAX_BYTES) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.dropped = 0
        self._frames: deque[Raw] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def append(self, frame: Raw) -> None:
        """Keep ``frame``, dropping the oldest past either bound (a frame over the whole byte
        budget is not kept at all)."""
        size = len(frame)
        with self._lock:
            if size > self.max_bytes or self.max_frames <= 0:
                self.dropped += 1
                return
            self._frames.append(frame)
            self._bytes += size
            while len(self._frames) > self.max_frames or self._bytes > self.max_bytes:
                self._bytes -= len(self._frames.popleft())
                self.dropped += 1

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0

    def snapshot(self) -> list[Raw]:
        with self._lock:
            return list(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    @overload
    def __getitem__(self, index: int) -> Raw: ...

    @overload
    def __getitem__(self, index: slice) -> list[Raw]: ...

    def __getitem__(self, index: int | slice) -> Raw | list[Raw]:
        with self._lock:
            if isinstance(index, slice):
                return list(self._frames)[index]
            return self._frames[index]

    def __iter__(self) -> Iterator[Raw]:
        return iter(self.snapshot())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ReceivedFrames, list, tuple)):
            return self.snapshot() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ReceivedFrames({len(self)} frames, {self._bytes} bytes, {self.dropped} dropped)"
