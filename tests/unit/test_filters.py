"""The filter language, construct by construct: what each one matches, its canonical text,
and every parse error with its column (DESIGN §6, issue 3 item 6)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson
import pytest

from busconsole.facts import FrameFacts
from busconsole.filtering import FILTER_KEYS, FilterError, help_text, parse_filter
from busconsole.frames import CapturedFrame

T0 = datetime(2025, 9, 22, 12, 30, 15, 250_000).timestamp() * 1000  # local 12:30:15.250


def facts(obj: dict[str, Any] | bytes, *, dir: str = "in", conn: str = "c1", t: float = T0,
          index: int = 0, **pairing: Any) -> FrameFacts:
    raw = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    f = FrameFacts(CapturedFrame(index, t, dir, conn, raw), index)  # type: ignore[arg-type]
    for name, value in pairing.items():
        setattr(f, name, value)
    return f


QUERY = facts({"type": "QUERY", "entity": "partner", "requestId": "req_17_ab",
               "payload": {"kind": "partner", "criteria": {"name": "Telcobright", "id": 7},
                           "page": {"limit": 10}}}, dir="out", latency=42.0)
MUTATION = facts({"type": "mutation", "entity": "compute", "operation": "update",
                  "payload": {"id": 3, "status": "ACTIVE"}}, dir="out", pending=True)
UPDATE = facts({"type": "STORE_UPDATE", "entity": "compute",
                "data": {"data": [{"name": "db1", "cpu": 4}, {"name": "web", "cpu": 16}]}},
               conn="c2", t=T0 + 3_600_000)
LOGS = facts({"type": "CONSOLE_LOGS", "messages": [
    {"level": "warn", "message": "slow render"}, {"level": "error", "message": "Boom: the \"x\""}]})
ERROR = facts({"type": "ERROR", "error": "Unknown entity", "requestId": "req_99"}, orphan=True)
BROKEN = facts(b"not json {", index=5)
ALL = {"QUERY": QUERY, "MUTATION": MUTATION, "UPDATE": UPDATE, "LOGS": LOGS, "ERROR": ERROR,
       "BROKEN": BROKEN}


def matching(text: str) -> set[str]:
    flt = parse_filter(text)
    return {name for name, f in ALL.items() if flt.matches(f)}


CASES: list[tuple[str, set[str]]] = [
    # keys
    ("type:QUERY", {"QUERY"}),
    ("type:query", {"QUERY"}),
    ("type:update", {"UPDATE"}),
    ("type:QUERY,MUTATION", {"QUERY", "MUTATION"}),
    ("type:*_update", {"UPDATE"}),
    ("type:/log|err/", {"LOGS", "ERROR"}),
    ("type:malformed", {"BROKEN"}),
    ("entity:compute", {"MUTATION", "UPDATE"}),
    ("entity:Compute", set()),  # identifiers keep their case
    ("entity:comp*", {"MUTATION", "UPDATE"}),
    ("entity:*t*", {"QUERY", "MUTATION", "UPDATE"}),
    ('entity:"comp*"', set()),  # quoted values are literal
    ("op:UPDATE", {"MUTATION"}),
    ("dir:out", {"QUERY", "MUTATION"}),
    ("dir:->", {"QUERY", "MUTATION"}),
    ("dir:<-", {"UPDATE", "LOGS", "ERROR", "BROKEN"}),
    ("req:req_17_ab", {"QUERY"}),
    ("req:req_*", {"QUERY", "ERROR"}),
    ("req:/9+$/", {"ERROR"}),
    ("conn:c2", {"UPDATE"}),
    ("level:error", {"LOGS"}),
    ("level:warning", {"LOGS"}),
    ("level:info", set()),
    ("Type:QUERY", {"QUERY"}),
    ("type=QUERY", {"QUERY"}),
    # comparisons
    ("latency>40", {"QUERY"}),
    ("latency>42", set()),
    ("latency>=42ms", {"QUERY"}),
    ("latency<1s", {"QUERY"}),
    ("latency:42", {"QUERY"}),
    ("size>100", {"QUERY", "UPDATE", "LOGS"}),
    ("size<=10b", {"BROKEN"}),
    ("size>1kb", set()),
    ("t:12:30", {"QUERY", "MUTATION", "LOGS", "ERROR", "BROKEN"}),
    ("t:12:30:15", {"QUERY", "MUTATION", "LOGS", "ERROR", "BROKEN"}),
    ("t:12:30:16", set()),
    ("t>12:30:15", {"QUERY", "MUTATION", "UPDATE", "LOGS", "ERROR", "BROKEN"}),
    ("t>=13:00", {"UPDATE"}),
    ("t<13:00", {"QUERY", "MUTATION", "LOGS", "ERROR", "BROKEN"}),
    ("t>2025-09-22T13:00", {"UPDATE"}),
    ("t:2025-09-22", set(ALL)),
    ("t:2025-09-21", set()),
    (f"t>={int(T0 + 1000)}", {"UPDATE"}),
    ("t>-5m", set()),  # these frames are from 2025
    ("t<-5m", set(ALL)),
    # states
    ("is:pending", {"MUTATION"}),
    ("is:orphan", {"ERROR"}),
    ("is:malformed", {"BROKEN"}),
    ("is:error", {"LOGS", "ERROR", "BROKEN"}),
    ("is:request", {"QUERY", "MUTATION", "LOGS"}),
    ("is:reply", {"ERROR"}),
    ("is:pending,orphan", {"MUTATION", "ERROR"}),
    ("is:timedout", set()),
    # text
    ("telcobright", {"QUERY"}),
    ("TELCOBRIGHT", {"QUERY"}),
    ('"slow render"', {"LOGS"}),
    ('"the \\"x\\""', set()),  # the raw bytes hold the JSON escape, not the quote
    ('"the \\\\\\"x"', {"LOGS"}),
    ("json", {"BROKEN"}),
    ("/cpu.:16/", {"UPDATE"}),
    ("/BOOM/", set()),
    ("/BOOM/i", {"LOGS"}),
    ("/\\d{2}}}/", {"QUERY"}),
    # paths
    ("payload.status:ACTIVE", {"MUTATION"}),
    ("payload.status:active", {"MUTATION"}),
    ("payload.criteria.name:telcobright", {"QUERY"}),
    ("payload.criteria.name:telco*", {"QUERY"}),
    ("payload.criteria.id:7", {"QUERY"}),
    ("payload.criteria.id:7.0", {"QUERY"}),
    ("payload.criteria.id>6", {"QUERY"}),
    ("payload.criteria.id<7", set()),
    ("payload.criteria:*", {"QUERY"}),
    ("payload.*.name:telcobright", {"QUERY"}),
    ("data.data.name:web", {"UPDATE"}),  # a list matches when any item does
    ("data.data.*.name:web", {"UPDATE"}),
    ("data.data.0.name:web", set()),
    ("data.data.1.name:web", {"UPDATE"}),
    ("data.data.cpu>8", {"UPDATE"}),
    ("messages.level:error", {"LOGS"}),
    (".entity:compute", {"MUTATION", "UPDATE"}),
    (".requestId:/^req_9/", {"ERROR"}),
    ("payload.missing:x", set()),
    # boolean structure
    ("type:QUERY entity:partner", {"QUERY"}),
    ("type:QUERY and entity:compute", set()),
    ("type:QUERY or entity:compute", {"QUERY", "MUTATION", "UPDATE"}),
    ("type:QUERY or type:ERROR is:orphan", {"QUERY", "ERROR"}),
    ("(type:QUERY or type:ERROR) dir:out", {"QUERY"}),
    ("-dir:out", {"UPDATE", "LOGS", "ERROR", "BROKEN"}),
    ("not dir:out", {"UPDATE", "LOGS", "ERROR", "BROKEN"}),
    ("-(dir:out or is:error)", {"UPDATE"}),
    ("--dir:out", {"QUERY", "MUTATION"}),
    ("entity:compute -type:STORE_UPDATE", {"MUTATION"}),
    ("", set(ALL)),
    ("   ", set(ALL)),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_each_construct_matches_exactly_the_frames_it_names(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@pytest.mark.parametrize(("text", "_"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_canonical_text_parses_back_to_an_equal_filter(text: str, _: set[str]) -> None:
    flt = parse_filter(text)
    again = parse_filter(str(flt))
    assert again == flt
    assert str(again) == str(flt)


CANONICAL = [
    ("type:query", "type:QUERY"),
    ("type:update,result", "type:STORE_UPDATE,QUERY_RESULT"),
    ("TYPE=query", "type:QUERY"),
    ("dir:->", "dir:out"),
    ("level:WARNING", "level:warn"),
    ("a  AND  b", "a b"),
    ("a OR b or (c or d)", "a or b or c or d"),
    ("(a b) (c)", "a b c"),
    ("not (a or b)", "-(a or b)"),
    ("a (b or c)", "a (b or c)"),
    ('"one two" "or" x\\y', '"one two" "or" x\\y'),
    ('"plain"', "plain"),
    ('"-dash"', '"-dash"'),
    ('"type:QUERY"', '"type:QUERY"'),
    ("entity:\"a b\",c*,/x/i", 'entity:"a b",c*,/x/i'),
    (".payload.status:ACTIVE", "payload.status:ACTIVE"),
    ("payload.n>=5", "payload.n>=5.0"),
    ("/a\\/b/si", "/a\\/b/is"),
    ("is:Pending", "is:pending"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_str_is_the_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_filter(text)) == canonical


def test_units_and_spellings_that_mean_the_same_compare_equal() -> None:
    assert parse_filter("size>10kb") == parse_filter("size>10240")
    assert parse_filter("latency<1s") == parse_filter("latency<1000ms")
    assert str(parse_filter("size>10kb")) == "size>10kb"
    assert parse_filter("a b") != parse_filter("a or b")


ERRORS = [
    ("type:", 6, "expected a value after 'type:'"),
    ("entity:a type:", 15, "expected a value after 'type:'"),
    ("type:QUERY,", 12, "expected a value after ','"),
    ("tpye:QUERY", 1, "unknown key 'tpye' (did you mean type?)"),
    ("a entty:x", 3, "unknown key 'entty' (did you mean entity?)"),
    ("http://x", 1, "unknown key 'http'"),
    ("is:pendng", 4, "unknown is: value 'pendng' (did you mean pending?)"),
    ("dir:up", 5, "dir is in or out, not 'up'"),
    ("type>3", 5, "'type' takes ':' not '>'"),
    ("latency>fast", 9, "expected a number with an optional unit"),
    ("size>10tb", 6, "expected a number with an optional unit (b, kb, mb, gb), not '10tb'"),
    ("latency>1,2", 10, "a comparison takes one value, not a list"),
    ("latency:/1/", 9, "'latency' does not take a regex"),
    ("payload.n>big", 11, "expected a number, not 'big'"),
    ("t>25:00", 3, "'25:00' is not a time of day"),
    ("t>yesterday", 3, "expected a time"),
    ("t:-5m", 3, "a relative time needs > or <"),
    ("/a(/", 3, "bad regex: missing ), unterminated subpattern"),
    ("x /ab", 3, "unclosed regex"),
    ("/ab/q", 5, "unknown regex flag 'q'"),
    ("entity:/(/", 9, "bad regex"),
    ("//", 1, "empty regex"),
    ('say "hi', 5, "unclosed quote"),
    ('entity:"a', 8, "unclosed quote"),
    ('entity:"a"b', 11, "unexpected 'b' after the value"),
    ('""', 1, "empty phrase"),
    ("(a b", 1, "unclosed '('"),
    ("((a) b", 1, "unclosed '('"),
    ("a b)", 4, "unmatched ')'"),
    (")", 1, "unmatched ')'"),
    ("()", 1, "empty parentheses"),
    ("(", 1, "unclosed '('"),
    ("a or", 5, "expected a term after 'or'"),
    ("a or or b", 6, "expected a term after 'or'"),
    ("or a", 1, "'or' needs a term before it"),
    ("and a", 1, "'and' needs a term before it"),
    ("a and", 6, "expected a term after 'and'"),
    ("not", 4, "expected a term after 'not'"),
    ("a not", 6, "expected a term after 'not'"),
    ("(not) x", 5, "expected a term after 'not'"),
    ("a - b", 4, "expected a term after '-'"),
    ("a -", 4, "expected a term after '-'"),
    ("(a -)", 5, "expected a term after '-'"),
]


@pytest.mark.parametrize(("text", "column", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_every_error_names_its_column_and_never_matches_everything(
        text: str, column: int, message: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    err = info.value
    assert (err.column, err.message[:len(message)]) == (column, message)
    assert str(err) == f"column {column}: {err.message}"
    assert isinstance(err, ValueError)


def test_relative_time_counts_back_from_now() -> None:
    now = time.time() * 1000
    recent, old = facts({"type": "QUERY"}, t=now - 60_000), facts({"type": "QUERY"}, t=now - 600_000)
    within = parse_filter("t>-5m")
    assert (within.matches(recent), within.matches(old)) == (True, False)
    assert parse_filter("t<-5m").matches(old)
    assert parse_filter("t>-1h").matches(old)


def test_non_ascii_text_is_searched_without_case() -> None:
    f = facts({"type": "CONSOLE_LOGS", "messages": [{"level": "log", "message": "Ünïcode Ärger"}]})
    assert parse_filter("ärger").matches(f)
    assert parse_filter('"ünïcode ä"').matches(f)
    assert not parse_filter("ärgerlich").matches(f)


def test_terms_that_need_the_frame_object_are_skipped_when_a_cheap_term_fails() -> None:
    loads: list[int] = []

    def load(i: int) -> CapturedFrame:
        loads.append(i)
        return CapturedFrame(i, T0, "in", "c1", b'{"type":"QUERY","payload":{"status":"X"}}')

    lazy = FrameFacts(None, 3, load)
    lazy.type, lazy.entity, lazy.dir = "QUERY", "partner", "in"
    assert not parse_filter("payload.status:X type:MUTATION").matches(lazy)
    assert loads == []
    assert parse_filter("payload.status:X type:QUERY").matches(lazy)
    assert loads == [3]


PREFILTER = [
    ("", b"anything", True),
    ("type:QUERY dir:out", b'{"type":"query"}', True),
    ("type:QUERY", b'{"type":"STORE_UPDATE"}', False),
    ("type:QUERY,ERROR", b'{"type":"ERROR"}', True),
    ("type:malformed", b"garbage", True),
    ("entity:partner", b'{"type":"QUERY","entity":"compute"}', False),
    ("entity:comp*", b'{"entity":"compute"}', True),
    ("entity:/x/", b'{"entity":"y"}', True),
    ("dir:out", b"{}", True),
    ("level:error", b'{"messages":[{"level":"warn"}]}', False),
    ("level:log", b'{"messages":[{"message":"no level"}]}', True),
    ("telcobright", b'{"name":"TelcoBright"}', True),
    ("telcobright", b'{"name":"other"}', False),
    ('"a phrase"', b'{"m":"A Phrase!"}', True),
    ("ärger", b'{"m":"x"}', True),
    ("payload.status:ACTIVE", b'{"payload":{"status":"active"}}', True),
    ("payload.status:ACTIVE", b'{"payload":{"status":"idle"}}', False),
    ("payload.status:ACTIVE", b'{"payload":{"state":"ACTIVE"}}', False),
    ("payload.n:7", b'{"payload":{"n":7.0e0}}', True),
    ("payload.name:a/b", b'{"payload":{"name":"a\\/b"}}', True),
    ("payload.n>3", b'{"data":{"n":7}}', False),
    ("-telcobright", b"{}", True),
    ("-telcobright", b"telcobright", True),
    ("telcobright or type:ERROR", b'{"type":"QUERY"}', False),
    ("telcobright or dir:out", b'{"type":"QUERY"}', True),
    ("telcobright dir:out", b'{"type":"QUERY"}', False),
    ("/telco/", b"{}", True),
]


@pytest.mark.parametrize(("text", "raw", "passes"), PREFILTER)
def test_prefilter_rules_out_only_frames_that_cannot_match(text: str, raw: bytes, passes: bool) -> None:
    flt = parse_filter(text)
    assert flt.prefilter(raw) is passes
    if not passes:  # sound: whenever it says no, the full test says no too
        assert not flt.matches(facts(raw))


def test_help_text_lists_every_key_from_the_same_table() -> None:
    text = help_text()
    for key in FILTER_KEYS:
        assert f"  {key.name} " in text
        assert key.example in text
        parse_filter(key.example)  # every documented example is valid
    assert {k.name for k in FILTER_KEYS} >= {"type", "entity", "op", "dir", "req", "conn", "level",
                                            "latency", "size", "t", "is"}
    assert {k.name for k in FILTER_KEYS if k.indexed} == {"type", "entity", "op", "dir", "req",
                                                          "conn", "level"}
