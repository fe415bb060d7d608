"""What ``replay --stats`` reports, computed from a store that has seen the whole input and the
frames a filter picked from it: pairing happens before filtering, so a filtered summary keeps
the latencies and pending counts of the unfiltered truth (an ERROR reply without an entity
still answers the request a ``entity:`` filter picked).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict

from busconsole.pairing import OVERALL
from busconsole.store import EventStore
from busconsole.wire import PAIRED_REQUESTS


class LatencyStat(TypedDict):
    count: int
    p50: float
    p95: float
    max: float


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile: always a value that was measured."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_stat(values: list[float]) -> LatencyStat:
    """count, p50, p95 and max of ``values`` (sorted)."""
    return LatencyStat(count=len(values), p50=percentile(values, 50), p95=percentile(values, 95), max=values[-1])


@dataclass
class Summary:
    frames: int = 0
    first: float | None = None
    last: float | None = None
    by_type: Counter[str] = field(default_factory=Counter)
    by_entity: Counter[str] = field(default_factory=Counter)
    by_level: Counter[str] = field(default_factory=Counter)
    latency: dict[tuple[str, str | None], LatencyStat] = field(default_factory=dict)
    pending: int = 0

    def lines(self) -> list[str]:
        out = [f"frames: {self.frames}"]
        if self.first is not None and self.last is not None:
            out.append(f"span: {_iso(self.first)} .. {_iso(self.last)} ({_span(self.last - self.first)})")
        for title, counts in (("type", self.by_type), ("entity", self.by_entity), ("console level", self.by_level)):
            out.append(f"by {title}:")
            out += [f"  {name:<28} {n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.append("latency (ms):")
        for (kind, entity), s in sorted(self.latency.items(), key=lambda kv: str(kv[0])):
            name = f"{kind} {entity or ''}".strip()
            out.append(f"  {name:<28} n={s['count']} p50={s['p50']:.1f} p95={s['p95']:.1f} max={s['max']:.1f}")
        out.append(f"pending (no reply): {self.pending}")
        return out


def summarize(store: EventStore, picked: Iterable[int]) -> Summary:
    """The summary of the frames ``picked`` (ascending store indices), judged in ``store``."""
    s = Summary()
    latencies: dict[tuple[str, str | None], list[float]] = {}
    for i in picked:
        f = store.facts(i)
        s.frames += 1
        s.first = f.t if s.first is None else min(s.first, f.t)
        s.last = f.t if s.last is None else max(s.last, f.t)
        s.by_type[f.type] += 1
        if f.entity is not None:
            s.by_entity[f.entity] += 1
        if f.type == "CONSOLE_LOGS":
            obj = f.obj
            msgs = obj.get("messages") if obj is not None else None
            if isinstance(msgs, list):
                s.by_level.update(str(m.get("level", "log")).lower() for m in msgs if isinstance(m, dict))
        if f.type in PAIRED_REQUESTS:
            if f.latency is not None:
                latencies.setdefault((f.type, f.entity), []).append(f.latency)
            elif f.pending:
                s.pending += 1
    everything: list[float] = []
    for key, values in latencies.items():
        s.latency[key] = latency_stat(sorted(values))
        everything.extend(values)
    if everything:
        s.latency[OVERALL] = latency_stat(sorted(everything))
    return s


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _span(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.3f} s"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days} d " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"
