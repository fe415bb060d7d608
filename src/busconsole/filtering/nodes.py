"""The filter tree: small nodes that test one frame's facts and print themselves canonically.

Each node has ``cost`` (0: facts only, 1: raw bytes, 2: the decoded object) so an
``and`` tries cheap children first; ``candidates`` answers indexed terms from the
store without looking at frames; ``prefilter`` says False only when a frame's
lower-cased raw bytes rule a match out.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Protocol

from busconsole.facts import FrameFacts
from busconsole.filtering.keys import IS_TYPES, KEY_TERM
from busconsole.filtering.patterns import Pattern, quote, regex_flags, verbatim_needle
from busconsole.filtering.values import TimeValue, is_number


class IndexedStore(Protocol):
    """What :meth:`Filter.select` needs of the event store."""

    first_index: int

    def __len__(self) -> int: ...
    def facts(self, index: int) -> FrameFacts: ...
    def positions(self, key: str, value: str) -> Sequence[int]: ...


# Sorted candidate indices, and whether every one of them is certain to match.
Candidates = tuple[Sequence[int], bool]

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

    def _key(self) -> tuple[Any, ...]:
        return (self.child,)

    def __str__(self) -> str:
        inner = str(self.child)
        return f"-({inner})" if isinstance(self.child, (And, Or)) else f"-{inner}"


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
        return union([store.positions("type", t) for k in kinds for t in k or ()]), True

    def _key(self) -> tuple[Any, ...]:
        return self.flags

    def __str__(self) -> str:
        return "is:" + ",".join(self.flags)


def _is(facts: FrameFacts, flag: str) -> bool:
    if flag == "error":
        return facts.error
    if flag == "timedout":
        return facts.timed_out
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


# --------------------------------------------------------------------------- terms on the text


class TextTerm(Node):
    """A word or phrase anywhere in the frame's raw bytes, case-insensitively."""

    cost = 1
    _BARE = re.compile(r'[^\s()"/\-][^\s()]*')
    _KEYWORDS = frozenset({"or", "and", "not"})

    def __init__(self, text: str) -> None:
        self.text = text
        self._low = text.lower()
        self._needle = self._low.encode("utf-8")
        self._ascii = text.isascii()
        self._bare = (bool(self._BARE.fullmatch(text)) and self._low not in self._KEYWORDS
                      and not KEY_TERM.match(text))

    def matches(self, facts: FrameFacts) -> bool:
        if self._ascii:
            return self._needle in facts.raw.lower()
        return self._low in facts.raw.decode("utf-8", "replace").lower()

    def prefilter(self, low: bytes) -> bool:
        return not self._ascii or self._needle in low

    def has_needles(self) -> bool:
        return self._ascii

    def _key(self) -> tuple[Any, ...]:
        return (self.text,)

    def __str__(self) -> str:
        return self.text if self._bare else quote(self.text)


class RegexTerm(Node):
    """``/regex/flags`` searched in the frame text (decoded UTF-8)."""

    cost = 1

    def __init__(self, pattern: str, flags: str) -> None:
        self.pattern, self.flags = pattern, flags
        self._rx = re.compile(pattern, regex_flags(flags))

    def matches(self, facts: FrameFacts) -> bool:
        return self._rx.search(facts.raw.decode("utf-8", "replace")) is not None

    def _key(self) -> tuple[Any, ...]:
        return (self.pattern, self.flags)

    def __str__(self) -> str:
        return f"/{self.pattern}/{self.flags}"


# --------------------------------------------------------------------------- terms on the object


def walk(value: Any, path: Sequence[str]) -> Iterator[Any]:
    """Values at ``path``; a list fans out (any item may match), ``*`` is any key or item."""
    if isinstance(value, list):
        if path and path[0].isdigit():
            i = int(path[0])
            if i < len(value):
                yield from walk(value[i], path[1:])
            return
        rest = path[1:] if path and path[0] == "*" else path
        for item in value:
            yield from walk(item, rest)
        return
    if not path:
        yield value
        return
    if isinstance(value, dict):
        head, rest = path[0], path[1:]
        if head == "*":
            for item in value.values():
                yield from walk(item, rest)
        elif head in value:
            yield from walk(value[head], rest)


def scalar_text(value: Any) -> str | None:
    """How a JSON scalar reads in a filter value; containers have no text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    return None


class PathTerm(Node):
    """``payload.status:ACTIVE`` (patterns, any case) or ``payload.count>5`` (a number)."""

    cost = 2

    def __init__(self, path: Sequence[str], op: str, patterns: Sequence[Pattern] = (),
                 number: float | None = None) -> None:
        self.path, self.op, self.patterns, self.number = tuple(path), op, tuple(patterns), number
        self._test = COMPARE.get(op)
        self._numeric = tuple(float(p.text) if p.literal and is_number(p.text) else None
                              for p in self.patterns)
        names = (verbatim_needle(s) for s in self.path if s != "*" and not s.isdigit())
        self._keys = tuple(b'"%s"' % n for n in names if n)
        self._values = tuple(() if num is not None else p.needles()
                             for p, num in zip(self.patterns, self._numeric, strict=True))

    def matches(self, facts: FrameFacts) -> bool:
        obj = facts.obj
        if obj is None:
            return False
        return any(self._value_matches(v) for v in walk(obj, self.path))

    def _value_matches(self, value: Any) -> bool:
        is_num = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self._test is not None:
            return is_num and self._test(value, self.number)
        text = scalar_text(value)
        for p, num in zip(self.patterns, self._numeric, strict=True):
            if num is not None and is_num:
                if value == num:
                    return True
            elif text is not None and p.matches(text):
                return True
            elif text is None and p.kind == "wildcard" and p.text.strip("*") == "":
                return True  # key:* also matches an object or list that is there
        return False

    def prefilter(self, low: bytes) -> bool:
        if not all(k in low for k in self._keys):
            return False
        if self._test is not None or any(not v for v in self._values):
            return True
        return any(all(n in low for n in needles) for needles in self._values)

    def has_needles(self) -> bool:
        return bool(self._keys) or (self._test is None and all(self._values))

    def _key(self) -> tuple[Any, ...]:
        return (self.path, self.op, self.patterns, self.number)

    def __str__(self) -> str:
        path = ".".join(self.path) if len(self.path) > 1 else "." + self.path[0]
        if self._test is not None:
            return f"{path}{self.op}{self.number!r}"
        return f"{path}:" + ",".join(str(p) for p in self.patterns)
