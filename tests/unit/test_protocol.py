"""protocol.py: lenient parsing never raises, strict building names the bad field."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from busconsole import protocol as p


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"null", "not a JSON object but null"),
        (b"[1,2]", "not a JSON object but an array"),
        (b'{"type":123}', "'type' is a number, not a string"),
        (b'{"entity":"partner"}', "missing 'type'"),
        (b"\xff\xfe{", "invalid UTF-8"),
        (b'{"type":"CONSOLE_LOGS","messages":5}', "CONSOLE_LOGS: messages"),
    ],
)
def test_malformed_frames_say_why(raw: bytes, reason: str) -> None:
    got = p.parse(raw)
    assert isinstance(got, p.Malformed)
    assert reason in got.reason
    assert got.raw == raw


def test_binary_is_malformed() -> None:
    got = p.parse(b'{"type":"QUERY"}', binary=True)
    assert isinstance(got, p.Malformed) and got.reason == "binary frame"


def test_type_is_case_insensitive_and_unknown_fields_are_kept() -> None:
    got = p.parse(b'{"type":"query","entity":"partner","requestId":"r1","x-extra":{"a":1}}')
    assert isinstance(got, p.QueryFrame)
    assert got.type == "QUERY" and got.entity == "partner" and got.requestId == "r1"
    assert got.to_dict()["x-extra"] == {"a": 1}


def test_unknown_type_is_a_generic_frame() -> None:
    got = p.parse(b'{"type":"HEARTBEAT","n":1}')
    assert type(got) is p.Frame and got.type == "HEARTBEAT"


def test_console_logs_messages_are_typed() -> None:
    raw = orjson.dumps({"type": "CONSOLE_LOGS", "messages": [{"level": "error", "message": "boom", "stackTrace": "at x"}]})
    got = p.parse(raw)
    assert isinstance(got, p.ConsoleLogsFrame)
    assert got.messages[0].level == "error" and got.messages[0].stackTrace == "at x"


def test_build_query_sends_both_query_and_payload() -> None:
    f = p.build_query("partner", {"kind": "partner", "criteria": {"name": "x"}, "page": {"limit": 10, "offset": 0}})
    assert f["type"] == "QUERY" and f["query"] == f["payload"]
    assert f["requestId"].startswith("req_") and isinstance(f["timestamp"], int)
    rid = f["requestId"].split("_")
    assert len(rid) == 3 and rid[1].isdigit()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: p.build_query("partner", {"kind": "partner", "page": {"limit": -1}}), "page.limit"),
        (lambda: p.build_query("partner", {"kind": "partner", "sort": {"field": "a", "order": "UP"}}), "sort.order"),
        (lambda: p.build_query("partner", {"kind": "partner", "critera": {}}), "critera"),
        (lambda: p.build_query("", None), "entity"),
        (lambda: p.build_mutation("partner", "UPDATE", {"name": "x"}), "payload.id"),
        (lambda: p.build_mutation("partner", "", {}), "operation"),
        (lambda: p.build_console_logs([]), "messages"),
    ],
)
def test_build_errors_name_the_field(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        call()
    assert field in str(exc.value)


def test_build_mutation_upper_cases_operation() -> None:
    f = p.build_mutation("partner", "delete", {"id": 3})
    assert f["operation"] == "DELETE" and f["payload"] == {"id": 3}


@given(st.binary(max_size=200))
def test_parse_never_raises_on_bytes(raw: bytes) -> None:
    p.parse(raw)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["type", "entity", "messages", "requestId", "data"]), c, max_size=4),
                    max_leaves=10))
def test_parse_never_raises_on_json(value: object) -> None:
    p.parse(json.dumps(value))
