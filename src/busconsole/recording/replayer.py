"""Replaying a recording to a live server, minus the sockets: the plan and the reply check.

The plan is every recorded client→server request, with the reply the recording holds
for it (paired by the event store: requestId, else entity and operation). Each
request gets a fresh requestId so the replay never collides with the original
traffic; the old→new mapping is part of the plan. Replies are compared with the
recorded ones ignoring what legitimately changes between runs (timestamps and
requestIds), and differences are listed as readable ``path: old → new`` lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from busconsole.frames import OUT, CapturedFrame
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
    for i in range(len(recording)):
        frame = recording.frame(i)
        store.append(frame)
        obj = frame.obj
        if frame.dir == OUT and obj is not None and str(obj["type"]).upper() in _REQUESTS:
            requests.append((i, frame))
    steps = []
    for i, frame in requests:
        obj = dict(frame.obj or {})
        old = obj.get("requestId")
        new = None
        if old is not None:
            new = new_request_id()
            obj["requestId"] = new
        pair = store.pairing.pair_of(i)
        reply = store.frame(pair.reply).obj if pair is not None and pair.request == i else None
        steps.append(Step(i, frame.t, obj, None if old is None else str(old), new, reply))
    return steps


def delays(steps: list[Step], speed: float) -> Iterator[float]:
    """Seconds to wait before each step to keep the recorded spacing, scaled by ``speed``."""
    prev: float | None = None
    for step in steps:
        yield 0.0 if prev is None or speed <= 0 else max(0.0, (step.t - prev) / 1000.0 / speed)
        prev = step.t


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _walk(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(f"{sub}: {_show(old[key])} -> (missing)")
            elif key not in old:
                out.append(f"{sub}: (missing) -> {_show(new[key])}")
            else:
                _walk(old[key], new[key], sub, out)
    elif isinstance(old, list) and isinstance(new, list):
        for k in range(max(len(old), len(new))):
            sub = f"{path}[{k}]"
            if k >= len(new):
                out.append(f"{sub}: {_show(old[k])} -> (missing)")
            elif k >= len(old):
                out.append(f"{sub}: (missing) -> {_show(new[k])}")
            else:
                _walk(old[k], new[k], sub, out)
    elif old != new or type(old) is not type(new):
        out.append(f"{path or '(frame)'}: {_show(old)} -> {_show(new)}")


def diff_replies(recorded: dict[str, Any] | None, got: dict[str, Any] | None) -> list[str]:
    """Readable differences between two replies, ignoring timestamps and requestIds."""
    if recorded is None or got is None:
        return [] if recorded is got else [f"(reply): {_show(recorded)} -> {_show(got)}"]
    out: list[str] = []
    _walk(_clean(recorded), _clean(got), "", out)
    if len(out) > MAX_DIFF_LINES:
        out[MAX_DIFF_LINES:] = [f"... and {len(out) - MAX_DIFF_LINES} more differences"]
    return out
