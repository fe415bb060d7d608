"""StoreView: the one replay store as it was at position ``p``, for playback.

Playback shows the session as of the clock: frames ``[0, p)``, requests whose reply comes at or
after ``p`` still pending, console messages and counts of those frames only. Rather than a second
store fed up to ``p`` (and a third rebuilt on every backward seek), the view answers from the
loaded store and hides what has not happened yet, so seeking anywhere is instant and costs no
memory. What a frame's own bytes say (its facts, its state diff) does not depend on later frames.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from busconsole.pairing import Pair, Pending
from busconsole.store.file import FileStore

if TYPE_CHECKING:
    from busconsole.console import ConsoleEntry
    from busconsole.facts import FrameFacts
    from busconsole.filtering.nodes import Anchors
    from busconsole.frames import CapturedFrame
    from busconsole.state import Diff, EntityState


class PairingView:
    """The store's pairing with the replies at or after ``p`` not yet arrived."""

    def __init__(self, view: StoreView) -> None:
        self._view = view
        self._base = view.base.pairing
        self.timeout = self._base.timeout
        self._pending_at = 0  # the pending count is walked from here to p, both ways
        self._pending = 0

    @property
    def _p(self) -> int:
        return self._view.position

    def pair_of(self, i: int) -> Pair | None:
        pair = self._base.pair_of(i)
        return pair if pair is not None and pair.reply < self._p else None

    def latency(self, i: int) -> float | None:
        pair = self.pair_of(i)
        return None if pair is None else pair.latency

    def is_request(self, i: int) -> bool:
        return self._base.is_request(i)

    def is_pending(self, i: int) -> bool:
        return i < self._p and self._base.is_request(i) and self.pair_of(i) is None

    def is_timed_out(self, i: int, now: float | None = None) -> bool:
        if not self.is_pending(i):
            return False
        at = self._view.now_ms if now is None else now
        return at is not None and at - self._view.base.facts(i).t > self.timeout * 1000

    def is_guessed(self, i: int) -> bool:
        return self._base.is_guessed(i) and self.pair_of(i) is not None

    def is_failed(self, i: int) -> bool:
        return self._base.is_failed(i) and self.pair_of(i) is not None

    def is_orphan(self, i: int) -> bool:
        return i < self._p and self._base.is_orphan(i)

    def effects_of(self, i: int) -> list[int]:
        return [e for e in self._base.effects_of(i) if e < self._p]

    def cause_of(self, i: int) -> int | None:
        return self._base.cause_of(i) if i < self._p else None

    def pending(self, now: float | None = None) -> list[Pending]:
        """Requests before ``p`` still waiting at ``p``, oldest first, aged at ``now``."""
        at = (self._view.now_ms or 0.0) if now is None else now
        out = []
        for i in range(self._view.base.first_index, len(self._view)):
            if self.is_pending(i):
                f = self._view.base.facts(i)
                age = at - f.t
                out.append(Pending(i, f.type, f.entity, f.op, f.req, f.conn, age, age > self.timeout * 1000))
        return out

    def pending_count(self) -> int:
        """Requests before ``p`` without a reply before ``p``: kept by walking from the last ``p``
        asked about (a request counts one, the reply to one takes it back), so a clock ticking
        forward costs the frames it passed, not a scan of the session."""
        p, at = self._p, self._pending_at
        step = 1 if p > at else -1
        for i in range(at, p) if step > 0 else range(p, at):
            if self._base.is_request(i):
                self._pending += step
            else:
                pair = self._base.pair_of(i)
                if pair is not None and pair.reply == i:
                    self._pending -= step
        self._pending_at = p
        return self._pending


class ConsoleView:
    """The store's console messages of the frames before ``p``."""

    def __init__(self, view: StoreView) -> None:
        self._view = view
        self._cached: tuple[int, dict[str, int]] | None = None

    def count_by_level(self) -> dict[str, int]:
        p = self._view.position
        if self._cached is None or self._cached[0] != p:
            self._cached = (p, self._view.base.console.count_by_level(before=p))
        return self._cached[1]

    def entries(self, levels: Iterable[str] | None = None, text: str | None = None) -> Iterator[ConsoleEntry]:
        return self._view.base.console.entries(levels, text, before=self._view.position)

    def __len__(self) -> int:
        return sum(self.count_by_level().values())


class StateView:
    """Entity states as of ``p``; a frame's diff depends only on the frames before it."""

    def __init__(self, view: StoreView) -> None:
        self._view = view
        self._base: EntityState = view.base.state

    def current(self, entity: str) -> Any | None:
        return self._base.current_before(entity, len(self._view))

    def entities(self) -> list[str]:
        return self._base.entities_before(len(self._view))

    def diff_at(self, i: int) -> Diff | None:
        return self._base.diff_at(i) if i < len(self._view) else None


class StoreView:
    """``base`` as of position ``position`` (frames ``[0, position)`` have happened)."""

    def __init__(self, base: FileStore, position: int = 0) -> None:
        self.base = base
        self.position = position
        self.now_ms: float | None = None  # the playback clock's time, set by the session
        self.pairing = PairingView(self)
        self.console = ConsoleView(self)

    @property
    def state(self) -> StateView:
        return StateView(self)

    def __len__(self) -> int:
        return min(self.position, len(self.base))

    @property
    def first_index(self) -> int:
        return self.base.first_index

    @property
    def window_start(self) -> int:
        return self.base.window_start

    def frame(self, i: int) -> CapturedFrame:
        return self.base.frame(i)

    def facts(self, i: int, now: float | None = None) -> FrameFacts:
        f = self.base.facts(i)
        pairing = self.pairing
        f.latency = pairing.latency(i)
        f.pending = pairing.is_pending(i)
        f.failed = pairing.is_failed(i)
        f.guessed = pairing.is_guessed(i)
        f.timed_out = pairing.is_timed_out(i, self.now_ms if now is None else now)
        return f

    def positions(self, key: str, value: str) -> Sequence[int]:
        found = self.base.positions(key, value)
        return found[: bisect_left(found, len(self))]

    def values(self, key: str) -> dict[str, int]:
        return self.base.values(key, before=len(self))

    def error_positions(self) -> Sequence[int]:
        """Errors before ``p``: a request is one only once its ERROR reply has come."""
        errors = self.base.error_positions()
        return [i for i in errors[: bisect_left(errors, len(self))] if self.facts(i).error]

    def scan_raw(self, anchor_sets: Sequence[Anchors], start: int = 0, stop: int | None = None) -> Iterator[tuple[int, bytes]]:
        return self.base.scan_raw(anchor_sets, start, len(self) if stop is None else min(stop, len(self)))

    def search_older(self, anchor_sets: Sequence[Anchors], start: int, stop: int, objects_only: bool) -> Iterator[int]:
        return self.base.search_older(anchor_sets, start, min(stop, len(self)), objects_only)
