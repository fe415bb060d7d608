"""RowIndex under a time budget: a filter fills in slice by slice and ends with the same rows."""

from __future__ import annotations

import orjson
import pytest

from busconsole.filtering import parse_filter
from busconsole.frames import IN, CapturedFrame
from busconsole.store import EventStore
from busconsole.tui import rows
from busconsole.tui.rows import RowIndex


def store_of(n: int) -> EventStore:
    store = EventStore()
    for i in range(n):
        frame = {"type": "ERROR" if i % 7 == 0 else "STORE_UPDATE", "entity": "partner", "data": {"id": i}}
        store.append(CapturedFrame(i + 1, 1.7e12 + i, IN, "c1", orjson.dumps(frame)))
    return store


def test_a_budgeted_filter_fills_in_by_slices_to_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "FIRST_STEP", 100)
    store = store_of(1000)
    flt = parse_filter("type:ERROR or partner 7")
    whole = RowIndex(store, flt)
    sliced = RowIndex(store, flt, budget=0.0)  # the smallest slices: a tenth of the first
    assert whole.behind == 0 and 0 < len(sliced) < len(whole) and sliced.behind == 900
    behind = [sliced.behind]
    for _ in range(1000):  # bounded: at least 10 frames a slice
        if not sliced.behind:
            break
        sliced.sync()
        behind.append(sliced.behind)
    assert behind == sorted(behind, reverse=True) and len(behind) > 2
    assert [sliced.index(r) for r in range(len(sliced))] == [whole.index(r) for r in range(len(whole))]


def test_without_a_filter_nothing_is_behind() -> None:
    index = RowIndex(store_of(10), None, budget=0.0)
    assert len(index) == 10 and index.behind == 0
