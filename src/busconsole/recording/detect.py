"""What one line of a file means: the formats busconsole reads, detected line by line.

Detection looks at a line's keys, not the file name, so renamed or concatenated
files still read right:

* busconsole recording: the header ``{"busconsole": "recording", ...}`` and frame
  records ``{seq, t, dir, conn, frame | raw}`` (DESIGN §3; :mod:`.format` reads them).
* store server ``store-events-*.jsonl``: ``{type: "console", operation: "CONSOLE_LOGS",
  messages, metadata, ...}`` becomes the CONSOLE_LOGS frame the frontend sent,
  ``{type: "CONSOLE_LOGS", messages, timestamp, metadata}`` (the fields the server
  added while logging, such as ``count`` and ``isoTimestamp``, are not part of it).
* ``console-logs-*.jsonl``: one console message per line (``level`` + ``message``, no
  ``type``) becomes a one-message CONSOLE_LOGS frame.
* ``store-history-*.jsonl``: ``{timestamp, sequence, event, sessionId, data, snapshot}``
  becomes a frame whose type is the event name, keeping every field of the line.
* anything else is a bus frame as it was on the wire (plain event JSONL and
  ``<entity>/history.jsonl``, whose lines are QUERY frames with extra fields); a line
  without ``type`` is a malformed frame, shown rather than dropped.

``t`` is the frame's ``timestamp`` (epoch ms; ISO strings accepted) and ``dir`` follows
the type: requests are ``out`` (towards the server), everything else ``in``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from busconsole.frames import IN, OUT, CapturedFrame, Direction
from busconsole.recording.format import from_record, is_header, is_record
from busconsole.wire import REQUEST_TYPES, loads

LOG_CONN = "log"
_REQUESTS = frozenset(REQUEST_TYPES)
_FAST_T = re.compile(rb'\{"seq":-?\d+,"t":(-?[0-9.eE+-]+)[,}]|\{"timestamp":(-?[0-9.]+)[,}]')


def timestamp_ms(value: Any) -> float | None:
    """Epoch milliseconds from a number or an ISO-8601 string; None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000.0
        except ValueError:
            return None
    return None


def direction_of(kind: Any) -> Direction:
    return OUT if isinstance(kind, str) and kind.upper() in _REQUESTS else IN


def _as_frame(obj: dict[str, Any]) -> dict[str, Any]:
    """The bus frame a non-recording line stands for (see the module docstring)."""
    kind = obj.get("type")
    messages = obj.get("messages")
    if obj.get("operation") == "CONSOLE_LOGS" and isinstance(messages, list) and kind != "CONSOLE_LOGS":
        frame: dict[str, Any] = {"type": "CONSOLE_LOGS", "messages": messages}
        for key in ("timestamp", "metadata"):
            if key in obj:
                frame[key] = obj[key]
        return frame
    if kind is None and "level" in obj and "message" in obj:
        return {"type": "CONSOLE_LOGS", "messages": [obj], "timestamp": obj.get("timestamp")}
    if kind is None and "event" in obj and "sequence" in obj and isinstance(obj["event"], str):
        return {"type": obj["event"], **obj}
    return obj


def _conn_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    sid = meta.get("sessionId") if isinstance(meta, dict) else obj.get("sessionId")
    return sid if isinstance(sid, str) and sid and sid != "unknown" else LOG_CONN


def line_frame(line: bytes, obj: dict[str, Any], seq: int) -> CapturedFrame:
    """The captured frame of a parsed non-header line. ``seq`` numbers non-recording lines."""
    if is_record(obj):
        return from_record(obj)
    frame_obj = _as_frame(obj)
    t = timestamp_ms(frame_obj.get("timestamp"))
    raw = line if frame_obj is obj else orjson.dumps(frame_obj)
    cap = CapturedFrame(seq, t if t is not None else 0.0, direction_of(frame_obj.get("type")), _conn_of(obj), raw)
    if isinstance(frame_obj.get("type"), str):
        cap._obj = frame_obj
    return cap


def malformed_line(line: bytes, seq: int) -> CapturedFrame:
    """A line that looked like a frame but is not JSON: kept as a malformed frame."""
    return CapturedFrame(seq, 0.0, IN, LOG_CONN, line)


def parse_line(line: bytes) -> dict[str, Any] | None:
    """The JSON object on a line, or None when the line is not one."""
    try:
        obj = loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def line_time(line: bytes) -> float | None:
    """The time of a line for merging; a regex on the common shapes, a parse otherwise."""
    m = _FAST_T.match(line)
    if m is not None:
        try:
            return float(m.group(1) or m.group(2))
        except ValueError:
            pass
    obj = parse_line(line)
    if obj is None or is_header(obj):
        return None
    if is_record(obj):
        t = obj.get("t")
        return float(t) if isinstance(t, int | float) and not isinstance(t, bool) else None
    return timestamp_ms(_as_frame(obj).get("timestamp"))
