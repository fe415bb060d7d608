"""The filter tree: small nodes that test one frame's facts and print themselves canonically.

Each node has ``cost`` (0: facts only, 1: raw bytes, 2: the decoded object) so an
``and`` tries cheap children first; ``candidates`` answers indexed terms from the
store without looking at frames; ``prefilter`` says False only when a frame's
lower-cased raw bytes rule a match out. ``anchor_sets`` offers needles for a bulk
search over many frames at once (:mod:`busconsole.filtering.scan`): every frame that
matches contains at least one needle of each set, so only frames holding one need a look.
Terms on the decoded object (dotted paths) live in :mod:`busconsole.filtering.paths`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

from busconsole.facts import FrameFacts
from busconsole.filtering.keys import IS_NARROWED, IS_TYPES, LARGE_BYTES
from busconsole.filtering.patterns import (
    Pattern,
)
from busconsole.filtering.values import TimeValue


class IndexedStore(Protocol):
    """What :meth:`Filter.select` needs of the event store."""

    @property
    def first_index(self) -> int: ...

    def __len__(self) -> int: ...
    def facts(self, index: int) -> FrameFacts: ...
    def positions(self, key: str, value: str) -> Sequence[int]: ...


# Sorted candidate indices, and whether every one of them is certain to match.
Candidates = tuple[Sequence[int], bool]
# Lower-cased byte strings of which every matching frame contains at least one.
Anchors = tuple[bytes, ...]

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


def union(lists: Sequence[Sequence[int]]) -> Sequence[int]:
    if len(lists) == 1:
        return lists[0]
    return sorted(set().union(*lists))


def intersect(lists: Sequence[Sequence[int]]) -> Sequence[int]:
    ordered = sorted(lists, key=len)
    common = set(ordered[0])
    for other in ordered[1:]:
        common.intersection_update(other)
    return sorted(common)


class Node:
    cost: ClassVar[int] = 0

    def matches(self, facts: FrameFacts) -> bool:
        raise NotImplementedError

    def candidates(self, store: IndexedStore) -> Candidates | None:
        return None

    def prefilter(self, low: bytes) -> bool:
        return True

    def has_needles(self) -> bool:
        return False

    def anchor_sets(self) -> list[Anchors]:
        """Alternative anchor sets, any one of which a bulk search may use; [] when none holds."""
        return []

    def decided_by_bytes(self) -> bool:
        """True when ``prefilter`` on the lower-cased raw bytes is the exact answer."""
        return False

    def needs_object(self) -> bool:
        """True when only a frame that is a JSON object can match (not text, not binary)."""
        return False

    def needs_pairing(self) -> bool:
        """True when the answer depends on other frames (pairing: latency, pending, failed...):
        then the frame alone cannot decide, only a store that has seen the whole input."""
        return False

    def _key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"


# --------------------------------------------------------------------------- combinators


class And(Node):
    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)
        self._by_cost = sorted(self.children, key=lambda c: c.cost)
        self.cost = max(c.cost for c in self.children)  # type: ignore[misc]

    def matches(self, facts: FrameFacts) -> bool:
        return all(c.matches(facts) for c in self._by_cost)

    def candidates(self, store: IndexedStore) -> Candidates | None:
        found = [c.candidates(store) for c in self.children]
        indexed = [f for f in found if f is not None]
        if not indexed:
            return None
        exact = len(indexed) == len(found) and all(e for _, e in indexed)
        return intersect([p for p, _ in indexed]), exact

    def prefilter(self, low: bytes) -> bool:
        return all(c.prefilter(low) for c in self.children)

    def has_needles(self) -> bool:
        return any(c.has_needles() for c in self.children)

    def anchor_sets(self) -> list[Anchors]:
        return [a for c in self.children for a in c.anchor_sets()]

    def decided_by_bytes(self) -> bool:
        return all(c.decided_by_bytes() for c in self.children)

    def needs_object(self) -> bool:
        return any(c.needs_object() for c in self.children)

    def needs_pairing(self) -> bool:
        return any(c.needs_pairing() for c in self.children)

    def _key(self) -> tuple[Any, ...]:
        return self.children

    def __str__(self) -> str:
        return " ".join(f"({c})" if isinstance(c, Or) else str(c) for c in self.children)


class Or(Node):
    def __init__(self, children: Sequence[Node]) -> None:
        self.children = tuple(children)
        self._by_cost = sorted(self.children, key=lambda c: c.cost)
        self.cost = max(c.cost for c in self.children)  # type: ignore[misc]

    def matches(self, facts: FrameFacts) -> bool:
        return any(c.matches(facts) for c in self._by_cost)

    def candidates(self, store: IndexedStore) -> Candidates | None:
        found = [c.candidates(store) for c in self.children]
        if any(f is None for f in found):
            return None
        parts = [f for f in found if f is not None]
        return union([p for p, _ in parts]), all(e for _, e in parts)

    def prefilter(self, low: bytes) -> bool:
        return any(c.prefilter(low) for c in self.children)

    def has_needles(self) -> bool:
        return all(c.has_needles() for c in self.children)

    def anchor_sets(self) -> list[Anchors]:
        """One set: the best set of each child together (a match of any child is a match)."""
        best = [_best(c.anchor_sets()) for c in self.children]
        if any(b is None for b in best):
            return []
        return [tuple(sorted({n for b in best for n in b or ()}))]

    def decided_by_bytes(self) -> bool:
        return all(c.decided_by_bytes() for c in self.children)

    def needs_object(self) -> bool:
        return all(c.needs_object() for c in self.children)

    def needs_pairing(self) -> bool:
        return any(c.needs_pairing() for c in self.children)

    def _key(self) -> tuple[Any, ...]:
        return self.children

    def __str__(self) -> str:
        return " or ".join(str(c) for c in self.children)


class Not(Node):
    def __init__(self, child: Node) -> None:
        self.child = child
        self.cost = child.cost  # type: ignore[misc]

    def matches(self, facts: FrameFacts) -> bool:
        return not self.child.matches(facts)

    def needs_pairing(self) -> bool:
        return self.child.needs_pairing()

    def _key(self) -> tuple[Any, ...]:
        return (self.child,)

    def __str__(self) -> str:
        inner = str(self.child)
        return f"-({inner})" if isinstance(self.child, (And, Or)) else f"-{inner}"


def _best(sets: list[Anchors]) -> Anchors | None:
    """Without data to count in, the set whose shortest needle is longest, then the smallest."""
    return max(sets, key=lambda a: (min(map(len, a)), -len(a)), default=None)


def all_of(children: Sequence[Node]) -> Node:
    """``and`` of the children, nested ands flattened, so equal filters print and compare equal."""
    flat = [g for c in children for g in (c.children if isinstance(c, And) else (c,))]
    return flat[0] if len(flat) == 1 else And(flat)


def any_of(children: Sequence[Node]) -> Node:
    flat = [g for c in children for g in (c.children if isinstance(c, Or) else (c,))]
    return flat[0] if len(flat) == 1 else Or(flat)


# --------------------------------------------------------------------------- terms on facts


class FieldTerm(Node):
    """``type``, ``entity``, ``op``, ``dir``, ``req`` or ``conn`` against a list of patterns."""

    _NEEDLE_KEYS: ClassVar[frozenset[str]] = frozenset({"type", "entity", "op", "req"})

    def __init__(self, key: str, patterns: Sequence[Pattern]) -> None:
        self.key = key
        self.patterns = tuple(patterns)
        self._needles = self._find_needles()

    def _find_needles(self) -> tuple[tuple[bytes, ...], ...] | None:
        if self.key not in self._NEEDLE_KEYS:
            return None
        found = [p.needles() for p in self.patterns]
        if any(not n for n in found) or (self.key == "type" and any(
                p.matches("MALFORMED") for p in self.patterns)):
            return None
        return tuple(found)

    def matches(self, facts: FrameFacts) -> bool:
        value: str | None = getattr(facts, self.key)
        return value is not None and any(p.matches(value) for p in self.patterns)

    def candidates(self, store: IndexedStore) -> Candidates | None:
        lists: list[Sequence[int]] = []
        for p in self.patterns:
            if p.literal:
                lists.append(store.positions(self.key, p.text))
                continue
            known = _known_values(store, self.key)
            if known is None:
                return None
            lists.extend(store.positions(self.key, v) for v in known if p.matches(v))
        return (union(lists) if lists else []), True

    def prefilter(self, low: bytes) -> bool:
        if self._needles is None:
            return True
        return any(all(n in low for n in needles) for needles in self._needles)

    def has_needles(self) -> bool:
        return self._needles is not None

    def anchor_sets(self) -> list[Anchors]:
        if self._needles is None:
            return []
        if len(self._needles) == 1:
            return [(n,) for n in self._needles[0]]
        return [tuple(sorted({max(needles, key=len) for needles in self._needles}))]

    def needs_object(self) -> bool:
        """entity, op and req come from the object; so does a type other than MALFORMED."""
        if self.key == "type":
            return not any(p.matches("MALFORMED") for p in self.patterns)
        return self.key in ("entity", "op", "req")

    def _key(self) -> tuple[Any, ...]:
        return (self.key, self.patterns)

    def __str__(self) -> str:
        return f"{self.key}:" + ",".join(str(p) for p in self.patterns)


def _known_values(store: IndexedStore, key: str) -> list[str] | None:
    """Every value the store has indexed for ``key``, when it offers ``values(key)`` for it."""
    values = getattr(store, "values", None)
    try:
        return None if values is None else [v for v in values(key) if isinstance(v, str)]
    except KeyError:  # e.g. no value table for requestIds
        return None


class LevelTerm(FieldTerm):
    """Frames that carry at least one console message at one of these levels."""

    _NEEDLE_KEYS: ClassVar[frozenset[str]] = frozenset({"level"})

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        super().__init__("level", patterns)
        if any(p.matches("log") for p in self.patterns):  # "log" is also the default level
            self._needles = None

    def matches(self, facts: FrameFacts) -> bool:
        return any(p.matches(level) for level in facts.levels for p in self.patterns)

    def needs_object(self) -> bool:
        return True


class IsTerm(Node):
    """``is:pending`` and friends: states that pairing and parsing decide."""

    def __init__(self, flags: Sequence[str]) -> None:
        self.flags = tuple(flags)

    def matches(self, facts: FrameFacts) -> bool:
        return any(_is(facts, flag) for flag in self.flags)

    def candidates(self, store: IndexedStore) -> Candidates | None:
        kinds = [IS_TYPES[f] for f in self.flags]
        if any(k is None for k in kinds):
            return None
        exact = not any(f in IS_NARROWED for f in self.flags)
        return union([store.positions("type", t) for k in kinds for t in k or ()]), exact

    def needs_pairing(self) -> bool:
        return any(f in PAIRED_FLAGS or f in MARKED_FLAGS for f in self.flags)

    def _key(self) -> tuple[Any, ...]:
        return self.flags

    def __str__(self) -> str:
        return "is:" + ",".join(self.flags)


PAIRED_FLAGS = frozenset({"pending", "error", "orphan", "timedout", "failed", "guessed"})  # pairing decides
# What the doctor's pass over the whole input decides (FrameFacts.marks), judged in a store as pairing is.
MARKED_FLAGS = frozenset({"leak", "dupsub", "retry", "repeat"})


def _is(facts: FrameFacts, flag: str) -> bool:
    if flag == "error":
        return facts.error
    if flag == "timedout":
        return facts.timed_out
    if flag == "noreqid":
        return facts.req is None and facts.type in ("QUERY", "MUTATION")
    if flag == "large":
        return facts.size > LARGE_BYTES
    if flag in MARKED_FLAGS:
        return flag in facts.marks
    if flag in ("request", "reply", "malformed"):
        return facts.type in (IS_TYPES[flag] or ())
    return bool(getattr(facts, flag))


class CompareTerm(Node):
    """``latency``/``size`` against a number in base units (ms, bytes). ``shown`` keeps the unit."""

    def __init__(self, key: str, op: str, value: float, shown: str) -> None:
        self.key, self.op, self.value, self.shown = key, op, value, shown
        self._test: Callable[[Any, Any], bool] = COMPARE.get(op, operator.eq)

    def matches(self, facts: FrameFacts) -> bool:
        actual = getattr(facts, self.key)
        return actual is not None and self._test(actual, self.value)

    def needs_pairing(self) -> bool:
        return self.key == "latency"

    def _key(self) -> tuple[Any, ...]:
        return (self.key, self.op, self.value)

    def __str__(self) -> str:
        return f"{self.key}{':' if self.op == '=' else self.op}{self.shown}"


class TimeTerm(Node):
    def __init__(self, op: str, value: TimeValue) -> None:
        self.op, self.value = op, value
        self._test = COMPARE.get(op)

    def matches(self, facts: FrameFacts) -> bool:
        at = self.value.position(facts.t)
        if self._test is None:
            return self.value.lo <= at < self.value.lo + self.value.span
        return self._test(at, self.value.threshold())

    def _key(self) -> tuple[Any, ...]:
        return (self.op, self.value)

    def __str__(self) -> str:
        return f"t{':' if self.op == '=' else self.op}{self.value.text}"


