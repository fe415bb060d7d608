"""Stellar query evaluation over plain row dicts: criteria, sort, page.

Pure functions, no SQL: the reference server keeps rows as JSON documents, so one
evaluator serves every entity kind and is tested table-driven without a database.
Any problem with a query raises :class:`StellarError`, which the server turns into
an ERROR frame; nothing here may raise anything else on odd input. :func:`check_limits`
bounds a query's size, depth and ``$or`` alternatives before it is evaluated: evaluation
is plain Python over every row, so one huge query would otherwise stall every client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

Row = dict[str, Any]


class StellarError(ValueError):
    """A query the server cannot evaluate; the message is shown to the client."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How big a query may be. A frontend's queries are a few hundred bytes, a few levels
    deep; these bounds are far above that and far below what stalls the server."""

    max_bytes: int = 64 * 1024
    max_depth: int = 32
    max_alternatives: int = 256


LIMITS = Limits()


def check_limits(query: Any, limits: Limits = LIMITS) -> None:
    """Refuse ``query`` past any of ``limits`` with a :class:`StellarError` naming the limit.

    Size is measured by encoding (orjson stops at 255 levels, so a too-deep query is
    reported as too deep, not as unencodable); depth and alternatives by an iterative
    walk, so no nesting can exhaust the stack here."""
    try:
        size = len(orjson.dumps(query))
    except orjson.JSONEncodeError as exc:
        _walk(query, limits)  # a too-deep query fails here with the depth limit named
        raise StellarError(f"query cannot be encoded as JSON: {exc}") from None
    if size > limits.max_bytes:
        raise StellarError(f"query too large: {size} bytes, the limit (max_bytes) is {limits.max_bytes}")
    _walk(query, limits)


def _walk(query: Any, limits: Limits) -> None:
    alternatives = 0
    stack: list[tuple[Any, int]] = [(query, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_depth:
            raise StellarError(f"query too deep: more than {limits.max_depth} levels of nesting (limit max_depth)")
        if isinstance(node, dict):
            alts = node.get("$or")
            if isinstance(alts, list):
                alternatives += len(alts)
                if alternatives > limits.max_alternatives:
                    raise StellarError(
                        f"query has too many $or alternatives: more than {limits.max_alternatives}"
                        " (limit max_alternatives)"
                    )
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (
        isinstance(a, str) and isinstance(b, str)
    )


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """A comparison that is simply false across types (``"x" > 3``) instead of raising."""
    return lambda value, arg: _comparable(value, arg) and op(value, arg)


def _in(value: Any, arg: Any) -> bool:
    if not isinstance(arg, list):
        raise StellarError(f"$in needs a list, got {type(arg).__name__}")
    return any(_equal(value, a) for a in arg)


def _contains(value: Any, arg: Any) -> bool:
    """Substring (case-insensitive) for strings, membership for lists."""
    if isinstance(value, str) and isinstance(arg, str):
        return arg.lower() in value.lower()
    if isinstance(value, list):
        return any(_equal(v, arg) for v in value)
    return False


def _equal(value: Any, arg: Any) -> bool:
    if isinstance(value, bool) != isinstance(arg, bool):
        return False
    return bool(value == arg)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _equal,
    "$ne": lambda value, arg: not _equal(value, arg),
    "$in": _in,
    "$gt": _ordered(lambda a, b: a > b),
    "$gte": _ordered(lambda a, b: a >= b),
    "$lt": _ordered(lambda a, b: a < b),
    "$lte": _ordered(lambda a, b: a <= b),
    "$contains": _contains,
}


def matches(row: Row, criteria: dict[str, Any] | None) -> bool:
    """True when ``row`` satisfies every term of ``criteria`` (terms are ANDed)."""
    if criteria is None:
        return True
    if not isinstance(criteria, dict):
        raise StellarError(f"criteria must be an object, got {type(criteria).__name__}")
    for key, cond in criteria.items():
        if key == "$or":
            if not isinstance(cond, list) or not cond:
                raise StellarError("$or needs a non-empty list of criteria")
            if not any(matches(row, alt) for alt in cond):
                return False
        elif key.startswith("$"):
            raise StellarError(f"unknown operator {key!r} at the top of criteria")
        elif not _field_matches(row.get(key), cond):
            return False
    return True


def _field_matches(value: Any, cond: Any) -> bool:
    if isinstance(cond, dict) and cond and all(isinstance(k, str) and k.startswith("$") for k in cond):
        for op, arg in cond.items():
            fn = OPERATORS.get(op)
            if fn is None:
                raise StellarError(f"unknown operator {op!r}; known: {', '.join(OPERATORS)}")
            if not fn(value, arg):
                return False
        return True
    return _equal(value, cond)


@dataclass(frozen=True, slots=True)
class Window:
    """A validated page: ``limit`` None means every row."""

    limit: int | None
    offset: int


def page_of(query: dict[str, Any]) -> Window:
    page = query.get("page")
    if page is None:
        return Window(None, 0)
    if not isinstance(page, dict):
        raise StellarError("page must be an object {limit, offset}")
    limit, offset = page.get("limit"), page.get("offset", 0) or 0
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise StellarError(f"page.{name} must be a non-negative integer, got {value!r}")
    return Window(limit, offset)


def sort_rows(rows: list[Row], sort: Any) -> list[Row]:
    """Stable sort on one field; rows missing the field (or of another type) go last."""
    if sort is None:
        return rows
    if not isinstance(sort, dict) or not isinstance(sort.get("field"), str):
        raise StellarError("sort must be an object {field, order}")
    field = sort["field"]
    order = str(sort.get("order", "ASC")).upper()
    if order not in ("ASC", "DESC"):
        raise StellarError(f"sort.order must be ASC or DESC, got {sort.get('order')!r}")

    def key(row: Row) -> tuple[int, Any]:
        value = row.get(field)
        if isinstance(value, bool):
            return (1, int(value))
        if isinstance(value, (int, float)):
            return (0, value)
        if isinstance(value, str):
            return (2, value)
        return (3, 0)

    present = [r for r in rows if key(r)[0] < 3]
    missing = [r for r in rows if key(r)[0] == 3]
    return sorted(present, key=key, reverse=order == "DESC") + missing


def select(rows: Iterable[Row], query: dict[str, Any]) -> tuple[list[Row], int, Window]:
    """Filter, sort and page ``rows``: the page, the total before paging, and the window."""
    window = page_of(query)
    criteria = query.get("criteria")
    hits = sort_rows([r for r in rows if matches(r, criteria)], query.get("sort"))
    end = None if window.limit is None else window.offset + window.limit
    return hits[window.offset : end], len(hits), window


def includes_of(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The child queries of ``include``, each checked to name a kind."""
    include = query.get("include")
    if include is None:
        return []
    if not isinstance(include, list) or not all(isinstance(i, dict) and i.get("kind") for i in include):
        raise StellarError("include must be a list of queries, each with a kind")
    return include


def foreign_key(row: Row, parent_kind: str) -> Any:
    """The ``<parentkind>Id`` value of a child row, matched case-insensitively (availabilityZoneId)."""
    wanted = f"{parent_kind}id".lower()
    for key, value in row.items():
        if key.lower() == wanted:
            return value
    return None


def child_key(kind: str) -> str:
    """The field a parent row holds its included children under: the plural kind."""
    return kind if kind.endswith("s") else f"{kind}s"
