"""The checks of the bus doctor: one table (id, severity, why) and one pass over a store.

The pass reads each picked frame's facts once (pairing already done by the store, as for
``--stats``) and feeds per-connection trackers; each check then turns what the trackers
collected into at most one :class:`Finding`. Frames some checks flag are also returned as
:class:`~busconsole.doctor.marks.Marks`, which filters read as ``is:leak`` and friends.
"""

from __future__ import annotations

import re
from array import array
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import orjson

from busconsole.doctor.marks import Marks
from busconsole.doctor.model import (
    CHECK_BY_ID,
    MAX_EXAMPLES,
    SEVERITY_RANK,
    Finding,
    Report,
    Severity,
    Thresholds,
)
from busconsole.filtering.keys import LARGE_BYTES
from busconsole.summary import percentile

if TYPE_CHECKING:
    from busconsole.facts import FrameFacts
    from busconsole.store.shown import ShownStore

class _Group:
    """Frames (store indices) flagged for one reason, with what they involve."""

    __slots__ = ("indices", "entities", "conns")

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.entities: set[str] = set()
        self.conns: set[str] = set()

    def add(self, f: FrameFacts) -> None:
        self.indices.append(f.index)
        if f.entity is not None:
            self.entities.add(f.entity)
        self.conns.add(f.conn)


# requestId and timestamp fields in a request's bytes, with the comma that joins them to the rest.
_VOLATILE = re.compile(rb'"(?:requestId|timestamp)"\s*:\s*(?:"(?:[^"\\]|\\.)*"|[-+\d.eE]+|null)\s*,?')
_NUMBER = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{8}-[0-9a-f-]{27}\b|\d+(?:\.\d+)?", re.I)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_PLAIN_VALUE = re.compile(r"[\w.\-]+")


def normalise(message: str) -> str:
    """An error message with its numbers, ids and quoted values taken out, so occurrences group."""
    text = _QUOTED.sub("'…'", message.strip().splitlines()[0] if message.strip() else "")
    return _NUMBER.sub("N", text)[:200]


def value(text: str) -> str:
    """``text`` as a filter value: plain when it can be, else quoted."""
    return text if _PLAIN_VALUE.fullmatch(text) else orjson.dumps(text).decode()


def _request_key(f: FrameFacts) -> bytes:
    """What makes two requests "the same": their bytes without requestId and timestamp (a frontend
    sends its fields in one order), so no decode is needed."""
    return _VOLATILE.sub(b"", f.raw)


def _host(peer: object) -> str | None:
    if not isinstance(peer, str):
        return None
    return peer.rsplit(":", 1)[0] if ":" in peer else peer


class _Pass:
    def __init__(self, store: ShownStore, th: Thresholds) -> None:
        self.store = store
        self.th = th
        self.frames = 0
        self.end_t: float | None = None
        self.noreqid = _Group()
        self.large = _Group()
        self.fanout = _Group()
        self.fanout_min: dict[str, int] = {}
        self.leak = _Group()
        self.leak_pairs = 0
        self.dupsub = _Group()
        self.pending: list[tuple[int, float, str]] = []  # (index, t, conn) of unanswered requests
        self.late = _Group()
        # (type, entity) -> latencies (ms) and the requests' indices
        self.latency: dict[tuple[str, str | None], tuple[array[float], array[int]]] = {}
        # Retries and repeats, streamed: per (conn, request) the recent sends within the window.
        self.recent: dict[tuple[str, int], deque[tuple[float, int]]] = {}
        self.storm_until: dict[tuple[str, int], float] = {}  # last storm's last send, per request
        self.retry: set[int] = set()
        self.storms = 0
        self.repeat: set[int] = set()
        self.repeats = 0
        self._requests_seen = 0
        self.errors: dict[str, _Group] = defaultdict(_Group)
        self.error_messages: dict[str, int] = defaultdict(int)
        self.opens: dict[tuple[str, str], list[FrameFacts]] = defaultdict(list)  # reconnections per key
        self.subs: dict[str, dict[str, list[FrameFacts]]] = defaultdict(dict)  # conn -> entity -> SUBSCRIBEs
        self.subscribers: dict[str, int] = defaultdict(int)
        self.connected: set[str] = set()
        self.proxy_host: dict[str, str] = {}  # conn -> peer host
        self.closed_hosts: set[str] = set()
        self.replied: set[str] = set()  # connections that carried a reply (a debug log may carry none)

    def run(self, picked: Iterable[int]) -> None:
        facts = self.store.facts
        th = self.th
        for i in picked:
            f = facts(i)
            self.frames += 1
            self.end_t = f.t if self.end_t is None else max(self.end_t, f.t)
            type_ = f.type
            if f.size > th.large_bytes:
                self.large.add(f)
            if type_ == "QUERY" or type_ == "MUTATION":
                self._request(f)
            elif type_ == "SUBSCRIBE" or type_ == "UNSUBSCRIBE":
                self._subscribe(f)
            elif type_ == "STORE_UPDATE":
                n = self.subscribers.get(f.entity or "", 0)
                if f.size <= th.large_bytes and n > 1 and f.size * n > th.fanout_bytes:
                    self.fanout.add(f)
                    key = f.entity or ""
                    self.fanout_min[key] = min(self.fanout_min.get(key, f.size), f.size)
            elif type_ == "QUERY_RESULT" or type_ == "MUTATION_SUCCESS":
                self.replied.add(f.conn)
            elif type_ == "ERROR":
                self.replied.add(f.conn)
                obj = f.obj
                message = obj.get("error") if obj is not None else None
                self._error(f, str(message) if message is not None else "ERROR without a message")
            elif type_ == "CONSOLE_LOGS":
                if "error" in f.levels:
                    self._console_errors(f)
            elif type_ == "CONNECTION":
                if f.conn in self.connected:
                    self._closed(f.conn)
                    self.opens[("conn", f.conn)].append(f)
                self.connected.add(f.conn)
            elif type_ == "PROXY_OPEN":
                obj = f.obj
                host = _host(obj.get("peer")) if obj is not None else None
                if host is not None:
                    self.proxy_host[f.conn] = host
                    if host in self.closed_hosts:
                        self.opens[("peer", host)].append(f)
            elif type_ == "PROXY_CLOSE":
                self._closed(f.conn)
                host = self.proxy_host.get(f.conn)
                if host is not None:
                    self.closed_hosts.add(host)
        for conn in list(self.subs):
            self._closed(conn)

    def _request(self, f: FrameFacts) -> None:
        if f.req is None:
            self.noreqid.add(f)
        if f.latency is not None:
            if f.latency > self.th.timeout_s * 1000:  # unanswered within the timeout, not slow
                self.late.add(f)
            else:
                lat = self.latency.get((f.type, f.entity))
                if lat is None:
                    lat = self.latency[(f.type, f.entity)] = (array("d"), array("I"))
                lat[0].append(f.latency)
                lat[1].append(f.index)
        elif f.pending:
            self.pending.append((f.index, f.t, f.conn))
        self._repeated(f)

    def _repeated(self, f: FrameFacts) -> None:
        """Retry storms and repeated queries, from the sends of the same request still in the window."""
        th = self.th
        key = (f.conn, hash(_request_key(f)))
        t, i = f.t, f.index
        window = th.retry_window_s * 1000
        dq = self.recent.get(key)
        if dq is None:
            dq = self.recent[key] = deque()
        if f.type == "QUERY" and dq and t - dq[-1][0] <= th.repeat_window_s * 1000:
            if dq[-1][1] not in self.repeat:
                self.repeats += 1
                self.repeat.add(dq[-1][1])
            self.repeat.add(i)
        while dq and t - dq[0][0] > window:
            dq.popleft()
        dq.append((t, i))
        if len(dq) >= th.retry_count:
            if self.storm_until.get(key, -1.0) < dq[0][0]:
                self.storms += 1
            self.storm_until[key] = t
            self.retry.update(k for _, k in dq)
        self._requests_seen += 1
        if self._requests_seen % 65536 == 0:  # forget requests not sent again within the windows
            horizon = t - max(window, th.repeat_window_s * 1000)
            self.recent = {k: d for k, d in self.recent.items() if d and d[-1][0] >= horizon}

    def _subscribe(self, f: FrameFacts) -> None:
        entity = f.entity
        if entity is None:
            return
        open_ = self.subs[f.conn]
        if f.type == "UNSUBSCRIBE":
            if open_.pop(entity, None) is not None:
                self.subscribers[entity] -= 1
            return
        held = open_.get(entity)
        if held is None:
            open_[entity] = [f]
            self.subscribers[entity] += 1
        else:
            held.append(f)
            self.dupsub.add(f)

    def _closed(self, conn: str) -> None:
        """The connection closed: what it still subscribes to leaked."""
        open_ = self.subs.pop(conn, None)
        if not open_:
            return
        for entity, frames in open_.items():
            self.leak_pairs += 1
            self.subscribers[entity] -= 1
            for f in frames:
                self.leak.add(f)

    def _error(self, f: FrameFacts, message: str) -> None:
        key = normalise(message)
        self.errors[key].add(f)
        self.error_messages[key] += 1

    def _console_errors(self, f: FrameFacts) -> None:
        obj = f.obj
        msgs = obj.get("messages") if obj is not None else None
        if not isinstance(msgs, list):
            if obj is not None and str(obj.get("level", "")).lower() == "error":  # one debug-log line
                self._error(f, str(obj.get("message", "")))
            return
        seen: set[str] = set()
        for m in msgs:
            if isinstance(m, dict) and str(m.get("level", "log")).lower() == "error":
                key = normalise(str(m.get("message", "")))
                self.error_messages[key] += 1
                if key not in seen:
                    seen.add(key)
                    self.errors[key].add(f)


# ---------------------------------------------------------------------- from the pass to findings


def _examples(store: ShownStore, indices: Sequence[int]) -> list[tuple[int, float]]:
    out = []
    for i in sorted(set(indices))[:MAX_EXAMPLES]:
        f = store.facts(i)
        out.append((f.seq, f.t))
    return out


def _finding(store: ShownStore, check: str, count: int, summary: str, flt: str, group: _Group,
             severity: Severity | None = None, details: list[str] | None = None) -> Finding:
    return Finding(
        check=check,
        severity=severity or CHECK_BY_ID[check].severity,
        count=count,
        summary=summary,
        filter=flt,
        examples=_examples(store, group.indices),
        entities=sorted(group.entities),
        conns=sorted(group.conns),
        details=details or [],
    )


def _windows(times: Sequence[float], at_least: int, window_ms: float) -> list[int]:
    """Positions in ``times`` (ascending) lying in some window of ``window_ms`` holding ``at_least``."""
    hit: set[int] = set()
    lo = 0
    for hi, t in enumerate(times):
        while t - times[lo] > window_ms:
            lo += 1
        if hi - lo + 1 >= at_least:
            hit.update(range(lo, hi + 1))
    return sorted(hit)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def diagnose(store: ShownStore, picked: Iterable[int] | None = None,
             thresholds: Thresholds | None = None) -> Report:
    """Every check over the frames ``picked`` (ascending store indices; default: all the store
    holds), judged in ``store``; findings most severe first."""
    th = thresholds or Thresholds()
    p = _Pass(store, th)
    p.run(range(store.first_index, len(store)) if picked is None else picked)
    findings: list[Finding] = []
    marks: dict[str, list[int]] = {}

    def add(f: Finding | None) -> None:
        if f is not None and f.count:
            findings.append(f)

    # missing-request-id
    g = p.noreqid
    add(_finding(store, "missing-request-id", len(g.indices),
                 f"{_plural(len(g.indices), 'request')} without a requestId", "is:noreqid", g))

    # large-payload
    g = p.large
    flt = "is:large" if th.large_bytes == LARGE_BYTES else f"size>{th.large_bytes}"
    parts = []
    if g.indices:
        parts.append(f"{_plural(len(g.indices), 'frame')} over {th.large_bytes // 1024} KiB")
    if p.fanout.indices:
        parts.append(f"{_plural(len(p.fanout.indices), 'STORE_UPDATE')} whose size x subscribers is over "
                     f"{th.fanout_bytes // 1024} KiB")
        flt += " or " + " or ".join(f"(type:STORE_UPDATE entity:{value(e)} size>={n})"
                                    for e, n in sorted(p.fanout_min.items()))
        for f_i in p.fanout.indices:
            g.add(store.facts(f_i))
    add(_finding(store, "large-payload", len(g.indices), "; ".join(parts), flt, g))

    # subscription-leak
    marks["leak"] = p.leak.indices
    add(_finding(store, "subscription-leak", p.leak_pairs,
                 f"{_plural(p.leak_pairs, 'subscription')} (connection, entity) still open when the "
                 "connection closed or the session ended", "is:leak", p.leak))

    # duplicate-subscribe
    marks["dupsub"] = p.dupsub.indices
    add(_finding(store, "duplicate-subscribe", len(p.dupsub.indices),
                 f"{_plural(len(p.dupsub.indices), 'SUBSCRIBE')} of an entity the connection already "
                 "subscribes to", "is:dupsub", p.dupsub))

    # unanswered
    g = _Group()
    end = p.end_t
    waited = [(i, conn) for i, t, conn in p.pending if end is not None and end - t > th.timeout_s * 1000]
    timed_out = [i for i, conn in waited if conn in p.replied]
    unjudged = len(waited) - len(timed_out)
    for i in timed_out:
        g.add(store.facts(i))
    same_timeout = abs(th.timeout_s - store.pairing.timeout) < 1e-9
    flt = "is:timedout" if same_timeout else "is:pending"
    if unjudged and timed_out:
        flt += " conn:" + ",".join(value(c) for c in sorted(g.conns))
    if p.late.indices:
        flt += f" or is:request latency>{th.timeout_s:g}s"
        g.indices += p.late.indices
        g.entities |= p.late.entities
        g.conns |= p.late.conns
    count = len(timed_out) + len(p.late.indices)
    add(_finding(store, "unanswered", count,
                 f"{_plural(count, 'request')} without a reply within {th.timeout_s:g} s"
                 + (f" ({len(p.late.indices)} answered later)" if p.late.indices else ""), flt, g,
                 details=[f"{_plural(unjudged, 'request')} on connections that carried no reply at all "
                          "(e.g. a debug log) not judged"] if unjudged else []))

    # slow-entity
    g = _Group()
    terms = []
    details = []
    for (kind, entity), (values, indices) in sorted(p.latency.items(), key=lambda kv: str(kv[0])):
        lat = sorted(values)
        p95 = percentile(lat, 95)
        if p95 <= th.slow_ms:
            continue
        for v, i in zip(values, indices, strict=True):
            if v > th.slow_ms:
                g.add(store.facts(i))
        terms.append(f"type:{kind}" + (f" entity:{value(entity)}" if entity is not None else ""))
        details.append(f"{kind} {entity or ''}: p95 {p95:.0f} ms over {len(lat)} requests".replace("  ", " "))
    flt = f"is:request latency>{th.slow_ms:g}ms" + (f" ({' or '.join(terms)})" if terms else "")
    add(_finding(store, "slow-entity", len(g.indices),
                 f"{_plural(len(terms), 'request type and entity', 'request types and entities')} with p95 "
                 f"latency over {th.slow_ms:g} ms ({_plural(len(g.indices), 'slow request')})", flt, g,
                 details=details))

    # retry-storm and repeated-query
    retry, repeat = _Group(), _Group()
    for i in sorted(p.retry):
        retry.add(store.facts(i))
    for i in sorted(p.repeat):
        repeat.add(store.facts(i))
    storms, repeats = p.storms, p.repeats
    marks["retry"] = retry.indices
    marks["repeat"] = repeat.indices
    add(_finding(store, "retry-storm", len(retry.indices),
                 f"{_plural(len(retry.indices), 'request')} in {_plural(storms, 'storm')}: the same request "
                 f"{th.retry_count}+ times within {th.retry_window_s:g} s on one connection", "is:retry", retry))
    add(_finding(store, "repeated-query", len(repeat.indices),
                 f"{_plural(len(repeat.indices), 'query', 'queries')} in {_plural(repeats, 'group')} of "
                 f"identical queries within {th.repeat_window_s:g} s on one connection", "is:repeat", repeat))

    # error-burst
    g = _Group()
    total = sum(p.error_messages.values())
    top = sorted(p.errors.items(), key=lambda kv: (-p.error_messages[kv[0]], kv[0]))
    for _, grp in top:
        g.indices += grp.indices
        g.entities |= grp.entities
        g.conns |= grp.conns
    frames = len(set(g.indices))
    details = [f"{p.error_messages[k]:>6}  {k}" for k, _ in top[:5]]
    if len(top) > 5:
        details.append(f"   ... {_plural(len(top) - 5, 'more group')}")
    examples_from = [grp.indices[0] for _, grp in top[:MAX_EXAMPLES]]
    f_err = _finding(store, "error-burst", total,
                     f"{_plural(total, 'error')} in {_plural(frames, 'frame')}, {_plural(len(top), 'distinct message')}",
                     "type:ERROR or level:error", g, details=details)
    f_err.examples = _examples(store, examples_from)
    add(f_err)

    # reconnect-loop
    g = _Group()
    loops = 0
    for opened in p.opens.values():
        hit = _windows([f.t for f in opened], th.reconnect_count, th.reconnect_window_s * 1000)
        if hit:
            loops += 1
            for k in hit:
                g.add(opened[k])
    conns = ",".join(value(c) for c in sorted(g.conns))
    add(_finding(store, "reconnect-loop", len(g.indices),
                 f"{_plural(len(g.indices), 'reconnection')} of {_plural(loops, 'connection')} re-established "
                 f"{th.reconnect_count}+ times within {th.reconnect_window_s:g} s",
                 f"type:CONNECTION,PROXY_OPEN conn:{conns}", g))

    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], -f.count, f.check))
    return Report(p.frames, findings, Marks(len(store), marks))
