"""Filter terms on the decoded frame object: dotted paths such as ``payload.status:ACTIVE``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from busconsole.facts import FrameFacts
from busconsole.filtering.nodes import COMPARE, Anchors, Node
from busconsole.filtering.patterns import Pattern, verbatim_needle
from busconsole.filtering.values import is_number


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

    def needs_object(self) -> bool:
        return True

    def anchor_sets(self) -> list[Anchors]:
        sets: list[Anchors] = [(k,) for k in self._keys]
        if self._test is None and self._values and all(self._values):
            sets.append(tuple(sorted({max(v, key=len) for v in self._values})))
        return sets

    def _key(self) -> tuple[Any, ...]:
        return (self.path, self.op, self.patterns, self.number)

    def __str__(self) -> str:
        path = ".".join(self.path) if len(self.path) > 1 else "." + self.path[0]
        if self._test is not None:
            return f"{path}{self.op}{self.number!r}"
        return f"{path}:" + ",".join(str(p) for p in self.patterns)
