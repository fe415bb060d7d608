"""Composing frames to send: validation as you type, building, edit-and-resend, send safety.

The composer (TUI) and ``busconsole send`` (headless) share this module, so a frame
refused or built in one is refused or built the same way in the other. Frames are
built with the strict builders of :mod:`busconsole.protocol`, so what validates here
is exactly what goes on the wire. Nothing here knows Textual or sockets.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from busconsole.compose.json_text import locate, parse_json
from busconsole.compose.placeholders import expand_placeholders, unknown_placeholders
from busconsole.compose.templates import Templates
from busconsole.protocol import (
    StellarQuery,
    build_mutation,
    build_query,
    build_subscribe,
    build_unsubscribe,
)
from busconsole.wire import MUTATION_OPERATIONS, REQUEST_TYPES, new_request_id, now_ms

__all__ = [
    "COMPOSE_TYPES",
    "ComposeError",
    "Confirmation",
    "Draft",
    "Issue",
    "Refusal",
    "SendPolicy",
    "Validation",
    "build_frame",
    "check_send",
    "draft_from_frame",
    "expand_placeholders",
    "fresh_copy",
    "query_with_kind",
    "resolve_template",
    "validate",
]

COMPOSE_TYPES = ("QUERY", "MUTATION", "SUBSCRIBE", "UNSUBSCRIBE", "RAW")
DEFAULT_CONFIRM_BYTES = 256 * 1024
_STELLAR_FIELDS = ", ".join(StellarQuery.model_fields)


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with a draft; ``line``/``column`` (1-based) point into the payload text."""

    message: str
    line: int | None = None
    column: int | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        return where + self.message


@dataclass(frozen=True, slots=True)
class Validation:
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    payload: Any = None  # the parsed payload text, placeholders not yet expanded

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def reason(self) -> str:
        """Why the draft cannot be sent: the first error, which is what to fix first."""
        return str(self.errors[0]) if self.errors else ""


class ComposeError(ValueError):
    """A draft that cannot be built; carries the :class:`Validation` that says why."""

    def __init__(self, validation: Validation) -> None:
        super().__init__(validation.reason)
        self.validation = validation


def _pydantic_issues(exc: ValidationError, text: str) -> list[Issue]:
    """Readable issues with the field path and, when the text has it, the line and column."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field (a Stellar query has {_STELLAR_FIELDS})"
        elif err["type"] == "missing":
            msg = "required"
        path = ".".join(str(p) for p in ("payload", *loc))
        line, col = locate(text, loc) or (None, None)
        out.append(Issue(f"{path}: {msg}" if loc else msg, line, col))
    return out


def _shape_error(what: str, value: Any) -> Issue:
    if isinstance(value, bool):
        found = "a boolean"
    else:
        found = {list: "an array", str: "a string", int: "a number", float: "a number"}.get(type(value), "null")
    return Issue(f"payload: {what} must be a JSON object, not {found}", 1, 1)


def query_with_kind(entity: str, query: Any) -> Any:
    """A QUERY's Stellar query with ``kind`` defaulting to the frame's entity.

    ``{"criteria": {...}}`` is the README's own example: the kind is the entity the QUERY
    names, so neither the composer nor ``busconsole send`` asks for it twice. A ``kind``
    that is typed wins; anything but an object is left for the shape check.
    """
    if isinstance(query, dict) and entity and "kind" not in query:
        return {"kind": entity, **query}
    return query


def validate(kind: str, entity: str, operation: str, payload_text: str) -> Validation:
    """Check a draft as the composer holds it; cheap enough to run on every keystroke.

    ``RAW`` takes the whole frame from ``payload_text`` and ignores entity and operation.
    """
    k = kind.strip().upper()
    value, syntax = parse_json(payload_text)
    if syntax is not None:
        return Validation((Issue(f"invalid JSON: {syntax.message}", syntax.line, syntax.column),))
    errors: list[Issue] = []
    warnings = [
        Issue(f"unknown placeholder {{{{{name}}}}} is sent as typed", severity="warning")
        for name in unknown_placeholders(value)
    ]
    # Placeholders are checked as what they become: "{{now}}" is a number on the wire.
    checked = expand_placeholders(value, at_ms=0)
    entity = entity.strip()
    if k not in COMPOSE_TYPES:
        errors.append(Issue(f"type: {kind!r} is not one of {', '.join(COMPOSE_TYPES)}"))
    elif k == "RAW":
        errors += _check_raw(checked, payload_text, warnings)
    elif not entity:
        errors.append(Issue("entity: required"))
    if k == "QUERY" and checked is not None:
        if not isinstance(checked, dict):
            errors.append(_shape_error("Stellar query", checked))
        else:
            try:
                StellarQuery.model_validate(query_with_kind(entity, checked))
            except ValidationError as exc:
                errors += _pydantic_issues(exc, payload_text)
    elif k == "MUTATION":
        errors += _check_mutation(entity, operation, checked, payload_text, warnings)
    elif k in ("SUBSCRIBE", "UNSUBSCRIBE") and value is not None:
        warnings.append(Issue(f"payload is not sent with {k}", severity="warning"))
    return Validation(tuple(errors), tuple(warnings), value)


def _check_mutation(entity: str, operation: str, payload: Any, text: str, warnings: list[Issue]) -> list[Issue]:
    op = operation.strip().upper()
    if not op:
        return [Issue("operation: required (CREATE, UPDATE, DELETE)")]
    if op not in MUTATION_OPERATIONS:
        warnings.append(
            Issue(f"operation {op} is not one of {', '.join(MUTATION_OPERATIONS)}; the server may refuse it",
                  severity="warning")
        )
    if payload is not None and not isinstance(payload, dict):
        return [_shape_error("mutation payload", payload)]
    try:
        build_mutation(entity or "-", op, payload)
    except ValidationError as exc:
        return _pydantic_issues(exc, text)
    return []


def _check_raw(frame: Any, text: str, warnings: list[Issue]) -> list[Issue]:
    if frame is None:
        return [Issue("payload: a RAW frame is the whole JSON object, e.g. {\"type\": \"QUERY\", …}")]
    if not isinstance(frame, dict):
        return [_shape_error("RAW frame", frame)]
    kind = frame.get("type")
    if not isinstance(kind, str) or not kind:
        line, col = locate(text, ("type",)) or (None, None)
        return [Issue("type: a RAW frame needs a string 'type'", line, col)]
    if kind.upper() not in REQUEST_TYPES:
        warnings.append(Issue(f"type {kind} is not a request type the server knows", severity="warning"))
    return []


# --------------------------------------------------------------------------- building


def build_frame(
    kind: str,
    entity: str,
    operation: str,
    payload_text: str,
    *,
    request_id: str | None = None,
    extra: dict[str, Any] | None = None,
    at_ms: int | None = None,
) -> dict[str, Any]:
    """The frame to send for a draft, placeholders expanded, fresh timestamp (and requestId
    unless ``request_id`` is given). Raises :class:`ComposeError` when the draft is invalid.

    ``extra`` holds keys the composer does not edit (``metadata`` of a resent frame); they
    are kept but never override what the builders set.
    """
    checked = validate(kind, entity, operation, payload_text)
    if not checked.ok:
        raise ComposeError(checked)
    payload = expand_placeholders(checked.payload, at_ms)
    k = kind.strip().upper()
    entity = entity.strip()
    if k == "QUERY":
        frame = build_query(entity, query_with_kind(entity, payload), request_id)
    elif k == "MUTATION":
        frame = build_mutation(entity, operation.strip(), payload, request_id)
    elif k == "SUBSCRIBE":
        frame = build_subscribe(entity)
    elif k == "UNSUBSCRIBE":
        frame = build_unsubscribe(entity)
    else:  # RAW goes out as typed: the point of raw mode is to send what the builders would not
        frame = payload
    for key, value in (extra or {}).items():
        frame.setdefault(key, value)
    return frame


def fresh_copy(frame: dict[str, Any]) -> dict[str, Any]:
    """``frame`` ready to send again: new timestamp and requestId, every other key kept.

    A requestId is added to QUERY and MUTATION even when the original had none (frames
    from old recordings), so the reply can be paired.
    """
    out = copy.deepcopy(frame)
    ts = now_ms()
    if "timestamp" in out or isinstance(out.get("type"), str):
        out["timestamp"] = ts
    if "requestId" in out or str(out.get("type", "")).upper() in ("QUERY", "MUTATION"):
        out["requestId"] = new_request_id(ts)
    return out


@dataclass(slots=True)
class Draft:
    """What the composer's fields hold."""

    kind: str = "QUERY"
    entity: str = ""
    operation: str = ""
    payload_text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None

    def build(self) -> dict[str, Any]:
        return build_frame(self.kind, self.entity, self.operation, self.payload_text,
                           request_id=self.request_id, extra=self.extra)


_MANAGED = {
    "QUERY": {"type", "entity", "requestId", "timestamp", "payload", "query"},
    "MUTATION": {"type", "entity", "requestId", "timestamp", "payload", "operation"},
    "SUBSCRIBE": {"type", "entity", "timestamp", "requestId"},
    "UNSUBSCRIBE": {"type", "entity", "timestamp", "requestId"},
}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def draft_from_frame(frame: dict[str, Any]) -> Draft:
    """A draft for edit-and-resend: the structured form when the frame fits it, else RAW.

    Nothing on the original frame is lost: keys the form does not edit ride along in
    ``extra``; a frame the form cannot represent (a reply, a QUERY whose ``query`` and
    ``payload`` differ) opens in RAW mode with all of its text.
    """
    fresh = fresh_copy(frame)
    k = str(fresh.get("type", "")).upper()
    entity = fresh.get("entity")
    raw = Draft("RAW", payload_text=_pretty(fresh))
    if k not in _MANAGED or not isinstance(entity, str):
        return raw
    body: Any = None
    if k == "QUERY":
        body = fresh.get("payload", fresh.get("query"))
        if "payload" in fresh and "query" in fresh and fresh["payload"] != fresh["query"]:
            return raw
        if body is not None and not isinstance(body, dict):
            return raw
    elif k == "MUTATION":
        body = fresh.get("payload")
        if not isinstance(fresh.get("operation"), str) or (body is not None and not isinstance(body, dict)):
            return raw
    extra = {key: v for key, v in fresh.items() if key not in _MANAGED[k]}
    return Draft(
        kind=k,
        entity=entity,
        operation=str(fresh.get("operation", "")) if k == "MUTATION" else "",
        payload_text=_pretty(body) if body is not None else "",
        extra=extra,
        request_id=fresh.get("requestId"),
    )


# --------------------------------------------------------------------------- safety


@dataclass(frozen=True, slots=True)
class Refusal:
    """The frame must not be sent at all."""

    reason: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The frame may be sent once a person (or ``--yes``) agrees; ``reasons`` say why to pause."""

    reasons: tuple[str, ...]

    @property
    def prompt(self) -> str:
        return "; ".join(self.reasons) + ". Send anyway?"


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """Send safety, from ``--read-only`` / the profile's read-only flag and a size threshold."""

    read_only: bool = False
    confirm_bytes: int = DEFAULT_CONFIRM_BYTES

    def check(self, frame: dict[str, Any]) -> Refusal | Confirmation | None:
        return check_send(frame, self.read_only, self.confirm_bytes)


def check_send(
    frame: dict[str, Any], read_only: bool = False, max_size: int = DEFAULT_CONFIRM_BYTES
) -> Refusal | Confirmation | None:
    """Refuse a MUTATION when read-only; ask before a DELETE or a frame over ``max_size`` bytes."""
    kind = str(frame.get("type", "")).upper()
    if read_only and kind == "MUTATION":
        return Refusal("read-only: MUTATION frames are not sent (started with --read-only or a read-only profile)")
    reasons = []
    if kind == "MUTATION" and str(frame.get("operation", "")).upper() == "DELETE":
        payload = frame.get("payload")
        target = payload.get("id") if isinstance(payload, dict) else None
        reasons.append(f"DELETE of {frame.get('entity')} id {target}")
    size = len(orjson.dumps(frame))
    if size > max_size:
        reasons.append(f"frame is {size:,} bytes, over the {max_size:,}-byte confirmation size")
    return Confirmation(tuple(reasons)) if reasons else None


# --------------------------------------------------------------------------- headless parity


def resolve_template(name: str, files: Iterable[Path] = (), user_file: Path | None = None) -> dict[str, Any]:
    """The frame template ``name`` sends now (fresh ids, placeholders expanded).

    Raises :class:`~busconsole.compose.templates.TemplateError` for an unknown name or a
    bad file and :class:`ComposeError` for a template whose content is invalid.
    """
    t = Templates(user_file, files).get(name)
    return build_frame(t.type, t.entity, t.operation, t.payload_text)
