"""Which store indices the stream view shows, as one compact array, grown incrementally.

The view never holds frames, only this index: unfiltered it is the store's window
itself (no array at all); filtered it is an ``array("I")`` extended by scanning only
the frames that arrived since the last tick. Frames the store drops from the front
of its bounded window are dropped here too, and the view is told how many rows went.
With a time ``budget``, a filter over a long history (a big replayed file) is applied a slice
per sync, so the screen stays live while the rows fill in from the top.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from time import perf_counter

from busconsole.filtering import Filter
from busconsole.store.shown import ShownStore

FIRST_STEP = 50_000  # frames of the first slice of a budgeted filter


class RowIndex:
    """Row number -> store index for one filter; ``sync()`` catches up with the store."""

    def __init__(self, store: ShownStore, flt: Filter | None = None, budget: float | None = None) -> None:
        self.store = store
        self.filter = flt
        self.budget = budget  # seconds a filter may take per sync (None: all at once); the rest later
        self._step = FIRST_STEP  # frames per sync under a budget, adapted to the last sync's speed
        self._rows = array("I")
        self._first = store.first_index  # unfiltered: row 0 is this store index
        self._scanned = store.first_index
        self._count = 0
        self.sync()

    def __len__(self) -> int:
        return self._count

    @property
    def behind(self) -> int:
        """Frames of the store the filter has not tested yet (a stepped filter catching up)."""
        return 0 if self.filter is None else max(len(self.store) - self._scanned, 0)

    def index(self, row: int) -> int:
        """The store index drawn at ``row``."""
        return self._rows[row] if self.filter is not None else self._first + row

    def row_of(self, index: int, *, after: bool = False) -> int | None:
        """Row showing ``index``; with ``after``, the first row at or past it (None past the end)."""
        if self.filter is None:
            row = max(index - self._first, 0)
        else:
            row = bisect_left(self._rows, index, 0, self._count)
            if not after and (row >= self._count or self._rows[row] != index):
                return None
        return row if row < self._count else None

    def row_before(self, index: int) -> int | None:
        """The last row showing a store index below ``index``."""
        if self.filter is None:
            row = min(index, self._first + self._count) - self._first - 1
        else:
            row = bisect_right(self._rows, index - 1, 0, self._count) - 1
        return row if row >= 0 else None

    def sync(self) -> tuple[int, int]:
        """Take in what the store gained and lost; returns (rows added, rows dropped at the front)."""
        store = self.store
        end = len(store)
        first = store.first_index
        dropped = 0
        if self.filter is None:
            if first > self._first:
                dropped = min(first - self._first, self._count)
                self._first = first
                self._count -= dropped
            added = end - self._first - self._count
            self._count += added
            return added, dropped
        if first > self._scanned:
            self._scanned = first
        if self._count and self._rows[0] < first:
            dropped = bisect_left(self._rows, first, 0, self._count)
            del self._rows[:dropped]
            self._count -= dropped
        added = 0
        if self.budget is not None:
            end = min(end, self._scanned + self._step)
        if end > self._scanned:
            started = perf_counter()
            found = self.filter.select(store, self._scanned, end)
            if self.budget is not None:
                rate = (end - self._scanned) / max(perf_counter() - started, 1e-6)
                self._step = max(FIRST_STEP // 10, min(int(rate * self.budget), self._step * 4))
            self._rows.extend(found)
            added = len(self._rows) - self._count
            self._count = len(self._rows)
            self._scanned = end
        return added, dropped
