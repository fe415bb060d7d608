"""One-line summaries, colours and formats shared by tail and the TUI."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from busconsole.frames import CapturedFrame
from busconsole.render import TYPE_STYLES, arrow, fmt_size, fmt_time, pretty_line, summary

T0 = 1758332020409.0


def cap(obj: dict[str, Any] | bytes, direction: str = "in", binary: bool = False) -> CapturedFrame:
    raw = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    return CapturedFrame(1, T0, "out" if direction == "out" else "in", "c1", raw, binary)


STATE = {"entity": "partner", "query": {"kind": "partner"}, "data": [{"id": 1}, {"id": 2}, {"id": 3}], "meta": {}}


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            {"type": "QUERY", "entity": "partner", "requestId": "r1",
             "payload": {"kind": "partner", "criteria": {"name": "telcobright"}, "page": {"limit": 10, "offset": 0}}},
            'partner {"name":"telcobright"} page 10@0',
        ),
        ({"type": "query", "entity": "cloud", "query": {"kind": "cloud"}}, "cloud"),
        (
            {"type": "MUTATION", "entity": "partner", "operation": "update",
             "payload": {"id": 7, "name": "x", "status": "ACTIVE"}},
            "UPDATE #7 name, status",
        ),
        ({"type": "MUTATION", "entity": "partner", "operation": "DELETE", "payload": {"id": 7}}, "DELETE #7"),
        ({"type": "QUERY_RESULT", "entity": "partner", "requestId": "r1", "data": STATE}, "3 rows of partner"),
        ({"type": "SUBSCRIPTION_DATA", "entity": "partner", "data": STATE}, "3 rows of partner"),
        ({"type": "STORE_UPDATE", "entity": "cloud", "data": {"data": [{"id": 1}]}}, "1 row of cloud"),
        ({"type": "MUTATION_SUCCESS", "entity": "partner", "operation": "CREATE", "data": {"id": 9}}, "CREATE #9"),
        ({"type": "ERROR", "error": "Unknown entity: nosuch", "requestId": "r2"}, "Unknown entity: nosuch"),
        ({"type": "ERROR", "error": {"message": "boom", "code": 5}}, "boom"),
        ({"type": "CONNECTION", "status": "connected"}, "connected"),
        ({"type": "CONSOLE_LOGS_ACK", "received": 16}, "received 16"),
        ({"type": "SUBSCRIBE", "entity": "partner"}, "partner"),
        ({"type": "HEARTBEAT", "n": 1}, '{"n":1}'),
    ],
)
def test_summary_per_type(frame: dict[str, Any], expected: str) -> None:
    assert summary(cap(frame)) == expected


def test_console_logs_summary_counts_levels_and_shows_first_error() -> None:
    levels = ["log"] * 11 + ["error"] * 3 + ["warn"] * 2
    msgs = [{"level": lv, "message": f"{lv} {i}"} for i, lv in enumerate(levels)]
    line = summary(cap({"type": "CONSOLE_LOGS", "messages": msgs}))
    assert line == "16 messages (3 error, 2 warn): error 11"
    quiet = summary(cap({"type": "CONSOLE_LOGS", "messages": [{"level": "info", "message": "hello\nworld"}]}))
    assert quiet == "1 message: hello world"


@pytest.mark.parametrize(
    ("raw", "binary", "expected_start"),
    [
        (b"not json at all", False, "not JSON:"),
        (b"[1, 2]", False, "not a JSON object but an array: '[1, 2]'"),
        (b'{"type": 123}', False, "'type' is a number, not a string"),
        (b'{"entity": "x"}', False, "missing 'type'"),
        (b"\x00\x01\xff", True, "binary frame, 3 B: 00 01 ff"),
    ],
)
def test_malformed_summary_gives_reason_and_raw_start(raw: bytes, binary: bool, expected_start: str) -> None:
    frame = cap(raw, binary=binary)
    assert frame.type == "MALFORMED"
    assert summary(frame).startswith(expected_start)


def test_summary_is_one_clipped_line() -> None:
    frame = cap({"type": "ERROR", "error": "line one\nline two " + "x" * 300})
    text = summary(frame, max_len=40)
    assert len(text) == 40 and text.endswith("…") and "\n" not in text


def test_formats() -> None:
    assert fmt_size(0) == "0 B"
    assert fmt_size(512) == "512 B"
    assert fmt_size(1229) == "1.2 KB"
    assert fmt_size(5 * 1024 * 1024) == "5.0 MB"
    assert fmt_size(3 * 1024**4) == "3072.0 GB"
    assert arrow("out") == "→" and arrow("in") == "←"
    expected = time.strftime("%H:%M:%S", time.localtime(T0 / 1000)) + ".409"
    assert fmt_time(T0) == expected


def test_every_type_has_its_own_style_and_malformed_stands_out() -> None:
    assert len(set(TYPE_STYLES.values())) == len(TYPE_STYLES)
    assert "on red" in TYPE_STYLES["MALFORMED"]


def test_pretty_line_columns_and_colour() -> None:
    frame = cap({"type": "MUTATION", "entity": "partner", "operation": "CREATE", "requestId": "req_1_a",
                 "payload": {"name": "n"}}, direction="out")
    plain = pretty_line(frame, color=False)
    assert plain.plain.startswith(f"{fmt_time(T0)} → MUTATION ")
    for part in ("partner", "CREATE", "req_1_a", "CREATE name"):
        assert part in plain.plain
    assert not plain.spans
    coloured = pretty_line(frame, color=True)
    assert coloured.plain == plain.plain
    assert any(str(span.style) == TYPE_STYLES["MUTATION"] for span in coloured.spans)
    bad = pretty_line(cap(b"oops"), color=True)
    assert "MALFORMED" in bad.plain
    assert any(str(span.style) == TYPE_STYLES["MALFORMED"] for span in bad.spans)
