"""Marks: the doctor's per-frame flags (``is:leak``, ``is:dupsub``, ``is:retry``, ``is:repeat``),
which only a pass over the whole input decides, held by index for a store to hand to filters."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence

_EMPTY: frozenset[str] = frozenset()


class Marks:
    """Flag -> ascending frame indices; ``covered`` is how many frames the pass saw."""

    def __init__(self, covered: int, flagged: Mapping[str, Iterable[int]]) -> None:
        self.covered = covered
        self._positions: dict[str, array[int]] = {f: array("I", sorted(set(ix))) for f, ix in flagged.items()}
        by_index: dict[int, set[str]] = {}
        for flag, indices in self._positions.items():
            for i in indices:
                by_index.setdefault(i, set()).add(flag)
        self._by_index = {i: frozenset(flags) for i, flags in by_index.items()}

    def of(self, index: int) -> frozenset[str]:
        return self._by_index.get(index, _EMPTY)

    def positions(self, flag: str) -> Sequence[int]:
        return self._positions.get(flag, array("I"))
