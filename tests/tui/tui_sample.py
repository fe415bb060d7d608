"""Deterministic frames for the TUI's snapshots: fixed times and requestIds, every kind of row."""

from __future__ import annotations

from typing import Any

import orjson

from busconsole.frames import CapturedFrame
from busconsole.store import EventStore

T0 = 1_758_332_020_000.0  # 2025-09-20 01:33:40 UTC


class Feeder:
    """Appends frames with a fixed clock: each frame ``step`` ms after the previous."""

    def __init__(self, store: EventStore, step: float = 37.0) -> None:
        self.store = store
        self.t = T0
        self.seq = 0
        self.step = step

    def add(self, direction: str, obj: dict[str, Any] | bytes, after: float | None = None) -> int:
        self.seq += 1
        self.t += self.step if after is None else after
        raw = obj if isinstance(obj, bytes) else orjson.dumps({**obj, "timestamp": int(self.t)})
        return self.store.append(CapturedFrame(self.seq, self.t, "out" if direction == "out" else "in", "c1", raw))


PARTNERS = [
    {"id": 1, "name": "Telco One", "status": "ACTIVE", "country": "BD"},
    {"id": 2, "name": "Carrier Two", "status": "ACTIVE", "country": "SG"},
    {"id": 3, "name": "Route Three", "status": "SUSPENDED", "country": "AE"},
]


def fill(store: EventStore, rounds: int = 3) -> None:
    """A short, realistic session: connect, subscribe, queries, a mutation with its
    broadcast, console logs with every level, an ERROR and a malformed frame."""
    f = Feeder(store)
    f.add("in", {"type": "CONNECTION", "status": "connected"})
    f.add("out", {"type": "SUBSCRIBE", "entity": "partner"})
    state = {"entity": "partner", "data": PARTNERS, "meta": {"total": 3}}
    f.add("in", {"type": "SUBSCRIPTION_DATA", "entity": "partner", "data": state})
    for n in range(rounds):
        req = f"req_1758332020{n:03d}_q{n:02d}"
        query = {"kind": "partner", "criteria": {"status": "ACTIVE"}, "page": {"limit": 50, "offset": 0}}
        f.add("out", {"type": "QUERY", "entity": "partner", "query": query, "payload": query, "requestId": req})
        f.add("in", {"type": "QUERY_RESULT", "entity": "partner", "requestId": req,
                     "data": {"entity": "partner", "data": PARTNERS[:2], "meta": {"total": 2}}}, after=12.0 + n * 40)
    mreq = "req_1758332021000_m0001"
    f.add("out", {"type": "MUTATION", "entity": "partner", "operation": "UPDATE",
                  "payload": {"id": 3, "status": "ACTIVE"}, "requestId": mreq})
    updated = [PARTNERS[0], PARTNERS[1], {**PARTNERS[2], "status": "ACTIVE"}]
    f.add("in", {"type": "MUTATION_SUCCESS", "entity": "partner", "operation": "UPDATE",
                 "data": {"id": 3, "status": "ACTIVE"}}, after=48.0)
    f.add("in", {"type": "STORE_UPDATE", "entity": "partner",
                 "data": {"entity": "partner", "data": updated, "meta": {"total": 3}}}, after=3.0)
    f.add("out", {"type": "CONSOLE_LOGS", "metadata": {"source": "admin-ui", "sessionId": "sess-7f3a"}, "messages": [
        {"timestamp": int(f.t), "level": "info", "message": "Partner list rendered", "args": [3]},
        {"timestamp": int(f.t) + 5, "level": "warn", "message": "Slow query: partner took 812 ms"},
        {"timestamp": int(f.t) + 9, "level": "error", "message": "TypeError: cannot read 'status' of undefined",
         "stackTrace": "TypeError: cannot read 'status' of undefined\n    at PartnerRow (PartnerRow.tsx:42:17)\n    at renderList (List.tsx:88:9)"},
        {"timestamp": int(f.t) + 12, "level": "debug", "message": "store: partner cache hit"},
        {"timestamp": int(f.t) + 20, "level": "log", "message": "route changed to /partners/3"},
    ]})
    f.add("in", {"type": "CONSOLE_LOGS_ACK", "received": 5})
    f.add("out", {"type": "QUERY", "entity": "compute", "query": {"kind": "nope"}, "payload": {"kind": "nope"},
                  "requestId": "req_1758332022000_e0001"})
    f.add("in", {"type": "ERROR", "error": "Unknown entity kind 'nope'", "requestId": "req_1758332022000_e0001"},
          after=4.0)
    f.add("in", b"{not json at all")
    f.add("out", {"type": "QUERY", "entity": "compute", "query": {"kind": "compute"}, "payload": {"kind": "compute"},
                  "requestId": "req_1758332023000_p0001"})
