"""Placeholders in composed frames: ``{{now}}``, ``{{iso}}``, ``{{uuid}}``, ``{{rand}}``.

They are expanded at send time, not when typed, so a template or a history entry
replayed tomorrow carries tomorrow's timestamps and fresh ids. A string that is
exactly ``"{{now}}"`` or ``"{{rand}}"`` becomes a number, because the bus carries
times as epoch milliseconds and a quoted number would be a different value.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from busconsole.wire import now_ms

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NUMERIC = frozenset({"now", "rand"})
NAMES = ("now", "iso", "uuid", "rand")


def _makers(at_ms: int) -> dict[str, Callable[[], int | str]]:
    """One clock reading per expansion, so every ``{{now}}`` in a frame agrees."""
    iso = datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return {
        "now": lambda: at_ms,
        "iso": lambda: iso.replace("+00:00", "Z"),
        "uuid": lambda: str(uuid.uuid4()),
        "rand": lambda: secrets.randbelow(2**31),
    }


def expand_placeholders(obj: Any, at_ms: int | None = None) -> Any:
    """A copy of ``obj`` with every known placeholder expanded, in keys and values.

    Unknown names (``{{foo}}``) are left as typed; :func:`unknown_placeholders` reports them.
    """
    makers = _makers(now_ms() if at_ms is None else at_ms)

    def text(s: str) -> str:
        return PLACEHOLDER.sub(lambda m: str(makers[m[1]]()) if m[1] in makers else m[0], s)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            whole = PLACEHOLDER.fullmatch(value)
            if whole and whole[1] in NUMERIC:
                return makers[whole[1]]()
            return text(value) if "{{" in value else value
        if isinstance(value, dict):
            return {text(k) if isinstance(k, str) else k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(obj)


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str):
                yield k
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def unknown_placeholders(obj: Any) -> list[str]:
    """Placeholder names in ``obj`` that will not expand, in order of first appearance."""
    seen: dict[str, None] = {}
    for s in _strings(obj):
        for m in PLACEHOLDER.finditer(s):
            if m[1] not in NAMES:
                seen.setdefault(m[1], None)
    return list(seen)


def has_placeholders(obj: Any) -> bool:
    return any(PLACEHOLDER.search(s) for s in _strings(obj))
