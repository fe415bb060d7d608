"""Latest known state per connection, entity and query, and what each update changed.

QUERY_RESULT, SUBSCRIPTION_DATA and STORE_UPDATE carry the whole store state of an
entity (``{entity, query, data: [rows], meta}``); MUTATION_SUCCESS carries one row,
applied to the rows by id (CREATE adds, UPDATE merges, DELETE removes).

A state is kept per :data:`StateKey`: the connection the frame came on, the entity and
the query the state answers. Two clients (the proxy's c1 and c2) or two queries of one
client (ACTIVE partners, all partners) each have their own history, so an update is
compared with the previous state of the same view, never with another connection's
rows. A state that names no query is the subscription's view (SUBSCRIPTION_DATA,
STORE_UPDATE), or for a QUERY_RESULT the view of query answers. A MUTATION_SUCCESS
joins the view of its connection and entity updated last.

Only the current state per entity is kept. Older states are rebuilt on demand from
the frames themselves (back to the nearest whole-state frame, then the mutations
forward), with a small cache, so memory does not grow with the number of updates.

The diff is our own rather than deepdiff's: it keys rows by ``id`` (``$.data[id=7].status``
survives an insert above the row), short-cuts equal subtrees with ``==`` in C, and its
output is the flat change list the views show, with no translation layer.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

WHOLE_STATE_TYPES = ("QUERY_RESULT", "SUBSCRIPTION_DATA", "STORE_UPDATE")
STATE_TYPES = (*WHOLE_STATE_TYPES, "MUTATION_SUCCESS")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CACHE = 64


@dataclass(frozen=True, slots=True)
class Change:
    kind: Literal["added", "removed", "changed"]
    path: str  # JSON path, rows keyed by id: $.data[id=7].status
    old: Any = None
    new: Any = None


@dataclass(frozen=True, slots=True)
class Diff:
    index: int  # the frame that made the update
    entity: str
    previous: int | None  # the frame of the state it is compared with, None for the first
    changes: list[Change]
    # which view changed: the connection, and the query it answers (None: no query named)
    conn: str | None = field(default=None, compare=False)
    query: Any = field(default=None, compare=False)


# (connection, entity, the query as canonical JSON, or RESULT / None when the frame names none)
StateKey = tuple[str | None, str, str | None]
RESULT = "?"  # a QUERY_RESULT that names no query: an answer, not the subscription's view


def query_of(obj: dict[str, Any]) -> Any:
    """The query a whole-state frame answers: the state's own ``query``, else the frame's."""
    data = obj.get("data")
    query = data.get("query") if isinstance(data, dict) else None
    return query if query is not None else obj.get("query")


def _query_key(type_: str, query: Any) -> str | None:
    if query is None:
        return RESULT if type_ == "QUERY_RESULT" else None
    try:
        return orjson.dumps(query, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return repr(query)


# --------------------------------------------------------------------------- diff


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENT.match(key) else f"{path}[{orjson.dumps(key).decode()}]"


def _row_ids(rows: list[Any]) -> list[Any] | None:
    """The ids of a list of rows, when every row is an object with a distinct scalar id."""
    ids = []
    for row in rows:
        if not isinstance(row, dict):
            return None
        rid = row.get("id")
        if rid is None or isinstance(rid, (dict, list)):
            return None
        ids.append(rid)
    return ids if len(set(ids)) == len(ids) else None


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: ``==`` in C first, then the bytes, since ``1 == True`` in Python."""
    if type(a) is not type(b) or a != b:
        return False
    if not isinstance(a, (dict, list)):
        return True
    try:
        return orjson.dumps(a) == orjson.dumps(b)
    except TypeError:  # integers beyond 64 bits
        return True


def _walk(old: Any, new: Any, path: str) -> Iterator[Change]:
    if _same(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            sub = _key_path(path, str(key))
            if key not in new:
                yield Change("removed", sub, value, None)
            else:
                yield from _walk(value, new[key], sub)
        for key, value in new.items():
            if key not in old:
                yield Change("added", _key_path(path, str(key)), None, value)
    elif isinstance(old, list) and isinstance(new, list):
        yield from _walk_list(old, new, path)
    else:
        yield Change("changed", path, old, new)


def _walk_list(old: list[Any], new: list[Any], path: str) -> Iterator[Change]:
    old_ids, new_ids = _row_ids(old), _row_ids(new)
    if old_ids is not None and new_ids is not None and (old or new):
        before = dict(zip(old_ids, old, strict=True))
        after = dict(zip(new_ids, new, strict=True))
        for rid, row in before.items():
            sub = f"{path}[id={orjson.dumps(rid).decode()}]"
            if rid in after:
                yield from _walk(row, after[rid], sub)
            else:
                yield Change("removed", sub, row, None)
        for rid, row in after.items():
            if rid not in before:
                yield Change("added", f"{path}[id={orjson.dumps(rid).decode()}]", None, row)
        return
    for k in range(max(len(old), len(new))):
        sub = f"{path}[{k}]"
        if k >= len(new):
            yield Change("removed", sub, old[k], None)
        elif k >= len(old):
            yield Change("added", sub, None, new[k])
        else:
            yield from _walk(old[k], new[k], sub)


def diff(old: Any, new: Any, path: str = "$") -> list[Change]:
    """Structural changes from ``old`` to ``new``; lists of rows with ids are matched by id."""
    return list(_walk(old, new, path))


# --------------------------------------------------------------------------- mutations


def apply_mutation(state: Any, entity: str, op: str | None, row: Any) -> Any:
    """The state after a MUTATION_SUCCESS; the old state object is left untouched."""
    if not isinstance(row, dict) or row.get("id") is None:
        return state
    base = state if isinstance(state, dict) else {"entity": entity, "data": []}
    rows = base.get("data")
    if not isinstance(rows, list):
        return state  # a state that is not a row list (e.g. a tree): nothing to apply to
    rid = row["id"]
    at = next((k for k, r in enumerate(rows) if isinstance(r, dict) and r.get("id") == rid), None)
    out = list(rows)
    if (op or "").upper() == "DELETE":
        if at is None:
            return state
        del out[at]
    elif at is None:
        out.append(row)
    else:
        out[at] = {**out[at], **row}
    return {**base, "data": out}


# --------------------------------------------------------------------------- state


class EntityState:
    """Current state per connection, entity and query, and diffs rebuilt from frames read back
    through ``load``."""

    def __init__(self, load: Callable[[int], dict[str, Any] | None]) -> None:
        self._load = load
        self._current: dict[str, Any] = {}  # entity -> its latest state, whichever view
        self._views: dict[StateKey, Any] = {}  # view -> its latest state
        self._updates: dict[StateKey, array[int]] = {}  # frame indices that changed each view
        self._keys: dict[str, list[StateKey]] = {}  # entity -> its views
        self._last: dict[tuple[str | None, str], StateKey] = {}  # (conn, entity) -> view updated last
        self._queries: dict[StateKey, Any] = {}
        self._cache: OrderedDict[int, Any] = OrderedDict()  # frame index -> state after it
        self._trimmed: set[StateKey] = set()  # views whose oldest updates were evicted

    def observe(self, index: int, type_: str, entity: str | None, obj: dict[str, Any],
                conn: str | None = None) -> None:
        if entity is None or type_ not in STATE_TYPES or "data" not in obj:
            return
        if type_ in WHOLE_STATE_TYPES:
            query = query_of(obj)
            key: StateKey = (conn, entity, _query_key(type_, query))
            self._queries.setdefault(key, query)
            after = obj["data"]  # not cached: one frame read gives it back
        else:
            key = self._last.get((conn, entity), (conn, entity, None))
            after = self._after(type_, entity, obj, self._views.get(key))
            self._cache[index] = after  # a new index: it goes last
            if len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
        self._current[entity] = self._views[key] = after
        self._last[(conn, entity)] = key
        updates = self._updates.get(key)
        if updates is None:
            updates = self._updates[key] = array("Q")
            self._keys.setdefault(entity, []).append(key)
        updates.append(index)

    @staticmethod
    def _after(type_: str, entity: str, obj: dict[str, Any], before: Any) -> Any:
        if type_ in WHOLE_STATE_TYPES:
            return obj["data"]
        op = obj.get("operation")
        return apply_mutation(before, entity, op if isinstance(op, str) else None, obj["data"])

    def _remember(self, index: int, state: Any) -> None:
        self._cache[index] = state
        self._cache.move_to_end(index)
        while len(self._cache) > _CACHE:
            self._cache.popitem(last=False)

    def current(self, entity: str) -> Any | None:
        return self._current.get(entity)

    def entities(self) -> list[str]:
        return sorted(self._current)

    def current_before(self, entity: str, before: int) -> Any | None:
        """The state of ``entity`` once the frames before index ``before`` were seen (playback):
        that of its view updated last before then; None when it had none yet or the frames
        to rebuild it are gone."""
        best: tuple[StateKey, int, int] | None = None
        for key in self._keys.get(entity, ()):
            updates = self._updates[key]
            pos = bisect.bisect_left(updates, before) - 1
            if pos >= 0 and (best is None or updates[pos] > best[2]):
                best = (key, pos, updates[pos])
        if best is None:
            return None
        try:
            return self._state_after(best[0], best[1])
        except LookupError:
            return None

    def entities_before(self, before: int) -> list[str]:
        return sorted(
            e for e, keys in self._keys.items()
            if any(self._updates[k] and self._updates[k][0] < before for k in keys)
        )

    def views(self, entity: str) -> list[StateKey]:
        """The (connection, entity, query) views of ``entity`` seen so far."""
        return list(self._keys.get(entity, ()))

    def _state_after(self, key: StateKey, pos: int) -> Any:
        """State after the ``pos``-th update of view ``key``; LookupError when a needed frame is gone."""
        entity = key[1]
        updates = self._updates[key]
        index = updates[pos]
        if index in self._cache:
            return self._cache[index]
        chain = []
        k = pos
        while True:
            obj = self._load(updates[k])
            if obj is None:
                raise LookupError(f"frame {updates[k]} is no longer available")
            chain.append(obj)
            if str(obj.get("type", "")).upper() in WHOLE_STATE_TYPES:
                break
            if k == 0:
                if key in self._trimmed:  # the rows it applied to were evicted
                    raise LookupError(f"state of {entity!r} before frame {updates[0]} is gone")
                break
            k -= 1
        state = None
        for obj in reversed(chain):
            state = self._after(str(obj["type"]).upper(), entity, obj, state)
        self._remember(index, state)
        return state

    def _find(self, entity: str, i: int) -> tuple[StateKey, int] | None:
        for key in self._keys.get(entity, ()):
            updates = self._updates[key]
            pos = bisect.bisect_left(updates, i)
            if pos < len(updates) and updates[pos] == i:
                return key, pos
        return None

    def diff_at(self, i: int) -> Diff | None:
        """What frame ``i`` changed in the state of its view (its connection, entity and query);
        None when it changed no state or the frames needed to rebuild it are gone."""
        obj = self._load(i)
        entity = obj.get("entity") if obj else None
        if not isinstance(entity, str):
            return None
        found = self._find(entity, i)
        if found is None:
            return None
        key, pos = found
        updates = self._updates[key]
        try:
            after = self._state_after(key, pos)
            if pos:
                before = self._state_after(key, pos - 1)
            elif key in self._trimmed:
                return None  # what it is compared with was evicted
            else:
                before = None
        except LookupError:
            return None
        return Diff(i, entity, updates[pos - 1] if pos else None, diff(before, after), key[0], self._queries.get(key))

    def evict(self, before: int) -> None:
        """Forget updates older than ``before``; the current states stay."""
        for key, updates in self._updates.items():
            cut = bisect.bisect_left(updates, before)
            if cut:
                del updates[:cut]
                self._trimmed.add(key)
        for index in [k for k in self._cache if k < before]:
            del self._cache[index]
