"""The store-server bus protocol: lenient parsing of what is on the wire, strict building of what we send.

Parsing never raises: a debugger must show every frame, so anything that is not a
valid frame becomes a :class:`Malformed` value carrying the reason. Unknown fields
are kept (``extra="allow"``) because what was on the wire matters more than our
model of it. Building is strict: a request we send must be right, and a mistake
raises a pydantic ``ValidationError`` that names the field.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, model_validator

from busconsole.wire import (
    REQUEST_TYPES,
    Malformed,
    decode,
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


class Frame(_Lenient):
    """Any well-formed frame; the per-type subclasses only add the fields they name."""

    type: str
    timestamp: float | None = None
    requestId: str | None = None
    entity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class QueryFrame(Frame):
    payload: Any = None
    query: Any = None

    @property
    def stellar(self) -> Any:
        return self.payload if self.payload is not None else self.query


class MutationFrame(Frame):
    operation: str | None = None
    payload: Any = None


class SubscribeFrame(Frame):
    pass


class UnsubscribeFrame(Frame):
    pass


class ConsoleLogsFrame(Frame):
    messages: list[ConsoleMessage] = Field(default_factory=list)


class ConnectionFrame(Frame):
    status: str | None = None


class QueryResultFrame(Frame):
    data: Any = None


class MutationSuccessFrame(Frame):
    operation: str | None = None
    data: Any = None


class SubscriptionDataFrame(Frame):
    data: Any = None


class StoreUpdateFrame(Frame):
    data: Any = None


class ConsoleLogsAckFrame(Frame):
    received: Any = None


class ErrorFrame(Frame):
    error: Any = None


FRAME_MODELS: dict[str, type[Frame]] = {
    "QUERY": QueryFrame,
    "MUTATION": MutationFrame,
    "SUBSCRIBE": SubscribeFrame,
    "UNSUBSCRIBE": UnsubscribeFrame,
    "CONSOLE_LOGS": ConsoleLogsFrame,
    "CONNECTION": ConnectionFrame,
    "QUERY_RESULT": QueryResultFrame,
    "MUTATION_SUCCESS": MutationSuccessFrame,
    "SUBSCRIPTION_DATA": SubscriptionDataFrame,
    "STORE_UPDATE": StoreUpdateFrame,
    "CONSOLE_LOGS_ACK": ConsoleLogsAckFrame,
    "ERROR": ErrorFrame,
}


ParsedFrame = Frame | Malformed

# --------------------------------------------------------------------------- parsing


def parse(raw: bytes | str, binary: bool = False) -> ParsedFrame:
    """Lenient parse of one wire frame: a typed :class:`Frame` or a :class:`Malformed`."""
    obj = decode(raw, binary)
    if isinstance(obj, Malformed):
        return obj
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    return parse_obj(obj, data)


def parse_obj(obj: dict[str, Any], raw: bytes = b"") -> ParsedFrame:
    kind = obj.get("type")
    if not isinstance(kind, str):
        return Malformed("missing 'type'" if kind is None else "'type' is not a string", raw)
    model = FRAME_MODELS.get(kind.upper(), Frame)
    try:
        frame = model.model_validate({**obj, "type": kind.upper()})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "frame"
        return Malformed(f"{kind.upper()}: {where}: {err['msg']}", raw or orjson.dumps(obj))
    except Exception as exc:  # noqa: BLE001 - a debugger must survive any input
        return Malformed(f"unreadable frame: {exc}", raw or b"")
    return frame


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
