"""FrameFacts: what the filter language, the views and the statistics ask about one frame.

The event store keeps these fields in compact columns (``frame_fields`` once per frame
at append time) and rebuilds a FrameFacts, pairing fields included, when asked.
Headless streams build them straight from a CapturedFrame. Raw bytes and the decoded
object are reached through ``frame``, which the store may rebuild on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from busconsole.frames import CapturedFrame

_EMPTY: frozenset[str] = frozenset()


def str_or_none(value: Any) -> str | None:
    """A field as text (numbers too, as a frontend may send them), None when absent."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def console_levels(obj: dict[str, Any]) -> frozenset[str]:
    """Levels of the console messages a CONSOLE_LOGS frame (or a debug-log line) carries."""
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        level = obj.get("level")
        return frozenset((str(level).lower(),)) if isinstance(level, str) else _EMPTY
    # The distinct raw levels first (a batch repeats a handful), then each normalised once.
    try:
        raw = frozenset(m.get("level", "log") for m in msgs if m.__class__ is dict)
    except TypeError:  # a level that is a list or an object
        return frozenset(str(m.get("level", "log")).lower() for m in msgs if isinstance(m, dict))
    levels = _LEVEL_SETS.get(raw)
    if levels is None:
        levels = frozenset(str(level).lower() for level in raw)
        if len(_LEVEL_SETS) < 256:
            _LEVEL_SETS[raw] = levels
    return levels


_LEVEL_SETS: dict[frozenset[Any], frozenset[str]] = {}  # raw level sets seen -> normalised


def frame_fields(obj: dict[str, Any]) -> tuple[str, str | None, str | None, frozenset[str]]:
    """type, entity, operation and console levels of a decoded frame, as filters compare them."""
    type_ = str(obj["type"]).upper()
    op = obj.get("operation")
    return (
        type_,
        str_or_none(obj.get("entity")),
        op.upper() if isinstance(op, str) else str_or_none(op),
        console_levels(obj) if type_ == "CONSOLE_LOGS" else _EMPTY,
    )


class FrameFacts:
    """One frame's facts. ``latency``, ``pending``, ``timed_out``, ``orphan``, ``failed`` and
    ``guessed`` come from pairing."""

    __slots__ = (
        "index", "seq", "t", "dir", "conn", "type", "entity", "op", "req", "size", "levels",
        "malformed", "latency", "pending", "timed_out", "orphan", "failed", "guessed", "_frame",
        "_load", "marks_of",
    )

    def __init__(
        self,
        frame: CapturedFrame | None,
        index: int = 0,
        load: Callable[[int], CapturedFrame] | None = None,
    ) -> None:
        self.index = index
        self._frame = frame
        self._load = load
        self.latency: float | None = None
        self.pending = False
        self.timed_out = False
        self.orphan = False
        self.failed = False  # a request answered by ERROR
        self.guessed = False  # either side of a pair made by order, not by what the reply carries
        # The doctor's per-frame flags (leak, retry...), which only a pass over the whole input
        # decides: a store that keeps them sets this to its lookup (see FileStore.marks_of).
        self.marks_of: Callable[[int], frozenset[str]] | None = None
        if frame is not None:
            self._fill(frame)

    def _fill(self, frame: CapturedFrame) -> None:
        self.seq = frame.seq
        self.t = frame.t
        self.dir = frame.dir
        self.conn = frame.conn
        self.size = frame.size
        obj = frame.obj
        if obj is None:
            self.type, self.entity, self.op, self.req = "MALFORMED", None, None, None
            self.levels = _EMPTY
            self.malformed = True
            return
        self.malformed = False
        self.type, self.entity, self.op, self.levels = frame_fields(obj)
        self.req = str_or_none(obj.get("requestId"))

    @property
    def frame(self) -> CapturedFrame:
        if self._frame is None:
            if self._load is None:
                raise LookupError(f"frame {self.index} is no longer available")
            self._frame = self._load(self.index)
        return self._frame

    @property
    def raw(self) -> bytes:
        return self.frame.raw

    @property
    def obj(self) -> dict[str, Any] | None:
        return self.frame.obj

    @property
    def marks(self) -> frozenset[str]:
        """The doctor's flags on this frame (``is:leak``, ``is:retry``...); empty outside a store."""
        return _EMPTY if self.marks_of is None else self.marks_of(self.index)

    @property
    def error(self) -> bool:
        """What ``is:error`` and the next/previous-error keys stop on."""
        return self.type == "ERROR" or self.malformed or self.failed or "error" in self.levels

    def __repr__(self) -> str:
        return f"<FrameFacts #{self.index} {self.dir} {self.type} {self.entity} {self.req}>"
