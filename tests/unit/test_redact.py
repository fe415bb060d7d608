"""Redaction: secrets never reach a recording, everything else stays byte-for-byte."""

from __future__ import annotations

import orjson

from busconsole.recording.redact import DEFAULT_RULES, MASK, Redactor


def test_plain_frame_is_returned_unchanged_without_parsing() -> None:
    raw = b'{"type":"QUERY","entity":"partner","payload":{"kind":"partner"}}'
    assert Redactor().redact_raw(raw) is raw


def test_default_rules_mask_values_at_any_depth_case_insensitively() -> None:
    frame = {
        "type": "MUTATION",
        "payload": {
            "Password": "hunter2",
            "nested": [{"accessToken": "abc", "x-api-key": "k1", "API_KEY": "k2"}],
            "headers": {"Authorization": "Bearer s3cr3tvalue", "Set-Cookie": "sid=1"},
            "clientSecret": {"deep": "object"},
            "name": "kept",
        },
    }
    out = orjson.loads(Redactor().redact_raw(orjson.dumps(frame)))
    p = out["payload"]
    assert p["Password"] == MASK
    assert p["nested"][0] == {"accessToken": MASK, "x-api-key": MASK, "API_KEY": MASK}
    assert p["headers"] == {"Authorization": MASK, "Set-Cookie": MASK}
    assert p["clientSecret"] == MASK
    assert p["name"] == "kept"


def test_bearer_in_a_value_of_any_key_is_masked() -> None:
    raw = b'{"type":"CONSOLE_LOGS","messages":[{"message":"sent Bearer eyJhbGciOiJIUzI1NiJ9.x.y"}]}'
    out = Redactor().redact_raw(raw)
    assert b"eyJhbGci" not in out
    assert b"Bearer ***" in out


def test_extra_fields_and_no_defaults() -> None:
    r = Redactor(["sessionId"], defaults=False)
    assert r.rules == ["sessionId"]
    out = orjson.loads(r.redact_raw(b'{"type":"X","session_id":"s","token":"t"}'))
    assert out == {"type": "X", "session_id": MASK, "token": "t"}


def test_rules_listed_for_the_header() -> None:
    assert Redactor(["pin"]).rules == [*DEFAULT_RULES, "pin"]
    assert Redactor(["TOKEN"]).rules == list(DEFAULT_RULES)  # no duplicate rule


def test_redact_obj_never_mutates_its_input() -> None:
    obj = {"type": "X", "auth": {"token": "t"}}
    out = Redactor().redact_obj(obj)
    assert obj == {"type": "X", "auth": {"token": "t"}}
    assert out == {"type": "X", "auth": {"token": MASK}}
    clean = {"type": "X", "list": [1, 2]}
    assert Redactor().redact_obj(clean) is clean


def test_non_json_text_and_urls() -> None:
    r = Redactor()
    assert r.redact_raw(b"oops token=abc123&x=1 password: hunter2") == b"oops token=***&x=1 password: ***"
    assert r.redact_url("ws://bob:pw@127.0.0.1:1/x?access_token=abc&a=1") == (
        "ws://bob:***@127.0.0.1:1/x?access_token=***&a=1"
    )


def test_a_frame_nested_as_deep_as_any_reader_allows_is_redacted_without_recursion() -> None:
    from busconsole.recording.redact import Redactor

    red = Redactor()
    clean: object = ["fine"]
    secret: object = [{"password": "hunter2"}]
    for _ in range(1020):
        clean, secret = [clean], [secret]
    assert red.redact_obj({"a": clean})["a"] is clean  # nothing secret: the same object
    masked = red.redact_obj({"a": secret})
    deep = masked["a"]
    while isinstance(deep, list):
        deep = deep[0]
    assert deep == "***"
