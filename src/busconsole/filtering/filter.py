"""The filter language (DESIGN §6): text -> :class:`Filter`, one predicate for every front end.

``parse_filter("type:QUERY,MUTATION entity:comp* -is:pending")`` gives a Filter that
tests one frame's facts (:meth:`Filter.matches`), selects indices from the event
store using its indexes (:meth:`Filter.select`), and rules frames out from their
raw bytes before any JSON is parsed (:meth:`Filter.prefilter`). ``str(filter)`` is
a canonical form that parses back to an equal filter; :func:`help_text` documents
the keys from the same table the parser uses.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

from busconsole.facts import FrameFacts
from busconsole.filtering.errors import FilterError
from busconsole.filtering.keys import FILTER_KEYS, KeyDef, help_text
from busconsole.filtering.nodes import IndexedStore, Node
from busconsole.filtering.parser import parse_tree

__all__ = ["FILTER_KEYS", "Filter", "FilterError", "IndexedStore", "KeyDef", "help_text",
           "parse_filter"]


class Filter:
    """A parsed filter; ``root`` is None for the empty filter, which matches everything."""

    __slots__ = ("root", "_needles")

    def __init__(self, root: Node | None) -> None:
        self.root = root
        self._needles = root is not None and root.has_needles()

    def matches(self, facts: FrameFacts) -> bool:
        return self.root is None or self.root.matches(facts)

    @property
    def needs_pairing(self) -> bool:
        """Whether frames must be judged in a store that has seen the whole input (see
        :meth:`Node.needs_pairing`); a filter that does not gives the same answer on a lone frame."""
        return self.root is not None and self.root.needs_pairing()

    def prefilter(self, raw: bytes) -> bool:
        """False only when no frame with these bytes can match, so the caller may skip parsing."""
        if not self._needles:
            return True
        assert self.root is not None
        return self.root.prefilter(raw.lower())

    def select(self, store: IndexedStore, start: int = 0, stop: int | None = None) -> Sequence[int]:
        """Ascending indices in ``[start, stop)`` of the frames the store can show that match.

        Indexed terms are answered from ``store.positions``; only the candidates they
        leave (or every frame, when no term is indexed) are tested one by one. Frames
        older than the store's in-memory window (``window_start``, read back from a
        recording) are outside its indexes, so they are always tested one by one.
        """
        lo = max(start, store.first_index)
        hi = len(store) if stop is None else min(stop, len(store))
        if lo >= hi:
            return []
        root = self.root
        if root is None:
            return range(lo, hi)
        indexed_from = min(max(lo, getattr(store, "window_start", lo)), hi)
        older = self._older(store, root, lo, indexed_from)
        found = root.candidates(store)
        window: Sequence[int]
        if found is None:
            window = self._scan(store, root, indexed_from, hi)
        else:
            positions, exact = found
            window = positions[bisect_left(positions, indexed_from):bisect_left(positions, hi)]
            if not exact:
                window = self._each(store, window)
        return [*older, *window] if older else window

    def _scan(self, store: IndexedStore, root: Node, lo: int, hi: int) -> list[int]:
        """Every frame in ``[lo, hi)`` tested, through the store's bulk byte search when it has
        one (``scan_raw``) and the filter offers anchors: only frames holding an anchor are
        looked at, and those a text-only filter decides on their bytes need no facts."""
        bulk = getattr(store, "scan_raw", None)
        sets = root.anchor_sets()
        if bulk is None or not sets:
            return self._each(store, range(lo, hi))
        keep = root.prefilter
        if root.decided_by_bytes():
            return [i for i, low in bulk(sets, lo, hi) if keep(low)]
        test, facts = root.matches, store.facts
        return [i for i, low in bulk(sets, lo, hi) if keep(low) and test(facts(i))]

    def _older(self, store: IndexedStore, root: Node, lo: int, hi: int) -> list[int]:
        """Frames in ``[lo, hi)``, before the store's window: narrowed by the store's source when
        it can search its lines in bulk (``search_older``, a recording file), then each tested."""
        if lo >= hi:
            return []
        search = getattr(store, "search_older", None)
        sets = root.anchor_sets()
        if search is None or not sets:
            return self._each(store, range(lo, hi))
        return self._each(store, search(sets, lo, hi, root.needs_object()))

    def _each(self, store: IndexedStore, indices: Iterable[int]) -> list[int]:
        """The indices whose frames match, testing raw bytes first when the store hands them
        out (``frame(i)``, cheaper than ``facts(i)`` with its pairing state)."""
        test = self.matches
        frame = getattr(store, "frame", None) if self._needles else None
        if frame is None:
            return [i for i in indices if test(store.facts(i))]
        keep = self.prefilter
        return [i for i in indices if keep(frame(i).raw) and test(store.facts(i))]

    def __str__(self) -> str:
        return "" if self.root is None else str(self.root)

    def __repr__(self) -> str:
        return f"Filter({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filter) and self.root == other.root

    def __hash__(self) -> int:
        return hash(self.root)


def parse_filter(text: str) -> Filter:
    """Parse filter text; blank text matches everything. Raises :class:`FilterError`."""
    return Filter(parse_tree(text))
