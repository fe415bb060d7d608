"""The server's frame handling without sockets: no input escapes as an exception."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from busconsole.server.db import EntityStore
from busconsole.server.handlers import Bus
from busconsole.server.seed import KINDS, seed_demo

REPLY_TYPES = {"QUERY_RESULT", "MUTATION_SUCCESS", "SUBSCRIPTION_DATA", "CONSOLE_LOGS_ACK", "ERROR"}

_store = EntityStore(":memory:", KINDS)
seed_demo(_store)
BUS = Bus(_store)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
criteria_keys = st.sampled_from(["id", "status", "name", "$or", "cpuCores", "$gt", "partnerId"])
operators = st.dictionaries(st.sampled_from(["$in", "$gt", "$lte", "$contains", "$ne", "$bad"]), values, max_size=2)
stellar = st.fixed_dictionaries(
    {"kind": st.sampled_from([*KINDS, "widget", ""])},
    optional={
        "criteria": st.dictionaries(criteria_keys, values | operators, max_size=3),
        "page": st.dictionaries(st.sampled_from(["limit", "offset"]), values, max_size=2),
        "sort": st.dictionaries(st.sampled_from(["field", "order"]), values, max_size=2),
        "include": st.lists(st.fixed_dictionaries({"kind": st.sampled_from(KINDS)}), max_size=2) | values,
    },
)
frames = st.fixed_dictionaries(
    {"type": st.sampled_from(["QUERY", "query", "MUTATION", "SUBSCRIBE", "UNSUBSCRIBE", "CONSOLE_LOGS", "X"])},
    optional={
        "entity": st.sampled_from([*KINDS, "widget", "infrastructure"]) | values,
        "payload": stellar | values,
        "query": stellar,
        "operation": st.sampled_from(["CREATE", "update", "DELETE", "MERGE"]) | values,
        "messages": st.lists(values, max_size=3) | values,
        "requestId": values,
    },
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames | values)
def test_every_frame_gets_a_reply_or_nothing_never_an_exception(frame: object) -> None:
    subs: set[str] = set()
    outcome = BUS.handle(json.dumps(frame), subs)
    if isinstance(frame, dict) and str(frame.get("type")).upper() == "UNSUBSCRIBE":
        assert [r["type"] for r in outcome.replies] in ([], ["ERROR"])
    else:
        assert len(outcome.replies) == 1
    for reply in outcome.replies:
        assert reply["type"] in REPLY_TYPES and isinstance(reply["timestamp"], int)
        rid = frame.get("requestId") if isinstance(frame, dict) else None
        if reply["type"] == "ERROR" and isinstance(rid, str):
            assert reply["requestId"] == rid
    for entity in outcome.updated:
        assert BUS.store_update(entity)["type"] == "STORE_UPDATE"


def test_unwritable_log_dir_is_an_error_reply_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    bus = Bus(EntityStore(":memory:", KINDS), log_dir=blocker / "logs")
    [reply] = bus.handle(json.dumps({"type": "CONSOLE_LOGS", "messages": [{"message": "x"}]}), set()).replies
    assert reply["type"] == "ERROR" and "console logs not saved" in reply["error"]


def test_invalid_utf8_and_binary_are_errors() -> None:
    assert BUS.handle(b"\xff\xfe", set()).replies[0]["type"] == "ERROR"
    assert BUS.handle('{"type": "QUERY", "entity": "\ud800"}', set()).replies[0]["type"] == "ERROR"
