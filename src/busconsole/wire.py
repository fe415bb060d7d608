"""What a bus frame is on the wire, without pydantic: the type names, request ids, and the
lenient decode that tells a JSON object from a :class:`Malformed` frame.

Kept apart from :mod:`busconsole.protocol` (the pydantic models and strict builders)
because reading a recording or a socket needs only this, and building the models
takes a fifth of a second at import: ``replay --print`` and ``tail`` start without it.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

REQUEST_TYPES = ("QUERY", "MUTATION", "SUBSCRIBE", "UNSUBSCRIBE", "CONSOLE_LOGS")
RESPONSE_TYPES = (
    "CONNECTION",
    "QUERY_RESULT",
    "MUTATION_SUCCESS",
    "SUBSCRIPTION_DATA",
    "STORE_UPDATE",
    "CONSOLE_LOGS_ACK",
    "ERROR",
)
KNOWN_TYPES = REQUEST_TYPES + RESPONSE_TYPES

# The one request -> reply table: the client's correlation, pairing and the filter keys read it.
# ERROR answers any request; UNSUBSCRIBE gets no reply.
REPLIES: dict[str, frozenset[str]] = {
    "QUERY": frozenset({"QUERY_RESULT"}),
    "MUTATION": frozenset({"MUTATION_SUCCESS"}),
    "SUBSCRIBE": frozenset({"SUBSCRIPTION_DATA"}),
    "CONSOLE_LOGS": frozenset({"CONSOLE_LOGS_ACK"}),
}
REPLY_TYPES: tuple[str, ...] = (*sorted({r for rs in REPLIES.values() for r in rs}), "ERROR")
# The requests whose replies are paired for latency, pending and failures (the others are
# answered at once or carry state rather than an answer).
PAIRED_REQUESTS = ("QUERY", "MUTATION")
MUTATION_OPERATIONS = ("CREATE", "UPDATE", "DELETE")
CONSOLE_LEVELS = ("log", "info", "warn", "error", "debug")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_request_id(at_ms: int | None = None) -> str:
    """``req_<epoch ms>_<random>``, the shape the framework's frontends use."""
    return f"req_{at_ms if at_ms is not None else now_ms()}_{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Malformed:
    """A frame that is not a valid bus frame, and why. It is still shown and recorded."""

    reason: str
    raw: bytes

    type = "MALFORMED"
    entity = None
    requestId = None


MAX_DEPTH = 1024  # nesting orjson reads; deeper frames are malformed, whoever decodes them
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"

# A JSON escape that JavaScript writes for half an emoji (``"\\ud83d"``): valid JSON text, but no
# string of Unicode. ``\\\\`` is matched first so an escaped backslash is never taken for one.
_ESCAPE = re.compile(rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_to_replacement(match: re.Match[bytes]) -> bytes:
    text = match.group()
    return text if len(text) in (2, 12) else b"\\ufffd"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _orjson(data: bytes) -> tuple[bool, Any]:
    """(True, the value) or (False, orjson's error); too deep is final, whoever reads it."""
    try:
        return True, orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc):
            raise ValueError(TOO_DEEP) from None
        return False, exc


def loads(data: bytes) -> Any:
    """The JSON value in ``data``, read the same way by every path (capture, store, writer,
    reader), so a frame means the same live and replayed. Raises ValueError with the reason.

    Beyond orjson: lone surrogate escapes read as U+FFFD (the bytes stay as they were; only
    the decoded view changes, so it can be encoded and shown), and numbers out of orjson's
    range (``1e400``, 2**64) are read by the stdlib. Nesting is bounded at :data:`MAX_DEPTH`.
    """
    ok, value = _orjson(data)
    if ok:
        return value
    fixed = _ESCAPE.sub(_lone_to_replacement, data) if b"\\u" in data else data
    if fixed != data:
        ok, value = _orjson(fixed)
        if ok:
            return value
    first = value
    try:
        text = fixed.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("invalid UTF-8") from None
    try:  # numbers orjson refuses; NaN and Infinity are not JSON, so they stay refused
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    except ValueError:
        raise ValueError(f"not JSON: {first}") from None


def decode(raw: bytes | str, binary: bool = False) -> dict[str, Any] | Malformed:
    """The JSON object in ``raw``, or why there is none. Never raises."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if binary:
        return Malformed("binary frame", data)
    try:
        obj = loads(data)
    except ValueError as exc:
        return Malformed(str(exc), data)
    if not isinstance(obj, dict):
        return Malformed(f"not a JSON object but {_json_kind(obj)}", data)
    kind = obj.get("type")
    if kind is None:
        return Malformed("missing 'type'", data)
    if not isinstance(kind, str):
        return Malformed(f"'type' is {_json_kind(kind)}, not a string", data)
    return obj


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
