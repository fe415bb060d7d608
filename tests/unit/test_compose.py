"""compose.py: validation messages and positions, building, edit-and-resend, send safety."""

from __future__ import annotations

import json

import orjson
import pytest

from busconsole.compose.draft import (
    ComposeError,
    Confirmation,
    Refusal,
    SendPolicy,
    build_frame,
    check_send,
    draft_from_frame,
    fresh_copy,
    validate,
)
from busconsole.wire import decode


def errors(*args: str) -> list[str]:
    return [str(e) for e in validate(*args).errors]


def test_json_syntax_error_has_line_and_column() -> None:
    v = validate("QUERY", "partner", "", '{\n  "kind": "partner",\n  "page": {"limit": 10,}\n}')
    assert not v.ok
    (err,) = v.errors
    assert (err.line, err.column) == (3, 24)
    assert v.reason.startswith("line 3, column 24: invalid JSON: Expecting property name")


def test_query_structural_errors_name_the_field_and_point_at_it() -> None:
    text = '{\n  "kind": "partner",\n  "page": {"limit": -1, "offset": 0},\n  "sort": {"field": "name", "order": "up"}\n}'
    errs = validate("QUERY", "partner", "", text).errors
    by_path = {e.message.split(":")[0]: e for e in errs}
    assert set(by_path) == {"payload.page.limit", "payload.sort.order"}
    assert (by_path["payload.page.limit"].line, by_path["payload.page.limit"].column) == (3, 21)
    assert "ASC" in by_path["payload.sort.order"].message
    assert by_path["payload.sort.order"].line == 4


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"kind": "", "criteria": {}}', "payload.kind: String should have at least 1 character"),
        ('{"kind": "partner", "criteria": []}', "payload.criteria: Input should be a valid dictionary"),
        ('{"kind": "partner", "page": {"limit": 1.5}}', "payload.page.limit:"),
        ('{"kind": "partner", "limits": 3}', "payload.limits: unknown field"),
        ("[1, 2]", "payload: Stellar query must be a JSON object, not an array"),
    ],
)
def test_query_payload_must_be_a_stellar_query(payload: str, expected: str) -> None:
    assert any(expected in e for e in errors("QUERY", "partner", "", payload))


def test_query_kind_defaults_to_the_entity_as_in_send() -> None:
    assert validate("QUERY", "partner", "", '{"criteria": {}}').ok  # the README's own QUERY
    frame = build_frame("QUERY", "partner", "", '{"criteria": {"name": "x"}}')
    assert frame["payload"] == {"kind": "partner", "criteria": {"name": "x"}}


def test_blank_query_payload_defaults_to_the_entity_kind() -> None:
    assert validate("QUERY", "partner", "", "  ").ok
    frame = build_frame("QUERY", "partner", "", "")
    assert frame["payload"] == frame["query"] == {"kind": "partner"}


def test_entity_is_required_except_for_raw() -> None:
    assert errors("SUBSCRIBE", " ", "", "") == ["entity: required"]
    assert validate("RAW", "", "", '{"type": "SUBSCRIBE", "entity": "compute"}').ok


@pytest.mark.parametrize("op", ["UPDATE", "delete"])
def test_update_and_delete_need_an_id(op: str) -> None:
    errs = errors("MUTATION", "compute", op, '{"status": "ACTIVE"}')
    assert errs == [f"line 1, column 1: payload.id is required for {op.upper()}"]
    assert validate("MUTATION", "compute", op, '{"id": 4}').ok


def test_mutation_operation_is_free_text_but_warned() -> None:
    v = validate("MUTATION", "compute", "restart", '{"id": 4}')
    assert v.ok
    assert "RESTART is not one of CREATE, UPDATE, DELETE" in str(v.warnings[0])
    assert errors("MUTATION", "compute", "", "{}") == ["operation: required (CREATE, UPDATE, DELETE)"]
    assert build_frame("MUTATION", "compute", "restart", '{"id": 4}')["operation"] == "RESTART"


def test_raw_mode_needs_an_object_with_a_type() -> None:
    assert errors("RAW", "", "", '{"entity": "x"}') == ["line 1, column 1: type: a RAW frame needs a string 'type'"]
    assert errors("RAW", "", "", '{\n  "type": 5\n}') == ["line 2, column 11: type: a RAW frame needs a string 'type'"]
    assert "not a request type" in str(validate("RAW", "", "", '{"type": "HELLO"}').warnings[0])


def test_unknown_type_is_an_error() -> None:
    assert errors("PING", "x", "", "") == ["type: 'PING' is not one of QUERY, MUTATION, SUBSCRIBE, UNSUBSCRIBE, RAW"]


def test_placeholders_are_validated_as_what_they_become() -> None:
    assert validate("QUERY", "partner", "", '{"kind": "partner", "page": {"limit": "{{rand}}"}}').ok
    v = validate("QUERY", "partner", "", '{"kind": "partner", "criteria": {"x": "{{nope}}"}}')
    assert v.ok and "unknown placeholder {{nope}}" in str(v.warnings[0])


def test_build_frame_is_a_valid_request_with_fresh_ids() -> None:
    a = build_frame("QUERY", "compute", "", '{"kind": "compute", "criteria": {"since": "{{now}}"}}')
    b = build_frame("QUERY", "compute", "", '{"kind": "compute"}')
    assert a["requestId"] != b["requestId"] and a["requestId"].startswith("req_")
    assert isinstance(a["timestamp"], int)
    assert isinstance(a["payload"]["criteria"]["since"], int)
    assert decode(orjson.dumps(a))["type"].upper() == "QUERY"
    fixed = build_frame("MUTATION", "compute", "UPDATE", '{"id": 1}', request_id="req_mine")
    assert fixed["requestId"] == "req_mine"


def test_build_frame_refuses_an_invalid_draft() -> None:
    with pytest.raises(ComposeError) as err:
        build_frame("MUTATION", "compute", "DELETE", "{}")
    assert "payload.id is required for DELETE" in str(err.value)
    assert not err.value.validation.ok


def test_raw_frames_go_out_as_typed_and_extra_keys_ride_along() -> None:
    text = '{"type": "query", "entity": "x", "requestId": "r1", "odd": [1]}'
    assert build_frame("RAW", "", "", text) == json.loads(text)
    f = build_frame("SUBSCRIBE", "compute", "", "", extra={"metadata": {"source": "me"}, "type": "X"})
    assert f["type"] == "SUBSCRIBE" and f["metadata"] == {"source": "me"}


def test_fresh_copy_renews_ids_and_keeps_everything_else() -> None:
    old = {"type": "MUTATION", "entity": "compute", "operation": "UPDATE", "payload": {"id": 2},
           "requestId": "req_1_aaaa", "timestamp": 1, "metadata": {"sessionId": "s"}}
    new = fresh_copy(old)
    assert new["requestId"] != old["requestId"] and new["timestamp"] > 1
    assert {k: v for k, v in new.items() if k not in ("requestId", "timestamp")} == {
        k: v for k, v in old.items() if k not in ("requestId", "timestamp")}
    new["payload"]["id"] = 3
    assert old["payload"]["id"] == 2  # a deep copy
    assert "requestId" in fresh_copy({"type": "QUERY", "entity": "x"})
    assert "requestId" not in fresh_copy({"type": "SUBSCRIBE", "entity": "x", "timestamp": 1})


def test_draft_from_a_query_keeps_unknown_keys_and_gets_a_new_id() -> None:
    q = {"kind": "partner", "page": {"limit": 5}}
    d = draft_from_frame({"type": "query", "entity": "partner", "query": q, "payload": q,
                          "requestId": "req_1_x", "timestamp": 1, "metadata": {"source": "ui"}})
    assert (d.kind, d.entity) == ("QUERY", "partner")
    assert json.loads(d.payload_text) == q
    assert d.extra == {"metadata": {"source": "ui"}}
    assert d.request_id and d.request_id != "req_1_x"
    sent = d.build()
    assert sent["requestId"] == d.request_id and sent["metadata"] == {"source": "ui"}


def test_frames_the_form_cannot_hold_open_raw() -> None:
    reply = {"type": "QUERY_RESULT", "entity": "partner", "data": {"x": 1}, "requestId": "r"}
    d = draft_from_frame(reply)
    assert d.kind == "RAW" and json.loads(d.payload_text)["data"] == {"x": 1}
    odd = {"type": "QUERY", "entity": "p", "query": {"kind": "a"}, "payload": {"kind": "b"}}
    assert draft_from_frame(odd).kind == "RAW"
    mut = draft_from_frame({"type": "MUTATION", "entity": "compute", "operation": "DELETE", "payload": {"id": 9}})
    assert (mut.kind, mut.operation, json.loads(mut.payload_text)) == ("MUTATION", "DELETE", {"id": 9})


def test_read_only_refuses_mutations_only() -> None:
    mutation = build_frame("MUTATION", "compute", "CREATE", '{"name": "x"}')
    refusal = check_send(mutation, read_only=True)
    assert isinstance(refusal, Refusal) and "read-only" in refusal.reason
    assert isinstance(check_send({**mutation, "type": "mutation"}, read_only=True), Refusal)
    assert check_send(build_frame("QUERY", "compute", "", ""), read_only=True) is None
    assert check_send(mutation) is None


def test_delete_and_large_frames_ask_for_confirmation() -> None:
    delete = build_frame("MUTATION", "compute", "DELETE", '{"id": 7}')
    conf = check_send(delete)
    assert isinstance(conf, Confirmation) and "DELETE of compute id 7" in conf.prompt
    big = build_frame("MUTATION", "compute", "CREATE", json.dumps({"blob": "x" * 2000}))
    assert check_send(big) is None
    conf = SendPolicy(confirm_bytes=1000).check(big)
    assert isinstance(conf, Confirmation) and "over the 1,000-byte" in conf.reasons[0]
    both = SendPolicy(confirm_bytes=10).check(delete)
    assert isinstance(both, Confirmation) and len(both.reasons) == 2
    assert isinstance(SendPolicy(read_only=True).check(delete), Refusal)
