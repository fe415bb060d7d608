"""protocol.py builds strictly and names the bad field; wire.decode reads leniently and never raises."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from busconsole import protocol as p
from busconsole.wire import Malformed, decode


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"null", "not a JSON object but null"),
        (b"[1,2]", "not a JSON object but an array"),
        (b'{"type":123}', "'type' is a number, not a string"),
        (b'{"entity":"partner"}', "missing 'type'"),
        (b"\xff\xfe{", "invalid UTF-8"),
    ],
)
def test_malformed_frames_say_why(raw: bytes, reason: str) -> None:
    got = decode(raw)
    assert isinstance(got, Malformed)
    assert reason in got.reason
    assert got.raw == raw


def test_binary_is_malformed() -> None:
    got = decode(b'{"type":"QUERY"}', binary=True)
    assert isinstance(got, Malformed) and got.reason == "binary frame"


def test_unknown_fields_and_types_are_kept_as_they_are() -> None:
    got = decode(b'{"type":"query","entity":"partner","x-extra":{"a":1}}')
    assert got == {"type": "query", "entity": "partner", "x-extra": {"a": 1}}
    assert decode(b'{"type":"CONSOLE_LOGS","messages":5}') == {"type": "CONSOLE_LOGS", "messages": 5}


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
    decode(raw)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["type", "entity", "messages", "requestId", "data"]), c, max_size=4),
                    max_leaves=10))
def test_parse_never_raises_on_json(value: object) -> None:
    decode(json.dumps(value))
