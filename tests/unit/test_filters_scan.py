"""Bulk byte search: hits map to the right records, none is missed, the rarest anchors win;
and every filter's anchors are in every frame it matches (Hypothesis)."""

from __future__ import annotations

from itertools import accumulate
from typing import Any

import orjson
import pytest
from filter_strategies import OBJECTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from busconsole.facts import FrameFacts
from busconsole.filtering import parse_filter, scan
from busconsole.frames import CapturedFrame


def records(*parts: bytes) -> tuple[bytes, list[int]]:
    return b"".join(parts), list(accumulate(map(len, parts)))


def test_hits_name_each_record_once_in_order() -> None:
    low, ends = records(b'{"a":"error"}', b'{"b":1}', b'{"error":"error"}', b"{}", b'{"x":"ERROR"}'.lower())
    assert scan.hits(low, (b"error",), ends) == [0, 2, 4]
    assert scan.hits(low, (b"zzz",), ends) == []
    low, ends = records(b"ab", b"ab", b"xab")
    assert scan.hits(low, (b"ab",), ends) == [0, 1, 2]


def test_several_needles_are_merged_and_an_offset_origin_is_honoured() -> None:
    low, ends = records(b"alpha", b"beta", b"gamma", b"alphabet")
    assert scan.hits(low, (b"gam", b"alpha"), ends) == [0, 2, 3]
    origin = 1000
    assert scan.hits(low[5:], (b"bet",), [origin + e - 5 for e in ends], origin) == [1, 3]


def test_a_needle_across_two_records_names_the_first_and_misses_none_after() -> None:
    low, ends = records(b"xxab", b"cdab", b"cd")
    assert scan.hits(low, (b"abcd",), ends) == [0, 1]


def test_pick_takes_the_set_with_fewest_hits_in_the_sample() -> None:
    sample = b'{"payload":{"status":"active"}} {"data":{"status":"active"}} {"status":"idle"}'
    assert scan.pick([(b'"payload"',), (b'"status"',), (b"active",)], sample) == (b'"payload"',)
    assert scan.pick([], sample) is None


@pytest.mark.parametrize(("text", "sets"), [
    ("networkdevice", [(b"networkdevice",)]),
    ('"say \\"hi\\" to a/b"', [(b" to a",)]),  # the longest run an encoder never escapes
    ("é", []),
    ("type:QUERY entity:partner", [(b"query",), (b"partner",)]),
    ("type:QUERY,MUTATION", [(b"mutation", b"query")]),
    ("networkdevice or level:error", [(b"error", b"networkdevice")]),
    ("networkdevice or is:pending", []),
    ("-networkdevice", []),
    ("level:log", []),
    ("payload.status:ACTIVE", [(b'"payload"',), (b'"status"',), (b"active",)]),
    ("payload.count>3", [(b'"payload"',), (b'"count"',)]),
])
def test_anchor_sets_of_filters(text: str, sets: list[tuple[bytes, ...]]) -> None:
    assert parse_filter(text).root.anchor_sets() == sets  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "needs"), [
    ("level:error", True), ("payload.status:x", True), ("entity:partner", True), ("type:QUERY", True),
    ("type:MALF*", False), ("dir:out", False), ("error", False), ("/err/", False), ("-level:error", False),
    ("level:error is:pending", True), ("level:error or error", False), ("level:error or entity:x", True),
])
def test_needs_object_says_when_text_and_binary_frames_cannot_match(text: str, needs: bool) -> None:
    root = parse_filter(text).root
    assert root is not None and root.needs_object() is needs
    for raw, binary in ((b"error not json", False), (b"\x00err", True)):
        if needs:
            assert not root.matches(FrameFacts(CapturedFrame(0, 0.0, "in", "c1", raw, binary), 0))


PROBES = st.sampled_from([
    "type:QUERY", "type:query,console_logs", "entity:compute", "entity:Comp*", "level:error",
    "level:warn", "payload.status:active", "payload.status:ACT*", "payload.name:a/b",
    '"telco bright"', '"x\\"y"', "a/b", "payload.n:1", "payload.n>0", "payload.*:true",
    "active or entity:partner", "(active or error) type:query", "telco -bright",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OBJECTS, PROBES, st.sampled_from([orjson.dumps, lambda o: orjson.dumps(o, option=orjson.OPT_INDENT_2)]))
def test_every_match_holds_a_needle_of_every_anchor_set(obj: dict[str, Any], probe: str, dump: Any) -> None:
    raw = dump(obj)
    flt = parse_filter(probe)
    assert flt.root is not None
    if flt.matches(FrameFacts(CapturedFrame(0, 0.0, "in", "c1", raw), 0)):
        low = raw.lower()
        for anchors in flt.root.anchor_sets():
            assert any(n in low for n in anchors), (probe, anchors)
