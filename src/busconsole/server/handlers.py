"""What the reference server answers to each frame, without any socket.

``Bus.handle`` takes one raw frame and returns the replies for its sender and the
broadcasts for subscribers. Every failure becomes an ERROR reply: the framework's
own server dies on ``null`` or ``{"type": 123}``, and a test server for a debugger
must survive exactly those frames.

The known entity set is the store's kinds (``seed.KINDS``), seeded or not: QUERY and
MUTATION (CREATE included) of any other kind get ERROR, so a typo is reported rather
than silently creating a new kind. SUBSCRIBE accepts any name (see ``_subscribe``).

A QUERY is checked against :data:`stellar.LIMITS` before it runs and becomes its entity's
refresh query only once it has succeeded: a query that fails must never be re-run for
every later SUBSCRIBE and STORE_UPDATE. :meth:`Bus.updates` turns a refresh that fails
anyway into an ERROR for that entity's subscribers alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from busconsole.server import logs
from busconsole.server.db import EntityStore, MutationError
from busconsole.server.queries import MAX_ENTITIES, RefreshQueries
from busconsole.server.stellar import (
    StellarError,
    check_limits,
    child_key,
    foreign_key,
    includes_of,
    select,
)
from busconsole.wire import Malformed, decode, now_ms

Frame = dict[str, Any]
ORCHESTRIX = "orchestrix"


class BusError(Exception):
    """A request the server refuses; becomes an ERROR frame carrying the request's id."""


@dataclass
class Outcome:
    """Frames for the sender, and the entities (lowercase) whose subscribers get a STORE_UPDATE."""

    replies: list[Frame] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    change: tuple[str, int, Frame | None] | None = None  # a mutation's row (kind, id, row; None: deleted)


def stamp(frame: Frame) -> Frame:
    frame["timestamp"] = now_ms()
    return frame


def error(message: str, request_id: Any = None) -> Frame:
    frame: Frame = {"type": "ERROR", "error": message}
    if isinstance(request_id, str):
        frame["requestId"] = request_id
    return stamp(frame)


class Bus:
    """The store-server's protocol over an :class:`EntityStore`, plus the per-entity store states."""

    def __init__(
        self,
        store: EntityStore,
        compat: str | None = None,
        log_dir: Path | None = None,
        max_entities: int = MAX_ENTITIES,
    ) -> None:
        if compat not in (None, ORCHESTRIX):
            raise ValueError(f"compat must be {ORCHESTRIX!r} or None, got {compat!r}")
        self.store = store
        self.compat = compat
        self.log_dir = log_dir
        # entity (lowercase) -> the last query run for it: what STORE_UPDATE re-evaluates.
        self.queries = RefreshQueries(max_entities)
        self._handlers: dict[str, Callable[[Frame, set[str]], Outcome]] = {
            "QUERY": self._query,
            "MUTATION": self._mutation,
            "SUBSCRIBE": self._subscribe,
            "UNSUBSCRIBE": self._unsubscribe,
            "CONSOLE_LOGS": self._console_logs,
        }

    def handle(self, raw: bytes | str, subscriptions: set[str]) -> Outcome:
        """Answer one frame; ``subscriptions`` is the sender's set, updated in place."""
        if isinstance(raw, bytes):
            return Outcome([error("binary frames are not supported; send JSON text")])
        obj = decode(raw)
        if isinstance(obj, Malformed):
            return Outcome([error(f"malformed frame: {obj.reason}", _request_id_of(raw))])
        request_id = obj.get("requestId")
        handler = self._handlers.get(obj["type"].upper())
        if handler is None:
            return Outcome([error(f"unknown type {obj['type']!r}", request_id)])
        try:
            return handler(obj, subscriptions)
        except (BusError, StellarError, MutationError) as exc:
            return Outcome([error(str(exc), request_id)])

    # ------------------------------------------------------------------ state

    def state(self, entity: str, query: dict[str, Any] | None = None) -> Frame:
        """The store state ``{entity, query, data, meta}`` of ``entity`` under ``query``
        (default: its last query, else every row of the kind)."""
        q = query or self.queries.get(entity) or {"kind": entity}
        kind = str(q.get("kind") or entity)
        if not self.store.known(kind):
            return {"entity": entity, "query": query, "data": [], "meta": _meta(0, None, 0, 0)}
        rows, total, window = select(self.store.rows(kind), q)
        rows = self._attach(kind, rows, includes_of(q))
        return {
            "entity": entity,
            "query": q,
            "data": rows,
            "meta": _meta(total, window.limit, window.offset, len(rows)),
        }

    def _check_kinds(self, query: dict[str, Any]) -> None:
        """Refuse a query naming an unknown kind anywhere, even where no row would reach it."""
        kind = query.get("kind")
        if not isinstance(kind, str) or not self.store.known(kind):
            raise self._unknown(kind)
        for child in includes_of(query):
            self._check_kinds(child)

    def _unknown(self, kind: Any) -> BusError:
        return BusError(f"unknown entity {kind!r}; known: {', '.join(sorted(self.store.kinds))}")

    def _attach(self, kind: str, rows: list[Frame], include: list[dict[str, Any]]) -> list[Frame]:
        """Copies of ``rows`` holding their included children (by ``<kind>Id``), level by level
        so each child kind is grouped once, not scanned once per parent."""
        if not include:
            return rows
        out = [dict(row) for row in rows]
        for child in include:
            ckind = str(child["kind"])
            by_parent: dict[Any, list[Frame]] = defaultdict(list)
            for row in self.store.rows(ckind):
                by_parent[foreign_key(row, kind)].append(row)
            pages = [select(by_parent.get(parent.get("id"), []), child)[0] for parent in out]
            nested = iter(self._attach(ckind, [r for page in pages for r in page], includes_of(child)))
            for parent, page in zip(out, pages, strict=True):
                parent[child_key(ckind)] = [next(nested) for _ in page]
        return out

    def store_update(self, entity: str) -> Frame:
        """The STORE_UPDATE broadcast for ``entity``; built only when someone subscribes to it."""
        return stamp({"type": "STORE_UPDATE", "entity": entity, "data": self.state(entity)})

    def updates(self, entities: list[str]) -> list[tuple[str, Frame]]:
        """The STORE_UPDATE for each of ``entities``, or an ERROR naming the entity when its
        refresh fails: that failure is for its subscribers, not for whoever caused it."""
        out: list[tuple[str, Frame]] = []
        for entity in entities:
            try:
                out.append((entity, self.store_update(entity)))
            except (BusError, StellarError, MutationError) as exc:
                out.append((entity, {**error(f"STORE_UPDATE of {entity!r} failed: {exc}"), "entity": entity}))
        return out

    def readers_of(self, kind: str) -> list[str]:
        """The kind itself and every store whose last query reads it: what a mutation changes."""
        return sorted({kind.lower()} | self.queries.readers(kind))

    # ------------------------------------------------------------------ requests

    def _query(self, frame: Frame, subs: set[str]) -> Outcome:
        entity = _entity(frame, required=False)
        query = frame.get("payload") if frame.get("payload") is not None else frame.get("query")
        if query is None:
            query = {}
        if not isinstance(query, dict):
            raise BusError("query must be a Stellar query object {kind, criteria, page, include, sort}")
        kind = query.get("kind") or entity
        if not isinstance(kind, str) or not kind:
            raise BusError("QUERY needs an entity or a query kind")
        entity = entity or kind
        query = {**query, "kind": kind}
        check_limits(query)
        self._check_kinds(query)
        state = self.state(entity, query)
        self.queries.put(entity, query)
        reply: Frame = {"type": "QUERY_RESULT", "entity": entity, "data": state}
        if isinstance(frame.get("requestId"), str):
            reply["requestId"] = frame["requestId"]
        return Outcome([stamp(reply)], [entity.lower()])

    def _mutation(self, frame: Frame, subs: set[str]) -> Outcome:
        entity = _entity(frame)
        if not self.store.known(entity):
            raise self._unknown(entity)
        operation = frame.get("operation")
        if not isinstance(operation, str):
            raise BusError("MUTATION needs an operation: CREATE, UPDATE or DELETE")
        op = operation.upper()
        payload = frame.get("payload") if frame.get("payload") is not None else {}
        if not isinstance(payload, dict):
            raise BusError("MUTATION payload must be an object")
        apply = {"CREATE": self.store.create, "UPDATE": self.store.update, "DELETE": self.store.delete}.get(op)
        if apply is None:
            raise BusError(f"unsupported operation {operation!r}; expected CREATE, UPDATE or DELETE")
        row = apply(entity, payload)
        reply: Frame = {"type": "MUTATION_SUCCESS", "entity": entity, "operation": op, "data": row}
        if self.compat != ORCHESTRIX and isinstance(frame.get("requestId"), str):
            reply["requestId"] = frame["requestId"]
        return Outcome([stamp(reply)], self.readers_of(entity), (entity.lower(), row["id"], None if op == "DELETE" else row))

    def _subscribe(self, frame: Frame, subs: set[str]) -> Outcome:
        # Any entity may be subscribed to: frontends name stores ("infrastructure") that are
        # not kinds; such a store is filled by QUERYs sent with that entity name.
        entity = _entity(frame)
        subs.add(entity.lower())
        return Outcome([stamp({"type": "SUBSCRIPTION_DATA", "entity": entity, "data": self.state(entity)})])

    def _unsubscribe(self, frame: Frame, subs: set[str]) -> Outcome:
        subs.discard(_entity(frame).lower())
        return Outcome()

    def _console_logs(self, frame: Frame, subs: set[str]) -> Outcome:
        messages = frame.get("messages")
        if not isinstance(messages, list):
            raise BusError("CONSOLE_LOGS needs messages: a list of console messages")
        metadata = frame.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        if self.log_dir is not None and messages:
            try:
                logs.append(self.log_dir, [logs.normalise(m, metadata) for m in messages])
            except OSError as exc:
                raise BusError(f"console logs not saved: {exc.strerror or exc}") from exc
        return Outcome([stamp({"type": "CONSOLE_LOGS_ACK", "received": len(messages)})])


def _entity(frame: Frame, required: bool = True) -> str:
    entity = frame.get("entity")
    if isinstance(entity, str) and entity:
        return entity
    if entity is None and not required:
        return ""
    raise BusError(f"{frame['type'].upper()} needs an entity (a non-empty string)")


def _meta(total: int, limit: int | None, offset: int, count: int) -> dict[str, Any]:
    return {"total": total, "limit": limit, "offset": offset, "count": count, "timestamp": now_ms()}


def _request_id_of(raw: str) -> str | None:
    """A malformed frame may still be an object with a requestId (``{"type": 123, "requestId": …}``)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    rid = obj.get("requestId") if isinstance(obj, dict) else None
    return rid if isinstance(rid, str) else None
