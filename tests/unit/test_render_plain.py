"""``plain_line``: the proxy log's rich-free line reads exactly as ``pretty_line``."""

from __future__ import annotations

import re

import orjson
import pytest

from busconsole.frames import CapturedFrame
from busconsole.render import plain_line, pretty_line

FRAMES: list[bytes] = [
    orjson.dumps({"type": "QUERY", "entity": "partner", "requestId": "r1", "payload": {"kind": "partner"}}),
    orjson.dumps({"type": "MUTATION", "entity": "partner", "operation": "update", "payload": {"id": 7}}),
    orjson.dumps({"type": "QUERY_RESULT", "entity": "a-very-long-entity-name", "requestId": "r1", "data": {}}),
    orjson.dumps({"type": "ERROR", "error": "boom"}),
    orjson.dumps({"type": "CONNECTION", "status": "connected"}),
    orjson.dumps({"type": "HEARTBEAT", "n": 1}),
    b"oops",
    b"\x00\x01binary",
]


@pytest.mark.parametrize("raw", FRAMES)
@pytest.mark.parametrize("direction", ["in", "out"])
def test_plain_line_is_pretty_line_without_rich(raw: bytes, direction: str) -> None:
    frame = CapturedFrame(1, 1_700_000_000_123.0, direction, "c1", raw, raw.startswith(b"\x00"))  # type: ignore[arg-type]
    expected = pretty_line(frame, color=False).plain
    assert plain_line(frame) == expected
    coloured = plain_line(frame, color=True)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == expected
