"""FileStore: the event store a recording feeds, and :func:`load` that fills one with a whole
file: the one way every front end (the replay TUI, ``replay --print``, ``--stats``, ``--to``)
reads frames with their pairing, so a filter answers the same everywhere.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from busconsole.facts import FrameFacts
from busconsole.store.events import EventStore

if TYPE_CHECKING:
    from busconsole.filtering.nodes import Anchors
    from busconsole.recording.reader import Recording

WINDOW_MB = 16.0  # raw frames held in memory; older ones are read back from the file, which is cheap
WINDOW_FRAMES = 500_000


class FileStore(EventStore):
    """An event store fed from a file: judged at the session's clock, errors kept for the whole file.

    ``now_ms`` is the session's "now" (the last frame loaded, or the playback clock), so a
    request answered 2 s later in the recording shows pending, not timed out by the wall
    clock. The base store forgets errors that leave its window; this one keeps their
    indices (4 bytes each), so next/previous-error and the timeline cover the whole file.
    """

    def __init__(self, source: Recording, window_bytes: int, window_frames: int) -> None:
        super().__init__(max_frames=window_frames, max_bytes=window_bytes, source=source)
        self._source = source
        self.now_ms: float | None = None
        self._all_errors = array("I")

    def facts(self, i: int, now: float | None = None) -> FrameFacts:
        return super().facts(i, self.now_ms if now is None else now)

    def _error(self, index: int) -> None:
        super()._error(index)
        errors = self._all_errors
        if not errors or index > errors[-1]:
            errors.append(index)
            return
        k = bisect_left(errors, index)
        if errors[k] != index:
            errors.insert(k, index)

    def error_positions(self) -> Sequence[int]:
        return self._all_errors

    def catch_up(self) -> int:
        """Append the source's frames this store has not seen yet (a followed file grew);
        ``now_ms`` follows the latest capture time. Returns the index of the first new frame."""
        start = len(self)
        latest = self.now_ms
        for i in range(start, len(self._source)):
            frame = self._source.frame(i)
            self.append(frame)
            latest = frame.t if latest is None else max(latest, frame.t)
        self.now_ms = latest
        return start

    def search_older(self, anchor_sets: Sequence[Anchors], start: int, stop: int, objects_only: bool) -> Iterator[int]:
        """Indices in ``[start, stop)`` whose line in the file can hold a match for a filter with
        these anchors: the file is searched in bulk (C over whole blocks), so a filter over
        frames that left the window costs a pass over the file, not a parse per frame."""
        for i, _line in self._source.search_lines(anchor_sets, start, binary=not objects_only):
            if i >= stop:
                return
            yield i


def load(source: Recording, window_mb: float | None = None, window_frames: int = WINDOW_FRAMES) -> FileStore:
    """A store holding every frame of ``source`` (indexed to its end), judged at its last frame:
    what the replay TUI shows once loaded. Store index ``i`` is the recording's frame ``i``.
    Without ``window_mb`` the whole input stays in the window, so pairing covers all of it."""
    source.wait()
    if window_mb is None:
        store = FileStore(source, 1 << 62, 1 << 40)
    else:
        store = FileStore(source, max(1, int(window_mb * 2**20)), max(1, window_frames))
    store.catch_up()
    return store
