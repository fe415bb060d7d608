"""Filter.select over a store: indexed terms come from store.positions, the rest are tested one
frame at a time, and either way the answer equals testing every frame (Hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from busconsole.facts import FrameFacts
from busconsole.filtering import Filter, parse_filter
from busconsole.frames import CapturedFrame
from busconsole.store import EventStore

INDEXED = ("type", "entity", "req", "conn", "op", "dir")


class ListStore:
    """Exactly the store contract select() relies on, over a list; counts the frames it hands out."""

    def __init__(self, frames: Sequence[CapturedFrame], first_index: int = 0,
                 with_values: bool = True) -> None:
        self._facts = [FrameFacts(f, i) for i, f in enumerate(frames)]
        self.first_index = first_index
        self.looked_at: list[int] = []
        self._index: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, f in enumerate(self._facts[first_index:], first_index):
            for key in INDEXED:
                value = getattr(f, key)
                if value is not None:
                    self._index[key][value].append(i)
            for level in f.levels:
                self._index["level"][level].append(i)
        if with_values:
            self.values = self._values

    def __len__(self) -> int:
        return len(self._facts)

    def facts(self, index: int) -> FrameFacts:
        self.looked_at.append(index)
        return self._facts[index]

    def positions(self, key: str, value: str) -> Sequence[int]:
        return self._index[key].get(value, [])

    def _values(self, key: str) -> dict[str, int]:
        return {v: len(p) for v, p in self._index[key].items()}


def frame(i: int, obj: dict[str, Any] | None, dir: str = "in", conn: str = "c1") -> CapturedFrame:
    raw = orjson.dumps(obj) if obj is not None else b"<binary?>"
    return CapturedFrame(i, 1_758_000_000_000.0 + i, dir, conn, raw)  # type: ignore[arg-type]


def sample_frames(n: int) -> list[CapturedFrame]:
    kinds = ["STORE_UPDATE", "QUERY", "QUERY_RESULT", "STORE_UPDATE", "MUTATION"]
    entities = ["partner", "compute", "cloud"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        obj = {"type": kind, "entity": entities[i % 3], "requestId": f"r{i % 7}",
               "payload": {"status": "ACTIVE" if i % 4 == 0 else "IDLE"}}
        out.append(frame(i, obj, "out" if kind in ("QUERY", "MUTATION") else "in", f"c{i % 2}"))
    return out


def brute(flt: Filter, store: ListStore, start: int = 0, stop: int | None = None) -> list[int]:
    hi = len(store) if stop is None else min(stop, len(store))
    return [i for i in range(max(start, store.first_index), hi) if flt.matches(store._facts[i])]


def test_indexed_terms_never_touch_a_frame() -> None:
    store = ListStore(sample_frames(300))
    flt = parse_filter("type:STORE_UPDATE entity:partner")
    got = list(flt.select(store))
    assert got == brute(flt, store) and len(got) == 40
    assert store.looked_at == []
    for text in ("type:QUERY,MUTATION or entity:cloud", "-x type:update entity:part*",
                 "is:request conn:c1", "req:/r[12]/ dir:in"):
        store.looked_at.clear()
        assert list(parse_filter(text).select(store)) == brute(parse_filter(text), store)


def test_an_indexed_term_narrows_what_the_other_terms_test() -> None:
    store = ListStore(sample_frames(300))
    flt = parse_filter("entity:partner payload.status:ACTIVE")
    assert list(flt.select(store)) == brute(flt, store) != []
    assert len(store.looked_at) == 100  # only the partner frames were read


def test_without_an_index_every_frame_in_the_window_is_tested() -> None:
    store = ListStore(sample_frames(100))
    flt = parse_filter("-entity:partner or active")
    assert list(flt.select(store, 10, 60)) == brute(flt, store, 10, 60)
    assert store.looked_at == list(range(10, 60))


def test_wildcards_need_the_stores_value_list_or_scan() -> None:
    flt = parse_filter("entity:comp*")
    with_values, without = ListStore(sample_frames(90)), ListStore(sample_frames(90), with_values=False)
    assert list(flt.select(with_values)) == list(flt.select(without)) == brute(flt, without)
    assert with_values.looked_at == [] and len(without.looked_at) == 90


def test_the_window_bounds_and_the_empty_filter() -> None:
    store = ListStore(sample_frames(50), first_index=20)
    assert list(parse_filter("").select(store)) == list(range(20, 50))
    assert list(parse_filter("").select(store, 30, 35)) == [30, 31, 32, 33, 34]
    assert list(parse_filter("type:QUERY").select(store, 0, 30)) == [21, 26]
    assert list(parse_filter("type:QUERY").select(store, 45, 40)) == []
    assert list(parse_filter("type:QUERY").select(store, 0, 999)) == brute(parse_filter("type:QUERY"), store)


def test_no_frame_matches_a_value_the_store_has_never_seen() -> None:
    store = ListStore(sample_frames(50))
    assert list(parse_filter("entity:nobody").select(store)) == []
    assert list(parse_filter("entity:nobody or level:error").select(store)) == []


# ------------------------------------------------------------------------------ property

TYPES = ["QUERY", "MUTATION", "QUERY_RESULT", "STORE_UPDATE", "CONSOLE_LOGS", "ERROR"]


@st.composite
def frames(draw: st.DrawFn) -> list[CapturedFrame]:
    out = []
    for i in range(draw(st.integers(0, 40))):
        if draw(st.integers(0, 12)) == 0:
            out.append(frame(i, None))
            continue
        obj: dict[str, Any] = {"type": draw(st.sampled_from(TYPES))}
        for name, values in (("entity", ["partner", "compute", "cloud"]), ("requestId", ["r1", "r2"]),
                             ("operation", ["CREATE", "update"])):
            if draw(st.booleans()):
                obj[name] = draw(st.sampled_from(values))
        if obj["type"] == "CONSOLE_LOGS":
            levels = draw(st.lists(st.sampled_from(["log", "warn", "error"]), max_size=3))
            obj["messages"] = [{"level": lv, "message": "m"} for lv in levels]
        if draw(st.booleans()):
            obj["payload"] = {"status": draw(st.sampled_from(["ACTIVE", "idle"]))}
        out.append(frame(i, obj, draw(st.sampled_from(["in", "out"])), draw(st.sampled_from(["c1", "c2"]))))
    return out


TERMS = st.sampled_from([
    "type:QUERY", "type:STORE_UPDATE,ERROR", "type:*result", "type:malformed", "entity:partner",
    "entity:comp*", "entity:/^c/", "req:r1", "conn:c2", "op:update", "dir:out", "level:error",
    "level:warn,log", "is:request", "is:reply", "is:malformed", "is:error", "payload.status:active",
    "active", '"r2"', "/CREATE|cloud/", "size>60",
])


@st.composite
def filter_texts(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 4 if depth < 3 else 0))
    if kind == 0:
        return draw(TERMS)
    if kind == 1:
        return "-" + draw(filter_texts(depth + 1))
    parts = draw(st.lists(filter_texts(depth + 1), min_size=2, max_size=3))
    return "(" + (" or " if kind == 2 else " ").join(parts) + ")"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), filter_texts(), st.integers(0, 45), st.integers(0, 45), st.integers(0, 10),
       st.booleans())
def test_select_equals_testing_every_frame(
        fs: list[CapturedFrame], text: str, start: int, stop: int, first: int, values: bool) -> None:
    store = ListStore(fs, min(first, len(fs)), with_values=values)
    flt = parse_filter(text)
    assert list(flt.select(store, start, stop)) == brute(flt, store, start, stop)
    assert list(flt.select(store)) == brute(flt, store)


# ------------------------------------------------------------------------------ the real EventStore

REPLIES = {"QUERY": "QUERY_RESULT", "MUTATION": "MUTATION_SUCCESS"}
STORE_TERMS = st.one_of(TERMS, st.sampled_from([
    "is:pending", "is:orphan", "is:timedout", "latency>0", "latency<=2", "req:r*", "req:/2$/",
    "t>=1758000000010", "t:1758000000003",
]))


@st.composite
def conversations(draw: st.DrawFn) -> list[CapturedFrame]:
    """Requests, their replies (some missing, some with unknown ids) and other traffic, in order."""
    fs = draw(frames())
    out = []
    for f in fs:
        out.append(f)
        obj = f.obj
        if obj is not None and obj["type"] in REPLIES and "requestId" in obj and draw(st.booleans()):
            reply = {"type": draw(st.sampled_from([REPLIES[obj["type"]], "ERROR"])),
                     "requestId": draw(st.sampled_from([obj["requestId"], "r9"])),
                     "entity": obj.get("entity"), "operation": obj.get("operation")}
            out.append(frame(len(out), reply, "in", f.conn))
    return [CapturedFrame(i, 1_758_000_000_000.0 + i, f.dir, f.conn, f.raw) for i, f in enumerate(out)]


def store_of(fs: Sequence[CapturedFrame], **kw: Any) -> Any:
    store = EventStore(**kw)
    store.extend(fs)
    return store


def test_real_store_answers_indexed_filters_from_its_indexes() -> None:
    store = store_of(sample_frames(300))
    for text, n in (("type:STORE_UPDATE entity:partner", 40), ("type:query or entity:cloud", 140),
                    ("entity:comp* dir:in", 60), ("req:r3", 43)):
        flt = parse_filter(text)
        assert list(flt.select(store)) == [i for i in range(300) if flt.matches(store.facts(i))]
        assert len(flt.select(store)) == n, text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations(), st.lists(STORE_TERMS, min_size=1, max_size=3), st.booleans(),
       st.integers(0, 60), st.integers(0, 60))
def test_real_store_select_equals_testing_every_frame(
        fs: list[CapturedFrame], terms: list[str], either: bool, start: int, stop: int) -> None:
    store = store_of(fs)
    flt = parse_filter((" or " if either else " ").join(terms))
    expected = [i for i in range(start, min(stop, len(store))) if flt.matches(store.facts(i))]
    assert list(flt.select(store, start, stop)) == expected


class ListSource:
    """Older frames read back by index, the way a recording's offset index hands them out."""

    def __init__(self, frames: Sequence[CapturedFrame]) -> None:
        self._frames = list(frames)

    def __len__(self) -> int:
        return len(self._frames)

    def frame(self, i: int) -> CapturedFrame:
        return self._frames[i]


def test_frames_paged_out_of_the_window_are_still_selected() -> None:
    fs = sample_frames(200)
    store = store_of(fs, max_frames=64, source=ListSource(fs))
    assert store.first_index == 0 < store.window_start
    for text in ("type:STORE_UPDATE entity:partner", "entity:partner active", "-dir:in"):
        flt = parse_filter(text)
        everything = [i for i in range(200) if flt.matches(FrameFacts(fs[i], i))]
        assert list(flt.select(store)) == everything, text
        assert list(flt.select(store, 150)) == [i for i in everything if i >= 150]


# ------------------------------------------------------------------------------ bulk byte search

TEXT_TERMS = st.sampled_from([
    "active", "ACTIVE", "Partner", "update", '"r2"', '"status"', "c", "m", "payload.status:ACT*",
    "payload.status:idle", "level:error", "type:query,update", "entity:comp*", "logs",
])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations(), st.lists(st.one_of(TEXT_TERMS, STORE_TERMS), min_size=1, max_size=3),
       st.booleans(), st.integers(0, 90), st.integers(0, 90))
def test_bulk_search_over_many_chunks_equals_testing_every_frame(
        fs: list[CapturedFrame], terms: list[str], either: bool, start: int, stop: int) -> None:
    store = store_of(fs, max_frames=64, source=ListSource(fs))  # chunks of 8, older ones paged out
    flt = parse_filter((" or " if either else " ").join(terms))
    expected = [i for i in range(start, min(stop, len(fs))) if flt.matches(store.facts(i))]
    assert list(flt.select(store, start, stop)) == expected


class CountingStore(EventStore):
    """An EventStore that notes which frames' facts were asked for."""

    def __init__(self, frames: Sequence[CapturedFrame]) -> None:
        super().__init__(max_frames=len(frames))
        self.looked_at: list[int] = []
        self.extend(frames)

    def facts(self, i: int, now: float | None = None) -> FrameFacts:
        self.looked_at.append(i)
        return super().facts(i, now)


def test_text_filters_are_decided_on_the_bytes_alone() -> None:
    store = CountingStore(sample_frames(300))
    for text, n in (("ACTIVE", 75), ("partner active", 25), ("partner or cloud", 200), ('"r3"', 43)):
        flt = parse_filter(text)
        assert list(flt.select(store)) == [i for i in range(300) if flt.matches(FrameFacts(store.frame(i), i))]
        assert len(flt.select(store)) == n, text
    assert store.looked_at == []


def test_only_frames_holding_the_rarest_anchor_get_their_facts_read() -> None:
    frames = sample_frames(300)
    store = CountingStore(frames)
    flt = parse_filter("payload.status:active -entity:cloud")
    assert list(flt.select(store)) == [i for i in range(300) if flt.matches(FrameFacts(frames[i], i))]
    assert store.looked_at == [i for i in range(300) if b"active" in frames[i].raw.lower()]
