"""What a bus frame is on the wire, without pydantic: the type names, request ids, and the
lenient decode that tells a JSON object from a :class:`Malformed` frame.

Kept apart from :mod:`busconsole.protocol` (the pydantic models and strict builders)
because reading a recording or a socket needs only this, and building the models
takes a fifth of a second at import: ``replay --print`` and ``tail`` start without it.
"""

from __future__ import annotations

import json
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


def decode(raw: bytes | str, binary: bool = False) -> dict[str, Any] | Malformed:
    """The JSON object in ``raw``, or why there is none. Never raises."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if binary:
        return Malformed("binary frame", data)
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return Malformed("invalid UTF-8", data)
        try:  # the stdlib also reads numbers orjson refuses (1e400); frames are never lost for that
            obj = json.loads(text)
        except (ValueError, RecursionError):
            return Malformed(f"not JSON: {exc}", data)
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
