"""Strict building of what busconsole sends on the bus (and the Stellar query checks).

Reading what is on the wire is :func:`busconsole.wire.decode`'s alone: a frame is a JSON
object with a string ``type``, whatever else it holds, so there is one verdict on what is
malformed. Building is strict: a request we send must be right, and a mistake raises a
pydantic ``ValidationError`` that names the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

from busconsole.wire import (
    REQUEST_TYPES,
    new_request_id,
    now_ms,
)

# --------------------------------------------------------------------------- models


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: NonNegativeInt | None = None
    offset: NonNegativeInt | None = None


class Sort(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    order: Literal["ASC", "DESC"] = "ASC"


class StellarQuery(BaseModel):
    """The framework's query language: what a QUERY asks of one entity kind."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1)
    criteria: dict[str, Any] | None = None
    page: Page | None = None
    include: list[StellarQuery] | None = None
    sort: Sort | None = None


class ConsoleMessage(_Lenient):
    timestamp: float | None = None
    isoTimestamp: str | None = None
    level: str = "log"
    message: str = ""
    args: list[Any] = Field(default_factory=list)
    source: str | None = None
    sessionId: str | None = None
    stackTrace: str | None = None


# --------------------------------------------------------------------------- building


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: str = Field(min_length=1)


class _MutationArgs(_Envelope):
    operation: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_id(self) -> _MutationArgs:
        self.operation = self.operation.upper()
        if self.operation in ("UPDATE", "DELETE") and self.payload.get("id") is None:
            raise ValueError(f"payload.id is required for {self.operation}")
        return self


class _ConsoleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[ConsoleMessage] = Field(min_length=1)


def _stamp(frame: dict[str, Any], request_id: str | None, with_id: bool = True) -> dict[str, Any]:
    ts = now_ms()
    frame["timestamp"] = ts
    if with_id:
        frame["requestId"] = request_id or new_request_id(ts)
    return frame


def build_query(
    entity: str, query: StellarQuery | dict[str, Any] | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """A QUERY as real frontends send it: the Stellar query in both ``query`` and ``payload``."""
    env = _Envelope(entity=entity)
    stellar = query if isinstance(query, StellarQuery) else StellarQuery.model_validate(
        query if query is not None else {"kind": entity}
    )
    body = stellar.model_dump(exclude_none=True)
    return _stamp({"type": "QUERY", "entity": env.entity, "query": body, "payload": body}, request_id)


def build_mutation(
    entity: str, operation: str, payload: dict[str, Any] | None = None, request_id: str | None = None
) -> dict[str, Any]:
    args = _MutationArgs(entity=entity, operation=operation, payload=payload or {})
    frame = {"type": "MUTATION", "entity": args.entity, "operation": args.operation, "payload": args.payload}
    return _stamp(frame, request_id)


def build_subscribe(entity: str) -> dict[str, Any]:
    return _stamp({"type": "SUBSCRIBE", "entity": _Envelope(entity=entity).entity}, None, with_id=False)


def build_unsubscribe(entity: str) -> dict[str, Any]:
    return _stamp({"type": "UNSUBSCRIBE", "entity": _Envelope(entity=entity).entity}, None, with_id=False)


def build_console_logs(messages: list[dict[str, Any]] | list[ConsoleMessage]) -> dict[str, Any]:
    args = _ConsoleArgs.model_validate({"messages": messages})
    msgs = [m.model_dump(exclude_none=True) for m in args.messages]
    return _stamp({"type": "CONSOLE_LOGS", "messages": msgs}, None, with_id=False)


def build(kind: str, entity: str | None = None, **kw: Any) -> dict[str, Any]:
    """Dispatch by type name (case-insensitive), for the CLI and the composer."""
    k = kind.upper()
    if k == "QUERY":
        return build_query(entity or "", kw.get("payload"), kw.get("request_id"))
    if k == "MUTATION":
        return build_mutation(entity or "", kw.get("operation") or "", kw.get("payload"), kw.get("request_id"))
    if k == "SUBSCRIBE":
        return build_subscribe(entity or "")
    if k == "UNSUBSCRIBE":
        return build_unsubscribe(entity or "")
    if k == "CONSOLE_LOGS":
        return build_console_logs(kw.get("payload") or [])
    raise ValueError(f"type: cannot build {kind!r}; expected one of {', '.join(REQUEST_TYPES)}")
