"""store.py: compact columns give back exactly what went in; indexes, counts, rates, window."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from busconsole.facts import FrameFacts
from busconsole.frames import CapturedFrame
from busconsole.pairing import Pair
from busconsole.recording.format import from_record
from busconsole.store import EventStore

FACT_FIELDS = ("seq", "t", "dir", "conn", "type", "entity", "op", "req", "size", "levels", "malformed")


def cf(obj: dict[str, Any] | bytes, t: float = 0.0, out: bool = False, conn: str = "c1", seq: int = 0,
       binary: bool = False) -> CapturedFrame:
    raw = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    return CapturedFrame(seq, t, "out" if out else "in", conn, raw, binary)


def facts_tuple(f: FrameFacts) -> tuple[Any, ...]:
    return tuple(getattr(f, name) for name in FACT_FIELDS)


VARIED = [
    cf({"type": "QUERY", "entity": "partner", "requestId": "req_1_ab", "query": {"kind": "partner"}}, 1.0, True),
    cf({"type": "query_result", "entity": "partner", "requestId": "req_1_ab", "data": {"data": []}}, 2.5),
    cf({"type": "MUTATION", "entity": "cloud", "operation": "update", "requestId": 42, "payload": {"id": 1}}, 3, True),
    cf(b'{"type":"QUERY","entity":"x","requestId":"caf\\u00e9 \\"q\\""}', 4.0, True, conn="c2"),
    cf({"type": "QUERY", "entity": "x", "requestId": ""}, 5.0, True),
    cf({"type": "CONSOLE_LOGS", "messages": [{"level": "warn"}, {"level": "ERROR"}]}, 6.0, True),
    cf(b"not json at all", 7.0),
    cf(b"\x00\xff\x10", 8.0, binary=True),
    cf({"type": "CONNECTION", "status": "connected", "unknown": [1, 2]}, 9.0, seq=99),
]


def test_frames_and_facts_come_back_exactly() -> None:
    store = EventStore()
    assert [store.append(f) for f in VARIED] == list(range(len(VARIED)))
    assert len(store) == len(VARIED) and store.first_index == 0 == store.window_start
    for i, original in enumerate(VARIED):
        back = store.frame(i)
        assert (back.raw, back.seq, back.t, back.dir, back.conn, back.binary) == (
            original.raw, original.seq, original.t, original.dir, original.conn, original.binary)
        assert facts_tuple(store.facts(i)) == facts_tuple(FrameFacts(original, i))
        assert store.facts(i).obj == original.obj
    assert store.facts(2).req == "42" and store.facts(3).req == 'café "q"' and store.facts(4).req == ""
    with pytest.raises(LookupError):
        store.frame(len(VARIED))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"type": st.sampled_from(["QUERY", "mutation", "STORE_UPDATE", "Weird"]),
     "entity": st.one_of(st.none(), st.text(max_size=8)),
     "requestId": st.one_of(st.text(max_size=12), st.integers(-(2**63), 2**63 - 1), st.none())},
    optional={"operation": st.text(max_size=6), "payload": st.text(max_size=20)},
), max_size=20))
def test_any_frame_facts_match_direct_facts(objs: list[dict[str, Any]]) -> None:
    store = EventStore(max_frames=8)
    frames = [cf(obj, float(k), out=k % 2 == 0) for k, obj in enumerate(objs)]
    store.extend(frames)
    for i in range(store.window_start, len(store)):
        assert facts_tuple(store.facts(i)) == facts_tuple(FrameFacts(frames[i], i))
    for i in range(store.window_start, len(store)):
        f = store.facts(i)
        for key in ("type", "entity", "req", "conn", "op", "dir"):
            value = getattr(f, key)
            if value is not None:
                assert i in store.positions(key, value)


def test_positions_values_and_counts() -> None:
    store = EventStore()
    store.extend(VARIED)
    assert list(store.positions("type", "query")) == [0, 3, 4]
    assert list(store.positions("type", "QUERY_RESULT")) == [1]
    assert list(store.positions("entity", "partner")) == [0, 1]
    assert list(store.positions("op", "Update")) == [2]
    assert list(store.positions("conn", "c2")) == [3]
    assert list(store.positions("dir", "out")) == [0, 2, 3, 4, 5]
    assert list(store.positions("level", "Error")) == [5] == list(store.positions("level", "warn"))
    assert list(store.positions("req", "req_1_ab")) == [0, 1]
    assert list(store.positions("req", 'café "q"')) == [3]
    assert list(store.positions("req", "42")) == [2]
    assert list(store.positions("req", "")) == [4]
    assert list(store.positions("req", "nobody")) == [] == list(store.positions("entity", "nobody"))
    assert store.values("type") == {"QUERY": 3, "QUERY_RESULT": 1, "MUTATION": 1, "CONSOLE_LOGS": 1,
                                      "MALFORMED": 2, "CONNECTION": 1}
    assert store.values("entity") == {"partner": 2, "cloud": 1, "x": 2}
    assert store.values("level") == {"warn": 1, "error": 1}
    with pytest.raises(KeyError):
        store.positions("size", "1")
    with pytest.raises(KeyError):
        store.values("req")


def test_requestid_index_finds_pairs_duplicates_and_orphans() -> None:
    store = EventStore()
    q = store.append(cf({"type": "QUERY", "entity": "e", "requestId": "r1"}, 1, True))
    other = store.append(cf({"type": "QUERY", "entity": "e", "requestId": "r2"}, 2, True))
    r = store.append(cf({"type": "QUERY_RESULT", "entity": "e", "requestId": "r1"}, 3))
    dup = store.append(cf({"type": "QUERY_RESULT", "entity": "e", "requestId": "r1"}, 4))
    orphan = store.append(cf({"type": "QUERY_RESULT", "entity": "e", "requestId": "r9"}, 5))
    assert list(store.positions("req", "r1")) == [q, r, dup]
    assert list(store.positions("req", "r2")) == [other]
    assert list(store.positions("req", "r9")) == [orphan]


def test_pairing_state_console_and_errors_through_the_store() -> None:
    store = EventStore(pairing_timeout=1.0)
    sub = store.append(cf({"type": "SUBSCRIPTION_DATA", "entity": "p", "data": {"data": [{"id": 1, "s": "A"}]}}, 0))
    m = store.append(cf({"type": "MUTATION", "entity": "p", "operation": "UPDATE", "requestId": "m1",
                         "payload": {"id": 1, "s": "B"}}, 100, True))
    ok = store.append(cf({"type": "MUTATION_SUCCESS", "entity": "p", "operation": "UPDATE", "data": {"id": 1, "s": "B"}}, 130))
    upd = store.append(cf({"type": "STORE_UPDATE", "entity": "p", "data": {"data": [{"id": 1, "s": "B"}]}}, 140))
    q = store.append(cf({"type": "QUERY", "entity": "p", "requestId": "q1"}, 200, True))
    err = store.append(cf({"type": "ERROR", "error": "no", "requestId": "q1"}, 260))
    waiting = store.append(cf({"type": "QUERY", "entity": "p", "requestId": "q2"}, 300, True))
    orphan = store.append(cf({"type": "QUERY_RESULT", "entity": "p", "requestId": "zz"}, 310))
    logs = store.append(cf({"type": "CONSOLE_LOGS", "messages": [{"level": "error", "message": "x"}]}, 320, True))
    bad = store.append(cf(b"{oops", 330, True))
    assert store.pairing.pair_of(ok) == Pair(m, ok, 30.0, False)
    assert store.facts(m).latency == 30.0 == store.facts(ok).latency
    assert store.pairing.effects_of(m) == [upd] and store.pairing.cause_of(upd) == ok
    assert store.state.diff_at(ok).changes[0].path == "$.data[id=1].s"  # type: ignore[union-attr]
    assert store.state.diff_at(sub) is not None and store.state.current("p")["data"] == [{"id": 1, "s": "B"}]
    assert store.facts(q).failed and store.facts(q).error and not store.facts(m).failed
    assert store.facts(waiting).pending and not store.facts(waiting, now=1300).timed_out
    assert store.facts(waiting, now=1301).timed_out
    assert store.facts(orphan).orphan and not store.facts(q).orphan
    assert list(store.error_positions()) == [q, err, logs, bad]
    assert all(store.facts(i).error for i in store.error_positions())
    assert [e.message for e in store.console.entries(levels={"error"})] == ["x"]


def test_bounded_window_without_source() -> None:
    store = EventStore(max_frames=16)
    req = store.append(cf({"type": "QUERY", "entity": "e", "requestId": "early"}, 0, True))
    for k in range(1, 100):
        store.append(cf({"type": "STORE_UPDATE", "entity": f"e{k % 3}", "n": k}, k))
    reply = store.append(cf({"type": "QUERY_RESULT", "entity": "e", "requestId": "early"}, 100))
    assert len(store) == 101 and reply == 100
    assert 85 <= store.window_start <= 100 - 14 and store.first_index == store.window_start
    with pytest.raises(LookupError):
        store.frame(req)
    with pytest.raises(LookupError):
        store.facts(0)
    assert store.frame(99).obj == {"type": "STORE_UPDATE", "entity": "e0", "n": 99}
    held = range(store.window_start, len(store))
    assert sum(store.values("type").values()) == len(held)
    assert list(store.positions("entity", "e0")) == [i for i in held if i < 100 and i % 3 == 0]
    assert store.facts(reply).orphan  # its request left the window before it came
    assert list(store.positions("req", "early")) == [reply]


def test_eviction_keeps_the_requestid_index_on_the_reply() -> None:
    store = EventStore(max_frames=8)
    q = store.append(cf({"type": "QUERY", "entity": "e", "requestId": "r"}, 0, True))
    r = store.append(cf({"type": "QUERY_RESULT", "entity": "e", "requestId": "r"}, 1))
    assert list(store.positions("req", "r")) == [q, r]
    store.append(cf({"type": "STORE_UPDATE"}, 2))
    store.append(cf({"type": "STORE_UPDATE"}, 3))
    for k in range(4, 10):
        store.append(cf({"type": "STORE_UPDATE"}, k))
    assert store.window_start in (1, 2)  # chunks of one frame at this size
    if store.window_start == 1:
        assert list(store.positions("req", "r")) == [r]


def test_bounded_by_bytes() -> None:
    store = EventStore(max_bytes=10_000)
    pad = "x" * 1000
    for k in range(50):
        store.append(cf({"type": "STORE_UPDATE", "pad": pad, "k": k}, k))
    held = range(store.window_start, len(store))
    assert sum(store.frame(i).size for i in held) <= 10_000
    assert len(held) >= 5 and store.frame(49).obj["k"] == 49  # type: ignore[index]


class ListSource:
    """A recording as the store sees one: frames by session index."""

    def __init__(self) -> None:
        self.frames: list[CapturedFrame] = []

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, i: int) -> CapturedFrame:
        return self.frames[i]


def test_evicted_frames_page_back_in_from_the_source() -> None:
    source = ListSource()
    store = EventStore(max_frames=16, source=source)
    for k in range(64):
        f = cf({"type": "STORE_UPDATE", "entity": "e", "k": k}, k, seq=k)
        source.frames.append(f)  # the recorder writes as frames arrive
        store.append(f)
    assert store.window_start > 0 and store.first_index == 0
    assert store.frame(0).obj == {"type": "STORE_UPDATE", "entity": "e", "k": 0}
    old = store.facts(3)
    assert (old.seq, old.type, old.entity) == (3, "STORE_UPDATE", "e")
    assert old.obj == {"type": "STORE_UPDATE", "entity": "e", "k": 3}
    with pytest.raises(LookupError):
        store.frame(64)


def _brute_positions(store: EventStore, key: str, value: str) -> list[int]:
    held = range(store.window_start, len(store))
    if key == "level":
        return [i for i in held if value in store.facts(i).levels]
    return [i for i in held if getattr(store.facts(i), key) == value]


def test_positions_merge_shapes_as_frames_arrive_and_leave() -> None:
    """positions() merges the frames of every matching shape and extends its merge as frames
    arrive; the merges are dropped when the window moves and when many are asked for."""
    store = EventStore(max_frames=400)
    kinds = ("QUERY", "STORE_UPDATE", "ERROR", "CONSOLE_LOGS")
    asks = [("type", k) for k in kinds] + [("entity", f"e{n}") for n in range(5)] + [
        ("conn", "c1"), ("conn", "c2"), ("dir", "in"), ("dir", "out"), ("level", "error"), ("level", "warn"),
        ("op", "UPDATE")] + [("entity", f"none{n}") for n in range(40)]  # more asks than merges kept
    for k in range(1000):
        kind = kinds[k % 4]
        obj: dict[str, Any] = {"type": kind, "entity": f"e{k % 5}", "operation": "update" if k % 3 else None}
        if kind == "CONSOLE_LOGS":
            obj["messages"] = [{"level": ("warn", "error", "log")[k % 3]}]
        store.append(cf(obj, float(k), out=k % 7 == 0, conn=f"c{1 + k % 2}"))
        if k % 97 == 0 or k == 999:
            for key, value in asks:
                assert list(store.positions(key, value)) == _brute_positions(store, key, value), (k, key, value)
    assert store.window_start > 0
    held = range(store.window_start, len(store))
    assert store.values("entity") == {f"e{n}": sum(1 for i in held if store.facts(i).entity == f"e{n}")
                                      for n in range(5)}
    assert store.values("level") == {lv: len(_brute_positions(store, "level", lv)) for lv in ("warn", "error", "log")}
    merged = store.positions("type", "QUERY")
    merged.append(0)  # the caller's copy: the store's merge is not touched
    assert list(store.positions("type", "QUERY")) == _brute_positions(store, "type", "QUERY")


def test_raw_field_values_that_look_alike_keep_their_own_facts() -> None:
    """1, 1.0, True and "1" hash alike in Python but are different entities as text;
    lists and objects cannot be looked up by value at all."""
    frames = [cf({"type": t, "entity": e, "operation": op}, float(k))
              for k, (t, e, op) in enumerate([
                  ("QUERY", 1, None), ("QUERY", True, None), ("query", 1.0, None), ("QUERY", "1", None),
                  ("QUERY", "1", "update"), ("QUERY", "1", "UPDATE"), ("QUERY", [1], {"x": 1}),
                  ("QUERY", [1], {"x": 1}), ("QUERY", "1", 1)])]
    store = EventStore()
    store.extend(frames)
    for i, f in enumerate(frames):
        assert facts_tuple(store.facts(i)) == facts_tuple(FrameFacts(f, i))
    assert list(store.positions("entity", "1")) == [0, 3, 4, 5, 8]
    assert list(store.positions("entity", "True")) == [1]
    assert list(store.positions("entity", "1.0")) == [2]
    assert list(store.positions("op", "update")) == [4, 5]
    assert list(store.positions("entity", "[1]")) == [6, 7]


def test_decoding_edge_cases_match_the_protocol() -> None:
    big = cf(b'{"type":"X","n":1e400}')  # orjson refuses it, the stdlib reads it
    recorded = from_record({"seq": 7, "t": 1.0, "dir": "in", "conn": "c1",
                                          "frame": {"type": "STORE_UPDATE", "entity": "p"}})
    frames = [big, cf(b"[1, 2]"), cf(b'{"entity": "p"}'), cf(b'{"type": 3}'), recorded]
    store = EventStore()
    store.extend(frames)
    assert [store.facts(i).malformed for i in range(5)] == [False, True, True, True, False]
    assert store.facts(0).type == "X" and store.facts(4).entity == "p"
    for i, f in enumerate(frames):
        assert facts_tuple(store.facts(i)) == facts_tuple(FrameFacts(f, i))
    assert list(store.error_positions()) == [1, 2, 3]
