"""Bulk byte search: which records of a large buffer can match a filter, found in C.

A buffer holds many records back to back (a store chunk, a block of file lines).
Instead of asking each record, the buffer is lower-cased once and searched with
``bytes.find`` for the filter's anchor needles; a hit is mapped to its record by
bisecting the records' end offsets, and the search resumes after that record. Only
the records hit are then tested, so a rare term costs about a memory scan.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from busconsole.filtering.nodes import Anchors


def pick(sets: Sequence[Anchors], sample: bytes) -> Anchors | None:
    """The anchor set with the fewest hits in ``sample`` (lower-cased bytes), or None."""
    if not sets:
        return None
    return min(sets, key=lambda a: (sum(sample.count(n) for n in a), -min(map(len, a))))


def hits(low: bytes, needles: Anchors, ends: Sequence[int], origin: int = 0) -> list[int]:
    """Ascending ``k`` of the records that contain a needle somewhere in ``low``.

    Record ``k`` spans ``low[ends[k - 1] - origin : ends[k] - origin]`` (from 0 for the
    first): ``ends`` are ascending end offsets measured from ``origin``, and the last one
    is ``origin + len(low)``. A needle across two records counts for the first; callers
    test each record on its own bytes anyway.
    """
    found: list[int] = []
    for needle in needles:
        find = low.find
        pos = find(needle)
        while pos >= 0:
            k = bisect_right(ends, pos + origin)
            found.append(k)
            pos = find(needle, ends[k] - origin)
    return sorted(set(found)) if len(needles) > 1 else found
