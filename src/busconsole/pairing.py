"""Request/reply pairing, latency, pending and orphan replies, and mutation effects.

Rules, in the order they are tried for a reply (QUERY_RESULT, MUTATION_SUCCESS, ERROR):

1. With a ``requestId``: the unanswered request carrying that id (QUERY_RESULT only
   answers a QUERY, MUTATION_SUCCESS only a MUTATION, ERROR either). An id nobody is
   waiting for makes the reply an *orphan*; it is never paired by guesswork.
2. MUTATION_SUCCESS without one: an unanswered MUTATION of the same connection, entity
   and operation (without ``operation``: of that entity), whether or not it carried an id
   (the framework's server never echoes it here). The reply's record id (``data.id``)
   picks the mutation whose ``payload.id`` is the same; failing that, the oldest mutation
   that named no record (a CREATE), then the oldest of them all.
3. QUERY_RESULT without one: the oldest unanswered QUERY of the connection and entity
   that carried no id either (a query with an id gets its id back).
4. ERROR without one: the oldest unanswered request of the connection that carried no id,
   because the server answers each connection in order and echoes ids it knows.
5. Nothing matched: an orphan.

A reply that states its own ``duration`` (ms; the store's request logs do) has that as its
latency, and among the candidates of rules 2 to 4 it answers the request sent that long
before it (within a millisecond), before falling back to order.

A pair made by rules 2 to 4 is a *guess* (``is_guessed``, ``Pair.guessed``) when the reply
could have answered another request just as well: more than one candidate was waiting and
neither its record id nor its duration told them apart. A pair by requestId, or with a
single candidate, is exact.

Effects: a STORE_UPDATE of an entity is caused by the latest MUTATION_SUCCESS of that
entity when it arrives within ``effect_window`` ms after it, or when it arrived after the
mutation request but before its success (servers may broadcast before replying). A
QUERY_RESULT for the entity ends the window: later updates belong to the query.

Per-frame facts live in flat arrays aligned with frame indices (a few bytes a frame),
not in one object per pair, and are dropped with the store's window.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from busconsole.wire import PAIRED_REQUESTS as REQUEST_TYPES
from busconsole.wire import REPLIES

REPLY_TO = {reply: request for request in REQUEST_TYPES for reply in REPLIES[request]}
OVERALL: tuple[str, str | None] = ("*", None)

_REQUEST, _REPLY, _ANSWERED, _FAILED, _ORPHAN, _ERROR_REPLY, _GUESSED = 1, 2, 4, 8, 16, 32, 64
_SAME_START = 1.0  # ms: a reply's duration points at a request sent this close to it
_SCAN = 1024  # waiting requests looked through for a record id or a start time, at most
_LOOSE_KEEP = 64  # uncaused STORE_UPDATEs remembered per entity, for late MUTATION_SUCCESS
_BLOCK = 4096
_ZEROS_I = array("i", bytes(4 * _BLOCK))
_ZEROS_F = array("f", bytes(4 * _BLOCK))
_EFFECT = 64  # role of a STORE_UPDATE: it may be a mutation's effect
_ROLES = {  # what observe does with a frame type; with any other: nothing
    **dict.fromkeys(REQUEST_TYPES, _REQUEST), **dict.fromkeys((*REPLY_TO, "ERROR"), _REPLY), "STORE_UPDATE": _EFFECT,
}


@dataclass(frozen=True, slots=True)
class Pair:
    request: int
    reply: int
    latency: float  # ms, reply t minus request t (or the duration the reply states)
    failed: bool  # answered by ERROR
    guessed: bool = False  # paired by order among requests the reply could equally answer


@dataclass(frozen=True, slots=True)
class Pending:
    index: int
    type: str
    entity: str | None
    op: str | None
    req: str | None
    conn: str
    age: float  # ms
    timed_out: bool


@dataclass(slots=True)
class _Waiting:
    index: int
    t: float
    type: str
    entity: str | None
    op: str | None
    req: str | None
    conn: str
    record: str | None = None  # the record a MUTATION names (payload.id)


def _record_of(value: Any) -> str | None:
    """The record id of a payload or reply data (``{id}`` or ``{data: {id}}``), as text."""
    if value.__class__ is not dict:
        return None
    rid = value.get("id")
    if rid is None:
        inner = value.get("data")
        if inner.__class__ is not dict:
            return None
        rid = inner.get("id")
    if rid.__class__ is str:
        return rid
    return str(rid) if rid.__class__ in (int, float) else None


def _duration(obj: dict[str, Any] | None) -> float | None:
    value = obj.get("duration") if obj is not None else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 and math.isfinite(value):
        return float(value)
    return None


class Pairing:
    """Pairs requests with replies as frames are observed in index order."""

    def __init__(self, timeout: float = 30.0, effect_window: float = 1000.0) -> None:
        self.timeout = timeout  # seconds before a pending request counts as timed out
        self.effect_window = effect_window  # ms
        self._base = 0
        self._n = 0  # frames observed since _base; the columns run ahead by up to a block of zeros
        self._flags = bytearray()
        self._partner = array("i")  # delta to the other side of the pair, 0 = none
        self._latency = array("f")  # meaningful where _partner is set
        self._cause = array("i")  # delta from a STORE_UPDATE back to its MUTATION_SUCCESS
        self._waiting: dict[int, _Waiting] = {}  # unanswered requests, oldest first
        self._by_req: dict[str, list[int]] = {}
        self._queues: dict[tuple[str | None, ...], deque[int]] = {}
        self._by_record: dict[tuple[str, str | None, str], list[int]] = {}  # (conn, entity, id) -> mutations
        self._effects: dict[int, array[int]] = {}
        self._trigger: dict[str | None, tuple[int, float]] = {}  # entity -> (success index, t)
        self._loose: dict[str | None, deque[tuple[int, float]]] = {}

    # ------------------------------------------------------------------ feeding

    def observe(
        self, index: int, t: float, type_: str, entity: str | None, op: str | None,
        req: str | None, conn: str, obj: dict[str, Any] | None = None,
    ) -> int | None:
        """Take frame ``index`` (frames come in index order). Returns the request a reply answers.
        ``obj``, the decoded frame, gives the record ids and stated durations that make pairs
        without a requestId exact."""
        k = index - self._base
        if k != self._n:
            raise ValueError(f"frame {index} observed out of order (expected {self._base + self._n})")
        self._n = k + 1
        if k >= len(self._flags):
            self._grow()
        role = _ROLES.get(type_)
        if role is None:
            return None
        request = None
        if role == _REQUEST:
            record = None
            if type_ == "MUTATION" and obj is not None:
                record = _record_of(obj.get("payload"))
                if record is None and "data" in obj:  # the store's request logs
                    record = _record_of(obj["data"])
            self._wait(_Waiting(index, t, type_, entity, op, req, conn, record))
        elif role == _EFFECT:
            self._store_update(index, t, entity)
            return None
        else:
            request = self._answer(index, t, type_, entity, op, req, conn, obj)
        if type_ == "MUTATION_SUCCESS":
            self._mutation_done(index, t, entity, request)
        elif type_ == "QUERY_RESULT":
            self._trigger.pop(entity, None)
        return request

    def _grow(self) -> None:
        """Columns grow a block at a time, so a frame nobody pairs costs no write at all."""
        self._flags += bytes(_BLOCK)
        self._partner += _ZEROS_I
        self._latency += _ZEROS_F
        self._cause += _ZEROS_I

    def _wait(self, w: _Waiting) -> None:
        self._flags[w.index - self._base] = _REQUEST
        self._waiting[w.index] = w
        if w.req is not None:
            same = self._by_req.get(w.req)
            if same is None:
                self._by_req[w.req] = [w.index]
            else:
                same.append(w.index)
        if w.record is not None:
            named = self._by_record.get((w.conn, w.entity, w.record))
            if named is None:
                self._by_record[(w.conn, w.entity, w.record)] = [w.index]
            else:
                named.append(w.index)
        if w.type == "MUTATION":
            self._enqueue((w.conn, w.type, w.entity, w.op), w.index)
        if w.type == "MUTATION" or w.req is None:
            self._enqueue((w.conn, w.type, w.entity), w.index)
        if w.req is None:
            self._enqueue((w.conn,), w.index)

    def _enqueue(self, key: tuple[str | None, ...], index: int) -> None:
        dq = self._queues.get(key)
        if dq is None:
            self._queues[key] = deque((index,))
            return
        while dq and dq[0] not in self._waiting:  # answered through another rule
            dq.popleft()
        dq.append(index)

    def _oldest(self, key: tuple[str | None, ...]) -> tuple[int | None, bool]:
        """The oldest waiting request of a queue, and whether another one waits behind it."""
        dq = self._queues.get(key)
        waiting = self._waiting
        while dq:
            i = dq.popleft()
            if i in waiting:
                while dq and dq[0] not in waiting:  # answered through another rule
                    dq.popleft()
                return i, bool(dq)
        self._queues.pop(key, None)
        return None, False

    def _live_in(self, key: tuple[str | None, ...]) -> Iterator[_Waiting]:
        """The waiting requests of a queue, oldest first (the first ``_SCAN`` of them)."""
        waiting = self._waiting
        seen = 0
        for i in self._queues.get(key, ()):
            w = waiting.get(i)
            if w is not None:
                yield w
                seen += 1
                if seen >= _SCAN:
                    return

    def _find(
        self, type_: str, entity: str | None, op: str | None, req: str | None, conn: str,
        record: str | None, started: float | None,
    ) -> tuple[int | None, bool]:
        """The request a reply answers, and whether that is a guess (see the module docstring)."""
        wants = REPLY_TO.get(type_)
        if req is not None:
            for i in self._by_req.get(req, ()):
                if wants is None or self._waiting[i].type == wants:
                    return i, False
            return None, False
        if wants is None:
            key: tuple[str | None, ...] = (conn,)
        elif wants == "MUTATION" and op is not None:
            key = (conn, wants, entity, op)
        else:
            key = (conn, wants, entity)
        if started is not None:
            near = [w for w in self._live_in(key) if abs(w.t - started) <= _SAME_START]
            if near:
                best = min(abs(w.t - started) for w in near)
                closest = [w for w in near if abs(w.t - started) == best]
                return closest[0].index, len(closest) > 1
        if record is not None and wants == "MUTATION":
            same = [i for i in self._by_record.get((conn, entity, record), ())
                    if op is None or self._waiting[i].op == op]
            if same:
                return same[0], len(same) > 1
            unnamed = [w for w in self._live_in(key) if w.record is None]
            if unnamed:
                return unnamed[0].index, len(unnamed) > 1
        return self._oldest(key)

    def _answer(
        self, index: int, t: float, type_: str, entity: str | None, op: str | None,
        req: str | None, conn: str, obj: dict[str, Any] | None = None,
    ) -> int | None:
        flags = _REPLY | (_ERROR_REPLY if type_ == "ERROR" else 0)
        stated = None if obj is None or "duration" not in obj else _duration(obj)
        record = _record_of(obj.get("data")) if req is None and obj is not None and type_ == "MUTATION_SUCCESS" else None
        r, guessed = self._find(type_, entity, op, req, conn, record, None if stated is None else t - stated)
        if r is None:
            self._flags[index - self._base] = flags | _ORPHAN
            return None
        w = self._forget(r)
        latency = t - w.t if stated is None else stated
        k, rk = index - self._base, r - self._base
        if guessed:
            flags |= _GUESSED
        self._flags[k] = flags
        self._flags[rk] |= _ANSWERED | (_FAILED if type_ == "ERROR" else 0) | (_GUESSED if guessed else 0)
        self._partner[k], self._partner[rk] = r - index, index - r
        self._latency[k] = self._latency[rk] = latency
        return r

    def _forget(self, r: int) -> _Waiting:
        w = self._waiting.pop(r)
        if w.req is not None:
            same = self._by_req[w.req]
            same.remove(r)
            if not same:
                del self._by_req[w.req]
        if w.record is not None:
            rk = (w.conn, w.entity, w.record)
            named = self._by_record[rk]
            if len(named) == 1:
                del self._by_record[rk]
            else:
                named.remove(r)
        return w

    # ------------------------------------------------------------------ effects

    def _mutation_done(self, index: int, t: float, entity: str | None, request: int | None) -> None:
        self._trigger[entity] = (index, t)
        loose = self._loose.get(entity)
        if request is None or not loose:
            return
        early = [(i, ti) for i, ti in loose if i > request and t - ti <= self.effect_window]
        for i, _ in early:
            self._link(index, i)
        self._loose[entity] = deque(((i, ti) for i, ti in loose if i <= request), maxlen=_LOOSE_KEEP)

    def _store_update(self, index: int, t: float, entity: str | None) -> None:
        trig = self._trigger.get(entity)
        if trig is not None and trig[0] >= self._base and 0 <= t - trig[1] <= self.effect_window:
            self._link(trig[0], index)
            return
        loose = self._loose.get(entity)
        if loose is None:
            loose = self._loose[entity] = deque(maxlen=_LOOSE_KEEP)
        loose.append((index, t))

    def _link(self, cause: int, effect: int) -> None:
        self._cause[effect - self._base] = cause - effect
        effects = self._effects.get(cause)
        if effects is None:
            effects = self._effects[cause] = array("I")
        effects.append(effect)  # early ones come first: stays sorted

    # ------------------------------------------------------------------ questions

    def _slot(self, i: int) -> int | None:
        k = i - self._base
        return k if 0 <= k < self._n else None

    def pair_of(self, i: int) -> Pair | None:
        """The pair frame ``i`` belongs to, from either side."""
        k = self._slot(i)
        if k is None or not self._partner[k]:
            return None
        j = i + self._partner[k]
        request, reply = min(i, j), max(i, j)
        failed = bool(self._flags[k] & (_FAILED | _ERROR_REPLY))
        return Pair(request, reply, float(self._latency[k]), failed, bool(self._flags[k] & _GUESSED))

    def latency(self, i: int) -> float | None:
        k = self._slot(i)
        return None if k is None or not self._partner[k] else float(self._latency[k])

    def _flag(self, i: int, bit: int) -> bool:
        k = self._slot(i)
        return k is not None and bool(self._flags[k] & bit)

    def is_request(self, i: int) -> bool:
        """A request pairing tracks (answered or not)."""
        return self._flag(i, _REQUEST)

    def is_orphan(self, i: int) -> bool:
        return self._flag(i, _ORPHAN)

    def is_failed(self, i: int) -> bool:
        """A request answered by ERROR."""
        return self._flag(i, _FAILED)

    def is_guessed(self, i: int) -> bool:
        """Either side of a pair made by order among requests the reply could equally answer."""
        return self._flag(i, _GUESSED)

    def is_pending(self, i: int) -> bool:
        return i in self._waiting

    def is_timed_out(self, i: int, now: float | None = None) -> bool:
        w = self._waiting.get(i)
        return w is not None and _now(now) - w.t > self.timeout * 1000

    def pending_count(self) -> int:
        """How many requests wait for a reply (cheap, for a status bar)."""
        return len(self._waiting)

    def pending(self, now: float | None = None) -> list[Pending]:
        """Unanswered requests, oldest first, with their age at ``now`` (epoch ms, default: now)."""
        at = _now(now)
        limit = self.timeout * 1000
        return [
            Pending(w.index, w.type, w.entity, w.op, w.req, w.conn, at - w.t, at - w.t > limit)
            for w in self._waiting.values()
        ]

    def effects_of(self, i: int) -> list[int]:
        """STORE_UPDATE frames caused by the MUTATION_SUCCESS ``i`` (or by the MUTATION it answers)."""
        k = self._slot(i)
        if k is not None and self._flags[k] & _REQUEST and self._partner[k]:
            i += self._partner[k]
        return list(self._effects.get(i, ()))

    def cause_of(self, i: int) -> int | None:
        """The MUTATION_SUCCESS that caused the STORE_UPDATE ``i``."""
        k = self._slot(i)
        return None if k is None or not self._cause[k] else i + self._cause[k]

    # ------------------------------------------------------------------ window

    def evict(self, before: int) -> None:
        """Forget everything about frames older than ``before`` (the store's window moved)."""
        k = before - self._base
        if k <= 0:
            return
        for col in (self._flags, self._partner, self._latency, self._cause):
            del col[:k]
        self._n = max(self._n - k, 0)
        self._base = before
        while self._waiting:
            first = next(iter(self._waiting))
            if first >= before:
                break
            self._forget(first)
        for key in list(self._queues):
            dq = self._queues[key]
            while dq and dq[0] < before:
                dq.popleft()
            if not dq:
                del self._queues[key]
        while self._effects and next(iter(self._effects)) < before:
            del self._effects[next(iter(self._effects))]
        for entity, loose in list(self._loose.items()):
            while loose and loose[0][0] < before:
                loose.popleft()
            if not loose:
                del self._loose[entity]


def _now(now: float | None) -> float:
    return time.time() * 1000 if now is None else now
