"""What one line of a file means: the formats busconsole reads, detected line by line.

Detection looks at a line's keys, not the file name, so renamed or concatenated
files still read right (the one exception: an ``<entity>/history.jsonl`` line names its
entity only through its folder, so the file's path is asked for that, when given):

* busconsole recording: the header ``{"busconsole": "recording", ...}`` and frame
  records ``{seq, t, dir, conn, frame | raw}`` (DESIGN §3; :mod:`.format` reads them).
* store server ``store-events-*.jsonl``: ``{type: "console", operation: "CONSOLE_LOGS",
  messages, metadata, ...}`` becomes the CONSOLE_LOGS frame the frontend sent,
  ``{type: "CONSOLE_LOGS", messages, timestamp, metadata}`` (the fields the server
  added while logging, such as ``count`` and ``isoTimestamp``, are not part of it).
* ``console-logs-*.jsonl``: one console message per line (``level`` + ``message``, no
  ``type``) becomes a one-message CONSOLE_LOGS frame, timed by the server's ``receivedAt``
  when the line has one (the client's clock otherwise).
* ``<entity>/history.jsonl``: ``{type: "QUERY" | "QUERY_RESULT", timestamp, stateBefore,
  stateAfter?}`` lines (and ``{event: "state_changed", ...}`` ones, which become
  STATE_CHANGED frames) gain the ``entity`` of their folder (else the ``kind`` of their
  query), and each entity is its own connection, so the stores of one folder never pair
  with each other. A QUERY_RESULT's rows are in ``stateAfter``.
* ``store-logs/store-events-*.jsonl``, the frontend store's request log:
  ``{type: "query" | "mutation", operation: REQUEST | <OP>_START | <OP>_SUCCESS | <OP>_ERROR,
  entity, data, duration?, ...}``. ``*_START`` becomes a QUERY or MUTATION (operation
  ``<OP>``) sent, ``*_SUCCESS`` its QUERY_RESULT or MUTATION_SUCCESS, ``*_ERROR`` an ERROR
  (``error`` is the failure's first line), ``REQUEST`` a REQUEST frame sent (the store's
  note of the same request, never awaiting a reply of its own). A reply's ``duration`` is
  its latency (see :mod:`busconsole.pairing`). The line's own type and operation stay in
  ``log: {type, operation}``.
* ``store-history-*.jsonl``: ``{timestamp, sequence, event, sessionId, data, snapshot}``
  becomes a frame whose type is the event name, keeping every field of the line; an xstate
  error event (``xstate.error.*``, ``error.*``) is an ERROR, and the entity is the one the
  data names (a store's name, a query's kind).
* anything else is a bus frame as it was on the wire (plain event JSONL); a line without
  ``type`` is a malformed frame, shown rather than dropped.

``t`` is the frame's ``timestamp`` (epoch ms; ISO strings accepted) and ``dir`` follows
the type: requests are ``out`` (towards the server), everything else ``in``.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import PurePath
from typing import Any, NamedTuple

import orjson

from busconsole.frames import IN, OUT, CapturedFrame, Direction
from busconsole.recording.format import from_record, is_header, is_record
from busconsole.wire import REQUEST_TYPES, loads

LOG_CONN = "log"
STORE_REQUEST = "REQUEST"  # a store-log line noting a request whose *_START line is the paired one
STATE_CHANGED = "STATE_CHANGED"
_REQUESTS = frozenset(REQUEST_TYPES)
_FAST_T = re.compile(rb'\{"seq":-?\d+,"t":(-?[0-9.eE+-]+)[,}]|\{"timestamp":(-?[0-9.]+)[,}]')
_RECEIVED = b'"receivedAt"'
_LOG_KINDS = {"query": ("QUERY", "QUERY_RESULT"), "mutation": ("MUTATION", "MUTATION_SUCCESS")}
_LOG_OP = re.compile(r"([A-Z][A-Z0-9_]*?)_(START|SUCCESS|ERROR|FAILED|FAILURE)")
_XSTATE_ERROR = ("xstate.error.", "error.")


class _Line(NamedTuple):
    frame: dict[str, Any]
    conn: str | None  # None: from the line's session, if it names one
    dir: Direction | None  # None: from the frame type


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


def _epoch(value: Any) -> Any:
    """``value`` as epoch ms for a frame's ``timestamp`` (an int when whole); as it is if unreadable."""
    t = timestamp_ms(value)
    if t is None:
        return value
    return int(t) if t.is_integer() else t


def direction_of(kind: Any) -> Direction:
    return OUT if isinstance(kind, str) and kind.upper() in _REQUESTS else IN


@lru_cache(maxsize=256)
def folder_entity(source: str | None) -> str | None:
    """The entity an ``<entity>/history.jsonl`` file is named by: its folder."""
    if not source:
        return None
    path = PurePath(source)
    if not path.name.startswith("history.") or not path.parent.name:
        return None
    return path.parent.name


def _kind(query: Any) -> str | None:
    if isinstance(query, dict) and isinstance(query.get("kind"), str):
        return str(query["kind"])
    return None


def _state_entity(obj: dict[str, Any]) -> str | None:
    """The entity a history line's data names: its query's kind, before or after."""
    found = _kind(obj.get("query"))
    for key in ("stateAfter", "stateBefore"):
        state = obj.get(key)
        if found is None and isinstance(state, dict):
            found = _kind(state.get("query"))
    return found


def _history_line(obj: dict[str, Any], source: str | None) -> _Line:
    """An ``<entity>/history.jsonl`` line: its folder's entity, one connection per entity."""
    entity = folder_entity(source) or _state_entity(obj)
    kind = obj.get("type")
    frame: dict[str, Any] = {"type": kind if isinstance(kind, str) else STATE_CHANGED}
    if entity is not None and obj.get("entity") is None:
        frame["entity"] = entity
    frame.update((k, v) for k, v in obj.items() if k != "type")
    return _Line(frame, entity or LOG_CONN, None)


def _first_line(text: Any) -> str | None:
    if isinstance(text, str) and text.strip():
        return text.strip().splitlines()[0]
    return None


def _failure(data: Any) -> Any:
    """What an error log line says went wrong, as one short text when it can."""
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str):
                return data[key]
        return _first_line(data.get("stackTrace")) or data.get("exception") or data
    return data


def _store_log_line(obj: dict[str, Any], kind: str, op: str) -> _Line:
    """A line of the frontend store's request log (``store-logs/store-events-*.jsonl``)."""
    request, reply = _LOG_KINDS[kind]
    m = _LOG_OP.fullmatch(op)
    bus_op: str | None = None
    direction: Direction = IN
    if m is None:  # REQUEST
        bus_type, direction = STORE_REQUEST, OUT
    elif m.group(2) == "START":
        bus_type, direction = request, OUT
    elif m.group(2) == "SUCCESS":
        bus_type = reply
    else:
        bus_type = "ERROR"
    if m is not None and kind == "mutation":
        bus_op = m.group(1)
    frame: dict[str, Any] = {"type": bus_type}
    if bus_op is not None:
        frame["operation"] = bus_op
    frame.update((k, v) for k, v in obj.items() if k not in ("type", "operation"))
    if bus_type == "ERROR" and "error" not in frame:
        frame["error"] = _failure(obj.get("data"))
    frame.setdefault("log", {"type": kind, "operation": op})
    return _Line(frame, None, direction)


def _named_entity(data: Any) -> str | None:
    """The entity a state-machine history event's data names, if it names one."""
    if not isinstance(data, dict):
        return None
    for key in ("entity", "storeName", "entityName"):
        if isinstance(data.get(key), str):
            return str(data[key])
    event = data.get("event")
    return _kind(event.get("query") if isinstance(event, dict) else None) or _kind(data.get("query"))


def _machine_line(obj: dict[str, Any]) -> _Line:
    """A ``store-history-*.jsonl`` line (it has no ``type``): the event is the type, xstate
    errors are ERRORs (``error`` from the snapshot), the entity is the one the data names."""
    event = str(obj["event"])
    failed = event.startswith(_XSTATE_ERROR)
    frame: dict[str, Any] = {"type": "ERROR" if failed else event}
    entity = _named_entity(obj.get("data"))
    if entity is not None and obj.get("entity") is None:
        frame["entity"] = entity
    if failed and "error" not in obj:
        snapshot = obj.get("snapshot")
        said = snapshot.get("error") if isinstance(snapshot, dict) else None
        frame["error"] = said if isinstance(said, str) and said else event
    frame.update(obj)
    return _Line(frame, None, None)


def _console_line(obj: dict[str, Any]) -> _Line:
    """One console message a line: received by the server at ``receivedAt``, when it says."""
    at = obj.get("receivedAt")
    return _Line(
        {"type": "CONSOLE_LOGS", "messages": [obj], "timestamp": _epoch(at) if at is not None else obj.get("timestamp")},
        None, None,
    )


def _read(obj: dict[str, Any], source: str | None = None) -> _Line | None:
    """What a non-recording line stands for (see the module docstring); None: a bus frame as it is."""
    kind = obj.get("type")
    messages = obj.get("messages")
    if obj.get("operation") == "CONSOLE_LOGS" and isinstance(messages, list) and kind != "CONSOLE_LOGS":
        frame: dict[str, Any] = {"type": "CONSOLE_LOGS", "messages": messages}
        for key in ("timestamp", "metadata"):
            if key in obj:
                frame[key] = obj[key]
        if obj.get("receivedAt") is not None:
            frame["timestamp"] = _epoch(obj["receivedAt"])
        return _Line(frame, None, None)
    if kind is None:
        if "level" in obj and "message" in obj:
            return _console_line(obj)
        event = obj.get("event")
        if isinstance(event, str) and "sequence" in obj:
            return _machine_line(obj)
        if event == "state_changed" and ("stateAfter" in obj or "stateBefore" in obj):
            return _history_line(obj, source)
        return None
    if isinstance(kind, str) and ("stateBefore" in obj or "stateAfter" in obj) and "payload" not in obj:
        return _history_line(obj, source)
    op = obj.get("operation")
    if isinstance(kind, str) and kind in _LOG_KINDS and isinstance(op, str) and (op == STORE_REQUEST or _LOG_OP.fullmatch(op)):
        return _store_log_line(obj, kind, op)
    return None


def _as_frame(obj: dict[str, Any]) -> dict[str, Any]:
    """The bus frame a non-recording line stands for."""
    read = _read(obj)
    return obj if read is None else read.frame


def _conn_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    sid = meta.get("sessionId") if isinstance(meta, dict) else obj.get("sessionId")
    return sid if isinstance(sid, str) and sid and sid != "unknown" else LOG_CONN


def line_frame(line: bytes, obj: dict[str, Any], seq: int, source: str | None = None) -> CapturedFrame:
    """The captured frame of a parsed non-header line. ``seq`` numbers non-recording lines;
    ``source`` is the file's name as given (it names the entity of a ``history.jsonl``)."""
    if is_record(obj):
        return from_record(obj)
    read = _read(obj, source)
    frame_obj = obj if read is None else read.frame
    t = timestamp_ms(frame_obj.get("timestamp"))
    raw = line if frame_obj is obj else orjson.dumps(frame_obj)
    conn = read.conn if read is not None and read.conn is not None else _conn_of(obj)
    direction = read.dir if read is not None and read.dir is not None else direction_of(frame_obj.get("type"))
    cap = CapturedFrame(seq, t if t is not None else 0.0, direction, conn, raw)
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
    m = _FAST_T.match(line) if _RECEIVED not in line else None
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
