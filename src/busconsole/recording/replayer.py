"""Replaying a recording to a live server, minus the sockets: the plan and the reply check.

The plan is every recorded client→server request, with the reply the recording holds
for it (paired by the event store: requestId, else entity and operation; a SUBSCRIBE
gets the first SUBSCRIPTION_DATA of its entity on its connection). Each request gets a
fresh requestId so the replay never collides with the original traffic; the old→new
mapping is part of the plan. Replies are compared with the recorded ones ignoring what
legitimately changes between runs (timestamps and requestIds anywhere, plus the paths a
:class:`Ignore` names, such as ``*.updatedAt``), and differences are listed as readable
``path: old → new`` lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from busconsole.frames import IN, OUT, CapturedFrame
from busconsole.recording.reader import Recording
from busconsole.store import EventStore
from busconsole.wire import REQUEST_TYPES, new_request_id

IGNORED_KEYS = frozenset({"timestamp", "isoTimestamp", "requestId"})
MAX_DIFF_LINES = 20
_REQUESTS = frozenset(REQUEST_TYPES)


@dataclass(slots=True)
class Step:
    """One request to re-send."""

    index: int  # position in the recording
    t: float  # recorded send time, epoch ms
    frame: dict[str, Any]  # what to send, with the fresh requestId
    old_id: str | None
    new_id: str | None
    reply: dict[str, Any] | None  # the recorded reply, if the recording has one

    @property
    def type(self) -> str:
        return str(self.frame.get("type", "")).upper()

    @property
    def is_mutation(self) -> bool:
        return self.type == "MUTATION"

    def describe(self) -> str:
        entity = self.frame.get("entity")
        op = self.frame.get("operation")
        ids = f" {self.old_id} -> {self.new_id}" if self.old_id is not None else ""
        return " ".join(str(p) for p in (f"#{self.index}", self.type, entity, op) if p is not None) + ids


def build_plan(recording: Recording) -> list[Step]:
    """The requests of ``recording`` in order, each with its recorded reply."""
    recording.wait()
    store = EventStore(max_frames=max(1, len(recording)), max_bytes=1 << 62, source=recording)
    requests: list[tuple[int, CapturedFrame]] = []
    subscribed: dict[tuple[str, Any], list[int]] = {}  # (conn, entity) -> SUBSCRIBEs awaiting their data
    sub_data: dict[int, int] = {}  # SUBSCRIBE -> its SUBSCRIPTION_DATA
    for i in range(len(recording)):
        frame = recording.frame(i)
        store.append(frame)
        obj = frame.obj
        if obj is None:
            continue
        kind = str(obj["type"]).upper()
        if frame.dir == OUT and kind in _REQUESTS:
            requests.append((i, frame))
            if kind == "SUBSCRIBE":
                subscribed.setdefault((frame.conn, _key(obj.get("entity"))), []).append(i)
        elif frame.dir == IN and kind == "SUBSCRIPTION_DATA":
            waiting = subscribed.get((frame.conn, _key(obj.get("entity"))))
            if waiting:
                sub_data[waiting.pop(0)] = i
    steps = []
    for i, frame in requests:
        obj = dict(frame.obj or {})
        old = obj.get("requestId")
        new = None
        if old is not None:
            new = new_request_id()
            obj["requestId"] = new
        pair = store.pairing.pair_of(i)
        if i in sub_data:
            reply = store.frame(sub_data[i]).obj
        else:
            reply = store.frame(pair.reply).obj if pair is not None and pair.request == i else None
        steps.append(Step(i, frame.t, obj, None if old is None else str(old), new, reply))
    return steps


def _key(value: Any) -> Any:
    return value if isinstance(value, str | int | float | None) else repr(value)


def delays(steps: list[Step], speed: float) -> Iterator[float]:
    """Seconds to wait before each step to keep the recorded spacing, scaled by ``speed``."""
    prev: float | None = None
    for step in steps:
        yield 0.0 if prev is None or speed <= 0 else max(0.0, (step.t - prev) / 1000.0 / speed)
        prev = step.t


@dataclass(frozen=True)
class Ignore:
    """Paths of a reply left out of the comparison: ``*.updatedAt`` (that key at any depth, the
    top included), ``data.meta.timestamp``, ``data.data[*].version``. ``*`` matches any run of
    characters (dots and list indices too); a path also covers everything under it. The keys
    of :data:`IGNORED_KEYS` are always left out, wherever they are."""

    patterns: tuple[str, ...] = ()
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.patterns:
            alternatives = "|".join(_glob(p) for p in self.patterns)
            object.__setattr__(self, "_regex", re.compile(rf"(?:{alternatives})(?=$|[.\[])"))

    def covers(self, path: str) -> bool:
        return self._regex is not None and self._regex.match(path) is not None

    def describe(self) -> str:
        """What the comparison leaves out, for the report."""
        always = ", ".join(sorted(IGNORED_KEYS)) + " at any depth"
        return f"{always}; {', '.join(self.patterns)}" if self.patterns else always


def _glob(pattern: str) -> str:
    """A regex of one --ignore path; a leading ``*.`` also matches no level at all."""
    pattern = pattern.strip()
    lead = ""
    if pattern.startswith("*."):
        lead, pattern = r"(?:.*[.\]])?", pattern[2:]
    return lead + ".*".join(re.escape(part) for part in pattern.split("*"))


@dataclass
class Comparison:
    """Differences between a recorded and a new reply, and the differing paths left out."""

    differences: list[str]
    ignored: list[str]


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _walk(old: Any, new: Any, path: str, out: list[str], ignore: Ignore, ignored: list[str]) -> None:
    if path and ignore.covers(path):
        if old != new or type(old) is not type(new):
            ignored.append(path)
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if ignore.covers(sub):
                if key not in old or key not in new or old[key] != new[key]:
                    ignored.append(sub)
            elif key not in new:
                out.append(f"{sub}: {_show(old[key])} -> (missing)")
            elif key not in old:
                out.append(f"{sub}: (missing) -> {_show(new[key])}")
            else:
                _walk(old[key], new[key], sub, out, ignore, ignored)
    elif isinstance(old, list) and isinstance(new, list):
        for k in range(max(len(old), len(new))):
            sub = f"{path}[{k}]"
            if ignore.covers(sub):
                if k >= len(old) or k >= len(new) or old[k] != new[k]:
                    ignored.append(sub)
            elif k >= len(new):
                out.append(f"{sub}: {_show(old[k])} -> (missing)")
            elif k >= len(old):
                out.append(f"{sub}: (missing) -> {_show(new[k])}")
            else:
                _walk(old[k], new[k], sub, out, ignore, ignored)
    elif old != new or type(old) is not type(new):
        out.append(f"{path or '(frame)'}: {_show(old)} -> {_show(new)}")


def compare(recorded: dict[str, Any] | None, got: dict[str, Any] | None, ignore: Ignore | None = None) -> Comparison:
    """Readable differences between two replies, ignoring timestamps, requestIds and the
    paths of ``ignore``; the differing paths it left out are listed apart."""
    if recorded is None or got is None:
        return Comparison([] if recorded is got else [f"(reply): {_show(recorded)} -> {_show(got)}"], [])
    out: list[str] = []
    ignored: list[str] = []
    _walk(_clean(recorded), _clean(got), "", out, ignore or Ignore(), ignored)
    if len(out) > MAX_DIFF_LINES:
        out[MAX_DIFF_LINES:] = [f"... and {len(out) - MAX_DIFF_LINES} more differences"]
    return Comparison(out, ignored)


def diff_replies(
    recorded: dict[str, Any] | None, got: dict[str, Any] | None, ignore: Iterable[str] = ()
) -> list[str]:
    """Readable differences between two replies, ignoring timestamps, requestIds and the
    ``ignore`` paths (see :class:`Ignore`)."""
    return compare(recorded, got, Ignore(tuple(ignore))).differences
