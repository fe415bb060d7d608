"""Properties of the filter language: any text either parses or raises FilterError, printed
trees parse back to themselves, and the byte prefilter never rules out a frame that matches."""

from __future__ import annotations

from typing import Any

import orjson
from filter_strategies import OBJECTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from busconsole.facts import FrameFacts
from busconsole.filtering import Filter, FilterError, parse_filter
from busconsole.filtering.nodes import (
    CompareTerm,
    FieldTerm,
    IsTerm,
    LevelTerm,
    Node,
    Not,
    TimeTerm,
    all_of,
    any_of,
)
from busconsole.filtering.paths import PathTerm
from busconsole.filtering.patterns import Pattern
from busconsole.filtering.text import RegexTerm, TextTerm
from busconsole.filtering.values import parse_time
from busconsole.frames import CapturedFrame
from busconsole.wire import KNOWN_TYPES

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FILTERISH = st.text(alphabet=st.sampled_from(list('typeisq:,.*/"\\()- <>=ornd0159kmT\t_ä')), max_size=30)


@SETTINGS
@given(st.one_of(FILTERISH, st.text(max_size=30)))
def test_any_text_parses_or_raises_only_filter_error(text: str) -> None:
    try:
        flt = parse_filter(text)
    except FilterError as err:
        assert 1 <= err.column <= len(text) + 1
        return
    assert parse_filter(str(flt)) == flt


# ------------------------------------------------------------------------------ trees

ANY_TEXT = st.text(min_size=1, max_size=12)
WILDCARD = st.from_regex(r"[A-Za-z0-9_.\-]{0,4}\*[A-Za-z0-9_*]{0,4}", fullmatch=True)
REGEXES = st.sampled_from(["a.c", "^req_\\d+", "x|y", "\\/path", "[a-z]+$"])
SEGMENT = st.from_regex(r"[a-z_][a-zA-Z0-9_\-]{0,5}", fullmatch=True)


def patterns(fold: bool) -> st.SearchStrategy[Pattern]:
    return st.one_of(
        ANY_TEXT.map(lambda t: Pattern("literal", t, fold=fold)),
        WILDCARD.map(lambda t: Pattern("wildcard", t, fold=fold)),
        st.tuples(REGEXES, st.sampled_from(["", "i", "is"])).map(
            lambda r: Pattern("regex", r[0], r[1], fold)),
    )


def field_terms() -> st.SearchStrategy[Node]:
    types = st.sampled_from([*KNOWN_TYPES, "MALFORMED"]).map(lambda t: Pattern("literal", t))
    return st.one_of(
        st.builds(FieldTerm, st.sampled_from(["entity", "req", "conn"]),
                  st.lists(patterns(False), min_size=1, max_size=3)),
        st.builds(FieldTerm, st.just("type"), st.lists(types, min_size=1, max_size=2)),
        st.builds(FieldTerm, st.just("dir"), st.lists(
            st.sampled_from(["in", "out"]).map(lambda d: Pattern("literal", d)), min_size=1, max_size=2)),
        st.builds(LevelTerm, st.lists(st.sampled_from(["log", "warn", "error"]).map(
            lambda lv: Pattern("literal", lv)), min_size=1, max_size=2)),
    )


def leaves() -> st.SearchStrategy[Node]:
    paths = st.lists(st.one_of(SEGMENT, st.just("*"), st.from_regex(r"[0-9]", fullmatch=True)),
                     max_size=3).flatmap(lambda rest: SEGMENT.map(lambda first: [first, *rest]))
    order = [">", ">=", "<", "<="]
    ops = st.sampled_from(order)
    return st.one_of(
        ANY_TEXT.map(TextTerm),
        st.builds(RegexTerm, REGEXES, st.sampled_from(["", "i", "ms"])),
        field_terms(),
        st.lists(st.sampled_from(["pending", "error", "orphan", "malformed", "request"]),
                 min_size=1, max_size=2).map(IsTerm),
        st.builds(lambda k, op, n: CompareTerm(k, op, float(n), str(n)),
                  st.sampled_from(["latency", "size"]), st.sampled_from([*order, "="]),
                  st.integers(0, 10**6)),
        st.builds(lambda op, t: TimeTerm(op, parse_time(t)), ops,
                  st.sampled_from(["12:30", "08:00:01.5", "-5m", "2025-09-22", "1758332020409"])),
        st.builds(lambda p, ps: PathTerm(p, "=", ps), paths, st.lists(patterns(True), min_size=1,
                                                                       max_size=2)),
        st.builds(lambda p, op, n: PathTerm(p, op, number=float(n)), paths, ops,
                  st.integers(-50, 50)),
    )


TREES = st.recursive(
    leaves(),
    lambda kids: st.one_of(
        kids.map(Not),
        st.lists(kids, min_size=2, max_size=3).map(all_of),
        st.lists(kids, min_size=2, max_size=3).map(any_of),
    ),
    max_leaves=8,
)


@SETTINGS
@given(TREES)
def test_any_tree_prints_to_text_that_parses_back_to_it(tree: Node) -> None:
    text = str(Filter(tree))
    assert parse_filter(text) == Filter(tree), text
    assert str(parse_filter(text)) == text


# ------------------------------------------------------------------------------ prefilter

PROBES = st.sampled_from([
    "type:QUERY", "type:query,console_logs", "entity:compute", "entity:Comp*", "level:error",
    "level:log", "level:warn", "payload.status:active", "payload.status:ACT*", "payload.name:a/b",
    '"telco bright"', "payload.n:1", "payload.n>0", "payload.*:true", ".payload:*", "é",
    "-type:QUERY", "active or entity:partner", "/acti/", "payload.name:\"x\\\"y\"",
])


@SETTINGS
@given(OBJECTS, PROBES, st.sampled_from([orjson.dumps, lambda o: orjson.dumps(o, option=orjson.OPT_INDENT_2)]))
def test_prefilter_never_rules_out_a_match(obj: dict[str, Any], probe: str, dump: Any) -> None:
    raw = dump(obj)
    flt = parse_filter(probe)
    if flt.matches(FrameFacts(CapturedFrame(0, 0.0, "in", "c1", raw), 0)):
        assert flt.prefilter(raw)
