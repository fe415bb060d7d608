"""Console messages: a CONSOLE_LOGS frame carries a batch, each message becomes one entry.

The log holds only compact references (frame index, position in the batch, level) and rebuilds entries from the frame when asked, so a chatty frontend does not
cost a Python object per message while its frames sit in the store's window.
"""

from __future__ import annotations

import bisect
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from busconsole.facts import str_or_none


@dataclass(frozen=True, slots=True)
class ConsoleEntry:
    frame_index: int
    t: float | None  # the message's own timestamp, epoch ms
    level: str
    message: str
    args: list[Any]
    stack_trace: str | None
    session: str | None
    source: str | None


def _messages(obj: dict[str, Any]) -> list[Any]:
    """The messages of a batch, or the object itself when it is one message (a debug-log line)."""
    msgs = obj.get("messages")
    if isinstance(msgs, list):
        return msgs
    if "level" in obj or "message" in obj:
        return [obj]
    return []


def _level(msg: Any) -> str:
    level = msg.get("level", "log") if isinstance(msg, dict) else "log"
    return str(level).lower()


def _time(msg: Any) -> float | None:
    ts = msg.get("timestamp") if isinstance(msg, dict) else None
    return float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else None


def _entry(msg: Any, batch: dict[str, Any], frame_index: int) -> ConsoleEntry:
    if not isinstance(msg, dict):  # a frontend may send a bare string; still a message
        msg = {"message": msg}
    meta = batch.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    args = msg.get("args")
    return ConsoleEntry(
        frame_index=frame_index,
        t=_time(msg),
        level=_level(msg),
        message=str_or_none(msg.get("message")) or "",
        args=args if isinstance(args, list) else ([] if args is None else [args]),
        stack_trace=str_or_none(msg.get("stackTrace")),
        session=str_or_none(msg.get("sessionId") or meta.get("sessionId")),
        source=str_or_none(msg.get("source") or meta.get("source")),
    )


def entries_from_obj(obj: dict[str, Any], frame_index: int) -> list[ConsoleEntry]:
    """Every console entry in a CONSOLE_LOGS frame, a store-events line or a one-message line."""
    return [_entry(m, obj, frame_index) for m in _messages(obj)]


def _matches(entry: ConsoleEntry, needle: str) -> bool:
    hay = (entry.message, entry.stack_trace or "", " ".join(map(str, entry.args)))
    return any(needle in h.lower() for h in hay)


class ConsoleLog:
    """Console entries of the frames in the store's window, filterable by level and text.

    ``load(i)`` returns the decoded object of frame ``i`` (None when it is gone); entries
    are rebuilt through it, one decode per frame however many messages it holds.
    """

    def __init__(self, load: Callable[[int], dict[str, Any] | None]) -> None:
        self._load = load
        self._frame = array("q")  # frame index of each entry, ascending
        self._pos = array("I")  # position in that frame's batch
        self._level = array("H")  # id into _levels
        self._levels: list[str] = []
        self._level_ids: dict[str, int] = {}
        self._counts: Counter[str] = Counter()

    def observe(self, index: int, obj: dict[str, Any]) -> None:
        """Record the messages of frame ``index`` (a CONSOLE_LOGS object)."""
        for pos, msg in enumerate(_messages(obj)):
            level = _level(msg)
            lid = self._level_ids.get(level)
            if lid is None:
                lid = self._level_ids[level] = len(self._levels)
                self._levels.append(level)
            self._frame.append(index)
            self._pos.append(pos)
            self._level.append(lid)
            self._counts[level] += 1

    def evict(self, before: int) -> None:
        """Forget the entries of frames older than ``before``."""
        k = bisect.bisect_left(self._frame, before)
        if not k:
            return
        for lid in self._level[:k]:
            self._counts[self._levels[lid]] -= 1
        self._counts = +self._counts
        for col in (self._frame, self._pos, self._level):
            del col[:k]

    def __len__(self) -> int:
        return len(self._frame)

    def count_by_level(self, before: int | None = None) -> dict[str, int]:
        """Messages per level (of the frames before index ``before``, when given)."""
        if before is None:
            return dict(self._counts)
        k = bisect.bisect_left(self._frame, before)
        return dict(Counter(self._levels[lid] for lid in self._level[:k]))

    def entries(
        self, levels: Iterable[str] | None = None, text: str | None = None, before: int | None = None
    ) -> Iterator[ConsoleEntry]:
        """Entries in order, only those whose level is in ``levels`` and (case-insensitively)
        whose message, args or stack trace contain ``text`` (and, with ``before``, of the frames
        before that index). Entries of lost frames are skipped."""
        wanted = None
        if levels is not None:
            names = {lv.lower() for lv in levels}
            wanted = {lid for lv, lid in self._level_ids.items() if lv in names}
        needle = text.lower() if text else None
        cached_index, cached_msgs, cached_obj = -1, [], {}
        for frame_index, pos, lid in zip(self._frame, self._pos, self._level, strict=True):
            if before is not None and frame_index >= before:
                return
            if wanted is not None and lid not in wanted:
                continue
            if frame_index != cached_index:
                obj = self._load(frame_index)
                cached_index, cached_obj = frame_index, obj or {}
                cached_msgs = _messages(cached_obj)
            if pos >= len(cached_msgs):
                continue
            entry = _entry(cached_msgs[pos], cached_obj, frame_index)
            if needle is None or _matches(entry, needle):
                yield entry
